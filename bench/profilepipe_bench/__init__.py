"""The benchmark, side by side in one run on this machine (``profilepipe bench``).

On the same generated users (``--users``, default 200,000) and the same micro-batches it runs:

1. the producer (kafka-python) filling the topic;
2. the store alone: the pipeline's finished rows inserted by the Java driver from memory;
3. the limit: Kafka -> Cassandra of those rows with no transform, the same writer;
4. a peer-style pipeline: ``from_json`` straight into the same table (``peers.peer_rows``);
5. ours in HMAC mode;
6. ours in bcrypt mode at cost 4 over every user, and at cost 10 and 12 on subsets sized
   to about a minute; the seed's row-at-a-time bcrypt UDF at cost 4 (``peers.seed_hasher``);
7. latency at 1,000 and 5,000 users/s input for 60 s each, in the latency mode;

with CPU seconds and peak memory of every process (``meter``), per-stage seconds of each
batch, and ratios between runs of this same report (``report``). Writes
``bench/results/<date>.md`` (``-quick`` with ``--quick``: small sizes, a smoke run).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import time

from profilepipe.config import Settings, get_settings
from profilepipe.pipeline.spark import get_spark
from profilepipe_bench import report, runs
from profilepipe_bench.runs import isolated
from profilepipe_stack import stack

BENCH_KEY = "benchmark-hmac-key-not-a-secret"
HMAC = {"pii_mode": "hmac", "hmac_key": BENCH_KEY}
FLOOR = "floor: Kafka -> foreachBatch collect, 20/s"  # Spark's own cost of a micro-batch


def bcrypt_per_core(cost: int, seconds: float = 3.0) -> float:
    """bcrypt hashes per second on one core (one thread) at this cost."""
    import bcrypt

    salt = bcrypt.gensalt(cost)
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds or n < 2:
        bcrypt.hashpw(b"0123456789abcdef0123456789abcdef0123456789ab", salt)
        n += 1
    return n / (time.perf_counter() - started)


def versions(settings: Settings) -> dict[str, str]:
    import bcrypt
    import kafka
    import pymongo
    import pyspark

    out = {
        "python": platform.python_version(),
        "pyspark": pyspark.__version__,
        "kafka-python": kafka.__version__,
        "pymongo": pymongo.version,
        "bcrypt": bcrypt.__version__,
    }
    for st in stack.status(settings).values():
        out[st.name] = st.detail.split(",")[0]
    return out


def main(quick: bool = False, users: int | None = None, skip_baseline: bool = False) -> int:
    """Run every measurement on the same machine and input; write ``bench/results/<date>.md``."""
    import psutil

    from profilepipe_bench import peers  # pyspark at import: the unit tier reads this package without it

    base = get_settings().in_mode("throughput")
    n = users or (4000 if quick else 200_000)
    cores = os.cpu_count() or 1
    info = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
        "cores": cores,
        "memory_gib": psutil.virtual_memory().total / 2**30,
        "versions": versions(base),
        "users": n,
        "batch": base.max_offsets_per_trigger,
    }
    get_spark(base)  # one session for every run
    bound = {c: bcrypt_per_core(c, seconds=1.0 if quick else 3.0) for c in (4, 10, 12)}
    say(
        f"{n:,} users, {cores} cores; bcrypt per core "
        + ", ".join(f"{c}: {r:.1f}/s" for c, r in bound.items())
    )
    results: dict = {"bound": bound, "cores": cores}
    topic, rows_topic = f"bench_users_{n}", f"bench_rows_{n}"
    results["producer"] = runs.users_topic(base, topic, n)
    say(f"producer {results['producer'].users_per_s:,.0f} users/s")
    warm = "bench_users_warmup"  # the first batches of a process pay for JIT and worker start
    runs.users_topic(base, warm, 2000)
    runs.ours(isolated(base, "warmup", warm, **HMAC), "warm-up")

    _, rows = runs.rows_topic(isolated(base, "rows", topic, **HMAC), topic, rows_topic)
    record(results, "alone", runs.cassandra_alone(isolated(base, "alone", topic), rows, "Cassandra alone"))
    limit = peers.limit_rows(rows.schema)
    rows.unpersist()
    record(
        results, "limit", runs.plain(isolated(base, "limit", rows_topic), "limit: Kafka -> Cassandra", limit)
    )
    record(
        results, "peer", runs.plain(isolated(base, "peer", topic), "peer-style from_json", peers.peer_rows)
    )
    record(results, "hmac", runs.ours(isolated(base, "hmac", topic, **HMAC), "ours, hmac"))

    bcrypt4 = isolated(base, "bcrypt4", topic, pii_mode="bcrypt", bcrypt_cost=4)
    record(results, "bcrypt4", runs.ours(bcrypt4, "ours, bcrypt cost 4"))
    if not skip_baseline:
        m = min(n, 2000 if quick else 40_000)
        sub = topic if m == n else f"bench_users_{m}"
        if m != n:
            runs.users_topic(base, sub, m)
        seed = isolated(base, "seed4", sub, pii_mode="bcrypt", bcrypt_cost=4)
        record(
            results,
            "seed4",
            runs.ours(seed, "seed-style row-at-a-time bcrypt UDF, cost 4", peers.seed_hasher),
        )
    for cost in (10, 12):
        m = max(50, min(n, int(cores * bound[cost] / 2 * (10 if quick else 60))))
        sub = f"bench_users_{m}"
        runs.users_topic(base, sub, m)
        s = isolated(base, f"bcrypt{cost}", sub, pii_mode="bcrypt", bcrypt_cost=cost)
        record(results, f"bcrypt{cost}", runs.ours(s, f"ours, bcrypt cost {cost}"))

    workshop = 10.0 if quick else 30.0  # seconds produced at a workshop's rate
    lat = base.in_mode("latency")
    record(results, "floor20", runs.floor(isolated(lat, "floor", "bench_floor"), FLOOR, 20, workshop))
    s = isolated(lat, "lat20", "bench_latency_20", **HMAC)
    record(results, "latency20", runs.latency(s, "latency mode, 20/s input, hmac", 20, workshop))
    s = isolated(lat, "lat10b4", "bench_latency_10", pii_mode="bcrypt", bcrypt_cost=4)
    record(results, "latency10b4", runs.latency(s, "latency mode, 10/s input, bcrypt 4", 10, workshop))
    for rate in (1000, 5000):
        seconds = 10.0 if quick else 60.0
        s = isolated(base.in_mode("latency"), f"lat{rate}", f"bench_latency_{rate}", **HMAC)
        record(results, f"latency{rate}", runs.latency(s, f"latency mode, {rate:,}/s input", rate, seconds))

    report.write(report.render(info, results), f"{info['date']}{'-quick' if quick else ''}")
    return 0


def say(line: str) -> None:
    print(f"bench: {line}", flush=True)


def record(results: dict, key: str, run: runs.Run) -> None:
    results[key] = run
    extra = f", p99 {run.latency['p99']:.2f} s" if run.latency else ""
    say(f"{run.name}: {run.users:,} users in {run.seconds:.1f} s, {run.rate:,.0f}/s{extra}")
