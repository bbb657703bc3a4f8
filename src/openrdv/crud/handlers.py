"""The generic list / get / create / update / delete handlers that serve any declaration."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from openrdv.agenda.zones import Zone
from openrdv.agenda.zones import zone as zone_named
from openrdv.crud.records import RecordShape, StreamedJsonShape, shape_for, stream_shape_for
from openrdv.crud.tenancy import scope_clauses, scope_groups, target_group
from openrdv.db.engine import Conn, Row
from openrdv.db.sql import quote
from openrdv.errors import NotFound, ValidationFailed, invalid
from openrdv.model.coerce import (
    to_bool,
    to_datetime,
    to_float,
    to_id_list,
    to_int,
    to_json_text,
    to_optional_id,
    to_str,
)
from openrdv.model.context import DEFAULT_ZONE, CallContext
from openrdv.model.declaration import Field, Kind, Resource, default_value
from openrdv.query.collection import CollectionRequest, build_list_sql, filter_value, parse_collection
from openrdv.query.search import search_document

TEXT_MAX = 65535
STREAM_CHUNK = 2000


# -- rendering ----------------------------------------------------------------------------------------
class Formatters:
    """Datetime formatter per row: rows are rendered in the zone of their own group."""

    def __init__(self, ctx: CallContext, shape: RecordShape, xml: bool) -> None:
        self.ctx = ctx
        self.xml = xml
        self.by_group = shape.resource.tenancy != "groups"
        self._cache: dict[Any, Callable[[int], Any]] = {}

    def preload(self) -> None:
        """Read the caller's group zones now, while the request's connection is still ours."""
        if self.by_group and self.ctx.principal is not None:
            _ = self.ctx.principal.zones

    def zone(self, key: Any) -> Zone:
        """The zone of the rows with this key (their group_id, or the groups table's timezone)."""
        if self.by_group:
            return self.ctx.zone_for(key)
        return zone_named(key or DEFAULT_ZONE)

    def __call__(self, key: Any) -> Callable[[int], Any]:
        fmt = self._cache.get(key)
        if fmt is None:
            zone = self.zone(key)
            fmt = zone.format_xml if self.xml else zone.format
            self._cache[key] = fmt
        return fmt


def render_rows(
    ctx: CallContext, shape: RecordShape, rows: list[Row], formatters: Formatters, conn: Conn | None = None
) -> list[dict[str, Any]]:
    zi = shape.zone_index
    render = shape.render
    keys = {row[zi] for row in rows}
    if len(keys) == 1:  # the usual case: one group, one formatter for the whole batch
        fmt = formatters(next(iter(keys)))
        records = [render(row, fmt) for row in rows]
    else:
        records = [render(row, formatters(row[zi])) for row in rows]
    if shape.links:
        shape.add_links(conn or ctx.conn, records, [int(r[shape.id_index]) for r in rows])
    shape.resource.behaviour.render_extra(ctx, records)
    return records


def fast_stream_shape(ctx: CallContext, shape: RecordShape, xml: bool) -> StreamedJsonShape | None:
    """The shape of the fast JSON stream (resources/records.py), where it gives the same records as
    `render_rows`: JSON, no link fields, nothing `render_extra` would change for this profile. None:
    stream the general way."""
    if xml or shape.resource.behaviour.renders_extra(ctx.profile):
        return None
    return stream_shape_for(shape.resource, shape.profile, ctx.conn.dialect)


# -- list ---------------------------------------------------------------------------------------------
@dataclass
class Page:
    """A collection response: either a list of records, or a stream of record chunks."""

    envelope: dict[str, Any]  # totalRecords, startIndex, recordsReturned, pageSize, sort, dir
    records: list[dict[str, Any]] | None
    # chunks of records: dicts, or already encoded as one JSON array (the fast JSON stream)
    stream: Iterator[list[dict[str, Any]] | bytes] | None = None


def read_filters(resource: Resource, ctx: CallContext, request: CollectionRequest) -> None:
    for spec in resource.filters:
        raw = ctx.params.get(spec.name)
        blank = raw is None or (isinstance(raw, str) and raw.strip() == "" and not spec.many)
        if not blank:
            value = filter_value(resource, spec.name, raw)
        elif spec.default is not None:
            value = spec.default
        else:
            continue
        request.filters.append(spec.build(value, ctx))


def list_records(resource: Resource, ctx: CallContext, xml: bool = False) -> Page:
    request = parse_collection(ctx.params, resource, ctx.profile, ctx.zone)
    read_filters(resource, ctx, request)
    shape = shape_for(resource, ctx.profile)
    where, where_params = scope_clauses(resource, ctx)
    groups = scope_groups(resource, ctx)
    # nothing but the group restriction: the engine may answer from what it derives per group
    plain_scope = groups is not None and len(where) == 1
    fast = fast_stream_shape(ctx, shape, xml) if request.streamed else None
    sql = build_list_sql(
        resource, fast.select_list if fast else shape.select_list, where, where_params, request,
        ctx.conn.like, ctx.conn.dialect, groups=groups, plain_scope=plain_scope,
    )
    envelope = {
        "totalRecords": 0,
        "startIndex": request.start_index,
        "recordsReturned": 0,
        "pageSize": request.results or 0,
        "sort": request.sort_param,
        "dir": request.dir_param,
    }
    formatters = Formatters(ctx, shape, xml)
    if request.streamed:
        formatters.preload()
    if not request.streamed:
        total, rows = ctx.conn.count_and_rows(
            sql.count_sql, sql.count_params, sql.page_sql, sql.page_params, skip_rows_below=request.start_index
        )
        records = render_rows(ctx, shape, rows, formatters)
        envelope["totalRecords"] = total
        envelope["recordsReturned"] = len(records)
        return Page(envelope, records)

    def stream() -> Iterator[list[dict[str, Any]] | bytes]:
        # A connection of its own, in one read transaction: the count and the rows agree, and the
        # chunks may be produced on different threads of the pool.
        assert ctx.db is not None
        with ctx.db.dedicated() as conn, conn.snapshot():
            # the request's connection is back in its pool by now: everything reads through this one
            stream_ctx = dataclasses.replace(ctx, conn=conn)
            formatters.ctx = stream_ctx
            total = int(conn.scalar(sql.count_sql, sql.count_params) or 0)
            envelope["totalRecords"] = total
            wanted = request.results if request.results is not None else total
            envelope["pageSize"] = max(1, wanted)
            returned = 0
            encode: Callable[[list[Row]], list[dict[str, Any]] | bytes]
            if fast is not None:
                encode = fast.chunk_encoder(formatters.zone)
            else:
                def encode(rows: list[Row]) -> list[dict[str, Any]]:
                    return render_rows(stream_ctx, shape, rows, formatters, conn)
            if total > request.start_index:
                for rows in conn.chunks(sql.page_sql, sql.page_params, STREAM_CHUNK):
                    returned += len(rows)
                    yield encode(rows)
            envelope["recordsReturned"] = returned

    return Page(envelope, None, stream())


# -- one record ---------------------------------------------------------------------------------------
def fetch_row(
    resource: Resource, ctx: CallContext, record_id: int, conn: Conn | None = None, scoped: bool = True
) -> Row:
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
    shape = shape_for(resource, ctx.profile)
    row = fetch_row(resource, ctx, record_id)
    return render_rows(ctx, shape, [row], Formatters(ctx, shape, xml))[0]


def get_record_unscoped(resource: Resource, ctx: CallContext, record_id: int, xml: bool = False) -> dict[str, Any]:
    """A row this call has just written, rendered for the caller's profile."""
    shape = shape_for(resource, ctx.profile)
    row = fetch_row(resource, ctx, record_id, scoped=False)
    return render_rows(ctx, shape, [row], Formatters(ctx, shape, xml))[0]


def load_existing(resource: Resource, ctx: CallContext, record_id: int) -> dict[str, Any]:
    """The stored row keyed by field name (internal columns by column name), if visible."""
    fetch_row(resource, ctx, record_id)  # the tenant and profile scope decide visibility
    row = ctx.conn.one_dict(f"SELECT * FROM {quote(resource.table)} WHERE id = ?", (record_id,))
    if row is None:
        raise NotFound()
    by_column = {f.col: f.name for f in resource.stored_fields}
    return {by_column.get(col, col): value for col, value in row.items()}


# -- input --------------------------------------------------------------------------------------------
NON_FIELD_KEYS = frozenset({"apikey", "format", "_method", "pro", "account", "results", "startIndex"})


def extract_object(resource: Resource, body: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    """The resource object of a request: wrapped in its singular name (`{"fiche": {...}}`) or not,
    from the body and/or bracket parameters in the query string."""
    obj: dict[str, Any] = {}
    from_query = query.get(resource.singular)
    if isinstance(from_query, dict):
        obj.update(from_query)
    wrapped = body.get(resource.singular)
    if isinstance(wrapped, dict):
        obj.update(wrapped)
    elif resource.singular in body and wrapped not in (None, ""):
        raise invalid(resource.singular, "must be an object of fields")
    else:
        obj.update({k: v for k, v in body.items() if k not in NON_FIELD_KEYS})
    return obj


def coerce_field(field: Field, raw: Any, zone: Zone) -> Any:
    name = field.name
    kind = field.kind
    if kind is Kind.INT:
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            value: Any = None if field.default is None else field.default
        else:
            value = to_int(raw, name)
        if value is not None:
            if field.min_value is not None and value < field.min_value:
                raise invalid(name, f"must be greater than or equal to {field.min_value}")
            if field.max_value is not None and value > field.max_value:
                raise invalid(name, f"must be less than or equal to {field.max_value}")
    elif kind is Kind.REF:
        value = to_optional_id(raw, name)
        if value is None and field.zero_when_null:
            value = 0
    elif kind is Kind.STR:
        value = to_str(raw, name, field.max_length or 255)
    elif kind is Kind.TEXT:
        if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            raw = ",".join(raw)  # a list for a text field (exdates) is its comma-separated form
        value = to_str(raw, name, TEXT_MAX)
    elif kind is Kind.JSON:
        value = to_json_text(raw, name, TEXT_MAX)
    elif kind is Kind.BOOL:
        value = bool(field.default) if raw is None else to_bool(raw, name)
    elif kind is Kind.DATETIME:
        value = to_datetime(raw, name, zone)
    elif kind is Kind.FLOAT:
        value = None if raw is None or raw == "" else to_float(raw, name)
    elif kind is Kind.IDS:
        value = to_id_list(raw, name)
    else:  # pragma: no cover - every Kind is handled above
        raise AssertionError(kind)
    if field.blank_means_default and value in (None, "") and field.default is not None:
        value = field.default  # an empty choice means the default (vevent type "" → "Vevent")
    if field.choices is not None and value is not None and value not in field.choices:
        allowed = ", ".join(str(c) for c in field.choices)
        raise invalid(name, f"must be one of {allowed}")
    if field.transform is not None and value not in (None, ""):
        value = field.transform(value)
    return value


def coerce_input(resource: Resource, ctx: CallContext, obj: dict[str, Any], zone: Zone) -> dict[str, Any]:
    writable = resource.writable(ctx.profile)
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, raw in obj.items():
        field = writable.get(key)
        if field is None:
            continue  # unknown and read-only keys are ignored, as real clients send extras
        try:
            values[key] = coerce_field(field, raw, zone)
        except ValidationFailed as exc:
            for name, messages in (exc.errors or {}).items():
                errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationFailed(errors)
    return values


def check_required(resource: Resource, values: dict[str, Any]) -> None:
    errors = {
        f.name: ["can't be blank"]
        for f in resource.fields
        if f.required and (values.get(f.name) is None or values.get(f.name) == "")
    }
    if errors:
        raise ValidationFailed(errors)


def check_references(resource: Resource, ctx: CallContext, values: dict[str, Any], group_id: int | None) -> None:
    """Ids written into a body must name rows of the same group (never another tenant's)."""
    for field in resource.fields:
        if field.name not in values:
            continue
        value = values[field.name]
        if field.kind is Kind.REF and field.ref_table and value:
            if field.ref_table == "groups":
                continue  # group_id is decided by the route and membership, checked elsewhere
            found = ctx.conn.scalar(
                f"SELECT 1 FROM {quote(field.ref_table)} WHERE id = ? AND group_id = ?", (value, group_id)
            )
            if not found:
                raise invalid(field.name, f"{value} is not a {field.ref_table[:-1]} of this group")
        elif field.kind is Kind.IDS and value:
            link = field.link
            assert link is not None
            marks = ", ".join("?" for _ in value)
            found_ids = {
                r[0]
                for r in ctx.conn.all(
                    f"SELECT id FROM {quote(link.other_table)} WHERE group_id = ? AND id IN ({marks})",
                    [group_id, *value],
                )
            }
            missing = [v for v in value if v not in found_ids]
            if missing:
                raise invalid(field.name, f"{missing[0]} is not a {link.other_table[:-1]} of this group")


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
        shape = shape_for(resource, ctx.profile)
        # the caller just made this row: it may read it back even before it is in its scope
        # (an account created without a session)
        row = fetch_row(resource, ctx, row_id, scoped=False)
        return render_rows(ctx, shape, [row], Formatters(ctx, shape, xml))[0]


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


__all__ = [
    "Page",
    "create_record",
    "delete_record",
    "get_record",
    "list_records",
    "update_record",
]
