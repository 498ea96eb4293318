"""Exact age: birthday boundaries, 29 February, and a plain-Python reference."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from pyspark.sql import functions as F

from profilepipe.pipeline import transform


def reference_age(birth: dt.date, on: dt.date) -> int:
    """Count the birthdays that have happened; a 29 Feb birthday falls on 1 Mar in common years."""

    def birthday(year: int) -> dt.date:
        try:
            return birth.replace(year=year)
        except ValueError:  # 29 February in a common year
            return dt.date(year, 3, 1)

    age = 0
    while birthday(birth.year + age + 1) <= on:
        age += 1
    return age


def spark_ages(spark, pairs):
    df = spark.createDataFrame(pairs, "birth date, on date")
    return [r[0] for r in df.select(transform.exact_age(F.col("birth"), F.col("on"))).collect()]


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        ("2008-01-15", "2026-01-14", 17),  # the day before the 18th birthday
        ("2008-01-15", "2026-01-15", 18),  # on it
        ("2008-01-15", "2026-01-16", 18),  # the day after
        ("2008-12-31", "2026-12-30", 17),
        ("2008-12-31", "2026-12-31", 18),
        ("2008-01-01", "2025-12-31", 17),
        ("2008-02-29", "2026-02-28", 17),  # non-leap as_of: not yet on 28 Feb...
        ("2008-02-29", "2026-03-01", 18),  # ...18 on 1 March
        ("2000-02-29", "2024-02-28", 23),  # leap as_of: the birthday is 29 Feb itself
        ("2000-02-29", "2024-02-29", 24),
        ("2000-02-29", "2024-03-01", 24),
        ("2006-03-01", "2024-02-29", 17),  # born 1 March, leap as_of
        ("2006-03-01", "2024-03-01", 18),
        ("2006-02-28", "2024-02-28", 18),
        ("1944-08-25", "2026-01-15", 81),
        ("2026-01-15", "2026-01-15", 0),
    ],
)
def test_boundaries(spark, birth, on, age):
    b, o = dt.date.fromisoformat(birth), dt.date.fromisoformat(on)
    assert reference_age(b, o) == age
    assert spark_ages(spark, [(b, o)]) == [age]


def test_matches_reference_on_many_random_dates(spark):
    rng = random.Random(20260115)
    start = dt.date(1900, 1, 1).toordinal()
    pairs = []
    for _ in range(4000):
        b = dt.date.fromordinal(rng.randint(start, dt.date(2030, 12, 31).toordinal()))
        o = b + dt.timedelta(
            days=rng.choice([rng.randint(0, 40000), 365 * rng.randint(1, 90) + rng.randint(-2, 2)])
        )
        pairs.append((b, max(o, b)))
    # every 29 Feb birth against dates around each 28 Feb / 1 Mar
    for year in range(1904, 2030, 4):
        b = dt.date(year, 2, 29)
        for later in range(year + 1, year + 25):
            for day in (dt.date(later, 2, 28), dt.date(later, 3, 1)):
                pairs.append((b, day))
    expected = [reference_age(b, o) for b, o in pairs]
    assert spark_ages(spark, pairs) == expected


def test_gdpr_split_around_the_18th_birthday(raw, settings, user):
    u = user(dob__date="2008-02-29T10:00:00.000Z")
    outcomes = []
    for on in ("2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"):
        shaped = transform.assemble(raw([u]), settings, on)
        row = shaped.select("outcome", "age", "phone_hash").collect()[0]
        outcomes.append((row["outcome"], row["age"], row["phone_hash"] is not None))
    assert outcomes == [
        ("filtered_minor", 17, False),
        ("filtered_minor", 17, False),
        ("stored", 18, True),
        ("stored", 18, True),
    ]


def test_dob_time_of_day_does_not_change_the_birth_date(raw, full_settings, user):
    late = user(dob__date="2008-01-15T23:59:59.999Z")
    row = transform.assemble(raw([late]), full_settings, "2026-01-15").collect()[0]
    assert (str(row["birth_date"]), row["age"], row["outcome"]) == ("2008-01-15", 18, "stored")


def test_resolve_as_of(settings):
    assert transform.resolve_as_of(settings) == dt.date(2026, 1, 15)
    assert transform.resolve_as_of(settings, "2024-02-29") == dt.date(2024, 2, 29)
    assert transform.resolve_as_of(settings, dt.date(2020, 1, 1)) == dt.date(2020, 1, 1)
    today = dt.datetime.now(dt.UTC).date()
    assert transform.resolve_as_of(settings.replace(as_of="")) in (today, today + dt.timedelta(days=1))
