"""The local stack without Docker: Kafka (KRaft), Cassandra 5.0 and a MongoDB-compatible server.

Kafka, Cassandra and mongo-java-server run from jars that Maven resolves into
``<jars_dir>/<server>/`` (one POM and one folder per server under ``stack/``, so classpaths
never mix), on a JDK 17; FerretDB (``PROFILEPIPE_MONGO_SERVER=ferretdb``) from a binary built
from its Go module into ``<ferretdb_dir>/<version>/``. Each runs as a detached background process:

* log   ``<stack_dir>/logs/<svc>.log`` (the previous run's log is kept as ``<svc>.log.1``)
* pid   ``<stack_dir>/run/<svc>.pid``
* data  ``<stack_dir>/data/<svc>/``
* conf  ``<stack_dir>/conf/`` (generated from ``Settings`` and the templates in
  ``stack/<server>/`` at every start)

Every host, port, heap and folder comes from :class:`profilepipe.config.Settings`.
Health is a real protocol exchange (Kafka ApiVersions + metadata, CQL query, Mongo ping),
made with the pipeline's own connection options (credentials, TLS).
Services found healthy on their port without a pid file of ours (e.g. started by docker
compose) are reported and used as ``external`` and never stopped.

This module is the facade the rest of the code uses (``profilepipe stack ...``,
``reset``, ``lab``, ``bench``, notebook 00, the tests): :func:`fetch`, :func:`fetch_jars`,
:func:`java_home`, :func:`up`, :func:`down`, :func:`status`, :func:`logs`, :func:`rss_mb`,
:func:`ensure_topics`, :func:`ensure_schema`, :class:`ServiceStatus`, :class:`StackError`.
The service names are the roles ``kafka``, ``cassandra``, ``mongo``; "mongo" acts on the
MongoDB-compatible server of ours that runs, else on the one ``PROFILEPIPE_MONGO_SERVER`` chooses.
The parts behind it:

* :mod:`~profilepipe_stack.services`   one ``Service`` per server (ports, command line,
  config templates, health check, jar folder), which one serves each role, and the nodes of
  the replicated topology (``PROFILEPIPE_TOPOLOGY``: docs/topology.md)
* :mod:`~profilepipe_stack.ferretdb`   FerretDB's version pin, build and command line
* :mod:`~profilepipe_stack.lifecycle`  ``up`` and ``down``
* :mod:`~profilepipe_stack.processes`  pid files, our processes by their markers, ports
* :mod:`~profilepipe_stack.jars`       Maven's jar folders (the JDK 17 finder: :mod:`profilepipe.jdk`)
* :mod:`~profilepipe_stack.templates`  rendering ``stack/`` templates from Settings
* :mod:`~profilepipe_stack.clients`    the stack's clients, from ``connections``
* :mod:`~profilepipe_stack.provision`  topics and schema
* :mod:`~profilepipe_stack.layout`     where files go; :class:`StackError`
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from profilepipe.config import Settings, get_settings
from profilepipe.errors import StackError
from profilepipe.jdk import java_home
from profilepipe_stack import ferretdb, layout, lifecycle, processes, services
from profilepipe_stack.jars import JAR_GROUPS, fetch_jars, jars_complete
from profilepipe_stack.layout import log_dir
from profilepipe_stack.provision import TOPIC_MAX_MESSAGE_BYTES, ensure_schema, ensure_topics
from profilepipe_stack.services import ServiceStatus

#: The servers' names, in the order `status` lists them.
SERVICES: tuple[str, ...] = tuple(services.SERVICES)

__all__ = [
    "JAR_GROUPS",
    "SERVICES",
    "TOPIC_MAX_MESSAGE_BYTES",
    "ServiceStatus",
    "StackError",
    "check",
    "down",
    "ensure_schema",
    "ensure_topics",
    "fetch",
    "fetch_jars",
    "jars_complete",
    "java_home",
    "kill",
    "nodes",
    "process",
    "log_dir",
    "logs",
    "rss_mb",
    "status",
    "up",
]


def fetch_ferretdb(settings: Settings | None = None, echo=print) -> None:
    """FerretDB built (Go), cached; without Go a note while mongo-java-server is the chosen
    server, and a :class:`StackError` naming what to install when FerretDB is."""
    settings = settings or get_settings()
    try:
        ferretdb.build(settings, echo=echo)
    except StackError as exc:
        if services.serving(settings, "mongo") is services.FERRETDB:
            raise
        echo(f"ferretdb: not built, mongo-java-server serves mongo ({exc})")


FETCH_STEPS = ("jars", "ferretdb")  # independent: run side by side


def fetch_step(name: str):
    """The function of one of :data:`FETCH_STEPS` (``fetch_jars`` or ``fetch_ferretdb``)."""
    return {"jars": fetch_jars, "ferretdb": fetch_ferretdb}[name]


def fetch(settings: Settings | None = None, echo=print) -> None:
    """The set-up's build step: the jar folders (Maven) and FerretDB (Go) side by side, each cached.

    Both are waited for; the first error (jars first) is raised. ``scripts/setup.sh`` runs
    the two as separate processes (``python -m profilepipe_stack.fetch``) beside pip.
    """
    settings = settings or get_settings()
    with ThreadPoolExecutor(max_workers=len(FETCH_STEPS)) as pool:
        futures = [pool.submit(fetch_step(name), settings, echo=echo) for name in FETCH_STEPS]
    for future in futures:
        future.result()


def up(settings: Settings | None = None, services: Iterable[str] | str | None = None, echo=print) -> None:
    """Start the stack (:func:`lifecycle.up`); the whole replicated topology also starts the
    Spark standalone cluster its stream runs on (``profilepipe cluster up``)."""
    from profilepipe_stack import cluster

    settings = settings or get_settings()
    lifecycle.up(settings, services=services, echo=echo)
    if settings.topology == "replicated" and services is None:
        cluster.up(settings, echo=echo)


def down(settings: Settings | None = None, services: Iterable[str] | str | None = None, echo=print) -> None:
    """Stop what this stack started (:func:`lifecycle.down`); stopping everything also stops
    the Spark standalone cluster when one of ours runs."""
    from profilepipe_stack import cluster

    settings = settings or get_settings()
    lifecycle.down(settings, services=services, echo=echo)
    names = cluster.names(settings)
    if services is None and any(
        processes.our_process(settings, n, cluster.marks(settings, n)) for n in names
    ):
        cluster.down(settings, echo=echo)


def nodes(settings: Settings, role: str) -> list[str]:
    """The servers of ``role`` in the settings' topology: ``["kafka"]``, or ``["kafka-1", ...]``."""
    return [svc.name for svc in services.chosen(role, settings)]


def process(settings: Settings, name: str):
    """psutil.Process of our running server or node ``name`` (``kafka``, ``cassandra-2``), else None."""
    return services.chosen(name, settings)[0].process(settings)


def kill(settings: Settings, name: str) -> int:
    """SIGKILL our server or node ``name`` (a crash: no shutdown of any kind); returns its pid."""
    svc = services.chosen(name, settings)[0]
    proc = svc.process(settings)
    if proc is None:
        raise StackError(f"{name}: not running as ours, nothing to kill")
    processes.wait_or_kill([proc], timeout=0)
    processes.reap(svc.name, proc.pid)
    processes.clear_pid(settings, svc.name)
    return proc.pid


def check(settings: Settings, svc: str, timeout: float = 3.0) -> tuple[bool, str]:
    """(healthy, detail) of one service or node, by a real protocol exchange."""
    return services.chosen(svc, settings)[0].check(settings, timeout)


def _detail(settings: Settings, svc: services.Service, ours: bool, healthy: bool, detail: str) -> str:
    """The status line's detail; with several servers for a role, which one it is."""
    several = not svc.node and len(services.alternatives(svc.role)) > 1
    if healthy and not ours:
        return f"{detail} (external)"
    if not healthy:
        detail = f"starting or unhealthy: {detail}" if ours else "not running"
        return f"{detail} ({svc.label} chosen)" if several and not ours else detail
    return f"{svc.label}: {detail}" if several else detail


def status(settings: Settings | None = None) -> dict[str, ServiceStatus]:
    """Health of every service, whether started by this stack (pid) or elsewhere (external);
    those of the other topology instead when that one runs (``services.acting``)."""
    settings = services.acting(settings or get_settings())
    out = {}
    for svc in services.chosen(None, settings):
        proc = svc.process(settings)
        healthy, detail = svc.check(settings, 3.0)
        address = ":".join(map(str, svc.address(settings)))
        detail = _detail(settings, svc, proc is not None, healthy, detail)
        pid = proc.pid if proc is not None else None
        out[svc.ident] = ServiceStatus(svc.ident, pid, healthy, detail, address)
    return out


def logs(settings: Settings | None, service: str, lines: int = 50) -> str:
    """The last ``lines`` lines of a service's log (of the server that serves it)."""
    settings = settings or get_settings()
    name = services.chosen(service, settings)[0].name
    path = layout.log_path(settings, name)
    if not path.is_file():
        return f"(no log yet: {path})"
    return processes.tail(path, lines)


def rss_mb(settings: Settings | None = None) -> dict[str, float]:
    """Resident memory (MiB) of each running server of ours, by service name."""
    settings = settings or get_settings()
    out = {}
    for svc in services.chosen(None, settings):
        proc = svc.process(settings)
        mb = processes.rss_mb(proc) if proc is not None else None
        if mb is not None:
            out[svc.ident] = mb
    return out
