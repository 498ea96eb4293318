"""Cassandra's own ingest limit here, and how close the pipeline's writer gets to it.

Run it with the stack up (it only creates and drops a scratch table of its own):

    .venv/bin/python bench/cassandra_limit.py [--rows 200000] [--max-in-flight N]

The rows are the pipeline's: ``--rows`` users from the offline generator (no minors, so every
one is stored), cut into Kafka-shaped messages and run through the stream's transform
(``transform.assemble``, which hashes in hmac mode here: bcrypt would take hours, then
``stored_rows``), then cached in Spark. On those same rows it measures:

1. the store's limit: the fastest client, the Java driver (``java-driver-core`` 4.19) in a JVM of
   its own (``profilepipe.cassandra.Limit``, ``bench/Limit.java`` beside this script, compiled at
   each run against the writer's jars of ``stack/cassandra-writer``; the rows exported as
   text first), async prepared INSERTs with ``--max-in-flight`` outstanding, one thread, one
   session; only the inserts are timed; then the same in Spark's driver JVM (rows collected);
2. the pipeline's writer through Spark (``stores.cassandra_jvm.write_cassandra_jvm``: the same
   driver on the executors, one partition per core), timed from the call to its answer (the Spark
   job).

Before the timed runs, a warm-up of ``--warmup`` rows goes through 1 and 2 (JIT, sessions,
prepared statements); the table is truncated before each timed run. It prints rows/s of each and
the ratios. Client and server share this machine's cores, as they do in the pipeline here.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

#: ``profilepipe.cassandra.Limit``: not part of the writer's jar, compiled by :func:`compile_limit`
LIMIT_SOURCE = Path(__file__).resolve().parent / "Limit.java"


def stored_rows(spark, settings, count: int, seed: str):
    """``count`` stored rows of generated users through the stream's transform (cached)."""
    from pyspark.sql import functions as F

    from profilepipe.pipeline import transform
    from profilepipe.sources import generator

    folder = Path(tempfile.mkdtemp(prefix="cassandra-limit-"))
    path = folder / "users.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for user in generator.iter_users(count, seed=seed, minor_share=0.0, as_of=settings.as_of or None):
            fh.write(json.dumps(user, ensure_ascii=False) + "\n")
    raw = spark.read.text(str(path)).select(
        F.lit(None).cast("binary").alias("key"),
        F.encode(F.col("value"), "UTF-8").alias("value"),
        F.lit("users").alias("topic"),
        F.lit(0).alias("partition"),
        F.monotonically_increasing_id().alias("offset"),
        F.current_timestamp().alias("timestamp"),
    )
    shaped = transform.assemble(raw, settings)  # hashes too
    rows = transform.stored_rows(shaped)
    rows = rows.repartition(spark.sparkContext.defaultParallelism).persist()
    n = rows.count()
    path.unlink()
    folder.rmdir()
    return rows, n


def export_rows(rows, folder: Path) -> None:
    """The rows as text for ``profilepipe.cassandra.Limit``: tab-separated, hex UTF-8 text, ``\\N`` null."""
    from pyspark.sql import functions as F

    cols = []
    for name, kind in rows.dtypes:
        col = F.col(name)
        if name == "user_id" or kind in ("date", "int"):
            value = col.cast("string")
        elif kind == "timestamp":
            value = F.unix_micros(col).cast("string")
        else:
            value = F.hex(F.encode(col, "UTF-8"))  # not base64: Spark chunks it into 76-character lines
        cols.append(F.coalesce(value, F.lit("\\N")))
    rows.select(F.concat_ws("\t", *cols).alias("value")).write.text(str(folder))


def writer_classpath(settings) -> str:
    """The writer's jars and pyspark's (netty, slf4j, jackson, metrics: the writer's POM says why)."""
    import pyspark

    from profilepipe.stores import cassandra_jvm

    return f"{Path(settings.jars_dir) / cassandra_jvm.JAR_GROUP}/*:{Path(pyspark.__file__).parent / 'jars'}/*"


def compile_limit(settings, into: Path) -> None:
    """``Limit.java`` compiled into ``into`` against the writer's jars. It keeps the writer's package
    (``profilepipe.cassandra``): it calls the writer's package-private helpers."""
    from profilepipe.jdk import java_home
    from profilepipe_stack import jars

    javac = java_home(settings) / "bin" / "javac"
    cmd = [str(javac), "--release", "17", "-nowarn", "-cp", writer_classpath(settings), "-d", str(into)]
    out = subprocess.run(
        [*cmd, str(LIMIT_SOURCE)], capture_output=True, text=True, env=jars.java_env(settings)
    )
    if out.returncode != 0:
        raise SystemExit(f"javac Limit.java failed (exit {out.returncode}):\n{out.stderr[-3000:]}")


def own_jvm_limit(settings, rows, max_in_flight: int, warmup: int) -> tuple[int, float]:
    """Rows written and seconds of ``profilepipe.cassandra.Limit`` in a JVM of its own."""
    from profilepipe.stores import cassandra_jvm
    from profilepipe_stack import jars

    work = Path(tempfile.mkdtemp(prefix="cassandra-limit-"))
    folder, classes = work / "rows", work / "classes"
    compile_limit(settings, classes)
    export_rows(rows, folder)
    options = cassandra_jvm.jvm_options(settings, max_in_flight)
    cmd = [
        jars.java(settings),
        "-Xmx1g",
        "-cp",
        f"{classes}:{writer_classpath(settings)}",
        "profilepipe.cassandra.Limit",
        str(folder),
        str(warmup),
    ]
    out = subprocess.run(
        cmd + [f"{k}={v}" for k, v in options.items()],
        capture_output=True,
        text=True,
        env=jars.java_env(settings),
    )
    shutil.rmtree(work, ignore_errors=True)
    line = next((x for x in out.stdout.splitlines() if x.startswith("limit ")), None)
    if out.returncode != 0 or line is None:
        raise SystemExit(f"Limit failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    fields = dict(part.split("=") for part in line.split()[1:])
    return int(fields["rows"]), float(fields["seconds"])


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows to insert (default 200,000)")
    parser.add_argument(
        "--max-in-flight",
        type=int,
        help="requests outstanding (default: the setting)",
    )
    parser.add_argument("--warmup", type=int, default=20_000, help="rows of the warm-up (default 20,000)")
    parser.add_argument("--seed", default="cassandra-limit", help="generator seed")
    args = parser.parse_args(argv)

    from profilepipe import stores
    from profilepipe.config import get_settings
    from profilepipe.pipeline.spark import get_spark
    from profilepipe.stores import cassandra_jvm
    from profilepipe_bench.limit import direct_benchmark
    from profilepipe_stack import stack

    settings = get_settings().replace(
        cassandra_table=f"limit_{uuid.uuid4().hex[:8]}",
        pii_mode="hmac",
        hmac_key="cassandra-limit-key-not-a-secret",
        sink_retry_seconds=30.0,
    )
    table = settings.users_table
    if args.max_in_flight is None:
        args.max_in_flight = settings.cassandra_max_in_flight
    stack.ensure_schema(settings)
    session = stores.connect(settings).cassandra.session()
    spark = get_spark(settings, app_name="profilepipe-cassandra-limit", log_level="ERROR")
    results: dict[str, float] = {}
    try:
        print(f"rows: generating {args.rows:,} users and transforming them ...", flush=True)
        (rows, n), secs = timed(lambda: stored_rows(spark, settings, args.rows, args.seed))
        print(f"rows: {n:,} stored rows cached in {rows.rdd.getNumPartitions()} partitions ({secs:.1f}s)")
        cores = spark.sparkContext.defaultParallelism
        if args.warmup:
            warm = rows.limit(args.warmup).persist()
            warm.count()
            direct_benchmark(warm, settings, args.max_in_flight)
            cassandra_jvm.write_cassandra_jvm(warm, settings, args.max_in_flight)
            warm.unpersist()
            print(f"warm-up: {args.warmup:,} rows through both JVM paths")

        def truncate():
            session.execute(f"TRUNCATE {table}", timeout=120)

        written, insert_secs = own_jvm_limit(settings, rows, args.max_in_flight, args.warmup)
        assert written == n, (written, n)
        results["java driver (store limit)"] = n / insert_secs
        print(
            f"java driver in a JVM of its own, async prepared, {args.max_in_flight} in flight, one thread: "
            f"{n:,} rows in {insert_secs:.2f}s = {n / insert_secs:,.0f} rows/s"
        )

        truncate()
        (written, insert_secs), _ = timed(lambda: direct_benchmark(rows, settings, args.max_in_flight))
        assert written == n, (written, n)
        results["java driver in spark's jvm"] = n / insert_secs
        print(
            f"java driver in Spark's driver JVM (rows collected, one thread): {n:,} rows in "
            f"{insert_secs:.2f}s = {n / insert_secs:,.0f} rows/s"
        )

        truncate()
        written, secs = timed(lambda: cassandra_jvm.write_cassandra_jvm(rows, settings, args.max_in_flight))
        assert written == n, (written, n)
        results["jvm writer via spark"] = n / secs
        print(
            f"jvm writer via Spark ({rows.rdd.getNumPartitions()} partitions, {cores} cores): {n:,} rows in "
            f"{secs:.2f}s = {n / secs:,.0f} rows/s"
        )
        stored = session.execute(f"SELECT count(*) FROM {table}", timeout=120).one()[0]
        assert stored == n, (stored, n)

        limit = results["java driver (store limit)"]
        print("\nsummary (rows/s, share of the store's limit):")
        for name, rate in results.items():
            print(f"  {name:<28} {rate:>10,.0f}  {rate / limit:6.1%}")
        rows.unpersist()
    finally:
        session.execute(f"DROP TABLE IF EXISTS {table}", timeout=120)
        session.execute(f"DROP TABLE IF EXISTS {settings.erasures_table}", timeout=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
