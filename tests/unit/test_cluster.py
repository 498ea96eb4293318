"""The package zip, the masters and the cluster command's options (nothing runs; the command
lines found in pyspark's installation: tests/spark/test_cluster_commands.py)."""

from __future__ import annotations

import zipfile

from profilepipe.cli import build_parser
from profilepipe.pipeline import spark


def test_package_zip_holds_the_package_and_its_data_without_caches():
    with zipfile.ZipFile(spark.package_zip()) as zf:
        names = zf.namelist()
    assert "profilepipe/__init__.py" in names and "profilepipe/contract.py" in names
    assert "profilepipe/tools/submit.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_local_and_cluster_masters():
    assert spark.is_local("local[*]") and not spark.is_local("spark://127.0.0.1:7077")
    assert spark.on_this_machine("spark://127.0.0.1:7077") and not spark.on_this_machine("yarn")


def test_cli_cluster_submit_passes_the_stream_options():
    args = build_parser().parse_args(["cluster", "submit", "--until-idle", "-v"])
    assert (args.action, args.stream_args) == ("submit", ["--until-idle", "-v"])
    assert build_parser().parse_args(["cluster", "status"]).stream_args == []
