"""The demo's bulk rows (demo/calendar.py): indistinguishable from rows the API writes, the same
whether generated here or in a second process and loaded with or without indexes, and shaped as the
benchmarks expect."""

from __future__ import annotations

import random
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openrdv import admin
from openrdv.agenda.zones import zone
from openrdv.crud.bulk import insert_sql, sql_literal
from openrdv.db.engine import Conn, Database
from openrdv.demo import calendar as demo_calendar
from openrdv.demo import load_demo
from openrdv.demo.calendar import (
    BATCH,
    FichePlan,
    RowPlan,
    VeventPlan,
    generated_batches,
)
from openrdv.migrations import upgrade
from openrdv.model.declaration import default_value
from openrdv.query.search import search_document
from openrdv.registry import RESOURCES
from openrdv.settings import Settings
from tests.engines import ENGINE, fresh_database_url

pytestmark = pytest.mark.engines  # run again on PostgreSQL by scripts/test

NOW = 1_790_000_000  # a fixed clock: two loads with the same arguments are then the same rows
TZ = zone("Europe/Paris")
ENGINES = [ENGINE]


def _fresh_url(engine: str, tmp_path: Path, name: str) -> str:
    return fresh_database_url(tmp_path, name)


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: float(NOW))


def _load(url: str, fiches: int, vevents: int, groups: int = 1) -> Database:
    upgrade(url)
    db = Database(url)
    load_demo(db, Settings(database_url=url), fiches=fiches, vevents=vevents, groups=groups, progress=False)
    return db


def _rows(conn: Conn, table: str, where: str = "", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    sql = f"SELECT * FROM {table} {where} ORDER BY id"
    cur = conn.raw.execute(sql.replace("?", "%s") if conn.dialect == "postgresql" else sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _as_stored(value: Any, dialect: str) -> Any:
    """A value as the database gives it back once bound (SQLite keeps booleans as integers)."""
    return int(value) if isinstance(value, bool) and dialect == "sqlite" else value


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    """Values with their Python type: 0 and False, '' and None are not the same thing."""
    return {k: (type(v).__name__, v) for k, v in row.items()}


def _sqlite_types(conn: Conn, table: str, row_id: int) -> dict[str, str]:
    if conn.dialect != "sqlite":
        return {}
    columns = [r[1] for r in conn.all(f"PRAGMA table_info({table})")]
    typeofs = ", ".join(f'typeof("{c}")' for c in columns)
    types = conn.one(f"SELECT {typeofs} FROM {table} WHERE id = ?", (row_id,))
    assert types is not None
    return dict(zip(columns, types, strict=True))


# -- indistinguishable from the API's rows ------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("bulk", [False, True], ids=["small load", "bulk load"])
def test_bulk_rows_hold_the_declared_default_in_every_column_the_generator_leaves(
    engine: str, bulk: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if bulk:  # indexes dropped and rebuilt, rows from a second process
        monkeypatch.setattr(demo_calendar, "BULK_ROWS", 50)
    db = _load(_fresh_url(engine, tmp_path, "defaults.db"), fiches=90, vevents=120)
    try:
        with db.connect() as conn:
            for plan in (FichePlan, VeventPlan):
                resource = RESOURCES[plan.resource_name]
                left = [f for f in resource.stored_fields if f.name != "id" and f.name not in plan.generated]
                assert left, "the generator sets every column: nothing to check"
                # not the calendars' openings, which the catalogue creates through the API
                bulk_only = "WHERE text IN ('RDV', 'Pause')" if plan is VeventPlan else ""
                rows = _rows(conn, resource.table, bulk_only)
                assert len(rows) >= 90
                for field in left:
                    expected = _as_stored(default_value(field), conn.dialect)
                    found = Counter(repr(row[field.col]) for row in rows)
                    assert set(found) == {repr(expected)}, (resource.name, field.name, found)
    finally:
        db.close()


def _assert_twins(db: Database, settings: Settings, bulk_rows: list[tuple[str, dict[str, Any]]]) -> None:
    """Each bulk row and the record the API makes of its values are equal, column for column and
    type for type, but for the id and the timestamps the API sets itself."""
    for collection, bulk_row in bulk_rows:
        if collection == "fiches":
            body = {n: bulk_row[n] for n in ("firstname", "lastname", "email", "firstphone", "externid")}
            if bulk_row["birthdate"] is not None:
                body["birthdate"] = TZ.format(bulk_row["birthdate"])
        else:
            body = {n: bulk_row[n] for n in ("calendar_id", "fiche_id", "intervention_id", "text", "taker", "from_web")}
            body.update(start=TZ.format(bulk_row["start"]), end=TZ.format(bulk_row["end"]))
        made = admin.create(db, settings, collection, body, group_id=bulk_row["group_id"])
        with db.connect() as conn:
            (api_row,) = _rows(conn, RESOURCES[collection].table, "WHERE id = ?", (made["id"],))
            bulk_types = _sqlite_types(conn, collection, bulk_row["id"])
            api_types = _sqlite_types(conn, collection, made["id"])
        typed_bulk, typed_api = _typed(bulk_row), _typed(api_row)
        for column in ("id", "created_at", "updated_at"):
            for row in (typed_bulk, typed_api, bulk_types, api_types):
                row.pop(column, None)
        assert typed_bulk == typed_api, collection
        assert bulk_types == api_types, collection


@pytest.mark.parametrize("engine", ENGINES)
def test_a_bulk_row_and_the_same_record_created_through_the_api_are_column_for_column_equal(
    engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_calendar, "BULK_ROWS", 50)
    url = _fresh_url(engine, tmp_path, "twins.db")
    db = _load(url, fiches=60, vevents=60)
    try:
        with db.connect() as conn:
            fiche = _rows(conn, "fiches")[0]  # the first has a birthdate and an external id
            appointment = _rows(conn, "vevents", "WHERE fiche_id <> 0")[0]
            block = _rows(conn, "vevents", "WHERE text = ?", ("Pause",))[0]
        assert fiche["birthdate"] is not None and fiche["externid"] is not None
        _assert_twins(db, Settings(database_url=url), [("fiches", fiche), ("vevents", appointment), ("vevents", block)])
    finally:
        db.close()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("rows", [3, 120], ids=["with indexes", "without indexes"])
def test_rows_given_as_dicts_are_stored_as_the_api_stores_them(
    engine: str, rows: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`bulk_insert`, which the booking benchmark loads its data with: dicts of some columns."""
    monkeypatch.setattr(demo_calendar, "BULK_ROWS", 100)
    url = _fresh_url(engine, tmp_path, "dicts.db")
    upgrade(url)
    db = Database(url)
    settings = Settings(database_url=url)
    try:
        group = admin.create(db, settings, "groups", {"name": "Cabinet", "timezone": "Europe/Paris"})
        gid = group["id"]
        service = admin.create(db, settings, "interventions", {"name": "Soin", "length": 15}, group_id=gid)
        calendar = admin.create(
            db, settings, "calendars", {"name": "Salle", "intervention_ids": [service["id"]]}, group_id=gid
        )
        fiches = [
            {"group_id": gid, "lastname": f"Légaré{i}", "firstname": "Zoé", "email": f"z{i}@b.example", "id": 10**6}
            for i in range(rows)
        ]
        assert demo_calendar.bulk_insert(db, RESOURCES["fiches"], iter(fiches), rows, "fiches", False) == rows
        with db.connect() as conn:
            fiche_ids = [r[0] for r in conn.all("SELECT id FROM fiches WHERE group_id = ?", (gid,))]
        assert len(fiche_ids) == rows and 10**6 not in fiche_ids  # the keys that are no columns are left out
        start = NOW + 86400
        events: list[dict[str, Any]] = [
            {"group_id": gid, "calendar_id": calendar["id"], "start": start + 900 * i, "end": start + 900 * (i + 1)}
            for i in range(rows)
        ]
        for i, event in enumerate(events):
            if i % 2:
                event.update(text="RDV", fiche_id=fiche_ids[i], intervention_id=service["id"], taker="bench")
            else:
                event.update(text="Pause")
        assert demo_calendar.bulk_insert(db, RESOURCES["vevents"], iter(events), rows, "vevents", False) == rows
        with db.connect() as conn:
            fiche = _rows(conn, "fiches")[1]
            appointment = _rows(conn, "vevents", "WHERE fiche_id <> 0")[0]
            block = _rows(conn, "vevents", "WHERE text = ?", ("Pause",))[0]
            if conn.dialect == "sqlite":
                assert conn.scalar("SELECT count(*) FROM fiches_fts WHERE fiches_fts MATCH 'legare'") == rows
        assert fiche["search_text"] == "legare1\x1fzoe\x1fz1@b.example"
        _assert_twins(db, settings, [("fiches", fiche), ("vevents", appointment), ("vevents", block)])
    finally:
        db.close()


def test_a_large_load_without_indexes_ends_as_a_load_with_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixed_clock: None
) -> None:
    """Dropped indexes and triggers come back, and the full-text index and range counts the triggers
    keep are rebuilt to exactly what the triggers would have made."""
    plain = _load(f"sqlite:///{tmp_path / 'plain.db'}", fiches=300, vevents=400, groups=3)
    monkeypatch.setattr(demo_calendar, "BULK_ROWS", 100)
    bulk = _load(f"sqlite:///{tmp_path / 'bulk.db'}", fiches=300, vevents=400, groups=3)
    queries = [
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name",
        "SELECT * FROM fiches ORDER BY id",
        "SELECT * FROM vevents ORDER BY id",
        "SELECT * FROM range_counts ORDER BY tbl, col, group_id, bucket",
        "SELECT rowid FROM fiches_fts WHERE fiches_fts MATCH 'ois' ORDER BY rowid",
        "SELECT rowid FROM fiches_fts WHERE fiches_fts MATCH '0612' ORDER BY rowid",
        "SELECT rowid FROM vevents_fts WHERE vevents_fts MATCH 'pause' ORDER BY rowid",
    ]
    try:
        with plain.connect() as a, bulk.connect() as b:
            for sql in queries:
                expected = a.all(sql)
                assert expected, sql
                assert b.all(sql) == expected, sql
        # the loading connection has its usual page cache again
        untouched = Database(bulk.url)
        with untouched.connect() as fresh, bulk.connect() as loader:
            assert loader.scalar("PRAGMA cache_size") == fresh.scalar("PRAGMA cache_size")
        untouched.close()
    finally:
        plain.close()
        bulk.close()


@pytest.mark.parametrize(
    "plan",
    [
        FichePlan(count=3000, group_ids=(1, 2), now=NOW),
        VeventPlan(
            count=3000, group_id=1, now=NOW, calendar_ids=(10, 11), offered=(((20, 30),), ((21, 45),)), fiche_ids=(5,)
        ),
    ],
    ids=["fiches", "vevents"],
)
def test_every_generated_search_text_is_what_search_document_makes_of_the_fields(plan: RowPlan) -> None:
    resource = RESOURCES[plan.resource_name]
    for row in _generated(plan):
        values = {f.name: default_value(f) for f in resource.stored_fields} | row
        assert row["search_text"] == search_document(values[n] for n in resource.search_fields)


def test_a_plan_deriving_another_search_text_than_the_api_is_refused() -> None:
    class Careless(FichePlan):
        def generated_rows(self, rnd: random.Random) -> Iterator[tuple[Any, ...]]:
            for row in super().generated_rows(rnd):
                yield (*row[:-1], row[-1].upper())

    with pytest.raises(ValueError, match="where the API stores"):
        next(Careless(count=3, group_ids=(1,), now=NOW).rows(random.Random(1)))


# -- generated in a second process ---------------------------------------------------------------------
def _plans() -> list[RowPlan]:
    return [
        FichePlan(count=BATCH + 7, group_ids=(3, 5, 8), now=NOW),
        VeventPlan(
            count=BATCH // 2,
            group_id=3,
            now=NOW,
            calendar_ids=(10, 11),
            offered=(((20, 30), (21, 45)), ((22, 15),)),
            fiche_ids=(100, 101, 102),
        ),
    ]


@pytest.mark.parametrize("plan", _plans(), ids=["fiches", "vevents"])
def test_rows_and_random_state_are_the_same_from_a_second_process(plan: RowPlan) -> None:
    here, there = random.Random(42), random.Random(42)
    with generated_batches(plan, here, separate_process=False) as batches:
        rows_here = [list(batch) for batch in batches]
    with generated_batches(plan, there, separate_process=True) as batches:
        rows_there = [list(batch) for batch in batches]
    assert [len(b) for b in rows_there] == [len(b) for b in rows_here]
    assert len(rows_here[0]) == min(BATCH, plan.count)
    assert rows_there == rows_here
    assert there.getstate() == here.getstate()  # what the load draws next is the same too
    assert sum(len(b) for b in rows_here) == plan.count
    assert all(len(row) == len(plan.columns) for batch in rows_here for row in batch)


def test_a_failing_generator_process_says_why() -> None:
    broken = VeventPlan(count=5, group_id=1, now=NOW, calendar_ids=(), offered=(), fiche_ids=())
    with (
        pytest.raises(RuntimeError, match="ZeroDivisionError"),
        generated_batches(broken, random.Random(1), separate_process=True) as batches,
    ):
        list(batches)


def test_a_load_that_stops_early_stops_its_generator_process(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[subprocess.Popen[bytes]] = []
    popen = subprocess.Popen

    def recording_popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        process = popen(*args, **kwargs)
        started.append(process)
        return process

    monkeypatch.setattr(demo_calendar.subprocess, "Popen", recording_popen)
    endless = FichePlan(count=10**9, group_ids=(1,), now=NOW)
    with (
        pytest.raises(KeyError),
        generated_batches(endless, random.Random(1), separate_process=True) as batches,
    ):
        for _batch in batches:
            raise KeyError("the insert failed")
    (process,) = started
    assert process.returncode is not None


# -- the SQL -------------------------------------------------------------------------------------------
def test_the_insert_binds_the_generated_columns_and_writes_the_other_defaults() -> None:
    fiches = RESOURCES["fiches"]
    sql = insert_sql(fiches, FichePlan(count=0, group_ids=(1,), now=NOW).columns, "sqlite")
    assert sql.count("?") == len(FichePlan.generated) + 1  # and the search text
    assert '"rappel_email"' in sql and '"comments"' in sql and '"dt0"' in sql
    with pytest.raises(ValueError, match="search_text"):
        insert_sql(fiches, ["group_id", "lastname"], "sqlite")


def test_sql_literals() -> None:
    assert [sql_literal(v, "sqlite") for v in (None, True, False, 0, 7, 1.5, "", "l'été")] == [
        "NULL",
        "1",
        "0",
        "0",
        "7",
        "1.5",
        "''",
        "'l''été'",
    ]
    assert [sql_literal(v, "postgresql") for v in (True, False)] == ["TRUE", "FALSE"]


# -- what the benchmarks draw their parameters from ----------------------------------------------------
def _generated(plan: RowPlan, seed: int = 42) -> list[dict[str, Any]]:
    with generated_batches(plan, random.Random(seed), separate_process=False) as batches:
        return [dict(zip(plan.columns, row, strict=True)) for batch in batches for row in batch]


def test_the_same_arguments_give_the_same_rows_and_another_seed_others() -> None:
    plan = FichePlan(count=500, group_ids=(1, 2), now=NOW)
    assert _generated(plan) == _generated(plan)
    assert _generated(plan) != _generated(plan, seed=43)


def test_fiches_look_like_a_real_practice() -> None:
    rows = _generated(FichePlan(count=6000, group_ids=(1, 2, 3), now=NOW))
    three_years = 3 * 365 * 86400
    recent = sum(r["updated_at"] >= NOW - three_years // 2 for r in rows)
    assert 0.40 * len(rows) <= recent <= 0.60 * len(rows)
    assert min(r["created_at"] for r in rows) >= NOW - three_years
    assert len({r["email"] for r in rows}) == len(rows)
    assert all(r["email"].isascii() for r in rows)
    assert any(not r["lastname"].isascii() for r in rows) and any(not r["firstname"].isascii() for r in rows)
    assert sum(r["birthdate"] is not None for r in rows) == 2000
    assert sum(r["externid"] is not None for r in rows) == 3000
    assert Counter(r["group_id"] for r in rows) == {1: 2000, 2: 2000, 3: 2000}
    assert all(r["firstphone"].startswith("06") and len(r["firstphone"]) == 10 for r in rows)


def test_events_march_back_from_two_weeks_ahead_25_a_day_a_calendar() -> None:
    calendars = (10, 11, 12)
    plan = VeventPlan(
        count=3 * 25 * 40,
        group_id=1,
        now=NOW,
        calendar_ids=calendars,
        offered=(((20, 30), (21, 45)), ((20, 30),), ((22, 15),)),
        fiche_ids=(100, 101),
    )
    rows = _generated(plan)
    days = Counter((r["calendar_id"], r["start"] // 86400) for r in rows)
    assert set(days.values()) == {25}
    assert len({day for _, day in days}) == 40
    assert max(r["start"] for r in rows) // 86400 == NOW // 86400 + 14
    appointments = [r for r in rows if r["fiche_id"]]
    blocks = [r for r in rows if not r["fiche_id"]]
    assert len(blocks) == len(rows) // 5
    assert all(r["intervention_id"] and r["text"] == "RDV" and r["fiche_id"] in (100, 101) for r in appointments)
    assert all(r["intervention_id"] == 0 and r["text"] == "Pause" for r in blocks)
    lengths = {20: 30 * 60, 21: 45 * 60, 22: 15 * 60}
    assert all(r["end"] - r["start"] == lengths[r["intervention_id"]] for r in appointments)
    assert {r["intervention_id"] for r in appointments if r["calendar_id"] == 12} == {22}


def test_small_demos_load_through_the_same_code(tmp_path: Path) -> None:
    db = _load(f"sqlite:///{tmp_path / 'small.db'}", fiches=40, vevents=120)
    try:
        with db.connect() as conn:
            assert conn.scalar("SELECT count(*) FROM fiches") == 40
            # 120 generated and the calendars' weekly openings
            assert conn.scalar("SELECT count(*) FROM vevents WHERE type = 'Vevent'") == 120
            assert conn.scalar("SELECT count(*) FROM fiches_fts WHERE fiches_fts MATCH 'example'") == 40
    finally:
        db.close()
