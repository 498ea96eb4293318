"""The stream under ``spark-submit``: its command line and its environment.

spark-submit's Python file is :data:`ENTRY`, which runs exactly ``profilepipe stream <args>``
(same options, same settings from the environment); spark-submit supplies the master, the
Kafka connector jars and the package zip. On the local cluster (``profilepipe cluster up``)
the command line is::

    JAVA_HOME=<JDK 17> PYSPARK_PYTHON=.venv/bin/python PYSPARK_DRIVER_PYTHON=.venv/bin/python \\
    .venv/lib/python3.11/site-packages/pyspark/bin/spark-submit \\
      --master spark://127.0.0.1:7077 --name profilepipe-stream \\
      --driver-memory 2g --executor-memory 768m --conf spark.driver.host=127.0.0.1 \\
      --jars <jars_dir>/spark/<each jar>,... --py-files .cache/spark/profilepipe.zip \\
      lib/profilepipe/resources/spark_entry.py --until-idle

``profilepipe cluster submit --until-idle`` builds the zip, prints this command (:func:`command`)
and runs it; the options after ``submit`` are those of ``profilepipe stream``. It is a helper of
that command, beside the others in ``tools/``, not a part of the pipeline: it asks the local
cluster for its master URL and pyspark's ``spark-submit``, and the pipeline never imports the stack.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from profilepipe.config import Settings

#: spark-submit's Python file: a script that nothing imports (so no import cycle with ``cli``)
ENTRY = Path(__file__).resolve().parents[1] / "resources" / "spark_entry.py"


def master_of(settings: Settings) -> str:
    """``PROFILEPIPE_SPARK_MASTER`` unless it is local mode, then the local cluster's master."""
    from profilepipe.pipeline.spark import is_local
    from profilepipe_stack import cluster

    return cluster.master_url(settings) if is_local(settings.spark_master) else settings.spark_master


def command(settings: Settings, stream_args: list[str]) -> list[str]:
    """The ``spark-submit`` command line that runs ``profilepipe stream <stream_args>``."""
    from profilepipe.pipeline.spark import on_this_machine, package_zip, spark_jars
    from profilepipe_stack import cluster

    master = master_of(settings)
    cmd = [str(cluster.spark_home() / "bin" / "spark-submit"), "--master", master]
    cmd += ["--name", "profilepipe-stream", "--driver-memory", settings.spark_driver_memory]
    cmd += ["--executor-memory", settings.spark_executor_memory]
    if on_this_machine(master):
        cmd += ["--conf", "spark.driver.host=127.0.0.1"]
    jars = spark_jars(settings)
    if jars:
        cmd += ["--jars", ",".join(jars)]
    cmd += ["--py-files", str(package_zip()), str(ENTRY), *stream_args]
    return cmd


def environment(settings: Settings) -> dict[str, str]:
    """spark-submit's environment: the JDK 17, this Python for driver and executors, the master."""
    from profilepipe.pipeline.spark import find_java17, on_this_machine

    env = dict(os.environ, PROFILEPIPE_SPARK_MASTER=master_of(settings))
    home = find_java17(settings)
    if home:
        env["JAVA_HOME"] = home
    if on_this_machine(env["PROFILEPIPE_SPARK_MASTER"]):
        env.setdefault("PYSPARK_PYTHON", sys.executable)
        env.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return env


def run(settings: Settings, stream_args: list[str]) -> int:
    """Print the spark-submit command line, run it, return its exit code."""
    cmd = command(settings, stream_args)
    print("$ " + shlex.join(cmd), flush=True)
    return subprocess.run(cmd, env=environment(settings)).returncode
