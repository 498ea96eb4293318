"""Erasure (``forget_user``) and retention (``retain``): rows removed with their contribution.

Both run against the ``stores.Sinks`` interface (``stores.connect(settings)``, or a fake in a
test) and share one path, ``_remove_rows``, in a batch's write-ahead order: a plan taking the
rows' contribution out of the aggregates, the rows deleted, the plan applied. Why in that
order, and what a batch being written meanwhile does: docs/ARCHITECTURE.md, "Failure model".
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from profilepipe import contract
from profilepipe.stores import Sinks
from profilepipe.stores.cassandra import user_uuid
from profilepipe.stores.mongo import ERASE_PREFIX, RETAIN_PREFIX

log = logging.getLogger(__name__)

#: How long ``forget_user`` and ``retain`` wait for the batches being written.
IN_FLIGHT_WAIT_SECONDS = 60.0


def forget_user(
    sinks: Sinks, user_id: str, erase_contribution: bool = True, wait: float = IN_FLIGHT_WAIT_SECONDS
) -> bool:
    """GDPR right to erasure: record the erasure, remove the user's contribution, delete the row.

    Returns whether a row was there. The erasure is recorded first, so a batch being
    written at that moment either sees it (and drops the user) or deletes the row again
    when it finishes (``delete_erased``); a later replay of old Kafka offsets drops the
    user too. With ``erase_contribution`` (``Settings.erase_contribution``, the default) the
    row's contribution is taken out of the aggregates by a plan of its own
    (``erase:<erasure key>``), written before the row is deleted, so a ``forget`` interrupted
    half-way and run again finishes exactly (``contract.AGGREGATE_RULE`` holds); without it the
    counts keep the user.

    A batch being written when the erasure is recorded either dropped the user at its start
    or finds the erasure after its rows (``BatchWriter``): it then deletes the row again and
    takes its own contribution back. So the row is read only once those batches are
    recorded (at most ``wait`` seconds; a stream killed mid-batch is not waited for longer,
    and a warning says so).
    """
    uid = str(user_uuid(user_id))
    sinks.record_erasure(uid)
    if erase_contribution:
        _wait_for_batches(sinks, wait, "forget", "this user")
    row = sinks.get_user(uid)
    key = ERASE_PREFIX + contract.erasure_key(uid)
    _remove_rows(sinks, key, [uid], [row] if row else [], erase_contribution)
    return row is not None


def retain(
    sinks: Sinks, days: int, now: dt.datetime | None = None, wait: float = IN_FLIGHT_WAIT_SECONDS
) -> int:
    """Storage limitation (GDPR Art. 5(1)(e)): remove every row ingested more than ``days`` days ago.

    Returns the rows removed. ``now`` defaults to now (UTC); the cutoff is
    ``contract.retention_cutoff(days, now)``. Each row leaves as in ``forget_user``: a plan
    taking its contribution out of the aggregates (always, whatever ``erase_contribution``
    says: they stay the table's GROUP BY), then the delete, then the plan applied. Nobody is
    added to the erasure register: this is not an erasure request, and a user sent again
    later is new data, stored again.

    One plan covers the run, named by its cutoff (``retain:<cutoff>``). A run stopped
    half-way leaves it; the next run first finishes it: it deletes the rows ingested before
    that cutoff (no row is ever stored with an older ``ingested_at`` later) and applies the
    plan. The batches being written are waited for first (at most ``wait`` seconds); a
    batch that rewrites an old row while ``retain`` runs would count its removal twice, so
    run it while the stream is stopped (docs/privacy.md, "Retention").
    """
    if days < 1:
        raise ValueError(f"a retention period is a number of days, at least 1 (not {days})")
    new_key = RETAIN_PREFIX + contract.retention_cutoff(days, now).isoformat()
    _wait_for_batches(sinks, wait, "retain", "an old row")
    removed = 0
    leftovers = [k for k in sinks.removal_plans(RETAIN_PREFIX) if k != new_key]
    for key in [*leftovers, new_key]:
        cutoff = dt.datetime.fromisoformat(key.removeprefix(RETAIN_PREFIX))
        rows = sinks.rows_ingested_before(cutoff)
        _remove_rows(sinks, key, [r["user_id"] for r in rows], rows, subtract=True)
        removed += len(rows)
    return removed


def _wait_for_batches(sinks: Sinks, wait: float, command: str, whose: str) -> None:
    """Wait until every batch planned now is recorded (at most ``wait`` s); a warning if some are stuck."""
    pending = sinks.plans_in_flight()
    deadline = time.monotonic() + wait
    while pending and time.monotonic() < deadline:
        time.sleep(0.2)
        pending &= sinks.plans_in_flight()
    if pending:
        log.warning(
            "%s: %d batch(es) still being written after %.0f s (a stopped stream?): if one holds "
            "%s, `profilepipe audit` will show its groups",
            command,
            len(pending),
            wait,
            whose,
        )


def _remove_rows(sinks: Sinks, key: str, user_ids: list[str], rows: list[dict], subtract: bool) -> None:
    """Delete stored rows and, ``subtract``, their contribution to the aggregates, exactly once.

    The path ``forget_user`` and ``retain`` share, in a batch's write-ahead order: the plan
    ``key`` (``contract.delta_rows([], rows)``) is written before the rows are deleted and
    applied after, then dropped. Run again with the same ``key`` after stopping half-way, it
    reuses the plan it finds (the rows may be gone by then) and finishes exactly.
    """
    plan = sinks.read_plan(key) if subtract else None
    if plan is None and rows and subtract:
        plan = sinks.write_plan(key, contract.delta_rows([], rows), None)
    sinks.delete_erased(user_ids)
    if plan is not None:
        sinks.apply_plan(plan)
        sinks.drop_plan(key, log_too=True)
