"""Headless runs of the notebooks with papermill, and JupyterLab for interactive use.

``run_all`` executes ``notebooks/NN_*.ipynb`` in order into ``output/runs/<timestamp>/``
(executed notebooks, plus the PNG figures the notebooks save under ``figures/``). Each
notebook runs with its own folder as working directory, exactly as nbval runs it, and
with the project's kernel (``profilepipe``, registered in the venv by ``make setup``).
The exit code is non-zero on the first failure, and the message names the notebook and
the cell; nothing is left running (the notebooks stop their queries in ``finally``).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from .config import get_settings, project_root

KERNEL = "profilepipe"


def notebook_dir() -> Path:
    return project_root() / "notebooks"


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
            f"executed notebook with the traceback: {out_path}"
        ) from None
    return out_path


class NotebookFailed(RuntimeError):
    pass


def run_all(
    output_dir: str | None = None,
    parameters: dict | None = None,
    raw_keys: set[str] | None = None,
    only: list[str] | None = None,
    timeout: int = 900,
) -> int:
    """Run the notebooks in order; returns a process exit code."""
    import yaml

    settings = get_settings()
    base = Path(output_dir or Path(settings.output_dir) / "runs")
    run_name = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = (base / run_name).resolve()
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    params = {}
    for name, value in (parameters or {}).items():
        params[name] = value if name in (raw_keys or set()) else yaml.safe_load(value)
    books = list_notebooks(only)
    if not books:
        print(f"error: no notebook matches {only}", file=sys.stderr)
        return 2
    print(f"run {run_name}: {len(books)} notebooks -> {out_dir}")
    for book in books:
        started = dt.datetime.now()
        print(f"  {book.name} ...", flush=True)
        try:
            run_one(book, out_dir, params, timeout=timeout)
        except NotebookFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"  {book.name} ok ({(dt.datetime.now() - started).total_seconds():.0f}s)")
    figures = sorted((out_dir / "figures").glob("*.png"))
    print(f"done: {len(books)} notebooks, {len(figures)} figures in {out_dir}")
    latest = base / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(out_dir.name)
    return 0


def lab(start_stack: bool = True, port: int = 8888) -> int:
    """Start JupyterLab in ``notebooks/`` with the project's kernel (stack started first)."""
    if start_stack:
        from . import stack

        stack.up(get_settings())
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        f"--port={port}",
        "--ip=127.0.0.1",
        "--no-browser",
        f"--notebook-dir={notebook_dir()}",
        f"--MultiKernelManager.default_kernel_name={KERNEL}",
    ]
    print(" ".join(cmd))
    return subprocess.call(cmd, env=os.environ.copy())
