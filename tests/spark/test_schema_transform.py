"""Schema and transform: every API quirk parses, every bad message gets its reason."""

from __future__ import annotations

import hashlib
import json

import pytest
from pyspark.sql import functions as F

from profilepipe import contract
from profilepipe.pipeline import schema, transform

AS_OF = "2026-01-15"  # the conftest settings' as_of


def shape(raw_df, settings, as_of=AS_OF):
    return transform.assemble(raw_df, settings, as_of)


def by_offset(df, *cols):
    return [r.asDict() for r in df.orderBy("source_offset", "record_index").select(*cols).collect()]


# ------------------------------------------------------------------ schema
def test_from_json_reads_a_json_number_into_a_string_field_as_its_text(spark):
    # the premise of schema.py, checked on the installed Spark
    df = spark.createDataFrame(
        [('{"p": 12345}',), ('{"p": "K1A 0B1"}',), ('{"p": "0150"}',), ('{"p": 800}',), ('{"p": null}',)],
        "v string",
    )
    got = [r[0] for r in df.select(F.from_json("v", "p string")["p"]).collect()]
    assert got == ["12345", "K1A 0B1", "0150", "800", None]


def test_full_user_schema_keeps_postcodes_ids_and_coordinates(spark, envelope):
    text = json.dumps(envelope, ensure_ascii=False)
    df = spark.createDataFrame([(text,)], "v string").select(
        F.from_json("v", schema.ENVELOPE_SCHEMA).alias("e")
    )
    e = df.collect()[0]["e"]
    users = {u["nat"]: u for u in e["results"]}
    assert len(e["results"]) == 9 and e["info"]["version"] == "1.4"
    assert [users[n]["location"]["postcode"] for n in ("GB", "CA", "NL", "NO", "IR", "AU")] == [
        "SW1A 1AA",
        "K1A 0B1",
        "1234 AB",
        "0150",
        "48211",
        "800",
    ]
    assert users["IR"]["id"]["value"] is None and users["IR"]["id"]["name"] == ""
    assert users["FI"]["id"]["value"] == "NaNNA229undefined"
    assert users["GB"]["location"]["coordinates"]["latitude"] == "-42.1817"
    assert users["GB"]["login"]["password"] == "marmalade"  # the full schema has every field
    assert users["RS"]["name"]["last"] == "Јовановић-Стефановић"


def test_parse_schema_has_no_secret_fields():
    login = schema.PARSE_SCHEMA["login"].dataType.fieldNames()
    assert login == ["uuid", "username"]
    assert not {"cell", "id", "picture"} & set(schema.PARSE_SCHEMA.fieldNames())
    assert set(schema.USER_SCHEMA["login"].dataType.fieldNames()) >= {
        "password",
        "salt",
        "md5",
        "sha1",
        "sha256",
    }


# ------------------------------------------------------------------ parse: envelopes and quirks
def test_envelope_of_nine_users_is_nine_records_and_quirky_nationalities_are_stored(raw, settings, envelope):
    shaped = shape(raw([envelope]), settings)
    rows = by_offset(shaped, "record_index", "outcome", "nationality", "user_id", "age", "source_offset")
    assert [r["record_index"] for r in rows] == list(range(9))
    assert {r["source_offset"] for r in rows} == {0}
    outcomes = {r["user_id"]: r["outcome"] for r in rows}
    stored_nats = {r["nationality"] for r in rows if r["outcome"] == "stored"}
    assert stored_nats == {"GB", "CA", "NL", "NO", "IR", "UA", "RS", "AU"}
    assert outcomes["8b9c0d1e-2f3a-4b5c-8d7e-8f9a0b1c2d3e"] == "filtered_minor"  # FI, 15
    assert transform.outcome_counts(shaped) == {
        "read": 9,
        "stored": 8,
        "filtered_minor": 1,
        "erased": 0,
        "dead_letter": 0,
    }


def test_envelope_with_three_users_gives_three_records(raw, settings, users):
    shaped = shape(raw([{"results": users[:3], "info": {}}]), settings)
    assert transform.outcome_counts(shaped)["read"] == 3
    assert sorted(r["user_id"] for r in transform.stored_rows(shaped).collect()) == sorted(
        u["login"]["uuid"] for u in users[:3]
    )


def test_single_users_with_int_and_string_postcodes_are_stored(raw, settings, users):
    shaped = shape(raw(users[:8]), settings)  # each user its own message
    rows = by_offset(shaped, "outcome", "nationality", "source_offset")
    assert [r["outcome"] for r in rows] == ["stored"] * 8
    assert [r["nationality"] for r in rows] == ["GB", "CA", "NL", "NO", "IR", "UA", "RS", "AU"]


def test_non_latin_names_are_kept_in_full_name(raw, full_settings, users):
    stored = transform.stored_rows(shape(raw(users), full_settings)).collect()
    rows = {r["nationality"]: r["full_name"] for r in stored}
    assert rows["IR"] == "نازنین رضایی"
    assert rows["UA"] == "Богдан Шевченко"
    assert rows["RS"] == "Љубица Јовановић-Стефановић"
    assert rows["NL"] == "Sanne de Vries"


def test_stored_row_columns_and_values(raw, full_settings, users):
    row = transform.stored_rows(shape(raw([users[0]]), full_settings)).collect()[0]
    assert tuple(row.asDict()) == contract.user_columns(contract.FULL)
    assert row["user_id"] == "0f8a7c2e-1b3d-4e5f-8a9b-0c1d2e3f4a5b"
    assert row["email_domain"] == "example.com"
    assert row["gender"] == "female" and row["username"] == "tinyzebra301"
    assert str(row["birth_date"]) == "1985-03-14" and row["age"] == 40
    assert row["registered_at"].year == 2015
    assert (row["nationality"], row["country"]) == ("GB", "United Kingdom")
    assert row["phone_hash"].startswith("$2b$04$") and row["address_hash"].startswith("$2b$04$")
    assert row["ingested_at"] is not None


def test_uppercase_uuid_is_stored_lower_case_and_email_domain_lower(raw, settings, user):
    u = user(email="Olivia.Hughes@EXAMPLE.COM")
    u["login"]["uuid"] = u["login"]["uuid"].upper()
    row = transform.stored_rows(shape(raw([u]), settings)).collect()[0]
    assert row["user_id"] == "0f8a7c2e-1b3d-4e5f-8a9b-0c1d2e3f4a5b"
    assert row["email_domain"] == "example.com"


def test_email_without_at_sign_gives_no_domain(raw, settings, user):
    row = transform.stored_rows(shape(raw([user(email="olivia.hughes")]), settings)).collect()[0]
    assert row["email_domain"] is None


def test_source_columns_on_every_row(raw, settings, users):
    df = raw(
        [users[0], "garbage", {"results": users[1:3]}], topic="t1", partition=2, keys=[b"k0", b"k1", b"k2"]
    )
    rows = by_offset(
        shape(df, settings),
        "source_topic",
        "source_partition",
        "source_offset",
        "record_index",
        "key",
        "value_bytes",
        "value_sha256",
    )
    assert [(r["source_offset"], r["record_index"]) for r in rows] == [(0, 0), (1, 0), (2, 0), (2, 1)]
    assert {r["source_topic"] for r in rows} == {"t1"} and {r["source_partition"] for r in rows} == {2}
    assert [bytes(r["key"]) for r in rows] == [b"k0", b"k1", b"k2", b"k2"]
    assert rows[1]["value_bytes"] == 7
    assert rows[1]["value_sha256"] == hashlib.sha256(b"garbage").hexdigest()


# ------------------------------------------------------------------ dead letters
CASES = [
    ("invalid_json", "garbage"),
    ("invalid_json", '{"login": {"uuid": "0f8a7c2e-1b3d-4e5f-8a9b-0c1d2e3f4a5b"}, "nat":'),
    ("invalid_json", b"\xff\xfe\x00\x81{}"),
    ("invalid_json", '{"name": {"first": "Zo\xe9"}}'.encode("latin-1")),
    ("invalid_json", ""),
    ("not_a_user", "[1, 2]"),
    ("not_a_user", '[{"gender": "female"}]'),
    ("not_a_user", "42"),
    ("not_a_user", '"a string"'),
    ("not_a_user", "null"),
    ("not_a_user", "{}"),
    ("not_a_user", '{"foo": 1}'),
    ("not_a_user", '{"error": "Uh oh, something has gone wrong."}'),
    ("not_a_user", '{"results": [], "info": {"results": 1}}'),
]


def test_malformed_messages_get_their_reason(raw, settings):
    # all cases in one DataFrame (one Spark job); offset i is case i
    shaped = shape(raw([value for _, value in CASES]), settings)
    rows = by_offset(shaped, "source_offset", "outcome", "dlq_reason", "dlq_detail")
    assert [r["source_offset"] for r in rows] == list(range(len(CASES)))  # one record per message
    got = [(r["outcome"], r["dlq_reason"]) for r in rows]
    assert got == [("dead_letter", reason) for reason, _ in CASES]
    assert all(r["dlq_detail"] for r in rows)


USER_CASES = [
    ({"login__uuid": None}, "missing_uuid"),
    ({"drop": ["login.uuid"]}, "missing_uuid"),
    ({"drop": ["login"]}, "missing_uuid"),
    ({"login__uuid": "  "}, "missing_uuid"),
    ({"login__uuid": "not-a-uuid"}, "invalid_uuid"),
    ({"login__uuid": "0f8a7c2e-1b3d-4e5f-8a9b-0c1d2e3f4a5g"}, "invalid_uuid"),
    ({"login__uuid": "0f8a7c2e1b3d4e5f8a9b0c1d2e3f4a5b"}, "invalid_uuid"),
    ({"dob__date": "not a date"}, "invalid_dob"),
    ({"dob__date": "1990-13-45T00:00:00.000Z"}, "invalid_dob"),
    ({"dob__date": "1990-02-30T00:00:00.000Z"}, "invalid_dob"),
    ({"dob__date": None}, "invalid_dob"),
    ({"drop": ["dob"]}, "invalid_dob"),
    ({"dob__date": "2026-01-16T00:00:00.000Z"}, "future_dob"),
    ({"dob__date": "2150-06-15T12:00:00.000Z"}, "future_dob"),
    # precedence: the first reason wins
    ({"login__uuid": None, "dob__date": "garbage"}, "missing_uuid"),
    ({"login__uuid": "nope", "dob__date": "2150-01-01T00:00:00.000Z"}, "invalid_uuid"),
    ({"dob__date": "garbage", "name__first": None}, "invalid_dob"),
    ({}, None),
]


def test_the_minimal_profile_stores_no_name_username_or_birth_date(raw, settings, users):
    assert settings.store_profile == "minimal"  # the default
    row = transform.stored_rows(shape(raw([users[0]]), settings)).collect()[0].asDict()
    assert tuple(row) == contract.user_columns(contract.MINIMAL)
    assert not {"full_name", "username", "birth_date"} & set(row)
    assert (row["birth_year"], row["age"]) == (1985, 40)  # the exact age from the whole date, then the year
    text = " ".join(str(v) for v in row.values())
    for value in (users[0]["name"]["first"], users[0]["login"]["username"], "1985-03-14"):
        assert value not in text


def test_user_level_reasons_and_precedence(raw, settings, user):
    shaped = shape(raw([user(**changes) for changes, _ in USER_CASES]), settings)
    rows = by_offset(shaped, "outcome", "dlq_reason", "gender", "source_offset")
    assert [r["dlq_reason"] for r in rows] == [reason for _, reason in USER_CASES]
    for r, (_, reason) in zip(rows, USER_CASES, strict=True):
        assert r["outcome"] == ("dead_letter" if reason else "stored")
        if reason:
            assert r["gender"] is None  # nothing personal kept on a dead letter


def test_dob_on_as_of_is_not_future(raw, settings, user):
    row = shape(raw([user(dob__date="2026-01-15T23:59:59.000Z")]), settings).collect()[0]
    assert (row["outcome"], row["age"]) == ("filtered_minor", 0)


def test_envelope_members_are_checked_one_by_one(raw, settings, user):
    env = {
        "results": [user(), 7, {"foo": 1}, user(login__uuid="bad"), user(dob__date="2100-01-01T00:00:00Z")]
    }
    rows = by_offset(shape(raw([env]), settings), "record_index", "outcome", "dlq_reason", "dlq_detail")
    assert [r["dlq_reason"] for r in rows] == [None, "not_a_user", "not_a_user", "invalid_uuid", "future_dob"]
    assert rows[3]["dlq_detail"].startswith("results[3]: ")


def test_dead_letters_follow_the_contract(raw, settings, user):
    bad = user(login__uuid="nope")
    df = raw([bad, user()], keys=[b"the-key", b"k2"])
    dl = transform.dead_letters(shape(df, settings))
    assert tuple(dl.columns) == ("key",) + contract.DLQ_FIELDS
    row = dl.collect()[0]
    value = json.dumps(bad, ensure_ascii=False).encode("utf-8")
    assert bytes(row["key"]) == b"the-key"
    assert row["reason"] == "invalid_uuid" and row["source_offset"] == 0 and row["source_topic"] == "users"
    assert row["value_sha256"] == hashlib.sha256(value).hexdigest()
    assert row["value_bytes"] == len(value)
    assert "nope" not in json.dumps(row.asDict(), default=str)


def test_counts_add_up(raw, settings, users, user):
    values = [{"results": users}, "garbage", user(login__uuid=None), {"results": []}, users[8], "[]"]
    counts = transform.outcome_counts(shape(raw(values), settings))
    # users[8] (a minor) comes twice: the later message wins, the envelope's copy is a duplicate
    assert counts == {"read": 14, "stored": 8, "filtered_minor": 1, "erased": 0, "dead_letter": 5}
    assert counts["read"] == counts["stored"] + counts["filtered_minor"] + counts["dead_letter"]


def test_same_uuid_twice_in_a_batch_keeps_the_latest(raw, full_settings, user):
    first, second = user(name__first="Old"), user(name__first="New")
    rows = by_offset(shape(raw([first, second]), full_settings), "outcome", "dlq_reason", "full_name")
    assert [(r["outcome"], r["dlq_reason"]) for r in rows] == [
        ("dead_letter", "duplicate_in_batch"),
        ("stored", None),
    ]
    assert rows[1]["full_name"].startswith("New")


def test_minors_are_not_hashed_and_keep_no_personal_data(raw, settings, users):
    rows = shape(raw([users[8]]), settings).collect()
    r = rows[0].asDict()
    assert r["outcome"] == "filtered_minor" and r["age"] == 15
    assert r["user_id"] == "8b9c0d1e-2f3a-4b5c-8d7e-8f9a0b1c2d3e"
    kept = {"user_id", "age", "ingested_at"}  # a minor keeps only these
    assert all(r[c] is None for c in settings.user_columns if c not in kept)


def test_min_age_comes_from_settings(raw, settings, users):
    shaped = shape(raw([users[8]]), settings.replace(min_age=15))
    assert transform.outcome_counts(shaped)["stored"] == 1


def test_as_of_default_comes_from_settings(raw, settings, user):
    u = user(dob__date="2008-01-16T00:00:00.000Z")  # 18 on 2026-01-16
    assert shape(raw([u]), settings, as_of=None).collect()[0]["outcome"] == "filtered_minor"
    assert (
        shape(raw([u]), settings.replace(as_of="2026-01-16"), as_of=None).collect()[0]["outcome"] == "stored"
    )
    assert shape(raw([u]), settings, as_of="2026-01-16").collect()[0]["outcome"] == "stored"


def test_generator_malformed_messages_get_the_expected_reasons(raw, settings):
    generator = pytest.importorskip("profilepipe.sources.generator")
    messages = generator.malformed_messages(24)
    shaped = shape(raw([m["value"] for m in messages], keys=[m["key"] for m in messages]), settings)
    rows = by_offset(shaped, "dlq_reason", "source_offset")
    assert [r["dlq_reason"] for r in rows] == [m["expected_reason"] for m in messages]


def test_forgotten_users_are_erased_whatever_their_age_and_keep_no_personal_data(raw, settings, users):
    from profilepipe.contract import erasure_key

    adult, minor = users[0], users[8]  # GB adult, FI minor (15)
    keys = [erasure_key(adult["login"]["uuid"].upper()), erasure_key(minor["login"]["uuid"])]
    shaped = transform.assemble(raw(users), settings, AS_OF, erased_keys=keys)
    rows = {r["user_id"]: r for r in shaped.collect()}
    for u in (adult, minor):
        r = rows[u["login"]["uuid"].lower()]
        assert r["outcome"] == "erased"
        assert all(r[c] is None for c in settings.user_columns if c not in ("user_id", "age", "ingested_at"))
    counts = transform.outcome_counts(shaped)
    assert counts == {"read": 9, "stored": 7, "filtered_minor": 0, "erased": 2, "dead_letter": 0}
    assert adult["login"]["uuid"].lower() not in {
        r["user_id"] for r in transform.stored_rows(shaped).collect()
    }
