"""The workshop's real path in a browser: ``profilepipe lab``, then notebook 00 run from the page.

``profilepipe lab --no-stack`` runs as a subprocess on a free port with a known token (the
stack is the running one), headless Chromium (Selenium, ``/usr/bin/chromedriver``) opens
``00_check_stack.ipynb`` in JupyterLab, runs all its cells from the menu (Run > Run All
Cells) and reads "healthy" for kafka, cassandra and mongo off the page. JupyterLab gets a
settings folder of its own with autosave off, so the committed notebook is never rewritten
(the test checks it); JupyterLab is stopped with Ctrl-C at the end, as a user would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid

import pytest

from profilepipe.tools import notebooks

from support.browser import chromium, free_port, interrupt, wait_until_served

NOTEBOOK = "00_check_stack.ipynb"
SERVICES = ("kafka", "cassandra", "mongo")
KERNEL = "Python (profilepipe)"
AUTOSAVE_OFF = ("@jupyterlab/docmanager-extension", "plugin.jupyterlab-settings", {"autosave": False})


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """``profilepipe lab --no-stack`` on a free port; yields its URL and token; stopped with Ctrl-C."""
    port, token = free_port(), uuid.uuid4().hex
    home = tmp_path_factory.mktemp("lab")
    folder, name, values = AUTOSAVE_OFF
    (home / "settings" / folder).mkdir(parents=True)
    (home / "settings" / folder / name).write_text(json.dumps(values))
    env = {
        **os.environ,
        "JUPYTER_TOKEN": token,  # JupyterLab's IdentityProvider.token
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    cmd = [sys.executable, "-m", "profilepipe.cli", "lab", "--no-stack", "--port", str(port)]
    log = (home / "lab.log").open("w+")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_served(proc, f"{url}/api/status?token={token}", "profilepipe lab", lambda: _read(log))
        yield url, token
    finally:
        interrupt(proc, times=2, timeout=30)  # JupyterLab asks to confirm one Ctrl-C: a second one stops it
        log.close()


def _menu(driver, menu: str, item: str, timeout: float = 30.0) -> None:
    """Open ``menu`` of JupyterLab's menu bar and choose ``item``, as a pointer does.

    Lumino's menu bar opens on pointer down, so the click is a press and a release; the item
    is found by its label (its command id is JupyterLab's business).
    """
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def label(css: str, text: str):
        found = [e for e in driver.find_elements(By.CSS_SELECTOR, css) if e.text.strip() == text]
        return found[0] if found and found[0].is_displayed() else None

    bar = WebDriverWait(driver, timeout).until(lambda d: label("li.lm-MenuBar-item", menu), f"no {menu} menu")
    ActionChains(driver).move_to_element(bar).click_and_hold().release().perform()
    entry = WebDriverWait(driver, timeout).until(
        lambda d: label(".lm-Menu li.lm-Menu-item .lm-Menu-itemLabel", item),
        f"no {item!r} in the {menu} menu",
    )
    ActionChains(driver).move_to_element(entry).click().perform()


def _outputs(driver) -> str:
    from selenium.webdriver.common.by import By

    return "\n".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output"))


def _kernel_name(driver) -> str | None:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, ".jp-Toolbar-kernelName")
    return found[0].text.strip() if found else None


def _kernel_idle(driver) -> bool:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, ".jp-Notebook-ExecutionIndicator")
    return bool(found) and found[0].get_attribute("data-status") == "idle"


def test_notebook_00_run_from_jupyterlab_shows_the_three_services_healthy(lab):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, token = lab
    committed = (notebooks.notebook_dir() / NOTEBOOK).read_bytes()
    with chromium() as driver:
        driver.get(f"{url}/lab/tree/{NOTEBOOK}?token={token}")
        # the notebook is open, no dialog over it, and its kernel (the project's) has started
        try:
            WebDriverWait(driver, 120, poll_frequency=0.5).until(
                lambda d: (
                    d.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")
                    and _kernel_name(d) == KERNEL
                    and _kernel_idle(d)
                )
            )
        except TimeoutException:
            dialogs = [d.text for d in driver.find_elements(By.CSS_SELECTOR, ".jp-Dialog")]
            pytest.fail(
                f"notebook 00 did not open with an idle {KERNEL!r} kernel: kernel {_kernel_name(driver)!r}, "
                f"dialogs {dialogs}"
            )
        _menu(driver, "Run", "Run All Cells")
        pattern = {svc: re.compile(rf"^{svc}\s+healthy\b", re.M) for svc in SERVICES}
        try:
            WebDriverWait(driver, 240, poll_frequency=0.5).until(
                lambda d: (
                    all(p.search(_outputs(d)) for p in pattern.values())
                    and "{'kafka': True, 'cassandra': True, 'mongo': True}" in _outputs(d)
                )
            )
        except TimeoutException:
            pytest.fail(f"notebook 00 did not show three services healthy; the outputs:\n{_outputs(driver)}")
        text = _outputs(driver)
        assert "Traceback" not in text and "Error" not in text
        assert "source generator" in text  # the last cell ran too
    assert (notebooks.notebook_dir() / NOTEBOOK).read_bytes() == committed, (
        "the test must not save the notebook"
    )


def _read(log) -> str:
    log.seek(0)
    return log.read()
