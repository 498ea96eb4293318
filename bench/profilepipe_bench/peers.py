"""What the pipeline is compared with, as DataFrame -> DataFrame functions.

* ``peer_rows``: what most public Kafka -> Spark -> Cassandra projects do. ``from_json`` of
  the v1.4 schema (``schema.USER_SCHEMA``), the columns picked out, phone and address
  through plain SHA-256, the API's own ``dob.age``: no validation, no dead letters, no
  exact age, no GDPR filter, no erasure register, no aggregates.
* ``limit_rows``: the table's rows themselves (JSON of the full profile's columns, made by
  ``runs.rows_topic``, which also gives their schema) read back: Kafka -> Cassandra with no transform at all.
* ``seed_hasher``: the seed project's hashing, a row-at-a-time Python UDF calling
  ``bcrypt.hashpw(value, bcrypt.gensalt(cost))`` once per value (random salt), in place of
  ``privacy.hash_pii`` in the pipeline.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from profilepipe.config import Settings
from profilepipe.pipeline import schema


def peer_rows(batch_df: DataFrame) -> DataFrame:
    """Kafka rows -> table rows, the peer way (see the module docstring)."""
    u = F.col("u")
    loc = u["location"]
    address = F.concat_ws(
        ", ",
        F.concat_ws(" ", loc["street"]["number"], loc["street"]["name"]),
        loc["city"],
        loc["state"],
        loc["postcode"],
        loc["country"],
    )
    return batch_df.select(
        F.from_json(F.col("value").cast("string"), schema.USER_SCHEMA).alias("u"), "timestamp"
    ).select(
        u["login"]["uuid"].alias("user_id"),
        F.concat_ws(" ", u["name"]["first"], u["name"]["last"]).alias("full_name"),
        u["gender"].alias("gender"),
        u["login"]["username"].alias("username"),
        F.substring_index(u["email"], "@", -1).alias("email_domain"),
        F.sha2(u["phone"], 256).alias("phone_hash"),
        F.sha2(address, 256).alias("address_hash"),
        F.to_date(F.substring(u["dob"]["date"], 1, 10)).alias("birth_date"),
        u["dob"]["age"].alias("age"),
        F.to_timestamp(u["registered"]["date"]).alias("registered_at"),
        u["nat"].alias("nationality"),
        loc["country"].alias("country"),
        F.col("timestamp").alias("ingested_at"),
    )


def limit_rows(row_schema):
    """A function: Kafka rows holding finished table rows (JSON, ``row_schema``) -> those rows."""

    def to_rows(batch_df: DataFrame) -> DataFrame:
        row = F.from_json(F.col("value").cast("string"), row_schema).alias("r")
        return batch_df.select(row).select(*[F.col("r")[c].alias(c) for c in row_schema.fieldNames()])

    return to_rows


def seed_hasher(shaped_df: DataFrame, settings: Settings) -> DataFrame:
    """The seed's row-at-a-time bcrypt UDF at ``settings.bcrypt_cost``, random salt per value."""
    import bcrypt

    cost = int(settings.bcrypt_cost)

    @F.udf("string")
    def hash_udf(value):
        if value is None:
            return None
        return bcrypt.hashpw(value.encode("utf-8")[:72], bcrypt.gensalt(cost)).decode()

    return (
        shaped_df.withColumn("phone_hash", hash_udf("phone"))
        .withColumn("address_hash", hash_udf("address"))
        .drop("phone", "address")
    )
