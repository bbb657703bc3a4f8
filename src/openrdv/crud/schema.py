"""The SQL schema, derived from the declarations (plus the few tables no resource declares): each
resource's table with its hidden columns, and the link tables of its `Link` fields.

Used by the Alembic migrations only (they pass the registry's resources): the request path never
imports SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from openrdv.db.derived import range_counts_ddl, sqlite_ddl
from openrdv.model.declaration import Field, HiddenColumn, Kind, Link, Resource

# SQLite needs INTEGER PRIMARY KEY for an auto-increment rowid; PostgreSQL gets BIGSERIAL.
ID_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
EPOCH = sa.BigInteger  # instants are UTC epoch seconds on both engines


def _column(field: Field) -> sa.Column[object]:
    kind = field.kind
    if kind is Kind.INT:
        default = field.default if isinstance(field.default, int) else None
        return sa.Column(
            field.col,
            sa.BigInteger(),
            nullable=default is None,
            server_default=None if default is None else sa.text(str(default)),
        )
    if kind is Kind.REF:
        if field.zero_when_null:
            return sa.Column(field.col, sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        if field.ref_table == "groups" and field.name == "group_id":
            return sa.Column(field.col, sa.BigInteger(), sa.ForeignKey("groups.id"), nullable=False)
        return sa.Column(field.col, sa.BigInteger(), nullable=True)
    if kind is Kind.STR:
        return sa.Column(field.col, sa.String(field.max_length or 255), nullable=False, server_default="")
    if kind in (Kind.TEXT, Kind.JSON):
        return sa.Column(field.col, sa.Text(), nullable=False, server_default="")
    if kind is Kind.BOOL:
        return sa.Column(
            field.col, sa.Boolean(), nullable=False, server_default=sa.true() if field.default else sa.false()
        )
    if kind is Kind.DATETIME:
        return sa.Column(field.col, EPOCH(), nullable=True)
    if kind is Kind.FLOAT:
        return sa.Column(field.col, sa.Float(), nullable=True)
    raise AssertionError(f"{kind} is not stored in a column")


def _hidden_column(hidden: HiddenColumn) -> sa.Column[object]:
    if hidden.default is None:
        return sa.Column(hidden.name, sa.BigInteger(), nullable=True)
    return sa.Column(hidden.name, sa.BigInteger(), nullable=False, server_default=str(hidden.default))


def resource_table(metadata: sa.MetaData, resource: Resource) -> sa.Table:
    columns: list[sa.Column[object]] = [sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True)]
    columns += [_column(f) for f in resource.stored_fields if f.name != "id"]
    columns += [sa.Column(name, sa.Text(), nullable=False, server_default="") for name in resource.search_columns]
    columns += [_hidden_column(hidden) for hidden in resource.hidden_columns]
    table = sa.Table(resource.table, metadata, *columns)
    if resource.tenancy == "group":
        sa.Index(f"ix_{resource.table}_group_id_id", table.c.group_id, table.c.id)
    for cols in resource.indexes:
        name = f"ix_{resource.table}_" + "_".join(c.lower() for c in cols)
        sa.Index(name, *[table.c[c] for c in cols])
    if resource.tenancy == "group" and "deleted" in resource.by_name:
        sa.Index(f"ix_{resource.table}_group_id_deleted", table.c.group_id, table.c.deleted)
    return table


def declared_links(resources: Iterable[Resource]) -> dict[str, list[tuple[Resource, Link]]]:
    """Every link table, with the (resource, link) pairs that declare it, in declaration order."""
    links: dict[str, list[tuple[Resource, Link]]] = {}
    for resource in resources:
        for field in resource.fields:
            if field.link is not None:
                links.setdefault(field.link.table, []).append((resource, field.link))
    return links


def link_table(metadata: sa.MetaData, declarations: list[tuple[Resource, Link]]) -> sa.Table:
    """A link table: its first declaration's two columns, each referencing its table, make the primary
    key (which serves lookups by the first); declared from the other side too, it gets an index for
    lookups by the second."""
    resource, link = declarations[0]
    table = sa.Table(
        link.table,
        metadata,
        sa.Column(link.own_column, sa.BigInteger(), sa.ForeignKey(f"{resource.table}.id"), primary_key=True),
        sa.Column(link.other_column, sa.BigInteger(), sa.ForeignKey(f"{link.other_table}.id"), primary_key=True),
    )
    if any(other.own_column == link.other_column for _, other in declarations[1:]):
        other_column = link.other_column.removesuffix("_id")
        sa.Index(f"ix_{link.table}_{other_column}", table.c[link.other_column])
    return table


def build_metadata(resources: Iterable[Resource]) -> sa.MetaData:
    """The whole schema of these declarations (the registry's)."""
    declared = list(resources)
    metadata = sa.MetaData()
    # groups first: every tenant table references it
    for resource in sorted(declared, key=lambda r: r.tenancy != "groups"):
        if resource.owns_table:
            resource_table(metadata, resource)
    for declarations in declared_links(declared).values():
        link_table(metadata, declarations)
    pros = metadata.tables["pros"]
    sa.Index("ux_pros_email", sa.func.lower(pros.c.email), unique=True)

    accounts = metadata.tables["accounts"]
    sa.Index("ux_accounts_email", sa.func.lower(accounts.c.email), unique=True)
    vevents = metadata.tables["vevents"]
    # availability reads a calendar's events overlapping a window (end > window start: the future of a
    # calendar is short however long its history) plus its recurring events, whatever their start
    sa.Index("ix_vevents_calendar_id_end", vevents.c.calendar_id, vevents.c.end)
    sa.Index(
        "ix_vevents_recurring",
        vevents.c.calendar_id,
        sqlite_where=vevents.c.rrule != "",
        postgresql_where=vevents.c.rrule != "",
    )
    fiches = metadata.tables["fiches"]
    sa.Index("ix_fiches_email", fiches.c.group_id, sa.func.lower(fiches.c.email))
    sa.Table(
        "idempotency_keys",
        metadata,
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(64), nullable=False, server_default=""),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", EPOCH(), nullable=False),
    )
    sa.Table(
        "apikeys",
        metadata,
        sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("key_digest", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", EPOCH(), nullable=False),
        sa.Column("revoked_at", EPOCH(), nullable=True),
    )
    sessions = sa.Table(
        "sessions",
        metadata,
        sa.Column("token_digest", sa.String(64), primary_key=True),
        sa.Column("user_kind", sa.String(16), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("apikey_id", sa.BigInteger(), sa.ForeignKey("apikeys.id"), nullable=False),
        sa.Column("created_at", EPOCH(), nullable=False),
        sa.Column("last_seen_at", EPOCH(), nullable=False),
    )
    sa.Index("ix_sessions_user", sessions.c.user_kind, sessions.c.user_id)
    sa.Table(
        "login_failures",
        metadata,
        sa.Column("bucket", sa.String(320), primary_key=True),
        sa.Column("failures", sa.BigInteger(), nullable=False),
        sa.Column("window_start", EPOCH(), nullable=False),
    )
    rate_limits_table(metadata)
    return metadata


def rate_limits_table(metadata: sa.MetaData) -> sa.Table:
    """The token buckets of auth/ratelimit.py, one per API key and client address (revision 0003
    adds it to a database made before it)."""
    table = sa.Table(
        "rate_limits",
        metadata,
        sa.Column("bucket", sa.String(128), primary_key=True),
        sa.Column("tat", sa.BigInteger(), nullable=False),  # when the bucket is full again, epoch µs
        sa.Column("refused", sa.Boolean(), nullable=False, server_default=sa.false()),  # the last request's fate
    )
    # PostgreSQL: one write a request must not wait for a WAL flush. An unlogged table writes no WAL, so
    # its commits do not wait for the disk; a crash empties it, which only refills every bucket.
    sa.event.listen(table, "after_create", _unlogged_on_postgresql)
    return table


def _unlogged_on_postgresql(table: sa.Table, connection: sa.Connection, **_: object) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text(f"ALTER TABLE {table.name} SET UNLOGGED"))


def dialect_extras(resources: Iterable[Resource], dialect: str) -> list[str]:
    """DDL that SQLAlchemy's portable schema cannot say: PostgreSQL's trigram indexes behind `search`."""

    # (SQLite's full-text tables and range counts come with revision 0002: db/derived.py)
    statements: list[str] = []
    if dialect == "postgresql":
        statements.append(
            "DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS pg_trgm; "
            "EXCEPTION WHEN OTHERS THEN RAISE NOTICE 'pg_trgm is not available: search will scan'; END $$"
        )
        searchable = sorted({r.table for r in resources if r.search_fields and r.owns_table})
        for table in searchable:
            statements.append(
                "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN "
                f"CREATE INDEX IF NOT EXISTS ix_{table}_search ON {table} USING gin (search_text gin_trgm_ops); "
                "END IF; END $$"
            )
    return statements


def sqlite_derived_ddl(resources: Iterable[Resource]) -> list[str]:
    """SQLite's full-text tables and range counts (db/derived.py), for the declared tables."""
    tables = sorted((r for r in resources if r.owns_table), key=lambda r: r.table)
    statements = [range_counts_ddl()] if any(r.counted for r in tables) else []
    for resource in tables:
        if resource.fulltext or resource.counted:
            statements += sqlite_ddl(resource.table, resource.fulltext, resource.counted)
    return statements
