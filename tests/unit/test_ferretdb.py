"""FerretDB in the local stack without servers: the version pin, its Service, its command line,
which server serves "mongo", and the build's error without Go."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from profilepipe import config
from profilepipe.config import Settings
from profilepipe.localstack import ferretdb, layout, processes, services, stack
from profilepipe.localstack.layout import StackError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env(
        {
            "PROFILEPIPE_STACK_DIR": str(tmp_path / "st"),
            "PROFILEPIPE_FERRETDB_DIR": str(tmp_path / "ferret"),
            "PROFILEPIPE_MONGO_URI": "mongodb://127.0.0.1:37018",
            "PROFILEPIPE_MONGO_SERVER": "ferretdb",
        }
    )


def test_the_version_is_pinned_once_in_stack_ferretdb_version():
    pin = (ROOT / "stack" / "ferretdb" / "VERSION").read_text().strip()
    assert ferretdb.version() == pin and re.fullmatch(r"v1\.\d+\.\d+", pin)
    python = [p for p in (ROOT / "lib").rglob("*.py") if pin in p.read_text()]
    assert python == [], "the version is written only in stack/ferretdb/VERSION"


def test_the_binary_is_cached_per_version_and_patches(settings, tmp_path):
    build_id = ferretdb.build_id()
    assert ferretdb.binary(settings) == tmp_path / "ferret" / build_id / "ferretdb"
    assert not ferretdb.built(settings)
    patches = ferretdb.patches()
    assert [p.name for p in patches] == sorted(p.name for p in patches) and patches
    digest = re.fullmatch(re.escape(ferretdb.version()) + r"\+([0-9a-f]{8})", build_id)
    assert digest, "a patched build is named by its patches, so a changed patch is rebuilt"


def test_each_patch_says_why_before_its_diff():
    for patch in ferretdb.patches():
        text = patch.read_text()
        head = text.split("--- a/", 1)[0]
        assert len(head.split()) > 20 and "+++ b/" in text, f"{patch.name}: explain the change first"


def test_the_command_line_serves_the_uri_port_from_sqlite_under_the_stack(settings, tmp_path):
    cmd = services.FERRETDB.command(settings)
    data = layout.data_dir(settings, "ferretdb")
    assert cmd[0] == str(ferretdb.binary(settings))
    assert cmd[1:] == [
        "--handler=sqlite",
        f"--sqlite-url=file:{data}/sqlite/",
        f"--state-dir={data}",
        "--telemetry=disable",
        "--debug-addr=-",
        "--log-level=warn",
        "--log-format=text",
        "--listen-addr=127.0.0.1:37018",
    ]
    assert not [a for a in cmd if "$" in a or a.startswith("#")]


def test_its_process_is_recognised_by_its_program_and_its_state_dir(settings):
    marks = services.FERRETDB.marks(settings)
    assert marks == processes.Marks("ferretdb", (f"--state-dir={layout.data_dir(settings, 'ferretdb')}",))
    assert set(marks.args) <= set(services.FERRETDB.command(settings))
    # the JVM servers keep their two markers, exactly
    assert services.MONGO.marks(settings) == processes.Marks("java", processes.markers(settings, "mongo"))


class _Proc:
    def __init__(self, cmdline):
        self._cmdline = cmdline

    def status(self):
        return "running"

    def cmdline(self):
        return self._cmdline


def test_is_ours_needs_the_program_and_every_marker(settings, tmp_path):
    marks = services.FERRETDB.marks(settings)
    cmd = services.FERRETDB.command(settings)
    assert processes.is_ours(marks, _Proc(cmd))
    other_stack = settings.replace(stack_dir=str(tmp_path / "other"))
    assert not processes.is_ours(services.FERRETDB.marks(other_stack), _Proc(cmd))
    assert not processes.is_ours(marks, _Proc(["/usr/bin/python3", *cmd[1:]]))


def test_the_service_table_has_two_servers_for_mongo(settings):
    assert services.FERRETDB.role == services.MONGO.role == "mongo"
    assert services.FERRETDB.name == "ferretdb" and services.FERRETDB.launcher is services.FERRETDB_BINARY
    assert services.MONGO.launcher is services.JVM
    assert tuple(services.MONGO_SERVERS) == config.MONGO_SERVERS
    assert services.alternatives("mongo") == [services.FERRETDB, services.MONGO]
    assert services.alternatives("kafka") == [services.KAFKA]
    assert services.FERRETDB.ports(settings) == services.MONGO.ports(settings) == [("127.0.0.1", 37018)]
    assert stack.SERVICES == ("kafka", "cassandra", "mongo")


def test_the_setting_chooses_the_server_when_none_of_ours_runs(settings):
    assert services.serving(settings, "mongo") is services.FERRETDB
    assert services.serving(settings.replace(mongo_server="java"), "mongo") is services.MONGO
    assert [s.name for s in services.chosen(None, settings)] == ["kafka", "cassandra", "ferretdb"]
    assert [s.name for s in services.chosen("mongo", settings.replace(mongo_server="java"))] == ["mongo"]
    assert services.serving(settings, "cassandra") is services.CASSANDRA


def test_a_running_server_of_ours_wins_over_the_setting(settings, monkeypatch):
    monkeypatch.setattr(
        processes, "our_process", lambda s, name, marks: object() if name == "mongo" else None
    )
    assert services.resolve(settings, "mongo") is services.MONGO  # the setting says ferretdb


def test_mongo_server_is_validated():
    assert Settings.from_env({}).mongo_server in config.MONGO_SERVERS
    with pytest.raises(ValueError, match="PROFILEPIPE_MONGO_SERVER must be ferretdb or java, not 'mongod'"):
        Settings.from_env({"PROFILEPIPE_MONGO_SERVER": "mongod"})


def test_without_go_the_build_names_what_to_install(settings, monkeypatch):
    monkeypatch.setattr(ferretdb.shutil, "which", lambda name: None)
    with pytest.raises(StackError, match=r"Go \(the `go` command\) not found.*apt-get install golang"):
        ferretdb.build(settings, echo=lambda _line: None)


def test_without_go_fetch_still_works_for_the_java_server(settings, monkeypatch):
    monkeypatch.setattr(ferretdb.shutil, "which", lambda name: None)
    monkeypatch.setattr(stack, "fetch_jars", lambda s, echo: echo("jars: up to date"))
    lines: list[str] = []
    stack.fetch(settings.replace(mongo_server="java"), echo=lines.append)
    assert lines[0] == "jars: up to date" and lines[1].startswith("ferretdb: not built, mongo-java-server")
    with pytest.raises(StackError, match="apt-get install golang"):
        stack.fetch(settings, echo=lines.append)


def test_the_build_is_skipped_when_the_pinned_binary_is_there(settings, monkeypatch):
    target = ferretdb.binary(settings)
    target.parent.mkdir(parents=True)
    target.write_text("#!/bin/sh\n")
    target.chmod(0o755)
    monkeypatch.setattr(ferretdb.shutil, "which", lambda name: pytest.fail("go must not run"))
    lines: list[str] = []
    assert ferretdb.build(settings, echo=lines.append) == target
    assert lines == [f"ferretdb: {ferretdb.version()} up to date in {target}"]
