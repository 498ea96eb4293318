"""The data contract's outcomes and the balance rule, defined once.

Every record the stream reads ends with exactly one outcome:

* ``stored`` - an adult, written to Cassandra (and counted in the aggregates);
* ``filtered_minor`` - younger than ``min_age`` (GDPR), counted, never stored;
* ``erased`` - a user in the erasure register (``profilepipe forget``), counted, never stored;
* ``dead_letter`` - a malformed record, sent to the dead-letter topic with its reason.

The balance rule: ``read = stored + filtered_minor + erased + dead_letter``, for every
micro-batch and for every sum of batches. ``balanced`` checks it on anything that carries
those counts (a batch report, a stream result, a batch-log document); every caller uses it
instead of writing the sum again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STORED, MINOR, ERASED, DEAD = "stored", "filtered_minor", "erased", "dead_letter"
OUTCOMES = (STORED, MINOR, ERASED, DEAD)
BALANCE_RULE = "read = stored + filtered_minor + erased + dead_letter"


def counts_of(obj: Any) -> dict[str, int]:
    """``{"read", *OUTCOMES}`` of a mapping or an object with those attributes (missing: 0)."""
    get = obj.get if isinstance(obj, Mapping) else (lambda name, default: getattr(obj, name, default))
    return {name: int(get(name, 0) or 0) for name in ("read", *OUTCOMES)}


def balanced(obj: Any) -> bool:
    """Whether ``read == stored + filtered_minor + erased + dead_letter`` holds for ``obj``."""
    c = counts_of(obj)
    return c["read"] == sum(c[name] for name in OUTCOMES)
