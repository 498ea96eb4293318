"""What each figure of the aggregates draws: its numbers, as data and as a text table.

Input: aggregate documents (``stores.read_aggregates``, or the exact ``read_raw_aggregates``):
dicts with ``dimension``, ``key``, ``count``, ``age_sum``, ``avg_age`` and ``suppressed``. Any
list of them works: an empty one (notebook 03 run before notebooks 01 and 02) and one that lacks
some dimensions too. ``tools.plots`` draws exactly this data; nothing here imports matplotlib.

* **Suppression.** Every builder first protects all the documents together
  (``pipeline.disclosure.protect``, over every dimension, not the one drawn): a group below
  ``k`` is hidden (recomputed, so notebook 03's ``k`` decides; with ``k=None`` the stored
  ``suppressed`` flags say which groups are small), and so is every group that would give a
  hidden one away through the totals, the other groups or another dimension. A hidden group is
  never given with its value, because a count of 1 or 2 next to a nationality can point at a
  person: it is left out, the figure says how many groups were left out, and the table lists it
  as ``suppressed``. Documents already protected stay as they are.
* **Numbers.** ``figure_data(name, docs, k)`` is what figure ``name`` draws (``FigureData``);
  ``FigureData.table()`` is the same numbers as a small text table (rows in drawing order,
  deterministic, no timestamps but the per-minute keys).
* **Averages** are ``age_sum / count`` (exact however the stream was cut into batches), and
  every bar of an average carries its group size ``n``.
* **Nothing to draw** (no document of the dimension, every group suppressed, or all users in
  one minute for the per-minute figure): ``FigureData.message`` says so in one line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

from profilepipe.contract import AGE_BANDS, DIMENSIONS
from profilepipe.pipeline import disclosure

#: The fields of an aggregate document.
DOCUMENT_FIELDS = ("dimension", "key", "count", "age_sum", "avg_age", "suppressed")
#: The fields of a published one: also why it is hidden (``below_k``, ``complementary``).
PUBLISHED_FIELDS = (*DOCUMENT_FIELDS, "suppression")
#: What a table shows in place of a suppressed group's value.
SUPPRESSED = "suppressed"
#: Resolution of every PNG (notebook output, saved figures, README figure).
RUN_FIRST = "run notebooks 01_produce_users and 02_stream_transform_store first"
#: Dimensions drawn in key order (time), the others by count, most first.
CHRONOLOGICAL = ("registered_year", "ingested_minute")
#: Dimensions whose groups depend on when the pipeline ran (left out of ``summary``'s counts).
TIMING_DIMENSIONS = ("ingested_minute",)

TITLES = {
    "nationality": "Users by nationality",
    "gender": "Gender split",
    "age_band": "Users by age band",
    "country_gender": "Average age by country and gender",
    "nationality_gender": "Users by nationality and gender",
    "email_domain": "Top email domains",
    "registered_year": "Registrations by year",
    "ingested_minute": "Users ingested per minute (UTC)",
}
#: Figure sizes in inches (width, height); others are ``DEFAULT_SIZE``.


# ----------------------------------------------------------------------------- documents
def by_dimension(docs: Iterable[dict], dimension: str) -> list[dict]:
    """The documents of one dimension (none when the dimension is missing)."""
    return [d for d in docs if d.get("dimension") == dimension]


def protected(docs: Iterable[dict], k: int | None = None) -> list[dict]:
    """The documents as they may be shown with ``k`` (``pipeline.disclosure.protect``, all
    dimensions together)."""
    return disclosure.protect(docs, k)


def is_suppressed(doc: dict) -> bool:
    """Whether a protected document (``protected``) is hidden."""
    return bool(doc.get("suppressed"))


def visible(docs: list[dict]) -> tuple[list[dict], int]:
    """(protected groups that may be shown, number of hidden groups)."""
    shown = [d for d in docs if not is_suppressed(d)]
    return shown, len(docs) - len(shown)


def average_age(doc: dict) -> float | None:
    """``age_sum / count`` (the stored ``avg_age`` when ``age_sum`` is missing)."""
    count = doc.get("count") or 0
    if doc.get("age_sum") is not None and count:
        return doc["age_sum"] / count
    return doc.get("avg_age")


def summary(docs: list[dict], k: int | None = None) -> str:
    """One line about the documents: users, dimensions, what k hides, which dimensions are missing.

    The users are the largest published total over the dimensions (a dimension leaves out the
    users whose value is null); fewer than k users are not counted. ``TIMING_DIMENSIONS`` are left
    out of the counts: their groups depend on when the pipeline ran, not on the data, and the
    line must be the same for the same data (what they hide changes no other dimension). With no
    documents at all, the line says which notebooks to run first.
    """
    if not docs:
        return f"no aggregate documents yet: {RUN_FIRST}, then run this notebook again"
    docs = protected(docs, k)
    totals: dict[str, int | None] = {}
    hidden: dict[str, int] = {}
    for d in docs:
        dim = d["dimension"]
        totals[dim] = d["dimension_count"]
        if dim not in TIMING_DIMENSIONS and is_suppressed(d):
            hidden[dim] = hidden.get(dim, 0) + 1
    rule = f"k={k}" if k is not None else "the stored flags"
    known = [t for t in totals.values() if t is not None]
    users = max(known) if known else f"fewer than {k if k is not None else 'k'}"
    line = f"aggregates of {users} users in {len(totals)} dimensions"
    line += f"; with {rule}, {sum(hidden.values())} groups suppressed"
    if hidden:
        line += " (" + ", ".join(f"{dim} {n}" for dim, n in sorted(hidden.items())) + ")"
    missing = [dim for dim in DIMENSIONS if dim not in totals]
    if missing:
        line += "; no documents for " + ", ".join(missing)
    return line


# ----------------------------------------------------------------------------- figure data
@dataclass(frozen=True)
class Cell:
    """One group of a figure: a bar, a pie wedge, or a suppressed group that is not drawn."""

    group: str  #: the key, or its first part ("France" of "France|female")
    series: str | None  #: the second part of a two-part key ("female"), else None
    count: int | None  #: users in the group (None: hidden)
    value: float  #: what is drawn: the count, or the average age
    suppressed: bool
    why: str | None = None  #: a hidden cell's ``suppression``: ``below_k`` or ``complementary``


@dataclass(frozen=True)
class FigureData:
    """What one figure draws; ``table()`` renders the same numbers as text."""

    name: str
    title: str
    kind: str  #: "bars", "grouped" (one bar per series in each group), "pie" or "average"
    group_label: str  #: heading of the groups ("nationality")
    value_label: str  #: heading of the values ("users", "avg age")
    cells: tuple[Cell, ...]  #: drawing order; suppressed cells are listed, never drawn
    k: int | None
    series_label: str | None = None
    average: bool = False  #: values are average ages: group sizes are drawn as n=
    horizontal: bool = False
    notes: tuple[str, ...] = ()  #: lines drawn above the axes
    overall: tuple[float, int] | None = None  #: (average, users) of the drawn groups
    omitted: int = 0  #: visible groups beyond the top N, not drawn
    message: str | None = None  #: nothing to draw: this line instead of a figure
    headline: str | None = None  #: a line ``show`` prints above the figure (the KPI)

    @property
    def drawn(self) -> list[Cell]:
        return [c for c in self.cells if not c.suppressed]

    @property
    def hidden(self) -> int:
        return sum(c.suppressed for c in self.cells)

    @property
    def groups(self) -> list[str]:
        """Groups on the axis, in order: those with at least one drawn cell."""
        return list(dict.fromkeys(c.group for c in self.drawn))

    @property
    def series(self) -> list[str]:
        return sorted({c.series for c in self.cells if c.series is not None})

    def table(self) -> str:
        """The drawn numbers, one row per group; suppressed groups as ``suppressed``."""
        rule = f"k={self.k}" if self.k is not None else "stored suppression flags"
        if self.message:
            return f"{self.title} ({rule}): {self.message}"
        head = [self.group_label] + ([self.series_label or "series"] if self.kind == "grouped" else [])
        head += (
            [self.value_label] + (["n"] if self.average else []) + (["share"] if self.kind == "pie" else [])
        )
        total = sum(c.count for c in self.drawn)
        rows = []
        for c in self.cells:
            row = [c.group] + ([c.series or ""] if self.kind == "grouped" else [])
            if c.suppressed:
                row += [SUPPRESSED] + ([""] if self.average else []) + ([""] if self.kind == "pie" else [])
            else:
                row += [_fmt(c.value, self.average)] + ([str(c.count)] if self.average else [])
                row += [f"{100 * c.count / total:.1f}%"] if self.kind == "pie" else []
            rows.append(row)
        if self.overall:
            avg, n = self.overall
            rows.append(["all shown"] + [_fmt(avg, True), str(n)])
        labels = len(head) - 1 - int(self.average) - int(self.kind == "pie")
        lines = [f"{self.title} ({rule})", *_align([head, *rows], labels)]
        if self.omitted:
            lines.append(f"({self.omitted} more groups not drawn)")
        return "\n".join(lines)


def _fmt(value: float, average: bool) -> str:
    return f"{value:.1f}" if average else str(int(value))


def _align(rows: list[list[str]], labels: int) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            v.ljust(w) if i < labels else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in rows
    ]


def _hidden_note(docs: list[dict], k: int | None) -> str:
    """``2 group(s) with fewer than 5 users suppressed``, and how many hidden with them."""
    small = sum(d.get("suppression") != disclosure.COMPLEMENTARY for d in docs if is_suppressed(d))
    more = sum(d.get("suppression") == disclosure.COMPLEMENTARY for d in docs)
    line = f"{small} group(s) with fewer than {k if k is not None else 'k'} users suppressed" if small else ""
    if more:
        line += (", " if line else "") + f"{more} more that would give one away"
    return line


def _nothing(dimension: str, docs: list[dict], k: int | None) -> str | None:
    if not docs:
        return f"no {dimension} aggregates to draw (run notebooks 01 and 02 first)"
    if all(is_suppressed(d) for d in docs):
        limit = k if k is not None else "k"
        if any(d.get("suppression") == disclosure.COMPLEMENTARY for d in docs):
            return (
                f"all {len(docs)} {dimension} groups are suppressed (fewer than {limit} users, or they"
                " would give such a group away): nothing to draw"
            )
        return (
            f"all {len(docs)} {dimension} groups have fewer than {limit} users (suppressed): nothing to draw"
        )
    return None


def _key(doc: dict) -> str:
    return doc["key"]


def counts_data(
    docs: list[dict],
    dimension: str,
    k: int | None = None,
    *,
    name: str | None = None,
    order: list[str] | None = None,
    top: int | None = None,
    horizontal: bool = False,
    kind: str = "bars",
) -> FigureData:
    """Users per key of one dimension: bars by count, most first (in ``order`` if given, by
    key for the ``CHRONOLOGICAL`` dimensions); at most ``top`` bars. In the table a suppressed
    group keeps its place in an order or in time; by count it comes after the drawn ones."""
    mine = by_dimension(protected(docs, k), dimension)
    shown, _ = visible(mine)
    if order:
        rank = {key: i for i, key in enumerate(order)}

        def sort_key(d: dict) -> tuple:
            return (rank.get(d["key"], len(rank)), d["key"])
    elif dimension in CHRONOLOGICAL:

        def sort_key(d: dict) -> tuple:
            return (d["key"],)
    else:

        def sort_key(d: dict) -> tuple:
            return (-d["count"], d["key"])

    shown.sort(key=sort_key)
    omitted = max(len(shown) - top, 0) if top else 0
    shown = shown[: len(shown) - omitted]
    hidden = [d for d in mine if is_suppressed(d)]
    cells = [Cell(d["key"], None, d["count"], d["count"], False) for d in shown]
    if order or dimension in CHRONOLOGICAL:  # suppressed groups in their place
        cells += [Cell(d["key"], None, None, 0, True, d.get("suppression")) for d in hidden]
        cells.sort(key=lambda c: sort_key({"key": c.group, "count": c.count}))
    else:  # after the drawn ones, by key: their place would tell their size
        cells += [Cell(d["key"], None, None, 0, True, d.get("suppression")) for d in sorted(hidden, key=_key)]
    notes = [_hidden_note(mine, k)] if hidden else []
    if omitted:
        notes.append(f"top {top} shown, {omitted} more not drawn")
    return FigureData(
        name=name or dimension,
        title=TITLES.get(dimension, dimension),
        kind=kind,
        group_label=dimension.replace("_", " "),
        value_label="users",
        cells=tuple(cells),
        k=k,
        horizontal=horizontal,
        notes=tuple(notes),
        omitted=omitted,
        message=_nothing(dimension, mine, k),
    )


def grouped_data(
    docs: list[dict],
    dimension: str,
    k: int | None = None,
    *,
    name: str | None = None,
    average: bool = False,
    group_label: str = "group",
    series_label: str = "gender",
) -> FigureData:
    """Two-part keys (``"France|female"``): one bar per series (gender) in each group.

    ``average``: bars are average ages (groups alphabetical); else user counts (groups by
    their drawn users, most first). Groups whose every cell is suppressed come last.
    """
    mine = by_dimension(protected(docs, k), dimension)
    parts = {}
    for d in mine:
        group, _, series = d["key"].rpartition("|")
        parts[d["key"]] = (group, series) if group else (d["key"], "")
    totals: dict[str, int] = {}
    for d in mine:
        if not is_suppressed(d):
            group = parts[d["key"]][0]
            totals[group] = totals.get(group, 0) + d["count"]
    drawn_groups = sorted(totals, key=(lambda g: g) if average else (lambda g: (-totals[g], g)))
    rank = {g: i for i, g in enumerate(drawn_groups)}
    mine.sort(key=lambda d: (rank.get(parts[d["key"]][0], len(rank)), *parts[d["key"]]))
    cells = []
    for d in mine:
        group, series = parts[d["key"]]
        value = ((average_age(d) or 0.0) if average else d["count"]) if not is_suppressed(d) else 0
        cells.append(Cell(group, series, d["count"], value, is_suppressed(d), d.get("suppression")))
    hidden = sum(c.suppressed for c in cells)
    return FigureData(
        name=name or dimension,
        title=TITLES.get(dimension, dimension),
        kind="grouped",
        group_label=group_label,
        value_label="avg age" if average else "users",
        cells=tuple(cells),
        k=k,
        series_label=series_label,
        average=average,
        notes=(_hidden_note(mine, k),) if hidden else (),
        message=_nothing(dimension, mine, k),
    )


def avg_age_by_gender_data(docs: list[dict], k: int | None = None) -> FigureData:
    """Average age per gender (``age_sum / count`` of the gender dimension) and overall.

    The overall average is over the drawn groups only, so that it and the drawn averages
    cannot be combined into a suppressed group's average.
    """
    mine = sorted(by_dimension(protected(docs, k), "gender"), key=lambda d: d["key"])
    cells = tuple(
        Cell(d["key"], None, d["count"], average_age(d) or 0.0, is_suppressed(d), d.get("suppression"))
        for d in mine
    )
    drawn = [c for c in cells if not c.suppressed]
    n = sum(c.count for c in drawn)
    overall = (sum(c.value * c.count for c in drawn) / n, n) if n else None
    hidden = len(cells) - len(drawn)
    return FigureData(
        name="avg_age_by_gender",
        title="Average age by gender",
        kind="average",
        group_label="gender",
        value_label="avg age",
        cells=cells,
        k=k,
        average=True,
        notes=(_hidden_note(mine, k) + ", left out of the overall average",) if hidden else (),
        overall=overall,
        message=_nothing("gender", mine, k),
        headline=_kpi(cells, overall),
    )


def _kpi(cells: tuple[Cell, ...], overall: tuple[float, int] | None) -> str | None:
    if not overall:
        return None
    avg, n = overall
    parts = ", ".join(f"{c.group} {c.value:.1f} (n={c.count})" for c in cells if not c.suppressed)
    line = f"average age: {avg:.1f} years over {n} users; {parts}"
    hidden = sum(c.suppressed for c in cells)
    return line + (f"; {hidden} suppressed group(s) left out" if hidden else "")


def average_age_line(docs: list[dict], k: int | None = None) -> str:
    """The KPI: ``average age: 51.2 years over 450 users; female 50.8 (n=221), male 51.6 (n=229)``.

    ``show("avg_age_by_gender", ...)`` prints it above its figure; with nothing to draw, the
    line says why.
    """
    data = avg_age_by_gender_data(docs, k)
    return data.message or data.headline or "no average age to show"


def email_domains_data(docs: list[dict], k: int | None = None) -> FigureData:
    """Top 10 email domains; says why there is one bar when every address is @example.com."""
    data = counts_data(docs, "email_domain", k, name="top_email_domains", top=10, horizontal=True)
    if [c.group for c in data.drawn] == ["example.com"]:
        why = "randomuser.me gives every user an @example.com address, so this is one bar"
        data = dataclasses.replace(data, notes=(why, *data.notes))
    return data


def per_minute_data(docs: list[dict], k: int | None = None) -> FigureData:
    """Users per ingestion minute; drawn only when the users span more than one minute."""
    data = counts_data(docs, "ingested_minute", k, name="ingested_per_minute")
    if len(data.cells) == 1 and not data.message:
        cell = data.cells[0]
        day, _, minute = cell.group.partition("T")
        message = f"all {cell.count} users arrived within one minute, {minute} UTC on {day}"
        data = dataclasses.replace(data, message=message)
    return data


BUILDERS: dict[str, Callable[[list[dict], int | None], FigureData]] = {
    "users_by_nationality": partial(counts_data, dimension="nationality", name="users_by_nationality"),
    "users_by_nationality_gender": partial(
        grouped_data,
        dimension="nationality_gender",
        name="users_by_nationality_gender",
        group_label="nationality",
    ),
    "gender_split": partial(counts_data, dimension="gender", name="gender_split", kind="pie"),
    "avg_age_by_gender": avg_age_by_gender_data,
    "age_bands": partial(
        counts_data, dimension="age_band", name="age_bands", order=[label for _, label in AGE_BANDS]
    ),
    "avg_age_by_country_gender": partial(
        grouped_data,
        dimension="country_gender",
        name="avg_age_by_country_gender",
        average=True,
        group_label="country",
    ),
    "top_email_domains": email_domains_data,
    "registrations_by_year": partial(counts_data, dimension="registered_year", name="registrations_by_year"),
    "ingested_per_minute": per_minute_data,
}


def figure_data(name: str, docs: list[dict], k: int | None = None) -> FigureData:
    """What figure ``name`` (a key of ``FIGURES``) draws from ``docs``."""
    if name not in BUILDERS:
        raise KeyError(f"unknown figure {name!r}; figures: {', '.join(BUILDERS)}")
    return BUILDERS[name](docs, k=k)


def table(name: str, docs: list[dict], k: int | None = None) -> str:
    """The text table of figure ``name``: exactly the values it draws."""
    return figure_data(name, docs, k).table()
