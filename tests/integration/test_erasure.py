"""Right to erasure on the real stack: ``profilepipe forget`` deletes a user, and neither a
replay of old Kafka offsets nor a new message brings the user back. The user's contribution
leaves the aggregates (``Settings.erase_contribution``, on by default), so they still equal
the table's GROUP BY; with the setting off they keep it."""

from __future__ import annotations

import datetime as dt

import pytest

from profilepipe import cli, contract, stores
from profilepipe.config import Settings
from profilepipe.pipeline import stream
from profilepipe.sources import generator, producer
from profilepipe.stores import erasure

AS_OF = "2026-06-01"
USERS = 300


@pytest.fixture(scope="module")
def run(isolated, produce_and_stream):
    settings = isolated("erasure", pii_mode="hmac", hmac_key="erasure-test-key-not-a-secret", as_of=AS_OF)
    users = generator.generate_users(USERS, seed="erasure", minor_share=0.1, as_of=AS_OF)
    return settings, users, produce_and_stream(settings, users, [])


def _adults(users):
    return [u for u in users if generator.expected_outcome(u, dt.date.fromisoformat(AS_OF)) == "stored"]


def _aggregates(settings):
    return [
        (d["dimension"], d["key"], d["count"], d["age_sum"], d["age_sq_sum"])
        for d in stores.connect(settings).mongo.read_raw_aggregates()
    ]


def _table_groups(settings):
    groups = contract.group_rows(stores.connect(settings).cassandra.read_users(limit=10**6))
    return sorted((d, k, c, a, q) for (d, k), (c, a, q) in groups.items())


def test_forget_deletes_and_a_replay_does_not_bring_the_user_back(run, tmp_path, monkeypatch, capsys):
    settings, users, first = run
    adults = _adults(users)
    gone_api, gone_cli = adults[0]["login"]["uuid"], adults[1]["login"]["uuid"]
    rows_before, aggs_before = stores.connect(settings).cassandra.count_users(), _aggregates(settings)
    assert first.stored == rows_before == len(adults)

    assert erasure.forget_user(stores.connect(settings), gone_api) is True
    for name in ("cassandra_table", "mongo_collection", "kafka_topic"):
        monkeypatch.setenv(Settings.env_name(name), str(getattr(settings, name)))
    assert cli.main(["forget", gone_cli.upper()]) == 0  # ids are matched case-insensitively
    assert "forgotten, row deleted" in capsys.readouterr().out

    assert (
        stores.connect(settings).cassandra.get_user(gone_api) is None
        and stores.connect(settings).cassandra.get_user(gone_cli) is None
    )
    assert stores.connect(settings).cassandra.count_users() == rows_before - 2
    assert _aggregates(settings) != aggs_before  # both contributions removed...
    assert sorted(_aggregates(settings)) == _table_groups(settings)  # ...so they still equal the table
    assert stores.connect(settings).cassandra.erased_keys() >= {
        contract.erasure_key(gone_api),
        contract.erasure_key(gone_cli),
    }

    # replay every old offset with a new checkpoint: both users are read again and dropped
    replay = stream.run(settings.replace(checkpoint_dir=str(tmp_path / "replay")), until_idle=True)
    assert replay.read == first.read
    assert replay.erased == 2 and replay.stored == first.stored - 2
    assert replay.balanced
    assert (
        stores.connect(settings).cassandra.get_user(gone_api) is None
        and stores.connect(settings).cassandra.get_user(gone_cli) is None
    )
    assert stores.connect(settings).cassandra.count_users() == rows_before - 2
    assert sorted(_aggregates(settings)) == _table_groups(settings)

    # the user signs up again through the API (a new message): still forgotten
    again = next(u for u in users if u["login"]["uuid"] == gone_api)
    assert producer.produce([again], settings, progress=False).sent == 1
    later = stream.run(settings, until_idle=True)
    assert (later.read, later.erased, later.stored) == (1, 1, 0)
    assert stores.connect(settings).cassandra.get_user(gone_api) is None


def test_forget_refuses_what_is_not_a_user_id(run, monkeypatch, capsys):
    settings, _users, _first = run
    monkeypatch.setenv(Settings.env_name("cassandra_table"), settings.cassandra_table)
    assert cli.main(["forget", "not-a-uuid"]) == 2
    assert "error" in capsys.readouterr().err


def test_a_forget_interrupted_after_the_delete_finishes_exactly_when_run_again(run):
    settings, users, _first = run
    victim = _adults(users)[5]["login"]["uuid"]
    assert stores.connect(settings).cassandra.get_user(victim) is not None

    class MongoGoneAtApply(stores.StoreSinks):
        def apply_plan(self, plan):
            raise ConnectionError("mongodb went away")

    crashing = MongoGoneAtApply(settings)
    with pytest.raises(ConnectionError):
        erasure.forget_user(crashing, victim)  # row deleted, contribution not yet removed
    crashing.close()
    assert stores.connect(settings).cassandra.get_user(victim) is None
    assert sorted(_aggregates(settings)) != _table_groups(settings)
    assert (
        erasure.forget_user(stores.connect(settings), victim) is False
    )  # no row any more: the plan finishes
    assert sorted(_aggregates(settings)) == _table_groups(settings)
    assert erasure.forget_user(stores.connect(settings), victim) is False  # a third time changes nothing
    assert sorted(_aggregates(settings)) == _table_groups(settings)


def test_with_erase_contribution_off_the_counts_keep_the_user(run):
    settings, users, _first = run
    keep = settings.replace(erase_contribution=False)
    before = _aggregates(keep)
    assert (
        erasure.forget_user(
            stores.connect(keep), _adults(users)[6]["login"]["uuid"], erase_contribution=False
        )
        is True
    )
    assert _aggregates(keep) == before
