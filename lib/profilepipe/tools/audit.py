"""GDPR audit: look for plaintext personal data and minors in both stores and the dead letters.

What no store may hold: the input's password material (``login.password``, ``salt``,
``md5``, ``sha1``, ``sha256``), ``phone``, ``cell``, the street address and the email's
local part; in the ``minimal`` storage profile (``Settings.store_profile``) also the full
name, the username and the birth date (``contract.pii_paths``), and no row may hold a value
in a column the profile does not have (``profile_violations``: a ``full`` row in a
``minimal`` table). The audit collects these values from **every** message of the input topic:
well-formed users, envelopes, any nested object with user fields, and malformed messages
too (truncated JSON, bad UTF-8: a tolerant regex recovers their values), because a leak
is most likely on an error path. It then searches for them in

* every row of the Cassandra table,
* every document of the three MongoDB collections (merged aggregates, parts, batch log),
* every message (key and value) of the dead-letter topic,

and checks that no stored user is younger than ``min_age`` at the processing date (so no
user filtered as a minor has a row), that the MongoDB aggregates equal a GROUP BY over
the table's rows (``contract.AGGREGATE_RULE``, recomputed here in plain Python:
``aggregate_differences``), and, when ``retention_days`` is set, that no row was ingested
longer ago than that (``past_retention``: the count and the oldest ``ingested_at`` only).

How values are matched (the rules keep chance matches out, so a finding means a leak):

* values shorter than ``MIN_LENGTH`` characters are not searched;
* a user's values are searched as substrings in that user's own row, every column but
  ``username`` (see ``find_in_rows``);
* everywhere (every row, document and dead letter) the random secrets (salt, md5, sha1,
  sha256) are searched as substrings, the other values (common-word passwords, phones,
  street addresses, email local parts) as whole tokens, not inside a longer run of
  letters or digits: the password ``abc123`` is not "found" inside a hex digest;
* ``username`` is searched for the random secrets only;
* only text is searched, strings and field names: not numbers, dates or UUIDs (a count
  or an offset of 123456 is not the password ``123456``).

The report says what was found and where (kind, whose value, store, row/document/message),
never the value itself.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from profilepipe import contract, kafka_client, stores
from profilepipe.config import Settings
from profilepipe.errors import AuditFindings
from profilepipe.pipeline import gaps

#: The kinds of personal value, in report order (``contract.pii_paths`` of the profile that stores least).
KINDS = tuple(contract.pii_paths(contract.MINIMAL))
#: Random strings: they cannot occur by chance, so they are searched as substrings everywhere.
RANDOM_KINDS = frozenset({"salt", "md5", "sha1", "sha256"})
#: Keys of a value set that are not searched: whose values they are, and which input message.
OWNER, SOURCE = "user id", "message"
#: Values shorter than this are not searched: a 4-letter password ("1234", "blue") or a
#: 5-character email local part would match by chance inside the hashes that are stored
#: by design (hex HMAC, bcrypt), inside UUIDs, batch keys and names, and every finding
#: would be a false alarm. From 6 characters on, chance matches are negligible, and all
#: phones, street addresses, salts and digests, and almost all passwords, are searched.
MIN_LENGTH = 6
CASSANDRA, MONGODB, DEAD_LETTERS = "cassandra", "mongodb", "dead-letter topic"

# the top-level keys that make a JSON object a user, for this audit: where its values are (the
# first step of a PII path); a subset of contract.USER_KEYS
_USER_KEYS = tuple(k for k in contract.USER_KEYS if any(p[0] == k for p in contract.PII_PATHS.values()))
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_SET_KEYS = frozenset(KINDS) | {OWNER, SOURCE}


@dataclass(frozen=True)
class Finding:
    """One plaintext value found: its kind, whose it is, the store and the place in it (never the value)."""

    kind: str
    owner: str  # the input user's login.uuid, else "message <partition>:<offset>" of the input
    store: str  # CASSANDRA, MONGODB or DEAD_LETTERS
    where: str = ""  # "row <user_id>", "<collection> <_id>", "dead letter <partition>:<offset>"

    def __str__(self) -> str:
        return f"{self.kind} of {self.owner} in {self.store}"


@dataclass
class AuditReport:
    rows_scanned: int = 0
    documents_scanned: int = 0  # all three MongoDB collections
    secrets_checked: int = 0
    plaintext_found: list[str] = field(default_factory=list)  # "<kind> of <owner> in <store>"
    minors_stored: list[str] = field(default_factory=list)  # user ids
    dead_letters_scanned: int = 0
    documents_by_collection: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)  # with the row/document/message
    aggregates_checked: int = 0  # groups compared with the table's GROUP BY
    aggregate_differences: list[str] = field(default_factory=list)  # "<dimension> <key>: ..."
    store_profile: str = contract.FULL  # the storage profile whose promise was checked
    profile_violations: list[str] = field(default_factory=list)  # "<column>: <n> rows" outside the profile
    retention_days: int = 0  # the retention period checked (0: none set, nothing checked)
    past_retention: int = 0  # rows ingested more than retention_days ago
    oldest_ingested_at: str = ""  # the oldest ingested_at of those rows (ISO 8601, UTC): no personal value
    messages_lost: int = 0  # offsets Kafka dropped before the stream read them (batch log, ``gaps``)
    losses_unacknowledged: list[str] = field(default_factory=list)  # "batch N: <gaps.describe>"

    @property
    def clean(self) -> bool:
        return (
            not self.plaintext_found
            and not self.minors_stored
            and not self.aggregate_differences
            and not self.past_retention
            and not self.profile_violations
            and not self.losses_unacknowledged
        )

    @property
    def profile_summary(self) -> str:
        """The line on the storage profile's promise (``profile_violations``)."""
        return (
            f"columns the {self.store_profile} profile does not store, holding values: "
            f"{len(self.profile_violations)}"
        )

    def describe(self, limit: int = 20) -> str:
        lines = [
            f"rows scanned: {self.rows_scanned}, aggregate documents scanned: {self.documents_scanned}, "
            f"personal values searched: {self.secrets_checked}",
            f"plaintext personal data found: {len(self.plaintext_found)}",
            f"minors stored: {len(self.minors_stored)}",
            f"dead letters scanned: {self.dead_letters_scanned}",
            f"aggregate groups checked against the table: {self.aggregates_checked}, "
            f"differences: {len(self.aggregate_differences)}",
            self.profile_summary,
        ]
        if self.retention_days:
            oldest = f", the oldest ingested at {self.oldest_ingested_at}" if self.past_retention else ""
            lines.append(
                f"rows past the retention period ({self.retention_days} days): {self.past_retention}{oldest}"
            )
        if self.messages_lost or self.losses_unacknowledged:
            lines.append(
                f"messages lost before the stream read them: {self.messages_lost}, "
                f"not acknowledged: {len(self.losses_unacknowledged)} batch(es)"
            )
            lines += [f"  lost: {text}" for text in self.losses_unacknowledged[:limit]]
        if self.documents_by_collection:
            per = ", ".join(f"{name} {n}" for name, n in self.documents_by_collection.items())
            lines.append(f"mongodb documents by collection: {per}")
        shown = [f"{f} ({f.where})" if f.where else str(f) for f in self.findings] or self.plaintext_found
        lines += [f"  found: {text}" for text in shown[:limit]]
        if len(shown) > limit:
            lines.append(f"  ... and {len(shown) - limit} more")
        for uid in self.minors_stored[:limit]:
            lines.append(f"  minor stored: {uid}")
        if len(self.minors_stored) > limit:
            lines.append(f"  ... and {len(self.minors_stored) - limit} more")
        lines += [f"  outside the {self.store_profile} profile: {text}" for text in self.profile_violations]
        lines += [f"  aggregate differs: {text}" for text in self.aggregate_differences[:limit]]
        if len(self.aggregate_differences) > limit:
            lines.append(f"  ... and {len(self.aggregate_differences) - limit} more")
        return "\n".join(lines)


def require_clean(report: AuditReport) -> None:
    """Raise ``AuditFindings`` (counts only, never a value) unless the report is clean."""
    if not report.clean:
        raise AuditFindings(
            f"the audit found {len(report.plaintext_found)} plaintext personal value(s), "
            f"{len(report.profile_violations)} column(s) outside the {report.store_profile} profile "
            f"holding values, {len(report.minors_stored)} minor(s) stored, "
            f"{len(report.aggregate_differences)} aggregate(s) that differ from the table and "
            f"{report.past_retention} row(s) past the retention period"
            + (
                f", and {len(report.losses_unacknowledged)} batch(es) that met messages Kafka dropped "
                "before the stream read them (`profilepipe audit --acknowledge-loss` once seen)"
                if report.losses_unacknowledged
                else ""
            )
            + "; the report above says where"
        )


# ------------------------------------------------------------------ the input's personal values
def _obj(value: Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value) != ""


def personal_values(user: Mapping, profile: str = contract.FULL) -> dict[str, str]:
    """One input user's values that no store may hold in ``profile``, by kind (``MIN_LENGTH`` or longer)."""
    values = {}
    for kind, path in contract.pii_paths(profile).items():
        node: Any = user
        for part in path:
            node = _obj(node).get(part)
        if kind == "street address" and isinstance(node, Mapping):  # else API 1.0's one string
            node = " ".join(str(p) for p in (node.get("number"), node.get("name")) if _scalar(p))
        elif kind == "full name":  # as the full profile stores it: "first last"
            parts = [str(_obj(node).get(k)).strip() for k in ("first", "last") if _scalar(_obj(node).get(k))]
            node = " ".join(parts) if len(parts) == 2 else None
        elif kind == "birth date":  # the calendar date, as the full profile stores it
            node = node.strip()[:10] if isinstance(node, str) and _DATE.match(node.strip()) else None
        elif kind == "email local part":
            node = node.split("@")[0] if isinstance(node, str) else None
        values[kind] = node
    # very short values (a 4-letter password) would match by chance inside hashes: see MIN_LENGTH
    return {k: str(v) for k, v in values.items() if _scalar(v) and len(str(v)) >= MIN_LENGTH}


def _json_users(doc: Any) -> Iterator[Mapping]:
    """Every object with user fields anywhere in a JSON document, in document order."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            if any(k in node for k in _USER_KEYS):
                yield node
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))


_STRING = r'"((?:[^"\\]|\\.)*)"'  # a complete JSON string (a cut-off one does not match)
_PAIR_RE = re.compile(r'"(phone|cell|password|salt|md5|sha1|sha256|email|uuid|username)"\s*:\s*' + _STRING)
_NAME_PAIR_RE = re.compile(r'"first"\s*:\s*' + _STRING + r'\s*,\s*"last"\s*:\s*' + _STRING)
_DOB_RE = re.compile(r'"dob"\s*:\s*\{\s*"date"\s*:\s*"(\d{4}-\d{2}-\d{2})')
_STREET_RE = re.compile(r'"street"\s*:\s*\{([^{}]*)')
_NUMBER_RE = re.compile(r'"number"\s*:\s*(?:(-?\d+)|' + _STRING + ")")
_NAME_RE = re.compile(r'"name"\s*:\s*' + _STRING)


def _unescape(raw: str) -> str:
    try:
        return json.loads(f'"{raw}"')
    except ValueError:
        return raw


def _values_by_regex(text: str, profile: str = contract.FULL) -> list[dict[str, str]]:
    """The values under the known keys of text that is not JSON, grouped into users.

    Found in text order; a kind seen a second time starts the next user (an API user
    has each key once), so the values of a cut-off envelope stay with their user.
    """
    found: list[tuple[int, str, str]] = []
    for m in _PAIR_RE.finditer(text):
        key, value = m.group(1), _unescape(m.group(2))
        if key == "email":
            found.append((m.start(), "email local part", value.split("@")[0]))
        elif key == "uuid":
            found.append((m.start(), OWNER, value.strip()))
        elif key == "username":
            found.append((m.start(), "username", value))
        else:
            found.append((m.start(), key, value))
    for m in _STREET_RE.finditer(text):
        number, name = _NUMBER_RE.search(m.group(1)), _NAME_RE.search(m.group(1))
        if number and name:
            num = number.group(1) if number.group(1) is not None else _unescape(number.group(2))
            found.append((m.start(), "street address", f"{num} {_unescape(name.group(1))}"))
    for m in _NAME_PAIR_RE.finditer(text):
        first, last = (_unescape(m.group(i)).strip() for i in (1, 2))
        found.append((m.start(), "full name", f"{first} {last}"))
    for m in _DOB_RE.finditer(text):
        found.append((m.start(), "birth date", m.group(1)))
    kinds = contract.pii_paths(profile)
    groups: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for _, kind, value in sorted(found):
        if kind in current:
            groups.append(current)
            current = {}
        current[kind] = value
    groups.append(current)
    out = []
    for g in groups:
        values = {k: v for k, v in g.items() if k in kinds and len(v) >= MIN_LENGTH}
        if values:
            out.append({**values, **({OWNER: g[OWNER]} if g.get(OWNER) else {})})
    return out


def personal_values_from_message(
    value: bytes | str | None, profile: str = contract.FULL
) -> list[dict[str, str]]:
    """The personal values in one message that ``profile`` may not store: a dict per user, kind -> value.

    JSON: every object with user fields (a single user, the ``results`` of an envelope,
    any nested object) gives ``personal_values`` plus ``"user id"`` (its ``login.uuid``)
    when it has one. Anything else (truncated JSON, bytes that are not UTF-8, decoded
    with replacement characters) goes through a tolerant regex: the string values of
    ``"phone"``, ``"cell"``, ``"password"``, ``"salt"``, ``"md5"``, ``"sha1"``,
    ``"sha256"``, ``"email"`` (its local part) and ``"street": {"number", "name"}``; in the
    minimal profile also ``"username"``, ``"first"`` + ``"last"`` and ``"dob": {"date"}``.
    Values shorter than ``MIN_LENGTH`` are left out; junk gives ``[]``.
    """
    if value is None:
        return []
    text = value.decode("utf-8", errors="replace") if isinstance(value, (bytes, bytearray)) else str(value)
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return _values_by_regex(text, profile)
    out = []
    for user in _json_users(doc):
        values = personal_values(user, profile)
        uid = _obj(user.get("login")).get("uuid")
        if values:
            out.append({**values, **({OWNER: uid.strip()} if isinstance(uid, str) and uid.strip() else {})})
    return out


def raw_users(settings: Settings, timeout_s: float = 10.0) -> list[dict[str, str]]:
    """The personal values of every message in the input topic, for ``scan``.

    One dict per user found (``personal_values_from_message``): kind -> value, plus
    ``"user id"`` when the message names one and ``"message"`` (``<partition>:<offset>``).
    Malformed messages count too: their values must not be stored either.
    """
    out = []
    for msg in kafka_client.read_to_end(settings, settings.kafka_topic, timeout_s=timeout_s):
        for values in personal_values_from_message(msg.value, settings.store_profile):
            out.append({**values, SOURCE: f"{msg.partition}:{msg.offset}"})
    return out


def _is_value_set(item: Any) -> bool:
    """A dict from ``personal_values_from_message``/``raw_users`` (not an API user)."""
    return (
        isinstance(item, Mapping)
        and bool(item)
        and all(k in _SET_KEYS and isinstance(v, str) for k, v in item.items())
    )


def _value_set(user: Any, profile: str) -> Any:
    """An API user as the value set of what ``profile`` may not store (a value set, or else, as it is)."""
    if _is_value_set(user) or not isinstance(user, Mapping):
        return user
    uid = _obj(user.get("login")).get("uuid")
    values = personal_values(user, profile)
    return {**values, **({OWNER: uid.strip()} if isinstance(uid, str) and uid.strip() else {})} or user


def _entries(users: Iterable) -> list[tuple[str, str | None, str, str]]:
    """``(owner, own row id, kind, value)`` for API users and value sets alike."""
    out = []
    for i, item in enumerate(users):
        if _is_value_set(item):
            values = {k: v for k, v in item.items() if k in KINDS and len(v) >= MIN_LENGTH}
            uid, source = item.get(OWNER), item.get(SOURCE)
        elif isinstance(item, Mapping):
            values, uid, source = personal_values(item), _obj(item.get("login")).get("uuid"), None
        else:
            continue
        uid = uid.strip() if isinstance(uid, str) and uid.strip() else None
        owner = uid or (f"message {source}" if source else f"input user #{i}")
        for kind in KINDS:
            if kind in values:
                out.append((owner, uid.lower() if uid else None, kind, values[kind]))
    return out


# ------------------------------------------------------------------ searching stored text
def _strings(obj: Any) -> Iterator[str]:
    """The text an object can hold: its strings and field names, recursively.

    Numbers, dates, booleans and UUIDs are typed values, never the input's text: leaving
    them out keeps an offset or a count of 123456 from matching the password 123456.
    """
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, (bytes, bytearray)):
        yield obj.decode("utf-8", errors="replace")
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for v in obj:
            yield from _strings(v)


def _word(c: str) -> bool:
    return c.isalnum() or c == "_"


def _bounded(text: str, start: int, end: int) -> bool:
    """Is ``text[start:end]`` a whole token (no letter or digit glued to either end)?"""
    if _word(text[start]) and start > 0 and _word(text[start - 1]):
        return False
    return not (_word(text[end - 1]) and end < len(text) and _word(text[end]))


class _Corpus:
    """Many texts searched together in one pass, for all values at once; hits reported by place.

    Every value is indexed by its first characters; one walk over the joined texts looks
    each position up in that index and checks the few candidates, so the time grows with
    the size of the texts plus the number of values, not with their product.
    """

    def __init__(self, units: Iterable[tuple[str, str, str]]):  # (place, fallback place, text)
        self._places: list[tuple[str, str]] = []
        texts = []
        for place, fallback, text in units:
            self._places.append((place, fallback))
            texts.append(text)
        self._starts = list(accumulate((len(t) + 1 for t in texts[:-1]), initial=0))
        self._text = "\x00".join(texts)

    def search(self, queries: list[tuple[str, bool]]) -> list[list[str]]:
        """For each ``(value, whole_token)``: the places whose text holds the value.

        ``whole_token``: no letter or digit may be glued to the match (see ``_bounded``).
        A place whose name holds the value (a document ``_id``) is shown by number.
        """
        distinct = list(dict.fromkeys(q for q in queries if q[0]))
        if not distinct or not self._places:
            return [[] for _ in queries]
        k = min(MIN_LENGTH, *(len(v) for v, _ in distinct))
        by_head: dict[str, list[int]] = {}
        for n, (value, _) in enumerate(distinct):
            by_head.setdefault(value[:k], []).append(n)
        hits: list[dict[int, None]] = [{} for _ in distinct]
        text, get, starts = self._text, by_head.get, self._starts
        for i in range(len(text) - k + 1):
            candidates = get(text[i : i + k])
            if candidates:
                for n in candidates:
                    value, whole = distinct[n]
                    if text.startswith(value, i) and (not whole or _bounded(text, i, i + len(value))):
                        hits[n][bisect.bisect_right(starts, i) - 1] = None
        places = {q: [self._place(u, q[0]) for u in units] for q, units in zip(distinct, hits, strict=True)}
        return [places.get(q, []) for q in queries]

    def _place(self, unit: int, value: str) -> str:
        place, fallback = self._places[unit]
        return fallback if value in place else place


def _find(corpus: _Corpus, entries: list[tuple[str, str | None, str, str]], store: str) -> list[Finding]:
    """Findings of ``entries`` in ``corpus``: random secrets as substrings, the rest as whole tokens."""
    results = corpus.search([(value, kind not in RANDOM_KINDS) for _, _, kind, value in entries])
    return [
        Finding(kind, owner, store, place)
        for (owner, _, kind, _), places in zip(entries, results, strict=True)
        for place in places
    ]


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))


def _as_dict(row: Any) -> dict:
    return dict(row) if isinstance(row, Mapping) else row._asdict()


def find_in_rows(rows: Iterable, users: Iterable) -> list[Finding]:
    """Personal values of ``users`` (API users or value sets) in Cassandra rows (dicts or driver rows).

    A user's values are searched in that user's own row, every column but ``username``
    (the API builds usernames from common words, so one user's password can be part of
    another's username by chance; the full profile stores the username by design); the
    values only the minimal profile leaves out (``contract.PROFILE_PII_PATHS``) in every column.
    Every row is also searched for every user's values: the random secrets anywhere (username included),
    the others as whole tokens outside ``username``.
    """
    own: dict[str, tuple[str, str, str, str]] = {}
    with_username, without_username = [], []
    for i, row in enumerate(_as_dict(r) for r in rows):
        rid = str(row.get("user_id")).lower()
        place, fallback = f"row {rid}", f"row #{i}"
        other = "\n".join(_strings([v for k, v in row.items() if k not in ("user_id", "username")]))
        username = "\n".join(_strings(row.get("username")))
        own[rid] = (place, fallback, other, f"{username}\n{other}")
        without_username.append((place, fallback, other))
        with_username.append((place, fallback, f"{username}\n{other}"))
    entries = _entries(users)
    found = []
    for owner, rid, kind, value in entries:
        # a profile's own kinds (name, username, birth date) may be in no column, username included
        if rid in own and value in own[rid][2 if kind in contract.PII_PATHS else 3]:
            place, fallback, _, _ = own[rid]
            found.append(Finding(kind, owner, CASSANDRA, fallback if value in place else place))
    found += _find(_Corpus(with_username), [e for e in entries if e[2] in RANDOM_KINDS], CASSANDRA)
    found += _find(_Corpus(without_username), [e for e in entries if e[2] not in RANDOM_KINDS], CASSANDRA)
    return _unique(found)


def find_in_documents(
    documents: Iterable[Mapping], users: Iterable, collection: str = "aggregates"
) -> list[Finding]:
    """Personal values of ``users`` in the MongoDB documents of one collection (strings and field names)."""
    units = []
    for i, doc in enumerate(documents):
        place = f"{collection} {doc['_id']}" if "_id" in doc else f"{collection} #{i}"
        units.append((place, f"{collection} #{i}", "\n".join(_strings(doc))))
    return _unique(_find(_Corpus(units), _entries(users), MONGODB))


def _field(message: Any, name: str) -> Any:
    return message.get(name) if isinstance(message, Mapping) else getattr(message, name, None)


def _message_text(data: Any) -> str:
    """A message key or value as text: the strings of its JSON, else all of it (bad bytes replaced)."""
    if data is None:
        return ""
    text = data.decode("utf-8", errors="replace") if isinstance(data, (bytes, bytearray)) else str(data)
    try:
        return "\n".join(_strings(json.loads(text)))
    except (ValueError, RecursionError):
        return text


def find_in_dead_letters(messages: Iterable, users: Iterable) -> list[Finding]:
    """Personal values of ``users`` in dead-letter messages (key and value).

    ``messages``: Kafka records or dicts with ``key``, ``value`` (bytes or str),
    ``partition`` and ``offset``.
    """
    units = []
    for i, msg in enumerate(messages):
        place = f"dead letter {_field(msg, 'partition')}:{_field(msg, 'offset')}"
        text = _message_text(_field(msg, "key")) + "\n" + _message_text(_field(msg, "value"))
        units.append((place, f"dead letter #{i}", text))
    return _unique(_find(_Corpus(units), _entries(users), DEAD_LETTERS))


def minors_in_rows(rows: Iterable, as_of: dt.date, min_age: int) -> list[str]:
    """User ids of the rows younger than ``min_age`` on ``as_of`` (by birth date or stored age)."""
    out = []
    for row in (_as_dict(r) for r in rows):
        birth, age = row.get("birth_date"), row.get("age")
        if birth is not None and not isinstance(birth, dt.date) and hasattr(birth, "date"):
            birth = birth.date()  # cassandra.util.Date
        elif isinstance(birth, dt.datetime):
            birth = birth.date()
        if (birth is not None and contract.age_on(birth, as_of) < min_age) or (
            age is not None and age < min_age
        ):
            out.append(str(row.get("user_id")))
    return out


def profile_violations(rows: Iterable, profile: str) -> list[str]:
    """``"<column>: <n> rows"`` for each column outside ``profile`` that holds a value in some row.

    A table made in the other profile keeps such columns; a row written there breaks the
    profile's promise whatever the value is (a date, a name), so only the counts are given.
    """
    allowed = set(contract.user_columns(profile))
    held: dict[str, int] = {}
    for row in (_as_dict(r) for r in rows):
        for column, value in row.items():
            if column not in allowed and value is not None:
                held[column] = held.get(column, 0) + 1
    return [f"{column}: {n} rows" for column, n in sorted(held.items())]


# ------------------------------------------------------------------ aggregates = the table
def aggregate_differences(rows: Iterable, aggregates: Iterable[Mapping], exact: bool = True) -> list[str]:
    """Where the aggregates are not the table's GROUP BY (``contract.group_rows``), one line each.

    ``aggregates``: the merged documents (``dimension``, ``key``, ``count``, ``age_sum``,
    ``age_sq_sum``). A document's ``age_sq_sum`` is compared too unless it is unknown (None or
    missing: a document from before the field, ``stores.mongo``). ``exact`` False
    (``Settings.erase_contribution`` off: forgotten users stay counted): only a group that counts
    fewer users than the table is a difference.
    """
    table = contract.group_rows(_as_dict(r) for r in rows)
    stored = {(a["dimension"], str(a["key"])): _sums(a) for a in aggregates}
    stored = {k: v for k, v in stored.items() if v[0]}
    out = []
    for k in sorted(set(table) | set(stored)):
        want, got = table.get(k, (0, 0, 0)), stored.get(k, (0, 0, 0))
        squares_differ = got[2] is not None and got[2] != want[2]
        if not (exact or got[0] < want[0]):
            continue
        if want[:2] != got[:2]:
            out.append(
                f"{k[0]} {k[1]}: table {want[0]} users (age sum {want[1]}), "
                f"aggregates {got[0]} (age sum {got[1]})"
            )
        elif squares_differ:  # the same users and years, other ages
            out.append(
                f"{k[0]} {k[1]}: table {want[0]} users (sum of squared ages {want[2]}), "
                f"aggregates {got[0]} (sum of squared ages {got[2]})"
            )
    return out


def _sums(doc: Mapping) -> tuple[int, int, int | None]:
    """``(count, age_sum, age_sq_sum)`` of an aggregate document (``age_sq_sum`` None: unknown)."""
    sq = doc.get("age_sq_sum")
    return int(doc["count"]), int(doc["age_sum"]), None if sq is None else int(sq)


# ------------------------------------------------------------------ retention
def past_retention(rows: Iterable, cutoff: dt.datetime) -> tuple[int, str]:
    """How many rows were ingested before ``cutoff``, and the oldest ``ingested_at`` of them (ISO, UTC)."""
    old = [
        contract.from_store(r.get("ingested_at"))
        for r in (_as_dict(r) for r in rows)
        if contract.past_retention(r.get("ingested_at"), cutoff)
    ]
    return len(old), (min(old).isoformat() if old else "")


# ------------------------------------------------------------------ the audit
def build_report(
    users: Iterable,
    rows: Iterable,
    documents: Mapping[str, Iterable[Mapping]],
    dead_letters: Iterable,
    as_of: dt.date,
    min_age: int,
    aggregates: Iterable[Mapping] | None = None,
    exact_aggregates: bool = True,
    retention_days: int = 0,
    now: dt.datetime | None = None,
    profile: str = contract.FULL,
    batches: Iterable[Mapping] = (),
) -> AuditReport:
    """The audit of data already read: ``documents`` by collection name; no services needed.

    ``profile``: the storage profile whose promise is checked (``scan`` passes the settings'):
    API users in ``users`` give the values that profile may not store, and a row's value in a
    column outside it is a finding (``profile_violations``).
    ``aggregates``: the merged aggregate documents to check against ``rows`` (None: not checked).
    ``retention_days``: rows ingested more than that many days before ``now`` (default: now, UTC)
    are findings (0: no retention period, not checked).
    ``batches``: the batch log; a loss it records (``pipeline.gaps``) is a finding until acknowledged.
    """
    users = [_value_set(u, profile) for u in users]
    rows, dead_letters = [_as_dict(r) for r in rows], list(dead_letters)
    aggregates = None if aggregates is None else list(aggregates)
    documents = {name: list(docs) for name, docs in documents.items()}
    findings = find_in_rows(rows, users)
    for name, docs in documents.items():
        findings += find_in_documents(docs, users, collection=name)
    findings += find_in_dead_letters(dead_letters, users)
    past, oldest = (
        past_retention(rows, contract.retention_cutoff(retention_days, now)) if retention_days else (0, "")
    )
    return AuditReport(
        rows_scanned=len(rows),
        documents_scanned=sum(len(d) for d in documents.values()),
        secrets_checked=len(_entries(users)),
        plaintext_found=list(dict.fromkeys(str(f) for f in findings)),
        minors_stored=minors_in_rows(rows, as_of, min_age),
        dead_letters_scanned=len(dead_letters),
        documents_by_collection={name: len(d) for name, d in documents.items()},
        findings=findings,
        aggregates_checked=len(aggregates) if aggregates is not None else 0,
        aggregate_differences=(
            aggregate_differences(rows, aggregates, exact_aggregates) if aggregates is not None else []
        ),
        store_profile=profile,
        profile_violations=profile_violations(rows, profile),
        retention_days=retention_days,
        past_retention=past,
        oldest_ingested_at=oldest,
        **losses(batches),
    )


def losses(batches: Iterable[Mapping]) -> dict:
    """``messages_lost`` and ``losses_unacknowledged`` of a batch log (``pipeline.gaps``)."""
    docs = [b for b in batches if b.get("lost_ranges")]
    unacknowledged = [
        f"batch {b.get('batch_id')}: {gaps.describe(gaps.Gap.from_doc(g) for g in b['lost_ranges'])}"
        for b in docs
        if not b.get("lost_acknowledged")
    ]
    return {
        "messages_lost": sum(int(b.get("lost") or 0) for b in docs),
        "losses_unacknowledged": unacknowledged,
    }


def scan(
    settings: Settings,
    users: list[dict],
    as_of: dt.date,
    min_age: int | None = None,
    sinks: stores.StoreSinks | None = None,
) -> AuditReport:
    """Search both stores and the dead-letter topic for the personal values of ``users``, and for minors.

    ``users``: API users (as generated or produced) or the value sets of ``raw_users``; ``sinks``:
    the stores read (default ``stores.connect(settings)``; a test passes fakes of the three).
    """
    min_age = settings.min_age if min_age is None else min_age
    sinks = sinks or stores.connect(settings)
    letters = [
        {"partition": m.partition, "offset": m.offset, "key": m.key, "value": m.value}
        for m in sinks.dead_letters.messages()
    ]
    return build_report(
        users,
        sinks.cassandra.scan_users(),
        sinks.mongo.documents(),
        letters,
        as_of,
        min_age,
        sinks.mongo.read_raw_aggregates(),
        settings.erase_contribution,
        settings.retention_days,
        profile=settings.store_profile,
        batches=sinks.mongo.read_batches(),
    )


def audit(
    settings: Settings,
    as_of: dt.date | str | None = None,
    min_age: int | None = None,
    timeout_s: float = 10.0,
    sinks: stores.StoreSinks | None = None,
) -> AuditReport:
    """Read the input topic (every message) and ``scan`` ``sinks``; ``as_of`` defaults as in the stream."""
    day = contract.processing_date(settings.as_of if as_of is None else as_of)
    return scan(settings, raw_users(settings, timeout_s), day, min_age, sinks)
