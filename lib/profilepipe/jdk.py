"""The JDK 17 of the project: one finder for Spark and the local stack.

:func:`java_home` is THE JDK finder: ``pipeline.spark`` points Spark at it and the local stack
(``profilepipe_stack``) starts its servers with it. It lives here, below both, so that the
pipeline never imports the stack to find a JDK. Standard library only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from profilepipe.config import Settings, get_settings
from profilepipe.errors import StackError


def java_major(home: Path | str) -> int | None:
    """Major version of the JDK at ``home`` (None if it is not a JDK)."""
    home = Path(home)
    java = home / "bin" / "java"
    if not java.is_file():
        return None
    release = home / "release"
    if release.is_file():
        m = re.search(r'^JAVA_VERSION="(\d+)', release.read_text(errors="replace"), re.M)
        if m:
            return int(m.group(1))
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def _candidates() -> list[Path]:
    """Where a JDK may be: ``$JAVA_HOME``, ``/usr/lib/jvm/*`` (17 first), ``java`` on PATH."""
    candidates: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        # real folders before their aliases (java-1.17.0-openjdk-amd64 -> java-17-openjdk-amd64)
        entries = sorted((p for p in jvm.iterdir() if p.is_dir()), key=lambda p: (p.is_symlink(), p.name))
        candidates += [p for p in entries if "17" in p.name] + [p for p in entries if "17" not in p.name]
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path).resolve().parent.parent)
    return candidates


def java_home(settings: Settings | None = None) -> Path:
    """The JDK 17 the stack (and Spark) runs on.

    ``Settings.java_home`` if set (it must be a JDK 17), else ``$JAVA_HOME`` if it is 17,
    else ``/usr/lib/jvm/*17*`` (then any other JDK 17 there), else ``java`` on ``PATH`` if
    it is 17. Never a newer JDK: Cassandra 5.0 does not run on it.
    """
    settings = settings or get_settings()
    if settings.java_home:
        home = Path(settings.java_home).expanduser()
        major = java_major(home)
        if major != 17:
            found = "no bin/java there" if major is None else f"it is Java {major}"
            raise StackError(
                f"{Settings.env_name('java_home')}={settings.java_home} is not a JDK 17 ({found}). "
                "Point it at a JDK 17 home, or unset it to auto-detect."
            )
        return home
    seen = set()
    for home in _candidates():
        key = home.resolve() if home.exists() else home
        if key in seen:
            continue
        seen.add(key)
        if java_major(home) == 17:
            return home
    raise StackError(
        "No JDK 17 found (looked at $JAVA_HOME, /usr/lib/jvm/*, java on PATH). Kafka 4 and "
        "Cassandra 5.0 need exactly Java 17: install it (apt-get install openjdk-17-jdk-headless) "
        f"or set {Settings.env_name('java_home')}=/path/to/jdk-17."
    )
