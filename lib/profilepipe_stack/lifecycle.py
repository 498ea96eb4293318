"""Starting and stopping the local stack: :func:`up` and :func:`down`.

``up`` runs in four steps, each a function below: decide per service (reuse ours, use an
external server found healthy on its port, or start; every port is checked before anything
starts; servers of ours of the other topology refuse the start), start what needs starting
(all in parallel, Cassandra first), wait until every service answers its health check and a
node has joined the other two (progress every few seconds), then create the topics and the
schema. ``down`` stops only processes of ours (see :mod:`profilepipe_stack.processes`),
of whichever topology runs when no service is named: SIGTERM to all at once, up to 30 s,
then SIGKILL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from profilepipe.config import Settings, get_settings
from profilepipe.errors import StackError
from profilepipe_stack import layout, processes, provision
from profilepipe_stack.services import (
    ALTERNATIVES,
    NODES,
    START_ORDER,
    Service,
    acting,
    chosen,
    running_topology,
    serving,
)

Echo = Callable[[str], None]
PROGRESS_EVERY = 5.0


# --------------------------------------------------------------------------- up
def up(
    settings: Settings | None = None, services: Iterable[str] | str | None = None, echo: Echo = print
) -> None:
    """Start the stack (or some services), wait until healthy, create topics and schema.

    Idempotent: a service already running from this stack dir is reused, one found healthy
    on its port without our pid file is used as external. Raises :class:`StackError` with
    what to do when something is in the way.
    """
    settings = settings or get_settings()
    picked = chosen(services, settings)
    _refuse_the_other_topology(settings, picked)
    t0 = time.monotonic()
    for launcher in dict.fromkeys(svc.launcher for svc in picked):  # jars, the FerretDB binary
        if not launcher.ready(settings):
            launcher.build(settings, echo)
    plan = {svc.name: _decide(settings, svc, echo) for svc in picked}
    procs, started = _start(settings, picked, plan, echo)
    _wait_healthy(settings, procs, started, plan, echo)
    _provision(settings, {svc.role for svc in picked}, echo)
    echo(f"stack: up in {time.monotonic() - t0:.1f}s")


def _refuse_the_other_topology(settings: Settings, picked: list[Service]) -> None:
    """Servers of ours of the other topology hold these ports (and another Kafka cluster): say so."""
    running = running_topology(settings)
    if running in (None, settings.topology) or not {svc.role for svc in picked} & set(NODES):
        return
    clash = [svc.ident for svc in chosen(list(NODES), settings.in_topology(running)) if svc.process(settings)]
    raise StackError(
        f"the {running} topology of this stack runs ({', '.join(clash)}): stop it first "
        f"(`profilepipe stack down`), or set {Settings.env_name('topology')}={running}"
    )


def _decide(settings: Settings, svc: Service, echo: Echo) -> str:
    """ "ours" (running from this stack dir), "external" (healthy, not ours) or "start"."""
    if svc.process(settings) is not None:
        wanted = serving(settings, svc.role)
        # the setting changed while the other server of ours runs
        if svc.role in ALTERNATIVES and wanted is not svc:
            echo(
                f"{svc.ident}: our {svc.label} is running, not {wanted.label} "
                f"({Settings.env_name(ALTERNATIVES[svc.role][0])}); to switch: "
                f"`profilepipe stack down {svc.role}`, then `profilepipe stack up`"
            )
        return "ours"
    processes.clear_pid(settings, svc.name)
    busy = [(h, p) for h, p in svc.ports(settings) if processes.port_in_use(h, p)]
    if not busy:
        return "start"
    healthy, detail = svc.check(settings, 3.0)
    if healthy:
        echo(
            f"{svc.ident}: external server on {':'.join(map(str, svc.address(settings)))} "
            f"is healthy ({detail}); using it, not starting ours"
        )
        return "external"
    orphans = svc.orphans(settings)
    hint = (
        f" It is one of ours without a pid file (pid {', '.join(str(o.pid) for o in orphans)}): "
        "run `profilepipe stack down` first."
        if orphans
        else ""
    )
    host, port = busy[0]
    raise StackError(
        f"{svc.ident}: port {host}:{port} is already in use by a process that is not this stack's "
        f"{svc.name}.{hint} Find it with: ss -ltnp 'sport = :{port}'  — stop it, or move this stack "
        f"to free ports ({svc.port_variables()})."
    )


def _start(
    settings: Settings, picked: list[Service], plan: dict[str, str], echo: Echo
) -> tuple[dict[str, tuple[Service, object]], dict[str, float]]:
    """Start every service planned "start" (or "ours" that died since); returns processes and times."""
    import psutil

    procs: dict[str, tuple[Service, object]] = {}
    started: dict[str, float] = {}
    for svc in sorted(picked, key=lambda s: START_ORDER.index(s.role)):
        if plan[svc.name] == "ours":
            proc = svc.process(settings)
            if proc is None:  # it died since it was planned
                plan[svc.name] = "start"
            else:
                procs[svc.name], started[svc.name] = (svc, proc), time.monotonic()
        if plan[svc.name] == "start":
            popen = _spawn(settings, svc)
            procs[svc.name], started[svc.name] = (svc, psutil.Process(popen.pid)), time.monotonic()
            echo(f"{svc.ident}: started (pid {popen.pid}, log {layout.log_path(settings, svc.name)})")
    return procs, started


def _spawn(settings: Settings, svc: Service):
    """Folders, configs, the log (previous one kept), the prepare step, then the server itself."""
    layout.make_dirs(settings, svc.name)
    log_path = processes.rotate_log(settings, svc.name)
    svc.write_configs(settings)
    env = svc.launcher.env(settings)
    with open(log_path, "a", buffering=1) as log:
        log.write(f"=== profilepipe stack: starting {svc.name} at {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        if svc.prepare is not None:
            svc.prepare(settings, log)
        return processes.spawn(settings, svc.name, svc.command(settings), log, env)


def _wait_healthy(
    settings: Settings,
    procs: dict[str, tuple[Service, object]],
    started: dict[str, float],
    plan: dict[str, str],
    echo: Echo,
) -> None:
    """Poll every started or reused service until healthy, exited or timed out (all reported)."""
    pending = dict(procs)
    last_report = dict(started)
    errors: list[str] = []
    first_round = True
    while pending:
        for name, (svc, proc) in list(pending.items()):
            outcome = _poll_once(settings, svc, proc, started[name], plan[name] == "ours" and first_round)
            now = time.monotonic()
            if outcome is None:
                if now - last_report[name] >= PROGRESS_EVERY:
                    host, port = svc.address(settings)
                    echo(f"{svc.ident}: waiting for {svc.what} on {host}:{port} ({now - started[name]:.0f}s)")
                    last_report[name] = now
                continue
            ok, line = outcome
            (echo if ok else errors.append)(line)
            del pending[name]
        first_round = False
        if pending:
            time.sleep(1.0)
    if errors:
        raise StackError("\n\n".join(errors))


def _poll_once(settings: Settings, svc: Service, proc, since: float, reused: bool) -> tuple[bool, str] | None:
    """(True, ok line), (False, error message), or None while the service is still starting."""
    code = processes.exit_code(svc.name, proc.pid)
    if code is not None or not processes.is_running(proc):
        processes.clear_pid(settings, svc.name)
        how = f" with exit code {code}" if code is not None else ""
        return False, processes.failure(settings, svc.name, f"the process exited during start{how}.")
    healthy, detail = svc.check(settings, 3.0)
    if healthy and svc.settled is not None:  # a node: it has joined the other two as well
        healthy, joined = svc.settled(settings, 3.0)
        detail = f"{detail}, {joined}" if joined else detail
    elapsed = time.monotonic() - since
    if healthy:
        if reused:
            return True, f"{svc.ident}: already running (pid {proc.pid}), {detail}"
        return True, f"{svc.ident}: ok ({detail}, {elapsed:.1f}s)"
    if elapsed > settings.stack_timeout:
        return False, processes.failure(
            settings,
            svc.name,
            f"not healthy after {settings.stack_timeout:.0f}s ({detail}). "
            f"It is still running as pid {proc.pid}: inspect the log, then "
            f"`profilepipe stack down`; raise {Settings.env_name('stack_timeout')} on a slow machine.",
        )
    return None


def _provision(settings: Settings, names: set[str], echo: Echo) -> None:
    """Topics (with Kafka) and schema (with Cassandra), idempotent."""
    if "kafka" in names:
        counts = provision.ensure_topics(settings)
        echo("kafka: topics " + ", ".join(f"{t} ({n} partitions)" for t, n in counts.items()))
        if counts.get(settings.kafka_topic) != settings.kafka_partitions:
            echo(
                f"kafka: note: {settings.kafka_topic} has {counts.get(settings.kafka_topic)} partitions, "
                f"{Settings.env_name('kafka_partitions')}={settings.kafka_partitions}; existing topics "
                "are not altered"
            )
    if "cassandra" in names:
        provision.ensure_schema(settings)
        echo(f"cassandra: schema {settings.users_table} ready")


# --------------------------------------------------------------------------- down
def down(
    settings: Settings | None = None, services: Iterable[str] | str | None = None, echo: Echo = print
) -> None:
    """Stop the services this stack started: SIGTERM, up to 30 s, then SIGKILL.

    Only processes named in our pid files (or carrying this stack dir's exact markers on
    their command line) are touched; external servers are left alone.
    """
    settings = settings or get_settings()
    victims: dict[str, list] = {}
    roles: dict[str, str] = {}
    if services is None:
        settings = acting(settings)
    for svc in chosen(services, settings):
        procs = _ours_to_stop(settings, svc, echo)
        if procs:
            victims[svc.name], roles[svc.name] = procs, svc.ident
            processes.send_term(procs)
            echo(f"{svc.ident}: stopping (pid {', '.join(str(p.pid) for p in procs)})")
    t0 = time.monotonic()
    killed = processes.wait_or_kill([p for procs in victims.values() for p in procs])
    for name, procs in victims.items():
        for p in procs:
            processes.reap(name, p.pid)
        still = [p.pid for p in procs if processes.is_running(p)]
        if still:
            raise StackError(f"{roles[name]}: pid {still} survived SIGKILL; check `ps -p {still[0]}`")
        processes.clear_pid(settings, name)
        gone = [p.pid for p in procs if p in killed]
        how = f"killed after {processes.STOP_TIMEOUT:.0f}s (pid {gone})" if gone else "stopped"
        echo(f"{roles[name]}: {how} ({time.monotonic() - t0:.1f}s)")


def _ours_to_stop(settings: Settings, svc: Service, echo: Echo) -> list:
    """Our processes of ``svc`` (pid file, then orphans by command line); reports when there are none."""
    procs = []
    proc = svc.process(settings)
    if proc is not None:
        procs.append(proc)
    elif processes.read_pid(settings, svc.name) is not None:
        pid = processes.read_pid(settings, svc.name)
        echo(f"{svc.ident}: stale pid file removed (pid {pid} is not our {svc.name})")
    for orphan in svc.orphans(settings):
        echo(f"{svc.ident}: also stopping pid {orphan.pid} (ours by its command line, no pid file)")
        procs.append(orphan)
    if not procs:
        processes.clear_pid(settings, svc.name)
        if processes.port_open(*svc.address(settings), timeout=0.5):
            echo(
                f"{svc.ident}: not ours (no pid file); something else serves "
                f"{':'.join(map(str, svc.address(settings)))}: left alone"
            )
        else:
            echo(f"{svc.ident}: not running")
    return procs
