"""The unit tier: no Spark, no servers, seconds (``make test-unit``).

The shared fixtures (settings, the hand-written users) are in ``tests/conftest.py``. A test
that starts Spark belongs in ``tests/spark``: the check below fails the run if one did.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def no_spark_in_the_unit_tier():
    yield
    context = sys.modules.get("pyspark") and sys.modules["pyspark"].SparkContext._active_spark_context
    if context is not None:
        pytest.fail("a unit test started Spark: move it to tests/spark", pytrace=False)


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> dict[str, Path]:
    """A throwaway CA and a client certificate it signed (PEM files), made with the openssl CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl CLI is needed to create a throwaway CA (cryptography is not installed)")
    d = tmp_path_factory.mktemp("pki")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=d)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=profilepipe test CA",
        "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=profilepipe client",
        "-keyout", "client.key", "-out", "client.csr")  # fmt: skip
    run("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-out", "client.pem")  # fmt: skip
    (d / "client-combined.pem").write_text((d / "client.pem").read_text() + (d / "client.key").read_text())
    return {
        "ca": d / "ca.pem",
        "cert": d / "client.pem",
        "key": d / "client.key",
        "combined": d / "client-combined.pem",
    }
