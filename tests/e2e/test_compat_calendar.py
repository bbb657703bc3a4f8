"""Replays of what real Calendar API clients send (reference, Appendix A), with our own requests:
MedShakeEHR's vevent sync and fiche creation, the official PHP client's un-nested fiche CRUD with
the apikey in the JSON body, its raw `>` condition, migclic's `.json` suffix and session, and XML
bodies and records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest

from .calendar_helpers import DATETIME, Api, check_full_record, pro_api
from .conftest import JSON_TYPE, RawResponse, RunningServer, Tenant, basic_header, login_token

ZONE = "Europe/Paris"


@dataclass
class Cabinet:
    tenant: Tenant
    api: Api
    calendar: int
    other_calendar: int
    intervention: int
    fiche: int

    @property
    def basic(self) -> str:
        return basic_header(*self.tenant.auth)


@pytest.fixture(scope="module")
def cabinet(server: RunningServer) -> Iterator[Cabinet]:
    tenant = server.new_tenant(timezone=ZONE)
    api = pro_api(server, tenant)
    intervention = api.create("interventions", name="Consultation", length=20)["id"]
    calendar = api.create("calendars", name="Dr MedShake", intervention_ids=[intervention])["id"]
    other = api.create("calendars", name="Dr Other", intervention_ids=[intervention])["id"]
    fiche = api.create("fiches", lastname="Patient", firstname="Paul")["id"]
    yield Cabinet(tenant, api, calendar, other, intervention, fiche)
    api.close()


def get_raw(server: RunningServer, target: str, headers: dict[str, str]) -> RawResponse:
    response = server.raw("GET", target, headers)
    assert response.status == 200, response.body[:500]
    assert response.header("content-type") == JSON_TYPE
    return response


def local_now() -> datetime:
    return datetime.now(ZoneInfo(ZONE)).replace(microsecond=0, tzinfo=None)


# -- MedShakeEHR (class/msClicRDV.php) --------------------------------------------------------------------
# Every call: `groups/G/<resource>?apikey=K&format=json<params>`, HTTP Basic with the plain password,
# curl's default `Accept: */*`; POST and PUT bodies are json_encode()d with `Content-Type:application/json`.
def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


class MedShake:
    def __init__(self, server: RunningServer, cabinet: Cabinet) -> None:
        self.server = server
        self.cabinet = cabinet
        self.group_id = str(cabinet.tenant.group_id)  # explode(':', ...)[0]: a string
        self.calendar_id = str(cabinet.calendar)

    def send(self, method: str, resource: str, params: str = "",
             data: dict[str, Any] | None = None) -> RawResponse:
        target = f"/api/v1/groups/{self.group_id}/{resource}?apikey={self.server.apikey}&format=json{params}"
        headers = {"Authorization": self.cabinet.basic, "Accept": "*/*"}
        body = None
        if data is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(data).encode()
        return self.server.raw(method, target, headers, body)

    def sync(self, start: datetime, end: datetime, lastupdate: datetime | None) -> dict[str, Any]:
        search = (
            f"&results=all&calendar_id={self.calendar_id}"
            "&conditions[0][field]=type&conditions[0][op]=%21%3D&conditions[0][value]=VfreebusyEvent"
            "&conditions[1][field]=taker&conditions[1][op]=%21%3D&conditions[1][value]=clicRDV"
            f"&conditions[2][field]=start&conditions[2][op]=%3E%3D&conditions[2][value]="
            f"{_stamp(start).replace(' ', '%20')}"
            f"&conditions[3][field]=end&conditions[3][op]=%3C%3D&conditions[3][value]="
            f"{_stamp(end).replace(' ', '%20')}"
        )
        if lastupdate is not None:
            search += ("&conditions[4][field]=updated_at&conditions[4][op]=%3E%3D&conditions[4][value]="
                       f"{_stamp(lastupdate).replace(' ', '%20')}")
        response = self.send("GET", "vevents", search)
        assert response.status == 200, response.body[:500]
        assert response.header("content-type") == JSON_TYPE
        return dict(response.json())


@pytest.fixture
def medshake(server: RunningServer, cabinet: Cabinet) -> MedShake:
    return MedShake(server, cabinet)


def test_medshake_vevent_sync(medshake: MedShake, cabinet: Cabinet) -> None:
    api, cal = cabinet.api, cabinet.calendar
    now = local_now()
    appointment = {"fiche_id": cabinet.fiche, "intervention_id": cabinet.intervention}

    def event(calendar: int, days: int, **fields: Any) -> int:
        start = (now + timedelta(days=days)).replace(hour=9, minute=0, second=0)
        return api.create("vevents", calendar_id=calendar, start=_stamp(start),
                          end=_stamp(start + timedelta(minutes=20)), **fields)["id"]

    mine = event(cal, 10, taker="MedShakeEHR", text="Patient Paul", **appointment)
    event(cal, 11, taker="clicRDV", from_web=True, **appointment)  # booked online: MedShake skips it
    event(cal, 12, type="VfreebusyEvent", rrule="FREQ=DAILY")  # opening hours
    closed = event(cal, 13, text="fermé", colorref="#CCCCCC")  # a block has no taker
    event(cabinet.other_calendar, 10, taker="MedShakeEHR", **appointment)  # another calendar
    event(cal, -10, taker="MedShakeEHR", **appointment)  # past
    event(cal, 3 * 366, taker="MedShakeEHR", **appointment)  # beyond the two years
    cancelled = event(cal, 14, taker="Dr Who", **appointment)
    assert api.update("vevents", cancelled, deleted="1")["deleted"] is True

    first = medshake.sync(now, now + timedelta(days=730), None)
    assert first["totalRecords"] == first["recordsReturned"] == first["pageSize"] == 3
    records = {r["id"]: r for r in first["records"]}
    assert set(records) == {mine, closed, cancelled}
    assert records[cancelled]["deleted"] is True and records[mine]["deleted"] is False
    for record in records.values():
        for key in ("id", "calendar_id", "start", "end", "fiche_id", "intervention_id", "text", "comments",
                    "taker", "type", "colorref", "from_web", "deleted", "updated_at"):
            assert key in record, key
        assert DATETIME.match(record["start"]) and DATETIME.match(record["updated_at"])
    assert (records[closed]["fiche_id"], records[closed]["intervention_id"]) == (0, 0)
    assert records[mine]["start"].endswith(" 09:00:00")

    # the incremental sync: `updated_at >= lastupdate`
    recent = medshake.sync(now, now + timedelta(days=730), now - timedelta(hours=1))
    assert {r["id"] for r in recent["records"]} == {mine, closed, cancelled}
    later = medshake.sync(now, now + timedelta(days=730), now + timedelta(hours=1))
    assert later["records"] == [] and later["totalRecords"] == 0 and later["pageSize"] == 1


def test_medshake_creates_a_fiche_then_an_appointment_then_moves_and_deletes_it(
    medshake: MedShake, cabinet: Cabinet
) -> None:
    # sendEvent(): the patient has no fiche yet
    fiche = medshake.send("POST", "fiches", data={"fiche": {
        "group_id": medshake.group_id, "externid": "4321", "rappel_email": 0, "firstname": "Jean",
        "lastname": "Dupont", "firstphone": "0612345678", "email": "jean.dupont@example.org"}})
    assert fiche.status == 201, fiche.body
    assert fiche.header("content-type") == JSON_TYPE
    created_fiche = fiche.json()
    assert isinstance(created_fiche["id"], int), "MedShake reads `id` from the bare object"
    check_full_record("fiches", created_fiche, cabinet.tenant.group_id)
    assert (created_fiche["externid"], created_fiche["rappel_email"], created_fiche["rappel_sms"]) == (
        4321, False, True)

    start = (local_now() + timedelta(days=20)).replace(hour=14, minute=0, second=0)
    appointment = medshake.send("POST", "vevents", data={"vevent": {
        "start": _stamp(start), "end": _stamp(start + timedelta(minutes=30)),
        "calendar_id": medshake.calendar_id, "text": "Dupont Jean", "intervention_id": cabinet.intervention,
        "taker": "MedShakeEHR", "comments": "motif", "from_web": 0, "fiche_id": str(created_fiche["id"])}})
    assert appointment.status == 201, appointment.body
    event = appointment.json()
    check_full_record("vevents", event, cabinet.tenant.group_id)
    assert (event["fiche_id"], event["intervention_id"], event["start"]) == (
        created_fiche["id"], cabinet.intervention, _stamp(start))

    closed = medshake.send("POST", "vevents", data={"vevent": {
        "start": _stamp(start + timedelta(hours=2)), "end": _stamp(start + timedelta(hours=4)),
        "calendar_id": medshake.calendar_id, "text": "fermé", "intervention_id": 0, "taker": "MedShakeEHR",
        "comments": "", "from_web": 0, "fiche_id": 0, "colorref": "#CCCCCC"}})
    assert closed.status == 201, closed.body
    assert (closed.json()["fiche_id"], closed.json()["intervention_id"], closed.json()["colorref"]) == (
        0, 0, "#CCCCCC")

    # modEvent(): moved to another calendar and time
    moved_start = start + timedelta(days=1)
    moved = medshake.send("PUT", f"vevents/{event['id']}", data={"vevent": {
        "calendar_id": str(cabinet.other_calendar), "start": _stamp(moved_start),
        "end": _stamp(moved_start + timedelta(minutes=30))}})
    assert moved.status == 200, moved.body
    assert (moved.json()["id"], moved.json()["calendar_id"], moved.json()["start"]) == (
        event["id"], cabinet.other_calendar, _stamp(moved_start))
    assert moved.json()["fiche_id"] == created_fiche["id"]

    # delEvent(): a soft delete through PUT, then seen by the sync of that calendar
    deleted = medshake.send("PUT", f"vevents/{event['id']}", data={"vevent": {
        "calendar_id": str(cabinet.other_calendar), "deleted": "1"}})
    assert deleted.status == 200 and deleted.json()["deleted"] is True
    medshake.calendar_id = str(cabinet.other_calendar)
    synced = medshake.sync(local_now(), local_now() + timedelta(days=730), None)
    assert [r["deleted"] for r in synced["records"] if r["id"] == event["id"]] == [True]

    # the fiche is found again by its externid, and read bare
    found = medshake.send("GET", "fiches",
                          "&conditions[0][field]=externid&conditions[0][op]=%3D&conditions[0][value]=4321")
    assert found.status == 200 and [r["id"] for r in found.json()["records"]] == [created_fiche["id"]]
    one = medshake.send("GET", f"fiches/{created_fiche['id']}")
    assert one.status == 200
    record = one.json()
    assert (record["birthdate"], record["firstphone"], record["secondphone"]) == (None, "0612345678", "")


def test_form_encoded_fiche_and_vevent(server: RunningServer, cabinet: Cabinet) -> None:
    gid = cabinet.tenant.group_id
    with server.client(auth=cabinet.tenant.auth, params={"apikey": server.apikey}) as client:
        fiche = client.post(f"/groups/{gid}/fiches.json", data={
            "fiche[group_id]": str(gid), "fiche[lastname]": "Formé", "fiche[rappel_sms]": "0",
            "fiche[externid]": "99"})
        assert fiche.status_code == 201, fiche.text
        assert (fiche.json()["lastname"], fiche.json()["rappel_sms"], fiche.json()["externid"]) == (
            "Formé", False, 99)
        vevent = client.post(f"/groups/{gid}/vevents.json", data={
            "vevent[calendar_id]": str(cabinet.calendar), "vevent[start]": "2031-03-01 10:00:00",
            "vevent[end]": "2031-03-01 10:30:00", "vevent[fiche_id]": str(fiche.json()["id"]),
            "vevent[intervention_id]": str(cabinet.intervention)})
        assert vevent.status_code == 201, vevent.text
        assert vevent.json()["fiche_id"] == fiche.json()["id"]


# -- the official PHP client (un-nested, apikey in the body) -----------------------------------------------
def test_php_client_fiche_crud_with_the_apikey_in_the_body(server: RunningServer, cabinet: Cabinet) -> None:
    headers = {"Authorization": cabinet.basic, "Accept": "application/json",
               "Content-Type": "application/json"}
    with server.client(headers=headers) as client:
        created = client.post("/fiches", content=json.dumps({"apikey": server.apikey, "fiche": {
            "firstname": "John", "lastname": "Doe", "email": "john@doe.com"}}))
        assert created.status_code == 201, created.text
        record = created.json()
        fiche_id = record["id"]
        check_full_record("fiches", record, cabinet.tenant.group_id)  # the pro's main group

        updated = client.put(f"/fiches/{fiche_id}", content=json.dumps({"apikey": server.apikey, "fiche": {
            "firstphone": "773-338-1234", "str0": "Lorem ipsum"}}))
        assert updated.status_code == 200, updated.text
        assert updated.json()["id"] == fiche_id and updated.json()["firstphone"] == "773-338-1234"

        fetched = client.get(f"/fiches/{fiche_id}", params={"apikey": server.apikey})
        assert fetched.status_code == 200 and fetched.json() == updated.json()

        deleted = client.delete(f"/fiches/{fiche_id}", params={"apikey": server.apikey})
        assert deleted.status_code == 200, deleted.text

        listed = client.get("/fiches/", params={"apikey": server.apikey, "results": "all"})
        assert listed.status_code == 200, listed.text
        assert [r["deleted"] for r in listed.json()["records"] if r["id"] == fiche_id] == [True]
        assert cabinet.fiche in [r["id"] for r in listed.json()["records"]]

        # no apikey anywhere: 401
        assert client.post("/fiches", content=json.dumps({"fiche": {"lastname": "x"}})).status_code == 401
        assert client.get(f"/fiches/{fiche_id}").status_code == 401


def test_php_client_raw_greater_than_condition(server: RunningServer, cabinet: Cabinet) -> None:
    api = cabinet.api
    appointment = api.create("vevents", calendar_id=cabinet.calendar, start="2031-05-01 09:00",
                             end="2031-05-01 09:20", fiche_id=cabinet.fiche,
                             intervention_id=cabinet.intervention)
    block = api.create("vevents", calendar_id=cabinet.calendar, start="2031-05-01 12:00",
                       end="2031-05-01 13:00")
    headers = {"Authorization": cabinet.basic, "Accept": "application/json"}
    target = (f"/api/v1/vevents?apikey={server.apikey}&results=all"
              "&conditions[0][field]=intervention_id&conditions[0][op]=>&conditions[0][value]=0")
    records = get_raw(server, target, headers).json()["records"]
    ids = {r["id"] for r in records}
    assert appointment["id"] in ids and block["id"] not in ids
    assert all(r["intervention_id"] > 0 for r in records)
    # and the other raw operators, with a raw `=` inside a value
    target = (f"/api/v1/vevents?apikey={server.apikey}&results=all"
              "&conditions[0][field]=start&conditions[0][op]=>=&conditions[0][value]=2031-05-01+12:00:00"
              "&conditions[1][field]=start&conditions[1][op]=<&conditions[1][value]=2031-05-01%2013:00:00"
              "&conditions[2][field]=text&conditions[2][op]=!=&conditions[2][value]=a=b")
    assert [r["id"] for r in get_raw(server, target, headers).json()["records"]] == [block["id"]]


def test_php_client_second_question_mark_separates_parameters(server: RunningServer, cabinet: Cabinet) -> None:
    """The official PHP client appends `?format=json&apikey=...` to a URL that already has a query:
    the second raw `?` separates parameters like `&` (CONTRACT §1), and a `?` inside a value arrives
    as %3F and stays part of it."""
    api = cabinet.api
    late = api.create("vevents", calendar_id=cabinet.calendar, start="2032-06-01 09:00",
                      end="2032-06-01 09:20", text="what?")
    early = api.create("vevents", calendar_id=cabinet.calendar, start="2032-05-01 09:00",
                       end="2032-05-01 09:20", text="early")
    headers = {"Authorization": cabinet.basic, "Accept": "application/json"}
    target = ("/api/v1/vevents?results=all&conditions[0][field]=start&conditions[0][op]=>="
              "&conditions[0][value]=2032-05-15%2000:00:00"
              "&conditions[1][field]=start&conditions[1][op]=<&conditions[1][value]=2100-01-01%2000:00:00"
              f"?format=json&apikey={server.apikey}")
    response = get_raw(server, target, headers)
    ids = [r["id"] for r in response.json()["records"]]
    assert late["id"] in ids and early["id"] not in ids
    # the same with the second `?` after a suffix-less nested path, and a value holding an encoded `?`
    gid = cabinet.tenant.group_id
    target = (f"/api/v1/groups/{gid}/vevents?conditions[0][field]=text&conditions[0][op]=%3D"
              f"&conditions[0][value]=what%3F?format=json&apikey={server.apikey}")
    assert [r["id"] for r in get_raw(server, target, headers).json()["records"]] == [late["id"]]
    # and the apikey after the second `?` is a real apikey: without it, 401
    unkeyed = server.raw("GET", "/api/v1/vevents?results=1?format=json", headers)
    assert unkeyed.status == 401


def test_medshake_appointment_without_fiche_then_linked(medshake: MedShake, cabinet: Cabinet) -> None:
    """MedShakeEHR creates the patient's fiche, then posts the appointment vevent without `fiche_id`:
    an appointment whose customer is not linked yet (CONTRACT §5). Accepted, listed, counted as busy
    time like any appointment, and linked by a later PUT."""
    start = (local_now() + timedelta(days=40)).replace(hour=10, minute=0, second=0)
    posted = medshake.send("POST", "vevents", data={"vevent": {
        "start": _stamp(start), "end": _stamp(start + timedelta(minutes=20)),
        "calendar_id": medshake.calendar_id, "text": "Martin Claire", "intervention_id": cabinet.intervention,
        "taker": "MedShakeEHR", "comments": "motif", "from_web": 0}})
    assert posted.status == 201, posted.body
    event = posted.json()
    check_full_record("vevents", event, cabinet.tenant.group_id)
    assert (event["fiche_id"], event["intervention_id"]) == (0, cabinet.intervention)

    synced = medshake.sync(start - timedelta(hours=1), start + timedelta(hours=1), None)
    assert [r["id"] for r in synced["records"]] == [event["id"]]
    gid = cabinet.tenant.group_id
    with medshake.server.client(auth=cabinet.tenant.auth, params={"apikey": medshake.server.apikey}) as client:
        listed = client.get(f"/groups/{gid}/appointments.json", params={"calendar_id": cabinet.calendar})
        assert listed.status_code == 200, listed.text
        assert event["id"] in [r["id"] for r in listed.json()["records"]]
        # the calendar's one place at that time is taken: inside an opening, the free starts skip it
        cabinet.api.create("vevents", calendar_id=cabinet.calendar, type="VfreebusyEvent",
                           start=_stamp(start - timedelta(hours=1)), end=_stamp(start + timedelta(hours=1)))
        slots = client.get(f"/groups/{gid}/availabletimeslots.json", params={
            "intervention_ids[]": cabinet.intervention, "calendar_id": cabinet.calendar,
            "start": _stamp(start - timedelta(hours=1)), "end": _stamp(start + timedelta(hours=1))})
        assert slots.status_code == 200, slots.text
        starts = [s["start"] for s in slots.json()["availabletimeslots"]]
        assert _stamp(start - timedelta(hours=1)) in starts and _stamp(start) not in starts

    linked = medshake.send("PUT", f"vevents/{event['id']}", data={"vevent": {"fiche_id": str(cabinet.fiche)}})
    assert linked.status == 200, linked.body
    assert (linked.json()["fiche_id"], linked.json()["intervention_id"]) == (cabinet.fiche, cabinet.intervention)

    # a fiche without a service is still refused, naming the field that is missing
    refused = medshake.send("POST", "vevents", data={"vevent": {
        "start": _stamp(start + timedelta(hours=3)), "end": _stamp(start + timedelta(hours=3, minutes=20)),
        "calendar_id": medshake.calendar_id, "fiche_id": str(cabinet.fiche)}})
    assert refused.status == 400 and "intervention_id" in refused.json()["errors"]
    # and an unlinked appointment is no more recurring than a linked one
    recurring = medshake.send("POST", "vevents", data={"vevent": {
        "start": _stamp(start + timedelta(hours=5)), "end": _stamp(start + timedelta(hours=5, minutes=20)),
        "calendar_id": medshake.calendar_id, "intervention_id": cabinet.intervention, "rrule": "FREQ=DAILY"}})
    assert recurring.status == 400 and "rrule" in recurring.json()["errors"]


# -- migclic: .json suffixes, session without apikey --------------------------------------------------------
def test_json_suffix_and_session_only_reads(server: RunningServer, cabinet: Cabinet) -> None:
    gid = cabinet.tenant.group_id
    token = login_token(server, cabinet.tenant.email, cabinet.tenant.password, how="form")
    with server.client(headers={"Cookie": f"_session_id={token}"}) as client:
        listing = client.get(f"/groups/{gid}/fiches.json", params={"results": "all"})
        assert listing.status_code == 200, listing.text
        assert listing.headers["content-type"] == JSON_TYPE
        assert cabinet.fiche in [r["id"] for r in listing.json()["records"]]
        assert listing.json()["pageSize"] > 0
        one = client.get(f"/groups/{gid}/fiches/{cabinet.fiche}.json")
        assert one.status_code == 200 and one.json()["id"] == cabinet.fiche
        paged = client.get(f"/groups/{gid}/calendars.json", params={"startIndex": 1, "results": 1})
        assert paged.json()["startIndex"] == 1 and len(paged.json()["records"]) == 1
        created = client.post(f"/groups/{gid}/fiches.json", params={"apikey": server.apikey},
                              json={"fiche": {"lastname": "Session"}})
        assert created.status_code == 201 and created.json()["lastname"] == "Session"


# -- XML ---------------------------------------------------------------------------------------------------
def _xml(response: Any) -> ElementTree.Element:
    assert response.headers["content-type"].startswith("application/xml"), response.headers
    return ElementTree.fromstring(response.content)


def _child(root: ElementTree.Element, tag: str) -> ElementTree.Element:
    element = root.find(tag)
    assert element is not None, f"no <{tag}> in {ElementTree.tostring(root)[:300]!r}"
    return element


def _typed(root: ElementTree.Element, tag: str) -> tuple[str | None, str | None]:
    """(type attribute, text) of a child element; (`nil`, None) for a nil one."""
    element = _child(root, tag)
    if element.get("nil") == "true":
        return "nil", None
    return element.get("type"), element.text


def test_xml_body_and_xml_record(server: RunningServer, cabinet: Cabinet) -> None:
    gid = cabinet.tenant.group_id
    with server.client(auth=cabinet.tenant.auth, params={"apikey": server.apikey}) as client:
        created = client.post(f"/groups/{gid}/fiches", content=b"<fiche><lastname>Doe</lastname></fiche>",
                              headers={"Content-Type": "application/xml", "Accept": "application/json"})
        assert created.status_code == 201, created.text
        assert created.json()["lastname"] == "Doe"
        fiche_id = created.json()["id"]

        root = _xml(client.get(f"/groups/{gid}/fiches/{fiche_id}.xml"))
        assert root.tag == "fiche"
        tags = [child.tag for child in root]
        assert all("_" not in tag for tag in tags), tags
        for dashed in ("group-id", "rappel-email", "rappel-sms", "from-web", "created-at", "updated-at"):
            assert dashed in tags, dashed
        assert len(tags) == len(created.json()), "every field, once"
        assert _typed(root, "id") == ("integer", str(fiche_id))
        assert _typed(root, "group-id") == ("integer", str(gid))
        assert _typed(root, "lastname") == (None, "Doe")
        assert _typed(root, "firstname") == (None, None), "an empty string, not nil"
        assert _typed(root, "birthdate") == ("nil", None)
        assert _typed(root, "externid") == ("nil", None)
        assert _typed(root, "rappel-email") == ("boolean", "true")
        assert _typed(root, "deleted") == ("boolean", "false")
        kind, created_at = _typed(root, "created-at")
        assert kind == "datetime" and created_at and "T" in created_at and created_at[-6] in "+-", created_at

        # typed and dasherised elements in the body
        xml_type = {"Content-Type": "application/xml"}
        typed = client.post(f"/groups/{gid}/fiches.xml", headers=xml_type, content=(
            b'<?xml version="1.0" encoding="UTF-8"?><fiche><lastname>Ro\xc3\xa9</lastname>'
            b'<rappel-sms type="boolean">false</rappel-sms><externid type="integer">12</externid>'
            b'<birthdate type="datetime">1980-01-02T00:00:00+01:00</birthdate><num0>2.5</num0>'
            b'<unknown-thing>x</unknown-thing></fiche>'))
        assert typed.status_code == 201, typed.text
        record = _xml(typed)
        assert record.tag == "fiche"
        assert (record.findtext("lastname"), record.findtext("rappel-sms"), record.findtext("externid")) == (
            "Roé", "false", "12")
        assert record.findtext("birthdate") == "1980-01-02T00:00:00+01:00"
        assert _typed(record, "num0") == ("float", "2.5")

        refused = client.post(f"/groups/{gid}/fiches.xml", headers={"Content-Type": "application/xml"},
                              content=f"<fiche><lastname>{'x' * 65}</lastname></fiche>".encode())
        assert refused.status_code == 400
        error = _xml(refused)
        assert error.findtext("error") and error.find("errors") is not None
        _child(_child(error, "errors"), "lastname")


def test_xml_collection_of_vevents(server: RunningServer, cabinet: Cabinet) -> None:
    gid = cabinet.tenant.group_id
    with server.client(auth=cabinet.tenant.auth, params={"apikey": server.apikey}) as client:
        response = client.get(f"/groups/{gid}/vevents.xml", params={"results": 2, "sort": "start"})
        assert response.status_code == 200
        root = _xml(response)
        assert root.tag == "hash"
        records = root.find("records")
        assert records is not None and records.get("type") == "array"
        assert [child.tag for child in records] == ["record", "record"]
        first = records[0]
        assert first.find("fiche-id") is not None and first.find("intervention-id") is not None
        assert _typed(first, "start")[0] == "datetime"
        for key in ("totalRecords", "startIndex", "recordsReturned", "pageSize", "sort", "dir"):
            assert root.find(key) is not None, key
        assert root.findtext("recordsReturned") == "2" and root.findtext("sort") == "start"


def test_url_encoded_brackets_work_too(server: RunningServer, cabinet: Cabinet) -> None:
    gid = cabinet.tenant.group_id
    target = (f"/api/v1/groups/{gid}/calendars?apikey={server.apikey}"
              f"&{quote('intervention_ids[]')}={cabinet.intervention}")
    records = get_raw(server, target, {"Authorization": cabinet.basic}).json()["records"]
    assert sorted(r["id"] for r in records) == sorted([cabinet.calendar, cabinet.other_calendar])
