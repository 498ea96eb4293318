"""matplotlib figures of the aggregates stored in MongoDB.

Input: the merged aggregate documents (``sinks.read_aggregates``): dicts with ``dimension``,
``key``, ``count``, ``age_sum``, ``avg_age`` and ``suppressed`` (count below k). Suppressed
groups are never drawn with their value: they are left out and the figure says how many,
because a count of 1 or 2 next to a nationality and an age band can point at a person.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import matplotlib.pyplot as plt

from .aggregates import AGE_BANDS

TITLES = {
    "nationality": "Users by nationality",
    "gender": "Gender split",
    "age_band": "Users by age band",
    "country_gender": "Average age by country and gender",
    "email_domain": "Top email domains",
    "registered_year": "Registrations by year",
    "ingested_minute": "Users ingested per minute (UTC)",
}


def by_dimension(docs: Iterable[dict], dimension: str) -> list[dict]:
    return [d for d in docs if d["dimension"] == dimension]


def visible(docs: list[dict]) -> tuple[list[dict], int]:
    """(groups that may be shown, number of suppressed groups)."""
    shown = [d for d in docs if not d.get("suppressed")]
    return shown, len(docs) - len(shown)


def _note(ax, hidden: int, k: int | None) -> None:
    if hidden:
        ax.text(
            0.99,
            0.98,
            f"{hidden} group(s) with fewer than {k or 'k'} users suppressed",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            color="dimgray",
        )


def _bars(ax, labels, values, horizontal=False, color="tab:blue"):
    if horizontal:
        ax.barh(labels, values, color=color)
        ax.invert_yaxis()
        ax.set_xlabel("users")
    else:
        ax.bar(labels, values, color=color)
        ax.set_ylabel("users")


def plot_counts(
    docs: list[dict],
    dimension: str,
    ax=None,
    k: int | None = None,
    top: int | None = None,
    order: list[str] | None = None,
    horizontal: bool = False,
):
    """Bar chart of user counts per key of one dimension."""
    ax = ax or plt.subplots(figsize=(8, 4))[1]
    shown, hidden = visible(by_dimension(docs, dimension))
    if order:
        rank = {key: i for i, key in enumerate(order)}
        shown.sort(key=lambda d: rank.get(d["key"], len(rank)))
    elif dimension in ("registered_year", "ingested_minute"):
        shown.sort(key=lambda d: d["key"])
    else:
        shown.sort(key=lambda d: (-d["count"], d["key"]))
    if top:
        shown = shown[:top]
    _bars(ax, [d["key"] for d in shown], [d["count"] for d in shown], horizontal=horizontal)
    ax.set_title(TITLES.get(dimension, dimension))
    if not horizontal and len(shown) > 8:
        ax.tick_params(axis="x", labelrotation=60)
    _note(ax, hidden, k)
    return ax


def plot_gender(docs: list[dict], ax=None, k: int | None = None):
    ax = ax or plt.subplots(figsize=(5, 5))[1]
    shown, hidden = visible(by_dimension(docs, "gender"))
    shown.sort(key=lambda d: d["key"])
    total = sum(d["count"] for d in shown)
    ax.pie(
        [d["count"] for d in shown],
        labels=[f"{d['key']} ({d['count']})" for d in shown],
        autopct=lambda p: f"{p:.1f}%" if total else "",
        startangle=90,
        counterclock=False,
    )
    ax.set_title(TITLES["gender"])
    _note(ax, hidden, k)
    return ax


def plot_avg_age_by_country_gender(docs: list[dict], ax=None, k: int | None = None):
    """Grouped bars: average age per country, one bar per gender; groups below k left out."""
    import numpy as np

    ax = ax or plt.subplots(figsize=(10, 4.5))[1]
    shown, hidden = visible(by_dimension(docs, "country_gender"))
    cells = {}
    for d in shown:
        country, gender = d["key"].rsplit("|", 1)
        cells[(country, gender)] = d["avg_age"]
    countries = sorted({c for c, _ in cells})
    genders = sorted({g for _, g in cells})
    x = np.arange(len(countries))
    width = 0.8 / max(len(genders), 1)
    for i, gender in enumerate(genders):
        values = [cells.get((c, gender), np.nan) for c in countries]
        ax.bar(x + i * width - 0.4 + width / 2, values, width, label=gender)
    ax.set_xticks(x, countries, rotation=60, ha="right")
    ax.set_ylabel("average age (years)")
    ax.set_title(TITLES["country_gender"])
    if genders:
        ax.legend(title="gender", loc="lower right")
    _note(ax, hidden, k)
    return ax


FIGURES = {
    "users_by_nationality": lambda docs, ax, k: plot_counts(docs, "nationality", ax, k),
    "gender_split": lambda docs, ax, k: plot_gender(docs, ax, k),
    "age_bands": lambda docs, ax, k: plot_counts(
        docs, "age_band", ax, k, order=[label for _, label in AGE_BANDS]
    ),
    "avg_age_by_country_gender": lambda docs, ax, k: plot_avg_age_by_country_gender(docs, ax, k),
    "top_email_domains": lambda docs, ax, k: plot_counts(
        docs, "email_domain", ax, k, top=10, horizontal=True
    ),
    "registrations_by_year": lambda docs, ax, k: plot_counts(docs, "registered_year", ax, k),
    "ingested_per_minute": lambda docs, ax, k: plot_counts(docs, "ingested_minute", ax, k),
}


def figure(name: str, docs: list[dict], k: int | None = None):
    """One named figure (see ``FIGURES``); returns the matplotlib Figure."""
    size = (10, 4.5) if name in ("avg_age_by_country_gender", "users_by_nationality") else (8, 4)
    fig, ax = plt.subplots(figsize=size if name != "gender_split" else (5.5, 5.5))
    FIGURES[name](docs, ax, k)
    fig.tight_layout()
    return fig


def show(name: str, docs: list[dict], k: int | None = None) -> None:
    """Display one figure in a notebook and close it (one output per cell, whatever the backend)."""
    from IPython.display import display

    fig = figure(name, docs, k)
    display(fig)
    plt.close(fig)


def save_all(
    docs: list[dict], out_dir: str | Path, k: int | None = None, close: bool = True
) -> dict[str, Path]:
    """Draw every figure and save it as ``<out_dir>/<name>.png``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in FIGURES:
        fig = figure(name, docs, k)
        path = out / f"{name}.png"
        fig.savefig(path, dpi=100)
        paths[name] = path
        if close:
            plt.close(fig)
    return paths
