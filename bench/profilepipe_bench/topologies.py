"""The replicated topology against the single-node stack (``profilepipe bench --topologies``).

One after the other in one run, on the same generated users and the same Spark (the
driver's local Spark, so that the ratios are what the stores' replication costs: three copies
of every Kafka message acknowledged by two, every row written to three Cassandra nodes at
``LOCAL_QUORUM``):

1. the stack of each topology is started (``stack up``; whatever ran before is stopped);
2. a warm-up run, then ours in HMAC mode over the whole topic (throughput);
3. ours in the latency mode while 1,000 users/s are produced (p50/p99, Kafka timestamp to
   Cassandra write time);
4. the peak resident memory of every process, each node on its own line.

At the end the topology that ran before is started again. Writes
``bench/results/<date>-topologies.md`` (``-quick`` with ``--quick``).
"""

from __future__ import annotations

import datetime as dt

from profilepipe.config import TOPOLOGIES, Settings, get_settings
from profilepipe.pipeline.spark import get_spark
from profilepipe_bench import HMAC, report, runs
from profilepipe_bench.report import STAGE_COLUMNS
from profilepipe_bench.runs import isolated
from profilepipe_stack import services, stack

RATE = 1000  # users/s of the latency run


def measure(settings: Settings, users: int, seconds: float, echo=print) -> dict[str, runs.Run]:
    """Throughput over ``users`` and latency at :data:`RATE` users/s on the running topology."""
    base = settings.in_mode("throughput")
    topic, warm = f"bench_topology_{users}", "bench_topology_warmup"
    runs.users_topic(base, warm, 2000)
    runs.ours(isolated(base, "topo_warm", warm, **HMAC), "warm-up")
    runs.users_topic(base, topic, users)
    out = {"throughput": runs.ours(isolated(base, "topo_hmac", topic, **HMAC), "throughput, hmac")}
    echo(f"bench: {settings.topology}: {out['throughput'].rate:,.0f} users/s")
    lat = isolated(settings.in_mode("latency"), "topo_lat", "bench_topology_latency", **HMAC)
    out["latency"] = runs.latency(lat, f"latency mode, {RATE:,}/s input", RATE, seconds)
    echo(f"bench: {settings.topology}: p99 {out['latency'].latency['p99']:.2f} s at {RATE:,}/s")
    return out


def render(date: str, users: int, results: dict[str, dict[str, runs.Run]]) -> str:
    """The report (Markdown): the two topologies side by side, ratios against the single stack."""
    single = results["single"]
    lines = [
        f"# The replicated topology against the single-node stack, {date}",
        "",
        f"Same run, one after the other: {users:,} generated users through ours (HMAC, the "
        f"throughput mode), then {RATE:,} users/s for the latency mode; the same local Spark in "
        "both, so the ratios are the stores' replication (3 copies, 2 acknowledging in Kafka; "
        "3 Cassandra replicas written at LOCAL_QUORUM).",
        "",
        "| topology | users/s | vs single | p50 s | p99 s | p99 vs single | memory, all processes |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        thr, lat = r["throughput"], r["latency"]
        memory = sum(_peaks(r).values()) / 1024
        lines.append(
            f"| {name} | {thr.rate:,.0f} | {thr.rate / single['throughput'].rate:.2f}x | "
            f"{lat.latency['p50']:.2f} | {lat.latency['p99']:.2f} | "
            f"{lat.latency['p99'] / single['latency'].latency['p99']:.2f}x | {memory:.1f} GiB |"
        )
    lines += [
        "",
        "Where a batch goes (median seconds per batch of the throughput run, by stage):",
        "",
        "| topology | records | " + " | ".join(STAGE_COLUMNS) + " | batch |",
        "|---|---|" + "---|" * (len(STAGE_COLUMNS) + 1),
    ]
    for name, r in results.items():
        thr = r["throughput"]
        cells = [f"{thr.stage_median(s) or 0.0:.2f}" for s in STAGE_COLUMNS]
        lines.append(
            f"| {name} | {thr.median('records') or 0:,.0f} | "
            + " | ".join(cells)
            + f" | {thr.median('seconds') or 0.0:.2f} |"
        )
    for name, r in results.items():
        peaks = _peaks(r)
        lines += [
            "",
            f"Peak resident memory per process, {name} (MiB): "
            + ", ".join(f"{proc} {mb:,.0f}" for proc, mb in sorted(peaks.items(), key=lambda kv: -kv[1]))
            + f"; all {sum(peaks.values()) / 1024:.1f} GiB.",
        ]
    return "\n".join(lines) + "\n"


def _peaks(result: dict[str, runs.Run]) -> dict[str, float]:
    out: dict[str, float] = {}
    for run in result.values():
        for proc, mb in run.peak_each.items():
            out[proc] = max(out.get(proc, 0.0), mb)
    return out


def main(quick: bool = False, users: int | None = None, echo=print) -> int:
    """Both topologies, one after the other; writes ``bench/results/<date>-topologies.md``."""
    n = users or (4000 if quick else 60_000)
    seconds = 10.0 if quick else 30.0
    here = get_settings()
    before = services.running_topology(here)
    local = here.spark_master if here.topology == "single" else "local[*]"
    get_spark(here.replace(spark_master=local))  # one Spark for both
    results: dict[str, dict[str, runs.Run]] = {}
    try:
        for name in TOPOLOGIES:
            settings = get_settings(topology=name).replace(spark_master=local)
            stack.down(settings, echo=lambda line: None)
            stack.up(settings, echo=echo)
            results[name] = measure(settings, n, seconds, echo)
    finally:
        if before is not None:
            stack.down(here, echo=lambda line: None)
            stack.up(here.in_topology(before), echo=echo)
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    report.write(render(date, n, results), f"{date}-topologies{'-quick' if quick else ''}")
    return 0
