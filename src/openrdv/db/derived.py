"""Data SQLite derives from a table's rows, kept up to date by triggers on every write and rebuilt in
one pass after a bulk load that ran without them:

- the full-text index behind `search` (FTS5 trigram, contentless). Its rowid is not the row's id
  but `group_id << GROUP_SHIFT | id`, so one group's rows are one contiguous rowid range: a search
  inside a group reads only that group's postings and counts them without visiting the table.
- range counts: for each counted column of a table, the number of rows of each group in each
  bucket of 2**BUCKET_BITS seconds. A total under a range condition on that column is then the
  sum of the whole buckets inside the range (a few hundred small rows) plus the rows of at most
  two partial buckets, instead of a walk over every matching index entry (a million rows: 20 ms).

PostgreSQL needs none of it: pg_trgm indexes serve `search`, and a counter row updated by every
write would serialise the concurrent writers of a group, which SQLite's single writer never has.
"""

from __future__ import annotations

from collections.abc import Sequence

from openrdv.db.engine import Conn

BUCKET_BITS = 16  # 65,536 s, about 18 hours
NULL_BUCKET = -(1 << 62)  # where rows whose value is NULL are counted (below every real bucket)
GROUP_SHIFT = 40  # ids below 2**40, group ids below 2**23
ID_MASK = (1 << GROUP_SHIFT) - 1
RANGE_COUNTS = "range_counts"
# the triggers keeping a column's counts are named after it: the schema itself says what is counted
_COUNTS_UPDATE = "{table}_counts_update_"


def fts_table(table: str) -> str:
    return f"{table}_fts"


def fts_rowid(alias: str) -> str:
    """The full-text rowid of a row, as SQL over `alias` (new, old, or a table)."""
    return f"(({alias}.group_id << {GROUP_SHIFT}) + {alias}.id)"


def bucket_of(alias: str, column: str) -> str:
    return f'coalesce({alias}."{column}" >> {BUCKET_BITS}, {NULL_BUCKET})'


def range_counts_ddl() -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {RANGE_COUNTS} (tbl TEXT NOT NULL, col TEXT NOT NULL, "
        "group_id INTEGER NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL, "
        "PRIMARY KEY (tbl, col, group_id, bucket)) WITHOUT ROWID"
    )


def _count_one(table: str, column: str, alias: str, delta: int) -> str:
    if delta > 0:
        return (
            f"INSERT INTO {RANGE_COUNTS} (tbl, col, group_id, bucket, n) VALUES ('{table}', '{column}', "
            f"{alias}.group_id, {bucket_of(alias, column)}, 1) "
            "ON CONFLICT (tbl, col, group_id, bucket) DO UPDATE SET n = n + 1;"
        )
    return (
        f"UPDATE {RANGE_COUNTS} SET n = n - 1 WHERE tbl = '{table}' AND col = '{column}' "
        f"AND group_id = {alias}.group_id AND bucket = {bucket_of(alias, column)};"
    )


def sqlite_ddl(table: str, fulltext: bool, counted: Sequence[str]) -> list[str]:
    """The full-text table and the triggers that keep it and the range counts, for one table."""
    statements: list[str] = []
    if fulltext:
        fts = fts_table(table)
        statements += [
            # contentless (the rows hold the text) and no column sizes (nothing ranks by them)
            f"CREATE VIRTUAL TABLE {fts} USING fts5(search_text, content='', columnsize=0, tokenize='trigram')",
            f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}(rowid, search_text) VALUES ({fts_rowid('new')}, new.search_text); END",
            f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', {fts_rowid('old')}, old.search_text); "
            "END",
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF search_text, group_id ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', {fts_rowid('old')}, old.search_text); "
            f"INSERT INTO {fts}(rowid, search_text) VALUES ({fts_rowid('new')}, new.search_text); END",
        ]
    if counted:  # (the range_counts table itself: range_counts_ddl, once for all tables)
        inserts = " ".join(_count_one(table, column, "new", +1) for column in counted)
        deletes = " ".join(_count_one(table, column, "old", -1) for column in counted)
        statements += [
            f"CREATE TRIGGER {table}_counts_insert AFTER INSERT ON {table} BEGIN {inserts} END",
            f"CREATE TRIGGER {table}_counts_delete AFTER DELETE ON {table} BEGIN {deletes} END",
        ]
        for column in counted:
            moved = f"old.group_id IS NOT new.group_id OR {bucket_of('old', column)} IS NOT {bucket_of('new', column)}"
            statements.append(
                f"CREATE TRIGGER {_COUNTS_UPDATE.format(table=table)}{column} "
                f'AFTER UPDATE OF "{column}", group_id ON {table} '
                f"WHEN {moved} BEGIN {_count_one(table, column, 'old', -1)} "
                f"{_count_one(table, column, 'new', +1)} END"
            )
    return statements


def drop_sqlite_derived(conn: Conn, table: str) -> None:
    """Drop the full-text table, range counts and their triggers of `table` (any earlier form)."""
    fts = fts_table(table)
    triggers = conn.all(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND (name LIKE ? OR name LIKE ?)",
        (table, f"{fts}_%", f"{table}_counts_%"),
    )
    for (name,) in triggers:
        conn.execute(f'DROP TRIGGER "{name}"')
    conn.execute(f"DROP TABLE IF EXISTS {fts}")
    if conn.scalar("SELECT 1 FROM sqlite_master WHERE name = ?", (RANGE_COUNTS,)):
        conn.execute(f"DELETE FROM {RANGE_COUNTS} WHERE tbl = ?", (table,))


def counted_columns(conn: Conn, table: str) -> list[str]:
    """The columns of `table` whose range counts the schema keeps (from its triggers' names)."""
    prefix = _COUNTS_UPDATE.format(table=table)
    rows = conn.all(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND name LIKE ? ORDER BY name",
        (table, f"{prefix}%"),
    )
    return [str(name)[len(prefix) :] for (name,) in rows]


def rebuild_derived(conn: Conn, table: str) -> None:
    """Rebuild, from the rows of `table`, everything derived from them (SQLite only; a no-op on
    PostgreSQL, whose indexes are maintained by the engine itself)."""
    if conn.dialect != "sqlite":
        return
    fts = fts_table(table)
    if conn.scalar("SELECT 1 FROM sqlite_master WHERE name = ?", (fts,)):
        conn.execute(f"INSERT INTO {fts}({fts}) VALUES ('delete-all')")
        # in rowid order: FTS5 flushes its pending terms whenever a rowid is lower than the last one
        # (3 times slower over 100 groups, 1.5 times over one)
        conn.execute(
            f"INSERT INTO {fts}(rowid, search_text) SELECT {fts_rowid(table)}, search_text FROM {table} "
            "ORDER BY group_id, id"
        )
    columns = counted_columns(conn, table)
    if columns:
        conn.execute(f"DELETE FROM {RANGE_COUNTS} WHERE tbl = ?", (table,))
        for column in columns:
            conn.execute(
                f"INSERT INTO {RANGE_COUNTS} (tbl, col, group_id, bucket, n) SELECT ?, ?, group_id, "
                f"{bucket_of(table, column)}, count(*) FROM {table} GROUP BY 3, 4",
                (table, column),
            )
