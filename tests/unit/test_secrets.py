"""Secrets come only from the environment: none is committed, none has a default.

The repository scan reads every tracked file (the executed reference notebooks
included) and fails on a private key, a password or key variable set to a literal,
or an HMAC key in code that is not marked as a throwaway test value. The API-shaped
sample data (``data/samples``, ``tests/fixtures``) is synthetic randomuser.me output:
its ``login.password`` fields are the API's, which is the point of the privacy tests.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

import pytest

from profilepipe.config import Settings, project_root

ROOT = project_root()
SYNTHETIC = ("data/samples/", "tests/fixtures/")
PRIVATE_KEY = re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----")
# PROFILEPIPE_HMAC_KEY=..., PROFILEPIPE_MONGO_PASSWORD='...': only placeholders or shell expansions
ENV_ASSIGN = re.compile(r"PROFILEPIPE_(?:HMAC_KEY|\w*PASSWORD)\s*=\s*['\"]?([^\s'\"`]*)")
PLACEHOLDER = re.compile(r"^(?:\.\.\.|\$.*|<[^>]*>|\{\w+\}|)$")  # ..., $VAR, <password>, {f_string_name}
# hmac_key="..." / KEY = "..." in code: a throwaway test value says so
CODE_KEY = re.compile(r"(?:hmac_key\s*=|\bKEY\s*=)\s*f?['\"]([^'\"]*)['\"]")
THROWAWAY = re.compile(r"not-a-secret|^$|^unit-test-key-|^fault-test-|^hmac-\{")
URI_PASSWORD = re.compile(r"mongodb(?:\+srv)?://[^/\s:@'\"]+:([^@\s'\"]+)@")
URI_EXAMPLES = {"pass", "p", "pw", "password", "PASSWORD", "***"}  # documentation and test doubles


def tracked_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the scan covers what git tracks")
    names = [n for n in out.decode().split("\0") if n]
    this = Path(__file__).resolve().relative_to(ROOT).as_posix()  # its own examples are bait
    return [ROOT / n for n in names if not n.startswith(SYNTHETIC) and n != this and (ROOT / n).is_file()]


def texts():
    for path in tracked_files():
        data = path.read_bytes()
        if b"\0" in data[:4096]:
            continue  # binary (figures)
        yield path.relative_to(ROOT).as_posix(), data.decode("utf-8", "replace")


def test_the_scan_sees_the_repository():
    names = {name for name, _ in texts()}
    assert {"README.md", "lib/profilepipe/config.py", "notebooks/04_privacy_audit.ipynb"} <= names


def test_no_private_key_is_committed():
    assert [name for name, text in texts() if PRIVATE_KEY.search(text)] == []


def test_secret_variables_are_never_set_to_a_literal():
    found = [
        f"{name}: {m.group(0)}"
        for name, text in texts()
        for m in ENV_ASSIGN.finditer(text)
        if not PLACEHOLDER.match(m.group(1))
    ]
    assert found == []


def test_hmac_keys_in_code_are_marked_throwaway():
    found = [
        f"{name}: {m.group(0)}"
        for name, text in texts()
        if name.endswith((".py", ".ipynb"))
        for m in CODE_KEY.finditer(text)
        if not THROWAWAY.search(m.group(1))
    ]
    assert found == []


def test_no_password_inside_a_committed_mongodb_uri():
    found = [
        f"{name}: {m.group(0)}"
        for name, text in texts()
        for m in URI_PASSWORD.finditer(text)
        if not PLACEHOLDER.match(m.group(1)) and m.group(1) not in URI_EXAMPLES
    ]
    assert found == []


def test_secret_settings_have_no_default_and_are_masked():
    secrets = [f for f in dataclasses.fields(Settings) if f.metadata.get("secret")]
    assert {f.name for f in secrets} >= {"hmac_key", "cassandra_password", "mongo_password", "mongo_uri"}
    for f in secrets:
        assert "@" not in str(f.default) if f.name == "mongo_uri" else f.default == "", f.name
    shown = Settings(
        hmac_key="k" * 32,
        cassandra_username="u",
        cassandra_password="p" * 12,
        mongo_username="m",
        mongo_password="q" * 12,
        mongo_uri="mongodb://user:s3cr3t-pw@db.example:27017",
    ).redacted()
    text = repr(shown)
    for value in ("k" * 32, "p" * 12, "q" * 12, "s3cr3t-pw"):
        assert value not in text


def test_the_patterns_catch_what_they_are_for():
    assert PRIVATE_KEY.search("-----BEGIN OPENSSH PRIVATE KEY-----")
    bad = ENV_ASSIGN.search("export PROFILEPIPE_HMAC_KEY=0123456789abcdef")
    assert bad and not PLACEHOLDER.match(bad.group(1))
    assert PLACEHOLDER.match(ENV_ASSIGN.search("PROFILEPIPE_MONGO_PASSWORD='...'").group(1))
    assert PLACEHOLDER.match(ENV_ASSIGN.search("PROFILEPIPE_HMAC_KEY=$(openssl rand -hex 32)").group(1))
    assert not THROWAWAY.search(CODE_KEY.search('hmac_key="prod-key-2026"').group(1))
    assert URI_PASSWORD.search("mongodb://admin:hunter22@host/db").group(1) == "hunter22"
    assert PLACEHOLDER.match(URI_PASSWORD.search('f"mongodb://old:{URI_PW}@h"').group(1))
