"""Retention (GDPR Art. 5(1)(e)) without services: the setting, the cutoff, ``erasure.retain`` over
in-memory stores (``FakeSinks`` holds the table and the aggregates), the command and the audit finding."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from profilepipe import cli, contract
from profilepipe.config import Settings
from profilepipe.errors import AuditFindings, NoRetention
from profilepipe.stores import erasure
from profilepipe.tools import audit

from support.sinks import FakeSinks

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def _row(days_ago: float, nat: str = "DE", age: int = 30, **changes) -> dict:
    row = {
        "user_id": str(uuid.uuid4()),
        "nationality": nat,
        "country": {"DE": "Germany", "GB": "United Kingdom"}[nat],
        "gender": "female",
        "age": age,
        "email_domain": "example.com",
        "registered_at": dt.datetime(2015, 7, 4, 10, 11, tzinfo=dt.UTC),
        "ingested_at": NOW - dt.timedelta(days=days_ago),
    }
    return {**row, **changes}


# ------------------------------------------------------------------ setting and cutoff
def test_the_setting_is_read_from_the_environment_and_empty_keeps_forever():
    assert Settings.from_env({}).retention_days == 0
    assert Settings.from_env({"PROFILEPIPE_RETENTION_DAYS": ""}).retention_days == 0
    assert Settings.from_env({"PROFILEPIPE_RETENTION_DAYS": "30"}).retention_days == 30
    with pytest.raises(ValueError, match="PROFILEPIPE_RETENTION_DAYS"):
        Settings.from_env({"PROFILEPIPE_RETENTION_DAYS": "-1"})
    with pytest.raises(ValueError, match="PROFILEPIPE_RETENTION_DAYS"):
        Settings.from_env({"PROFILEPIPE_RETENTION_DAYS": "a month"})
    assert "PROFILEPIPE_RETENTION_DAYS" in [name for name, _, _ in Settings.describe()]


def test_the_cutoff_is_in_utc_whatever_the_zone_of_now():
    assert contract.retention_cutoff(30, NOW) == dt.datetime(2026, 5, 2, 12, 0, tzinfo=dt.UTC)
    naive = dt.datetime(2026, 6, 1, 12, 0)  # a store's naive instant: UTC
    assert contract.retention_cutoff(30, naive) == contract.retention_cutoff(30, NOW)
    paris = dt.datetime(2026, 6, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert contract.retention_cutoff(1, paris) == NOW - dt.timedelta(days=1)
    assert contract.retention_cutoff(1).tzinfo is not None


def test_a_row_is_past_retention_only_before_the_cutoff():
    cutoff = contract.retention_cutoff(30, NOW)
    assert contract.past_retention(cutoff - dt.timedelta(seconds=1), cutoff)
    assert not contract.past_retention(cutoff, cutoff)
    assert contract.past_retention(
        (cutoff - dt.timedelta(minutes=1)).replace(tzinfo=None), cutoff
    )  # naive: UTC
    assert not contract.past_retention(None, cutoff)


# ------------------------------------------------------------------ erasure.retain over in-memory stores
@pytest.fixture
def fake():
    """The stores ``erasure.retain`` runs against: a ``FakeSinks`` (table + aggregates)."""
    return FakeSinks()


def _store(sink: FakeSinks, rows: list[dict]) -> None:
    """Rows as the stream leaves them: in the table, their contribution in the aggregates."""
    sink.table.update({r["user_id"]: r for r in rows})
    for (dim, key), sums in contract.group_rows(rows).items():
        total = sink.merged.setdefault((dim, key), [0, 0, 0])
        for i, value in enumerate(sums):
            total[i] += value


def test_retain_removes_the_old_rows_and_their_contribution_and_registers_nobody(fake):
    old = [_row(40), _row(31, "GB", 50)]
    recent = [_row(29), _row(0.5, "GB", 70), _row(1, age=44)]
    _store(fake, old + recent)

    assert erasure.retain(fake, 30, now=NOW) == 2
    assert set(fake.table) == {r["user_id"] for r in recent}
    assert fake.nonzero() == fake.table_groups()  # the aggregates are the table's GROUP BY
    assert fake.erasures == []  # not an erasure request: nobody enters the register
    assert fake.plans == {}  # the plan was dropped once applied
    assert fake.calls.index("write_plan") < fake.calls.index("delete_erased") < fake.calls.index("apply_plan")

    assert erasure.retain(fake, 30, now=NOW) == 0  # a second run removes nothing
    assert fake.nonzero() == fake.table_groups() and len(fake.table) == 3


def test_with_erase_contribution_off_retention_still_keeps_the_aggregates_exact(fake):
    _store(fake, [_row(40), _row(1)])
    assert erasure.retain(fake, 30, now=NOW) == 1
    assert fake.nonzero() == fake.table_groups()


def test_a_run_stopped_before_its_plan_was_applied_is_finished_by_the_next(fake, monkeypatch):
    old, recent = [_row(40), _row(35, "GB", 60)], [_row(2)]
    _store(fake, old + recent)
    with monkeypatch.context() as m:
        m.setattr(fake, "apply_plan", lambda plan: (_ for _ in ()).throw(ConnectionError("gone")))
        with pytest.raises(ConnectionError):
            erasure.retain(fake, 30, now=NOW)
    assert set(fake.table) == {recent[0]["user_id"]}  # deleted, contribution not yet taken out
    assert fake.nonzero() != fake.table_groups()

    later = NOW + dt.timedelta(hours=5)  # another cutoff: the leftover plan is finished first
    assert erasure.retain(fake, 30, now=later) == 0
    assert fake.nonzero() == fake.table_groups() and fake.plans == {}


def test_retain_refuses_a_period_under_one_day(fake):
    with pytest.raises(ValueError, match="at least 1"):
        erasure.retain(fake, 0, now=NOW)


# ------------------------------------------------------------------ the command
def test_retain_without_a_period_says_so_in_one_line_and_changes_nothing(monkeypatch, capsys):
    monkeypatch.delenv("PROFILEPIPE_RETENTION_DAYS", raising=False)
    called = []
    monkeypatch.setattr(erasure, "retain", lambda *a, **k: called.append(a) or 0)
    assert cli.main(["retain"]) == NoRetention.exit_code == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "no retention period is set" in err
    assert called == []


def test_days_overrides_the_setting_and_the_count_is_printed(monkeypatch, capsys):
    monkeypatch.setenv("PROFILEPIPE_RETENTION_DAYS", "365")
    called = []
    monkeypatch.setattr(erasure, "retain", lambda s, days: called.append(days) or 7)
    assert cli.main(["retain", "--days", "30"]) == 0
    assert called == [30] and "retain: 7 row(s)" in capsys.readouterr().out
    assert cli.main(["retain"]) == 0 and called == [30, 365]


@pytest.mark.parametrize("days", ["0", "-3", "ten"])
def test_days_must_be_a_positive_number(days, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args(["retain", "--days", days])
    assert exc.value.code == 2


# ------------------------------------------------------------------ the audit
def test_the_audit_reports_rows_past_retention_by_count_and_oldest_instant():
    rows = [_row(40), _row(31, "GB", 50), _row(3)]
    aggregates = [
        {"dimension": d, "key": k, "count": c, "age_sum": a, "age_sq_sum": q}
        for (d, k), (c, a, q) in contract.group_rows(rows).items()
    ]
    report = audit.build_report([], rows, {}, [], NOW.date(), 18, aggregates, retention_days=30, now=NOW)
    assert (report.past_retention, report.oldest_ingested_at) == (
        2,
        (NOW - dt.timedelta(days=40)).isoformat(),
    )
    assert not report.clean
    text = report.describe()
    assert (
        "rows past the retention period (30 days): 2, the oldest ingested at 2026-04-22T12:00:00+00:00"
        in text
    )
    assert not any(r["user_id"] in text for r in rows)  # counts and an instant, never whose
    with pytest.raises(AuditFindings, match="2 row\\(s\\) past the retention period"):
        audit.require_clean(report)

    kept = audit.build_report([], rows[2:], {}, [], NOW.date(), 18, retention_days=30, now=NOW)
    assert kept.clean and "rows past the retention period (30 days): 0" in kept.describe()
    unset = audit.build_report([], rows, {}, [], NOW.date(), 18, now=NOW)
    assert unset.clean and "retention" not in unset.describe()  # no period: nothing checked
