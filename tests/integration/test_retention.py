"""Retention on the real stack: ``profilepipe retain`` removes the rows ingested more than N days
ago and their contribution (the aggregates still equal the table's GROUP BY), keeps the recent
ones, registers no erasure (a user sent again is stored again), and the audit reports the rows
past the period before and none after.

The stream stamps ``ingested_at`` with the time it stores a row, so some rows are made old
here: their ``ingested_at`` is moved back by a CQL UPDATE, and the aggregates follow by a plan
of that change (``contract.delta_rows``), as a batch would write it.
"""

from __future__ import annotations

import datetime as dt

import pytest

from profilepipe import cli, contract, stores
from profilepipe.config import Settings
from profilepipe.pipeline import stream
from profilepipe.sources import generator, producer
from profilepipe.stores import mongo
from profilepipe.tools import audit

AS_OF = "2026-06-01"
USERS = 120
DAYS = 30


@pytest.fixture(scope="module")
def run(isolated, produce_and_stream):
    settings = isolated("retention", pii_mode="hmac", hmac_key="retention-test-key-not-a-secret", as_of=AS_OF)
    users = generator.generate_users(USERS, seed="retention", minor_share=0.0, as_of=AS_OF)
    return settings, users, produce_and_stream(settings, users, [])


def _table(settings) -> dict[str, dict]:
    return {str(r["user_id"]): r for r in stores.connect(settings).cassandra.read_users(limit=10**6)}


def _differences(settings) -> list[str]:
    return audit.aggregate_differences(
        _table(settings).values(), stores.connect(settings).mongo.read_raw_aggregates()
    )


def _backdate(settings, ages: dict[str, dt.timedelta]) -> None:
    """Move these rows' ``ingested_at`` back, and their contribution with them (a plan, as a batch does)."""
    ids = list(ages)
    before = stores.connect(settings).cassandra.previous_rows(ids)
    session = stores.connect(settings).cassandra.session()
    now = dt.datetime.now(dt.UTC)
    for uid, age in ages.items():
        session.execute(
            f"UPDATE {settings.users_table} SET ingested_at = %s WHERE user_id = %s",
            (now - age, stores.cassandra.user_uuid(uid)),
        )
    after = stores.connect(settings).cassandra.previous_rows(ids)
    plan = stores.connect(settings).mongo.write_plan(
        "test-backdate", contract.delta_rows(after, before), None
    )
    stores.connect(settings).mongo.apply_plan(plan)
    stores.connect(settings).mongo.drop_plan("test-backdate", log_too=True)


def test_retain_removes_old_rows_keeps_recent_ones_and_the_aggregates_exact(run, monkeypatch, capsys):
    settings, users, first = run
    table = _table(settings)
    assert first.stored == len(table) == USERS
    ids = sorted(table)
    very_old, just_old, almost = ids[:15], ids[15:30], ids[30:40]
    _backdate(
        settings,
        {
            **{u: dt.timedelta(days=DAYS + 15) for u in very_old},
            **{u: dt.timedelta(days=DAYS, hours=2) for u in just_old},
            **{u: dt.timedelta(days=DAYS - 1) for u in almost},  # inside the period: kept
        },
    )
    assert _differences(settings) == []  # the precondition: aggregates = the table's GROUP BY
    for name in ("cassandra_table", "mongo_collection", "kafka_topic", "as_of"):
        monkeypatch.setenv(Settings.env_name(name), str(getattr(settings, name)))

    # the audit reports the rows past the period: their count and the oldest instant, a finding
    kept = settings.replace(retention_days=DAYS)
    report = audit.audit(kept)
    assert report.past_retention == 30 and not report.clean
    oldest = dt.datetime.fromisoformat(report.oldest_ingested_at)
    assert abs(oldest - (dt.datetime.now(dt.UTC) - dt.timedelta(days=DAYS + 15))) < dt.timedelta(minutes=10)
    monkeypatch.setenv(Settings.env_name("retention_days"), str(DAYS))
    assert cli.main(["audit"]) == 3
    out = capsys.readouterr().out
    assert f"rows past the retention period ({DAYS} days): 30, the oldest ingested at" in out
    assert not any(uid in out for uid in very_old + just_old)  # never whose rows

    # retain: the old rows and their contribution go, the recent ones stay, nobody is registered
    monkeypatch.delenv(Settings.env_name("retention_days"))
    assert cli.main(["retain"]) == 2  # no period set: nothing changes
    assert "no retention period is set" in capsys.readouterr().err and len(_table(settings)) == USERS
    assert cli.main(["retain", "--days", str(DAYS)]) == 0
    assert f"retain: 30 row(s) ingested more than {DAYS} day(s) ago removed" in capsys.readouterr().out
    after = _table(settings)
    assert set(after) == set(ids) - set(very_old) - set(just_old) and set(almost) <= set(after)
    assert _differences(settings) == []
    assert stores.connect(settings).cassandra.erased_keys() == set()
    assert stores.connect(settings).mongo.removal_plans(mongo.RETAIN_PREFIX) == []  # the plan was dropped

    # a second run removes nothing; the audit now finds no row past the period
    monkeypatch.setenv(Settings.env_name("retention_days"), str(DAYS))
    assert cli.main(["retain"]) == 0
    assert "retain: 0 row(s)" in capsys.readouterr().out
    assert len(_table(settings)) == USERS - 30 and _differences(settings) == []
    report = audit.audit(kept)
    assert report.past_retention == 0 and report.oldest_ingested_at == "" and report.clean
    assert cli.main(["audit"]) == 0
    assert f"rows past the retention period ({DAYS} days): 0" in capsys.readouterr().out

    # not an erasure: a removed user sent again is new data, stored again
    again = next(u for u in users if u["login"]["uuid"].lower() == very_old[0])
    assert producer.produce([again], settings, progress=False).sent == 1
    later = stream.run(settings, until_idle=True)
    assert (later.read, later.stored, later.erased) == (1, 1, 0)
    assert stores.connect(settings).cassandra.get_user(very_old[0]) is not None
    assert _differences(settings) == []
