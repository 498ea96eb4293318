"""The store's own limit in Spark's driver JVM: the benchmark's "Cassandra alone" run.

``UsersWriter.directBenchmark`` of the pipeline's writer (``stack/cassandra-writer/``), called
through the same py4j handle the writer uses (``stores.cassandra_jvm``): the rows collected into
the driver's JVM, then only the inserts timed, from one thread with one session. Used by
``runs.cassandra_alone`` and ``bench/cassandra_limit.py``; the stream never calls it.
"""

from __future__ import annotations

from profilepipe.config import Settings
from profilepipe.stores import cassandra_jvm


def direct_benchmark(stored_df, settings: Settings, max_in_flight: int | None = None) -> tuple[int, float]:
    """The store's own limit: the rows collected into the driver's JVM, only the inserts timed.

    One thread, one session, async prepared INSERTs with ``max_in_flight`` outstanding.
    Returns ``(rows written, seconds)``.
    """
    spark = stored_df.sparkSession
    options = cassandra_jvm.jvm_options(settings, max_in_flight)
    cols = stored_df.select(*settings.user_columns)
    writer = cassandra_jvm._writer(spark, settings)
    result = writer.directBenchmark(cols._jdf, cassandra_jvm._java_map(spark.sparkContext._jvm, options))
    return int(result[0]), int(result[1]) / 1e9
