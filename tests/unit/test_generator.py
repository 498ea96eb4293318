"""The seeded offline generator: determinism, v1.4 shape per nationality, minors, quirks."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections import Counter

import pytest

from profilepipe.contract import NATIONALITIES, USER_KEYS, UUID_PATTERN, age_on
from profilepipe.sources import formats
from profilepipe.sources import generator as g

AS_OF = dt.date(2026, 6, 1)
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
LOCATION_KEYS = ["street", "city", "state", "country", "postcode", "coordinates", "timezone"]
LOGIN_KEYS = ["uuid", "username", "password", "salt", "md5", "sha1", "sha256"]
POSTCODE_RE = {
    "CA": r"^[A-Z]\d[A-Z] \d[A-Z]\d$",
    "GB": r"^[A-Z]{1,2}\d{1,2}[A-Z]? \d[A-Z]{2}$",
    "NL": r"^[1-9]\d{3} [A-Z]{2}$",
    "NO": r"^\d{4}$",
}
PERSIAN = re.compile(r"[\u0600-\u06FF]")
CYRILLIC = re.compile(r"[\u0400-\u04FF]")


@pytest.fixture(scope="module")
def per_nat():
    return {nat: g.generate_users(40, seed=f"shape-{nat}", nats=[nat], as_of=AS_OF) for nat in NATIONALITIES}


# ------------------------------------------------------------------ determinism
def test_same_seed_same_users_byte_for_byte():
    a = g.generate_users(300, seed="det", as_of=AS_OF)
    b = g.generate_users(300, seed="det", as_of=AS_OF)
    assert json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)


def test_other_seed_or_page_gives_other_users():
    a = g.generate_users(50, seed="det", as_of=AS_OF)
    b = g.generate_users(50, seed="det2", as_of=AS_OF)
    c = g.generate_users(50, seed="det", as_of=AS_OF, page=2)
    uuids = [{u["login"]["uuid"] for u in x} for x in (a, b, c)]
    assert not (uuids[0] & uuids[1]) and not (uuids[0] & uuids[2])
    assert json.dumps(a) != json.dumps(b)


def test_uuids_unique_and_v4():
    users = g.generate_users(5000, seed="uuids", as_of=AS_OF)
    ids = [u["login"]["uuid"] for u in users]
    assert len(set(ids)) == len(ids)
    assert all(UUID_RE.match(i) and uuid.UUID(i).version == 4 for i in ids)


def test_iterator_and_list_agree():
    assert list(g.iter_users(30, seed="it", as_of=AS_OF)) == g.generate_users(30, seed="it", as_of=AS_OF)


def test_envelope():
    env = g.generate_envelope(7, seed="env", as_of=AS_OF, page=3)
    assert list(env) == ["results", "info"]
    assert env["info"] == {"seed": "env", "results": 7, "page": 3, "version": "1.4"}
    assert env["results"] == g.generate_users(7, seed="env", as_of=AS_OF, page=3)


def test_nationality_filter_and_validation():
    users = g.generate_users(60, seed="nats", nats="gb,fr", as_of=AS_OF)
    assert {u["nat"] for u in users} == {"GB", "FR"}
    with pytest.raises(ValueError, match="XX"):
        g.generate_users(1, nats=["GB", "XX"])
    with pytest.raises(ValueError):
        g.generate_users(5, minor_share=1.5)


def test_all_nationalities_drawn_by_default():
    users = g.generate_users(2000, seed="all", as_of=AS_OF)
    assert set(Counter(u["nat"] for u in users)) == set(NATIONALITIES)
    assert len(NATIONALITIES) == 21


# ------------------------------------------------------------------ shape
@pytest.mark.parametrize("nat", NATIONALITIES)
def test_shape_of_every_nationality(per_nat, nat):
    for u in per_nat[nat]:
        assert list(u) == list(USER_KEYS)
        assert u["nat"] == nat
        assert u["gender"] in ("male", "female")
        assert list(u["name"]) == ["title", "first", "last"] and all(u["name"].values())
        loc = u["location"]
        assert list(loc) == LOCATION_KEYS
        assert list(loc["street"]) == ["number", "name"]
        assert isinstance(loc["street"]["number"], int) and 1 <= loc["street"]["number"] <= 9999
        assert loc["country"] == g.nationality(nat).country
        assert list(loc["coordinates"]) == ["latitude", "longitude"]
        lat, lon = loc["coordinates"]["latitude"], loc["coordinates"]["longitude"]
        assert isinstance(lat, str) and isinstance(lon, str)
        assert -90 <= float(lat) <= 90 and -180 <= float(lon) <= 180
        assert list(loc["timezone"]) == ["offset", "description"]
        assert re.match(r"^[+-]?\d{1,2}:\d{2}$", loc["timezone"]["offset"])
        pc = loc["postcode"]
        if nat in formats.STRING_POSTCODE_NATS:
            assert isinstance(pc, str) and re.match(POSTCODE_RE[nat], pc), pc
        else:
            assert isinstance(pc, int) and not isinstance(pc, bool), pc
        assert re.match(r"^[a-z0-9.'-]+@example\.com$", u["email"]), u["email"]
        assert u["email"].isascii()
        assert list(u["login"]) == LOGIN_KEYS
        assert list(u["dob"]) == ["date", "age"] and list(u["registered"]) == ["date", "age"]
        for key in ("dob", "registered"):
            assert DATE_RE.match(u[key]["date"]) and isinstance(u[key]["age"], int)
        assert isinstance(u["phone"], str) and isinstance(u["cell"], str) and u["phone"] and u["cell"]
        assert list(u["id"]) == ["name", "value"]
        assert list(u["picture"]) == ["large", "medium", "thumbnail"]
        assert all(
            v.startswith("https://randomuser.me/api/portraits/") and v.endswith(".jpg")
            for v in u["picture"].values()
        )
        assert u["picture"]["medium"].split("/portraits/")[1].startswith("med/")


@pytest.mark.parametrize("nat", NATIONALITIES)
def test_ids(per_nat, nat):
    for u in per_nat[nat]:
        if nat in formats.NULL_ID_NATS:
            assert u["id"] == {"name": "", "value": None}
        else:
            assert u["id"]["name"] == g.nationality(nat).id_name and isinstance(u["id"]["value"], str)
            assert u["id"]["value"]


def test_id_formats(per_nat):
    assert formats.NULL_ID_NATS == {"IR", "NZ", "TR", "UA"}
    expected_names = {
        "US": "SSN",
        "GB": "NINO",
        "AU": "TFN",
        "FR": "INSEE",
        "CH": "AVS",
        "NL": "BSN",
        "BR": "CPF",
        "CA": "SIN",
        "DE": "SVNR",
        "DK": "CPR",
        "ES": "DNI",
        "FI": "HETU",
        "IE": "PPS",
        "IN": "UIDAI",
        "MX": "NSS",
        "NO": "FN",
        "RS": "SID",
    }
    for nat, name in expected_names.items():
        assert g.nationality(nat).id_name == name
    for u in per_nat["FI"]:
        assert re.match(r"^NaNNA\d{3}undefined$", u["id"]["value"])
    for u in per_nat["US"]:
        assert re.match(r"^\d{3}-\d{2}-\d{4}$", u["id"]["value"])
    for u in per_nat["ES"]:
        num, letter = u["id"]["value"].split("-")
        assert "TRWAGMYFPDXBNJZSQVHLCKE"[int(num) % 23] == letter
    for u in per_nat["CA"]:
        digits = u["id"]["value"]
        assert (
            len(digits) == 9
            and sum(sum(divmod(int(d) * (2 if i % 2 else 1), 10)) for i, d in enumerate(digits)) % 10 == 0
        )
    for u in per_nat["NL"]:
        d = [int(c) for c in u["id"]["value"]]
        assert (sum(x * w for x, w in zip(d[:8], range(9, 1, -1), strict=True)) - d[8]) % 11 == 0
    for u in per_nat["BR"]:
        assert re.match(r"^\d{3}\.\d{3}\.\d{3}-\d{2}$", u["id"]["value"])
    for u in per_nat["DK"] + per_nat["NO"]:
        assert u["id"]["value"].startswith(g.dob_date(u).strftime("%d%m%y"))


def test_postcode_quirks():
    au = [u["location"]["postcode"] for u in g.generate_users(300, seed="au", nats=["AU"], as_of=AS_OF)]
    assert all(isinstance(p, int) for p in au) and any(p < 1000 for p in au) and any(p >= 1000 for p in au)
    no = [u["location"]["postcode"] for u in g.generate_users(100, seed="no", nats=["NO"], as_of=AS_OF)]
    assert any(p.startswith("0") for p in no)  # the leading zero is kept


def test_scripts(per_nat):
    for u in per_nat["IR"]:
        assert PERSIAN.search(u["name"]["first"]) and PERSIAN.search(u["name"]["last"])
    for nat in ("UA", "RS"):
        for u in per_nat[nat]:
            assert CYRILLIC.search(u["name"]["first"]) and CYRILLIC.search(u["name"]["last"])
    for nat in ("IR", "UA", "RS"):  # the email is still ASCII
        assert all(u["email"].isascii() for u in per_nat[nat])


def test_password_hashes(per_nat):
    for users in per_nat.values():
        for u in users:
            login = u["login"]
            salted = (login["password"] + login["salt"]).encode()
            assert login["md5"] == hashlib.md5(salted).hexdigest()
            assert login["sha1"] == hashlib.sha1(salted).hexdigest()
            assert login["sha256"] == hashlib.sha256(salted).hexdigest()
            assert re.match(r"^[A-Za-z0-9]{8}$", login["salt"])


def test_ages_consistent_with_as_of():
    users = g.generate_users(1000, seed="ages", as_of=AS_OF)
    for u in users:
        birth = g.dob_date(u)
        reg = dt.date.fromisoformat(u["registered"]["date"][:10])
        assert u["dob"]["age"] == age_on(birth, AS_OF)
        assert u["registered"]["age"] == age_on(reg, AS_OF)
        assert birth <= AS_OF and reg <= AS_OF and reg >= min(birth, AS_OF)
        assert 0 <= u["dob"]["age"] <= 80


# ------------------------------------------------------------------ minors and edge cases
@pytest.mark.parametrize(
    "as_of", ["2026-06-01", "2028-02-29", "2027-02-28", "2027-03-01", "2026-12-31", "2028-02-28"]
)
def test_minor_share_and_edge_cases(as_of):
    day = dt.date.fromisoformat(as_of)
    users = g.generate_users(500, seed=f"minors-{as_of}", minor_share=0.12, as_of=as_of)
    ages = [age_on(g.dob_date(u), day) for u in users]
    minors = [a for a in ages if a < 18]
    assert len(minors) == 60  # exactly round(500 * 0.12)
    assert all(0 <= a <= 80 for a in ages)
    assert all(a >= 18 for a in ages if a >= 18)
    births = [g.dob_date(u) for u in users]
    one = dt.timedelta(days=1)
    # both sides of the boundary, as close as the calendar allows: the oldest possible minor
    # (one day older would be an adult: on an ordinary day, 18 tomorrow) and the youngest
    # possible adult (one day younger would be a minor: on an ordinary day, 18 today)
    assert any(age_on(b, day) < 18 <= age_on(b - one, day) for b in births)
    assert any(age_on(b + one, day) < 18 <= age_on(b, day) for b in births)
    # born on 29 February, as a minor and as an adult
    feb29 = [b for b in births if (b.month, b.day) == (2, 29)]
    assert any(age_on(b, day) < 18 for b in feb29) and any(age_on(b, day) >= 18 for b in feb29)


def test_turns_18_tomorrow_on_an_ordinary_day():
    users = g.generate_users(100, seed="tomorrow", minor_share=0.1, as_of=AS_OF)
    births = {g.dob_date(u) for u in users}
    assert dt.date(2008, 6, 2) in births  # 18 on 2026-06-02
    assert dt.date(2008, 6, 1) in births  # 18 on 2026-06-01


def test_no_minors_when_not_asked():
    users = g.generate_users(400, seed="adults", minor_share=0.0, as_of=AS_OF)
    assert all(g.expected_outcome(u, AS_OF) == "stored" for u in users)


def test_long_addresses():
    users = g.generate_users(400, seed="long", long_address_share=0.1, as_of=AS_OF)
    long_ones = [u for u in users if len(g.full_address(u).encode("utf-8")) > 100]
    assert len(long_ones) >= 40
    assert any(PERSIAN.search(g.full_address(u)) or CYRILLIC.search(g.full_address(u)) for u in long_ones)
    by_nat = g.generate_users(
        60, seed="long-ir", nats=["IR", "UA", "RS"], long_address_share=1.0, as_of=AS_OF
    )
    assert all(len(g.full_address(u).encode()) > 100 for u in by_nat)
    assert all(not PERSIAN.search(g.full_address(u)) or u["nat"] == "IR" for u in by_nat)


# ------------------------------------------------------------------ expected_outcome
@pytest.mark.parametrize(
    ("birth", "as_of", "outcome"),
    [
        ("2008-06-01", "2026-06-01", "stored"),  # 18 today
        ("2008-06-02", "2026-06-01", "filtered_minor"),  # 18 tomorrow
        ("2008-05-31", "2026-06-01", "stored"),
        ("2008-02-29", "2026-02-28", "filtered_minor"),  # leap-day birthday, common year: reached on 1 March
        ("2008-02-29", "2026-03-01", "stored"),
        ("2010-02-28", "2028-02-29", "stored"),
        ("2010-03-01", "2028-02-29", "filtered_minor"),
        ("2012-02-29", "2030-02-28", "filtered_minor"),
        ("2012-02-29", "2030-03-01", "stored"),
        ("2008-12-31", "2026-12-31", "stored"),
        ("2009-01-01", "2026-12-31", "filtered_minor"),
        ("2026-05-31", "2026-06-01", "filtered_minor"),  # newborn
    ],
)
def test_expected_outcome_at_boundaries(birth, as_of, outcome):
    user = {"dob": {"date": f"{birth}T23:59:59.999Z", "age": 0}}
    assert g.expected_outcome(user, as_of) == outcome
    assert g.expected_outcome(user, dt.date.fromisoformat(as_of)) == outcome


def test_expected_outcome_min_age():
    user = {"dob": {"date": "2006-06-01T00:00:00.000Z", "age": 20}}
    assert g.expected_outcome(user, AS_OF) == "stored"
    assert g.expected_outcome(user, AS_OF, min_age=21) == "filtered_minor"
    assert age_on(dt.date(2004, 2, 29), dt.date(2005, 2, 28)) == 0
    assert age_on(dt.date(2004, 2, 29), dt.date(2005, 3, 1)) == 1


# ------------------------------------------------------------------ malformed messages
def _classify(key, value, as_of=AS_OF):
    """A plain-Python reading of the dead-letter conventions (transform.py applies them in Spark)."""
    try:
        doc = json.loads(value.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "invalid_json"
    if not isinstance(doc, dict) or not any(f in doc for f in USER_KEYS):
        return "not_a_user"
    uid = (doc.get("login") or {}).get("uuid")
    if not uid:
        return "missing_uuid"
    if not re.match(UUID_PATTERN, uid):
        return "invalid_uuid"
    try:
        birth = dt.datetime.strptime((doc.get("dob") or {}).get("date") or "", "%Y-%m-%dT%H:%M:%S.%fZ").date()
    except ValueError:
        return "invalid_dob"
    return "future_dob" if birth > as_of else "ok"


def test_malformed_messages():
    msgs = g.malformed_messages(60, seed="bad")
    assert msgs == g.malformed_messages(60, seed="bad")
    assert Counter(m["expected_reason"] for m in msgs) == {r: 10 for r in g.MALFORMED_REASONS}
    for m in msgs:
        assert set(m) == {"key", "value", "expected_reason", "detail"}
        assert m["key"] is None or isinstance(m["key"], bytes)
        assert isinstance(m["value"], bytes)
        assert _classify(m["key"], m["value"]) == m["expected_reason"], m["detail"]
    assert any(m["detail"].startswith("not UTF-8") for m in msgs)
    # later rounds are built from other users: user-shaped values do not repeat
    user_like = [m["value"] for m in msgs if m["value"].startswith(b'{"gender"')]
    assert len(set(user_like)) == len(user_like)


# ------------------------------------------------------------------ data files
def test_every_nationality_has_its_data_file_and_formats():
    assert set(formats.FORMATS) == set(NATIONALITIES)
    for nat in NATIONALITIES:
        data = g.nationality(nat)
        assert data.nat == nat and data.country and (data.id_name == "") == (nat in formats.NULL_ID_NATS)
        for field in ("male", "female", "last", "streets", "cities", "states", "long_streets", "long_cities"):
            values = getattr(data, field)
            assert isinstance(values, tuple) and values and all(isinstance(v, str) and v for v in values)
    with pytest.raises(ValueError, match="XX"):
        g.nationality("XX")


def test_ascii_fold_transliterates():
    assert formats.ascii_fold("Шевченко") == "shevchenko"
    assert formats.ascii_fold("Zoé Müller-Straße") == "zoemuller-strasse"
    assert formats.ascii_fold("رضایی").isascii() and formats.ascii_fold("رضایی")
