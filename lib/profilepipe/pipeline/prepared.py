"""A transform prepared once and bound to each micro-batch's rows, instead of built again per batch.

``PreparedTransform(spark, build)`` analyses ``build`` (``transform.assemble`` with the batch's
settings) once, over an empty frame of the Kafka rows' shape (``contract.RAW_KAFKA_SCHEMA``);
``bind(batch)`` puts a batch's rows in place of that empty leaf in the analysed plan: the plan is
walked down to the leaf and rebuilt along that one path (``withNewChildren``), the leaf replaced
by a projection of the batch's columns that keeps the leaf's attribute ids, so every expression
above it still refers to them. Building the transform from Python takes thousands of py4j calls
and several analyses of a wide plan; binding takes a few dozen (measured: docs/performance.md,
"The prepared transform").

The result is the same DataFrame a fresh build gives (``tests/spark/test_prepared.py``
compares them on every kind of bad input). A batch whose columns do not match the leaf's
names and types is built the plain way (``bind`` returns ``build(batch)``).
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import DataFrame

from profilepipe.contract import RAW_KAFKA_SCHEMA

Build = Callable[[DataFrame], DataFrame]


class PreparedTransform:
    """``build`` analysed once over an empty Kafka-shaped frame; ``bind(batch)`` == ``build(batch)``."""

    def __init__(self, spark, build: Build):
        self.spark, self.build = spark, build
        self.jvm = spark._jvm
        empty = spark.createDataFrame([], RAW_KAFKA_SCHEMA)
        self.leaf = empty._jdf.queryExecution().analyzed()
        self.plan = build(empty)._jdf.queryExecution().analyzed()
        self.path = _path_to(self.plan, self.leaf)
        if self.path is None:
            raise ValueError("the prepared plan does not read its placeholder frame")
        out = self.leaf.output()
        self.columns = [(out.apply(i).name(), out.apply(i)) for i in range(out.size())]
        self.ancestors = [self.plan]  # the nodes from the root down to the leaf's parent
        for i in self.path[:-1]:
            self.ancestors.append(self.ancestors[-1].children().apply(i))
        self.nil = _seq(self.jvm, self.jvm.java.util.ArrayList())  # Catalyst's empty Seq

    def bind(self, batch: DataFrame) -> DataFrame:
        """``build(batch)``: the prepared plan with the batch's rows in place of its leaf."""
        jvm = self.jvm
        batch_plan = batch._jdf.queryExecution().analyzed()
        found = batch_plan.output()
        by_name = {found.apply(i).name(): found.apply(i) for i in range(found.size())}
        aliases = jvm.java.util.ArrayList()
        for name, attr in self.columns:
            source = by_name.get(name)
            if source is None or not source.dataType().equals(attr.dataType()):
                return self.build(batch)  # not the Kafka rows' shape: build it the plain way
            aliases.add(_alias(jvm, source, attr, self.nil))
        node = jvm.org.apache.spark.sql.catalyst.plans.logical.Project(_seq(jvm, aliases), batch_plan)
        for parent, i in zip(reversed(self.ancestors), reversed(self.path), strict=True):
            kids = parent.children()
            children = jvm.java.util.ArrayList()
            for j in range(kids.size()):
                children.add(node if j == i else kids.apply(j))
            node = parent.withNewChildren(_seq(jvm, children))
        jdf = jvm.org.apache.spark.sql.classic.Dataset.ofRows(self.spark._jsparkSession, node)
        return DataFrame(jdf, self.spark)


def _path_to(plan, target, path: tuple[int, ...] = ()) -> tuple[int, ...] | None:
    """Child indexes from ``plan`` down to the node equal to ``target`` (None if absent)."""
    if plan.equals(target):
        return path
    kids = plan.children()
    for i in range(kids.size()):
        found = _path_to(kids.apply(i), target, (*path, i))
        if found is not None:
            return found
    return None


def _seq(jvm, items):
    return jvm.org.apache.spark.api.python.PythonUtils.toSeq(items)


def _alias(jvm, source, attr, nil):
    """``source AS <attr's name>`` with ``attr``'s expression id (Catalyst's ``Alias``)."""
    expressions = jvm.org.apache.spark.sql.catalyst.expressions
    return expressions.Alias(source, attr.name(), attr.exprId(), nil, jvm.scala.Option.empty(), nil)
