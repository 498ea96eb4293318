"""Where the cores and the memory go: CPU seconds and peak resident memory per process.

A ``Meter`` samples, every ``interval`` seconds while a run lasts, the processes of the
benchmark by role: this Python process (the Spark driver's Python side), Spark's JVM (a
``java`` child of it), the Python workers (``python`` descendants: PySpark's daemon and the
workers it forks), each server of the stack (``kafka``, ``cassandra``, ``mongo``; the three
nodes of a replicated role count as that role) and the Spark standalone cluster's daemons
when ours run (``spark cluster``). ``peak_each`` keeps the peak of each process apart (a
node by its name: ``kafka-2``), which the topology comparison reports.

CPU seconds of a run: for each process, its CPU time (user + system) at the last sample
minus that at the first (0 for a process that started during the run), summed by role. A
Python worker that ends between two samples loses at most ``interval`` seconds of its CPU
time; PySpark reuses its workers (``spark.python.worker.reuse``), so that is rare.
"""

from __future__ import annotations

import threading
import time

from profilepipe.config import Settings
from profilepipe_stack import services

#: The roles of ``Meter``, in the order the tables list them.
ROLES = ("spark JVM", "python workers", "driver python", "kafka", "cassandra", "mongo")


def _children(proc) -> list:
    try:
        return proc.children(recursive=True)
    except Exception:  # psutil.NoSuchProcess: it ended
        return []


def _name(proc) -> str:
    try:
        return proc.name()
    except Exception:  # it ended between listing and reading
        return ""


def _cpu(proc) -> float:
    t = proc.cpu_times()
    return t.user + t.system


class Meter:
    """CPU seconds and peak RSS (MiB) by role (``ROLES``) over a ``with`` block."""

    def __init__(self, settings: Settings, interval: float = 0.5):
        self.settings, self.interval = settings, interval
        self.first: dict[int, float] = {}  # pid -> CPU seconds when first seen
        self.last: dict[int, tuple[str, float]] = {}  # pid -> (role, CPU seconds at the last sample)
        self.peak: dict[str, float] = {}
        self.peak_each: dict[str, float] = {}  # peak RSS MiB by process (a node by its name)
        self.started = self.wall = 0.0  # monotonic start, seconds the block lasted
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._servers = self._server_processes()

    def _server_processes(self) -> list[tuple[str, str, object]]:
        """(role, name, psutil.Process) of every server of ours and of the Spark cluster's daemons."""
        from profilepipe_stack import cluster, processes

        out = []
        for svc in services.chosen(None, self.settings):
            proc = svc.process(self.settings)
            if proc is not None:
                out.append((svc.role, svc.ident, proc))
        for name in cluster.names(self.settings):
            proc = processes.our_process(self.settings, name, cluster.marks(self.settings, name))
            if proc is not None:
                out.append(("spark cluster", name, proc))
        return out

    def __enter__(self) -> Meter:
        self.started = time.monotonic()
        self._sample(start=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.wall = time.monotonic() - self.started

    def processes(self) -> list[tuple[str, str, object]]:
        """(role, name, psutil.Process) of every process measured now (name: the role, or a
        server's own name).

        Python processes under Spark's JVM are its workers; other children of this process
        (the producer's encoding helper) count as the driver's Python.
        """
        import psutil

        me = psutil.Process()
        servers = {proc.pid for _, _, proc in self._servers}  # a server this process started is no child
        children = [c for c in _children(me) if c.pid not in servers]
        jvms = [c for c in children if "java" in _name(c)]
        workers = [w for jvm in jvms for w in _children(jvm)]
        under_jvm = {w.pid for w in workers}
        helpers = [c for c in children if c.pid not in under_jvm and "python" in _name(c)]
        ours = [
            ("driver python", me),
            *(("spark JVM", c) for c in jvms),
            *(("python workers", w) for w in workers),
            *(("driver python", c) for c in helpers),
        ]
        return [(role, role, proc) for role, proc in ours] + self._servers

    def _sample(self, start: bool = False) -> None:
        rss: dict[str, float] = {}
        each: dict[str, float] = {}
        for role, name, proc in self.processes():
            try:
                cpu, mem = _cpu(proc), proc.memory_info().rss / 2**20
            except Exception:  # ended between listing and reading
                continue
            self.first.setdefault(proc.pid, cpu if start else 0.0)
            self.last[proc.pid] = (role, cpu)
            rss[role] = rss.get(role, 0.0) + mem
            each[name] = each.get(name, 0.0) + mem
        for role, mb in rss.items():
            self.peak[role] = max(self.peak.get(role, 0.0), mb)
        for name, mb in each.items():
            self.peak_each[name] = max(self.peak_each.get(name, 0.0), mb)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._sample()
            except Exception:  # never let one bad sample end the measurement
                continue

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds by role over the block."""
        out = dict.fromkeys(ROLES, 0.0)
        for pid, (role, cpu) in self.last.items():
            out[role] = out.get(role, 0.0) + max(0.0, cpu - self.first.get(pid, 0.0))
        return out
