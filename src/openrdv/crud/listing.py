"""GET of a collection: the filters of the query string, the page of records with its envelope, or
the stream of record chunks of `results=all` (the fast JSON encoding where it applies)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

from openrdv.crud.records import shape_for
from openrdv.crud.rendering import Formatters, fast_stream_shape, render_rows
from openrdv.crud.tenancy import scope_clauses, scope_groups
from openrdv.db.engine import Row
from openrdv.db.sql import quote
from openrdv.errors import invalid
from openrdv.model.context import CallContext
from openrdv.model.declaration import Resource
from openrdv.query.collection import CollectionRequest, build_list_sql, filter_value, parse_collection

STREAM_CHUNK = 2000
Chunk = list[dict[str, Any]] | bytes  # records, or (the fast JSON stream) already one encoded array


@dataclass
class Page:
    """A collection response: either a list of records, or a stream of record chunks."""

    envelope: dict[str, Any]  # totalRecords, startIndex, recordsReturned, pageSize, sort, dir
    records: list[dict[str, Any]] | None
    # chunks of records: dicts, or already encoded as one JSON array (the fast JSON stream)
    stream: Iterator[Chunk] | None = None


def read_filters(resource: Resource, ctx: CallContext, request: CollectionRequest) -> None:
    """The resource's declared filters of the query string (or their defaults) added to the request."""
    for spec in resource.filters:
        raw = ctx.params.get(spec.name)
        blank = raw is None or (isinstance(raw, str) and raw.strip() == "" and not spec.many)
        if not blank:
            value = filter_value(resource, spec.name, raw, ctx.profile)
        elif spec.default is not None:
            value = spec.default
        else:
            continue
        request.filters.append(spec.build(value, ctx))


def check_shown(resource: Resource, ctx: CallContext, request: CollectionRequest, where: list[str],
                where_params: list[Any]) -> None:
    """An account sorts and filters on a field its group may hide (a custom column of a fiche) only
    when every row it may list lies in a group that shows the field: else a condition such as
    `str0 like 'a%'` would read, letter by letter, a note the pro keeps hidden on its own fiche."""
    if ctx.profile != "account":
        return
    used = [(c.label, c.field) for c in request.conditions]
    if request.sort is not None:
        used.append(("sort", request.sort))
    for label, field in used:
        if field.account_groups_sql is None:
            continue
        clauses = [*where, f't."group_id" NOT IN ({field.account_groups_sql})']
        hidden = ctx.conn.scalar(
            f"SELECT 1 FROM {quote(resource.table)} t WHERE {' AND '.join(clauses)} LIMIT 1",
            [*where_params, field.name],
        )
        if hidden is not None:
            # the words of a field the profile cannot read at all: nothing tells that it exists
            what = "unknown or unsortable field" if label == "sort" else "unknown field"
            raise invalid(label, f"{what} '{field.name}' for {resource.name}")


def list_records(resource: Resource, ctx: CallContext, xml: bool = False) -> Page:
    """A page of the caller's records, or for `results=all` a stream of chunks read on a connection of
    its own (encoded JSON where the fast path applies)."""
    request = parse_collection(ctx.params, resource, ctx.profile, ctx.zone)
    read_filters(resource, ctx, request)
    shape = shape_for(resource, ctx.profile)
    where, where_params = scope_clauses(resource, ctx)
    check_shown(resource, ctx, request, where, where_params)
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
    else:
        total, rows = ctx.conn.count_and_rows(
            sql.count_sql, sql.count_params, sql.page_sql, sql.page_params, skip_rows_below=request.start_index
        )
        records = render_rows(ctx, shape, rows, formatters)
        envelope["totalRecords"] = total
        envelope["recordsReturned"] = len(records)
        return Page(envelope, records)

    def stream() -> Generator[Chunk, None, None]:
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

    return Page(envelope, None, primed(stream()))


def primed(chunks: Generator[Chunk, None, None]) -> Iterator[Chunk]:
    """The stream with its total and first chunk read now, before the response's status is sent: a
    statement the database stops (the statement timeout) or any other failure there is an error
    response, not a 200 whose body is cut. Closing the result closes the stream (its connection)."""
    first = next(chunks, None)

    def rest() -> Iterator[Chunk]:
        try:
            if first is not None:
                yield first
                yield from chunks
        finally:
            chunks.close()

    return rest()
