"""The workshop's real path in a browser: ``profilepipe lab``, then notebook 00 run from the page.

``profilepipe lab --no-stack`` runs as a subprocess on a free port with a known token (the
stack is the running one), headless Chromium (Selenium, ``/usr/bin/chromedriver``) opens
``00_check_stack.ipynb`` in JupyterLab, runs all its cells from the menu (Run > Run All
Cells) and reads "healthy" for kafka, cassandra and mongo off the page. JupyterLab gets a
settings folder of its own with autosave off, so the committed notebook is never rewritten
(the test checks it); JupyterLab is stopped with Ctrl-C at the end, as a user would.

Notebook 05 (the live stream) runs from the page too, as a copy with a short run (``seconds``
set to ``LIVE_SECONDS``, no outputs) in a folder of its own inside the lab's root, removed at
the end: its figure must appear as an image (``<img>``) and never as the text
``<Figure size ...>``; a screenshot of it is saved to ``docs/figures/lab_live_stream.png``.
It needs notebook 02 to have processed the topic first (as the notebook itself says).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid

import nbformat
import pytest

from profilepipe.config import project_root
from profilepipe.tools import notebooks

from support.browser import chromium, free_port, interrupt, wait_until_served

NOTEBOOK = "00_check_stack.ipynb"
SERVICES = ("kafka", "cassandra", "mongo")
KERNEL = "Python (profilepipe)"
LIVE = "05_live_stream.ipynb"
LIVE_SECONDS = 10  # the copy's short run: 100 users at 10 users/s
SCREENSHOT = project_root() / "docs" / "figures" / "lab_live_stream.png"
AUTOSAVE_OFF = ("@jupyterlab/docmanager-extension", "plugin.jupyterlab-settings", {"autosave": False})
NO_NEWS = ("@jupyterlab/apputils-extension", "notification.jupyterlab-settings", {"fetchNews": "false"})


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """``profilepipe lab --no-stack`` on a free port; yields its URL and token; stopped with Ctrl-C."""
    port, token = free_port(), uuid.uuid4().hex
    home = tmp_path_factory.mktemp("lab")
    for folder, name, values in (AUTOSAVE_OFF, NO_NEWS):  # no news toast over the page either
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


def _open(driver, url: str, token: str, path: str) -> None:
    """Open ``path`` (relative to the lab's root) and wait until it is shown, with no dialog
    over it and its kernel (the project's) started and idle."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # reset: the lab's workspace restores the tabs an earlier test opened, and one of them
    # could take the focus (and "Run All Cells") from this notebook while it loads
    driver.get(f"{url}/lab/tree/{path}?reset&token={token}")
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
            f"{path} did not open with an idle {KERNEL!r} kernel: "
            f"kernel {_kernel_name(driver)!r}, dialogs {dialogs}"
        )


def _images(driver) -> list:
    """The images of the output areas that the browser has loaded (decoded, not broken)."""
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output img")
    return [e for e in found if driver.execute_script("return arguments[0].naturalWidth > 0", e)]


def test_notebook_00_run_from_jupyterlab_shows_the_three_services_healthy(lab):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    url, token = lab
    committed = (notebooks.notebook_dir() / NOTEBOOK).read_bytes()
    with chromium() as driver:
        _open(driver, url, token, NOTEBOOK)
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


@pytest.fixture
def live_copy():
    """Notebook 05 with a short run and no outputs, in a folder of its own inside the lab's
    root (a path relative to it); removed at the end."""
    folder = notebooks.notebook_dir() / f"lab-test-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    nb = nbformat.read(notebooks.notebook_dir() / LIVE, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source, n = re.subn(r"^seconds = .*$", f"seconds = {LIVE_SECONDS}", params.source, flags=re.M)
    assert n == 1, "notebook 05's parameters cell sets `seconds`"
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, folder / LIVE)
    try:
        yield f"{folder.name}/{LIVE}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_notebook_05_run_from_jupyterlab_draws_its_live_figure_as_an_image(lab, live_copy):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    url, token = lab
    committed = (notebooks.notebook_dir() / LIVE).read_bytes()
    with chromium() as driver:
        _open(driver, url, token, live_copy)
        _menu(driver, "Run", "Run All Cells")
        try:  # the figure is shown before the first batch, then redrawn; the verdict is the last output
            WebDriverWait(driver, 600, poll_frequency=1).until(
                lambda d: "kept up:" in _outputs(d) or "Traceback" in _outputs(d) or "Error" in _outputs(d)
            )
        except TimeoutException:
            pytest.fail(f"notebook 05 did not finish in the browser; the outputs:\n{_outputs(driver)}")
        text = _outputs(driver)
        assert "Traceback" not in text and "Error" not in text, text
        assert "<Figure size" not in text, "the live figure was shown as text, not as an image"
        assert "warming up Spark on" in text and "query started after" in text
        assert re.search(r"batch \d+: read=\d+ .* processed [\d.]+/s", text), text
        images = _images(driver)
        assert len(images) == 1, f"{len(images)} output images: the live figure, redrawn in place, is one"
        figure = images[0]
        assert figure.get_attribute("src").startswith("data:image/png")
        assert figure.size["width"] > 600 and figure.size["height"] > 200
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", figure)
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(SCREENSHOT))
    assert (notebooks.notebook_dir() / LIVE).read_bytes() == committed, "the test must not save the notebook"


def _read(log) -> str:
    log.seek(0)
    return log.read()
