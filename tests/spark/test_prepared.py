"""``prepared.PreparedTransform``: a transform bound to a batch equals the same transform built on it.

The whole bad-input corpus (every defect, envelopes, duplicates in one batch, minors) as one
batch, in both PII modes and with a user in the erasure register: the bound frame has the
same rows as a fresh build, row for row. A frame of another shape is built the plain way.
"""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from profilepipe import contract
from profilepipe.pipeline import transform
from profilepipe.pipeline.prepared import PreparedTransform

from support.bad_inputs import bad_inputs
from support.frames import kafka_frame


def _build(settings, as_of, erased=()):
    def build(raw):
        return transform.assemble(raw, settings, as_of, erased_keys=erased)

    return build


def _rows(df) -> list[tuple]:
    order = ("source_partition", "source_offset", "record_index")
    return [tuple(r) for r in df.orderBy(*order).collect()]


@pytest.mark.parametrize("mode", ["hmac", "bcrypt"])
def test_bound_equals_built_on_the_bad_input_corpus(spark, settings, as_of, mode):
    s = settings.replace(pii_mode=mode, hmac_key="unit-test-key-prepared", bcrypt_cost=4)
    corpus = bad_inputs(as_of)
    values = [b.value for b in corpus]
    batch = kafka_frame(spark, values, keys=[b.key for b in corpus], partition=2, first_offset=100)
    first_user = transform.batch_pass(_build(s, as_of)(batch)).stored[0]["user_id"]
    erased = {contract.erasure_key(first_user)}
    build = _build(s, as_of, erased)
    prepared = PreparedTransform(spark, build)
    bound, built = prepared.bind(batch), build(batch)
    assert bound.columns == built.columns
    expected = _rows(built)
    assert _rows(bound) == expected
    assert contract.ERASED in {r[0] for r in expected}  # the register took effect in both
    # the same prepared transform serves the next batch (other offsets, other partition)
    later = kafka_frame(spark, values[:10], partition=0, first_offset=5000)
    assert _rows(prepared.bind(later)) == _rows(build(later))


def test_a_frame_of_another_shape_is_built_the_plain_way(spark, settings, as_of, users):
    build = _build(settings.replace(pii_mode="hmac", hmac_key="unit-test-key-k"), as_of)
    prepared = PreparedTransform(spark, build)
    batch = kafka_frame(spark, users[:3]).withColumn("partition", F.col("partition").cast("long"))
    assert _rows(prepared.bind(batch)) == _rows(build(batch))
