"""Format selection, JSON/XML bodies, Content-Type and X-Request-Id, end to end."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import httpx
import pytest

from .conftest import JSON_TYPE, RunningServer, Tenant, basic_header, error_of, sha1_hex

XML_TYPE_PREFIX = "application/xml"
ENVELOPE = ("totalRecords", "startIndex", "recordsReturned", "pageSize", "sort", "dir")
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")


@pytest.fixture(scope="module")
def tenant(server: RunningServer) -> Tenant:
    """Read only: a pro in two groups."""
    return server.new_tenant(extra_groups=1)


def fetch(server: RunningServer, tenant: Tenant, path: str, accept: str | None = "*/*",
          **params: str) -> httpx.Response:
    headers = {"Authorization": basic_header(*tenant.auth)}
    if accept is not None:
        headers["Accept"] = accept
    with server.client(headers=headers) as client:
        return client.get(path, params={"apikey": server.apikey, **params})


def kind_of(response: httpx.Response) -> str:
    content_type = response.headers["content-type"]
    if content_type == JSON_TYPE:
        response.json()
        return "json"
    assert content_type.startswith(XML_TYPE_PREFIX), content_type
    ElementTree.fromstring(response.content)
    return "xml"


# -- selection -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "params", "accept", "expected"),
    [
        ("/groups.json", {}, "application/xml", "json"),
        ("/groups.xml", {}, "application/json", "xml"),
        ("/groups/{G}.json", {}, None, "json"),
        ("/groups/{G}.xml", {}, None, "xml"),
        ("/groups/{G}/pros.xml", {}, None, "xml"),
        ("/groups/{G}/pros/{P}.xml", {}, None, "xml"),
        ("/groups/{G}/pros/{P}.json", {}, None, "json"),
        ("/groups", {"format": "xml"}, "application/json", "xml"),
        ("/groups/{G}", {"format": "json"}, "application/xml", "json"),
        ("/groups/{G}/pros", {"format": "xml"}, "*/*", "xml"),
        ("/groups.xml", {"format": "json"}, None, "xml"),  # the suffix comes first
        ("/groups", {}, "application/xml", "xml"),
        ("/groups/{G}", {}, "text/html, application/xml;q=0.9", "xml"),
        ("/groups", {}, "application/json", "json"),
        ("/groups", {}, "*/*", "json"),
        ("/groups", {}, None, "json"),
        ("/groups/", {}, None, "json"),  # a trailing slash is ignored
        ("/groups/{G}/", {"format": "xml"}, None, "xml"),
    ],
)
def test_format_selection(server: RunningServer, tenant: Tenant, path: str, params: dict[str, str],
                          accept: str | None, expected: str) -> None:
    response = fetch(server, tenant, path.format(G=tenant.group_id, P=tenant.pro_id), accept, **params)
    assert response.status_code == 200, response.text
    assert kind_of(response) == expected


def test_no_accept_header_at_all_is_json(server: RunningServer, tenant: Tenant) -> None:
    raw = server.raw("GET", f"/api/v1/groups/{tenant.group_id}?apikey={server.apikey}",
                     {"Authorization": basic_header(*tenant.auth)})
    assert raw.status == 200
    assert raw.header("content-type") == JSON_TYPE
    assert raw.json()["id"] == tenant.group_id


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/groups.csv", {}),
        ("/groups/{G}.csv", {}),
        ("/groups/{G}/pros.yaml", {}),
        ("/groups", {"format": "yaml"}),
        ("/groups/{G}", {"format": "csv"}),
    ],
)
def test_unknown_format_is_406(server: RunningServer, tenant: Tenant, path: str, params: dict[str, str]) -> None:
    response = fetch(server, tenant, path.format(G=tenant.group_id), "*/*", **params)
    error_of(response, 406)


def test_json_collection_envelope(server: RunningServer, tenant: Tenant) -> None:
    response = fetch(server, tenant, "/groups.json")
    assert response.headers["content-type"] == JSON_TYPE
    body = response.json()
    assert set(body) == {"records", *ENVELOPE}
    assert body["totalRecords"] == 2 and body["recordsReturned"] == 2
    assert body["startIndex"] == 0 and body["pageSize"] == 25
    assert body["sort"] is None and body["dir"] is None


def test_json_single_record_is_bare_and_complete(server: RunningServer, tenant: Tenant) -> None:
    group = fetch(server, tenant, f"/groups/{tenant.group_id}.json").json()
    assert group["id"] == tenant.group_id
    assert "records" not in group and "group" not in group
    for name in ("name", "urlname", "phone", "fax", "address", "city", "zipcode", "country", "timezone",
                 "created_at", "updated_at"):
        assert name in group, name
    assert group["phone"] == ""  # empty strings, not null
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", group["created_at"])
    pro = fetch(server, tenant, f"/groups/{tenant.group_id}/pros/{tenant.pro_id}.json").json()
    assert pro["synched_at"] is None  # absent dates are null
    assert pro["cellphone"] == ""
    assert "password" not in pro


# -- XML -------------------------------------------------------------------------------------------------
def test_xml_collection_is_rails_style(server: RunningServer, tenant: Tenant) -> None:
    json_body = fetch(server, tenant, f"/groups/{tenant.group_id}/pros.json").json()
    response = fetch(server, tenant, f"/groups/{tenant.group_id}/pros.xml")
    assert response.headers["content-type"].startswith(XML_TYPE_PREFIX)
    root = ElementTree.fromstring(response.content)
    assert root.tag == "hash"
    records = root.find("records")
    assert records is not None and records.get("type") == "array"
    items = list(records)
    assert [item.tag for item in items] == ["record"] * len(json_body["records"])
    record = items[0]
    expected = json_body["records"][0]
    # record keys dasherised, typed
    tags = [child.tag for child in record]
    assert tags == [key.replace("_", "-") for key in expected]
    assert all("_" not in tag for tag in tags)
    id_element = record.find("id")
    assert id_element is not None and id_element.get("type") == "integer"
    assert int(id_element.text or "") == tenant.pro_id
    group_id = record.find("group-id")
    assert group_id is not None and group_id.get("type") == "integer" and group_id.text == str(tenant.group_id)
    synched = record.find("synched-at")
    assert synched is not None and synched.get("nil") == "true"
    created = record.find("created-at")
    assert created is not None and created.get("type") == "datetime"
    assert ISO_WITH_OFFSET.match(created.text or ""), created.text
    assert (created.text or "").startswith(expected["created_at"].replace(" ", "T"))
    # envelope keys keep their camelCase and are typed
    for key in ENVELOPE:
        element = root.find(key)
        assert element is not None, key
    for key in ("totalRecords", "startIndex", "recordsReturned", "pageSize"):
        element = root.find(key)
        assert element is not None and element.get("type") == "integer"
        assert int(element.text or "") == json_body[key]
    for key in ("sort", "dir"):
        element = root.find(key)
        assert element is not None and element.get("nil") == "true"


def test_xml_single_record(server: RunningServer, tenant: Tenant) -> None:
    json_body = fetch(server, tenant, f"/groups/{tenant.group_id}.json").json()
    root = ElementTree.fromstring(fetch(server, tenant, f"/groups/{tenant.group_id}.xml").content)
    assert root.tag == "group"
    assert [child.tag for child in root] == [key.replace("_", "-") for key in json_body]
    assert (root.findtext("name") or "") == json_body["name"]
    assert root.find("country-code") is not None
    sendmail = root.find("sendmail")
    assert sendmail is not None and sendmail.get("type") == "boolean" and sendmail.text == "true"


def test_xml_sort_and_dir_echo(server: RunningServer, tenant: Tenant) -> None:
    root = ElementTree.fromstring(fetch(server, tenant, "/groups.xml", sort="name", dir="desc").content)
    assert root.findtext("sort") == "name"
    assert (root.findtext("dir") or "").lower() == "desc"


def test_xml_errors_are_xml(server: RunningServer, tenant: Tenant) -> None:
    response = fetch(server, tenant, "/groups/999999999.xml")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(XML_TYPE_PREFIX)
    root = ElementTree.fromstring(response.content)
    assert (root.findtext("error") or "").strip()


def test_xml_login(server: RunningServer, tenant: Tenant) -> None:
    with server.client() as client:
        response = client.post("/sessions/login.xml", params={"apikey": server.apikey, "pro[email]": tenant.email,
                                                               "pro[password]": sha1_hex(tenant.password)})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(XML_TYPE_PREFIX)
    root = ElementTree.fromstring(response.content)
    pro = root.find("pro")
    assert pro is not None
    assert pro.findtext("id") == str(tenant.pro_id)
    assert pro.findtext("group-id") == str(tenant.group_id)
    error = root.find("error")
    assert error is not None and error.get("nil") == "true"


# -- headers on every response ---------------------------------------------------------------------------
def _cases(server: RunningServer, tenant: Tenant) -> dict[str, tuple[str, str, dict[str, str], bytes | None]]:
    key = server.apikey
    auth = {"Authorization": basic_header(*tenant.auth)}
    g = tenant.group_id
    return {
        "200 list": ("GET", f"/api/v1/groups?apikey={key}", auth, None),
        "200 one": ("GET", f"/api/v1/groups/{g}.json?apikey={key}", auth, None),
        "400": ("GET", f"/api/v1/groups?apikey={key}&results=0", auth, None),
        "401": ("GET", f"/api/v1/groups/{g}/pros?apikey={key}", {}, None),
        "401 no key": ("GET", f"/api/v1/groups/{g}/pros", auth, None),
        "404": ("GET", f"/api/v1/groups/999999999?apikey={key}", auth, None),
        "404 route": ("GET", "/api/v1/nothing-here", auth, None),
        "405": ("DELETE", f"/api/v1/groups/{g}?apikey={key}", auth, None),
        "406": ("GET", f"/api/v1/groups.csv?apikey={key}", auth, None),
        "413": ("PUT", f"/api/v1/groups/{g}?apikey={key}", {**auth, "Content-Type": "application/json"},
                b'{"group": {"name": "' + b"x" * (1024 * 1024 + 10) + b'"}}'),
        "415": ("PUT", f"/api/v1/groups/{g}?apikey={key}", {**auth, "Content-Type": "text/plain"}, b"name=x"),
        "login 401": ("POST", f"/api/v1/sessions/login?apikey={key}&pro[email]=nobody%40e2e.example.org"
                      "&pro[password]=nope", {}, None),
        "logout": ("GET", "/api/v1/sessions/logout", {}, None),
    }


CASES = ["200 list", "200 one", "400", "401", "401 no key", "404", "404 route", "405", "406", "413", "415",
         "login 401", "logout"]


@pytest.mark.parametrize("case", CASES)
def test_every_response_has_json_type_and_request_id(server: RunningServer, tenant: Tenant, case: str) -> None:
    method, target, headers, body = _cases(server, tenant)[case]
    response = server.raw(method, target, headers, body)
    expected_status = int(case.split()[0]) if case[0].isdigit() else {"login 401": 401, "logout": 200}[case]
    assert response.status == expected_status, response.body[:300]
    assert response.header("content-type") == JSON_TYPE
    assert response.header("www-authenticate") is None
    request_id = response.header("x-request-id")
    assert request_id and re.fullmatch(r"[A-Za-z0-9._-]{1,64}", request_id)
    parsed = response.json()
    if expected_status >= 400:
        assert isinstance(parsed["error"], str) and parsed["error"]


@pytest.mark.parametrize("case", ["200 one", "401", "404", "405", "413"])
def test_sane_request_id_is_echoed(server: RunningServer, tenant: Tenant, case: str) -> None:
    method, target, headers, body = _cases(server, tenant)[case]
    given = f"e2e-{case.replace(' ', '_')}.Abc_123"
    response = server.raw(method, target, {**headers, "X-Request-Id": given}, body)
    assert response.header("x-request-id") == given


def test_request_ids_differ_and_odd_ones_are_replaced(server: RunningServer, tenant: Tenant) -> None:
    method, target, headers, body = _cases(server, tenant)["200 one"]
    ids = {server.raw(method, target, headers, body).header("x-request-id") for _ in range(3)}
    assert len(ids) == 3
    odd = "bad id <script> with spaces"
    response = server.raw(method, target, {**headers, "X-Request-Id": odd}, body)
    replaced = response.header("x-request-id")
    assert replaced and replaced != odd and " " not in replaced


def test_health_and_openapi_have_request_ids(server: RunningServer) -> None:
    with httpx.Client(timeout=30) as client:
        health = client.get(server.url + "/healthz")
        assert health.status_code == 200 and health.headers.get("x-request-id")
        spec = client.get(server.api + "/openapi.json")
        assert spec.status_code == 200 and spec.headers.get("x-request-id")
        assert spec.headers["content-type"].startswith("application/json")
        assert "paths" in spec.json()
