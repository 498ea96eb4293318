"""The local stack's own clients: built from the pipeline's ``connections`` options.

Health checks, topic creation and the schema use the same bootstrap servers, contact
points, credentials and TLS as the stream (:mod:`profilepipe.connections`), so
``profilepipe stack status`` and the schema creation reach a secured deployment the stream
can reach. On top of those options the stack only sets what a short-lived probe needs
(:data:`CASSANDRA_TUNING`, :data:`MONGO_TUNING`): its own timeouts, no metadata for a
light probe, an application name. A setting the connections module cannot accept (a
missing certificate file, a password without a user) is a :class:`StackError`.

The drivers are imported when a client is built.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
from typing import Any

from profilepipe import connections
from profilepipe.config import Settings
from profilepipe.errors import StackError

CLIENT_ID = "profilepipe-stack"
#: Keys the stack sets over ``connections.cassandra_options`` (timeouts and metadata only).
CASSANDRA_TUNING = frozenset(
    {
        "connect_timeout",
        "control_connection_timeout",
        "execution_profiles",
        "schema_metadata_enabled",
        "token_metadata_enabled",
    }
)
#: Keys the stack sets over ``connections.mongo_options`` (timeouts and the application name).
MONGO_TUNING = frozenset({"serverSelectionTimeoutMS", "connectTimeoutMS", "socketTimeoutMS", "appname"})


@contextlib.contextmanager
def quiet(*names: str):
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


def _checked(settings: Settings, build) -> dict[str, Any]:
    try:
        return build(settings)
    except ValueError as exc:  # Settings.validate: the message names the variable
        raise StackError(str(exc)) from exc


# --------------------------------------------------------------------------- Kafka
def kafka_options(settings: Settings, timeout: float = 10.0, only: str | None = None) -> dict[str, Any]:
    """Keyword arguments of the stack's ``KafkaAdminClient``; ``only``: bootstrap from that one
    ``host:port`` (a probe of one broker), not every bootstrap server."""
    ms = int(timeout * 1000)
    options = connections.kafka_options(settings)
    return {
        **options,
        "bootstrap_servers": [only] if only else options["bootstrap_servers"],
        "client_id": CLIENT_ID,
        "request_timeout_ms": ms,
        "bootstrap_timeout_ms": ms,
    }


def kafka_admin(settings: Settings, timeout: float = 10.0, only: str | None = None):
    from kafka.admin import KafkaAdminClient

    return KafkaAdminClient(**kafka_options(settings, timeout, only))


def kafka_api_versions(host: str, port: int, timeout: float) -> None:
    """One raw ApiVersions (v0) round trip: proves the broker processes requests."""
    body = struct.pack(">hhih", 18, 0, 7, len(CLIENT_ID)) + CLIENT_ID.encode()
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


# --------------------------------------------------------------------------- Cassandra
def cassandra_options(
    settings: Settings, timeout: float, light: bool = False, only: str | None = None
) -> dict[str, Any]:
    """Keyword arguments of the stack's ``Cluster``: the pipeline's, with the probe's timeouts.

    ``light``: no schema or token metadata (a health check needs neither). ``only``: talk to
    that one host (a probe of one node), never to the others the driver discovers.
    """
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, WhiteListRoundRobinPolicy

    policy = WhiteListRoundRobinPolicy([only]) if only else DCAwareRoundRobinPolicy()
    profile = ExecutionProfile(load_balancing_policy=policy, request_timeout=timeout)
    options = _checked(settings, connections.cassandra_options)
    return {
        **options,
        "contact_points": [only] if only else options["contact_points"],
        "execution_profiles": {EXEC_PROFILE_DEFAULT: profile},
        "connect_timeout": timeout,
        "control_connection_timeout": timeout,
        "schema_metadata_enabled": not light,
        "token_metadata_enabled": not light,
    }


def cassandra_cluster(settings: Settings, timeout: float, light: bool = False, only: str | None = None):
    from cassandra.cluster import Cluster

    return Cluster(**cassandra_options(settings, timeout, light, only))


# --------------------------------------------------------------------------- MongoDB
def mongo_options(settings: Settings, timeout: float) -> dict[str, Any]:
    """Keyword arguments of the stack's ``MongoClient(settings.mongo_uri, ...)``."""
    ms = int(timeout * 1000)
    return {
        **_checked(settings, connections.mongo_options),
        "serverSelectionTimeoutMS": ms,
        "connectTimeoutMS": ms,
        "socketTimeoutMS": ms,
        "appname": CLIENT_ID,
    }


def mongo_client(settings: Settings, timeout: float):
    import pymongo

    return pymongo.MongoClient(settings.mongo_uri, **mongo_options(settings, timeout))
