"""The bad-input corpus: one Kafka message per distinct defect, with what the transform must make of it.

:func:`bad_inputs` builds ~90 messages from generated users (``profilepipe.sources.generator``):
not JSON, truncated JSON, JSON that is not a user, envelopes mixing valid, minor and broken
users, every way to break ``login.uuid`` and ``dob``, wrong JSON types in the other fields,
bytes that are not UTF-8, values over and under ``max_message_bytes``, tombstones and odd
keys, duplicates inside one batch, scripts and nesting the API never sends. Each
:class:`BadInput` carries its expected outcomes (``contract.OUTCOMES``, dead-letter
reasons of ``contract.REASONS``) and the personal strings (``contract.PII_PATHS``) of
the users inside it, which no dead letter may hold.

Only tests use it (``tests/spark/test_bad_input.py`` on the Spark transform,
``tests/integration/test_bad_input_stream.py`` through Kafka and the stream); the small
demo set of ``profilepipe produce --malformed`` is ``generator.malformed_messages``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from profilepipe import contract
from profilepipe.contract import API_VERSION, PII_PATHS, USER_KEYS
from profilepipe.sources.formats import ascii_fold
from profilepipe.sources.generator import full_address, generate_users, rng_for

#: Size of the ``too_large`` values of :func:`bad_inputs`: over the default
#: ``max_message_bytes`` (512 KiB), and over 1 MiB.
TOO_LARGE_BYTES = 1_048_600
#: Size of the big but acceptable user of :func:`bad_inputs`: under the default limit.
LARGE_OK_BYTES = 400_000


@dataclass(frozen=True)
class BadInput:
    """One distinct bad (or odd) Kafka message and what the transform must make of it.

    ``key``/``value`` are the message bytes (either may be None). ``records`` is how
    many records the transform counts (an envelope of n users: n, anything else 1) and
    ``outcomes`` holds ``(outcome, dead-letter reason or None)`` per record, in record
    order. ``pii`` lists the personal strings of the users inside the message (phone,
    cell, street name, email local part, login password/salt/md5/sha1/sha256): no dead
    letter may contain any of them, no stored row a phone or street in clear.
    """

    name: str
    key: bytes | None
    value: bytes | None
    records: int
    outcomes: tuple[tuple[str, str | None], ...]
    pii: tuple[str, ...] = ()


def _pii_value(user: object, kind: str, path: tuple[str, ...]) -> object:
    node = user
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    if kind == "street address":  # the street's name: its number alone identifies no one
        node = node.get("name") if isinstance(node, dict) else None
    return node


def _pii(*users: object) -> tuple[str, ...]:
    """The PII strings (see ``BadInput.pii``) found in ``users``, whatever their shape."""
    found: list[str] = []
    for u in users:
        for kind, path in PII_PATHS.items():
            node = _pii_value(u, kind, path)
            if isinstance(node, bool) or not isinstance(node, str | int | float):
                continue
            text = str(node)
            if kind == "email local part":
                text = text.split("@", 1)[0]
            if len(text) >= 4 and text not in found:  # shorter: not identifying, matches by chance
                found.append(text)
    return tuple(found)


def _jbytes(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _padded_street(u: dict, total: int) -> bytes:
    """``u`` as JSON of exactly ``total`` bytes, by growing its (ASCII) street name."""
    street = ascii_fold(u["location"]["street"]["name"]) or "highstreet"
    u["location"]["street"]["name"] = ""
    room = total - len(_jbytes(u))
    u["location"]["street"]["name"] = ((street + " ") * (room // (len(street) + 1) + 1))[:room]
    value = _jbytes(u)
    assert len(value) == total, (len(value), total)
    return value


STORED, MINOR = (contract.STORED, None), (contract.MINOR, None)


def dead(reason: str) -> tuple[str, str]:
    return (contract.DEAD, reason)


def key(u: dict) -> bytes:
    return u["login"]["uuid"].encode()


def set_path(path: str, value):
    def change(u):
        *parents, leaf = path.split(".")
        node = u
        for p in parents:
            node = node[p]
        node[leaf] = value

    return change


def drop(path: str):
    def change(u):
        *parents, leaf = path.split(".")
        node = u
        for p in parents:
            node = node[p]
        del node[leaf]

    return change


class _Corpus:
    """The corpus being built: its users (each used once), its random draws and its entries."""

    def __init__(self, day: dt.date, seed: object):
        self.day, self.seed = day, seed
        self.rng = rng_for(seed, 0)
        self._pool = iter(
            generate_users(120, seed=f"{seed}|users", minor_share=0.0, long_address_share=0.0, as_of=day)
        )
        self._minors = iter(
            generate_users(4, seed=f"{seed}|minors", minor_share=1.0, long_address_share=0.0, as_of=day)
        )
        self.out: list[BadInput] = []

    def _secret(self, u: dict) -> dict:
        login = u["login"]
        login["password"] = f"{login['password']}{self.rng.randint(1000, 9999)}!"
        salted = (login["password"] + login["salt"]).encode()
        login["md5"] = hashlib.md5(salted).hexdigest()
        login["sha1"] = hashlib.sha1(salted).hexdigest()
        login["sha256"] = hashlib.sha256(salted).hexdigest()
        return u

    def fresh(self) -> dict:
        return self._secret(next(self._pool))

    def minor(self) -> dict:
        return self._secret(next(self._minors))

    def add(self, name, value, outcomes, k=None, users=()) -> None:
        self.out.append(BadInput(name, k, value, len(outcomes), tuple(outcomes), _pii(*users)))

    def user_case(self, name, change, outcome, keyed=True) -> None:
        """A fresh user changed in place by ``change(u)``; keyed by its original uuid."""
        u = self.fresh()
        original = json.loads(json.dumps(u))
        change(u)
        self.add(name, _jbytes(u), [outcome], key(original) if keyed else None, (original, u))


def _not_json(c: _Corpus) -> None:
    """Not JSON at all."""
    c.add("not_json_text", b"this is not json", [dead("invalid_json")])
    c.add(
        "not_json_html_error_page",
        b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        [dead("invalid_json")],
    )
    c.add("empty_value", b"", [dead("invalid_json")])
    c.add("whitespace_value", b" \r\n\t ", [dead("invalid_json")])


def _truncated_json(c: _Corpus) -> None:
    """Truncated JSON (from_json alone would keep a partial user or envelope)."""
    u = c.fresh()
    c.add("truncated_user_half", _jbytes(u)[: len(_jbytes(u)) // 2], [dead("invalid_json")], key(u), (u,))
    u = c.fresh()
    text = _jbytes(u)
    c.add("truncated_user_after_key", text[: text.index(b'"dob":') + 6], [dead("invalid_json")], key(u), (u,))
    u = c.fresh()
    c.add("user_without_closing_brace", _jbytes(u)[:-1], [dead("invalid_json")], key(u), (u,))
    a, b, z = c.fresh(), c.fresh(), c.fresh()
    text = _jbytes({"results": [a, b, z]})
    c.add(
        "envelope_truncated_after_a_user",
        text[: text.index(_jbytes(z)) - 1],
        [dead("invalid_json")],
        None,
        (a, b, z),
    )


def _not_a_user(c: _Corpus) -> None:
    """JSON, but not a user object."""
    u = c.fresh()
    c.add("json_array_of_users", _jbytes([u]), [dead("not_a_user")], key(u), (u,))
    c.add("json_number", b"42", [dead("not_a_user")])
    c.add("json_string", b'"a user"', [dead("not_a_user")])
    c.add("json_null", b"null", [dead("not_a_user")])
    c.add("json_true", b"true", [dead("not_a_user")])
    c.add("empty_object", b"{}", [dead("not_a_user")])
    c.add("empty_results", b'{"results": []}', [dead("not_a_user")])
    c.add("results_not_a_list", b'{"results": "none today"}', [dead("not_a_user")])
    c.add("results_null", b'{"results": null, "info": {"results": 0}}', [dead("not_a_user")])
    c.add(
        "api_error_object",
        b'{"error": "Uh oh, something has gone wrong. Please tweet us @randomapi"}',
        [dead("not_a_user")],
    )
    c.add("user_with_all_fields_null", _jbytes(dict.fromkeys(USER_KEYS)), [dead("not_a_user")])
    u = c.fresh()
    c.add("nested_envelope", _jbytes({"results": [{"results": [u]}]}), [dead("not_a_user")], None, (u,))


def _mixed_envelope(c: _Corpus) -> None:
    """An envelope mixing valid, minor and broken users."""
    ok1, kid, bad_uuid, no_dob, future, ok2 = c.fresh(), c.minor(), c.fresh(), c.fresh(), c.fresh(), c.fresh()
    bad_uuid["login"]["uuid"] = "not-a-uuid"
    del no_dob["dob"]
    future["dob"]["date"] = f"{(c.day + dt.timedelta(days=1)).isoformat()}T00:00:00.000Z"
    members = [ok1, kid, bad_uuid, 7, {"foo": 1}, None, "a user", no_dob, future, ok2]
    c.add(
        "envelope_mixing_valid_minor_and_broken_users",
        _jbytes({"results": members, "info": {"seed": str(c.seed), "results": len(members), "page": 1}}),
        [
            STORED,
            MINOR,
            dead("invalid_uuid"),
            dead("not_a_user"),
            dead("not_a_user"),
            dead("not_a_user"),
            dead("not_a_user"),
            dead("invalid_dob"),
            dead("future_dob"),
            STORED,
        ],
        None,
        (ok1, kid, bad_uuid, no_dob, future, ok2),
    )


def _uuids(c: _Corpus) -> None:
    """Login / uuid."""
    c.user_case("user_without_login", drop("login"), dead("missing_uuid"), keyed=False)
    c.user_case("login_without_uuid", drop("login.uuid"), dead("missing_uuid"), keyed=False)
    c.user_case("uuid_null", set_path("login.uuid", None), dead("missing_uuid"), keyed=False)
    c.user_case("uuid_empty", set_path("login.uuid", ""), dead("missing_uuid"), keyed=False)
    c.user_case("uuid_blank", set_path("login.uuid", "   "), dead("missing_uuid"), keyed=False)
    c.user_case("uuid_not_a_uuid", set_path("login.uuid", "not-a-uuid"), dead("invalid_uuid"))
    c.user_case(
        "uuid_with_braces",
        lambda u: set_path("login.uuid", "{" + u["login"]["uuid"] + "}")(u),
        dead("invalid_uuid"),
    )
    c.user_case(
        "uuid_without_dashes",
        lambda u: set_path("login.uuid", u["login"]["uuid"].replace("-", ""))(u),
        dead("invalid_uuid"),
    )
    c.user_case(
        "uuid_non_hex",
        lambda u: set_path("login.uuid", u["login"]["uuid"][:-1] + "g")(u),
        dead("invalid_uuid"),
    )
    c.user_case("uuid_number", set_path("login.uuid", 20260115), dead("invalid_uuid"))
    c.user_case(
        "uuid_object",
        lambda u: set_path("login.uuid", {"value": u["login"]["uuid"]})(u),
        dead("invalid_uuid"),
    )
    c.user_case("uuid_upper_case", lambda u: set_path("login.uuid", u["login"]["uuid"].upper())(u), STORED)
    c.user_case(
        "uuid_padded_with_spaces", lambda u: set_path("login.uuid", f"  {u['login']['uuid']} ")(u), STORED
    )
    c.user_case("login_string", set_path("login", "tinyzebra301"), dead("missing_uuid"), keyed=False)


def _dobs(c: _Corpus) -> None:
    """Dob."""
    c.user_case("dob_missing", drop("dob"), dead("invalid_dob"))
    c.user_case("dob_null", set_path("dob", None), dead("invalid_dob"))
    c.user_case("dob_date_null", set_path("dob.date", None), dead("invalid_dob"))
    c.user_case("dob_date_missing", drop("dob.date"), dead("invalid_dob"))
    c.user_case("dob_unparseable", set_path("dob.date", "not a date"), dead("invalid_dob"))
    c.user_case("dob_impossible_day", set_path("dob.date", "1990-02-30T00:00:00.000Z"), dead("invalid_dob"))
    c.user_case("dob_date_a_number", set_path("dob.date", 19900101), dead("invalid_dob"))
    c.user_case("dob_a_string", set_path("dob", "1990-01-01T00:00:00.000Z"), dead("invalid_dob"))
    tomorrow = f"{(c.day + dt.timedelta(days=1)).isoformat()}T00:00:00.000Z"
    c.user_case("dob_in_the_future", set_path("dob.date", tomorrow), dead("future_dob"))
    c.user_case("dob_without_time", lambda u: set_path("dob.date", u["dob"]["date"][:10])(u), STORED)


def _wrong_types(c: _Corpus) -> None:
    """Wrong JSON types in the other fields: the user is still stored."""
    c.user_case("gender_a_number", set_path("gender", 1), STORED)
    c.user_case("name_a_list", lambda u: set_path("name", [u["name"]["first"], u["name"]["last"]])(u), STORED)
    c.user_case("name_first_a_number", set_path("name.first", 42), STORED)
    c.user_case("location_a_string", lambda u: set_path("location", full_address(u))(u), STORED)
    c.user_case(
        "street_a_string",
        lambda u: set_path(
            "location.street", f"{u['location']['street']['number']} {u['location']['street']['name']}"
        )(u),
        STORED,
    )
    c.user_case(
        "street_number_a_string",
        lambda u: set_path("location.street.number", f"{u['location']['street']['number']}a")(u),
        STORED,
    )
    c.user_case("postcode_an_int", set_path("location.postcode", 48211), STORED)
    c.user_case("postcode_a_string", set_path("location.postcode", "04821"), STORED)
    c.user_case(
        "coordinates_numbers",
        lambda u: set_path(
            "location.coordinates",
            {k: float(v) for k, v in u["location"]["coordinates"].items()},
        )(u),
        STORED,
    )
    c.user_case("timezone_a_string", set_path("location.timezone", "+1:00"), STORED)
    c.user_case("email_a_number", set_path("email", 42), STORED)
    c.user_case("username_a_number", set_path("login.username", 301), STORED)
    c.user_case("password_a_number", set_path("login.password", 7741029385), STORED)
    c.user_case("dob_age_a_string", lambda u: set_path("dob.age", str(u["dob"]["age"]))(u), STORED)
    c.user_case("dob_age_a_float", lambda u: set_path("dob.age", u["dob"]["age"] + 0.5)(u), STORED)
    c.user_case("registered_date_garbage", set_path("registered.date", "yesterday-ish"), STORED)
    c.user_case("registered_a_string", lambda u: set_path("registered", u["registered"]["date"])(u), STORED)
    c.user_case(
        "phone_a_number",
        lambda u: set_path("phone", int("9" + "".join(ch for ch in u["phone"] if ch.isdigit())))(u),
        STORED,
    )
    c.user_case(
        "cell_a_number",
        lambda u: set_path("cell", int("9" + "".join(ch for ch in u["cell"] if ch.isdigit())))(u),
        STORED,
    )
    c.user_case("id_value_null", set_path("id.value", None), STORED)
    c.user_case("id_a_string", set_path("id", "NaNNA229undefined"), STORED)
    c.user_case("picture_a_number", set_path("picture", 7), STORED)
    c.user_case("nat_a_number", set_path("nat", 42), STORED)


def _encodings(c: _Corpus) -> None:
    """Bytes that are not UTF-8, and other encodings."""
    u = c.fresh()
    u["name"]["first"], u["name"]["last"] = "Zoé", "Müller"
    c.add(
        "latin1_name",
        json.dumps(u, ensure_ascii=False).encode("latin-1", errors="replace"),
        [dead("invalid_json")],
        key(u),
        (u,),
    )
    u = c.fresh()
    u["name"]["first"] += "\ud800"
    c.add("lone_surrogate_bytes", _jbytes_surrogates(u), [dead("invalid_json")], key(u), (u,))
    c.add("random_bytes", b"\xff" + c.rng.randbytes(255), [dead("invalid_json")], b"\x00\x81")
    u = c.fresh()
    c.add(
        "utf16_user", json.dumps(u, ensure_ascii=False).encode("utf-16"), [dead("invalid_json")], key(u), (u,)
    )
    u = c.fresh()
    c.add("utf8_bom_before_user", b"\xef\xbb\xbf" + _jbytes(u), [dead("invalid_json")], key(u), (u,))
    u = c.fresh()
    u["name"]["first"] += "\ud800"  # as the JSON escape \ud800: valid JSON, read as '?'
    c.add("escaped_lone_surrogate", json.dumps(u).encode("ascii"), [STORED], key(u), (u,))


def _sizes(c: _Corpus) -> None:
    """Size."""
    u = c.fresh()
    original = json.loads(json.dumps(u))
    c.add("too_large_user", _padded_street(u, TOO_LARGE_BYTES), [dead("too_large")], key(u), (original, u))
    c.add("too_large_junk", b"\xff\xfe" + c.rng.randbytes(TOO_LARGE_BYTES - 2), [dead("too_large")], b"junk")
    env_users = [c.fresh() for _ in range(3)]
    env = {"results": env_users, "info": {"seed": "", "results": 3, "page": 1, "version": API_VERSION}}
    env["info"]["seed"] = "x" * (TOO_LARGE_BYTES - len(_jbytes(env)))
    c.add("too_large_envelope", _jbytes(env), [dead("too_large")], None, env_users)
    u = c.fresh()
    original = json.loads(json.dumps(u))
    c.add("large_user_under_the_limit", _padded_street(u, LARGE_OK_BYTES), [STORED], key(u), (original, u))


def _keys(c: _Corpus) -> None:
    """Keys and tombstones."""
    u = c.fresh()
    c.add("tombstone", None, [dead("invalid_json")], key(u))
    u = c.fresh()
    c.add("key_missing", _jbytes(u), [STORED], None, (u,))
    u = c.fresh()
    c.add("key_not_utf8", _jbytes(u), [STORED], b"\xff\xfe\x00", (u,))


def _duplicates(c: _Corpus) -> None:
    """Duplicates inside one batch: the later record wins."""
    u = c.fresh()
    again = json.loads(json.dumps(u))
    again["name"]["first"] = "Changed"
    c.add(
        "duplicate_uuid_in_one_batch",
        _jbytes({"results": [u, again]}),
        [dead("duplicate_in_batch"), STORED],
        key(u),
        (u, again),
    )
    u = c.fresh()
    upper = json.loads(json.dumps(u))
    upper["login"]["uuid"] = upper["login"]["uuid"].upper()
    c.add(
        "duplicate_uuid_differing_in_case",
        _jbytes({"results": [upper, u]}),
        [dead("duplicate_in_batch"), STORED],
        key(u),
        (u,),
    )


def _odd_text(c: _Corpus) -> None:
    """Text the API never sends but a producer might."""
    scripts = [
        ("نازنین", "رضایی"),  # Persian, right to left
        ("Богдан", "Шевченко"),  # Cyrillic
        ("太郎", "山田"),  # CJK
        ("Ελένη", "Παπαδοπούλου"),  # Greek
        ("अनन्या", "शर्मा"),  # Devanagari
        ("Zoe\u0301 🌻", "O\u2019Brien-Nguyễn"),  # combining accent, emoji, typographic apostrophe
    ]
    named = []
    for first, last in scripts:
        u = c.fresh()
        u["name"]["first"], u["name"]["last"] = first, last
        named.append(u)
    c.add("names_in_non_latin_scripts", _jbytes({"results": named}), [STORED] * len(named), None, named)
    u = c.fresh()
    u["extra"] = {"tracking": [1, 2, 3], "flags": {"vip": True}}
    u["login"]["otp_secret"] = "JBSWY3DPEHPK3PXP"
    u["location"]["floor"] = 3
    c.add("extra_unknown_fields", _jbytes(u), [STORED], key(u), (u,))
    u = c.fresh()
    u["junk"] = json.loads('{"a": [' * 250 + "1" + "]}" * 250)
    c.add("deeply_nested_junk_in_user", _jbytes(u), [STORED], key(u), (u,))
    u = c.fresh()
    c.add(
        "nesting_beyond_parser_limit",
        _jbytes(u)[:-1] + b',"junk":' + b"[" * 1200 + b"]" * 1200 + b"}",
        [dead("invalid_json")],
        key(u),
        (u,),
    )
    c.add("deeply_nested_junk", b"[" * 300 + b"{}" + b"]" * 300, [dead("not_a_user")])
    u = c.fresh()
    c.add("leading_whitespace", b"\r\n\t " + _jbytes(u), [STORED], key(u), (u,))
    u = c.fresh()
    c.add(
        "nan_in_user",
        _jbytes(u).replace(b'"dob":{', b'"dob":{"score":NaN,', 1),
        [dead("invalid_json")],
        key(u),
        (u,),
    )


_SECTIONS = (
    _not_json,
    _truncated_json,
    _not_a_user,
    _mixed_envelope,
    _uuids,
    _dobs,
    _wrong_types,
    _encodings,
    _sizes,
    _keys,
    _duplicates,
    _odd_text,
)


def bad_inputs(as_of: dt.date | str, seed: object = "profilepipe-bad") -> list[BadInput]:
    """The reusable corpus of bad inputs: one ``BadInput`` per distinct defect.

    Deterministic in ``(as_of, seed)``; every user in it is a different generated v1.4
    user (so the whole corpus can run as one batch without unintended duplicates) with
    a distinctive password whose md5/sha1/sha256 are recomputed. The expectations
    assume ``min_age`` 18 and the default ``max_message_bytes`` (512 KiB); ``as_of`` is
    the processing date the transform uses (future and minor dates are relative to it).

    Wrong-typed fields of an otherwise valid user: ``schema`` reads every varying
    field as text and ``from_json`` keeps the rest of the user when one field has the
    wrong JSON type (that field is null), so such users are stored whenever uuid and
    dob survive; a wrong-typed ``login``/``login.uuid``/``dob``/``dob.date`` is a dead
    letter.
    """
    c = _Corpus(contract.processing_date(as_of), seed)
    for section in _SECTIONS:
        section(c)
    return c.out


def _jbytes_surrogates(obj: object) -> bytes:
    """UTF-8 bytes of ``obj``'s JSON with lone surrogates written as such (not UTF-8)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", errors="surrogatepass")
