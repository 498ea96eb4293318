"""Cassandra from Python: the users table read, and the erasure register.

The stream's rows are written on the executors by the Java driver (``stores.cassandra_jvm``);
this module reads them back (the previous rows of a batch, the notebooks, the audit), deletes
the erased ones and keeps the register, through cassandra-driver.

The erasure register (``<table>_erasures``) holds ``contract.erasure_key`` of every
forgotten user (``forget_user``); the stream drops those users, also on a replay.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from profilepipe import contract, retry
from profilepipe.config import Settings
from profilepipe.contract import CONTRIBUTION_COLUMNS, erasure_key
from profilepipe.errors import ProfileMismatch

_CASSANDRA: dict[tuple, Any] = {}  # one Cluster/Session per process (driver or Python worker)
_PREPARED: dict[tuple, Any] = {}  # prepared statement per (session, CQL), reused across batches


def _prepared(session, cql: str):
    """``cql`` prepared once per session (``_PREPARED``)."""
    prepared = _PREPARED.get((session, cql))
    if prepared is None:
        prepared = _PREPARED[(session, cql)] = session.prepare(cql)
    return prepared


def cassandra_session(settings: Settings):
    """A cached cassandra-driver session for this process (options: ``connections``)."""
    from profilepipe import connections

    key = connections.cassandra_key(settings)  # the password only as a digest
    session = _CASSANDRA.get(key)
    if session is None or session.is_shutdown:
        from cassandra.cluster import Cluster

        cluster = Cluster(**connections.cassandra_options(settings))
        session = cluster.connect()  # consistency and request timeout: connections.cassandra_options
        _CASSANDRA[key] = session
    return session


def close_sessions() -> None:
    """Shut this process's cached sessions down, while the interpreter still runs their threads.

    Left to interpreter exit, the driver's scheduler thread may submit to an executor that
    Python has already shut down and print "cannot schedule new futures after shutdown".
    """
    for session in list(_CASSANDRA.values()):
        session.cluster.shutdown()
    _CASSANDRA.clear()
    _PREPARED.clear()


def previous_rows(settings: Settings, user_ids: list[str]) -> list[dict]:
    """The rows the table holds now for these users: their ``CONTRIBUTION_COLUMNS`` as dicts.

    Read by primary key (prepared ``SELECT ... WHERE user_id IN ?`` of ``IN_CHUNK`` ids,
    concurrently), from the driver; a user the table does not hold yet has no row. Instants
    are aware UTC datetimes (``contract.from_store``).
    """
    ids = [uuid.UUID(str(i)) for i in user_ids]
    rows = _read_contributions(settings, ids) if ids else []
    return [dict(zip(CONTRIBUTION_COLUMNS, row, strict=True)) for row in rows]


IN_CHUNK = 100  # ids per SELECT ... IN (Cassandra's default limit on IN values is 100)


def _read_contributions(settings: Settings, ids: list) -> list[tuple]:
    from cassandra.concurrent import execute_concurrent_with_args

    cols = ", ".join(CONTRIBUTION_COLUMNS)
    cql = f"SELECT {cols} FROM {settings.users_table} WHERE user_id IN ?"
    chunks = [(ids[i : i + IN_CHUNK],) for i in range(0, len(ids), IN_CHUNK)]

    def attempt() -> list[tuple]:
        session = cassandra_session(settings)
        prepared = _prepared(session, cql)
        out = []
        for ok, result in execute_concurrent_with_args(session, prepared, chunks, concurrency=16):
            if not ok:
                raise result
            out.extend(tuple(contract.from_store(v) for v in row) for row in result)
        return out

    what = f"cassandra: read {len(ids)} users' previous rows"
    return retry.call(attempt, what, settings.sink_retry_seconds)


def read_users(settings: Settings, limit: int = 10) -> list[dict]:
    """Up to ``limit`` rows of the users table, as dicts (column -> value)."""
    session = cassandra_session(settings)
    cql = f"SELECT * FROM {settings.users_table} LIMIT {int(limit)}"
    return [dict(r._asdict()) for r in session.execute(cql)]


def count_users(settings: Settings) -> int:
    """The number of rows in the users table."""
    session = cassandra_session(settings)
    return int(session.execute(f"SELECT count(*) FROM {settings.users_table}", timeout=120).one()[0])


def get_user(settings: Settings, user_id: str) -> dict | None:
    """The row of ``user_id``, or None."""
    session = cassandra_session(settings)
    cql = f"SELECT * FROM {settings.users_table} WHERE user_id = %s"
    row = session.execute(cql, (uuid.UUID(str(user_id)),)).one()
    return dict(row._asdict()) if row else None


def rows_ingested_before(settings: Settings, cutoff: dt.datetime) -> list[dict]:
    """The rows ingested before ``cutoff``: ``user_id`` (text) and their ``CONTRIBUTION_COLUMNS``.

    One paged scan of the table, of these columns only, filtered here (``contract.past_retention``):
    some seconds for 100,000 rows. Instants are aware UTC datetimes (``contract.from_store``).
    """
    from cassandra.query import SimpleStatement

    names = ("user_id", *CONTRIBUTION_COLUMNS)
    stmt = SimpleStatement(f"SELECT {', '.join(names)} FROM {settings.users_table}", fetch_size=5000)

    def attempt() -> list[dict]:
        out = []
        for row in cassandra_session(settings).execute(stmt, timeout=120):
            values = dict(zip(names, (contract.from_store(v) for v in row), strict=True))
            if contract.past_retention(values["ingested_at"], cutoff):
                out.append({**values, "user_id": str(values["user_id"])})
        return out

    return retry.call(attempt, "cassandra: scan the rows' ingested_at", settings.sink_retry_seconds)


def table_columns(settings: Settings, session=None) -> set[str]:
    """The users table's columns as Cassandra has them (empty: no such table yet)."""
    cql = "SELECT column_name FROM system_schema.columns WHERE keyspace_name = %s AND table_name = %s"
    session = session or cassandra_session(settings)
    rows = session.execute(cql, (settings.cassandra_keyspace, settings.cassandra_table))
    return {r.column_name for r in rows}


def check_profile(settings: Settings, columns: set[str] | None = None) -> None:
    """Raise ``ProfileMismatch`` unless the users table (if it exists) has the profile's columns.

    A table made in one storage profile never takes rows of the other: the message says how
    to keep the table (its profile) or start over in the new one.
    """
    have = table_columns(settings) if columns is None else set(columns)
    want = set(settings.user_columns)
    if not have or have == want:
        return
    other = [p for p in contract.STORE_PROFILES if set(contract.user_columns(p)) == have]
    holds = f"the {other[0]} profile's columns" if other else f"the columns {', '.join(sorted(have))}"
    extra, missing = sorted(have - want), sorted(want - have)
    diff = "; ".join(
        part
        for part in (
            f"{', '.join(extra)} not in the {settings.store_profile} profile" if extra else "",
            f"no {', '.join(missing)}" if missing else "",
        )
        if part
    )
    keep = f"keep it with {Settings.env_name('store_profile')}={other[0]}, or " if other else ""
    raise ProfileMismatch(
        f"table {settings.users_table} has {holds} ({diff}) but "
        f"{Settings.env_name('store_profile')}={settings.store_profile}: {keep}start over in "
        f"the {settings.store_profile} profile with `profilepipe reset` (it drops the table and empties "
        f"topics and aggregates), or set {Settings.env_name('cassandra_table')} to a new table"
    )


def drop_users(settings: Settings) -> None:
    """Drop the users table (``profilepipe reset``; ``ensure_schema`` makes it in the current profile)."""
    cassandra_session(settings).execute(f"DROP TABLE IF EXISTS {settings.users_table}", timeout=120)


def truncate_users(settings: Settings) -> None:
    cassandra_session(settings).execute(f"TRUNCATE {settings.users_table}", timeout=120)


# ------------------------------------------------------------------ erasure register
def user_uuid(user_id: str) -> uuid.UUID:
    """``user_id`` (``login.uuid``) as a UUID; a clear ``ValueError`` when it is not one."""
    try:
        return uuid.UUID(str(user_id).strip())
    except ValueError:
        raise ValueError(f"{user_id!r} is not a user id (login.uuid, a UUID)") from None


def record_erasure(settings: Settings, user_id: str) -> None:
    """Add a user to the erasure register (the first step of ``stores.forget_user``)."""
    uid = user_uuid(user_id)
    cassandra_session(settings).execute(
        f"INSERT INTO {settings.erasures_table} (user_key, erased_at) VALUES (%s, %s)",
        (erasure_key(str(uid)), dt.datetime.now(dt.UTC)),
    )


def erased_keys(settings: Settings) -> set[str]:
    """Every key of the erasure register (``contract.erasure_key`` of each forgotten user)."""
    cql = f"SELECT user_key FROM {settings.erasures_table}"
    return retry.call(
        lambda: {r.user_key for r in cassandra_session(settings).execute(cql)},
        "cassandra: read the erasure register",
        settings.sink_retry_seconds,
    )


def delete_erased(settings: Settings, user_ids: list[str]) -> None:
    """Delete these users' rows (forgotten users, rows past retention), many requests in flight.

    A DELETE by primary key is idempotent: a retry deletes them all again.
    """
    from cassandra.concurrent import execute_concurrent_with_args

    if not user_ids:
        return
    cql = f"DELETE FROM {settings.users_table} WHERE user_id = ?"
    args = [(uuid.UUID(str(u)),) for u in user_ids]

    def attempt() -> None:
        session = cassandra_session(settings)
        prepared = _prepared(session, cql)
        for ok, result in execute_concurrent_with_args(session, prepared, args, concurrency=32):
            if not ok:
                raise result

    retry.call(attempt, f"cassandra: delete {len(args)} row(s)", settings.sink_retry_seconds)


def truncate_erasures(settings: Settings) -> None:
    """Empty the erasure register (a reset starts over: no user is forgotten any more)."""
    cassandra_session(settings).execute(f"TRUNCATE {settings.erasures_table}", timeout=120)
