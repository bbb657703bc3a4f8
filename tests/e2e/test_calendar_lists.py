"""Calendar API lists end to end: the plain filters of each resource, every condition operator on
every field type (int, bool, string, datetime in the group's zone, float custom column), sort on
each type, accent- and case-insensitive multi-word search, results=all, deleted rows listed.

The world lives in Pacific/Auckland (UTC+13 in January), so a date read in the wrong zone selects
other rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from .calendar_helpers import Api, conditions, pro_api, refused
from .conftest import RunningServer, Tenant

ZONE = "Pacific/Auckland"
PREFIX = {"fiches": "F", "vevents": "V", "calendars": "C", "calendarsets": "S", "interventions": "I",
          "interventionsets": "T"}


@dataclass
class World:
    tenant: Tenant
    api: Api
    ids: dict[str, int]  # by label: S1, I1, C1, F1, V1...

    def __getitem__(self, label: str) -> int:
        return self.ids[label]

    def labels(self, collection: str, params: Any) -> list[str]:
        """The labels of the listed records, in the order listed (only records of this world)."""
        by_id = {v: k for k, v in self.ids.items() if k[0] == PREFIX[collection]}
        return [by_id[i] for i in self.api.ids(collection, params) if i in by_id]


FICHES = {  # label: fields
    "F1": {"firstname": "Élodie", "lastname": "Lefèvre", "email": "elodie.lefevre@example.org",
           "firstphone": "06 12 34 56 78", "externid": 100, "rappel_sms": True, "num0": 1.5,
           "birthdate": "1980-05-17"},
    "F2": {"firstname": "elodie", "lastname": "Martin", "email": "martin@example.org", "externid": 200,
           "rappel_sms": False, "num0": 2, "birthdate": "1990-01-01 00:00:00"},
    "F3": {"firstname": "Zoé", "lastname": "LEFEVRE", "email": "zoe@example.org",
           "secondphone": "0498765432", "rappel_sms": True, "num0": -3.25},
    "F4": {"firstname": "Jean", "lastname": "Dupont", "email": "jean.dupont@mail.example.org",
           "externid": 300, "rappel_sms": False, "birthdate": "2000-02-29 12:00"},
    "F5": {"firstname": "Ana", "lastname": "Ångström", "email": "ana@example.org", "externid": 150,
           "rappel_sms": True, "num0": 10},
}


@pytest.fixture(scope="module")
def world(server: RunningServer) -> Iterator[World]:
    """Read only."""
    tenant = server.new_tenant(timezone=ZONE)
    api = pro_api(server, tenant)
    ids: dict[str, int] = {}

    def make(label: str, collection: str, **fields: Any) -> None:
        ids[label] = api.create(collection, **fields)["id"]

    make("S1", "calendarsets", name="Praticiens")
    make("S2", "calendarsets", name="Salles")
    make("T1", "interventionsets", name="Consultations")  # T: intervention sets
    make("T2", "interventionsets", name="Soins")
    make("I1", "interventions", name="Consultation", interventionset_id=ids["T1"], length=15)
    make("I2", "interventions", name="Suivi", interventionset_id=ids["T1"], length=30)
    make("I3", "interventions", name="Pansement", interventionset_id=ids["T2"], length=45)
    make("I4", "interventions", name="Bilan", length=60)
    make("C1", "calendars", name="Dr Un", calendarset_id=ids["S1"], intervention_ids=[ids["I1"], ids["I2"]])
    make("C2", "calendars", name="Salle A", calendarset_id=ids["S2"], intervention_ids=[ids["I1"]])
    make("C3", "calendars", name="Dr Trois", intervention_ids=[ids["I2"], ids["I3"]])
    make("C4", "calendars", name="Dr Parti", calendarset_id=ids["S1"],
         intervention_ids=[ids["I1"], ids["I2"]])
    api.delete("calendars", ids["C4"])
    for label, fields in FICHES.items():
        make(label, "fiches", **fields)
    api.delete("fiches", ids["F4"])
    c1, c2, c3 = ids["C1"], ids["C2"], ids["C3"]
    make("V1", "vevents", calendar_id=c1, start="2030-01-10 00:30", end="2030-01-10 01:00",
         text="Pause déjeuner", taker="MedShakeEHR")
    make("V2", "vevents", calendar_id=c1, start="2030-01-10 09:00", end="2030-01-10 09:15",
         fiche_id=ids["F1"], intervention_id=ids["I1"], text="Élodie Lefèvre", comments="Première visite",
         taker="clicRDV", num0=3)
    make("V3", "vevents", calendar_id=c2, start="2030-01-11 10:00", end="2030-01-11 10:30",
         fiche_id=ids["F2"], intervention_id=ids["I1"], text="Martin", comments="contrôle annuel",
         taker="Dr Zoé", num0=0.5)
    make("V4", "vevents", calendar_id=c2, type="VfreebusyEvent", start="2030-01-09 23:30",
         end="2030-01-10 00:00")
    make("V5", "vevents", calendar_id=c1, start="2030-01-12 14:00", end="2030-01-12 14:30",
         fiche_id=ids["F1"], intervention_id=ids["I2"], text="Lefèvre suivi")
    api.delete("vevents", ids["V5"])
    make("V6", "vevents", calendar_id=c3, note=True, start="2030-01-10", end="2030-01-10", text="Congrès")
    yield World(tenant, api, ids)
    api.close()


def test_the_world_is_listed_with_deleted_rows(world: World) -> None:
    assert world.labels("fiches", None) == ["F1", "F2", "F3", "F4", "F5"]
    assert world.labels("vevents", None) == ["V1", "V2", "V3", "V4", "V5", "V6"]
    assert world.labels("calendars", None) == ["C1", "C2", "C3", "C4"]
    deleted = {r["id"]: r["deleted"] for r in world.api.records("vevents")}
    assert deleted[world["V5"]] is True and deleted[world["V2"]] is False


def test_results_all(world: World) -> None:
    listing = world.api.listing("fiches", {"results": "all"})
    assert listing["totalRecords"] == listing["recordsReturned"] == listing["pageSize"] == 5
    assert listing["startIndex"] == 0 and (listing["sort"], listing["dir"]) == (None, None)
    assert len(listing["records"]) == 5
    assert any(r["deleted"] for r in listing["records"])
    nothing = world.api.listing("fiches", {"results": "all", "externid": 999})
    assert (nothing["records"], nothing["totalRecords"], nothing["pageSize"]) == ([], 0, 1)


def test_paging(world: World) -> None:
    page = world.api.listing("fiches", {"results": 2, "startIndex": 2})
    assert [r["id"] for r in page["records"]] == [world["F3"], world["F4"]]
    envelope = (page["totalRecords"], page["recordsReturned"], page["pageSize"], page["startIndex"])
    assert envelope == (5, 2, 2, 2)
    default = world.api.listing("vevents")
    assert default["pageSize"] == 25 and default["recordsReturned"] == 6


# -- plain filters ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("collection", "params", "expected"),
    [
        ("vevents", [("calendar_id", "C1")], ["V1", "V2", "V5"]),
        ("vevents", [("calendar_id", "C3")], ["V6"]),
        ("vevents", [("fiche_id", "F1")], ["V2", "V5"]),
        ("vevents", [("fiche_id", "F2")], ["V3"]),
        ("vevents", [("fiche_id", "F3")], []),
        ("vevents", [("calendar_id", "C2"), ("fiche_id", "F1")], []),
        ("vevents", [("calendar_id", "C1"), ("fiche_id", "F1")], ["V2", "V5"]),
        ("calendars", [("intervention_ids[]", "I1"), ("intervention_ids[]", "I2")], ["C1", "C4"]),
        ("calendars", [("intervention_ids[]", "I1")], ["C1", "C2", "C4"]),
        ("calendars", [("intervention_ids[]", "I2")], ["C1", "C3", "C4"]),
        ("calendars", [("intervention_ids[]", "I2"), ("intervention_ids[]", "I3")], ["C3"]),
        ("calendars", [("intervention_ids[]", "I1"), ("intervention_ids[]", "I3")], []),
        ("calendars", [("intervention_ids[]", "I4")], []),
        ("calendars", [("intervention_ids", "[I1,I2]")], ["C1", "C4"]),
        ("calendars", [("intervention_ids", "I1,I2")], ["C1", "C4"]),
        ("calendars", [("calendarset_ids[]", "S1")], ["C1", "C4"]),
        ("calendars", [("calendarset_ids[]", "S1"), ("calendarset_ids[]", "S2")], ["C1", "C2", "C4"]),
        ("calendars", [("calendarset_ids[]", "S2"), ("intervention_ids[]", "I1")], ["C2"]),
        ("interventions", [("interventionset_id", "T1")], ["I1", "I2"]),
        ("interventions", [("interventionset_id", "T2")], ["I3"]),
        ("interventions", [("calendar_ids[]", "C3")], ["I2", "I3"]),
        ("interventions", [("calendar_ids[]", "C2"), ("calendar_ids[]", "C3")], ["I1", "I2", "I3"]),
        ("interventions", [("calendar_ids", "C2,C3")], ["I1", "I2", "I3"]),
        ("interventions", [("calendar_ids[]", "C2"), ("interventionset_id", "T2")], []),
        ("fiches", [("externid", "200")], ["F2"]),
        ("fiches", [("externid", "300")], ["F4"]),
        ("fiches", [("externid", "12345")], []),
    ],
)
def test_plain_filters(world: World, collection: str, params: list[tuple[str, str]],
                       expected: list[str]) -> None:
    resolved = []
    for key, value in params:
        for label in sorted(world.ids, key=len, reverse=True):
            value = value.replace(label, str(world[label]))
        resolved.append((key, value))
    assert world.labels(collection, resolved) == expected


def test_filters_combine_with_conditions(world: World) -> None:
    params = [("calendar_id", str(world["C1"])), *conditions(("deleted", "=", "0"))]
    assert world.labels("vevents", params) == ["V1", "V2"]


@pytest.mark.parametrize(("name", "value"), [("calendar_id", "one"), ("fiche_id", "1.5")])
def test_bad_filter_values_are_400(world: World, name: str, value: str) -> None:
    refused(world.api.get("vevents", params={name: value}), name)


def test_bad_list_filter_values_are_400(world: World) -> None:
    refused(world.api.get("calendars", params=[("intervention_ids[]", "x")]), "intervention_ids")
    refused(world.api.get("interventions", params={"interventionset_id": "set"}), "interventionset_id")
    refused(world.api.get("interventions", params=[("calendar_ids[]", "-1")]), "calendar_ids")
    refused(world.api.get("calendars", params=[("calendarset_ids[]", "S1")]), "calendarset_ids")
    refused(world.api.get("fiches", params={"externid": "ext-1"}), "externid")


# -- conditions ------------------------------------------------------------------------------------------
# Rows without a value: whether `!=` / `not in` keep them is not specified, so they are left free.
NULLS = {"externid": {"F3"}, "birthdate": {"F3", "F5"}, "num0": {"F4"}}


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        # int
        ("externid", "=", "200", ["F2"]),
        ("externid", "!=", "200", ["F1", "F4", "F5"]),
        ("externid", "<>", "200", ["F1", "F4", "F5"]),
        ("externid", ">", "150", ["F2", "F4"]),
        ("externid", ">=", "150", ["F2", "F4", "F5"]),
        ("externid", "<", "150", ["F1"]),
        ("externid", "<=", "150", ["F1", "F5"]),
        ("externid", "in", "100,300", ["F1", "F4"]),
        ("externid", "IN", "[100, 300]", ["F1", "F4"]),
        ("externid", "not in", "100,300", ["F2", "F5"]),
        ("externid", "=", "null", ["F3"]),
        ("externid", "!=", "null", ["F1", "F2", "F4", "F5"]),
        ("id", ">=", "F4", ["F4", "F5"]),
        # bool
        ("rappel_sms", "=", "1", ["F1", "F3", "F5"]),
        ("rappel_sms", "=", "true", ["F1", "F3", "F5"]),
        ("rappel_sms", "=", "0", ["F2", "F4"]),
        ("rappel_sms", "=", "false", ["F2", "F4"]),
        ("rappel_sms", "!=", "1", ["F2", "F4"]),
        ("deleted", "=", "1", ["F4"]),
        ("deleted", "!=", "true", ["F1", "F2", "F3", "F5"]),
        # string
        ("lastname", "=", "Martin", ["F2"]),
        ("lastname", "!=", "Martin", ["F1", "F3", "F4", "F5"]),
        ("lastname", "like", "lef%", ["F1", "F3"]),
        ("lastname", "LIKE", "%ONT", ["F4"]),
        ("lastname", "like", "Mart_n", ["F2"]),
        ("lastname", "not like", "lef%", ["F2", "F4", "F5"]),
        ("lastname", "NOT  LIKE", "%", []),
        ("lastname", "in", "Martin,Dupont", ["F2", "F4"]),
        ("lastname", "not in", "Martin,Dupont", ["F1", "F3", "F5"]),
        ("email", ">", "k", ["F2", "F3"]),
        ("email", ">=", "martin@example.org", ["F2", "F3"]),
        ("email", "<", "elodie", ["F5"]),
        ("email", "<=", "elodie.lefevre@example.org", ["F1", "F5"]),
        ("email", "like", "%@example.org", ["F1", "F2", "F3", "F5"]),
        ("secondphone", "=", "null", ["F1", "F2", "F4", "F5"]),
        ("secondphone", "!=", "null", ["F3"]),
        # datetime (midnight of a date, in the group's zone)
        ("birthdate", "=", "1980-05-17", ["F1"]),
        ("birthdate", "=", "1980-05-17 00:00:00", ["F1"]),
        ("birthdate", ">", "1985-01-01", ["F2", "F4"]),
        ("birthdate", ">=", "1990-01-01", ["F2", "F4"]),
        ("birthdate", "<", "1990-01-01", ["F1"]),
        ("birthdate", "<=", "1990-01-01 00:00", ["F1", "F2"]),
        ("birthdate", "!=", "1980-05-17", ["F2", "F4"]),
        ("birthdate", "in", "1980-05-17,2000-02-29 12:00:00", ["F1", "F4"]),
        ("birthdate", "=", "null", ["F3", "F5"]),
        ("birthdate", ">", "2000-02-29T10:59:59+13:00", ["F4"]),
        ("birthdate", ">=", "2000-02-28T23:00:00Z", ["F4"]),  # = 2000-02-29 12:00 in Auckland
        ("birthdate", ">", "2000-02-28T23:00:00Z", []),
        ("birthdate", "=", "2000-02-29T00:00:00+01:00", ["F4"]),
        # float (custom column num0)
        ("num0", "=", "2", ["F2"]),
        ("num0", "=", "1.5", ["F1"]),
        ("num0", "=", "1,5", ["F1"]),
        ("num0", "!=", "1.5", ["F2", "F3", "F5"]),
        ("num0", ">", "1.5", ["F2", "F5"]),
        ("num0", ">=", "1.5", ["F1", "F2", "F5"]),
        ("num0", "<", "0", ["F3"]),
        ("num0", "<=", "-3.25", ["F3"]),
        ("num0", "in", "1.5,10", ["F1", "F5"]),
        ("num0", "not in", "1.5,10", ["F2", "F3"]),
        ("num0", "=", "null", ["F4"]),
    ],
)
def test_condition_operators_on_fiches(world: World, field: str, op: str, value: str,
                                       expected: list[str]) -> None:
    if field == "id":
        value = str(world[value])
    got = world.labels("fiches", conditions((field, op, value)))
    free = NULLS.get(field, set()) if op.lower() in ("!=", "<>", "not in") else set()
    assert [label for label in got if label not in free] == expected


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        # datetimes are wall-clock in Pacific/Auckland: 2030-01-10 = 2030-01-09 11:00 UTC
        ("start", ">=", "2030-01-10", ["V1", "V2", "V3", "V5", "V6"]),
        ("start", "<", "2030-01-10", ["V4"]),
        ("start", "=", "2030-01-10 00:00:00", ["V6"]),
        ("start", ">", "2030-01-10 00:00:00", ["V1", "V2", "V3", "V5"]),
        ("start", "<=", "2030-01-10 00:30", ["V1", "V4", "V6"]),
        ("start", ">=", "2030-01-09T11:00:00Z", ["V1", "V2", "V3", "V5", "V6"]),
        ("start", ">=", "2030-01-10T00:00:00+13:00", ["V1", "V2", "V3", "V5", "V6"]),
        ("start", ">=", "2030-01-10T00:00:00+01:00", ["V3", "V5"]),  # = 2030-01-10 12:00 there
        ("start", "!=", "2030-01-10 00:00:00", ["V1", "V2", "V3", "V4", "V5"]),
        ("start", "in", "2030-01-10 09:00:00,2030-01-11 10:00", ["V2", "V3"]),
        ("end", "<=", "2030-01-10", ["V4", "V6"]),
        ("end", "=", "2030-01-10 00:00", ["V4", "V6"]),
        ("updated_at", ">=", "2000-01-01 00:00:00", ["V1", "V2", "V3", "V4", "V5", "V6"]),
        ("updated_at", "<", "2000-01-01", []),
        ("created_at", "!=", "null", ["V1", "V2", "V3", "V4", "V5", "V6"]),
        # strings
        ("type", "=", "VfreebusyEvent", ["V4"]),
        ("type", "!=", "VfreebusyEvent", ["V1", "V2", "V3", "V5", "V6"]),
        ("taker", "=", "clicRDV", ["V2"]),
        ("taker", "!=", "clicRDV", ["V1", "V3", "V4", "V5", "V6"]),
        ("taker", "like", "%medshake%", ["V1"]),
        ("text", "like", "%suivi", ["V5"]),
        ("text", "=", "null", ["V4"]),
        ("comments", "not like", "%a%", ["V1", "V2", "V4", "V5", "V6"]),
        # int references: 0 when unset
        ("intervention_id", ">", "0", ["V2", "V3", "V5"]),
        ("intervention_id", "=", "0", ["V1", "V4", "V6"]),
        ("fiche_id", "!=", "0", ["V2", "V3", "V5"]),
        ("fiche_id", "=", "F1", ["V2", "V5"]),
        ("calendar_id", "in", "C1,C3", ["V1", "V2", "V5", "V6"]),
        ("calendar_id", "not in", "C1,C3", ["V3", "V4"]),
        ("state", "=", "0", ["V1", "V2", "V3", "V4", "V5", "V6"]),
        # bool
        ("note", "=", "1", ["V6"]),
        ("note", "=", "0", ["V1", "V2", "V3", "V4", "V5"]),
        ("deleted", "=", "true", ["V5"]),
        ("deleted", "!=", "1", ["V1", "V2", "V3", "V4", "V6"]),
        # float
        ("num0", ">", "0.5", ["V2"]),
        ("num0", ">=", "0.5", ["V2", "V3"]),
        ("num0", "=", "null", ["V1", "V4", "V5", "V6"]),
    ],
)
def test_condition_operators_on_vevents(world: World, field: str, op: str, value: str,
                                        expected: list[str]) -> None:
    if value[:1] in "CF" and value[1:2].isdigit():
        value = ",".join(str(world[v]) for v in value.split(","))
    assert world.labels("vevents", conditions((field, op, value))) == expected


def test_conditions_on_the_catalogue(world: World) -> None:
    between = conditions(("length", ">=", "30"), ("length", "<", "60"))
    assert world.labels("interventions", between) == ["I2", "I3"]
    assert world.labels("calendars", conditions(("deleted", "=", "1"))) == ["C4"]
    assert world.labels("calendars", conditions(("calendarset_id", "=", "null"))) == ["C3"]
    assert world.labels("calendars", conditions(("name", "like", "dr %"))) == ["C1", "C3", "C4"]
    assert world.labels("calendarsets", conditions(("name", "!=", "Salles"))) == ["S1"]
    assert world.labels("interventions", conditions(("interventionset_id", "=", str(world["T2"])))) == ["I3"]


@pytest.mark.parametrize(
    ("params", "label"),
    [
        (conditions(("externid", "like", "1%")), "conditions[0]"),
        (conditions(("rappel_sms", "=", "1"), ("externid", ">", "many")), "conditions[1]"),
        (conditions(("birthdate", ">", "long ago")), "conditions[0]"),
        (conditions(("num0", "<", "small")), "conditions[0]"),
        (conditions(("rappel_sms", "=", "perhaps")), "conditions[0]"),
        (conditions(("shoe_size", "=", "42")), "conditions[0]"),
        (conditions(("lastname", "~", "x")), "conditions[0]"),
        (conditions(("num0", ">", "null")), "conditions[0]"),
        (conditions(("externid", "in", "1,two")), "conditions[0]"),
    ],
)
def test_bad_conditions_name_their_index(world: World, params: list[tuple[str, str]], label: str) -> None:
    refused(world.api.get("fiches", params=params), label)


# -- sort ------------------------------------------------------------------------------------------------
def _sorted_labels(world: World, collection: str, field: str, direction: str | None) -> list[str]:
    params = {"sort": field} | ({"dir": direction} if direction else {})
    listing = world.api.listing(collection, {"results": "all", **params})
    assert listing["sort"] == field
    assert listing["dir"] == (direction.lower() if direction else None)
    by_id = {v: k for k, v in world.ids.items() if k[0] == PREFIX[collection]}
    return [by_id[r["id"]] for r in listing["records"] if r["id"] in by_id]


@pytest.mark.parametrize(
    ("collection", "field", "direction", "expected"),
    [
        ("fiches", "externid", "asc", ["F1", "F5", "F2", "F4"]),  # int
        ("fiches", "externid", "desc", ["F4", "F2", "F5", "F1"]),
        ("fiches", "rappel_sms", None, ["F2", "F4", "F1", "F3", "F5"]),  # bool, ties by id
        ("fiches", "rappel_sms", "DESC", ["F1", "F3", "F5", "F2", "F4"]),
        ("fiches", "email", "asc", ["F5", "F1", "F4", "F2", "F3"]),  # string
        ("fiches", "email", "Desc", ["F3", "F2", "F4", "F1", "F5"]),
        ("fiches", "birthdate", "asc", ["F1", "F2", "F4"]),  # datetime
        ("fiches", "birthdate", "desc", ["F4", "F2", "F1"]),
        ("fiches", "num0", "asc", ["F3", "F1", "F2", "F5"]),  # float
        ("fiches", "num0", "desc", ["F5", "F2", "F1", "F3"]),
        ("vevents", "start", "asc", ["V4", "V6", "V1", "V2", "V3", "V5"]),
        ("vevents", "start", "desc", ["V5", "V3", "V2", "V1", "V6", "V4"]),
        ("vevents", "end", None, ["V4", "V6", "V1", "V2", "V3", "V5"]),  # V4 and V6 tie: by id
        ("vevents", "type", "desc", ["V4", "V1", "V2", "V3", "V5", "V6"]),
        ("vevents", "note", "desc", ["V6", "V1", "V2", "V3", "V4", "V5"]),
        ("vevents", "fiche_id", "asc", ["V1", "V4", "V6", "V2", "V5", "V3"]),
        ("interventions", "length", "desc", ["I4", "I3", "I2", "I1"]),
        ("calendars", "deleted", "desc", ["C4", "C1", "C2", "C3"]),
    ],
)
def test_sort_on_each_type(world: World, collection: str, field: str, direction: str | None,
                           expected: list[str]) -> None:
    got = _sorted_labels(world, collection, field, direction)
    if collection == "fiches" and field in ("externid", "birthdate", "num0"):
        nulls = {"externid": {"F3"}, "birthdate": {"F3", "F5"}, "num0": {"F4"}}[field]
        # where the rows without a value go is not specified; they stay together, at one end
        head, tail = got[: len(nulls)], got[-len(nulls):]
        assert set(head) == nulls or set(tail) == nulls, got
        got = [label for label in got if label not in nulls]
    assert got == expected


def test_sort_refusals(world: World) -> None:
    refused(world.api.get("fiches", params={"sort": "shoe_size"}), "sort")
    refused(world.api.get("fiches", params={"sort": "lastname", "dir": "sideways"}), "dir")
    refused(world.api.get("calendars", params={"sort": "intervention_ids"}), "sort")


# -- search ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("elodie", ["F1", "F2"]),
        ("ÉLODIE", ["F1", "F2"]),
        ("Lefèvre", ["F1", "F3"]),
        ("LEFEVRE", ["F1", "F3"]),
        ("élodie lefevre", ["F1"]),
        ("lefevre ELODIE", ["F1"]),
        ("elodie martin", ["F2"]),  # firstname and lastname
        ("zoe lefèvre", ["F3"]),
        ("angstrom", ["F5"]),
        ("ÅNGSTRÖM ana", ["F5"]),
        ("dupont@mail", ["F4"]),  # email substring; a deleted fiche is found too
        ("example.org", ["F1", "F2", "F3", "F4", "F5"]),
        ("34 56", ["F1"]),  # phone digits
        ("0498765", ["F3"]),  # second phone
        ("od", ["F1", "F2"]),
        ("lef martin", []),
        ("nobody", []),
    ],
)
def test_search_fiches(world: World, term: str, expected: list[str]) -> None:
    assert world.labels("fiches", {"search": term}) == expected


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("premiere", ["V2"]),
        ("PREMIÈRE VISITE", ["V2"]),
        ("controle", ["V3"]),
        ("zoé", ["V3"]),  # taker
        ("dr zoe", ["V3"]),
        ("lefevre", ["V2", "V5"]),
        ("lefevre suivi", ["V5"]),
        ("déjeuner pause", ["V1"]),
        ("medshake", ["V1"]),
        ("clicrdv", ["V2"]),
        ("congres", ["V6"]),
        ("visite martin", []),
    ],
)
def test_search_vevents(world: World, term: str, expected: list[str]) -> None:
    assert world.labels("vevents", {"search": term}) == expected


def test_search_combines_with_filters_and_conditions(world: World) -> None:
    assert world.labels("vevents", {"search": "lefevre", "calendar_id": world["C1"]}) == ["V2", "V5"]
    params = [("search", "lefevre"), *conditions(("deleted", "=", "0"))]
    assert world.labels("vevents", params) == ["V2"]
    assert world.labels("fiches", [("search", "elodie"), *conditions(("rappel_sms", "=", "0"))]) == ["F2"]


def test_search_on_the_catalogue(world: World) -> None:
    assert world.labels("calendars", {"search": "DR"}) == ["C1", "C3", "C4"]
    assert world.labels("interventions", {"search": "pansement"}) == ["I3"]


def test_search_too_long_is_400(world: World) -> None:
    refused(world.api.get("fiches", params={"search": "x" * 201}), "search")
