"""Operator actions shared by the command line and the demo data: they go through the same
declarations and handlers as the API, as a context that acts for every group."""

from __future__ import annotations

from typing import Any

from openrdv import registry
from openrdv.db.engine import Conn, Database
from openrdv.model.context import CallContext
from openrdv.registry import RESOURCES
from openrdv.settings import Settings


def operator_context(db: Database, conn: Conn, settings: Settings, group_id: int | None = None) -> CallContext:
    ctx = CallContext.of_operator(conn, settings, db)
    if group_id is None:
        return ctx
    timezone = conn.scalar("SELECT timezone FROM groups WHERE id = ?", (group_id,))
    if timezone is None:
        raise LookupError(f"there is no group {group_id}")
    return ctx.in_group(group_id, str(timezone))


def create(
    db: Database, settings: Settings, collection: str, fields: dict[str, Any], group_id: int | None = None
) -> dict[str, Any]:
    """Create one record of `collection` (as the API would, with its validation) and return it."""
    resource = RESOURCES[collection]
    with db.connect() as conn:
        ctx = operator_context(db, conn, settings, group_id)
        return registry.create(resource, ctx, {resource.singular: fields})


def add_pro_to_group(db: Database, pro_id: int, group_id: int) -> None:
    with db.connect() as conn:
        conn.execute(
            "INSERT INTO pro_groups (pro_id, group_id) VALUES (?, ?) ON CONFLICT DO NOTHING", (pro_id, group_id)
        )
