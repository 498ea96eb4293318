"""The benchmark's comparison pipelines (``profilepipe_bench.peers``) on static frames: each gives the
table's rows, so the peer-style run, the limit and the seed-style run write what ours writes."""

from __future__ import annotations

import hashlib

import bcrypt
from pyspark.sql import functions as F

from profilepipe import contract
from profilepipe.pipeline import transform
from profilepipe_bench import peers


def test_the_peer_style_rows_are_the_tables_columns_taken_straight_from_the_json(raw, users):
    rows = peers.peer_rows(raw(users)).collect()
    assert len(rows) == len(users)
    assert tuple(rows[0].asDict()) == contract.user_columns(contract.FULL)
    by_id = {r["user_id"]: r for r in rows}
    for u in users:
        r = by_id[u["login"]["uuid"]]
        assert r["full_name"] == f"{u['name']['first']} {u['name']['last']}"
        assert r["phone_hash"] == hashlib.sha256(u["phone"].encode()).hexdigest()
        assert r["age"] == u["dob"]["age"]  # the API's age, not the exact one
        assert r["country"] == u["location"]["country"]


def test_the_limit_reads_back_exactly_the_rows_it_was_given(raw, users, settings, as_of):
    full = settings.replace(store_profile=contract.FULL)  # the benchmark's runs store the full row
    stored = transform.stored_rows(transform.assemble(raw(users), full, as_of))
    as_json = stored.select(F.to_json(F.struct(*stored.columns)).alias("value"))
    messages = [r["value"] for r in as_json.collect()]
    back = peers.limit_rows(stored.schema)(raw(messages))
    assert back.schema == stored.schema
    assert sorted(back.collect()) == sorted(stored.collect())


def test_the_seed_style_hasher_hashes_each_value_with_bcrypt_at_the_cost_asked(raw, users, settings, as_of):
    s = settings.replace(pii_mode="bcrypt", bcrypt_cost=4)
    shaped = transform.shape(transform.parse(raw(users[:3])), s, as_of)
    clear = {r["user_id"]: r["phone"] for r in shaped.collect() if r["outcome"] == "stored"}
    hashed = peers.seed_hasher(shaped, s).collect()
    assert "phone" not in hashed[0].asDict() and "address" not in hashed[0].asDict()
    for r in hashed:
        if r["user_id"] in clear:
            assert r["phone_hash"].startswith("$2b$04$")
            assert bcrypt.checkpw(clear[r["user_id"]].encode(), r["phone_hash"].encode())
