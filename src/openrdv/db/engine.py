"""Connections to SQLite (embedded default) and PostgreSQL, behind one small interface.

SQL in openrdv is written once with `?` placeholders and bound parameters; the PostgreSQL side
rewrites the placeholders. SQLite runs through the standard sqlite3 module (one connection per
thread, WAL) because SQLAlchemy costs ~50 µs a statement on the hot path; SQLAlchemy is used only for
the schema and Alembic migrations.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

Row = tuple[Any, ...]
Params = Sequence[Any]
Dialect = Literal["sqlite", "postgresql"]


class DatabaseBusy(Exception):
    """The database stayed locked longer than the busy timeout."""


class StatementTimeout(DatabaseBusy):
    """A statement ran longer than the statement timeout and was stopped; a transaction it was part
    of is rolled back (or, for a read snapshot, ended) by the context that opened it."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"a statement ran longer than {seconds:g} s and was stopped")
        self.seconds = seconds


# SQLite VM instructions between two looks at the clock of the statement timeout: about a tenth of
# the limit's worth of work (SQLite runs some 200,000 instructions a millisecond here), at most
# 10,000,000. The handler is Python, and each call takes the GIL back: every 10,000 instructions cost
# a loaded server a sixth of its throughput (list benchmark, Basic: 0.74 -> 0.98 ms of CPU a request),
# every 1,000,000 still doubled the availability of one calendar (1.2 -> 2.4 ms); at 10,000,000 (the
# default limit of 500 ms) both are back to their figures without a timeout.
INSTRUCTIONS_PER_MS = 20_000  # a tenth of a millisecond's work
MAX_PROGRESS_STEPS = 10_000_000


def progress_steps(timeout: float) -> int:
    """Instructions between two looks at the clock for a statement timeout of `timeout` seconds."""
    return max(10_000, min(MAX_PROGRESS_STEPS, int(timeout * 1000 * INSTRUCTIONS_PER_MS)))
# Inside a write transaction a statement may run this many times the statement timeout: a booking
# waits for the calendars' and the customer's rows other bookings hold (PostgreSQL counts lock waits
# in statement_timeout), and a refused booking must be its code 10, not a timeout.
WRITE_FACTOR = 10
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement stopped by statement_timeout


class DatabaseURLError(ValueError):
    pass


def sqlite_path(url: str) -> str:
    """`sqlite:///relative.db`, `sqlite:////abs.db` or `sqlite://:memory:` → a path for sqlite3."""
    rest = url[len("sqlite:") :]
    if rest.startswith("///"):
        return rest[3:] or ":memory:"
    if rest.startswith("//"):
        return rest[2:] or ":memory:"
    raise DatabaseURLError(f"not a SQLite URL: {url!r}")


def dialect_of(url: str) -> Dialect:
    if url.startswith("sqlite:"):
        return "sqlite"
    if url.startswith(("postgresql:", "postgres:", "postgresql+psycopg:")):
        return "postgresql"
    raise DatabaseURLError("OPENRDV_DATABASE_URL must start with sqlite:// or postgresql://")


def sqlalchemy_url(url: str) -> str:
    """The URL SQLAlchemy/Alembic needs for the same database (psycopg 3 driver for PostgreSQL)."""
    if dialect_of(url) == "postgresql":
        return re.sub(r"^(postgresql|postgres)(\+psycopg)?:", "postgresql+psycopg:", url)
    return url


_PLACEHOLDER = re.compile(r"\?")


@lru_cache(maxsize=4096)
def _to_pyformat(sql: str) -> str:
    # SQL text never carries a literal '%' or '?' (values are always bound), so this is exact.
    return _PLACEHOLDER.sub("%s", sql)


class Conn:
    """One database connection, used by one thread at a time, with helpers over `?`-style SQL."""

    def __init__(
        self, raw: Any, dialect: Dialect, write_lock: threading.Lock | None = None, timeout: float = 0.0
    ) -> None:
        self.raw = raw
        self.dialect: Dialect = dialect
        self._pg = dialect == "postgresql"
        self._depth = 0
        self._write_lock = write_lock
        # the statement timeout in seconds (0: none). SQLite: this object's progress handler stops a
        # statement past the deadline armed when it started; PostgreSQL: the session's statement_timeout.
        self.timeout = timeout
        self._deadline = math.inf
        if timeout and not self._pg:
            raw.set_progress_handler(self._expired, progress_steps(timeout))

    def _expired(self) -> bool:
        """SQLite's progress handler: true stops the running statement (SQLITE_INTERRUPT)."""
        return time.monotonic() > self._deadline

    @contextmanager
    def _limited(self) -> Iterator[None]:
        """One call into the engine under the statement timeout: a statement it stops is raised as
        StatementTimeout. Outside these calls nothing is stopped (a ROLLBACK, a COMMIT)."""
        if self.timeout and not self._pg:
            self._deadline = time.monotonic() + self.timeout * (WRITE_FACTOR if self._depth else 1)
        try:
            yield
        except Exception as exc:
            if self._stopped(exc):
                raise StatementTimeout(self.timeout) from exc
            raise
        finally:
            self._deadline = math.inf

    def _stopped(self, exc: Exception) -> bool:
        if not self.timeout:
            return False
        if self._pg:
            return getattr(exc, "sqlstate", None) == QUERY_CANCELED
        return isinstance(exc, sqlite3.OperationalError) and time.monotonic() > self._deadline

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def _sql(self, sql: str) -> str:
        return _to_pyformat(sql) if self._pg else sql

    def execute(self, sql: str, params: Params = ()) -> int:
        with self._limited():
            cur = self.raw.execute(self._sql(sql), params)
        return int(cur.rowcount or 0)

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        with self._limited():
            return list(self.raw.execute(self._sql(sql), params).fetchall())

    def one(self, sql: str, params: Params = ()) -> Row | None:
        with self._limited():
            row = self.raw.execute(self._sql(sql), params).fetchone()
        return tuple(row) if row is not None else None

    def scalar(self, sql: str, params: Params = ()) -> Any:
        with self._limited():
            row = self.raw.execute(self._sql(sql), params).fetchone()
        return None if row is None else row[0]

    def count_and_rows(
        self, count_sql: str, count_params: Params, rows_sql: str, rows_params: Params, skip_rows_below: int = 0
    ) -> tuple[int, list[Row]]:
        """A collection's total and one page of it. On PostgreSQL in one statement (the count as an
        uncorrelated scalar subquery, computed once), so one round trip; a second only when the page
        is empty. SQLite, in-process, skips the page when the total says it is empty."""
        with self._limited():
            return self._count_and_rows(count_sql, count_params, rows_sql, rows_params, skip_rows_below)

    def _count_and_rows(
        self, count_sql: str, count_params: Params, rows_sql: str, rows_params: Params, skip_rows_below: int
    ) -> tuple[int, list[Row]]:
        if self._pg:
            select = rows_sql.index("SELECT ") + len("SELECT ")
            combined = f"{rows_sql[:select]}({count_sql}) AS openrdv_total, {rows_sql[select:]}"
            rows = self.raw.execute(self._sql(combined), [*count_params, *rows_params]).fetchall()
            if rows:
                return int(rows[0][0]), [tuple(r[1:]) for r in rows]
            return int(self.raw.execute(self._sql(count_sql), count_params).fetchone()[0]), []
        total = int(self.raw.execute(count_sql, count_params).fetchone()[0])
        if total <= skip_rows_below:
            return total, []
        return total, list(self.raw.execute(rows_sql, rows_params).fetchall())

    def one_dict(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        with self._limited():
            cur = self.raw.execute(self._sql(sql), params)
            row = cur.fetchone()
        if row is None:
            return None
        return {d[0]: v for d, v in zip(cur.description, row, strict=True)}

    @contextmanager
    def transaction(self) -> Iterator[Conn]:
        """A write transaction on this connection; re-entrant (an inner call joins the outer one).

        On SQLite it takes the write lock at once (BEGIN IMMEDIATE), so two writers never deadlock on
        a lock upgrade and a read-check-write sequence (the booking re-check) is serialised; threads
        of one process queue on a lock first instead of spinning in SQLite's busy handler."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        if self._pg:
            self._depth = 1
            try:
                with self.raw.transaction():
                    if self.timeout:
                        # a write may wait for the rows other bookings hold (FOR UPDATE)
                        limit = max(1, round(self.timeout * WRITE_FACTOR * 1000))
                        self.raw.execute(f"SET LOCAL statement_timeout = {limit}")
                    yield self
            finally:
                self._depth = 0
            return
        lock = self._write_lock
        if lock is not None and not lock.acquire(timeout=30):
            raise DatabaseBusy("timed out waiting for the write lock")
        try:
            try:
                self.raw.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise DatabaseBusy(str(exc)) from exc
            self._depth = 1
            try:
                yield self
            except BaseException:
                # SQLite has already rolled back a write transaction whose statement it interrupted
                if self.raw.in_transaction:
                    self.raw.execute("ROLLBACK")
                raise
            else:
                self.raw.execute("COMMIT")
            finally:
                self._depth = 0
        finally:
            if lock is not None:
                lock.release()

    @contextmanager
    def snapshot(self) -> Iterator[Conn]:
        """A read transaction: every statement inside sees the same state (count and rows agree)."""
        if self._pg:
            with self.raw.transaction():
                self.raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                yield self
            return
        self.raw.execute("BEGIN")
        try:
            yield self
        finally:
            if self.raw.in_transaction:
                self.raw.execute("COMMIT")

    def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT … RETURNING id and give the new id."""
        with self._limited():
            row = self.raw.execute(self._sql(sql), params).fetchone()
        return int(row[0])

    def chunks(self, sql: str, params: Params = (), size: int = 1000) -> Iterator[list[Row]]:
        """Rows in chunks, without holding the whole result in memory. The statement timeout holds
        for each chunk (a stream of a million rows is long, each chunk's work is not)."""
        if self._pg:
            # a named (server-side) cursor keeps the result on the server: constant memory here
            with self.raw.cursor(name="openrdv_stream") as cur:
                with self._limited():
                    cur.execute(self._sql(sql), params)
                while True:
                    with self._limited():
                        rows = cur.fetchmany(size)
                    if not rows:
                        return
                    yield rows
        else:
            with self._limited():
                cur = self.raw.execute(sql, params)
            while True:
                with self._limited():
                    rows = cur.fetchmany(size)
                if not rows:
                    return
                yield rows

    @property
    def like(self) -> str:
        """Case-insensitive LIKE: SQLite's LIKE already ignores ASCII case."""
        return "ILIKE" if self._pg else "LIKE"


class Database:
    """Connection source for the whole process; thread-safe."""

    def __init__(self, url: str, pool_size: int = 4, statement_timeout: float = 0.0) -> None:
        """`statement_timeout`: seconds a statement may run before it is stopped (0: no limit; the
        server sets one, the command line and migrations do not)."""
        self.url = url
        self.dialect: Dialect = dialect_of(url)
        self.statement_timeout = max(0.0, statement_timeout)
        self._local = threading.local()
        self._pool: Any = None
        self._all_sqlite: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        if self.dialect == "sqlite":
            self.path = sqlite_path(url)
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        else:
            from psycopg_pool import ConnectionPool

            conninfo = re.sub(r"^(postgresql|postgres)\+psycopg:", "postgresql:", url)
            kwargs: dict[str, Any] = {"autocommit": True}
            if self.statement_timeout:
                kwargs["options"] = f"-c statement_timeout={max(1, round(self.statement_timeout * 1000))}"
            self._pool = ConnectionPool(
                conninfo,
                min_size=1,
                max_size=max(2, pool_size + 2),
                kwargs=kwargs,
                open=True,
            )

    # -- SQLite -----------------------------------------------------------------------------------
    def _sqlite_conn(self) -> Conn:
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is None:
            raw = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            raw.execute("PRAGMA journal_mode=WAL")
            raw.execute("PRAGMA synchronous=NORMAL")
            raw.execute("PRAGMA foreign_keys=ON")
            raw.execute("PRAGMA busy_timeout=30000")
            raw.execute("PRAGMA cache_size=-4000")  # 4 MB a connection: the OS page cache does the rest
            raw.execute("PRAGMA temp_store=MEMORY")
            conn = Conn(raw, "sqlite", self._write_lock, self.statement_timeout)
            self._local.conn = conn
            with self._lock:
                self._all_sqlite.append(raw)
        return conn

    @contextmanager
    def connect(self) -> Iterator[Conn]:
        """A connection in autocommit mode, for reads and single-statement writes."""
        if self.dialect == "sqlite":
            yield self._sqlite_conn()
        else:
            with self._pool.connection() as raw:
                yield Conn(raw, "postgresql", timeout=self.statement_timeout)

    @contextmanager
    def dedicated(self) -> Iterator[Conn]:
        """A connection of its own, for a response streamed over many thread hops (results=all)."""
        if self.dialect == "sqlite":
            raw = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            raw.execute("PRAGMA busy_timeout=30000")
            try:
                yield Conn(raw, "sqlite", timeout=self.statement_timeout)
            finally:
                raw.close()
        else:
            with self._pool.connection() as raw:
                yield Conn(raw, "postgresql", timeout=self.statement_timeout)

    def refresh_statistics(self) -> None:
        """SQLite: ANALYZE on a sample (1,000 rows an index): 10 ms at a million fiches and vevents.
        The statistics `openrdv db upgrade` took describe the tables as they were then (often empty),
        and with those the planner walks the wrong index (a filtered page: 50 ms instead of 0.1 ms).
        PostgreSQL's autovacuum keeps its own statistics."""
        if self.dialect != "sqlite":
            return
        with self.connect() as conn:
            tables = conn.all("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")
            virtual = [str(name) for name, sql in tables if str(sql or "").upper().startswith("CREATE VIRTUAL")]
            conn.execute("PRAGMA analysis_limit=1000")
            for name, _sql in tables:
                # not the full-text shadow tables: the sample does not apply to a table without an
                # index, and reading every segment of a million-row index takes seconds
                if str(name) not in virtual and not any(str(name).startswith(f"{v}_") for v in virtual):
                    conn.execute(f'ANALYZE "{name}"')

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        with self._lock:
            for raw in self._all_sqlite:
                try:
                    raw.close()
                except sqlite3.Error:
                    pass
            self._all_sqlite.clear()
        self._local = threading.local()
