"""End to end on the real stack: generator -> Kafka -> Spark stream -> Cassandra + MongoDB + DLQ.

Expected numbers are computed independently of Spark, in plain Python, from the generated
input (``generator.expected_outcome``), then compared with what the stores hold.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from profilepipe import contract, stores
from profilepipe.analysis import disclosure
from profilepipe.pipeline import stream
from profilepipe.sources import generator
from profilepipe.tools import audit

from support.hmac_reference import hmac_hash

AS_OF = "2026-06-01"
USERS = 2000
MALFORMED = 40
KEY = "integration-test-key-not-a-secret"


@pytest.fixture(scope="module")
def run(isolated, produce_and_stream):
    settings = isolated("it", pii_mode="hmac", hmac_key=KEY, as_of=AS_OF, max_offsets_per_trigger=700)
    users = generator.generate_users(USERS, seed="it", minor_share=0.15, as_of=dt.date.fromisoformat(AS_OF))
    bad = generator.malformed_messages(MALFORMED, seed="it")
    first = produce_and_stream(settings, users, bad)
    return settings, users, bad, first


def _expected(users):
    as_of = dt.date.fromisoformat(AS_OF)
    return [u for u in users if generator.expected_outcome(u, as_of) == "stored"]


def test_counts_add_up_exactly(run):
    settings, users, bad, first = run
    adults = _expected(users)
    assert first.read == USERS + MALFORMED
    assert first.stored == len(adults)
    assert first.filtered_minor == USERS - len(adults)
    assert first.dead_letter == MALFORMED
    assert 0 < first.filtered_minor < USERS
    assert first.batches >= 3  # maxOffsetsPerTrigger=700 splits the input
    assert stores.connect(settings).cassandra.count_users() == len(adults)
    batches = stores.connect(settings).mongo.read_batches()
    assert sum(b["read"] for b in batches) == first.read
    assert all(contract.balanced(b) for b in batches)


def test_dead_letters_carry_reason_and_source_offset(run):
    settings, _users, bad, _first = run
    letters = stores.connect(settings).dead_letters.read()
    assert Counter(d["reason"] for d in letters) == Counter(m["expected_reason"] for m in bad)
    for d in letters:
        assert d["source_topic"] == settings.kafka_topic
        assert d["source_partition"] in range(settings.kafka_partitions)
        assert d["source_offset"] >= 0 and len(d["value_sha256"]) == 64
        assert "value" not in d


def test_rows_hold_hashes_and_exact_values(run):
    settings, users, _bad, _first = run
    adult = _expected(users)[0]
    row = stores.connect(settings).cassandra.get_user(adult["login"]["uuid"])
    assert row is not None
    assert not {"full_name", "username", "birth_date"} & set(row)  # the minimal profile, the default
    assert row["email_domain"] == adult["email"].split("@")[1].lower()
    assert row["phone_hash"] == hmac_hash(adult["phone"], KEY)
    assert row["birth_year"] == int(adult["dob"]["date"][:4])
    assert row["age"] >= 18 and row["nationality"] == adult["nat"]


def test_no_minor_and_no_plaintext_pii_is_stored(run):
    settings, users, _bad, _first = run
    as_of = dt.date.fromisoformat(AS_OF)
    report = audit.scan(settings, users, as_of)
    assert report.rows_scanned == len(_expected(users))
    assert report.secrets_checked >= 8 * USERS
    assert report.clean, (report.plaintext_found[:5], report.minors_stored[:5])
    session = stores.connect(settings).cassandra.session()
    rows = list(session.execute(f"SELECT * FROM {settings.users_table}"))
    minors = {u["login"]["uuid"] for u in users} - {u["login"]["uuid"] for u in _expected(users)}
    assert not minors & {str(r.user_id) for r in rows}
    # long secrets cannot match by chance: none of them anywhere in either store
    everything = "\n".join(str(tuple(r)) for r in rows) + str(
        stores.connect(settings).mongo.read_raw_aggregates()
    )
    for u in users:
        for secret in (u["login"]["salt"], u["login"]["md5"], u["login"]["sha1"], u["login"]["sha256"]):
            assert secret not in everything


def test_aggregates_match_the_input(run):
    settings, users, _bad, _first = run
    adults = _expected(users)
    as_of = dt.date.fromisoformat(AS_OF)
    docs = {(d["dimension"], d["key"]): d for d in stores.connect(settings).mongo.read_raw_aggregates()}
    by_nat = Counter(u["nat"] for u in adults)
    assert {k: docs[("nationality", k)]["count"] for k in by_nat} == dict(by_nat)
    assert sum(d["count"] for (dim, _), d in docs.items() if dim == "gender") == len(adults)
    ages = {u["login"]["uuid"]: contract.age_on(generator.dob_date(u), as_of) for u in adults}
    bands = Counter(contract.age_band(a) for a in ages.values())
    assert {b: docs[("age_band", b)]["count"] for b in bands} == dict(bands)
    country, gender = adults[0]["location"]["country"], adults[0]["gender"]
    group = [
        ages[u["login"]["uuid"]]
        for u in adults
        if u["location"]["country"] == country and u["gender"] == gender
    ]
    doc = docs[("country_gender", f"{country}|{gender}")]
    assert doc["count"] == len(group) and doc["age_sum"] == sum(group)
    assert doc["age_sq_sum"] == sum(a * a for a in group)
    assert doc["suppressed"] == (len(group) < settings.k_anonymity)
    published = {(d["dimension"], d["key"]): d for d in disclosure.read_aggregates(settings)}
    protected = disclosure.protect(stores.connect(settings).mongo.read_raw_aggregates(), settings.k_anonymity)
    assert published == {(d["dimension"], d["key"]): d for d in protected}  # what is shown is protected
    years = Counter(u["registered"]["date"][:4] for u in adults)
    assert {y: docs[("registered_year", y)]["count"] for y in years} == dict(years)
    assert sum(d["count"] for (dim, _), d in docs.items() if dim == "ingested_minute") == len(adults)


def test_second_run_over_same_offsets_changes_nothing(run, tmp_path):
    settings, users, _bad, first = run
    before_rows = stores.connect(settings).cassandra.count_users()
    before_aggs = [
        (d["dimension"], d["key"], d["count"], d["age_sum"], d["age_sq_sum"])
        for d in stores.connect(settings).mongo.read_raw_aggregates()
    ]
    again = stream.run(settings, until_idle=True, timeout=600)  # same checkpoint: nothing new
    assert again.read == 0
    replay = stream.run(
        settings.replace(checkpoint_dir=str(tmp_path / "fresh")), until_idle=True, timeout=900
    )
    assert replay.read == first.read  # every offset read a second time ...
    assert stores.connect(settings).cassandra.count_users() == before_rows  # ... and nothing changed
    after_aggs = [
        (d["dimension"], d["key"], d["count"], d["age_sum"], d["age_sq_sum"])
        for d in stores.connect(settings).mongo.read_raw_aggregates()
    ]
    assert after_aggs == before_aggs  # ingested_at is the Kafka timestamp, so even per-minute counts hold
