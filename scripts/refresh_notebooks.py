"""Re-execute the notebooks in place to refresh the reference outputs nbval compares.

Run it with the stack up, after a change that alters what a notebook shows:

    .venv/bin/python scripts/refresh_notebooks.py            # all notebooks, in order
    .venv/bin/python scripts/refresh_notebooks.py 02 03      # some of them

Outputs come from the deterministic defaults of each notebook's parameters cell (seeded
generator, fixed ``as_of``). stderr outputs (Spark's JVM start-up lines, progress bars)
are dropped: nbval does not compare them (notebooks/conftest.py).
"""

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from profilepipe.notebooks import KERNEL, list_notebooks


def refresh(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, kernel_name=KERNEL, timeout=1800, resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")]
    nbformat.write(nb, path)
    print(f"refreshed {path.name}")


if __name__ == "__main__":
    for book in list_notebooks(sys.argv[1:] or None):
        refresh(book)
