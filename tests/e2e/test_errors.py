"""Every error status of groups, pros and sessions, end to end, and no 500 for garbage input."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import JSON_TYPE, RunningServer, Tenant, basic_header, error_of, unique

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def tenant(server: RunningServer) -> Tenant:
    """Never changed: the tests that use it only read, or make refused requests and check that they
    changed nothing."""
    return server.new_tenant()


@pytest.fixture(scope="module")
def scratch(server: RunningServer) -> Tenant:
    """A tenant the tests of this module may change, each in a way the others do not look at."""
    return server.new_tenant()


@contextmanager
def no_traceback(server: RunningServer) -> Iterator[None]:
    """Fails if the server logged a traceback while the block ran."""
    start = server.log_path.stat().st_size
    yield
    time.sleep(0.2)  # the access line is written after the response
    with open(server.log_path, "rb") as log:
        log.seek(start)
        written = log.read().decode("utf-8", "replace")
    assert "Traceback" not in written, written[-3000:]


def pro_client(server: RunningServer, tenant: Tenant, **kw: Any) -> httpx.Client:
    return server.client(auth=tenant.auth, params={"apikey": server.apikey}, **kw)


def allow_of(response: httpx.Response) -> set[str]:
    allow = response.headers.get("allow")
    assert allow is not None, f"405 without Allow: {response.headers}"
    return {m.strip().upper() for m in allow.split(",") if m.strip()}


# -- 400 -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [b'{"group": {"phone": "01"', b"{'group': 1}", b"[1, 2]", b'"just a string"', b"\xff\xfe{}"],
)
def test_unreadable_json_body_is_400(server: RunningServer, tenant: Tenant, body: bytes) -> None:
    with pro_client(server, tenant) as client:
        response = client.put(f"/groups/{tenant.group_id}", content=body,
                              headers={"Content-Type": "application/json"})
    error_of(response, 400)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"mailreminder": "soon"}, "mailreminder"),
        ({"mailreminder": -5}, "mailreminder"),
        ({"calendarChoice": 7}, "calendarChoice"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"name": ""}, "name"),
        ({"sendmail": "perhaps"}, "sendmail"),
        ({"phone": "0" * 500}, "phone"),
        ({"name": {"nested": "object"}}, "name"),
    ],
)
def test_bad_values_are_400_naming_the_field_and_nothing_is_stored(
    server: RunningServer, tenant: Tenant, fields: dict[str, Any], named: str
) -> None:
    with pro_client(server, tenant) as client:
        before = client.get(f"/groups/{tenant.group_id}").json()
        response = client.put(f"/groups/{tenant.group_id}", json={"group": {"city": "Changed", **fields}})
        message = error_of(response, 400)
        assert named in message, message
        errors = response.json().get("errors")
        assert isinstance(errors, dict) and named in errors, response.json()
        after = client.get(f"/groups/{tenant.group_id}").json()
    assert after == before, "a refused update changes nothing"


def test_bad_value_in_a_form_body_is_400(server: RunningServer, tenant: Tenant) -> None:
    with pro_client(server, tenant) as client:
        response = client.put(f"/groups/{tenant.group_id}", data={"group[mailreminder]": "later"})
    assert "mailreminder" in error_of(response, 400)


def test_bad_xml_body_is_400(server: RunningServer, tenant: Tenant) -> None:
    with pro_client(server, tenant) as client:
        broken = client.put(f"/groups/{tenant.group_id}", content=b"<group><phone>01</group>",
                            headers={"Content-Type": "application/xml"})
        error_of(broken, 400)
        bomb = (b'<?xml version="1.0"?><!DOCTYPE g [<!ENTITY a "aaaaaaaaaa">'
                b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><group><phone>&b;</phone></group>')
        refused = client.put(f"/groups/{tenant.group_id}", content=bomb, headers={"Content-Type": "application/xml"})
        error_of(refused, 400)
        assert client.get(f"/groups/{tenant.group_id}").json()["phone"] == ""


def test_xml_body_is_understood(server: RunningServer, scratch: Tenant) -> None:
    own = scratch
    with pro_client(server, own) as client:
        response = client.put(f"/groups/{own.group_id}.xml",
                              content=b"<group><phone>04 77 00 00 00</phone><country-code>32</country-code></group>",
                              headers={"Content-Type": "application/xml"})
        assert response.status_code == 200, response.text
        stored = client.get(f"/groups/{own.group_id}").json()
    assert stored["phone"] == "04 77 00 00 00" and stored["country_code"] == "32"


# -- 403 -------------------------------------------------------------------------------------------------
def test_put_another_pro_is_403_and_changes_nothing(server: RunningServer, scratch: Tenant) -> None:
    own = scratch
    with pro_client(server, own) as client:
        colleague = client.post(f"/groups/{own.group_id}/pros", json={"pro": {
            "email": f"{unique('colleague')}@e2e.example.org", "password": "colleague-pw", "firstname": "Ann"}})
        assert colleague.status_code == 201, colleague.text
        colleague_id = colleague.json()["id"]
        response = client.put(f"/groups/{own.group_id}/pros/{colleague_id}",
                              json={"pro": {"firstname": "Hacked", "password": "taken-over-1"}})
        error_of(response, 403)
        assert client.get(f"/groups/{own.group_id}/pros/{colleague_id}").json()["firstname"] == "Ann"
        # and the colleague's password still works
        with server.client() as anonymous:
            check = anonymous.get(f"/groups/{own.group_id}/pros", params={"apikey": server.apikey},
                                  auth=(colleague.json()["email"], "colleague-pw"))
        assert check.status_code == 200


def test_pro_updates_its_own_profile(server: RunningServer, scratch: Tenant) -> None:
    own = scratch
    with pro_client(server, own) as client:
        response = client.put(f"/groups/{own.group_id}/pros/{own.pro_id}",
                              json={"pro": {"firstname": "Renamed", "cellphone": "06 00 00 00 00",
                                            "id": 999999, "group_id": own.group_id, "unknown_key": 1}})
        assert response.status_code == 200, response.text
        body = response.json()
    assert body["id"] == own.pro_id and body["firstname"] == "Renamed" and body["cellphone"] == "06 00 00 00 00"


# -- 404 -------------------------------------------------------------------------------------------------
def test_unknown_ids_are_404(server: RunningServer, tenant: Tenant) -> None:
    with pro_client(server, tenant) as client:
        for path in ("/groups/999999999", f"/groups/{tenant.group_id}/pros/999999999", "/groups/abc",
                     f"/groups/{tenant.group_id}/pros/abc", "/groups/12abc.json", "/groups/-1",
                     f"/groups/{tenant.group_id}/nothing", "/nothing", f"/groups/{tenant.group_id}/pros/1/more",
                     "/groups/99999999999999999999999999"):
            error_of(client.get(path), 404)


def test_another_tenants_group_and_pro_are_404_not_403(server: RunningServer, tenant: Tenant) -> None:
    other_group, other_pro = server.group_id, server.pro_id  # the session server's own tenant
    with pro_client(server, tenant) as client:
        error_of(client.get(f"/groups/{other_group}"), 404)
        error_of(client.put(f"/groups/{other_group}", json={"group": {"phone": "0"}}), 404)
        error_of(client.get(f"/groups/{other_group}/pros"), 404)
        error_of(client.get(f"/groups/{other_group}/pros/{other_pro}"), 404)
        error_of(client.put(f"/groups/{other_group}/pros/{other_pro}", json={"pro": {"firstname": "x"}}), 404)
        error_of(client.get(f"/groups/{tenant.group_id}/pros/{other_pro}"), 404)
        error_of(client.put(f"/groups/{tenant.group_id}/pros/{other_pro}", json={"pro": {"firstname": "x"}}), 404)
        error_of(client.post(f"/groups/{other_group}/pros", json={"pro": {
            "email": f"{unique('intruder')}@e2e.example.org", "password": "intruder-pw"}}), 404)
        error_of(client.get(f"/pros/{other_pro}"), 404)
        assert [g["id"] for g in client.get("/groups").json()["records"]] == [tenant.group_id]
    with server.client(auth=(server.pro_email, server.pro_password), params={"apikey": server.apikey}) as owner:
        assert owner.get(f"/groups/{other_group}").json()["phone"] == ""


def test_created_pro_refuses_another_tenants_group_id_in_the_body(server: RunningServer, scratch: Tenant) -> None:
    own = scratch
    email = f"{unique('x')}@e2e.example.org"
    with pro_client(server, own) as client:
        response = client.post("/pros", json={"pro": {"email": email, "password": "some-password",
                                                      "group_id": server.group_id}})
        assert "group_id" in error_of(response, 400)
        listed = client.get("/pros", params={"results": "all"}).json()["records"]
    assert email not in {p["email"] for p in listed}
    with server.client(auth=(server.pro_email, server.pro_password), params={"apikey": server.apikey}) as owner:
        emails = [p["email"] for p in owner.get(f"/groups/{server.group_id}/pros", params={"results": "all"})
                  .json()["records"]]
    assert email not in emails


# -- 405 -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "allowed", "refused"),
    [
        ("POST", "/groups", {"GET"}, "POST"),
        ("PUT", "/groups", {"GET"}, "PUT"),
        ("DELETE", "/groups", {"GET"}, "DELETE"),
        ("DELETE", "/groups/{G}", {"GET", "PUT"}, "DELETE"),
        ("POST", "/groups/{G}", {"GET", "PUT"}, "POST"),
        ("DELETE", "/groups/{G}/pros/{P}", {"GET", "PUT"}, "DELETE"),
        ("PUT", "/groups/{G}/pros", {"GET", "POST"}, "PUT"),
        ("GET", "/sessions/login", {"POST"}, "GET"),
        ("PATCH", "/groups/{G}", {"GET", "PUT"}, "PATCH"),
    ],
)
def test_verbs_not_offered_are_405_with_allow(server: RunningServer, tenant: Tenant, method: str, path: str,
                                              allowed: set[str], refused: str) -> None:
    with pro_client(server, tenant) as client:
        response = client.request(method, path.format(G=tenant.group_id, P=tenant.pro_id), json={})
    error_of(response, 405)
    allow = allow_of(response)
    assert allowed <= allow, allow
    assert refused not in allow


def test_405_does_not_change_anything(server: RunningServer, tenant: Tenant) -> None:
    with pro_client(server, tenant) as client:
        before = client.get("/groups").json()["totalRecords"]
        error_of(client.post("/groups", json={"group": {"name": "Should not exist"}}), 405)
        error_of(client.delete(f"/groups/{tenant.group_id}"), 405)
        assert client.get("/groups").json()["totalRecords"] == before
        assert client.get(f"/groups/{tenant.group_id}").status_code == 200


# -- 406 / 413 / 415 ------------------------------------------------------------------------------------
def test_unknown_format_is_406(server: RunningServer, tenant: Tenant) -> None:
    with pro_client(server, tenant) as client:
        error_of(client.get(f"/groups/{tenant.group_id}.csv"), 406)
        error_of(client.get("/groups", params={"format": "yaml"}), 406)


@pytest.mark.parametrize("declared", [True, False])
def test_body_over_one_mib_is_413(server: RunningServer, tenant: Tenant, declared: bool) -> None:
    body = json.dumps({"group": {"phone": "01", "name": "x" * (MIB + 1)}}).encode()
    if declared:
        with pro_client(server, tenant) as client:
            response = client.put(f"/groups/{tenant.group_id}", content=body,
                                  headers={"Content-Type": "application/json"})
    else:  # streamed in chunks, no Content-Length: the limit holds while reading
        def chunks() -> Any:
            for start in range(0, len(body), 64 * 1024):
                yield body[start:start + 64 * 1024]

        with pro_client(server, tenant) as client:
            response = client.put(f"/groups/{tenant.group_id}", content=chunks(),
                                  headers={"Content-Type": "application/json"})
    error_of(response, 413)
    with pro_client(server, tenant) as client:
        assert client.get(f"/groups/{tenant.group_id}").json()["phone"] == ""


def test_body_just_under_one_mib_is_not_413(server: RunningServer, tenant: Tenant) -> None:
    body = json.dumps({"group": {"name": "x" * (MIB - 1024)}}).encode()
    assert len(body) < MIB
    with pro_client(server, tenant) as client:
        response = client.put(f"/groups/{tenant.group_id}", content=body, headers={"Content-Type": "application/json"})
    assert "name" in error_of(response, 400)  # read, then refused for its length


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", "image/png"])
def test_body_of_unknown_type_is_415(server: RunningServer, tenant: Tenant, content_type: str) -> None:
    with pro_client(server, tenant) as client:
        response = client.put(f"/groups/{tenant.group_id}", content=b"group[phone]=0102",
                              headers={"Content-Type": content_type})
        error_of(response, 415)
        assert client.get(f"/groups/{tenant.group_id}").json()["phone"] == ""


# -- no 500 for garbage ----------------------------------------------------------------------------------
GARBAGE_QUERIES = [
    "conditions=1", "conditions[]=x", "conditions[0]=x", "conditions[0][field][x]=y", "conditions[x][field]=id",
    "conditions[0][field]=id&conditions[0][op]=in&conditions[0][value]=[1,2",
    "conditions[0][field]=id&conditions[0][op]=in&conditions[0][value][]=1&conditions[0][value][]=x",
    "conditions[0][field]=id&conditions[0][op]=%3D&conditions[0][value][a]=1",
    "conditions[0][field]=created_at&conditions[0][op]=%3E&conditions[0][value]=2026-03-29%2002:30:00",
    "conditions[0][field]=created_at&conditions[0][op]=%3E&conditions[0][value]=9999-99-99",
    "conditions[0][field]=id&conditions[0][op]=%3E&conditions[0][value]=1e999",
    "conditions[0][field]=id&conditions[0][op]=%3E&conditions[0][value]=99999999999999999999999",
    "conditions[0][field]=lastname&conditions[0][op]=like&conditions[0][value]=%25%25%25_%5C",
    "a[[[[]]]=1", "a]=1", "%", "%zz", "%ff%fe=%c3%28", "=", "&&&", "a=1&a[]=2&a[b]=3",
    "results=99999999999999999999999", "results=1e400", "results=nan", "results=inf", "results[]=2",
    "startIndex=1e400", "startIndex=99999999999999999999", "startIndex[a]=1", "sort[]=id", "sort[a]=b",
    "dir[]=x", "search[]=x", "search[a][b]=c", "search=%00", "search=%25%5F%5C", "format[]=json",
    "apikey[]=x", "urlname[]=x", "urlname[a]=1", "a[1][2][3][4][5][6][7][8][9][10]=1",
    "&".join(f"p{n}=1" for n in range(3000)), "x=" + "y" * 20000,
]


@pytest.mark.parametrize("value", ["abc\\", "\\", "%\\%", "a\\_b%", "50\\%", "%%%_"])
def test_like_patterns_with_backslashes_are_not_500(server: RunningServer, tenant: Tenant, value: str) -> None:
    with pro_client(server, tenant) as client:
        response = client.get(f"/groups/{tenant.group_id}/pros", params={
            "conditions[0][field]": "lastname", "conditions[0][op]": "like", "conditions[0][value]": value})
    assert response.status_code in (200, 400), (value, response.status_code, response.text)
    if response.status_code == 400:
        assert "conditions[0]" in error_of(response, 400)


def test_garbage_query_strings_never_500(server: RunningServer, tenant: Tenant) -> None:
    with no_traceback(server):
        auth = {"Authorization": basic_header(*tenant.auth)}
        for path in ("/groups", f"/groups/{tenant.group_id}/pros", f"/groups/{tenant.group_id}"):
            for query in GARBAGE_QUERIES:
                response = server.raw("GET", f"/api/v1{path}?apikey={server.apikey}&{query}", auth)
                assert response.status < 500, (path, query[:200], response.status, response.body[:300])


GARBAGE_BODIES: list[tuple[str, bytes]] = [
    ("application/json", b"null"), ("application/json", b"12"), ("application/json", b'{"group": []}'),
    ("application/json", b'{"group": "x"}'), ("application/json", b'{"group": null}'),
    ("application/json", b'{"group": {"mailreminder": 1e308}}'),
    ("application/json", b'{"group": {"mailreminder": 99999999999999999999999999}}'),
    ("application/json", b'{"group": {"mailreminder": [1]}}'), ("application/json", b'{"group": {"open": {}}}'),
    ("application/json", b'{"group": {"timezone": null}}'), ("application/json", b'{"group": {"name": null}}'),
    ("application/json", b'{"group": {"urlname": "../../etc"}}'), ("application/json", b'{"group": {"id": "x"}}'),
    ("application/json", b"[" * 100000), ("application/json", b'{"a": "\\ud800"}'),
    ("application/json", b'{"group": {"name": "\x00"}}'), ("application/json; charset=latin-9", b"{}"),
    ("application/x-www-form-urlencoded", b"group[name]=%zz&group[phone][]=1"),
    ("application/x-www-form-urlencoded", b"group=1&group[name]=x"),
    ("application/x-www-form-urlencoded", b"\xff\xfe"), ("application/x-www-form-urlencoded", b"a[[[=1"),
    ("application/xml", b"<group>"), ("application/xml", b"<group><name nil='true'/></group>"),
    ("application/xml", b"<a:group xmlns:a='x'><a:name>y</a:name></a:group>"),
    ("application/xml", b"<group><name type='array'><x>1</x></name></group>"),
    ("", b"{not json"), ("", b"<not xml"), ("", b"phone=1&&=&"), ("multipart/form-data; boundary=x", b"--x--"),
]


def test_garbage_bodies_never_500(server: RunningServer) -> None:
    with no_traceback(server):
        own = server.new_tenant()  # some of these bodies are valid enough to change it
        auth = {"Authorization": basic_header(*own.auth)}
        targets = [("PUT", f"/api/v1/groups/{own.group_id}"), ("POST", f"/api/v1/groups/{own.group_id}/pros"),
                   ("PUT", f"/api/v1/groups/{own.group_id}/pros/{own.pro_id}"),
                   ("POST", "/api/v1/sessions/login")]
        for method, path in targets:
            for content_type, body in GARBAGE_BODIES:
                headers = {**auth, "Content-Type": content_type} if content_type else dict(auth)
                response = server.raw(method, f"{path}?apikey={server.apikey}", headers, body)
                assert response.status < 500, (method, path, content_type, body[:80], response.status,
                                               response.body[:300])
                if response.status >= 400:
                    assert response.header("content-type") == JSON_TYPE
        # none of it changed the pro's password
        with pro_client(server, own) as client:
            assert client.get(f"/groups/{own.group_id}/pros/{own.pro_id}").status_code == 200


GARBAGE_HEADERS: list[dict[str, str]] = [
    {"Authorization": "Basic !!!"}, {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()}, {"Authorization": "Bearer abc"},
    {"Authorization": "Basic"}, {"Authorization": "Basic " + base64.b64encode(b":").decode()},
    {"Authorization": "Basic " + base64.b64encode(b"a@b.c:" + b"p" * 5000).decode()},
    {"Cookie": "_session_id=" + "a" * 5000}, {"Cookie": "_session_id="}, {"Cookie": "_session_id"},
    {"Cookie": ";;;=;"}, {"Cookie": '_session_id="quoted"'},
    {"Accept": "*/*;q=abc"}, {"Accept": "application/xml;q=0, application/json;q=0"}, {"Accept": ","},
    {"Accept": "text/html"}, {"X-Request-Id": "x" * 5000}, {"X-Http-Method-Override": "DELETE"},
    {"Content-Type": "application/json", "Content-Length": "0"}, {"Accept-Charset": "utf-7"},
]


def test_garbage_headers_never_500(server: RunningServer, tenant: Tenant) -> None:
    with no_traceback(server):
        for headers in GARBAGE_HEADERS:
            for method, path in (("GET", f"/api/v1/groups/{tenant.group_id}/pros?apikey={server.apikey}"),
                                 ("POST", f"/api/v1/groups?apikey={server.apikey}")):
                response = server.raw(method, path, headers)
                assert response.status < 500, (headers, response.status, response.body[:300])


GARBAGE_PATHS = [
    "/api/v1/groups/%00", "/api/v1/groups/..%2f..%2fetc%2fpasswd", "/api/v1/.json", "/api/v1/groups..json",
    "/api/v1/groups/.xml", "/api/v1//groups//", "/api/v1/groups/1.2.3", "/api/v1/groups/%E2%82%AC",
    "/api/v1/sessions/login/extra", "/api/v1/sessions", "/api/v1/openapi.xml", "/api/v1/groups/0",
    "/api/v1/groups/1/pros/0", "/api/v1/groups/" + "9" * 400, "/api/v1/" + "a/" * 200,
]


def test_garbage_paths_never_500(server: RunningServer, tenant: Tenant) -> None:
    with no_traceback(server):
        auth = {"Authorization": basic_header(*tenant.auth)}
        for path in GARBAGE_PATHS:
            for method in ("GET", "PUT", "DELETE"):
                body = b"{}" if method == "PUT" else None
                response = server.raw(method, f"{path}?apikey={server.apikey}", auth, body)
                assert response.status < 500, (method, path, response.status, response.body[:300])


QUERY_ALPHABET = st.sampled_from([*"[]=&%;+ 0123456789abcdefx", "conditions", "results", "startIndex", "sort",
                                  "dir", "search", "field", "op", "value", "%3E", "%3D", "id", "all"])


@settings(max_examples=60, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(QUERY_ALPHABET, max_size=25).map("".join))
def test_random_query_strings_never_500(server: RunningServer, tenant: Tenant, query: str) -> None:
    response = server.raw("GET", f"/api/v1/groups/{tenant.group_id}/pros?apikey={server.apikey}&"
                          + query.replace(" ", "%20"), {"Authorization": basic_header(*tenant.auth)})
    assert response.status < 500, (query, response.status, response.body[:300])
