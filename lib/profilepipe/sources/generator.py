"""Seeded offline generator of randomuser.me API v1.4 users.

The live API cannot be reached from CI, never returns a minor and has had long
outages, so the pipeline is tested on users made here. They follow the v1.4 shape
exactly (key order ``contract.USER_KEYS``, types and the per-nationality quirks seen in
real API answers, see :mod:`profilepipe.sources.formats`):

* postcode is an ``int`` for most nationalities, a ``str`` for CA (``"K1A 0B1"``),
  GB (``"SW1A 1AA"``), NL (``"1234 AB"``) and NO (``"0150"``, leading zero kept);
  AU postcodes are sometimes 3 digits;
* ``id`` is ``{"name": "", "value": None}`` for IR, NZ, TR and UA, and FI ids are
  garbage such as ``"NaNNA229undefined"``;
* coordinates are strings, dates are ``YYYY-MM-DDTHH:MM:SS.mmmZ``;
* names are in Persian script for IR and in Cyrillic for UA and RS; emails are
  ``first.last@example.com`` folded to ASCII;
* ``login.md5/sha1/sha256`` are the real digests of ``password + salt``.

Unlike the API, a share of users are minors (``minor_share``, including the edge
cases "turns 18 tomorrow", "born on 29 February" and, among the adults, "turns 18
today"), and a share have addresses longer than 100 UTF-8 bytes
(``long_address_share``). Everything is derived from one ``random.Random`` seeded
from ``(seed, page)``: the same arguments always give the same users, uuids included.
Ages are exact (``contract.age_on``) on the processing date ``as_of``
(``contract.processing_date``).

:func:`malformed_messages` is the small demo set of bad Kafka messages (one defect
each) that ``profilepipe produce --malformed N`` and notebook 01 send; the full
bad-input corpus of the tests is ``tests/support/bad_inputs.py``.

The data are files of this package, read on first use: ``data/nationalities/<NAT>.json``
(country, id name, first and last names, streets, cities, states, long street and city
names), ``data/logins.json`` (passwords, username words), ``data/timezones.json`` and
``data/transliteration.json``. The name, street and city lists were written for this
project (common names and real place names); only the structure of the API's
per-nationality data was studied, none of its data or code is used.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from profilepipe import contract
from profilepipe.contract import API_VERSION, NATIONALITIES
from profilepipe.sources.formats import FORMATS, Person, ascii_fold, load_data, pick

# Registration dates start where the API's do (2002-03-21).
_REGISTERED_MIN = dt.date(2002, 3, 21)
_PICTURE_BASE = "https://randomuser.me/api/portraits/"
_FR_CH_TITLES_F = ("Madame", "Mademoiselle")
_SALT_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_TITLES_F = ("Ms", "Mrs", "Miss")


# --------------------------------------------------------------------------- data files
@dataclass(frozen=True)
class Nationality:
    """One nationality's data file ``data/nationalities/<nat>.json``."""

    nat: str
    country: str  # location.country
    id_name: str  # id.name ("" where the API gives {"name": "", "value": null})
    male: tuple[str, ...]
    female: tuple[str, ...]
    last: tuple[str, ...]
    streets: tuple[str, ...]
    cities: tuple[str, ...]
    states: tuple[str, ...]
    long_streets: tuple[str, ...]  # for addresses over 100 UTF-8 bytes
    long_cities: tuple[str, ...]


@functools.cache
def nationality(nat: str) -> Nationality:
    """The data of one of ``contract.NATIONALITIES``, read from its file on first use."""
    if nat not in NATIONALITIES:
        raise ValueError(f"unknown nationality code {nat!r}; valid codes are {','.join(NATIONALITIES)}")
    data = load_data("nationalities", f"{nat}.json")
    return Nationality(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


@functools.cache
def _logins() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(passwords, username adjectives, username nouns) of ``data/logins.json``."""
    data = load_data("logins.json")
    return tuple(data["passwords"]), tuple(data["username_adjectives"]), tuple(data["username_nouns"])


@functools.cache
def _timezones() -> tuple[tuple[str, str], ...]:
    """(offset, description) like the API's timezone objects (``data/timezones.json``)."""
    return tuple((offset, text) for offset, text in load_data("timezones.json"))


# --------------------------------------------------------------------------- dates and ages
def _shift_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 Feb -> 28 Feb
        return d.replace(year=d.year + years, day=28)


def _youngest_with_age(as_of: dt.date, age: int) -> dt.date:
    """The latest birth date that is at least ``age`` years old on ``as_of``."""
    b = _shift_years(as_of, -age)
    while contract.age_on(b, as_of) < age:
        b -= dt.timedelta(days=1)
    while contract.age_on(b + dt.timedelta(days=1), as_of) >= age:
        b += dt.timedelta(days=1)
    return b


def _iso_ms(d: dt.date, seconds_of_day: int, ms: int) -> str:
    h, rem = divmod(seconds_of_day, 3600)
    m, s = divmod(rem, 60)
    return f"{d.isoformat()}T{h:02d}:{m:02d}:{s:02d}.{ms:03d}Z"


def dob_date(user: dict) -> dt.date:
    """The calendar date (UTC) of ``user["dob"]["date"]``."""
    return dt.date.fromisoformat(str(user["dob"]["date"])[:10])


def expected_outcome(user: dict, as_of: dt.date | str | None = None, min_age: int = 18) -> str:
    """``"stored"`` if the user is at least ``min_age`` on ``as_of``, else ``"filtered_minor"``.

    Plain Python (no Spark): tests use it to predict the counts the pipeline must reach.
    """
    adult = contract.age_on(dob_date(user), contract.processing_date(as_of)) >= min_age
    return contract.STORED if adult else contract.MINOR


# --------------------------------------------------------------------------- the generator
MINOR_EDGE_CASES = ("turns_18_tomorrow", "born_feb29_minor", "newborn")
ADULT_EDGE_CASES = ("turns_18_today", "born_feb29_adult")


def rng_for(seed: object, page: int) -> random.Random:
    """The ``random.Random`` of ``(seed, page)``: every draw of a page comes from it."""
    digest = hashlib.sha256(f"profilepipe-generator|{seed}|{page}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def _nat_codes(nats: str | Iterable[str] | None) -> tuple[str, ...]:
    """The nationalities to draw from (``contract.check_nats``): all of them when none are given."""
    if nats is None or nats == "":
        return NATIONALITIES
    codes = contract.check_nats(nats)
    if not codes:
        raise ValueError(f"no nationality code in {nats!r}; valid codes are {','.join(NATIONALITIES)}")
    return codes


def _last_leap_feb29(on_or_before: dt.date) -> dt.date:
    y = on_or_before.year
    while True:
        try:
            d = dt.date(y, 2, 29)
        except ValueError:
            y -= 1
            continue
        if d <= on_or_before:
            return d
        y -= 1


def _edge_dob(kind: str, as_of: dt.date, rng: random.Random) -> dt.date:
    one = dt.timedelta(days=1)
    if kind == "turns_18_today":
        return _youngest_with_age(as_of, 18)
    if kind == "turns_18_tomorrow":
        # the oldest minor: reaches 18 on the next possible day
        return _youngest_with_age(as_of, 18) + one
    if kind == "newborn":
        return as_of - dt.timedelta(days=rng.randint(0, 30))
    if kind == "born_feb29_minor":
        d = _last_leap_feb29(as_of)
        while contract.age_on(d, as_of) >= 18:  # cannot happen, kept for safety
            d = _last_leap_feb29(d.replace(year=d.year + 4))
        return d
    if kind == "born_feb29_adult":
        return _last_leap_feb29(_youngest_with_age(as_of, 18))
    raise ValueError(kind)


def _random_dob(rng: random.Random, as_of: dt.date, minor: bool) -> dt.date:
    if minor:  # 0..17 on as_of
        lo = _youngest_with_age(as_of, 18) + dt.timedelta(days=1)
        hi = as_of
    else:  # 18..80 on as_of
        lo = _youngest_with_age(as_of, 81) + dt.timedelta(days=1)
        hi = _youngest_with_age(as_of, 18)
    return dt.date.fromordinal(rng.randint(lo.toordinal(), hi.toordinal()))


def _roles(rng: random.Random, count: int, minor_share: float, long_share: float):
    if not 0.0 <= minor_share <= 1.0 or not 0.0 <= long_share <= 1.0:
        raise ValueError("minor_share and long_address_share must be between 0 and 1")
    n_minor = round(count * minor_share)
    n_long = round(count * long_share)
    minors = rng.sample(range(count), n_minor)
    longs = set(rng.sample(range(count), n_long))
    kinds: dict[int, str] = {}
    for i, kind in zip(minors, MINOR_EDGE_CASES, strict=False):
        kinds[i] = kind
    minor_set = set(minors)
    for i in minors[len(MINOR_EDGE_CASES) :]:
        kinds[i] = "minor"
    if n_minor and count - n_minor > 0:
        # adults next to the boundary, only when minors were asked for
        picks = []
        k = rng.randrange(count)
        while len(picks) < min(len(ADULT_EDGE_CASES), count - n_minor):
            if k not in minor_set and k not in picks:
                picks.append(k)
            k = (k + 1) % count
        for i, kind in zip(picks, ADULT_EDGE_CASES, strict=False):
            kinds[i] = kind
    return kinds, longs


def full_address(user: dict) -> str:
    """``"<number> <street>, <city>, <state>, <postcode>, <country>"`` of a v1.4 user."""
    loc = user["location"]
    return (
        f"{loc['street']['number']} {loc['street']['name']}, {loc['city']}, {loc['state']}, "
        f"{loc['postcode']}, {loc['country']}"
    )


def _name(rng: random.Random, nat: str, data: Nationality) -> tuple[str, dict]:
    gender = "male" if rng.random() < 0.5 else "female"
    first = pick(rng, data.male if gender == "male" else data.female)
    last = pick(rng, data.last)
    if gender == "male":
        title = "Monsieur" if nat in ("FR", "CH") and rng.random() < 0.5 else "Mr"
    else:
        titles = _TITLES_F + _FR_CH_TITLES_F if nat in ("FR", "CH") else _TITLES_F
        title = pick(rng, titles)
    return gender, {"title": title, "first": first, "last": last}


def _location(rng: random.Random, nat: str, data: Nationality, long_address: bool) -> dict:
    street_number = rng.randint(1, 9999)
    street = pick(rng, data.streets)
    city = pick(rng, data.cities)
    state = pick(rng, data.states)
    postcode = FORMATS[nat].postcode(rng)
    if long_address:
        street = pick(rng, data.long_streets)
        city = pick(rng, data.long_cities)
        while len(f"{street_number} {street}, {city}, {state}, {postcode}, {data.country}".encode()) <= 100:
            street = f"{street} {pick(rng, data.streets)}"
    latitude = f"{rng.uniform(-90, 90):.4f}"
    longitude = f"{rng.uniform(-180, 180):.4f}"
    tz_offset, tz_desc = pick(rng, _timezones())
    return {
        "street": {"number": street_number, "name": street},
        "city": city,
        "state": state,
        "country": data.country,
        "postcode": postcode,
        "coordinates": {"latitude": latitude, "longitude": longitude},
        "timezone": {"offset": tz_offset, "description": tz_desc},
    }


def _login(rng: random.Random) -> dict:
    passwords, adjectives, nouns = _logins()
    password = pick(rng, passwords)
    salt = "".join(rng.choices(_SALT_CHARS, k=8))
    salted = (password + salt).encode()
    user_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    username = f"{pick(rng, adjectives)}{pick(rng, nouns)}{rng.randint(100, 999)}"
    return {
        "uuid": user_uuid,
        "username": username,
        "password": password,
        "salt": salt,
        "md5": hashlib.md5(salted).hexdigest(),
        "sha1": hashlib.sha1(salted).hexdigest(),
        "sha256": hashlib.sha256(salted).hexdigest(),
    }


def _dates(rng: random.Random, as_of: dt.date, kind: str) -> tuple[dt.date, dict, dict]:
    """(birth date, ``dob``, ``registered``) of a user of role ``kind`` (see ``_roles``)."""
    if kind == "adult":
        dob = _random_dob(rng, as_of, minor=False)
    elif kind == "minor":
        dob = _random_dob(rng, as_of, minor=True)
    else:
        dob = _edge_dob(kind, as_of, rng)
    dob_str = _iso_ms(dob, rng.randint(0, 86399), rng.randint(0, 999))
    reg_lo = max(_REGISTERED_MIN, dob)
    reg_hi = max(reg_lo, as_of - dt.timedelta(days=1))
    registered = dt.date.fromordinal(rng.randint(reg_lo.toordinal(), reg_hi.toordinal()))
    reg_str = _iso_ms(registered, rng.randint(0, 86399), rng.randint(0, 999))
    return (
        dob,
        {"date": dob_str, "age": contract.age_on(dob, as_of)},
        {"date": reg_str, "age": contract.age_on(registered, as_of)},
    )


def _make_user(rng: random.Random, nat: str, as_of: dt.date, kind: str, long_address: bool) -> dict:
    """One v1.4 user; the draws happen in a fixed order (name, location, login, dates, id, phones)."""
    data, fmt = nationality(nat), FORMATS[nat]
    gender, name = _name(rng, nat, data)
    location = _location(rng, nat, data, long_address)
    login = _login(rng)
    birth, dob, registered = _dates(rng, as_of, kind)
    id_value = fmt.id_value(rng, Person(gender, name["first"], name["last"], birth))
    phone = fmt.phone(rng)
    cell = fmt.cell(rng)
    pic_id = rng.randint(0, 99 if gender == "male" else 96)
    folder = "men" if gender == "male" else "women"
    return {
        "gender": gender,
        "name": name,
        "location": location,
        "email": f"{ascii_fold(name['first'])}.{ascii_fold(name['last'])}@example.com",
        "login": login,
        "dob": dob,
        "registered": registered,
        "phone": phone,
        "cell": cell,
        "id": {"name": data.id_name, "value": id_value},
        "picture": {
            "large": f"{_PICTURE_BASE}{folder}/{pic_id}.jpg",
            "medium": f"{_PICTURE_BASE}med/{folder}/{pic_id}.jpg",
            "thumbnail": f"{_PICTURE_BASE}thumb/{folder}/{pic_id}.jpg",
        },
        "nat": nat,
    }


def iter_users(
    count: int,
    seed: object = "profilepipe",
    nats: str | Iterable[str] | None = None,
    minor_share: float = 0.1,
    long_address_share: float = 0.05,
    as_of: dt.date | str | None = None,
    page: int = 1,
) -> Iterator[dict]:
    """Yield ``count`` v1.4 users, deterministic in all arguments (see module doc).

    ``round(count * minor_share)`` users are 0-17 years old on ``as_of`` (the first of
    them are the edge cases of ``MINOR_EDGE_CASES``; when there is at least one minor,
    two adults get ``ADULT_EDGE_CASES`` dobs), ``round(count * long_address_share)``
    have a full address over 100 UTF-8 bytes. ``page`` gives another, independent
    set of users for the same seed, like the API's paging.
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    codes = _nat_codes(nats)
    day = contract.processing_date(as_of)
    rng = rng_for(seed, page)
    kinds, longs = _roles(rng, count, minor_share, long_address_share)
    for i in range(count):
        nat = codes[rng.randrange(len(codes))]
        yield _make_user(rng, nat, day, kinds.get(i, "adult"), i in longs)


def generate_users(
    count: int,
    seed: object = "profilepipe",
    nats: str | Iterable[str] | None = None,
    minor_share: float = 0.1,
    long_address_share: float = 0.05,
    as_of: dt.date | str | None = None,
    page: int = 1,
) -> list[dict]:
    """A list of :func:`iter_users`."""
    return list(
        iter_users(
            count,
            seed=seed,
            nats=nats,
            minor_share=minor_share,
            long_address_share=long_address_share,
            as_of=as_of,
            page=page,
        )
    )


def generate_envelope(
    count: int,
    seed: object = "profilepipe",
    nats: str | Iterable[str] | None = None,
    minor_share: float = 0.1,
    long_address_share: float = 0.05,
    as_of: dt.date | str | None = None,
    page: int = 1,
) -> dict:
    """An API-shaped response: ``{"results": [...], "info": {seed, results, page, version}}``."""
    users = generate_users(
        count,
        seed=seed,
        nats=nats,
        minor_share=minor_share,
        long_address_share=long_address_share,
        as_of=as_of,
        page=page,
    )
    return {
        "results": users,
        "info": {"seed": str(seed), "results": count, "page": page, "version": API_VERSION},
    }


def user_json(user: dict) -> str:
    """The compact JSON text of one user, non-ASCII kept (as the producer sends it)."""
    return json.dumps(user, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- malformed messages
#: The reasons a message of :func:`malformed_messages` gets, in ``contract.REASONS`` order:
#: all but ``too_large`` (a value over 512 KiB has no place in a small demo set; the tests'
#: corpus has it) and ``duplicate_in_batch`` (a property of a batch, not of one message).
MALFORMED_REASONS = tuple(
    r for r in contract.REASONS if r not in (contract.TOO_LARGE, contract.DUPLICATE_IN_BATCH)
)


def _malformed_cases(rng: random.Random, base: Sequence[dict]) -> list[tuple[str, str, bytes | None, bytes]]:
    """(reason, detail, key, value) cases, each built from a valid user with one defect.

    One flat list, one case after the other in reason order: a little over 60 lines, read
    top to bottom; splitting it would only scatter the cases.
    """

    def user(i: int) -> dict:
        return json.loads(json.dumps(base[i % len(base)]))

    def enc(u: object) -> bytes:
        return json.dumps(u, ensure_ascii=False).encode("utf-8")

    def key_of(u: dict) -> bytes:
        return u["login"]["uuid"].encode()

    cases: list[tuple[str, str, bytes | None, bytes]] = []
    u = user(0)
    cases.append((contract.INVALID_JSON, "truncated JSON", key_of(u), enc(u)[: len(enc(u)) // 2]))
    cases.append((contract.INVALID_JSON, "plain text", None, b"this is not json"))
    u = user(1)
    u["name"]["first"] = "Zoé"
    cases.append(
        (
            contract.INVALID_JSON,
            "not UTF-8 (Latin-1 bytes)",
            key_of(u),
            json.dumps(u, ensure_ascii=False).encode("latin-1", errors="replace"),
        )
    )
    cases.append((contract.INVALID_JSON, "not UTF-8 (binary)", b"binary", b"\xff\xfe\x00\x81garbage\xc3"))
    cases.append((contract.NOT_A_USER, "JSON array", None, b"[1, 2]"))
    cases.append((contract.NOT_A_USER, "object without user fields", b"foo", b'{"foo": 1}'))
    cases.append((contract.NOT_A_USER, "empty object", None, b"{}"))
    u = user(2)
    del u["login"]
    cases.append((contract.MISSING_UUID, "no login object", None, enc(u)))
    u = user(3)
    del u["login"]["uuid"]
    cases.append((contract.MISSING_UUID, "login without uuid", None, enc(u)))
    u = user(4)
    u["login"]["uuid"] = None
    cases.append((contract.MISSING_UUID, "login.uuid is null", None, enc(u)))
    u = user(5)
    u["login"]["uuid"] = "not-a-uuid"
    cases.append((contract.INVALID_UUID, "not a uuid", b"not-a-uuid", enc(u)))
    u = user(6)
    u["login"]["uuid"] = u["login"]["uuid"][:-1] + "g"
    cases.append((contract.INVALID_UUID, "non-hex character", key_of(u), enc(u)))
    u = user(11)
    u["login"]["uuid"] = u["login"]["uuid"][:8]
    cases.append((contract.INVALID_UUID, "too short", key_of(u), enc(u)))
    u = user(7)
    u["dob"]["date"] = "not a date"
    cases.append((contract.INVALID_DOB, "unparseable dob", key_of(u), enc(u)))
    u = user(8)
    u["dob"]["date"] = "1990-13-45T00:00:00.000Z"
    cases.append((contract.INVALID_DOB, "impossible month/day", key_of(u), enc(u)))
    u = user(9)
    del u["dob"]
    cases.append((contract.INVALID_DOB, "no dob", key_of(u), enc(u)))
    u = user(10)
    u["dob"]["date"] = f"{2100 + rng.randint(0, 90)}-06-15T12:00:00.000Z"
    u["dob"]["age"] = -80
    cases.append((contract.FUTURE_DOB, "dob decades in the future", key_of(u), enc(u)))
    return cases


def malformed_messages(count: int, seed: object = "profilepipe-malformed") -> list[dict]:
    """``count`` bad Kafka messages, each ``{"key", "value", "expected_reason", "detail"}``.

    Keys and values are bytes (key may be None). Every message has exactly one
    defect; reasons cycle through all of :data:`MALFORMED_REASONS`, so any
    ``count >= len(MALFORMED_REASONS)`` (6) covers each reason. Conventions the transform must follow:

    * ``invalid_json``: bytes that are not UTF-8 or not valid JSON;
    * ``not_a_user``: valid JSON that is not an object, or an object with none of
      the v1.4 user fields;
    * ``missing_uuid``: a user object without ``login``/``login.uuid`` (or null);
    * ``invalid_uuid``: ``login.uuid`` is not a canonical 8-4-4-4-12 hex uuid;
    * ``invalid_dob``: ``dob``/``dob.date`` missing or unparseable;
    * ``future_dob``: ``dob.date`` after the processing date.
    """
    out = []
    rounds: dict[int, dict[str, list]] = {}
    n_reasons = len(MALFORMED_REASONS)
    for i in range(count):
        reason = MALFORMED_REASONS[i % n_reasons]
        rnd = i // n_reasons
        if rnd not in rounds:  # each round is built from other users, so messages differ
            rng = rng_for(seed, rnd)
            base = generate_users(
                16, seed=f"{seed}|base", minor_share=0.0, long_address_share=0.0, page=rnd + 1
            )
            cases = _malformed_cases(rng, base)
            rounds = {rnd: {r: [c for c in cases if c[0] == r] for r in MALFORMED_REASONS}}
        variants = rounds[rnd][reason]
        _, detail, key, value = variants[rnd % len(variants)]
        out.append({"key": key, "value": value, "expected_reason": reason, "detail": detail})
    return out


__all__ = [
    "API_VERSION",
    "NATIONALITIES",
    "MALFORMED_REASONS",
    "MINOR_EDGE_CASES",
    "ADULT_EDGE_CASES",
    "Nationality",
    "nationality",
    "rng_for",
    "iter_users",
    "generate_users",
    "generate_envelope",
    "malformed_messages",
    "expected_outcome",
    "dob_date",
    "full_address",
    "user_json",
]
