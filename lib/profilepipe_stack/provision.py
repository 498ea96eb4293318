"""Topics and schema: what the pipeline needs on the servers, created idempotently.

Both go through the stack's clients (:mod:`profilepipe_stack.clients`), that is the
pipeline's own connection options, so they work against a secured deployment too.
"""

from __future__ import annotations

import re
import string

from profilepipe import contract
from profilepipe.config import Settings, get_settings
from profilepipe.errors import StackError
from profilepipe_stack import clients

#: Largest message the topics accept (the producer's ``max_request_size`` matches it).
TOPIC_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
_CQL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,47}$")


def ensure_topics(settings: Settings | None = None) -> dict[str, int]:
    """Create the users topic (``kafka_partitions``) and its dead-letter topic (1 partition).

    Each with the topology's copies (``Settings.replication``: 1, or 3 of which 2 must be in
    sync for a write to be acknowledged, ``min.insync.replicas``).

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
    replication = settings.replication
    configs = {
        "max.message.bytes": str(TOPIC_MAX_MESSAGE_BYTES),
        "min.insync.replicas": str(replication.min_insync),
    }
    with clients.quiet("kafka"):
        admin = clients.kafka_admin(settings)
        try:
            result = admin.create_topics(
                {
                    t: {"num_partitions": n, "replication_factor": replication.factor, "configs": configs}
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


def keyspace_replication(settings: Settings) -> str:
    """The keyspace's replication map: one copy on the single node, or the topology's copies in
    the local datacenter (``NetworkTopologyStrategy``, as a production cluster has it)."""
    factor = settings.replication.factor
    if settings.topology == "single":
        return f"{{'class': 'SimpleStrategy', 'replication_factor': {factor}}}"
    return f"{{'class': 'NetworkTopologyStrategy', '{settings.cassandra_local_dc}': {factor}}}"


def schema_statements(settings: Settings) -> list[str]:
    """The CQL statements of ``resources/schema.cql`` for the configured keyspace and table."""
    from importlib.resources import files

    for name in ("cassandra_keyspace", "cassandra_table"):
        if not _CQL_NAME.match(getattr(settings, name)):
            raise StackError(
                f"{Settings.env_name(name)}={getattr(settings, name)!r} is not a valid CQL name "
                "(letters, digits, underscore; 48 characters at most)"
            )
    text = files("profilepipe").joinpath("resources/schema.cql").read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    fields = {f.column: f.cql_type for f in contract.STORED_FIELDS}
    columns = ",\n".join(
        f"    {c:<14}{fields[c]}{' PRIMARY KEY' if c == 'user_id' else ''}" for c in settings.user_columns
    )
    text = string.Template(text).substitute(
        keyspace=settings.cassandra_keyspace,
        table=settings.cassandra_table,
        columns=columns,
        replication=keyspace_replication(settings),
    )
    return [s.strip() for s in text.split(";") if s.strip()]


def ensure_schema(settings: Settings | None = None) -> None:
    """Apply ``resources/schema.cql`` (keyspace + users table, ``IF NOT EXISTS``).

    A users table made earlier in the other storage profile is left as it is and
    ``ProfileMismatch`` says what to do (``stores.cassandra.check_profile``).
    """
    from profilepipe.stores import cassandra

    settings = settings or get_settings()
    statements = schema_statements(settings)
    with clients.quiet("cassandra"):
        cluster = clients.cassandra_cluster(settings, timeout=30.0)
        try:
            session = cluster.connect()
            for stmt in statements:
                session.execute(stmt, timeout=60.0)
            cluster.control_connection.wait_for_schema_agreement()
            have = cassandra.table_columns(settings, session)
        finally:
            cluster.shutdown()
    cassandra.check_profile(settings, have)
