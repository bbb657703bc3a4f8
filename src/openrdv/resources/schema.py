"""The SQL schema, derived from the declarations (plus the few tables no resource declares).

Used by the Alembic migrations only: the request path never imports SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import sqlalchemy as sa

from openrdv.resources.declaration import Field, Kind, Resource

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


def resource_table(metadata: sa.MetaData, resource: Resource, extra: list[sa.Column[object]]) -> sa.Table:
    columns: list[sa.Column[object]] = [sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True)]
    columns += [_column(f) for f in resource.stored_fields if f.name != "id"]
    columns += [sa.Column(name, sa.Text(), nullable=False, server_default="") for name in resource.search_columns]
    columns += extra
    table = sa.Table(resource.table, metadata, *columns)
    if resource.tenancy == "group":
        sa.Index(f"ix_{resource.table}_group_id_id", table.c.group_id, table.c.id)
    for cols in resource.indexes:
        name = f"ix_{resource.table}_" + "_".join(c.lower() for c in cols)
        sa.Index(name, *[table.c[c] for c in cols])
    if resource.tenancy == "group" and "deleted" in resource.by_name:
        sa.Index(f"ix_{resource.table}_group_id_deleted", table.c.group_id, table.c.deleted)
    return table


# Columns a table holds beyond its declared fields (not readable or writable through the API).
def _credential_version() -> sa.Column[object]:
    # bumped by a password change: the verified-credential caches of every server miss at once
    return sa.Column("credential_version", sa.BigInteger(), nullable=False, server_default="0")


EXTRA_COLUMNS: dict[str, Callable[[], list[sa.Column[object]]]] = {
    "pros": lambda: [_credential_version()],
    "fiches": lambda: [sa.Column("account_id", sa.BigInteger(), nullable=True)],
    "accounts": lambda: [_credential_version()],
}


def build_metadata() -> sa.MetaData:
    from openrdv.resources.registry import RESOURCES

    metadata = sa.MetaData()
    # groups first: every tenant table references it
    ordered = sorted(RESOURCES.values(), key=lambda r: r.tenancy != "groups")
    for resource in ordered:
        if not resource.owns_table:
            continue
        resource_table(metadata, resource, EXTRA_COLUMNS.get(resource.table, list)())
    pros = metadata.tables["pros"]
    sa.Index("ux_pros_email", sa.func.lower(pros.c.email), unique=True)

    sa.Table(
        "calendar_interventions",
        metadata,
        sa.Column("calendar_id", sa.BigInteger(), sa.ForeignKey("calendars.id"), primary_key=True),
        sa.Column("intervention_id", sa.BigInteger(), sa.ForeignKey("interventions.id"), primary_key=True),
    )
    sa.Index("ix_calendar_interventions_intervention", metadata.tables["calendar_interventions"].c.intervention_id)
    sa.Table(
        "pro_groups",
        metadata,
        sa.Column("pro_id", sa.BigInteger(), sa.ForeignKey("pros.id"), primary_key=True),
        sa.Column("group_id", sa.BigInteger(), sa.ForeignKey("groups.id"), primary_key=True),
    )
    accounts = metadata.tables["accounts"]
    sa.Index("ux_accounts_email", sa.func.lower(accounts.c.email), unique=True)
    sa.Table(
        "vevent_interventions",
        metadata,
        sa.Column("vevent_id", sa.BigInteger(), sa.ForeignKey("vevents.id"), primary_key=True),
        sa.Column("intervention_id", sa.BigInteger(), sa.ForeignKey("interventions.id"), primary_key=True),
    )
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
    return metadata


@lru_cache(maxsize=1)
def metadata() -> sa.MetaData:
    return build_metadata()


def dialect_extras(dialect: str) -> list[str]:
    """DDL that SQLAlchemy's portable schema cannot say: PostgreSQL's trigram indexes behind `search`."""
    from openrdv.resources.registry import RESOURCES

    # (SQLite's full-text tables and range counts come with revision 0002: db/derived.py)
    statements: list[str] = []
    if dialect == "postgresql":
        statements.append(
            "DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS pg_trgm; "
            "EXCEPTION WHEN OTHERS THEN RAISE NOTICE 'pg_trgm is not available: search will scan'; END $$"
        )
        searchable = sorted({r.table for r in RESOURCES.values() if r.search_fields and r.owns_table})
        for table in searchable:
            statements.append(
                "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN "
                f"CREATE INDEX IF NOT EXISTS ix_{table}_search ON {table} USING gin (search_text gin_trgm_ops); "
                "END IF; END $$"
            )
    return statements


def sqlite_derived_ddl() -> list[str]:
    """SQLite's full-text tables and range counts (db/derived.py), for the declared tables."""
    from openrdv.db.derived import range_counts_ddl, sqlite_ddl
    from openrdv.resources.registry import RESOURCES

    tables = sorted((r for r in RESOURCES.values() if r.owns_table), key=lambda r: r.table)
    statements = [range_counts_ddl()] if any(r.counted for r in tables) else []
    for resource in tables:
        if resource.fulltext or resource.counted:
            statements += sqlite_ddl(resource.table, resource.fulltext, resource.counted)
    return statements
