"""Bad input never crashes the stream nor is silently dropped.

Two halves:

* the corpus ``support.bad_inputs`` (one entry per distinct bad input, with the
  exact outcome of each of its records) runs through ``transform.assemble`` as ONE
  batch; every entry is then checked on its own rows (by ``source_offset``): outcomes
  and reasons, counts, no personal data in its dead letters, no phone or street in
  clear in its stored rows. The integration tests send the same corpus through Kafka.
* hypothesis properties over arbitrary bytes, arbitrary JSON and mutated valid users:
  the transform never raises, every message gives at least one record, every record
  exactly one outcome, counts add up, stored rows are sound, secrets never leak.
  ``derandomize=True``: the examples are the same on every run (CI reproducible).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import re
from collections import Counter, defaultdict
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from profilepipe import contract
from profilepipe.contract import USER_KEYS
from profilepipe.pipeline import transform
from profilepipe.sources import generator

from support.bad_inputs import LARGE_OK_BYTES, TOO_LARGE_BYTES, bad_inputs
from support.frames import kafka_frame

CORPUS_AS_OF = dt.date(2026, 1, 15)  # conftest's AS_OF; the fixture's value is checked below
CORPUS = bad_inputs(CORPUS_AS_OF)
#: Distinct bad inputs in ``support.bad_inputs`` (the integration tests reuse it).
BAD_INPUT_COUNT = 90
LOWER_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _text(row) -> str:
    """Every field of a row as one string (bytes decoded leniently), for leak checks."""
    return json.dumps(
        {
            k: (bytes(v).decode("utf-8", "replace") if isinstance(v, bytes | bytearray) else v)
            for k, v in row.items()
        },
        default=str,
        ensure_ascii=False,
    )


# ------------------------------------------------------------------ the corpus, as one batch
@pytest.fixture(scope="module")
def corpus_run(spark, settings, as_of):
    corpus = bad_inputs(as_of)
    assert [e.name for e in corpus] == [e.name for e in CORPUS]  # same corpus as the parametrization
    df = kafka_frame(spark, [e.value for e in corpus], keys=[e.key for e in corpus])
    shaped = transform.assemble(df, settings).persist()
    try:
        counts = transform.outcome_counts(shaped)
        rows, dead, per_offset = defaultdict(list), defaultdict(list), defaultdict(Counter)
        for r in shaped.orderBy("source_offset", "record_index").collect():
            rows[r["source_offset"]].append(r.asDict())
        for r in transform.dead_letters(shaped).collect():
            dead[r["source_offset"]].append(r.asDict())
        for r in shaped.groupBy("source_offset", "outcome").count().collect():
            per_offset[r["source_offset"]][r["outcome"]] = r["count"]
        stored = {r["user_id"]: r.asDict() for r in transform.stored_rows(shaped).collect()}
    finally:
        shaped.unpersist()
    return SimpleNamespace(
        corpus=corpus, counts=counts, rows=rows, dead=dead, per_offset=per_offset, stored=stored
    )


def test_corpus_is_distinct_deterministic_and_counted():
    print(f"\n{len(CORPUS)} distinct bad inputs, {sum(e.records for e in CORPUS)} records")
    assert len(CORPUS) == BAD_INPUT_COUNT
    assert len({e.name for e in CORPUS}) == len(CORPUS)
    assert len({(e.key, e.value) for e in CORPUS}) == len(CORPUS)
    assert bad_inputs(CORPUS_AS_OF) == CORPUS
    assert bad_inputs(CORPUS_AS_OF, seed="other") != CORPUS
    for e in CORPUS:
        assert e.records == len(e.outcomes) >= 1
        assert all(o in contract.OUTCOMES for o, _ in e.outcomes)
        assert all((o == contract.DEAD) == (r in contract.REASONS) for o, r in e.outcomes)
    # every reason and outcome is exercised (erased needs a register: not a property of a message)
    assert {r for e in CORPUS for _, r in e.outcomes} - {None} == set(contract.REASONS)
    assert {o for e in CORPUS for o, _ in e.outcomes} == set(contract.OUTCOMES) - {contract.ERASED}


def test_every_user_in_the_corpus_carries_realistic_pii():
    users = 0
    for e in CORPUS:
        if e.value is None or not e.pii:
            continue
        users += 1
        assert len(e.pii) >= 8, e.name  # phone, cell, street, email, password, salt, md5, sha1, sha256
        hexes = [p for p in e.pii if re.fullmatch(r"[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}", p)]
        assert len(hexes) >= 3, e.name
    assert users >= 60


@pytest.mark.parametrize("name", [e.name for e in CORPUS])
def test_bad_input(corpus_run, settings, name):
    offset = next(i for i, e in enumerate(corpus_run.corpus) if e.name == name)
    entry = corpus_run.corpus[offset]
    rows = corpus_run.rows[offset]

    # one row per record, each with the expected outcome and reason
    assert [r["record_index"] for r in rows] == list(range(entry.records))
    assert [(r["outcome"], r["dlq_reason"]) for r in rows] == list(entry.outcomes)
    counts = corpus_run.per_offset[offset]
    assert sum(counts.values()) == counts["stored"] + counts["filtered_minor"] + counts["dead_letter"]
    assert sum(counts.values()) == entry.records
    assert counts == Counter(o for o, _ in entry.outcomes)

    # dead letters: one per dead record, a known reason, a detail, and nothing personal
    dead = corpus_run.dead[offset]
    assert len(dead) == counts["dead_letter"]
    for d in dead:
        assert d["reason"] in contract.REASONS and d["detail"]
        assert (bytes(d["key"]) if d["key"] is not None else None) == entry.key
        assert d["value_bytes"] == (len(entry.value) if entry.value is not None else None)
        if entry.value is not None:
            assert d["value_sha256"] == hashlib.sha256(entry.value).hexdigest()
        if d["reason"] == "too_large":
            assert d["detail"] == f"value is {len(entry.value)} bytes, limit {settings.max_message_bytes}"
        text = _text(d)
        leaked = [p for p in entry.pii if p in text]
        assert not leaked, f"dead letter of {name} holds {leaked}"

    # stored rows: a sound key and age, phone and address only as hashes
    for r in rows:
        if r["outcome"] != "stored":
            assert r["gender"] is None and r["phone_hash"] is None and r["address_hash"] is None
            continue
        stored = corpus_run.stored[r["user_id"]]
        assert LOWER_UUID.match(stored["user_id"]) and stored["age"] >= settings.min_age
        assert stored["phone_hash"] is None or stored["phone_hash"].startswith("$2b$04$")
        text = _text(stored)
        leaked = [p for p in entry.pii if p in text]
        assert not leaked, f"stored row of {name} holds {leaked}"


def test_whole_corpus_as_one_batch_adds_up(corpus_run):
    corpus, counts = corpus_run.corpus, corpus_run.counts
    expected = Counter(o for e in corpus for o, _ in e.outcomes)
    assert counts == {"read": sum(e.records for e in corpus), **{o: expected[o] for o in contract.OUTCOMES}}
    assert (
        counts["read"] == counts["stored"] + counts["filtered_minor"] + counts["dead_letter"]
    )  # none erased
    assert counts["read"] >= len(corpus)
    assert set(corpus_run.rows) == set(range(len(corpus)))  # no message dropped
    assert sum(len(d) for d in corpus_run.dead.values()) == counts["dead_letter"]
    assert len(corpus_run.stored) == counts["stored"]


# ------------------------------------------------------------------ the fixes, on their own
def test_max_message_bytes_setting():
    from profilepipe.config import Settings

    default = Settings.from_env({}).max_message_bytes
    assert default == 524288  # the corpus' sizes are chosen around it:
    assert LARGE_OK_BYTES < default < TOO_LARGE_BYTES
    assert Settings.from_env({"PROFILEPIPE_MAX_MESSAGE_BYTES": "1000"}).max_message_bytes == 1000


def test_too_large_takes_precedence_and_the_limit_comes_from_settings(raw, settings, user):
    values = [user(), b"\xff" * 300, "not json at all, but long enough " * 10, {"results": [user()]}]
    shaped = transform.assemble(raw(values), settings.replace(max_message_bytes=200))
    rows = [r.asDict() for r in shaped.orderBy("source_offset", "record_index").collect()]
    assert [(r["source_offset"], r["dlq_reason"]) for r in rows] == [(i, "too_large") for i in range(4)]
    assert rows[1]["dlq_detail"] == "value is 300 bytes, limit 200"
    # no limit: parse as before
    parsed = transform.parse(raw(values)).orderBy("source_offset").collect()
    assert [r["parse_error"] for r in parsed] == [None, "invalid_json", "invalid_json", None]


def test_a_truncated_object_is_invalid_json_wherever_it_is_cut(raw, settings):
    users = generator.generate_users(3, seed="cut", minor_share=0.0, as_of="2026-01-15")
    user, envelope = generator.user_json(users[0]).encode(), json.dumps({"results": users}).encode()
    # before the fix, from_json kept what it had read (a partial user or envelope)
    cuts = [user[:n] for n in range(1, len(user), 11)] + [user[:-1]]
    cuts += [envelope[:n] for n in range(1, len(envelope), 97)] + [envelope[:-1], envelope[:-2]]
    rows = transform.assemble(raw(cuts), settings).select("source_offset", "dlq_reason").collect()
    assert len(rows) == len(cuts)
    assert Counter(r["dlq_reason"] for r in rows) == {"invalid_json": len(cuts)}


def test_json_whitespace_before_a_user_is_allowed(raw, settings, user):
    values = [
        b" " + json.dumps(user()).encode(),
        b"\n\t\r " + json.dumps(user(login__uuid="0f8a7c2e-1b3d-4e5f-8a9b-0c1d2e3f4a5c")).encode(),
    ]
    rows = transform.assemble(raw(values), settings).collect()
    assert [r["outcome"] for r in rows] == ["stored", "stored"]


# ------------------------------------------------------------------ properties
PROPERTY_SETTINGS = hsettings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _run(spark, settings, values, keys=None):
    shaped = transform.assemble(kafka_frame(spark, values, keys), settings).persist()
    try:
        return [r.asDict() for r in shaped.collect()], transform.outcome_counts(shaped)
    finally:
        shaped.unpersist()


def _check(rows, counts, n_messages, min_age, secrets=()):
    assert sum(counts[o] for o in contract.OUTCOMES) == counts["read"] == len(rows)
    assert (
        counts["read"] == counts["stored"] + counts["filtered_minor"] + counts["dead_letter"]
    )  # none erased
    assert counts["read"] >= n_messages
    assert {r["source_offset"] for r in rows} == set(range(n_messages))  # none silently dropped
    for label in sorted({r["dlq_reason"] or r["outcome"] for r in rows}):
        event(label)  # --hypothesis-show-statistics: which outcomes the examples reach
    for r in rows:
        assert r["outcome"] in contract.OUTCOMES
        if r["outcome"] == "dead_letter":
            assert r["dlq_reason"] in contract.REASONS and r["dlq_detail"]
        else:
            assert r["dlq_reason"] is None
            assert LOWER_UUID.match(r["user_id"]), r["user_id"]
            assert (r["age"] >= min_age) == (r["outcome"] == "stored")
        if secrets:
            text = _text(r)
            leaked = [s for s in secrets if s in text]
            assert not leaked, leaked


@PROPERTY_SETTINGS
@given(
    st.lists(
        st.tuples(st.none() | st.binary(max_size=16), st.none() | st.binary(max_size=300)),
        min_size=1,
        max_size=8,
    )
)
def test_arbitrary_bytes(spark, settings, messages):
    rows, counts = _run(spark, settings, [v for _, v in messages], [k for k, _ in messages])
    _check(rows, counts, len(messages), settings.min_age)


_FIELD_NAMES = (*USER_KEYS, "results", "uuid", "date", "first", "street", "info")
_UUID = st.uuids().map(str)
_DATE = st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)).map(lambda d: f"{d}T08:30:00.000Z")
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | _UUID
    | _DATE
)
_ANY_SCALAR = _SCALARS.map(lambda v: v)  # one branch of a one_of (not flattened into it)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(_FIELD_NAMES) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=16,
)
_USERISH = st.fixed_dictionaries(
    {
        # mostly well-formed uuids and dates, so that users also get stored or filtered
        "login": st.fixed_dictionaries({"uuid": st.one_of(_UUID, _UUID.map(str.upper), _ANY_SCALAR)}),
        "dob": st.fixed_dictionaries({"date": st.one_of(_DATE, _DATE.map(lambda d: d[:10]), _ANY_SCALAR)}),
    },
    optional={"name": _JSON, "location": _JSON, "phone": _SCALARS, "nat": _SCALARS},
)
_VALID_ISH = st.fixed_dictionaries(  # valid uuid and dob, anything else: stored, minor or future
    {"login": st.fixed_dictionaries({"uuid": _UUID}), "dob": st.fixed_dictionaries({"date": _DATE})},
    optional={"name": _JSON, "location": _JSON, "phone": _SCALARS, "nat": _SCALARS, "email": _SCALARS},
)
_MESSAGES = st.one_of(
    _JSON,
    _USERISH,
    _VALID_ISH,
    st.lists(_VALID_ISH | _USERISH | _JSON, max_size=4).map(lambda r: {"results": r}),
)


@PROPERTY_SETTINGS
@given(st.lists(_MESSAGES, min_size=1, max_size=6))
def test_arbitrary_json(spark, settings, docs):
    values = [json.dumps(d, ensure_ascii=False).encode("utf-8") for d in docs]
    rows, counts = _run(spark, settings, values)
    _check(rows, counts, len(values), settings.min_age)


def _secret_users() -> list[dict]:
    users = generator.generate_users(24, seed="bad-input-properties", minor_share=0.25, as_of=CORPUS_AS_OF)
    for u in users:  # a password no other field can contain by chance (e.g. "orange" vs a username)
        u["login"]["password"] = f"{u['login']['password']}#{u['login']['salt']}"
    return users


USERS = _secret_users()


def _paths(node, prefix=()):
    for k, v in node.items():
        yield (*prefix, k)
        if isinstance(v, dict):
            yield from _paths(v, (*prefix, k))


PATHS = sorted(set(p for u in USERS for p in _paths(u)))
OTHER_TYPES = (None, True, 0, -7, 3.25, "", "x y", "2026-01-15", [], [1, "a"], {}, {"k": [1]})


def _json_type(v) -> str:
    return {bool: "bool", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(v), "null"
    )


@st.composite
def _mutated(draw):
    """One message from 1-3 valid users: fields dropped or retyped, then maybe truncated or a byte flipped."""
    picked = [
        copy.deepcopy(USERS[i])
        for i in draw(st.lists(st.integers(0, len(USERS) - 1), min_size=1, max_size=3))
    ]
    secrets = [s for u in picked for s in (u["phone"], u["login"]["password"])]
    for u in picked:
        for _ in range(draw(st.integers(0, 2))):
            path = draw(st.sampled_from(PATHS))
            *parents, leaf = path
            node = u
            for p in parents:
                node = node.get(p) if isinstance(node, dict) else None
            if not isinstance(node, dict) or leaf not in node:
                continue
            if draw(st.booleans()):
                del node[leaf]
            else:
                current = _json_type(node[leaf])
                node[leaf] = draw(st.sampled_from([v for v in OTHER_TYPES if _json_type(v) != current]))
    doc = picked[0] if len(picked) == 1 and draw(st.booleans()) else {"results": picked}
    text = bytearray(json.dumps(doc, ensure_ascii=False).encode("utf-8"))
    action = draw(st.sampled_from(["none", "truncate", "flip"]))
    if action == "truncate":
        del text[draw(st.integers(0, len(text) - 1)) :]
    elif action == "flip":
        text[draw(st.integers(0, len(text) - 1))] ^= 1 << draw(st.integers(0, 7))
    return bytes(text), secrets


@PROPERTY_SETTINGS
@given(st.lists(_mutated(), min_size=1, max_size=5))
def test_mutated_valid_users(spark, settings, messages):
    rows, counts = _run(spark, settings, [m for m, _ in messages])
    secrets = [s for _, ss in messages for s in ss]
    _check(rows, counts, len(messages), settings.min_age, secrets)
