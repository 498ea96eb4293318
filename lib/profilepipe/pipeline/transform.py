"""parse -> validate -> stored row: the Spark transform, as pure DataFrame functions.

Read top to bottom, the way the stream uses it::

    shaped = assemble(raw, settings, as_of)                    # parse, shape, hash: one row per record
    counts = outcome_counts(shaped)                            # contract.BALANCE_RULE holds
                                                               # (a micro-batch: batch_pass, one job)
    rows   = stored_rows(shaped)                               # the Cassandra rows
    dlq    = dead_letters(shaped)                              # the dead-letter messages

``raw`` has the Kafka source columns (``contract.RAW_KAFKA_SCHEMA``: ``key``, ``value``,
``topic``, ``partition``, ``offset``, ``timestamp``); ``file_job`` builds the same columns from a file.
``shaped`` holds a pandas UDF (the hashes): persist it when more than one action
reads it, as ``batch_writer`` and ``file_job`` do, or bcrypt runs once per action.

A *record* is one user: a message holding an envelope ``{"results": [...]}`` of n
users gives n records, any other message one. Every record ends with exactly one
``outcome``: ``stored``, ``filtered_minor`` (GDPR: younger than ``min_age``),
``erased`` (in the erasure register: ``profilepipe forget``) or ``dead_letter`` with
the first reason that applies, in the order of ``contract.REASONS``:
``too_large`` > ``invalid_json`` > ``not_a_user`` > ``missing_uuid`` > ``invalid_uuid`` >
``invalid_dob`` > ``future_dob`` > ``duplicate_in_batch``. ``too_large``: the value is
longer than ``settings.max_message_bytes``; it is one record and is never JSON-parsed.

Privacy: the password material (``login.password/salt/md5/sha1/sha256``), ``cell``
and the national ``id`` are not in the parse schema, so they are never read; the
email's local part is cut off where it is read; phone and the full address exist
in clear only inside ``assemble``, only on rows that will be stored, and
leave it as ``phone_hash``/``address_hash`` (``privacy.hash_pii``). Minors and dead
letters are never hashed and keep no personal data (minors: ``user_id`` and ``age``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from profilepipe import contract
from profilepipe.contract import (
    CONTRIBUTION_COLUMNS,
    DEAD,
    DLQ_FIELDS,
    DUPLICATE_IN_BATCH,
    ERASED,
    FULL,
    FUTURE_DOB,
    INVALID_DOB,
    INVALID_JSON,
    INVALID_UUID,
    MINOR,
    MISSING_UUID,
    NOT_A_USER,
    OUTCOMES,
    SOURCE_COLUMNS,
    STORED,
    STORED_FIELDS,
    TOO_LARGE,
    UUID_PATTERN,
)
from profilepipe.pipeline import privacy
from profilepipe.pipeline.schema import DOCUMENT_SCHEMA, PARSE_SCHEMA, USER_FIELDS

_UNHASHED = {"phone_hash": "phone", "address_hash": "address"}


def unhashed_columns(columns: Iterable[str]) -> tuple[str, ...]:
    """A profile's columns before hashing: ``phone`` and ``address`` in clear (``shape``'s output)."""
    return tuple(_UNHASHED.get(c, c) for c in columns)


def _reason_and_detail(rules) -> tuple[Column, Column]:
    """The reason and the detail of the first ``(condition, reason, detail)`` rule that holds."""
    conditions, reasons, details = zip(*rules, strict=True)
    return _case(conditions, reasons), _case(conditions, details)


def _case(conditions, values) -> Column:
    """``CASE WHEN conditions[0] THEN values[0] WHEN ... END``; a plain value becomes a string literal."""
    expr = None
    for condition, value in zip(conditions, values, strict=True):
        value = value if isinstance(value, Column) else F.lit(value).cast("string")
        expr = F.when(condition, value) if expr is None else expr.when(condition, value)
    return expr


# ------------------------------------------------------------------------ parse
def parse(raw: DataFrame, max_bytes: int | None = None) -> DataFrame:
    """Kafka-shaped rows -> one row per record with ``user`` (struct) or ``parse_error``.

    Columns: the ``SOURCE_COLUMNS`` (source topic/partition/offset/timestamp, key,
    SHA-256 and size of the message value, ``record_index`` inside an envelope),
    ``record_path`` (``results[i]`` for envelope members, else null),
    ``parse_error`` (null, ``too_large``, ``invalid_json`` or ``not_a_user``), ``parse_detail``
    and ``user`` (``schema.PARSE_SCHEMA``). The raw value is not carried on.

    A value longer than ``max_bytes`` (None: no limit) is one record ``too_large``,
    whatever it holds: its text is nulled before any JSON function sees it.
    """
    size = F.octet_length(F.col("value"))
    oversized = F.lit(False)
    if max_bytes is not None:
        oversized = F.coalesce(size > F.lit(int(max_bytes)), F.lit(False))
    value = F.when(~oversized, F.col("value"))
    text = value.cast("string")  # the bytes as they are; checked just below
    head = F.regexp_extract(F.col("text"), r"(?s)^[ \t\n\r]*(.)", 1)  # after JSON's four whitespaces
    is_json = F.get_json_object(F.col("text"), "$").isNotNull()  # lenient Jackson parse

    docs = raw.select(
        F.col("key"),
        F.col("topic").alias("source_topic"),
        F.col("partition").alias("source_partition"),
        F.col("offset").alias("source_offset"),
        F.col("timestamp").alias("source_timestamp"),
        F.sha2(F.col("value"), 256).alias("value_sha256"),
        size.alias("value_bytes"),
        oversized.alias("oversized"),
        F.when(F.is_valid_utf8(text), text).alias("text"),
        F.when(F.col("value").isNull(), "message has no value")
        .when(~F.is_valid_utf8(text), "value is not valid UTF-8")
        .alias("utf8_error"),
    ).select(
        "*",
        F.when(head == "{", F.from_json(F.col("text"), DOCUMENT_SCHEMA)).alias("doc"),
        # from_json keeps what it read before a syntax error and takes end of input for
        # the missing closing brackets, so a truncated object would pass as a (partial)
        # user or envelope: the whole object must scan as JSON (not copied, cheap)
        ((head == "{") & F.json_object_keys(F.col("text")).isNull()).alias("broken_object"),
    )

    doc = F.col("doc")
    is_envelope = doc["results"].isNotNull()
    is_user = (head == "{") & F.greatest(*[doc[f].isNotNull() for f in USER_FIELDS])
    rules = [  # (condition, reason, detail): the first that holds decides; reason None = fine so far
        (
            F.col("oversized"),
            TOO_LARGE,
            F.format_string("value is %d bytes, limit %d", F.col("value_bytes"), F.lit(max_bytes or 0)),
        ),
        (F.col("utf8_error").isNotNull(), INVALID_JSON, F.col("utf8_error")),
        (F.col("broken_object"), INVALID_JSON, "value is not valid JSON"),
        (is_envelope & (F.size(doc["results"]) == 0), NOT_A_USER, "envelope with an empty results list"),
        (is_envelope | is_user, None, None),
        (~is_json, INVALID_JSON, "value is not valid JSON"),
        (head == "{", NOT_A_USER, "JSON object without any user field"),
        (head == "[", NOT_A_USER, "JSON array, not a user object"),
        (F.lit(True), NOT_A_USER, "JSON scalar, not a user object"),
    ]
    doc_error, doc_detail = _reason_and_detail(rules)
    docs = docs.select(
        *SOURCE_COLUMNS[:-1],
        doc_error.alias("doc_error"),
        doc_detail.alias("doc_detail"),
        F.coalesce(is_envelope, F.lit(False)).alias("is_envelope"),
        # an envelope's users stay JSON text until after the explode
        F.when(is_envelope & (F.size(doc["results"]) > 0), doc["results"])
        .otherwise(F.array(F.lit(None).cast("string")))
        .alias("items"),
        F.struct(*[doc[f].alias(f) for f in USER_FIELDS]).alias("single"),
    )

    # posexplode_outer: items is never empty, and unlike posexplode it does not make the
    # optimizer add a size(items) > 0 filter that would run from_json a second time
    rec = docs.select("*", F.posexplode_outer("items").alias("record_index", "item")).drop("items")
    item_is_object = F.substring(F.ltrim(F.col("item")), 1, 1) == "{"
    user = F.when(
        F.col("is_envelope"),
        F.when(item_is_object, F.from_json(F.col("item"), PARSE_SCHEMA)),
    ).otherwise(F.col("single"))
    rec = rec.select("*", user.alias("user"))
    u = F.col("user")
    user_ok = u.isNotNull() & F.greatest(*[u[f].isNotNull() for f in USER_FIELDS])
    in_envelope = F.col("is_envelope") & F.col("doc_error").isNull()
    return rec.select(
        *SOURCE_COLUMNS,
        F.when(in_envelope, F.format_string("results[%d]", F.col("record_index"))).alias("record_path"),
        F.when(F.col("doc_error").isNotNull(), F.col("doc_error"))
        .when(~user_ok, F.lit(NOT_A_USER))
        .alias("parse_error"),
        F.when(F.col("doc_error").isNotNull(), F.col("doc_detail"))
        .when(~user_ok, F.lit("not a user object"))
        .alias("parse_detail"),
        F.when(F.col("doc_error").isNull() & user_ok, u).alias("user"),
    )


# ------------------------------------------------------------------------ age
def resolve_as_of(settings, as_of: dt.date | str | None = None) -> dt.date:
    """The processing date (``contract.processing_date``): ``as_of``, else ``settings.as_of``, else today."""
    return contract.processing_date(as_of if as_of is not None else (settings.as_of or None))


def exact_age(birth: Column, as_of: Column) -> Column:
    """Whole years from ``birth`` to ``as_of``, the birthday itself counting.

    Year difference, minus one while this year's (month, day) birthday is still
    ahead. A 29 February birthday is therefore reached on 1 March in non-leap years
    (28 Feb < 29 Feb): someone born 2008-02-29 turns 18 on 2026-03-01, the usual
    legal convention (e.g. UK, Germany), and on 29 Feb in leap years.
    """
    before_birthday = (F.month(as_of) < F.month(birth)) | (
        (F.month(as_of) == F.month(birth)) & (F.dayofmonth(as_of) < F.dayofmonth(birth))
    )
    return (F.year(as_of) - F.year(birth) - F.when(before_birthday, 1).otherwise(0)).cast("int")


def _birth_date(text: Column) -> Column:
    """``YYYY-MM-DD...`` with a valid full timestamp -> the calendar date as written.

    The API writes UTC (``...Z``); taking the written date keeps the result
    independent of the session time zone.
    """
    t = F.trim(text)
    valid = t.rlike(r"^\d{4}-\d{2}-\d{2}") & t.try_cast("timestamp").isNotNull()
    return F.when(valid, F.substring(t, 1, 10).try_cast("date"))


def _blank(c: Column) -> Column:
    return c.isNull() | (F.trim(c) == "")


# ------------------------------------------------------------------------ assemble
def assemble(
    raw: DataFrame,
    settings,
    as_of: dt.date | str | None = None,
    *,
    erased_keys: Iterable[str] = (),
    supersede: bool = True,
    hasher: Callable[[DataFrame, object], DataFrame] | None = None,
) -> DataFrame:
    """The whole transform, the one way every caller builds it: ``parse`` -> ``shape`` -> hash.

    One row per record, phone and address hashed by ``hasher`` (``privacy.hash_pii``
    unless given: ``(shaped, settings) -> hashed``). ``as_of``, ``erased_keys`` and
    ``supersede`` are ``shape``'s; messages longer than ``settings.max_message_bytes`` are
    ``too_large``. The stream binds it to each batch (``pipeline.prepared``), the file job
    and the tests call it as it is.
    """
    parsed = parse(raw, settings.max_message_bytes)
    shaped = shape(parsed, settings, as_of, erased_keys=erased_keys, supersede=supersede)
    return (hasher or privacy.hash_pii)(shaped, settings)


def shape(
    parsed: DataFrame,
    settings,
    as_of: dt.date | str | None = None,
    erased_keys: Iterable[str] = (),
    supersede: bool = True,
) -> DataFrame:
    """One row per record: ``outcome``, ``dlq_reason``, ``dlq_detail``, the profile's columns, sources.

    The profile's columns are ``settings.user_columns`` (``contract.user_columns`` of
    ``settings.store_profile``) with ``phone`` and ``address`` in place of their hashes
    (``unhashed_columns``). ``birth_year`` (minimal) is taken from the birth date after the
    exact age is computed from the whole date; the minimal profile's ``address`` leaves the
    postcode out (it is hashed, never stored, in either profile).

    Phone and address are still in clear here, on the rows whose outcome is ``stored``
    and only there (null elsewhere); ``assemble`` hashes them. Non-stored rows
    keep only ``user_id`` (when it is a valid UUID) and ``age``. ``as_of`` (default
    ``settings.as_of``, else today UTC) enters the plan as a date literal, so a rerun
    computes the same ages. ``ingested_at`` is the Kafka timestamp of the message (when
    it entered the pipeline), so a replayed batch writes exactly the same row.

    The same ``login.uuid`` twice in one batch: the record at the highest offset wins,
    earlier ones are dead letters ``duplicate_in_batch`` (so every record is counted once
    and both stores agree). The rule is a window over the records grouped by user, so a
    shuffle of every record: ``supersede=False`` leaves it out, for a caller that knows
    no user appears twice (a micro-batch: ``BatchPass.repeated`` says when it must be
    shaped again with the rule). Without a repeated user the rule changes nothing.

    ``erased_keys``: the erasure register (``contract.erasure_key`` of each forgotten user,
    SHA-256 of the lower-case id; ``erasure_key_col`` here); a valid record of such a user has the outcome
    ``erased``, whatever its age, and keeps no personal data.
    """
    privacy.check_settings(settings)  # e.g. hmac without a key: refuse before any job
    as_of_lit = F.lit(resolve_as_of(settings, as_of))
    u = F.col("user")
    uuid = F.trim(u["login"]["uuid"])
    dob_text = u["dob"]["date"]
    birth = _birth_date(dob_text)
    age = exact_age(birth, as_of_lit)

    rules = [  # (condition, reason, detail), in the order of precedence
        (F.col("parse_error").isNotNull(), F.col("parse_error"), F.col("parse_detail")),
        (_blank(uuid), MISSING_UUID, "login.uuid is missing"),
        (~uuid.rlike(UUID_PATTERN), INVALID_UUID, "login.uuid is not a UUID"),
        (_blank(dob_text), INVALID_DOB, "dob.date is missing"),
        (birth.isNull(), INVALID_DOB, "dob.date is not an ISO-8601 date"),
        (
            birth > as_of_lit,
            FUTURE_DOB,
            F.concat(F.lit("dob.date is after as_of "), as_of_lit.cast("string")),
        ),
    ]
    reason, detail = _reason_and_detail(rules)
    if supersede:
        latest_first = Window.partitionBy(F.when(reason.isNull(), F.lower(uuid))).orderBy(
            F.col("source_partition").desc(), F.col("source_offset").desc(), F.col("record_index").desc()
        )
        superseded = reason.isNull() & (F.row_number().over(latest_first) > 1)
        rules.append((superseded, DUPLICATE_IN_BATCH, "a later record in this batch has the same login.uuid"))
        reason, detail = _reason_and_detail(rules)
    checked = parsed.select(
        "*",
        reason.alias("dlq_reason"),
        F.when(
            F.col("record_path").isNotNull() & detail.isNotNull(),
            F.concat(F.col("record_path"), F.lit(": "), detail),
        )
        .otherwise(detail)
        .alias("dlq_detail"),
        F.when(reason.isNull(), F.lower(uuid)).alias("_user_id"),
        F.when(reason.isNull(), age).alias("_age"),
    ).select(
        "*",
        _outcome(sorted(erased_keys))
        .when(F.col("_age") >= F.lit(int(settings.min_age)), F.lit(STORED))
        .otherwise(F.lit(MINOR))
        .alias("outcome"),
    )

    keep = F.col("outcome") == STORED
    name, loc, email = u["name"], u["location"], u["email"]
    street = F.nullif(F.concat_ws(" ", loc["street"]["number"], loc["street"]["name"]), F.lit(""))
    postcode = [loc["postcode"]] if settings.store_profile == FULL else []
    address = F.concat_ws(", ", street, loc["city"], loc["state"], *postcode, loc["country"])
    domain = F.when(F.instr(email, "@") > 0, F.lower(F.trim(F.substring_index(email, "@", -1))))
    shaped = {
        "user_id": F.col("_user_id"),
        "full_name": F.concat_ws(" ", F.trim(name["first"]), F.trim(name["last"])),
        "gender": u["gender"],
        "username": u["login"]["username"],
        "email_domain": domain,
        "phone": u["phone"],
        "address": address,
        "birth_date": birth,
        "birth_year": F.year(birth),
        "age": F.col("_age"),
        "registered_at": F.trim(u["registered"]["date"]).try_cast("timestamp"),
        "nationality": u["nat"],
        "country": loc["country"],
        "ingested_at": F.col("source_timestamp"),
    }
    always = {"user_id", "age", "ingested_at"}
    out = []
    for col in unhashed_columns(settings.user_columns):
        value = shaped[col]
        if col not in always:
            typed = col in ("birth_date", "birth_year", "registered_at")  # not text: no "" to null
            value = F.when(keep, value if typed else F.nullif(value, F.lit("")))
        out.append(value.alias(col))
    return checked.select("outcome", "dlq_reason", "dlq_detail", *out, *SOURCE_COLUMNS)


# ------------------------------------------------------------------------ outputs
def stored_rows(df: DataFrame) -> DataFrame:
    """Rows to store: the users table's columns (those of the profile ``df`` was shaped in), in order."""
    columns = [f.column for f in STORED_FIELDS if f.column in df.columns]
    return df.where(F.col("outcome") == STORED).select(*columns)


def dead_letters(df: DataFrame) -> DataFrame:
    """Dead letters: the message ``key`` and the ``DLQ_FIELDS``; no value, no personal data."""
    return df.where(F.col("outcome") == DEAD).select(
        "key",
        F.col("dlq_reason").alias("reason"),
        F.col("dlq_detail").alias("detail"),
        *DLQ_FIELDS[2:],
    )


def outcome_counts(df: DataFrame) -> dict[str, int]:
    """``{"read", "stored", "filtered_minor", "erased", "dead_letter"}``; read counts records."""
    return batch_counts(df)[0]


Offsets = dict[tuple[str, int], tuple[int, int]]


def _tally(groups) -> tuple[dict[str, int], Offsets]:
    """Counts and offset ranges from ``(outcome, topic, partition, n, lo, hi)`` tuples."""
    counts = dict.fromkeys(OUTCOMES, 0)
    ranges: Offsets = {}
    for outcome, topic, partition, n, lo, hi in groups:
        counts[outcome] += int(n)
        tp = (topic, int(partition))
        was_lo, was_hi = ranges.get(tp, (int(lo), int(hi)))
        ranges[tp] = (min(was_lo, int(lo)), max(was_hi, int(hi)))
    return {"read": sum(counts.values()), **counts}, ranges


def batch_counts(df: DataFrame) -> tuple[dict[str, int], Offsets]:
    """``outcome_counts`` and the Kafka offset ranges ``{(topic, partition): (lo, hi)}``, in one job.

    A GROUP BY in Spark: for a file or a frame of any size. A micro-batch takes
    ``batch_pass``, which also collects what its plan needs.
    """
    rows = (
        df.groupBy("outcome", "source_topic", "source_partition")
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.min("source_offset").alias("lo"),
            F.max("source_offset").alias("hi"),
        )
        .collect()
    )
    return _tally(tuple(r) for r in rows)


@dataclass
class BatchPass:
    """What one pass over a micro-batch yields (``batch_pass``)."""

    counts: dict[str, int]  # ``outcome_counts``
    offsets: Offsets  # the Kafka offset ranges, which name the batch (``contract.batch_key``)
    stored: list[dict]  # ``user_id`` and ``CONTRIBUTION_COLUMNS`` of each row to store, instants in UTC
    repeated: bool = False  # a user_id on two records: if shaped with ``supersede=False``, shape again
    read: dict = field(default_factory=dict)  # (topic, partition) -> the offsets read (``gaps.find``)


def batch_pass(df: DataFrame) -> BatchPass:
    """Counts, offset ranges and the stored rows' contributions of a shaped batch, in one job.

    Every message gives at least one record (an empty envelope is a dead letter), so the
    ranges are those of the Kafka rows themselves: the batch is named from the same pass
    that parses, validates and hashes it (``df`` is persisted: the rows' write reads the
    same result). One small row per record reaches the driver (a micro-batch holds at most
    ``max_offsets_per_trigger`` messages), and a plan is computed from it in plain Python
    (``contract.delta_rows``) instead of by further Spark jobs. ``user_id`` is set on every
    record that passed validation (stored, minor or erased): the same id twice is what the
    duplicate rule acts on (``repeated``).
    """
    is_stored = F.col("outcome") == STORED
    sources = ("outcome", *SOURCE_COLUMNS[1:4], "user_id")  # topic, partition, offset
    contributions = [F.when(is_stored, F.col(c)).alias(c) for c in CONTRIBUTION_COLUMNS]
    rows = df.select(*sources, *contributions).collect()
    counts, offsets = _tally((r[0], r[1], r[2], 1, r[3], r[3]) for r in rows)
    wanted = ("user_id", *CONTRIBUTION_COLUMNS)
    stored = [{c: contract.from_spark(r[c]) for c in wanted} for r in rows if r[0] == STORED]
    ids = [r[4] for r in rows if r[4] is not None]
    read: dict = {}
    for r in rows:
        read.setdefault((r[1], int(r[2])), set()).add(int(r[3]))
    return BatchPass(counts, offsets, stored, repeated=len(set(ids)) != len(ids), read=read)


def _outcome(erased_keys: list[str]) -> Column:
    """The first branches of ``outcome``: dead letters, then forgotten users (if any)."""
    expr = F.when(F.col("dlq_reason").isNotNull(), F.lit(DEAD))
    if erased_keys:
        expr = expr.when(erasure_key_col(F.col("_user_id")).isin(erased_keys), F.lit(ERASED))
    return expr


def erasure_key_col(user_id: Column) -> Column:
    """``contract.erasure_key`` as a Spark expression: SHA-256 (hex) of the trimmed, lower-case id.

    Equal to the Python function for every id the stream sees: ``user_id`` is a validated
    UUID (hex digits and dashes), already trimmed and lower-cased in ``shape``; trimming and
    lower-casing again here keeps the two definitions the same for mixed-case input too.
    """
    return F.sha2(F.lower(F.trim(user_id)), 256)
