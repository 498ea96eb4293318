"""The SparkSession builder.

One place decides how Spark starts: master, memory and shuffle partitions come from
``Settings``; the session time zone is UTC; Arrow is on (the privacy UDF is a pandas
UDF); the UI is off unless asked for. The Kafka source connector is not fetched by
Ivy at start-up: ``localstack.jars`` resolves it with Maven into ``<jars_dir>/spark/`` and it
is passed here through ``spark.jars``. Without that folder Spark starts anyway
(batch mode does not need Kafka) and ``kafka_available(spark)`` says so. The JDK 17
is the one ``localstack.jars.java_home`` finds (one finder for the stack and Spark).

The classpath is fixed when the first session of a process starts, so an active
session is reused as it is.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def spark_jars(settings) -> list[str]:
    """Every ``*.jar`` in ``<settings.jars_dir>/spark/`` (empty if the folder is absent)."""
    folder = Path(settings.jars_dir) / "spark"
    return sorted(str(p) for p in folder.glob("*.jar")) if folder.is_dir() else []


def find_java17(settings) -> str | None:
    """A JDK 17 home, found by THE JDK finder of the project, ``localstack.jars.java_home``.

    A ``PROFILEPIPE_JAVA_HOME`` that is not a JDK 17 is skipped (with a warning) and the JDK
    is auto-detected, so Spark still starts where a JDK 17 is installed. None if there is none.
    """
    from profilepipe.localstack.jars import java_home
    from profilepipe.localstack.layout import StackError

    try:
        return str(java_home(settings))
    except StackError as exc:
        if not settings.java_home:
            log.debug("no JDK 17: %s", exc)
            return None
        log.warning("%s", exc)
    try:
        return str(java_home(settings.replace(java_home="")))
    except StackError as exc:
        log.debug("no JDK 17: %s", exc)
        return None


def _ensure_java17(settings) -> None:
    from profilepipe.localstack.jars import java_major

    current = os.environ.get("JAVA_HOME")
    if current and java_major(current) == 17:
        return
    home = find_java17(settings)
    if home:
        os.environ["JAVA_HOME"] = home
    else:
        log.warning("no JDK 17 found; Spark starts with JAVA_HOME=%s", current)


def get_spark(settings=None, app_name: str = "profilepipe", ui: bool = False, log_level: str = "WARN"):
    """The active SparkSession, or a new local one configured from ``settings``."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active

    if settings is None:
        from profilepipe.config import get_settings

        settings = get_settings()
    _ensure_java17(settings)
    # workers run the same interpreter (and so the same installed packages) as the driver
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if settings.spark_master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no hostname/loopback warning

    builder = (
        SparkSession.builder.appName(app_name)
        .master(settings.spark_master)
        .config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.python.worker.reuse", "true")
        .config("spark.ui.enabled", "true" if ui else "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.debug.maxToStringFields", "200")  # the user schema is wide: no truncation warning
    )
    jars = spark_jars(settings)
    if jars:
        builder = builder.config("spark.jars", ",".join(jars))
    else:
        log.info(
            "no jars in %s/spark: Spark starts without the Kafka source (batch mode only)",
            settings.jars_dir,
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(log_level)
    return spark


def kafka_available(spark) -> bool:
    """Whether the Kafka source connector is on this session's classpath."""
    try:  # Spark's own class loader sees the spark.jars; the system one does not
        return bool(
            spark.sparkContext._jvm.org.apache.spark.util.Utils.classIsLoadable(
                "org.apache.spark.sql.kafka010.KafkaSourceProvider"
            )
        )
    except Exception:
        return False
