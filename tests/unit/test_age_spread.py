"""The spread of the ages: ``age_sq_sum`` beside ``count`` and ``age_sum`` along the plan path, the
confidence interval of an average computed from the three sums, equal-width age bands, and the
context every figure carries (n, k, the processing date, partial registration years)."""

from __future__ import annotations

import math
import statistics

import pytest

from profilepipe import contract
from profilepipe.analysis import disclosure, figure_data, plots
from profilepipe.sources import generator
from profilepipe.stores import mongo
from profilepipe.tools import audit

from support.rows import aggregate_row


def row(age: int, nat: str = "DE", country: str = "Germany", gender: str = "female") -> dict:
    return {**aggregate_row(nat, country, gender, age), "user_id": f"{nat}-{gender}-{age}"}


# ------------------------------------------------------------------ the t quantile and the interval
@pytest.mark.parametrize(
    ("df", "t"),  # Student's t, 0.975 quantile (any statistics table)
    [(1, 12.706205), (2, 4.302653), (5, 2.570582), (6, 2.446912), (10, 2.228139), (30, 2.042272)],
)
def test_t_quantile_matches_the_table(df, t):
    assert figure_data.t_quantile(0.975, df) == pytest.approx(t, abs=1e-6)
    assert figure_data.t_quantile(0.025, df) == pytest.approx(-t, abs=1e-6)


def test_t_quantile_tends_to_the_normal_one():
    assert figure_data.t_quantile(0.975, 100_000) == pytest.approx(1.959964, abs=1e-4)
    assert figure_data.t_quantile(0.5, 7) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError):
        figure_data.t_quantile(1.0, 5)


def test_the_interval_from_the_three_sums_is_the_one_from_the_ages():
    ages = [23, 31, 35, 44, 58, 71, 29]
    n, s, q = len(ages), sum(ages), sum(a * a for a in ages)
    got = figure_data.mean_interval(n, s, q)
    mean, sd = statistics.mean(ages), statistics.stdev(ages)
    half = figure_data.t_quantile(0.975, n - 1) * sd / math.sqrt(n)
    assert got.n == n and got.mean == pytest.approx(mean) and got.sd == pytest.approx(sd)
    assert (got.low, got.high) == (pytest.approx(mean - half), pytest.approx(mean + half))
    assert got.half_width == pytest.approx(half)


def test_small_groups_get_honest_wide_intervals_and_unknown_gets_none():
    spread = [30, 40, 50, 60, 35, 45]  # 6 users
    narrow = figure_data.mean_interval(600, sum(spread) * 100, sum(a * a for a in spread) * 100)
    wide = figure_data.mean_interval(6, sum(spread), sum(a * a for a in spread))
    assert wide.half_width > 8 * narrow.half_width  # t(5) and sqrt(6) against t(599) and sqrt(600)
    assert figure_data.mean_interval(1, 40, 1600) is None  # one user: no spread
    assert figure_data.mean_interval(6, 240, None) is None  # a document from before age_sq_sum
    assert figure_data.mean_interval(3, 120, 10) is None  # inconsistent sums: not an interval
    same = figure_data.mean_interval(5, 200, 8000)  # five users of 40: no spread at all
    assert (same.low, same.high) == (40.0, 40.0)
    assert figure_data.doc_interval({"count": None, "age_sum": None, "age_sq_sum": None}) is None


# ------------------------------------------------------------------ age_sq_sum along the plan path
def test_group_rows_and_delta_rows_carry_the_sum_of_squared_ages():
    rows = [row(30), row(50)]
    assert contract.group_rows(rows)[("nationality", "DE")] == (2, 80, 30 * 30 + 50 * 50)
    # the same users, count and age sum, other ages: only age_sq_sum changes, and the plan says so
    change = contract.delta_rows([row(40, gender="male"), row(40)], rows)
    de = next(r for r in change if (r.dimension, r.key) == ("nationality", "DE"))
    assert (de.count, de.age_sum, de.age_sq_sum) == (0, 0, 2 * 1600 - 3400)
    assert contract.delta_rows(rows, rows) == []


def test_a_plan_part_from_before_age_sq_sum_makes_the_document_unknown():
    new = contract.PlanRow("gender", "female", 2, 80, 3400)
    old = contract.PlanRow.of({"dimension": "gender", "key": "female", "count": 2, "age_sum": 80})
    assert old.age_sq_sum is None
    assert mongo._increment(new, "b1") == {
        "$inc": {"count": 2, "age_sum": 80, "age_sq_sum": 3400},
        "$push": {"applied": "b1"},
    }
    assert mongo._increment(old, "b1")["$set"] == {mongo.AGE_SQ_KNOWN: False}
    assert mongo._part(new, "b1")["age_sq_sum"] == 3400


def test_a_merged_document_without_the_mark_has_an_unknown_age_sq_sum():
    base = {"dimension": "gender", "key": "female", "count": 2, "age_sum": 80}
    created_here = mongo._merged({**base, "age_sq_sum": 3400, mongo.AGE_SQ_KNOWN: True}, 5)
    assert created_here["age_sq_sum"] == 3400 and mongo.AGE_SQ_KNOWN not in created_here
    # created by a version before the field: a later $inc started it part way
    assert mongo._merged({**base, "age_sq_sum": 900}, 5)["age_sq_sum"] is None
    assert mongo._merged(base, 5)["age_sq_sum"] is None
    assert mongo._merged({**base, "age_sq_sum": 3400, mongo.AGE_SQ_KNOWN: False}, 5)["age_sq_sum"] is None


def test_a_user_forgotten_mid_batch_takes_its_squares_back():
    rows = [row(30), row(50)]
    plan = contract.delta_rows(rows, [])
    left = {(r.dimension, r.key): r for r in contract.plan_without(plan, rows[1:])}
    assert left[("nationality", "DE")][2:] == (1, 30, 900)
    assert contract.plan_without(plan, rows) == []


def test_the_audit_checks_age_sq_sum_where_it_is_known():
    rows = [row(30), row(50)]
    docs = [
        {"dimension": d, "key": k, "count": c, "age_sum": a, "age_sq_sum": q}
        for (d, k), (c, a, q) in contract.group_rows(rows).items()
    ]
    assert audit.aggregate_differences(rows, docs) == []
    wrong = [dict(d, age_sq_sum=d["age_sq_sum"] + 1) if d["dimension"] == "gender" else d for d in docs]
    assert audit.aggregate_differences(rows, wrong) == [
        "gender female: table 2 users (sum of squared ages 3400), aggregates 2 (sum of squared ages 3401)"
    ]
    unknown = [dict(d, age_sq_sum=None) for d in docs]  # documents from before the field
    assert audit.aggregate_differences(rows, unknown) == []


def test_what_hides_a_count_hides_its_sum_of_squares():
    docs = [
        {"dimension": "registered_year", "key": y, "count": c, "age_sum": 40 * c, "age_sq_sum": 1700 * c}
        for y, c in (("2015", 2), ("2016", 9), ("2017", 7))
    ]
    view = {d["key"]: d for d in disclosure.protect(docs, 5)}
    assert view["2015"]["age_sq_sum"] is None and view["2017"]["age_sq_sum"] is None
    assert view["2016"]["age_sq_sum"] == 9 * 1700


# ------------------------------------------------------------------ equal-width age bands
def test_age_bands_are_equal_width_and_the_open_one_comes_last():
    lows = [low for low, _ in contract.AGE_BANDS]
    assert lows[0] == 18 and {b - a for a, b in zip(lows, lows[1:], strict=False)} == {
        contract.AGE_BAND_WIDTH
    }
    for low, label in contract.AGE_BANDS[:-1]:
        assert label == f"{low}-{low + contract.AGE_BAND_WIDTH - 1}"
        assert contract.age_band(low) == contract.age_band(low + contract.AGE_BAND_WIDTH - 1) == label
    assert contract.AGE_BANDS[-1][1] == contract.OPEN_AGE_BAND == "88+" == contract.age_band(120)
    assert contract.age_band(80) == "78-87"  # the generator's oldest adult: in a closed band


def test_the_age_band_figure_draws_every_band_and_marks_the_open_one():
    docs = [
        {"dimension": "age_band", "key": "28-37", "count": 40, "age_sum": 40 * 32},
        {"dimension": "age_band", "key": "48-57", "count": 30, "age_sum": 30 * 52},
    ]
    data = plots.figure_data("age_bands", docs, 5)
    assert [c.group for c in data.cells] == [label for _, label in contract.AGE_BANDS]
    assert [c.value for c in data.cells] == [0, 40, 0, 30, 0, 0, 0, 0]
    assert [c.mark for c in data.cells][-1] == figure_data.OPEN_BAND
    assert data.notes[0] == "bands of 10 years; 88+ is open-ended (hatched)"


# ------------------------------------------------------------------ context of every figure
def test_processing_dates_and_the_caption():
    assert figure_data.processing_dates([]) is None
    assert figure_data.processing_dates([{"as_of": "2026-06-01"}, {"as_of": "2026-06-01"}]) == "2026-06-01"
    two = [{"as_of": "2026-06-03"}, {"as_of": "2026-06-01"}, {}]
    assert figure_data.processing_dates(two) == "2026-06-01 to 2026-06-03"
    docs = [
        {"dimension": "gender", "key": "female", "count": 30, "age_sum": 1200},
        {"dimension": "gender", "key": "male", "count": 20, "age_sum": 800},
    ]
    assert plots.caption(docs, 5, "2026-06-01") == "n = 50 users · k = 5 · processing date 2026-06-01"
    assert plots.caption(docs, 60, None) == "n < 60 users (withheld) · k = 60 · processing date not known"
    data = plots.figure_data("gender_split", docs, 5, "2026-06-01")
    assert data.caption == plots.caption(docs, 5, "2026-06-01")
    fig = plots.figure("gender_split", docs, 5, "2026-06-01")
    assert fig.get_supxlabel() == data.caption


def test_partial_registration_years_are_marked():
    assert figure_data.FIRST_REGISTRATION == generator._REGISTERED_MIN
    docs = [
        {"dimension": "registered_year", "key": str(y), "count": 20, "age_sum": 800}
        for y in (2002, 2010, 2026)
    ]
    data = plots.figure_data("registrations_by_year", docs, 5, "2026-06-01")
    assert {c.group: c.mark for c in data.cells} == {
        "2002": "partial year",
        "2010": None,
        "2026": "partial year",
    }
    assert data.notes[0] == (
        "partial years (hatched): 2002 (from 21 March), 2026 (up to the processing date 2026-06-01)"
    )
    assert "partial year" in data.table().splitlines()[-1]
    unknown = plots.figure_data("registrations_by_year", docs, 5, None)
    assert "processing date not known: the last year may be partial" in unknown.notes


@pytest.mark.parametrize("name", list(plots.FIGURES))
def test_every_figure_labels_both_axes(name):
    docs = [
        {"dimension": dim, "key": key, "count": 20, "age_sum": 800, "age_sq_sum": 20 * 1600 + 19 * 100}
        for dim, key in [
            ("nationality", "DE"), ("nationality", "FR"), ("gender", "female"), ("gender", "male"),
            ("age_band", "38-47"), ("age_band", "48-57"), ("country_gender", "Germany|female"),
            ("country_gender", "France|male"), ("nationality_gender", "DE|female"),
            ("nationality_gender", "FR|male"), ("email_domain", "example.com"),
            ("registered_year", "2019"), ("registered_year", "2020"),
            ("ingested_minute", "2026-06-01T10:00"), ("ingested_minute", "2026-06-01T10:01"),
        ]
    ]  # fmt: skip
    ax = plots.figure(name, docs, 5, "2026-06-01").axes[0]
    assert ax.get_xlabel()
    assert ax.get_ylabel() or name == "gender_split"  # a pie has no value axis
