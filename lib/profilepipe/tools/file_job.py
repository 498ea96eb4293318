"""``profilepipe transform FILE``: the stream's transform on a file, in Spark batch mode.

The file is cut into messages the way Kafka would carry them (``frame``), into a DataFrame
with the Kafka source's columns (``contract.RAW_KAFKA_SCHEMA``), and then goes through::

    shaped = transform.assemble(raw, settings, as_of)
    counts = transform.outcome_counts(shaped)
    rows   = transform.stored_rows(shaped)     # in file order; phone and address already hashed
    dlq    = transform.dead_letters(shaped)

``assemble`` is the stream's transform (parse, ``shape``, ``privacy.hash_pii``),
without the erasure register (so ``erased`` is always 0). Nothing is written to a store.

Framing: a file that is one JSON document (an API response, a single user, even
pretty-printed over many lines) is one message at offset 1; anything else is read
as JSON lines, one message per non-blank line, the offset being the line number
(1-based), so a dead letter points at its line. topic = the file name, partition 0,
no key, timestamp = the file's modification time.

Output: one JSON object per stored row on ``out`` (the Cassandra column names), the
dead letters as JSON lines on ``err`` and a last ``err`` line, the counts as the stream
prints them (``Counts.outcomes``).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from profilepipe.contract import RAW_KAFKA_SCHEMA
from profilepipe.pipeline import privacy, transform
from profilepipe.pipeline.report import Counts
from profilepipe.pipeline.spark import get_spark

JSON_OPTIONS = {
    "ignoreNullFields": "false",  # every column in every line
    "timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",  # UTC with a Z suffix, whatever the session
    "dateFormat": "yyyy-MM-dd",
}


def frame(data: bytes) -> list[tuple[int, bytes]]:
    """``(offset, value)`` messages of a file: one JSON document, or JSON lines."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # UTF-8 byte order mark
    if not data.strip():
        return []
    try:
        json.loads(data.decode("utf-8"))
        return [(1, data.strip())]
    except (UnicodeDecodeError, ValueError):
        pass
    return [
        (number, line.rstrip(b"\r")) for number, line in enumerate(data.split(b"\n"), start=1) if line.strip()
    ]


def raw_frame(spark, path: str | Path):
    """The file as a Kafka-shaped DataFrame (see ``frame``)."""
    p = Path(path)
    mtime = dt.datetime.fromtimestamp(p.stat().st_mtime, tz=dt.UTC)
    rows = [(None, value, p.name, 0, offset, mtime) for offset, value in frame(p.read_bytes())]
    return spark.createDataFrame(rows, RAW_KAFKA_SCHEMA)


def transform_file(settings, path, as_of=None, out=None, err=None) -> Counts:
    """Transform a randomuser file; stored rows to ``out``, dead letters and counts to ``err``.

    ``out``/``err`` default to ``sys.stdout``/``sys.stderr`` (looked up at call time).
    Returns the counts.
    """
    from pyspark.sql import functions as F

    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    privacy.check_settings(settings)  # e.g. hmac mode without a key: refuse before Spark
    spark = get_spark(settings, app_name="profilepipe-transform")
    raw = raw_frame(spark, path)

    shaped = transform.assemble(raw, settings, as_of).persist()
    try:
        counts = Counts(**transform.outcome_counts(shaped))
        in_order = shaped.orderBy("source_partition", "source_offset", "record_index")  # file order
        rows = transform.stored_rows(in_order)
        for line in rows.select(F.to_json(F.struct("*"), JSON_OPTIONS)).collect():
            out.write(line[0] + "\n")
        dlq = transform.dead_letters(in_order).withColumn("key", F.col("key").cast("string"))
        for line in dlq.select(F.to_json(F.struct("*"), JSON_OPTIONS)).collect():
            err.write(line[0] + "\n")
    finally:
        shaped.unpersist()
    err.write(counts.outcomes() + "\n")
    out.flush()
    err.flush()
    return counts
