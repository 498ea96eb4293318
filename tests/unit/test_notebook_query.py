"""Notebook 02 shows the streaming query composed from the package's steps, the same way
``stream.start`` (``profilepipe stream``) composes it: no second implementation."""

import inspect
from types import SimpleNamespace

import nbformat

from profilepipe.config import get_settings
from profilepipe.pipeline import stream
from profilepipe.pipeline.spark import ui_address
from profilepipe.tools import notebooks

#: the query's lines, in order, as both the notebook and ``stream.start`` write them
CHAIN = (
    ".writeStream.queryName(",
    ".foreachBatch(writer)",
    '.option("checkpointLocation", settings.checkpoint_dir)',
    ".trigger(**",
    ".start()",
)


def _in_order(text: str, parts) -> bool:
    at = 0
    for part in parts:
        at = text.find(part, at)
        if at < 0:
            return False
    return True


def _query_cell() -> str:
    path = notebooks.notebook_dir() / "02_stream_transform_store.ipynb"
    cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    found = [s for s in cells if ".foreachBatch(" in s]
    assert len(found) == 1, "notebook 02 has one cell that starts the query"
    return found[0]


def test_notebook_02_composes_the_query_from_the_package_steps():
    cell = _query_cell()
    assert "stream.batch_writer(settings" in cell
    assert _in_order(cell, ("stream.read_kafka(spark, settings)", *CHAIN))
    assert "stream.close(query, writer)" in cell


def test_stream_start_composes_the_same_steps():
    source = inspect.getsource(stream.start)
    assert "batch_writer(settings" in source
    assert _in_order(source, ("read_kafka)(spark, settings)", *CHAIN))


def test_the_kafka_source_options_come_from_the_settings():
    settings = get_settings(max_offsets_per_trigger=100, spark_read_partitions=3)
    options = stream.kafka_options(None, settings)  # no Spark needed when the partitions are set
    assert options["subscribe"] == settings.kafka_topic
    assert options["kafka.bootstrap.servers"] == settings.kafka_bootstrap
    assert options["maxOffsetsPerTrigger"] == "100" and options["minPartitions"] == "3"
    assert all(isinstance(v, str) for v in options.values())


def test_the_spark_ui_address_names_the_streaming_tab():
    on = SimpleNamespace(sparkContext=SimpleNamespace(uiWebUrl="http://127.0.0.1:4040"))
    off = SimpleNamespace(sparkContext=SimpleNamespace(uiWebUrl=None))
    assert ui_address(on) == "http://127.0.0.1:4040/StreamingQuery/"
    assert ui_address(off) is None


def test_jupyterlab_kernels_get_the_spark_ui_unless_the_environment_says_no(monkeypatch):
    monkeypatch.delenv("PROFILEPIPE_SPARK_UI", raising=False)
    assert get_settings().spark_ui is False  # headless runs and CI: off
    assert notebooks.lab_env({})["PROFILEPIPE_SPARK_UI"] == "true"
    assert notebooks.lab_env({"PROFILEPIPE_SPARK_UI": "false"})["PROFILEPIPE_SPARK_UI"] == "false"
