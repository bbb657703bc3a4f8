"""The fast JSON encoding of streamed lists (crud/streamed.py, StreamedJsonShape) against the
general rendering (RecordShape.render + orjson), on rows of a real database: SQLite, or PostgreSQL
when OPENRDV_TEST_POSTGRES is set (scripts/test runs the `engines` tests on both).

Random rows, seeded: custom columns mostly at their defaults (the packed column is NULL) and
sometimes not (it is a JSON array decoded in Python), every kind of value including floats from raw
bit patterns, strings of awkward characters, datetimes outside 1900-2100, rows of two groups in two
zones interleaved so that some chunks hold one zone and some both."""

from __future__ import annotations

import math
import random
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from openrdv.agenda.zones import zone
from openrdv.crud.records import shape_for
from openrdv.crud.storage import insert_values
from openrdv.crud.streamed import stream_shape_for
from openrdv.db.engine import Conn, Database
from openrdv.migrations import upgrade
from openrdv.model.declaration import Behaviour, Field, Kind, Resource, default_value
from openrdv.resources.catalogue import CALENDARS
from openrdv.resources.fiches import FICHES
from openrdv.resources.groups import GROUPS
from openrdv.resources.vevents import VEVENTS
from tests.engines import fresh_database_url

pytestmark = pytest.mark.engines  # run again on PostgreSQL by scripts/test

ZONES = ("Europe/Paris", "America/New_York")
ROWS = 600
AWKWARD = ['"', "\\", "\x01", "\x1f", "\t", "\n", "\r", "\x7f", "é", "ß", "中", "😀", "\u2028", "'", "<", "&", " ", "a"]
FLOATS = [
    0.1,
    1 / 3,
    3.0,
    -2.5,
    0.0,
    -0.0,
    1e20,
    2.0**53 + 2,
    2.0**63,
    2.0**64,
    -(2.0**63),
    -(2.0**63) * 2,
    5e-324,
    1.7976931348623157e308,
]


def _database_url(tmp_path: Path) -> str:
    return fresh_database_url(tmp_path, "stream.db")


def random_float(rnd: random.Random) -> float:
    if rnd.random() < 0.5:
        return rnd.choice(FLOATS)
    while True:
        value: float = struct.unpack("<d", rnd.randbytes(8))[0]
        if math.isfinite(value):
            return value


def random_value(field: Field, rnd: random.Random) -> Any:
    kind = field.kind
    if kind is Kind.BOOL:
        return rnd.random() < 0.5
    if kind is Kind.DATETIME:
        return rnd.choice(
            [None, rnd.randrange(-2_500_000_000, 4_300_000_000), rnd.randrange(1_700_000_000, 1_800_000_000)]
        )
    if kind is Kind.FLOAT:
        return None if rnd.random() < 0.3 else random_float(rnd)
    if kind in (Kind.STR, Kind.TEXT):
        size = rnd.randrange(0, min(field.max_length or 40, 40))
        return "".join(rnd.choice(AWKWARD) for _ in range(size))
    if kind in (Kind.INT, Kind.REF):
        # NULL where the schema allows it (db schema: an INT with a default, a REF shown as 0, is NOT NULL)
        nullable = field.default is None if kind is Kind.INT else not field.zero_when_null
        return rnd.choice([None if nullable else 0, 0, 1, rnd.randrange(-(2**62), 2**62)])
    raise AssertionError(kind)


def random_row(resource: Resource, rnd: random.Random, group_id: int) -> dict[str, Any]:
    """Custom columns at their defaults in two rows out of three; every other field random."""
    customised = rnd.random() < 0.35
    values: dict[str, Any] = {}
    for field in resource.stored_fields:
        if field.name in ("id", "created_at", "updated_at"):
            continue
        if field.name == "group_id":
            values[field.name] = group_id
        elif field.usually_default and not (customised and rnd.random() < 0.3):
            values[field.name] = default_value(field)
        elif field.name == "type":
            values[field.name] = rnd.choice(["Vevent", "VfreebusyEvent"])
        else:
            values[field.name] = random_value(field, rnd)
    return values


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, dict[int, str]]]:
    url = _database_url(tmp_path_factory.mktemp("stream"))
    upgrade(url)
    db = Database(url)
    rnd = random.Random(20240331)
    with db.connect() as conn, conn.transaction():
        zones = {
            insert_values(GROUPS, conn, {"name": name, "urlname": f"g{i}", "timezone": name}, 1_700_000_000): name
            for i, name in enumerate(ZONES)
        }
        groups = sorted(zones)
        calendar = insert_values(CALENDARS, conn, {"group_id": groups[0], "name": "c"}, 1_700_000_000)
        for n in range(ROWS):
            group = groups[(n // 20) % 2] if n < ROWS // 2 else rnd.choice(groups)  # runs, then mixed
            for resource in (FICHES, VEVENTS):
                values = random_row(resource, rnd, group)
                if resource is VEVENTS:
                    values["calendar_id"] = calendar
                now = rnd.randrange(1_000_000_000, 2_000_000_000)
                row_id = insert_values(resource, conn, values, now)
                if n % 97 == 0:  # the oddest stored timestamps too
                    conn.execute(
                        f"UPDATE {resource.table} SET created_at = ?, updated_at = NULL WHERE id = ?",
                        (-3_000_000_000, row_id),
                    )
    yield db, zones
    db.close()


def general_records(conn: Conn, resource: Resource, zones: dict[int, str]) -> list[Any]:
    shape = shape_for(resource, "pro")
    rows = conn.all(f"SELECT {shape.select_list} FROM {resource.table} t ORDER BY t.id")
    records = [shape.render(row, zone(zones[row[shape.zone_index]]).format) for row in rows]
    return list(orjson.loads(orjson.dumps(records)))


def typed(value: Any) -> Any:
    """Parsed JSON with each scalar's type and each object's key order (True == 1, 3 == 3.0)."""
    if isinstance(value, dict):
        return [(key, typed(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [typed(item) for item in value]
    return (type(value).__name__, value)


@pytest.mark.parametrize("resource", [FICHES, VEVENTS], ids=lambda r: r.name)
@pytest.mark.parametrize("chunk", [1, 7, 2000])
def test_fast_encoding_equals_the_general_rendering(
    database: tuple[Database, dict[int, str]], resource: Resource, chunk: int
) -> None:
    db, zones = database
    fast = stream_shape_for(resource, "pro", db.dialect)
    assert fast is not None
    with db.dedicated() as conn, conn.snapshot():
        expected = general_records(conn, resource, zones)
        encode_chunk = fast.chunk_encoder(lambda group_id: zone(zones[group_id]))
        streamed: list[Any] = []
        for rows in conn.chunks(f"SELECT {fast.select_list} FROM {resource.table} t ORDER BY t.id", (), chunk):
            streamed += orjson.loads(encode_chunk(rows))
    assert len(streamed) == len(expected) == ROWS
    for got, want in zip(streamed, expected, strict=True):
        assert typed(got) == typed(want), want["id"]


@pytest.mark.parametrize("resource", [FICHES, VEVENTS], ids=lambda r: r.name)
def test_rows_at_their_defaults_carry_no_packed_values(
    database: tuple[Database, dict[int, str]], resource: Resource
) -> None:
    """The packed column is NULL exactly where every usually-default field holds its default: the
    SQL test of a default agrees with the declaration on this engine."""
    db, _ = database
    fast = stream_shape_for(resource, "pro", db.dialect)
    assert fast is not None
    packed = fast.packed_fields
    assert packed and all(f.usually_default and f.kind is not Kind.FLOAT for f in packed)
    packed_column = len(fast.shape.stored) - len(packed)
    names = ", ".join(f't."{f.col}"' for f in packed)
    with db.connect() as conn:
        rows = conn.all(f"SELECT {fast.select_list} FROM {resource.table} t ORDER BY t.id")
        values = conn.all(f"SELECT {names} FROM {resource.table} t ORDER BY t.id")
    defaults = tuple(default_value(f) for f in packed)
    at_default = [tuple(v) == defaults for v in values]
    assert 0 < sum(at_default) < len(at_default)
    assert [row[packed_column] is None for row in rows] == at_default


def test_shapes_with_links_have_no_fast_encoding() -> None:
    assert stream_shape_for(CALENDARS, "pro", "sqlite") is None  # intervention_ids: a query per batch
    assert stream_shape_for(FICHES, "pro", "sqlite") is not None


def test_render_extra_says_which_profiles_it_changes() -> None:
    class Adds(Behaviour):
        def render_extra(self, ctx: Any, records: list[dict[str, Any]]) -> None:
            for record in records:
                record["extra"] = 1

    assert not Behaviour().renders_extra("pro") and not Behaviour().renders_extra("account")
    assert Adds().renders_extra("pro") and Adds().renders_extra("account")  # overridden: assumed to apply
    assert FICHES.behaviour.renders_extra("account") and not FICHES.behaviour.renders_extra("pro")
    assert not VEVENTS.behaviour.renders_extra("pro")
