"""Privacy: hmac and bcrypt hashing, the vectorised UDF, and no secret in any output."""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata

import bcrypt
import pytest

from profilepipe.errors import PrivacyError
from profilepipe.pipeline import privacy, transform

from support import spark_aggregates as aggregates
from support.hmac_reference import hmac_hash

AS_OF = "2026-01-15"
KEY = "unit-test-key-5f2c9a"


def full_address(u: dict, postcode: bool = True) -> str:
    """The address that is hashed: the full profile's has the postcode, the minimal one's does not."""
    a = u["location"]
    street = f"{a['street']['number']} {a['street']['name']}"
    code = f"{a['postcode']}, " if postcode else ""
    return f"{street}, {a['city']}, {a['state']}, {code}{a['country']}"


def shaped_of(raw_df, settings):
    return transform.assemble(raw_df, settings, AS_OF)


# ------------------------------------------------------------------ plain Python
def test_hmac_is_deterministic_keyed_and_nfc_normalised():
    a = hmac_hash("+44 20 7946 0958", KEY)
    assert a == hmac_hash("+44 20 7946 0958", KEY)
    assert a == hmac.new(KEY.encode(), b"+44 20 7946 0958", hashlib.sha256).hexdigest()
    assert len(a) == 64 and int(a, 16) >= 0
    assert a != hmac_hash("+44 20 7946 0958", KEY + "x")
    composed, decomposed = "Québec", unicodedata.normalize("NFD", "Québec")
    assert composed != decomposed
    assert hmac_hash(composed, KEY) == hmac_hash(decomposed, KEY)
    assert hmac_hash(None, KEY) is None


def test_hmac_mode_without_key_is_refused(settings, raw, users):
    s = settings.replace(pii_mode="hmac")  # hmac_key is empty in the test settings
    with pytest.raises(PrivacyError, match="PROFILEPIPE_HMAC_KEY"):
        privacy.check_settings(s)
    with pytest.raises(PrivacyError, match="PROFILEPIPE_HMAC_KEY"):
        shaped_of(raw([users[0]]), s)
    with pytest.raises(PrivacyError, match="PROFILEPIPE_HMAC_KEY"):
        privacy.hmac_pads("")


def test_prehash_is_always_44_ascii_bytes():
    for value in ["", "a", "x" * 1000, "Булевар краља Александра Карађорђевића " * 5, "😀" * 40]:
        p = privacy.prehash(value)
        assert len(p) == 44 and p.isascii()
    assert privacy.prehash("Québec") == privacy.prehash(unicodedata.normalize("NFD", "Québec"))


def test_derived_salt_is_accepted_deterministic_and_unique():
    salt = privacy.derived_salt("0f8a7c2e-1b3d-4e5f-8a9b-0c1d2e3f4a5b", "phone", 4)
    assert salt.startswith(b"$2b$04$") and len(salt) == 29
    assert salt == privacy.derived_salt("0f8a7c2e-1b3d-4e5f-8a9b-0c1d2e3f4a5b", "phone", 4)
    assert salt != privacy.derived_salt("0f8a7c2e-1b3d-4e5f-8a9b-0c1d2e3f4a5b", "address", 4)
    assert salt != privacy.derived_salt("1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d", "phone", 4)
    hashed = bcrypt.hashpw(b"value", salt)  # bcrypt accepts it and keeps it
    assert hashed.startswith(salt)
    # many salts, every one accepted (the 22nd character carries 2 bits only)
    for i in range(200):
        s = privacy.derived_salt(f"user-{i}", "address", 4)
        assert bcrypt.hashpw(b"x", s)[:29] == s


def test_bcrypt_hash_format_rerun_and_checkpw():
    h = privacy.bcrypt_hash("017687 22514", "0f8a7c2e-1b3d-4e5f-8a9b-0c1d2e3f4a5b", "phone", cost=4)
    assert isinstance(h, str) and len(h) == 60 and h.startswith("$2b$04$")
    assert h == privacy.bcrypt_hash("017687 22514", "0f8a7c2e-1b3d-4e5f-8a9b-0c1d2e3f4a5b", "phone", cost=4)
    assert bcrypt.checkpw(privacy.prehash("017687 22514"), h.encode())
    assert not bcrypt.checkpw(privacy.prehash("017687 22515"), h.encode())


def test_long_values_sharing_72_bytes_do_not_collide():
    base = "Булевар краља Александра Карађорђевића, Нови Београд, "  # > 72 bytes of UTF-8
    assert len(base.encode()) > 72
    a = privacy.bcrypt_hash(base + "11070, Serbia", "u", "address", 4)
    b = privacy.bcrypt_hash(base + "11071, Serbia", "u", "address", 4)
    assert a != b


def test_threaded_batch_equals_sequential():
    ids = [f"user-{i}" for i in range(12)] + [None]
    phones = [f"+49 30 {i:07d}" for i in range(12)] + ["x"]
    addrs = [None] + [f"{i} Long Street, Town, State, {i:05d}, Country" for i in range(12)]
    threaded = privacy.hash_columns(ids, phones, addrs, 4, threads=True)
    sequential = privacy.hash_columns(ids, phones, addrs, 4, threads=False)
    assert threaded == sequential
    assert threaded[0][-1] is None and threaded[1][0] is None  # no user id or no value: no hash
    assert privacy.pool_size() >= 1


# ------------------------------------------------------------------ in Spark
def test_bcrypt_in_spark_verifies_long_addresses(raw, settings, users):
    stored = {r["nationality"]: r for r in transform.stored_rows(shaped_of(raw(users), settings)).collect()}
    rs = next(u for u in users if u["nat"] == "RS")
    address = full_address(rs, postcode=False)  # the default profile, minimal, hashes no postcode
    assert len(address.encode("utf-8")) > 100
    h = stored["RS"]["address_hash"]
    assert len(h) == 60 and h.startswith("$2b$04$")
    assert bcrypt.checkpw(privacy.prehash(address), h.encode())
    assert bcrypt.checkpw(privacy.prehash(rs["phone"]), stored["RS"]["phone_hash"].encode())
    for u in users[:8]:  # every stored user's address verifies
        address = full_address(u, postcode=False)
        assert bcrypt.checkpw(privacy.prehash(address), stored[u["nat"]]["address_hash"].encode())


def test_bcrypt_default_cost_12_is_stable_across_reruns(raw, settings, users):
    s = settings.replace(bcrypt_cost=12)
    assert s.bcrypt_cost == type(settings)().bcrypt_cost == 12  # the default cost
    df = raw(users[:2])
    first = sorted(
        tuple(r)
        for r in transform.stored_rows(shaped_of(df, s))
        .select("user_id", "phone_hash", "address_hash")
        .collect()
    )
    second = sorted(
        tuple(r)
        for r in transform.stored_rows(shaped_of(df, s))
        .select("user_id", "phone_hash", "address_hash")
        .collect()
    )
    assert first == second
    for _, phone_hash, address_hash in first:
        for h in (phone_hash, address_hash):
            assert isinstance(h, str) and len(h) == 60 and h.startswith("$2b$12$")
    assert bcrypt.checkpw(
        privacy.prehash(users[0]["phone"]),
        next(p for u, p, _ in first if u == users[0]["login"]["uuid"]).encode(),
    )


@pytest.mark.parametrize("profile", ["minimal", "full"])
def test_hmac_in_spark_matches_plain_python_and_key_stays_out_of_the_plan(raw, settings, users, profile):
    s = settings.replace(pii_mode="hmac", hmac_key=KEY, store_profile=profile)
    shaped = shaped_of(raw(users[:3]), s)
    plan = shaped._jdf.queryExecution().toString()
    assert KEY not in plan
    rows = {r["user_id"]: r for r in transform.stored_rows(shaped).collect()}
    for u in users[:3]:
        r = rows[u["login"]["uuid"]]
        assert r["phone_hash"] == hmac_hash(u["phone"], KEY)
        assert r["address_hash"] == hmac_hash(full_address(u, postcode=profile == "full"), KEY)


def test_hash_udf_runs_once_per_plan(raw, settings, users):
    stored = transform.stored_rows(shaped_of(raw(users[:2]), settings))
    plan = stored._jdf.queryExecution().executedPlan().toString()
    assert plan.count("ArrowEvalPython") == 1


def test_hash_pii_passes_an_already_hashed_frame_through(raw, settings, users):
    stored = transform.stored_rows(shaped_of(raw(users[:1]), settings))
    assert privacy.hash_pii(stored, settings) is stored


# ------------------------------------------------------------------ nothing secret leaves
def secrets_of(u: dict) -> list[str]:
    login = u["login"]
    return [
        login["password"],
        login["salt"],
        login["md5"],
        login["sha1"],
        login["sha256"],
        u["phone"],
        u["cell"],
        u["location"]["street"]["name"],
        u["email"].split("@")[0],
        full_address(u),
        u["email"],
    ] + ([u["id"]["value"]] if u["id"]["value"] else [])


@pytest.mark.parametrize("mode", ["bcrypt", "hmac"])
def test_no_forbidden_value_in_any_output(raw, settings, users, user, mode):
    s = settings.replace(pii_mode=mode, hmac_key=KEY if mode == "hmac" else None)
    bad = user(login__uuid="not-a-uuid")
    values = [{"results": users}, bad, user(dob__date="garbage")]
    shaped = shaped_of(raw(values), s).persist()
    try:
        outputs = {
            "shaped": [r.asDict() for r in shaped.collect()],
            "stored": [r.asDict() for r in transform.stored_rows(shaped).collect()],
            "dead_letters": [r.asDict() for r in transform.dead_letters(shaped).collect()],
            "aggregates": [r.asDict() for r in aggregates.compute(transform.stored_rows(shaped)).collect()],
        }
        counts = transform.outcome_counts(shaped)
    finally:
        shaped.unpersist()
    text = json.dumps(outputs, ensure_ascii=False, default=str)
    assert counts == {"read": 11, "stored": 8, "filtered_minor": 1, "erased": 0, "dead_letter": 2}
    assert len(outputs["stored"]) == 8
    forbidden = [v for u in users + [bad] for v in secrets_of(u)]
    leaked = [v for v in forbidden if v in text]
    assert leaked == []
    columns = set(outputs["shaped"][0])
    assert not columns & {"phone", "cell", "address", "email", "password", "salt", "md5", "sha1", "sha256"}
