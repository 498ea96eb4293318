"""The executors of the cluster import the shipped package zip, not the driver's site-packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from profilepipe.pipeline import spark as spark_builder
from profilepipe_stack import cluster as spark_cluster

LIB = Path(spark_builder.__file__).resolve().parents[1]


@pytest.fixture
def session(settings, cluster):
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:  # one SparkContext per process: the local one of an earlier tier gives way
        active.stop()
    spark = spark_builder.get_spark(settings.replace(spark_master=cluster), app_name="profilepipe-executors")
    yield spark
    spark.stop()


def test_executors_import_the_zip_from_their_work_dir(settings, session):
    assert session.sparkContext.master == spark_cluster.master_url(settings)

    def where_profilepipe_is(_):  # nested: cloudpickle ships it by value (this test module is not shipped)
        import os

        import profilepipe

        return os.path.abspath(profilepipe.__file__), os.getcwd()

    found = set(session.sparkContext.parallelize(range(8), 4).map(where_profilepipe_is).collect())
    print("executors import profilepipe from:", sorted(found))
    work_dirs = [spark_cluster.work_dir(settings, w) for w in spark_cluster.worker_names(settings)]
    for file, cwd in found:
        assert Path(file).is_relative_to(Path(cwd)), (file, cwd)  # the executor's own folder ...
        assert any(Path(cwd).is_relative_to(w) for w in work_dirs), (cwd, work_dirs)  # ... in a work dir
        assert ".zip" in file and not Path(file).is_relative_to(LIB), file  # the shipped zip, not lib/
    assert len({cwd for _, cwd in found}) >= 1
