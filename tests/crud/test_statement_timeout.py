"""The statement timeout (Hardening 12): a statement running longer than the limit is stopped with
StatementTimeout on both engines (SQLite: a progress handler; PostgreSQL: statement_timeout), leaves
no transaction open, and the connection serves the next statement; a stream's limit holds per chunk."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openrdv.db.engine import Conn, Database, StatementTimeout
from tests.engines import ENGINE, fresh_database_url

pytestmark = pytest.mark.engines

# a statement that runs for seconds on either engine, whatever the data
SLOW = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000000) "
    "SELECT count(*) FROM c"
)
LIMIT = 0.2


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = fresh_database_url(tmp_path, "timeout.db")
    database = Database(url, pool_size=1, statement_timeout=LIMIT)
    with database.connect() as conn:
        conn.execute("CREATE TABLE scratch (x integer)")
    yield database
    database.close()


def idle(conn: Conn) -> bool:
    """No transaction left open on the connection."""
    if ENGINE == "sqlite":
        return not conn.raw.in_transaction
    from psycopg.pq import TransactionStatus

    return bool(conn.raw.info.transaction_status == TransactionStatus.IDLE)


def stopped(conn: Conn, sql: str = SLOW) -> StatementTimeout:
    started = time.monotonic()
    with pytest.raises(StatementTimeout) as info:
        conn.scalar(sql)
    assert time.monotonic() - started < LIMIT + 2, "stopped near the limit, not after the whole statement"
    return info.value


def test_a_long_statement_is_stopped_and_the_connection_serves_the_next(db: Database) -> None:
    with db.connect() as conn:
        exc = stopped(conn)
        assert exc.seconds == LIMIT and f"{LIMIT:g} s" in str(exc)
        assert idle(conn)
        assert conn.scalar("SELECT 1 + 1") == 2


def test_a_stopped_statement_rolls_its_write_transaction_back(db: Database) -> None:
    with db.connect() as conn:
        with pytest.raises(StatementTimeout), conn.transaction():
            conn.execute("INSERT INTO scratch (x) VALUES (1)")
            conn.scalar(SLOW)
        assert idle(conn)
        assert conn.scalar("SELECT count(*) FROM scratch") == 0
        with conn.transaction():  # the write lock (SQLite) and the connection are free again
            conn.execute("INSERT INTO scratch (x) VALUES (2)")
        assert conn.scalar("SELECT count(*) FROM scratch") == 1


def test_a_stopped_statement_ends_its_read_snapshot(db: Database) -> None:
    with db.dedicated() as conn:
        with pytest.raises(StatementTimeout), conn.snapshot():
            assert conn.scalar("SELECT count(*) FROM scratch") == 0
            conn.scalar(SLOW)
        assert idle(conn)
        assert conn.scalar("SELECT 2") == 2


def test_a_stream_is_limited_chunk_by_chunk_not_as_a_whole(db: Database) -> None:
    with db.connect() as conn, conn.transaction():
        for x in range(50):
            conn.execute("INSERT INTO scratch (x) VALUES (?)", (x,))
    started = time.monotonic()
    seen = 0
    with db.dedicated() as conn, conn.snapshot():
        for rows in conn.chunks("SELECT x FROM scratch ORDER BY x", (), 10):
            seen += len(rows)
            time.sleep(LIMIT / 2)  # the client reads slowly: the statement is not running meanwhile
        assert time.monotonic() - started > LIMIT * 2
    assert seen == 50
    with db.dedicated() as conn, pytest.raises(StatementTimeout), conn.snapshot():
        list(conn.chunks(SLOW, (), 10))


def test_without_a_limit_nothing_is_stopped(tmp_path: Path) -> None:
    database = Database(fresh_database_url(tmp_path, "unlimited.db"), pool_size=1)
    try:
        with database.connect() as conn:
            short = SLOW.replace("300000000", "300000")  # long enough to cross LIMIT's checks, not LIMIT
            assert conn.scalar(short) == 300000
    finally:
        database.close()
