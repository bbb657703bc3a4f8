"""Rate limits per API key and client address, through `Api.handle` in this process on a real database
(SQLite, and PostgreSQL in scripts/test's second pass): the RateLimit-* headers, 429 with Retry-After,
what is not counted, and one bucket shared by every server of a database. The clock is the test's, so
every number is exact."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from openrdv import admin
from openrdv.auth.apikeys import create_apikey
from openrdv.auth.ratelimit import RateLimiter
from openrdv.db.engine import Database
from openrdv.migrations import upgrade
from openrdv.settings import Settings
from openrdv.web.api import Api
from openrdv.web.http import ApiRequest, ApiResponse
from tests.engines import fresh_database_url

pytestmark = pytest.mark.engines  # the bucket is one SQL statement of each engine

SECOND = 1_000_000  # the limiter's clock counts microseconds
START = 1_800_000_000 * SECOND
_addresses = (f"127.0.3.{n}" for n in itertools.count(1))


@dataclass
class Place:
    url: str
    db: Database
    keys: tuple[str, str]
    group_id: int
    pro_email: str
    pro_password: str


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Place]:
    url = fresh_database_url(Path(tmp_path_factory.mktemp("limits")), "limits.db")
    upgrade(url)
    db = Database(url)
    settings = Settings(database_url=url)
    with db.connect() as conn:
        keys = (create_apikey(conn, "first", "sandbox")[1], create_apikey(conn, "second", "sandbox")[1])
    group_id = int(admin.create(db, settings, "groups", {"name": "Shop", "timezone": "Europe/Paris"})["id"])
    email, password = "pro@example.org", "secret-pro-123"
    admin.create(db, settings, "pros", {"lastname": "P", "email": email, "password": password}, group_id=group_id)
    yield Place(url, db, keys, group_id, email, password)
    db.close()


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * SECOND)


def server(place: Place, limit: int, clock: Clock | None = None, db: Database | None = None) -> Api:
    """An Api as one server process runs it, with OPENRDV_RATE_LIMIT=`limit`."""
    api = Api(Settings(database_url=place.url, rate_limit=limit), db or place.db)
    if clock is not None:
        api.auth.clock = clock
    return api


def call(
    api: Api,
    path: str,
    *,
    key: str | None,
    address: str,
    method: str = "GET",
    params: dict[str, str] | None = None,
    body: bytes = b"",
) -> ApiResponse:
    query = urlencode({**({"apikey": key} if key is not None else {}), **(params or {})})
    headers = {"content-type": "application/json"} if body else {}
    return api.handle(ApiRequest(method, path, query, headers, body, client=address, request_id="t"))


def calendars(api: Api, place: Place, address: str, key: str | None = None) -> ApiResponse:
    """The public catalogue a booking page reads with the API key alone."""
    return call(api, f"groups/{place.group_id}/calendars", key=place.keys[0] if key is None else key, address=address)


def limits(response: ApiResponse) -> tuple[str | None, str | None, str | None]:
    found = {k.lower(): v for k, v in response.headers}
    return found.get("ratelimit-limit"), found.get("ratelimit-remaining"), found.get("ratelimit-reset")


def header(response: ApiResponse, name: str) -> str | None:
    return next((v for k, v in response.headers if k.lower() == name.lower()), None)


def test_a_minute_allowance_at_once_then_429_with_retry_after_until_it_refills(place: Place) -> None:
    clock = Clock()
    api = server(place, 3, clock)  # one request every 20 s, 3 at once
    address = next(_addresses)
    seen = [calendars(api, place, address) for _ in range(3)]
    assert [r.status for r in seen] == [200, 200, 200]
    # Remaining: what may follow at once; Reset: seconds until the whole allowance is back
    assert [limits(r) for r in seen] == [("3", "2", "20"), ("3", "1", "40"), ("3", "0", "60")]

    refused = calendars(api, place, address)
    assert refused.status == 429
    assert header(refused, "Retry-After") == "20"
    assert limits(refused) == ("3", "0", "60")
    error = json.loads(refused.body)["error"]
    assert "3 a minute" in error and "20 seconds" in error, error
    assert place.keys[0] not in error and place.keys[0] not in str(refused.headers)

    clock.advance(19)
    assert calendars(api, place, address).status == 429  # a refusal takes nothing: still 1 s to wait
    clock.advance(1)
    assert limits(calendars(api, place, address)) == ("3", "0", "60")  # one request came back
    assert header(calendars(api, place, address), "Retry-After") == "20"
    clock.advance(60)
    assert [calendars(api, place, address).status for _ in range(4)] == [200, 200, 200, 429]


def test_a_refused_request_does_nothing(place: Place) -> None:
    clock = Clock()
    api = server(place, 1, clock)
    address = next(_addresses)
    assert calendars(api, place, address).status == 200
    account = {"account": {"email": "late@example.org", "password": "secret-late-1", "group_id": place.group_id}}
    made = call(api, "accounts", key=place.keys[0], address=address, method="POST", body=json.dumps(account).encode())
    assert made.status == 429, made.body
    with place.db.connect() as conn:
        assert conn.scalar("SELECT count(*) FROM accounts WHERE email = ?", ("late@example.org",)) == 0


def test_each_key_and_each_address_has_its_own_bucket(place: Place) -> None:
    clock = Clock()
    api = server(place, 2, clock)
    address, elsewhere = next(_addresses), next(_addresses)
    assert [calendars(api, place, address).status for _ in range(3)] == [200, 200, 429]
    assert limits(calendars(api, place, elsewhere)) == ("2", "1", "30")
    assert limits(calendars(api, place, address, key=place.keys[1])) == ("2", "1", "30")


def test_requests_without_a_valid_key_count_for_nothing_and_carry_no_limits(place: Place) -> None:
    clock = Clock()
    api = server(place, 2, clock)
    address = next(_addresses)
    for key in (None, "sbx_not-a-key"):
        for _ in range(3):
            refused = call(api, f"groups/{place.group_id}/calendars", key=key, address=address)
            assert refused.status == 401 and limits(refused) == (None, None, None)
    assert limits(calendars(api, place, address)) == ("2", "1", "30")  # the first of the key's bucket


def test_login_availability_and_streamed_lists_carry_the_limits(place: Place) -> None:
    clock = Clock()
    api = server(place, 10, clock)
    address = next(_addresses)
    login = call(api, "sessions/login.json", key=place.keys[0], address=address, method="POST",
                 params={"pro[email]": place.pro_email, "pro[password]": place.pro_password})
    assert login.status == 200 and limits(login) == ("10", "9", "6")
    slots = call(api, f"groups/{place.group_id}/availabletimeslots", key=place.keys[0], address=address,
                 params={"intervention_ids[]": "999"})
    assert slots.status == 400 and limits(slots) == ("10", "8", "12")  # a refusal of the request counts
    streamed = call(api, f"groups/{place.group_id}/calendars", key=place.keys[0], address=address,
                    params={"results": "all"})
    assert streamed.status == 200 and limits(streamed) == ("10", "7", "18")


def test_zero_turns_the_limits_off(place: Place) -> None:
    api = server(place, 0)
    address = next(_addresses)
    for _ in range(5):
        response = calendars(api, place, address)
        assert response.status == 200 and limits(response) == (None, None, None)
    with place.db.connect() as conn:  # and costs nothing: no bucket is written
        assert conn.scalar("SELECT count(*) FROM rate_limits WHERE bucket LIKE ?", (f"% {address}",)) == 0


def test_servers_of_one_database_count_together(place: Place) -> None:
    clock = Clock()
    other_db = Database(place.url)  # another process: its own connections
    try:
        first, second = server(place, 4, clock), server(place, 4, clock, other_db)
        address = next(_addresses)
        statuses = [calendars(api, place, address).status for api in (first, second, first, second, first, second)]
        assert statuses == [200, 200, 200, 200, 429, 429]
    finally:
        other_db.close()


def test_concurrent_requests_never_pass_beyond_the_allowance(place: Place) -> None:
    """The check and the count are one statement: 8 threads on their own connections, 20 requests
    each at one instant, and exactly the allowance passes."""
    limiter = RateLimiter(30)
    bucket = "concurrent " + next(_addresses)
    passed: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def client() -> None:
        db = Database(place.url, pool_size=1)
        try:
            start.wait()
            for _ in range(20):
                with db.connect() as conn:
                    quota = limiter.take(conn, bucket, START)
                with lock:
                    passed.append(quota.allowed)
        finally:
            db.close()

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(passed) == 160
    assert passed.count(True) == 30
