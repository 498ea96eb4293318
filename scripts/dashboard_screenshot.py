"""Take docs/figures/dashboard.png: the live dashboard over a stream of its own.

Run it with the stack up:

    .venv/bin/python scripts/dashboard_screenshot.py [--seconds 150] [--rate 25]

It never touches the default topics, table or collections: it creates a pipeline of its
own (topic, table, collections, checkpoint, like the integration tests' ``isolated``),
produces generated users at ``--rate`` per second (plus a few malformed messages) while the
stream runs for ``--seconds`` (hmac mode, a random key), serves the dashboard on a free
port, photographs it in headless Chromium (``/usr/bin/chromium``, ``/usr/bin/chromedriver``)
and drops what it created.
"""

from __future__ import annotations

import argparse
import secrets
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from profilepipe.analysis import dashboard
from profilepipe.config import get_settings, project_root
from profilepipe.pipeline import stream
from profilepipe.sources import generator, producer
from profilepipe.tools import reset
from profilepipe_stack import stack

OUT = project_root() / "docs" / "figures" / "dashboard.png"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def own_pipeline(checkpoints: Path):
    tag = uuid.uuid4().hex[:8]
    settings = get_settings().replace(
        kafka_topic=f"shot_users_{tag}",
        cassandra_table=f"users_shot_{tag}",
        mongo_collection=f"agg_shot_{tag}",
        checkpoint_dir=str(checkpoints / "q"),
        pii_mode="hmac",
        hmac_key=secrets.token_hex(32),
        dashboard_port=free_port(),
        trigger_seconds=5.0,
    )
    stack.ensure_topics(settings)
    stack.ensure_schema(settings)
    return settings


def photograph(url: str, out: Path) -> None:
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(url)
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "users-held"))
        sizes = "return [document.body.scrollHeight, window.outerHeight - window.innerHeight]"
        for _ in range(3):  # the charts draw after the numbers: grow the window until the page fits
            time.sleep(2)
            height, chrome = driver.execute_script(sizes)
            driver.set_window_size(1400, height + chrome)
        driver.save_screenshot(str(out))
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=150.0, help="how long the stream runs")
    parser.add_argument("--rate", type=float, default=25.0, help="users per second")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = own_pipeline(Path(tmp))
        server = dashboard.bind(settings)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            users = generator.generate_users(int(args.seconds * args.rate * 0.8), seed=uuid.uuid4().hex)
            bad = generator.malformed_messages(12)
            sender = threading.Thread(
                target=producer.produce,
                args=(users, settings),
                kwargs={"rate": args.rate, "progress": False, "extra_messages": bad},
                daemon=True,
            )
            sender.start()
            result = stream.run(settings, seconds=args.seconds, progress=print)
            print(result.describe())
            photograph(dashboard.url(settings), OUT)
            print(f"wrote {OUT}")
        finally:
            server.shutdown()
            reset.remove_all(settings)


if __name__ == "__main__":
    main()
