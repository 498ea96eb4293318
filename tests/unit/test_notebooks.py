"""The committed notebooks: parameters cell, no error outputs, short cells, the project kernel;
committed and executed ones (the last ``profilepipe run``) show no JVM log line."""

import re
from pathlib import Path

import nbformat
import pytest

from profilepipe.analysis import plots
from profilepipe.config import get_settings
from profilepipe.tools.notebooks import KERNEL, list_notebooks

BOOKS = list_notebooks()
EXECUTED = sorted((Path(get_settings().output_dir) / "runs" / "latest").glob("*.ipynb"))
JVM_NOISE = re.compile(
    r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d (TRACE|DEBUG|INFO|WARN|ERROR) "  # Spark's console layout
    r"|^(WARN|ERROR) [\w.$]+: "
    r"|Using Spark's default log4j profile|Setting default log level to"
    r"|^\s+at [\w$.<>]+\([\w$]+\.(java|scala):\d+\)"  # a Java stack frame
    r"|^Exception in thread |^WARNING: Using incubator modules",  # the JVM's own
    re.M,
)


def test_the_numbered_walkthrough_is_there():
    names = [b.stem for b in BOOKS]
    assert names[:4] == [
        "00_check_stack",
        "01_produce_users",
        "02_stream_transform_store",
        "03_analyse_aggregates",
    ]


@pytest.mark.parametrize("path", BOOKS, ids=lambda p: p.stem)
def test_notebook_has_a_parameters_cell_and_no_error_output(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters' (papermill)"
    assert code[0] is tagged[0], "the parameters cell comes before any other code"
    errors = [o for c in code for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, f"committed with an error output: {errors[0].get('ename')}"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert nb.metadata.kernelspec.name == KERNEL


@pytest.mark.parametrize("path", BOOKS + EXECUTED, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_outputs_hold_no_jvm_log_line(path):
    """Spark's log lines go to its log file (``PROFILEPIPE_SPARK_LOG``), never into a cell."""
    nb = nbformat.read(path, as_version=4)
    for n, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        for out in cell.get("outputs", []):
            text = out.get("text", "") if out.output_type == "stream" else str(out.get("data", {}))
            found = JVM_NOISE.search(text)
            assert not found, f"code cell {n} shows a JVM log line: {text[found.start() :][:200]!r}"


def test_the_noise_pattern_knows_the_lines_it_is_for():
    seen = [
        "26/12/02 15:01:02 WARN NativeCodeLoader: Unable to load native-hadoop library",
        "Using Spark's default log4j profile: org/apache/spark/log4j2-defaults.properties",
        "WARN FunctionResolution: Two-parameter TRIM/LTRIM/RTRIM function signatures are deprecated",
        "WARNING: Using incubator modules: jdk.incubator.vector",
        "\tat org.apache.spark.scheduler.DAGScheduler.runJob(DAGScheduler.scala:1009)",
    ]
    assert all(JVM_NOISE.search(line) for line in seen)
    assert not JVM_NOISE.search("batch 3: 30 read, 27 stored, 2 filtered_minor, 1 dead_letter")


@pytest.mark.parametrize("path", BOOKS, ids=lambda p: p.stem)
def test_cells_stay_short_and_logic_lives_in_the_package(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert len(cell.source.splitlines()) <= 15, f"a {len(cell.source.splitlines())}-line cell"
            assert "sys.path" not in cell.source and "def " not in cell.source


@pytest.mark.parametrize("path", BOOKS, ids=lambda p: p.stem)
def test_reference_outputs_are_committed(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    executed = [c for c in code if c.get("execution_count")]
    assert len(executed) == len(code), "run scripts/refresh_notebooks.py to commit reference outputs"


def _docs():
    docs = []
    for dim, keys in {
        "nationality": {"GB": 40, "FR": 25, "IR": 3},
        "gender": {"female": 30, "male": 38},
        "age_band": {"18-24": 10, "25-34": 20, "65+": 2},
        "country_gender": {"France|female": 12, "France|male": 13, "Iran|male": 3},
        "nationality_gender": {"FR|female": 12, "FR|male": 13, "IR|male": 3},
        "email_domain": {"example.com": 68},
        "registered_year": {"2019": 30, "2020": 38},
        "ingested_minute": {"2026-06-01T10:00": 68},
    }.items():
        for key, count in keys.items():
            docs.append(
                {
                    "dimension": dim,
                    "key": key,
                    "count": count,
                    "age_sum": count * 40,
                    "avg_age": 40.0,
                    "suppressed": count < 5,
                }
            )
    return docs


def test_every_figure_is_saved_as_a_non_empty_png(tmp_path):
    paths = plots.save_all(_docs(), tmp_path, k=5)
    assert set(paths) == set(plots.FIGURES) and len(paths) == 9  # the original seven and two new ones
    for path in paths.values():
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_suppressed_groups_are_left_out_and_announced():
    ax = plots.plot_counts(_docs(), "nationality", k=5)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["GB"]  # IR (3 users) is suppressed, and FR with it: 68 - 40 - FR would be IR
    note = "1 group(s) with fewer than 5 users suppressed, 1 more that would give one away"
    assert any(note in t.get_text() for t in ax.texts)
    assert ax.get_title() == "Users by nationality"


@pytest.mark.parametrize("path", BOOKS, ids=lambda p: p.stem)
def test_the_test_harness_stays_out_of_the_students_path(path):
    """What nbval needs is cell metadata (``nbval-ignore-output``), never a comment or a word a
    student reads; the reference settings and sanitizers live in tests/nbval/, not notebooks/."""
    nb = nbformat.read(path, as_version=4)
    harness = re.compile(r"(?i)nbval|papermill|reference\.env|sanitiz|conftest")
    for n, cell in enumerate(nb.cells):
        found = harness.search(cell.source)
        assert not found, f"cell {n} ({cell.cell_type}) mentions {found.group()!r}"
    assert sorted(p.name for p in path.parent.iterdir() if p.is_file() and p.suffix != ".ipynb") == []
