"""Rate limits end to end: real server processes with a small OPENRDV_RATE_LIMIT, sharing one database
(and so one bucket per API key and client address), the RateLimit-* headers, 429 with Retry-After.

Each test uses an API key of its own: the suite's shared server and key run unlimited in practice
(conftest's OPENRDV_RATE_LIMIT), and no other test touches these buckets."""

from __future__ import annotations

import httpx

from .conftest import RunningServer, StartServer, error_of

LIMITED = {"OPENRDV_RATE_LIMIT": "4"}  # one request every 15 s, 4 at once


def _limits(response: httpx.Response) -> tuple[str | None, str | None, str | None]:
    return (
        response.headers.get("ratelimit-limit"),
        response.headers.get("ratelimit-remaining"),
        response.headers.get("ratelimit-reset"),
    )


def test_two_servers_of_one_database_share_the_limit_and_answer_429_beyond_it(
    server: RunningServer, start_server: StartServer
) -> None:
    key = server.new_apikey()["key"]
    first, second = start_server(LIMITED), start_server(LIMITED)
    path = f"/groups/{server.group_id}/calendars"
    seen = []
    for target in (first, second, first, second):
        with target.client(params={"apikey": key}) as client:
            seen.append(client.get(path))
    assert [r.status_code for r in seen] == [200, 200, 200, 200]
    assert [_limits(r)[:2] for r in seen] == [("4", "3"), ("4", "2"), ("4", "1"), ("4", "0")]
    assert all(50 <= int(r.headers["ratelimit-reset"]) <= 60 for r in seen[3:]), [_limits(r) for r in seen]

    for target in (first, second):
        with target.client(params={"apikey": key}) as client:
            refused = client.get(path)
        message = error_of(refused, 429)
        assert "4 a minute" in message, message
        assert 1 <= int(refused.headers["retry-after"]) <= 15, refused.headers
        assert _limits(refused)[:2] == ("4", "0")
        assert key not in message and key not in str(refused.headers)

    # another client address has a bucket of its own; so has another API key
    with first.client(params={"apikey": key}, transport=httpx.HTTPTransport(local_address="127.0.0.2")) as client:
        assert _limits(client.get(path))[:2] == ("4", "3")
    with first.client(params={"apikey": server.new_apikey()["key"]}) as client:
        assert _limits(client.get(path))[:2] == ("4", "3")
    # a request without a valid key is a 401 and counts against no key
    with first.client() as client:
        missing = client.get(path)
        assert missing.status_code == 401 and _limits(missing) == (None, None, None)
    for target in (first, second):
        assert "Traceback" not in target.log_text()


def test_zero_turns_the_limit_off(server: RunningServer, start_server: StartServer) -> None:
    unlimited = start_server({"OPENRDV_RATE_LIMIT": "0"})
    with unlimited.client(params={"apikey": server.new_apikey()["key"]}) as client:
        for _ in range(6):
            response = client.get(f"/groups/{server.group_id}/calendars")
            assert response.status_code == 200 and _limits(response) == (None, None, None)
