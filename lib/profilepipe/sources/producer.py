"""kafka-python producer: one Kafka message per user.

Message contract (ARCHITECTURE.md): key = ``login.uuid`` as UTF-8, value = the user's
JSON as UTF-8 (``ensure_ascii=False``, exactly the object the API returns inside
``results``). An envelope handed in is split into its users.

The producer is idempotent with ``acks="all"`` (kafka-python 3.x supports
``enable_idempotence``), batches generously (``linger_ms``/``batch_size``) for
throughput, counts every acknowledgement and failure through the send futures'
callbacks, and flushes before returning a :class:`ProduceSummary`. ``rate`` caps the
send rate with a token bucket (for latency runs).
"""

from __future__ import annotations

import json
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


# --------------------------------------------------------------------------- messages
Record = tuple[bytes | None, bytes | None, int | None, bool]  # key, value, partition, is_extra


def user_key(user: dict) -> bytes:
    """``login.uuid`` as UTF-8 bytes (``ProducerError`` when it is missing)."""
    try:
        uid = user["login"]["uuid"]
    except (KeyError, TypeError) as exc:
        raise ProducerError(
            "user without login.uuid: cannot key the message (send bad messages with produce_raw)"
        ) from exc
    if not isinstance(uid, str) or not uid:
        raise ProducerError(f"login.uuid must be a non-empty string, not {uid!r}")
    return uid.encode("utf-8")


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def user_value(user: dict) -> bytes:
    """The user's compact JSON as UTF-8 (non-ASCII kept, not ``\\u`` escaped)."""
    return _ENCODER.encode(user).encode("utf-8")


def iter_user_records(users: Iterable[dict] | dict) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) of each user; envelopes (``{"results": [...]}``) are split."""
    if isinstance(users, dict):
        users = [users]
    for item in users:
        if isinstance(item, dict) and isinstance(item.get("results"), list):
            for user in item["results"]:
                yield user_key(user), user_value(user)
        else:
            yield user_key(item), user_value(item)


def partition_for(key: bytes, partitions: list[int]) -> int:
    """The partition kafka-python's (and the Java client's) default partitioner picks for ``key``.

    murmur2 of the key, made positive, modulo the partition count. Computing it here
    (in the encoding process when there is one) and passing ``partition=`` skips
    the partitioner machinery of every ``send`` - about a third of its cost - and
    lands each key exactly where the default partitioner would.
    """
    from kafka.partitioner.default import murmur2

    return partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]


def _raw_pairs(messages: Iterable) -> Iterator[tuple[bytes | None, bytes | None]]:
    """(key, value) tuples or ``{"key", "value"}`` dicts (``generator.malformed_messages``)."""
    for m in messages:
        key, value = (m["key"], m["value"]) if isinstance(m, dict) else m
        if isinstance(key, str):
            key = key.encode("utf-8")
        if isinstance(value, str):
            value = value.encode("utf-8")
        yield key, value


def _count(users: list | tuple | dict) -> int:
    """Number of user messages in a list/tuple of users and envelopes, or in one envelope."""
    items = [users] if isinstance(users, dict) else users
    n = 0
    for item in items:
        n += len(item["results"]) if isinstance(item, dict) and isinstance(item.get("results"), list) else 1
    return n


def _user_records(users, partitions: list[int]) -> Iterator[tuple[bytes, bytes, int]]:
    from kafka.partitioner.default import murmur2

    n = len(partitions)
    for key, value in iter_user_records(users):
        yield key, value, partitions[(murmur2(key) & 0x7FFFFFFF) % n]


# --------------------------------------------------------------------------- background encoding
_CHUNK = 2000


def _encode_child(users, partitions: list[int], conn) -> None:  # runs in the forked child
    try:
        records = _user_records(users, partitions)
        while True:
            chunk = []
            for rec in records:
                chunk.append(rec)
                if len(chunk) >= _CHUNK:
                    break
            if not chunk:
                break
            conn.send(chunk)
        conn.send(None)
    except BaseException as exc:  # reported to the parent
        conn.send(f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


def _encoded_in_background(users: list | tuple, partitions: list[int]) -> Iterator[tuple[bytes, bytes, int]]:
    """(key, value, partition) JSON-encoded and hashed by a forked child process.

    JSON encoding and kafka-python's send share one GIL; in a second process the
    encoding runs on the other core while this one sends. The pipe gives
    back-pressure (a couple of chunks in flight).
    """
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    recv_end, send_end = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_encode_child, args=(users, partitions, send_end), daemon=True, name="profilepipe-encode"
    )
    child.start()
    send_end.close()
    try:
        while True:
            try:
                item = recv_end.recv()
            except EOFError as exc:
                raise ProducerError(f"the encoding process died (exit code {child.exitcode})") from exc
            if item is None:
                break
            if isinstance(item, str):
                raise ProducerError(item)
            yield from item
    finally:
        recv_end.close()
        child.join(timeout=5)
        if child.is_alive():
            child.terminate()
            child.join()


def _use_background(users, n_users: int | None, background: bool | None) -> bool:
    import multiprocessing as mp
    import os

    possible = isinstance(users, (list, tuple)) and "fork" in mp.get_all_start_methods()
    if background is not None:
        return bool(background) and possible
    return possible and (n_users or 0) >= 5000 and (os.cpu_count() or 1) >= 2


def _interleave(
    users: Iterator[tuple[bytes, bytes, int]],
    n_users: int | None,
    extra: list[tuple[bytes | None, bytes | None]],
) -> Iterator[Record]:
    """Users with the extra messages spread evenly between them (at the end if the count is unknown).

    Extra messages keep kafka-python's own partitioner (``partition=None``): their
    key may be None.
    """
    step = n_users / (len(extra) + 1) if extra and n_users else None
    marks = [int(step * (i + 1)) for i in range(len(extra))] if step else []
    j = 0
    for i, (k, v, p) in enumerate(users):
        while j < len(marks) and marks[j] <= i:
            yield extra[j][0], extra[j][1], None, True
            j += 1
        yield k, v, p, False
    for k, v in extra[j:]:
        yield k, v, None, True


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


def _partitions_of(settings: Settings, producer, topic: str) -> list[int]:
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


def _send_all(
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
        partitions = _partitions_of(settings, producer, topic)
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


def produce(
    users: Iterable[dict] | dict,
    settings: Settings,
    rate: float | None = None,
    progress: bool = True,
    extra_messages: Iterable | None = None,
    topic: str | None = None,
    producer=None,
    background_encode: bool | None = None,
) -> ProduceSummary:
    """Send each user as one message to ``topic`` (default ``settings.kafka_topic``).

    ``users``: user dicts and/or envelopes. ``rate``: max messages per second.
    ``extra_messages``: raw ``(key, value)`` pairs or ``{"key", "value"}`` dicts (e.g.
    ``generator.malformed_messages``) spread among the users; counted in
    ``extra_sent``, not in ``sent``. ``producer``: an existing ``KafkaProducer``
    to reuse (it is then flushed, not closed). ``background_encode``: JSON-encode in
    a forked helper process while this one sends (default: for lists of 5000+ users
    on a multi-core machine); the messages are the same either way.
    """
    topic = topic or settings.kafka_topic
    n_users = _count(users) if isinstance(users, (list, tuple, dict)) else None
    extra = list(_raw_pairs(extra_messages or []))
    background = _use_background(users, n_users, background_encode)

    def make_records(partitions: list[int]) -> Iterator[Record]:
        pairs = _encoded_in_background(users, partitions) if background else _user_records(users, partitions)
        return _interleave(pairs, n_users, extra)

    total = n_users + len(extra) if n_users is not None else None
    return _send_all(settings, make_records, topic, total, rate, progress, producer=producer)


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
    pairs = list(_raw_pairs(messages))

    def make_records(partitions: list[int]) -> Iterator[Record]:
        return ((k, v, None, False) for k, v in pairs)

    return _send_all(
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


__all__ = [
    "ProduceSummary",
    "PRODUCER_TUNING",
    "TokenBucket",
    "produce",
    "produce_raw",
    "end_offsets",
    "make_producer",
    "iter_user_records",
    "user_key",
    "user_value",
    "partition_for",
    "crc32c_is_native",
]
