"""Crash safety: a server killed (SIGKILL, its whole process group) in the middle of a write load loses
none of the writes it acknowledged, and leaves a database that is whole (SQLite's integrity check; no
half-made booking on either engine) and that a new server serves at once."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from .booking_helpers import at, count_rows, weekday_ahead
from .conftest import SHARED_SERVER_ENV, Database, RunningServer, provision_database, seed, start, stop

WRITERS = 4
LOAD_SECONDS = 2.0
SLOTS_PER_DAY = 48  # 08:00 to 20:00 every 15 minutes


@dataclass
class Acknowledged:
    """The ids of the writes the server answered 201 to, per kind; and how the load ended."""

    fiches: list[int] = field(default_factory=list)
    appointments: list[int] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    interrupted: int = 0  # writers whose request the kill cut off
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, record_id: int) -> None:
        with self.lock:
            (self.fiches if kind == "fiches" else self.appointments).append(record_id)


@pytest.fixture
def crash_database(tmp_path: Path) -> Iterator[Database]:
    database = provision_database(tmp_path, "crash", primary=False)
    yield database
    if database.drop is not None:
        database.drop()


def _shop(client: httpx.Client, group: int, first: dt.date) -> tuple[int, int]:
    """A 15-minute service and a calendar open every day 08:00-20:00 from `first`."""

    def made(path: str, body: dict[str, object]) -> int:
        response = client.post(f"/groups/{group}/{path}", json=body)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    intervention = made("interventions", {"intervention": {"name": "Cut", "publicname": "Cut", "length": 15}})
    calendar = made(
        "calendars",
        {"calendar": {"name": "Main", "publicname": "Main", "interval": 15, "intervention_ids": [intervention]}},
    )
    made(
        "vevents",
        {
            "vevent": {
                "calendar_id": calendar,
                "type": "VfreebusyEvent",
                "start": at(first, "08:00"),
                "end": at(first, "20:00"),
                "rrule": "FREQ=DAILY",
            }
        },
    )
    return intervention, calendar


def _write_load(
    server: RunningServer,
    group: int,
    intervention: int,
    calendar: int,
    first: dt.date,
    done: Acknowledged,
    stop_at: threading.Event,
) -> list[threading.Thread]:
    slots = itertools.count()
    slot_lock = threading.Lock()

    def next_start() -> str:
        with slot_lock:
            n = next(slots)
        day = first + dt.timedelta(days=n // SLOTS_PER_DAY)
        minutes = 8 * 60 + (n % SLOTS_PER_DAY) * 15
        return at(day, f"{minutes // 60:02d}:{minutes % 60:02d}")

    def writer(number: int) -> None:
        with server.client(
            params={"apikey": server.apikey}, auth=(server.pro_email, server.pro_password), timeout=10
        ) as client:
            for n in itertools.count():
                if stop_at.is_set():
                    return
                try:
                    if n % 2 == 0:
                        kind = "fiches"
                        response = client.post(
                            f"/groups/{group}/fiches", json={"fiche": {"lastname": f"Crash {number}-{n}"}}
                        )
                    else:
                        kind = "appointments"
                        response = client.post(
                            f"/groups/{group}/appointments",
                            json={
                                "appointment": {
                                    "date": next_start(),
                                    "calendar_id": calendar,
                                    "intervention_ids": [intervention],
                                    "fiche": {"lastname": f"Booked {number}-{n}"},
                                }
                            },
                        )
                except httpx.HTTPError:
                    with done.lock:
                        done.interrupted += 1
                    return  # the server is gone: what was not answered was not acknowledged
                if response.status_code == 201:
                    done.add(kind, int(response.json()["id"]))
                else:
                    done.refused.append(f"{kind} → {response.status_code}: {response.text[:200]}")

    threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    return threads


def _integrity(database_url: str) -> str:
    """SQLite's own check of the whole file; PostgreSQL keeps its own WAL and is not checked here."""
    if not database_url.startswith("sqlite:///"):
        return "ok"
    conn = sqlite3.connect(database_url[len("sqlite:///") :], timeout=30)
    try:
        return "; ".join(str(row[0]) for row in conn.execute("PRAGMA integrity_check").fetchall())
    finally:
        conn.close()


def test_no_acknowledged_write_is_lost_when_the_server_is_killed(crash_database: Database, tmp_path: Path) -> None:
    data = seed(crash_database.url)
    first = weekday_ahead(0, 1)
    server = start(crash_database.url, tmp_path / "before.log", SHARED_SERVER_ENV, data)
    assert server.process is not None
    done = Acknowledged()
    stop_at = threading.Event()
    try:
        with server.client(params={"apikey": server.apikey}, auth=(server.pro_email, server.pro_password)) as client:
            intervention, calendar = _shop(client, data.group_id, first)
        threads = _write_load(server, data.group_id, intervention, calendar, first, done, stop_at)
        time.sleep(LOAD_SECONDS)
        os.killpg(server.process.pid, signal.SIGKILL)  # mid-write: the load never pauses
        server.process.wait(timeout=10)
        for thread in threads:
            thread.join(timeout=30)
        stop_at.set()
    finally:
        stop_at.set()
        stop(server.process)  # already dead, unless the test failed before the kill
    assert not done.refused, done.refused[:10]
    assert done.interrupted == WRITERS, "every writer was still writing when the server was killed"
    assert len(done.fiches) >= 10 and len(done.appointments) >= 10, (len(done.fiches), len(done.appointments))
    print(f"\ncrash: {len(done.fiches)} fiches and {len(done.appointments)} appointments acknowledged before SIGKILL")
    assert _integrity(crash_database.url) == "ok"

    again = start(crash_database.url, tmp_path / "after.log", SHARED_SERVER_ENV, data)
    assert again.process is not None
    try:
        lost = _lost(again, data.group_id, done)
        half_made = count_rows(
            again,
            "SELECT count(*) FROM vevents v WHERE v.group_id = ? AND v.intervention_id <> 0 "
            "AND (NOT EXISTS (SELECT 1 FROM vevent_interventions i WHERE i.vevent_id = v.id) "
            "OR NOT EXISTS (SELECT 1 FROM fiches f WHERE f.id = v.fiche_id))",
            (data.group_id,),
        )
    finally:
        stop(again.process)
    assert not lost, f"acknowledged writes lost after SIGKILL: {lost}"
    assert half_made == 0, f"{half_made} bookings without their services or fiche"
    assert _integrity(crash_database.url) == "ok"


def _lost(server: RunningServer, group: int, done: Acknowledged) -> list[str]:
    """The acknowledged records the restarted server does not serve."""
    lost: list[str] = []
    with server.client(params={"apikey": server.apikey}, auth=(server.pro_email, server.pro_password)) as client:
        for kind, ids in (("fiches", done.fiches), ("appointments", done.appointments)):
            for record_id in ids:
                response = client.get(f"/groups/{group}/{kind}/{record_id}")
                if response.status_code != 200:
                    lost.append(f"{kind}/{record_id} → {response.status_code}")
    return lost
