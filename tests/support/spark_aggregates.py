"""The test oracle of the aggregates: the same GROUP BY computed in Spark (tests only).

``compute`` returns long-format rows ``(dimension, key, count, age_sum, age_sq_sum)`` of a static frame:
``contract.group_rows`` in Spark (tests/spark/test_aggregates.py holds the two equal). The
package does not call it, so it lives here, beside the tests that do: a micro-batch's change,
its rows' contributions minus those of the rows they replace, is ``contract.delta_rows`` (plain
Python on the rows ``transform.batch_pass`` brings to the driver). Counts and age sums
add up across batches, so the merged average age (``age_sum / count``) is exact however
the stream was cut into batches, and so do the sums of squared ages (``age_sq_sum``), which give
the spread of the ages (``analysis.figure_data.mean_interval``); the MongoDB merge is ``stores.mongo``'s.

Dimensions (``contract.DIMENSIONS``): ``nationality``, ``country``, ``gender``, ``age_band``,
``country_gender`` (``"Germany|female"``: average age by country and gender),
``nationality_gender`` (``"DE|female"``: users by nationality and gender),
``email_domain``, ``registered_year`` and ``ingested_minute`` (``YYYY-MM-DDTHH:MM``,
UTC). A row whose value for a dimension is null is left out of that dimension only.

k-anonymity: a group of fewer than ``Settings.k_anonymity`` users is *marked*
(``contract.below_k``) where it is shown, not dropped, so that counts still merge.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from profilepipe.contract import AGE_BANDS, DIMENSIONS, UNDER_18


def age_band_col(age: Column) -> Column:
    """``contract.age_band`` as a Spark expression (the same ``contract.AGE_BANDS``)."""
    expr = F.when(age.isNull(), F.lit(None))
    for low, name in reversed(AGE_BANDS):
        expr = expr.when(age >= low, F.lit(name))
    return expr.otherwise(F.lit(UNDER_18))


def utc_minute(ts: Column) -> Column:
    """``YYYY-MM-DDTHH:MM`` of a timestamp in UTC, whatever the session time zone."""
    return F.date_format(F.to_utc_timestamp(ts, F.current_timezone()), "yyyy-MM-dd'T'HH:mm")


def compute(stored_df: DataFrame, batch_ingested_minute_col: str = "ingested_at") -> DataFrame:
    """``(dimension, key, count, age_sum, age_sq_sum)`` for every dimension of ``stored_df``.

    ``stored_df`` has the stored-row columns (``transform.stored_rows``, hashed or
    not); ``batch_ingested_minute_col`` is the timestamp column giving
    ``ingested_minute``.
    """
    keys = {
        "nationality": F.col("nationality"),
        "country": F.col("country"),
        "gender": F.col("gender"),
        "age_band": age_band_col(F.col("age")),
        "country_gender": F.when(
            F.col("country").isNotNull() & F.col("gender").isNotNull(),
            F.concat_ws("|", F.col("country"), F.col("gender")),
        ),
        "nationality_gender": F.when(
            F.col("nationality").isNotNull() & F.col("gender").isNotNull(),
            F.concat_ws("|", F.col("nationality"), F.col("gender")),
        ),
        "email_domain": F.col("email_domain"),
        "registered_year": F.year(F.col("registered_at")).cast("string"),
        "ingested_minute": utc_minute(F.col(batch_ingested_minute_col)),
    }
    pairs = F.array(*[F.struct(F.lit(d).alias("dimension"), keys[d].alias("key")) for d in DIMENSIONS])
    return (
        stored_df.select(F.coalesce(F.col("age"), F.lit(0)).alias("age"), F.explode(pairs).alias("p"))
        .where(F.col("p.key").isNotNull())
        .groupBy(F.col("p.dimension").alias("dimension"), F.col("p.key").alias("key"))
        .agg(
            F.count(F.lit(1)).cast("long").alias("count"),
            F.coalesce(F.sum("age"), F.lit(0)).cast("long").alias("age_sum"),
            F.coalesce(F.sum(F.col("age").cast("long") * F.col("age").cast("long")), F.lit(0))
            .cast("long")
            .alias("age_sq_sum"),
        )
    )
