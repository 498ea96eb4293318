"""The servers of the local stack, one :class:`Service` each: Kafka, Cassandra, and two
MongoDB-compatible servers (mongo-java-server, FerretDB) of which one serves "mongo".

A ``Service`` says everything the lifecycle needs about one server, so ``up``/``down``/
``status`` are the same loop for all of them:

* ``name`` (its pid file, log and data folder), the ``role`` it serves (the user-facing
  service name: ``kafka``, ``cassandra``, ``mongo``), ``what`` (what ``up`` waits for), the
  ``ports`` it binds (the first is its address) and the settings that move them
  (``port_settings``, named when a port is taken);
* its ``launcher``: the program and how its command line starts, its environment, the
  markers that make a process of it ours, and its build step. :data:`JVM` (``java``, the two
  markers of :func:`processes.markers`, ``stack/jvm-common.options``, its own
  ``jvm_options`` files, then classpath and main class; jars from Maven) or
  :data:`FERRETDB_BINARY` (a Go binary built by :mod:`~profilepipe_stack.ferretdb`);
  then its own ``args``;
* its jar folder (``<jars_dir>/<kind>/``) and source folder (``stack/<kind>/``), ``kind``
  being the server it runs (``kafka`` for the node ``kafka-2``);
* its config ``templates`` (rendered into ``<stack_dir>/conf/<name>.*`` before each start);
* a ``prepare`` step before each start (Kafka formats its KRaft storage once);
* its health ``check``: a real protocol exchange (Kafka ApiVersions + metadata, a CQL
  query, a MongoDB ping) through the clients of :mod:`profilepipe_stack.clients`; a
  node also has a ``settled`` check that ``up`` waits for (it has joined the other two).

:data:`SERVICES` has one entry per role (the JVM servers; "mongo" is mongo-java-server);
which server serves a role is :func:`resolve`: the one of ours that runs, else the one the
settings choose (``PROFILEPIPE_MONGO_SERVER``: :data:`MONGO_SERVERS`). In the replicated
topology (``PROFILEPIPE_TOPOLOGY``, docs/topology.md) a role of :data:`NODES` is its three
nodes (``kafka-1``..``kafka-3``, ``cassandra-1``..``cassandra-3``), each a ``Service`` with
its own address, node id or token; :func:`chosen` turns roles and node names into servers.
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

from profilepipe.config import REPLICATION, Settings
from profilepipe.errors import StackError
from profilepipe.jdk import java_home
from profilepipe_stack import clients, ferretdb, jars, layout, processes, templates

Check = Callable[[Settings, float], tuple[bool, str]]
Echo = Callable[[str], None]


@dataclass(frozen=True)
class ServiceStatus:
    """One line of `stack status` (and `cluster status`)."""

    name: str
    pid: int | None
    healthy: bool
    detail: str
    address: str


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
    java_home(settings)  # no JDK 17: a StackError saying what to install
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
    server: str = ""  # the server it runs (its stack/ and jar folders) when not ``name`` (a node)
    node: int = 0  # 1.. for a node of the replicated topology, 0 for a role's single server
    node_values: Callable[[Settings], dict[str, str]] = field(default=lambda settings: {})
    settled: Check | None = None  # what `up` also waits for once healthy (a node has joined)

    @property
    def role(self) -> str:
        return self.serves or self.server or self.name

    @property
    def ident(self) -> str:
        """What messages and `status` call it: its role, or a node's own name (``kafka-2``)."""
        return self.name if self.node else self.role

    @property
    def kind(self) -> str:
        """The server's folder name under ``stack/`` and the jars dir (``kafka`` for ``kafka-2``)."""
        return self.server or self.name

    def values(self, settings: Settings) -> dict[str, str]:
        """Every ``${name}`` its templates and options may use (a node's own address included)."""
        return {**templates.values(settings, self.name, self.kind), **self.node_values(settings)}

    def address(self, settings: Settings) -> tuple[str, int]:
        return self.ports(settings)[0]

    def jar_folder(self, settings: Settings) -> Path:
        return jars.folder(settings, self.kind)

    def source(self) -> Path:
        return layout.source_dir() / self.kind

    def port_variables(self) -> str:
        return ", ".join(Settings.env_name(name) for name in self.port_settings)

    def write_configs(self, settings: Settings) -> list[Path]:
        """Render the config templates into ``<stack_dir>/conf/``; returns the files written."""
        values = self.values(settings)
        written = []
        for template, target in self.templates:
            path = layout.conf_dir(settings) / target.format(name=self.name)
            path.write_text(templates.render(self.source() / template, values))
            written.append(path)
        return written

    def jvm_flags(self, settings: Settings) -> list[str]:
        values = self.values(settings)
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


# --------------------------------------------------------------------------- nodes
#: Nodes of a role in the replicated topology (``config.REPLICATION``).
REPLICAS = REPLICATION["replicated"].factor


def _nth(settings: Settings, listed: list[str], node: int, setting: str) -> str:
    """The ``node``-th (1..) address of a setting's list; the list must name every node."""
    if len(listed) < REPLICAS:
        raise StackError(
            f"the replicated topology runs {REPLICAS} nodes: {Settings.env_name(setting)} must list "
            f"{REPLICAS} addresses, one per node (it lists {len(listed)})"
        )
    return listed[node - 1]


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


def kafka_address(settings: Settings, node: int = 0) -> tuple[str, int]:
    """Where broker ``node`` (1..) listens; 0: the single broker (the first bootstrap server)."""
    if node == 0:
        return settings.kafka_host, settings.kafka_port
    _nth(settings, settings.kafka_servers, node, "kafka_bootstrap")
    return settings.kafka_addresses[node - 1]


def _kafka_node_values(settings: Settings, node: int) -> dict[str, str]:
    """A broker of three: its address, its id, the three controllers (static voters)."""
    host, broker_port = kafka_address(settings, node)
    port = settings.kafka_controller_port
    voters = ",".join(f"{i}@{kafka_address(settings, i)[0]}:{port}" for i in range(1, REPLICAS + 1))
    return {
        "kafka_host": host,
        "kafka_port": str(broker_port),
        "kafka_node_id": str(node),
        "kafka_quorum": f"controller.quorum.voters={voters}",
    }


def _kafka_cluster_id(settings: Settings, node: int) -> str:
    """The id to format a broker with: new for the single broker; for a node, its siblings' id."""
    for other in range(1, REPLICAS + 1) if node else ():
        meta = layout.data_dir(settings, f"kafka-{other}") / "meta.properties"
        if other != node and meta.is_file():
            for line in meta.read_text().splitlines():
                if line.startswith("cluster.id="):
                    return line.split("=", 1)[1].strip()
    return kraft_cluster_id()


def _format_kafka(settings: Settings, log, node: int = 0) -> None:
    """Format the KRaft storage unless ``data/<name>/meta.properties`` exists.

    The single broker: a new cluster id, a dynamic quorum of itself (``--standalone``). A node
    of three: the id its formatted siblings have (a new one for the first), the static voters
    of its configuration.
    """
    name = f"kafka-{node}" if node else "kafka"
    data = layout.data_dir(settings, name)
    if (data / "meta.properties").is_file():
        return
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    cluster_id = _kafka_cluster_id(settings, node)
    values = templates.values(settings, name, "kafka")
    cmd = [
        jars.java(settings),
        *templates.options(layout.source_dir() / "kafka" / "storage-tool.options", values),
        "-cp",
        f"{jars.folder(settings, 'kafka')}/*",
        "kafka.tools.StorageTool",
        "format",
        *([] if node else ["--standalone"]),
        f"--cluster-id={cluster_id}",  # one argument: an id may not be taken for an option
        "-c",
        str(layout.conf_dir(settings) / f"{name}.properties"),
    ]
    log.write(f"=== formatting KRaft storage: {' '.join(cmd)}\n")
    log.flush()
    rc = subprocess.run(
        cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=300
    ).returncode
    if rc != 0 or not (data / "meta.properties").is_file():
        shutil.rmtree(data, ignore_errors=True)
        raise StackError(
            processes.failure(settings, name, f"formatting the KRaft storage failed (exit {rc})")
        )


def _check_kafka(settings: Settings, timeout: float, node: int = 0) -> tuple[bool, str]:
    host, port = kafka_address(settings, node)
    try:
        clients.kafka_api_versions(host, port, timeout)
    except OSError as exc:
        return False, f"no broker answer on {host}:{port} ({exc})"
    with clients.quiet("kafka"):
        try:
            admin = clients.kafka_admin(settings, timeout, only=f"{host}:{port}")
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
    brokers = f", {len(_unfenced(cluster))} brokers unfenced" if node else ""
    cluster_id = cluster.get("cluster_id")
    return True, f"Kafka {version}+ API, cluster {cluster_id}{brokers}, {len(user_topics)} topics"


def _unfenced(cluster: dict) -> list[int]:
    """The ids of the brokers a DescribeCluster answer lists as registered and unfenced."""
    return sorted(b["broker_id"] for b in cluster.get("brokers", []) if not b.get("is_fenced"))


def _kafka_joined(settings: Settings, timeout: float, node: int) -> tuple[bool, str]:
    """A broker of three has joined: every broker of the cluster is registered and unfenced."""
    host, port = kafka_address(settings, node)
    with clients.quiet("kafka"):
        try:
            admin = clients.kafka_admin(settings, timeout, only=f"{host}:{port}")
            try:
                ids = _unfenced(admin.describe_cluster())
            finally:
                admin.close()
        except Exception as exc:  # noqa: BLE001
            return False, f"cluster metadata failed ({exc.__class__.__name__}: {exc})"
    if len(ids) < REPLICAS:
        return False, f"brokers {ids} unfenced, waiting for {REPLICAS}"
    return True, ""  # the check's own detail already counts the unfenced brokers


def _kafka(node: int = 0) -> Service:
    """The single broker (``node`` 0, "kafka") or the node ``kafka-<node>`` of three."""
    name = f"kafka-{node}" if node else "kafka"
    return Service(
        name=name,
        what="broker",
        ports=lambda s: [kafka_address(s, node), (kafka_address(s, node)[0], s.kafka_controller_port)],
        port_settings=("kafka_bootstrap", "kafka_controller_port"),
        main_class="kafka.Kafka",
        check=lambda s, timeout: _check_kafka(s, timeout, node),
        templates=(("server.properties.template", "{name}.properties"),),
        args=lambda s: [str(layout.conf_dir(s) / f"{name}.properties")],
        prepare=lambda s, log: _format_kafka(s, log, node),
        server="kafka" if node else "",
        node=node,
        node_values=(lambda s: _kafka_node_values(s, node)) if node else (lambda s: {}),
        settled=(lambda s, timeout: _kafka_joined(s, timeout, node)) if node else None,
    )


KAFKA = _kafka()


# --------------------------------------------------------------------------- Cassandra
def cassandra_address(settings: Settings, node: int = 0) -> str:
    """The host node ``node`` (1..) listens on; 0: the single node (the first contact point)."""
    if node == 0:
        return settings.cassandra_hosts[0]
    return _nth(settings, settings.cassandra_hosts, node, "cassandra_host")


def initial_token(node: int) -> int:
    """Node ``node``'s token of ``REPLICAS`` evenly spaced on the Murmur3 ring (-2**63 .. 2**63-1)."""
    return -(2**63) + (node - 1) * (2**64 // REPLICAS)


def _cassandra_node_values(settings: Settings, node: int) -> dict[str, str]:
    """A node of three: its address, the three seeds, its token."""
    seeds = ",".join(
        f"{cassandra_address(settings, i)}:{settings.cassandra_storage_port}" for i in range(1, REPLICAS + 1)
    )
    return {
        "cassandra_host": cassandra_address(settings, node),
        "cassandra_seeds": seeds,
        "cassandra_tokens": f"initial_token: {initial_token(node)}",
    }


def _check_cassandra(settings: Settings, timeout: float, node: int = 0) -> tuple[bool, str]:
    host, port = cassandra_address(settings, node), settings.cassandra_port
    if not processes.port_open(host, port, timeout):
        return False, f"CQL port {host}:{port} closed"
    with clients.quiet("cassandra"):
        cluster = clients.cassandra_cluster(settings, timeout, light=True, only=host)
        try:
            session = cluster.connect()
            row = session.execute("SELECT release_version FROM system.local").one()
        except Exception as exc:  # noqa: BLE001
            return False, f"CQL query failed ({exc.__class__.__name__}: {exc})"
        finally:
            cluster.shutdown()
    return True, f"Cassandra {row.release_version}"


def _cassandra_joined(settings: Settings, timeout: float, node: int) -> tuple[bool, str]:
    """A node of three has joined: coordinated by it, a read at consistency ALL of a keyspace
    with three replicas (``system_distributed``) succeeds, so it sees every node up."""
    from cassandra import ConsistencyLevel
    from cassandra.query import SimpleStatement

    host = cassandra_address(settings, node)
    query = SimpleStatement(
        "SELECT * FROM system_distributed.view_build_status LIMIT 1", consistency_level=ConsistencyLevel.ALL
    )
    with clients.quiet("cassandra"):
        cluster = clients.cassandra_cluster(settings, timeout, light=True, only=host)
        try:
            cluster.connect().execute(query)
        except Exception as exc:  # noqa: BLE001
            return False, f"a read at ALL failed ({exc.__class__.__name__})"
        finally:
            cluster.shutdown()
    return True, f"sees {REPLICAS} nodes up"


def _cassandra(node: int = 0) -> Service:
    """The single node (``node`` 0, "cassandra") or the node ``cassandra-<node>`` of three."""
    name = f"cassandra-{node}" if node else "cassandra"
    return Service(
        name=name,
        what="CQL",
        ports=lambda s: [
            (cassandra_address(s, node), s.cassandra_port),
            (cassandra_address(s, node), s.cassandra_storage_port),
        ],
        port_settings=("cassandra_port", "cassandra_storage_port"),
        main_class="org.apache.cassandra.service.CassandraDaemon",
        check=lambda s, timeout: _check_cassandra(s, timeout, node),
        jvm_options=("jvm.options", "jvm17.options"),
        templates=(("cassandra.yaml.template", "{name}.yaml"),),
        agents=lambda jar_folder: [f"-javaagent:{p}" for p in sorted(jar_folder.glob("jamm-*.jar"))[:1]],
        server="cassandra" if node else "",
        node=node,
        node_values=(lambda s: _cassandra_node_values(s, node)) if node else (lambda s: {}),
        settled=(lambda s, timeout: _cassandra_joined(s, timeout, node)) if node else None,
    )


CASSANDRA = _cassandra()


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
#: The replicated topology's nodes of each replicated role (``config.TOPOLOGIES``).
NODES: dict[str, tuple[Service, ...]] = {
    "kafka": tuple(_kafka(i) for i in range(1, REPLICAS + 1)),
    "cassandra": tuple(_cassandra(i) for i in range(1, REPLICAS + 1)),
}
NODE_NAMES: dict[str, Service] = {svc.name: svc for nodes in NODES.values() for svc in nodes}
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

    A name is a role (``kafka``, ``cassandra``, ``mongo``) or a node of the replicated
    topology (``kafka-2``). Without ``settings``: the entries of :data:`SERVICES`; with them,
    a role is the servers of the settings' topology (:func:`topology`): the three nodes of a
    replicated role, else the server :func:`resolve` picks.
    """
    if services is None:
        services = list(SERVICES)
    if isinstance(services, str):
        services = [services]
    picked: list[Service] = []
    for name in services:
        if name in NODE_NAMES:
            found = [NODE_NAMES[name]]
        elif name not in SERVICES:
            known = ", ".join([*SERVICES, *NODE_NAMES])
            raise StackError(f"unknown service {name!r}: choose from {known}")
        elif settings is None:
            found = [SERVICES[name]]
        elif settings.topology == "replicated" and name in NODES:
            found = list(NODES[name])
        else:
            found = [resolve(settings, name)]
        picked += [svc for svc in found if svc not in picked]
    return picked


def topology(settings: Settings) -> list[Service]:
    """The servers of the settings' topology, role by role (the order `status` lists them)."""
    return chosen(None, settings)


def running_topology(settings: Settings) -> str | None:
    """The topology of ours that runs: "replicated" (one of its nodes runs), "single" (its Kafka
    or Cassandra runs), or None."""
    running = [svc for svc in every_server(settings) if svc.role in NODES and svc.process(settings)]
    if any(svc.node for svc in running):
        return "replicated"
    return "single" if running else None


def acting(settings: Settings) -> Settings:
    """The settings `status` and a `down` of everything act on: those of the topology of ours
    that runs (its nodes' addresses), else these."""
    running = running_topology(settings)
    return settings if running in (None, settings.topology) else settings.in_topology(running)


def every_server(settings: Settings) -> list[Service]:
    """The servers of both topologies (what a `stack down` of everything looks for)."""
    return chosen([*SERVICES, *NODE_NAMES], settings.replace(topology="single"))
