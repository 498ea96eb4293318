"""Helpers of the cluster tests: a ``profilepipe`` subprocess with given settings, the input."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def environment(settings, **extra) -> dict[str, str]:
    """The process environment that makes a ``profilepipe`` subprocess use exactly ``settings``."""
    env = dict(os.environ)
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        env[settings.env_name(f.name)] = str(value).lower() if isinstance(value, bool) else str(value)
    env.update(extra)
    return env


def run_profilepipe(args: list[str], env: dict[str, str], timeout: float = 600) -> tuple[str, float]:
    """Run ``profilepipe <args>`` to the end: (stdout, seconds); a failure fails the test."""
    t0 = time.monotonic()
    done = subprocess.run(
        [str(BIN / "profilepipe"), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    seconds = time.monotonic() - t0
    what = f"profilepipe {' '.join(args)} exited {done.returncode}"
    assert done.returncode == 0, f"{what}:\n{done.stdout}\n{done.stderr}"
    return done.stdout, seconds


def expected_stored(users: list[dict], as_of) -> list[dict]:
    """The users the pipeline must store, decided in plain Python (``generator.expected_outcome``)."""
    from profilepipe.sources import generator

    return [u for u in users if generator.expected_outcome(u, as_of) == "stored"]


def send(settings, users: list[dict], bad: list[dict]) -> None:
    """Produce ``users`` and the malformed messages ``bad`` to the topic of ``settings``; all acknowledged."""
    from profilepipe import kafka_client
    from profilepipe.sources import producer

    sent = producer.produce(users, settings, progress=False)
    sent_bad = kafka_client.produce_raw([(m["key"], m["value"]) for m in bad], settings)
    assert (sent.sent, sent.failed, sent_bad.sent, sent_bad.failed) == (len(users), 0, len(bad), 0)
