"""POST, PUT and DELETE of one record: the input checked, the resource's behaviour hooks run around
the write in one transaction, and the record rendered back for the caller."""

from __future__ import annotations

from typing import Any

from openrdv.crud.input import check_references, check_required, coerce_input, extract_object
from openrdv.crud.reading import get_record, get_record_unscoped, load_existing
from openrdv.crud.storage import column_values, insert_values, set_search_columns, table_columns, write_links
from openrdv.crud.tenancy import target_group
from openrdv.db.sql import quote
from openrdv.errors import invalid
from openrdv.model.context import CallContext
from openrdv.model.declaration import Kind, Resource, default_value


def create_record(resource: Resource, ctx: CallContext, body: dict[str, Any], xml: bool = False) -> dict[str, Any]:
    obj = extract_object(resource, body, ctx.params)
    group_hint = ctx.group_id
    if group_hint is None and ctx.principal is not None:
        group_hint = ctx.principal.main_group_id
    values = coerce_input(resource, ctx, obj, ctx.zone_for(group_hint) if group_hint else ctx.zone)
    group_id = None if resource.tenancy in ("groups", "self") else target_group(ctx, values.get("group_id"))
    if group_id is not None and ctx.group_id is None and group_id != group_hint:
        # datetimes are wall-clock in the group the row goes to: read them again in its zone
        values = coerce_input(resource, ctx, obj, ctx.zone_for(group_id))
    merged: dict[str, Any] = {f.name: default_value(f) for f in resource.fields if not f.virtual}
    merged.pop("id", None)
    merged.update(values)
    if group_id is not None and "group_id" in resource.by_name:
        merged["group_id"] = group_id
    check_required(resource, merged)
    with ctx.conn.transaction():
        resource.behaviour.validate(ctx, merged, None)
        check_references(resource, ctx, merged, group_id)
        resource.behaviour.before_write(ctx, merged, None)
        row_id = insert_values(resource, ctx.conn, merged, ctx.now)
        write_links(resource, ctx, row_id, merged)
        resource.behaviour.after_write(ctx, row_id, merged, True)
        # the caller just made this row: it may read it back even before it is in its scope
        # (an account created without a session)
        return get_record_unscoped(resource, ctx, row_id, xml)


def update_record(
    resource: Resource, ctx: CallContext, record_id: int, body: dict[str, Any], xml: bool = False
) -> dict[str, Any]:
    obj = extract_object(resource, body, ctx.params)
    columns = table_columns(resource)
    with ctx.conn.transaction():
        existing = load_existing(resource, ctx, record_id)
        resource.behaviour.check_update(ctx, existing)
        group_id = existing.get("group_id") if resource.tenancy != "groups" else None
        zone = ctx.zone_for(group_id) if group_id else ctx.zone
        values = coerce_input(resource, ctx, obj, zone)
        if resource.tenancy != "groups" and values.get("group_id") not in (None, 0, group_id):
            raise invalid("group_id", "cannot be changed")
        merged = dict(existing)
        merged.update(values)
        if "group_id" in merged and resource.tenancy != "groups":
            merged["group_id"] = group_id
        check_required(resource, merged)
        resource.behaviour.validate(ctx, merged, existing)
        check_references(resource, ctx, values, group_id)
        if resource.timestamps:
            merged["updated_at"] = ctx.now
        set_search_columns(resource, merged)
        resource.behaviour.before_write(ctx, merged, existing)
        changed = {k: v for k, v in merged.items() if k not in existing or existing[k] != v or k in values}
        stored = column_values(resource, changed, columns)
        stored.pop("id", None)
        stored.pop("created_at", None)
        if stored:
            assignments = ", ".join(f"{quote(c)} = ?" for c in stored)
            ctx.conn.execute(
                f"UPDATE {quote(resource.table)} SET {assignments} WHERE id = ?", [*stored.values(), record_id]
            )
        write_links(resource, ctx, record_id, values)
        resource.behaviour.after_write(ctx, record_id, changed, False)
        return get_record(resource, ctx, record_id, xml)


def delete_record(resource: Resource, ctx: CallContext, record_id: int, xml: bool = False) -> dict[str, Any]:
    with ctx.conn.transaction():
        record = get_record(resource, ctx, record_id, xml)
        if resource.soft_delete:
            updates = "deleted = ?" + (", updated_at = ?" if resource.timestamps else "")
            params: list[Any] = [True] + ([ctx.now] if resource.timestamps else [])
            ctx.conn.execute(f"UPDATE {quote(resource.table)} SET {updates} WHERE id = ?", [*params, record_id])
            resource.behaviour.after_write(ctx, record_id, {"deleted": True}, False)
            return get_record(resource, ctx, record_id, xml)
        for field in resource.fields:
            if field.kind is Kind.IDS and field.link is not None:
                ctx.conn.execute(f"DELETE FROM {field.link.table} WHERE {field.link.own_column} = ?", (record_id,))
        ctx.conn.execute(f"DELETE FROM {quote(resource.table)} WHERE id = ?", (record_id,))
        return record
