"""``profilepipe transform FILE``: framing, outputs on out/err, counts, end to end."""

from __future__ import annotations

import io
import json
from pathlib import Path

import bcrypt
import pytest

from profilepipe import contract
from profilepipe.cli import main
from profilepipe.config import project_root
from profilepipe.errors import PrivacyError
from profilepipe.pipeline import privacy
from profilepipe.tools import file_job

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def run(path, settings, as_of="2026-01-15"):
    out, err = io.StringIO(), io.StringIO()
    counts = file_job.transform_file(settings, path, as_of=as_of, out=out, err=err)
    stored = [json.loads(line) for line in out.getvalue().splitlines()]
    err_lines = err.getvalue().splitlines()
    dead = [json.loads(line) for line in err_lines[:-1]]
    return counts, stored, dead, err_lines[-1]


def test_frame_whole_document_or_json_lines():
    assert file_job.frame(b'{\n  "results": []\n}\n') == [(1, b'{\n  "results": []\n}')]
    assert file_job.frame(b'{"a": 1}\n\n  \n[1]\r\nnot json\n') == [
        (1, b'{"a": 1}'),
        (4, b"[1]"),
        (5, b"not json"),
    ]
    assert file_job.frame(b"") == [] and file_job.frame(b"\n\n") == []
    assert file_job.frame(b"\xef\xbb\xbf{}") == [(1, b"{}")]


def test_pretty_printed_envelope_file(settings, tmp_path):
    counts, stored, dead, last = run(FIXTURES / "envelope_v14.json", settings)
    assert contract.counts_of(counts) == dict(read=9, stored=8, filtered_minor=1, erased=0, dead_letter=0)
    assert last == "read=9 stored=8 filtered_minor=1 erased=0 dead_letter=0"
    assert dead == []
    assert [tuple(r) for r in stored] == [settings.user_columns] * 8  # every column, in table order
    gb = stored[0]
    assert gb["user_id"] == "0f8a7c2e-1b3d-4e5f-8a9b-0c1d2e3f4a5b" and gb["nationality"] == "GB"
    assert gb["birth_year"] == 1985 and gb["age"] == 40
    assert gb["registered_at"] == "2015-07-04T10:11:12.345Z"
    assert gb["email_domain"] == "example.com"
    assert bcrypt.checkpw(
        privacy.prehash("4821 Church Lane, Bristol, Avon, United Kingdom"),  # minimal: no postcode
        gb["address_hash"].encode(),
    )
    text = json.dumps(stored, ensure_ascii=False)
    for secret in (
        "marmalade",
        "017687 22514",
        "07700 900461",
        "Church Lane",
        "olivia.hughes",
        "QQ 12 34 56 C",
    ):
        assert secret not in text


def test_json_lines_with_bad_lines(settings, tmp_path, users):
    lines = [
        json.dumps(users[0], ensure_ascii=False).encode(),  # 1 stored
        b"",  # 2 skipped
        json.dumps({"results": users[1:4]}, ensure_ascii=False).encode(),  # 3 three stored
        b"this is not json",  # 4 invalid_json
        b'{"name": {"first": "Zo\xe9"}}',  # 5 Latin-1: invalid_json
        b"[1, 2]",  # 6 not_a_user
        json.dumps(users[8], ensure_ascii=False).encode(),  # 7 minor
        b'{"results": []}',  # 8 not_a_user
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    counts, stored, dead, last = run(path, settings)
    assert contract.counts_of(counts) == dict(read=9, stored=4, filtered_minor=1, erased=0, dead_letter=4)
    assert last == "read=9 stored=4 filtered_minor=1 erased=0 dead_letter=4"
    assert [(d["source_offset"], d["reason"]) for d in dead] == [
        (4, "invalid_json"),
        (5, "invalid_json"),
        (6, "not_a_user"),
        (8, "not_a_user"),
    ]
    assert {d["source_topic"] for d in dead} == {"mixed.jsonl"} and {d["source_partition"] for d in dead} == {
        0
    }
    assert list(dead[0]) == ["key", *contract.DLQ_FIELDS]
    assert dead[0]["value_bytes"] == len(b"this is not json")
    assert [r["nationality"] for r in stored] == ["GB", "CA", "NL", "NO"]


def test_single_user_file(full_settings, tmp_path, users):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(users[4], ensure_ascii=False, indent=4), encoding="utf-8")
    counts, stored, _, _ = run(path, full_settings)
    assert counts.stored == 1 and stored[0]["full_name"] == "نازنین رضایی"


def test_empty_file(settings, tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"\n\n")
    counts, stored, dead, last = run(path, settings)
    assert contract.counts_of(counts) == dict(read=0, stored=0, filtered_minor=0, erased=0, dead_letter=0)
    assert (stored, dead, last) == ([], [], "read=0 stored=0 filtered_minor=0 erased=0 dead_letter=0")


def test_hmac_without_key_is_refused_before_spark(settings, tmp_path):
    with pytest.raises(PrivacyError, match="PROFILEPIPE_HMAC_KEY"):
        file_job.transform_file(
            settings.replace(pii_mode="hmac"),
            FIXTURES / "envelope_v14.json",
            out=io.StringIO(),
            err=io.StringIO(),
        )


@pytest.mark.parametrize("name", ["users_1.4_mixed.json", "users.jsonl", "single_user.json"])
def test_sample_files_end_to_end(settings, name):
    from profilepipe.sources import generator

    path = SAMPLES / name
    text = path.read_text(encoding="utf-8")
    try:
        docs = [json.loads(text)]
    except ValueError:
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    users = [u for d in docs for u in (d["results"] if "results" in d else [d])]
    expected = [generator.expected_outcome(u, "2026-01-15", settings.min_age) for u in users]

    counts, stored, dead, last = run(path, settings)
    assert counts.read == len(users)
    assert counts.stored == expected.count("stored") == len(stored)
    assert counts.filtered_minor == expected.count("filtered_minor")
    assert counts.dead_letter == 0 and dead == []
    assert counts.balanced and counts.erased == 0
    assert {r["user_id"] for r in stored} == {
        u["login"]["uuid"] for u, e in zip(users, expected, strict=True) if e == "stored"
    }
    # no output value is a secret; long secrets do not occur inside any value either (short ones
    # like the password "monkey" legitimately can, e.g. in the username "bluemonkey123")
    values = {str(v) for r in stored for v in r.values()}
    text_out = json.dumps(
        [{k: v for k, v in r.items() if not k.endswith("_hash")} for r in stored], ensure_ascii=False
    )
    for u in users:
        login = u["login"]
        secrets = [
            login["password"],
            login["salt"],
            login["md5"],
            login["sha1"],
            login["sha256"],
            u["phone"],
            u["cell"],
            u["email"],
        ]
        assert not values & set(secrets)
        assert not [
            x
            for x in (login["md5"], login["sha1"], login["sha256"], u["phone"], u["cell"], u["email"])
            if x in text_out
        ]


def test_the_session_is_built_from_settings_and_reused(spark, settings):
    from profilepipe.pipeline.spark import get_spark

    conf = spark.conf
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert conf.get("spark.sql.execution.arrow.pyspark.enabled") == "true"
    assert conf.get("spark.ui.enabled") == "false"
    assert get_spark(settings) is spark
    # master and shuffle partitions are those of whoever started the session in this process
    # (the unit fixture, or an earlier test when the whole suite runs in one process)
    assert spark.sparkContext.master.startswith("local[")


def test_hmac_without_key_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv("PROFILEPIPE_PII_MODE", "hmac")
    monkeypatch.delenv("PROFILEPIPE_HMAC_KEY", raising=False)
    rc = main(["transform", str(project_root() / "data" / "samples" / "single_user.json")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and "PROFILEPIPE_HMAC_KEY" in err
    assert "Traceback" not in err
