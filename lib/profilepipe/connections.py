"""How to connect to Kafka, Cassandra and MongoDB: client options built from the settings.

The local stack runs without authentication or TLS; a real deployment sets credentials
and TLS through ``PROFILEPIPE_*`` variables (see ``config.Settings`` and "Credentials and TLS"
in docs/configuration.md). Secrets come only from the environment.

* ``kafka_options(settings)``: keyword arguments of kafka-python's clients (the bootstrap
  servers; the settings have no Kafka credentials or TLS yet).
* ``cassandra_options(settings)``: keyword arguments of ``cassandra.cluster.Cluster``.
* ``mongo_options(settings)``: keyword arguments of ``pymongo.MongoClient`` besides the URI.
  The URI may carry credentials and TLS query options itself; pymongo combines both, and
  keyword arguments win over the URI.
* The local stack's own clients (``profilepipe_stack.clients``: health checks, topics, schema)
  start from these same options and only shorten timeouts.
* ``cassandra_key(settings)`` / ``mongo_key(settings)``: what identifies a connection, for
  caching clients; secrets only enter as a digest.

Only ``ssl`` and ``hashlib`` are imported at module level: the drivers are imported when
the options are built, so the rest of the package loads without them.
"""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path
from typing import Any

from profilepipe.config import Settings

# Reconnect quickly after a node restart: first retry after 0.5 s, then at most every 5 s.
# (The driver's default, ExponentialReconnectionPolicy(1, 600), waits up to 10 minutes, so a
# stream would stall long after Cassandra is back.) ``max_attempts=None``: keep trying; with
# the default 64 attempts a 5 s cap would give up after about 5 minutes of outage and leave
# the cached session without any host for good.
RECONNECT_BASE_DELAY = 0.5
RECONNECT_MAX_DELAY = 5.0
CASSANDRA_PROTOCOL_VERSION = 5
CASSANDRA_CONNECT_TIMEOUT = 10
CASSANDRA_REQUEST_TIMEOUT = 30  # seconds a request may take (the default execution profile)
MONGO_SERVER_SELECTION_TIMEOUT_MS = 10_000


def _path(value: str) -> str:
    return str(Path(value).expanduser())


def cassandra_ssl_context(settings: Settings) -> ssl.SSLContext:
    """A client TLS context: server verified (CA file, else the system CAs), optional client cert."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verify_mode CERT_REQUIRED, check_hostname on
    ctx.check_hostname = bool(settings.cassandra_ssl_verify_hostname)
    if settings.cassandra_ssl_ca_file:
        ctx.load_verify_locations(cafile=_path(settings.cassandra_ssl_ca_file))
    else:
        ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if settings.cassandra_ssl_cert_file:
        ctx.load_cert_chain(_path(settings.cassandra_ssl_cert_file), _path(settings.cassandra_ssl_key_file))
    return ctx


def kafka_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for kafka-python's ``KafkaAdminClient``/``KafkaConsumer``/``KafkaProducer``."""
    return {"bootstrap_servers": settings.kafka_servers}


def cassandra_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``cassandra.cluster.Cluster``.

    The default execution profile carries ``cassandra_consistency`` (every read and write of
    the session: the rows, the rows a batch replaces, the erasure register, the audit) and a
    30 s request timeout; its load balancing is the driver's default made explicit: token aware
    (a request goes to a replica of its row), round robin over the nodes of the data centre of
    the contact point that answers first.
    """
    from cassandra import ConsistencyLevel
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, ExponentialReconnectionPolicy, TokenAwarePolicy

    settings.validate()
    level = getattr(ConsistencyLevel, settings.cassandra_consistency)
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
        consistency_level=level,
        request_timeout=CASSANDRA_REQUEST_TIMEOUT,
    )
    options: dict[str, Any] = {
        "execution_profiles": {EXEC_PROFILE_DEFAULT: profile},
        "contact_points": settings.cassandra_hosts,
        "port": settings.cassandra_port,
        "protocol_version": CASSANDRA_PROTOCOL_VERSION,
        "connect_timeout": CASSANDRA_CONNECT_TIMEOUT,
        "reconnection_policy": ExponentialReconnectionPolicy(
            base_delay=RECONNECT_BASE_DELAY, max_delay=RECONNECT_MAX_DELAY, max_attempts=None
        ),
        "auth_provider": None,
    }
    if settings.cassandra_username:
        from cassandra.auth import PlainTextAuthProvider

        options["auth_provider"] = PlainTextAuthProvider(
            username=settings.cassandra_username, password=settings.cassandra_password
        )
    if settings.cassandra_ssl:
        options["ssl_context"] = cassandra_ssl_context(settings)
    return options


def mongo_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``pymongo.MongoClient(settings.mongo_uri, **options)``.

    Credentials and TLS options appear only when set, so whatever the URI says stays in
    force otherwise (e.g. ``mongodb+srv://`` turns TLS on by itself).
    """
    settings.validate()
    options: dict[str, Any] = {
        "serverSelectionTimeoutMS": MONGO_SERVER_SELECTION_TIMEOUT_MS,
        "tz_aware": True,
    }
    if settings.mongo_username:
        options["username"] = settings.mongo_username
    if settings.mongo_password:
        options["password"] = settings.mongo_password
    if settings.mongo_auth_source:
        options["authSource"] = settings.mongo_auth_source
    if settings.mongo_tls:
        options["tls"] = True
        if settings.mongo_tls_ca_file:
            options["tlsCAFile"] = _path(settings.mongo_tls_ca_file)
        if settings.mongo_tls_cert_key_file:
            options["tlsCertificateKeyFile"] = _path(settings.mongo_tls_cert_key_file)
        if settings.mongo_tls_allow_invalid_hostnames:
            options["tlsAllowInvalidHostnames"] = True
    return options


def _digest(*secrets: str) -> str:
    return hashlib.sha256("\0".join(secrets).encode("utf-8")).hexdigest()


def cassandra_key(settings: Settings) -> tuple:
    """What distinguishes one Cassandra connection from another (the password only as a digest)."""
    return (
        settings.cassandra_host,
        settings.cassandra_port,
        settings.cassandra_username,
        _digest(settings.cassandra_password),
        settings.cassandra_ssl,
        settings.cassandra_ssl_ca_file,
        settings.cassandra_ssl_cert_file,
        settings.cassandra_ssl_key_file,
        settings.cassandra_ssl_verify_hostname,
        settings.cassandra_consistency,  # a session's default execution profile carries it
    )


def mongo_key(settings: Settings) -> tuple:
    """What distinguishes one MongoDB client from another (URI and password only as a digest)."""
    return (
        _digest(settings.mongo_uri, settings.mongo_password),
        settings.mongo_username,
        settings.mongo_auth_source,
        settings.mongo_tls,
        settings.mongo_tls_ca_file,
        settings.mongo_tls_cert_key_file,
        settings.mongo_tls_allow_invalid_hostnames,
    )
