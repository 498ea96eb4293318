"""All configuration in one place: environment variables with localhost defaults.

Every host, port, name and secret the project uses is read here and nowhere else.
Variables share the prefix ``PROFILEPIPE_``; ``Settings.from_env()`` reads them,
and ``Settings.describe()`` lists them (the README's configuration table is built
from the same list).

Secrets (the HMAC key, database passwords) have no default: they come only from
the environment.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

PREFIX = "PROFILEPIPE_"


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


def _f(default, help_text: str, secret: bool = False, factory=None):
    meta = {"help": help_text, "secret": secret}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    # Kafka
    kafka_bootstrap: str = _f("127.0.0.1:9092", "Kafka bootstrap servers (host:port[,host:port])")
    kafka_controller_port: int = _f(9093, "Port of the local KRaft controller listener")
    kafka_topic: str = _f("users", "Topic the producer writes users to")
    kafka_partitions: int = _f(3, "Partitions of the users topic (created explicitly)")
    kafka_dlq_topic: str = _f("", "Dead-letter topic (default: <topic>.dlq)")
    # Cassandra
    cassandra_host: str = _f("127.0.0.1", "Cassandra contact point")
    cassandra_port: int = _f(9042, "Cassandra native protocol port")
    cassandra_storage_port: int = _f(7000, "Internode port of the local Cassandra node (bound by `stack up`)")
    cassandra_keyspace: str = _f("user_profiles", "Cassandra keyspace")
    cassandra_table: str = _f("users", "Cassandra table for transformed rows")
    cassandra_username: str = _f("", "Cassandra user (empty: no authentication)")
    cassandra_password: str = _f("", "Cassandra password", secret=True)
    # MongoDB
    mongo_uri: str = _f("mongodb://127.0.0.1:27017", "MongoDB connection URI", secret=True)
    mongo_database: str = _f("user_profiles", "MongoDB database")
    mongo_collection: str = _f("aggregates", "MongoDB collection for aggregates")
    # Source
    api_url: str = _f("https://randomuser.me/api/1.4/", "randomuser.me endpoint (version pinned)")
    api_timeout: float = _f(10.0, "Seconds before an API call times out")
    api_retries: int = _f(5, "Attempts per API call before giving up")
    api_min_interval: float = _f(1.0, "Polite pause between API calls, seconds")
    api_backoff_base: float = _f(1.0, "First API retry delay, seconds (doubles per attempt, plus jitter)")
    api_backoff_max: float = _f(60.0, "Longest wait between API retries, seconds (caps Retry-After too)")
    source: str = _f("generator", "Default source: api, samples or generator")
    seed: str = _f("profilepipe", "Seed of the offline generator and of the API")
    # Privacy and GDPR
    pii_mode: str = _f("bcrypt", "How phone and address are hashed: bcrypt or hmac")
    bcrypt_cost: int = _f(12, "bcrypt cost factor (log2 rounds), 4..31")
    hmac_key: str = _f("", "Key for HMAC-SHA256 pseudonymisation (required in hmac mode)", secret=True)
    min_age: int = _f(18, "GDPR filter: only users at least this old are stored")
    k_anonymity: int = _f(5, "Aggregate groups smaller than k are marked as suppressed")
    as_of: str = _f("", "Processing date YYYY-MM-DD for ages (default: today, UTC)")
    # Stream
    checkpoint_dir: str = _f(
        None,
        "Structured Streaming checkpoint folder",
        factory=lambda: str(project_root() / ".stack" / "checkpoints"),
    )
    trigger_seconds: float = _f(5.0, "Processing-time trigger interval, seconds")
    max_offsets_per_trigger: int = _f(20000, "Upper bound of Kafka offsets per micro-batch")
    starting_offsets: str = _f("earliest", "Where a new query starts reading: earliest or latest")
    spark_master: str = _f("local[*]", "Spark master URL")
    spark_driver_memory: str = _f("2g", "Spark driver memory")
    spark_shuffle_partitions: int = _f(4, "spark.sql.shuffle.partitions")
    # Local stack
    stack_dir: str = _f(None, "Data, logs and pid files of the local stack", factory=_default_stack_dir)
    jars_dir: str = _f(None, "Jars resolved by Maven (cache, never committed)", factory=_default_jars_dir)
    java_home: str = _f("", "JDK 17 used by the local stack and Spark (default: auto-detect)")
    kafka_heap: str = _f("512m", "Heap of the local Kafka broker")
    cassandra_heap: str = _f("1G", "Heap of the local Cassandra node")
    mongo_heap: str = _f("256m", "Heap of the local MongoDB-compatible server")
    stack_timeout: float = _f(240.0, "Seconds to wait for each service to become healthy")
    output_dir: str = _f(
        None,
        "Where headless runs write notebooks and figures",
        factory=lambda: str(project_root() / "output"),
    )

    # ------------------------------------------------------------------ helpers
    @property
    def dlq_topic(self) -> str:
        return self.kafka_dlq_topic or f"{self.kafka_topic}.dlq"

    @property
    def mongo_host(self) -> str:
        return _host_port(urlsplit(self.mongo_uri).netloc.rsplit("@", 1)[-1], 27017)[0]

    @property
    def mongo_port(self) -> int:
        return _host_port(urlsplit(self.mongo_uri).netloc.rsplit("@", 1)[-1], 27017)[1]

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
        settings = cls(**values)
        settings.validate()
        return settings

    def replace(self, **changes) -> Settings:
        new = dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
        new.validate()
        return new

    def validate(self) -> None:
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
        if self.kafka_partitions < 1:
            raise ValueError(f"{self.env_name('kafka_partitions')} must be at least 1")
        if self.min_age < 0 or self.k_anonymity < 1:
            raise ValueError("min_age must be >= 0 and k_anonymity >= 1")

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(variable, default, help) for every setting; secrets show no default."""
        rows = []
        for f in dataclasses.fields(cls):
            if f.metadata.get("secret") and f.name != "mongo_uri":
                default = "(none)"
            elif f.default is not dataclasses.MISSING:
                default = str(f.default) if f.default != "" else "(empty)"
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
    except ValueError as exc:
        raise ValueError(f"{Settings.env_name(f.name)}={raw!r} is not a valid {kind}") from exc
    return raw


def get_settings(**overrides) -> Settings:
    """Settings from the environment, with optional keyword overrides."""
    return Settings.from_env(**overrides)
