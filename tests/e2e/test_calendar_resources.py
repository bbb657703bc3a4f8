"""The catalogue end to end: calendars, calendarsets, interventions, interventionsets. CRUD with soft
delete, validation refusals naming the field, tenant isolation (404 / 400), lenient input, the
calendar ↔ intervention link, and what accounts and anonymous callers see of it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from .calendar_helpers import (
    Api,
    account_api,
    check_full_record,
    crud_cycle,
    not_found,
    pro_api,
    refused,
)
from .conftest import RunningServer, Tenant, error_of

CATALOGUE = ("calendarsets", "calendars", "interventionsets", "interventions")


@dataclass
class Pair:
    """Two tenants: `a` does the writing, `b` owns records `a` must never reach."""

    a: Tenant
    b: Tenant
    api: Api
    api_b: Api
    b_records: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def pair(server: RunningServer) -> Iterator[Pair]:
    a = server.new_tenant(extra_groups=1)
    b = server.new_tenant()
    api, api_b = pro_api(server, a), pro_api(server, b)
    b_records: dict[str, dict[str, Any]] = {}
    b_records["calendarsets"] = api_b.create("calendarsets", name="B set", publicname="B set")
    b_records["interventionsets"] = api_b.create("interventionsets", name="B iset", publicname="B iset")
    b_records["interventions"] = api_b.create("interventions", name="B service", publicname="B service")
    b_records["calendars"] = api_b.create("calendars", name="B agenda", publicname="B agenda",
                                          intervention_ids=[b_records["interventions"]["id"]])
    yield Pair(a, b, api, api_b, b_records)
    api.close()
    api_b.close()


# -- CRUD ------------------------------------------------------------------------------------------------
CRUD = {
    "calendarsets": ({"name": "Cabinet"},
                     {"publicname": "Le cabinet", "description": "Rez-de-chaussée", "sort": 3}),
    "calendars": ({"name": "Dr Who"},
                  {"publicname": "Docteur Who", "address": "1 rue X", "zipcode": "75001", "city": "Paris",
                   "epj": "EPJ", "interval": 30, "capacity": 2, "sort": 5}),
    "interventionsets": ({"name": "Massages"},
                         {"publicname": "Nos massages", "description": "Détente", "sort": 2}),
    "interventions": ({"name": "Thai massage"}, {"publicname": "Massage thaï", "abbr": "TM", "length": 30,
                                                 "colorref": "#A1b2C3", "price": 3000, "sort": 1,
                                                 "description": "Une heure"}),
}


@pytest.mark.parametrize("collection", CATALOGUE)
def test_crud_cycle(pair: Pair, collection: str) -> None:
    create, change = CRUD[collection]
    restored = crud_cycle(pair.api, collection, create, change)
    assert restored["name"] == create["name"]


def test_create_with_every_field(pair: Pair) -> None:
    api = pair.api
    cset = api.create("calendarsets", name="Every set")
    service = api.create("interventions", name="Every service")
    calendar = api.create("calendars", group_id=pair.a.group_id, calendarset_id=cset["id"], name="Every",
                          publicname="Every public", address="2 av. Y", zipcode="69001", city="Lyon",
                          description="long text " * 50, epj="e", sort=7, interval=5, capacity=3,
                          intervention_ids=[service["id"]])
    check_full_record("calendars", calendar, pair.a.group_id)
    assert calendar["calendarset_id"] == cset["id"]
    assert calendar["intervention_ids"] == [service["id"]]
    assert (calendar["interval"], calendar["capacity"], calendar["sort"]) == (5, 3, 7)
    assert calendar["description"] == "long text " * 50


def test_posted_group_id_must_be_the_routes(pair: Pair) -> None:
    api = pair.api
    same = api.create("calendars", group_id=str(pair.a.group_id), name="same group")
    assert same["group_id"] == pair.a.group_id
    refused(api.post("calendars", {"group_id": pair.b.group_id, "name": "x"}), "group_id")


def test_group_id_cannot_be_changed(pair: Pair) -> None:
    calendar = pair.api.create("calendars", name="stays")
    refused(pair.api.put("calendars", calendar["id"], {"group_id": pair.b.group_id}), "group_id")
    assert pair.api.one("calendars", calendar["id"])["group_id"] == pair.a.group_id


# -- validation ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("collection", "body", "field"),
    [
        ("calendars", {"name": "x" * 256}, "name"),
        ("calendars", {"name": "ok", "publicname": "p" * 256}, "publicname"),
        ("calendars", {"name": "ok", "zipcode": "1" * 17}, "zipcode"),
        ("calendars", {"name": "ok", "city": "c" * 65}, "city"),
        ("calendars", {"name": "ok", "address": "a" * 256}, "address"),
        ("calendars", {"name": "ok", "sort": "first"}, "sort"),
        ("calendars", {"name": "ok", "sort": 1.5}, "sort"),
        ("calendars", {"name": "ok", "deleted": "maybe"}, "deleted"),
        ("calendars", {"name": "ok", "calendarset_id": "abc"}, "calendarset_id"),
        ("calendars", {"name": "ok", "calendarset_id": -3}, "calendarset_id"),
        ("calendars", {"name": "ok", "calendarset_id": 2_000_000_000}, "calendarset_id"),
        ("calendars", {"name": "ok", "intervention_ids": ["one"]}, "intervention_ids"),
        ("calendars", {"name": "ok", "intervention_ids": [2_000_000_000]}, "intervention_ids"),
        ("calendars", {"name": "ok", "interval": 0}, "interval"),
        ("calendars", {"name": "ok", "interval": -15}, "interval"),
        ("calendars", {"name": "ok", "interval": 1441}, "interval"),
        ("calendars", {"name": "ok", "interval": "often"}, "interval"),
        ("calendars", {"name": "ok", "capacity": 0}, "capacity"),
        ("calendars", {"name": "ok", "capacity": 1001}, "capacity"),
        ("calendars", {"name": "ok", "name_extra": 1, "publicname": {"a": 1}}, "publicname"),
        ("calendars", {"name": "", "publicname": ""}, "name"),
        ("calendarsets", {"name": "x" * 256}, "name"),
        ("calendarsets", {"name": "ok", "sort": "z"}, "sort"),
        ("calendarsets", {"name": "  "}, "name"),
        ("interventionsets", {"name": "x" * 256}, "name"),
        ("interventionsets", {"name": "ok", "deleted": "2"}, "deleted"),
        ("interventions", {"name": "x" * 256}, "name"),
        ("interventions", {"name": "ok", "abbr": "a" * 256}, "abbr"),
        ("interventions", {"name": "ok", "colorref": "red"}, "colorref"),
        ("interventions", {"name": "ok", "colorref": "#12345"}, "colorref"),
        ("interventions", {"name": "ok", "colorref": "#GG0000"}, "colorref"),
        ("interventions", {"name": "ok", "colorref": "#1234567"}, "colorref"),
        ("interventions", {"name": "ok", "length": 0}, "length"),
        ("interventions", {"name": "ok", "length": -30}, "length"),
        ("interventions", {"name": "ok", "length": 1441}, "length"),
        ("interventions", {"name": "ok", "length": "long"}, "length"),
        ("interventions", {"name": "ok", "price": -1}, "price"),
        ("interventions", {"name": "ok", "price": "cheap"}, "price"),
        ("interventions", {"name": "ok", "interventionset_id": "x"}, "interventionset_id"),
        ("interventions", {"name": "ok", "calendar_ids": [0]}, "calendar_ids"),
        ("interventions", {"name": "ok", "calendar_ids": [2_000_000_000]}, "calendar_ids"),
    ],
)
def test_create_refusals_name_the_field(pair: Pair, collection: str, body: dict[str, Any],
                                        field: str) -> None:
    before = pair.api.listing(collection)["totalRecords"]
    refused(pair.api.post(collection, body), field)
    assert pair.api.listing(collection)["totalRecords"] == before, "nothing was written"


@pytest.mark.parametrize(
    ("collection", "body", "field"),
    [
        ("calendars", {"interval": 0}, "interval"),
        ("calendars", {"capacity": -1}, "capacity"),
        ("calendars", {"name": "n" * 256}, "name"),
        ("interventions", {"colorref": "#xyzxyz"}, "colorref"),
        ("interventions", {"length": 0}, "length"),
        ("calendarsets", {"sort": "late"}, "sort"),
        ("interventionsets", {"publicname": "p" * 256}, "publicname"),
    ],
)
def test_update_refusals_leave_the_record_unchanged(pair: Pair, collection: str, body: dict[str, Any],
                                                     field: str) -> None:
    record = pair.api.create(collection, name="unchanged")
    refused(pair.api.put(collection, record["id"], body), field)
    assert pair.api.one(collection, record["id"]) == record


@pytest.mark.parametrize(
    ("collection", "body", "expected"),
    [
        ("calendars", {"interval": 1, "capacity": 1}, {"interval": 1, "capacity": 1}),
        ("calendars", {"interval": 1440, "capacity": 1000}, {"interval": 1440, "capacity": 1000}),
        ("interventions", {"length": 1, "price": 0}, {"length": 1, "price": 0}),
        ("interventions", {"length": 1440, "colorref": "#ffffff"}, {"length": 1440, "colorref": "#ffffff"}),
        ("calendars", {"name": "n" * 255, "city": "c" * 64, "zipcode": "z" * 16},
         {"name": "n" * 255, "city": "c" * 64, "zipcode": "z" * 16}),
        ("calendars", {"publicname": "only a public name", "name": ""},
         {"name": "", "publicname": "only a public name"}),
    ],
)
def test_bounds_are_inclusive(pair: Pair, collection: str, body: dict[str, Any],
                              expected: dict[str, Any]) -> None:
    record = pair.api.create(collection, **{"name": "bounds", **body})
    assert {k: record[k] for k in expected} == expected


def test_strings_for_ids_numbers_and_booleans(pair: Pair) -> None:
    api = pair.api
    cset = api.create("calendarsets", name="stringy set")
    iset = api.create("interventionsets", name="stringy iset")
    service = api.create("interventions", name="s", interventionset_id=str(iset["id"]), length="45",
                         price="2500", sort="4", deleted="0")
    assert (service["interventionset_id"], service["length"], service["price"], service["sort"]) == (
        iset["id"], 45, 2500, 4)
    assert service["deleted"] is False
    calendar = api.create("calendars", group_id=str(pair.a.group_id), name="c",
                          calendarset_id=str(cset["id"]), interval="20", capacity="2",
                          intervention_ids=[str(service["id"])])
    assert (calendar["calendarset_id"], calendar["interval"], calendar["capacity"]) == (cset["id"], 20, 2)
    assert calendar["intervention_ids"] == [service["id"]]
    for truthy in ("1", "true", "TRUE", "yes", "on", 1, True):
        assert api.update("calendars", calendar["id"], deleted=truthy)["deleted"] is True, truthy
        assert api.update("calendars", calendar["id"], deleted="0")["deleted"] is False
    for falsy in ("false", "no", "off", 0, False):
        api.update("calendars", calendar["id"], deleted=True)
        assert api.update("calendars", calendar["id"], deleted=falsy)["deleted"] is False, falsy


def test_optional_ids_can_be_cleared(pair: Pair) -> None:
    api = pair.api
    cset = api.create("calendarsets", name="clearable")
    calendar = api.create("calendars", name="c", calendarset_id=cset["id"])
    assert api.update("calendars", calendar["id"], calendarset_id=None)["calendarset_id"] is None
    api.update("calendars", calendar["id"], calendarset_id=cset["id"])
    assert api.update("calendars", calendar["id"], calendarset_id="")["calendarset_id"] is None


def test_unknown_and_read_only_keys_are_ignored(pair: Pair) -> None:
    api = pair.api
    created = api.create("calendars", name="extras", colour="blue", foo={"bar": 1}, id=1,
                         created_at="2001-01-01 00:00:00", updated_at="2001-01-01 00:00:00",
                         search_text="zzz")
    check_full_record("calendars", created, pair.a.group_id)
    assert not created["created_at"].startswith("2001") and not created["updated_at"].startswith("2001")
    updated = api.update("calendars", created["id"], city="Nice", unknown=[1, 2], id=created["id"] + 1000)
    assert updated["id"] == created["id"] and updated["city"] == "Nice"
    check_full_record("calendars", updated, pair.a.group_id)


def test_unwrapped_body_is_accepted(pair: Pair) -> None:
    response = pair.api.post("interventionsets", {"name": "unwrapped", "publicname": "Unwrapped"}, wrap=False)
    assert response.status_code == 201, response.text
    assert response.json()["publicname"] == "Unwrapped"


# -- the calendar ↔ intervention link ---------------------------------------------------------------------
def test_link_written_from_calendars_read_from_interventions(pair: Pair) -> None:
    api = pair.api
    s1, s2, s3 = (api.create("interventions", name=f"link {n}") for n in range(3))
    calendar = api.create("calendars", name="linked", intervention_ids=[s2["id"], s1["id"], s2["id"]])
    assert calendar["intervention_ids"] == sorted([s1["id"], s2["id"]])
    assert api.one("interventions", s1["id"])["calendar_ids"] == [calendar["id"]]
    assert api.one("interventions", s2["id"])["calendar_ids"] == [calendar["id"]]
    assert api.one("interventions", s3["id"])["calendar_ids"] == []

    moved = api.update("calendars", calendar["id"], intervention_ids=[s3["id"]])
    assert moved["intervention_ids"] == [s3["id"]]
    assert api.one("interventions", s1["id"])["calendar_ids"] == []
    assert api.one("interventions", s3["id"])["calendar_ids"] == [calendar["id"]]

    # a PUT without intervention_ids keeps the link
    assert api.update("calendars", calendar["id"], city="Brest")["intervention_ids"] == [s3["id"]]
    # ids as a comma list and as a JSON array text
    as_text = api.update("calendars", calendar["id"], intervention_ids=f"{s1['id']},{s2['id']}")
    assert as_text["intervention_ids"] == sorted([s1["id"], s2["id"]])
    as_json = api.update("calendars", calendar["id"], intervention_ids=f"[{s3['id']}]")
    assert as_json["intervention_ids"] == [s3["id"]]
    assert api.update("calendars", calendar["id"], intervention_ids=[])["intervention_ids"] == []
    assert api.one("interventions", s3["id"])["calendar_ids"] == []


def test_link_written_from_interventions_read_from_calendars(pair: Pair) -> None:
    api = pair.api
    c1, c2 = api.create("calendars", name="ca"), api.create("calendars", name="cb")
    service = api.create("interventions", name="offered", calendar_ids=[c1["id"], c2["id"]])
    assert service["calendar_ids"] == sorted([c1["id"], c2["id"]])
    other = api.create("interventions", name="also", calendar_ids=[str(c1["id"])])
    assert api.one("calendars", c1["id"])["intervention_ids"] == sorted([service["id"], other["id"]])
    assert api.one("calendars", c2["id"])["intervention_ids"] == [service["id"]]
    api.update("interventions", service["id"], calendar_ids=[c2["id"]])
    assert api.one("calendars", c1["id"])["intervention_ids"] == [other["id"]]
    assert api.one("calendars", c2["id"])["intervention_ids"] == [service["id"]]
    assert [r["id"] for r in api.records("calendars") if service["id"] in r["intervention_ids"]] == [c2["id"]]


# -- tenants ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("collection", "field", "target", "as_list"),
    [
        ("calendars", "calendarset_id", "calendarsets", False),
        ("calendars", "intervention_ids", "interventions", True),
        ("interventions", "interventionset_id", "interventionsets", False),
        ("interventions", "calendar_ids", "calendars", True),
    ],
)
def test_another_groups_ids_are_refused(pair: Pair, collection: str, field: str, target: str,
                                        as_list: bool) -> None:
    foreign = pair.b_records[target]["id"]
    theirs_before = pair.api_b.one(target, foreign)
    value: Any = [foreign] if as_list else foreign
    refused(pair.api.post(collection, {"name": "cross", field: value}), field)
    if as_list:  # one foreign id among good ones is enough to refuse
        own = pair.api.create(target, name="own")
        refused(pair.api.post(collection, {"name": "cross", field: [own["id"], str(foreign)]}), field)
    record = pair.api.create(collection, name="victim")
    refused(pair.api.put(collection, record["id"], {field: value}), field)
    assert pair.api.one(collection, record["id"]) == record
    # the other tenant's record (and its links) was not touched either
    assert pair.api_b.one(target, foreign) == theirs_before


def test_ids_of_my_other_group_are_refused_too(pair: Pair, server: RunningServer) -> None:
    groups = sorted(g["id"] for g in pair.api.client.get("/groups").json()["records"])
    other_group = next(g for g in groups if g != pair.a.group_id)
    cset = pair.api.post("calendarsets", {"name": "elsewhere"}, group=other_group)
    assert cset.status_code == 201, cset.text
    assert cset.json()["group_id"] == other_group
    refused(pair.api.post("calendars", {"name": "x", "calendarset_id": cset.json()["id"]}), "calendarset_id")


@pytest.mark.parametrize("collection", CATALOGUE)
def test_another_tenants_record_is_404(pair: Pair, collection: str) -> None:
    api = pair.api
    theirs = pair.b_records[collection]
    for path_group, nested in ((pair.a.group_id, True), (pair.b.group_id, True), (None, False)):
        kw: dict[str, Any] = {"nested": nested}
        if path_group is not None:
            kw["group"] = path_group
        not_found(api.get(collection, theirs["id"], **kw))
        not_found(api.put(collection, theirs["id"], {"name": "hijacked"}, **kw))
        not_found(api.delete(collection, theirs["id"], **kw))
    # the other group's list is not addressable either
    not_found(api.get(collection, group=pair.b.group_id))
    assert theirs["id"] not in api.ids(collection, nested=False)
    after = pair.api_b.one(collection, theirs["id"])
    assert after["name"] == theirs["name"] and after["deleted"] is False


@pytest.mark.parametrize("collection", CATALOGUE)
def test_unknown_ids_are_404(pair: Pair, collection: str) -> None:
    not_found(pair.api.get(collection, 2_000_000_000))
    not_found(pair.api.get(collection, 2_000_000_000, nested=False))
    not_found(pair.api.put(collection, 2_000_000_000, {"name": "x"}))
    not_found(pair.api.delete(collection, 2_000_000_000))


@pytest.mark.parametrize("collection", CATALOGUE)
def test_un_nested_crud(pair: Pair, collection: str) -> None:
    api = pair.api
    created = api.post(collection, {"name": "flat"}, nested=False)
    assert created.status_code == 201, created.text
    record = created.json()
    check_full_record(collection, record, pair.a.group_id)  # the caller's main group
    assert api.get(collection, record["id"], nested=False).json() == record
    assert api.put(collection, record["id"], {"sort": 9}, nested=False).json()["sort"] == 9
    deleted = api.delete(collection, record["id"], nested=False)
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert record["id"] in api.ids(collection, nested=False)
    assert record["id"] in api.ids(collection)


def test_un_nested_create_into_another_of_my_groups(pair: Pair) -> None:
    groups = sorted(g["id"] for g in pair.api.client.get("/groups").json()["records"])
    other_group = next(g for g in groups if g != pair.a.group_id)
    created = pair.api.post("calendars", {"group_id": str(other_group), "name": "there"}, nested=False)
    assert created.status_code == 201, created.text
    assert created.json()["group_id"] == other_group
    assert created.json()["id"] in pair.api.ids("calendars", nested=False)
    assert created.json()["id"] not in pair.api.ids("calendars")
    refused(pair.api.post("calendars", {"group_id": pair.b.group_id, "name": "x"}, nested=False), "group_id")


# -- accounts and anonymous callers -----------------------------------------------------------------------
@dataclass
class Shop:
    tenant: Tenant
    public: dict[str, set[int]]
    hidden: dict[str, set[int]]
    fiche_id: int
    visible_field: int
    hidden_field: int


@pytest.fixture(scope="module")
def shop(server: RunningServer) -> Iterator[Shop]:
    """A group whose catalogue mixes public and hidden items; the tests only read it."""
    tenant = server.new_tenant()
    public: dict[str, set[int]] = {c: set() for c in CATALOGUE}
    hidden: dict[str, set[int]] = {c: set() for c in CATALOGUE}
    with pro_api(server, tenant) as api:
        for collection in ("calendarsets", "interventionsets", "calendars"):
            public[collection].add(api.create(collection, name="backoffice name", publicname="Public")["id"])
            hidden[collection].add(api.create(collection, name="no public name", publicname="")["id"])
            gone = api.create(collection, name="gone", publicname="Gone")
            api.delete(collection, gone["id"])
            hidden[collection].add(gone["id"])
        open_set = next(iter(public["interventionsets"]))
        closed_set = next(iter(hidden["interventionsets"] - {max(hidden["interventionsets"])}))
        for body, visible in (
            ({"publicname": "Alone"}, True),
            ({"publicname": "In open set", "interventionset_id": open_set}, True),
            ({"publicname": "In closed set", "interventionset_id": closed_set}, False),
            ({"publicname": ""}, False),
            ({"publicname": "   "}, False),
        ):
            service = api.create("interventions", name="backoffice " + body["publicname"], **body)
            (public if visible else hidden)["interventions"].add(service["id"])
        gone = api.create("interventions", name="gone", publicname="Gone")
        api.delete("interventions", gone["id"])
        hidden["interventions"].add(gone["id"])
        # every calendar offers every service, public or not
        services = sorted(public["interventions"] | hidden["interventions"])
        for calendar_id in public["calendars"] | hidden["calendars"]:
            api.update("calendars", calendar_id, intervention_ids=services)
        fiche = api.create("fiches", lastname="Pro-made")
        visible_field = api.create("customfields", model="Fiche", name="str1", user_label="Allergies",
                                   pro_label="backoffice allergies", user_visible=True)
        hidden_field = api.create("customfields", model="Fiche", name="str2", pro_label="Internal")
    yield Shop(tenant, public, hidden, fiche["id"], visible_field["id"], hidden_field["id"])


@pytest.mark.parametrize("collection", CATALOGUE)
def test_account_sees_the_public_catalogue_only(server: RunningServer, shop: Shop, collection: str) -> None:
    with account_api(server, shop.tenant.group_id) as api:
        records = api.records(collection)
        assert {r["id"] for r in records} == shop.public[collection]
        for record in records:
            assert "name" not in record, "the internal name is not shown online"
            assert "publicname" in record and record["publicname"].strip()
            assert "deleted" not in record or record["deleted"] is False
        for record_id in shop.public[collection]:
            one = api.get(collection, record_id)
            assert one.status_code == 200, one.text
            assert "name" not in one.json()
        for record_id in shop.hidden[collection]:
            not_found(api.get(collection, record_id))
        if collection == "interventions":
            assert "abbr" not in records[0]
        # a condition or a sort on a field the account cannot read is refused
        refused(api.get(collection, params={"sort": "name"}), "sort")


@pytest.mark.parametrize("collection", CATALOGUE)
def test_anonymous_catalogue_reads(server: RunningServer, shop: Shop, collection: str) -> None:
    with Api(server, shop.tenant.group_id) as api:
        assert set(api.ids(collection)) == shop.public[collection]
        record_id = min(shop.public[collection])
        one = api.get(collection, record_id)
        assert one.status_code == 200, one.text
        assert one.json()["id"] == record_id and "name" not in one.json()
        not_found(api.get(collection, min(shop.hidden[collection])))
        error_of(api.post(collection, {"name": "x", "publicname": "x"}), 401)


@pytest.mark.parametrize("collection", CATALOGUE)
def test_account_cannot_write_the_catalogue(server: RunningServer, shop: Shop, collection: str) -> None:
    record_id = min(shop.public[collection])
    with pro_api(server, shop.tenant) as pro:
        before = pro.one(collection, record_id)
        total = pro.listing(collection)["totalRecords"]
    with account_api(server, shop.tenant.group_id) as api:
        error_of(api.post(collection, {"name": "x", "publicname": "x"}), 403)
        error_of(api.put(collection, record_id, {"publicname": "x"}), 403)
        error_of(api.delete(collection, record_id), 403)
    with pro_api(server, shop.tenant) as pro:
        assert pro.one(collection, record_id) == before
        assert pro.listing(collection)["totalRecords"] == total


def test_account_cannot_read_vevents_nor_pros(server: RunningServer, shop: Shop) -> None:
    with account_api(server, shop.tenant.group_id) as api:
        error_of(api.get("vevents"), 403)
        error_of(api.get("vevents", nested=False), 403)
        error_of(api.get("pros"), 403)
        error_of(api.get("pros", shop.tenant.pro_id), 403)
        error_of(api.post("vevents", {"calendar_id": 1}), 403)


def test_anonymous_cannot_read_private_collections(server: RunningServer, shop: Shop) -> None:
    with Api(server, shop.tenant.group_id) as api:
        for collection in ("fiches", "vevents", "pros"):
            error_of(api.get(collection), 401)
        error_of(api.get("fiches", shop.fiche_id), 401)


def test_account_sees_none_of_the_groups_fiches(server: RunningServer, shop: Shop) -> None:
    with account_api(server, shop.tenant.group_id) as api:
        listing = api.listing("fiches")
        assert listing["records"] == [] and listing["totalRecords"] == 0
        not_found(api.get("fiches", shop.fiche_id))
        not_found(api.put("fiches", shop.fiche_id, {"firstname": "Mallory"}))
        error_of(api.delete("fiches", shop.fiche_id), 403)
    with pro_api(server, shop.tenant) as pro:
        assert pro.one("fiches", shop.fiche_id)["firstname"] == ""


def test_account_reads_only_user_visible_customfields(server: RunningServer, shop: Shop) -> None:
    with account_api(server, shop.tenant.group_id) as api:
        records = api.records("customfields")
        assert [r["id"] for r in records] == [shop.visible_field]
        assert records[0]["user_label"] == "Allergies" and records[0]["name"] == "str1"
        assert not any(key.startswith("pro_") for key in records[0]), records[0]
        not_found(api.get("customfields", shop.hidden_field))
        assert api.get("customfields", shop.visible_field).status_code == 200
        error_of(api.post("customfields", {"model": "Fiche", "name": "str3"}), 403)
    with pro_api(server, shop.tenant) as pro:
        assert set(pro.ids("customfields")) == {shop.visible_field, shop.hidden_field}


def test_account_reads_the_catalogue_un_nested_too(server: RunningServer, shop: Shop) -> None:
    with account_api(server, shop.tenant.group_id) as api:
        for collection in CATALOGUE:
            assert set(api.ids(collection, nested=False)) == shop.public[collection], collection


@pytest.mark.parametrize("collection", CATALOGUE)
def test_account_search_and_conditions_ignore_fields_it_cannot_read(server: RunningServer, shop: Shop,
                                                                     collection: str) -> None:
    """Field-level access drives search and conditions too (CONTRACT §5): the internal `name` is
    neither shown nor searchable online."""
    with pro_api(server, shop.tenant) as pro:
        assert set(pro.ids(collection, {"search": "backoffice"})) >= shop.public[collection]
    with account_api(server, shop.tenant.group_id) as api:
        assert set(api.ids(collection, {"search": "PUBLIC"})) <= shop.public[collection]
        assert api.ids(collection, {"search": "backoffice"}) == [], "found through the internal name"
        refused(api.get(collection, params=[("conditions[0][field]", "name"), ("conditions[0][op]", "like"),
                                             ("conditions[0][value]", "%backoffice%")]), "conditions[0]")


def test_account_search_of_customfields_ignores_pro_labels(server: RunningServer, shop: Shop) -> None:
    with pro_api(server, shop.tenant) as pro:
        assert pro.ids("customfields", {"search": "backoffice"}) == [shop.visible_field]
    with account_api(server, shop.tenant.group_id) as api:
        assert api.ids("customfields", {"search": "allergies"}) == [shop.visible_field]
        assert api.ids("customfields", {"search": "backoffice"}) == [], "found through pro_label"


def test_online_links_name_public_items_only(server: RunningServer, shop: Shop) -> None:
    """Online, a calendar's intervention_ids are the services bookable online, a service's
    calendar_ids the calendars shown online; hidden and deleted items never appear."""
    every_service = sorted(shop.public["interventions"] | shop.hidden["interventions"])
    every_calendar = sorted(shop.public["calendars"] | shop.hidden["calendars"])
    with pro_api(server, shop.tenant) as pro:
        for calendar in pro.records("calendars"):
            assert calendar["intervention_ids"] == every_service
        for service in pro.records("interventions"):
            assert service["calendar_ids"] == every_calendar
    hidden_service, hidden_calendar = min(shop.hidden["interventions"]), min(shop.hidden["calendars"])
    public_service, public_calendar = min(shop.public["interventions"]), min(shop.public["calendars"])
    online_services, online_calendars = sorted(shop.public["interventions"]), sorted(shop.public["calendars"])
    with account_api(server, shop.tenant.group_id) as account, Api(server, shop.tenant.group_id) as anonymous:
        for api in (account, anonymous):
            for calendar in api.records("calendars"):
                assert calendar["intervention_ids"] == online_services
            assert api.one("calendars", public_calendar)["intervention_ids"] == online_services
            for service in api.records("interventions"):
                assert service["calendar_ids"] == online_calendars
            assert api.one("interventions", public_service)["calendar_ids"] == online_calendars
            assert api.ids("calendars", [("intervention_ids[]", str(hidden_service))]) == []
            assert api.ids("calendars", [("intervention_ids[]", str(public_service)),
                                         ("intervention_ids[]", str(hidden_service))]) == []
            assert set(api.ids("calendars", [("intervention_ids[]", str(public_service))])) == shop.public[
                "calendars"]
            assert api.ids("interventions", [("calendar_ids[]", str(hidden_calendar))]) == []
            assert set(api.ids("interventions", [("calendar_ids[]", str(public_calendar))])) == shop.public[
                "interventions"]
