"""The three servers of the local stack, one :class:`Service` each: Kafka, Cassandra, MongoDB.

A ``Service`` says everything the lifecycle needs about one server, so ``up``/``down``/
``status`` are the same loop for all three:

* ``name``, ``what`` (what ``up`` waits for), the ``ports`` it binds (the first is its
  address) and the settings that move them (``port_settings``, named when a port is taken);
* its jar folder (``<jars_dir>/<name>/``) and source folder (``stack/<name>/``);
* the command line: ``java``, the two markers of :func:`processes.markers`,
  ``stack/jvm-common.options``, its own ``jvm_options`` files, then classpath, main class
  and arguments;
* its config ``templates`` (rendered into ``<stack_dir>/conf/`` before each start);
* a ``prepare`` step before the first start (Kafka formats its KRaft storage);
* its health ``check``: a real protocol exchange (Kafka ApiVersions + metadata, a CQL
  query, a MongoDB ping) through the clients of :mod:`profilepipe.localstack.clients`.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from profilepipe.config import Settings
from profilepipe.localstack import clients, jars, layout, processes, templates
from profilepipe.localstack.layout import StackError

Check = Callable[[Settings, float], tuple[bool, str]]


@dataclass(frozen=True)
class Service:
    name: str
    what: str  # what `up` waits for ("waiting for <what> on host:port")
    ports: Callable[[Settings], list[tuple[str, int]]]  # every (host, port) it binds; first = address
    port_settings: tuple[str, ...]  # the Settings fields that move those ports
    main_class: str
    check: Check
    jvm_options: tuple[str, ...] = ("jvm.options",)  # files under stack/<name>/
    templates: tuple[tuple[str, str], ...] = ()  # (template under stack/<name>/, file in conf/)
    args: Callable[[Settings], list[str]] = field(default=lambda settings: [])
    classpath_extra: tuple[str, ...] = ()  # folders under the jar folder (compiled launchers)
    agents: Callable[[Path], list[str]] = field(default=lambda jar_folder: [])
    prepare: Callable[[Settings, object], None] | None = None  # (settings, open log file)

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
        jar_folder = self.jar_folder(settings)
        classpath = ":".join([f"{jar_folder}/*", *(str(jar_folder / d) for d in self.classpath_extra)])
        return [
            jars.java(settings),
            *processes.markers(settings, self.name),
            *self.jvm_flags(settings),
            "-cp",
            classpath,
            self.main_class,
            *self.args(settings),
        ]


# --------------------------------------------------------------------------- Kafka
def _format_kafka(settings: Settings, log) -> None:
    """Format the KRaft storage (a new cluster id) unless ``data/kafka/meta.properties`` exists."""
    data = layout.data_dir(settings, "kafka")
    if (data / "meta.properties").is_file():
        return
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    values = templates.values(settings, "kafka")
    cmd = [
        jars.java(settings),
        *templates.options(layout.source_dir() / "kafka" / "storage-tool.options", values),
        "-cp",
        f"{jars.folder(settings, 'kafka')}/*",
        "kafka.tools.StorageTool",
        "format",
        "--standalone",
        "-t",
        cluster_id,
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
        version = client.server_info().get("version", "?")
    except Exception as exc:  # noqa: BLE001
        return False, f"ping failed ({exc.__class__.__name__}: {exc})"
    finally:
        client.close()
    return True, f"MongoDB-compatible {version}"


MONGO = Service(
    name="mongo",
    what="wire protocol",
    ports=lambda s: [(s.mongo_host, s.mongo_port)],
    port_settings=("mongo_uri",),
    main_class="MongoLauncher",
    check=_check_mongo,
    args=lambda s: [s.mongo_host, str(s.mongo_port), str(layout.data_dir(s, "mongo") / "mongo.mv.db")],
    classpath_extra=(jars.LAUNCHER_DIR,),
)


# --------------------------------------------------------------------------- the table
#: Every server, in the order `status` lists them.
SERVICES: dict[str, Service] = {svc.name: svc for svc in (KAFKA, CASSANDRA, MONGO)}
#: The order `up` starts them: Cassandra first, it is the slowest.
START_ORDER = ("cassandra", "kafka", "mongo")


def chosen(services: Iterable[str] | str | None) -> list[Service]:
    """The services named (all if None), without repeats; an unknown name is a StackError."""
    if services is None:
        return list(SERVICES.values())
    if isinstance(services, str):
        services = [services]
    picked: list[Service] = []
    for name in services:
        if name not in SERVICES:
            raise StackError(f"unknown service {name!r}: choose from {', '.join(SERVICES)}")
        if SERVICES[name] not in picked:
            picked.append(SERVICES[name])
    return picked
