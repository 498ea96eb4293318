"""The streaming query itself, without Kafka: a real query over a folder of JSON lines.

As Spark's own ``test_streaming_foreach_batch.py`` does, the query is started on a file
source, driven with ``processAllAvailable()`` and stopped in ``finally``. The files hold
the Kafka rows' shape (``contract.RAW_KAFKA_SCHEMA``: key, value, topic, partition, offset,
timestamp), one file per micro-batch; the batches go to ``FakeSinks``. So ``stream.start``
(trigger, checkpoint, warm-up, the applier, ``recover``) and ``StreamHandle.stop`` run as
they do against Kafka, a stop and a restart from the checkpoint included.
"""

from __future__ import annotations

import json
from collections import Counter

from pyspark.sql import functions as F

from profilepipe import contract
from profilepipe.pipeline import stream

from support.frames import TS, to_bytes
from support.sinks import FakeSinks

FILE_SCHEMA = "key STRING, value STRING, topic STRING, partition INT, offset BIGINT, timestamp TIMESTAMP"


def write_batch(folder, name: str, values: list, first_offset: int) -> None:
    """One file of JSON lines in the Kafka rows' shape: message ``i`` at offset ``first_offset + i``."""
    lines = [
        {
            "key": None,
            "value": to_bytes(v).decode("utf-8"),
            "topic": "users",
            "partition": 0,
            "offset": first_offset + i,
            "timestamp": TS.isoformat(),
        }
        for i, v in enumerate(values)
    ]
    (folder / f"{name}.tmp").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    (folder / f"{name}.tmp").rename(folder / f"{name}.json")  # whole files only: the source lists them


def json_lines(folder):
    """A ``stream.start`` source: the folder's files, one per micro-batch, as Kafka-shaped rows."""

    def source(spark, _settings):
        rows = spark.readStream.schema(FILE_SCHEMA).option("maxFilesPerTrigger", 1).json(str(folder))
        return rows.select(
            F.col("key").cast("binary").alias("key"),
            F.col("value").cast("binary").alias("value"),
            *("topic", "partition", "offset", "timestamp"),
        )

    return source


def run_to_the_end(settings, sinks, folder) -> stream.Counts:
    handle = stream.start(settings, sinks=sinks, source=json_lines(folder))
    try:
        handle.query.processAllAvailable()
    finally:
        result = handle.stop()  # the applier has recorded the last batch when this returns
    return result


def test_a_query_over_files_stops_and_restarts_from_its_checkpoint(spark, settings, tmp_path, users):
    settings = settings.replace(
        pii_mode="hmac",
        hmac_key="unit-test-key-stream-files",
        checkpoint_dir=str(tmp_path / "checkpoint"),
        trigger_seconds=0.1,
    )
    folder = tmp_path / "in"
    folder.mkdir()
    sinks = FakeSinks()
    write_batch(folder, "0", users[:5], first_offset=0)

    first = run_to_the_end(settings, sinks, folder)
    assert (first.batches, first.read, first.balanced) == (1, 5, True)

    write_batch(folder, "1", users[5:], first_offset=5)  # while the query is stopped
    write_batch(folder, "2", [b"this is not json", b"[1, 2]"], first_offset=len(users))
    second = run_to_the_end(settings, sinks, folder)  # the same checkpoint: only the new files
    assert (second.batches, second.read, second.dead_letter, second.balanced) == (2, len(users) - 3, 2, True)
    assert run_to_the_end(settings, sinks, folder).batches == 0  # and then nothing again

    adults = {u["login"]["uuid"].lower() for u in users if u["nat"] != "FI"}  # the FI user is 15
    assert set(sinks.table) == adults and first.stored + second.stored == len(adults)
    assert len(sinks.batches) == 3 and not sinks.written and not sinks.plans  # every batch applied
    assert sinks.nonzero() == sinks.table_groups()  # the aggregates equal the table
    assert all(contract.balanced(doc) for doc in sinks.batches.values())
    letters = [json.loads(v) for batch in sinks.letters.values() for _k, v in batch]
    assert Counter(d["reason"] for d in letters) == {"invalid_json": 1, "not_a_user": 1}
    assert sorted(d["source_offset"] for d in letters) == [len(users), len(users) + 1]
