"""The ``profilepipe`` command: one entry point for the stack, the pipeline and the notebooks."""

from __future__ import annotations

import argparse
import sys

from profilepipe import kafka_client
from profilepipe.config import Settings, get_settings
from profilepipe.errors import ProfilepipeError, StackError

DESCRIPTION = """\
profilepipe: randomuser.me -> Kafka -> Spark Structured Streaming -> Cassandra + MongoDB.

Typical session:
  profilepipe stack up                  start Kafka, Cassandra and the MongoDB-compatible server
  profilepipe produce --count 1000      send generated users to Kafka
  profilepipe stream --until-idle       transform, hash, filter minors, store; stop when caught up
  profilepipe audit                     no plaintext personal data, no minors stored (exit 3 if any)
  profilepipe run                       execute the notebooks headless (papermill)
  profilepipe stack down                stop what `stack up` started
  profilepipe cluster up                a Spark standalone cluster on 127.0.0.1 (PROFILEPIPE_SPARK_MASTER)

Configuration comes from PROFILEPIPE_* environment variables (`profilepipe config`).
"""


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    for name in (
        "pii_mode",
        "bcrypt_cost",
        "as_of",
        "seed",
        "source",
        "checkpoint_dir",
        "min_age",
        "stream_mode",
    ):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return get_settings(**overrides)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _add_privacy_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pii-mode", choices=["bcrypt", "hmac"], help="hashing of phone and address")
    p.add_argument("--bcrypt-cost", type=int, help="bcrypt cost factor (default 12)")
    p.add_argument(
        "--as-of", metavar="YYYY-MM-DD", help="processing date for exact ages (default today, UTC)"
    )
    p.add_argument("--min-age", type=int, help="GDPR threshold (default 18)")


# ---------------------------------------------------------------- sub-commands
def stored_fields_markdown() -> str:
    """docs/stored-fields.md's tables, from the contract: the users table per profile, the other stores."""
    from profilepipe import contract

    def mark(field: contract.StoredField, profile: str) -> str:
        return "yes" if profile in field.profiles else "-"

    lines = [
        "**Cassandra, the users table** (`PROFILEPIPE_CASSANDRA_TABLE`), one row per stored user:",
        "",
        f"| column | CQL type | {' | '.join(contract.STORE_PROFILES)} | from | stored as | why |",
        "|---|---|" + "---|" * len(contract.STORE_PROFILES) + "---|---|---|",
    ]
    for f in contract.STORED_FIELDS:
        profiles = " | ".join(mark(f, p) for p in contract.STORE_PROFILES)
        lines.append(f"| `{f.column}` | {f.cql_type} | {profiles} | {f.source} | {f.form} | {f.why} |")
    lines += [
        "",
        "**Cassandra, the erasure register** (`<table>_erasures`), both profiles: `user_key` (SHA-256 of",
        "the forgotten user's id, never the id) and `erased_at`.",
        "",
        "**MongoDB, the aggregates**, both profiles: per dimension and group, `count`, `age_sum` and",
        "`age_sq_sum` (the sum of squared ages, for the spread of the ages)",
        f"(dimensions: {', '.join(f'`{d}`' for d in contract.DIMENSIONS)}); no user id, no row.",
        "",
        "**The dead-letter topic**, both profiles: the source message's key and "
        f"{', '.join(f'`{d}`' for d in contract.DLQ_FIELDS)}; never the message's value.",
    ]
    return "\n".join(lines)


def cmd_config(args: argparse.Namespace) -> int:
    if args.stored_fields:
        print(stored_fields_markdown())
        return 0
    if args.markdown:
        print("| variable | default | meaning |")
        print("|---|---|---|")
        for name, default, help_text in Settings.describe():
            print(f"| `{name}` | `{default}` | {help_text} |")
        return 0
    for key, value in get_settings().redacted().items():
        print(f"{Settings.env_name(key):40} {value}")
    return 0


def cmd_stack(args: argparse.Namespace) -> int:
    from profilepipe_stack import services as servers
    from profilepipe_stack import stack

    settings = get_settings(topology=args.topology)  # as PROFILEPIPE_TOPOLOGY: with its defaults
    services = args.services or None
    known = [*stack.SERVICES, *servers.NODE_NAMES]
    unknown = set(services or []) - set(known)
    if unknown:
        names = ", ".join(sorted(unknown))
        print(f"error: unknown service(s) {names}; use {', '.join(known)}", file=sys.stderr)
        return 2
    lines: list[str] = []
    echo = lines.append if args.quiet else print  # --quiet: the last line, or all of them on error
    try:
        if args.action in ("up", "start"):
            stack.up(settings, services=services, echo=echo)
            if args.quiet:
                healthy = ", ".join(services or [svc.ident for svc in servers.topology(settings)])
                print(f"{lines[-1]} ({healthy} healthy; log files in {stack.log_dir(settings)})")
        elif args.action in ("down", "stop"):
            stack.down(settings, services=services)
        elif args.action == "restart":
            stack.down(settings, services=services)
            stack.up(settings, services=services)
        elif args.action == "fetch":
            stack.fetch(settings)
        elif args.action == "logs":
            for name in services or [svc.ident for svc in servers.topology(settings)]:
                print(f"==> {name} <==")
                print(stack.logs(settings, name, lines=args.lines))
        elif args.action == "status":
            statuses = stack.status(settings)
            for st in statuses.values():
                state = "healthy" if st.healthy else "DOWN"
                pid = st.pid if st.pid else "-"
                print(f"{st.name:12} {state:8} pid={pid!s:8} {st.address:22} {st.detail}")
            return 0 if all(st.healthy for st in statuses.values()) else 1
    except StackError as exc:
        if args.quiet:
            print("\n".join(lines), file=sys.stderr)
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def cmd_cluster(args: argparse.Namespace) -> int:
    from profilepipe_stack import cluster

    settings = get_settings()
    if args.action == "submit":
        from profilepipe.tools import submit

        return submit.run(settings, args.stream_args)
    if args.stream_args:
        print(f"error: unexpected arguments {' '.join(args.stream_args)}", file=sys.stderr)
        return 2
    if args.action == "up":
        cluster.up(settings)
    elif args.action == "down":
        cluster.down(settings)
    else:
        statuses = cluster.status(settings)
        for st in statuses.values():
            state = "healthy" if st.healthy else "DOWN"
            print(f"{st.name:15} {state:8} pid={st.pid or '-'!s:8} {st.address:22} {st.detail}")
        return 0 if all(st.healthy for st in statuses.values()) else 1
    return 0


def cmd_produce(args: argparse.Namespace) -> int:
    from profilepipe import sources
    from profilepipe.sources import producer

    settings = _settings(args)
    users = sources.users_from(
        args.source or settings.source,
        args.count,
        seed=args.seed,
        nat=args.nat,
        settings=settings,
    )
    summaries = [producer.produce(users, settings, rate=args.rate, progress=not args.quiet)]
    print(summaries[0].describe())
    if args.malformed:
        from profilepipe.sources import generator

        bad = generator.malformed_messages(args.malformed, seed=args.seed or settings.generator_seed)
        summaries.append(kafka_client.produce_raw([(m["key"], m["value"]) for m in bad], settings))
        print(f"malformed: sent={summaries[1].sent} failed={summaries[1].failed}")
    undelivered = [k for s in summaries for k, _ in s.undelivered]
    if undelivered:  # never silent: name every message Kafka did not acknowledge
        print(f"NOT DELIVERED: {len(undelivered)} message(s); keys:", file=sys.stderr)
        for k in undelivered:
            print(f"  {k.decode('utf-8', 'replace') if k else '(no key)'}", file=sys.stderr)
    return 1 if undelivered else 0


def cmd_stream(args: argparse.Namespace) -> int:
    from profilepipe.pipeline import stream

    settings = _settings(args)
    result = stream.run(
        settings,
        until_idle=args.until_idle,
        seconds=args.seconds,
        reset=args.reset,
        progress=lambda line: print(line, flush=True),
        verbose=args.verbose,
        accept_loss=args.accept_loss,
    )
    print(result.describe())
    return 0


def cmd_lag(args: argparse.Namespace) -> int:
    from profilepipe.analysis import lag

    report = lag.read(_settings(args))  # NotReady when Kafka does not answer: one line, exit 2
    print(report.table())
    print(report.line())
    return 0


def cmd_transform(args: argparse.Namespace) -> int:
    from profilepipe.tools import file_job

    settings = _settings(args)
    file_job.transform_file(settings, args.file, as_of=args.as_of)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from profilepipe.tools import notebooks

    params = dict(args.parameter or [])
    params.update(dict(args.raw_parameter or []))
    return notebooks.run_all(
        output_dir=args.output,
        parameters=params,
        raw_keys=set(dict(args.raw_parameter or [])),
        only=args.notebook,
        timeout=args.cell_timeout,
        append=args.append,
    )


def cmd_lab(args: argparse.Namespace) -> int:
    from profilepipe.tools import notebooks

    return notebooks.lab(start_stack=not args.no_stack, port=args.port)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from profilepipe.analysis import dashboard

    settings = get_settings().replace(dashboard_port=args.port, dashboard_refresh_seconds=args.refresh)
    every = settings.dashboard_refresh_seconds

    def ready(url: str) -> None:  # once the port is bound
        print(f"dashboard: {url} (refreshes every {every:g} s; Ctrl-C stops it)", flush=True)

    dashboard.serve(settings, ready=ready)
    return 0


def bench_package():
    """``bench/profilepipe_bench/`` of the checkout, imported.

    The benchmark is no part of the installed package: ``profilepipe bench`` runs it from the
    checkout's ``bench/`` folder, found from ``config.project_root`` (``PROFILEPIPE_HOME``).
    """
    from profilepipe.config import project_root

    folder = project_root() / "bench"
    if not (folder / "profilepipe_bench" / "__init__.py").is_file():
        raise ProfilepipeError(
            f"the benchmark runs from a checkout: {folder / 'profilepipe_bench'} not found "
            "(set PROFILEPIPE_HOME to the checkout)"
        )
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    import profilepipe_bench

    return profilepipe_bench


def cmd_bench(args: argparse.Namespace) -> int:
    bench = bench_package()
    if args.topologies:
        from profilepipe_bench import topologies

        return topologies.main(quick=args.quick, users=args.users)
    return bench.main(quick=args.quick, users=args.users, skip_baseline=args.skip_baseline)


def cmd_audit(args: argparse.Namespace) -> int:
    from profilepipe.tools import audit

    settings = _settings(args)
    if args.acknowledge_loss:
        from profilepipe import stores

        acknowledged = stores.connect(settings).mongo.acknowledge_losses()
        print(f"losses acknowledged: {acknowledged} batch-log document(s)")
    report = audit.audit(settings, as_of=args.as_of)
    print(report.describe())
    print("clean:", report.clean, flush=True)
    audit.require_clean(report)  # AuditFindings: exit code 3, as `profilepipe run` for the same findings
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from profilepipe import stores
    from profilepipe.stores import erasure

    settings = get_settings()
    for user_id in args.user_id:
        existed = erasure.forget_user(
            stores.connect(settings), user_id, erase_contribution=settings.erase_contribution
        )
        state = "row deleted" if existed else "no row stored (recorded anyway)"
        print(f"{user_id}: forgotten, {state}; a replay of old offsets will not bring it back")
    return 0


def cmd_retain(args: argparse.Namespace) -> int:
    from profilepipe import stores
    from profilepipe.errors import NoRetention
    from profilepipe.stores import erasure

    settings = get_settings()
    days = args.days if args.days is not None else settings.retention_days
    if not days:
        raise NoRetention(
            f"no retention period is set ({Settings.env_name('retention_days')} or --days N): nothing removed"
        )
    removed = erasure.retain(stores.connect(settings), days)
    print(f"retain: {removed} row(s) ingested more than {days} day(s) ago removed, their contribution too")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    from profilepipe.tools.reset import reset_all

    settings = get_settings()
    reset_all(settings, echo=print)
    return 0


# ---------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="profilepipe", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add_stack_commands(sub)
    _add_pipeline_commands(sub)
    _add_notebook_commands(sub)
    _add_privacy_commands(sub)
    return parser


def _add_stack_commands(sub) -> None:
    """Config, stack, cluster: the configuration and the local servers."""
    p = sub.add_parser("config", help="show the effective configuration (secrets masked)")
    p.add_argument("--markdown", action="store_true", help="print docs/configuration.md's table")
    p.add_argument("--stored-fields", action="store_true", help="print docs/stored-fields.md's tables")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("stack", help="start, stop and inspect the local Kafka, Cassandra and MongoDB stack")
    p.add_argument(
        "action",
        choices=["up", "down", "start", "stop", "restart", "status", "logs", "fetch"],
        help="up/start: start (idempotent); down/stop: stop what we started; restart: stop, then "
        "start (data is kept); status: health; logs: tail the logs; fetch: resolve the jars with Maven "
        "and build FerretDB",
    )
    p.add_argument(
        "services",
        nargs="*",
        metavar="SERVICE",
        help="limit to some of: kafka, cassandra, mongo, or a node of the replicated topology "
        "(kafka-1, cassandra-2, ...) (default: all)",
    )
    p.add_argument(
        "--topology",
        choices=["single", "replicated"],
        help="as PROFILEPIPE_TOPOLOGY (default single): replicated is 3 Kafka brokers, 3 Cassandra "
        "nodes and the Spark cluster (docs/topology.md)",
    )
    p.add_argument("-n", "--lines", type=int, default=50, help="log lines to show")
    p.add_argument("-q", "--quiet", action="store_true", help="up: one line when all is well")
    p.set_defaults(func=cmd_stack)

    p = sub.add_parser("cluster", help="a local Spark standalone cluster (master + workers) for the stream")
    p.add_argument(
        "action",
        choices=["up", "down", "status", "submit"],
        help="up: start the master and the workers (idempotent); down: stop them; status: health; "
        "submit: run `profilepipe stream` with spark-submit (the options after it are the stream's)",
    )
    p.add_argument("stream_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_cluster)


def _add_pipeline_commands(sub) -> None:
    """Produce, stream, transform: the pipeline itself."""
    p = sub.add_parser("produce", help="send users to Kafka (API, samples or the seeded generator)")
    p.add_argument("--count", type=int, default=1000, help="users to send (default 1000)")
    p.add_argument("--source", choices=["api", "samples", "generator"], help="where users come from")
    p.add_argument("--nat", help="nationalities, comma separated (e.g. GB,FR,IR)")
    p.add_argument("--seed", help="seed of the generator / API")
    p.add_argument("--rate", type=float, help="maximum users per second")
    p.add_argument(
        "--malformed", type=int, default=0, help="also send N malformed messages (dead-letter demo)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_produce)

    p = sub.add_parser("stream", help="run the Structured Streaming query (Kafka -> Cassandra + MongoDB)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--until-idle", action="store_true", help="process what is in Kafka, then stop")
    mode.add_argument("--seconds", type=float, help="stream for N seconds, then stop")
    p.add_argument("--checkpoint-dir", help="checkpoint folder (default under .stack/)")
    p.add_argument("--reset", action="store_true", help="delete the checkpoint first (re-reads the topic)")
    p.add_argument("-v", "--verbose", action="store_true", help="one line per step of each batch")
    p.add_argument(
        "--accept-loss",
        action="store_true",
        help="offsets Kafka dropped before they were read: record them as accepted and go on "
        "(default: PROFILEPIPE_ON_DATA_LOSS; docs/ARCHITECTURE.md)",
    )
    p.add_argument(
        "--mode",
        dest="stream_mode",
        choices=["throughput", "latency"],
        help="throughput (5 s trigger, big batches; default) or latency (0.5 s, small batches)",
    )
    _add_privacy_args(p)
    p.set_defaults(func=cmd_stream)

    p = sub.add_parser(
        "lag",
        help="messages waiting in Kafka for the stream, the oldest one's age against retention, lost ones",
    )
    p.add_argument("--checkpoint-dir", help="the stream's checkpoint folder (default under .stack/)")
    p.set_defaults(func=cmd_lag)

    p = sub.add_parser("transform", help="run the stream's transform on a file, no services needed")
    p.add_argument("file", help="API response: envelope, single user, or JSON lines")
    _add_privacy_args(p)
    p.set_defaults(func=cmd_transform)


def _add_notebook_commands(sub) -> None:
    """Run, lab, dashboard, bench: notebooks, the live view, the benchmark."""
    p = sub.add_parser("run", help="execute the notebooks headless with papermill")
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="notebook parameter (value parsed as YAML by papermill, like papermill -p)",
    )
    p.add_argument(
        "-r",
        "--raw-parameter",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="notebook parameter kept as a string",
    )
    p.add_argument("--output", help="output folder (default output/runs)")
    p.add_argument("--notebook", action="append", help="run only these notebooks (name or number)")
    p.add_argument("--cell-timeout", type=int, default=900, help="seconds per cell (default 900)")
    p.add_argument(
        "--append",
        action="store_true",
        help="keep earlier data (no reset before producing, no demo erasure): for scheduled runs",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("lab", help="start JupyterLab with the project's kernel (and the stack)")
    p.add_argument("--no-stack", action="store_true", help="do not start the stack")
    p.add_argument("--port", type=int, default=8888)
    p.set_defaults(func=cmd_lab)

    p = sub.add_parser("dashboard", help="the live dashboard of the stream, read from MongoDB (Dash)")
    p.add_argument("--port", type=int, help="port on 127.0.0.1 (default PROFILEPIPE_DASHBOARD_PORT, 8050)")
    p.add_argument("--refresh", type=float, metavar="SECONDS", help="seconds between refreshes (default 2)")
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser("bench", help="end-to-end throughput and latency benchmark")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.add_argument("--users", type=int, help="users of the throughput runs (default 200000)")
    p.add_argument(
        "--skip-baseline", action="store_true", help="skip the seed-style row-at-a-time bcrypt run"
    )
    p.add_argument(
        "--topologies",
        action="store_true",
        help="instead: the replicated topology against the single-node stack (restarts the stack)",
    )
    p.set_defaults(func=cmd_bench)


def _add_privacy_commands(sub) -> None:
    """Reset, audit, forget, retain: starting over, the GDPR audit, erasure, storage limitation."""
    p = sub.add_parser("reset", help="empty the topics, the Cassandra table, the aggregates and checkpoints")
    p.set_defaults(func=cmd_reset)

    p = sub.add_parser(
        "audit", help="GDPR audit: plaintext personal data and minors in both stores and the dead letters"
    )
    p.add_argument(
        "--as-of", metavar="YYYY-MM-DD", help="processing date for ages (default PROFILEPIPE_AS_OF or today)"
    )
    p.add_argument("--min-age", type=int, help="GDPR threshold (default 18)")
    p.add_argument(
        "--acknowledge-loss",
        action="store_true",
        help="first mark the messages recorded as lost before the stream read them as seen (no finding)",
    )
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("forget", help="GDPR right to erasure: delete users and keep them out of every replay")
    p.add_argument("user_id", nargs="+", help="login.uuid of the user(s) to forget")
    p.set_defaults(func=cmd_forget)

    p = sub.add_parser(
        "retain", help="storage limitation: remove the rows ingested more than N days ago (not an erasure)"
    )
    p.add_argument(
        "--days", type=_positive_int, help="retention period in days (default PROFILEPIPE_RETENTION_DAYS)"
    )
    p.set_defaults(func=cmd_retain)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ProfilepipeError as exc:  # our own errors carry what to do, and their exit code
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValueError as exc:  # a bad argument or setting
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
