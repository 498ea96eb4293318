"""Config templates and JVM option files of the local stack, rendered from ``Settings``.

The files live in ``stack/`` beside the POMs and log configs: ``stack/jvm-common.options``
(every server), ``stack/<server>/jvm.options`` (heap, GC, logging), Cassandra's
``jvm17.options`` (the JPMS flags Java 17 needs), ``stack/kafka/server.properties.template``
and ``stack/cassandra/cassandra.yaml.template``. They are :class:`string.Template` text:
``${name}`` is filled from :func:`values`; an unknown name is an error (``substitute``), so a
typo in a template fails at start-up, not in the server.

An options file has one JVM flag a line; blank lines and ``#`` comments are skipped; a line
starting with ``--`` is an option and its value (``--add-opens java.base/java.io=ALL-UNNAMED``)
and becomes two arguments.
"""

from __future__ import annotations

import string
from pathlib import Path

from profilepipe.config import Settings
from profilepipe.errors import StackError
from profilepipe_stack import layout

COMMON_OPTIONS = "jvm-common.options"


def values(settings: Settings, svc: str, server: str = "") -> dict[str, str]:
    """Every ``${name}`` a template of ``svc`` may use (folders are absolute).

    ``server``: the folder under ``stack/`` when it is not ``svc`` (``kafka`` for the node
    ``kafka-2``). A node's own address and its cluster's are added by its Service
    (``services.Service.values``).
    """
    src = layout.source_dir() / (server or svc)
    secured = bool(settings.cassandra_username)
    replication = settings.replication
    return {
        "name": svc,
        "replication_factor": str(replication.factor),
        "min_insync": str(replication.min_insync),
        "stack_dir": str(layout.stack_dir(settings)),
        "logs_dir": str(layout.log_dir(settings)),
        "tmp_dir": str(layout.tmp_dir(settings)),
        "conf_dir": str(layout.conf_dir(settings)),
        "conf_uri": layout.conf_dir(settings).as_uri(),
        "data_dir": str(layout.data_dir(settings, svc)),
        "source_dir": str(src),
        "source_uri": src.as_uri(),
        "kafka_host": settings.kafka_host,
        "kafka_port": str(settings.kafka_port),
        "kafka_controller_port": str(settings.kafka_controller_port),
        "kafka_node_id": "1",
        "kafka_quorum": "controller.quorum.bootstrap.servers="
        f"{settings.kafka_host}:{settings.kafka_controller_port}",
        "kafka_heap": settings.kafka_heap,
        "cassandra_host": settings.cassandra_hosts[0],
        "cassandra_seeds": f"{settings.cassandra_hosts[0]}:{settings.cassandra_storage_port}",
        "cassandra_tokens": "",
        "cassandra_port": str(settings.cassandra_port),
        "cassandra_storage_port": str(settings.cassandra_storage_port),
        "cassandra_heap": settings.cassandra_heap,
        "cassandra_authenticator": "PasswordAuthenticator" if secured else "AllowAllAuthenticator",
        "cassandra_authorizer": "CassandraAuthorizer" if secured else "AllowAllAuthorizer",
        "mongo_heap": settings.mongo_heap,
    }


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StackError(f"cannot read the stack template {path} ({exc}): is this a full checkout?") from exc


def _substitute(text: str, mapping: dict[str, str], path: Path) -> str:
    try:
        return string.Template(text).substitute(mapping)
    except (KeyError, ValueError) as exc:
        raise StackError(f"{path}: bad placeholder {exc} (known: {', '.join(sorted(mapping))})") from exc


def render(path: Path, mapping: dict[str, str]) -> str:
    """The text of the template at ``path`` with every ``${name}`` filled in."""
    return _substitute(_read(path), mapping, path)


def options(path: Path, mapping: dict[str, str]) -> list[str]:
    """The JVM arguments of an options file (see the module docstring for its format).

    Comments are dropped before the placeholders are filled, so they may mention ``${name}``.
    """
    lines = [line.strip() for line in _read(path).splitlines()]
    text = "\n".join(line for line in lines if line and not line.startswith("#"))
    flags: list[str] = []
    for line in _substitute(text, mapping, path).splitlines():
        flags += line.split(" ", 1) if line.startswith("--") else [line]
    return flags
