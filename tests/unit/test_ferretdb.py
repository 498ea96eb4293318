"""FerretDB in the local stack without servers: the version pin, its Service, its command line,
which server serves "mongo", and the build's error without Go."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from profilepipe import config
from profilepipe.config import Settings
from profilepipe.errors import StackError
from profilepipe_stack import ferretdb, layout, processes, services, stack

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
    assert len(lines) == 2 and "jars: up to date" in lines  # side by side: in either order
    assert [line for line in lines if line.startswith("ferretdb: not built, mongo-java-server")]
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


# --------------------------------------------------------------------------- a Go too old: fetch one
LISTED = [
    "v0.0.1-go1.23.12.linux-amd64",
    "v0.0.1-go1.24.0.linux-amd64",
    "v0.0.1-go1.24.9.linux-amd64",
    "v0.0.1-go1.24.13.linux-amd64",
    "v0.0.1-go1.24.13.darwin-arm64",
    "v0.0.1-go1.24.14.linux-arm64",
    "v0.0.1-go1.25rc1.linux-amd64",
    "v0.0.1-go1.25.1.linux-amd64",
    "v0.0.1-go1.26.0.linux-amd64",
]


def test_the_newest_patch_of_the_minor_the_module_asks_for_is_chosen():
    assert ferretdb.choose_toolchain(LISTED, (1, 24), "linux-amd64") == "v0.0.1-go1.24.13.linux-amd64"
    assert ferretdb.choose_toolchain(LISTED, (1, 24), "linux-arm64") == "v0.0.1-go1.24.14.linux-arm64"
    # numeric order, not text order: 1.24.13 after 1.24.9
    assert ferretdb.choose_toolchain(reversed(LISTED), (1, 24), "linux-amd64").endswith(
        "go1.24.13.linux-amd64"
    )


def test_without_that_minor_the_next_one_released_and_never_an_rc():
    assert ferretdb.choose_toolchain(LISTED, (1, 25), "linux-amd64") == "v0.0.1-go1.25.1.linux-amd64"
    assert ferretdb.choose_toolchain(LISTED[:7], (1, 25), "linux-amd64") is None  # only go1.25rc1
    assert ferretdb.choose_toolchain(LISTED, (1, 24), "windows-amd64") is None


def test_go_versions_and_the_platform_are_read_like_go_does():
    assert ferretdb.go_version("go1.19.8") == (1, 19, 8)
    assert ferretdb.go_version("go1.24") == (1, 24, 0)
    assert ferretdb.go_version("go1.25rc1") is None and ferretdb.go_version("devel") is None
    assert ferretdb.go_platform("Linux", "x86_64") == "linux-amd64"
    assert ferretdb.go_platform("Darwin", "arm64") == "darwin-arm64"
    assert ferretdb.go_platform("Linux", "aarch64") == "linux-arm64"


FAKE_GO = """#!/bin/sh
# a go 1.19 that knows the three commands the bootstrap runs
case "$1 $2" in
  "env GOVERSION") echo go1.19.8 ;;
  "list -m") echo "golang.org/toolchain {listed}" ;;
  "mod download")
    dir="$GOMODCACHE/golang.org/toolchain@${{4#*@}}"
    mkdir -p "$dir/bin" "$dir/pkg/tool/linux_amd64"
    printf '#!/bin/sh\\necho go1.24.13\\n' > "$dir/bin/go"
    printf '#!/bin/sh\\n' > "$dir/pkg/tool/linux_amd64/compile"
    chmod 644 "$dir/bin/go" "$dir/pkg/tool/linux_amd64/compile"  # a module zip keeps no modes
    echo "{{\\"Dir\\": \\"$dir\\"}}" ;;
  *) exit 3 ;;
esac
"""


def test_an_old_go_fetches_the_toolchain_into_the_project_cache_once(settings, tmp_path, monkeypatch):
    old = tmp_path / "go119" / "go"
    old.parent.mkdir()
    old.write_text(FAKE_GO.format(listed=" ".join(LISTED)))
    old.chmod(0o755)
    monkeypatch.setattr(ferretdb, "go_platform", lambda: "linux-amd64")
    lines: list[str] = []
    home = ferretdb._fetch_toolchain(settings, str(old), (1, 24), lines.append)
    assert home == ferretdb.toolchain_dir(settings) / "go1.24.13" == tmp_path / "go-toolchain" / "go1.24.13"
    assert os.access(home / "bin" / "go", os.X_OK) and os.access(
        home / "pkg/tool/linux_amd64/compile", os.X_OK
    )
    assert [p.name for p in ferretdb.toolchain_dir(settings).iterdir()] == ["go1.24.13"]  # no leftovers
    assert lines == [f"ferretdb: fetching Go 1.24.13 (golang.org/toolchain) with {old}, which is too old ..."]
    old.write_text("#!/bin/sh\nexit 9\n")  # cached: the old go is not asked again
    assert ferretdb._fetch_toolchain(settings, str(old), (1, 24), lines.append) == home and len(lines) == 1


def test_the_set_up_runs_each_build_step_as_a_process_before_the_packages_are_installed(tmp_path):
    """setup.sh starts Maven and Go beside pip: the step module must need only the standard library."""
    code = (
        "import sys, profilepipe_stack.fetch as f\n"
        "third = sorted({m.split('.')[0] for m in sys.modules} & {'kafka', 'cassandra', 'pymongo', 'psutil', "
        "'pyspark', 'pandas', 'requests', 'dash', 'tqdm'})\n"
        "print(third, f.main(['nope']))"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "lib")},
    )
    assert (
        out.stdout.strip() == "[] 2"
        and "usage: python -m profilepipe_stack.fetch {jars,ferretdb}" in out.stderr
    )


def test_without_any_go_root_installs_debians_golang_first(monkeypatch):
    installed: list[list[str]] = []
    which = {"apt-get": "/usr/bin/apt-get"}
    monkeypatch.setattr(ferretdb.shutil, "which", lambda name: which.get(name))
    monkeypatch.setattr(ferretdb.os, "geteuid", lambda: 0)

    def run(cmd, **kwargs):
        installed.append(cmd)
        if "install" in cmd:
            which["go"] = "/usr/bin/go"
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(ferretdb.subprocess, "run", run)
    lines: list[str] = []
    assert ferretdb._installed_go(lines.append) == "/usr/bin/go"
    assert installed[-1][:2] == ["apt-get", "install"] and installed[-1][-1] == "golang-go"
    assert lines == ["ferretdb: installing golang-go (apt-get), to fetch the Go that builds FerretDB"]
    monkeypatch.setattr(ferretdb.os, "geteuid", lambda: 1000)  # not root: the one command, nothing run
    del which["go"]
    installed.clear()
    with pytest.raises(StackError, match=r"install it with: sudo apt-get install golang-go"):
        ferretdb._installed_go(lines.append)
    assert installed == []


def test_the_builds_copy_of_the_read_only_module_cache_can_be_deleted(tmp_path):
    """Go's module cache is read-only, folders included. The build's copy of a module must not stay
    so, or a user who is not root could delete neither the copy nor the checkout around it."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f.go").write_text("package x\n")
    for path, mode in ((src / "sub" / "f.go", 0o444), (src / "sub", 0o555), (src, 0o555)):
        path.chmod(mode)
    ferretdb._writable(src)
    assert all(p.stat().st_mode & 0o200 for p in (src, src / "sub", src / "sub" / "f.go"))
    shutil.rmtree(src)  # without the above, PermissionError for a user who is not root
    assert not src.exists()
