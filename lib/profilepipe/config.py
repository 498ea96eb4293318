"""All configuration in one place: environment variables with localhost defaults.

Every host, port, name and secret the project uses is read here and nowhere else.
Variables share the prefix ``PROFILEPIPE_``; ``Settings.from_env()`` reads them,
and ``Settings.describe()`` lists them (docs/configuration.md's table is built from
the same list by scripts/update_config_doc.sh).

Secrets (the HMAC key, database passwords) have no default: they come only from
the environment.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from profilepipe import contract

PREFIX = "PROFILEPIPE_"
GENERATOR_SEED = "profilepipe"  # the generator's seed when PROFILEPIPE_SEED is empty
DEFAULT_LOCAL_DC = (
    "datacenter1"  # Cassandra's own data centre name; the rows' writer's if the setting is empty
)
DATA_LOSS_POLICIES = ("stop", "record")  # what PROFILEPIPE_ON_DATA_LOSS may name (pipeline.gaps)
MONGO_SERVERS = ("ferretdb", "java")  # what PROFILEPIPE_MONGO_SERVER may name (profilepipe_stack.services)
#: What PROFILEPIPE_CASSANDRA_CONSISTENCY may name (the drivers' levels, the serial ones excepted).
CONSISTENCY_LEVELS = (
    *("ANY", "ONE", "TWO", "THREE", "QUORUM", "ALL"),
    *("LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE"),
)


def project_root() -> Path:
    """The checkout that holds ``pyproject.toml`` (``PROFILEPIPE_HOME`` overrides it).

    Paths below it (stack data, jars, checkpoints, outputs) then do not depend on
    the working directory, so papermill, nbval and the CLI all see the same files.
    """
    home = os.environ.get(PREFIX + "HOME")
    if home:
        return Path(home).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "lib" / "profilepipe").is_dir():
            return parent
    return Path.cwd().resolve()


def _default_stack_dir() -> str:
    return str(project_root() / ".stack")


def _default_jars_dir() -> str:
    return str(project_root() / ".cache" / "jars")


def _default_ferretdb_dir() -> str:
    return str(project_root() / ".cache" / "ferretdb")


def _f(default, help_text: str, secret: bool = False, factory=None):
    meta = {"help": help_text, "secret": secret}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


#: The two named ways to run the stream: what each sets unless set explicitly.
#: ``latency``: a micro-batch every half second (or as soon as the previous one ends), small
#: batches read as one task per Kafka partition (a small batch split further pays more task
#: start-ups than it saves), so a record waits little (the notebook 05 / dashboard way);
#: ``throughput``: a batch every 5 s, up to 20,000 records each, read into the topic's
#: partitions x Spark's cores (``spark_read_partitions`` 0), so the per-batch cost is spread thin.
STREAM_MODES = {
    "throughput": {"trigger_seconds": 5.0, "max_offsets_per_trigger": 20000, "spark_read_partitions": 0},
    "latency": {"trigger_seconds": 0.5, "max_offsets_per_trigger": 10000, "spark_read_partitions": 1},
}


#: The two topologies of the local stack (``PROFILEPIPE_TOPOLOGY``): what each sets unless set
#: explicitly. ``single``: one server per role. ``replicated``: three Kafka brokers and three
#: Cassandra nodes, one per address listed (127.0.0.1-3: Linux routes all of 127/8 to the
#: loopback), the stream on the local Spark standalone cluster, and a checkpoint and MongoDB
#: database of its own (its Kafka is another cluster: offsets of one mean nothing in the other).
TOPOLOGIES = {
    "single": {},
    "replicated": {
        "kafka_bootstrap": "127.0.0.1:9092,127.0.0.2:9092,127.0.0.3:9092",
        "cassandra_host": "127.0.0.1,127.0.0.2,127.0.0.3",
        "spark_master": "spark://127.0.0.1:7077",
        "mongo_database": "user_profiles_replicated",
        "checkpoint_dir": lambda: str(project_root() / ".stack" / "checkpoints-replicated"),
    },
}


@dataclass(frozen=True)
class Replication:
    """How many copies the stores keep in a topology, and how many must acknowledge a write."""

    factor: int  # Kafka topics' replication factor and the keyspace's replicas
    min_insync: int  # Kafka's min.insync.replicas (the producer's acks=all waits for these)


REPLICATION = {"single": Replication(1, 1), "replicated": Replication(3, 2)}


@dataclass(frozen=True)
class Settings:
    # Kafka
    topology: str = _f(
        "single",
        "single (one server per role) or replicated (3 Kafka brokers, 3 Cassandra nodes; TOPOLOGIES)",
    )
    kafka_bootstrap: str = _f(
        "127.0.0.1:9092", "Kafka bootstrap servers (host:port[,host:port]; replicated: one per broker)"
    )
    kafka_controller_port: int = _f(9093, "Port of the local KRaft controller listener")
    kafka_topic: str = _f("users", "Topic the producer writes users to")
    kafka_partitions: int = _f(3, "Partitions of the users topic (created explicitly)")
    kafka_dlq_topic: str = _f("", "Dead-letter topic (default: <topic>.dlq)")
    # Cassandra
    cassandra_host: str = _f("127.0.0.1", "Cassandra contact points (host[,host]; replicated: one per node)")
    cassandra_port: int = _f(9042, "Cassandra native protocol port")
    cassandra_storage_port: int = _f(7000, "Internode port of the local Cassandra node (bound by `stack up`)")
    cassandra_keyspace: str = _f("user_profiles", "Cassandra keyspace")
    cassandra_table: str = _f("users", "Cassandra table for transformed rows")
    cassandra_username: str = _f("", "Cassandra user (empty: no authentication)")
    cassandra_password: str = _f("", "Cassandra password", secret=True)
    cassandra_ssl: bool = _f(False, "Connect to Cassandra over TLS (client-to-node encryption)")
    cassandra_ssl_ca_file: str = _f("", "PEM CA bundle to verify the Cassandra server (empty: system CAs)")
    cassandra_ssl_cert_file: str = _f("", "PEM client certificate for mutual TLS (needs the key file)")
    cassandra_ssl_key_file: str = _f("", "PEM private key of the client certificate")
    cassandra_ssl_verify_hostname: bool = _f(True, "Check that the Cassandra certificate matches the host")
    cassandra_local_dc: str = _f(
        DEFAULT_LOCAL_DC, "Cassandra datacenter the rows' writer routes to (local DC)"
    )
    cassandra_consistency: str = _f(
        "LOCAL_QUORUM", "Consistency level of every Cassandra read and write (rows, erasure register, audit)"
    )
    cassandra_max_in_flight: int = _f(512, "Requests in flight per executor partition of the rows' writer")
    # MongoDB
    mongo_uri: str = _f("mongodb://127.0.0.1:27017", "MongoDB connection URI", secret=True)
    mongo_database: str = _f("user_profiles", "MongoDB database")
    mongo_collection: str = _f("aggregates", "MongoDB collection for aggregates")
    mongo_username: str = _f("", "MongoDB user (empty: whatever the URI says)")
    mongo_password: str = _f("", "MongoDB password", secret=True)
    mongo_auth_source: str = _f("", "Database that holds the MongoDB user (empty: pymongo's default)")
    mongo_tls: bool = _f(False, "Connect to MongoDB over TLS (a URI with tls=true or mongodb+srv also does)")
    mongo_tls_ca_file: str = _f("", "PEM CA bundle to verify the MongoDB server (empty: system CAs)")
    mongo_tls_cert_key_file: str = _f("", "PEM client certificate and key in one file, for mutual TLS")
    mongo_tls_allow_invalid_hostnames: bool = _f(False, "Accept a MongoDB certificate for another host")
    # Source
    api_url: str = _f("https://randomuser.me/api/1.4/", "randomuser.me endpoint (version pinned)")
    api_timeout: float = _f(10.0, "Seconds before an API call times out")
    api_retries: int = _f(5, "Attempts per API call before giving up")
    api_min_interval: float = _f(1.0, "Polite pause between API calls, seconds")
    api_backoff_base: float = _f(1.0, "First API retry delay, seconds (doubles per attempt, plus jitter)")
    api_backoff_max: float = _f(60.0, "Longest wait between API retries, seconds (caps Retry-After too)")
    source: str = _f("generator", "Default source: api, samples or generator")
    seed: str = _f("", "Seed of the generator (empty: `profilepipe`) and of the API (empty: unseeded)")
    # Privacy and GDPR
    store_profile: str = _f(
        "minimal",
        "What the users table keeps: minimal (no name, username or birth date) or full (the original row)",
    )
    pii_mode: str = _f("bcrypt", "How phone and address are hashed: bcrypt or hmac")
    bcrypt_cost: int = _f(12, "bcrypt cost factor (log2 rounds), 4..31")
    hmac_key: str = _f("", "Key for HMAC-SHA256 pseudonymisation (required in hmac mode)", secret=True)
    min_age: int = _f(18, "GDPR filter: only users at least this old are stored")
    k_anonymity: int = _f(5, "Aggregate groups smaller than k are marked as suppressed")
    erase_contribution: bool = _f(
        True, "`forget` also removes the user's contribution to the aggregates (off: counts keep it)"
    )
    retention_days: int = _f(
        0, "`profilepipe retain` removes rows ingested more than N days ago (0 or empty: keep forever)"
    )
    as_of: str = _f("", "Processing date YYYY-MM-DD for ages (default: today, UTC)")
    # Stream
    checkpoint_dir: str = _f(
        None,
        "Structured Streaming checkpoint folder",
        factory=lambda: str(project_root() / ".stack" / "checkpoints"),
    )
    stream_mode: str = _f(
        "throughput",
        "throughput (5 s trigger, batches up to 20,000) or latency (0.5 s, up to 10,000): STREAM_MODES",
    )
    trigger_seconds: float = _f(5.0, "Processing-time trigger interval, seconds (default: the stream mode's)")
    max_offsets_per_trigger: int = _f(
        20000, "Upper bound of Kafka offsets per micro-batch (default: the mode's)"
    )
    max_message_bytes: int = _f(
        524288, "Messages larger than this are dead-lettered as too_large without being parsed"
    )
    starting_offsets: str = _f("earliest", "Where a new query starts reading: earliest or latest")
    sink_retry_seconds: float = _f(
        180.0, "How long a write keeps retrying while a store is unreachable (backoff up to 10 s)"
    )
    stream_restarts: int = _f(3, "Times `stream` restarts a failed query from its checkpoint")
    on_data_loss: str = _f(
        "stop",
        "Offsets Kafka dropped before the stream read them: stop (name them; `stream --accept-loss` "
        "goes on) or record (go on; `audit` exits 3 until acknowledged): docs/ARCHITECTURE.md",
    )
    spark_master: str = _f("local[*]", "Spark master URL")
    spark_driver_memory: str = _f("2g", "Spark driver memory")
    spark_ui: bool = _f(
        False,
        "Spark's web UI with its Structured Streaming tab (port 4040 or the next free one); "
        "`profilepipe lab` turns it on for its kernels",
    )
    spark_shuffle_partitions: int = _f(4, "spark.sql.shuffle.partitions")
    spark_read_partitions: int = _f(
        0,
        "Spark partitions a micro-batch is read into (Kafka minPartitions; never fewer than the "
        "topic's partitions); 0: the topic's partitions x Spark's cores. Set by the stream mode",
    )
    # Spark standalone cluster (`profilepipe cluster up`; use it with PROFILEPIPE_SPARK_MASTER=spark://...)
    spark_master_port: int = _f(7077, "Port of the local Spark standalone master (`profilepipe cluster up`)")
    spark_master_webui_port: int = _f(8180, "Web UI (and /json/ status) port of the local Spark master")
    spark_workers: int = _f(2, "Spark standalone workers `cluster up` starts on 127.0.0.1")
    spark_worker_cores: int = _f(1, "Cores each local Spark worker offers")
    spark_worker_memory: str = _f("1g", "Memory each local Spark worker offers to executors")
    spark_executor_memory: str = _f("768m", "spark.executor.memory when the master is not local[...]")
    # Dashboard
    dashboard_port: int = _f(8050, "Port of the live dashboard (`profilepipe dashboard`, on 127.0.0.1)")
    dashboard_refresh_seconds: float = _f(2.0, "Seconds between two refreshes of the live dashboard")
    # Local stack
    stack_dir: str = _f(None, "Data, logs and pid files of the local stack", factory=_default_stack_dir)
    jars_dir: str = _f(None, "Jars resolved by Maven (cache, never committed)", factory=_default_jars_dir)
    java_home: str = _f("", "JDK 17 used by the local stack and Spark (default: auto-detect)")
    kafka_heap: str = _f("512m", "Heap of the local Kafka broker")
    cassandra_heap: str = _f("1G", "Heap of the local Cassandra node")
    mongo_heap: str = _f("256m", "Heap of the local MongoDB-compatible server")
    mongo_server: str = _f(
        "ferretdb", "The MongoDB-compatible server `stack up` starts on mongo_uri's port: ferretdb or java"
    )
    ferretdb_dir: str = _f(
        None, "FerretDB built from its Go module (cache, never committed)", factory=_default_ferretdb_dir
    )
    stack_timeout: float = _f(240.0, "Seconds to wait for each service to become healthy")
    output_dir: str = _f(
        None,
        "Where headless runs write notebooks and figures",
        factory=lambda: str(project_root() / "output"),
    )
    spark_log: str = _f(
        None,
        "File the Spark driver's JVM logs to (`profilepipe run`: the run's log), never a console or notebook",
        factory=lambda: str(project_root() / "output" / "spark.log"),
    )

    # ------------------------------------------------------------------ helpers
    @property
    def dlq_topic(self) -> str:
        return self.kafka_dlq_topic or f"{self.kafka_topic}.dlq"

    @property
    def users_table(self) -> str:
        """The users table, keyspace-qualified (``user_profiles.users``), as CQL names it."""
        return f"{self.cassandra_keyspace}.{self.cassandra_table}"

    @property
    def user_columns(self) -> tuple[str, ...]:
        """The users table's columns in ``store_profile`` (``contract.user_columns``)."""
        return contract.user_columns(self.store_profile)

    @property
    def erasures_table(self) -> str:
        """The erasure register beside it (``user_profiles.users_erasures``, ``schema.cql``)."""
        return f"{self.users_table}_erasures"

    @property
    def generator_seed(self) -> str:
        """The offline generator's seed: ``seed``, or ``profilepipe`` (it is always seeded)."""
        return self.seed or GENERATOR_SEED

    @property
    def mongo_host(self) -> str:
        return _host_port(urlsplit(self.mongo_uri).netloc.rsplit("@", 1)[-1], 27017)[0]

    @property
    def mongo_port(self) -> int:
        return _host_port(urlsplit(self.mongo_uri).netloc.rsplit("@", 1)[-1], 27017)[1]

    @property
    def replication(self) -> Replication:
        """Copies kept and acknowledgements needed in this topology (``REPLICATION``)."""
        return REPLICATION[self.topology]

    @property
    def cassandra_hosts(self) -> list[str]:
        """The Cassandra contact points (``cassandra_host``, comma-separated)."""
        return [h.strip() for h in self.cassandra_host.split(",") if h.strip()]

    @property
    def kafka_servers(self) -> list[str]:
        """The Kafka bootstrap servers (``kafka_bootstrap``, comma-separated ``host:port``)."""
        return [s.strip() for s in self.kafka_bootstrap.split(",") if s.strip()]

    @property
    def kafka_addresses(self) -> list[tuple[str, int]]:
        """(host, port) of each bootstrap server."""
        return [_host_port(server, 9092) for server in self.kafka_servers]

    @property
    def kafka_host(self) -> str:
        return _host_port(self.kafka_bootstrap, 9092)[0]

    @property
    def kafka_port(self) -> int:
        return _host_port(self.kafka_bootstrap, 9092)[1]

    @staticmethod
    def env_name(name: str) -> str:
        return PREFIX + name.upper()

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        """Read every field from ``PROFILEPIPE_<FIELD>``; keyword overrides win."""
        env = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            raw = env.get(cls.env_name(f.name))
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name, value in STREAM_MODES.get(values.get("stream_mode", "throughput"), {}).items():
            values.setdefault(name, value)  # the mode gives what was not set explicitly
        for name, value in TOPOLOGIES.get(values.get("topology", "single"), {}).items():
            values.setdefault(name, value() if callable(value) else value)  # and so does the topology
        settings = cls(**values)
        settings.validate()
        return settings

    def in_mode(self, mode: str) -> Settings:
        """These settings with ``stream_mode`` and that mode's trigger and batch size (``STREAM_MODES``)."""
        if mode not in STREAM_MODES:
            raise ValueError(
                f"{self.env_name('stream_mode')} must be one of {', '.join(STREAM_MODES)}, not {mode!r}"
            )
        return self.replace(stream_mode=mode, **STREAM_MODES[mode])

    def in_topology(self, topology: str) -> Settings:
        """These settings with ``topology`` and that topology's addresses and places (``TOPOLOGIES``)."""
        values = {k: v() if callable(v) else v for k, v in TOPOLOGIES.get(topology, {}).items()}
        return self.replace(topology=topology, **values)

    def replace(self, **changes) -> Settings:
        new = dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
        new.validate()
        return new

    def validate(self) -> None:
        if self.topology not in TOPOLOGIES:
            raise ValueError(
                f"{self.env_name('topology')} must be one of {', '.join(TOPOLOGIES)}, not {self.topology!r}"
            )
        if self.stream_mode not in STREAM_MODES:
            raise ValueError(
                f"{self.env_name('stream_mode')} must be one of {', '.join(STREAM_MODES)}, "
                f"not {self.stream_mode!r}"
            )
        if self.pii_mode not in ("bcrypt", "hmac"):
            raise ValueError(f"{self.env_name('pii_mode')} must be 'bcrypt' or 'hmac', not {self.pii_mode!r}")
        if not 4 <= self.bcrypt_cost <= 31:
            raise ValueError(
                f"{self.env_name('bcrypt_cost')} must be between 4 and 31, not {self.bcrypt_cost}"
            )
        if self.source not in ("api", "samples", "generator"):
            raise ValueError(
                f"{self.env_name('source')} must be api, samples or generator, not {self.source!r}"
            )
        if self.spark_read_partitions < 0:
            raise ValueError(f"{self.env_name('spark_read_partitions')} must be 0 (automatic) or more")
        if self.kafka_partitions < 1:
            raise ValueError(f"{self.env_name('kafka_partitions')} must be at least 1")
        if self.cassandra_consistency not in CONSISTENCY_LEVELS:
            raise ValueError(
                f"{self.env_name('cassandra_consistency')} must be one of {', '.join(CONSISTENCY_LEVELS)}, "
                f"not {self.cassandra_consistency!r}"
            )
        if self.cassandra_max_in_flight < 1:
            raise ValueError(
                f"{self.env_name('cassandra_max_in_flight')} must be at least 1 "
                f"(got {self.cassandra_max_in_flight})"
            )
        if self.store_profile not in contract.STORE_PROFILES:
            raise ValueError(
                f"{self.env_name('store_profile')} must be one of {', '.join(contract.STORE_PROFILES)}, "
                f"not {self.store_profile!r}"
            )
        if self.min_age < 0 or self.k_anonymity < 1:
            raise ValueError("min_age must be >= 0 and k_anonymity >= 1")
        if self.retention_days < 0:
            raise ValueError(
                f"{self.env_name('retention_days')} must be a number of days (0 or empty: keep forever)"
            )
        if self.spark_workers < 1 or self.spark_worker_cores < 1:
            raise ValueError(
                f"{self.env_name('spark_workers')} and {self.env_name('spark_worker_cores')} "
                "must be at least 1"
            )
        if not 1 <= self.dashboard_port <= 65535 or self.dashboard_refresh_seconds <= 0:
            raise ValueError(
                f"{self.env_name('dashboard_port')} must be a port (1..65535) and "
                f"{self.env_name('dashboard_refresh_seconds')} above 0"
            )
        if self.on_data_loss not in DATA_LOSS_POLICIES:
            raise ValueError(
                f"{self.env_name('on_data_loss')} must be {' or '.join(DATA_LOSS_POLICIES)}, "
                f"not {self.on_data_loss!r}"
            )
        if self.mongo_server not in MONGO_SERVERS:
            choices = " or ".join(MONGO_SERVERS)
            raise ValueError(f"{self.env_name('mongo_server')} must be {choices}, not {self.mongo_server!r}")
        self._validate_credentials_and_tls()

    def _validate_credentials_and_tls(self) -> None:
        env = self.env_name
        if self.cassandra_password and not self.cassandra_username:
            raise ValueError(f"{env('cassandra_password')} is set but {env('cassandra_username')} is empty")
        if self.mongo_password and not (self.mongo_username or urlsplit(self.mongo_uri).username):
            raise ValueError(
                f"{env('mongo_password')} is set but there is no user: set {env('mongo_username')} "
                f"(or put the user in {env('mongo_uri')})"
            )
        if bool(self.cassandra_ssl_cert_file) != bool(self.cassandra_ssl_key_file):
            missing = "cassandra_ssl_key_file" if self.cassandra_ssl_cert_file else "cassandra_ssl_cert_file"
            raise ValueError(
                f"mutual TLS needs both {env('cassandra_ssl_cert_file')} and "
                f"{env('cassandra_ssl_key_file')}; {env(missing)} is empty"
            )
        # TLS options only act with their switch on: refuse them instead of silently ignoring them
        for switch, options in _TLS_OPTIONS.items():
            for name in options:
                value = getattr(self, name)
                if value == _DEFAULTS[name]:
                    continue
                if not getattr(self, switch):
                    raise ValueError(f"{env(name)} has no effect unless {env(switch)}=true")
                if name.endswith("_file") and not Path(value).expanduser().is_file():
                    raise ValueError(f"{env(name)}={value!r}: no such file")

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(variable, default, help) for every setting; secrets show no default."""
        rows = []
        for f in dataclasses.fields(cls):
            if f.metadata.get("secret") and f.name != "mongo_uri":
                default = "(none)"
            elif f.default is not dataclasses.MISSING:
                default = str(f.default) if f.default != "" else "(empty)"
                if isinstance(f.default, bool):
                    default = default.lower()  # as it is written in the environment
            else:
                default = "(under the checkout)"
            rows.append((cls.env_name(f.name), default, f.metadata.get("help", "")))
        return rows

    def redacted(self) -> dict[str, object]:
        """The settings as a dict with secrets masked, safe to print in a notebook."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("secret") and value:
                value = _mask(f.name, value)
            out[f.name] = value
        return out


# switch -> the options that only act when it is on (checked by Settings.validate)
_TLS_OPTIONS = {
    "cassandra_ssl": (
        "cassandra_ssl_ca_file",
        "cassandra_ssl_cert_file",
        "cassandra_ssl_key_file",
        "cassandra_ssl_verify_hostname",
    ),
    "mongo_tls": ("mongo_tls_ca_file", "mongo_tls_cert_key_file", "mongo_tls_allow_invalid_hostnames"),
}
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Settings)}


def _host_port(servers: str, default_port: int) -> tuple[str, int]:
    """Host and port of the first of ``host[:port][,host[:port]...]``."""
    first = servers.split(",")[0]
    host, sep, port = first.rpartition(":")
    return (host, int(port)) if sep else (first, default_port)


def _mask(name: str, value: str) -> str:
    if name == "mongo_uri" and "@" in value:
        scheme, rest = value.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    if name == "mongo_uri":
        return value
    return "***"


def _coerce(f: dataclasses.Field, raw: str):
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            return _parse_bool(raw)
    except ValueError as exc:
        hint = f" ({exc})" if kind == "bool" else ""
        raise ValueError(f"{Settings.env_name(f.name)}={raw!r} is not a valid {kind}{hint}") from exc
    return raw


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _parse_bool(raw: str) -> bool:
    """1/true/yes/on or 0/false/no/off, any case."""
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"use {'/'.join(_TRUE)} or {'/'.join(_FALSE)}, any case")


def explain(settings: Settings, names: Iterable[str] | None = None) -> list[tuple[str, object, str]]:
    """``(variable, value, "environment" | "default")`` per setting, secrets masked."""
    shown = settings.redacted()
    rows = []
    for name in names or shown:
        variable = Settings.env_name(name)
        origin = "environment" if os.environ.get(variable) else "default"
        rows.append((variable, shown[name], origin))
    return rows


def run_summary(settings: Settings) -> str:
    """One line: what a run of the notebooks will use (no secret, no path)."""
    if settings.seed:
        seed = f"seed {settings.seed!r}"
    else:
        seed = "unseeded" if settings.source == "api" else f"seed {settings.generator_seed!r}"
    cost = f" (cost {settings.bcrypt_cost})" if settings.pii_mode == "bcrypt" else ""
    as_of = settings.as_of or "today (UTC)"
    return (
        f"source {settings.source} ({seed}); PII mode {settings.pii_mode}{cost}; processing date {as_of}; "
        f"GDPR minimum age {settings.min_age}; k = {settings.k_anonymity}"
    )


def get_settings(**overrides) -> Settings:
    """Settings from the environment, with optional keyword overrides."""
    return Settings.from_env(**overrides)
