"""Rows → record dicts for one resource and profile, derived from the declaration; and, for a
streamed JSON list, rows → encoded JSON without the dicts.

The row-to-dict function is generated once per (resource, profile) because it runs for every record
of every response (a million of them for `results=all`), and a generic per-field loop costs twice
as much.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import lru_cache
from operator import itemgetter
from typing import Any

import msgspec
import orjson

from openrdv.agenda.zones import EPOCH_ORDINAL, HOURS_MINUTES, SECONDS_TEXT, Zone
from openrdv.agenda.zones import zone as zone_named
from openrdv.db.engine import Conn, Dialect, Row
from openrdv.db.sql import quote
from openrdv.model.declaration import Field, Kind, Profile, Resource, default_value

Formatter = Callable[[int], str]


def _expression(field: Field, index: int) -> str:
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
        body = ",\n        ".join(f"{f.name!r}: {_expression(f, i)}" for i, f in enumerate(self.stored))
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


# -- streamed JSON --------------------------------------------------------------------------------------
# PostgreSQL functions take at most 100 arguments (json_build_array included)
MAX_PACKED = 90


def _default_of(field: Field) -> Any:
    return default_value(field)


def _packable(field: Field) -> bool:
    """Whether a field may travel in the packed column: declared usually at its default, with a
    default whose rendering is the same in every zone (a datetime default would not be), and values
    the engine's JSON array prints exactly (SQLite prints REAL with 15 significant digits)."""
    if not field.usually_default or field.virtual or field.kind is Kind.FLOAT:
        return False
    default = _default_of(field)
    if field.kind is Kind.DATETIME:
        return default is None
    return default is None or isinstance(default, (bool, int, str))


def _holds_default_sql(column: str, default: Any) -> str:
    """SQL true when the column holds `default` (a value _packable accepted), on both engines."""
    if default is None:
        return f"{column} IS NULL"
    if isinstance(default, bool):  # SQLite reads TRUE/FALSE as 1/0
        return f"{column} = {'TRUE' if default else 'FALSE'}"
    if isinstance(default, int):
        return f"{column} = {default}"
    return f"{column} = '" + str(default).replace("'", "''") + "'"


def _rendered(field: Field, stored: Any) -> Any:
    """What the record shows for a stored value, by the very expression `render` uses."""
    convert = eval(f"lambda c0, fmt: {_expression(field, 0)}")  # a declaration's code, not input
    return convert(stored, None)


class WallClock:
    """`Zone.format` inlined in the generated code of a streamed list: datetimes are most of what is
    left to compute of a record, and a call with a bisect each cost twice the inlined arithmetic.

    A zone's offset comes from its table of steady offsets (`Zone.steady_offsets`: one entry per
    2**SHIFT seconds, None where the offset changes inside); the text from a table of day prefixes
    (filled as days are met) and small tables of hours, minutes and seconds. Where the zone table
    has no entry (1 span in 20 around a change, or outside 1900-2100), `Zone.format` itself."""

    SHIFT = 20  # spans of about 12 days: 6,000 entries a zone

    def __init__(self) -> None:
        first_bucket, table = zone_named("UTC").steady_offsets(self.SHIFT)
        self.first_bucket, self.buckets = first_bucket, len(table)  # the same for every zone
        # an offset is less than a day: the local day of an instant is within a day of its UTC day
        self.first_day = ((first_bucket << self.SHIFT) // 86400) - 1
        last_day = ((first_bucket + len(table)) << self.SHIFT) // 86400 + 1
        self.days: list[str | None] = [None] * (last_day - self.first_day + 1)
        self.names: dict[str, Any] = {
            "FIRST_BUCKET": self.first_bucket,
            "BUCKETS": self.buckets,
            "FIRST_DAY": self.first_day,
            "DAY": self.days,
            "day_text": self.day_text,
            "HOUR_MINUTE": HOURS_MINUTES,
            "SECOND": SECONDS_TEXT,
        }

    def day_text(self, day: int) -> str:
        """'YYYY-MM-DD ' of a day number since 1970-01-01, kept for the next time."""
        text = date.fromordinal(day + EPOCH_ORDINAL).isoformat() + " "
        self.days[day - self.first_day] = text
        return text

    @staticmethod
    def expression(value: str) -> str:
        """Code for the wall clock of `value` (a column's epoch seconds or None) in the zone whose
        formatter is `fmt` and whose steady offsets are `O`; it assigns b, o, d, l and s."""
        return (
            f"(None if {value} is None else fmt({value}) "
            f"if (o := O[b] if 0 <= (b := ({value} >> {WallClock.SHIFT}) - FIRST_BUCKET) < BUCKETS else None) is None "
            f"else (DAY[(d := (l := {value} + o) // 86400) - FIRST_DAY] or day_text(d)) "
            f"+ HOUR_MINUTE[(s := l % 86400) // 60] + SECOND[s % 60])"
        )


@lru_cache(maxsize=1)
def wall_clock() -> WallClock:
    return WallClock()


@lru_cache(maxsize=64)
def steady_offsets(zone: Zone) -> list[int | None]:
    first_bucket, table = zone.steady_offsets(WallClock.SHIFT)
    assert (first_bucket, len(table)) == (wall_clock().first_bucket, wall_clock().buckets)
    return table


def _fast_expression(field: Field, index: int) -> str:
    """`_expression`, but datetimes formatted inline (WallClock)."""
    if field.kind is Kind.DATETIME:
        return WallClock.expression(f"c{index}")
    return _expression(field, index)


ChunkEncoder = Callable[[list[Row]], bytes]
Clock = tuple[Formatter, list[int | None]]  # a zone's formatter and steady offsets


def _struct(name: str, keys: list[str]) -> type[msgspec.Struct]:
    """A Struct encoding as an object with these keys, in this order (attributes f0, f1, ...: a key
    need not be a Python identifier)."""
    return msgspec.defstruct(
        name,
        [(f"f{i}", Any) for i in range(len(keys))],
        rename={f"f{i}": key for i, key in enumerate(keys)},
        gc=False,  # flat values only: nothing for the cyclic collector to track
    )


class StreamedJsonShape:
    """A streamed JSON list (`results=all`) of one resource, profile and engine, encoded without
    building a dict per record: a million records a response make the dicts the largest cost.

    Three things make it cheaper than `RecordShape.render` + orjson, for the same document:

    * the fields declared `usually_default` (the custom columns, unconfigured in most groups) are
      selected as ONE column: NULL when every one of them holds its default, as nearly every row
      does, else a JSON array of their values (decoded, then rendered like the other columns). The
      database module costs about as much per column for a NULL or a '' as for a real value;
    * each record is a msgspec Struct created positionally by a generated function, and a whole
      chunk is encoded by msgspec in one call (a Struct costs a fifth of a dict of the same keys);
    * a row at its defaults is a shorter Struct: each run of consecutive packed fields is one
      field, named after the run's first, whose value is the run's defaults already encoded
      (`false,"bool1":false,...`) as a msgspec.Raw, which msgspec copies as is after the key.

    Only for shapes without link fields (they need queries per batch); `stream_shape_for` says.
    """

    def __init__(self, shape: RecordShape, dialect: Dialect) -> None:
        self.shape = shape
        stored = shape.stored
        packed = [f for f in stored if _packable(f)][:MAX_PACKED]
        ordinary = [f for f in stored if f not in packed]
        columns = [f"t.{quote(f.col)}" for f in ordinary]
        if packed:
            holds_default = " AND ".join(_holds_default_sql(f"t.{quote(f.col)}", _default_of(f)) for f in packed)
            values = ", ".join(f"t.{quote(f.col)}" for f in packed)
            array = f"json_array({values})" if dialect == "sqlite" else f"json_build_array({values})::text"
            columns.append(f"CASE WHEN {holds_default} THEN NULL ELSE {array} END")
        ordinary_cols = [f.col for f in ordinary]
        if shape.zone_column in ordinary_cols:
            self.zone_index = ordinary_cols.index(shape.zone_column)
        else:
            self.zone_index = len(columns)
            columns.append(f"t.{quote(shape.zone_column)}")
        self.select_list = ", ".join(columns)
        self.packed_fields = packed
        # the record's fields in declared order, each either an ordinary column or in a run of packed
        # fields (a list of them)
        self._layout: list[Field | list[Field]] = []
        for f in stored:
            if f not in packed:
                self._layout.append(f)
            elif self._layout and isinstance(self._layout[-1], list):
                self._layout[-1].append(f)
            else:
                self._layout.append([f])
        self.record_type = _struct(f"{shape.resource.singular}_record", [f.name for f in stored])
        heads = [item.name if isinstance(item, Field) else item[0].name for item in self._layout]
        self.at_defaults_type = _struct(f"{shape.resource.singular}_record_at_defaults", heads)
        namespace: dict[str, Any] = {
            **wall_clock().names,
            "Record": self.record_type,
            "RecordAtDefaults": self.at_defaults_type,
            "loads": orjson.loads,
        }
        source = self._source(len(ordinary), len(columns), namespace)
        exec(compile(source, f"<streamed {shape.resource.name}/{shape.profile}>", "exec"), namespace)
        self._build: Callable[[list[Row], Formatter, list[int | None]], list[Any]] = namespace["build"]
        self._build_zoned: Callable[[list[Row], Callable[[Any], Clock]], list[Any]] = namespace["build_zoned"]
        self._zone_of = itemgetter(self.zone_index)

    def _source(self, packed_column: int, width: int, namespace: dict[str, Any]) -> str:
        """`build(rows, fmt, O)` and `build_zoned(rows, clock_for)`: rows → Structs in one zone (its
        formatter and steady offsets), or each in its own (`clock_for(zone column)` gives both). The
        code names the selected columns c0, c1, ...; the packed column is the one after the
        ordinary ones."""
        runs: list[list[Field]] = []
        arguments: list[str] = []  # of Record: the values of every field
        at_defaults: list[str] = []  # of RecordAtDefaults: a run is its encoded defaults
        column = 0
        for item in self._layout:
            if isinstance(item, Field):
                arguments.append(_fast_expression(item, column))
                at_defaults.append(arguments[-1])
                column += 1
            else:
                k = len(runs)
                runs.append(item)
                arguments.append(f"*r{k}")
                at_defaults.append(f"DEFAULTS_{k}")
                rendered = {f.name: _rendered(f, _default_of(f)) for f in item}
                encoded = orjson.dumps(rendered)  # {"bool0":false,"bool1":false,...}
                namespace[f"DEFAULTS_{k}"] = msgspec.Raw(encoded[len(orjson.dumps(item[0].name)) + 2 : -1])
        names = ", ".join(f"c{i}" for i in range(width))
        lines: list[str] = []
        if runs:
            packed = [f for run in runs for f in run]
            rendered_runs: list[str] = []
            position = 0
            for run in runs:
                items = [_expression(f, position + k) for k, f in enumerate(run)]
                position += len(run)
                rendered_runs.append("(" + "".join(f"{item}, " for item in items) + ")")
            lines += [
                "def unpack(text, fmt):",
                f"    {', '.join(f'c{j}' for j in range(len(packed)))}, = loads(text)",
                f"    return {', '.join(rendered_runs)},",
                "",
            ]
            append = [
                f"        if c{packed_column} is None:",
                f"            append(RecordAtDefaults({', '.join(at_defaults)}))",
                "        else:",
                f"            {', '.join(f'r{k}' for k in range(len(runs)))}, = unpack(c{packed_column}, fmt)",
                f"            append(Record({', '.join(arguments)}))",
            ]
        else:
            append = [f"        append(Record({', '.join(arguments)}))"]
        for name, head, per_row in (
            ("build", "fmt, O", []),
            ("build_zoned", "clock_for", [f"        fmt, O = clock_for(c{self.zone_index})"]),
        ):
            lines += [
                f"def {name}(rows, {head}):",
                "    records = []",
                "    append = records.append",
                f"    for {names}, in rows:",
                *per_row,
                *append,
                "    return records",
                "",
            ]
        return "\n".join(lines)

    def chunk_encoder(self, zone_for: Callable[[Any], Zone]) -> ChunkEncoder:
        """For one stream: a chunk of rows → their records as one JSON array, each row rendered in
        the zone of its own group (`zone_for(zone column)`)."""
        encode = msgspec.json.Encoder().encode  # one per stream: its chunks run on several threads
        build, build_zoned, zone_of = self._build, self._build_zoned, self._zone_of
        clocks: dict[Any, Clock] = {}

        def clock_for(key: Any) -> Clock:
            clock = clocks.get(key)
            if clock is None:
                zone = zone_for(key)
                clock = clocks[key] = (zone.format, steady_offsets(zone))
            return clock

        def encode_chunk(rows: list[Row]) -> bytes:
            zones = set(map(zone_of, rows))
            if len(zones) == 1:  # the usual case: one group, one zone for the whole chunk
                return encode(build(rows, *clock_for(zones.pop())))
            return encode(build_zoned(rows, clock_for))

        return encode_chunk


@lru_cache(maxsize=256)
def stream_shape_for(resource: Resource, profile: Profile, dialect: Dialect) -> StreamedJsonShape | None:
    """The streamed JSON shape, or None where records need the general path (link fields)."""
    shape = shape_for(resource, profile)
    if shape.links:
        return None
    return StreamedJsonShape(shape, dialect)
