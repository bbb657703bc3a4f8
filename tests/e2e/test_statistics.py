"""SQLite's planner statistics follow the data: `openrdv db upgrade` analyses the tables as they are
then (empty, on a new installation), and a worker refreshes them when it goes idle, so a table that
grew since gets the plans its indexes allow (a filtered page at a million fiches: 0.1 ms with fresh
statistics, 50 ms with those of an empty table). Always SQLite, whichever engine the pass tests:
PostgreSQL's autovacuum keeps its own statistics."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx

from openrdv.migrations import upgrade

from .conftest import basic_header, launch, seed, stop


def _fiche_rows_analysed(path: Path) -> int | None:
    """The row count sqlite_stat1 holds for fiches (None: no statistics for it)."""
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'fiches' AND idx IS NOT NULL LIMIT 1").fetchone()
    return int(str(row[0]).split()[0]) if row else None


def _grown_database(tmp_path: Path, name: str, fiches: int) -> tuple[Path, str]:
    """A database migrated while empty, then grown by `fiches` fiches (SQL, as an import would)."""
    path = tmp_path / f"{name}.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    data = seed(url)
    assert _fiche_rows_analysed(path) is None  # the upgrade analysed an empty table
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO fiches (group_id, lastname, created_at, updated_at) VALUES (?, ?, 0, 0)",
            [(data.group_id, f"N{i}") for i in range(fiches)],
        )
    return path, url


def _wait_for(path: Path, rows: int, seconds: float) -> int | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and _fiche_rows_analysed(path) != rows:
        time.sleep(0.2)
    return _fiche_rows_analysed(path)


def test_an_idle_worker_refreshes_the_statistics_of_grown_tables(tmp_path: Path) -> None:
    path, url = _grown_database(tmp_path, "grown", 40)
    process, base = launch(url, tmp_path / "grown.log", {"OPENRDV_STATISTICS_EVERY": "3600"})
    try:
        assert _wait_for(path, 40, 15) == 40  # at the worker's first idle moment, after /healthz
        with sqlite3.connect(path) as conn:  # more rows: the next refresh is an hour away
            conn.executemany("INSERT INTO fiches (group_id, lastname) VALUES (1, ?)", [("M",)] * 10)
        assert httpx.get(base + "/healthz").status_code == 200
        time.sleep(2.5)
        assert _fiche_rows_analysed(path) == 40
    finally:
        stop(process)


def test_the_refresh_can_be_turned_off(tmp_path: Path) -> None:
    path, url = _grown_database(tmp_path, "off", 5)
    process, base = launch(url, tmp_path / "off.log", {"OPENRDV_STATISTICS_EVERY": "0"})
    try:
        headers = {"Authorization": basic_header("nobody@example.org", "x")}
        httpx.get(base + "/api/v1/groups.json", headers=headers)
        time.sleep(3)  # well past the idle moment a refresh would have used
        assert _fiche_rows_analysed(path) is None
    finally:
        stop(process)
