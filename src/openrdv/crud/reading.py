"""One record by id: its row (inside the caller's scope, or not for a row the call has just written),
rendered for the caller's profile, or keyed by field name as an update reads it."""

from __future__ import annotations

from typing import Any

from openrdv.crud.records import shape_for
from openrdv.crud.rendering import render_record
from openrdv.crud.tenancy import scope_clauses
from openrdv.db.engine import Conn, Row
from openrdv.db.sql import quote
from openrdv.errors import NotFound
from openrdv.model.context import CallContext
from openrdv.model.declaration import Resource


def fetch_row(
    resource: Resource, ctx: CallContext, record_id: int, conn: Conn | None = None, scoped: bool = True
) -> Row:
    """The row of `shape_for(resource, ctx.profile)`; NotFound when it is outside the caller's scope
    (unless `scoped` is False) or absent."""
    shape = shape_for(resource, ctx.profile)
    where, params = scope_clauses(resource, ctx) if scoped else ([], [])
    clauses = " AND ".join(['t."id" = ?', *where])
    row = (conn or ctx.conn).one(
        f"SELECT {shape.select_list} FROM {quote(resource.table)} t WHERE {clauses}", [record_id, *params]
    )
    if row is None:
        raise NotFound()
    return row


def get_record(resource: Resource, ctx: CallContext, record_id: int, xml: bool = False) -> dict[str, Any]:
    row = fetch_row(resource, ctx, record_id)
    return render_record(ctx, shape_for(resource, ctx.profile), row, xml)


def get_record_unscoped(resource: Resource, ctx: CallContext, record_id: int, xml: bool = False) -> dict[str, Any]:
    """A row this call has just written, rendered for the caller's profile."""
    row = fetch_row(resource, ctx, record_id, scoped=False)
    return render_record(ctx, shape_for(resource, ctx.profile), row, xml)


def load_existing(resource: Resource, ctx: CallContext, record_id: int) -> dict[str, Any]:
    """The stored row keyed by field name (internal columns by column name), if visible."""
    fetch_row(resource, ctx, record_id)  # the tenant and profile scope decide visibility
    row = ctx.conn.one_dict(f"SELECT * FROM {quote(resource.table)} WHERE id = ?", (record_id,))
    if row is None:
        raise NotFound()
    by_column = {f.col: f.name for f in resource.stored_fields}
    return {by_column.get(col, col): value for col, value in row.items()}
