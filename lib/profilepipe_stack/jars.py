"""The jar folders of the local stack (and of Spark's Kafka connector), and the JVM servers' java.

The JDK 17 is the one THE JDK finder of the project finds (:func:`profilepipe.jdk.java_home`,
the same one Spark runs on). :func:`fetch_jars` resolves one folder per POM under
``stack/<group>/`` with Maven into ``<jars_dir>/<group>/`` (classpaths never mix) and
compiles the ``*.java`` launchers found beside a POM (the Mongo one) into
``<jars_dir>/<group>/launcher/``. A group with Java sources of its own under ``src/`` (the
Cassandra writer Spark runs, ``stack/cassandra-writer/``) is also built by Maven
(``package``, its build folder inside the temporary folder) and its jar lands beside its
dependencies. A folder is complete when its marker file holds the hash of its POM and
sources, so editing a POM or a source re-resolves it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from profilepipe.config import Settings, get_settings
from profilepipe.errors import StackError
from profilepipe.jdk import java_home
from profilepipe_stack import layout

JAR_GROUPS = ("kafka", "cassandra", "mongo", "spark", "cassandra-writer")
MARKER = ".profilepipe-complete"
LAUNCHER_DIR = "launcher"

Echo = Callable[[str], None]


# --------------------------------------------------------------------------- java
def java(settings: Settings) -> str:
    """The ``java`` executable of :func:`java_home`."""
    return str(java_home(settings) / "bin" / "java")


def java_env(settings: Settings) -> dict[str, str]:
    """The environment a server starts in: ``JAVA_HOME`` set, no inherited JVM options or classpath."""
    env = dict(os.environ, JAVA_HOME=str(java_home(settings)))
    for var in ("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH"):
        env.pop(var, None)
    return env


# --------------------------------------------------------------------------- jars
def folder(settings: Settings, group: str) -> Path:
    """``<jars_dir>/<group>/``: the jars of one server (or of Spark's Kafka connector)."""
    return layout.jars_dir(settings) / group


def _launchers(group: str) -> list[Path]:
    return sorted((layout.source_dir() / group).glob("*.java"))


def _built_sources(group: str) -> list[Path]:
    """Java sources the group's POM compiles itself (``src/main/java``; none for a server)."""
    return sorted((layout.source_dir() / group / "src").rglob("*.java"))


def _group_hash(group: str) -> str:
    src = layout.source_dir() / group
    digest = hashlib.sha256()
    for path in [src / "pom.xml", *_launchers(group), *_built_sources(group)]:
        if path.is_file():
            name = path.relative_to(src).as_posix()  # pom.xml, Launcher.java, src/main/java/...
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _group_complete(settings: Settings, group: str) -> bool:
    where = folder(settings, group)
    try:
        ok = (where / MARKER).read_text().strip() == _group_hash(group)
    except OSError:
        return False
    return ok and any(where.glob("*.jar"))


def jars_complete(settings: Settings, groups: Iterable[str] = JAR_GROUPS) -> bool:
    """Whether every jar folder is resolved for the current POMs."""
    return all(_group_complete(settings, g) for g in groups)


def _run_checked(cmd: list[str], env: dict[str, str], what: str, hint: str) -> None:
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    except OSError as exc:
        raise StackError(f"{what} could not run ({exc}). {hint}") from exc
    if out.returncode != 0:
        tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-30:])
        raise StackError(f"{what} failed (exit {out.returncode}):\n{tail}\n{hint}")


def _compile_launchers(group: str, home: Path, env: dict[str, str], into: Path) -> None:
    sources = _launchers(group)
    if not sources:
        return
    javac = home / "bin" / "javac"
    if not javac.is_file():
        raise StackError(
            f"javac not found in {home}: install the full JDK 17 (apt-get install openjdk-17-jdk-headless)."
        )
    cmd = [str(javac), "--release", "17", "-nowarn", "-cp", f"{into}/*", "-d", str(into / LAUNCHER_DIR)]
    _run_checked(cmd + [str(s) for s in sources], env, f"javac {' '.join(s.name for s in sources)}", "")


def fetch_jars(settings: Settings | None = None, echo: Echo = print) -> None:
    """Resolve the jar folders with Maven, build the Cassandra writer and compile the Mongo launcher.

    A folder is skipped when its marker file matches the hash of its POM (and launcher
    source), so editing a POM re-resolves it. Each folder is resolved into a temporary
    folder and swapped in whole: no half-filled or stale classpath.
    """
    settings = settings or get_settings()
    todo = [g for g in JAR_GROUPS if not _group_complete(settings, g)]
    if not todo:
        echo(f"jars: up to date in {layout.jars_dir(settings)}")
        return
    mvn = shutil.which("mvn")
    if not mvn:
        raise StackError(
            "Maven (mvn) not found on PATH: install Maven (apt-get install maven), "
            "then run `profilepipe stack fetch`."
        )
    home = java_home(settings)
    env = dict(os.environ, JAVA_HOME=str(home))
    layout.jars_dir(settings).mkdir(parents=True, exist_ok=True)
    first = time.monotonic()
    for group in todo:
        started = time.monotonic()
        echo(f"jars: resolving {group} with Maven ...")
        pom = layout.source_dir() / group / "pom.xml"
        final = folder(settings, group)
        tmp = final.with_name(f".{group}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        build = tmp / ".build"  # a group with sources of its own: Maven's build folder, never the checkout
        goals = ["package", f"-Dprofilepipe.build.dir={build}"] if _built_sources(group) else []
        _run_checked(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(pom),
                *goals,
                "dependency:copy-dependencies",
                f"-DoutputDirectory={tmp}",
            ],
            env,
            f"mvn for {group}",
            "Check network access to Maven Central (or your settings.xml mirror).",
        )
        for built in build.glob("*.jar"):
            built.rename(tmp / built.name)
        shutil.rmtree(build, ignore_errors=True)
        _compile_launchers(group, home, env, tmp)
        (tmp / MARKER).write_text(_group_hash(group) + "\n")
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        count = len(list(final.glob("*.jar")))
        echo(f"jars: {group} ok ({count} jars, {time.monotonic() - started:.1f}s)")
    echo(
        f"jars: {len(todo)} folders resolved in {time.monotonic() - first:.0f}s ({layout.jars_dir(settings)})"
    )
