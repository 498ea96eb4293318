"""The local Spark cluster's command lines, the package zip and the spark-submit command (nothing runs)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from profilepipe.cli import build_parser
from profilepipe.config import Settings
from profilepipe.pipeline import spark
from profilepipe.tools import submit
from profilepipe_stack import cluster


def test_master_and_workers_command_lines(tmp_path):
    settings = Settings(stack_dir=str(tmp_path), spark_workers=2, spark_worker_cores=1)
    assert cluster.names(settings) == ["spark-master", "spark-worker-1", "spark-worker-2"]
    master = cluster.command(settings, "spark-master")
    assert Path(master[0]).name == "spark-class" and master[1] == cluster.MASTER_CLASS
    assert master[2:] == ["--host", "127.0.0.1", "--port", "7077", "--webui-port", "8180"]
    worker = cluster.command(settings, "spark-worker-2")
    assert worker[1] == cluster.WORKER_CLASS and worker[-1] == "spark://127.0.0.1:7077"
    assert worker[worker.index("--cores") + 1] == "1" and worker[worker.index("--webui-port") + 1] == "8182"
    assert worker[worker.index("--work-dir") + 1] == str(tmp_path.resolve() / "data/spark-worker-2/work")
    env = cluster.environment(settings, "spark-worker-2")
    assert env["SPARK_DAEMON_JAVA_OPTS"].split() == list(cluster.marks(settings, "spark-worker-2").args)


def test_package_zip_holds_the_package_and_its_data_without_caches():
    with zipfile.ZipFile(spark.package_zip()) as zf:
        names = zf.namelist()
    assert "profilepipe/__init__.py" in names and "profilepipe/contract.py" in names
    assert "profilepipe/tools/submit.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_local_and_cluster_masters():
    assert spark.is_local("local[*]") and not spark.is_local("spark://127.0.0.1:7077")
    assert spark.on_this_machine("spark://127.0.0.1:7077") and not spark.on_this_machine("yarn")


def test_spark_submit_command_runs_the_stream_with_the_zip():
    cmd = submit.command(Settings(), ["--until-idle"])
    assert Path(cmd[0]).name == "spark-submit"
    assert cmd[cmd.index("--master") + 1] == "spark://127.0.0.1:7077"  # local[*] -> the local cluster
    assert Path(cmd[cmd.index("--py-files") + 1]).name == "profilepipe.zip"
    assert cmd[-2:] == [str(submit.ENTRY), "--until-idle"]
    yarn = submit.command(Settings(spark_master="yarn"), [])
    assert yarn[yarn.index("--master") + 1] == "yarn" and "spark.driver.host=127.0.0.1" not in yarn


def test_cli_cluster_submit_passes_the_stream_options():
    args = build_parser().parse_args(["cluster", "submit", "--until-idle", "-v"])
    assert (args.action, args.stream_args) == ("submit", ["--until-idle", "-v"])
    assert build_parser().parse_args(["cluster", "status"]).stream_args == []
