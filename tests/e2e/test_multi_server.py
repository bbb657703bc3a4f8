"""Several stateless app servers on one database: sessions, logouts and bookings are shared state
in the database, so any server honours what another one did (PostgreSQL in production; the same
holds for two processes on one SQLite file)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import httpx

from tests.e2e.conftest import RunningServer, StartServer, unique


def _login(server: RunningServer, email: str, password: str) -> str:
    response = httpx.post(
        f"{server.api}/sessions/login.json",
        params={"apikey": server.apikey},
        data={"pro[email]": email, "pro[password]": password},
    )
    assert response.status_code == 200, response.text
    token = response.cookies.get("_session_id")
    assert token
    return token


def _groups_with_cookie(server: RunningServer, token: str) -> httpx.Response:
    return httpx.get(f"{server.api}/groups.json", cookies={"_session_id": token})


def test_a_session_opened_on_one_server_works_on_the_other_and_logout_is_seen_everywhere(
    start_server: StartServer,
) -> None:
    first = start_server()
    second = start_server()
    tenant = first.new_tenant()
    token = _login(first, tenant.email, tenant.password)

    on_second = _groups_with_cookie(second, token)
    assert on_second.status_code == 200
    assert [g["id"] for g in on_second.json()["records"]] == [tenant.group_id]

    logout = httpx.post(f"{second.api}/sessions/logout.json", cookies={"_session_id": token})
    assert logout.status_code == 200
    assert logout.json() == {"error": None}

    refused = _groups_with_cookie(first, token)
    assert refused.status_code == 401


def test_a_password_change_on_one_server_is_honoured_by_the_other_at_once(start_server: StartServer) -> None:
    first = start_server()
    second = start_server()
    tenant = first.new_tenant()
    auth = (tenant.email, tenant.password)
    # warm the second server's verified-credential cache with the old password
    assert httpx.get(f"{second.api}/groups.json", params={"apikey": second.apikey}, auth=auth).status_code == 200
    changed = httpx.put(
        f"{first.api}/groups/{tenant.group_id}/pros/{tenant.pro_id}.json",
        params={"apikey": first.apikey},
        auth=auth,
        json={"pro": {"password": "a-new-password-1"}},
    )
    assert changed.status_code == 200, changed.text
    stale = httpx.get(f"{second.api}/groups.json", params={"apikey": second.apikey}, auth=auth)
    assert stale.status_code == 401
    fresh = httpx.get(f"{second.api}/groups.json", params={"apikey": second.apikey},
                      auth=(tenant.email, "a-new-password-1"))
    assert fresh.status_code == 200


def _bookable_calendar(server: RunningServer, auth: tuple[str, str], group_id: int) -> tuple[int, int, str]:
    """A calendar with one 30-minute service and an opening tomorrow 09:00-12:00; (calendar, service, slot)."""
    base = f"{server.api}/groups/{group_id}"
    params = {"apikey": server.apikey}
    service = httpx.post(f"{base}/interventions.json", params=params, auth=auth,
                         json={"intervention": {"name": "Race", "publicname": "Race", "length": 30}})
    assert service.status_code == 201, service.text
    calendar = httpx.post(f"{base}/calendars.json", params=params, auth=auth,
                          json={"calendar": {"name": "Race", "publicname": "Race",
                                             "intervention_ids": [service.json()["id"]]}})
    assert calendar.status_code == 201, calendar.text
    day = (datetime.now() + timedelta(days=2)).strftime("%Y-%m-%d")
    opening = httpx.post(f"{base}/vevents.json", params=params, auth=auth,
                         json={"vevent": {"calendar_id": calendar.json()["id"], "type": "VfreebusyEvent",
                                          "start": f"{day} 09:00:00", "end": f"{day} 12:00:00"}})
    assert opening.status_code == 201, opening.text
    return calendar.json()["id"], service.json()["id"], f"{day} 10:00:00"


def test_fifty_clients_split_across_two_servers_book_one_slot_exactly_once(start_server: StartServer) -> None:
    first = start_server({"OPENRDV_WORKERS": "2"})
    second = start_server({"OPENRDV_WORKERS": "2"})
    tenant = first.new_tenant()
    auth = (tenant.email, tenant.password)
    calendar_id, service_id, slot = _bookable_calendar(first, auth, tenant.group_id)
    barrier = threading.Barrier(50)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def book(n: int) -> None:
        server = first if n % 2 else second
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            response = client.post(
                f"{server.api}/groups/{tenant.group_id}/appointments.json",
                params={"apikey": server.apikey},
                auth=auth,
                json={"appointment": {"date": slot, "calendar_id": calendar_id, "intervention_ids": [service_id],
                                      "fiche": {"lastname": unique("racer"), "firstname": str(n)}}},
            )
        with lock:
            results.append(response)

    threads = [threading.Thread(target=book, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(r.status_code for r in results)
    assert statuses.count(201) == 1, statuses
    refused = [r for r in results if r.status_code == 400]
    assert len(refused) == 49
    assert {r.json()["code"] for r in refused} == {10}
    stored = httpx.get(
        f"{first.api}/groups/{tenant.group_id}/appointments.json",
        params={"apikey": first.apikey, "include_past": "1", "calendar_id": calendar_id, "results": "all"},
        auth=auth,
    )
    assert stored.status_code == 200
    assert stored.json()["totalRecords"] == 1
