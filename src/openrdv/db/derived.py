"""Data SQLite derives from a table's rows (its full-text index, its range counts), kept up to date
by triggers on every write and rebuilt in one pass after a bulk load that ran without them."""

from __future__ import annotations

from openrdv.db.engine import Conn


def rebuild_derived(conn: Conn, table: str) -> None:
    """Rebuild, from the rows of `table`, everything derived from them (SQLite only; a no-op on
    PostgreSQL, whose indexes are maintained by the engine itself)."""
    if conn.dialect != "sqlite":
        return
    if conn.scalar("SELECT 1 FROM sqlite_master WHERE name = ?", (f"{table}_fts",)):
        conn.execute(f"INSERT INTO {table}_fts({table}_fts) VALUES ('rebuild')")
