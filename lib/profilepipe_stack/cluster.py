"""A Spark standalone cluster on 127.0.0.1: one master and ``spark_workers`` workers.

``profilepipe cluster up`` starts them from the pyspark package's own ``bin/spark-class``
(``org.apache.spark.deploy.master.Master`` and ``org.apache.spark.deploy.worker.Worker``),
on the JDK 17 of :func:`profilepipe.jdk.java_home`; the stream then runs there
with ``PROFILEPIPE_SPARK_MASTER=spark://127.0.0.1:<spark_master_port>``.

* master    ``spark-master``, ``--port spark_master_port --webui-port spark_master_webui_port``
* worker i  ``spark-worker-<i>``, ``--cores spark_worker_cores --memory spark_worker_memory``,
  web UI on ``spark_master_webui_port + i``, its executors' folders under
  ``<stack_dir>/data/spark-worker-<i>/work/`` (where the executors receive the package)

Each JVM is *ours* like a stack server (:mod:`profilepipe_stack.processes`): a pid file
and the ``-Dprofilepipe.service/-Dprofilepipe.stack`` markers, passed to the JVM through
``SPARK_DAEMON_JAVA_OPTS``; logs in ``<stack_dir>/logs/<name>.log``. A worker is healthy
when the master's ``/json/`` lists it ALIVE. ``down`` stops only our processes (a worker's
executors exit with it).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from profilepipe.config import Settings, get_settings
from profilepipe.errors import StackError
from profilepipe.jdk import java_home
from profilepipe_stack import layout, processes
from profilepipe_stack.services import ServiceStatus

HOST = "127.0.0.1"
MASTER = "spark-master"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"

Echo = Callable[[str], None]


# --------------------------------------------------------------------------- names and commands
def marks(settings: Settings, name: str) -> processes.Marks:
    """A ``java`` process with our two markers (``SPARK_DAEMON_JAVA_OPTS`` puts them on its command line)."""
    return processes.Marks("java", processes.markers(settings, name))


def master_url(settings: Settings) -> str:
    """``spark://127.0.0.1:<spark_master_port>``: the PROFILEPIPE_SPARK_MASTER of this cluster."""
    return f"spark://{HOST}:{settings.spark_master_port}"


def worker_names(settings: Settings) -> list[str]:
    return [f"spark-worker-{i}" for i in range(1, settings.spark_workers + 1)]


def names(settings: Settings) -> list[str]:
    return [MASTER, *worker_names(settings)]


def spark_home() -> Path:
    """The pyspark package: its ``bin/spark-class`` and ``jars/`` are a Spark distribution."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def work_dir(settings: Settings, worker: str) -> Path:
    """Where ``worker`` keeps its executors' folders (``<app-id>/<executor-id>/``)."""
    return layout.data_dir(settings, worker) / "work"


def webui_port(settings: Settings, name: str) -> int:
    if name == MASTER:
        return settings.spark_master_webui_port
    return settings.spark_master_webui_port + int(name.rsplit("-", 1)[1])


def command(settings: Settings, name: str) -> list[str]:
    """The command line of the master or of one worker."""
    spark_class = str(spark_home() / "bin" / "spark-class")
    ui = ["--webui-port", str(webui_port(settings, name))]
    if name == MASTER:
        return [spark_class, MASTER_CLASS, "--host", HOST, "--port", str(settings.spark_master_port), *ui]
    return [
        spark_class,
        WORKER_CLASS,
        "--host",
        HOST,
        "--cores",
        str(settings.spark_worker_cores),
        "--memory",
        settings.spark_worker_memory,
        "--work-dir",
        str(work_dir(settings, name)),
        *ui,
        master_url(settings),
    ]


def environment(settings: Settings, name: str) -> dict[str, str]:
    """The process environment: JDK 17, SPARK_HOME, 127.0.0.1 and our two markers."""
    home = spark_home()
    env = dict(os.environ)
    env.update(
        JAVA_HOME=str(java_home(settings)),
        SPARK_HOME=str(home),
        SPARK_LOCAL_IP=HOST,
        SPARK_DAEMON_JAVA_OPTS=" ".join(processes.markers(settings, name)),
        SPARK_LOG_DIR=str(layout.log_dir(settings)),
        SPARK_NO_DAEMONIZE="1",
    )
    return env


# --------------------------------------------------------------------------- health
def master_state(settings: Settings, timeout: float = 3.0) -> dict | None:
    """The master's ``/json/`` (status, alive workers), None if it does not answer."""
    url = f"http://{HOST}:{settings.spark_master_webui_port}/json/"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))
    except (OSError, ValueError):
        return None


def check(settings: Settings, name: str, state: dict | None) -> tuple[bool, str]:
    """(healthy, detail) of the master or a worker, from the master's ``/json/``."""
    if state is None:
        return False, "master does not answer"
    if name == MASTER:
        alive = [w for w in state.get("workers", []) if w.get("state") == "ALIVE"]
        return state.get("status") == "ALIVE", f"Spark {state.get('url')}, {len(alive)} worker(s) alive"
    ui = f"{HOST}:{webui_port(settings, name)}"
    for w in state.get("workers", []):
        if w.get("state") == "ALIVE" and w.get("webuiaddress", "").endswith(ui):
            return True, f"{w.get('cores')} core(s), {w.get('memory')} MB, {w.get('id')}"
    return False, "not registered with the master"


def status(settings: Settings | None = None) -> dict[str, ServiceStatus]:
    """Health of the master and of each worker (ours, or external when only the port answers)."""
    settings = settings or get_settings()
    state = master_state(settings)
    out = {}
    for name in names(settings):
        proc = processes.our_process(settings, name, marks(settings, name))
        healthy, detail = check(settings, name, state)
        if healthy and proc is None:
            detail += " (external)"
        elif not healthy and proc is None:
            detail = "not running"
        address = f"{HOST}:{settings.spark_master_port if name == MASTER else webui_port(settings, name)}"
        out[name] = ServiceStatus(name, proc.pid if proc else None, healthy, detail, address)
    return out


# --------------------------------------------------------------------------- up and down
def start_one(settings: Settings, name: str) -> None:
    """Spawn the master or one worker unless ours is running (no wait)."""
    if processes.our_process(settings, name, marks(settings, name)) is not None:
        return
    if name == MASTER:
        for port in (settings.spark_master_port, settings.spark_master_webui_port):
            if processes.port_in_use(HOST, port):
                raise StackError(f"{MASTER}: {HOST}:{port} is in use by another process")
    layout.make_dirs(settings, name)
    work_dir(settings, name).mkdir(parents=True, exist_ok=True)
    with open(processes.rotate_log(settings, name), "a") as log:
        processes.spawn(settings, name, command(settings, name), log, environment(settings, name))


def wait_healthy(settings: Settings, wanted: list[str], timeout: float) -> None:
    """Until every name in ``wanted`` is healthy; StackError with its log if one exits or hangs."""
    deadline = time.monotonic() + timeout
    while True:
        state = master_state(settings)
        missing = [n for n in wanted if not check(settings, n, state)[0]]
        if not missing:
            return
        for name in missing:
            pid = processes.read_pid(settings, name)
            code = processes.exit_code(name, pid) if pid else None
            if code is not None:
                raise StackError(processes.failure(settings, name, f"exited with code {code}"))
        if time.monotonic() > deadline:
            raise StackError(processes.failure(settings, missing[0], f"not healthy after {timeout:.0f}s"))
        time.sleep(0.5)


def up(settings: Settings | None = None, echo: Echo = print) -> str:
    """Start the master, then the workers; wait until all are registered. Returns the master URL.

    Idempotent: running processes of ours are kept; a missing worker (e.g. killed) is started
    again.
    """
    settings = settings or get_settings()
    t0 = time.monotonic()
    start_one(settings, MASTER)
    wait_healthy(settings, [MASTER], settings.stack_timeout)
    for name in worker_names(settings):
        start_one(settings, name)
    wait_healthy(settings, names(settings), settings.stack_timeout)
    url = master_url(settings)
    echo(
        f"Spark cluster up in {time.monotonic() - t0:.1f}s: {url}, {settings.spark_workers} worker(s) x "
        f"{settings.spark_worker_cores} core(s); use PROFILEPIPE_SPARK_MASTER={url}"
    )
    return url


def stop(settings: Settings, wanted: list[str]) -> list[str]:
    """SIGTERM our processes among ``wanted`` (and orphans), SIGKILL after 30 s; returns those stopped."""
    procs, stopped = [], []
    for name in wanted:
        found = [p for p in [processes.our_process(settings, name, marks(settings, name))] if p is not None]
        found += processes.orphans(settings, name, marks(settings, name))
        if found:
            stopped.append(name)
        procs += found
    processes.send_term(procs)
    processes.wait_or_kill(procs)
    for name in wanted:
        pid = processes.read_pid(settings, name)
        if pid is not None and processes.exit_code(name, pid) is not None:
            processes.reap(name, pid)
        processes.clear_pid(settings, name)
    return stopped


def down(settings: Settings | None = None, echo: Echo = print) -> None:
    """Stop the workers, then the master (only processes of ours)."""
    settings = settings or get_settings()
    stopped = stop(settings, worker_names(settings)) + stop(settings, [MASTER])
    echo(f"Spark cluster stopped ({', '.join(stopped)})" if stopped else "Spark cluster: nothing of ours ran")
