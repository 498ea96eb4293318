"""The dashboard's numbers (``dashboard.snapshot``) and the page built from them, on hand-made documents.

No Spark, no servers: the documents have the shape of ``MongoStore.read_raw_aggregates`` and
``MongoStore.read_batches``; the page is inspected through the element ids a browser test reads.
"""

from __future__ import annotations

import datetime as dt

from profilepipe.analysis import dashboard, lag

K = 5
T0 = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


def agg(dimension: str, key: str, count: int, age_sum: int = 0) -> dict:
    avg = round(age_sum / count, 3) if count else None
    return {"dimension": dimension, "key": key, "count": count, "age_sum": age_sum, "avg_age": avg,
            "suppressed": False}  # fmt: skip


def batch(batch_id: int, read: int, stored: int, minors: int = 0, erased: int = 0, dead: int = 0, **extra):
    doc = {"batch_id": batch_id, "read": read, "stored": stored, "filtered_minor": minors, "erased": erased,
           "dead_letter": dead, "dead_letter_reasons": {}, "seconds": 2.0, "pii_mode": "hmac",
           "finished_at": T0 + dt.timedelta(seconds=10 * batch_id)}  # fmt: skip
    doc.update(extra)
    return doc


AGGREGATES = [
    agg("gender", "female", 6, 6 * 40),  # average 40
    agg("gender", "male", 4, 4 * 30),  # 4 < k: suppressed
    agg("age_band", "68-77", 5, 5 * 70),
    agg("age_band", "28-37", 3, 3 * 30),
    agg("age_band", "18-27", 2, 2 * 20),
    agg("nationality_gender", "DE|female", 6, 240),
    agg("nationality_gender", "DE|male", 4, 120),
    agg("nationality_gender", "FR|male", 7, 210),
    agg("ingested_minute", "2026-01-15T12:01", 4),
    agg("ingested_minute", "2026-01-15T12:00", 6),
]
BATCHES = [
    batch(0, read=8, stored=6, minors=1, dead=1, dead_letter_reasons={"invalid_json": 1}, seconds=4.0),
    batch(1, read=7, stored=4, minors=1, erased=1, dead=1, dead_letter_reasons={"invalid_json": 1}),
]


def test_totals_rates_and_times():
    snap = dashboard.snapshot(AGGREGATES, BATCHES, K, forgotten=0)
    assert not snap["empty"]
    assert snap["users_held"] == 10 and snap["forgotten"] == 0 and snap["read"] == 15 and snap["batches"] == 2
    assert (snap["filtered_minor"], snap["erased"], snap["dead_letter"]) == (2, 1, 2)
    assert snap["rate_overall"] == 2.5  # 15 records in 4 + 2 seconds
    assert snap["rate_last"] == 3.5  # 7 records in 2 seconds
    assert snap["seconds_last"] == 2.0 and snap["seconds_median"] == 3.0
    assert snap["last_batch_at"] == T0 + dt.timedelta(seconds=10)
    assert snap["dead_letter_reasons"] == {"invalid_json": 2}


def test_after_a_forget_one_number_of_users_held_and_the_forgotten_beside_it():
    """Issue 19: after a forget the tiles said 10 (the stream stored) and the table 9 (the aggregates)."""
    after = [agg("gender", "female", 5, 5 * 40), *AGGREGATES[1:]]  # one woman forgotten: 9 held
    snap = dashboard.snapshot(after, BATCHES, K, forgotten=1)
    assert sum(b["stored"] for b in BATCHES) == 10  # what the stream stored, forgotten user included
    assert snap["users_held"] == snap["ages"]["overall"]["count"] == 9 and snap["forgotten"] == 1
    shown = texts(dashboard.page(snap, T0))
    assert shown["users-held"] == shown["group-size-overall"] == "9" and shown["users-forgotten"] == "1"
    assert "users-stored" not in shown and "10" not in shown.values()
    unknown = texts(dashboard.page(dashboard.snapshot(after, BATCHES, K), T0))  # register not readable
    assert unknown["users-forgotten"] == "-" and unknown["users-held"] == "9"


def test_batches_are_ordered_by_finish_time_whatever_the_input_order():
    snap = dashboard.snapshot([], list(reversed(BATCHES)), K)
    assert [b for b, _ in snap["batch_seconds"]] == [0, 1]
    assert snap["rate_last"] == 3.5


def test_average_age_overall_and_by_gender_with_suppression_at_k():
    ages = dashboard.snapshot(AGGREGATES, BATCHES, K)["ages"]
    assert ages["overall"] == {"count": 10, "avg_age": 36.0, "suppressed": False}  # (240 + 120) / 10
    assert ages["by_gender"]["male"] == {"count": None, "avg_age": None, "suppressed": True}
    # female (6) is hidden with it: the users held (10) minus female would be male's 4
    assert ages["by_gender"]["female"] == {"count": None, "avg_age": None, "suppressed": True}
    ages = dashboard.snapshot(AGGREGATES, BATCHES, 4)["ages"]
    assert ages["by_gender"]["female"] == {"count": 6, "avg_age": 40.0, "suppressed": False}
    assert ages["by_gender"]["male"] == {"count": 4, "avg_age": 30.0, "suppressed": False}


def test_every_group_that_would_give_a_small_one_away_is_hidden_too():
    docs = [
        agg("gender", "female", 30, 30 * 40), agg("gender", "male", 20, 20 * 50),
        agg("nationality_gender", "DE|female", 14, 560), agg("nationality_gender", "DE|male", 3, 150),
        agg("nationality_gender", "FR|female", 16, 640), agg("nationality_gender", "FR|male", 11, 550),
        agg("nationality_gender", "NO|male", 6, 300),
        agg("ingested_minute", "2026-01-15T12:00", 41), agg("ingested_minute", "2026-01-15T12:01", 7),
        agg("ingested_minute", "2026-01-15T12:02", 2),
    ]  # fmt: skip
    snap = dashboard.snapshot(docs, BATCHES, K)
    rows = dict(snap["nationality_gender"]["rows"])
    # DE|male (3) would be male 20 - FR|male 11 - NO|male 6: the smallest of those is hidden with it
    assert rows["DE"]["male"]["suppressed"] and rows["NO"]["male"]["suppressed"]
    assert rows["FR"]["male"]["count"] == 11 and rows["DE"]["female"]["count"] == 14
    assert snap["ages"]["by_gender"]["male"]["count"] == 20 and snap["users_held"] == 50
    # the last minute (2) would be 50 - 41 - 7: the 7 is hidden with it
    assert [(m[-5:], g["count"]) for m, g in snap["per_minute"]] == [
        ("12:00", 41),
        ("12:01", None),
        ("12:02", None),
    ]
    shown = texts(dashboard.page(snap, T0))
    assert shown["ng-NO-male"] == shown["ng-DE-male"] == "suppressed" and shown["users-held"] == "50"


def test_fewer_than_k_users_withholds_the_users_held_too():
    docs = [agg("gender", "female", 3, 120), agg("gender", "male", 1, 30)]
    snap = dashboard.snapshot(docs, BATCHES, K)
    assert snap["users_held"] is None and snap["ages"]["overall"]["suppressed"]
    shown = texts(dashboard.page(snap, T0))
    assert shown["users-held"] == shown["group-size-overall"] == shown["avg-age-overall"] == "suppressed"


def test_k_is_recomputed_not_read_from_the_stored_flag():
    docs = [agg("gender", "female", 5, 200), agg("gender", "male", 4, 100), agg("gender", "other", 9, 360)]
    docs[1]["suppressed"] = False  # written with a smaller k
    by_gender = dashboard.snapshot(docs, BATCHES, 5)["ages"]["by_gender"]
    assert by_gender["female"]["suppressed"]  # exactly k, hidden with male: the smaller of the two left
    assert by_gender["other"]["count"] == 9
    assert by_gender["male"]["suppressed"] and by_gender["male"]["count"] is None
    by_gender = dashboard.snapshot(docs, BATCHES, 4)["ages"]["by_gender"]
    assert by_gender["male"]["count"] == 4 and by_gender["female"]["count"] == 5  # exactly k: shown


def test_age_bands_in_band_order_empty_bands_zero_small_ones_suppressed():
    bands = dict(dashboard.snapshot(AGGREGATES, BATCHES, K)["age_bands"])
    assert list(bands) == ["18-27", "28-37", "38-47", "48-57", "58-67", "68-77", "78-87", "88+"]
    assert bands["68-77"]["count"] == 5
    assert bands["18-27"]["suppressed"] and bands["28-37"]["suppressed"]
    assert bands["38-47"] == {"count": 0, "avg_age": None, "suppressed": False}


def test_nationality_by_gender_and_minutes():
    snap = dashboard.snapshot(AGGREGATES, BATCHES, K)
    ng = snap["nationality_gender"]
    assert ng["genders"] == ["female", "male"]
    rows = dict(ng["rows"])
    # DE|female is the female cell (the only one of that gender), hidden with it
    assert rows["DE"]["female"]["suppressed"] and rows["DE"]["male"]["suppressed"]
    assert rows["FR"]["male"]["count"] == 7 and "female" not in rows["FR"]
    assert [m for m, _ in snap["per_minute"]] == ["2026-01-15T12:00", "2026-01-15T12:01"]
    # 12:00 (6) would be the total (10) minus 12:01 (4): both hidden
    assert snap["per_minute"][0][1]["suppressed"] and snap["per_minute"][1][1]["suppressed"]


def test_balance_names_the_batch_that_does_not_add_up():
    assert dashboard.snapshot(AGGREGATES, BATCHES, K)["balanced"]
    broken = [*BATCHES, batch(2, read=9, stored=5, minors=1, dead=1)]  # 9 != 7
    snap = dashboard.snapshot(AGGREGATES, broken, K)
    assert not snap["balanced"]
    assert snap["unbalanced"] == [
        {"batch_id": 2, "read": 9, "parts": {"stored": 5, "filtered_minor": 1, "erased": 0, "dead_letter": 1}}
    ]
    assert "batch 2 does not add up" in texts(dashboard.page(snap, T0))["balance"]


def test_empty_input():
    snap = dashboard.snapshot([], [], K)
    assert snap["empty"] and snap["users_held"] == 0 and snap["batches"] == 0
    assert snap["rate_overall"] is None and snap["last_batch_at"] is None and snap["balanced"]
    assert snap["ages"]["overall"] == {"count": 0, "avg_age": None, "suppressed": False}
    shown = texts(dashboard.page(snap, T0))
    assert "profilepipe produce" in shown["empty"] and "01 and 02" in shown["empty"]
    assert "users-held" not in shown and shown["last-refresh"] == "2026-01-15 12:00:00 UTC"


def test_the_page_shows_every_number_under_its_id_and_never_a_suppressed_count():
    snap = dashboard.snapshot(AGGREGATES, BATCHES, K, forgotten=3, behind=1)
    shown = texts(dashboard.page(snap, T0 + dt.timedelta(minutes=1), "MongoDB db.coll"))
    expected = {
        "users-held": "10", "users-forgotten": "3", "records-read": "15", "batches": "2",
        "aggregates-behind": "1",
        "rate-overall": "2.5",
        "rate-last": "3.5", "dead-letters": "2", "balance": "balanced",
        "avg-age-overall": "36.0", "group-size-overall": "10",
        "avg-age-female": "suppressed", "group-size-female": "suppressed",
        "avg-age-male": "suppressed", "group-size-male": "suppressed",
        "age-band-68-77": "5", "age-band-18-27": "suppressed", "age-band-38-47": "0", "age-band-88plus": "0",
        "ng-DE-female": "suppressed", "ng-DE-male": "suppressed", "ng-FR-male": "7", "ng-FR-female": "0",
        "dead-letters-invalid_json": "2", "users-last-minute": "suppressed",
        "last-batch": "2026-01-15 12:00:10 UTC", "last-refresh": "2026-01-15 12:01:00 UTC",
    }  # fmt: skip
    assert {k: shown.get(k) for k in expected} == expected
    all_text = " ".join(v for v in shown.values())
    assert " 4 " not in f" {all_text} ".replace(",", " ")  # the male group's size appears nowhere


LAG = lag.report(
    "users",
    {0: (30, 100), 1: (0, 40)},
    {0: 10, 1: 40},
    {0: int((T0 - dt.timedelta(hours=2, minutes=5)).timestamp() * 1000)},
    7 * 24 * 3600 * 1000,
    T0,
)  # partition 0: 20 deleted before the stream read them, 70 wait; partition 1 read to its end


def test_the_kafka_lag_is_shown_under_its_ids():
    snap = dashboard.snapshot(AGGREGATES, BATCHES, K, lag=LAG)
    assert snap["lag"]["waiting"] == 70 and snap["lag"]["lost"] == 20
    assert snap["lag"]["oldest"] == dt.timedelta(hours=2, minutes=5)
    shown = texts(dashboard.page(snap, T0))
    assert {k: shown[k] for k in ("lag-waiting", "lag-oldest", "lag-margin", "lag-lost")} == {
        "lag-waiting": "70", "lag-oldest": "2 h 05 min", "lag-margin": "6 d 21 h", "lag-lost": "20",
    }  # fmt: skip
    assert shown["lag-summary"] == LAG.line() and "20 already lost" in shown["lag-summary"]
    unread = texts(dashboard.page(dashboard.snapshot(AGGREGATES, BATCHES, K), T0))  # Kafka not read now
    assert [unread[k] for k in ("lag-waiting", "lag-oldest", "lag-margin", "lag-lost")] == ["-"] * 4
    assert unread["lag-summary"] == "Kafka cannot be read now"


def test_a_margin_past_retention_is_highlighted():
    old = lag.report("users", {0: (0, 5)}, {0: 0}, {0: int((T0 - dt.timedelta(days=8)).timestamp() * 1000)},
                     7 * 24 * 3600 * 1000, T0)  # fmt: skip
    page = dashboard.page(dashboard.snapshot(AGGREGATES, BATCHES, K, lag=old), T0)
    assert texts(page)["lag-margin"] == "-1 d" and "warn" in classes(page)["lag-margin"]
    assert (
        "warn"
        not in classes(dashboard.page(dashboard.snapshot(AGGREGATES, BATCHES, K, lag=LAG), T0))["lag-margin"]
    )


def test_messages_lost_before_the_stream_read_them_from_the_batch_log():
    lost = [
        *BATCHES,  # written before the fields existed: no loss
        batch(
            2,
            read=5,
            stored=5,
            covered=12,
            messages=5,
            lost=7,
            lost_acknowledged=True,
            lost_ranges=[
                {"topic": "users", "partition": 0, "start": 3, "end": 10, "cause": "retention", "lost": 7}
            ],
        ),  # fmt: skip
        batch(3, read=2, stored=2, covered=5, messages=2, lost=3, lost_acknowledged=False),
        batch(4, read=1, stored=1, covered=5, messages=1, lost=4),  # not acknowledged when absent
    ]
    snap = dashboard.snapshot(AGGREGATES, lost, K)
    assert snap["losses"] == {"lost": 14, "unacknowledged": 7}
    page = dashboard.page(snap, T0)
    shown, cls = texts(page), classes(page)
    assert shown["messages-lost"] == "14" and shown["messages-lost-unacknowledged"] == "7"
    assert "warn" in cls["messages-lost"] and "warn" in cls["messages-lost-unacknowledged"]
    acked = [*lost[:3]]
    snap = dashboard.snapshot(AGGREGATES, acked, K)
    assert snap["losses"] == {"lost": 7, "unacknowledged": 0}
    cls = classes(dashboard.page(snap, T0))
    assert "warn" in cls["messages-lost"] and "warn" not in cls["messages-lost-unacknowledged"]
    none = dashboard.page(dashboard.snapshot(AGGREGATES, BATCHES, K), T0)
    assert texts(none)["messages-lost"] == "0" and "warn" not in classes(none)["messages-lost"]


def test_the_empty_page_still_shows_what_waits_in_kafka():
    shown = texts(dashboard.page(dashboard.snapshot([], [], K, lag=LAG), T0))
    assert "empty" in shown and shown["lag-waiting"] == "70" and "users-held" not in shown


def test_slug_makes_keys_into_element_ids():
    assert dashboard.slug("65+") == "65plus"
    assert dashboard.slug("DE|female") == "DE-female"
    assert dashboard.slug("a b/c") == "a-b-c"


def _by_id(component, value) -> dict[str, str]:
    """``{element id: value(component)}`` of every component with an id."""
    out = {}

    def walk(node) -> None:
        if isinstance(node, list | tuple):
            for n in node:
                walk(n)
            return
        if not hasattr(node, "to_plotly_json"):
            return
        element_id = getattr(node, "id", None)
        if isinstance(element_id, str):
            out[element_id] = value(node)
        walk(getattr(node, "children", None))

    walk(component)
    return out


def texts(component) -> dict[str, str]:
    """``{element id: its text}`` of every component with an id, like a browser's ``.text``."""

    def text_of(node) -> str:
        if node is None:
            return ""
        if isinstance(node, str | int | float):
            return str(node)
        if isinstance(node, list | tuple):
            return "".join(text_of(n) for n in node)
        return text_of(getattr(node, "children", None))

    return _by_id(component, text_of)


def classes(component) -> dict[str, str]:
    """``{element id: its className}`` of every component with an id."""
    return _by_id(component, lambda node: getattr(node, "className", None) or "")


def test_cli_dashboard_parses_its_options_and_refuses_a_bad_refresh(capsys):
    from profilepipe import cli

    args = cli.build_parser().parse_args(["dashboard", "--port", "9000", "--refresh", "0.5"])
    assert (args.func, args.port, args.refresh) == (cli.cmd_dashboard, 9000, 0.5)
    assert cli.main(["dashboard", "--refresh", "0"]) == 2  # refused before any port is bound
    assert "PROFILEPIPE_DASHBOARD_REFRESH_SECONDS" in capsys.readouterr().err
