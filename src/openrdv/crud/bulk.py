"""Rows in bulk, straight to SQL: every column left out takes its declared default, stored exactly
as the API stores it (the demo's million rows and the benchmarks' data). On SQLite the table's
indexes and triggers can be dropped during the load and built again afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from openrdv.db.derived import rebuild_derived
from openrdv.db.engine import Conn, Dialect
from openrdv.db.sql import quote
from openrdv.model.declaration import Resource, default_value

# SQLite page cache of the loading connection while it rebuilds the full-text index, in KiB: enough
# to hold the whole index of a million fiches (150 MB), which it writes and merges many times over.
# Not for the inserts nor CREATE INDEX: measured, both run faster in the connection's usual 4 MB.
REBUILD_CACHE_KIB = 256 * 1024


def sql_literal(value: Any, dialect: Dialect) -> str:
    """A declared default as SQL text, stored exactly as the same value bound by the API would be."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        if dialect == "postgresql":
            return "TRUE" if value else "FALSE"
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for the default {value!r}")


def insert_sql(resource: Resource, columns: Sequence[str], dialect: Dialect) -> str:
    """INSERT binding `columns`; every other stored column gets its declared default as a literal
    (binding fifty constants a row cost the load more than the values that vary)."""
    missing = [c for c in resource.search_columns if c not in columns]
    if missing:
        raise ValueError(f"{resource.name}: the rows must give the derived columns {missing}")
    defaults = {
        f.col: sql_literal(default_value(f), dialect)
        for f in resource.stored_fields
        if f.name != "id" and f.col not in columns
    }
    names = ", ".join(quote(c) for c in (*columns, *defaults))
    marks = "?" if dialect == "sqlite" else "%s"
    values = ", ".join([marks] * len(columns) + list(defaults.values()))
    return f"INSERT INTO {quote(resource.table)} ({names}) VALUES ({values})"


@contextmanager
def pragma(conn: Conn, name: str, value: int) -> Iterator[None]:
    """A SQLite connection setting changed for a while, then set back."""
    if conn.dialect != "sqlite":
        yield
        return
    before = int(conn.scalar(f"PRAGMA {name}"))
    conn.execute(f"PRAGMA {name} = {int(value)}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA {name} = {before}")


@contextmanager
def unsynced(conn: Conn) -> Iterator[None]:
    """No fsync while the demo loads (a fifth off every insert). Without them a WAL database still
    survives the application crashing; only the machine going down mid-load could damage it, and a
    demo cut short has to be loaded again into a fresh database anyway."""
    with pragma(conn, "synchronous", 0):
        yield


@contextmanager
def deferred_indexes(conn: Conn, table: str, enabled: bool) -> Iterator[None]:
    """On SQLite, drop a table's secondary indexes and triggers during a bulk load and build them
    again afterwards, with what the triggers keep (`rebuild_derived`): one sort per index instead of
    a B-tree update per row (5x faster)."""
    if not enabled or conn.dialect != "sqlite":
        yield
        return
    objects = conn.all(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL",
        (table,),
    )
    for kind, name, _sql in objects:
        conn.execute(f"DROP {'INDEX' if kind == 'index' else 'TRIGGER'} {quote(name)}")
    try:
        yield
    finally:
        for _kind, _name, sql in objects:
            conn.execute(sql)
        with pragma(conn, "cache_size", -REBUILD_CACHE_KIB):
            rebuild_derived(conn, table)


def insert_rows(
    conn: Conn,
    resource: Resource,
    columns: Sequence[str],
    batches: Iterable[list[tuple[Any, ...]]],
    inserted: Callable[[int], None] | None = None,
) -> int:
    """Insert rows (tuples in the order of `columns`), one transaction per batch; `inserted` hears
    how many rows are in after each."""
    sql = insert_sql(resource, columns, conn.dialect)
    done = 0
    for batch in batches:
        with conn.transaction():
            if conn.dialect == "sqlite":
                conn.raw.executemany(sql, batch)
            else:
                with conn.raw.cursor() as cur:
                    cur.executemany(sql, batch)
        done += len(batch)
        if inserted is not None:
            inserted(done)
    return done
