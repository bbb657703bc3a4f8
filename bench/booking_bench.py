"""The booking benchmark: availability server time, booking throughput, and the 50-client race.

    .venv/bin/python bench/booking_bench.py [--calls 100] [--bookings 1000] [--repeats 3]
                                            [--database-url postgresql://...] [--profile]

Data, built afresh on every run (SQLite: bench/data/booking.db, replaced; PostgreSQL: a new group in
the given database, nothing dropped): `openrdv db upgrade`, then through the API's own handlers
(`openrdv.admin.create`) a group, a pro, an API key, one service of 30 minutes and 50 calendars
(interval 15, capacity 1) offering it, each with a weekly opening Monday-Sunday 08:00-20:00; then in
bulk (`openrdv.demo.calendar.bulk_insert`) 2,000 fiches and, on each calendar, 25 events of 15
minutes a day (4 in 5 appointments, 1 in 5 blocks) at random quarter hours, over the 62 days from
tomorrow, so that every 7- or 31-day window starting in the first 31 days has ~25 a calendar a day.

Targets (server time = `Api.handle` in this process on a built `ApiRequest`, time.perf_counter):
  a. GET /groups/G/availabletimeslots?intervention_ids[]=S&calendar_ids[]=...&start=D&nDays=N, p50 over
     --calls calls (start day and, for one calendar, the calendar drawn anew each call):
     1 calendar x 7 days <= 2 ms; 50 calendars x 7 days <= 50 ms; 50 calendars x 31 days <= 250 ms
  b. sequential POST /groups/G/appointments as the pro (HTTP Basic), each on a distinct free slot and
     calendar with a new customer's fiche data: >= 500 appointments/s of server time
  c. through `openrdv serve --workers 2`: 50 threads (httpx, connected and authenticated beforehand)
     released by a barrier POST the same slot of a capacity-1 calendar: exactly one 201, and the last
     response < 2 s after the release; --repeats times, on a new slot each time
Results: bench/results/booking_bench.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from calendar_bench import (
    Credentials,
    InProcess,
    LoadMeter,
    Stats,
    Verdict,
    cprofile_summary,
    expect,
    machine_info,
    measure,
    print_breakdown,
    quiet,
    redact_url,
    run_cli,
    sql_breakdown,
    write_results,
)
from common import BENCH, BIN, Server, free_port, log

from openrdv import admin
from openrdv.agenda.zones import Zone, zone
from openrdv.auth.apikeys import create_apikey
from openrdv.db.engine import Database, dialect_of
from openrdv.demo.calendar import bulk_insert
from openrdv.registry import RESOURCES
from openrdv.settings import Settings
from openrdv.web.http import ApiRequest

RESULTS = BENCH / "results" / "booking_bench.json"
DEFAULT_DB = BENCH / "data" / "booking.db"
SEED = 20240502
TIMEZONE = "Europe/Paris"
CALENDARS = 50
EVENTS_PER_DAY = 25
EVENT_DAYS = 62  # from tomorrow: every window starting in the first 31 days is full of events
OPEN_FROM, OPEN_TO = 8, 20  # the weekly opening, every day
QUARTERS = (OPEN_TO - OPEN_FROM) * 4
SERVICE_MINUTES = 30
FICHES = 2000
BOOKING_FIRST_DAY = EVENT_DAYS + 2  # bookings (b) and the race (c) go on days without events
RACE_CLIENTS = 50


# -- data ---------------------------------------------------------------------------------------------


@dataclass
class Shop:
    url: str
    creds: Credentials
    group_id: int
    service_id: int
    calendar_ids: list[int]
    race_calendar_id: int
    first_day: dt.date  # tomorrow, in the group's zone
    zone: Zone
    seconds: float
    events: int

    def day(self, offset: int) -> dt.date:
        return self.first_day + dt.timedelta(days=offset)

    def at(self, offset: int, minutes: int) -> str:
        """Wire time of day `offset` at `minutes` after midnight."""
        return f"{self.day(offset).isoformat()} {minutes // 60:02d}:{minutes % 60:02d}:00"


def database_url(given: str | None) -> str:
    """The given URL as it is (a PostgreSQL database gets a new group), else bench/data/booking.db anew."""
    if given is not None:
        dialect_of(given)  # refuses what is neither SQLite nor PostgreSQL
        return given
    DEFAULT_DB.parent.mkdir(parents=True, exist_ok=True)
    for path in (DEFAULT_DB, Path(f"{DEFAULT_DB}-wal"), Path(f"{DEFAULT_DB}-shm")):
        path.unlink(missing_ok=True)  # the runs book into the data: every run starts from the same state
    return f"sqlite:///{DEFAULT_DB}"


def build_shop(url: str) -> Shop:
    log(f"building the booking data in {redact_url(url)} ...")
    started = time.perf_counter()
    run_cli(url, "db", "upgrade")
    settings = Settings.from_env(database_url=url, log_level="WARNING")
    db = Database(url, pool_size=2)
    rnd = random.Random(SEED)
    stamp = secrets.token_hex(4)
    try:
        group = admin.create(
            db,
            settings,
            "groups",
            {"name": f"Bench booking {stamp}", "timezone": TIMEZONE, "urlname": f"bench-booking-{stamp}", "open": True},
        )
        gid = int(group["id"])

        def make(collection: str, fields: dict[str, Any]) -> dict[str, Any]:
            return admin.create(db, settings, collection, fields, group_id=gid)

        password = secrets.token_urlsafe(12)
        email = f"bench-{stamp}@openrdv.test"
        make("pros", {"email": email, "password": password, "firstname": "Bench", "lastname": "Pro"})
        with db.connect() as conn:
            _, apikey = create_apikey(conn, f"booking bench {stamp}", settings.environment)
        service = make(
            "interventions", {"name": "Consultation", "publicname": "Consultation", "length": SERVICE_MINUTES}
        )
        sid = int(service["id"])
        tz = zone(TIMEZONE)
        first_day = tz.local_datetime(int(time.time())).date() + dt.timedelta(days=1)
        calendars: list[int] = []
        for n in range(CALENDARS + 1):  # the last one is the race's
            name = f"Bench {n + 1}" if n < CALENDARS else "Race"
            calendar = make(
                "calendars",
                {"name": name, "publicname": name, "interval": 15, "capacity": 1, "intervention_ids": [sid]},
            )
            calendars.append(int(calendar["id"]))
            make(
                "vevents",
                {
                    "calendar_id": calendar["id"],
                    "type": "VfreebusyEvent",
                    "text": "Ouvert",
                    "start": f"{first_day.isoformat()} {OPEN_FROM:02d}:00:00",
                    "end": f"{first_day.isoformat()} {OPEN_TO:02d}:00:00",
                    "rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU",
                },
            )
        now = int(time.time())

        def fiche_rows() -> Iterator[dict[str, Any]]:
            for i in range(FICHES):
                yield {
                    "group_id": gid,
                    "lastname": f"Client{i}",
                    "firstname": "Bench",
                    "email": f"client{i}.{stamp}@bench.example",
                    "created_at": now,
                    "updated_at": now,
                }

        bulk_insert(db, RESOURCES["fiches"], fiche_rows(), FICHES, "fiches", False)
        with db.connect() as conn:
            fiche_ids = [int(r[0]) for r in conn.all("SELECT id FROM fiches WHERE group_id = ?", (gid,))]

        def event_rows() -> Iterator[dict[str, Any]]:
            for offset in range(EVENT_DAYS):
                opening = tz.parse(f"{(first_day + dt.timedelta(days=offset)).isoformat()} {OPEN_FROM:02d}:00:00")
                for calendar_id in calendars[:CALENDARS]:
                    for k, quarter in enumerate(sorted(rnd.sample(range(QUARTERS), EVENTS_PER_DAY))):
                        start = opening + quarter * 900
                        row: dict[str, Any] = {
                            "group_id": gid,
                            "calendar_id": calendar_id,
                            "start": start,
                            "end": start + 900,
                            "created_at": now,
                            "updated_at": now,
                        }
                        if k % 5 == 4:
                            row.update(text="Pause")
                        else:
                            row.update(text="RDV", fiche_id=rnd.choice(fiche_ids), intervention_id=sid, taker="bench")
                        yield row

        events = bulk_insert(
            db, RESOURCES["vevents"], event_rows(), EVENT_DAYS * CALENDARS * EVENTS_PER_DAY, "vevents", False
        )
    finally:
        db.close()
    seconds = time.perf_counter() - started
    log(
        f"  group {gid}: {CALENDARS} calendars (+1 for the race), service {sid} ({SERVICE_MINUTES} min), "
        f"{FICHES:,} fiches, {events:,} events over {EVENT_DAYS} days from {first_day}, in {seconds:.1f} s"
    )
    return Shop(
        url,
        Credentials(apikey, email, password),
        gid,
        sid,
        calendars[:CALENDARS],
        calendars[-1],
        first_day,
        tz,
        seconds,
        events,
    )


# -- a. availability ---------------------------------------------------------------------------------------


Maker = Callable[[random.Random], ApiRequest]


def availability_targets(api: InProcess, shop: Shop) -> list[tuple[str, str, float, Maker]]:
    path = f"groups/{shop.group_id}/availabletimeslots.json"

    def maker(calendars: int, days: int) -> Maker:
        def make(rnd: random.Random) -> ApiRequest:
            chosen = rnd.sample(shop.calendar_ids, calendars)
            start = f"{shop.day(rnd.randrange(0, 31)).isoformat()} 00:00:00"
            params = [("intervention_ids[]", str(shop.service_id))]
            params += [("calendar_ids[]", str(c)) for c in chosen]
            params += [("start", start), ("nDays", str(days))]
            return api.request("GET", path, params)

        return make

    return [
        ("a1", "availabletimeslots, 1 calendar x 7 days, p50", 2.0, maker(1, 7)),
        ("a2", "availabletimeslots, 50 calendars x 7 days, p50", 50.0, maker(CALENDARS, 7)),
        ("a3", "availabletimeslots, 50 calendars x 31 days, p50", 250.0, maker(CALENDARS, 31)),
    ]


def run_availability(api: InProcess, shop: Shop, calls: int, warmup: int, profile: bool) -> list[Verdict]:
    verdicts: list[Verdict] = []
    for key, name, target, make in availability_targets(api, shop):
        stats, bodies, other = measure(api, key, make, calls, warmup, seed=SEED)
        slots = [len(b.get("availabletimeslots") or []) for b in bodies]
        if not min(slots):
            raise SystemExit(f"{key}: a call found no slot at all: the data set is not what it should be")
        details = {
            "slots": {"min": min(slots), "median": statistics.median(slots), "max": max(slots)},
            "other_processes_cores": other,
        }
        verdict = Verdict(key, name, stats.p50_ms, "ms", target, stats=stats, details=details)
        verdicts.append(verdict)
        log(verdict.line())
        log(
            f"       p95 {stats.p95_ms:.2f} ms  max {stats.max_ms:.2f} ms  min {stats.min_ms:.2f} ms over "
            f"{stats.calls} calls; slots offered median {statistics.median(slots):,.0f}; other processes "
            f"used {other} cores"
        )
        if not verdict.passed or profile:
            diagnose(api, make, details)
    return verdicts


def diagnose(api: InProcess, make: Maker, details: dict[str, Any]) -> None:
    rnd = random.Random(SEED + 7)
    breakdown = sql_breakdown(api, make(rnd))
    print_breakdown(breakdown)
    top = cprofile_summary(api, [make(rnd) for _ in range(10)], top=8)
    log("      cProfile of 10 more calls, top functions by own time:")
    for line in top:
        log(f"        {line}")
    details["diagnosis"] = {"sql": breakdown, "cprofile_tottime": top}


# -- b. booking throughput ---------------------------------------------------------------------------------


def free_slots(shop: Shop, first_day: int) -> Iterator[tuple[int, str]]:
    """(calendar, start) pairs on days without events, every calendar of a slot before the next slot."""
    offset = first_day
    while True:
        for minutes in range(OPEN_FROM * 60, OPEN_TO * 60 - SERVICE_MINUTES + 1, SERVICE_MINUTES):
            for calendar_id in shop.calendar_ids:
                yield calendar_id, shop.at(offset, minutes)
        offset += 1


def booking_body(shop: Shop, calendar_id: int, start: str, n: int, tag: str) -> bytes:
    return json.dumps(
        {
            "appointment": {
                "date": start,
                "calendar_id": calendar_id,
                "intervention_ids": [shop.service_id],
                "fiche": {
                    "lastname": f"{tag}{n}",
                    "firstname": "Client",
                    "email": f"{tag.lower()}{n}@bench.example",
                    "firstphone": f"06{n:08d}",
                },
            }
        }
    ).encode()


def run_bookings(api: InProcess, shop: Shop, count: int, warmup: int, profile: bool) -> Verdict:
    path = f"groups/{shop.group_id}/appointments.json"
    slots = free_slots(shop, BOOKING_FIRST_DAY)

    def make(n: int) -> ApiRequest:
        calendar_id, start = next(slots)
        return api.request(
            "POST", path, body=booking_body(shop, calendar_id, start, n, "Booked"), content_type="application/json"
        )

    for n in range(warmup):
        expect(api.timed(make(n))[1], 201, "b (warm-up)")
    requests = [make(warmup + n) for n in range(count)]
    samples: list[float] = []
    started = time.perf_counter()
    with LoadMeter() as meter:
        for request in requests:
            ms, response = api.timed(request)
            expect(response, 201, "b: POST appointments")
            samples.append(ms)
    wall = time.perf_counter() - started
    stats = Stats.of(samples)
    rate = count / (sum(samples) / 1000)
    details = {
        "bookings": count,
        "server_seconds": round(sum(samples) / 1000, 3),
        "wall_seconds": round(wall, 3),
        "per_booking": stats.__dict__,
        "other_processes_cores": meter.other_cores,
    }
    verdict = Verdict(
        "b",
        "POST appointments, sequential, as a pro, appointments/s",
        rate,
        "appts/s",
        500.0,
        ">=",
        stats=stats,
        details=details,
    )
    log(verdict.line())
    log(
        f"       {count} bookings in {sum(samples) / 1000:.2f} s of server time; per booking p50 {stats.p50_ms:.2f} "
        f"ms, p95 {stats.p95_ms:.2f} ms, max {stats.max_ms:.2f} ms; other processes used {meter.other_cores} cores"
    )
    if not verdict.passed or profile:
        counter = iter(range(10**6, 2 * 10**6))
        diagnose(api, lambda rnd: make(next(counter)), details)
    return verdict


# -- c. the race --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    status: int
    code: Any
    started: float
    finished: float


def race_once(port: int, shop: Shop, start: str, repeat: int) -> list[Outcome]:
    base = f"http://127.0.0.1:{port}/api/v1"
    path = f"/groups/{shop.group_id}/appointments.json"
    headers = {"Authorization": shop.creds.basic, "Content-Type": "application/json"}
    bodies = [
        booking_body(shop, shop.race_calendar_id, start, repeat * 1000 + n, f"Racer{repeat}x")
        for n in range(RACE_CLIENTS)
    ]
    barrier = threading.Barrier(RACE_CLIENTS)
    outcomes: list[Outcome | None] = [None] * RACE_CLIENTS
    failures: list[str] = []

    def client(index: int) -> None:
        try:
            with httpx.Client(base_url=base, headers=headers, params={"apikey": shop.creds.apikey}, timeout=60) as http:
                # connected, and the credential verified by the worker holding this connection, before the start
                ready = http.get(f"/groups/{shop.group_id}.json")
                if ready.status_code != 200:
                    failures.append(f"warm-up HTTP {ready.status_code}: {ready.text[:200]}")
                barrier.wait(timeout=120)
                started = time.perf_counter()
                response = http.post(path, content=bodies[index])
                finished = time.perf_counter()
                try:
                    code = response.json().get("error")
                except ValueError:
                    code = response.text[:100]
                outcomes[index] = Outcome(response.status_code, code, started, finished)
        except Exception as exc:  # a broken client must not hang the barrier or vanish silently
            failures.append(repr(exc))
            barrier.abort()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(RACE_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = [o for o in outcomes if o is not None]
    if failures or len(done) != RACE_CLIENTS:
        raise SystemExit(f"c: {len(done)}/{RACE_CLIENTS} clients finished: {failures[:3]}")
    return done


def count_booked(shop: Shop, start: str) -> int:
    db = Database(shop.url, pool_size=1)
    try:
        with db.connect() as conn:
            return int(
                conn.scalar(
                    "SELECT count(*) FROM vevents WHERE calendar_id = ? AND start = ? "
                    'AND "deleted" = ? AND fiche_id <> 0',
                    (shop.race_calendar_id, shop.zone.parse(start), False),
                )
                or 0
            )
    finally:
        db.close()


def run_race(shop: Shop, repeats: int) -> list[Verdict]:
    port = free_port()
    env = {
        **os.environ,
        "OPENRDV_DATABASE_URL": shop.url,
        "OPENRDV_LOG_LEVEL": "WARNING",
        "OPENRDV_LOGIN_ATTEMPTS": "1000",
    }
    log_dir = Path(tempfile.mkdtemp(prefix="booking-bench-"))
    argv = [str(BIN / "openrdv"), "serve", "--workers", "2", "--port", str(port)]
    rounds: list[dict[str, Any]] = []
    with Server("booking-serve", argv, port, env, log_dir) as server:
        server.wait_ready("/api/v1/openapi.json")
        for repeat in range(repeats):
            start = shop.at(BOOKING_FIRST_DAY + 30 + repeat, 10 * 60)
            outcomes = race_once(port, shop, start, repeat)
            release = min(o.started for o in outcomes)
            wall = max(o.finished for o in outcomes) - release
            statuses = Counter(o.status for o in outcomes)
            stored = count_booked(shop, start)
            rounds.append(
                {
                    "slot": start,
                    "calendar_id": shop.race_calendar_id,
                    "status_counts": dict(statuses),
                    "created": statuses.get(201, 0),
                    "stored_appointments": stored,
                    "wall_s": round(wall, 3),
                    "start_spread_ms": round((max(o.started for o in outcomes) - release) * 1000, 1),
                    "refusals": dict(Counter(str(o.code) for o in outcomes if o.status != 201)),
                }
            )
            log(
                f"       round {repeat + 1}: {dict(sorted(statuses.items()))}, {stored} stored at {start}, "
                f"last response {wall:.3f} s after the release (starts spread over "
                f"{rounds[-1]['start_spread_ms']} ms)"
            )
    shutil.rmtree(log_dir, ignore_errors=True)
    exact = [r["created"] for r in rounds]
    worst_created = max(exact, key=lambda c: abs(c - 1))
    stored_ok = all(r["stored_appointments"] == 1 for r in rounds)
    details = {"command": " ".join(argv[1:]), "clients": RACE_CLIENTS, "rounds": rounds}
    return [
        Verdict(
            "c1",
            f"race, {RACE_CLIENTS} clients, one capacity-1 slot: 201s (worst round)",
            float(worst_created),
            "x 201",
            1.0,
            "==",
            details={**details, "stored_exactly_one_each_round": stored_ok, "created_each_round": exact},
        ),
        Verdict(
            "c2",
            "race: release to last response (worst round), s",
            max(r["wall_s"] for r in rounds),
            "s",
            2.0,
            details={"wall_each_round_s": [r["wall_s"] for r in rounds]},
        ),
    ]


# -- main -------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="default: sqlite:///bench/data/booking.db (rebuilt every run)")
    parser.add_argument("--calls", type=int, default=100, help="timed availability calls per target (>= 50)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed calls before each target")
    parser.add_argument("--bookings", type=int, default=1000, help="timed sequential bookings")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of the race")
    parser.add_argument("--only", default="a,b,c", help="the parts to run, e.g. a,c")
    parser.add_argument("--profile", action="store_true", help="diagnose every target, not only missed ones")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before measuring, wait at most this long until other processes leave the CPU idle",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.calls < 50:
        parser.error("--calls must be at least 50")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    only = {k.strip() for k in args.only.split(",") if k.strip()}
    started = time.perf_counter()
    shop = build_shop(database_url(args.database_url))
    results: dict[str, Any] = {
        "benchmark": "booking_bench",
        "machine": machine_info(),
        "database": redact_url(shop.url),
        "data": {
            "group_id": shop.group_id,
            "service_id": shop.service_id,
            "calendars": CALENDARS,
            "events": shop.events,
            "events_per_calendar_day": EVENTS_PER_DAY,
            "event_days": EVENT_DAYS,
            "first_day": shop.first_day.isoformat(),
            "build_seconds": round(shop.seconds, 2),
        },
        "method": {
            "server_time": "Api.handle in process on a built ApiRequest, time.perf_counter",
            "calls": args.calls,
            "warmup": args.warmup,
            "bookings": args.bookings,
            "seed": SEED,
        },
    }
    verdicts: list[Verdict] = []
    quiet(args.wait_quiet)
    api = InProcess(shop.url, shop.creds)
    try:
        if "a" in only:
            log(f"availability, server time of Api.handle in this process, {args.calls} calls per target:")
            verdicts += run_availability(api, shop, args.calls, args.warmup, args.profile)
        if "b" in only:
            log(f"booking throughput, {args.bookings} sequential POSTs in this process:")
            verdicts.append(run_bookings(api, shop, args.bookings, args.warmup, args.profile))
    finally:
        api.close()
    if "c" in only:
        quiet(args.wait_quiet)
        log(f"the race through `openrdv serve --workers 2`, {args.repeats} rounds of {RACE_CLIENTS} clients:")
        race = run_race(shop, args.repeats)
        for verdict in race:
            log(verdict.line())
        verdicts += race
    results["targets"] = [v.as_dict() for v in verdicts]
    results["summary"] = {
        v.key: {"figure": round(v.figure, 3), "unit": v.unit, "target": v.target, "passed": v.passed} for v in verdicts
    }
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_results(args.output, results)
    failed = [v.key for v in verdicts if not v.passed]
    missed = f"; missed: {', '.join(failed)}" if failed else ""
    log(f"{len(verdicts) - len(failed)}/{len(verdicts)} targets met{missed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
