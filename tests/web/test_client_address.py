"""The client's address (web/app.py): the TCP peer, or, behind a trusted reverse proxy, the address the
proxy forwards; never what an untrusted client claims. The throttle and the access log use it."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from openrdv.auth.apikeys import create_apikey
from openrdv.auth.throttle import Buckets
from openrdv.db.engine import Database
from openrdv.migrations import upgrade
from openrdv.settings import Settings, parse_networks
from openrdv.web.app import ClientAddress, OpenRdvApp

PROXIES = ("10.0.0.0/8", "2001:db8:1::/48", "192.0.2.1")


def headers(*pairs: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.encode(), value.encode()) for name, value in pairs]


XFF = "X-Forwarded-For"


@pytest.mark.parametrize(
    ("peer", "sent", "client"),
    [
        # no trusted peer: the headers are whatever the client wrote, ignored
        ("203.0.113.5", headers((XFF, "198.51.100.7")), "203.0.113.5"),
        ("203.0.113.5", headers(("Forwarded", "for=198.51.100.7")), "203.0.113.5"),
        # a trusted proxy: the right-most address that is not a proxy; what is left of it is forged
        ("10.1.2.3", headers((XFF, "198.51.100.7")), "198.51.100.7"),
        ("10.1.2.3", headers((XFF, "6.6.6.6, 198.51.100.7")), "198.51.100.7"),
        ("10.1.2.3", headers((XFF, "6.6.6.6, 198.51.100.7, 10.9.9.9, 192.0.2.1")), "198.51.100.7"),
        ("10.1.2.3", headers((XFF, "6.6.6.6"), (XFF, "198.51.100.7")), "198.51.100.7"),  # two header lines
        ("10.1.2.3", headers((XFF, " 198.51.100.7:5123 ")), "198.51.100.7"),
        ("10.1.2.3", headers((XFF, "[2001:db8:2::1]:443")), "2001:db8:2::1"),
        ("10.1.2.3", headers((XFF, "2001:DB8:2:0:0:0:0:1")), "2001:db8:2::1"),
        ("10.1.2.3", headers((XFF, "::ffff:198.51.100.7")), "198.51.100.7"),
        ("::ffff:10.1.2.3", headers((XFF, "198.51.100.7")), "198.51.100.7"),
        ("2001:db8:1::9", headers((XFF, "198.51.100.7")), "198.51.100.7"),
        # only proxies: the first of them; a hop a proxy could not name: the proxy itself
        ("10.1.2.3", headers((XFF, "10.7.7.7, 10.8.8.8")), "10.7.7.7"),
        ("10.1.2.3", headers((XFF, "198.51.100.7, unknown")), "10.1.2.3"),
        ("10.1.2.3", headers((XFF, "198.51.100.7, garbage, 10.8.8.8")), "10.8.8.8"),
        ("10.1.2.3", [], "10.1.2.3"),
        # Forwarded (RFC 7239) when there is no X-Forwarded-For
        ("10.1.2.3", headers(("Forwarded", 'for=6.6.6.6, for="198.51.100.7:80";proto=https;by=10.1.2.3')),
         "198.51.100.7"),
        ("10.1.2.3", headers(("Forwarded", 'proto=https;For="[2001:db8:2::1]:4711"')), "2001:db8:2::1"),
        ("10.1.2.3", headers(("Forwarded", "for=_hidden")), "10.1.2.3"),
        ("10.1.2.3", headers(("Forwarded", "for=6.6.6.6"), (XFF, "198.51.100.7")), "198.51.100.7"),
    ],
)
def test_client_address(peer: str, sent: list[tuple[bytes, bytes]], client: str) -> None:
    assert ClientAddress(PROXIES)(peer, sent) == client


def test_no_trusted_proxy_means_the_peer_as_is() -> None:
    assert ClientAddress(())("10.1.2.3", headers((XFF, "198.51.100.7"))) == "10.1.2.3"
    assert ClientAddress(PROXIES)("", headers((XFF, "198.51.100.7"))) == ""  # a Unix socket peer


def test_the_setting_is_read_and_checked() -> None:
    assert parse_networks("OPENRDV_TRUSTED_PROXIES", " 10.0.0.1, 192.168.0.0/16 ,, ::1 ") == (
        "10.0.0.1/32",
        "192.168.0.0/16",
        "::1/128",
    )
    assert parse_networks("OPENRDV_TRUSTED_PROXIES", "") == ()
    with pytest.raises(SystemExit, match=r"OPENRDV_TRUSTED_PROXIES: 'proxy\.local' is not an IP address"):
        parse_networks("OPENRDV_TRUSTED_PROXIES", "10.0.0.1,proxy.local")


# -- through the ASGI application ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    url = "sqlite:///" + str(Path(tmp_path_factory.mktemp("client")) / "client.db")
    upgrade(url)
    db = Database(url)
    with db.connect() as conn:
        _, key = create_apikey(conn, "tests", "sandbox")
    db.close()
    yield url, key


def serve_one(app: OpenRdvApp, peer: str, sent: list[tuple[bytes, bytes]], query: str) -> int:
    """One GET /api/v1/groups.json through the ASGI app; its status."""
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/groups.json",
        "query_string": query.encode(),
        "headers": sent,
        "client": (peer, 50000),
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    asyncio.run(app(scope, receive, send))
    return statuses[0]


def test_the_access_log_and_the_api_see_the_forwarded_client(
    database: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    url, key = database
    app = OpenRdvApp(Settings(database_url=url, trusted_proxies=("10.0.0.0/8",)))
    try:
        forwarded = headers((XFF, "6.6.6.6, 198.51.100.7"))
        basic = [(b"authorization", b"Basic " + base64.b64encode(b"nobody@example.org:wrong-pass"))]
        with caplog.at_level(logging.INFO, logger="openrdv.access"):
            assert serve_one(app, "10.1.2.3", forwarded + basic, urlencode({"apikey": key})) == 401
            assert serve_one(app, "203.0.113.5", forwarded + basic, urlencode({"apikey": key})) == 401
        lines = [r.getMessage() for r in caplog.records if r.name == "openrdv.access"]
        assert lines[0].startswith("198.51.100.7 GET /api/v1/groups.json"), lines
        assert lines[1].startswith("203.0.113.5 GET /api/v1/groups.json"), lines
        assert app.db is not None
        with app.db.connect() as conn:  # the failures were counted against the real client
            buckets = {str(b) for (b,) in conn.all("SELECT bucket FROM login_failures")}
        assert Buckets.of("nobody@example.org", "198.51.100.7").address in buckets
        assert Buckets.of("nobody@example.org", "203.0.113.5").address in buckets
        assert Buckets.of("nobody@example.org", "10.1.2.3").address not in buckets
    finally:
        app.shutdown()
