"""The command lines that start pyspark's own scripts: the local cluster's (spark-class) and
spark-submit's. Nothing runs, but both are found in pyspark's installation, so they need pyspark."""

from __future__ import annotations

from pathlib import Path

from profilepipe.config import Settings
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


def test_spark_submit_command_runs_the_stream_with_the_zip():
    cmd = submit.command(Settings(), ["--until-idle"])
    assert Path(cmd[0]).name == "spark-submit"
    assert cmd[cmd.index("--master") + 1] == "spark://127.0.0.1:7077"  # local[*] -> the local cluster
    assert Path(cmd[cmd.index("--py-files") + 1]).name == "profilepipe.zip"
    assert cmd[-2:] == [str(submit.ENTRY), "--until-idle"]
    yarn = submit.command(Settings(spark_master="yarn"), [])
    assert yarn[yarn.index("--master") + 1] == "yarn" and "spark.driver.host=127.0.0.1" not in yarn
