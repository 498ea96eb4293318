"""Kafka: the dead-letter topic (exactly once per batch), consumers, topic admin.

**Dead letters** go to ``<topic>.dlq``: key = the source message's key, value = JSON of
``contract.DLQ_FIELDS`` (the reason and the source coordinates: topic, partition, offset)
instead of the message itself, so no personal data is copied. They are sent from the
driver, exactly once per batch even when the batch is replayed (``write_dead_letters``).

(The ``kafka`` imports below are kafka-python, not this module.)
"""

from __future__ import annotations

import json
import time
from collections import Counter

from profilepipe import kafka_client, retry
from profilepipe.config import Settings
from profilepipe.contract import DLQ_FIELDS
from profilepipe.errors import UndeliveredError
from profilepipe.stores import mongo

Letter = tuple[bytes | None, str]  # (Kafka key, JSON value) of one dead letter


# ------------------------------------------------------------------ dead letters
#: What makes two dead letters the same: reason, detail and the source coordinates.
_IDENTITY = DLQ_FIELDS[: DLQ_FIELDS.index("source_offset") + 1]


def _letter_identity(letter: dict) -> tuple:
    """A dead letter's ``_IDENTITY`` values."""
    return tuple(str(letter.get(f)) for f in _IDENTITY)


def dlq_end_offsets(settings: Settings) -> dict[int, int]:
    return kafka_client.end_offsets(settings, settings.dlq_topic)


def _letters_since(settings: Settings, start: dict[int, int]) -> list[dict]:
    """Dead letters written at or after ``start`` ({partition: offset}), up to the current end."""
    start = {int(p): int(off) for p, off in start.items()}  # the batch log stores str partitions
    messages = read_to_end(settings, settings.dlq_topic, start=start, timeout_s=60.0)
    return [json.loads(m.value.decode("utf-8")) for m in messages]


def _not_yet_sent(settings: Settings, letters: list[Letter], start: dict) -> list[Letter]:
    """The letters of a replayed batch that its earlier attempt did not write (since ``start``)."""
    written = retry.call(
        lambda: _letters_since(settings, start), "kafka: read back dead letters", settings.sink_retry_seconds
    )
    present = Counter(_letter_identity(x) for x in written)
    todo = []
    for letter in letters:
        ident = _letter_identity(json.loads(letter[1]))
        if present[ident] > 0:
            present[ident] -= 1
        else:
            todo.append(letter)
    return todo


def write_dead_letters(letters: list[Letter], settings: Settings, key: str) -> int:
    """Send one batch's dead letters to the DLQ topic exactly once; returns how many were sent now.

    ``letters``: ``(key, JSON value)`` pairs; ``key``: the batch key. Before the first
    send, the DLQ topic's end offsets are recorded in the batch log. When the same batch
    runs again (the stream was killed after sending some letters, before Spark committed
    the batch), the letters written since those offsets are read back and only the
    missing ones are sent, so each dead letter appears once.
    """
    if not letters:
        return 0
    budget = settings.sink_retry_seconds
    start = mongo.dlq_mark(settings, key)
    if start is not None:  # a replay: skip what the earlier attempt wrote
        todo = _not_yet_sent(settings, letters, start)
    else:
        start = retry.call(lambda: dlq_end_offsets(settings), "kafka: dead-letter end offsets", budget)
        mongo.set_dlq_mark(settings, key, start)
        todo = list(letters)
    state = {"pending": [(k, v.encode("utf-8")) for k, v in todo], "sent": 0}

    def attempt() -> None:  # resends only what failed, so nothing is written twice
        if not state["pending"]:
            return
        summary = kafka_client.produce_raw(state["pending"], settings, topic=settings.dlq_topic)
        state["sent"] += summary.sent
        state["pending"] = summary.undelivered
        if summary.failed:
            raise UndeliveredError(summary)

    retry.call(attempt, f"kafka: send {len(todo)} dead letters", budget)
    return state["sent"]


# ------------------------------------------------------------------ consumers
def read_to_end(
    settings: Settings, topic: str, start: dict[int, int] | None = None, timeout_s: float = 10.0
) -> list:
    """The messages of ``topic`` from ``start`` ({partition: offset}; default: the beginning)
    up to the end offsets it has when called, in partition then offset order.

    The read stops at those ends, so it costs the messages, not a wait for silence;
    ``TimeoutError`` when no message arrives for ``timeout_s`` before they are reached.
    An absent topic reads as empty.
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap.split(","), enable_auto_commit=False, group_id=None
    )
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        ends = consumer.end_offsets(tps) if tps else {}
        firsts = consumer.beginning_offsets(tps) if tps else {}
        begin = {tp: max(firsts[tp], (start or {}).get(tp.partition, 0)) for tp in tps}
        remaining = {tp: ends[tp] for tp in tps if ends[tp] > begin[tp]}
        if not remaining:
            return []
        consumer.assign(list(remaining))
        for tp in remaining:
            consumer.seek(tp, begin[tp])
        got: dict = {tp: [] for tp in remaining}
        quiet_since = time.monotonic()
        while remaining:
            for tp, msgs in consumer.poll(timeout_ms=500).items():
                got[tp].extend(m for m in msgs if m.offset < ends[tp])
                quiet_since = time.monotonic()
            for tp in [tp for tp in remaining if consumer.position(tp) >= ends[tp]]:
                del remaining[tp]
            if remaining and time.monotonic() - quiet_since > timeout_s:
                raise TimeoutError(f"kafka: could not read {topic} up to {ends} within {timeout_s:.0f}s")
        return [m for tp in sorted(got, key=lambda tp: tp.partition) for m in got[tp]]
    finally:
        consumer.close()


def read_dead_letters(settings: Settings, limit: int = 100_000, timeout_s: float = 10.0) -> list[dict]:
    """All dead letters currently in the DLQ topic (reads from the beginning)."""
    out = []
    for msg in read_to_end(settings, settings.dlq_topic, timeout_s=timeout_s):
        out.append(json.loads(msg.value.decode("utf-8")))
        if len(out) >= limit:
            break
    return out


# ------------------------------------------------------------------ topic admin
def delete_topics(settings: Settings, topics: list[str], timeout_s: float = 30.0) -> None:
    """Delete topics (those that exist) and wait until the broker no longer lists them."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="profilepipe-reset")
    try:
        present = [t for t in topics if t in set(admin.list_topics())]
        if present:
            admin.delete_topics(present)
        deadline = time.monotonic() + timeout_s
        while set(present) & set(admin.list_topics()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics {present} still listed after {timeout_s:.0f}s")
            time.sleep(0.5)
    finally:
        admin.close()
