"""A streamed list (`results=all`) and the pages of the same list (`results=25`) hold the same
records, key for key and type for type: the JSON stream of fiches and vevents is encoded by its own
path (crud/streamed.py, StreamedJsonShape), the pages by the general one.

The rows are the hard cases of that path: custom columns away from their defaults (they travel
packed in one column), datetimes on both sides of a DST change in two zones, strings with quotes,
backslashes, control characters, accents and emoji, floats that are not whole, whole, or whole but
beyond 64 bits, NULLs, deleted rows; an un-nested stream over two groups renders each row in the
zone of its own group. XML streams and the account profile keep the general path: checked too."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

import pytest

from openrdv.db.engine import Database

from .calendar_helpers import Api, account_api
from .conftest import RunningServer, Tenant, unique

PARIS, NEW_YORK = "Europe/Paris", "America/New_York"
PAGE = 25

# Paris: clocks go 02:00 → 03:00 on 2024-03-31 and 03:00 → 02:00 on 2024-10-27;
# New York: 02:00 → 03:00 on 2024-03-10 and 02:00 → 01:00 on 2024-11-03.
PARIS_FICHES: list[dict[str, Any]] = [
    {"lastname": "Plain"},
    {"lastname": "Bools", "bool0": True, "bool9": True, "rappel_sms": False, "from_web": True},
    {"lastname": "Before spring", "dt0": "2024-03-31 01:59:59", "dt1": "2024-10-27 02:30:00"},
    {"lastname": "After spring", "dt0": "2024-03-31 03:00:00", "birthdate": "1980-06-15"},
    {
        "lastname": "Strings",
        "firstname": "Zoé",
        "comments": 'a "quoted" \\ comment',
        "str0": 'say "hi"',
        "str1": "back\\slash \\n \\u0041",
        "str2": "ctrl\x01\x1f\ttab\nnewline\r\x7f",
        "str3": "Énergie àçcents ñ ß",
        "str14": "emoji 😀🎉 and 中文",
        "txt0": "multi\nline\r\ntext",
        "txt2": "</script>&<>'",
    },
    {"lastname": "Tenth", "num0": 0.1},
    {"lastname": "Third", "num0": 1 / 3, "num3": -0.0},
    {"lastname": "Whole", "num0": 3.0, "num1": -2.5, "num2": 0.0},
    {"lastname": "Large", "num0": 1e20, "num1": 123456789012.5, "num2": 2.0**53 + 2, "num3": 1.5e300},
    {"lastname": "Edge of 64 bits", "num0": 1e19, "num1": 2.0**64, "num2": -(2.0**63)},
    {"lastname": "Tiny", "num0": 5e-324, "num1": -1e-9},
    {"lastname": "Last packed only", "txt2": "the last custom column"},
    {"lastname": "First packed only", "bool0": True},
    {"lastname": "Dt only", "dt1": "2031-12-31 23:59:59"},
    {"lastname": "Ids", "externid": 42, "email": "ids@example.org", "secondphone": "+33 6 00 00 00 00"},
    {"lastname": "", "firstname": "No lastname", "str7": " "},
    *({"lastname": f"Filler {n:02d}", "str5": "x" if n % 7 == 0 else ""} for n in range(16)),
]
NEW_YORK_FICHES: list[dict[str, Any]] = [
    {"lastname": "NY plain"},
    {"lastname": "NY before spring", "dt0": "2024-03-10 01:59:59", "birthdate": "1999-12-31 23:00:00"},
    {"lastname": "NY after spring", "dt0": "2024-03-10 03:00:00", "dt1": "2024-11-03 01:30:00"},
    {"lastname": "NY strings", "str0": "«guillemets» \"and\" 'quotes'", "num0": 0.1, "bool3": True},
    *({"lastname": f"NY filler {n:02d}"} for n in range(24)),
]
DELETED = {"Tiny", "Filler 03", "NY filler 02"}


def event_bodies(calendar: int, fiche: int, intervention: int, spring: str) -> list[dict[str, Any]]:
    """Vevents of one group: blocks (fiche_id/intervention_id 0), an appointment, a note, an online
    availability, custom columns set and not; `spring` is the day that group's clocks go forward."""
    return [
        {"calendar_id": calendar, "start": f"{spring} 01:30:00", "end": f"{spring} 03:30:00", "text": "Across"},
        {
            "calendar_id": calendar,
            "start": "2030-01-07 12:00:00",
            "end": "2030-01-07 13:00:00",
            "fiche_id": fiche,
            "intervention_id": intervention,
            "text": "Appointment",
            "from_web": True,
            "websource": "widget",
            "state": 2,
        },
        {
            "calendar_id": calendar,
            "start": "2030-01-08 00:00:00",
            "end": "2030-01-08 00:00:00",
            "note": True,
            "text": 'Note "du jour" ☀',
        },
        {
            "calendar_id": calendar,
            "start": "2030-01-09 08:00:00",
            "end": "2030-01-09 18:00:00",
            "type": "VfreebusyEvent",
            "rrule": "FREQ=WEEKLY;COUNT=4",
        },
        {
            "calendar_id": calendar,
            "start": "2030-01-10 09:00:00",
            "end": "2030-01-10 10:00:00",
            "bool5": True,
            "dt0": f"{spring} 03:00:00",
            "num1": 2.5,
            "num2": 7.0,
            "str9": "tab\there\\",
            "txt1": "émoji 🙂",
            "comments": "custom",
            "colorref": "#FF0000",
            "taker": "me",
        },
        *(
            {"calendar_id": calendar, "start": f"2030-02-{day:02d} 10:00:00", "end": f"2030-02-{day:02d} 10:30:00"}
            for day in range(1, 23)
        ),
    ]


@dataclass
class World:
    pro: Tenant  # its main group is in Paris
    new_york_group: int
    api: Api
    fiches: dict[str, dict[str, Any]]  # by lastname (firstname when none), as created
    account_fiches: list[int]


def typed(value: Any) -> Any:
    """A parsed JSON value with the type of every scalar beside it and the order of every object's
    keys: in Python True == 1 and 3 == 3.0, in JSON they are different documents."""
    if isinstance(value, dict):
        return [(key, typed(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [typed(item) for item in value]
    return (type(value).__name__, value)


def create_pro_in_two_zones(server: RunningServer) -> tuple[Tenant, int]:
    tag = unique("stream")
    paris = server.cli("group", "create", "--name", f"E2E {tag} Paris", "--timezone", PARIS)
    new_york = server.cli("group", "create", "--name", f"E2E {tag} New York", "--timezone", NEW_YORK)
    password = "pw-" + secrets.token_hex(8)
    email = f"{tag}@e2e.example.org"
    pro = server.cli(
        "pro",
        "create",
        "--group",
        str(paris["id"]),
        "--also",
        str(new_york["id"]),
        "--email",
        email,
        "--password",
        password,
        "--firstname",
        "Stream",
        "--lastname",
        tag,
    )
    return Tenant(int(paris["id"]), email, password, int(pro["id"])), int(new_york["id"])


@pytest.fixture(scope="module")
def world(server: RunningServer) -> Iterator[World]:
    pro, new_york = create_pro_in_two_zones(server)
    api = Api(server, pro.group_id, auth=pro.auth)
    fiches: dict[str, dict[str, Any]] = {}
    for group, bodies in ((pro.group_id, PARIS_FICHES), (new_york, NEW_YORK_FICHES)):
        for body in bodies:
            response = api.post("fiches", body, group=group)
            assert response.status_code == 201, response.text
            record = response.json()
            fiches[body["lastname"] or body["firstname"]] = record
        intervention = api.post("interventions", {"name": "Consultation"}, group=group).json()["id"]
        calendar = api.post("calendars", {"name": "Dr", "intervention_ids": [intervention]}, group=group).json()
        fiche = next(r["id"] for r in fiches.values() if r["group_id"] == group)
        spring = "2024-03-31" if group == pro.group_id else "2024-03-10"
        for body in event_bodies(calendar["id"], fiche, intervention, spring):
            response = api.post("vevents", body, group=group)
            assert response.status_code == 201, response.text
            if body.get("text") == "Across":
                assert api.delete("vevents", response.json()["id"], group=group).status_code == 200
    for name in DELETED:
        record = fiches[name]
        assert api.delete("fiches", record["id"], group=record["group_id"]).status_code == 200
    # fiches of an online customer (a booking would make them): for the account profile's test
    account_fiches = [fiches["Strings"]["id"], fiches["Bools"]["id"], fiches["Tiny"]["id"]]
    yield World(pro, new_york, api, fiches, account_fiches)
    api.close()


def streamed(
    api: Api, collection: str, params: dict[str, Any] | None = None, *, group: int | None = None, nested: bool = True
) -> dict[str, Any]:
    response = api.get(collection, group=group, nested=nested, params={"results": "all", **(params or {})})
    assert response.status_code == 200, response.text
    assert response.headers.get("transfer-encoding") == "chunked", "results=all is streamed"
    body = response.json()
    assert body["recordsReturned"] == len(body["records"]), body
    return dict(body)


def paged(
    api: Api,
    collection: str,
    params: dict[str, Any] | None = None,
    *,
    group: int | None = None,
    nested: bool = True,
    start: int = 0,
) -> list[dict[str, Any]]:
    """Every record of the list, read 25 at a time from `start`."""
    records: list[dict[str, Any]] = []
    while True:
        query = {"results": PAGE, "startIndex": start + len(records), **(params or {})}
        response = api.get(collection, group=group, nested=nested, params=query)
        assert response.status_code == 200, response.text
        page = response.json()["records"]
        records += page
        if len(page) < PAGE:
            return records


def assert_same_records(stream: list[dict[str, Any]], pages: list[dict[str, Any]]) -> None:
    assert [r["id"] for r in stream] == [r["id"] for r in pages]
    for streamed_record, paged_record in zip(stream, pages, strict=True):
        assert typed(streamed_record) == typed(paged_record), streamed_record["id"]


@pytest.mark.parametrize("collection", ["fiches", "vevents"])
@pytest.mark.parametrize("zone", [PARIS, NEW_YORK])
def test_nested_stream_equals_the_pages(world: World, collection: str, zone: str) -> None:
    group = world.pro.group_id if zone == PARIS else world.new_york_group
    body = streamed(world.api, collection, group=group)
    pages = paged(world.api, collection, group=group)
    assert len(pages) > PAGE, "the list spans several pages"
    assert body["totalRecords"] == len(pages)
    assert_same_records(body["records"], pages)
    assert any(r["deleted"] for r in body["records"]), "deleted rows are listed"


@pytest.mark.parametrize("collection", ["fiches", "vevents"])
def test_un_nested_stream_over_two_zones_equals_the_pages(world: World, collection: str) -> None:
    body = streamed(world.api, collection, nested=False)
    pages = paged(world.api, collection, nested=False)
    assert {r["group_id"] for r in pages} == {world.pro.group_id, world.new_york_group}
    assert_same_records(body["records"], pages)


def test_each_row_is_rendered_in_the_zone_of_its_group(world: World) -> None:
    """The wall times given at creation come back as given, each in its own group's zone, from the
    nested and the un-nested stream alike (one chunk there holds rows of both groups)."""
    expected = {
        "Before spring": ("2024-03-31 01:59:59", "2024-10-27 02:30:00"),
        "After spring": ("2024-03-31 03:00:00", None),
        "Dt only": (None, "2031-12-31 23:59:59"),
        "NY before spring": ("2024-03-10 01:59:59", None),
        "NY after spring": ("2024-03-10 03:00:00", "2024-11-03 01:30:00"),
    }
    ids = {world.fiches[name]["id"]: name for name in expected}
    for records in (
        streamed(world.api, "fiches", nested=False)["records"],
        streamed(world.api, "fiches", group=world.pro.group_id)["records"]
        + streamed(world.api, "fiches", group=world.new_york_group)["records"],
    ):
        found = {ids[r["id"]]: (r["dt0"], r["dt1"]) for r in records if r["id"] in ids}
        assert found == expected


def test_values_away_from_their_defaults_come_back_exactly(world: World) -> None:
    by_id = {r["id"]: r for r in streamed(world.api, "fiches", group=world.pro.group_id)["records"]}
    for body in PARIS_FICHES:
        record = by_id[world.fiches[body["lastname"] or body["firstname"]]["id"]]
        for name, value in body.items():
            if name.startswith("num"):  # whole numbers as integers, as long as they fit 64 bits
                whole = value % 1 == 0 and -(2**63) <= value < 2**64
                assert record[name] == value and type(record[name]) is (int if whole else float), (name, value)
            elif name == "birthdate":
                assert record[name] == f"{value} 00:00:00", (name, value, record[name])
            else:
                assert record[name] == value, (name, value, record[name])
    strings = by_id[world.fiches["Strings"]["id"]]
    assert strings["str2"] == "ctrl\x01\x1f\ttab\nnewline\r\x7f"
    assert strings["bool0"] is False and strings["dt0"] is None and strings["num0"] is None
    large = by_id[world.fiches["Large"]["id"]]
    assert large["num2"] == 2**53 + 2 and type(large["num2"]) is int
    assert large["num0"] == 1e20 and type(large["num0"]) is float  # whole, but past 64-bit integers
    edge = by_id[world.fiches["Edge of 64 bits"]["id"]]
    assert type(edge["num0"]) is int and type(edge["num1"]) is float and edge["num2"] == -(2**63)


@pytest.mark.parametrize(
    "params",
    [
        {"startIndex": 7},
        {"sort": "lastname", "dir": "desc"},
        {"search": "filler"},
        {"conditions[0][field]": "deleted", "conditions[0][op]": "=", "conditions[0][value]": "1"},
        {"conditions[0][field]": "num0", "conditions[0][op]": "!=", "conditions[0][value]": "null"},
    ],
    ids=["start-index", "sort", "search", "deleted", "num0-set"],
)
def test_stream_with_parameters_equals_the_pages(world: World, params: dict[str, Any]) -> None:
    start = int(params.get("startIndex", 0))
    rest = {k: v for k, v in params.items() if k != "startIndex"}
    body = streamed(world.api, "fiches", params, group=world.pro.group_id)
    pages = paged(world.api, "fiches", rest, group=world.pro.group_id, start=start)
    assert pages, params
    assert_same_records(body["records"], pages)


def xml_records(text: bytes) -> list[bytes]:
    root = ElementTree.fromstring(text)
    records = root.find("records")
    assert records is not None and records.get("type") == "array"
    return [ElementTree.tostring(record) for record in records]


@pytest.mark.parametrize("collection", ["fiches", "vevents"])
def test_xml_stream_equals_the_xml_pages(world: World, collection: str) -> None:
    path = world.api.path(collection) + ".xml"
    response = world.api.client.get(path, params={"results": "all"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    assert response.headers.get("transfer-encoding") == "chunked"
    root = ElementTree.fromstring(response.content)
    total = root.find("totalRecords")
    assert total is not None and total.text is not None
    stream = xml_records(response.content)
    pages: list[bytes] = []
    while True:
        page = world.api.client.get(path, params={"results": PAGE, "startIndex": len(pages)})
        assert page.status_code == 200, page.text
        found = xml_records(page.content)
        pages += found
        if len(found) < PAGE:
            break
    assert int(total.text) == len(stream) == len(pages) > PAGE
    assert stream == pages
    if collection == "fiches":
        text = response.content.decode()
        assert 'type="datetime">2024-03-31T03:00:00+02:00<' in text
        assert 'type="datetime">2024-03-31T01:59:59+01:00<' in text
        assert "<str0>say &quot;hi&quot;</str0>" in text


def test_account_stream_keeps_its_own_rules(server: RunningServer, world: World) -> None:
    """An account streams its fiches the general way: only the custom columns its group shows
    online, `$` before the lastname of a deleted fiche; its stream equals its pages."""
    group = world.pro.group_id
    visible = world.api.post("customfields", {"model": "Fiche", "name": "str0", "user_visible": True})
    assert visible.status_code == 201, visible.text
    try:
        with account_api(server, group) as account:
            me = account.client.get("/accounts").json()["records"][0]["id"]
            database = Database(server.database_url)
            try:
                with database.connect() as conn:
                    for fiche_id in world.account_fiches:
                        conn.execute("UPDATE fiches SET account_id = ? WHERE id = ?", (me, fiche_id))
            finally:
                database.close()
            body = streamed(account, "fiches")
            pages = paged(account, "fiches")
            assert_same_records(body["records"], pages)
            records = {r["id"]: r for r in body["records"]}
            assert sorted(records) == sorted(world.account_fiches)
            for record in records.values():
                assert "str0" in record and "bool0" not in record and "num0" not in record, sorted(record)
            assert records[world.fiches["Strings"]["id"]]["str0"] == 'say "hi"'
            assert records[world.fiches["Tiny"]["id"]]["lastname"] == "$Tiny"
            assert records[world.fiches["Bools"]["id"]]["lastname"] == "Bools"
    finally:
        assert world.api.delete("customfields", visible.json()["id"]).status_code == 200
