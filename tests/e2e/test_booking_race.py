"""No double booking under concurrency: 50 customers released at the same instant book the same slot on a
server with 2 worker processes (`openrdv serve`, OPENRDV_WORKERS=2). Exactly `capacity` bookings win,
the others get 400 NotAvailable, and the database holds exactly `capacity` appointments."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass

import httpx
import pytest

from .booking_helpers import at, build_shop, count_rows, create, ok, register
from .conftest import RunningServer, StartServer, cookie

CLIENTS = 50
WORKERS = 2


@dataclass
class Outcome:
    status: int
    body: dict[str, object]
    started: float
    finished: float


def pro_session(server: RunningServer, email: str, password: str) -> str:
    with server.client() as client:
        response = client.post(
            "/sessions/login", params={"apikey": server.apikey}, data={"pro[email]": email, "pro[password]": password}
        )
    assert response.status_code == 200, response.text
    return str(response.cookies["_session_id"])


def race(target: RunningServer, token: str, path: str, bodies: list[bytes]) -> list[Outcome]:
    """POST each body from its own thread and connection, all released together by a barrier."""
    barrier = threading.Barrier(len(bodies))
    outcomes: list[Outcome | None] = [None] * len(bodies)

    def run(index: int) -> None:
        headers = {**cookie(token), "Content-Type": "application/json"}
        with httpx.Client(base_url=target.api, headers=headers, timeout=60) as client:
            assert client.get(target.url + "/healthz").status_code == 200  # connected before the start line
            barrier.wait()
            started = time.perf_counter()
            response = client.post(path, content=bodies[index])
            outcomes[index] = Outcome(response.status_code, response.json(), started, time.perf_counter())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = [o for o in outcomes if o is not None]
    assert len(done) == len(bodies), "a client thread failed"
    return done


@pytest.mark.parametrize("capacity", [1, 3])
def test_fifty_customers_race_for_one_slot(server: RunningServer, start_server: StartServer, capacity: int) -> None:
    shop = build_shop(server, capacity=capacity)
    monday = shop.first_day
    with shop.pro() as pro:
        fiches = [
            create(pro, shop.path("fiches"), "fiche", {"lastname": f"Racer{n}", "firstname": "R"})["id"]
            for n in range(CLIENTS)
        ]
    bodies = [
        json.dumps(
            {
                "appointment": {
                    "date": at(monday, "10:00"),
                    "calendar_id": shop.calendar_id,
                    "intervention_ids": [shop.intervention_id],
                    "fiche": {"id": fiche},
                }
            }
        ).encode()
        for fiche in fiches
    ]

    target = start_server({"OPENRDV_WORKERS": str(WORKERS), "OPENRDV_LOGIN_ATTEMPTS": "1000"})
    assert f"({WORKERS} worker(s)" in target.log_text(), target.log_text()
    token = pro_session(target, shop.tenant.email, shop.tenant.password)
    outcomes = race(target, token, shop.path("appointments"), bodies)
    wall = max(o.finished for o in outcomes) - min(o.started for o in outcomes)
    print(f"\nrace: {CLIENTS} clients, capacity {capacity}, {WORKERS} workers: {wall:.3f} s")

    won = [o for o in outcomes if o.status == 201]
    lost = [o for o in outcomes if o.status != 201]
    assert len(won) == capacity, [(o.status, o.body) for o in outcomes]
    assert all(o.status == 400 and o.body.get("code") == 10 and o.body.get("name") == "NotAvailable" for o in lost), [
        (o.status, o.body) for o in lost if o.status != 400 or o.body.get("code") != 10
    ]
    assert len(lost) == CLIENTS - capacity
    winners = sorted(int(o.body["fiche_id"]) for o in won)  # type: ignore[call-overload]
    assert len(set(winners)) == capacity and set(winners) <= set(fiches)
    assert all(o.body["start"] == at(monday, "10:00") and o.body["calendar_id"] == shop.calendar_id for o in won)

    # read back, through the API (both servers) and in the database
    for reader in (server, target):
        with reader.client(params={"apikey": reader.apikey}, auth=shop.tenant.auth) as pro:
            listed = ok(pro.get(shop.path("appointments"), params={"include_past": 1, "results": "all"}))
            assert sorted(r["fiche_id"] for r in listed["records"]) == winners, listed
            vevents = ok(pro.get(shop.path("vevents"), params={"calendar_id": shop.calendar_id, "results": "all"}))
            assert sum(1 for v in vevents["records"] if v["fiche_id"]) == capacity
    marks = ", ".join("?" for _ in fiches)
    assert count_rows(server, f"SELECT count(*) FROM vevents WHERE fiche_id IN ({marks})", tuple(fiches)) == capacity
    with shop.anonymous() as web:
        assert "10:00" not in [s["start"][11:16] for s in shop.slots_ok(web, monday)["availabletimeslots"]]


def booking_body(date: str, calendar_id: int, intervention_id: int, fiche: dict[str, object]) -> bytes:
    appointment = {"date": date, "calendar_id": calendar_id, "intervention_ids": [intervention_id], "fiche": fiche}
    return json.dumps({"appointment": appointment}).encode()


def test_one_customer_racing_itself_books_once(server: RunningServer, start_server: StartServer) -> None:
    """The customer rules hold under concurrency too: one customer firing the same time at five free
    calendars (an account without a fiche yet, then a pro for one fiche) gets one appointment, one fiche."""
    shop = build_shop(server)
    calendars = [shop.calendar_id, *(shop.add_calendar() for _ in range(4))]
    monday = shop.first_day
    customer = register(server, shop.group_id)
    target = start_server({"OPENRDV_WORKERS": str(WORKERS), "OPENRDV_LOGIN_ATTEMPTS": "1000"})

    outcomes = race(
        target,
        customer.token,
        shop.path("appointments"),
        [booking_body(at(monday, "09:00"), c, shop.intervention_id, {}) for c in calendars],
    )
    assert sorted(o.status for o in outcomes) == [201, 400, 400, 400, 400], [(o.status, o.body) for o in outcomes]
    assert all(o.body.get("code") == 12 for o in outcomes if o.status == 400), [o.body for o in outcomes]
    fiches = count_rows(
        server, "SELECT count(*) FROM fiches WHERE account_id = ? AND group_id = ?", (customer.id, shop.group_id)
    )
    assert fiches == 1, f"{fiches} fiches for one account in one group"

    fiche = shop.new_fiche()
    token = pro_session(target, shop.tenant.email, shop.tenant.password)
    outcomes = race(
        target,
        token,
        shop.path("appointments"),
        [booking_body(at(monday, "10:00"), c, shop.intervention_id, {"id": fiche["id"]}) for c in calendars],
    )
    assert sorted(o.status for o in outcomes) == [201, 400, 400, 400, 400], [(o.status, o.body) for o in outcomes]
    assert all(o.body.get("code") == 12 for o in outcomes if o.status == 400), [o.body for o in outcomes]

    shop.set_rules(rdv_max_upcoming=1)
    other = shop.new_fiche()
    outcomes = race(
        target,
        token,
        shop.path("appointments"),
        [
            booking_body(at(monday + dt.timedelta(days=n), "11:00"), c, shop.intervention_id, {"id": other["id"]})
            for n, c in enumerate(calendars)
        ],
    )
    assert sorted(o.status for o in outcomes) == [201, 400, 400, 400, 400], [(o.status, o.body) for o in outcomes]
    assert all(o.body.get("code") == 6 for o in outcomes if o.status == 400), [o.body for o in outcomes]
    with shop.pro() as pro:
        listed = shop.appointments(pro)
    per_fiche = {f: sum(1 for r in listed if r["fiche_id"] == f) for f in {r["fiche_id"] for r in listed}}
    assert sorted(per_fiche.values()) == [1, 1, 1], per_fiche
