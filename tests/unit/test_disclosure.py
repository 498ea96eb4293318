"""Disclosure control (``analysis.disclosure``): no hidden group can be computed from what is published.

Populations with many small groups are turned into aggregate documents (``contract.group_rows``),
protected, and handed to an attacker written here, independently of the module: it knows every
cell shown, every public total (count and age sum), and the relations between the dimensions
(totals, the cross tables' margins, nationality = its country), and tries every subtraction
(one unknown left in a relation, repeated) and linear algebra (numpy rank and least squares).
It must recover nothing. The same attacker does recover small groups from a view that hides only
the groups below k, so the property bites.
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from profilepipe import contract
from profilepipe.analysis import disclosure
from profilepipe.sources import generator

COUNTRY = {nat: generator.nationality(nat).country for nat in contract.NATIONALITIES}
NATS = ("DE", "FR", "GB", "IR", "NO", "UA")
GENDERS = ("female", "male")


def person(nat: str, gender: str, age: int, domain: str, year: int, minute: int) -> dict:
    return {
        "nationality": nat,
        "country": COUNTRY[nat],
        "gender": gender,
        "age": age,
        "email_domain": domain,
        "registered_at": dt.datetime(year, 3, 1, 12, 0),
        "ingested_at": dt.datetime(2026, 1, 15, 10, minute, 5),
    }


people = st.builds(
    person,
    st.sampled_from(NATS),
    st.sampled_from(GENDERS),
    st.integers(18, 90),
    st.sampled_from(("example.com", "mail.test", "post.test")),
    st.integers(2015, 2018),
    st.integers(0, 3),
)
#: populations skewed to small groups: few people, or most of them in one big group
populations = st.one_of(
    st.lists(people, max_size=25),
    st.tuples(people, st.integers(5, 30), st.lists(people, max_size=12)).map(lambda t: [t[0]] * t[1] + t[2]),
)


def documents(rows: list[dict]) -> list[dict]:
    return [
        {
            "dimension": d,
            "key": key,
            "count": c,
            "age_sum": a,
            "age_sq_sum": q,
            "avg_age": round(a / c, 3),
            "suppressed": False,
        }
        for (d, key), (c, a, q) in sorted(contract.group_rows(rows).items())
    ]


def sums(rows: list[dict]) -> dict[tuple[str, str], tuple[int, int]]:
    """``{cell: (count, age_sum)}``: what the attacker below works out (the sums of squared ages
    obey the same relations, so it would find them exactly where it finds these)."""
    return {cell: (c, a) for cell, (c, a, _q) in contract.group_rows(rows).items()}


def primary_only(docs: list[dict], k: int) -> list[dict]:
    """What was published before complementary suppression: the groups below k hidden, nothing else."""
    out = []
    for d in docs:
        d = dict(d, dimension_count=sum(e["count"] for e in docs if e["dimension"] == d["dimension"]))
        if d["count"] < k:
            d.update(count=None, age_sum=None, avg_age=None, suppressed=True)
        out.append(d)
    return out


# ------------------------------------------------------------------ the attacker
def attacker_relations(cells: set[tuple[str, str]]) -> list[dict]:
    """Relations between present cells other than the totals: each ``{cell: coefficient} = 0``."""
    out = []
    for crossed, parent, part in (
        ("country_gender", "country", 0),
        ("country_gender", "gender", 1),
        ("nationality_gender", "nationality", 0),
        ("nationality_gender", "gender", 1),
    ):
        for dim, value in cells:
            if dim != parent:
                continue
            kids = {c: 1 for c in cells if c[0] == crossed and c[1].split("|")[part] == value}
            if kids:
                out.append({(dim, value): -1, **kids})
    for dim, value in cells:
        if dim == "nationality" and ("country", COUNTRY[value]) in cells:
            out.append({(dim, value): 1, ("country", COUNTRY[value]): -1})
        if dim == "nationality_gender":
            nat, gender = value.split("|")
            twin = ("country_gender", f"{COUNTRY[nat]}|{gender}")
            if twin in cells:
                out.append({(dim, value): 1, twin: -1})
    return out


def attack(view: list[dict], truth: dict[tuple[str, str], tuple[int, int]]) -> dict:
    """``{hidden cell: (count, age_sum)}`` the attacker computes from ``view``.

    It knows the shown cells, the total count and age sum of every dimension whose total the
    view publishes (``dimension_count``), and ``attacker_relations``.
    """
    cells = {(d["dimension"], d["key"]) for d in view}
    shown = {(d["dimension"], d["key"]): (d["count"], d["age_sum"]) for d in view if d["count"] is not None}
    hidden = sorted(cells - set(shown))
    equations = [(rel, (0, 0)) for rel in attacker_relations(cells)]
    for dim in sorted({d["dimension"] for d in view if d.get("dimension_count") is not None}):
        mine = [c for c in cells if c[0] == dim]
        total = (sum(truth[c][0] for c in mine), sum(truth[c][1] for c in mine))
        assert total[0] == next(d["dimension_count"] for d in view if d["dimension"] == dim)
        equations.append(({c: 1 for c in mine}, total))
    found: dict = {}

    # 1. subtractions: a relation with one unknown left gives it; repeat with what was found
    known = dict(shown)
    progress = True
    while progress:
        progress = False
        for rel, (count, age) in equations:
            unknown = [c for c in rel if c not in known]
            if len(unknown) == 1:
                (u,) = unknown
                rest = [c for c in rel if c != u]
                value = tuple(
                    (v - sum(rel[c] * known[c][i] for c in rest)) // rel[u]
                    for i, v in enumerate((count, age))
                )
                known[u] = found[u] = value
                progress = True

    # 2. linear algebra: a hidden cell is fixed iff its unit vector is in the row space
    if hidden and equations:
        index = {c: i for i, c in enumerate(hidden)}
        a = np.zeros((len(equations), len(hidden)))
        b = np.zeros((len(equations), 2))
        for r, (rel, total) in enumerate(equations):
            b[r] = total
            for c, coefficient in rel.items():
                if c in index:
                    a[r, index[c]] = coefficient
                else:
                    b[r] -= coefficient * np.array(shown[c])
        rank = np.linalg.matrix_rank(a)
        solution = np.linalg.lstsq(a, b, rcond=None)[0]
        for c, i in index.items():
            unit = np.zeros((1, len(hidden)))
            unit[0, i] = 1
            if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
                found.setdefault(c, tuple(int(round(v)) for v in solution[i]))
    return found


# ------------------------------------------------------------------ the property
@hsettings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(rows=populations, k=st.integers(2, 6))
def test_no_hidden_group_can_be_computed_from_what_is_published(rows, k):
    truth = sums(rows)
    docs = documents(rows)
    view = disclosure.protect(docs, k)
    assert [(d["dimension"], d["key"]) for d in view] == [(d["dimension"], d["key"]) for d in docs]
    for d, raw in zip(view, docs, strict=True):
        if raw["count"] < k:  # every small group is hidden, with its numbers
            assert d["suppressed"] and d["suppression"] == disclosure.BELOW_K
        if d["suppressed"]:
            assert d["count"] is d["age_sum"] is d["avg_age"] is None
            assert d["age_sq_sum"] is None  # hidden wherever age_sum is
        else:
            assert (d["count"], d["age_sum"]) == truth[d["dimension"], d["key"]]
            assert d["age_sq_sum"] == raw["age_sq_sum"]
    if len(rows) < k:  # fewer than k users: everything withheld, totals too
        assert all(d["suppressed"] and d["dimension_count"] is None for d in view)
    assert attack(view, truth) == {}
    # the attacker is right whenever it finds something (here: in the view before this change)
    for cell, value in attack(primary_only(docs, k), truth).items():
        assert value == truth[cell]


def test_the_attacker_recovers_a_small_group_when_only_the_small_groups_are_hidden():
    rows = [person("DE", "female", 30 + i, "example.com", 2016, 0) for i in range(9)]
    rows += [
        person("FR", "male", 61, "example.com", 2016, 0),
        person("FR", "male", 67, "example.com", 2016, 1),
    ]
    truth, docs = sums(rows), documents(rows)
    found = attack(primary_only(docs, 5), truth)
    # total minus the shown groups, margins, nationality = country: all of them give FR away
    assert found[("nationality", "FR")] == (2, 128) == truth[("nationality", "FR")]
    assert found[("gender", "male")] == (2, 128)
    assert found[("country_gender", "France|male")] == (2, 128)
    assert found[("ingested_minute", "2026-01-15T10:01")] == (1, 67)
    assert attack(disclosure.protect(docs, 5), truth) == {}


def test_the_attacker_also_bites_on_random_populations():
    """Over many populations, the view hiding only the small groups gives some away; protect none."""
    rng = random.Random(21)
    leaked = 0
    for _ in range(40):
        rows = [
            person(
                rng.choice(NATS),
                rng.choice(GENDERS),
                rng.randint(18, 90),
                "example.com",
                2016,
                rng.randint(0, 2),
            )
            for _ in range(rng.randint(8, 40))
        ]
        truth, docs = sums(rows), documents(rows)
        leaked += bool(attack(primary_only(docs, 5), truth))
        assert attack(disclosure.protect(docs, 5), truth) == {}
    assert leaked >= 20  # 29 of these 40 leak


# ------------------------------------------------------------------ the rules
def test_the_complementary_cell_is_the_one_that_leaves_fewest_determined_then_the_smallest():
    docs = [
        {"dimension": "registered_year", "key": "2015", "count": 2, "age_sum": 60},
        {"dimension": "registered_year", "key": "2016", "count": 9, "age_sum": 270},
        {"dimension": "registered_year", "key": "2017", "count": 7, "age_sum": 210},
        {"dimension": "registered_year", "key": "2018", "count": 30, "age_sum": 900},
    ]
    view = {d["key"]: d for d in disclosure.protect(docs, 5)}
    assert view["2015"]["suppression"] == disclosure.BELOW_K
    assert view["2017"]["suppression"] == disclosure.COMPLEMENTARY  # the smallest that hides 2015
    assert [view[y]["count"] for y in ("2016", "2018")] == [9, 30]
    assert all(d["dimension_count"] == 48 for d in view.values())


def test_one_small_cell_of_a_cross_table_hides_one_rectangle_only():
    """A small ``country_gender`` cell is given away by its country and by its gender: hiding its
    row partner and one other country's two cells (a rectangle) is enough, and all that is hidden
    (with their ``nationality_gender`` twins); one cell at a time would snowball."""
    rows = [person("DE", "female", 40, "example.com", 2016, 0)] * 2
    sizes = {("DE", "male"): 12, ("FR", "female"): 9, ("FR", "male"): 8, ("GB", "female"): 20}
    sizes |= {("GB", "male"): 25, ("NO", "female"): 30, ("NO", "male"): 31}
    for (nat, gender), n in sizes.items():
        rows += [person(nat, gender, 40, "example.com", 2016, 0)] * n
    truth, docs = sums(rows), documents(rows)
    view = disclosure.protect(docs, 5)
    hidden = {(d["dimension"], d["key"]): d["suppression"] for d in view if d["suppressed"]}
    rectangle = {"Germany|female", "Germany|male", "France|female", "France|male"}  # France: the fewest
    assert {k for d, k in hidden if d == "country_gender"} == rectangle
    assert {k for d, k in hidden if d == "nationality_gender"} == {
        "DE|female",
        "DE|male",
        "FR|female",
        "FR|male",
    }
    assert len(hidden) == 8 and hidden[("country_gender", "Germany|female")] == disclosure.BELOW_K
    assert attack(view, truth) == {}


def test_determined_is_the_row_space_test():
    a, b, c = ("d", "a"), ("d", "b"), ("d", "c")
    assert disclosure.determined([{a: 1, b: 1, c: 1}], [a]) == {a}
    assert disclosure.determined([{a: 1, b: 1, c: 1}], [a, b]) == set()
    assert disclosure.determined([{a: 1, b: 1}, {a: 1, b: -1}], [a, b]) == {a, b}
    assert disclosure.determined([{a: 1, b: 1, c: 1}, {a: 1, b: 1}], [a, b, c]) == {c}
    assert disclosure.determined([{a: 2, b: 1}, {a: 1, b: 2}, {c: 3}], [a, b]) == {a, b}


def test_fewer_than_k_users_withholds_everything_totals_included():
    rows = [person("DE", "female", 40, "example.com", 2016, 0)] * 3
    view = disclosure.protect(documents(rows), 5)
    assert all(d["suppressed"] and d["dimension_count"] is None for d in view)
    assert {d["suppression"] for d in view} == {disclosure.BELOW_K}


def test_protect_is_deterministic_and_idempotent_and_keeps_a_hidden_group_hidden():
    rng = random.Random(7)
    rows = [person(rng.choice(NATS), rng.choice(GENDERS), rng.randint(18, 90), "example.com", 2016, 0)
            for _ in range(30)]  # fmt: skip
    docs = documents(rows)
    once = disclosure.protect(docs, 5)
    assert once == disclosure.protect(list(docs), 5) == disclosure.protect(once, 5)
    assert any(d["suppression"] == disclosure.COMPLEMENTARY for d in once)
    assert docs == documents(rows)  # the input is not changed


def test_without_k_the_stored_flags_are_the_small_groups():
    docs = [
        {"dimension": "gender", "key": "female", "count": 6, "age_sum": 240, "suppressed": False},
        {"dimension": "gender", "key": "male", "count": 40, "age_sum": 1200, "suppressed": True},
        {"dimension": "gender", "key": "other", "count": 30, "age_sum": 900, "suppressed": False},
    ]
    view = {d["key"]: d["suppression"] for d in disclosure.protect(docs, None)}
    assert view == {"male": disclosure.BELOW_K, "female": disclosure.COMPLEMENTARY, "other": None}


def test_the_nationality_map_is_the_generators():
    assert disclosure.countries() == COUNTRY
    assert disclosure.countries()["GB"] == "United Kingdom"


@pytest.mark.parametrize("k", [5, 10])
def test_a_large_realistic_population_is_protected_quickly(k):
    import time

    rng = random.Random(k)
    nats = sorted(COUNTRY)
    rows = [
        person(rng.choice(nats), rng.choice(GENDERS), rng.randint(18, 90), "example.com",
               rng.randint(2002, 2024), rng.randint(0, 59))
        for _ in range(450)
    ]  # fmt: skip
    started = time.perf_counter()
    view = disclosure.protect(documents(rows), k)
    assert time.perf_counter() - started < 10
    assert attack(view, sums(rows)) == {}
