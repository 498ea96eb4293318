"""Cassandra rows written by the JVM: the Apache Cassandra Java driver on Spark's executors.

The stream's only writer of the users table: ``CassandraStore.write_rows`` calls
:func:`write_cassandra_jvm`, and ``pipeline.spark.spark_jars`` adds the writer's jars
(``<jars_dir>/cassandra-writer/``, built by the set-up's ``jars`` step from
``stack/cassandra-writer/``) to ``spark.jars`` (and so to spark-submit's ``--jars``), which ships
them to the executors. The folder holds no Spark, Scala, netty, jackson or slf4j jar, so it sits
beside pyspark's jars without a clash. A session started without them still works: the first
call adds them to the running session (``_writer``). It replaced a cassandra-driver writer in
the Python workers (why, measured: docs/performance.md#the-cassandra-writer).

What it does: ``write_cassandra_jvm(stored_df, settings)`` selects ``settings.user_columns`` (the
storage profile's) in order, passes them with their CQL types as the ``columns`` option, and
calls ``profilepipe.cassandra.UsersWriter.write(df._jdf, options)`` through py4j
(``stack/cassandra-writer/``). Each partition is written on its executor by one cached
``CqlSession`` per executor JVM (closed at JVM shutdown) with a prepared INSERT (an upsert by
``user_id``: a replayed batch writes the same values), asynchronous executes with at most
``max_in_flight`` outstanding, token-aware routing, and retries of transient errors (server
unreachable, timeouts, overloaded) with ``retry``'s backoff for at most
``settings.sink_retry_seconds``; then the task fails (on a cluster Spark retries it,
``spark.task.maxFailures``), then the batch (docs/ARCHITECTURE.md#failure-model). Values:
``user_id`` text -> uuid, TimestampType -> Instant (UTC), DateType -> LocalDate, nulls as nulls.

Connection options come from the same Settings fields as ``connections.cassandra_options``
(host, port, credentials, TLS files, hostname check); :func:`jvm_options` builds them. The
password is passed to the JVM (it travels in the Spark task with the other options) and is
never logged: :func:`describe` masks it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from profilepipe.config import DEFAULT_LOCAL_DC, Settings
from profilepipe.contract import STORED_FIELDS
from profilepipe.errors import StackError

log = logging.getLogger(__name__)

JAR_GROUP = "cassandra-writer"
WRITER_CLASS = "profilepipe.cassandra.UsersWriter"


def writer_jars(settings: Settings) -> list[str]:
    """Every ``*.jar`` of ``<jars_dir>/cassandra-writer/`` (empty if ``stack fetch`` has not built it)."""
    folder = Path(settings.jars_dir) / JAR_GROUP
    return sorted(str(p) for p in folder.glob("*.jar")) if folder.is_dir() else []


def available(spark) -> bool:
    """Whether the writer's classes are on this session's classpath."""
    try:
        return bool(spark.sparkContext._jvm.org.apache.spark.util.Utils.classIsLoadable(WRITER_CLASS))
    except Exception:
        return False


def jvm_options(settings: Settings, max_in_flight: int | None = None) -> dict[str, str]:
    """The writer's options (all strings) from the Settings ``connections.cassandra_options`` reads."""
    from profilepipe import connections

    settings.validate()
    if max_in_flight is None:
        max_in_flight = int(settings.cassandra_max_in_flight)
    port = settings.cassandra_port
    points = [f"[{h}]:{port}" if ":" in h else f"{h}:{port}" for h in settings.cassandra_hosts]
    options = {
        "contact_points": ",".join(points),
        "local_dc": str(settings.cassandra_local_dc or DEFAULT_LOCAL_DC),
        "table": settings.users_table,
        "columns": columns_option(settings),
        "consistency": settings.cassandra_consistency,
        "max_in_flight": str(int(max_in_flight)),
        "retry_seconds": str(float(settings.sink_retry_seconds)),
        "request_timeout_seconds": "30",
        "connect_timeout_seconds": str(connections.CASSANDRA_CONNECT_TIMEOUT),
        "ssl": "true" if settings.cassandra_ssl else "false",
    }
    if settings.cassandra_username:
        options["username"] = settings.cassandra_username
        options["password"] = settings.cassandra_password
    if settings.cassandra_ssl:
        for name in ("ssl_ca_file", "ssl_cert_file", "ssl_key_file"):
            value = getattr(settings, f"cassandra_{name}")
            if value:
                options[name] = connections._path(value)
        options["ssl_verify_hostname"] = "true" if settings.cassandra_ssl_verify_hostname else "false"
    return options


def columns_option(settings: Settings) -> str:
    """The profile's columns with their CQL types, in table order: ``user_id:uuid,gender:text,...``."""
    types = {f.column: f.cql_type for f in STORED_FIELDS}
    return ",".join(f"{c}:{types[c]}" for c in settings.user_columns)


def describe(options: dict[str, str]) -> str:
    """The options for a log line: the password masked."""
    return ", ".join(f"{k}={'***' if k == 'password' else v}" for k, v in sorted(options.items()))


def _java_map(jvm, options: dict[str, str]):
    jmap = jvm.java.util.HashMap()
    for key, value in options.items():
        jmap.put(key, value)
    return jmap


class _Reflected:
    """The writer's static methods called by reflection on a class of a loader of our own."""

    def __init__(self, gateway, cls):
        self._gateway, self._methods = gateway, {m.getName(): m for m in cls.getMethods()}

    def __getattr__(self, name):
        method = self._methods[name]

        def call(*args):
            array = self._gateway.new_array(self._gateway.jvm.java.lang.Object, len(args))
            for i, arg in enumerate(args):
                array[i] = arg
            return method.invoke(None, array)

        return call


_LATE: dict[int, _Reflected] = {}  # per SparkContext (its JVM object's id): the writer added late


def _writer(spark, settings: Settings):
    """``UsersWriter`` of this session: from ``spark.jars``, else added to the running session.

    A session started without the writer's jars (the classpath is fixed at the first start in a
    process) gets them now: ``SparkContext.addJar`` for the executors' class loaders (tasks load
    the writer from there) and a class loader of its own in the driver's JVM for the call.
    """
    sc = spark.sparkContext
    if available(spark):
        return sc._jvm.profilepipe.cassandra.UsersWriter
    key = id(sc._jsc)
    if key not in _LATE:
        jars = [j for j in writer_jars(settings) if not j.endswith("-sources.jar")]
        if not any(Path(j).name.startswith(f"{JAR_GROUP}-") for j in jars):
            raise StackError(
                f"{WRITER_CLASS} is not built: run `make setup` or `profilepipe stack fetch` "
                f"(it builds <jars_dir>/{JAR_GROUP}/)"
            )
        jvm, gateway = sc._jvm, sc._gateway
        urls = gateway.new_array(jvm.java.net.URL, len(jars))
        for i, jar in enumerate(jars):
            sc._jsc.sc().addJar(jar)
            urls[i] = jvm.java.io.File(jar).toURI().toURL()
        parent = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        loader = jvm.java.net.URLClassLoader(urls, parent)
        log.info("cassandra (jvm): the writer's jars added to the running session (%d jars)", len(jars))
        _LATE[key] = _Reflected(gateway, jvm.java.lang.Class.forName(WRITER_CLASS, True, loader))
    return _LATE[key]


def write_cassandra_jvm(stored_df, settings: Settings, max_in_flight: int | None = None) -> int:
    """Write a DataFrame of stored rows from the executors through the Java driver; returns rows written."""
    spark = stored_df.sparkSession
    options = jvm_options(settings, max_in_flight)
    log.debug("cassandra (jvm): %s", describe(options))
    cols = stored_df.select(*settings.user_columns)
    writer = _writer(spark, settings)
    return int(writer.write(cols._jdf, _java_map(spark.sparkContext._jvm, options)))
