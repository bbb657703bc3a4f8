"""A streamed JSON list (`results=all`) encoded from the rows without a dict per record: the fast path
of `RecordShape.render` + orjson (`crud/records.py`), for the same document byte for byte.

What it buys: with a million records a response, the dicts were the largest cost. Packed custom
columns and msgspec Structs took `results=all` of a million fiches from 53k to 123k records/s (7.3 µs
a record); the inline wall clock (`crud/wallclock.py`) then to 145-166k. bench/README.md has the
latest figures (e1).

The plain path is taken where `stream_shape_for` gives None: shapes with link fields (they need a
query per batch) and profiles whose records `render_extra` may change. The caller also takes it for
XML, and pages and single records always go the plain way.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from operator import itemgetter
from typing import Any

import msgspec
import orjson

from openrdv.agenda.zones import Zone
from openrdv.crud.records import Formatter, RecordShape, shape_for, value_expression
from openrdv.crud.wallclock import Clock, WallClock, wall_clock, zone_clock
from openrdv.db.engine import Dialect, Row
from openrdv.db.sql import quote
from openrdv.model.declaration import Field, Kind, Profile, Resource, default_value

# PostgreSQL functions take at most 100 arguments (json_build_array included)
MAX_PACKED = 90

ChunkEncoder = Callable[[list[Row]], bytes]


def _packable(field: Field) -> bool:
    """Whether a field may travel in the packed column: declared usually at its default, with a
    default whose rendering is the same in every zone (a datetime default would not be), and values
    the engine's JSON array prints exactly (SQLite prints REAL with 15 significant digits)."""
    if not field.usually_default or field.virtual or field.kind is Kind.FLOAT:
        return False
    default = default_value(field)
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
    convert = eval(f"lambda c0, fmt: {value_expression(field, 0)}")  # a declaration's code, not input
    return convert(stored, None)


def _fast_expression(field: Field, index: int) -> str:
    """`value_expression`, but datetimes formatted inline (WallClock)."""
    if field.kind is Kind.DATETIME:
        return WallClock.expression(f"c{index}")
    return value_expression(field, index)


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

    Only where `stream_shape_for` gives one: no link fields (they need a query per batch), nothing
    `render_extra` would change.
    """

    def __init__(self, shape: RecordShape, dialect: Dialect) -> None:
        self.shape = shape
        stored = shape.stored
        packed = [f for f in stored if _packable(f)][:MAX_PACKED]
        ordinary = [f for f in stored if f not in packed]
        columns = [f"t.{quote(f.col)}" for f in ordinary]
        if packed:
            holds_default = " AND ".join(_holds_default_sql(f"t.{quote(f.col)}", default_value(f)) for f in packed)
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
                rendered = {f.name: _rendered(f, default_value(f)) for f in item}
                encoded = orjson.dumps(rendered)  # {"bool0":false,"bool1":false,...}
                namespace[f"DEFAULTS_{k}"] = msgspec.Raw(encoded[len(orjson.dumps(item[0].name)) + 2 : -1])
        names = ", ".join(f"c{i}" for i in range(width))
        lines: list[str] = []
        if runs:
            packed = [f for run in runs for f in run]
            rendered_runs: list[str] = []
            position = 0
            for run in runs:
                items = [value_expression(f, position + k) for k, f in enumerate(run)]
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
                clock = clocks[key] = zone_clock(zone_for(key))
            return clock

        def encode_chunk(rows: list[Row]) -> bytes:
            zones = set(map(zone_of, rows))
            if len(zones) == 1:  # the usual case: one group, one zone for the whole chunk
                return encode(build(rows, *clock_for(zones.pop())))
            return encode(build_zoned(rows, clock_for))

        return encode_chunk


@lru_cache(maxsize=256)
def stream_shape_for(resource: Resource, profile: Profile, dialect: Dialect) -> StreamedJsonShape | None:
    """The streamed JSON shape, or None where records need the plain path: link fields, or a
    `render_extra` that may change this profile's records."""
    shape = shape_for(resource, profile)
    if shape.links or resource.behaviour.renders_extra(profile):
        return None
    return StreamedJsonShape(shape, dialect)
