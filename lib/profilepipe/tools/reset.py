"""``profilepipe reset``: empty everything the pipeline wrote, so a run starts from nothing.

It recreates what it empties through the local stack's public helpers
(``profilepipe_stack.stack.ensure_topics`` / ``ensure_schema``), which is why it lives here and
not in ``stores``: the stores do not depend on the stack.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from profilepipe import kafka_client, stores
from profilepipe.config import Settings


def reset_all(settings: Settings, echo: Callable[[str], object] = print) -> None:
    """Empty everything the pipeline wrote: topics, table, erasure register, aggregates, checkpoint.

    A users table made in the other storage profile is dropped and made again in the current
    one (``Settings.store_profile``): a reset is how a stack moves from one profile to the other.

    Afterwards a run starts from nothing, so the same run gives the same numbers again
    (the erasure register included: a user forgotten by an earlier run is stored again).
    """
    from profilepipe_stack import stack

    kafka_client.delete_topics(settings, [settings.kafka_topic, settings.dlq_topic])
    stack.ensure_topics(settings)
    echo(f"kafka: topics {settings.kafka_topic}, {settings.dlq_topic} recreated empty")
    if stores.connect(settings).cassandra.table_columns() - set(
        settings.user_columns
    ):  # made in the other profile
        stores.connect(settings).cassandra.drop_users()
        echo(f"cassandra: {settings.users_table} dropped (made in another storage profile)")
    stack.ensure_schema(settings)
    stores.connect(settings).cassandra.truncate_users()
    stores.connect(settings).cassandra.truncate_erasures()
    profile = settings.store_profile
    echo(f"cassandra: {settings.users_table} ({profile} profile) and its erasure register truncated")
    stores.connect(settings).mongo.clear_aggregates()
    echo(f"mongo: {settings.mongo_database}.{settings.mongo_collection}* dropped")
    ckpt = Path(settings.checkpoint_dir)
    if ckpt.exists():
        shutil.rmtree(ckpt)
    echo(f"checkpoint: {ckpt} removed")


def remove_all(settings: Settings) -> None:
    """Remove a scratch run's topics, tables and aggregates, made nowhere again (the integration
    tests' isolated settings, the screenshot script's)."""
    session = stores.connect(settings).cassandra.session()
    for table in (settings.users_table, settings.erasures_table):
        session.execute(f"DROP TABLE IF EXISTS {table}", timeout=60)
    stores.connect(settings).mongo.clear_aggregates()
    kafka_client.delete_topics(settings, [settings.kafka_topic, settings.dlq_topic])
