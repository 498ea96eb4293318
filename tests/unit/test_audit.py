"""The GDPR audit without services: values from every input message, matching rules, report, CLI."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import namedtuple

import pytest

from profilepipe import contract, kafka_client, stores
from profilepipe.cli import build_parser, cmd_audit, main
from profilepipe.errors import AuditFindings
from profilepipe.sources import generator
from profilepipe.tools import audit
from profilepipe.tools.audit import OWNER, SOURCE

from support.rows import aggregate_row
from support.sinks import FakeCassandra, FakeDeadLetters, FakeMongo, FakeStores

AS_OF = dt.date(2026, 1, 15)


def enc(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def with_owner(user: dict) -> dict:
    return {**audit.personal_values(user), OWNER: user["login"]["uuid"]}


def stored_row(user: dict, **changes) -> dict:
    """A Cassandra row as the stream writes it for ``user`` (hashes made up, no plaintext)."""
    row = {
        "user_id": uuid.UUID(user["login"]["uuid"]),
        "full_name": f"{user['name']['first']} {user['name']['last']}",
        "gender": user["gender"],
        "username": user["login"]["username"],
        "email_domain": user["email"].split("@")[1],
        "phone_hash": "9f" * 32,
        "address_hash": "$2b$04$" + "A" * 53,
        "birth_date": dt.date.fromisoformat(user["dob"]["date"][:10]),
        "age": contract.age_on(dt.date.fromisoformat(user["dob"]["date"][:10]), AS_OF),
        "registered_at": dt.datetime(2015, 7, 4, 10, 11, 12, 345000, tzinfo=dt.UTC),
        "nationality": user["nat"],
        "country": user["location"]["country"],
        "ingested_at": dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC),
    }
    row.update(changes)
    return row


def minimal_row(user: dict, **changes) -> dict:
    """The same row in the minimal profile: no name, username or birth date; the birth year."""
    row = {k: v for k, v in stored_row(user).items() if k in contract.user_columns(contract.MINIMAL)}
    row["birth_year"] = int(user["dob"]["date"][:4])
    row.update(changes)
    return row


# ------------------------------------------------------------------ values from every message
def test_a_valid_user_gives_all_its_values_and_its_id(users):
    u = users[0]
    assert audit.personal_values_from_message(enc(u)) == [with_owner(u)]
    values = audit.personal_values(u)
    assert set(values) == set(contract.PII_PATHS)  # the full profile keeps name, username, birth date
    assert values["street address"] == "4821 Church Lane"
    assert values["email local part"] == "olivia.hughes"
    minimal = audit.personal_values(u, contract.MINIMAL)
    assert set(minimal) == set(audit.KINDS) == set(contract.pii_paths(contract.MINIMAL))
    name = u["name"]
    assert minimal["full name"] == f"{name['first']} {name['last']}"
    assert minimal["username"] == u["login"]["username"]
    assert minimal["birth date"] == u["dob"]["date"][:10]
    assert audit.personal_values_from_message(enc(u), contract.MINIMAL) == [
        {**minimal, OWNER: u["login"]["uuid"]}
    ]


def test_an_envelope_gives_every_user_in_order(envelope):
    found = audit.personal_values_from_message(enc(envelope))
    assert found == [with_owner(u) for u in envelope["results"]]


def test_users_nested_anywhere_in_json_are_found(users):
    doc = {"data": {"page": [{"profile": users[1]}, {"other": 1}]}, "extra": users[2]}
    found = audit.personal_values_from_message(enc(doc))
    assert [f[OWNER] for f in found] == [users[1]["login"]["uuid"], users[2]["login"]["uuid"]]


def test_truncated_json_keeps_the_complete_values(user):
    u = user()
    text = enc(u).decode()
    cut = text[: text.index('"dob"')]  # password material complete, phone and cell cut off
    found = audit.personal_values_from_message(cut.encode())
    expected = {k: v for k, v in with_owner(u).items() if k not in ("phone", "cell")}
    assert found == [expected]
    half = enc(u)[: len(enc(u)) // 2]  # the generator's "truncated JSON" dead letter
    (partial,) = audit.personal_values_from_message(half)
    assert partial.items() <= with_owner(u).items() and partial[OWNER] == u["login"]["uuid"]


def test_a_cut_off_envelope_keeps_each_value_with_its_user(envelope):
    text = enc(envelope).decode()
    second = envelope["results"][1]
    cut = text[: text.index(second["login"]["md5"])]  # inside the second user's md5
    first, partial = audit.personal_values_from_message(cut.encode())
    assert first == with_owner(envelope["results"][0])
    assert partial[OWNER] == second["login"]["uuid"]
    assert partial["salt"] == second["login"]["salt"] and "md5" not in partial


def test_bytes_that_are_not_utf8_still_give_their_phone(user):
    u = user(name__first="Zoé")
    latin1 = json.dumps(u, ensure_ascii=False).encode("latin-1")  # valid JSON once decoded
    assert audit.personal_values_from_message(latin1) == [with_owner(u)]
    junk = b'\xff\xfe\x00{"phone": "017687 22514", "cell": "07700\xc3 900461", \x81 garbage'
    assert audit.personal_values_from_message(junk) == [
        {"phone": "017687 22514", "cell": "07700\ufffd 900461"}
    ]


@pytest.mark.parametrize(
    "value",
    [None, b"", b"this is not json", b"\xff\xfe\x00\x81garbage\xc3", b"[1, 2]", b"{}", b'{"foo": 1}', b"42"],
)
def test_junk_gives_nothing(value):
    assert audit.personal_values_from_message(value) == []


def test_values_shorter_than_six_characters_are_not_searched(user):
    u = user(login__password="abc12", email="li.wu@example.com", phone="12345")
    values = audit.personal_values(u)
    assert {"password", "email local part", "phone"}.isdisjoint(values)
    assert values["cell"] == u["cell"]
    cut = b'{"login": {"uuid": "u-1", "password": "abc12", "salt": "longsalt"}, "phone": "0123'
    assert audit.personal_values_from_message(cut) == [{"salt": "longsalt", OWNER: "u-1"}]


def test_every_malformed_message_of_the_generator_is_read():
    for m in generator.malformed_messages(18, seed="unit"):
        found = audit.personal_values_from_message(m["value"])
        if m["detail"] in ("plain text", "not UTF-8 (binary)") or m["expected_reason"] == "not_a_user":
            assert found == []
        else:
            assert len(found) == 1 and {"street address", "email local part"} <= found[0].keys()
            if m["detail"] != "no login object":
                assert {"password", "salt"} <= found[0].keys(), m["detail"]


# ------------------------------------------------------------------ Cassandra rows
def test_a_clean_row_has_no_finding(users):
    rows = [stored_row(u) for u in users[:8]]
    assert audit.find_in_rows(rows, users) == []


def test_a_phone_in_another_users_row_is_found(users):
    leaker, owner = users[0], users[1]
    rows = [stored_row(leaker, full_name=owner["phone"]), stored_row(owner)]
    (finding,) = audit.find_in_rows(rows, users)
    assert str(finding) == f"phone of {owner['login']['uuid']} in cassandra"
    assert finding.where == f"row {leaker['login']['uuid']}"


def test_own_row_is_searched_as_substrings_except_username(users):
    u = users[0]
    glued = stored_row(u, address_hash="x" + u["location"]["street"]["name"] + "y")
    assert [f.kind for f in audit.find_in_rows([glued], [u])] == []  # "Church Lane" alone is no address
    glued = stored_row(u, address_hash="x4821 Church Laney")
    assert [f.kind for f in audit.find_in_rows([glued], [u])] == ["street address"]
    in_username = stored_row(u, username=f"{u['login']['password']}77")
    assert audit.find_in_rows([in_username], [u]) == []


def test_common_passwords_are_whole_tokens_outside_the_owners_row(user, users):
    owner = user(login__password="abc123")
    other = users[1]
    inside_hex = stored_row(other, phone_hash="ffabc123" + "e" * 56)
    in_username = stored_row(other, username="abc123")
    assert audit.find_in_rows([inside_hex, in_username], [owner]) == []
    as_token = stored_row(other, full_name="abc123 Tremblay")
    assert [str(f) for f in audit.find_in_rows([as_token], [owner])] == [
        f"password of {owner['login']['uuid']} in cassandra"
    ]


def test_random_secrets_are_found_anywhere_even_in_a_username(users):
    owner, other = users[0], users[1]
    rows = [stored_row(other, username="x" + owner["login"]["salt"] + "1")]
    assert [f.kind for f in audit.find_in_rows(rows, [owner])] == ["salt"]
    rows = [stored_row(other, country=f"{owner['login']['password']}{owner['login']['sha1']}")]
    assert [f.kind for f in audit.find_in_rows(rows, [owner])] == ["sha1"]


def test_minors_are_reported_by_birth_date_or_age(users):
    adult = stored_row(users[0])
    minor = stored_row(users[1], birth_date=dt.date(2010, 1, 1), age=16)
    lying_age = stored_row(users[2], age=17)
    ids = audit.minors_in_rows([adult, minor, lying_age], AS_OF, 18)
    assert ids == [users[1]["login"]["uuid"], users[2]["login"]["uuid"]]
    assert audit.minors_in_rows([stored_row(users[0], birth_date=dt.date(2008, 1, 15))], AS_OF, 18) == []


# ------------------------------------------------------------------ MongoDB documents
def test_a_password_in_a_document_is_found_and_named_by_collection(users):
    owner = users[3]
    docs = [
        {"_id": "nationality|NO", "dimension": "nationality", "key": "NO", "count": 1},
        {"_id": "leak", "note": owner["login"]["password"]},
    ]
    (finding,) = audit.find_in_documents(docs, users, collection="aggregates_parts")
    assert str(finding) == f"password of {owner['login']['uuid']} in mongodb"
    assert finding.where == "aggregates_parts leak"


def test_an_id_holding_the_value_is_not_shown(users):
    owner = users[0]
    docs = [{"_id": f"phone|{owner['phone']}|batch", "count": 1}]
    (finding,) = audit.find_in_documents(docs, [owner], collection="aggregates")
    assert finding.kind == "phone" and finding.where == "aggregates #0"


def test_numbers_and_dates_are_not_text(user):
    owner = user(login__password="123456")
    docs = [
        {"_id": "x", "count": 123456, "age_sum": 123456, "at": dt.datetime(2026, 1, 1, 0, 0, 0, 123456)},
        {"_id": "y", "offsets": {"users:0": [0, 123456]}},
    ]
    assert audit.find_in_documents(docs, [owner]) == []
    assert [f.kind for f in audit.find_in_documents([{"_id": "z", "key": "123456"}], [owner])] == ["password"]


# ------------------------------------------------------------------ dead letters
def dead_letter(offset: int, key=b"k", **fields) -> dict:
    value = {
        "reason": "invalid_json",
        "detail": "value is not valid JSON",
        "source_topic": "users",
        "source_partition": 0,
        "source_offset": offset,
        "value_sha256": "ab" * 32,
        "value_bytes": 123456,
        **fields,
    }
    return {"partition": 0, "offset": offset, "key": key, "value": enc(value)}


def test_dead_letters_hold_no_personal_value_when_clean(users):
    letters = [dead_letter(i, key=u["login"]["uuid"].encode()) for i, u in enumerate(users)]
    assert audit.find_in_dead_letters(letters, users) == []


def test_a_cell_in_a_dead_letter_is_found(users):
    owner = users[4]
    letters = [dead_letter(0), dead_letter(7, detail=f"bad cell {owner['cell']}")]
    (finding,) = audit.find_in_dead_letters(letters, users)
    assert str(finding) == f"cell of {owner['login']['uuid']} in dead-letter topic"
    assert finding.where == "dead letter 0:7"


def test_dead_letters_that_are_not_json_are_searched_as_text(users):
    owner = users[0]
    raw = b"\xff\xfe" + owner["login"]["sha256"].encode() + b"\x81"
    key = b"cell " + owner["cell"].encode()
    letters = [{"partition": 1, "offset": 3, "key": key, "value": raw}]
    found = audit.find_in_dead_letters(letters, [owner])
    assert sorted(f.kind for f in found) == ["cell", "sha256"]


# ------------------------------------------------------------------ the report
def test_the_report_names_kind_owner_and_place_never_the_value(users):
    owner = users[1]
    nameless = {"phone": "(099) 555-0000", SOURCE: "2:41"}  # e.g. from a message without login.uuid
    rows = [stored_row(users[0], full_name=owner["cell"]), stored_row(users[2], full_name="(099) 555-0000")]
    docs = {"aggregates": [{"_id": "leak", "v": owner["login"]["md5"]}], "aggregates_parts": []}
    letters = [dead_letter(5, detail=owner["email"])]
    report = audit.build_report([*users, nameless], rows, docs, letters, AS_OF, 18)
    uid = owner["login"]["uuid"]
    assert report.plaintext_found == [
        f"cell of {uid} in cassandra",
        "phone of message 2:41 in cassandra",
        f"md5 of {uid} in mongodb",
        f"email local part of {uid} in dead-letter topic",
    ]
    assert not report.clean and report.minors_stored == []
    text = report.describe()
    lines = text.splitlines()
    assert lines[0] == (
        f"rows scanned: 2, aggregate documents scanned: 1, personal values searched: {report.secrets_checked}"
    )
    assert lines[1:4] == ["plaintext personal data found: 4", "minors stored: 0", "dead letters scanned: 1"]
    assert "mongodb documents by collection: aggregates 1, aggregates_parts 0" in lines
    assert f"  found: cell of {uid} in cassandra (row {users[0]['login']['uuid']})" in lines
    for value in (owner["cell"], "(099) 555-0000", owner["login"]["md5"], owner["email"].split("@")[0]):
        assert value not in text


def test_a_clean_report_keeps_the_notebooks_three_lines(users):
    report = audit.build_report(users, [stored_row(u) for u in users[:3]], {"aggregates": []}, [], AS_OF, 18)
    assert report.clean
    assert report.secrets_checked == sum(len(audit.personal_values(u)) for u in users)
    n = report.secrets_checked
    assert report.describe().splitlines()[:3] == [
        f"rows scanned: 3, aggregate documents scanned: 0, personal values searched: {n}",
        "plaintext personal data found: 0",
        "minors stored: 0",
    ]


def test_long_lists_are_cut_in_the_description():
    report = audit.AuditReport(minors_stored=[f"id{i}" for i in range(25)])
    lines = report.describe(limit=20).splitlines()
    assert lines.count("  ... and 5 more") == 1 and "  minor stored: id19" in lines
    assert "  minor stored: id20" not in lines


# ------------------------------------------------------------------ the services, faked
class FakeCollection:
    def __init__(self, name, docs):
        self.name, self.docs = name, docs

    def find(self, query):
        assert query == {}
        return iter(self.docs)


Message = namedtuple("Message", "key value partition offset")


def test_audit_reads_every_input_message_and_all_three_stores(monkeypatch, full_settings, users):
    settings = full_settings  # rows of the full profile (stored_row)
    bad = generator.malformed_messages(6, seed="unit")
    truncated = next(m for m in bad if m["detail"] == "truncated JSON")
    owner = json.loads(enc(users[0]))  # its password lands in a parts document
    topics = {
        settings.kafka_topic: [Message(None, enc(u), 0, i) for i, u in enumerate(users)]
        + [Message(m["key"], m["value"], 1, i) for i, m in enumerate(bad)],
        settings.dlq_topic: [Message(b"k", enc({"reason": "invalid_json"}), 0, 0)],
    }
    rows = [stored_row(u) for u in users[:5]]
    collections = [
        FakeCollection("aggregates", [{"_id": "gender|male", "count": 3}]),
        FakeCollection("aggregates_parts", [{"_id": "p", "v": f"pw={owner['login']['password']}"}]),
        FakeCollection("aggregates_batches", []),
    ]
    monkeypatch.setattr(kafka_client, "read_to_end", lambda s, topic, timeout_s=10.0: list(topics[topic]))
    fakes = FakeStores(
        FakeCassandra(rows),
        FakeMongo(collections, lambda: _docs(contract.group_rows(rows))),
        FakeDeadLetters(topics[settings.dlq_topic]),
    )

    values = audit.raw_users(settings)
    assert {v[SOURCE] for v in values} >= {f"0:{i}" for i in range(len(users))}
    assert truncated["key"].decode() in {v.get(OWNER) for v in values if v[SOURCE].startswith("1:")}

    report = audit.audit(settings, sinks=fakes)
    assert report.rows_scanned == 5 and report.documents_scanned == 2 and report.dead_letters_scanned == 1
    assert report.documents_by_collection == {"aggregates": 1, "aggregates_parts": 1, "aggregates_batches": 0}
    assert report.plaintext_found == [f"password of {owner['login']['uuid']} in mongodb"]
    assert report.secrets_checked == len(audit._entries(values))
    assert report.aggregates_checked > 0 and report.aggregate_differences == []

    minor = stored_row(users[8])  # the FI minor of the fixture
    rows.append(minor)
    report = audit.audit(settings, as_of="2026-01-15", min_age=18, sinks=fakes)
    assert report.minors_stored == [str(minor["user_id"])]


# ------------------------------------------------------------------ the storage profile's promise
def test_a_full_row_in_a_minimal_table_fails_the_audit(users):
    minimal = [minimal_row(u) for u in users[:3]]
    report = audit.build_report(users, minimal, {}, [], AS_OF, 18, profile=contract.MINIMAL)
    assert report.clean and report.profile_violations == [] and report.store_profile == "minimal"

    rows = minimal[:2] + [stored_row(users[2])]  # one row written in the full profile
    report = audit.build_report(users, rows, {}, [], AS_OF, 18, profile=contract.MINIMAL)
    assert not report.clean
    assert report.profile_violations == ["birth_date: 1 rows", "full_name: 1 rows", "username: 1 rows"]
    uid = users[2]["login"]["uuid"]
    assert {f"full name of {uid} in cassandra", f"username of {uid} in cassandra"} <= set(
        report.plaintext_found
    )
    assert "  outside the minimal profile: full_name: 1 rows" in report.describe().splitlines()
    with pytest.raises(AuditFindings, match="3 column"):
        audit.require_clean(report)
    # the other way round: rows of the minimal profile in a full table
    full = audit.build_report(users, rows, {}, [], AS_OF, 18, profile=contract.FULL)
    assert full.profile_violations == ["birth_year: 2 rows"] and full.plaintext_found == []


def test_a_name_or_username_in_a_dead_letter_breaks_the_minimal_profile(users):
    owner = users[1]
    letter = {"partition": 0, "offset": 4, "key": b"k", "value": enc({"detail": owner["login"]["username"]})}
    minimal = audit.build_report(users, [], {}, [letter], AS_OF, 18, profile=contract.MINIMAL)
    assert minimal.plaintext_found == [f"username of {owner['login']['uuid']} in dead-letter topic"]
    assert audit.build_report(users, [], {}, [letter], AS_OF, 18, profile=contract.FULL).clean


def test_truncated_json_gives_the_minimal_profiles_values_too(user):
    u = user()
    text = enc(u).decode()
    cut = text[: text.index('"registered"')]  # name, login and dob are before the cut
    (values,) = audit.personal_values_from_message(cut.encode(), contract.MINIMAL)
    assert values["username"] == u["login"]["username"]
    assert values["full name"] == f"{u['name']['first']} {u['name']['last']}"
    assert values["birth date"] == u["dob"]["date"][:10]
    assert "username" not in audit.personal_values_from_message(cut.encode())[0]  # full: stored by design


# ------------------------------------------------------------------ command line
def test_the_parser_accepts_audit_with_date_and_threshold():
    args = build_parser().parse_args(["audit", "--as-of", "2026-06-01", "--min-age", "21"])
    assert args.func is cmd_audit and args.as_of == "2026-06-01" and args.min_age == 21
    args = build_parser().parse_args(["audit"])
    assert args.as_of is None and args.min_age is None


@pytest.mark.parametrize("found, code", [([], 0), (["phone of abc in cassandra"], 3)])
def test_audit_command_prints_the_report_and_fails_on_findings(monkeypatch, capsys, found, code):
    seen = {}

    def fake_audit(settings, as_of=None):
        seen.update(as_of=as_of, min_age=settings.min_age)
        return audit.AuditReport(rows_scanned=3, plaintext_found=list(found))

    monkeypatch.setattr(audit, "audit", fake_audit)
    assert main(["audit", "--as-of", "2026-06-01", "--min-age", "21"]) == code
    out, err = capsys.readouterr()
    assert out.startswith("rows scanned: 3, aggregate documents scanned: 0")
    assert f"clean: {not found}" in out
    assert seen == {"as_of": "2026-06-01", "min_age": 21}
    assert ("error: the audit found 1 plaintext personal value(s)" in err) == bool(found)


def test_a_phone_planted_in_a_stored_row_makes_audit_exit_3_like_run(
    monkeypatch, capsys, full_settings, users
):
    """The exit code schedulers rely on: ``AuditFindings``, the code ``profilepipe run`` maps to 3."""
    settings = full_settings  # rows of the full profile (stored_row)
    owner = users[0]
    rows = [stored_row(u) for u in users[:3]]
    rows[1]["full_name"] = owner["phone"]  # another user's row holds the owner's phone in clear
    inputs = [Message(None, enc(u), 0, i) for i, u in enumerate(users)]
    monkeypatch.setattr(kafka_client, "read_to_end", lambda s, topic, timeout_s=10.0: list(inputs))
    fakes = FakeStores(
        FakeCassandra(rows), FakeMongo((), lambda: _docs(contract.group_rows(rows))), FakeDeadLetters()
    )
    monkeypatch.setattr(stores, "connect", lambda s: fakes)  # the command's one way to the stores
    monkeypatch.setattr("profilepipe.cli.get_settings", lambda **overrides: settings.replace(**overrides))

    assert main(["audit", "--as-of", "2026-01-15"]) == AuditFindings.exit_code == 3
    out, err = capsys.readouterr()
    assert f"phone of {owner['login']['uuid']} in cassandra" in out and "clean: False" in out
    assert owner["phone"] not in out + err  # where, never the value
    assert err.startswith("error: the audit found 1 plaintext personal value(s)")


# ------------------------------------------------------------------ aggregates = the table
_row = aggregate_row


def _docs(groups):
    return [
        {"dimension": d, "key": k, "count": c, "age_sum": a, "age_sq_sum": q}
        for (d, k), (c, a, q) in groups.items()
    ]


def test_aggregates_equal_to_the_tables_group_by_are_no_difference():
    rows = [_row(), _row(age=40), _row("GB", "United Kingdom", "male", 70)]
    docs = _docs(contract.group_rows(rows)) + [
        {"dimension": "country", "key": "Norway", "count": 0, "age_sum": 0}
    ]
    assert audit.aggregate_differences(rows, docs) == []
    report = audit.build_report([], rows, {}, [], dt.date(2026, 1, 15), 18, aggregates=docs)
    assert report.clean and report.aggregates_checked == len(docs)


def test_a_user_counted_twice_or_a_forgotten_one_still_counted_is_a_difference():
    rows = [_row(), _row(age=40)]
    counted_twice = contract.group_rows([*rows, _row(age=40)])
    diffs = audit.aggregate_differences(rows, _docs(counted_twice))
    assert "nationality DE: table 2 users (age sum 70), aggregates 3 (age sum 110)" in diffs
    report = audit.build_report([], rows, {}, [], dt.date(2026, 1, 15), 18, aggregates=_docs(counted_twice))
    assert not report.clean and "aggregate differs: nationality DE" in report.describe()
    with pytest.raises(AuditFindings, match="aggregate"):
        audit.require_clean(report)
    # erase_contribution off: forgotten users may stay counted, a group may not count fewer than the table
    assert audit.aggregate_differences(rows, _docs(counted_twice), exact=False) == []
    too_few = contract.group_rows(rows[:1])
    assert audit.aggregate_differences(rows, _docs(too_few), exact=False)
