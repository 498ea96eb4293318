"""The benchmark's report (``profilepipe_bench.report``): every ratio is between two runs of one report."""

from __future__ import annotations

from profilepipe_bench import report
from profilepipe_bench.runs import Run, percentiles


def _run(name, users, seconds, **kw):
    batch = {"seconds": 2.0, "records": users, "stages": {"parse+hash": 1.0, "cassandra": 0.5}, "jobs": 9}
    return Run(
        name, users, seconds, [batch], {"spark JVM": 10.0, "cassandra": 5.0}, {"spark JVM": 900.0}, **kw
    )


def _report(**runs):
    info = {"date": "2026-12-01", "cores": 2, "memory_gib": 24, "versions": {}, "users": 1000, "batch": 20000}
    return report.render(info, {"bound": {4: 1000.0, 10: 16.0, 12: 4.0}, "cores": 2, **runs})


def test_ours_is_compared_with_the_limit_and_the_peer_of_the_same_run():
    text = _report(
        limit=_run("limit", 1000, 1.0),
        peer=_run("peer", 1000, 2.0),
        hmac=_run("ours", 1000, 4.0, wall=5.0),
    )
    assert "| ours | 1,000 | 4.0 | 250 | 1 | 2.00 | ours/limit 0.25x, ours/peer 0.50x |" in text
    assert "| peer | 1,000 | 2.0 | 500 | 1 | 2.00 | peer/limit 0.50x |" in text
    # CPU per 1,000 users by process, and the cores busy over the measured block
    assert "| ours | 10.00 | 0.00 | 0.00 | 0.00 | 5.00 | 0.00 | 15.00 | 3.00 of 2 |" in text


def test_bcrypt_runs_are_compared_with_bcrypts_own_bound_and_the_seed_style_run():
    text = _report(bcrypt4=_run("b4", 1000, 2.0), seed4=_run("seed", 1000, 4.0))
    assert "50% of bcrypt's bound 1,000.0/s" in text  # 2 cores x 1,000 hashes/s / 2 hashes per user
    assert "ours/seed-style 2.00x" in text


def test_a_missing_run_leaves_its_ratio_out_instead_of_dividing_by_nothing():
    text = _report(hmac=_run("ours", 1000, 4.0))
    assert "ours/limit -, ours/peer -" in text


def test_percentiles_are_nearest_rank():
    values = [float(i) for i in range(1, 101)]
    assert percentiles(values) == {"p50": 50.0, "p95": 95.0, "p99": 99.0, "max": 100.0}
    assert percentiles([]) == {}


def test_the_workshop_rate_rows_are_compared_with_the_floor_of_the_same_run():
    lat = {"input": 20.0, "produced": 20.0, "p50": 0.5, "p95": 0.9, "p99": 1.0, "max": 1.1}
    floor = Run("floor", 600, 30.0, [{"seconds": 0.25, "records": 10}], latency=lat)
    ours = Run("ours at 20/s", 600, 30.0, [{"seconds": 1.0, "records": 10}], latency={**lat, "p99": 3.5})
    text = _report(floor20=floor, latency20=ours)
    assert (
        "| floor | 20 | 20 | 30 | 600 | 0.50 | 0.90 | 1.00 | 1.10 | 0.25 | 10 records in 0.25 s | - |" in text
    )
    assert "| 1.00 | 10 records in 1.00 s | 4.0x, 3.5x |" in text  # median batch and p99 against the floor
