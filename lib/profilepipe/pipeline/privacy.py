"""Pseudonymisation of phone and address: bcrypt or HMAC-SHA256, vectorised.

Two modes, chosen by ``Settings.pii_mode``:

``hmac``
    hex HMAC-SHA256 of ``utf8(NFC(value))`` with ``Settings.hmac_key``
    (``PROFILEPIPE_HMAC_KEY``). Deterministic and cheap; whoever holds the key can
    recompute it, nobody else can. Refused with ``PrivacyError`` if the key is empty.

    *In Spark it runs in the JVM, no Python worker.* RFC 2104 with SHA-256 written in
    Spark SQL's own functions: ``sha2(opad || unhex(sha2(ipad || utf8(NFC(v)), 256)), 256)``
    where ``ipad``/``opad`` are the key (SHA-256 of it if longer than 64 bytes, then
    zero-padded to 64) XOR ``0x36``/``0x5c`` (:func:`hmac_pads`). NFC is ICU4J's
    ``Normalizer.compose(v, false)`` (ICU4J ships in pyspark's jars) through ``reflect``,
    only for non-null values. Equal to Python's ``hmac`` for every value (the reference,
    ``tests/support/hmac_reference.py``, and its property test in
    ``tests/spark/test_hmac_jvm.py``); the one theoretical exception is text holding
    code points that Python's Unicode database does not know yet and ICU's does (NFC
    may reorder a combining mark Python sees as unassigned).

    *The key never becomes a literal.* The pads come in as the two binary columns of
    a one-row ``LocalRelation`` built in the JVM from the driver (:func:`pads_frame`)
    and broadcast-joined to the rows; the plan text (``explain`` in every mode, the
    Spark UI) shows only their attribute names. The broadcast costs one small local
    job per materialisation (once per micro-batch: the batch writer persists the
    hashed frame).

``bcrypt`` (default)
    ``bcrypt.hashpw(prehash(value), salt)`` as text, ``$2b$<cost>$`` + 53 characters
    (60 in all).

    *Input.* bcrypt reads at most 72 bytes; bcrypt 5 raises on longer input and
    older versions silently truncated (two addresses sharing their first 72 bytes
    would collide). Every value is therefore pre-hashed:
    ``prehash(v) = base64(sha256(utf8(NFC(v))))``, always 44 ASCII bytes, so every
    value is handled the same way and ``bcrypt.checkpw(prehash(v), stored)`` verifies.

    *Salt.* The salt is derived, not random: the first 16 bytes of
    ``SHA-256(f"{field}:{user_id}")``, in bcrypt's base64 alphabet. A replayed
    micro-batch (Structured Streaming is at-least-once towards Cassandra) then writes
    exactly the same hash, so upserts are idempotent. This is no weaker than a random
    salt for what a salt does: it is unique per user and field (so equal phones of
    two users, or one user's phone and address, never share a salt and precomputed
    tables do not help), and a bcrypt salt is public anyway (it is the 22 characters
    after the cost inside every hash). What a derived salt gives away is only that
    re-hashing the same value for the same user yields the same string, which is the
    property wanted here.

The Spark entry point is :func:`hash_pii`. hmac mode: the JVM expression above
(:func:`hmac_column`). bcrypt mode: :func:`hash_pii_udf`, one pandas UDF over
``(user_id, phone, address)`` that hashes a whole Arrow batch spread over a thread pool
(bcrypt's ``hashpw`` releases the GIL); the former Python path of hmac mode, the same UDF
calling Python's ``hmac``, is the tests' reference (``tests/support/hmac_reference.py``). Null
values stay null and cost nothing, which is how the transform skips minors and dead letters.
"""

from __future__ import annotations

import base64
import hashlib
import os
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import bcrypt
import pandas as pd

from profilepipe.errors import PrivacyError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from profilepipe.config import Settings

FIELDS = ("phone", "address")
HASH_COLUMNS = ("phone_hash", "address_hash")

_STD_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BCRYPT_B64 = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_TO_BCRYPT = bytes.maketrans(_STD_B64, _BCRYPT_B64)
_BLOCK = 64  # SHA-256's block size in bytes (RFC 2104's B)
_PADS = ("_pii_ipad", "_pii_opad")  # the pads' columns, joined in and dropped again


# ---------------------------------------------------------------- plain Python
def normalise(value: str) -> str:
    """Unicode NFC, so that the same text typed two ways hashes the same."""
    return unicodedata.normalize("NFC", value)


def prehash(value: str) -> bytes:
    """``base64(sha256(utf8(NFC(value))))``: the 44-byte bcrypt input for any value."""
    return base64.b64encode(hashlib.sha256(normalise(value).encode("utf-8")).digest())


def hmac_pads(key: str | bytes) -> tuple[bytes, bytes]:
    """RFC 2104's ``(ipad, opad)`` of ``key`` for SHA-256: 64 bytes each.

    The key (UTF-8 if text) is replaced by its SHA-256 if longer than SHA-256's 64-byte
    block, zero-padded to 64 bytes, then XORed with ``0x36`` and ``0x5c``; so
    ``sha256(opad + sha256(ipad + m)) == hmac.new(key, m, sha256)``. Secret: never log it.
    ``PrivacyError`` if the key is empty.
    """
    if not key:
        raise PrivacyError("HMAC mode needs a key: set PROFILEPIPE_HMAC_KEY")
    k = key.encode("utf-8") if isinstance(key, str) else key
    if len(k) > _BLOCK:
        k = hashlib.sha256(k).digest()
    k = k.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in k), bytes(b ^ 0x5C for b in k)


def derived_salt(user_id: str, field: str, cost: int) -> bytes:
    """``$2b$<cost>$<22 chars>``: 16 bytes of SHA-256(f"{field}:{user_id}") in bcrypt base64."""
    raw = hashlib.sha256(f"{field}:{user_id}".encode()).digest()[:16]
    encoded = base64.b64encode(raw).rstrip(b"=").translate(_TO_BCRYPT)  # 22 characters
    return b"$2b$%02d$" % cost + encoded


def bcrypt_hash(value: str | None, user_id: str, field: str, cost: int = 12) -> str | None:
    """bcrypt of ``prehash(value)`` with the salt derived from ``user_id`` and ``field``."""
    if value is None:
        return None
    return bcrypt.hashpw(prehash(value), derived_salt(user_id, field, cost)).decode("ascii")


def check_settings(settings: Settings) -> None:
    """Raise ``PrivacyError`` if the settings cannot hash (before any Spark job starts)."""
    if settings.pii_mode == "hmac" and not settings.hmac_key:
        raise PrivacyError(
            "pii_mode is 'hmac' but no key is set: export PROFILEPIPE_HMAC_KEY "
            "(or use PROFILEPIPE_PII_MODE=bcrypt)"
        )
    if settings.pii_mode not in ("hmac", "bcrypt"):
        raise PrivacyError(f"unknown pii_mode {settings.pii_mode!r} (bcrypt or hmac)")


# ---------------------------------------------------------------- vectorised
_POOL: ThreadPoolExecutor | None = None


def pool_size() -> int:
    """Threads per Python worker: one per core.

    bcrypt is CPU-bound and releases the GIL, so more threads than cores buys
    nothing; fewer leaves cores idle when Spark runs fewer tasks than cores (a
    micro-batch from one Kafka partition). With several concurrent tasks the pools
    oversubscribe the cores a little, which costs only context switches.

    Measured on the 2-core project machine (bcrypt 5.0.0, hashes/s, 1 -> 2 threads):
    cost 4: ~880 -> ~1590; cost 10: ~14.2 -> ~28.3; cost 12: ~3.7 -> ~7.1
    (about 3.5 users/s at cost 12: two hashes per user).
    """
    return max(1, os.cpu_count() or 1)


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:  # one per Python worker process, reused across batches
        _POOL = ThreadPoolExecutor(pool_size(), thread_name_prefix="bcrypt")
    return _POOL


def hash_columns(user_ids, phones, addresses, cost: int = 12, threads: bool = True):
    """bcrypt two parallel sequences; returns ``(phone_hashes, address_hashes)`` lists.

    The body of the pandas UDF, usable without Spark (tests).
    """
    jobs = [
        (v, u, f)
        for f, column in zip(FIELDS, (phones, addresses), strict=True)
        for v, u in zip(column, user_ids, strict=True)
    ]

    def one(job):
        value, user_id, field = job
        return None if value is None or user_id is None else bcrypt_hash(value, user_id, field, cost)

    live = sum(1 for v, u, _ in jobs if v is not None and u is not None)
    if threads and live > 1 and pool_size() > 1:
        out = list(_pool().map(one, jobs))
    else:
        out = [one(j) for j in jobs]
    n = len(out) // 2
    return out[:n], out[n:]


def text_values(series) -> list[str | None]:
    """A pandas column's values as text, None (and NaN) as None: what the hashes take."""
    return [None if v is None or v != v else str(v) for v in series]  # NaN -> None


def hash_pii(df: DataFrame, settings: Settings) -> DataFrame:
    """Add ``phone_hash`` and ``address_hash``; drop ``phone`` and ``address``.

    ``df`` needs ``user_id``, ``phone`` and ``address`` (strings); the hashes take
    the places of ``phone`` and ``address``. Rows whose phone or address is null get
    a null hash and cost nothing. A frame that is already hashed (``phone_hash`` and
    ``address_hash``, no ``phone``/``address``: e.g. ``transform.stored_rows``) is
    returned as it is. hmac mode runs in the JVM (:func:`hmac_column`, the key's pads
    joined in from :func:`pads_frame`); bcrypt mode runs :func:`hash_pii_udf`. Neither
    puts the key in a plan or a log.
    """
    check_settings(settings)
    if "phone" not in df.columns and "address" not in df.columns and set(HASH_COLUMNS) <= set(df.columns):
        return df
    if settings.pii_mode != "hmac":
        return hash_pii_udf(df, settings)
    from pyspark.sql import functions as F

    joined = df.crossJoin(F.broadcast(pads_frame(df.sparkSession, settings.hmac_key)))
    ipad, opad = (F.col(c) for c in _PADS)
    hashed = {c: hmac_column(F.col(c), ipad, opad).alias(f"{c}_hash") for c in FIELDS}
    return joined.select(*[hashed.get(c, F.col(c)) for c in df.columns])


def hmac_column(value: Column, ipad: Column, opad: Column) -> Column:
    """Hex HMAC-SHA256 of ``utf8(NFC(value))`` as a Spark Column, from the key's pads.

    ``value`` a string Column, ``ipad``/``opad`` binary Columns of :func:`hmac_pads`.
    Null stays null (ICU's ``compose`` is not called on it: it would throw).
    """
    from pyspark.sql import functions as F

    nfc = F.reflect(F.lit("com.ibm.icu.text.Normalizer"), F.lit("compose"), value, F.lit(False))
    message = F.encode(F.when(value.isNotNull(), nfc), "UTF-8")
    inner = F.sha2(F.concat(ipad, message), 256)
    return F.sha2(F.concat(opad, F.unhex(inner)), 256)


def pads_frame(spark: SparkSession, key: str | bytes) -> DataFrame:
    """A one-row DataFrame of the key's pads, binary columns ``_pii_ipad``, ``_pii_opad``.

    Built in the JVM (``SparkSession.createDataFrame(java.util.List[Row], StructType)``,
    a ``LocalRelation``) so that broadcasting it needs no Python RDD and its plan shows
    only the column names, never the bytes. Needs a classic (py4j) session.
    """
    from pyspark.sql import DataFrame
    from pyspark.sql.types import BinaryType, StructField, StructType

    jvm, gateway = spark._jvm, spark.sparkContext._gateway
    values = gateway.new_array(jvm.java.lang.Object, 2)
    values[0], values[1] = hmac_pads(key)
    rows = jvm.java.util.ArrayList()
    rows.add(jvm.org.apache.spark.sql.RowFactory.create(values))
    schema = StructType([StructField(c, BinaryType(), False) for c in _PADS])
    jschema = spark._jsparkSession.parseDataType(schema.json())
    return DataFrame(spark._jsparkSession.createDataFrame(rows, jschema), spark)


def hash_pii_udf(df: DataFrame, settings: Settings) -> DataFrame:
    """:func:`hash_pii` through one vectorised pandas UDF: bcrypt mode's path.

    hmac mode runs in the JVM (:func:`hmac_column`); its former Python path, kept as the
    reference the JVM path is tested against, is ``tests/support/hmac_reference.py``.
    """
    from pyspark.sql.functions import pandas_udf

    check_settings(settings)
    if settings.pii_mode != "bcrypt":
        raise PrivacyError(
            f"hash_pii_udf hashes in bcrypt mode only, not {settings.pii_mode!r}: use hash_pii"
        )
    cost = int(settings.bcrypt_cost)

    @pandas_udf("phone_hash string, address_hash string")
    def pii_hashes(user_id: pd.Series, phone: pd.Series, address: pd.Series) -> pd.DataFrame:
        p, a = hash_columns(text_values(user_id), text_values(phone), text_values(address), cost)
        return pd.DataFrame({"phone_hash": p, "address_hash": a}, dtype=object)

    return hashes_in_place(df, pii_hashes)


def hashes_in_place(df: DataFrame, pii_hashes) -> DataFrame:
    """``df`` with ``phone`` and ``address`` replaced, in their places, by the ``phone_hash`` and
    ``address_hash`` that ``pii_hashes(user_id, phone, address)`` (a pandas UDF) returns."""
    from pyspark.sql import functions as F

    hashed = df.withColumn("_pii", pii_hashes("user_id", "phone", "address"))
    renamed = {"phone": "phone_hash", "address": "address_hash"}  # same position, new column
    return hashed.select(
        *[F.col(f"_pii.{renamed[c]}").alias(renamed[c]) if c in renamed else F.col(c) for c in df.columns]
    )
