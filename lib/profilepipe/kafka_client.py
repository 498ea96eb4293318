"""Kafka clients shared by what writes to Kafka and what reads it back: the tuned,
idempotent producer (``acks="all"``), raw sends with a count of every acknowledgement
and failure (``send_all``, ``produce_raw``), a topic's end offsets, a topic read to its end
(``read_to_end``), topics deleted (``delete_topics``), and what ``analysis.lag`` reads: each
partition's log start and end (``log_offsets``), the timestamp of the message at an offset
(``timestamps_at``) and the topic's ``retention.ms`` (``retention_ms``); the topic's id
(``topic_id``: the stream's check for a topic recreated under its name).

Below both ``sources.producer`` (users) and ``stores.dead_letters``, so neither
imports the other. (The ``kafka`` imports below are kafka-python, not this module.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from profilepipe.config import Settings
from profilepipe.errors import ProducerError

log = logging.getLogger(__name__)

#: Producer options tuned for throughput on a small machine (2 cores, local broker).
PRODUCER_TUNING = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 20,
    "batch_size": 512 * 1024,
    "max_request_size": 4 * 1024 * 1024,
    "compression_type": None,  # local broker: CPU is scarcer than bandwidth
    "max_in_flight_requests_per_connection": 5,
    "request_timeout_ms": 30_000,
    "delivery_timeout_ms": 120_000,
    "max_block_ms": 30_000,
    # topics are created explicitly (stack.ensure_topics) with their partition count;
    # a typo must fail, not create a one-partition topic
    "allow_auto_create_topics": False,
}
ERRORS_KEPT = 10


@dataclass
class ProduceSummary:
    """What one :func:`produce` / :func:`produce_raw` call did."""

    topic: str
    sent: int = 0  # messages acknowledged by the broker (users for produce())
    failed: int = 0  # messages whose send failed (counted from the callbacks)
    seconds: float = 0.0  # first send to end of flush
    users_per_s: float = 0.0  # sent / seconds
    partitions: dict[int, int] = field(default_factory=dict)  # acknowledged messages per partition
    errors: list[str] = field(default_factory=list)  # a sample of the failures
    undelivered: list[tuple[bytes | None, bytes | None]] = field(default_factory=list)  # (key, value) failed
    bytes: int = 0  # key + value bytes handed to the producer
    extra_sent: int = 0  # extra (raw) messages acknowledged, not counted in ``sent``

    def describe(self) -> str:
        parts = ", ".join(f"p{p}={n}" for p, n in sorted(self.partitions.items()))
        text = (
            f"topic {self.topic}: sent={self.sent} failed={self.failed} in {self.seconds:.2f}s "
            f"({self.users_per_s:,.0f} msg/s, {self.bytes / 1e6:.1f} MB) partitions [{parts}]"
        )
        if self.extra_sent:
            text += f" extra={self.extra_sent}"
        if self.errors:
            text += f" errors: {self.errors[:3]}"
        return text


Record = tuple[bytes | None, bytes | None, int | None, bool]  # key, value, partition, is_extra


def raw_pairs(messages: Iterable) -> Iterator[tuple[bytes | None, bytes | None]]:
    """(key, value) tuples or ``{"key", "value"}`` dicts (``generator.malformed_messages``)."""
    for m in messages:
        key, value = (m["key"], m["value"]) if isinstance(m, dict) else m
        if isinstance(key, str):
            key = key.encode("utf-8")
        if isinstance(value, str):
            value = value.encode("utf-8")
        yield key, value


# --------------------------------------------------------------------------- rate limiting
class TokenBucket:
    """At most ``rate`` takes per second, with bursts of up to ``burst`` (default rate/10)."""

    def __init__(self, rate: float, burst: float | None = None):
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.rate = float(rate)
        self.capacity = max(1.0, burst if burst is not None else self.rate / 10)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def take(self, n: float = 1.0) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= n:
                self.tokens -= n
                return
            time.sleep((n - self.tokens) / self.rate)


# --------------------------------------------------------------------------- kafka
def crc32c_is_native() -> bool:
    """Whether kafka-python checksums record batches in C (the ``crc32c`` package).

    Without it, the pure-Python CRC32C takes about two thirds of the producer's CPU.
    """
    from kafka.record import util

    return getattr(util, "crc32c_c", None) is not None


_WARNED_CRC = False


def make_producer(settings: Settings, **overrides):
    """A ``KafkaProducer`` on ``settings.kafka_bootstrap`` with :data:`PRODUCER_TUNING`."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaConfigurationError, KafkaError

    global _WARNED_CRC
    if not crc32c_is_native() and not _WARNED_CRC:
        _WARNED_CRC = True
        log.warning(
            "kafka-python is using its pure-Python CRC32C: `pip install crc32c` "
            "(kafka-python[crc32c]) for about 3x the producer throughput"
        )
    config = {**PRODUCER_TUNING, "client_id": "profilepipe-producer", **overrides}
    try:
        return KafkaProducer(bootstrap_servers=settings.kafka_bootstrap.split(","), **config)
    except KafkaConfigurationError:
        raise
    except KafkaError as exc:
        raise ProducerError(
            f"cannot connect to Kafka at {settings.kafka_bootstrap}: {exc!r} "
            "(is the stack up? `profilepipe stack status`)"
        ) from exc


class _Tally:
    def __init__(self, summary: ProduceSummary):
        self.s = summary
        self.lock = threading.Lock()

    def ok(self, meta) -> None:
        with self.lock:
            self.s.sent += 1
            p = meta.partition
            self.s.partitions[p] = self.s.partitions.get(p, 0) + 1

    def ok_extra(self, meta) -> None:
        with self.lock:
            self.s.extra_sent += 1
            p = meta.partition
            self.s.partitions[p] = self.s.partitions.get(p, 0) + 1

    def fail(self, key: bytes | None, value: bytes | None, exc: BaseException) -> None:
        with self.lock:
            self.s.failed += 1
            self.s.undelivered.append((key, value))
            if len(self.s.errors) < ERRORS_KEPT:
                self.s.errors.append(f"{type(exc).__name__}: {exc}")


def partitions_of(settings: Settings, producer, topic: str) -> list[int]:
    """The topic's partitions, sorted; ``ProducerError`` when it is missing or has none."""
    from kafka.errors import KafkaError

    try:
        partitions = sorted(producer.partitions_for(topic) or [])
    except KafkaError as exc:
        raise ProducerError(
            f"topic {topic!r} is not available on {settings.kafka_bootstrap}: {exc!r} "
            "(create it first: `profilepipe stack up` creates the topics)"
        ) from exc
    if not partitions:
        raise ProducerError(f"topic {topic!r} has no partitions on {settings.kafka_bootstrap}")
    return partitions


def send_all(
    settings: Settings,
    make_records,
    topic: str,
    total: int | None,
    rate: float | None,
    progress: bool,
    producer=None,
    desc: str = "produce",
) -> ProduceSummary:
    """Send ``make_records(partitions)`` (an iterable of :data:`Record`) and flush."""
    from kafka.errors import KafkaError

    summary = ProduceSummary(topic=topic)
    tally = _Tally(summary)
    own = producer is None
    producer = producer or make_producer(settings)
    bucket = TokenBucket(rate) if rate else None
    bar = None
    nbytes = 0
    pending_bar = 0
    start = time.perf_counter()
    try:
        partitions = partitions_of(settings, producer, topic)
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=total, desc=desc, unit="msg", mininterval=0.5, smoothing=0.1)
        send = producer.send
        ok, ok_extra, fail = tally.ok, tally.ok_extra, tally.fail
        bar_step = 2000 if not rate else max(1, min(2000, int(rate // 4)))
        start = time.perf_counter()
        for key, value, partition, extra in make_records(partitions):
            if bucket is not None:
                bucket.take()
            try:
                fut = send(topic, value=value, key=key, partition=partition)
            except KafkaError as exc:  # buffer full past max_block_ms, metadata lost, ...
                fail(key, value, exc)
                continue
            fut.add_callback(ok_extra if extra else ok)
            fut.add_errback(fail, key, value)
            nbytes += (len(key) if key else 0) + (len(value) if value else 0)
            if bar is not None:
                pending_bar += 1
                if pending_bar >= bar_step:
                    bar.update(pending_bar)
                    pending_bar = 0
        producer.flush()
    finally:
        summary.seconds = time.perf_counter() - start
        if bar is not None:
            bar.update(pending_bar)
            bar.close()
        if own:
            producer.close(timeout=10)
    summary.bytes = nbytes
    summary.users_per_s = summary.sent / summary.seconds if summary.seconds > 0 else 0.0
    if summary.failed:
        log.warning("produce to %s: %d message(s) failed, e.g. %s", topic, summary.failed, summary.errors[:3])
    return summary


def produce_raw(
    messages: Iterable,
    settings: Settings,
    topic: str | None = None,
    rate: float | None = None,
    progress: bool = False,
    producer=None,
) -> ProduceSummary:
    """Send raw ``(key, value)`` pairs (or ``{"key", "value"}`` dicts) as they are; ``sent`` counts them."""
    topic = topic or settings.kafka_topic
    pairs = list(raw_pairs(messages))

    def make_records(partitions: list[int]) -> Iterator[Record]:
        return ((k, v, None, False) for k, v in pairs)

    return send_all(
        settings, make_records, topic, len(pairs), rate, progress, producer=producer, desc="produce raw"
    )


def end_offsets(settings: Settings, topic: str | None = None) -> dict[int, int]:
    """``{partition: end offset}`` of ``topic`` (default ``settings.kafka_topic``).

    ``{}`` when the topic does not exist.
    """
    from kafka import KafkaConsumer, TopicPartition

    topic = topic or settings.kafka_topic
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap.split(","),
        group_id=None,
        enable_auto_commit=False,
        client_id="profilepipe-offsets",
    )
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            return {}
        offsets = consumer.end_offsets([TopicPartition(topic, p) for p in sorted(parts)])
        return {tp.partition: off for tp, off in sorted(offsets.items(), key=lambda kv: kv[0].partition)}
    finally:
        consumer.close()


# --------------------------------------------------------------------------- lag (analysis.lag)
def _reader(settings: Settings, timeout_s: float):
    """A group-less consumer that gives up after ``timeout_s`` when no broker answers."""
    from kafka import KafkaConsumer

    from profilepipe.connections import kafka_options

    ms = int(timeout_s * 1000)
    return KafkaConsumer(
        **kafka_options(settings),
        group_id=None,
        enable_auto_commit=False,
        client_id="profilepipe-lag",
        bootstrap_timeout_ms=ms,
        request_timeout_ms=max(ms, 1000),
    )


def log_offsets(settings: Settings, topic: str, timeout_s: float = 5.0) -> dict[int, tuple[int, int]]:
    """``{partition: (log start, end)}`` of ``topic``: the first offset still in the log
    (``beginning_offsets``: retention or DeleteRecords move it) and the next offset to be written.

    ``{}`` when the topic does not exist; kafka-python's ``KafkaError`` when Kafka does not answer.
    """
    from kafka import TopicPartition

    consumer = _reader(settings, timeout_s)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not tps:
            return {}
        ms = int(timeout_s * 1000)
        starts, ends = consumer.beginning_offsets(tps, ms), consumer.end_offsets(tps, ms)
        return {tp.partition: (starts[tp], ends[tp]) for tp in tps}
    finally:
        consumer.close()


def timestamps_at(
    settings: Settings, topic: str, offsets: dict[int, int], timeout_s: float = 5.0
) -> dict[int, int]:
    """``{partition: timestamp in ms}`` of the first message at or after ``offsets[partition]``.

    A partition with no message there (the offset is the end) is left out, as is one not
    read within ``timeout_s``.
    """
    from kafka import TopicPartition

    if not offsets:
        return {}
    consumer = _reader(settings, timeout_s)
    found: dict[int, int] = {}
    try:
        tps = {TopicPartition(topic, p): off for p, off in offsets.items()}
        consumer.assign(list(tps))
        for tp, off in tps.items():
            consumer.seek(tp, off)
        deadline = time.monotonic() + timeout_s
        while len(found) < len(tps) and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=200).items():
                if records and tp.partition not in found:
                    found[tp.partition] = records[0].timestamp
                    consumer.pause(tp)
        return found
    finally:
        consumer.close()


def topic_id(settings: Settings, topic: str, timeout_s: float = 5.0) -> str:
    """``topic``'s id in Kafka, which a topic deleted and created again under its name changes
    ("" if the broker does not say)."""
    from kafka.admin import KafkaAdminClient

    from profilepipe.connections import kafka_options

    ms = int(timeout_s * 1000)
    admin = KafkaAdminClient(
        **kafka_options(settings),
        client_id="profilepipe-stream",
        bootstrap_timeout_ms=ms,
        request_timeout_ms=max(ms, 1000),
    )
    try:
        found = admin.describe_topics([topic])
    finally:
        admin.close()
    return next((str(t.get("topic_id") or "") for t in found if t.get("name") == topic), "")


def retention_ms(settings: Settings, topic: str, timeout_s: float = 5.0) -> int | None:
    """The topic's ``retention.ms`` as the broker applies it (its own or the broker's default);
    -1 means no time limit, None that the broker did not say."""
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

    from profilepipe.connections import kafka_options

    ms = int(timeout_s * 1000)
    admin = KafkaAdminClient(
        **kafka_options(settings),
        client_id="profilepipe-lag",
        bootstrap_timeout_ms=ms,
        request_timeout_ms=max(ms, 1000),
    )
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, ["retention.ms"])
        found = admin.describe_configs([resource], config_filter="all")
    finally:
        admin.close()
    value = found.get("topic", {}).get(topic, {}).get("retention.ms", {}).get("value")
    return int(value) if value not in (None, "") else None


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
