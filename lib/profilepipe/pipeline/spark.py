"""The SparkSession builder.

One place decides how Spark starts: master, memory and shuffle partitions come from
``Settings``; the session time zone is UTC; Arrow is on (the privacy UDF is a pandas
UDF); the UI is off unless asked for. The Kafka source connector is not fetched by
Ivy at start-up: ``profilepipe stack fetch`` resolves it with Maven into
``<jars_dir>/spark/`` and it is passed here through ``spark.jars``. Without that folder Spark starts anyway
(batch mode does not need Kafka) and ``kafka_available(spark)`` says so. The JDK 17
is the one ``jdk.java_home`` finds (one finder for the stack and Spark).

The classpath is fixed when the first session of a process starts, so an active
session is reused as it is.

On a cluster (a master that is not ``local[...]``) the executors are other JVMs, maybe on
other machines: they get the package the way a cluster gets code, as a zip of
``profilepipe/`` (:func:`package_zip`, built into ``<checkout>/.cache/spark/``) added with
``SparkContext.addPyFile``; their Python imports it from their own work folder, never from
the driver's site-packages. Under ``spark-submit`` (see :mod:`profilepipe.tools.submit`)
the master, the jars and the zip come from its command line (``--master``, ``--jars``,
``--py-files``) and are not set again here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)


def spark_jars(settings) -> list[str]:
    """Every ``*.jar`` in ``<settings.jars_dir>/spark/`` (empty if the folder is absent), and the
    Cassandra writer's (``stores.cassandra_jvm``)."""
    from profilepipe.stores import cassandra_jvm

    folder = Path(settings.jars_dir) / "spark"
    jars = sorted(str(p) for p in folder.glob("*.jar")) if folder.is_dir() else []
    return jars + cassandra_jvm.writer_jars(settings)


def find_java17(settings) -> str | None:
    """A JDK 17 home, found by THE JDK finder of the project, ``jdk.java_home``.

    A ``PROFILEPIPE_JAVA_HOME`` that is not a JDK 17 is skipped (with a warning) and the JDK
    is auto-detected, so Spark still starts where a JDK 17 is installed. None if there is none.
    """
    from profilepipe.errors import StackError
    from profilepipe.jdk import java_home

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
    from profilepipe.jdk import java_major

    current = os.environ.get("JAVA_HOME")
    if current and java_major(current) == 17:
        return
    home = find_java17(settings)
    if home:
        os.environ["JAVA_HOME"] = home
    else:
        log.warning("no JDK 17 found; Spark starts with JAVA_HOME=%s", current)


def is_local(master: str) -> bool:
    """Whether ``master`` runs the executors inside the driver's JVM (``local``, ``local[*]``, ...)."""
    return master.startswith("local")


def on_this_machine(master: str) -> bool:
    """Whether every executor runs here: local mode, or a cluster whose master is on 127.0.0.1."""
    return is_local(master) or any(h in master for h in ("//127.0.0.1:", "//localhost:"))


def spark_submitted() -> bool:
    """Whether this Python runs under ``spark-submit`` (its JVM, and its options, came first)."""
    return bool(os.environ.get("PYSPARK_GATEWAY_PORT"))


def spark_log_file(settings) -> Path:
    """``settings.spark_log`` as an absolute path, its folder made."""
    log_file = Path(settings.spark_log).expanduser().resolve()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    return log_file


def driver_java_options(log_file: Path) -> str:
    """The driver JVM's options: its log lines to ``log_file`` only (``log4j2-spark.xml``).

    Without them Spark logs to the console, and a notebook's kernel shows every ``WARN`` line
    of the JVM in the cell's output.
    """
    config = Path(__file__).resolve().parents[1] / "resources" / "log4j2-spark.xml"
    return f'-Dlog4j2.configurationFile={config.as_uri()} -Dprofilepipe.spark.log="{log_file}"'


@contextlib.contextmanager
def _jvm_stderr_to(log_file: Path | None):
    """While the JVM starts, file descriptor 2 points at ``log_file``: the JVM keeps it as its
    stderr (what it prints outside log4j, such as ``WARNING: Using incubator modules``), so
    none of it reaches a notebook cell. This process's own stderr is restored at once."""
    if log_file is None:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(log_file, "ab") as log_fh:
            os.dup2(log_fh.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def package_zip() -> Path:
    """``<checkout>/.cache/spark/profilepipe.zip``: the package the driver imports, zipped for executors.

    Rebuilt at every call (a few hundred KB, well under a second); written beside and renamed,
    so a concurrent reader never sees half a file. ``__pycache__`` is left out.
    """
    from profilepipe.config import project_root

    package = Path(__file__).resolve().parents[1]
    target = project_root() / ".cache" / "spark" / "profilepipe.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".zip.tmp")
    with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, Path("profilepipe") / path.relative_to(package))
    os.replace(tmp, target)
    return target


def _ship_package(spark) -> None:
    """Add :func:`package_zip` to the executors' Python path, unless spark-submit's ``--py-files`` did."""
    shipped = spark.sparkContext.getConf().get("spark.submit.pyFiles", "") or ""
    if any(Path(p).name.startswith("profilepipe") for p in shipped.split(",") if p):
        return
    spark.sparkContext.addPyFile(str(package_zip()))


def get_spark(settings=None, app_name: str = "profilepipe", ui: bool | None = None, log_level: str = "WARN"):
    """The active SparkSession, or a new one configured from ``settings``.

    ``ui``: Spark's web UI (default ``settings.spark_ui``; ``ui_address`` says where it is).

    Local mode as before; on a cluster also the executors' memory and the package zip
    (:func:`package_zip`); under spark-submit its ``--master`` wins over ``settings``.
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active

    if settings is None:
        from profilepipe.config import get_settings

        settings = get_settings()
    _ensure_java17(settings)
    master = settings.spark_master
    if on_this_machine(master):
        # workers run the same interpreter (and so the same installed packages) as the driver;
        # on a remote cluster their Python is the cluster's (PYSPARK_PYTHON, spark.pyspark.python)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no hostname/loopback warning

    builder = SparkSession.builder.appName(app_name)
    log_file = None if spark_submitted() else spark_log_file(settings)
    if log_file is not None:  # else spark-submit started the JVM: its --master and options hold
        builder = builder.master(master)
        builder = builder.config("spark.driver.extraJavaOptions", driver_java_options(log_file))
    if not is_local(master):
        builder = builder.config("spark.executor.memory", settings.spark_executor_memory)
        if on_this_machine(master):
            builder = builder.config("spark.driver.host", "127.0.0.1")
    builder = (
        builder.config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.python.worker.reuse", "true")
        .config("spark.ui.enabled", "true" if (settings.spark_ui if ui is None else ui) else "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.debug.maxToStringFields", "200")  # the user schema is wide: no truncation warning
        # Adaptive execution re-plans a query at each shuffle, one Spark job per stage: 0.1 s
        # more per micro-batch, and nothing gained on batches of at most 20,000 records
        # (docs/performance.md, "Where a batch goes").
        .config("spark.sql.adaptive.enabled", "false")
    )
    jars = spark_jars(settings)
    if jars:
        builder = builder.config("spark.jars", ",".join(jars))
    else:
        log.info(
            "no jars in %s/spark: Spark starts without the Kafka source (batch mode only)",
            settings.jars_dir,
        )
    with _jvm_stderr_to(log_file):
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(log_level)
    if not is_local(spark.sparkContext.master):
        _ship_package(spark)
    return spark


def ui_address(spark) -> str | None:
    """The Structured Streaming tab of this session's web UI, or None when the UI is off."""
    url = spark.sparkContext.uiWebUrl
    return f"{url.rstrip('/')}/StreamingQuery/" if url else None


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
