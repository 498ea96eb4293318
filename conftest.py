"""nbval settings for the notebooks (pytest --nbval), kept out of notebooks/ so that a student
opening the folder in JupyterLab sees only the notebooks. The hooks act on notebooks only.

Spark's JVM writes its start-up lines to stderr, with timestamps, sometimes attached to a
later cell; tqdm's progress bars go to stderr too. Those are not part of what a notebook
teaches, so stderr is left out of the comparison (nbval's documented ``skip_compare`` hook).
Figures are compared through their text repr, not their pixels.

The kernels run with the reference run's pinned settings (``tests/nbval/reference.env``),
whatever the caller's environment says, so nbval compares like with like.
"""

import os

import pytest

from profilepipe.tools.notebooks import reference_env


def pytest_collectstart(collector):
    if collector.path is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += ("stderr", "text/html", "application/javascript")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before a notebook's kernel starts (its first cell's setup): pin the reference values."""
    if item.path.suffix == ".ipynb":
        os.environ.update(reference_env())
