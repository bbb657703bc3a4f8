"""The tenant guard, in one place: which groups a caller may touch, and the SQL that scopes every
query to them. A group the caller cannot see answers 404, never 403, so ids of other tenants are
never confirmed."""

from __future__ import annotations

from typing import Any

from openrdv.db.engine import Conn
from openrdv.db.sql import in_list
from openrdv.errors import NotFound, invalid
from openrdv.model.context import CallContext, Principal
from openrdv.model.declaration import Resource


def guard_group(conn: Conn, principal: Principal | None, group_id: int) -> str:
    """The time zone of the group of a nested route, if this caller may address it; 404 otherwise.

    A pro addresses only its own groups. Accounts and anonymous callers address any existing group:
    what they may see inside it is the public catalogue and their own rows (account scopes).
    """
    if principal is not None and principal.kind == "pro":
        name = principal.zone_of(group_id)
        if name is None:
            raise NotFound()
        return name
    name = conn.scalar("SELECT timezone FROM groups WHERE id = ?", (group_id,))
    if name is None:
        raise NotFound()
    return str(name)


def target_group(ctx: CallContext, given: int | None) -> int:
    """The one group a create, a booking or an availability request is about: the group of the
    route; else the `group_id` given (one of a pro's own groups; any existing group for a customer or
    the operator: every business's catalogue is public); else the caller's main group."""
    if ctx.group_id is not None:
        if given not in (None, 0, ctx.group_id):
            raise invalid("group_id", "does not match the group in the URL")
        return ctx.group_id
    principal = ctx.principal
    if given:
        if principal is not None and principal.kind == "pro":
            if given not in principal.group_ids:
                raise invalid("group_id", "is not one of your groups")
        elif ctx.conn.scalar("SELECT 1 FROM groups WHERE id = ?", (given,)) is None:
            raise invalid("group_id", f"there is no group {given}")
        return given
    if principal is None or principal.main_group_id is None:
        raise invalid("group_id", "can't be blank outside a group URL")
    return principal.main_group_id


def scope_clauses(resource: Resource, ctx: CallContext) -> tuple[list[str], list[Any]]:
    """WHERE clauses (on alias `t`) limiting a query to the rows this caller may address."""
    clauses: list[str] = []
    params: list[Any] = []
    principal = ctx.principal
    if ctx.operator:
        if ctx.group_id is not None and resource.tenancy == "group":
            return ['t."group_id" = ?'], [ctx.group_id]
        return clauses, params

    def add(sql: str, values: list[Any]) -> None:
        clauses.append(sql)
        params.extend(values)

    if resource.tenancy == "self":
        add("t.id = ?", [ctx.account_id or 0])
    elif resource.tenancy == "groups":
        if ctx.is_pro:
            assert principal is not None
            add(*in_list("t.id", principal.group_ids))
    elif resource.tenancy == "members":
        if ctx.group_id is not None:
            add("t.id IN (SELECT pro_id FROM pro_groups WHERE group_id = ?)", [ctx.group_id])
        else:
            ids = principal.group_ids if principal else ()
            sql, values = in_list("group_id", ids)
            add(f"t.id IN (SELECT pro_id FROM pro_groups WHERE {sql})", values)
    elif ctx.group_id is not None:
        add('t."group_id" = ?', [ctx.group_id])
    else:
        add(*in_list('t."group_id"', principal.group_ids if principal else ()))
    base = resource.behaviour.base_scope(ctx)
    if base is not None:
        add(base[0], list(base[1]))
    if not ctx.is_pro:
        extra = resource.behaviour.account_scope(ctx)
        if extra is not None:
            add(extra[0], list(extra[1]))
    return clauses, params


def scope_groups(resource: Resource, ctx: CallContext) -> tuple[int, ...] | None:
    """The groups `scope_clauses` restricts a group-owned resource's rows to (its first clause), or
    None when it does not restrict them to groups."""
    if resource.tenancy != "group":
        return None
    if ctx.group_id is not None:
        return (ctx.group_id,)
    if ctx.operator:
        return None
    return ctx.principal.group_ids if ctx.principal else ()
