"""The ASGI application in this process (web/app.py): the headers every response gets, whoever made it
(the API, a page, an error, a stream, a refusal before the body is read, a CORS preflight), the
health check, and the access line."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openrdv import admin
from openrdv.auth.apikeys import create_apikey
from openrdv.db.engine import Database
from openrdv.logs import RedactingFilter
from openrdv.migrations import upgrade
from openrdv.settings import Settings, parse_origins
from openrdv.web.app import OpenRdvApp
from openrdv.web.http import MAX_BODY

ORIGIN = "https://app.example.org"


class AppClient:
    """A synchronous client of the ASGI app in this process (httpx's ASGI transport, one event loop per
    request); the app starts lazily at its first request, as under a server without lifespan."""

    def __init__(self, app: OpenRdvApp) -> None:
        self.app = app

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                return await client.request(method, url, **kw)

        return asyncio.run(send())

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def head(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("HEAD", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def options(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("OPTIONS", url, **kw)


class Site:
    def __init__(self, url: str, key: str, group: int, email: str, password: str) -> None:
        self.url, self.key, self.group, self.email, self.password = url, key, group, email, password

    def client(self, **settings: object) -> AppClient:
        app = OpenRdvApp(Settings(database_url=self.url, login_attempts=1000, **settings))  # type: ignore[arg-type]
        return AppClient(app)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    url = "sqlite:///" + str(Path(tmp_path_factory.mktemp("app")) / "app.db")
    upgrade(url)
    db = Database(url)
    settings = Settings(database_url=url)
    with db.connect() as conn:
        _, key = create_apikey(conn, "tests", "sandbox")
    group = int(admin.create(db, settings, "groups", {"name": "A", "timezone": "Europe/Paris"})["id"])
    fields = {"lastname": "A", "firstname": "Pro", "email": "pro@example.org", "password": "secret-a-123"}
    admin.create(db, settings, "pros", fields, group_id=group)
    for n in range(3):
        admin.create(db, settings, "fiches", {"lastname": f"F{n}"}, group_id=group)
    db.close()
    return Site(url, key, group, "pro@example.org", "secret-a-123")


@pytest.fixture(scope="module")
def client(site: Site) -> Iterator[AppClient]:
    client = site.client()
    yield client
    client.app.shutdown()


def requests_of_every_kind(site: Site, client: AppClient) -> dict[str, httpx.Response]:
    auth = (site.email, site.password)
    key = {"apikey": site.key}
    return {
        "api 200": client.get(f"/api/v1/groups/{site.group}/fiches", params=key, auth=auth),
        "api xml": client.get(f"/api/v1/groups/{site.group}/fiches.xml", params=key, auth=auth),
        "api stream": client.get(f"/api/v1/groups/{site.group}/fiches", params={**key, "results": "all"}, auth=auth),
        "api 401": client.get(f"/api/v1/groups/{site.group}/fiches", params=key),
        "api 404": client.get("/api/v1/nothing", params=key),
        "api 400": client.post("/api/v1/fiches", params=key, content=b"<a>" * 500, auth=auth),
        "api 413": client.post("/api/v1/fiches", params=key, content=b"x" * (MAX_BODY + 1)),
        "api head": client.head(f"/api/v1/groups/{site.group}", params=key, auth=auth),
        "login": client.post(
            "/api/v1/sessions/login.json", params={**key, "pro[email]": site.email, "pro[password]": site.password}
        ),
        "catalogue (apikey alone)": client.get(f"/api/v1/groups/{site.group}/interventions", params=key),
        "openapi": client.get("/api/v1/openapi.json"),
        "health": client.get("/healthz"),
        "landing": client.get("/"),
        "page 404": client.get("/nothing"),
    }


def test_every_response_says_nosniff(site: Site, client: AppClient) -> None:
    for name, response in requests_of_every_kind(site, client).items():
        assert response.headers.get_list("x-content-type-options") == ["nosniff"], name


def test_no_api_response_is_stored_by_a_cache(site: Site, client: AppClient) -> None:
    for name, response in requests_of_every_kind(site, client).items():
        if name.startswith(("api", "login", "catalogue", "openapi", "health")):
            # one Cache-Control, even where the handler set its own (login)
            assert response.headers.get_list("cache-control") == ["no-store"], name


def test_health_tells_nothing_but_ok(client: AppClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_no_cors_header_by_default(site: Site, client: AppClient) -> None:
    origin = {"Origin": ORIGIN}
    for response in (
        client.get(f"/api/v1/groups/{site.group}/interventions", params={"apikey": site.key}, headers=origin),
        client.get("/healthz", headers=origin),
        client.options(
            f"/api/v1/groups/{site.group}/fiches", headers={**origin, "Access-Control-Request-Method": "POST"}
        ),
    ):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")], response.headers
        assert "origin" not in response.headers.get("vary", "").lower()


@pytest.fixture(scope="module")
def cors_client(site: Site) -> Iterator[AppClient]:
    client = site.client(cors_origins=(ORIGIN, "http://localhost:5173"))
    yield client
    client.app.shutdown()


def test_a_preflight_from_a_listed_origin_is_answered_without_credentials(site: Site, cors_client: AppClient) -> None:
    response = cors_client.options(
        f"/api/v1/groups/{site.group}/fiches",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert response.status_code == 204 and response.content == b""
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "x-request-id"} <= allowed
    assert response.headers["vary"] == "Origin"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"]


def test_actual_responses_to_a_listed_origin_carry_it(site: Site, cors_client: AppClient) -> None:
    auth = (site.email, site.password)
    for response in (
        cors_client.get(
            f"/api/v1/groups/{site.group}/fiches", params={"apikey": site.key}, auth=auth, headers={"Origin": ORIGIN}
        ),
        cors_client.get(
            f"/api/v1/groups/{site.group}/fiches", params={"apikey": site.key}, headers={"Origin": ORIGIN}
        ),  # a 401 too: the page must be able to read why
        cors_client.get("/healthz", headers={"Origin": ORIGIN}),
    ):
        assert response.headers.get_list("access-control-allow-origin") == [ORIGIN]
        assert response.headers["vary"] == "Origin"
        assert "access-control-allow-methods" not in response.headers


@pytest.mark.parametrize("origin", ["https://evil.example.org", "https://app.example.org:8443", "null", "*"])
def test_an_origin_not_listed_gets_no_cors_header(site: Site, cors_client: AppClient, origin: str) -> None:
    preflight = cors_client.options(
        f"/api/v1/groups/{site.group}/fiches", headers={"Origin": origin, "Access-Control-Request-Method": "GET"}
    )
    actual = cors_client.get(
        f"/api/v1/groups/{site.group}/interventions", params={"apikey": site.key}, headers={"Origin": origin}
    )
    assert preflight.status_code == 405  # an ordinary OPTIONS request: the browser refuses the call
    assert actual.status_code == 200
    for response in (preflight, actual):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")], response.headers
        assert response.headers["vary"] == "Origin"


def test_cors_origins_setting() -> None:
    assert parse_origins("X", "") == ()
    assert parse_origins("X", " https://App.Example.org , http://localhost:5173,,http://[::1]:8080") == (
        "https://app.example.org",
        "http://localhost:5173",
        "http://[::1]:8080",
    )
    for bad in (
        "*",
        "app.example.org",
        "https://app.example.org/",
        "https://app.example.org/path",
        "ftp://app.example.org",
        "https://user@app.example.org",
        "https://",
        "https://a.org?x=1",
    ):
        with pytest.raises(SystemExit, match="is not an origin"):
            parse_origins("OPENRDV_CORS_ORIGINS", bad)


# -- the access line ---------------------------------------------------------------------------------------
@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    """The access log as configure_logging writes it (its filter, its format)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("openrdv.access")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


@pytest.mark.parametrize(
    "name",
    [
        "pro%5Bp%61ssword%5D",
        "PRO%5BPASSWORD%5D",
        "pro[PassWord]",
        "pro%255Bpassword%255D",
        "pro%5bpassword%5d",
        "%61pikey",
        "account%5Bpassword_confirmation%5D",
        "_session_id",
        "access_token",
        "Authorization",
    ],
)
def test_the_access_line_hides_a_secret_however_its_name_is_encoded(
    site: Site, client: AppClient, access_lines: io.StringIO, name: str
) -> None:
    secret = "Hunter2-access-line-secret"
    target = f"/api/v1/sessions/login.json?apikey={site.key}&pro%5Bemail%5D=nobody%40example.org&{name}={secret}"
    response = client.post(target, headers={"X-Request-Id": "encoded-name"})
    assert response.status_code in (400, 401)
    line = access_lines.getvalue()
    assert "rid=encoded-name" in line
    assert secret not in line and site.key not in line
    assert f"{name}=***" in line


def test_the_access_line_of_a_newline_in_the_path_is_one_line(client: AppClient, access_lines: io.StringIO) -> None:
    forged = "INFO openrdv.access 10.0.0.1 GET /api/v1/forged 200 1.0ms rid=forged"
    response = client.get(
        "/api/v1/groups%0A" + forged.replace(" ", "%20") + "%0D%1B[2J%E2%80%A8", headers={"X-Request-Id": "newline"}
    )
    assert response.status_code == 404
    lines = access_lines.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("INFO openrdv.access ")
    assert "/api/v1/groups\\nINFO%20openrdv.access" in lines[0]
    assert "\\r\\x1b[2J\\u2028" in lines[0] and lines[0].endswith("rid=newline")
