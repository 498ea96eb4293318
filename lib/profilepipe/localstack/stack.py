"""The local stack without Docker: Kafka (KRaft), Cassandra 5.0 and a MongoDB-compatible server.

Each server runs from jars that Maven resolves into ``<jars_dir>/<server>/`` (one POM and one
folder per server under ``stack/``, so classpaths never mix), on a JDK 17, as a detached
background process:

* log   ``<stack_dir>/logs/<svc>.log`` (the previous run's log is kept as ``<svc>.log.1``)
* pid   ``<stack_dir>/run/<svc>.pid``
* data  ``<stack_dir>/data/<svc>/``
* conf  ``<stack_dir>/conf/`` (generated from ``Settings`` at every start)

Every host, port, heap and folder comes from :class:`profilepipe.config.Settings`.
Health is a real protocol exchange (Kafka ApiVersions + metadata, CQL query, Mongo ping).
Services found healthy on their port without a pid file of ours (e.g. started by docker
compose) are reported and used as ``external`` and never stopped.

Public API (used by ``profilepipe stack ...``): :func:`fetch_jars`, :func:`java_home`,
:func:`up`, :func:`down`, :func:`status`, :func:`logs`, :func:`rss_mb`,
:func:`ensure_topics`, :func:`ensure_schema`, :class:`ServiceStatus`, :class:`StackError`.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import logging
import os
import re
import shutil
import signal
import socket
import string
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from profilepipe.config import Settings, get_settings, project_root

SERVICES = ("kafka", "cassandra", "mongo")
JAR_GROUPS = ("kafka", "cassandra", "mongo", "spark")
_MARKER = ".profilepipe-complete"
_LAUNCHER = "MongoLauncher"
_WHAT = {"kafka": "broker", "cassandra": "CQL", "mongo": "wire protocol"}
_PORT_VARS = {
    "kafka": f"{Settings.env_name('kafka_bootstrap')}, {Settings.env_name('kafka_controller_port')}",
    "cassandra": f"{Settings.env_name('cassandra_port')}, {Settings.env_name('cassandra_storage_port')}",
    "mongo": Settings.env_name("mongo_uri"),
}
_PROGRESS_EVERY = 5.0
_STOP_TIMEOUT = 30.0
#: Largest message the topics accept (the producer's ``max_request_size`` matches it).
TOPIC_MAX_MESSAGE_BYTES = 4 * 1024 * 1024

Echo = Callable[[str], None]


class StackError(Exception):
    """A stack operation failed; the message says what to do."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    pid: int | None
    healthy: bool
    detail: str
    address: str


# --------------------------------------------------------------------------- paths
def _source_dir() -> Path:
    """``stack/`` of the checkout: POMs, launcher source, logging configs."""
    here = Path(__file__).resolve().parents[2] / "stack"
    return here if (here / "kafka" / "pom.xml").is_file() else project_root() / "stack"


def _stack_dir(settings: Settings) -> Path:
    return Path(settings.stack_dir).resolve()


def _jars_dir(settings: Settings) -> Path:
    return Path(settings.jars_dir).resolve()


def log_dir(settings: Settings) -> Path:
    """The folder of the services' log files."""
    return _stack_dir(settings) / "logs"


def _log_path(settings: Settings, svc: str) -> Path:
    return log_dir(settings) / f"{svc}.log"


def _pid_path(settings: Settings, svc: str) -> Path:
    return _stack_dir(settings) / "run" / f"{svc}.pid"


def _data_dir(settings: Settings, svc: str) -> Path:
    return _stack_dir(settings) / "data" / svc


def _conf_dir(settings: Settings) -> Path:
    return _stack_dir(settings) / "conf"


def _services(services: Iterable[str] | str | None) -> list[str]:
    if services is None:
        return list(SERVICES)
    if isinstance(services, str):
        services = [services]
    chosen = []
    for svc in services:
        if svc not in SERVICES:
            raise StackError(f"unknown service {svc!r}: choose from {', '.join(SERVICES)}")
        if svc not in chosen:
            chosen.append(svc)
    return chosen


def _address(settings: Settings, svc: str) -> tuple[str, int]:
    if svc == "kafka":
        return settings.kafka_host, settings.kafka_port
    if svc == "cassandra":
        return settings.cassandra_host, settings.cassandra_port
    return settings.mongo_host, settings.mongo_port


def _ports(settings: Settings, svc: str) -> list[tuple[str, int]]:
    """Every (host, port) the service binds."""
    if svc == "kafka":
        return [
            (settings.kafka_host, settings.kafka_port),
            (settings.kafka_host, settings.kafka_controller_port),
        ]
    if svc == "cassandra":
        return [
            (settings.cassandra_host, settings.cassandra_port),
            (settings.cassandra_host, settings.cassandra_storage_port),
        ]
    return [(settings.mongo_host, settings.mongo_port)]


# --------------------------------------------------------------------------- java
def _java_major(home: Path) -> int | None:
    """Major version of the JDK at ``home`` (None if it is not a JDK)."""
    java = home / "bin" / "java"
    if not java.is_file():
        return None
    release = home / "release"
    if release.is_file():
        m = re.search(r'^JAVA_VERSION="(\d+)', release.read_text(errors="replace"), re.M)
        if m:
            return int(m.group(1))
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def java_home(settings: Settings | None = None) -> Path:
    """The JDK 17 the stack (and Spark) runs on.

    ``Settings.java_home`` if set (it must be a JDK 17), else ``$JAVA_HOME`` if it is 17,
    else ``/usr/lib/jvm/*17*`` (then any other JDK 17 there), else ``java`` on ``PATH`` if
    it is 17. Never a newer JDK: Cassandra 5.0 does not run on it.
    """
    settings = settings or get_settings()
    if settings.java_home:
        home = Path(settings.java_home).expanduser()
        major = _java_major(home)
        if major != 17:
            found = "no bin/java there" if major is None else f"it is Java {major}"
            raise StackError(
                f"{Settings.env_name('java_home')}={settings.java_home} is not a JDK 17 ({found}). "
                "Point it at a JDK 17 home, or unset it to auto-detect."
            )
        return home
    candidates: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        # real folders before their aliases (java-1.17.0-openjdk-amd64 -> java-17-openjdk-amd64)
        entries = sorted((p for p in jvm.iterdir() if p.is_dir()), key=lambda p: (p.is_symlink(), p.name))
        candidates += [p for p in entries if "17" in p.name] + [p for p in entries if "17" not in p.name]
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path).resolve().parent.parent)
    seen = set()
    for home in candidates:
        key = home.resolve() if home.exists() else home
        if key in seen:
            continue
        seen.add(key)
        if _java_major(home) == 17:
            return home
    raise StackError(
        "No JDK 17 found (looked at $JAVA_HOME, /usr/lib/jvm/*, java on PATH). Kafka 4 and "
        "Cassandra 5.0 need exactly Java 17: install it (apt-get install openjdk-17-jdk-headless) "
        f"or set {Settings.env_name('java_home')}=/path/to/jdk-17."
    )


def _java(settings: Settings) -> str:
    return str(java_home(settings) / "bin" / "java")


# --------------------------------------------------------------------------- jars
def _group_hash(group: str) -> str:
    src = _source_dir() / group
    digest = hashlib.sha256()
    for name in ("pom.xml", f"{_LAUNCHER}.java"):
        if (src / name).is_file():
            digest.update(name.encode() + b"\0" + (src / name).read_bytes() + b"\0")
    return digest.hexdigest()


def _group_complete(settings: Settings, group: str) -> bool:
    folder = _jars_dir(settings) / group
    marker = folder / _MARKER
    try:
        ok = marker.read_text().strip() == _group_hash(group)
    except OSError:
        return False
    return ok and any(folder.glob("*.jar"))


def jars_complete(settings: Settings, groups: Iterable[str] = JAR_GROUPS) -> bool:
    """Whether every jar folder is resolved for the current POMs."""
    return all(_group_complete(settings, g) for g in groups)


def _run_checked(cmd: list[str], env: dict[str, str], what: str, hint: str) -> None:
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    except OSError as exc:
        raise StackError(f"{what} could not run ({exc}). {hint}") from exc
    if out.returncode != 0:
        tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-30:])
        raise StackError(f"{what} failed (exit {out.returncode}):\n{tail}\n{hint}")


def fetch_jars(settings: Settings | None = None, echo: Echo = print) -> None:
    """Resolve the four jar folders with Maven and compile the Mongo launcher.

    A folder is skipped when its marker file matches the hash of its POM (and launcher
    source), so editing a POM re-resolves it. Each folder is resolved into a temporary
    folder and swapped in whole: no half-filled or stale classpath.
    """
    settings = settings or get_settings()
    todo = [g for g in JAR_GROUPS if not _group_complete(settings, g)]
    if not todo:
        echo(f"jars: up to date in {_jars_dir(settings)}")
        return
    mvn = shutil.which("mvn")
    if not mvn:
        raise StackError(
            "Maven (mvn) not found on PATH: install Maven (apt-get install maven), "
            "then run `profilepipe stack fetch`."
        )
    home = java_home(settings)
    env = dict(os.environ, JAVA_HOME=str(home))
    root = _jars_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    for group in todo:
        started = time.monotonic()
        echo(f"jars: resolving {group} with Maven ...")
        pom = _source_dir() / group / "pom.xml"
        final, tmp = root / group, root / f".{group}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        _run_checked(
            [mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies", f"-DoutputDirectory={tmp}"],
            env,
            f"mvn for {group}",
            "Check network access to Maven Central (or your settings.xml mirror).",
        )
        if group == "mongo":
            javac = home / "bin" / "javac"
            if not javac.is_file():
                raise StackError(
                    f"javac not found in {home}: install the full JDK 17 "
                    "(apt-get install openjdk-17-jdk-headless)."
                )
            _run_checked(
                [
                    str(javac),
                    "--release",
                    "17",
                    "-nowarn",
                    "-cp",
                    f"{tmp}/*",
                    "-d",
                    str(tmp / "launcher"),
                    str(_source_dir() / "mongo" / f"{_LAUNCHER}.java"),
                ],
                env,
                "javac MongoLauncher.java",
                "",
            )
        (tmp / _MARKER).write_text(_group_hash(group) + "\n")
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        count = len(list(final.glob("*.jar")))
        echo(f"jars: {group} ok ({count} jars, {time.monotonic() - started:.1f}s)")


# --------------------------------------------------------------------------- processes
def _read_pid(settings: Settings, svc: str) -> int | None:
    try:
        return int(_pid_path(settings, svc).read_text().strip())
    except (OSError, ValueError):
        return None


def _markers(settings: Settings, svc: str) -> tuple[str, str]:
    return f"-Dprofilepipe.service={svc}", f"-Dprofilepipe.stack={_stack_dir(settings)}"


def _is_ours(settings: Settings, svc: str, proc) -> bool:
    """True if ``proc`` (psutil.Process) is the live java process we started for ``svc``."""
    import psutil

    try:
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return (
        bool(cmdline)
        and Path(cmdline[0]).name.startswith("java")
        and all(m in cmdline for m in _markers(settings, svc))
    )


def _our_process(settings: Settings, svc: str):
    """psutil.Process of our running ``svc`` from its pid file, else None."""
    import psutil

    pid = _read_pid(settings, svc)
    if pid is None:
        return None
    try:
        proc = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None
    return proc if _is_ours(settings, svc, proc) else None


def _orphans(settings: Settings, svc: str) -> list:
    """Our java processes for ``svc`` (exact markers incl. this stack dir) not in the pid file."""
    import psutil

    pid = _read_pid(settings, svc)
    found = []
    for proc in psutil.process_iter(["pid", "name"]):
        if proc.pid != pid and (proc.info["name"] or "").startswith("java") and _is_ours(settings, svc, proc):
            found.append(proc)
    return found


def _port_in_use(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise StackError(
                f"cannot bind {host}:{port} ({exc}): is {host} an address of this machine?"
            ) from exc
    return False


def _port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 256 * 1024))
            data = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def _failure(settings: Settings, svc: str, why: str) -> str:
    log = _log_path(settings, svc)
    tail = "\n".join(
        line if len(line) <= 400 else line[:400] + " [...]" for line in _tail(log, 30).splitlines()
    )
    return f"{svc}: {why}\n--- last 30 lines of {log} ---\n{tail}\n--- end of {log} ---\nFull log: {log}"


# --------------------------------------------------------------------------- configs
def _kafka_properties(settings: Settings) -> Path:
    host, port, cport = settings.kafka_host, settings.kafka_port, settings.kafka_controller_port
    lines = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"{host}:{cport}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{cport}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{cport}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(_data_dir(settings, "kafka")),
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "4",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.recovery.threads.per.data.dir": "1",
        "log.retention.hours": "168",
        "delete.topic.enable": "true",
    }
    path = _conf_dir(settings) / "kafka.properties"
    path.write_text(
        "# generated by profilepipe.localstack.stack from Settings; edits are overwritten\n"
        + "".join(f"{k}={v}\n" for k, v in lines.items())
    )
    return path


def _cassandra_yaml(settings: Settings) -> Path:
    data = _data_dir(settings, "cassandra")
    host = settings.cassandra_host
    auth = "PasswordAuthenticator" if settings.cassandra_username else "AllowAllAuthenticator"
    authz = "CassandraAuthorizer" if settings.cassandra_username else "AllowAllAuthorizer"
    text = f"""\
# generated by profilepipe.localstack.stack from Settings; edits are overwritten
cluster_name: profilepipe
num_tokens: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "{host}:{settings.cassandra_storage_port}"
listen_address: {host}
rpc_address: {host}
storage_port: {settings.cassandra_storage_port}
native_transport_port: {settings.cassandra_port}
start_native_transport: true
endpoint_snitch: SimpleSnitch
data_file_directories:
  - {data / "data"}
commitlog_directory: {data / "commitlog"}
hints_directory: {data / "hints"}
saved_caches_directory: {data / "saved_caches"}
cdc_raw_directory: {data / "cdc_raw"}
commitlog_sync: periodic
commitlog_sync_period: 10000ms
commitlog_segment_size: 8MiB
commitlog_total_space: 256MiB
memtable_heap_space: 64MiB
memtable_offheap_space: 64MiB
auto_snapshot: false
# the sink writes small UNLOGGED batches of single-row partitions (fewer driver round trips)
batch_size_warn_threshold: 16KiB
batch_size_fail_threshold: 256KiB
unlogged_batch_across_partitions_warn_threshold: 64
concurrent_reads: 8
concurrent_writes: 8
concurrent_counter_writes: 8
concurrent_compactors: 1
compaction_throughput: 64MiB/s
authenticator: {auth}
authorizer: {authz}
role_manager: CassandraRoleManager
disk_failure_policy: stop
commit_failure_policy: stop
storage_compatibility_mode: NONE
"""
    path = _conf_dir(settings) / "cassandra.yaml"
    path.write_text(text)
    return path


# JPMS flags from Cassandra 5.0's conf/jvm17-server.options (+ the two the facts sheet adds).
_CASSANDRA_JVM17 = """
-Djdk.attach.allowAttachSelf=true
--add-exports java.base/jdk.internal.misc=ALL-UNNAMED
--add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
--add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
--add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
--add-exports java.sql/java.sql=ALL-UNNAMED
--add-exports java.base/java.lang.ref=ALL-UNNAMED
--add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
--add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
--add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
--add-exports java.management/com.sun.jmx.remote.security=ALL-UNNAMED
--add-opens java.base/java.lang.module=ALL-UNNAMED
--add-opens java.base/jdk.internal.loader=ALL-UNNAMED
--add-opens java.base/jdk.internal.ref=ALL-UNNAMED
--add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
--add-opens java.base/jdk.internal.math=ALL-UNNAMED
--add-opens java.base/jdk.internal.module=ALL-UNNAMED
--add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
--add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
--add-opens java.base/sun.nio.ch=ALL-UNNAMED
--add-opens java.base/java.io=ALL-UNNAMED
--add-opens java.base/java.nio=ALL-UNNAMED
--add-opens java.base/java.lang.reflect=ALL-UNNAMED
--add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
--add-opens java.base/java.lang=ALL-UNNAMED
--add-opens java.base/java.util=ALL-UNNAMED
-Dio.netty.tryReflectionSetAccessible=true
-Dio.netty.allocator.useCacheForAllThreads=true
-Dio.netty.allocator.maxOrder=11
"""


def _jvm17_flags() -> list[str]:
    flags = []
    for line in _CASSANDRA_JVM17.strip().splitlines():
        flags += line.split(" ", 1) if line.startswith("--") else [line]
    return flags


def _command(settings: Settings, svc: str) -> list[str]:
    java = _java(settings)
    jars = _jars_dir(settings) / svc
    src = _source_dir()
    stack_dir = _stack_dir(settings)
    markers = list(_markers(settings, svc))
    common = [
        "-Djava.awt.headless=true",
        "-Djava.net.preferIPv4Stack=true",
        "-XX:+PerfDisableSharedMem",
        f"-Djava.io.tmpdir={stack_dir / 'tmp'}",
    ]
    if svc == "kafka":
        heap = settings.kafka_heap
        return [
            java,
            *markers,
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            *common,
            f"-Dlog4j2.configurationFile={(src / 'kafka' / 'log4j2.xml').as_uri()}",
            f"-Dkafka.logs.dir={stack_dir / 'logs'}",
            "-cp",
            f"{jars}/*",
            "kafka.Kafka",
            str(_conf_dir(settings) / "kafka.properties"),
        ]
    if svc == "cassandra":
        heap = settings.cassandra_heap
        data = _data_dir(settings, "cassandra")
        jamm = sorted(jars.glob("jamm-*.jar"))
        return [
            java,
            *markers,
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-Xss256k",
            "-XX:+UseG1GC",
            "-XX:+ParallelRefProcEnabled",
            "-XX:MaxTenuringThreshold=1",
            "-XX:MaxGCPauseMillis=300",
            "-XX:InitiatingHeapOccupancyPercent=70",
            "-XX:+UseTLAB",
            "-XX:+ResizeTLAB",
            "-XX:+HeapDumpOnOutOfMemoryError",
            f"-XX:HeapDumpPath={stack_dir / 'logs'}",
            "-XX:+ExitOnOutOfMemoryError",
            *common,
            *_jvm17_flags(),
            *([f"-javaagent:{jamm[0]}"] if jamm else []),
            f"-Dcassandra.config={(_conf_dir(settings) / 'cassandra.yaml').as_uri()}",
            "-Dcassandra-foreground=yes",
            f"-Dcassandra.storagedir={data}",
            f"-Dcassandra.logdir={stack_dir / 'logs'}",
            "-Dcassandra.skip_wait_for_gossip_to_settle=0",
            f"-Dlogback.configurationFile={src / 'cassandra' / 'logback.xml'}",
            f"-Djna.tmpdir={stack_dir / 'tmp'}",
            "-cp",
            f"{jars}/*",
            "org.apache.cassandra.service.CassandraDaemon",
        ]
    heap = settings.mongo_heap
    return [
        java,
        *markers,
        f"-Xmx{heap}",
        "-Xms32m",
        "-XX:+UseSerialGC",
        *common,
        "-Dorg.slf4j.simpleLogger.showDateTime=true",
        "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSS",
        "-Dorg.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire.MongoWireProtocolHandler=warn",
        "-cp",
        f"{jars}/*:{jars / 'launcher'}",
        _LAUNCHER,
        settings.mongo_host,
        str(settings.mongo_port),
        str(_data_dir(settings, "mongo") / "mongo.mv.db"),
    ]


def _new_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _format_kafka(settings: Settings, log) -> None:
    data = _data_dir(settings, "kafka")
    if (data / "meta.properties").is_file():
        return
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    cmd = [
        _java(settings),
        "-Xmx256m",
        f"-Djava.io.tmpdir={_stack_dir(settings) / 'tmp'}",
        f"-Dlog4j2.configurationFile={(_source_dir() / 'kafka' / 'log4j2.xml').as_uri()}",
        "-cp",
        f"{_jars_dir(settings) / 'kafka'}/*",
        "kafka.tools.StorageTool",
        "format",
        "--standalone",
        "-t",
        _new_cluster_id(),
        "-c",
        str(_conf_dir(settings) / "kafka.properties"),
    ]
    log.write(f"=== formatting KRaft storage: {' '.join(cmd)}\n")
    log.flush()
    rc = subprocess.run(
        cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=300
    ).returncode
    if rc != 0 or not (data / "meta.properties").is_file():
        shutil.rmtree(data, ignore_errors=True)
        raise StackError(_failure(settings, "kafka", f"formatting the KRaft storage failed (exit {rc})"))


_CHILDREN: dict[str, subprocess.Popen] = {}  # keeps Popen objects alive (no ResourceWarning)


def _spawn(settings: Settings, svc: str) -> subprocess.Popen:
    stack_dir = _stack_dir(settings)
    for sub in ("logs", "run", "conf", "tmp", f"data/{svc}"):
        (stack_dir / sub).mkdir(parents=True, exist_ok=True)
    log_path = _log_path(settings, svc)
    if log_path.exists() and log_path.stat().st_size:
        log_path.replace(log_path.with_suffix(".log.1"))
    if svc == "kafka":
        _kafka_properties(settings)
    elif svc == "cassandra":
        _cassandra_yaml(settings)
    env = dict(os.environ, JAVA_HOME=str(java_home(settings)))
    for var in ("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH"):
        env.pop(var, None)
    with open(log_path, "a", buffering=1) as log:
        log.write(f"=== profilepipe stack: starting {svc} at {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        if svc == "kafka":
            _format_kafka(settings, log)
        cmd = _command(settings, svc)
        log.write("=== " + " ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=str(_data_dir(settings, svc)),
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    _pid_path(settings, svc).write_text(f"{proc.pid}\n")
    _CHILDREN[svc] = proc
    return proc


# --------------------------------------------------------------------------- health
@contextlib.contextmanager
def _quiet(*names: str):
    """Silence client libraries' own loggers during probes (they log every refused connection)."""
    saved = []
    for name in names:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)


def _kafka_api_versions(host: str, port: int, timeout: float) -> None:
    """One raw ApiVersions (v0) round trip: proves the broker processes requests."""
    client = b"profilepipe-stack"
    body = struct.pack(">hhih", 18, 0, 7, len(client)) + client
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(body)) + body)
        head = b""
        while len(head) < 10:
            chunk = sock.recv(10 - len(head))
            if not chunk:
                raise OSError("connection closed by the broker")
            head += chunk
    _size, correlation, error = struct.unpack(">iih", head)
    if correlation != 7 or error != 0:
        raise OSError(f"unexpected ApiVersions answer (correlation {correlation}, error {error})")


def _kafka_admin(settings: Settings, timeout: float = 10.0):
    from kafka.admin import KafkaAdminClient

    ms = int(timeout * 1000)
    return KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id="profilepipe-stack",
        request_timeout_ms=ms,
        bootstrap_timeout_ms=ms,
    )


def _check_kafka(settings: Settings, timeout: float) -> tuple[bool, str]:
    host, port = settings.kafka_host, settings.kafka_port
    try:
        _kafka_api_versions(host, port, timeout)
    except OSError as exc:
        return False, f"no broker answer on {host}:{port} ({exc})"
    with _quiet("kafka"):
        try:
            admin = _kafka_admin(settings, timeout)
        except Exception as exc:  # noqa: BLE001 - any client failure means "not healthy yet"
            return False, f"admin client cannot bootstrap ({exc.__class__.__name__}: {exc})"
        try:
            topics = admin.list_topics()
            cluster = admin.describe_cluster()
            version = ".".join(str(v) for v in admin._manager.broker_version)
        except Exception as exc:  # noqa: BLE001
            return False, f"metadata request failed ({exc.__class__.__name__}: {exc})"
        finally:
            admin.close()
    user_topics = [t for t in topics if not t.startswith("__")]
    return True, f"Kafka {version}+ API, cluster {cluster.get('cluster_id')}, {len(user_topics)} topics"


def _cassandra_cluster(settings: Settings, timeout: float, light: bool = False):
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy

    auth = (
        PlainTextAuthProvider(settings.cassandra_username, settings.cassandra_password)
        if settings.cassandra_username
        else None
    )
    profile = ExecutionProfile(load_balancing_policy=DCAwareRoundRobinPolicy(), request_timeout=timeout)
    return Cluster(
        [settings.cassandra_host],
        port=settings.cassandra_port,
        auth_provider=auth,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connect_timeout=timeout,
        control_connection_timeout=timeout,
        schema_metadata_enabled=not light,
        token_metadata_enabled=not light,
    )


def _check_cassandra(settings: Settings, timeout: float) -> tuple[bool, str]:
    host, port = settings.cassandra_host, settings.cassandra_port
    if not _port_open(host, port, timeout):
        return False, f"CQL port {host}:{port} closed"
    with _quiet("cassandra"):
        cluster = _cassandra_cluster(settings, timeout, light=True)
        try:
            session = cluster.connect()
            row = session.execute("SELECT release_version FROM system.local").one()
        except Exception as exc:  # noqa: BLE001
            return False, f"CQL query failed ({exc.__class__.__name__}: {exc})"
        finally:
            cluster.shutdown()
    return True, f"Cassandra {row.release_version}"


def _check_mongo(settings: Settings, timeout: float) -> tuple[bool, str]:
    import pymongo

    host, port = settings.mongo_host, settings.mongo_port
    if not _port_open(host, port, timeout):
        return False, f"port {host}:{port} closed"
    ms = int(timeout * 1000)
    client = pymongo.MongoClient(
        settings.mongo_uri,
        serverSelectionTimeoutMS=ms,
        connectTimeoutMS=ms,
        socketTimeoutMS=ms,
        appname="profilepipe-stack",
    )
    try:
        client.admin.command("ping")
        version = client.server_info().get("version", "?")
    except Exception as exc:  # noqa: BLE001
        return False, f"ping failed ({exc.__class__.__name__}: {exc})"
    finally:
        client.close()
    return True, f"MongoDB-compatible {version}"


_CHECKS = {"kafka": _check_kafka, "cassandra": _check_cassandra, "mongo": _check_mongo}


def check(settings: Settings, svc: str, timeout: float = 3.0) -> tuple[bool, str]:
    """(healthy, detail) of one service, by a real protocol exchange."""
    return _CHECKS[_services(svc)[0]](settings, timeout)


# --------------------------------------------------------------------------- up
def up(
    settings: Settings | None = None, services: Iterable[str] | str | None = None, echo: Echo = print
) -> None:
    """Start the stack (or some services), wait until healthy, create topics and schema.

    Idempotent: a service already running from this stack dir is reused, one found healthy
    on its port without our pid file is used as external. Raises :class:`StackError` with
    what to do when something is in the way.
    """
    import psutil

    settings = settings or get_settings()
    chosen = _services(services)
    t0 = time.monotonic()
    java_home(settings)
    if not jars_complete(settings):
        fetch_jars(settings, echo=echo)

    # 1. decide per service: reuse ours, use external, or start; check ports before starting anything
    plan: dict[str, str] = {}
    for svc in chosen:
        proc = _our_process(settings, svc)
        if proc is not None:
            plan[svc] = "ours"
            continue
        _pid_path(settings, svc).unlink(missing_ok=True)
        busy = [(h, p) for h, p in _ports(settings, svc) if _port_in_use(h, p)]
        if not busy:
            plan[svc] = "start"
            continue
        healthy, detail = check(settings, svc)
        if healthy:
            plan[svc] = "external"
            echo(
                f"{svc}: external server on {':'.join(map(str, _address(settings, svc)))} "
                f"is healthy ({detail}); using it, not starting ours"
            )
            continue
        orphans = _orphans(settings, svc)
        hint = (
            f" It is one of ours without a pid file (pid {', '.join(str(o.pid) for o in orphans)}): "
            "run `profilepipe stack down` first."
            if orphans
            else ""
        )
        host, port = busy[0]
        raise StackError(
            f"{svc}: port {host}:{port} is already in use by a process that is not this stack's "
            f"{svc}.{hint} Find it with: ss -ltnp 'sport = :{port}'  — stop it, or move this stack "
            f"to free ports ({_PORT_VARS[svc]})."
        )

    # 2. start what needs starting (Cassandra first: it is the slowest), all in parallel
    started: dict[str, float] = {}
    procs: dict[str, object] = {}
    for svc in sorted(chosen, key=lambda s: ("cassandra", "kafka", "mongo").index(s)):
        if plan[svc] == "ours":
            procs[svc] = _our_process(settings, svc)
            started[svc] = time.monotonic()
            if procs[svc] is None:  # it died since step 1
                plan[svc] = "start"
        if plan[svc] == "start":
            popen = _spawn(settings, svc)
            procs[svc] = psutil.Process(popen.pid)
            started[svc] = time.monotonic()
            echo(f"{svc}: started (pid {popen.pid}, log {_log_path(settings, svc)})")

    # 3. wait for health, all services together, progress every few seconds
    pending = dict(procs)
    last_report = {svc: started[svc] for svc in pending}
    errors: list[str] = []
    first_round = True
    while pending:
        for svc in list(pending):
            proc = pending[svc]
            popen = _CHILDREN.get(svc)
            exited = popen.poll() if popen is not None and popen.pid == proc.pid else None
            try:
                gone = not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
            except psutil.NoSuchProcess:
                gone = True
            if exited is not None or gone:
                code = f" with exit code {exited}" if exited is not None else ""
                errors.append(_failure(settings, svc, f"the process exited during start{code}."))
                _pid_path(settings, svc).unlink(missing_ok=True)
                del pending[svc]
                continue
            healthy, detail = check(settings, svc, timeout=3.0)
            now = time.monotonic()
            if healthy:
                if plan[svc] == "ours" and first_round:
                    echo(f"{svc}: already running (pid {proc.pid}), {detail}")
                else:
                    echo(f"{svc}: ok ({detail}, {now - started[svc]:.1f}s)")
                del pending[svc]
            elif now - started[svc] > settings.stack_timeout:
                errors.append(
                    _failure(
                        settings,
                        svc,
                        f"not healthy after {settings.stack_timeout:.0f}s ({detail}). "
                        f"It is still running as pid {proc.pid}: inspect the log, then "
                        f"`profilepipe stack down`; raise {Settings.env_name('stack_timeout')} "
                        "on a slow machine.",
                    )
                )
                del pending[svc]
            elif now - last_report[svc] >= _PROGRESS_EVERY:
                host, port = _address(settings, svc)
                echo(f"{svc}: waiting for {_WHAT[svc]} on {host}:{port} ({now - started[svc]:.0f}s)")
                last_report[svc] = now
        first_round = False
        if pending:
            time.sleep(1.0)
    if errors:
        raise StackError("\n\n".join(errors))

    # 4. topics and schema (idempotent)
    if "kafka" in chosen:
        counts = ensure_topics(settings)
        echo("kafka: topics " + ", ".join(f"{t} ({n} partitions)" for t, n in counts.items()))
        if counts.get(settings.kafka_topic) != settings.kafka_partitions:
            echo(
                f"kafka: note: {settings.kafka_topic} has {counts.get(settings.kafka_topic)} partitions, "
                f"{Settings.env_name('kafka_partitions')}={settings.kafka_partitions}; existing topics "
                "are not altered"
            )
    if "cassandra" in chosen:
        ensure_schema(settings)
        echo(f"cassandra: schema {settings.cassandra_keyspace}.{settings.cassandra_table} ready")
    echo(f"stack: up in {time.monotonic() - t0:.1f}s")


# --------------------------------------------------------------------------- topics and schema
def ensure_topics(settings: Settings | None = None) -> dict[str, int]:
    """Create the users topic (``kafka_partitions``) and its dead-letter topic (1 partition).

    Both accept messages up to ``TOPIC_MAX_MESSAGE_BYTES`` (the broker's default is 1 MB),
    so an oversized message reaches the stream and is dead-lettered there (``too_large``)
    instead of being refused to the producer. Existing topics keep their partition count;
    that limit is set on them too. Retriable broker errors (a broker that has just
    restarted) are retried for up to a minute. Returns {topic: partition count}.
    """
    from profilepipe import retry

    settings = settings or get_settings()
    return retry.call(lambda: _ensure_topics_once(settings), "kafka: create topics", budget=60)


def _ensure_topics_once(settings: Settings) -> dict[str, int]:
    import kafka.errors as kerrors
    from kafka.admin import ConfigResource, ConfigResourceType

    wanted = {settings.kafka_topic: settings.kafka_partitions, settings.dlq_topic: 1}
    configs = {"max.message.bytes": str(TOPIC_MAX_MESSAGE_BYTES)}
    with _quiet("kafka"):
        admin = _kafka_admin(settings)
        try:
            result = admin.create_topics(
                {
                    t: {"num_partitions": n, "replication_factor": 1, "configs": configs}
                    for t, n in wanted.items()
                },
                raise_errors=False,
            )
            for item in result["topics"]:
                code = item.get("error_code", 0)
                if code not in (0, kerrors.TopicAlreadyExistsError.errno):
                    err = kerrors.for_code(code)
                    if getattr(err, "retriable", False):
                        raise err(f"creating topic {item.get('name')}")
                    raise StackError(
                        f"kafka: cannot create topic {item.get('name')}: {err.__name__} "
                        f"{item.get('error_message') or ''}".strip()
                    )
            admin.wait_for_topics(list(wanted), timeout_ms=30000)
            admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, t, configs=configs) for t in wanted]
            )
            described = admin.describe_topics(list(wanted))
        finally:
            admin.close()
    return {t["name"]: len(t["partitions"]) for t in described}


def _schema_statements(settings: Settings) -> list[str]:
    from importlib.resources import files

    ident = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,47}$")
    for name in ("cassandra_keyspace", "cassandra_table"):
        if not ident.match(getattr(settings, name)):
            raise StackError(
                f"{Settings.env_name(name)}={getattr(settings, name)!r} is not a valid CQL name "
                "(letters, digits, underscore; 48 characters at most)"
            )
    text = files("profilepipe").joinpath("resources/schema.cql").read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    text = string.Template(text).substitute(
        keyspace=settings.cassandra_keyspace, table=settings.cassandra_table
    )
    return [s.strip() for s in text.split(";") if s.strip()]


def ensure_schema(settings: Settings | None = None) -> None:
    """Apply ``resources/schema.cql`` (keyspace + users table, ``IF NOT EXISTS``)."""
    settings = settings or get_settings()
    statements = _schema_statements(settings)
    with _quiet("cassandra"):
        cluster = _cassandra_cluster(settings, timeout=30.0)
        try:
            session = cluster.connect()
            for stmt in statements:
                session.execute(stmt, timeout=60.0)
            cluster.control_connection.wait_for_schema_agreement()
        finally:
            cluster.shutdown()


# --------------------------------------------------------------------------- down
def down(
    settings: Settings | None = None, services: Iterable[str] | str | None = None, echo: Echo = print
) -> None:
    """Stop the services this stack started: SIGTERM, up to 30 s, then SIGKILL.

    Only processes named in our pid files (or carrying this stack dir's exact markers on
    their command line) are touched; external servers are left alone.
    """
    import psutil

    settings = settings or get_settings()
    chosen = _services(services)
    victims: dict[str, list] = {}
    for svc in chosen:
        procs = []
        proc = _our_process(settings, svc)
        if proc is not None:
            procs.append(proc)
        elif _read_pid(settings, svc) is not None:
            echo(f"{svc}: stale pid file removed (pid {_read_pid(settings, svc)} is not our {svc})")
        for orphan in _orphans(settings, svc):
            echo(f"{svc}: also stopping pid {orphan.pid} (ours by its command line, no pid file)")
            procs.append(orphan)
        if not procs:
            _pid_path(settings, svc).unlink(missing_ok=True)
            if _port_open(*_address(settings, svc), timeout=0.5):
                echo(
                    f"{svc}: not ours (no pid file); something else serves "
                    f"{':'.join(map(str, _address(settings, svc)))}: left alone"
                )
            else:
                echo(f"{svc}: not running")
            continue
        victims[svc] = procs
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.send_signal(signal.SIGTERM)
        echo(f"{svc}: stopping (pid {', '.join(str(p.pid) for p in procs)})")

    t0 = time.monotonic()
    everyone = [p for procs in victims.values() for p in procs]
    _gone, alive = psutil.wait_procs(everyone, timeout=_STOP_TIMEOUT)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    if alive:
        psutil.wait_procs(alive, timeout=10)
    for svc, procs in victims.items():
        killed = [p.pid for p in procs if p in alive]
        for p in procs:
            popen = _CHILDREN.get(svc)
            if popen is not None and popen.pid == p.pid:
                popen.wait(timeout=5)
                del _CHILDREN[svc]
        still = []
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    still.append(p.pid)
        if still:
            raise StackError(f"{svc}: pid {still} survived SIGKILL; check `ps -p {still[0]}`")
        _pid_path(settings, svc).unlink(missing_ok=True)
        how = f"killed after {_STOP_TIMEOUT:.0f}s (pid {killed})" if killed else "stopped"
        echo(f"{svc}: {how} ({time.monotonic() - t0:.1f}s)")


# --------------------------------------------------------------------------- status, logs, memory
def status(settings: Settings | None = None) -> dict[str, ServiceStatus]:
    """Health of every service, whether started by this stack (pid) or elsewhere (external)."""
    settings = settings or get_settings()
    out = {}
    for svc in SERVICES:
        proc = _our_process(settings, svc)
        healthy, detail = check(settings, svc, timeout=3.0)
        address = ":".join(map(str, _address(settings, svc)))
        if healthy and proc is None:
            detail = f"{detail} (external)"
        elif not healthy:
            detail = f"starting or unhealthy: {detail}" if proc is not None else "not running"
        out[svc] = ServiceStatus(svc, proc.pid if proc is not None else None, healthy, detail, address)
    return out


def logs(settings: Settings | None, service: str, lines: int = 50) -> str:
    """The last ``lines`` lines of a service's log."""
    settings = settings or get_settings()
    svc = _services(service)[0]
    path = _log_path(settings, svc)
    if not path.is_file():
        return f"(no log yet: {path})"
    return _tail(path, lines)


def rss_mb(settings: Settings | None = None) -> dict[str, float]:
    """Resident memory (MiB) of each running server of ours."""
    import psutil

    settings = settings or get_settings()
    out = {}
    for svc in SERVICES:
        proc = _our_process(settings, svc)
        if proc is not None:
            with contextlib.suppress(psutil.NoSuchProcess):
                out[svc] = round(proc.memory_info().rss / 2**20, 1)
    return out


# --------------------------------------------------------------------------- python -m (see cli.py)
def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m profilepipe.localstack.stack", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["up", "down", "status", "logs", "fetch", "rss"])
    parser.add_argument("services", nargs="*", help=f"subset of {', '.join(SERVICES)} (default: all)")
    parser.add_argument("-n", "--lines", type=int, default=50, help="lines for `logs`")
    args = parser.parse_args(argv)
    settings = get_settings()

    def echo(line: str) -> None:
        print(line, flush=True)

    try:
        if args.command == "fetch":
            fetch_jars(settings, echo=echo)
        elif args.command == "up":
            up(settings, args.services or None, echo=echo)
        elif args.command == "down":
            down(settings, args.services or None, echo=echo)
        elif args.command == "status":
            states = status(settings)
            for s in states.values():
                mark = "ok  " if s.healthy else "DOWN"
                print(f"{mark} {s.name:<10} {s.address:<22} pid {str(s.pid or '-'):<8} {s.detail}")
            return 0 if all(s.healthy for s in states.values()) else 1
        elif args.command == "logs":
            for svc in _services(args.services or None):
                print(f"==> {_log_path(settings, svc)} <==\n{logs(settings, svc, args.lines)}")
        elif args.command == "rss":
            for svc, mb in rss_mb(settings).items():
                print(f"{svc:<10} {mb:8.1f} MiB")
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
