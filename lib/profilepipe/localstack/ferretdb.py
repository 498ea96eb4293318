"""FerretDB, the local stack's production MongoDB-compatible server: its build and its command line.

FerretDB v1 (``github.com/FerretDB/FerretDB``) is a Go program; with its SQLite backend it
needs nothing else (no PostgreSQL, no cgo). The version is pinned in one place, the file
``stack/ferretdb/VERSION``.

* build   :func:`build` compiles the pinned module with ``go build`` into
  ``<ferretdb_dir>/<version>+<patches>/ferretdb`` (a cache, like the jars: rebuilt only when
  the pin or a patch changes). The module comes from the Go module proxy (``go mod
  download``); it is copied into a build folder, given the ``build/version/version.txt`` its
  release builds get (a plain ``go install`` of the module builds a binary that refuses to
  start without it), and patched with ``stack/ferretdb/patches/*.patch`` in name order
  (``git apply``; each patch says what it fixes and why; today one: ``_id`` lookups of the
  SQLite backend use the ``_id`` index instead of scanning the table).
* run     :func:`command`: the binary, the flags of ``stack/ferretdb/flags.options``
  (rendered like the JVM option files), then ``--listen-addr`` from ``PROFILEPIPE_MONGO_URI``.
  ``--state-dir=<stack_dir>/data/ferretdb`` is on every command line: it names the service
  and the stack dir, so it is the marker our processes are recognised by (the JVM servers'
  equivalent is their two ``-Dprofilepipe.*`` properties).
* data    ``<stack_dir>/data/ferretdb/sqlite/`` (one SQLite file per database) and FerretDB's
  ``state.json`` beside it.

No authentication: FerretDB v1 has none with the SQLite backend, so the stack's FerretDB
serves the plain local URI, like mongo-java-server.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from profilepipe.config import Settings
from profilepipe.localstack import layout, templates
from profilepipe.localstack.layout import StackError

NAME = "ferretdb"
MODULE = "github.com/FerretDB/FerretDB"
PACKAGE = "./cmd/ferretdb"
FLAGS = "flags.options"  # under stack/ferretdb/
PATCHES = "patches"  # under stack/ferretdb/: *.patch, applied in name order
MIN_GO = (1, 21)  # the oldest go that fetches the toolchain the module asks for (go 1.24) by itself
BUILD_TIMEOUT = 1800

Echo = Callable[[str], None]


def version() -> str:
    """The pinned FerretDB version (``v<major>.<minor>.<patch>``), from ``stack/ferretdb/VERSION``."""
    path = layout.source_dir() / NAME / "VERSION"
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise StackError(f"cannot read {path} ({exc}): is this a full checkout?") from exc
    if not re.fullmatch(r"v\d+\.\d+\.\d+", text):
        raise StackError(f"{path}: {text!r} is not a version like v1.2.3")
    return text


def patches() -> list[Path]:
    """The patches applied to the module before it is built (``stack/ferretdb/patches/*.patch``)."""
    return sorted((layout.source_dir() / NAME / PATCHES).glob("*.patch"))


def build_id() -> str:
    """``<version>`` or ``<version>+<first 8 hex of the patches' SHA-256>``: names the build."""
    found = patches()
    if not found:
        return version()
    digest = hashlib.sha256()
    for path in found:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return f"{version()}+{digest.hexdigest()[:8]}"


def binary(settings: Settings) -> Path:
    """``<ferretdb_dir>/<build_id>/ferretdb``: where the pinned version, patched, is built."""
    return Path(settings.ferretdb_dir).resolve() / build_id() / NAME


def built(settings: Settings) -> bool:
    return os.access(binary(settings), os.X_OK)


def markers(settings: Settings) -> tuple[str, ...]:
    """The arguments that make a FerretDB process ours (see the module docstring)."""
    return (f"--state-dir={layout.data_dir(settings, NAME)}",)


def command(settings: Settings) -> list[str]:
    """FerretDB's command line: binary, ``flags.options``, listen address."""
    flags = templates.options(layout.source_dir() / NAME / FLAGS, templates.values(settings, NAME))
    missing = [m for m in markers(settings) if m not in flags]
    if missing:  # the marker is a line of flags.options: `stack down` could not find us without it
        raise StackError(f"stack/{NAME}/{FLAGS} lost {missing[0]}: keep --state-dir=${{data_dir}}")
    return [str(binary(settings)), *flags, f"--listen-addr={settings.mongo_host}:{settings.mongo_port}"]


def prepare(settings: Settings, log) -> None:
    """The SQLite folder must exist before FerretDB opens it."""
    (layout.data_dir(settings, NAME) / "sqlite").mkdir(parents=True, exist_ok=True)


# --------------------------------------------------------------------------- build
def _go() -> str:
    """The ``go`` command, recent enough; else a StackError naming what to install."""
    go = shutil.which("go")
    install = (
        f"FerretDB is built from its Go module ({MODULE}): install Go {MIN_GO[0]}.{MIN_GO[1]} or newer "
        "(Debian 13: apt-get install golang; Debian 12's golang is 1.19, too old: https://go.dev/dl), "
        f"then run `profilepipe stack fetch`. Or keep mongo-java-server: "
        f"{Settings.env_name('mongo_server')}=java."
    )
    if not go:
        raise StackError(f"Go (the `go` command) not found on PATH. {install}")
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60)
    m = re.match(r"go(\d+)\.(\d+)", out.stdout.strip())
    if not m or (int(m.group(1)), int(m.group(2))) < MIN_GO:
        raise StackError(f"{go} is {out.stdout.strip() or 'of an unknown version'}. {install}")
    return go


def _run(cmd: list[str], cwd: Path | None, what: str) -> str:
    try:
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StackError(f"{what} could not run ({exc})") from exc
    if out.returncode != 0:
        tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-30:])
        raise StackError(
            f"{what} failed (exit {out.returncode}):\n{tail}\n"
            "Check network access to the Go module proxy (GOPROXY, default https://proxy.golang.org)."
        )
    return out.stdout


def _apply(patch: Path, src: Path) -> None:
    """``git apply`` one patch to the module's copy (``src``), as a tree of its own.

    The copy may sit inside this project's checkout: ``GIT_CEILING_DIRECTORIES`` keeps git
    from taking the checkout for the tree to patch (paths would then be the checkout's).
    """
    git = shutil.which("git")
    if not git:
        raise StackError(f"git is needed to apply {patch.name} to FerretDB's source: install git")
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(src.parent)}
    out = subprocess.run([git, "apply", "-p1", str(patch)], cwd=src, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise StackError(f"{patch} does not apply to FerretDB {version()}: {out.stderr.strip()}")


def build(settings: Settings, echo: Echo = print) -> Path:
    """Build the pinned FerretDB into :func:`binary` unless it is there; returns its path.

    The module is downloaded by ``go mod download``, copied out of the (read-only) module
    cache into a temporary folder, given ``build/version/version.txt``, patched
    (:func:`patches`) and built with ``go build -trimpath``; the binary is moved into place
    last, so a failed build leaves no half-built cache.
    """
    target = binary(settings)
    if built(settings):
        echo(f"ferretdb: {version()} up to date in {target}")
        return target
    go, pin, started = _go(), version(), time.monotonic()
    echo(f"ferretdb: building {MODULE}@{pin} with {go} (first time: a minute or two) ...")
    info = json.loads(_run([go, "mod", "download", "-json", f"{MODULE}@{pin}"], None, "go mod download"))
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ferretdb-build-", dir=target.parent))
    try:
        shutil.copytree(info["Dir"], work / "src")
        for path in (work / "src").rglob("*"):  # the module cache is read-only
            path.chmod(path.stat().st_mode | 0o200)
        (work / "src" / "build" / "version" / "version.txt").write_text(pin + "\n")
        for patch in patches():
            _apply(patch, work / "src")
            echo(f"ferretdb: applied {patch.name}")
        out = work / NAME
        _run([go, "build", "-trimpath", "-buildvcs=false", "-o", str(out), PACKAGE], work / "src", "go build")
        reported = subprocess.run([str(out), "--version"], capture_output=True, text=True, timeout=60).stdout
        if f"version: {pin}" not in reported:
            raise StackError(f"the FerretDB just built says {reported.strip()!r}, not version {pin}")
        out.replace(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    echo(f"ferretdb: {pin} built in {time.monotonic() - started:.0f}s ({target})")
    return target
