"""Replays of what real ClicRDV clients send (reference Appendix A), written by us from their public
code: migclic (sessions, cookie-only GETs), the official PHP client (Basic, apikey in JSON bodies),
MedShake (format=json, encoded conditions), and the small public scripts (groups by urlname)."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from .conftest import RunningServer, Tenant, basic_header, unique

PUBLIC_GROUP_FIELDS = {"id", "name", "urlname", "timezone"}
PRIVATE_GROUP_FIELDS = {"sendmail", "mailreminder", "country_code", "smsreminder"}


@pytest.fixture(scope="module")
def office(server: RunningServer) -> tuple[Tenant, list[int]]:
    """A tenant in two groups whose main group has 30 pros (more than a default page). Read only."""
    tenant = server.new_tenant(extra_groups=1)
    with server.client(auth=tenant.auth, params={"apikey": server.apikey}) as client:
        for n in range(29):
            created = client.post(f"/groups/{tenant.group_id}/pros", json={"pro": {
                "email": f"{unique('staff')}@e2e.example.org", "password": "staff-password",
                "lastname": f"Staff {n:02d}"}})
            assert created.status_code == 201, created.text
        group_ids = sorted(g["id"] for g in client.get("/groups").json()["records"])
    return tenant, group_ids


@pytest.fixture(scope="module")
def scratch(server: RunningServer) -> Tenant:
    """A tenant the tests of this module may change, each in a way the others do not look at."""
    return server.new_tenant()


# -- migclic (karibou/migclic) ---------------------------------------------------------------------------
class Migclic:
    """The session flow of migclic.py / update_google_calendar.py, as requests would run it."""

    def __init__(self, server: RunningServer) -> None:
        self.base = server.url + "/api/v1"
        self.apikey = server.apikey
        self.http = httpx.Client(timeout=30)  # keeps whatever cookie the login sets, like requests.Session

    def login(self, email: str, password: str) -> dict[str, Any]:
        sha1 = hashlib.sha1(password.encode()).hexdigest()
        response = self.http.post(f"{self.base}/sessions/login.json?apikey={self.apikey}",
                                  data={"apikey": self.apikey, "pro[email]": email, "pro[password]": sha1})
        if response.status_code != 200:  # migclic prints "status reason text" and gives up
            raise AssertionError(f"{response.status_code} {response.reason_phrase} {response.text}")
        return dict(response.json())

    def slurp(self, path: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """`cleanup`/`slurp`: startIndex = records read so far, stop when recordsReturned == 0."""
        records: list[dict[str, Any]] = []
        pages: list[dict[str, Any]] = []
        while True:
            response = self.http.get(f"{self.base}/{path}", params={"startIndex": len(records)})
            response.raise_for_status()
            page = response.json()
            pages.append(page)
            assert page["pageSize"] > 0  # divided by it
            if page["recordsReturned"] == 0:
                return records, pages
            records += page["records"]

    def close(self) -> None:
        self.http.close()


def test_migclic_login_then_cookie_only_paging(server: RunningServer, office: tuple[Tenant, list[int]]) -> None:
    tenant, _ = office
    client = Migclic(server)
    try:
        session = client.login(tenant.email, tenant.password)
        group_id = session["pro"]["group_id"]  # migclic crashes without it
        assert group_id == tenant.group_id
        assert session["error"] is None
        assert "_session_id" in client.http.cookies
        records, pages = client.slurp(f"groups/{group_id}/pros.json")
        assert len(records) == 30 == pages[0]["totalRecords"]
        assert len({r["id"] for r in records}) == 30
        assert [p["startIndex"] for p in pages] == [0, 25, 30]
        assert [p["recordsReturned"] for p in pages] == [25, 5, 0]
        assert all(p["pageSize"] == 25 for p in pages)
        everything = client.http.get(f"{client.base}/groups/{group_id}/pros.json", params={"results": "all"})
        assert everything.status_code == 200
        assert everything.json()["pageSize"] == everything.json()["totalRecords"] == 30
        assert [r["id"] for r in everything.json()["records"]] == [r["id"] for r in records]
    finally:
        client.close()


def test_migclic_json_post_after_login_adds_apikey(server: RunningServer, scratch: Tenant) -> None:
    own = scratch
    client = Migclic(server)
    try:
        group_id = client.login(own.email, own.password)["pro"]["group_id"]
        response = client.http.post(f"{client.base}/groups/{group_id}/pros.json?apikey={client.apikey}",
                                    json={"pro": {"email": f"{unique('new')}@e2e.example.org",
                                                  "password": "another-password", "group_id": str(group_id)}})
        assert response.status_code in (200, 201), response.text
        new_id = response.json()["id"]
        assert isinstance(new_id, int)
        # and a cookie-only GET sees it
        listed = client.http.get(f"{client.base}/groups/{group_id}/pros.json", params={"results": "all"})
        assert new_id in {p["id"] for p in listed.json()["records"]}
    finally:
        client.close()


# -- the official PHP client (clicrdv/clicrdv-php-client) ------------------------------------------------
def php_headers(tenant: Tenant) -> dict[str, str]:
    return {"Authorization": basic_header(tenant.email, tenant.password), "Accept": "application/json",
            "Content-Type": "application/json"}


def test_php_client_get_and_put_with_apikey_in_body(server: RunningServer, scratch: Tenant) -> None:
    own = scratch
    with httpx.Client(timeout=30, headers=php_headers(own)) as http:
        got = http.get(f"{server.url}/api/v1/groups/{own.group_id}?apikey={server.apikey}&format=json")
        assert got.status_code == 200, got.text
        group = got.json()
        assert group["id"] == own.group_id  # the PHP client prints the bare object
        put = http.put(f"{server.url}/api/v1/groups/{own.group_id}?format=json",
                       json={"apikey": server.apikey, "group": {"phone": "01 83 62 04 04", "unknown_extra": "x"}})
        assert put.status_code == 200, put.text
        assert put.json()["id"] == own.group_id  # reused as $r->id
        assert put.json()["phone"] == "01 83 62 04 04"
        again = http.get(f"{server.url}/api/v1/groups/{own.group_id}?apikey={server.apikey}&format=json")
        assert again.json()["phone"] == "01 83 62 04 04"
        assert "unknown_extra" not in again.json()


def test_php_client_raw_operator_in_conditions(server: RunningServer, office: tuple[Tenant, list[int]]) -> None:
    tenant, _ = office
    target = (f"/api/v1/groups/{tenant.group_id}/pros?apikey={server.apikey}&format=json&results=all"
              f"&conditions[0][field]=id&conditions[0][op]=>&conditions[0][value]={tenant.pro_id}")
    raw = server.raw("GET", target, {"Authorization": basic_header(*tenant.auth), "Accept": "application/json"})
    assert raw.status == 200, raw.body[:300]
    assert raw.json()["totalRecords"] == 29


# -- MedShake (MedShakeEHR-base class/msClicRDV.php) ----------------------------------------------------
def medshake_get(server: RunningServer, tenant: Tenant, path_and_query: str) -> Any:
    raw = server.raw("GET", f"/api/v1/{path_and_query}", {"Authorization": basic_header(*tenant.auth),
                                                          "Accept": "*/*"})
    assert raw.status == 200, raw.body[:300]
    assert raw.header("content-type") == "application/json; charset=utf-8"
    return raw.json()


def test_medshake_lists_the_users_groups(server: RunningServer, office: tuple[Tenant, list[int]]) -> None:
    tenant, group_ids = office
    body = medshake_get(server, tenant, f"groups?apikey={server.apikey}&format=json")
    assert sorted(g["id"] for g in body["records"]) == group_ids


def test_medshake_encoded_conditions_and_single_record(server: RunningServer,
                                                       office: tuple[Tenant, list[int]]) -> None:
    tenant, _ = office
    query = (f"groups/{tenant.group_id}/pros?apikey={server.apikey}&format=json&results=all"
             "&conditions[0][field]=updated_at&conditions[0][op]=%3E%3D&conditions[0][value]=2010-02-01%2000:00:00"
             f"&conditions[1][field]=id&conditions[1][op]=%21%3D&conditions[1][value]={tenant.pro_id}")
    body = medshake_get(server, tenant, query)
    assert body["totalRecords"] == 29 and len(body["records"]) == 29
    assert tenant.pro_id not in {r["id"] for r in body["records"]}
    future = (f"groups/{tenant.group_id}/pros?apikey={server.apikey}&format=json"
              "&conditions[0][field]=updated_at&conditions[0][op]=%3E%3D&conditions[0][value]=2099-01-01%2000:00:00")
    assert medshake_get(server, tenant, future)["records"] == []
    one = medshake_get(server, tenant, f"groups/{tenant.group_id}/pros/{tenant.pro_id}?apikey={server.apikey}"
                                       "&format=json")
    assert one["id"] == tenant.pro_id  # checked on the top-level object, not records[0]


# -- public scripts: a group by its urlname --------------------------------------------------------------
def test_group_by_urlname_without_a_user_shows_public_fields(server: RunningServer,
                                                              office: tuple[Tenant, list[int]]) -> None:
    tenant, _ = office
    with server.client(auth=tenant.auth, params={"apikey": server.apikey}) as pro:
        full = pro.get(f"/groups/{tenant.group_id}").json()
    assert set(full) >= PRIVATE_GROUP_FIELDS
    with httpx.Client(timeout=30) as http:
        response = http.get(f"{server.api}/groups", params={"urlname": full["urlname"], "apikey": server.apikey})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totalRecords"] == 1 and len(body["records"]) == 1
    group = body["records"][0]
    assert group["id"] == tenant.group_id and group["name"] == full["name"]
    assert set(group) >= PUBLIC_GROUP_FIELDS
    assert not PRIVATE_GROUP_FIELDS & set(group), sorted(PRIVATE_GROUP_FIELDS & set(group))
    assert set(group) < set(full)


def test_group_by_urlname_still_needs_a_valid_apikey(server: RunningServer,
                                                     office: tuple[Tenant, list[int]]) -> None:
    tenant, _ = office
    with httpx.Client(timeout=30) as http:
        slug = http.get(f"{server.api}/groups/{tenant.group_id}", params={"apikey": server.apikey},
                        auth=tenant.auth).json()["urlname"]
        missing = http.get(f"{server.api}/groups", params={"urlname": slug})
        wrong = http.get(f"{server.api}/groups", params={"urlname": slug, "apikey": "san_wrong"})
    assert missing.status_code == 401 and wrong.status_code == 401
