"""Headless Chromium for the browser tests (Selenium with the system's ChromeDriver), a free port,
and waiting for a server process to answer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator:
    """A headless Chromium driven through ``/usr/bin/chromedriver`` (no Selenium Manager); quit at the end."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: install chromium and chromium-driver "
            "(`apt-get install chromium chromium-driver`; `make setup` does as root)",
            pytrace=False,
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={width},{height}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_until_served(
    proc: subprocess.Popen, url: str, what: str, output: Callable[[], str], timeout: float = 120.0
) -> None:
    """Wait until ``url`` answers 200; fail with ``output()`` if ``proc`` (``what``) exits first."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}:\n{output()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not answer on {url} in {timeout:.0f} s")
        time.sleep(0.3)


def interrupt(proc: subprocess.Popen, times: int = 1, timeout: float = 20.0) -> None:
    """Ctrl-C ``proc`` ``times`` times (half a second apart); killed if it has not ended in ``timeout`` s."""
    for n in range(times):
        if n:
            time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
