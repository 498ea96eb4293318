"""Headless runs of the notebooks with papermill, and JupyterLab for interactive use.

``run_all`` executes ``notebooks/NN_*.ipynb`` in order into ``output/runs/<timestamp>/``
(executed notebooks, plus the PNG figures the notebooks save under ``figures/``). Each
notebook runs with its own folder as working directory, exactly as nbval runs it, and
with the project's kernel (``profilepipe``, registered in the venv by ``make setup``).

The console gets one line per notebook. Everything else the kernels and their JVMs write
(Spark's WARN lines, Java stack traces at shutdown, Jupyter's transport warnings) goes
to ``<run>/run.log``, whose path is printed; a failure prints its cause and that path.

Exit codes (for cron and Airflow): 0 all notebooks passed; ``EXIT_FAILED`` (1) a notebook
failed; ``EXIT_AUDIT`` (3) the privacy audit (notebook 04) raised ``AuditFindings``, which
``profilepipe audit`` exits 3 on as well, or the stream (notebook 02) ``DataLoss``, as
``profilepipe stream`` does.
``append=True`` keeps what earlier runs stored (notebook 01 does not reset, notebook 04
does not forget its demo user): the mode for scheduled runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from profilepipe.config import Settings, get_settings, project_root
from profilepipe.errors import AuditFindings, DataLoss, NotebookFailed

KERNEL = "profilepipe"
EXIT_FAILED, EXIT_AUDIT = NotebookFailed.exit_code, AuditFindings.exit_code
#: parameters ``append=True`` sets: no reset before producing, no demo erasure
APPEND_PARAMETERS = {"fresh_start": False, "forget_demo_user": False}


def notebook_dir() -> Path:
    return project_root() / "notebooks"


def reference_env() -> dict[str, str]:
    """The reference run's pinned ``PROFILEPIPE_*`` values (``tests/nbval/reference.env``).

    nbval (the repository's top ``conftest.py``) and ``scripts/refresh_notebooks.py`` put them in the
    kernels' environment, so the committed outputs do not depend on the caller's.
    """
    values = {}
    for line in (project_root() / "tests" / "nbval" / "reference.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def list_notebooks(only: list[str] | None = None) -> list[Path]:
    """The numbered notebooks in order; ``only`` filters by number or name."""
    books = sorted(p for p in notebook_dir().glob("[0-9][0-9]_*.ipynb"))
    if only:
        books = [b for b in books if any(b.name.startswith(o) or b.stem == o or o in b.stem for o in only)]
    return books


def run_one(path: Path, out_dir: Path, parameters: dict, timeout: int = 900) -> Path:
    """Execute one notebook; raise ``NotebookFailed`` naming the notebook and cell."""
    import papermill as pm

    out_path = out_dir / path.name
    params = dict(parameters)
    params.setdefault("output_dir", str(out_dir))
    known = pm.inspect_notebook(str(path))
    params = {k: v for k, v in params.items() if k in known}
    try:
        pm.execute_notebook(
            str(path),
            str(out_path),
            parameters=params,
            kernel_name=KERNEL,
            cwd=str(path.parent),
            execution_timeout=timeout,
            progress_bar=False,
            log_output=False,
            report_mode=False,
        )
    except pm.PapermillExecutionError as exc:
        raise NotebookFailed(
            f"{path.name}: cell {exc.exec_count} failed: {exc.ename}: {exc.evalue}\n"
            f"executed notebook with the traceback: {out_path}",
            ename=exc.ename,
        ) from None
    return out_path


@contextlib.contextmanager
def _output_to(log_path: Path):
    """Point this process's stdout and stderr (file descriptors 1 and 2, inherited by the
    kernels and their JVMs) at ``log_path``; yields a writer to the original console."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    console = os.fdopen(os.dup(saved[0]), "w", buffering=1)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield console
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            console.close()


@contextlib.contextmanager
def _spark_log(log_path: Path):
    """The kernels started meanwhile log their Spark JVM to ``log_path`` (``Settings.spark_log``)."""
    name = Settings.env_name("spark_log")
    before = os.environ.get(name)
    os.environ[name] = str(log_path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def run_all(
    output_dir: str | None = None,
    parameters: dict | None = None,
    raw_keys: set[str] | None = None,
    only: list[str] | None = None,
    timeout: int = 900,
    append: bool = False,
) -> int:
    """Run the notebooks in order; returns a process exit code (see the module docstring)."""
    import yaml

    settings = get_settings()
    base = Path(output_dir or Path(settings.output_dir) / "runs")
    run_name = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = (base / run_name).resolve()
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    params = dict(APPEND_PARAMETERS) if append else {}
    for name, value in (parameters or {}).items():
        params[name] = value if name in (raw_keys or set()) else yaml.safe_load(value)
    books = list_notebooks(only)
    if not books:
        print(f"error: no notebook matches {only}", file=sys.stderr)
        return 2
    log = out_dir / "run.log"
    mode = " (append)" if append else ""
    print(f"run {run_name}{mode}: {len(books)} notebooks -> {out_dir} (log: {log})", flush=True)
    failure = None
    with _output_to(log) as console, _spark_log(log):
        for book in books:
            started = time.monotonic()
            console.write(f"  {book.name} ...")
            try:
                run_one(book, out_dir, params, timeout=timeout)
            except NotebookFailed as exc:
                console.write(" FAILED\n")
                failure = exc
                break
            console.write(f" ok ({time.monotonic() - started:.0f}s)\n")
    if failure is not None:
        print(f"error: {failure}\nlog of the kernels and Spark: {log}", file=sys.stderr)
        return EXIT_AUDIT if failure.ename in (AuditFindings.__name__, DataLoss.__name__) else EXIT_FAILED
    figures = sorted((out_dir / "figures").glob("*.png"))
    print(f"done: {len(books)} notebooks, {len(figures)} figures in {out_dir}")
    latest = base / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(out_dir.name)
    return 0


def lab_command(port: int, as_root: bool) -> list[str]:
    """The JupyterLab command line; ``--allow-root`` only for root (JupyterLab refuses root without it)."""
    cmd = [sys.executable, "-m", "jupyter", "lab", f"--port={port}", "--ip=127.0.0.1", "--no-browser"]
    cmd += [f"--notebook-dir={notebook_dir()}", f"--MultiKernelManager.default_kernel_name={KERNEL}"]
    return cmd + (["--allow-root"] if as_root else [])


LAB_PAGE_CONFIG = {"buildCheck": False, "buildAvailable": False}


def lab_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """JupyterLab's environment: Spark's web UI on for its kernels (unless the environment
    says otherwise), and its page config says no build check.

    Dash ships a source JupyterLab extension (``@plotly/dash-jupyterlab``), so JupyterLab
    opens with a modal "Build Recommended" dialog over the notebook; a build needs Node.js
    and the prebuilt extensions work without it. The page config (``labconfig/page_config.json``
    under ``.cache/jupyter-config``, first on ``JUPYTER_CONFIG_PATH``) turns the check off.
    """
    env = dict(os.environ if environ is None else environ)
    env.setdefault(Settings.env_name("spark_ui"), "true")  # interactive: the UI's streaming tab
    config = project_root() / ".cache" / "jupyter-config"
    page = config / "labconfig" / "page_config.json"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(json.dumps(LAB_PAGE_CONFIG) + "\n")
    paths = [str(config), env.get("JUPYTER_CONFIG_PATH", "")]
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(p for p in paths if p)
    return env


def lab(start_stack: bool = True, port: int = 8888) -> int:
    """Start JupyterLab in ``notebooks/`` with the project's kernel (stack started first).

    A port in use, or JupyterLab stopping with an error, is said in one line (its last one).
    """
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            print(f"error: port {port} is in use; pick another with --port", file=sys.stderr)
            return EXIT_FAILED
    if start_stack:
        from profilepipe_stack import stack

        stack.up(get_settings())
    cmd = lab_command(port, as_root=os.geteuid() == 0)
    print(" ".join(cmd))
    proc = subprocess.Popen(cmd, env=lab_env(), stderr=subprocess.PIPE, text=True)
    last = ""
    assert proc.stderr is not None
    try:
        for line in proc.stderr:  # JupyterLab logs to stderr: pass it on, keep the last line
            sys.stderr.write(line)
            last = line.strip() or last
    except KeyboardInterrupt:  # Ctrl-C reached JupyterLab too (one process group): it shuts down
        pass
    rc = proc.wait()
    if rc not in (0, -signal.SIGINT, 130):
        print(f"error: JupyterLab stopped (exit {rc}): {last}", file=sys.stderr)
    return rc


def unrendered_figures(nb) -> list[str]:
    """Outputs of a notebook (``nbformat`` node or its JSON) that show a figure only as text.

    A matplotlib ``Figure`` displayed without a PNG formatter (pyplot never imported) is the
    text ``<Figure size 1100x380 with 2 Axes>`` and no image; one entry per such output:
    ``code cell N: <its text>``.
    """
    found = []
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for n, cell in enumerate(code):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            text = data.get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            if text.startswith("<Figure") and "image/png" not in data:
                found.append(f"code cell {n}: {text.strip()[:80]}")
    return found
