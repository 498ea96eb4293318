"""``profilepipe reset``: empty everything the pipeline wrote, so a run starts from nothing.

It recreates what it empties through the local stack's public helpers
(``profilepipe_stack.stack.ensure_topics`` / ``ensure_schema``), which is why it lives here and
not in ``stores``: the stores do not depend on the stack.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from profilepipe import stores
from profilepipe.config import Settings


def reset_all(settings: Settings, echo: Callable[[str], object] = print) -> None:
    """Empty everything the pipeline wrote: topics, table, erasure register, aggregates, checkpoint.

    A users table made in the other storage profile is dropped and made again in the current
    one (``Settings.store_profile``): a reset is how a stack moves from one profile to the other.

    Afterwards a run starts from nothing, so the same run gives the same numbers again
    (the erasure register included: a user forgotten by an earlier run is stored again).
    """
    from profilepipe_stack import stack

    stores.delete_topics(settings, [settings.kafka_topic, settings.dlq_topic])
    stack.ensure_topics(settings)
    echo(f"kafka: topics {settings.kafka_topic}, {settings.dlq_topic} recreated empty")
    if stores.table_columns(settings) - set(settings.user_columns):  # made in the other profile
        stores.drop_users(settings)
        echo(f"cassandra: {settings.users_table} dropped (made in another storage profile)")
    stack.ensure_schema(settings)
    stores.truncate_users(settings)
    stores.truncate_erasures(settings)
    profile = settings.store_profile
    echo(f"cassandra: {settings.users_table} ({profile} profile) and its erasure register truncated")
    stores.clear_aggregates(settings)
    echo(f"mongo: {settings.mongo_database}.{settings.mongo_collection}* dropped")
    ckpt = Path(settings.checkpoint_dir)
    if ckpt.exists():
        shutil.rmtree(ckpt)
    echo(f"checkpoint: {ckpt} removed")
