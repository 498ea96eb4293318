"""nbval settings for the notebooks (pytest --nbval).

Spark's JVM writes its start-up lines to stderr, with timestamps, sometimes attached to a
later cell; tqdm's progress bars go to stderr too. Those are not part of what a notebook
teaches, so stderr is left out of the comparison (nbval's documented ``skip_compare`` hook).
Figures are compared through their text repr, not their pixels.
"""


def pytest_collectstart(collector):
    if collector.path is not None and collector.path.suffix == ".ipynb":
        collector.skip_compare += ("stderr", "text/html", "application/javascript")
