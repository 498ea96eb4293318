"""What each figure of the aggregates draws: its numbers, as data and as a text table.

Input: aggregate documents (``analysis.disclosure.read_aggregates``, or the exact
``MongoStore.read_raw_aggregates``):
dicts with ``dimension``, ``key``, ``count``, ``age_sum``, ``age_sq_sum``, ``avg_age`` and
``suppressed`` (``age_sq_sum`` may be missing or None: unknown, the interval is then not given). Any
list of them works: an empty one (notebook 03 run before notebooks 01 and 02) and one that lacks
some dimensions too. ``analysis.plots`` draws exactly this data; nothing here imports matplotlib.

* **Suppression.** Every builder first protects all the documents together
  (``analysis.disclosure.protect``, over every dimension, not the one drawn): a group below
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
  every bar of an average carries its group size ``n`` and its 95% confidence interval
  (``mean_interval``: from ``count``, ``age_sum`` and ``age_sq_sum``, with Student's t), so an
  average over 6 users shows how little it says.
* **Context.** ``figure_data(name, docs, k, as_of)`` gives every figure its ``caption``: the
  users counted (n), k and the processing date (``as_of``, from the batch log:
  ``processing_dates``). The processing date also decides the last registration year, drawn as a
  partial year, as is the first year when the source's registrations start within it.
* **Age bands** are ``contract.AGE_BANDS``: equal widths, every band drawn (an empty one as 0)
  and the open top band marked as open-ended.
* **Nothing to draw** (no document of the dimension, every group suppressed, or all users in
  one minute for the per-minute figure): ``FigureData.message`` says so in one line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

from profilepipe.analysis import disclosure
from profilepipe.contract import AGE_BANDS, DIMENSIONS, OPEN_AGE_BAND

#: The fields of an aggregate document.
DOCUMENT_FIELDS = ("dimension", "key", "count", "age_sum", "age_sq_sum", "avg_age", "suppressed")
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
#: The first registration date of randomuser.me's users (and of the generator's,
#: ``sources.generator``): the year it falls in is a partial year of registrations.
FIRST_REGISTRATION = dt.date(2002, 3, 21)
#: What a drawn bar that is not a like-for-like group is marked with (hatched, and in the table).
PARTIAL_YEAR, OPEN_BAND = "partial year", "open-ended"
#: Confidence level of the intervals of average ages.
LEVEL = 0.95


# ----------------------------------------------------------------------------- statistics
def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of the regularized incomplete beta function (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: int) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * _incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (``t(0.975, 5)`` = 2.5706).

    Pure Python (no scipy): ``t_cdf`` inverted by bisection, to about 1e-10.
    """
    if not 0.0 < p < 1.0 or df < 1:
        raise ValueError(f"t_quantile needs 0 < p < 1 and df >= 1, not p={p}, df={df}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2.0


class Interval(NamedTuple):
    """An average age and its confidence interval (``mean_interval``)."""

    n: int
    mean: float
    sd: float  #: sample standard deviation of the ages
    low: float
    high: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0


def mean_interval(count: int, age_sum: int, age_sq_sum: int | None, level: float = LEVEL) -> Interval | None:
    """The average age of a group and its ``level`` confidence interval, from its three sums.

    From n = ``count``, S = ``age_sum`` and Q = ``age_sq_sum``: mean = S/n, sample variance
    (Q - S^2/n)/(n - 1) (computed exactly, in integers), interval mean +- t((1+level)/2, n-1)
    * sd/sqrt(n). None when it cannot be given: fewer than two users, or Q unknown (None, a
    document from before the field existed) or inconsistent with S (a negative variance).
    """
    if age_sq_sum is None or count is None or age_sum is None or count < 2:
        return None
    n, s, q = int(count), int(age_sum), int(age_sq_sum)
    numerator = n * q - s * s  # n(n-1) * variance, exact
    if numerator < 0:
        return None
    sd = math.sqrt(numerator / (n * (n - 1)))
    mean = s / n
    half = t_quantile((1.0 + level) / 2.0, n - 1) * sd / math.sqrt(n)
    return Interval(n, mean, sd, mean - half, mean + half)


def doc_interval(doc: Mapping, level: float = LEVEL) -> Interval | None:
    """``mean_interval`` of an aggregate document (None for a hidden one or without ``age_sq_sum``)."""
    return mean_interval(doc.get("count"), doc.get("age_sum"), doc.get("age_sq_sum"), level)


# ----------------------------------------------------------------------------- context
def processing_dates(batches: Iterable[Mapping]) -> str | None:
    """The processing date(s) of the batch log (``MongoStore.read_batches``): ``2026-06-01``, or
    ``2026-06-01 to 2026-06-03`` when batches computed ages on several dates; None without any."""
    dates = sorted({str(b["as_of"]) for b in batches if b.get("as_of")})
    if not dates:
        return None
    return dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"


def published_users(docs: list[dict], k: int | None = None) -> int | None:
    """The users the aggregates count, as they may be published: the largest published total over
    the dimensions (None: fewer than k, withheld)."""
    known = [d["dimension_count"] for d in protected(docs, k) if d.get("dimension_count") is not None]
    return max(known) if known else None


def caption(docs: list[dict], k: int | None, as_of: str | None) -> str:
    """The line every figure carries: ``n = 450 users · k = 5 · processing date 2026-06-01``."""
    users = published_users(docs, k) if docs else 0
    n = f"n = {users} users" if users is not None else f"n < {k if k is not None else 'k'} users (withheld)"
    rule = f"k = {k}" if k is not None else "k: the stored flags"
    return f"{n} · {rule} · processing date {as_of or 'not known'}"


# ----------------------------------------------------------------------------- documents
def by_dimension(docs: Iterable[dict], dimension: str) -> list[dict]:
    """The documents of one dimension (none when the dimension is missing)."""
    return [d for d in docs if d.get("dimension") == dimension]


def protected(docs: Iterable[dict], k: int | None = None) -> list[dict]:
    """The documents as they may be shown with ``k`` (``analysis.disclosure.protect``, all
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
    interval: tuple[float, float] | None = None  #: an average's 95% interval (None: not known)
    mark: str | None = None  #: not like the others: ``PARTIAL_YEAR``, ``OPEN_BAND`` (drawn hatched)


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
    caption: str | None = None  #: n, k and the processing date (``caption``), under the figure
    overall_interval: tuple[float, float] | None = None  #: the 95% interval of ``overall``

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
        grouped, pie, marks = self.kind == "grouped", self.kind == "pie", any(c.mark for c in self.cells)
        head = [self.group_label] + ([self.series_label or "series"] if grouped else [])
        head += [self.value_label] + (["95% CI", "n"] if self.average else []) + (["share"] if pie else [])
        total = sum(c.count for c in self.drawn)
        rows = []
        for c in self.cells:
            row = [c.group] + ([c.series or ""] if grouped else [])
            if c.suppressed:
                row += [SUPPRESSED] + (["", ""] if self.average else []) + ([""] if pie else [])
            else:
                row += [_fmt(c.value, self.average)]
                row += [_fmt_interval(c.interval), str(c.count)] if self.average else []
                row += [f"{100 * c.count / total:.1f}%"] if pie else []
            rows.append(row + ([c.mark or ""] if marks else []))
        if self.overall:
            avg, n = self.overall
            rows.append(["all shown"] + [_fmt(avg, True), _fmt_interval(self.overall_interval), str(n)])
        head += ["note"] if marks else []
        labels = 2 if grouped else 1
        lines = [f"{self.title} ({rule})", *_align([head, *rows], labels, len(head) - 1 if marks else None)]
        if self.omitted:
            lines.append(f"({self.omitted} more groups not drawn)")
        return "\n".join(lines)


def _fmt(value: float, average: bool) -> str:
    return f"{value:.1f}" if average else str(int(value))


def _fmt_interval(interval: tuple[float, float] | None) -> str:
    """``38.2-45.9``, or ``-`` when not known (fewer than 2 users, or no sum of squares)."""
    return f"{interval[0]:.1f}-{interval[1]:.1f}" if interval else "-"


def _align(rows: list[list[str]], labels: int, note: int | None = None) -> list[str]:
    """Columns padded: the first ``labels`` and the ``note`` column to the left, numbers to the right."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]

    def cell(i: int, v: str, w: int) -> str:
        return v.ljust(w) if i < labels or i == note else v.rjust(w)

    return [
        "  ".join(cell(i, v, w) for i, (v, w) in enumerate(zip(r, widths, strict=True))).rstrip()
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
        interval = _bounds(d) if average and not is_suppressed(d) else None
        cells.append(Cell(group, series, d["count"], value, is_suppressed(d), d.get("suppression"), interval))
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
        Cell(
            d["key"],
            None,
            d["count"],
            average_age(d) or 0.0,
            is_suppressed(d),
            d.get("suppression"),
            None if is_suppressed(d) else _bounds(d),
        )
        for d in mine
    )
    drawn = [c for c in cells if not c.suppressed]
    n = sum(c.count for c in drawn)
    overall = (sum(c.value * c.count for c in drawn) / n, n) if n else None
    shown = [d for d in mine if not is_suppressed(d)]
    squares = [d.get("age_sq_sum") for d in shown]
    sums = [d.get("age_sum") for d in shown]
    both = None not in squares and None not in sums
    pooled = {"count": n, "age_sum": sum(sums), "age_sq_sum": sum(squares)} if both and n else None
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
        overall_interval=_bounds(pooled) if pooled else None,
    )


def _bounds(doc: Mapping) -> tuple[float, float] | None:
    interval = doc_interval(doc)
    return (interval.low, interval.high) if interval else None


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


def age_bands_data(docs: list[dict], k: int | None = None) -> FigureData:
    """Users per age band (``contract.AGE_BANDS``, equal widths) in band order: every band drawn,
    an empty one as 0 (an absent group is known to be empty), the open top band marked."""
    order = [label for _, label in AGE_BANDS]
    data = counts_data(docs, "age_band", k, name="age_bands", order=order)
    if data.message:
        return data
    present = {c.group for c in data.cells}
    cells = [*data.cells, *(Cell(label, None, 0, 0, False) for label in order if label not in present)]
    rank = {label: i for i, label in enumerate(order)}
    cells.sort(key=lambda c: (rank.get(c.group, len(rank)), c.group))
    cells = [dataclasses.replace(c, mark=OPEN_BAND) if c.group == OPEN_AGE_BAND else c for c in cells]
    width = AGE_BANDS[1][0] - AGE_BANDS[0][0]
    note = f"bands of {width} years; {OPEN_AGE_BAND} is open-ended (hatched)"
    return dataclasses.replace(data, cells=tuple(cells), notes=(note, *data.notes))


def _last_day(as_of: str | None) -> dt.date | None:
    """The last processing date of ``processing_dates``' text (``a`` or ``a to b``), or None."""
    if not as_of:
        return None
    return dt.date.fromisoformat(str(as_of).split(" to ")[-1][:10])


def mark_partial_years(data: FigureData, as_of: str | None) -> FigureData:
    """Registrations by year with the partial years marked: the first year of the source's
    registrations (``FIRST_REGISTRATION``) and the processing date's year (registrations up to it)."""
    if data.message:
        return data
    last = _last_day(as_of)
    partial_years = {}
    if FIRST_REGISTRATION.timetuple().tm_yday > 1:
        partial_years[str(FIRST_REGISTRATION.year)] = f"from {FIRST_REGISTRATION:%d %B}"
    if last is not None and (last.month, last.day) != (12, 31):
        partial_years[str(last.year)] = f"up to the processing date {last.isoformat()}"
    cells = tuple(
        dataclasses.replace(c, mark=PARTIAL_YEAR) if c.group in partial_years and not c.suppressed else c
        for c in data.cells
    )
    marked = [f"{c.group} ({partial_years[c.group]})" for c in cells if c.mark]
    notes = (f"partial years (hatched): {', '.join(marked)}",) if marked else ()
    if last is None:
        notes += ("processing date not known: the last year may be partial",)
    return dataclasses.replace(data, cells=cells, notes=(*notes, *data.notes))


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
    "age_bands": age_bands_data,
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


def figure_data(name: str, docs: list[dict], k: int | None = None, as_of: str | None = None) -> FigureData:
    """What figure ``name`` (a key of ``FIGURES``) draws from ``docs``, with its ``caption``.

    ``as_of``: the processing date (``processing_dates`` of the batch log; None: not known).
    """
    if name not in BUILDERS:
        raise KeyError(f"unknown figure {name!r}; figures: {', '.join(BUILDERS)}")
    data = BUILDERS[name](docs, k=k)
    if name == "registrations_by_year":
        data = mark_partial_years(data, as_of)
    return dataclasses.replace(data, caption=caption(docs, k, as_of))


def table(name: str, docs: list[dict], k: int | None = None, as_of: str | None = None) -> str:
    """The text table of figure ``name``: exactly the values it draws."""
    return figure_data(name, docs, k, as_of).table()
