"""Where the local stack keeps its files.

* sources  ``stack/<server>/`` of the checkout: POMs, the Mongo launcher source, the log
  configs, the config templates and JVM options (read, never written)
* jars     ``<jars_dir>/<server>/`` (Maven's output, a cache)
* log      ``<stack_dir>/logs/<svc>.log`` (the previous run's log is kept as ``<svc>.log.1``)
* pid      ``<stack_dir>/run/<svc>.pid``
* data     ``<stack_dir>/data/<svc>/``
* conf     ``<stack_dir>/conf/`` (generated from ``Settings`` at every start)
* tmp      ``<stack_dir>/tmp/``
"""

from __future__ import annotations

from pathlib import Path

from profilepipe.config import Settings, project_root


def source_dir() -> Path:
    """``stack/`` of the checkout: POMs, launcher source, logging configs, templates.

    Found beside the package (``lib/profilepipe_stack`` -> ``stack/``) in a checkout
    or an editable install, else under :func:`profilepipe.config.project_root`.
    """
    here = Path(__file__).resolve().parents[2] / "stack"
    return here if (here / "kafka" / "pom.xml").is_file() else project_root() / "stack"


def stack_dir(settings: Settings) -> Path:
    return Path(settings.stack_dir).resolve()


def jars_dir(settings: Settings) -> Path:
    return Path(settings.jars_dir).resolve()


def log_dir(settings: Settings) -> Path:
    """The folder of the services' log files."""
    return stack_dir(settings) / "logs"


def log_path(settings: Settings, svc: str) -> Path:
    return log_dir(settings) / f"{svc}.log"


def pid_path(settings: Settings, svc: str) -> Path:
    return stack_dir(settings) / "run" / f"{svc}.pid"


def data_dir(settings: Settings, svc: str) -> Path:
    return stack_dir(settings) / "data" / svc


def conf_dir(settings: Settings) -> Path:
    return stack_dir(settings) / "conf"


def tmp_dir(settings: Settings) -> Path:
    return stack_dir(settings) / "tmp"


def make_dirs(settings: Settings, svc: str) -> None:
    """Create the folders a service writes to."""
    root = stack_dir(settings)
    for sub in ("logs", "run", "conf", "tmp", f"data/{svc}"):
        (root / sub).mkdir(parents=True, exist_ok=True)
