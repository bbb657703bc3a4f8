"""Records rendered for a response: the datetime formatter of each row's zone, the rows of a batch
turned into records with their link fields and computed keys, and the choice of the fast encoding of
a streamed JSON list where it gives the same document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openrdv.agenda.zones import Zone
from openrdv.agenda.zones import zone as zone_named
from openrdv.crud.records import RecordShape
from openrdv.crud.streamed import StreamedJsonShape, stream_shape_for
from openrdv.db.engine import Conn, Row
from openrdv.model.context import DEFAULT_ZONE, CallContext


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
    """Rows selected with `shape.select_list` → the caller's records (link fields and
    `render_extra` included); `conn` reads the link fields when the request's is not the one to use."""
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


def render_record(ctx: CallContext, shape: RecordShape, row: Row, xml: bool) -> dict[str, Any]:
    """One row → its record, as `render_rows` renders it in a batch."""
    return render_rows(ctx, shape, [row], Formatters(ctx, shape, xml))[0]


def fast_stream_shape(ctx: CallContext, shape: RecordShape, xml: bool) -> StreamedJsonShape | None:
    """The shape of the fast JSON stream (crud/streamed.py), where it gives the same records as
    `render_rows`: JSON, no link fields, nothing `render_extra` would change for this profile. None:
    stream the plain way."""
    if xml:
        return None
    return stream_shape_for(shape.resource, shape.profile, ctx.conn.dialect)
