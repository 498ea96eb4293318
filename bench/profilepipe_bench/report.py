"""The benchmark's Markdown report: one run's tables, every ratio against a run of the same day.

``render(info, results)``. ``results`` holds the ``runs.Run`` of each run by key (``KEYS``),
the producer's summary and bcrypt's own bound. Ratios are computed here, always between
two runs of this report: timings on this machine vary about 2x from day to day, so only
comparisons within one run mean something.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from profilepipe.config import project_root
from profilepipe.pipeline import report as batch_report
from profilepipe_bench.meter import ROLES

#: The runs of a full benchmark, in the order of the main table.
KEYS = (*("alone", "limit", "peer", "hmac", "bcrypt4", "seed4", "bcrypt10", "bcrypt12"),)
#: Stages of the pipeline's batches shown in the stage table (``pipeline.report.STAGES``).
STAGE_COLUMNS = (
    batch_report.PARSED,
    batch_report.AGGREGATES,
    batch_report.ROWS,
    batch_report.DEAD_LETTERS,
    batch_report.MERGED,
)


def _f(x, fmt: str = "{:,.1f}") -> str:
    return "-" if x is None else fmt.format(x)


def _ratio(a, b) -> str:
    return f"{a.rate / b.rate:.2f}x" if a is not None and b is not None and b.rate else "-"


def _times(a: float | None, b: float | None) -> str:
    """``a`` as a multiple of ``b`` (``3.1x``)."""
    return f"{a / b:.1f}x" if a is not None and b else "-"


def comparisons(results: dict) -> dict[str, str]:
    """The ratio column of the main table, by run key."""
    r, bound = results.get, results["bound"]
    out = {}
    if r("hmac"):
        out["hmac"] = f"ours/limit {_ratio(r('hmac'), r('limit'))}, ours/peer {_ratio(r('hmac'), r('peer'))}"
    if r("limit") and r("alone"):
        out["limit"] = f"{_ratio(r('limit'), r('alone'))} of the store alone"
    if r("peer"):
        out["peer"] = f"peer/limit {_ratio(r('peer'), r('limit'))}"
    for cost in (4, 10, 12):
        run = r(f"bcrypt{cost}")
        if run:
            best = results["cores"] * bound[cost] / 2  # two hashes (phone, address) per user
            out[f"bcrypt{cost}"] = f"{run.rate / best:.0%} of bcrypt's bound {best:,.1f}/s"
    if r("seed4") and r("bcrypt4"):
        out["seed4"] = f"ours/seed-style {_ratio(r('bcrypt4'), r('seed4'))}"
    return out


def write(text: str, name: str) -> Path:
    """Print a report and write it to ``bench/results/<name>.md``; returns the file."""
    out = project_root() / "bench" / "results" / f"{name}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"written: {out}")
    return out


def render(info: dict, results: dict) -> str:
    """The whole report (Markdown)."""
    runs = [(k, results[k]) for k in KEYS if results.get(k)]
    ratio = comparisons(results)
    prod = results.get("producer")
    lines = [
        f"# Benchmark {info['date']}",
        "",
        f"Machine: {info['cores']} cores, {info['memory_gib']:.0f} GiB, every server on it; "
        + ", ".join(f"{k} {v}" for k, v in info["versions"].items()),
        "",
        f"Input: {info['users']:,} generated v1.4 users (adults), micro-batches of up to "
        f"{info['batch']:,} records (the throughput mode), each run its own table, collection and "
        "checkpoint; rate = users / (end of the last batch - start of the first).",
        *_table(
            "Throughput",
            ("run", "users", "seconds", "users/s", "batches", "median batch s", "compared (same run)"),
        ),
    ]
    if prod is not None:
        lines.append(
            f"| producer (kafka-python, acks=all) | {prod.sent:,} | {prod.seconds:.1f} | "
            f"{prod.users_per_s:,.0f} | - | - | target 20,000/s |"
        )
    for key, run in runs:
        lines.append(
            f"| {run.name} | {run.users:,} | {run.seconds:.1f} | {run.rate:,.0f} | "
            f"{len(run.batches) or '-'} | {_f(run.median('seconds'), '{:.2f}')} | "
            f"{ratio.get(key, run.note)} |"
        )
    lines += _table(
        "Where a batch goes (the pipeline's runs; median seconds per batch; mongo is the applier's "
        "merge, beside the next batch, not part of the batch's seconds)",
        ("run", "records", *STAGE_COLUMNS, "batch", "between batches", "Spark jobs"),
        text_columns=(0,),
    )
    every = runs + [(k, results[k]) for k in LATENCY_KEYS if results.get(k)]
    for _key, run in every:
        if not run.batches or "jobs" not in run.batches[0]:
            continue
        gaps = _between(run.batches)
        cells = [_f(run.stage_median(s), "{:.2f}") for s in STAGE_COLUMNS]
        lines.append(
            f"| {run.name} | {_f(run.median('records'), '{:,.0f}')} | " + " | ".join(cells) + " | "
            f"{_f(run.median('seconds'), '{:.2f}')} | {_f(gaps, '{:.2f}')} | "
            f"{_f(run.median('jobs'), '{:.0f}')} |"
        )
    lines += _latency_lines(results)
    lines += _table(
        "Where the cores go (CPU seconds per 1,000 users, by process)",
        ("run", *ROLES, "all", "cores busy"),
        text_columns=(0,),
    )
    for _key, run in every:
        if not run.users or not run.cpu:
            continue
        per = [run.cpu.get(role, 0.0) * 1000 / run.users for role in ROLES]
        total = sum(run.cpu.values())
        lines.append(
            f"| {run.name} | "
            + " | ".join(f"{x:.2f}" for x in per)
            + f" | {sum(per):.2f} | {total / (run.wall or run.seconds):.2f} of {info['cores']} |"
        )
    peak: dict[str, float] = {}
    for _key, run in every:
        for role, mb in run.peak.items():
            peak[role] = max(peak.get(role, 0.0), mb)
    lines += [
        "",
        "Peak resident memory over all runs: "
        + ", ".join(f"{role} {peak[role]:,.0f} MiB" for role in ROLES if role in peak),
        "",
        "bcrypt on this machine (one thread): "
        + ", ".join(f"cost {c}: {r:,.1f} hashes/s" for c, r in results["bound"].items()),
        "",
    ]
    return "\n".join(lines) + "\n"


def _between(batches: list[dict]) -> float | None:
    """Median seconds from the end of a batch to the start of the next (Spark's own work between them)."""
    ends = sorted((b["started_at"], b["finished_at"]) for b in batches if b.get("started_at"))
    gaps = [nxt[0] - prev[1] for prev, nxt in zip(ends, ends[1:], strict=False)]
    return statistics.median_high(gaps) if gaps else None


def _table(title: str, columns: tuple[str, ...], text_columns: tuple[int, ...] = (0, -1)) -> list[str]:
    """A section title and a Markdown table head; numbers right-aligned, ``text_columns`` left."""
    text = {i % len(columns) for i in text_columns}
    align = ["---" if i in text else "---:" for i in range(len(columns))]
    return ["", f"## {title}", "", "| " + " | ".join(columns) + " |", "|" + "|".join(align) + "|"]


#: The latency runs: Spark's floor first, then ours at a workshop's rate and under load.
LATENCY_KEYS = ("floor20", "latency20", "latency10b4", "latency1000", "latency5000")


def _latency_lines(results: dict) -> list[str]:
    out = _table(
        "Latency (Kafka timestamp -> Cassandra write time; the floor: -> end of its batch)",
        ("run", "input /s", "produced /s", "seconds", "rows", "p50 s", "p95 s", "p99 s", "max s")
        + ("first batch s", "median batch", "vs the floor (median batch, p99)"),
        text_columns=(0, -2, -1),
    )
    base = results.get("floor20")
    for key in LATENCY_KEYS:
        run = results.get(key)
        if not run:
            continue
        lat = run.latency
        first = run.batches[0]["seconds"] if run.batches else None
        versus = "-"
        if base is not None and key in ("latency20", "latency10b4"):
            versus = (
                f"{_times(run.median('seconds'), base.median('seconds'))}, "
                f"{_times(lat.get('p99'), base.latency.get('p99'))}"
            )
        out.append(
            f"| {run.name} | {lat['input']:,.0f} | {lat['produced']:,.0f} | {run.seconds:.0f} | "
            f"{run.users:,} | "
            + " | ".join(_f(lat.get(p), "{:.2f}") for p in ("p50", "p95", "p99", "max"))
            + f" | {_f(first, '{:.2f}')} | {_f(run.median('records'), '{:,.0f}')} records in "
            f"{_f(run.median('seconds'), '{:.2f}')} s | {versus} |"
        )
    return out
