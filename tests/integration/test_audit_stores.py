"""The GDPR audit on the real stack: clean after a run with malformed input, and it finds planted leaks.

Like every integration module, it works on a pipeline of its own (the ``isolated``
fixture: topic, table, collections with a random suffix, dropped at the end), so it
does not disturb the other tests or the notebooks' data. ``profilepipe audit`` is called
through ``cli.main`` with the ``PROFILEPIPE_*`` variables pointing at those names.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from profilepipe import cli, kafka_client, stores
from profilepipe.config import Settings
from profilepipe.sources import generator
from profilepipe.tools import audit

AS_OF = "2026-06-01"
USERS = 300
MALFORMED = 18  # every dead-letter reason three times, truncated JSON and bad UTF-8 included
KEY = "integration-test-key-not-a-secret"


@pytest.fixture(scope="module")
def run(isolated, produce_and_stream):
    settings = isolated("audit", pii_mode="hmac", hmac_key=KEY, as_of=AS_OF)
    users = generator.generate_users(USERS, seed="audit", minor_share=0.15, as_of=AS_OF)
    bad = generator.malformed_messages(MALFORMED, seed="audit")
    result = produce_and_stream(settings, users, bad)
    assert result.read == USERS + MALFORMED and result.dead_letter == MALFORMED
    return settings, users, bad


def _stored(users):
    as_of = dt.date.fromisoformat(AS_OF)
    return [u for u in users if generator.expected_outcome(u, as_of) == "stored"]


def _point_cli_at(monkeypatch, settings: Settings) -> None:
    """``profilepipe audit`` reads its settings from the environment: this module's names."""
    names = {
        "kafka_topic": settings.kafka_topic,
        "kafka_dlq_topic": settings.dlq_topic,
        "cassandra_keyspace": settings.cassandra_keyspace,
        "cassandra_table": settings.cassandra_table,
        "mongo_database": settings.mongo_database,
        "mongo_collection": settings.mongo_collection,
        "as_of": AS_OF,
    }
    for name, value in names.items():
        monkeypatch.setenv(Settings.env_name(name), value)


def test_a_run_with_malformed_input_leaves_nothing_to_find(run, monkeypatch, capsys):
    settings, users, bad = run
    values = audit.raw_users(settings)
    # every message was read for values, the malformed ones too (truncated JSON, Latin-1 bytes, ...)
    sources = {v[audit.SOURCE] for v in values}
    with_values = [m for m in bad if audit.personal_values_from_message(m["value"], settings.store_profile)]
    assert len(sources) == USERS + len(with_values) and len(with_values) >= MALFORMED // 2

    report = audit.audit(settings)
    assert report.clean, (report.plaintext_found[:5], report.minors_stored[:5])
    assert report.rows_scanned == len(_stored(users))
    assert report.dead_letters_scanned == MALFORMED
    name = settings.mongo_collection
    assert set(report.documents_by_collection) == {name, f"{name}_parts", f"{name}_batches"}
    counts = (
        report.documents_by_collection
    )  # the parts are a write-ahead log: empty once batches are recorded
    assert counts[name] and counts[f"{name}_batches"] and counts[f"{name}_parts"] == 0
    assert report.secrets_checked >= 8 * USERS
    assert report.aggregates_checked == counts[name] and report.aggregate_differences == []

    _point_cli_at(monkeypatch, settings)
    assert cli.main(["audit"]) == 0
    out = capsys.readouterr().out
    assert "plaintext personal data found: 0" in out and "clean: True" in out
    assert "differences: 0" in out


def test_planted_leaks_are_found_by_kind_and_place(run, monkeypatch, capsys, tmp_path):
    settings, users, _bad = run
    stored = _stored(users)
    phone_owner, password_owner, cell_owner = stored[0], stored[1], stored[2]
    phone, password, cell = phone_owner["phone"], password_owner["login"]["password"], cell_owner["cell"]
    assert min(len(phone), len(password), len(cell)) >= audit.MIN_LENGTH
    session = stores.connect(settings).cassandra.session()
    table = settings.users_table
    insert = (
        f"INSERT INTO {table} (user_id, phone_hash, birth_year, age, country) VALUES (%s, %s, %s, %s, %s)"
    )
    leak_id, minor_id = uuid.uuid4(), uuid.uuid4()
    parts = stores.connect(settings).mongo.collections().parts
    try:
        # a row whose phone_hash holds another user's phone in clear (a hashing bug)
        session.execute(insert, (leak_id, phone, 1980, 46, "Nowhere"))
        # a minor stored by mistake
        session.execute(insert, (minor_id, "9f" * 32, 2015, 11, "Nowhere"))
        # a MongoDB document holding an input password
        parts.insert_one({"_id": "it-audit-leak", "dk": "leak|x", "note": password})
        # a dead letter holding an input cell (it stays until the module drops the topic)
        letter = {"reason": "invalid_json", "detail": f"could not parse cell {cell}"}
        kafka_client.produce_raw(
            [(b"it-audit-leak", json.dumps(letter).encode())], settings, topic=settings.dlq_topic
        )

        report = audit.audit(settings)
        found = report.plaintext_found
        assert f"phone of {phone_owner['login']['uuid']} in cassandra" in found
        assert f"password of {password_owner['login']['uuid']} in mongodb" in found
        assert f"cell of {cell_owner['login']['uuid']} in dead-letter topic" in found
        assert {(f.kind, f.store) for f in report.findings} == {
            ("phone", "cassandra"),
            ("password", "mongodb"),
            ("cell", "dead-letter topic"),
        }
        (row_finding,) = [f for f in report.findings if f.store == "cassandra"]
        assert row_finding.where == f"row {leak_id}"
        assert report.minors_stored == [str(minor_id)]
        assert report.dead_letters_scanned == MALFORMED + 1
        # rows written behind the stream's back are not in the aggregates: the audit sees that too
        assert (
            "country Nowhere: table 2 users (age sum 57), aggregates 0 (age sum 0)"
            in report.aggregate_differences
        )
        text = report.describe()
        assert phone not in text and cell not in text  # the report never shows the value

        _point_cli_at(monkeypatch, settings)
        assert cli.main(["audit"]) == 3  # AuditFindings, the code schedulers rely on
        out = capsys.readouterr().out
        assert f"phone of {phone_owner['login']['uuid']} in cassandra" in out and "clean: False" in out
        # `profilepipe run` gives the same code for the same findings: notebook 04 raises AuditFindings
        # (--append: it forgets nobody; its kernel reads the names above from the environment)
        assert cli.main(["run", "--notebook", "04", "--append", "--output", str(tmp_path)]) == 3
        err = capsys.readouterr().err
        assert "04_privacy_audit.ipynb: cell" in err and "AuditFindings: the audit found" in err
        assert phone not in err
    finally:
        session.execute(f"DELETE FROM {table} WHERE user_id IN (%s, %s)", (leak_id, minor_id))
        parts.delete_one({"_id": "it-audit-leak"})

    after = audit.audit(settings)  # only the dead letter is left (a topic keeps its messages)
    assert after.minors_stored == [] and after.aggregate_differences == []
    assert {(f.kind, f.owner, f.store) for f in after.findings} == {
        ("cell", cell_owner["login"]["uuid"], "dead-letter topic")
    }


def test_full_rows_in_a_table_audited_as_minimal_fail_and_reset_moves_it(isolated, produce_and_stream):
    """A table made in the full profile: the minimal profile's audit fails on its rows, the stream
    refuses to write into it, and ``profilepipe reset`` makes it again in the minimal profile."""
    from profilepipe.errors import ProfileMismatch
    from profilepipe.pipeline import stream
    from profilepipe.tools.reset import reset_all

    full = isolated("auditfull", pii_mode="hmac", hmac_key=KEY, as_of=AS_OF, store_profile="full")
    users = generator.generate_users(20, seed="audit-full", minor_share=0.0, as_of=AS_OF)
    assert produce_and_stream(full, users, []).stored == 20
    assert audit.audit(full).clean

    minimal = full.replace(store_profile="minimal")
    report = audit.audit(minimal)
    assert report.profile_violations == ["birth_date: 20 rows", "full_name: 20 rows", "username: 20 rows"]
    kinds = {f.kind for f in report.findings}
    assert not report.clean and {"full name", "username"} <= kinds
    with pytest.raises(ProfileMismatch, match=r"has the full profile's columns .*profilepipe reset"):
        stream.run(minimal, until_idle=True)

    reset_all(minimal, echo=lambda _line: None)
    assert stores.connect(minimal).cassandra.table_columns() == set(minimal.user_columns)
    stores.connect(minimal).cassandra.check_profile()  # no error: the table is the minimal profile's now
