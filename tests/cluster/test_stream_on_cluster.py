"""The same stream on the Spark standalone cluster: exact counts, and a worker lost mid-batch.

Expected numbers come from the generated input in plain Python (as in
``tests/integration/test_pipeline.py``); the cluster's stores are also compared with those
of a ``local[*]`` run of the same input. Both runs are ``profilepipe stream --until-idle``
subprocesses, so the measured times include starting Spark; they are printed, not asserted.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest
from cluster.helpers import BIN, ROOT, environment, expected_stored, run_profilepipe, send

from profilepipe import contract, stores
from profilepipe.sources import generator
from profilepipe_stack import cluster as spark_cluster

AS_OF = "2026-06-01"
KEY = "cluster-test-key-not-a-secret"
USERS = 1500
MALFORMED = 20


def _pipeline(isolated, prefix: str, **overrides):
    options = dict(pii_mode="hmac", hmac_key=KEY, as_of=AS_OF, max_offsets_per_trigger=600) | overrides
    return isolated(prefix, **options)


def _users(seed: str, count: int) -> tuple[list[dict], list[dict]]:
    users = generator.generate_users(count, seed=seed, minor_share=0.15, as_of=dt.date.fromisoformat(AS_OF))
    return users, generator.malformed_messages(MALFORMED, seed=seed)


def _aggregates(settings, without=("ingested_minute",)) -> dict:
    return {
        (d["dimension"], d["key"]): (d["count"], d["age_sum"])
        for d in stores.connect(settings).mongo.read_raw_aggregates()
        if d["dimension"] not in without
    }


def _rows(settings) -> dict:
    session = stores.connect(settings).cassandra.session()
    rows = session.execute(f"SELECT * FROM {settings.users_table}")
    return {str(r.user_id): {k: v for k, v in r._asdict().items() if k != "ingested_at"} for r in rows}


def _assert_exact(settings, users, bad) -> None:
    """Rows, aggregates, dead letters and batch log are exactly what the input says."""
    adults = expected_stored(users, dt.date.fromisoformat(AS_OF))
    assert stores.connect(settings).cassandra.count_users() == len(adults)
    docs = _aggregates(settings, without=())
    for dimension, key_of in (("nationality", lambda u: u["nat"]), ("gender", lambda u: u["gender"])):
        want = Counter(key_of(u) for u in adults)
        assert {k: docs[(dimension, k)][0] for k in want} == dict(want), dimension
    ages = [contract.age_on(generator.dob_date(u), dt.date.fromisoformat(AS_OF)) for u in adults]
    bands = Counter(contract.age_band(a) for a in ages)
    assert {b: docs[("age_band", b)][0] for b in bands} == dict(bands)
    assert sum(v[1] for (dim, _), v in docs.items() if dim == "nationality") == sum(ages)
    assert sum(v[0] for (dim, _), v in docs.items() if dim == "ingested_minute") == len(adults)
    letters = stores.connect(settings).dead_letters.read()
    assert Counter(d["reason"] for d in letters) == Counter(m["expected_reason"] for m in bad)
    batches = stores.connect(settings).mongo.read_batches()
    assert sum(b["read"] for b in batches) == len(users) + len(bad)
    assert sum(b["stored"] for b in batches) == len(adults)
    assert all(contract.balanced(b) for b in batches)


def test_exact_counts_and_aggregates_on_the_cluster_equal_local(isolated, cluster):
    users, bad = _users("cl", USERS)
    local, on_cluster = _pipeline(isolated, "cl_local"), _pipeline(isolated, "cl_spark")
    send(local, users, bad)
    send(on_cluster, users, bad)
    out_local, t_local = run_profilepipe(["stream", "--until-idle"], environment(local))
    env = environment(on_cluster, PROFILEPIPE_SPARK_MASTER=cluster)
    out_cluster, t_cluster = run_profilepipe(["stream", "--until-idle"], env)
    print(f"\n{len(users) + len(bad)} messages: local[*] {t_local:.1f}s, {cluster} {t_cluster:.1f}s")
    print("local:  ", out_local.strip().splitlines()[-1])
    print("cluster:", out_cluster.strip().splitlines()[-1])
    _assert_exact(on_cluster, users, bad)
    _assert_exact(local, users, bad)
    assert _aggregates(on_cluster) == _aggregates(local)  # per-minute counts follow the Kafka timestamps
    assert _rows(on_cluster) == _rows(local)


def _executor_of(worker_pid: int):
    """The executor JVM a worker runs for the application, or None."""
    for child in psutil.Process(worker_pid).children(recursive=True):
        try:
            if "org.apache.spark.executor.CoarseGrainedExecutorBackend" in child.cmdline():
                return child
        except psutil.NoSuchProcess:
            continue
    return None


TASK = re.compile(r"(Running|Finished) task (\d+)\.(\d+) in stage (\d+)\.(\d+) \(TID (\d+)\)")


def _tasks(stderr: Path) -> list[tuple[str, int, int, int, int, int]]:
    """(event, partition, attempt, stage, stage attempt, TID) of an executor's log (its ``stderr``)."""
    text = stderr.read_text(errors="replace") if stderr.is_file() else ""
    return [(m[1], *map(int, m.groups()[1:])) for m in TASK.finditer(text)]


def _in_flight(executor_dir: Path) -> set[tuple[int, int]]:
    """(stage, partition) of the tasks the executor started and never finished."""
    events = _tasks(executor_dir / "stderr")
    done = {tid for e, *_, tid in events if e == "Finished"}
    return {(stage, part) for e, part, _a, stage, _sa, tid in events if e == "Running" and tid not in done}


def _running_a_task(executor, executor_dir: Path) -> set[tuple[int, int]]:
    """The executor's in-flight tasks, read from its log; fails if the executor has ended."""
    if not executor.is_running():
        pytest.fail(f"executor {executor.pid} ended before a task was seen running on it")
    return _in_flight(executor_dir)


def _reruns(app_dirs: list[Path]) -> set[tuple[int, int]]:
    """(stage, partition) of the retried tasks (attempt > 0) that executors of ``app_dirs`` ran."""
    return {
        (stage, part)
        for app in app_dirs
        for stderr in app.glob("*/stderr")
        for e, part, attempt, stage, stage_attempt, _tid in _tasks(stderr)
        if e == "Running" and (attempt or stage_attempt)
    }


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(isolated, cluster, settings):
    """spark-submit runs the stream; after a batch is logged, while worker 2's executor runs a task,
    the worker, its executor and their Python workers get SIGKILL.

    Its tasks rerun on worker 1; the stream finishes; `cluster up` then starts a replacement.
    """
    users, bad = _users("kill", 2400)  # six batches: several still to run once the first is logged
    pipeline = _pipeline(isolated, "cl_kill", pii_mode="bcrypt", bcrypt_cost=8, max_offsets_per_trigger=400)
    send(pipeline, users, bad)
    env = environment(pipeline, PROFILEPIPE_SPARK_MASTER=cluster)
    victim = spark_cluster.worker_names(settings)[-1]
    worker_pid = spark_cluster.processes.read_pid(settings, victim)
    # The previous test's executor takes seconds to exit after its application ends: wait, so that
    # the executor found below is this application's.
    _wait_for(lambda: _executor_of(worker_pid) is None, 60, f"the last executor on {victim} to exit")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [str(BIN / "profilepipe"), "cluster", "submit", "--until-idle"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        executor = _wait_for(lambda: _executor_of(worker_pid), 180, f"an executor on {victim}")
        executor_dir = Path(executor.cwd())  # <work dir>/<app id>/<executor id>
        _wait_for(
            lambda: stores.connect(pipeline).mongo.read_batches(), 300, "the first batch in the batch log"
        )
        _wait_for(lambda: _running_a_task(executor, executor_dir), 120, f"a running task on {victim}")
        done_before = len(stores.connect(pipeline).mongo.read_batches())
        os.killpg(os.getpgid(worker_pid), signal.SIGKILL)  # the worker, its executor and their Python workers
        killed_at = time.monotonic() - t0
        output, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    seconds = time.monotonic() - t0
    assert proc.returncode == 0, output[-4000:]
    in_flight = _in_flight(executor_dir)
    app = executor_dir.parent.name
    others = [spark_cluster.work_dir(settings, w) / app for w in spark_cluster.worker_names(settings)[:-1]]
    reruns = _reruns(others)
    print(
        f"\nkilled {victim} at {killed_at:.1f}s after {done_before} batch(es); "
        f"stream done in {seconds:.1f}s; tasks (stage, partition) running there: {sorted(in_flight)}, "
        f"retried on the other worker: {sorted(reruns)}"
    )
    assert "Lost executor" in output or "ExecutorLost" in output, output[-4000:]
    assert in_flight, "the worker was killed between two tasks"  # mid-batch: a task was running ...
    assert in_flight <= reruns, (in_flight, reruns)  # ... and ran again on the other worker
    _assert_exact(pipeline, users, bad)
    spark_cluster.up(settings, echo=print)  # a replacement worker
    assert all(s.healthy for s in spark_cluster.status(settings).values())
