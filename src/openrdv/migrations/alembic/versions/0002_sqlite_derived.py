"""SQLite: full-text rowids ranged by group, and range counts per group and time bucket.

Replaces the external-content FTS5 tables of revision 0001 (rowid = id) by contentless ones whose
rowid is `group_id << 40 | id` (db/derived.py), adds the range_counts table with its triggers, fills
both from the rows, and creates the declared indexes a database made before them lacks.
PostgreSQL: only the missing declared indexes.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from openrdv.crud.schema import build_metadata, sqlite_derived_ddl
from openrdv.db.derived import drop_sqlite_derived, rebuild_derived
from openrdv.db.engine import Conn
from openrdv.registry import RESOURCES

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        names = "SELECT name FROM sqlite_master WHERE type = 'index'"
    else:
        names = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    existing = {row[0] for row in bind.execute(sa.text(names))}
    for declared in build_metadata(RESOURCES.values()).sorted_tables:
        for index in declared.indexes:
            if index.name not in existing:
                index.create(bind)
    if bind.dialect.name != "sqlite":
        return
    conn = Conn(bind.connection.driver_connection, "sqlite")
    tables = sorted({r.table for r in RESOURCES.values() if r.owns_table and (r.fulltext or r.counted)})
    for table in tables:
        drop_sqlite_derived(conn, table)
    for statement in sqlite_derived_ddl(RESOURCES.values()):
        op.execute(statement)
    for table in tables:
        rebuild_derived(conn, table)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    conn = Conn(bind.connection.driver_connection, "sqlite")
    for table in sorted({r.table for r in RESOURCES.values() if r.owns_table}):
        drop_sqlite_derived(conn, table)
    op.execute("DROP TABLE IF EXISTS range_counts")
