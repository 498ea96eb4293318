"""Figures in notebooks are images: no output is only the text ``<Figure size ...>``.

A bare matplotlib ``Figure`` handed to ``display`` with no PNG formatter registered (pyplot
never imported) shows as that text; notebook 05's live view sends PNG bytes instead.
"""

from __future__ import annotations

import base64

import nbformat
import pytest
from IPython.core.formatters import DisplayFormatter
from matplotlib.figure import Figure

from profilepipe.config import get_settings
from profilepipe.pipeline.report import BatchReport, Counts
from profilepipe.tools import live
from profilepipe.tools.notebooks import list_notebooks, unrendered_figures

from support.sinks import FakeMongo

PNG = b"\x89PNG\r\n\x1a\n"


def _formatted(obj) -> dict:
    """The MIME bundle the kernel sends for ``obj`` (IPython's own formatter)."""
    data, _metadata = DisplayFormatter().format(obj)
    return data


@pytest.mark.parametrize("path", list_notebooks(), ids=lambda p: p.stem)
def test_no_committed_notebook_shows_a_figure_as_text_only(path):
    nb = nbformat.read(path, as_version=4)
    assert unrendered_figures(nb) == []


def test_the_rule_finds_a_bare_figure_and_accepts_one_with_its_png():
    bare = nbformat.v4.new_output("display_data", data={"text/plain": "<Figure size 1100x380 with 2 Axes>"})
    drawn = nbformat.v4.new_output(
        "display_data", data={"text/plain": "<Figure size 640x480 with 1 Axes>", "image/png": "iVBORw0KGgo="}
    )
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(outputs=[drawn]), nbformat.v4.new_code_cell()]
    )
    assert unrendered_figures(nb) == []
    nb.cells[1].outputs = [bare]
    assert unrendered_figures(nb) == ["code cell 1: <Figure size 1100x380 with 2 Axes>"]
    as_json = {"cells": [{"cell_type": "code", "outputs": [{"data": {"text/plain": ["<Figure size 1x1>"]}}]}]}
    assert unrendered_figures(as_json) == ["code cell 0: <Figure size 1x1>"]


def test_a_bare_figure_is_only_text_and_png_image_makes_it_an_image():
    figure = Figure(figsize=(4, 3))
    figure.subplots().plot([0, 1], [1, 0])
    assert "image/png" not in _formatted(figure)  # what the live view showed before
    data = _formatted(live.png_image(figure, dpi=50))
    png = data["image/png"]
    raw = png if isinstance(png, bytes) else base64.b64decode(png)
    assert raw[:8] == PNG and len(raw) > 1000
    assert not data.get("text/plain", "").startswith("<Figure")


def _report(batch_id: int, read: int, started: float, seconds: float) -> BatchReport:
    return BatchReport(
        batch_id=batch_id,
        read=read,
        stored=read,
        seconds=seconds,
        started_at=started,
        finished_at=started + seconds,
    )


def test_notebook_view_displays_png_and_updates_it_in_place(monkeypatch):
    shown, updates = [], []

    class Handle:
        def update(self, obj):
            updates.append(_formatted(obj))

    def display(obj, display_id=None):
        assert display_id is True  # so that it can be updated in place
        shown.append(_formatted(obj))
        return Handle()

    fr = {"dimension": "nationality", "key": "FR", "count": 7, "age_sum": 280, "age_sq_sum": 11_480}
    mongo = FakeMongo(aggregates=lambda: [{**fr, "avg_age": 40.0, "suppressed": False}])
    view = live.NotebookView(get_settings(), rate=10, display=display, mongo=mongo)
    reports = [_report(0, 5, 100.5, 1.5), _report(1, 20, 102.0, 1.6)]
    view.batch(live.batch_rates(reports[:1], opened_at=100.0))
    view.batch(live.batch_rates(reports, opened_at=100.0))
    assert len(shown) == 1 and len(updates) == 2
    for data in shown + updates:
        assert "image/png" in data and not data.get("text/plain", "").startswith("<Figure")
    labels = [t.get_text() for t in view.rate_ax.get_legend().get_texts()]
    assert labels[:2] == ["input (arriving)", "processed by Spark"]
    assert "producer's target (10/s)" in labels


def test_rates_per_batch_and_the_verdict():
    # the producer from t=100 at 10 users/s: one user every 0.1 s, the last at 103.95
    sent_at = [100.05 + 0.1 * i for i in range(40)]
    reports = [_report(0, 5, 100.5, 0.9), _report(1, 15, 102.0, 1.0), _report(2, 20, 104.15, 0.9)]
    rows = live.batch_rates(reports, opened_at=100.0, sent_at=sent_at)
    assert [round(r.input_per_s, 1) for r in rows] == [10.0, 10.0, 9.3]  # read / seconds since the last start
    assert [round(r.processing_per_s, 1) for r in rows] == [5.6, 15.0, 22.2]  # read / the batch's seconds
    assert [r.keeps_up for r in rows] == [False, True, True]
    assert [r.waiting for r in rows] == [14 - 5, 30 - 20, 0]  # sent by the batch's end, less read
    assert rows[1].line().endswith("in 10.0/s, processed 15.0/s, 10 waiting: keeps up")
    total = Counts.total(reports, 5.0)
    result = live.LiveResult(
        sent=40, rate=10, result=total, reports=reports, opened_at=100.0, sent_at=sent_at
    )
    assert result.kept_up  # while sending: 1.9 s busy for records that took 2 s to arrive
    assert result.verdict() == (
        "kept up: True (input 10.0/s, processed 10.5/s; backlog when the producer stopped: "
        "20 records, read 1.1 s later; max batch 1.0 s)"
    )
    assert [row["keeps_up"] for row in result.table()] == [False, True, True]
    # each batch takes longer than its records took to arrive: every batch twice the one before
    slow = [_report(0, 10, 101.0, 2.0), _report(1, 20, 103.0, 4.0), _report(2, 40, 107.0, 8.0)]
    behind = live.LiveResult(sent=70, rate=10, result=Counts.total(slow, 15.0), reports=slow, opened_at=100.0)
    assert not behind.kept_up and behind.verdict().startswith(
        "kept up: False (input 10.0/s, processed 5.0/s;"
    )
