"""Reading request bodies (web/http.py): whatever a client sends, a body is fields or a 400 naming
`body`, never a 500; and the headers every response is given."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from openrdv.db.engine import Database
from openrdv.errors import ValidationFailed
from openrdv.migrations import upgrade
from openrdv.settings import Settings
from openrdv.web.api import Api
from openrdv.web.http import (
    MAX_BODY_DEPTH,
    ApiRequest,
    cors_headers,
    is_preflight,
    parse_body,
    with_headers,
)

FORM = "application/x-www-form-urlencoded"


def deep_json(depth: int, kind: str = "object") -> bytes:
    if kind == "object":
        return b'{"a":' * depth + b"1" + b"}" * depth
    return b'{"a":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


def deep_xml(depth: int) -> bytes:
    return b"<a>" * depth + b"x" + b"</a>" * depth


def request(body: bytes, content_type: str | None = None, *, method: str = "POST", path: str = "fiches") -> ApiRequest:
    headers = {"content-type": content_type} if content_type else {}
    return ApiRequest(method, path, "", headers, body, client="127.0.0.1", request_id="t")


def body_error(body: bytes, content_type: str | None) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_body(request(body, content_type))
    assert caught.value.status == 400
    assert set(caught.value.errors or {}) == {"body"}, caught.value.errors
    return (caught.value.errors or {})["body"]


# -- nesting --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["object", "array"])
def test_json_of_32_levels_is_read(kind: str) -> None:
    assert parse_body(request(deep_json(MAX_BODY_DEPTH, kind), "application/json"))["a"]


@pytest.mark.parametrize("kind", ["object", "array"])
@pytest.mark.parametrize("depth", [33, 500, 1000, 1024, 1025, 100_000])
def test_deeper_json_is_a_400_naming_the_body(kind: str, depth: int) -> None:
    """Below orjson's own limit (1,024) a deep body was read and handed on; beyond it the refusal
    quoted orjson's words. Either way it is one sentence naming the limit."""
    assert body_error(deep_json(depth, kind), "application/json") == ["is nested deeper than 32 levels"]


@pytest.mark.parametrize("content_type", ["application/xml", "text/xml", "application/vnd.x+xml", None])
@pytest.mark.parametrize("depth", [33, 500, 100_000])
def test_deeper_xml_is_a_400_naming_the_body(content_type: str | None, depth: int) -> None:
    assert body_error(deep_xml(depth), content_type) == ["is nested deeper than 32 levels"]


def test_xml_of_32_levels_is_read() -> None:
    assert parse_body(request(deep_xml(32), "application/xml"))["a"]


@pytest.mark.parametrize("depth", [9, 500, 10_000])
def test_deeply_bracketed_form_is_a_400_naming_the_body(depth: int) -> None:
    (message,) = body_error(b"fiche" + b"[a]" * depth + b"=1", FORM)
    assert "nested deeper than 8 levels" in message


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (b'{"a": ', "application/json", "is not valid JSON"),
        (b"[1, 2]", "application/json", "must be a JSON object"),
        (b"<a><b></a>", "application/xml", "is not well-formed XML"),
        (b"a=%FF", FORM, "is not valid UTF-8"),
        (b"\xff\xfe=1", FORM, "is not valid UTF-8"),
    ],
)
def test_unreadable_bodies_name_the_body(body: bytes, content_type: str, words: str) -> None:
    (message,) = body_error(body, content_type)
    assert words in message


# -- through Api.handle: a 400 before authentication, and nothing in the log ------------------------------
@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    url = "sqlite:///" + str(Path(tmp_path_factory.mktemp("bodies")) / "bodies.db")
    upgrade(url)
    db = Database(url)
    yield Api(Settings(database_url=url), db)
    db.close()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (deep_xml(500), "application/xml"),
        (deep_xml(500), None),
        (b"<fiche>" + deep_xml(2000) + b"</fiche>", "text/xml"),
        (deep_json(500), "application/json"),
        (b'{"fiche": ' + deep_json(1020) + b"}", "application/json"),
        (b'{"_method": ' + deep_json(900, "array") + b"}", None),
        (b"fiche" + b"[a]" * 2000 + b"=1", FORM),
    ],
)
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_a_deep_body_is_a_400_before_authentication_without_a_log_line(
    api: Api, body: bytes, content_type: str | None, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = "fiches" if method == "POST" else "fiches/1"
    response = api.handle(request(body, content_type, method=method, path=path))
    assert response.status == 400, response.body[:300]
    answer = json.loads(response.body)
    assert list(answer["errors"]) == ["body"]
    assert "nested deeper than" in answer["errors"]["body"][0]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info], caplog.text[:500]


# -- headers ---------------------------------------------------------------------------------------------
ORIGINS = ("https://app.example.org", "http://localhost:5173")


def test_no_cors_headers_unless_origins_are_configured() -> None:
    headers = {"origin": "https://app.example.org", "access-control-request-method": "POST"}
    assert cors_headers(headers, (), preflight=True) == []
    assert cors_headers(headers, (), preflight=False) == []
    assert not is_preflight("OPTIONS", headers, ())


def test_a_listed_origin_is_echoed_never_a_star() -> None:
    got = dict(cors_headers({"origin": "https://app.example.org"}, ORIGINS, preflight=False))
    assert got[b"access-control-allow-origin"] == b"https://app.example.org"
    assert got[b"access-control-allow-credentials"] == b"true"
    assert got[b"vary"] == b"Origin"
    assert b"X-Request-Id" in got[b"access-control-expose-headers"]
    assert b"access-control-allow-methods" not in got  # only a preflight needs them


def test_a_preflight_from_a_listed_origin() -> None:
    headers = {"origin": "http://localhost:5173", "access-control-request-method": "PUT"}
    assert is_preflight("OPTIONS", headers, ORIGINS)
    assert not is_preflight("GET", headers, ORIGINS)
    assert not is_preflight("OPTIONS", {"origin": "http://localhost:5173"}, ORIGINS)  # a plain OPTIONS
    got = dict(cors_headers(headers, ORIGINS, preflight=True))
    assert got[b"access-control-allow-origin"] == b"http://localhost:5173"
    assert set(got[b"access-control-allow-methods"].split(b", ")) >= {b"GET", b"POST", b"PUT", b"DELETE"}
    allowed = {h.strip().lower() for h in got[b"access-control-allow-headers"].split(b",")}
    assert allowed >= {b"authorization", b"content-type", b"idempotency-key", b"x-request-id"}


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example.org", "https://app.example.org.evil.example", "http://app.example.org", "null", "*", ""],
)
def test_an_origin_not_listed_gets_no_cors_header(origin: str) -> None:
    headers = {"origin": origin, "access-control-request-method": "POST"}
    assert not is_preflight("OPTIONS", headers, ORIGINS)
    for preflight in (True, False):
        got = cors_headers(headers, ORIGINS, preflight=preflight)
        assert got == [(b"vary", b"Origin")]


def test_with_headers_replaces_and_merges_vary() -> None:
    given = [(b"Cache-Control", b"max-age=60"), (b"vary", b"Accept"), (b"set-cookie", b"a=1")]
    got = with_headers(given, [(b"cache-control", b"no-store"), (b"vary", b"Origin"), (b"x-request-id", b"r")])
    assert got == [
        (b"set-cookie", b"a=1"),
        (b"cache-control", b"no-store"),
        (b"vary", b"Accept, Origin"),
        (b"x-request-id", b"r"),
    ]
    assert with_headers([(b"vary", b"origin")], [(b"vary", b"Origin")]) == [(b"vary", b"origin")]
