"""The dead-letter topic: ``DeadLetterTopic``, letters sent exactly once per batch.

**Dead letters** go to ``<topic>.dlq``: key = the source message's key, value = JSON of
``contract.DLQ_FIELDS`` (the reason and the source coordinates: topic, partition, offset)
instead of the message itself, so no personal data is copied. They are sent from the
driver, exactly once per batch even when the batch is replayed (``DeadLetterTopic.write``):
the topic's end offsets before a batch's first letter are its mark in the batch log, kept by
the MongoDB store (``MongoStore.dlq_mark``).
"""

from __future__ import annotations

import json
from collections import Counter

from profilepipe import kafka_client, retry
from profilepipe.config import Settings
from profilepipe.contract import DLQ_FIELDS
from profilepipe.errors import UndeliveredError
from profilepipe.stores.mongo import MongoStore

Letter = tuple[bytes | None, str]  # (Kafka key, JSON value) of one dead letter

#: What makes two dead letters the same: reason, detail and the source coordinates.
_IDENTITY = DLQ_FIELDS[: DLQ_FIELDS.index("source_offset") + 1]


def _letter_identity(letter: dict) -> tuple:
    """A dead letter's ``_IDENTITY`` values."""
    return tuple(str(letter.get(f)) for f in _IDENTITY)


class DeadLetterTopic:
    """``settings.dlq_topic``: sends (a producer per send, ``kafka_client``) and reads; the batch
    log's marks go through ``mongo``."""

    def __init__(self, settings: Settings, mongo: MongoStore):
        self.settings = settings
        self.mongo = mongo
        self.retry = retry.Retry(settings.sink_retry_seconds)

    def close(self) -> None:
        """Nothing held between calls (each send and read opens and closes its client)."""

    def end_offsets(self) -> dict[int, int]:
        return kafka_client.end_offsets(self.settings, self.settings.dlq_topic)

    def read(self, limit: int = 100_000, timeout_s: float = 10.0) -> list[dict]:
        """All dead letters currently in the topic (reads from the beginning)."""
        out = []
        for msg in kafka_client.read_to_end(self.settings, self.settings.dlq_topic, timeout_s=timeout_s):
            out.append(json.loads(msg.value.decode("utf-8")))
            if len(out) >= limit:
                break
        return out

    def messages(self) -> list:
        """The topic's messages as Kafka holds them (key, value, partition, offset), from the beginning."""
        return kafka_client.read_to_end(self.settings, self.settings.dlq_topic)

    def _since(self, start: dict) -> list[dict]:
        """Dead letters written at or after ``start`` ({partition: offset}), up to the current end."""
        start = {int(p): int(off) for p, off in start.items()}  # the batch log stores str partitions
        messages = kafka_client.read_to_end(
            self.settings, self.settings.dlq_topic, start=start, timeout_s=60.0
        )
        return [json.loads(m.value.decode("utf-8")) for m in messages]

    def _not_yet_sent(self, letters: list[Letter], start: dict) -> list[Letter]:
        """The letters of a replayed batch that its earlier attempt did not write (since ``start``)."""
        written = self.retry("kafka: read back dead letters", lambda: self._since(start))
        present = Counter(_letter_identity(x) for x in written)
        todo = []
        for letter in letters:
            ident = _letter_identity(json.loads(letter[1]))
            if present[ident] > 0:
                present[ident] -= 1
            else:
                todo.append(letter)
        return todo

    def write(self, letters: list[Letter], key: str) -> int:
        """Send one batch's dead letters to the topic exactly once; returns how many were sent now.

        ``letters``: ``(key, JSON value)`` pairs; ``key``: the batch key. Before the first
        send, the topic's end offsets are recorded in the batch log. When the same batch
        runs again (the stream was killed after sending some letters, before Spark committed
        the batch), the letters written since those offsets are read back and only the
        missing ones are sent, so each dead letter appears once.
        """
        if not letters:
            return 0
        start = self.mongo.dlq_mark(key)
        if start is not None:  # a replay: skip what the earlier attempt wrote
            todo = self._not_yet_sent(letters, start)
        else:
            self.mongo.set_dlq_mark(key, self.retry("kafka: dead-letter end offsets", self.end_offsets))
            todo = list(letters)
        state = {"pending": [(k, v.encode("utf-8")) for k, v in todo], "sent": 0}

        def attempt() -> None:  # resends only what failed, so nothing is written twice
            if not state["pending"]:
                return
            summary = kafka_client.produce_raw(state["pending"], self.settings, topic=self.settings.dlq_topic)
            state["sent"] += summary.sent
            state["pending"] = summary.undelivered
            if summary.failed:
                raise UndeliveredError(summary)

        self.retry(f"kafka: send {len(todo)} dead letters", attempt)
        return state["sent"]
