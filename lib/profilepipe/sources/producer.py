"""kafka-python producer: one Kafka message per user.

Message contract (ARCHITECTURE.md): key = ``login.uuid`` as UTF-8, value = the user's
JSON as UTF-8 (``ensure_ascii=False``, exactly the object the API returns inside
``results``). An envelope handed in is split into its users.

The sending itself (the idempotent, tuned producer, the count of every acknowledgement
and failure, the ``rate`` cap) is ``kafka_client.send_all``, shared with the dead letters.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from profilepipe import kafka_client
from profilepipe.config import Settings
from profilepipe.errors import ProducerError
from profilepipe.kafka_client import ProduceSummary, Record

# --------------------------------------------------------------------------- messages


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
    extra = list(kafka_client.raw_pairs(extra_messages or []))
    background = _use_background(users, n_users, background_encode)

    def make_records(partitions: list[int]) -> Iterator[Record]:
        pairs = _encoded_in_background(users, partitions) if background else _user_records(users, partitions)
        return _interleave(pairs, n_users, extra)

    total = n_users + len(extra) if n_users is not None else None
    return kafka_client.send_all(settings, make_records, topic, total, rate, progress, producer=producer)


__all__ = ["produce", "iter_user_records", "user_key", "user_value", "partition_for"]
