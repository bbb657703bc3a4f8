"""The headers of every response of a real server: nosniff everywhere, no-store on the API, a health
check that tells nothing, and CORS only for the origins the operator lists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from .conftest import RawResponse, RunningServer, StartServer, basic_header, clean_environment

ORIGIN = "https://app.example.org"
OTHER_ORIGIN = "http://localhost:5173"


def every_kind_of_response(server: RunningServer) -> dict[str, RawResponse]:
    key = server.apikey
    auth = {"Authorization": basic_header(server.pro_email, server.pro_password)}
    fiches = f"/api/v1/groups/{server.group_id}/fiches"
    return {
        "api json": server.raw("GET", f"{fiches}?apikey={key}", auth),
        "api xml": server.raw("GET", f"{fiches}.xml?apikey={key}", auth),
        "api stream": server.raw("GET", f"{fiches}?apikey={key}&results=all", auth),
        "api head": server.raw("HEAD", f"/api/v1/groups/{server.group_id}?apikey={key}", auth),
        "api 401": server.raw("GET", f"{fiches}?apikey={key}"),
        "api 404": server.raw("GET", f"/api/v1/nothing?apikey={key}", auth),
        "api 405": server.raw("OPTIONS", f"{fiches}?apikey={key}", auth),
        "api 400 deep xml": server.raw("POST", f"{fiches}?apikey={key}", auth, b"<a>" * 600),
        "api 413": server.raw("POST", f"{fiches}?apikey={key}", auth, b"x" * (1024 * 1024 + 1)),
        "catalogue with the apikey alone": server.raw(
            "GET", f"/api/v1/groups/{server.group_id}/interventions?apikey={key}"
        ),
        "availability with the apikey alone": server.raw(
            "GET", f"/api/v1/groups/{server.group_id}/availabletimeslots?apikey={key}"
        ),
        "login": server.raw(
            "POST",
            f"/api/v1/sessions/login.json?apikey={key}&pro%5Bemail%5D={server.pro_email.replace('@', '%40')}"
            f"&pro%5Bpassword%5D={server.pro_password}",
        ),
        "openapi": server.raw("GET", "/api/v1/openapi.json"),
        "health": server.raw("GET", "/healthz"),
        "landing": server.raw("GET", "/"),
        "page 404": server.raw("GET", "/nothing"),
    }


def header_values(response: RawResponse, name: str) -> list[str]:
    return [value for key, value in response.headers if key.lower() == name.lower()]


def cors_header_names(response: RawResponse) -> list[str]:
    return [key for key, _ in response.headers if key.lower().startswith("access-control-")]


def test_every_response_says_nosniff_and_the_api_is_never_stored(server: RunningServer) -> None:
    responses = every_kind_of_response(server)
    assert responses["api json"].status == 200 and responses["api stream"].status == 200
    assert responses["api 413"].status == 413 and responses["api 400 deep xml"].status == 400
    assert responses["login"].status == 200, responses["login"].body
    for name, response in responses.items():
        assert header_values(response, "x-content-type-options") == ["nosniff"], (name, response.headers)
        if name.startswith(("api", "catalogue", "availability", "login", "openapi", "health")):
            assert header_values(response, "cache-control") == ["no-store"], (name, response.headers)
        assert header_values(response, "x-request-id"), name


def test_health_tells_no_version_and_no_environment(server: RunningServer) -> None:
    response = httpx.get(server.url + "/healthz", timeout=30)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_no_cors_header_unless_configured(server: RunningServer) -> None:
    key = server.apikey
    preflight = server.raw(
        "OPTIONS",
        f"/api/v1/groups/{server.group_id}/fiches",
        {"Origin": ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"},
    )
    actual = server.raw("GET", f"/api/v1/groups/{server.group_id}/interventions?apikey={key}", {"Origin": ORIGIN})
    assert preflight.status == 405 and actual.status == 200
    for response in (preflight, actual):
        assert not cors_header_names(response), response.headers


@pytest.fixture(scope="module")
def cors_env() -> dict[str, str]:
    return {"OPENRDV_CORS_ORIGINS": f" {ORIGIN} ,{OTHER_ORIGIN}"}


def test_cors_for_the_listed_origins_only(start_server: StartServer, cors_env: dict[str, str]) -> None:
    server = start_server(cors_env)
    key = server.apikey
    auth = {"Authorization": basic_header(server.pro_email, server.pro_password)}
    fiches = f"/api/v1/groups/{server.group_id}/fiches"
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,idempotency-key,x-request-id",
    }

    # a preflight from a listed origin: 204, no credentials needed, the origin echoed (never *)
    for origin in (ORIGIN, OTHER_ORIGIN):
        preflight = server.raw("OPTIONS", fiches, {"Origin": origin, **asked})
        assert preflight.status == 204 and preflight.body == b""
        assert preflight.header("access-control-allow-origin") == origin
        assert preflight.header("access-control-allow-credentials") == "true"
        methods = {m.strip() for m in (preflight.header("access-control-allow-methods") or "").split(",")}
        assert {"GET", "POST", "PUT", "DELETE"} <= methods
        allowed = {h.strip().lower() for h in (preflight.header("access-control-allow-headers") or "").split(",")}
        assert {"authorization", "content-type", "idempotency-key", "x-request-id"} <= allowed
        assert preflight.header("vary") == "Origin"
        assert preflight.header("x-content-type-options") == "nosniff"

    # the actual requests, a success, a stream and an error alike
    for target, headers, status in (
        (f"{fiches}?apikey={key}", auth, 200),
        (f"{fiches}?apikey={key}&results=all", auth, 200),
        (f"{fiches}?apikey={key}", {}, 401),
        ("/healthz", {}, 200),
    ):
        response = server.raw("GET", target, {**headers, "Origin": ORIGIN})
        assert response.status == status, (target, response.body)
        assert header_values(response, "access-control-allow-origin") == [ORIGIN]
        assert "x-request-id" in (response.header("access-control-expose-headers") or "").lower()
        assert response.header("vary") == "Origin"

    # an origin not listed: nothing that lets its page read the answer
    for origin in ("https://evil.example.org", "https://app.example.org.evil.example", "http://app.example.org"):
        preflight = server.raw("OPTIONS", fiches, {"Origin": origin, **asked})
        actual = server.raw("GET", f"{fiches}?apikey={key}", {**auth, "Origin": origin})
        assert preflight.status == 405 and actual.status == 200
        for response in (preflight, actual):
            assert not cors_header_names(response), (origin, response.headers)
            assert response.header("vary") == "Origin"


@pytest.mark.parametrize("value", ["*", "https://app.example.org/", "app.example.org", "https://app.example.org/x"])
def test_a_bad_cors_origin_stops_the_server_with_the_reason(value: str, tmp_path: Path) -> None:
    env = {**clean_environment(), "OPENRDV_CORS_ORIGINS": value, "OPENRDV_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    done = subprocess.run(
        [sys.executable, "-m", "openrdv", "serve", "--port", "9"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "OPENRDV_CORS_ORIGINS" in done.stderr and "is not an origin" in done.stderr, done.stderr
