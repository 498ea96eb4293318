"""The data contract, defined once: every other module and test imports it from here.

**Input** (a Kafka message): key = ``login.uuid`` (UTF-8), value = one randomuser.me API
v1.4 user as JSON (``USER_KEYS``), or an envelope ``{"results": [...]}`` whose users are
exploded. ``RAW_KAFKA_SCHEMA`` is the shape of the Kafka source's rows.

**Outcomes**: every record the stream reads ends with exactly one of ``OUTCOMES``:

* ``stored`` - an adult, written to Cassandra (``user_columns``) and counted in the aggregates;
* ``filtered_minor`` - younger than ``min_age`` (GDPR), counted, never stored;
* ``erased`` - a user in the erasure register (``erasure_key``), counted, never stored;
* ``dead_letter`` - a malformed record, sent to the dead-letter topic (``DLQ_FIELDS``) with
  the first of ``REASONS`` that applies (they are listed in precedence order).

**The balance rule** (``BALANCE_RULE``, stated there once) holds for every micro-batch and
every sum of batches; ``balanced`` checks it on
anything that carries those counts (a batch report, a stream result, a batch-log document).

**Instants** are UTC everywhere they are stored or compared. A naive datetime means
different things by where it comes from: PySpark hands Python the process's *local* wall
clock (whatever ``spark.sql.session.timeZone`` says), the Cassandra driver and pymongo hand
back *UTC*. ``from_spark`` and ``from_store`` make each an aware UTC datetime; nothing else
converts.

**Personal data**: ``PII_PATHS`` are the values of a user that no store may hold;
``pii_paths(profile)`` adds those the storage profile leaves out too.

**Storage profiles** (``STORE_PROFILES``, ``Settings.store_profile``): ``STORED_FIELDS`` lists
every column the users table can have (``resources/stored_fields.csv``: its CQL type, the
profiles that keep it, where it comes from, in what form and why); ``user_columns(profile)``
are a profile's columns in table order. ``minimal`` (the default) keeps only what an aggregate,
a figure or a notebook uses: no name, no username, the birth year instead of the birth date.

**Aggregates** (MongoDB): one document per ``DIMENSIONS`` and key, with ``count``, ``age_sum``
and ``age_sq_sum`` (the sum of squared ages: with the other two, the spread of the ages, so an
average can carry its confidence interval); ``AGE_BANDS`` cut the ages into equal-width bands.
A batch is named by ``batch_key`` of its offsets.
**The aggregate rule** (``AGGREGATE_RULE``): the aggregates are a GROUP BY over the users
table, one contribution per stored row (``dimension_keys`` of its ``CONTRIBUTION_COLUMNS``;
``group_rows`` is that GROUP BY in plain Python): a user sent again replaces its earlier
contribution, a forgotten user's is removed (``Settings.erase_contribution``, default on).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import io
from collections.abc import Iterable, Mapping
from importlib.resources import files
from typing import Any, NamedTuple

# ------------------------------------------------------------------ input
API_VERSION = "1.4"
#: The 21 nationality codes of API v1.4.
NATIONALITIES = (
    *("AU", "BR", "CA", "CH", "DE", "DK", "ES", "FI", "FR", "GB", "IE"),
    *("IN", "IR", "MX", "NL", "NO", "NZ", "RS", "TR", "UA", "US"),
)
#: The top-level keys of a v1.4 user, in the API's order.
USER_KEYS = (
    *("gender", "name", "location", "email", "login", "dob"),
    *("registered", "phone", "cell", "id", "picture", "nat"),
)
#: The Kafka source's rows (``spark.readStream.format("kafka")``), as a DDL schema.
RAW_KAFKA_SCHEMA = "key binary, value binary, topic string, partition int, offset long, timestamp timestamp"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

# ------------------------------------------------------------------ outcomes
STORED, MINOR, ERASED, DEAD = "stored", "filtered_minor", "erased", "dead_letter"
OUTCOMES = (STORED, MINOR, ERASED, DEAD)
#: The dead-letter reasons, each named once here (the modules use these names, never the text).
TOO_LARGE = "too_large"  # longer than max_message_bytes: one record, never JSON-parsed
INVALID_JSON = "invalid_json"
NOT_A_USER = "not_a_user"
MISSING_UUID = "missing_uuid"
INVALID_UUID = "invalid_uuid"
INVALID_DOB = "invalid_dob"
FUTURE_DOB = "future_dob"
DUPLICATE_IN_BATCH = "duplicate_in_batch"  # the same login.uuid later in the batch: the later one is stored
#: Dead-letter reasons in precedence order: a record gets the first that applies.
REASONS = (
    *(TOO_LARGE, INVALID_JSON, NOT_A_USER, MISSING_UUID),
    *(INVALID_UUID, INVALID_DOB, FUTURE_DOB, DUPLICATE_IN_BATCH),
)
BALANCE_RULE = "read = stored + filtered_minor + erased + dead_letter"

# ------------------------------------------------------------------ outputs
MINIMAL, FULL = "minimal", "full"
#: What the users table keeps: ``minimal`` (the default) or ``full`` (the original project's row).
STORE_PROFILES = (MINIMAL, FULL)


class StoredField(NamedTuple):
    """One column the users table can have (a row of ``resources/stored_fields.csv``)."""

    column: str
    cql_type: str
    profiles: tuple[str, ...]  # the ``STORE_PROFILES`` that keep it
    source: str  # where in an API user it comes from
    form: str  # in what form it is stored
    why: str  # what uses it


def _stored_fields() -> tuple[StoredField, ...]:
    text = files("profilepipe").joinpath("resources/stored_fields.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO(text))
    return tuple(StoredField(**{**r, "profiles": tuple(r["profiles"].split())}) for r in rows)


#: Every column of the Cassandra users table in any profile, in table order.
STORED_FIELDS = _stored_fields()


@functools.cache  # Settings.user_columns calls it for every row a writer binds
def user_columns(profile: str) -> tuple[str, ...]:
    """The users table's columns in storage profile ``profile``, in table order."""
    if profile not in STORE_PROFILES:
        raise ValueError(f"unknown storage profile {profile!r} (one of {', '.join(STORE_PROFILES)})")
    return tuple(f.column for f in STORED_FIELDS if profile in f.profiles)


#: Where a record came from; every shaped record carries these.
SOURCE_COLUMNS = (
    *("key", "source_topic", "source_partition", "source_offset", "source_timestamp"),
    *("value_sha256", "value_bytes", "record_index"),
)
#: Fields of a dead letter's JSON value (its Kafka key is the source message's key).
DLQ_FIELDS = ("reason", "detail", *SOURCE_COLUMNS[1:-1])
#: kind -> path of the values of an input user that no store may hold.
PII_PATHS = {
    "password": ("login", "password"),
    "salt": ("login", "salt"),
    "md5": ("login", "md5"),
    "sha1": ("login", "sha1"),
    "sha256": ("login", "sha256"),
    "phone": ("phone",),
    "cell": ("cell",),
    "street address": ("location", "street"),
    "email local part": ("email",),
}
#: kind -> path of the values a profile leaves out on top of ``PII_PATHS`` (``full`` keeps
#: them in their own columns): the name (first and last), the username and the birth date.
PROFILE_PII_PATHS = {
    MINIMAL: {"full name": ("name",), "username": ("login", "username"), "birth date": ("dob", "date")},
    FULL: {},
}


def pii_paths(profile: str) -> dict[str, tuple[str, ...]]:
    """kind -> path of every value of an input user that no store may hold in ``profile``."""
    return {**PII_PATHS, **PROFILE_PII_PATHS[profile]}


#: Aggregate dimensions (MongoDB), and the age bands: (lowest age, label).
DIMENSIONS = (
    *("nationality", "country", "gender", "age_band", "country_gender", "nationality_gender"),
    *("email_domain", "registered_year", "ingested_minute"),
)
#: Equal-width bands of ``AGE_BAND_WIDTH`` years (so bar heights compare), from 18: the closed
#: ones cover every adult age the sources give (randomuser.me about 20-77, the generator 18-80);
#: the last, ``OPEN_AGE_BAND`` (``88+``), is open-ended, and the figures say so.
AGE_BAND_WIDTH = 10
AGE_BANDS_OPEN_FROM = 88
AGE_BANDS = (
    *((low, f"{low}-{low + AGE_BAND_WIDTH - 1}") for low in range(18, AGE_BANDS_OPEN_FROM, AGE_BAND_WIDTH)),
    (AGE_BANDS_OPEN_FROM, f"{AGE_BANDS_OPEN_FROM}+"),
)
OPEN_AGE_BAND = AGE_BANDS[-1][1]
UNDER_18 = "under 18"
#: The columns of a stored row that its contribution to the aggregates depends on.
CONTRIBUTION_COLUMNS = (
    "nationality",
    "country",
    "gender",
    "age",
    "email_domain",
    "registered_at",
    "ingested_at",
)
AGGREGATE_RULE = "aggregates = GROUP BY over the users table, one contribution per stored row"


# ------------------------------------------------------------------ rules
def counts_of(obj: Any) -> dict[str, int]:
    """``{"read", *OUTCOMES}`` of a mapping or an object with those attributes (missing: 0)."""
    get = obj.get if isinstance(obj, Mapping) else (lambda name, default: getattr(obj, name, default))
    return {name: int(get(name, 0) or 0) for name in ("read", *OUTCOMES)}


def balanced(obj: Any) -> bool:
    """Whether ``BALANCE_RULE`` holds for ``obj``."""
    c = counts_of(obj)
    return c["read"] == sum(c[name] for name in OUTCOMES)


def below_k(count: int, k: int) -> bool:
    """The primary suppression rule: a group of fewer than ``k`` users is too small to show."""
    return count < k


def check_nats(nats: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"gb, FR"`` / ``["gb", "fr"]`` -> ``("GB", "FR")``; empty -> ``()``; unknown -> ``ValueError``.

    (The API ignores the whole filter when one code is unknown and returns every
    nationality: refusing here is the only way to notice.)
    """
    if nats is None:
        return ()
    parts = nats.split(",") if isinstance(nats, str) else list(nats)
    codes = tuple(str(c).strip().upper() for c in parts if c and str(c).strip())
    bad = [c for c in codes if c not in NATIONALITIES]
    if bad:
        raise ValueError(
            f"unknown nationality code(s) {', '.join(bad)}: the API would ignore the whole "
            f"filter; valid codes are {','.join(NATIONALITIES)}"
        )
    return codes


def processing_date(value: dt.date | dt.datetime | str | None) -> dt.date:
    """A processing date from a date, datetime (in UTC), ``YYYY-MM-DD`` text, or None/"" (today, UTC)."""
    if value is None or value == "":
        return dt.datetime.now(dt.UTC).date()
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.UTC) if value.tzinfo is not None else value).date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def from_spark(value: Any) -> Any:
    """A datetime PySpark collected (naive: the process's local time) as an aware UTC one.

    Anything that is not a naive datetime is returned as it is.
    """
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.astimezone(dt.UTC)
    return value


def from_store(value: Any) -> Any:
    """A datetime the Cassandra driver or pymongo returned (naive: UTC) as an aware UTC one.

    Anything that is not a naive datetime is returned as it is.
    """
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def retention_cutoff(days: int, now: dt.datetime | None = None) -> dt.datetime:
    """The instant ``days`` days before ``now`` (default: now, UTC; naive: UTC), as an aware UTC datetime.

    A row whose ``ingested_at`` is before it is past a retention period of ``days`` days.
    """
    now = dt.datetime.now(dt.UTC) if now is None else from_store(now).astimezone(dt.UTC)
    return now - dt.timedelta(days=days)


def past_retention(ingested_at: Any, cutoff: dt.datetime) -> bool:
    """Whether an ``ingested_at`` read from a store (naive: UTC, ``from_store``) is before ``cutoff``."""
    return ingested_at is not None and from_store(ingested_at) < cutoff


def age_on(birth: dt.date, as_of: dt.date) -> int:
    """Exact age: whole years from ``birth`` to ``as_of``, the birthday counted.

    Someone born on 29 February turns a year older on 1 March in common years.
    """
    return as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))


def age_band(age: int | None) -> str | None:
    """``18-27``, ``28-37``, ..., ``78-87``, ``88+`` (``AGE_BANDS``); ``under 18`` below; None for None."""
    if age is None:
        return None
    label = UNDER_18
    for low, name in AGE_BANDS:
        if age >= low:
            label = name
    return label


def dimension_keys(row: Mapping[str, Any]) -> dict[str, str]:
    """``{dimension: key}`` of one stored row (its ``CONTRIBUTION_COLUMNS``); a null key is left out.

    The plain-Python definition of the ``DIMENSIONS``; the same in Spark is the tests' oracle,
    ``compute`` in tests/support/spark_aggregates.py (a test compares them).
    ``registered_at``/``ingested_at``: datetimes, naive ones in UTC (as the Cassandra driver returns them).
    """

    def text(name: str) -> str | None:
        value = row.get(name)
        return None if value is None or value == "" else str(value)

    def utc(name: str) -> dt.datetime | None:
        value = row.get(name)
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    nat, country, gender = text("nationality"), text("country"), text("gender")
    registered, ingested = utc("registered_at"), utc("ingested_at")
    keys = {
        "nationality": nat,
        "country": country,
        "gender": gender,
        "age_band": age_band(row.get("age")),
        "country_gender": f"{country}|{gender}" if country and gender else None,
        "nationality_gender": f"{nat}|{gender}" if nat and gender else None,
        "email_domain": text("email_domain"),
        "registered_year": str(registered.year) if registered else None,
        "ingested_minute": ingested.strftime("%Y-%m-%dT%H:%M") if ingested else None,
    }
    return {d: keys[d] for d in DIMENSIONS if keys[d] is not None}


def group_rows(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], tuple[int, int, int]]:
    """``{(dimension, key): (count, age_sum, age_sq_sum)}`` over stored rows: the aggregate rule's
    GROUP BY (``age_sq_sum``: the sum of the squared ages)."""
    out: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        age = int(row.get("age") or 0)
        for dimension, key in dimension_keys(row).items():
            total = out.setdefault((dimension, key), [0, 0, 0])
            total[0] += 1
            total[1] += age
            total[2] += age * age
    return {k: (c, s, q) for k, (c, s, q) in out.items()}


class PlanRow(NamedTuple):
    """One group's change in a plan: ``count`` users, ``age_sum`` years and ``age_sq_sum`` squared
    years added (negative: removed). ``age_sq_sum`` None: unknown (a part stored by a version
    before it existed); applying it leaves the group's ``age_sq_sum`` unknown (``stores.mongo``)."""

    dimension: str  # one of ``contract.DIMENSIONS``
    key: str  # the group's key in that dimension, e.g. ``"DE"`` of ``nationality`` (stored as ``key``)
    count: int
    age_sum: int
    age_sq_sum: int | None = None

    @classmethod
    def of(cls, row: PlanRow | Mapping[str, Any]) -> PlanRow:
        """``row`` as is, or from a stored part (``dimension``, ``key``, ...)."""
        if isinstance(row, PlanRow):
            return row
        sq = row.get("age_sq_sum")
        return cls(
            row["dimension"],
            str(row["key"]),
            int(row["count"]),
            int(row["age_sum"]),
            None if sq is None else int(sq),
        )

    @property
    def merged_id(self) -> str:
        """The ``_id`` of the merged document it changes: ``<dimension>|<group>``."""
        return f"{self.dimension}|{self.key}"


def delta_rows(new: Iterable[Mapping[str, Any]], old: Iterable[Mapping[str, Any]]) -> list[PlanRow]:
    """What replacing the ``old`` rows by the ``new`` ones changes in the aggregates.

    A ``PlanRow`` for every group that changes (non-zero only, sorted):
    each new row adds its contribution, each old row takes its own away (``AGGREGATE_RULE``).
    A batch's plan is ``delta_rows(its rows, the rows the table holds for those users)``; a
    ``forget`` is ``delta_rows([], [the user's row])``.
    """
    change: dict[tuple[str, str], tuple[int, int, int]] = {}
    for sign, rows in ((1, new), (-1, old)):
        for group, (count, age_sum, age_sq_sum) in group_rows(rows).items():
            c, a, q = change.get(group, (0, 0, 0))
            change[group] = (c + sign * count, a + sign * age_sum, q + sign * age_sq_sum)
    return [PlanRow(d, k, c, a, q) for (d, k), (c, a, q) in sorted(change.items()) if c or a or q]


def plan_without(change: list[PlanRow], rows: list[dict]) -> list[PlanRow]:
    """A plan's ``change`` minus the contributions of ``rows`` (users forgotten mid-batch), non-zero."""
    total = {(r.dimension, r.key): [r.count, r.age_sum, r.age_sq_sum] for r in change}
    for (dimension, group), (count, age_sum, age_sq_sum) in group_rows(rows).items():
        t = total.setdefault((dimension, group), [0, 0, 0])
        t[0] -= count
        t[1] -= age_sum
        t[2] = None if t[2] is None else t[2] - age_sq_sum  # unknown stays unknown
    return [PlanRow(d, g, c, a, q) for (d, g), (c, a, q) in total.items() if c or a or q]


def erasure_key(user_id: str) -> str:
    """The erasure register's key of a user: SHA-256 (hex) of the trimmed, lower-case id."""
    return hashlib.sha256(str(user_id).strip().lower().encode("utf-8")).hexdigest()


def ranges_text(offset_ranges: Mapping[tuple[str, int], tuple[int, int]], sep: str = ";") -> str:
    """Kafka offset ranges ``{(topic, partition): (lo, hi)}`` as ``topic:partition:lo-hi`` texts
    joined by ``sep``, sorted: what ``batch_key`` digests and ``profilepipe stream -v`` prints."""
    return sep.join(f"{t}:{p}:{lo}-{hi}" for (t, p), (lo, hi) in sorted(offset_ranges.items()))


def batch_key(offset_ranges: Mapping[tuple[str, int], tuple[int, int]], topic_id: str = "") -> str:
    """A batch's stable name: a digest of the Kafka offset ranges ``{(topic, partition): (lo, hi)}``.

    ``topic_id``: the topic's Kafka id once the topic was recreated under the same name
    (``pipeline.gaps.TopicMarker``), so that its batches' names differ from the old topic's."""
    text = ranges_text(offset_ranges)
    text += f"@{topic_id}" if topic_id else ""
    return hashlib.sha256(text.encode()).hexdigest()[:20]
