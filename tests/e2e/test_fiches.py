"""fiches (customer records) end to end: CRUD with soft delete, every field and custom column,
validation refusals naming the field, lenient input, tenant isolation, un-nested routes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from .calendar_helpers import CUSTOM, Api, check_full_record, crud_cycle, not_found, pro_api, refused
from .conftest import RunningServer, Tenant


@dataclass
class Pair:
    a: Tenant
    b: Tenant
    api: Api
    api_b: Api
    other_group: int  # a second group of a's pro
    b_fiche: dict[str, Any]


@pytest.fixture(scope="module")
def pair(server: RunningServer) -> Iterator[Pair]:
    a = server.new_tenant(extra_groups=1)
    b = server.new_tenant()
    api, api_b = pro_api(server, a), pro_api(server, b)
    groups = sorted(g["id"] for g in api.client.get("/groups").json()["records"])
    other_group = next(g for g in groups if g != a.group_id)
    b_fiche = api_b.create("fiches", lastname="Theirs", email="theirs@example.org")
    yield Pair(a, b, api, api_b, other_group, b_fiche)
    api.close()
    api_b.close()


def test_crud_cycle(pair: Pair) -> None:
    restored = crud_cycle(pair.api, "fiches", {"group_id": pair.a.group_id, "lastname": "Doe"},
                          {"firstname": "John", "secondphone": "773-338-1234", "str0": "Lorem ipsum",
                           "rappel_sms": False, "externid": 77})
    assert restored["lastname"] == "Doe" and restored["str0"] == "Lorem ipsum"


def test_create_with_every_field(pair: Pair) -> None:
    body: dict[str, Any] = {
        "lastname": "Lefèvre", "firstname": "Élodie", "firstphone": "+33 6 12 34 56 78",
        "secondphone": "01 02 03 04 05", "email": "elodie@example.org", "birthdate": "1980-05-17",
        "comments": "never shown to the customer", "from_web": True, "rappel_email": False,
        "rappel_sms": False, "externid": 123456,
    }
    for name in CUSTOM:
        if name.startswith("bool"):
            body[name] = True
        elif name.startswith("dt"):
            body[name] = "2031-12-24 18:30"
        elif name.startswith("num"):
            body[name] = 2.5
        else:
            body[name] = f"value of {name}"
    record = pair.api.create("fiches", **body)
    check_full_record("fiches", record, pair.a.group_id)
    expected = dict(body, birthdate="1980-05-17 00:00:00",
                    **{f"dt{i}": "2031-12-24 18:30:00" for i in range(2)})
    assert {k: record[k] for k in expected} == expected
    assert pair.api.one("fiches", record["id"]) == record


def test_firstname_alone_is_enough(pair: Pair) -> None:
    record = pair.api.create("fiches", firstname="Cher")
    assert record["lastname"] == "" and record["firstname"] == "Cher"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lastname": "x" * 65}, "lastname"),
        ({"lastname": "ok", "firstname": "y" * 65}, "firstname"),
        ({"lastname": "ok", "firstphone": "0" * 26}, "firstphone"),
        ({"lastname": "ok", "secondphone": "0" * 26}, "secondphone"),
        ({"lastname": "ok", "email": "a" * 250 + "@b.org"}, "email"),
        ({"lastname": "ok", "email": "not an address"}, "email"),
        ({"lastname": "ok", "email": "two@@example.org"}, "email"),
        ({"lastname": "ok", "birthdate": "the fifth of May"}, "birthdate"),
        ({"lastname": "ok", "birthdate": "1980-13-45"}, "birthdate"),
        ({"lastname": "ok", "birthdate": 12}, "birthdate"),
        ({"lastname": "ok", "rappel_sms": "maybe"}, "rappel_sms"),
        ({"lastname": "ok", "rappel_email": 2}, "rappel_email"),
        ({"lastname": "ok", "from_web": "perhaps"}, "from_web"),
        ({"lastname": "ok", "deleted": [1]}, "deleted"),
        ({"lastname": "ok", "externid": "ext-12"}, "externid"),
        ({"lastname": "ok", "externid": 1.5}, "externid"),
        ({"lastname": "ok", "num0": "a lot"}, "num0"),
        ({"lastname": "ok", "num3": "NaN"}, "num3"),
        ({"lastname": "ok", "bool9": "yes please"}, "bool9"),
        ({"lastname": "ok", "dt1": "someday"}, "dt1"),
        ({"lastname": "ok", "str14": "s" * 256}, "str14"),
        ({"lastname": "ok", "txt0": {"rich": "text"}}, "txt0"),
        ({"lastname": ["a", "list"]}, "lastname"),
        ({"lastname": "", "firstname": ""}, "lastname"),
        ({"lastname": "   ", "firstname": " "}, "lastname"),
        ({"comments": "no names"}, "lastname"),
        ({"lastname": "ok", "group_id": "four"}, "group_id"),
    ],
)
def test_create_refusals_name_the_field(pair: Pair, body: dict[str, Any], field: str) -> None:
    before = pair.api.listing("fiches")["totalRecords"]
    refused(pair.api.post("fiches", body), field)
    assert pair.api.listing("fiches")["totalRecords"] == before


def test_several_bad_fields_are_all_named(pair: Pair) -> None:
    response = pair.api.post("fiches", {"lastname": "x" * 65, "rappel_sms": "maybe", "num0": "many"})
    for field in ("lastname", "rappel_sms", "num0"):
        refused(response, field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lastname": "x" * 65}, "lastname"),
        ({"lastname": "", "firstname": ""}, "lastname"),
        ({"email": "nope"}, "email"),
        ({"birthdate": "yesterday-ish"}, "birthdate"),
        ({"str0": "s" * 256}, "str0"),
    ],
)
def test_update_refusals_leave_the_fiche_unchanged(pair: Pair, body: dict[str, Any], field: str) -> None:
    fiche = pair.api.create("fiches", lastname="Stable", email="stable@example.org")
    refused(pair.api.put("fiches", fiche["id"], body), field)
    assert pair.api.one("fiches", fiche["id"]) == fiche


def test_limits_are_inclusive(pair: Pair) -> None:
    body = {"lastname": "l" * 64, "firstname": "f" * 64, "firstphone": "1" * 25, "secondphone": "2" * 25,
            "email": "e" * 240 + "@example.org", "str0": "s" * 255}
    record = pair.api.create("fiches", **body)
    assert {k: record[k] for k in body} == body


def test_strings_are_converted(pair: Pair) -> None:
    record = pair.api.create("fiches", group_id=str(pair.a.group_id), lastname="Strings", externid="42",
                             rappel_email="0", rappel_sms="false", from_web="1", deleted="0", bool0="true",
                             num0="3.25", num1="7", num2="-1,5", birthdate="1975-01-02 03:04")
    assert record["group_id"] == pair.a.group_id
    assert (record["externid"], record["rappel_email"], record["rappel_sms"], record["from_web"]) == (
        42, False, False, True)
    assert (record["deleted"], record["bool0"]) == (False, True)
    assert (record["num0"], record["num1"], record["num2"]) == (3.25, 7, -1.5)
    assert record["birthdate"] == "1975-01-02 03:04:00"


def test_empty_values_clear_optional_fields(pair: Pair) -> None:
    fiche = pair.api.create("fiches", lastname="Clear", email="c@example.org", birthdate="1990-01-01",
                            externid=5, num0=1.5, dt0="2030-01-01", str0="x")
    cleared = pair.api.update("fiches", fiche["id"], email="", birthdate=None, externid="", num0=None,
                              dt0="", str0=None)
    assert (cleared["email"], cleared["birthdate"], cleared["externid"]) == ("", None, None)
    assert (cleared["num0"], cleared["dt0"], cleared["str0"]) == (None, None, "")


def test_unknown_and_read_only_keys_are_ignored(pair: Pair) -> None:
    record = pair.api.create("fiches", lastname="Extras", account_id=1, search_text="x",
                             str15="no such column", created_at="2000-01-01 00:00:00", epj="",
                             colorref="#CCCCCC")
    check_full_record("fiches", record, pair.a.group_id)
    assert not record["created_at"].startswith("2000")


def test_nested_body_group_must_match(pair: Pair) -> None:
    refused(pair.api.post("fiches", {"group_id": pair.other_group, "lastname": "x"}), "group_id")
    refused(pair.api.post("fiches", {"group_id": pair.b.group_id, "lastname": "x"}), "group_id")
    fiche = pair.api.create("fiches", lastname="Mine")
    refused(pair.api.put("fiches", fiche["id"], {"group_id": pair.other_group}), "group_id")


def test_un_nested_crud(pair: Pair) -> None:
    api = pair.api
    created = api.post("fiches", {"lastname": "Flat"}, nested=False)
    assert created.status_code == 201, created.text
    record = created.json()
    check_full_record("fiches", record, pair.a.group_id)
    there = api.post("fiches", {"lastname": "Flat there", "group_id": pair.other_group}, nested=False)
    assert there.status_code == 201, there.text
    assert there.json()["group_id"] == pair.other_group
    refused(api.post("fiches", {"lastname": "x", "group_id": pair.b.group_id}, nested=False), "group_id")
    flat_ids = api.ids("fiches", nested=False)
    assert record["id"] in flat_ids and there.json()["id"] in flat_ids
    assert there.json()["id"] not in api.ids("fiches")
    assert pair.b_fiche["id"] not in flat_ids
    updated = api.put("fiches", there.json()["id"], {"firstname": "Ann"}, nested=False)
    assert updated.status_code == 200 and updated.json()["firstname"] == "Ann"
    assert updated.json()["group_id"] == pair.other_group
    deleted = api.delete("fiches", there.json()["id"], nested=False)
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    fetched = api.get("fiches", there.json()["id"], nested=False)
    assert fetched.status_code == 200 and fetched.json() == deleted.json()
    not_found(api.get("fiches", there.json()["id"]))  # not in the main group's nested route
    assert api.get("fiches", there.json()["id"], group=pair.other_group).json() == deleted.json()


def test_another_tenants_fiche_is_404(pair: Pair) -> None:
    api = pair.api
    theirs = pair.b_fiche["id"]
    for kw in ({}, {"group": pair.b.group_id}, {"nested": False}):
        not_found(api.get("fiches", theirs, **kw))
        not_found(api.put("fiches", theirs, {"lastname": "Hijacked"}, **kw))
        not_found(api.delete("fiches", theirs, **kw))
    not_found(api.get("fiches", group=pair.b.group_id))
    assert theirs not in api.ids("fiches", nested=False)
    assert pair.api_b.one("fiches", theirs) == pair.b_fiche


def test_unknown_fiche_is_404(pair: Pair) -> None:
    not_found(pair.api.get("fiches", 2_000_000_000))
    not_found(pair.api.get("fiches", "abc"))
    not_found(pair.api.put("fiches", 2_000_000_000, {"lastname": "x"}))
    not_found(pair.api.delete("fiches", 2_000_000_000))


def test_delete_twice_and_restore(pair: Pair) -> None:
    fiche = pair.api.create("fiches", lastname="Twice")
    assert pair.api.delete("fiches", fiche["id"]).json()["deleted"] is True
    again = pair.api.delete("fiches", fiche["id"])
    assert again.status_code == 200 and again.json()["deleted"] is True
    assert pair.api.update("fiches", fiche["id"], deleted="0")["deleted"] is False
    assert pair.api.update("fiches", fiche["id"], deleted="1")["deleted"] is True
    assert pair.api.one("fiches", fiche["id"])["lastname"] == "Twice", "a pro sees the name as stored"
