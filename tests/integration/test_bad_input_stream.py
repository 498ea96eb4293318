"""The bad-input corpus (``support.bad_inputs``) through the real Kafka and the real stream.

One running query receives every distinct bad input, then good users: it must not stop,
every record must end stored, filtered as a minor or dead-lettered with the expected
reason, the counts must add up, and no dead letter may hold any personal value of the
message it stands for (a 1 MB message included: Kafka accepts it, the stream refuses it).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter

import pytest

from profilepipe import kafka_client, stores
from profilepipe.pipeline import stream
from profilepipe.sources import generator, producer

from support.bad_inputs import bad_inputs

AS_OF = "2026-06-01"
GOOD = 40


@pytest.fixture(scope="module")
def bad_settings(isolated):
    key = "bad-input-test-key-not-a-secret"
    return isolated("bad", pii_mode="hmac", hmac_key=key, as_of=AS_OF, trigger_seconds=1.0)


def _wait_for_records(settings, n: int, handle, timeout: float = 600.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert handle.query.isActive, handle.query.exception()
        done = sum(r.read for r in handle.writer.reports)
        if done >= n:
            return done
        time.sleep(1)
    pytest.fail(f"the stream processed {done} of {n} records in {timeout:.0f}s")


def test_every_bad_input_is_accounted_for_and_the_stream_keeps_running(bad_settings):
    settings = bad_settings
    corpus = bad_inputs(dt.date.fromisoformat(AS_OF))
    records = sum(e.records for e in corpus)
    expected = Counter(o for e in corpus for o, _ in e.outcomes)
    reasons = Counter(r for e in corpus for o, r in e.outcomes if o == "dead_letter")
    assert max(len(e.value or b"") for e in corpus) > 1_000_000  # the 1 MB messages are in

    handle = stream.start(settings)  # processing-time trigger: a long-running query
    try:
        sent = kafka_client.produce_raw([(e.key, e.value) for e in corpus], settings)
        assert (sent.sent, sent.failed) == (len(corpus), 0)  # Kafka takes the 1 MB messages too
        assert _wait_for_records(settings, records, handle) == records
        good = generator.generate_users(GOOD, seed="after-the-bad-ones", minor_share=0.0, as_of=AS_OF)
        assert producer.produce(good, settings, progress=False).sent == GOOD
        assert _wait_for_records(settings, records + GOOD, handle) == records + GOOD  # still running
    finally:
        result = handle.stop()

    assert result.read == records + GOOD
    assert (result.stored, result.filtered_minor, result.dead_letter) == (
        expected["stored"] + GOOD,
        expected["filtered_minor"],
        expected["dead_letter"],
    )
    assert result.balanced
    assert stores.connect(settings).cassandra.count_users() == expected["stored"] + GOOD

    letters = stores.connect(settings).dead_letters.read(timeout_s=5)
    assert Counter(d["reason"] for d in letters) == reasons
    text = "\n".join(str(d) for d in letters)
    leaks = [(e.name, p) for e in corpus for p in e.pii if p in text]
    assert leaks == []  # a dead letter never carries the personal data of its message
    big = [d for d in letters if d["reason"] == "too_large"]
    assert big and all(d["value_bytes"] > settings.max_message_bytes for d in big)
    batches = stores.connect(settings).mongo.read_batches()
    assert sum(b["read"] for b in batches) == records + GOOD
    assert all(
        b["read"] == b["stored"] + b["filtered_minor"] + b["erased"] + b["dead_letter"] for b in batches
    )
    print(f"{len(corpus)} distinct bad inputs ({records} records): {dict(expected)}; reasons {dict(reasons)}")
