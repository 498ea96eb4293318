"""matplotlib figures of the aggregates stored in MongoDB, and the numbers each one draws.

Input: the merged aggregate documents (``sinks.read_aggregates``): dicts with ``dimension``,
``key``, ``count``, ``age_sum``, ``avg_age`` and ``suppressed``. Any list of them works: an
empty one (notebook 03 run before notebooks 01 and 02) and one that lacks some dimensions too.

The contract of every figure in ``FIGURES``:

* **Suppression.** With ``k`` given, a group is suppressed when ``count < k`` (recomputed, so
  notebook 03's ``k`` decides what is hidden); with ``k=None`` the stored ``suppressed`` flag
  decides. A suppressed group is never drawn with its value, because a count of 1 or 2 next to
  a nationality can point at a person: it is left out, the figure says how many groups were
  left out, and the table lists it as ``suppressed``.
* **Numbers.** ``figure_data(name, docs, k)`` is what figure ``name`` draws (``FigureData``);
  the drawing code draws exactly that, and ``FigureData.table()`` is the same numbers as a small
  text table (rows in drawing order, deterministic, no timestamps but the per-minute keys).
  ``show`` prints it under the figure, so nbval compares the data of every figure.
* **Averages** are ``age_sum / count`` (exact however the stream was cut into batches), and
  every bar of an average carries its group size ``n``.
* **Layout.** Legends sit outside the axes, on the right; notes (suppressed groups, why the
  email figure is one bar) sit above the axes under the title: neither covers a bar.
* **Nothing to draw** (no document of the dimension, every group suppressed, or all users in
  one minute for the per-minute figure): ``FigureData.message`` says so in one line. ``show``
  prints that line instead of a figure; ``figure`` and ``save_all`` draw a PNG carrying it, so
  a headless run always saves one PNG per figure.
* **PNG bytes.** ``png_bytes`` renders at ``PNG_DPI`` without version metadata; ``show``,
  ``save_all`` and the notebook output use it. ``show`` tags its output with the metadata
  ``{"profilepipe": {"figure": name}}``; ``export_readme_figure`` copies that image of the
  executed notebook 03 to ``docs/figures/``, so the README figure is the notebook's, byte for
  byte.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from profilepipe.pipeline.aggregates import AGE_BANDS, DIMENSIONS

#: The fields of an aggregate document.
DOCUMENT_FIELDS = ("dimension", "key", "count", "age_sum", "avg_age", "suppressed")
#: What a table shows in place of a suppressed group's value.
SUPPRESSED = "suppressed"
#: Resolution of every PNG (notebook output, saved figures, README figure).
PNG_DPI = 100
#: The notebook whose figure the README shows, and that figure.
README_NOTEBOOK = "03_analyse_aggregates.ipynb"
README_FIGURE = "avg_age_by_country_gender"
#: Key of the display metadata that names a figure in a notebook output.
METADATA_KEY = "profilepipe"
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
SIZES = {
    "users_by_nationality": (10, 4.5),
    "users_by_nationality_gender": (11, 4.8),
    "gender_split": (6, 5),
    "avg_age_by_gender": (7, 4.5),
    "avg_age_by_country_gender": (11, 5),
    "top_email_domains": (8, 3),
}
DEFAULT_SIZE = (8, 4)


# ----------------------------------------------------------------------------- documents
def by_dimension(docs: Iterable[dict], dimension: str) -> list[dict]:
    """The documents of one dimension (none when the dimension is missing)."""
    return [d for d in docs if d.get("dimension") == dimension]


def is_suppressed(doc: dict, k: int | None = None) -> bool:
    """``count < k`` when ``k`` is given, else the stored ``suppressed`` flag."""
    if k is not None:
        return int(doc.get("count") or 0) < k
    return bool(doc.get("suppressed"))


def visible(docs: list[dict], k: int | None = None) -> tuple[list[dict], int]:
    """(groups that may be shown, number of suppressed groups)."""
    shown = [d for d in docs if not is_suppressed(d, k)]
    return shown, len(docs) - len(shown)


def average_age(doc: dict) -> float | None:
    """``age_sum / count`` (the stored ``avg_age`` when ``age_sum`` is missing)."""
    count = doc.get("count") or 0
    if doc.get("age_sum") is not None and count:
        return doc["age_sum"] / count
    return doc.get("avg_age")


def summary(docs: list[dict], k: int | None = None) -> str:
    """One line about the documents: users, dimensions, what k hides, which dimensions are missing.

    The users are the largest total over the dimensions (a dimension leaves out the users whose
    value is null). ``TIMING_DIMENSIONS`` are left out of the counts: their groups depend on when
    the pipeline ran, not on the data, and the line must be the same for the same data. With no
    documents at all, the line says which notebooks to run first.
    """
    if not docs:
        return f"no aggregate documents yet: {RUN_FIRST}, then run this notebook again"
    totals: dict[str, int] = {}
    hidden: dict[str, int] = {}
    for d in docs:
        dim = d["dimension"]
        totals[dim] = totals.get(dim, 0) + int(d.get("count") or 0)
        if dim not in TIMING_DIMENSIONS and is_suppressed(d, k):
            hidden[dim] = hidden.get(dim, 0) + 1
    rule = f"k={k}" if k is not None else "the stored flags"
    line = f"aggregates of {max(totals.values())} users in {len(totals)} dimensions"
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
    count: int  #: users in the group
    value: float  #: what is drawn: the count, or the average age
    suppressed: bool


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


def _hidden_note(hidden: int, k: int | None) -> str:
    return f"{hidden} group(s) with fewer than {k if k is not None else 'k'} users suppressed"


def _nothing(dimension: str, docs: list[dict], k: int | None) -> str | None:
    if not docs:
        return f"no {dimension} aggregates to draw (run notebooks 01 and 02 first)"
    if all(is_suppressed(d, k) for d in docs):
        limit = k if k is not None else "k"
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
    mine = by_dimension(docs, dimension)
    shown, _ = visible(mine, k)
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
    hidden = [d for d in mine if is_suppressed(d, k)]
    cells = [Cell(d["key"], None, d["count"], d["count"], False) for d in shown]
    if order or dimension in CHRONOLOGICAL:  # suppressed groups in their place
        cells += [Cell(d["key"], None, d["count"], d["count"], True) for d in hidden]
        cells.sort(key=lambda c: sort_key({"key": c.group, "count": c.count}))
    else:  # after the drawn ones, by key: their place would tell their size
        cells += [Cell(d["key"], None, d["count"], d["count"], True) for d in sorted(hidden, key=_key)]
    notes = [_hidden_note(len(hidden), k)] if hidden else []
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
    mine = by_dimension(docs, dimension)
    parts = {}
    for d in mine:
        group, _, series = d["key"].rpartition("|")
        parts[d["key"]] = (group, series) if group else (d["key"], "")
    totals: dict[str, int] = {}
    for d in mine:
        if not is_suppressed(d, k):
            group = parts[d["key"]][0]
            totals[group] = totals.get(group, 0) + d["count"]
    drawn_groups = sorted(totals, key=(lambda g: g) if average else (lambda g: (-totals[g], g)))
    rank = {g: i for i, g in enumerate(drawn_groups)}
    mine.sort(key=lambda d: (rank.get(parts[d["key"]][0], len(rank)), *parts[d["key"]]))
    cells = []
    for d in mine:
        group, series = parts[d["key"]]
        value = (average_age(d) or 0.0) if average else d["count"]
        cells.append(Cell(group, series, d["count"], value, is_suppressed(d, k)))
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
        notes=(_hidden_note(hidden, k),) if hidden else (),
        message=_nothing(dimension, mine, k),
    )


def avg_age_by_gender_data(docs: list[dict], k: int | None = None) -> FigureData:
    """Average age per gender (``age_sum / count`` of the gender dimension) and overall.

    The overall average is over the drawn groups only, so that it and the drawn averages
    cannot be combined into a suppressed group's average.
    """
    mine = sorted(by_dimension(docs, "gender"), key=lambda d: d["key"])
    cells = tuple(Cell(d["key"], None, d["count"], average_age(d) or 0.0, is_suppressed(d, k)) for d in mine)
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
        notes=(_hidden_note(hidden, k) + ", left out of the overall average",) if hidden else (),
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


_BUILDERS: dict[str, Callable[[list[dict], int | None], FigureData]] = {
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
    if name not in _BUILDERS:
        raise KeyError(f"unknown figure {name!r}; figures: {', '.join(_BUILDERS)}")
    return _BUILDERS[name](docs, k=k)


def table(name: str, docs: list[dict], k: int | None = None) -> str:
    """The text table of figure ``name``: exactly the values it draws."""
    return figure_data(name, docs, k).table()


# ----------------------------------------------------------------------------- drawing
def _colors(data: FigureData, keys: Iterable[str | None]) -> list[str]:
    """One colour per series (grouped) or group, fixed by the sorted keys of all cells, so a
    gender keeps its colour in every figure whatever is suppressed."""
    names = data.series if data.kind == "grouped" else sorted(c.group for c in data.cells)
    return [f"C{names.index(key) % 10}" if key in names else "C0" for key in keys]


def _titles(ax: Axes, title: str, notes: Iterable[str]) -> None:
    """Title, and the notes in small grey lines between the title and the axes."""
    notes = list(notes)
    ax.set_title(title, pad=6 + 11 * len(notes))
    if notes:
        ax.annotate(
            "\n".join(notes),
            xy=(0, 1),
            xycoords="axes fraction",
            xytext=(0, 4),
            textcoords="offset points",
            ha="left",
            va="bottom",
            fontsize=8,
            color="dimgray",
        )


def _legend(ax: Axes, title: str | None = None) -> None:
    """Legend outside the axes, right of them: it never covers a bar."""
    ax.legend(title=title, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)


def draw(data: FigureData, ax: Axes) -> Axes:
    """Draw ``data`` on ``ax``; a figure with a ``message`` shows the message instead."""
    if data.message:
        ax.set_axis_off()
        ax.set_title(data.title)
        ax.text(0.5, 0.5, data.message, transform=ax.transAxes, ha="center", va="center", wrap=True)
        return ax
    {"bars": _draw_bars, "grouped": _draw_grouped, "pie": _draw_pie, "average": _draw_average}[data.kind](
        data, ax
    )
    _titles(ax, data.title, data.notes)
    return ax


def _xticks(ax: Axes, labels: list[str]) -> None:
    """Category labels on the x axis, slanted only when they would not fit side by side."""
    inches = ax.figure.get_figwidth() * 0.85
    needed = len(labels) * (0.09 * max((len(s) for s in labels), default=0) + 0.15)
    if needed > inches:
        ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticks(range(len(labels)), labels)


def _draw_bars(data: FigureData, ax: Axes) -> None:
    labels = [c.group for c in data.drawn]
    values = [c.value for c in data.drawn]
    if data.horizontal:
        ax.barh(labels, values, color="tab:blue")
        ax.invert_yaxis()
        ax.set_xlabel(data.value_label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        return
    days = {label.partition("T")[0] for label in labels}
    if data.name == "ingested_per_minute" and len(days) == 1:
        ax.set_xlabel(f"minute (UTC) on {days.pop()}")
        labels = [label.partition("T")[2] for label in labels]
    ax.bar(range(len(labels)), values, color="tab:blue")
    _xticks(ax, labels)
    ax.set_ylabel(data.value_label)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _draw_grouped(data: FigureData, ax: Axes) -> None:
    groups, series = data.groups, data.series
    x = {g: i for i, g in enumerate(groups)}
    width = 0.8 / max(len(series), 1)
    offset = {s: i * width - 0.4 + width / 2 for i, s in enumerate(series)}
    limit = data.k if data.k is not None else "k"
    bar_inches = width * ax.figure.get_figwidth() * 0.85 / max(len(groups), 1)
    label_style = {"rotation": 0, "fontsize": 9} if bar_inches > 0.45 else {"rotation": 90, "fontsize": 7}
    for s in series:
        cells = [c for c in data.drawn if c.series == s]
        xs = [x[c.group] + offset[s] for c in cells]
        ax.bar(xs, [c.value for c in cells], width, label=s, color=_colors(data, [s])[0])
        if data.average:
            for xi, c in zip(xs, cells, strict=True):
                ax.text(xi, 1, f"n={c.count}", ha="center", va="bottom", color="white", **label_style)
    for c in data.cells:
        if c.suppressed and c.group in x:
            ax.text(
                x[c.group] + offset[c.series],
                0.01,
                f"n<{limit}",
                ha="center",
                va="bottom",
                color="dimgray",
                **label_style,
                transform=ax.get_xaxis_transform(),
            )
    _xticks(ax, groups)
    if not data.average:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylabel("average age (years)" if data.average else data.value_label)
    _legend(ax, data.series_label)


def _draw_pie(data: FigureData, ax: Axes) -> None:
    total = sum(c.count for c in data.drawn)
    ax.pie(
        [c.count for c in data.drawn],
        labels=[f"{c.group}\n{c.count} ({100 * c.count / total:.1f}%)" for c in data.drawn],
        colors=_colors(data, [c.group for c in data.drawn]),
        startangle=90,
        counterclock=False,
        wedgeprops={"linewidth": 1, "edgecolor": "white"},
    )


def _draw_average(data: FigureData, ax: Axes) -> None:
    drawn = data.drawn
    bars = ax.bar(
        [c.group for c in drawn],
        [c.value for c in drawn],
        width=0.6,
        color=_colors(data, [c.group for c in drawn]),
    )
    ax.bar_label(
        bars,
        labels=[f"{c.value:.1f} years\nn={c.count}" for c in drawn],
        label_type="center",
        color="white",
        fontsize=9,
    )
    if data.overall:
        avg, n = data.overall
        ax.axhline(avg, color="black", linestyle="--", linewidth=1, label=f"all shown\n{avg:.1f} (n={n})")
        _legend(ax)
    ax.set_ylabel("average age (years)")
    ax.set_ylim(0, max(c.value for c in drawn) * 1.1)


def _draw_named(name: str, docs: list[dict], ax: Axes, k: int | None) -> Axes:
    return draw(figure_data(name, docs, k), ax)


#: name -> ``draw(docs, ax, k)``; every figure is saved as ``<name>.png`` by ``save_all``.
FIGURES: dict[str, Callable[[list[dict], Axes, int | None], Axes]] = {
    name: partial(_draw_named, name) for name in _BUILDERS
}


def plot_counts(
    docs: list[dict],
    dimension: str,
    ax: Axes | None = None,
    k: int | None = None,
    top: int | None = None,
    order: list[str] | None = None,
    horizontal: bool = False,
) -> Axes:
    """Bar chart of user counts per key of one dimension."""
    ax = ax or plt.subplots(figsize=DEFAULT_SIZE, layout="constrained")[1]
    return draw(counts_data(docs, dimension, k, order=order, top=top, horizontal=horizontal), ax)


def plot_gender(docs: list[dict], ax: Axes | None = None, k: int | None = None) -> Axes:
    """Pie of the gender split."""
    ax = ax or plt.subplots(figsize=SIZES["gender_split"], layout="constrained")[1]
    return _draw_named("gender_split", docs, ax, k)


def plot_avg_age_by_country_gender(docs: list[dict], ax: Axes | None = None, k: int | None = None) -> Axes:
    """Grouped bars: average age per country, one bar per gender, n on each bar."""
    ax = ax or plt.subplots(figsize=SIZES[README_FIGURE], layout="constrained")[1]
    return _draw_named(README_FIGURE, docs, ax, k)


def _figure_of(data: FigureData) -> Figure:
    fig = Figure(figsize=SIZES.get(data.name, DEFAULT_SIZE), layout="constrained")
    draw(data, fig.add_subplot())
    return fig


def figure(name: str, docs: list[dict], k: int | None = None) -> Figure:
    """One named figure (see ``FIGURES``), outside pyplot (nothing to close, never auto-shown)."""
    return _figure_of(figure_data(name, docs, k))


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG at ``PNG_DPI``, without software metadata: same input, same bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI, metadata={"Software": None})
    return buf.getvalue()


class _FigureOutput:
    """A notebook output: the PNG, a text name, and metadata naming the figure."""

    def __init__(self, name: str, title: str, png: bytes) -> None:
        self.name, self.title, self.png = name, title, png

    def _repr_mimebundle_(self, include=None, exclude=None) -> tuple[dict, dict]:
        data = {"image/png": base64.b64encode(self.png).decode("ascii"), "text/plain": repr(self)}
        return data, {METADATA_KEY: {"figure": self.name}}

    def __repr__(self) -> str:
        return f"<figure {self.name}: {self.title}>"


def show(name: str, docs: list[dict], k: int | None = None) -> None:
    """In a notebook: display figure ``name`` and print its table under it.

    A figure with a headline (the average-age KPI) prints it first. When there is nothing to
    draw, print the one-line reason instead.
    """
    from IPython.display import display

    data = figure_data(name, docs, k)
    if data.message:
        print(data.message)
        return
    if data.headline:
        print(data.headline)
    display(_FigureOutput(name, data.title, png_bytes(_figure_of(data))))
    print(data.table())


def save_all(
    docs: list[dict], out_dir: str | Path, k: int | None = None, close: bool = True
) -> dict[str, Path]:
    """Draw every figure and save it as ``<out_dir>/<name>.png``; returns the paths.

    The bytes are those ``show`` displays. ``close`` is kept for callers of the pyplot
    version: the figures are not pyplot's, there is nothing to close.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in FIGURES:
        path = out / f"{name}.png"
        path.write_bytes(png_bytes(figure(name, docs, k)))
        paths[name] = path
    return paths


# ----------------------------------------------------------------------------- notebook outputs
def notebook_figure_png(notebook: str | Path, name: str) -> bytes:
    """The PNG that ``show(name, ...)`` left in an executed notebook (the last one if several)."""
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    found = None
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            if out.get("metadata", {}).get(METADATA_KEY, {}).get("figure") == name:
                png = out.get("data", {}).get("image/png")
                if png is not None:
                    found = "".join(png) if isinstance(png, list) else png
    if found is None:
        raise LookupError(
            f"{Path(notebook).name} has no output of figure {name!r}: execute it with data first"
        )
    return base64.b64decode(found)


def export_figure(notebook: str | Path, name: str, dest: str | Path) -> Path:
    """Write figure ``name`` of an executed notebook to ``dest``, byte for byte."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(notebook_figure_png(notebook, name))
    return dest


def readme_figure_paths(root: str | Path | None = None) -> tuple[Path, Path]:
    """(notebook 03, ``docs/figures/<README_FIGURE>.png``) under the checkout ``root``."""
    from profilepipe.config import project_root

    base = Path(root) if root else project_root()
    return base / "notebooks" / README_NOTEBOOK, base / "docs" / "figures" / f"{README_FIGURE}.png"


def export_readme_figure(root: str | Path | None = None) -> Path:
    """Copy the README figure out of the committed notebook 03 (after its refresh)."""
    notebook, dest = readme_figure_paths(root)
    path = export_figure(notebook, README_FIGURE, dest)
    print(f"wrote {path.relative_to(path.parents[2])} from {notebook.name}")
    return path
