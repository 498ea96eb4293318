"""The servers of the local stack, one :class:`Service` each: Kafka, Cassandra, and two
MongoDB-compatible servers (mongo-java-server, FerretDB) of which one serves "mongo".

A ``Service`` says everything the lifecycle needs about one server, so ``up``/``down``/
``status`` are the same loop for all of them:

* ``name`` (its pid file, log, data and jar folder), the ``role`` it serves (the user-facing
  service name: ``kafka``, ``cassandra``, ``mongo``), ``what`` (what ``up`` waits for), the
  ``ports`` it binds (the first is its address) and the settings that move them
  (``port_settings``, named when a port is taken);
* its ``launcher``: the program and how its command line starts, its environment, the
  markers that make a process of it ours, and its build step. :data:`JVM` (``java``, the two
  markers of :func:`processes.markers`, ``stack/jvm-common.options``, its own
  ``jvm_options`` files, then classpath and main class; jars from Maven) or
  :data:`FERRETDB_BINARY` (a Go binary built by :mod:`~profilepipe.localstack.ferretdb`);
  then its own ``args``;
* its jar folder (``<jars_dir>/<name>/``) and source folder (``stack/<name>/``);
* its config ``templates`` (rendered into ``<stack_dir>/conf/`` before each start);
* a ``prepare`` step before each start (Kafka formats its KRaft storage once);
* its health ``check``: a real protocol exchange (Kafka ApiVersions + metadata, a CQL
  query, a MongoDB ping) through the clients of :mod:`profilepipe.localstack.clients`.

:data:`SERVICES` has one entry per role (the JVM servers; "mongo" is mongo-java-server);
which server serves a role is :func:`resolve`: the one of ours that runs, else the one the
settings choose (``PROFILEPIPE_MONGO_SERVER``: :data:`MONGO_SERVERS`).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from profilepipe.config import Settings
from profilepipe.errors import StackError
from profilepipe.localstack import clients, ferretdb, jars, layout, processes, templates

Check = Callable[[Settings, float], tuple[bool, str]]
Echo = Callable[[str], None]


@dataclass(frozen=True)
class Launcher:
    """How a kind of server is run and built (shared by every Service of that kind)."""

    program: str  # the start of the process's name (its executable's file name)
    head: Callable[[Service, Settings], list[str]]  # the command line before the Service's args
    marks: Callable[[Service, Settings], tuple[str, ...]]  # arguments that make a process ours
    env: Callable[[Settings], dict[str, str]]  # the environment it starts in
    ready: Callable[[Settings], bool]  # whether it is built (raises when it cannot be)
    build: Callable[[Settings, Echo], object]  # build it (idempotent, cached)


def _jvm_head(svc: Service, settings: Settings) -> list[str]:
    jar_folder = svc.jar_folder(settings)
    classpath = ":".join([f"{jar_folder}/*", *(str(jar_folder / d) for d in svc.classpath_extra)])
    return [
        jars.java(settings),
        *processes.markers(settings, svc.name),
        *svc.jvm_flags(settings),
        "-cp",
        classpath,
        svc.main_class,
    ]


def _jvm_ready(settings: Settings) -> bool:
    jars.java_home(settings)  # no JDK 17: a StackError saying what to install
    return jars.jars_complete(settings)


JVM = Launcher(
    program="java",
    head=_jvm_head,
    marks=lambda svc, settings: processes.markers(settings, svc.name),
    env=jars.java_env,
    ready=_jvm_ready,
    build=lambda settings, echo: jars.fetch_jars(settings, echo=echo),
)
FERRETDB_BINARY = Launcher(
    program=ferretdb.NAME,
    head=lambda svc, settings: ferretdb.command(settings),
    marks=lambda svc, settings: ferretdb.markers(settings),
    env=lambda settings: dict(os.environ),
    ready=ferretdb.built,
    build=ferretdb.build,
)


@dataclass(frozen=True)
class Service:
    name: str
    what: str  # what `up` waits for ("waiting for <what> on host:port")
    ports: Callable[[Settings], list[tuple[str, int]]]  # every (host, port) it binds; first = address
    port_settings: tuple[str, ...]  # the Settings fields that move those ports
    main_class: str  # a JVM server's main class ("" for another launcher)
    check: Check
    launcher: Launcher = JVM
    serves: str = ""  # the role (user-facing service name) when it is not ``name``
    label: str = ""  # what status calls it when a role has several servers
    jvm_options: tuple[str, ...] = ("jvm.options",)  # files under stack/<name>/
    templates: tuple[tuple[str, str], ...] = ()  # (template under stack/<name>/, file in conf/)
    args: Callable[[Settings], list[str]] = field(default=lambda settings: [])
    classpath_extra: tuple[str, ...] = ()  # folders under the jar folder (compiled launchers)
    agents: Callable[[Path], list[str]] = field(default=lambda jar_folder: [])
    prepare: Callable[[Settings, object], None] | None = None  # (settings, open log file)

    @property
    def role(self) -> str:
        return self.serves or self.name

    def address(self, settings: Settings) -> tuple[str, int]:
        return self.ports(settings)[0]

    def jar_folder(self, settings: Settings) -> Path:
        return jars.folder(settings, self.name)

    def source(self) -> Path:
        return layout.source_dir() / self.name

    def port_variables(self) -> str:
        return ", ".join(Settings.env_name(name) for name in self.port_settings)

    def write_configs(self, settings: Settings) -> list[Path]:
        """Render the config templates into ``<stack_dir>/conf/``; returns the files written."""
        values = templates.values(settings, self.name)
        written = []
        for template, target in self.templates:
            path = layout.conf_dir(settings) / target
            path.write_text(templates.render(self.source() / template, values))
            written.append(path)
        return written

    def jvm_flags(self, settings: Settings) -> list[str]:
        values = templates.values(settings, self.name)
        flags = templates.options(layout.source_dir() / templates.COMMON_OPTIONS, values)
        for name in self.jvm_options:
            flags += templates.options(self.source() / name, values)
        return flags + self.agents(self.jar_folder(settings))

    def command(self, settings: Settings) -> list[str]:
        """The server's command line (its configs are written by :meth:`write_configs`)."""
        return [*self.launcher.head(self, settings), *self.args(settings)]

    def marks(self, settings: Settings) -> processes.Marks:
        return processes.Marks(self.launcher.program, self.launcher.marks(self, settings))

    def process(self, settings: Settings):
        """psutil.Process of this server when it runs as ours (pid file and markers), else None."""
        return processes.our_process(settings, self.name, self.marks(settings))

    def orphans(self, settings: Settings) -> list:
        return processes.orphans(settings, self.name, self.marks(settings))


# --------------------------------------------------------------------------- Kafka
def kraft_cluster_id() -> str:
    """A new KRaft cluster id: 22 characters of URL-safe base64 of a random UUID.

    Drawn as Kafka's own ``Uuid.randomUuid()`` does: an id starting with ``-`` (1 in 64)
    is drawn again, since command lines would read it as an option.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _format_kafka(settings: Settings, log) -> None:
    """Format the KRaft storage (a new cluster id) unless ``data/kafka/meta.properties`` exists."""
    data = layout.data_dir(settings, "kafka")
    if (data / "meta.properties").is_file():
        return
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    cluster_id = kraft_cluster_id()
    values = templates.values(settings, "kafka")
    cmd = [
        jars.java(settings),
        *templates.options(layout.source_dir() / "kafka" / "storage-tool.options", values),
        "-cp",
        f"{jars.folder(settings, 'kafka')}/*",
        "kafka.tools.StorageTool",
        "format",
        "--standalone",
        f"--cluster-id={cluster_id}",  # one argument: an id may not be taken for an option
        "-c",
        str(layout.conf_dir(settings) / "kafka.properties"),
    ]
    log.write(f"=== formatting KRaft storage: {' '.join(cmd)}\n")
    log.flush()
    rc = subprocess.run(
        cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=300
    ).returncode
    if rc != 0 or not (data / "meta.properties").is_file():
        shutil.rmtree(data, ignore_errors=True)
        raise StackError(
            processes.failure(settings, "kafka", f"formatting the KRaft storage failed (exit {rc})")
        )


def _check_kafka(settings: Settings, timeout: float) -> tuple[bool, str]:
    host, port = settings.kafka_host, settings.kafka_port
    try:
        clients.kafka_api_versions(host, port, timeout)
    except OSError as exc:
        return False, f"no broker answer on {host}:{port} ({exc})"
    with clients.quiet("kafka"):
        try:
            admin = clients.kafka_admin(settings, timeout)
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


KAFKA = Service(
    name="kafka",
    what="broker",
    ports=lambda s: [(s.kafka_host, s.kafka_port), (s.kafka_host, s.kafka_controller_port)],
    port_settings=("kafka_bootstrap", "kafka_controller_port"),
    main_class="kafka.Kafka",
    check=_check_kafka,
    templates=(("server.properties.template", "kafka.properties"),),
    args=lambda s: [str(layout.conf_dir(s) / "kafka.properties")],
    prepare=_format_kafka,
)


# --------------------------------------------------------------------------- Cassandra
def _check_cassandra(settings: Settings, timeout: float) -> tuple[bool, str]:
    host, port = settings.cassandra_host, settings.cassandra_port
    if not processes.port_open(host, port, timeout):
        return False, f"CQL port {host}:{port} closed"
    with clients.quiet("cassandra"):
        cluster = clients.cassandra_cluster(settings, timeout, light=True)
        try:
            session = cluster.connect()
            row = session.execute("SELECT release_version FROM system.local").one()
        except Exception as exc:  # noqa: BLE001
            return False, f"CQL query failed ({exc.__class__.__name__}: {exc})"
        finally:
            cluster.shutdown()
    return True, f"Cassandra {row.release_version}"


CASSANDRA = Service(
    name="cassandra",
    what="CQL",
    ports=lambda s: [(s.cassandra_host, s.cassandra_port), (s.cassandra_host, s.cassandra_storage_port)],
    port_settings=("cassandra_port", "cassandra_storage_port"),
    main_class="org.apache.cassandra.service.CassandraDaemon",
    check=_check_cassandra,
    jvm_options=("jvm.options", "jvm17.options"),
    templates=(("cassandra.yaml.template", "cassandra.yaml"),),
    agents=lambda jar_folder: [f"-javaagent:{p}" for p in sorted(jar_folder.glob("jamm-*.jar"))[:1]],
)


# --------------------------------------------------------------------------- MongoDB-compatible
def _check_mongo(settings: Settings, timeout: float) -> tuple[bool, str]:
    host, port = settings.mongo_host, settings.mongo_port
    # a mongodb+srv:// URI names a DNS record, not a host to probe: the ping alone decides
    if not settings.mongo_uri.startswith("mongodb+srv://") and not processes.port_open(host, port, timeout):
        return False, f"port {host}:{port} closed"
    client = clients.mongo_client(settings, timeout)
    try:
        client.admin.command("ping")
        info = client.server_info()
    except Exception as exc:  # noqa: BLE001
        return False, f"ping failed ({exc.__class__.__name__}: {exc})"
    finally:
        client.close()
    ferret = f", FerretDB {info['ferretdbVersion']}" if "ferretdbVersion" in info else ""
    return True, f"MongoDB-compatible {info.get('version', '?')}{ferret}"


MONGO = Service(
    name="mongo",
    what="wire protocol",
    ports=lambda s: [(s.mongo_host, s.mongo_port)],
    port_settings=("mongo_uri",),
    main_class="MongoLauncher",
    check=_check_mongo,
    label="mongo-java-server",
    args=lambda s: [s.mongo_host, str(s.mongo_port), str(layout.data_dir(s, "mongo") / "mongo.mv.db")],
    classpath_extra=(jars.LAUNCHER_DIR,),
)

FERRETDB = Service(
    name=ferretdb.NAME,
    what="wire protocol",
    ports=MONGO.ports,
    port_settings=MONGO.port_settings,
    main_class="",
    check=_check_mongo,
    launcher=FERRETDB_BINARY,
    serves=MONGO.role,
    label="FerretDB",
    jvm_options=(),
    prepare=ferretdb.prepare,
)


# --------------------------------------------------------------------------- the table
#: One Service per role, in the order `status` lists them (the JVM servers: "mongo" is
#: mongo-java-server, built from jars like the others; see :func:`resolve`).
SERVICES: dict[str, Service] = {svc.name: svc for svc in (KAFKA, CASSANDRA, MONGO)}
#: The order `up` starts them: Cassandra first, it is the slowest.
START_ORDER = ("cassandra", "kafka", "mongo")
#: The servers PROFILEPIPE_MONGO_SERVER chooses from (its values: ``config.MONGO_SERVERS``).
MONGO_SERVERS: dict[str, Service] = {"ferretdb": FERRETDB, "java": MONGO}
#: The roles that have several servers: role -> (the setting that chooses, its servers).
ALTERNATIVES: dict[str, tuple[str, dict[str, Service]]] = {MONGO.role: ("mongo_server", MONGO_SERVERS)}


def alternatives(role: str) -> list[Service]:
    """Every server that can serve ``role``."""
    if role in ALTERNATIVES:
        return list(ALTERNATIVES[role][1].values())
    return [SERVICES[role]]


def serving(settings: Settings, role: str) -> Service:
    """The server the settings choose for ``role``."""
    if role in ALTERNATIVES:
        setting, servers = ALTERNATIVES[role]
        return servers[getattr(settings, setting)]
    return SERVICES[role]


def resolve(settings: Settings, role: str) -> Service:
    """The server of ``role`` to act on: the one of ours that runs, else :func:`serving`."""
    candidates = alternatives(role)
    if len(candidates) > 1:
        for svc in candidates:
            if svc.process(settings) is not None:
                return svc
    return serving(settings, role)


def chosen(services: Iterable[str] | str | None, settings: Settings | None = None) -> list[Service]:
    """The services named (all if None), without repeats; an unknown name is a StackError.

    Without ``settings``: the entries of :data:`SERVICES`; with them: the server that
    :func:`resolve` picks for each role.
    """
    if services is None:
        services = list(SERVICES)
    if isinstance(services, str):
        services = [services]
    picked: list[Service] = []
    for name in services:
        if name not in SERVICES:
            raise StackError(f"unknown service {name!r}: choose from {', '.join(SERVICES)}")
        svc = SERVICES[name] if settings is None else resolve(settings, name)
        if svc not in picked:
            picked.append(svc)
    return picked
