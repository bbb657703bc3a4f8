"""Collection parameters on groups and pros, end to end: results, startIndex, sort/dir, search,
conditions, urlname, and the 400s that name the parameter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from .conftest import RunningServer, Tenant, basic_header, error_of, unique

ENVELOPE = {"records", "totalRecords", "startIndex", "recordsReturned", "pageSize", "sort", "dir"}
PEOPLE = [  # firstname, lastname
    ("Émile", "Zola"),
    ("emile", "Durand"),
    ("Zoé", "Dupont"),
    ("Chloé", "Martin"),
    ("Jean", "Martin"),
    ("Ana", "Martin"),
]


@dataclass
class World:
    tenant: Tenant
    group_ids: list[int]  # main group first, then the two others
    pros: dict[str, dict[str, Any]]  # by "Firstname Lastname", created through the API
    urlnames: dict[int, str]

    @property
    def all_pro_ids(self) -> list[int]:
        return sorted([self.tenant.pro_id, *(p["id"] for p in self.pros.values())])


@pytest.fixture(scope="module")
def world(server: RunningServer) -> World:
    """A pro in three groups; five more pros created with POST /groups/G/pros in the main group; the
    second group has a city and zipcode. The tests only read it."""
    tenant = server.new_tenant(extra_groups=2)
    pros: dict[str, dict[str, Any]] = {}
    with server.client(auth=tenant.auth, params={"apikey": server.apikey}) as client:
        groups = client.get("/groups").json()["records"]
        ids = sorted(g["id"] for g in groups)
        assert len(ids) == 3 and ids[0] == tenant.group_id
        for firstname, lastname in PEOPLE:
            created = client.post(f"/groups/{tenant.group_id}/pros", json={"pro": {
                "firstname": firstname, "lastname": lastname,
                "email": f"{unique(lastname.lower())}@e2e.example.org", "password": "secret-pw-1"}})
            assert created.status_code == 201, created.text
            record = created.json()
            assert record["group_id"] == tenant.group_id and record["group_ids"] == [tenant.group_id]
            pros[f"{firstname} {lastname}"] = record
        updated = client.put(f"/groups/{ids[1]}", json={"group": {"city": "Saint-Étienne", "zipcode": "42000"}})
        assert updated.status_code == 200, updated.text
        urlnames = {g["id"]: g["urlname"] for g in client.get("/groups").json()["records"]}
    return World(tenant, ids, pros, urlnames)


def get(server: RunningServer, world: World, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
    with server.client(auth=world.tenant.auth) as client:
        return client.get(path, params={"apikey": server.apikey, **(params or {})})


def pros_path(world: World) -> str:
    return f"/groups/{world.tenant.group_id}/pros"


def ids(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == ENVELOPE
    assert body["recordsReturned"] == len(body["records"])
    return [r["id"] for r in body["records"]]


def raw_get(server: RunningServer, world: World, path: str, query: str) -> httpx.Response:
    """GET with the query string sent exactly as written (for encodings httpx would change)."""
    target = f"/api/v1{path}?apikey={server.apikey}&{query}"
    raw = server.raw("GET", target, {"Authorization": basic_header(*world.tenant.auth), "Accept": "*/*"})
    return httpx.Response(raw.status, headers=raw.headers, content=raw.body)


def conditions(*triples: tuple[str, str, str], start: int = 0) -> dict[str, str]:
    params: dict[str, str] = {}
    for n, (name, op, value) in enumerate(triples, start):
        params[f"conditions[{n}][field]"] = name
        params[f"conditions[{n}][op]"] = op
        params[f"conditions[{n}][value]"] = value
    return params


# -- groups ----------------------------------------------------------------------------------------------
def test_groups_lists_the_pros_groups(server: RunningServer, world: World) -> None:
    response = get(server, world, "/groups")
    assert ids(response) == world.group_ids
    body = response.json()
    assert body["totalRecords"] == 3
    assert body["startIndex"] == 0 and body["pageSize"] == 25
    assert body["sort"] is None and body["dir"] is None


def test_groups_paging(server: RunningServer, world: World) -> None:
    first = get(server, world, "/groups", {"results": 2})
    assert ids(first) == world.group_ids[:2]
    assert first.json()["pageSize"] == 2 and first.json()["totalRecords"] == 3
    second = get(server, world, "/groups", {"results": 2, "startIndex": 2})
    assert ids(second) == world.group_ids[2:]
    assert second.json()["startIndex"] == 2 and second.json()["totalRecords"] == 3


def test_groups_urlname_filter(server: RunningServer, world: World) -> None:
    second = world.group_ids[1]
    response = get(server, world, "/groups", {"urlname": world.urlnames[second]})
    assert ids(response) == [second]
    assert response.json()["totalRecords"] == 1
    # the urlname of a group that is not the pro's shows nothing
    others = get(server, world, "/groups", {"urlname": "no-such-" + unique("slug")})
    assert ids(others) == []


def test_groups_search_city_and_zipcode(server: RunningServer, world: World) -> None:
    assert ids(get(server, world, "/groups", {"search": "ETIENNE"})) == [world.group_ids[1]]
    assert ids(get(server, world, "/groups", {"search": "saint-étienne"})) == [world.group_ids[1]]
    assert ids(get(server, world, "/groups", {"search": "42000"})) == [world.group_ids[1]]
    assert ids(get(server, world, "/groups", {"search": "e2e extra"})) == world.group_ids[1:]


def test_groups_sort_and_conditions(server: RunningServer, world: World) -> None:
    assert ids(get(server, world, "/groups", {"sort": "id", "dir": "DESC"})) == world.group_ids[::-1]
    found = get(server, world, "/groups", conditions(("timezone", "=", "Europe/Paris"), ("id", "!=",
                                                                                          str(world.group_ids[0]))))
    assert ids(found) == world.group_ids[1:]
    by_city = get(server, world, "/groups", conditions(("city", "like", "saint%")))
    assert ids(by_city) == [world.group_ids[1]]


# -- results / startIndex ------------------------------------------------------------------------------
def test_default_page_and_all_ids(server: RunningServer, world: World) -> None:
    response = get(server, world, pros_path(world))
    assert ids(response) == world.all_pro_ids
    assert response.json()["totalRecords"] == 7
    assert response.json()["pageSize"] == 25


def test_results_all_streams_with_page_size_total(server: RunningServer, world: World) -> None:
    response = get(server, world, pros_path(world), {"results": "all"})
    assert ids(response) == world.all_pro_ids
    body = response.json()
    assert body["pageSize"] == body["totalRecords"] == 7
    assert response.headers.get("transfer-encoding") == "chunked", "results=all is streamed"
    assert "content-length" not in response.headers


def test_results_all_with_nothing_found_has_page_size_one(server: RunningServer, world: World) -> None:
    response = get(server, world, pros_path(world), {"results": "all", "search": "nobody-matches-this"})
    assert ids(response) == []
    body = response.json()
    assert body["totalRecords"] == 0
    assert body["pageSize"] >= 1


def test_results_all_with_start_index(server: RunningServer, world: World) -> None:
    response = get(server, world, pros_path(world), {"results": "all", "startIndex": 5})
    assert ids(response) == world.all_pro_ids[5:]
    assert response.json()["totalRecords"] == 7 and response.json()["startIndex"] == 5


def test_paging_by_record_offset_is_stable(server: RunningServer, world: World) -> None:
    seen: list[int] = []
    start = 0
    while True:
        page = get(server, world, pros_path(world), {"results": 3, "startIndex": start, "sort": "lastname"})
        got = ids(page)
        assert page.json()["totalRecords"] == 7
        if not got:
            break
        seen += got
        start += len(got)
    assert len(seen) == 7 and sorted(seen) == world.all_pro_ids


def test_start_index_past_the_end(server: RunningServer, world: World) -> None:
    response = get(server, world, pros_path(world), {"startIndex": 100, "results": 10})
    assert ids(response) == []
    body = response.json()
    assert body["totalRecords"] == 7 and body["startIndex"] == 100 and body["recordsReturned"] == 0


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"results": "0"}, "results"),
        ({"results": "-3"}, "results"),
        ({"results": "ten"}, "results"),
        ({"results": "2.5"}, "results"),
        ({"startIndex": "-1"}, "startIndex"),
        ({"startIndex": "first"}, "startIndex"),
        ({"sort": "nope"}, "sort"),
        ({"sort": "password"}, "sort"),  # write-only: not a field the caller may read
        ({"sort": "lastname", "dir": "sideways"}, "dir"),
        ({"search": "x" * 201}, "search"),
    ],
)
def test_bad_collection_parameters_are_400_naming_them(server: RunningServer, world: World,
                                                        params: dict[str, str], named: str) -> None:
    response = get(server, world, pros_path(world), params)
    message = error_of(response, 400)
    assert named in message, message
    errors = response.json().get("errors")
    assert errors is None or named in errors, errors


# -- sort / dir ------------------------------------------------------------------------------------------
def expected_by_lastname(world: World, descending: bool) -> list[int]:
    rows = [(p["lastname"], p["id"]) for p in world.pros.values()]
    # ties (the three Martins) stay in id order whatever the direction
    rows.sort(key=lambda r: r[1])
    rows.sort(key=lambda r: r[0], reverse=descending)
    return [r[1] for r in rows]


@pytest.mark.parametrize(("direction", "descending"), [
    (None, False), ("asc", False), ("ASC", False), ("desc", True), ("DeSc", True)])
def test_sort_by_lastname(server: RunningServer, world: World, direction: str | None, descending: bool) -> None:
    params = {"sort": "lastname", **conditions(("id", "!=", str(world.tenant.pro_id)))}
    if direction is not None:
        params["dir"] = direction
    response = get(server, world, pros_path(world), params)
    assert ids(response) == expected_by_lastname(world, descending)
    assert response.json()["sort"] == "lastname"
    if direction is None:
        assert response.json()["dir"] in (None, "asc")
    else:
        assert response.json()["dir"].lower() == direction.lower()


def test_sort_by_id_desc_and_dir_without_sort(server: RunningServer, world: World) -> None:
    assert ids(get(server, world, pros_path(world), {"sort": "id", "dir": "desc"})) == world.all_pro_ids[::-1]
    assert ids(get(server, world, pros_path(world), {"dir": "desc"})) == world.all_pro_ids


def test_sort_by_datetime(server: RunningServer, world: World) -> None:
    response = get(server, world, pros_path(world), {"sort": "created_at", "dir": "asc"})
    records = response.json()["records"]
    keys = [(r["created_at"], r["id"]) for r in records]
    assert keys == sorted(keys)


# -- search ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("EMILE", ["Émile Zola", "emile Durand"]),
        ("émile", ["Émile Zola", "emile Durand"]),
        ("zola emile", ["Émile Zola"]),
        ("EMILE   zola", ["Émile Zola"]),
        ("zoe", ["Zoé Dupont"]),
        ("ZOÉ", ["Zoé Dupont"]),
        ("chloe martin", ["Chloé Martin"]),
        ("martin", ["Chloé Martin", "Jean Martin", "Ana Martin"]),
        ("mart", ["Chloé Martin", "Jean Martin", "Ana Martin"]),
        ("martin zola", []),
        ("@e2e.example", None),  # e-mail is searched too: every pro
        ("nothing-like-this", []),
    ],
)
def test_search(server: RunningServer, world: World, term: str, expected: list[str] | None) -> None:
    got = ids(get(server, world, pros_path(world), {"search": term}))
    if expected is None:
        assert got == world.all_pro_ids
    else:
        assert got == sorted(world.pros[name]["id"] for name in expected)


def test_search_on_an_email_substring(server: RunningServer, world: World) -> None:
    zola = world.pros["Émile Zola"]
    local_part = zola["email"].split("@")[0]
    assert ids(get(server, world, pros_path(world), {"search": local_part.upper()})) == [zola["id"]]


def test_search_combines_with_conditions(server: RunningServer, world: World) -> None:
    jean = world.pros["Jean Martin"]["id"]
    params = {"search": "martin", **conditions(("firstname", "=", "Jean"))}
    assert ids(get(server, world, pros_path(world), params)) == [jean]


# -- conditions ------------------------------------------------------------------------------------------
def test_conditions_operators(server: RunningServer, world: World) -> None:
    p = world.pros
    martins = sorted(p[n]["id"] for n in ("Chloé Martin", "Jean Martin", "Ana Martin"))
    not_martins = sorted(set(world.all_pro_ids) - set(martins))
    zola, durand = p["Émile Zola"]["id"], p["emile Durand"]["id"]
    path = pros_path(world)
    cases: list[tuple[tuple[str, str, str], list[int]]] = [
        (("lastname", "=", "Martin"), martins),
        (("lastname", "!=", "Martin"), not_martins),
        (("lastname", "<>", "Martin"), not_martins),
        (("lastname", "like", "mar%"), martins),
        (("lastname", "LIKE", "MAR%"), martins),
        (("lastname", "not like", "%ar%"), not_martins),
        (("lastname", "NOT LIKE", "_artin"), not_martins),
        (("id", "in", f"{zola},{durand}"), sorted([zola, durand])),
        (("id", "IN", f"[{zola}, {durand}]"), sorted([zola, durand])),
        (("id", "not in", ",".join(map(str, martins))), not_martins),
        (("id", ">", str(zola)), [i for i in world.all_pro_ids if i > zola]),
        (("id", ">=", str(zola)), [i for i in world.all_pro_ids if i >= zola]),
        (("id", "<", str(durand)), [i for i in world.all_pro_ids if i < durand]),
        (("id", "<=", str(durand)), [i for i in world.all_pro_ids if i <= durand]),
        (("created_at", ">=", "2010-02-01 00:00:00"), world.all_pro_ids),
        (("created_at", "<", "2010-02-01"), []),
        (("synched_at", "=", "null"), world.all_pro_ids),
        (("synched_at", "!=", "null"), []),
        (("group_id", "=", str(world.tenant.group_id)), world.all_pro_ids),
    ]
    for triple, expected in cases:
        assert ids(get(server, world, path, conditions(triple))) == expected, triple


def test_several_conditions_are_anded_whatever_their_indices(server: RunningServer, world: World) -> None:
    p = world.pros
    params = {
        "conditions[7][field]": "lastname", "conditions[7][op]": "=", "conditions[7][value]": "Martin",
        "conditions[2][field]": "id", "conditions[2][op]": "!=", "conditions[2][value]": str(p["Jean Martin"]["id"]),
        "conditions[12][field]": "firstname", "conditions[12][op]": "like", "conditions[12][value]": "%a%",
    }
    expected = [p["Ana Martin"]["id"]]  # Jean is excluded by id, "Chloé" has no "a"
    assert ids(get(server, world, pros_path(world), params)) == expected


def test_condition_operators_percent_encoded(server: RunningServer, world: World) -> None:
    zola = world.pros["Émile Zola"]["id"]
    query = f"conditions[0][field]=id&conditions[0][op]=%3E%3D&conditions[0][value]={zola}"
    expected = [i for i in world.all_pro_ids if i >= zola]
    assert ids(raw_get(server, world, pros_path(world), query)) == expected
    encoded_brackets = (f"conditions%5B0%5D%5Bfield%5D=id&conditions%5B0%5D%5Bop%5D=%21%3D"
                        f"&conditions%5B0%5D%5Bvalue%5D={zola}")
    assert ids(raw_get(server, world, pros_path(world), encoded_brackets)) == [
        i for i in world.all_pro_ids if i != zola]
    dated = ("conditions[0][field]=updated_at&conditions[0][op]=%3E%3D"
             "&conditions[0][value]=2010-02-01%2000:00:00")
    assert ids(raw_get(server, world, pros_path(world), dated)) == world.all_pro_ids


@pytest.mark.parametrize("op", [">=", "<=", ">", "<", "<>", "="])
def test_condition_operators_raw(server: RunningServer, world: World, op: str) -> None:
    """Real clients (the PHP client, old curl scripts) send `>`, `<` and `=` unencoded."""
    zola = world.pros["Émile Zola"]["id"]
    query = f"conditions[0][field]=id&conditions[0][op]={op}&conditions[0][value]={zola}"
    check = {">=": zola.__le__, "<=": zola.__ge__, ">": zola.__lt__, "<": zola.__gt__, "<>": zola.__ne__,
             "=": zola.__eq__}[op]
    assert ids(raw_get(server, world, pros_path(world), query)) == [i for i in world.all_pro_ids if check(i)]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("conditions[3][field]=nope&conditions[3][op]=%3D&conditions[3][value]=1", "conditions[3]"),
        ("conditions[0][field]=id&conditions[0][op]=~~&conditions[0][value]=1", "conditions[0]"),
        ("conditions[0][field]=lastname&conditions[0][op]=%3D&conditions[0][value]=x"
         "&conditions[1][field]=id&conditions[1][op]=%3D&conditions[1][value]=abc", "conditions[1]"),
        ("conditions[4][field]=id&conditions[4][op]=like&conditions[4][value]=1%25", "conditions[4]"),
        ("conditions[0][field]=password&conditions[0][op]=%3D&conditions[0][value]=x", "conditions[0]"),
        ("conditions[2][field]=created_at&conditions[2][op]=%3E&conditions[2][value]=yesterday", "conditions[2]"),
        ("conditions[5][field]=id&conditions[5][op]=%3E", "conditions[5]"),
        ("conditions[6][op]=%3D&conditions[6][value]=1", "conditions[6]"),
        ("conditions[0][field]=id&conditions[0][op]=%3E&conditions[0][value]=null", "conditions[0]"),
        ("conditions[0][field]=id&conditions[0][op]=in&conditions[0][value]="
         + quote(",".join(str(n) for n in range(1001))), "conditions[0]"),
        ("&".join(f"conditions[{n}][field]=id&conditions[{n}][op]=%3E&conditions[{n}][value]=0"
                  for n in range(21)), "conditions"),
    ],
)
def test_bad_conditions_are_400_naming_the_index(server: RunningServer, world: World, query: str,
                                                   named: str) -> None:
    response = raw_get(server, world, pros_path(world), query)
    message = error_of(response, 400)
    assert named in message, message


def test_pros_of_another_of_the_pros_groups(server: RunningServer, world: World) -> None:
    """Each group lists its own members: the tenant's pro is the only one in the two other groups."""
    for group_id in world.group_ids[1:]:
        response = get(server, world, f"/groups/{group_id}/pros")
        assert ids(response) == [world.tenant.pro_id]
        assert response.json()["records"][0]["group_ids"] == world.group_ids


def test_un_nested_pros_span_the_callers_groups(server: RunningServer, world: World) -> None:
    assert ids(get(server, world, "/pros", {"results": "all"})) == world.all_pro_ids
