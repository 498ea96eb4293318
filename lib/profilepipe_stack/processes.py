"""The processes of the local stack: start, recognise, stop; pid files; ports.

A server is *ours* when its pid file names a live process of its program whose command line
carries all its markers (:class:`Marks`, one per Service). A JVM server is a ``java`` process
with both ``-Dprofilepipe.service=<svc>`` and ``-Dprofilepipe.stack=<stack_dir>`` (exactly
these: ``stack down`` must recognise a stack started by an earlier version); FerretDB is a
``ferretdb`` process with ``--state-dir=<stack_dir>/data/ferretdb``.
A process with those markers but no pid file is an *orphan* of ours. Anything else on a
service's port is a stranger and never touched.

``psutil`` is imported where it is used, so the package loads without it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from profilepipe.config import Settings
from profilepipe.errors import StackError
from profilepipe_stack import layout

STOP_TIMEOUT = 30.0
_CHILDREN: dict[str, subprocess.Popen] = {}  # keeps Popen objects alive (no ResourceWarning)


# --------------------------------------------------------------------------- pid files and markers
@dataclass(frozen=True)
class Marks:
    """How a process of ours is recognised: its program's name starts with ``program`` and
    every one of ``args`` is an argument of its command line."""

    program: str
    args: tuple[str, ...]


def markers(settings: Settings, svc: str) -> tuple[str, str]:
    """The two JVM properties that make a JVM process ours."""
    return f"-Dprofilepipe.service={svc}", f"-Dprofilepipe.stack={layout.stack_dir(settings)}"


def read_pid(settings: Settings, svc: str) -> int | None:
    try:
        return int(layout.pid_path(settings, svc).read_text().strip())
    except (OSError, ValueError):
        return None


def clear_pid(settings: Settings, svc: str) -> None:
    layout.pid_path(settings, svc).unlink(missing_ok=True)


def is_ours(marks: Marks, proc) -> bool:
    """True if ``proc`` (psutil.Process) is a live process of ``marks.program`` with every marker."""
    import psutil

    try:
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return (
        bool(cmdline)
        and Path(cmdline[0]).name.startswith(marks.program)
        and all(m in cmdline for m in marks.args)
    )


def our_process(settings: Settings, svc: str, marks: Marks):
    """psutil.Process of our running ``svc`` from its pid file, else None."""
    import psutil

    pid = read_pid(settings, svc)
    if pid is None:
        return None
    try:
        proc = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None
    return proc if is_ours(marks, proc) else None


def orphans(settings: Settings, svc: str, marks: Marks) -> list:
    """Our processes of ``svc`` (exact markers incl. this stack dir) not in the pid file."""
    import psutil

    pid = read_pid(settings, svc)
    found = []
    for proc in psutil.process_iter(["pid", "name"]):
        if proc.pid != pid and (proc.info["name"] or "").startswith(marks.program) and is_ours(marks, proc):
            found.append(proc)
    return found


def is_running(proc) -> bool:
    """Whether a psutil.Process is alive (a zombie is not)."""
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# --------------------------------------------------------------------------- ports
def port_in_use(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise StackError(
                f"cannot bind {host}:{port} ({exc}): is {host} an address of this machine?"
            ) from exc
    return False


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- logs
def tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a file (read from its last 256 KiB), "" if unreadable."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 256 * 1024))
            data = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def failure(settings: Settings, svc: str, why: str) -> str:
    """An error message: what went wrong with ``svc``, then the end of its log."""
    log = layout.log_path(settings, svc)
    text = "\n".join(
        line if len(line) <= 400 else line[:400] + " [...]" for line in tail(log, 30).splitlines()
    )
    return f"{svc}: {why}\n--- last 30 lines of {log} ---\n{text}\n--- end of {log} ---\nFull log: {log}"


def rotate_log(settings: Settings, svc: str) -> Path:
    """Keep the previous run's log as ``<svc>.log.1``; returns the log's path."""
    path = layout.log_path(settings, svc)
    if path.exists() and path.stat().st_size:
        path.replace(path.with_suffix(".log.1"))
    return path


# --------------------------------------------------------------------------- start and stop
def spawn(settings: Settings, svc: str, cmd: list[str], log, env: dict[str, str]) -> subprocess.Popen:
    """Start ``cmd`` detached (own session), output to ``log``, in the service's data folder; pid file."""
    log.write("=== " + " ".join(cmd) + "\n")
    log.flush()
    proc = subprocess.Popen(
        cmd,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=str(layout.data_dir(settings, svc)),
        env=env,
        start_new_session=True,
        close_fds=True,
    )
    layout.pid_path(settings, svc).write_text(f"{proc.pid}\n")
    _CHILDREN[svc] = proc
    return proc


def exit_code(svc: str, pid: int) -> int | None:
    """The exit code of the child we started for ``svc`` as ``pid``, None if running or not ours."""
    popen = _CHILDREN.get(svc)
    return popen.poll() if popen is not None and popen.pid == pid else None


def reap(svc: str, pid: int) -> None:
    """Collect the exit status of our child ``pid`` of ``svc`` (no zombie left)."""
    popen = _CHILDREN.get(svc)
    if popen is not None and popen.pid == pid:
        popen.wait(timeout=5)
        del _CHILDREN[svc]


def send_term(procs: list) -> None:
    """SIGTERM each process (one already gone is skipped)."""
    import psutil

    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.send_signal(signal.SIGTERM)


def wait_or_kill(procs: list, timeout: float = STOP_TIMEOUT) -> list:
    """Wait up to ``timeout`` s for the processes to exit, SIGKILL the rest; returns those killed."""
    import psutil

    _gone, alive = psutil.wait_procs(procs, timeout=timeout)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    if alive:
        psutil.wait_procs(alive, timeout=10)
    return alive


def rss_mb(proc) -> float | None:
    """Resident memory of a process in MiB (None if it is gone)."""
    import psutil

    try:
        return round(proc.memory_info().rss / 2**20, 1)
    except psutil.NoSuchProcess:
        return None
