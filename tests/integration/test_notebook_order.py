"""Notebooks run out of order, or twice, say what to run first in one line; never a KeyError.

Each test points the notebooks' kernels at a pipeline of its own (topic, table, erasure
register, collections, checkpoint) through the ``PROFILEPIPE_*`` environment, which a
parameter left at ``None`` reads, and runs them headless as ``profilepipe run`` does.
"""

from __future__ import annotations

import json

import pytest

from profilepipe.sources import generator, producer
from profilepipe.tools import notebooks


@pytest.fixture
def pipeline(isolated, monkeypatch):
    settings = isolated("order", bcrypt_cost=4)
    monkeypatch.setenv("PROFILEPIPE_KAFKA_TOPIC", settings.kafka_topic)
    monkeypatch.setenv("PROFILEPIPE_CASSANDRA_TABLE", settings.cassandra_table)
    monkeypatch.setenv("PROFILEPIPE_MONGO_COLLECTION", settings.mongo_collection)
    monkeypatch.setenv("PROFILEPIPE_CHECKPOINT_DIR", settings.checkpoint_dir)
    monkeypatch.setenv("PROFILEPIPE_BCRYPT_COST", "4")
    monkeypatch.setenv("PROFILEPIPE_AS_OF", "2026-06-01")
    return settings


def _run(tmp_path, only: str, **parameters) -> tuple[int, str]:
    """Run one notebook; (exit code, the text of its outputs)."""
    out = tmp_path / only
    rc = notebooks.run_all(output_dir=str(out), only=[only], parameters=parameters, timeout=600)
    run = max(p for p in out.iterdir() if p.is_dir() and p.name != "latest")  # this run: the newest
    book = next(run.glob(f"{only}_*.ipynb"))
    cells = json.loads(book.read_text())["cells"]
    texts = []
    for cell in cells:
        for o in cell.get("outputs", []):
            texts.append("".join(o.get("text", "")) + "".join(o.get("evalue", "")))
    return rc, "\n".join(texts)


def test_notebooks_on_an_empty_pipeline_say_what_to_run_first(pipeline, tmp_path, capsys):
    rc, _ = _run(tmp_path, "02")
    err = capsys.readouterr().err
    assert rc == notebooks.EXIT_FAILED
    assert f"NotReady: topic '{pipeline.kafka_topic}' is empty: run notebook 01" in err

    rc, text = _run(tmp_path, "03")  # no aggregates: one line, and every figure cell copes
    assert rc == 0
    assert "no aggregate documents yet: run notebooks 01_produce_users and 02_stream_transform_store" in text

    rc, _ = _run(tmp_path, "04")
    err = capsys.readouterr().err
    assert rc == notebooks.EXIT_FAILED
    assert "NotReady: no stored user to forget: the table is empty; run notebook 02" in err


def test_live_notebook_with_a_backlog_says_to_run_02_first(pipeline, tmp_path, capsys):
    users = generator.generate_users(5, seed="backlog", as_of="2026-06-01")
    assert producer.produce(users, pipeline, progress=False).sent == 5
    rc, _ = _run(tmp_path, "05")
    assert rc == notebooks.EXIT_FAILED
    assert "NotReady: 5 message(s) in topic" in capsys.readouterr().err


def test_notebook_02_run_twice_says_nothing_new_and_the_table_still_matches(pipeline, tmp_path):
    users = generator.generate_users(40, seed="twice", as_of="2026-06-01")
    adults = [u for u in users if generator.expected_outcome(u, "2026-06-01") == "stored"]
    assert producer.produce(users, pipeline, progress=False).sent == 40

    rc, first = _run(tmp_path, "02")
    assert rc == 0
    assert f"stored={len(adults)} " in first and "balanced: True" in first
    assert (
        f"rows in Cassandra: {len(adults)}; stored by the stream since the last reset: {len(adults)}" in first
    )

    rc, second = _run(tmp_path, "02")
    assert rc == 0
    # the first run's query ended after committing its last batch, so nothing is read again
    assert "nothing new was read" in second and "read=40" not in second
    assert "match: True" in second and "match: False" not in second
