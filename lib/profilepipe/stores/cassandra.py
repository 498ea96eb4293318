"""Cassandra: ``CassandraStore``, the users table and the erasure register.

The stream's rows are written on the executors by the Java driver (``stores.cassandra_jvm``,
``CassandraStore.write_rows``); the store reads them back (the previous rows of a batch, the
notebooks, the audit), deletes the erased ones and keeps the register, through one
cassandra-driver session it opens on first use and closes in ``close``. Its operations that a
batch, ``forget`` or ``retain`` runs retry while the cluster is unreachable (``retry.Retry``).

The erasure register (``<table>_erasures``) holds ``contract.erasure_key`` of every
forgotten user (``stores.erasure.forget_user``); the stream drops those users, also on a replay.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from profilepipe import contract, retry
from profilepipe.config import Settings
from profilepipe.contract import CONTRIBUTION_COLUMNS, erasure_key
from profilepipe.errors import ProfileMismatch

IN_CHUNK = 100  # ids per SELECT ... IN (Cassandra's default limit on IN values is 100)


def user_uuid(user_id: str) -> uuid.UUID:
    """``user_id`` (``login.uuid``) as a UUID; a clear ``ValueError`` when it is not one."""
    try:
        return uuid.UUID(str(user_id).strip())
    except ValueError:
        raise ValueError(f"{user_id!r} is not a user id (login.uuid, a UUID)") from None


class CassandraStore:
    """The users table and the erasure register of ``settings``, through one session of its own."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.retry = retry.Retry(settings.sink_retry_seconds)
        self._session: Any = None
        self._prepared: dict[str, Any] = {}  # prepared statement per CQL, reused across batches

    def session(self):
        """The store's cassandra-driver session, connected on first use (options: ``connections``)."""
        if self._session is None or self._session.is_shutdown:
            from cassandra.cluster import Cluster

            from profilepipe import connections

            cluster = Cluster(**connections.cassandra_options(self.settings))
            self._session = cluster.connect()  # consistency, request timeout: connections.cassandra_options
            self._prepared.clear()
        return self._session

    def close(self) -> None:
        """Shut the session down, while the interpreter still runs its threads.

        Left to interpreter exit, the driver's scheduler thread may submit to an executor that
        Python has already shut down and print "cannot schedule new futures after shutdown".
        """
        if self._session is not None:
            self._session.cluster.shutdown()
        self._session = None
        self._prepared.clear()

    def _prepare(self, cql: str):
        """``cql`` prepared once per session."""
        session = self.session()
        if cql not in self._prepared:
            self._prepared[cql] = session.prepare(cql)
        return self._prepared[cql]

    def _concurrently(self, cql: str, args: list, concurrency: int) -> list:
        """``cql`` prepared and run once per argument tuple, ``concurrency`` in flight; the results."""
        from cassandra.concurrent import execute_concurrent_with_args

        out = []
        for ok, result in execute_concurrent_with_args(
            self.session(), self._prepare(cql), args, concurrency=concurrency
        ):
            if not ok:
                raise result
            out.append(result)
        return out

    # -------------------------------------------------------------- the users table
    def write_rows(self, rows: Any) -> int:
        """Upsert a DataFrame of ``settings.user_columns`` from the executors (``cassandra_jvm``)."""
        from profilepipe.stores import cassandra_jvm

        return cassandra_jvm.write_cassandra_jvm(rows, self.settings)

    def previous_rows(self, user_ids: list[str]) -> list[dict]:
        """The rows the table holds now for these users: their ``CONTRIBUTION_COLUMNS`` as dicts.

        Read by primary key (prepared ``SELECT ... WHERE user_id IN ?`` of ``IN_CHUNK`` ids,
        concurrently), from the driver; a user the table does not hold yet has no row. Instants
        are aware UTC datetimes (``contract.from_store``).
        """
        ids = [uuid.UUID(str(i)) for i in user_ids]
        if not ids:
            return []
        cql = f"SELECT {', '.join(CONTRIBUTION_COLUMNS)} FROM {self.settings.users_table} WHERE user_id IN ?"
        chunks = [(ids[i : i + IN_CHUNK],) for i in range(0, len(ids), IN_CHUNK)]

        def read() -> list[dict]:
            results = self._concurrently(cql, chunks, concurrency=16)
            rows = [(contract.from_store(v) for v in row) for result in results for row in result]
            return [dict(zip(CONTRIBUTION_COLUMNS, row, strict=True)) for row in rows]

        return self.retry(f"cassandra: read {len(ids)} users' previous rows", read)

    def read_users(self, limit: int = 10) -> list[dict]:
        """Up to ``limit`` rows of the users table, as dicts (column -> value)."""
        cql = f"SELECT * FROM {self.settings.users_table} LIMIT {int(limit)}"
        return [dict(r._asdict()) for r in self.session().execute(cql)]

    def scan_users(self):
        """Every row of the users table (the driver's rows, paged as they are read): the audit's."""
        return self.session().execute(f"SELECT * FROM {self.settings.users_table}", timeout=120)

    def count_users(self) -> int:
        """The number of rows in the users table."""
        cql = f"SELECT count(*) FROM {self.settings.users_table}"
        return int(self.session().execute(cql, timeout=120).one()[0])

    def get_user(self, user_id: str) -> dict | None:
        """The row of ``user_id``, or None."""
        cql = f"SELECT * FROM {self.settings.users_table} WHERE user_id = %s"
        row = self.session().execute(cql, (uuid.UUID(str(user_id)),)).one()
        return dict(row._asdict()) if row else None

    def rows_ingested_before(self, cutoff: dt.datetime) -> list[dict]:
        """The rows ingested before ``cutoff``: ``user_id`` (text) and their ``CONTRIBUTION_COLUMNS``.

        One paged scan of the table, of these columns only, filtered here (``contract.past_retention``):
        some seconds for 100,000 rows. Instants are aware UTC datetimes (``contract.from_store``).
        """
        from cassandra.query import SimpleStatement

        names = ("user_id", *CONTRIBUTION_COLUMNS)
        stmt = SimpleStatement(f"SELECT {', '.join(names)} FROM {self.settings.users_table}", fetch_size=5000)

        def scan() -> list[dict]:
            out = []
            for row in self.session().execute(stmt, timeout=120):
                values = dict(zip(names, (contract.from_store(v) for v in row), strict=True))
                if contract.past_retention(values["ingested_at"], cutoff):
                    out.append({**values, "user_id": str(values["user_id"])})
            return out

        return self.retry("cassandra: scan the rows' ingested_at", scan)

    def table_columns(self) -> set[str]:
        """The users table's columns as Cassandra has them (empty: no such table yet)."""
        return table_columns(self.settings, self.session())

    def check_profile(self) -> None:
        """``check_profile`` against the table as Cassandra has it now."""
        what = f"cassandra: read the columns of {self.settings.users_table}"
        check_profile(self.settings, self.retry(what, self.table_columns))

    def delete_erased(self, user_ids: list[str]) -> None:
        """Delete these users' rows (forgotten users, rows past retention), many requests in flight.

        A DELETE by primary key is idempotent: a retry deletes them all again.
        """
        if not user_ids:
            return
        cql = f"DELETE FROM {self.settings.users_table} WHERE user_id = ?"
        args = [(uuid.UUID(str(u)),) for u in user_ids]
        self.retry(
            f"cassandra: delete {len(args)} row(s)", lambda: self._concurrently(cql, args, concurrency=32)
        )

    def drop_users(self) -> None:
        """Drop the users table (``profilepipe reset``; ``ensure_schema`` makes it in the current profile)."""
        self.session().execute(f"DROP TABLE IF EXISTS {self.settings.users_table}", timeout=120)

    def truncate_users(self) -> None:
        self.session().execute(f"TRUNCATE {self.settings.users_table}", timeout=120)

    # -------------------------------------------------------------- the erasure register
    def record_erasure(self, user_id: str) -> None:
        """Add a user to the erasure register (the first step of ``stores.erasure.forget_user``)."""
        cql = f"INSERT INTO {self.settings.erasures_table} (user_key, erased_at) VALUES (%s, %s)"
        args = (erasure_key(str(user_uuid(user_id))), dt.datetime.now(dt.UTC))
        self.retry("cassandra: record an erasure", lambda: self.session().execute(cql, args))

    def erased_keys(self) -> set[str]:
        """Every key of the erasure register (``contract.erasure_key`` of each forgotten user)."""
        cql = f"SELECT user_key FROM {self.settings.erasures_table}"
        return self.retry(
            "cassandra: read the erasure register", lambda: {r.user_key for r in self.session().execute(cql)}
        )

    def truncate_erasures(self) -> None:
        """Empty the erasure register (a reset starts over: no user is forgotten any more)."""
        self.session().execute(f"TRUNCATE {self.settings.erasures_table}", timeout=120)


def table_columns(settings: Settings, session) -> set[str]:
    """The users table's columns as ``session`` sees them (empty: no such table yet); the local
    stack's provisioning asks it with a session of its own."""
    cql = "SELECT column_name FROM system_schema.columns WHERE keyspace_name = %s AND table_name = %s"
    rows = session.execute(cql, (settings.cassandra_keyspace, settings.cassandra_table))
    return {r.column_name for r in rows}


def check_profile(settings: Settings, have: set[str]) -> None:
    """Raise ``ProfileMismatch`` unless the users table's columns ``have`` are the profile's
    (none: no table yet, nothing to check).

    A table made in one storage profile never takes rows of the other: the message says how
    to keep the table (its profile) or start over in the new one.
    """
    have = set(have)
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
