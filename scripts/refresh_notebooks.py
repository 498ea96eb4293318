"""Re-execute the notebooks in place to refresh the reference outputs nbval compares.

Run it with the stack up, after a change that alters what a notebook shows:

    .venv/bin/python scripts/refresh_notebooks.py            # all notebooks, in order
    .venv/bin/python scripts/refresh_notebooks.py 02 03      # some of them

Outputs come from each notebook's parameters cell with the reference run's settings
(``tests/nbval/reference.env``: seeded generator, fixed ``as_of``), the same values nbval
gives the kernels. stderr outputs (Spark's JVM start-up lines, progress bars)
are dropped: nbval does not compare them (the top conftest.py).
"""

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from profilepipe.tools.notebooks import KERNEL, list_notebooks, reference_env


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
    os.environ.update(reference_env())  # inherited by every kernel started below
    for book in list_notebooks(sys.argv[1:] or None):
        refresh(book)
    from profilepipe.analysis.plots import export_readme_figure

    export_readme_figure()  # docs/figures/: the README figure, copied from notebook 03's output
