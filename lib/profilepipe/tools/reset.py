"""``profilepipe reset``: empty everything the pipeline wrote, so a run starts from nothing.

It recreates what it empties through the local stack's public helpers
(``localstack.stack.ensure_topics`` / ``ensure_schema``), which is why it lives here and
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

    Afterwards a run starts from nothing, so the same run gives the same numbers again
    (the erasure register included: a user forgotten by an earlier run is stored again).
    """
    from profilepipe.localstack import stack

    stores.delete_topics(settings, [settings.kafka_topic, settings.dlq_topic])
    stack.ensure_topics(settings)
    echo(f"kafka: topics {settings.kafka_topic}, {settings.dlq_topic} recreated empty")
    stack.ensure_schema(settings)
    stores.truncate_users(settings)
    stores.truncate_erasures(settings)
    echo(f"cassandra: {settings.users_table} and its erasure register truncated")
    stores.clear_aggregates(settings)
    echo(f"mongo: {settings.mongo_database}.{settings.mongo_collection}* dropped")
    ckpt = Path(settings.checkpoint_dir)
    if ckpt.exists():
        shutil.rmtree(ckpt)
    echo(f"checkpoint: {ckpt} removed")
