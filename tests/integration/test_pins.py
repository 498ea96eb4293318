"""The pins install on the oldest Python the set-up accepts (Debian 12's own 3.11.2).

``scripts/setup.sh`` takes any Python 3.11 or newer; a pin whose package needs a later
3.11.x (soupsieve 4.1.3 asked for 3.11.5) stopped ``make run`` at its first step there.
pip resolves ``requirements.txt`` with ``constraints.txt`` in a throwaway venv of that
interpreter (``--dry-run``: nothing is installed).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OLDEST = Path("/usr/bin/python3")  # Debian 12: Python 3.11.2


def _version(python: Path) -> tuple[int, ...]:
    out = subprocess.run(
        [python, "-c", "import sys; print(*sys.version_info[:3])"], capture_output=True, text=True
    )
    return tuple(int(x) for x in out.stdout.split())


def test_pins_resolve_on_the_oldest_accepted_python(tmp_path):
    if not OLDEST.exists() or _version(OLDEST)[:2] != (3, 11):
        pytest.skip(f"{OLDEST} is not a Python 3.11 (the oldest the set-up accepts)")
    venv = tmp_path / "venv"
    made = subprocess.run([OLDEST, "-m", "venv", venv], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"{OLDEST} has no venv module (python3-venv): {made.stderr.strip()[-200:]}")
    cmd = [venv / "bin" / "python", "-m", "pip", "install", "--dry-run", "--quiet"]
    cmd += ["--disable-pip-version-check", "-r", ROOT / "requirements.txt", "-c", ROOT / "constraints.txt"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, f"pins do not resolve on Python {_version(OLDEST)}:\n{out.stderr[-3000:]}"
    assert sys.version_info >= (3, 11)
