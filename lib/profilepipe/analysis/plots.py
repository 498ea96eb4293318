"""matplotlib figures of the aggregates stored in MongoDB, and the numbers each one draws.

Input: aggregate documents (``analysis.disclosure.read_aggregates``, or the exact
``MongoStore.read_raw_aggregates``):
dicts with ``dimension``, ``key``, ``count``, ``age_sum``, ``age_sq_sum``, ``avg_age`` and
``suppressed``. Any
list of them works: an empty one (notebook 03 run before notebooks 01 and 02) and one that lacks
some dimensions too. What is hidden, and why more than the small groups: ``analysis.figure_data``.

The contract of every figure in ``FIGURES``:

* **Numbers.** ``figure_data(name, docs, k)`` (``analysis.figure_data``: suppression, averages,
  the text table) is what figure ``name`` draws, and the drawing code draws exactly that.
  ``show`` prints the table under the figure, so nbval compares the data of every figure.
* **Layout.** Legends sit outside the axes, on the right; notes (suppressed groups, why the
  email figure is one bar, partial years) sit above the axes under the title: neither covers a
  bar. Both axes are labelled. Averages carry their 95% confidence interval as an error bar.
  A bar that is not like the others (a partial year, the open-ended age band) is hatched.
* **Context.** Every figure says n (users), k and the processing date in a footnote
  (``footnote``, with ``figure_data.caption``'s line); ``as_of`` is the batch log's processing
  date (``figure_data.processing_dates``).
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
import io
import json
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from profilepipe.analysis.disclosure import COMPLEMENTARY
from profilepipe.analysis.figure_data import (
    BUILDERS,
    DOCUMENT_FIELDS,
    PUBLISHED_FIELDS,
    FigureData,
    average_age_line,
    by_dimension,
    caption,
    counts_data,
    doc_interval,
    figure_data,
    processing_dates,
    summary,
    table,
)

#: Resolution of every PNG (notebook output, saved figures, README figure).
PNG_DPI = 100
#: The notebook whose figure the README shows, and that figure.
README_NOTEBOOK = "03_analyse_aggregates.ipynb"
README_FIGURE = "avg_age_by_country_gender"
#: Key of the display metadata that names a figure in a notebook output.
METADATA_KEY = "profilepipe"
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


def footnote(fig: Figure, text: str | None) -> None:
    """The figure's context line (``caption``: n, k, processing date) in small grey type under
    the axes; the constrained layout keeps it clear of the axis labels."""
    if text:
        fig.supxlabel(text, fontsize=8, color="dimgray")


def _error_bars(ax: Axes, xs: list[float], cells: list) -> None:
    """95% intervals (``Cell.interval``) as black error bars on average bars; none where unknown."""
    known = [(x, c) for x, c in zip(xs, cells, strict=True) if c.interval]
    if known:
        ax.errorbar(
            [x for x, _ in known],
            [c.value for _, c in known],
            yerr=[[c.value - c.interval[0] for _, c in known], [c.interval[1] - c.value for _, c in known]],
            fmt="none",
            ecolor="black",
            elinewidth=1,
            capsize=3,
        )


def _hatch_marked(ax: Axes, bars, cells: list) -> float:
    """Hatch the bars whose cell carries a ``mark`` and write the mark above them (upright when the
    bars are too narrow for it); returns the headroom the marks need, as a factor of the top."""
    narrow = len(cells) > 10
    for bar, c in zip(bars, cells, strict=True):
        if c.mark:
            bar.set_hatch("//")
            bar.set_facecolor("lightsteelblue")
            bar.set_edgecolor("tab:blue")
            x, top = bar.get_x() + bar.get_width() / 2, bar.get_height()
            ax.annotate(c.mark, (x, top), xytext=(0, 2), textcoords="offset points", ha="center",
                        va="bottom", fontsize=7, color="dimgray", rotation=90 if narrow else 0)  # fmt: skip
    return 1.35 if narrow else 1.12


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
        ax.set_ylabel(data.group_label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        return
    days = {label.partition("T")[0] for label in labels}
    ax.set_xlabel(data.group_label)
    if data.name == "ingested_per_minute" and len(days) == 1:
        ax.set_xlabel(f"minute (UTC) on {days.pop()}")
        labels = [label.partition("T")[2] for label in labels]
    bars = ax.bar(range(len(labels)), values, color="tab:blue")
    headroom = _hatch_marked(ax, bars, data.drawn)
    if any(c.mark for c in data.drawn):
        ax.set_ylim(0, max(values, default=0) * headroom or 1)  # room for the marks
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
            _error_bars(ax, xs, cells)
            for xi, c in zip(xs, cells, strict=True):
                ax.text(xi, 1, f"n={c.count}", ha="center", va="bottom", color="white", **label_style)
    for c in data.cells:
        if c.suppressed and c.group in x:
            ax.text(
                x[c.group] + offset[c.series],
                0.01,
                "hidden" if c.why == COMPLEMENTARY else f"n<{limit}",
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
    ax.set_xlabel(data.group_label)
    ax.set_ylabel("average age (years), 95% CI" if data.average else data.value_label)
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
    ax.set_xlabel(f"{data.group_label}: users (share of those shown)")


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
    _error_bars(ax, list(range(len(drawn))), drawn)
    if data.overall:
        avg, n = data.overall
        ax.axhline(avg, color="black", linestyle="--", linewidth=1, label=f"all shown\n{avg:.1f} (n={n})")
        _legend(ax)
    ax.set_xlabel(data.group_label)
    ax.set_ylabel("average age (years), 95% CI")
    ax.set_ylim(0, max(c.interval[1] if c.interval else c.value for c in drawn) * 1.1)


def _draw_named(name: str, docs: list[dict], ax: Axes, k: int | None, as_of: str | None = None) -> Axes:
    return draw(figure_data(name, docs, k, as_of), ax)


#: name -> ``draw(docs, ax, k)``; every figure is saved as ``<name>.png`` by ``save_all``.
FIGURES: dict[str, Callable[[list[dict], Axes, int | None], Axes]] = {
    name: partial(_draw_named, name) for name in BUILDERS
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
    footnote(fig, data.caption)
    return fig


def figure(name: str, docs: list[dict], k: int | None = None, as_of: str | None = None) -> Figure:
    """One named figure (see ``FIGURES``), outside pyplot (nothing to close, never auto-shown).

    ``as_of``: the processing date for the footnote and the partial last year (None: not known)."""
    return _figure_of(figure_data(name, docs, k, as_of))


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


def show(name: str, docs: list[dict], k: int | None = None, as_of: str | None = None) -> None:
    """In a notebook: display figure ``name`` and print its table under it.

    A figure with a headline (the average-age KPI) prints it first. When there is nothing to
    draw, print the one-line reason instead. ``as_of``: as for ``figure``.
    """
    from IPython.display import display

    data = figure_data(name, docs, k, as_of)
    if data.message:
        print(data.message)
        return
    if data.headline:
        print(data.headline)
    display(_FigureOutput(name, data.title, png_bytes(_figure_of(data))))
    print(data.table())


def save_all(
    docs: list[dict], out_dir: str | Path, k: int | None = None, close: bool = True, as_of: str | None = None
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
        path.write_bytes(png_bytes(figure(name, docs, k, as_of)))
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


#: What a notebook calls: the figures, and the numbers of each (from ``analysis.figure_data``).
__all__ = [
    "DOCUMENT_FIELDS",
    "PUBLISHED_FIELDS",
    "FIGURES",
    "by_dimension",
    "average_age_line",
    "caption",
    "doc_interval",
    "footnote",
    "processing_dates",
    "export_figure",
    "export_readme_figure",
    "figure",
    "figure_data",
    "notebook_figure_png",
    "plot_avg_age_by_country_gender",
    "plot_counts",
    "plot_gender",
    "png_bytes",
    "readme_figure_paths",
    "save_all",
    "show",
    "summary",
    "table",
]
