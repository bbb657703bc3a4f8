"""Rows → record dicts for one resource and profile, derived from the declaration: the plain path
of rendering, taken by every response but a streamed JSON list (pages, single records, writes, XML)
and by the streamed lists the fast path does not take (see `crud/streamed.py`).

The row-to-dict function is generated once per (resource, profile) because it runs for every record
of every response (a million of them for `results=all`), and a generic per-field loop costs twice
as much. Datetimes go through the formatter of the row's zone (`Zone.format`, `Zone.format_xml`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from openrdv.db.engine import Conn, Row
from openrdv.db.sql import quote
from openrdv.model.declaration import Field, Kind, Profile, Resource

Formatter = Callable[[int], str]


def value_expression(field: Field, index: int) -> str:
    """Code for the rendered value of a field from its column, named `c{index}` (datetimes through
    `fmt`). The fast path of streamed lists renders with the very same code (`crud/streamed.py`)."""
    value = f"c{index}"
    if field.kind is Kind.BOOL:
        return f"{value} == 1"  # SQLite gives 0/1, PostgreSQL True/False: both compare to 1
    if field.kind is Kind.DATETIME:
        return f"(fmt({value}) if {value} is not None else None)"
    if field.kind in (Kind.STR, Kind.TEXT, Kind.JSON):
        return f"({value} or '')"
    if field.kind is Kind.REF and field.zero_when_null:
        return f"({value} or 0)"
    if field.kind is Kind.FLOAT:
        # whole numbers as integers (inline, as a call per column shows at a million rows), as long
        # as orjson writes them (int64 and uint64): 1e20 stays a float, as an integer it failed
        return (
            f"({value} if {value} is None or {value} % 1 or not {-(2**63)}.0 <= {value} < {2**64}.0 else int({value}))"
        )
    return value


class RecordShape:
    """The columns to select and how to turn a row into a record, for one resource and profile."""

    def __init__(self, resource: Resource, profile: Profile) -> None:
        self.resource = resource
        self.profile = profile
        self.fields = resource.readable(profile)
        self.stored = [f for f in self.fields if not f.virtual]
        self.links = [f for f in self.fields if f.virtual]
        # Hidden trailing columns: what picks the zone a row is rendered in.
        self.zone_column = "timezone" if resource.tenancy == "groups" else "group_id"
        columns = [quote(f.col) for f in self.stored] + [quote("id"), quote(self.zone_column)]
        self.columns = columns
        self.select_list = ", ".join(f"t.{c}" for c in columns)
        self.id_index = len(self.stored)
        self.zone_index = len(self.stored) + 1
        body = ",\n        ".join(f"{f.name!r}: {value_expression(f, i)}" for i, f in enumerate(self.stored))
        names = ", ".join(f"c{i}" for i in range(len(columns)))
        source = f"def render(row, fmt):\n    {names}, = row\n    return {{\n        {body}\n    }}\n"
        namespace: dict[str, Any] = {}
        exec(compile(source, f"<record {resource.name}/{profile}>", "exec"), namespace)
        self.render: Callable[[Row, Formatter], dict[str, Any]] = namespace["render"]
        self._key_order = [f.name for f in self.fields]

    def add_links(self, conn: Conn, records: list[dict[str, Any]], ids: list[int]) -> None:
        """Fill the many-to-many id lists of a batch of records with one query per link."""
        if not self.links or not records:
            return
        for field in self.links:
            link = field.link
            assert link is not None
            by_owner: dict[int, list[int]] = {}
            for start in range(0, len(ids), 500):
                batch = ids[start : start + 500]
                marks = ", ".join("?" for _ in batch)
                rows = conn.all(
                    f"SELECT {link.own_column}, {link.other_column} FROM {link.table} "
                    f"WHERE {link.own_column} IN ({marks}) ORDER BY {link.other_column}",
                    batch,
                )
                for owner, other in rows:
                    by_owner.setdefault(owner, []).append(other)
            for record, row_id in zip(records, ids, strict=True):
                record[field.name] = by_owner.get(row_id, [])
        if self.links:
            order = self._key_order
            for i, record in enumerate(records):
                records[i] = {key: record[key] for key in order if key in record} | {
                    k: v for k, v in record.items() if k not in order
                }


@lru_cache(maxsize=256)
def shape_for(resource: Resource, profile: Profile) -> RecordShape:
    return RecordShape(resource, profile)
