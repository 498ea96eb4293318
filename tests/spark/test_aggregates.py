"""Aggregates: exact numbers on a small known input, bands, suppression marks."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import functions as F

from profilepipe import contract
from profilepipe.pipeline import transform

from support import spark_aggregates as aggregates

SCHEMA = (
    "user_id string, full_name string, gender string, username string, email_domain string, "
    "phone_hash string, address_hash string, birth_date date, age int, registered_at timestamp, "
    "nationality string, country string, ingested_at timestamp"
)


def stored_df(spark):
    t = dt.datetime(2026, 1, 15, 10, 30, 45, tzinfo=dt.UTC)
    later = dt.datetime(2026, 1, 15, 10, 31, 2, tzinfo=dt.UTC)
    reg = lambda y: dt.datetime(y, 6, 1, 12, 0, tzinfo=dt.UTC)  # noqa: E731
    rows = [
        # gender, email_domain, age, registered, nat, country, ingested
        ("female", "example.com", 18, reg(2015), "DE", "Germany", t),
        ("female", "example.com", 30, reg(2015), "DE", "Germany", t),
        ("male", "example.com", 45, reg(2018), "DE", "Germany", later),
        ("male", "mail.de", 70, reg(2018), "GB", "United Kingdom", later),
        ("female", None, 24, reg(2020), "GB", "United Kingdom", t),
    ]
    data = [
        (f"u{i}", "n", g, "x", d, "h", "h", None, a, r, n, c, ts)
        for i, (g, d, a, r, n, c, ts) in enumerate(rows)
    ]
    return spark.createDataFrame(data, SCHEMA)


def test_compute_on_a_known_input(spark):
    out = {
        (r["dimension"], r["key"]): (r["count"], r["age_sum"])
        for r in aggregates.compute(stored_df(spark)).collect()
    }
    expected = {
        ("nationality", "DE"): (3, 93),
        ("nationality", "GB"): (2, 94),
        ("country", "Germany"): (3, 93),
        ("country", "United Kingdom"): (2, 94),
        ("gender", "female"): (3, 72),
        ("gender", "male"): (2, 115),
        ("age_band", "18-27"): (2, 42),
        ("age_band", "28-37"): (1, 30),
        ("age_band", "38-47"): (1, 45),
        ("age_band", "68-77"): (1, 70),
        ("country_gender", "Germany|female"): (2, 48),
        ("country_gender", "Germany|male"): (1, 45),
        ("country_gender", "United Kingdom|male"): (1, 70),
        ("country_gender", "United Kingdom|female"): (1, 24),
        ("nationality_gender", "DE|female"): (2, 48),
        ("nationality_gender", "DE|male"): (1, 45),
        ("nationality_gender", "GB|male"): (1, 70),
        ("nationality_gender", "GB|female"): (1, 24),
        ("email_domain", "example.com"): (3, 93),
        ("email_domain", "mail.de"): (1, 70),
        ("registered_year", "2015"): (2, 48),
        ("registered_year", "2018"): (2, 115),
        ("registered_year", "2020"): (1, 24),
        ("ingested_minute", "2026-01-15T10:30"): (3, 72),
        ("ingested_minute", "2026-01-15T10:31"): (2, 115),
    }
    assert out == expected
    squares = {
        (r["dimension"], r["key"]): r["age_sq_sum"] for r in aggregates.compute(stored_df(spark)).collect()
    }
    assert squares[("nationality", "DE")] == 18**2 + 30**2 + 45**2
    assert squares[("gender", "female")] == 18**2 + 30**2 + 24**2
    # every dimension totals the 5 users, except email_domain (one null domain is left out)
    for dim in contract.DIMENSIONS:
        total = sum(c for (d, _), (c, _) in out.items() if d == dim)
        assert total == (4 if dim == "email_domain" else 5), dim


def test_columns_and_types(spark):
    df = aggregates.compute(stored_df(spark))
    assert df.columns == ["dimension", "key", "count", "age_sum", "age_sq_sum"]
    assert dict(df.dtypes) == {
        "dimension": "string",
        "key": "string",
        "count": "bigint",
        "age_sum": "bigint",
        "age_sq_sum": "bigint",
    }


def test_batches_merge_exactly(spark):
    # counts and age sums of two halves add up to those of the whole
    df = stored_df(spark)
    whole = {(r[0], r[1]): (r[2], r[3], r[4]) for r in aggregates.compute(df).collect()}
    merged: dict = {}
    for part in (df.where(F.col("age") < 40), df.where(F.col("age") >= 40)):
        for r in aggregates.compute(part).collect():
            c, s, q = merged.get((r[0], r[1]), (0, 0, 0))
            merged[(r[0], r[1])] = (c + r[2], s + r[3], q + r[4])
    assert merged == whole


def test_ingested_minute_is_utc_whatever_the_session_time_zone(spark):
    before = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        keys = {
            r["key"]
            for r in aggregates.compute(stored_df(spark)).where("dimension = 'ingested_minute'").collect()
        }
    finally:
        spark.conf.set("spark.sql.session.timeZone", before)
    assert keys == {"2026-01-15T10:30", "2026-01-15T10:31"}


def test_age_band_python_and_spark_agree(spark):
    ages = (17, 18, 27, 28, 37, 38, 47, 48, 57, 58, 67, 68, 77, 78, 87, 88, 99)
    assert [contract.age_band(a) for a in ages] == [
        "under 18",
        *("18-27", "18-27", "28-37", "28-37", "38-47", "38-47", "48-57", "48-57"),
        *("58-67", "58-67", "68-77", "68-77", "78-87", "78-87", "88+", "88+"),
    ]
    assert contract.age_band(None) is None
    df = spark.range(0, 121).select(F.col("id").cast("int").alias("age"))
    got = [
        (r[0], r[1]) for r in df.select("age", aggregates.age_band_col(F.col("age"))).orderBy("age").collect()
    ]
    assert got == [(a, contract.age_band(a)) for a in range(121)]


def test_compute_on_transformed_rows(raw, settings, users):
    shaped = transform.assemble(raw([{"results": users}]), settings, "2026-01-15")
    out = {
        (r["dimension"], r["key"]): r["count"]
        for r in aggregates.compute(transform.stored_rows(shaped)).collect()
    }
    assert out[("email_domain", "example.com")] == 8  # the FI minor is not counted
    assert out[("country_gender", "Canada|male")] == 1
    assert sum(c for (d, _), c in out.items() if d == "age_band") == 8


def _groups(df) -> dict:
    return {(r["dimension"], r["key"]): (r["count"], r["age_sum"], r["age_sq_sum"]) for r in df.collect()}


def _contributions(df) -> list[dict]:
    """Collected rows as the contract reads them: instants made UTC (``contract.from_spark``)."""
    rows = df.select(*contract.CONTRIBUTION_COLUMNS).collect()
    return [{k: contract.from_spark(v) for k, v in r.asDict().items()} for r in rows]


def test_the_spark_groups_equal_the_contracts_plain_python_group_by(spark):
    df = stored_df(spark)
    assert _groups(aggregates.compute(df)) == contract.group_rows(_contributions(df))


def test_delta_takes_the_replaced_rows_away_and_adds_the_new_ones(spark):
    df = stored_df(spark)
    old = df.where(F.col("age") < 40)  # what the table holds for three of the users
    new = old.withColumn("country", F.lit("Norway")).withColumn("age", F.col("age") + 1)
    change = contract.delta_rows(_contributions(new), _contributions(old))
    change = {(r.dimension, r.key): (r.count, r.age_sum) for r in change}
    assert change[("country", "Norway")] == (3, 18 + 30 + 24 + 3)
    assert change[("country", "Germany")] == (-2, -48)
    assert change[("nationality", "DE")] == (0, 2)  # same group, one year older each
    squares = {
        (r.dimension, r.key): r.age_sq_sum
        for r in contract.delta_rows(_contributions(new), _contributions(old))
    }
    assert squares[("nationality", "DE")] == (19**2 + 31**2) - (18**2 + 30**2)
    assert ("gender", "male") not in change  # untouched groups are left out
    assert contract.delta_rows(_contributions(old), _contributions(old)) == []  # the same rows again
