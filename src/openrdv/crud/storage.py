"""Rows written below the handlers' checks: field-named values → the table's columns, an INSERT with
declared defaults, timestamps and search text, and the link tables of many-to-many fields."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from openrdv.db.engine import Conn
from openrdv.db.sql import quote
from openrdv.model.context import CallContext
from openrdv.model.declaration import Kind, Resource, default_value
from openrdv.query.search import search_document


def write_links(resource: Resource, ctx: CallContext, row_id: int, values: dict[str, Any]) -> None:
    for field in resource.fields:
        if field.kind is Kind.IDS and field.name in values and field.can_write(ctx.profile):
            link = field.link
            assert link is not None
            ctx.conn.execute(f"DELETE FROM {link.table} WHERE {link.own_column} = ?", (row_id,))
            for other in values[field.name]:
                ctx.conn.execute(
                    f"INSERT INTO {link.table} ({link.own_column}, {link.other_column}) VALUES (?, ?)",
                    (row_id, other),
                )


def column_values(resource: Resource, values: dict[str, Any], columns: frozenset[str]) -> dict[str, Any]:
    """Field-named values → column-named values, keeping only real columns of the table."""
    by_name = resource.by_name
    result: dict[str, Any] = {}
    for key, value in values.items():
        field = by_name.get(key)
        if field is not None:
            if not field.virtual:
                result[field.col] = value
        elif key in columns:
            result[key] = value
    return result


@lru_cache(maxsize=64)
def table_columns(resource: Resource) -> frozenset[str]:
    """Every column of the resource's table, from the declaration (SQLAlchemy stays out of the
    request path: importing it costs a worker ~20 MB)."""
    names = {"id", *(f.col for f in resource.stored_fields), *resource.search_columns}
    names.update(hidden.name for hidden in resource.hidden_columns)
    return frozenset(names)


def set_search_columns(resource: Resource, values: dict[str, Any]) -> None:
    """The stored, normalised search text (and the accounts' one, when their fields differ)."""
    for column, names in resource.search_columns.items():
        values[column] = search_document(values.get(n) for n in names)


def insert_values(resource: Resource, conn: Conn, values: dict[str, Any], now: int) -> int:
    """INSERT one row from field-named values (declared defaults for the rest), with timestamps and
    the search text, and give its id."""
    merged: dict[str, Any] = {f.name: default_value(f) for f in resource.stored_fields if f.name != "id"}
    merged.update(values)
    if resource.timestamps:
        merged["created_at"] = merged["updated_at"] = now
    set_search_columns(resource, merged)
    stored = column_values(resource, merged, table_columns(resource))
    stored.pop("id", None)
    names = ", ".join(quote(c) for c in stored)
    marks = ", ".join("?" for _ in stored)
    return conn.insert(
        f"INSERT INTO {quote(resource.table)} ({names}) VALUES ({marks}) RETURNING id", list(stored.values())
    )
