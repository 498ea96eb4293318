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
  (``git apply``; each patch says what it fixes and why; today two: ``_id`` lookups of the
  SQLite backend use the ``_id`` index instead of scanning the table, also when the filter
  names more than the ``_id``).
* go      any ``go`` builds it. One older than the module's ``go`` line (Debian 12's is
  1.19, FerretDB asks for 1.24) first fetches the newest patch release of that Go from the
  Go module proxy, where toolchains are the module ``golang.org/toolchain``
  (:func:`choose_toolchain`), into ``<cache>/go-toolchain/go1.M.P/`` beside the FerretDB
  builds, and the build uses that. No ``go`` at all: as root, Debian's ``golang-go`` is
  installed with apt-get first; otherwise the error names that command.
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
import platform
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from profilepipe.config import Settings
from profilepipe.errors import StackError
from profilepipe_stack import layout, templates

NAME = "ferretdb"
MODULE = "github.com/FerretDB/FerretDB"
PACKAGE = "./cmd/ferretdb"
FLAGS = "flags.options"  # under stack/ferretdb/
PATCHES = "patches"  # under stack/ferretdb/: *.patch, applied in name order
TOOLCHAIN_MODULE = "golang.org/toolchain"  # Go itself, as modules of the Go module proxy
TOOLCHAIN_DIR = "go-toolchain"  # beside the ferretdb_dir: <cache>/go-toolchain/go1.M.P/
GOARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "i386": "386",
    "i686": "386",
    "armv6l": "armv6l",
    "armv7l": "armv6l",
}  # platform.machine() -> GOARCH
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


# --------------------------------------------------------------------------- go
def go_version(text: str) -> tuple[int, int, int] | None:
    """``(1, 19, 8)`` from ``go1.19.8`` (a release; ``go1.24`` is ``(1, 24, 0)``); None for others."""
    m = re.fullmatch(r"go(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)) if m else None


def go_platform(system: str | None = None, machine: str | None = None) -> str:
    """``<GOOS>-<GOARCH>`` of this machine (``linux-amd64``), as toolchain module versions name it."""
    goos = (system or platform.system()).lower()
    machine = (machine or platform.machine()).lower()
    return f"{goos}-{GOARCH.get(machine, machine)}"


def choose_toolchain(versions: Iterable[str], need: tuple[int, int], plat: str) -> str | None:
    """The ``golang.org/toolchain`` version to fetch for a module whose go.mod says ``go <need>``.

    ``versions`` are the module's versions (``v0.0.1-go1.24.13.linux-amd64``, ...); the newest
    release (no rc/beta) of the minor ``need`` for the platform ``plat``, else the newest
    release of the next minor that has one for it; None when there is none.
    """
    releases: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for v in versions:
        m = re.fullmatch(r"v0\.0\.1-(go[0-9.]+)\." + re.escape(plat), v.strip())
        found = go_version(m.group(1)) if m else None
        if found and found[:2] >= need:
            releases.setdefault(found[:2], []).append(found)
    if not releases:
        return None
    newest = max(releases[min(releases)])
    return f"v0.0.1-go{newest[0]}.{newest[1]}.{newest[2]}.{plat}"


def toolchain_dir(settings: Settings) -> Path:
    """``<ferretdb_dir>/../go-toolchain/``: Go toolchains fetched to build FerretDB (a cache)."""
    return Path(settings.ferretdb_dir).resolve().parent / TOOLCHAIN_DIR


def _installed_go(echo: Echo) -> str:
    """``go`` on PATH, any version; as root with apt-get, Debian's ``golang-go`` installed first."""
    go = shutil.which("go")
    if go:
        return go
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        echo("ferretdb: installing golang-go (apt-get), to fetch the Go that builds FerretDB")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "golang-go"],
        ):
            subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
        go = shutil.which("go") or ("/usr/bin/go" if os.access("/usr/bin/go", os.X_OK) else None)
        if go:
            return go
    raise StackError(
        "Go (the `go` command) not found on PATH: install it with: sudo apt-get install golang-go "
        f"(any version: the set-up fetches the Go FerretDB needs), or keep mongo-java-server: "
        f"{Settings.env_name('mongo_server')}=java."
    )


def _reported_version(go: str, env: dict[str, str] | None = None) -> tuple[int, int, int] | None:
    try:
        out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return go_version(out.stdout.split("-")[0].split(" ")[0]) if out.returncode == 0 else None


def _cached_toolchain(settings: Settings, need: tuple[int, int]) -> Path | None:
    """The newest toolchain in :func:`toolchain_dir` of the minor ``need`` or newer, if any."""
    found = []
    for home in toolchain_dir(settings).glob("go*"):
        v = go_version(home.name)
        if v and v[:2] >= need and os.access(home / "bin" / "go", os.X_OK):
            found.append((v[:2] == need, v, home))
    return max(found)[2] if found else None


def _fetch_toolchain(settings: Settings, go: str, need: tuple[int, int], echo: Echo) -> Path:
    """A Go toolchain for ``go <need>``: from the cache, else fetched with ``go`` (any version).

    Go toolchains are modules on the Go module proxy (``golang.org/toolchain``); an old go
    (Debian 12's 1.19) lists and downloads them like any module. The download goes to a
    module cache of its own under :func:`toolchain_dir` (writable: ``-modcacherw``), its
    tree is moved to ``<toolchain_dir>/go1.M.P/`` and its commands made executable (a module
    zip keeps no file modes), then the rest is deleted.
    """
    cached = _cached_toolchain(settings, need)
    if cached:
        return cached
    root = toolchain_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".fetch-", dir=root))
    env = {
        **os.environ,
        "GOMODCACHE": str(work / "mod"),
        "GOFLAGS": "-modcacherw",
        "GOTOOLCHAIN": "local",
        "GO111MODULE": "on",
    }
    env.pop("GOROOT", None)
    try:
        listed = _run([go, "list", "-m", "-versions", TOOLCHAIN_MODULE], work, "go list (Go toolchains)", env)
        plat = go_platform()
        chosen = choose_toolchain(listed.split()[1:], need, plat)
        if not chosen:
            raise StackError(
                f"the Go module proxy has no Go {need[0]}.{need[1]} or newer for {plat} "
                f"({TOOLCHAIN_MODULE}); install Go {need[0]}.{need[1]}+ from https://go.dev/dl"
            )
        name = chosen.split("-", 1)[1].rsplit(".", 1)[0]  # go1.24.13
        echo(f"ferretdb: fetching Go {name[2:]} ({TOOLCHAIN_MODULE}) with {go}, which is too old ...")
        info = json.loads(
            _run(
                [go, "mod", "download", "-json", f"{TOOLCHAIN_MODULE}@{chosen}"],
                work,
                "go mod download (Go)",
                env,
            )
        )
        home = Path(info["Dir"])
        for sub in ("bin", "pkg/tool"):
            for path in (home / sub).rglob("*"):
                if path.is_file():
                    path.chmod(path.stat().st_mode | 0o755)
        final = root / name
        shutil.rmtree(final, ignore_errors=True)
        home.rename(final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if _reported_version(str(final / "bin" / "go"), _toolchain_env(final)) != go_version(name):
        raise StackError(f"the Go fetched into {final} does not run as {name}")
    return final


def _toolchain_env(home: Path) -> dict[str, str]:
    """The environment a fetched toolchain runs in: its own GOROOT, never a switch to another."""
    return {**os.environ, "GOROOT": str(home), "GOTOOLCHAIN": "local"}


def _module_needs(gomod: str) -> tuple[int, int]:
    """The ``go 1.N`` line of the module's go.mod, as ``(1, N)``."""
    try:
        text = Path(gomod).read_text()
    except OSError as exc:
        raise StackError(f"cannot read FerretDB's go.mod ({exc})") from exc
    m = re.search(r"^go (\d+)\.(\d+)", text, re.M)
    if not m:
        raise StackError(f"{gomod} has no `go` line")
    return int(m.group(1)), int(m.group(2))


# --------------------------------------------------------------------------- build
def _run(cmd: list[str], cwd: Path | None, what: str, env: dict[str, str] | None = None) -> str:
    try:
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=BUILD_TIMEOUT, env=env)
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


def _writable(tree: Path) -> None:
    """Give the owner write permission on ``tree`` and everything under it (symbolic links aside)."""
    for path in (tree, *tree.rglob("*")):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)


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
    go, pin, started = _installed_go(echo), version(), time.monotonic()
    env: dict[str, str] | None = None
    info = json.loads(_run([go, "mod", "download", "-json", f"{MODULE}@{pin}"], None, "go mod download"))
    need = _module_needs(info["GoMod"])
    have = _reported_version(go)
    if have is None or have[:2] < need:  # Debian 12's go is 1.19: fetch the Go the module asks for
        home = _fetch_toolchain(settings, go, need, echo)
        go, env = str(home / "bin" / "go"), _toolchain_env(home)
    echo(f"ferretdb: building {MODULE}@{pin} with {go} (first time: a minute or two) ...")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ferretdb-build-", dir=target.parent))
    try:
        shutil.copytree(info["Dir"], work / "src")
        _writable(work / "src")  # the module cache is read-only, and so is the copy
        (work / "src" / "build" / "version" / "version.txt").write_text(pin + "\n")
        for patch in patches():
            _apply(patch, work / "src")
            echo(f"ferretdb: applied {patch.name}")
        out = work / NAME
        _run(
            [go, "build", "-trimpath", "-buildvcs=false", "-o", str(out), PACKAGE],
            work / "src",
            "go build",
            env,
        )
        reported = subprocess.run([str(out), "--version"], capture_output=True, text=True, timeout=60).stdout
        if f"version: {pin}" not in reported:
            raise StackError(f"the FerretDB just built says {reported.strip()!r}, not version {pin}")
        out.replace(target)
    finally:
        _writable(work)  # or a user who is not root could not delete the copy, nor the checkout
        shutil.rmtree(work, ignore_errors=True)
    echo(f"ferretdb: {pin} built in {time.monotonic() - started:.0f}s ({target})")
    return target
