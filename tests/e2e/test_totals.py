"""totalRecords end to end, nested and un-nested, where SQLite answers from its derived data (range
counts per time bucket, group-ranged full-text rowids): after creates, updates, moves in time and
soft deletes, every total equals the number of records the same filter gives in Python over the
whole listing, and a page holds the records the whole listing has at that place."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from openrdv.db.engine import Database
from openrdv.query.search import normalize

from .calendar_helpers import Api, conditions, pro_api
from .conftest import RunningServer, Tenant

ZONE = "America/New_York"
NAMES = [("Lefèvre", "Élodie"), ("Martin", "Zoé"), ("Dupont", "Jean"), ("Légaré", "Anaïs"), ("Bernard", "Léa")]
STEP = 40_000  # seconds between two fiches' updated_at: one every ~half bucket


@dataclass
class World:
    tenant: Tenant
    api: Api
    groups: tuple[int, int]
    base: int  # updated_at of the first fiche (epoch)


def _database(server: RunningServer) -> Database:
    return Database(server.database_url)


@pytest.fixture(scope="module")
def world(server: RunningServer) -> Iterator[World]:
    tenant = server.new_tenant(extra_groups=1, timezone=ZONE)
    api = pro_api(server, tenant)
    groups = tuple(sorted(g["id"] for g in api.client.get("/groups.json").json()["records"]))
    assert len(groups) == 2 and tenant.group_id in groups
    ids: list[int] = []
    for i in range(30):
        last, first = NAMES[i % len(NAMES)]
        response = api.post(
            "fiches",
            {"lastname": last, "firstname": first, "email": f"p{i}@totals.example.org", "group_id": groups[i % 2]},
            nested=False,
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    # time passes: spread updated_at over ~14 days (the API always writes "now")
    base = 1_760_000_000 + 7 * 3600 + 13
    database = _database(server)
    try:
        with database.connect() as conn, conn.transaction():
            for i, fiche_id in enumerate(ids):
                conn.execute("UPDATE fiches SET updated_at = ?, created_at = ? WHERE id = ?",
                             (base + i * STEP, base + i * STEP - 5, fiche_id))
    finally:
        database.close()
    for fiche_id in ids[3:30:7]:  # soft deletes: listed still, updated now
        group = groups[ids.index(fiche_id) % 2]
        assert api.delete("fiches", fiche_id, group=group).status_code == 200
    moved = api.put("fiches", ids[1], {"lastname": "Martin-Lefèvre"}, group=groups[1])  # updated now
    assert moved.status_code == 200, moved.text
    yield World(tenant, api, groups, base)
    api.close()


def _wall(api: Api, epoch: int) -> str:
    from openrdv.agenda.zones import zone

    return zone(ZONE).format(epoch)


def _expected(records: list[dict[str, Any]], field: str, op: str, value: str) -> list[int]:
    compare = {"=": str.__eq__, ">": str.__gt__, ">=": str.__ge__, "<": str.__lt__, "<=": str.__le__}[op]
    # "YYYY-MM-DD HH:MM:SS" wall times compare as text in one zone (no DST fold among these values)
    return [r["id"] for r in records if r[field] is not None and compare(r[field], value)]


@pytest.mark.parametrize("nested", [True, False])
def test_range_totals_match_the_listing(world: World, nested: bool) -> None:
    api = world.api
    everything = api.records("fiches", nested=nested)
    assert len(everything) == (15 if nested else 30)
    assert api.listing("fiches", {"results": "1"}, nested=nested)["totalRecords"] == len(everything)
    probes = [world.base + k * STEP + d for k in (0, 1, 7, 13, 29) for d in (-1, 0, 1, STEP // 2)]
    for field in ("updated_at", "created_at"):
        for op in ("=", ">", ">=", "<", "<="):
            for probe in probes:
                value = _wall(api, probe)
                wanted = _expected(everything, field, op, value)
                params = [*conditions((field, op, value)), ("results", "2"), ("startIndex", "1")]
                page = api.listing("fiches", params, nested=nested)
                assert page["totalRecords"] == len(wanted), (field, op, value)
                assert [r["id"] for r in page["records"]] == wanted[1:3], (field, op, value)
    # a range: both bounds, in one bucket and across many
    for low, high in [(0, 0), (2, 3), (1, 25), (5, 4)]:
        lo, hi = _wall(api, world.base + low * STEP), _wall(api, world.base + high * STEP)
        params = conditions(("updated_at", ">=", lo), ("updated_at", "<", hi))
        wanted = [i for i in _expected(everything, "updated_at", ">=", lo)
                  if i in _expected(everything, "updated_at", "<", hi)]
        assert api.listing("fiches", params, nested=nested)["totalRecords"] == len(wanted), (low, high)


@pytest.mark.parametrize("nested", [True, False])
def test_search_totals_and_pages_match_the_listing(world: World, nested: bool) -> None:
    api = world.api
    everything = api.records("fiches", nested=nested)

    def holds(record: dict[str, Any], words: list[str]) -> bool:
        text = " ".join(normalize(str(record[f])) for f in ("lastname", "firstname", "email"))
        return all(w in text for w in words)

    for term in ("lef", "LEFÈVRE", "mar", "martin lef", "elodie lefe", "zzz", "p1", "totals.example", "anaï"):
        words = normalize(term).split()
        wanted = [r["id"] for r in everything if holds(r, words)]
        for start in (0, 2):
            page = api.listing("fiches", {"search": term, "results": "3", "startIndex": str(start)}, nested=nested)
            assert page["totalRecords"] == len(wanted), term
            assert [r["id"] for r in page["records"]] == wanted[start : start + 3], term
        streamed = api.records("fiches", {"search": term}, nested=nested)
        assert [r["id"] for r in streamed] == wanted, term


def test_another_tenant_counts_nothing_of_this_one(server: RunningServer, world: World) -> None:
    other = server.new_tenant(timezone=ZONE)
    with pro_api(server, other) as api:
        assert api.listing("fiches", {"search": "lef"})["totalRecords"] == 0
        assert api.listing("fiches", conditions(("updated_at", ">", "2000-01-01")))["totalRecords"] == 0
        assert api.listing("fiches")["totalRecords"] == 0
