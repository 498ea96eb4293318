"""End-to-end benchmark on the local stack: producer rate, stream rate per PII mode,
latency at a steady input rate, the seed's row-at-a-time bcrypt baseline, bcrypt's own
bound on this machine, and peak memory. Writes ``bench/results/<date>.md``.

Every stream run gets its own table, aggregate collection and checkpoint, and reads a
topic of generated users from the beginning; its rate is measured from the start of the
first micro-batch to the end of the last one (rows in Cassandra, aggregates merged).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from profilepipe import stores
from profilepipe.config import Settings, get_settings, project_root
from profilepipe.localstack import stack
from profilepipe.pipeline import stream
from profilepipe.sources import generator, producer

BENCH_KEY = "benchmark-hmac-key-not-a-secret"
AS_OF = "2026-06-01"


# ------------------------------------------------------------------ memory
class PeakMemory:
    """Samples the resident memory of this process, its children (Spark's JVM) and the servers."""

    def __init__(self, settings: Settings, interval: float = 0.5):
        self.settings, self.interval = settings, interval
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def sample(self) -> dict[str, float]:
        import psutil

        me = psutil.Process()
        jvm = sum(c.memory_info().rss for c in me.children(recursive=True) if "java" in c.name())
        python = me.memory_info().rss + sum(
            c.memory_info().rss for c in me.children(recursive=True) if "python" in c.name()
        )
        out = {"spark driver JVM": jvm / 2**20, "python (driver + workers)": python / 2**20}
        out.update(stack.rss_mb(self.settings))
        return out

    def _run(self):
        while not self._stop.is_set():
            try:
                for name, mb in self.sample().items():
                    self.peak[name] = max(self.peak.get(name, 0.0), mb)
            except Exception:  # a process that ends between listing and reading
                pass
            self._stop.wait(self.interval)


# ------------------------------------------------------------------ pieces
def bcrypt_per_core(cost: int, seconds: float = 3.0) -> float:
    """bcrypt hashes per second on one core (one thread) at this cost."""
    import bcrypt

    salt = bcrypt.gensalt(cost)
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds or n < 2:
        bcrypt.hashpw(b"0123456789abcdef0123456789abcdef0123456789ab", salt)
        n += 1
    return n / (time.perf_counter() - started)


def baseline_hasher(shaped_df, settings: Settings):
    """The seed's approach: a row-at-a-time Python UDF, ``bcrypt.hashpw(x, bcrypt.gensalt())``
    (random salt, cost 12) for phone and address, one call per value."""
    import bcrypt
    from pyspark.sql import functions as F

    @F.udf("string")
    def hash_udf(value):
        if value is None:
            return None
        return bcrypt.hashpw(value.encode("utf-8")[:72], bcrypt.gensalt()).decode()

    return (
        shaped_df.withColumn("phone_hash", hash_udf("phone"))
        .withColumn("address_hash", hash_udf("address"))
        .drop("phone", "address")
    )


@dataclass
class ModeResult:
    name: str
    users: int
    seconds: float
    batches: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.users / self.seconds if self.seconds else 0.0


def isolated(settings: Settings, tag: str, topic: str, **changes) -> Settings:
    """Settings with this run's own table, collection and checkpoint."""
    return settings.replace(
        kafka_topic=topic,
        cassandra_table=f"bench_{tag}",
        mongo_collection=f"bench_{tag}",
        checkpoint_dir=str(Path(settings.stack_dir) / "bench" / f"ckpt_{tag}_{uuid.uuid4().hex[:6]}"),
        as_of=AS_OF,
        **changes,
    )


def drop_run(settings: Settings) -> None:
    stores.cassandra_session(settings).execute(
        f"DROP TABLE IF EXISTS {settings.cassandra_keyspace}.{settings.cassandra_table}", timeout=120
    )
    stores.clear_aggregates(settings)


def make_topic(
    settings: Settings, name: str, users: int, rate: float | None = None
) -> producer.ProduceSummary:
    s = settings.replace(kafka_topic=name)
    stores.delete_topics(s, [s.kafka_topic, s.dlq_topic])
    stack.ensure_topics(s)
    data = generator.generate_users(users, seed=f"bench-{users}", minor_share=0.0, as_of=dt.date(2026, 6, 1))
    return producer.produce(data, s, rate=rate, progress=False)


def run_mode(settings: Settings, name: str, hasher=None) -> ModeResult:
    stack.ensure_schema(settings)
    handle = stream.start(settings, trigger="available_now", hasher=hasher)
    try:
        handle.query.awaitTermination(3600)
        if handle.query.exception():
            raise RuntimeError(str(handle.query.exception()))
    finally:
        handle.stop()
    reports = [r for r in handle.writer.reports if r.read]
    seconds = max(r.finished_at for r in reports) - min(r.started_at for r in reports)
    users = sum(r.read for r in reports)
    drop_run(settings)
    return ModeResult(name, users, seconds, [r.seconds for r in reports])


def run_latency(settings: Settings, rate: float, seconds: float) -> dict:
    """Produce at ``rate`` users/s for ``seconds`` while the query runs with a processing-time
    trigger; latency = Cassandra write time of the row - Kafka timestamp of its message."""
    s = settings.replace(trigger_seconds=0.5, max_offsets_per_trigger=5000)
    stack.ensure_schema(s)
    stores.delete_topics(s, [s.kafka_topic, s.dlq_topic])
    stack.ensure_topics(s)
    handle = stream.start(s.replace(starting_offsets="earliest"), trigger="processing")
    try:
        time.sleep(8)  # let the first (empty) batches pass so Spark is warm
        users = generator.generate_users(
            int(rate * seconds), seed="latency", minor_share=0.0, as_of=dt.date(2026, 6, 1)
        )
        producer.produce(users, s, rate=rate, progress=False)
        deadline = time.time() + 120
        while stores.count_users(s) < len(users) and time.time() < deadline:
            time.sleep(1)
    finally:
        handle.stop()
    rows = stores.cassandra_session(s).execute(
        f"SELECT ingested_at, writetime(full_name) AS w FROM {s.cassandra_keyspace}.{s.cassandra_table}",
        timeout=120,
    )
    lat = sorted(r.w / 1e6 - r.ingested_at.replace(tzinfo=dt.UTC).timestamp() for r in rows)
    drop_run(s)

    def pct(p):
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] if lat else float("nan")

    return {"rows": len(lat), "p50": pct(50), "p95": pct(95), "p99": pct(99), "max": lat[-1] if lat else 0}


# ------------------------------------------------------------------ report
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
        out[st.name] = st.detail
    return out


def render(info: dict, rows: list[tuple], latency: dict, bound: dict, memory: dict) -> str:
    lines = [
        f"# Benchmark {info['date']}",
        "",
        f"Machine: {info['cores']} cores, {info['memory_gib']:.0f} GiB; "
        + ", ".join(f"{k} {v}" for k, v in info["versions"].items()),
        "",
        "| run | users | seconds | users/s | batches | median batch s | vs bound / baseline |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, users, seconds, rate, batches, median, extra in rows:
        lines.append(f"| {name} | {users:,} | {seconds:.1f} | {rate:,.1f} | {batches} | {median} | {extra} |")
    lines += [
        "",
        f"Latency at {latency['rate']:,.0f} users/s for {latency['seconds']:.0f} s "
        f"({latency['rows']:,} rows, Cassandra write time - Kafka timestamp): "
        f"p50 {latency['p50']:.2f} s, p95 {latency['p95']:.2f} s, p99 {latency['p99']:.2f} s, "
        f"max {latency['max']:.2f} s",
        "",
        "bcrypt on this machine (one thread): "
        + ", ".join(f"cost {c}: {r:,.1f} hashes/s per core" for c, r in bound.items()),
        "",
        "Peak resident memory: " + ", ".join(f"{k} {v:,.0f} MB" for k, v in memory.items()),
        "",
    ]
    return "\n".join(lines) + "\n"


def main(quick: bool = False, users: int | None = None, skip_baseline: bool = False) -> int:
    """Run every measurement on the same machine and input; write ``bench/results/<date>.md``."""
    import psutil

    base = get_settings()
    n = users or (3000 if quick else 50_000)
    cores = os.cpu_count() or 1
    info = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
        "cores": cores,
        "memory_gib": psutil.virtual_memory().total / 2**30,
        "versions": versions(base),
    }
    print(f"bench: {n:,} users, {cores} cores")
    bound = {c: bcrypt_per_core(c, seconds=1.0 if quick else 3.0) for c in (4, 10, 12)}
    print("bench: bcrypt per core " + ", ".join(f"cost {c}: {r:.1f}/s" for c, r in bound.items()))
    with PeakMemory(base) as mem:
        topic = f"bench_users_{n}"
        rows = [_producer_row(base, topic, n), _hmac_row(base, topic)]
        bcrypt_rows, ours12, subset12 = _bcrypt_rows(base, topic, n, bound, budget=10.0 if quick else 60.0)
        rows += bcrypt_rows
        if not skip_baseline:
            rows.append(_baseline_row(base, topic if subset12 == n else f"bench_users_{subset12}", ours12))
        latency = _latency(base, *((300.0, 10.0) if quick else (1000.0, 60.0)))
    text = render(info, rows, latency, bound, mem.peak)
    out = project_root() / "bench" / "results" / f"{info['date']}{'-quick' if quick else ''}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"written: {out}")
    return 0


def _producer_row(base: Settings, topic: str, n: int) -> tuple:
    prod = make_topic(base, topic, n)
    print(f"bench: producer {prod.users_per_s:,.0f} users/s")
    return (
        "producer (kafka-python, acks=all)",
        prod.sent,
        prod.seconds,
        prod.users_per_s,
        "-",
        "-",
        "target 20,000/s",
    )


def _hmac_row(base: Settings, topic: str) -> tuple:
    # warm-up, not reported: the first micro-batch of a process pays for JIT and worker start
    warm_topic = "bench_users_warmup"
    make_topic(base, warm_topic, 2000)
    run_mode(isolated(base, "warmup", warm_topic, pii_mode="hmac", hmac_key=BENCH_KEY), "warm-up")
    hm = run_mode(isolated(base, "hmac", topic, pii_mode="hmac", hmac_key=BENCH_KEY), "hmac")
    print(f"bench: hmac {hm.rate:,.0f} users/s")
    return _row("stream, hmac", hm, "target 20,000/s")


def _bcrypt_rows(
    base: Settings, topic: str, n: int, bound: dict, budget: float
) -> tuple[list, ModeResult, int]:
    """One row per bcrypt cost, each on a subset sized to take about ``budget`` seconds."""
    cores = os.cpu_count() or 1
    rows, ours12, subset12 = [], None, n
    for cost in (4, 10, 12):
        best = cores * bound[cost] / 2
        m = max(50, min(n, 10_000, int(best * budget)))
        sub_topic = f"bench_users_{m}" if m != n else topic
        if m != n:
            make_topic(base, sub_topic, m)
        res = run_mode(
            isolated(base, f"bcrypt{cost}", sub_topic, pii_mode="bcrypt", bcrypt_cost=cost), f"bcrypt {cost}"
        )
        rows.append(_row(f"stream, bcrypt cost {cost}", res, f"{res.rate / best:.0%} of bound {best:,.1f}/s"))
        print(f"bench: bcrypt {cost} {res.rate:,.1f} users/s ({res.rate / best:.0%} of bound)")
        if cost == 12:
            ours12, subset12 = res, m
    return rows, ours12, subset12


def _baseline_row(base: Settings, topic: str, ours12: ModeResult) -> tuple:
    """The seed project's row-at-a-time bcrypt UDF at cost 12, on the cost-12 subset."""
    settings = isolated(base, "baseline", topic, pii_mode="bcrypt", bcrypt_cost=12)
    bl = run_mode(settings, "baseline", hasher=baseline_hasher)
    print(f"bench: baseline {bl.rate:,.1f} users/s")
    return _row("baseline: row-at-a-time UDF, bcrypt 12", bl, f"ours/baseline = {ours12.rate / bl.rate:.2f}x")


def _latency(base: Settings, rate: float, seconds: float) -> dict:
    topic = f"bench_latency_{uuid.uuid4().hex[:6]}"
    latency = run_latency(
        isolated(base, "latency", topic, pii_mode="hmac", hmac_key=BENCH_KEY), rate, seconds
    )
    latency.update(rate=rate, seconds=seconds)
    print(f"bench: latency p50 {latency['p50']:.2f}s p99 {latency['p99']:.2f}s")
    return latency


def _row(name: str, r: ModeResult, extra: str) -> tuple:
    median = f"{statistics.median(r.batches):.2f}" if r.batches else "-"
    return (name, r.users, r.seconds, r.rate, len(r.batches), median, extra)
