"""The live dashboard in a real headless browser, over a stream of its own.

``profilepipe dashboard`` runs as a subprocess against an isolated pipeline (its own topic,
table and collections); generated users are produced and streamed; headless Chromium
(Selenium, ``/usr/bin/chromedriver``) reads the numbers off the page and compares them with
MongoDB (and the Kafka lag with the stream's checkpoint). A second batch must then appear on
the open page by itself, without a reload, and a forgotten user must leave the users held and
appear as forgotten beside them.
The delay from the batch's ``finished_at`` to the page showing it, and the refresh period,
are printed (``pytest -s``), never asserted.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import sys
import threading
import time

import pytest

from profilepipe import kafka_client, stores
from profilepipe.analysis import disclosure
from profilepipe.pipeline import gaps, stream
from profilepipe.sources import generator, producer
from profilepipe.stores import erasure

from support.browser import chromium, free_port, interrupt, wait_until_served

AS_OF = "2026-06-01"
REFRESH = 2.0  # the default dashboard_refresh_seconds


@pytest.fixture(scope="module")
def pipeline(isolated):
    return isolated("dash", pii_mode="hmac", hmac_key=os.urandom(16).hex(), as_of=AS_OF)


@pytest.fixture(scope="module")
def server(pipeline):
    """``profilepipe dashboard`` on a free port, reading the pipeline's collections; stopped with Ctrl-C."""
    port = free_port()
    env = {
        **os.environ,
        "PROFILEPIPE_MONGO_COLLECTION": pipeline.mongo_collection,
        "PROFILEPIPE_CASSANDRA_TABLE": pipeline.cassandra_table,  # its erasure register: "forgotten"
        "PROFILEPIPE_KAFKA_TOPIC": pipeline.kafka_topic,  # the lag: its topic and the stream's checkpoint
        "PROFILEPIPE_CHECKPOINT_DIR": pipeline.checkpoint_dir,
        "PROFILEPIPE_DASHBOARD_REFRESH_SECONDS": str(REFRESH),
    }
    cmd = [sys.executable, "-m", "profilepipe.cli", "dashboard", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_served(proc, url, "profilepipe dashboard", proc.stderr.read, timeout=90.0)
        assert proc.stdout.readline().strip() == f"dashboard: {url} (refreshes every 2 s; Ctrl-C stops it)"
        yield url
    finally:
        interrupt(proc)
    assert proc.returncode == 0, proc.stderr.read()  # Ctrl-C is a clean stop


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        yield driver


def _text(driver, element_id: str) -> str | None:
    """The element's text now, or None while it is missing or being replaced by a refresh."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        return driver.find_element(By.ID, element_id).text
    except (NoSuchElementException, StaleElementReferenceException):
        return None


def _settled_text(driver, element_id: str, timeout: float = 10.0) -> str | None:
    """The element's text, read again while a refresh is replacing it (a slow machine redraws slowly)."""
    deadline = time.monotonic() + timeout
    text = _text(driver, element_id)
    while text is None and time.monotonic() < deadline:
        time.sleep(0.05)
        text = _text(driver, element_id)
    return text


def _wait_for(driver, element_id: str, expected: str, timeout: float = 30.0) -> float:
    """Wait (no reload) until the element shows ``expected``; returns the time.time() it did."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout, poll_frequency=0.05).until(
        lambda d: _text(d, element_id) == expected,
        f"#{element_id} never showed {expected!r} (last: {_text(driver, element_id)!r})",
    )
    return time.time()


def _users(count: int, seed: str) -> list[dict]:
    return generator.generate_users(count, seed=seed, as_of=dt.date.fromisoformat(AS_OF))


def _expected_on_page(settings) -> dict[str, str]:
    """What the page must show, computed here from MongoDB's documents (not through ``snapshot``)."""
    batches = stores.connect(settings).mongo.read_batches()
    raw = stores.connect(settings).mongo.read_raw_aggregates()
    k = settings.k_anonymity
    genders = [d for d in raw if d["dimension"] == "gender"]
    total, age_sum = sum(d["count"] for d in genders), sum(d["age_sum"] for d in genders)
    want = {
        "users-held": f"{total:,}" if total >= k else "suppressed",  # held now, forgotten users out
        "users-forgotten": str(len(stores.connect(settings).cassandra.erased_keys())),
        "records-read": f"{sum(b['read'] for b in batches):,}",
        "dead-letters": f"{sum(b['dead_letter'] for b in batches):,}",
        "batches": str(len(batches)),
        "balance": "balanced",
        "avg-age-overall": f"{age_sum / total:.1f}",
        "last-batch": max(b["finished_at"] for b in batches).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "lag-waiting": f"{_waiting(settings):,}",
        "lag-lost": "0",
        "messages-lost": f"{sum(b.get('lost', 0) for b in batches):,}",
    }
    for d in disclosure.protect(raw, k):  # small groups, and those that would give one away
        if d["dimension"] != "gender":
            continue
        hidden = d["suppressed"]
        want[f"avg-age-{d['key']}"] = "suppressed" if hidden else f"{d['age_sum'] / d['count']:.1f}"
        want[f"group-size-{d['key']}"] = "suppressed" if hidden else f"{d['count']:,}"
    return want


def _waiting(settings) -> int:
    """Messages in the topic past the checkpoint's committed offsets."""
    done = gaps.committed_offsets(settings.checkpoint_dir) or {}
    ends = kafka_client.end_offsets(settings)
    return sum(end - done.get((settings.kafka_topic, p), 0) for p, end in ends.items())


@pytest.fixture(scope="module")
def first_batch(pipeline, server, browser, produce_and_stream):
    users = _users(60, "dashboard-1")
    result = produce_and_stream(pipeline, users, generator.malformed_messages(6, seed="dashboard-1"))
    as_of = dt.date.fromisoformat(AS_OF)
    adults = sum(generator.expected_outcome(u, as_of) == "stored" for u in users)
    assert (result.read, result.stored, result.dead_letter) == (66, adults, 6)
    browser.get(server)
    _wait_for(browser, "users-held", str(adults))
    return adults


def test_the_page_shows_what_mongodb_holds(pipeline, browser, first_batch):
    want = _expected_on_page(pipeline)
    assert want["users-held"] == str(first_batch) == str(stores.connect(pipeline).cassandra.count_users())
    assert want["users-forgotten"] == "0"
    assert {"avg-age-female", "avg-age-male"} <= set(want)
    shown = {element_id: _settled_text(browser, element_id) for element_id in want}
    assert shown == want


def test_the_page_refreshes_by_itself(browser, first_batch):
    changes, last, deadline = [], _text(browser, "last-refresh"), time.monotonic() + 6 * REFRESH
    while len(changes) < 4 and time.monotonic() < deadline:
        now = _text(browser, "last-refresh")
        if now and now != last:
            changes.append(time.monotonic())
            last = now
        time.sleep(0.05)
    assert len(changes) >= 3, f"last-refresh changed {len(changes)} time(s) in {6 * REFRESH:.0f} s"
    period = statistics.median(b - a for a, b in zip(changes, changes[1:], strict=False))
    print(f"\ndashboard: refresh period measured in the browser {period:.2f} s (set: {REFRESH} s)")


def test_a_new_batch_appears_without_a_reload(pipeline, browser, first_batch):
    before = len(stores.connect(pipeline).mongo.read_batches())
    users = _users(40, "dashboard-2")
    as_of = dt.date.fromisoformat(AS_OF)
    adults = sum(generator.expected_outcome(u, as_of) == "stored" for u in users)

    assert producer.produce(users, pipeline, progress=False).sent == 40
    outcome: list = []
    worker = threading.Thread(
        target=lambda: outcome.append(stream.run(pipeline, until_idle=True, timeout=900))
    )
    worker.start()
    try:
        batch = _wait_for_new_batch(pipeline, before, worker)
        seen = _wait_for(browser, "batches", str(before + 1))  # the batch log: written last
        _wait_for(browser, "users-held", f"{first_batch + adults:,}")  # the aggregates: before it
    finally:
        worker.join(timeout=900)
    assert outcome and outcome[0].stored == adults
    _wait_for(browser, "lag-waiting", "0")  # the checkpoint's commit comes after the batch log
    delay = seen - batch["finished_at"].timestamp()
    print(f"\ndashboard: batch {batch['batch_id']} finished, on the page {delay:.2f} s later")
    assert {k: _text(browser, k) for k in _expected_on_page(pipeline)} == _expected_on_page(pipeline)


def _wait_for_new_batch(settings, before: int, worker: threading.Thread, timeout: float = 600.0) -> dict:
    """The first batch logged after the ``before`` ones (polled every 50 ms while the stream runs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batches = stores.connect(settings).mongo.read_batches()
        if len(batches) > before:
            return batches[before]
        if not worker.is_alive():
            pytest.fail("the stream ended without logging a new batch")
        time.sleep(0.05)
    pytest.fail(f"no new batch in {timeout:.0f} s")


def test_a_forget_shows_one_number_of_users_held_and_the_forgotten_beside_it(pipeline, browser, first_batch):
    """Issue 19: after a forget the tiles counted what the stream stored, the tables what is held now."""
    held = stores.connect(pipeline).cassandra.count_users()
    user = sorted(str(r["user_id"]) for r in stores.connect(pipeline).cassandra.read_users(limit=50))[0]
    assert erasure.forget_user(stores.connect(pipeline), user)
    _wait_for(browser, "users-forgotten", "1")
    _wait_for(browser, "users-held", f"{held - 1:,}")
    want = _expected_on_page(pipeline)
    assert want["users-held"] == f"{held - 1:,}" == f"{stores.connect(pipeline).cassandra.count_users():,}"
    assert (
        sum(b["stored"] for b in stores.connect(pipeline).mongo.read_batches()) == held
    )  # the stream's count keeps the user
    assert {k: _settled_text(browser, k) for k in want} == want
