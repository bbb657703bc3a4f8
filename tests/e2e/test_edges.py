"""Input at the edges, through a real server on either engine (issue "Hardening"):

* 4 - sort, conditions, search and list filters never touch a field the caller may not read (an
  account probing a pro's note hidden in a custom column of its own fiche, a fiche's `externid`, the
  `taker` of its appointments);
* 7 - dates beyond a field's years are a 400 naming the field, and no stored instant, however far,
  makes a list fail once its group changes zone (pages, `results=all` in JSON and XML, one record);
* 8 - ids and integers beyond 64 bits are a 400 naming the parameter (or a 404 in a path);
* 12 - what one search may cost: words capped, and a statement running past the statement timeout
  stopped with a 503 that leaves no transaction behind.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from .calendar_helpers import Api, conditions, new_account, pro_api, refused
from .conftest import RunningServer, StartServer, Tenant, error_of

INT64 = 2**63 - 1
FAR = 253402300799 - 3600  # 9999-12-31 23:00:00 UTC: stored before any range was enforced
FAR_PAST = -62135596800 + 3600  # 0001-01-01 01:00:00 UTC


def run_sql(server: RunningServer, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """One statement (with `?` placeholders) on the server's database, committed; its rows."""
    url = server.database_url
    if url.startswith("sqlite:///"):
        import sqlite3

        conn = sqlite3.connect(url[len("sqlite:///") :], timeout=30, isolation_level=None)
        try:
            return [tuple(r) for r in conn.execute(sql, params).fetchall()]
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        cur = pg.execute(sql.replace("?", "%s"), params)
        return [tuple(r) for r in cur.fetchall()] if cur.description else []


@pytest.fixture(scope="module")
def tenant(server: RunningServer) -> Tenant:
    return server.new_tenant()


@pytest.fixture(scope="module")
def pro(server: RunningServer, tenant: Tenant) -> Iterator[Api]:
    api = pro_api(server, tenant)
    yield api
    api.close()


@pytest.fixture(scope="module")
def calendar(pro: Api) -> dict[str, Any]:
    return pro.create("calendars", name="Edges", publicname="Edges")


@contextmanager
def customer(server: RunningServer, group_id: int, fiche_id: int) -> Iterator[Api]:
    """An online account whose fiche (in `group_id`) is `fiche_id`, logged in."""
    account, token = new_account(server, group_id)
    run_sql(server, "UPDATE fiches SET account_id = ? WHERE id = ?", (account["id"], fiche_id))
    api = Api(server, group_id, cookie=token)
    try:
        yield api
    finally:
        api.close()


# -- 4: fields the caller may not read ----------------------------------------------------------------------


def test_an_account_cannot_probe_a_custom_column_its_group_hides(server: RunningServer, tenant: Tenant,
                                                                 pro: Api) -> None:
    """The pro keeps a private note in str0 of the customer's own fiche (str1 is shown online)."""
    pro.create("customfields", model="Fiche", name="str1", user_label="Allergies", user_visible=True)
    fiche = pro.create("fiches", lastname="Probe", str0="hidden: unpaid bills", str1="pollen")
    with customer(server, tenant.group_id, fiche["id"]) as me:
        mine = me.one("fiches", fiche["id"])
        assert "str0" not in mine and mine["str1"] == "pollen"
        for nested in (True, False):
            probe = me.get("fiches", nested=nested, params=conditions(("str0", "like", "h%")))
            assert "str0" in refused(probe, "conditions[0]")
            for op, value in (("=", "hidden: unpaid bills"), ("!=", "x"), ("in", "a,b"), ("not like", "%")):
                refused(me.get("fiches", nested=nested, params=conditions(("str0", op, value))), "conditions[0]")
            refused(me.get("fiches", nested=nested, params={"sort": "str0"}), "sort")
            refused(me.get("fiches", nested=nested, params={"sort": "comments"}), "sort")
            # the column the group shows is the account's to filter and sort on
            shown = me.listing("fiches", conditions(("str1", "like", "pol%")), nested=nested)
            assert [r["id"] for r in shown["records"]] == [fiche["id"]]
            assert me.listing("fiches", {"sort": "str1"}, nested=nested)["totalRecords"] == 1
        refused(me.get("fiches", params={"externid": "5"}), "externid")
    # the pro, of course, still filters on everything
    assert pro.ids("fiches", conditions(("str0", "like", "hidden%"))) == [fiche["id"]]
    assert fiche["id"] in pro.ids("fiches", {"sort": "str0"})


def test_an_account_searches_its_appointments_in_what_it_may_read(server: RunningServer, tenant: Tenant,
                                                                  pro: Api, calendar: dict[str, Any]) -> None:
    service = pro.create("interventions", name="Cut", publicname="Cut")
    fiche = pro.create("fiches", lastname="Searcher")
    event = pro.create("vevents", calendar_id=calendar["id"], fiche_id=fiche["id"], intervention_id=service["id"],
                       start="2031-03-03 10:00:00", end="2031-03-03 10:30:00", taker="Zorglub the intern",
                       comments="Bring your card")
    with customer(server, tenant.group_id, fiche["id"]) as me:
        params = {"include_past": "1"}
        assert me.ids("appointments", {**params, "search": "card"}) == [event["id"]]
        assert me.ids("appointments", {**params, "search": "zorglub"}) == []  # taker: pros only
        assert me.ids("appointments", {**params, "search": "zorg card"}) == []
        refused(me.get("appointments", params=conditions(("taker", "like", "Z%"))), "conditions[0]")
        refused(me.get("appointments", params={"sort": "taker"}), "sort")
    assert pro.ids("appointments", {"include_past": "1", "search": "zorglub"}) == [event["id"]]


def test_an_api_key_alone_filters_the_public_catalogue_on_public_fields_only(server: RunningServer,
                                                                             tenant: Tenant, pro: Api) -> None:
    pro.create("interventions", name="Internal name", publicname="Shown", abbr="SECRET")
    anonymous = Api(server, tenant.group_id)
    try:
        refused(anonymous.get("interventions", params=conditions(("abbr", "like", "S%"))), "conditions[0]")
        refused(anonymous.get("interventions", params=conditions(("name", "=", "Internal name"))), "conditions[0]")
        refused(anonymous.get("interventions", params={"sort": "abbr"}), "sort")
        assert anonymous.ids("interventions", {"search": "internal"}) == []
        assert len(anonymous.ids("interventions", {"search": "shown"})) == 1
    finally:
        anonymous.close()


# -- 7: dates at the edges -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("start", "0001-01-01"),
        ("start", "0001-01-01 00:00:00"),
        ("start", "9999-12-31T23:59:59-12:00"),
        ("start", "9999-12-31 23:59:59"),
        ("start", "0001-01-01T00:00:00+14:00"),
        ("end", "2201-01-01 00:00:00"),
        ("end", "1899-12-31T23:59:59+14:00"),
    ],
)
def test_an_event_datetime_beyond_its_years_is_a_400(pro: Api, calendar: dict[str, Any], field: str,
                                                      value: str) -> None:
    body = {"calendar_id": calendar["id"], "start": "2031-01-01 10:00:00", "end": "2031-01-01 11:00:00", field: value}
    before = len(pro.ids("vevents"))
    assert "years 1900 to 2200" in refused(pro.post("vevents", body), field)
    assert len(pro.ids("vevents")) == before


@pytest.mark.parametrize("offset", ["+14:00", "-12:00", "+05:45"])
def test_the_widest_real_offsets_are_read(pro: Api, calendar: dict[str, Any], offset: str) -> None:
    made = pro.create("vevents", calendar_id=calendar["id"], start=f"2200-12-31T10:00:00{offset}",
                      end=f"2200-12-31T11:00:00{offset}")
    assert made["start"][:4] in ("2200", "2201")


@pytest.mark.parametrize("value", ["0001-01-01 00:00:00", "9999-12-31T23:59:59-12:00", "2026-01-01T00:00:00+14:00x"])
def test_a_condition_beyond_its_years_is_a_400(pro: Api, value: str) -> None:
    for collection in ("fiches", "vevents", "calendars"):
        refused(pro.get(collection, params=conditions(("created_at", ">", value))), "conditions[0]")
        refused(pro.get(collection, params=conditions(("updated_at", "<=", value))), "conditions[0]")
    refused(pro.get("vevents", params=conditions(("start", "in", f"2030-01-01,{value}"))), "conditions[0]")


def test_birthdates_take_their_own_years(server: RunningServer, tenant: Tenant, pro: Api) -> None:
    assert pro.create("fiches", lastname="Old", birthdate="1850-02-03")["birthdate"] == "1850-02-03 00:00:00"
    assert "1800" in refused(pro.post("fiches", {"lastname": "Older", "birthdate": "1799-12-31"}), "birthdate")
    fiche = pro.create("fiches", lastname="Self")
    with customer(server, tenant.group_id, fiche["id"]) as me:
        for value in ("0001-01-01", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"):
            refused(me.put("fiches", fiche["id"], {"birthdate": value}), "birthdate")
        assert me.one("fiches", fiche["id"])["birthdate"] is None
        refused(me.get("fiches", params=conditions(("birthdate", "<", "0001-01-01"))), "conditions[0]")


def test_no_stored_instant_breaks_a_list_after_its_group_changes_zone(server: RunningServer) -> None:
    """A vevent stored at 9999-12-31 23:00 UTC (and one at year 1), then the group moves to
    Pacific/Kiritimati (+14:00): its wall clock would be past 9999. Every list, streamed or not, in
    JSON and XML, and the record itself render it (clamped to 9999-12-31 23:59:59) in full."""
    tenant = server.new_tenant()
    with pro_api(server, tenant) as pro:
        calendar = pro.create("calendars", name="Far", publicname="Far")
        far = pro.create("vevents", calendar_id=calendar["id"], start="2030-01-01 10:00", end="2030-01-01 11:00")
        past = pro.create("vevents", calendar_id=calendar["id"], start="2030-01-02 10:00", end="2030-01-02 11:00")
        fiche = pro.create("fiches", lastname="Ancient")
        run_sql(server, 'UPDATE vevents SET start = ?, "end" = ? WHERE id = ?', (FAR, FAR + 1800, far["id"]))
        run_sql(server, 'UPDATE vevents SET start = ?, "end" = ? WHERE id = ?', (FAR_PAST, FAR_PAST, past["id"]))
        run_sql(server, "UPDATE fiches SET birthdate = ? WHERE id = ?", (-(2**62), fiche["id"]))
        moved = pro.put("groups", tenant.group_id, {"group": {"timezone": "Pacific/Kiritimati"}},
                        nested=False, wrap=False)
        assert moved.status_code == 200, moved.text

        by_id = {r["id"]: r for r in pro.records("vevents")}  # results=all: the streamed JSON
        assert by_id[far["id"]]["start"] == "9999-12-31 23:59:59"
        assert by_id[far["id"]]["end"] == "9999-12-31 23:59:59"
        assert by_id[past["id"]]["start"].startswith("0001-01-01 ")
        page = {r["id"]: r for r in pro.listing("vevents", {"results": "10"})["records"]}
        assert page[far["id"]]["start"] == "9999-12-31 23:59:59"
        assert pro.one("vevents", far["id"])["end"] == "9999-12-31 23:59:59"
        assert pro.listing("vevents", {"sort": "start", "dir": "desc", "results": "1"})["records"][0]["id"] == far["id"]
        assert pro.one("fiches", fiche["id"])["birthdate"] == "0001-01-01 00:00:00"
        assert fiche["id"] in pro.ids("fiches")
        for params in ({"results": "all"}, {"results": "5"}):
            response = pro.client.get(f"/groups/{tenant.group_id}/vevents.xml", params=params)
            assert response.status_code == 200, response.text
            root = ET.fromstring(response.content)  # a complete document, not a cut body
            starts = [e.text for e in root.iter("start")]
            assert "9999-12-31T23:59:59+14:00" in starts, starts
        response = pro.client.get(f"/groups/{tenant.group_id}/vevents.json", params={"results": "all"})
        assert response.status_code == 200 and json.loads(response.content)["totalRecords"] == 2
    assert "Traceback" not in server.log_text()


# -- 8: ids and integers beyond 64 bits ---------------------------------------------------------------------


@pytest.mark.parametrize("value", [str(2**63), str(2**64 + 5), "-1", "99999999999999999999999", "9.3e18"])
def test_an_id_parameter_beyond_its_range_is_a_400_naming_it(server: RunningServer, tenant: Tenant, pro: Api,
                                                             value: str) -> None:
    with server.client(params={"apikey": server.apikey}) as anonymous:
        for client in (pro.client, anonymous):  # the un-nested availability of the report
            refused(client.get("/availabletimeslots", params={"group_id": value}), "group_id")
    refused(pro.get("availabletimeslots", params={"intervention_ids[]": value}), "intervention_ids")
    for name in ("calendar_id", "fiche_id"):
        refused(pro.get("vevents", params={name: value}), name)
        refused(pro.get("appointments", params={name: value}), name)
    refused(pro.get("appointments", params={"intervention_ids[]": value}), "intervention_ids")
    refused(pro.get("calendars", params={"intervention_ids": f"[1,{value}]"}), "intervention_ids")
    if value != "-1":  # a negative bound is a comparison, not an id
        refused(pro.get("fiches", params=conditions(("id", ">", value))), "conditions[0]")
        refused(pro.get("vevents", params=conditions(("calendar_id", "in", f"1,{value}"))), "conditions[0]")
        refused(pro.post("fiches", {"lastname": "Big", "externid": value}), "externid")
    refused(pro.post("vevents", {"calendar_id": value, "start": "2031-01-01 10:00", "end": "2031-01-01 11:00"}),
            "calendar_id")
    refused(pro.post("calendars", {"name": "Ids", "intervention_ids": [value]}), "intervention_ids")


def test_the_largest_integers_are_stored_and_read_back(pro: Api) -> None:
    fiche = pro.create("fiches", lastname="Max", externid=INT64, num0=1e300)
    assert pro.one("fiches", fiche["id"])["externid"] == INT64
    assert pro.ids("fiches", {"externid": str(INT64)}) == [fiche["id"]]
    assert pro.ids("fiches", conditions(("externid", "=", INT64))) == [fiche["id"]]
    assert pro.one("fiches", fiche["id"])["num0"] == 1e300
    assert pro.ids("vevents", {"calendar_id": str(INT64)}) == []
    assert pro.ids("vevents", {"fiche_id": "0", "calendar_id": str(INT64)}) == []


@pytest.mark.parametrize("path", ["/fiches/9223372036854775808", "/fiches/99999999999999999999",
                                  "/groups/9223372036854775808/fiches", "/groups/{g}/fiches/18446744073709551616"])
def test_an_id_in_a_path_beyond_its_range_is_a_404(pro: Api, tenant: Tenant, path: str) -> None:
    error_of(pro.client.get(path.format(g=tenant.group_id)), 404)


# -- 12: what a search may cost ----------------------------------------------------------------------------


def test_a_search_of_too_many_words_is_a_400(pro: Api) -> None:
    hundred = " ".join("abcdefghijklmnopqrstuvwxyz0123456789"[i % 36] for i in range(100))
    for params in ({"search": hundred}, {"search": hundred, "startIndex": "500000"},
                   {"search": " ".join(f"w{i}x" for i in range(11))}, {"search": "x y z"}):
        for collection in ("fiches", "vevents", "appointments", "customfields"):
            refused(pro.get(collection, params=params), "search")
    assert pro.listing("fiches", {"search": " ".join(["max"] * 30)})["totalRecords"] >= 0
    assert pro.listing("fiches", {"search": "max j p"})["totalRecords"] >= 0


ROWS_DOUBLINGS = 17  # 131,072 customfields: a 10-word search over them takes far longer than 50 ms
WORDS = "ab cd ef gh ij kl mn op qr st"  # each in every row: every row is tested against all ten


def fill(server: RunningServer, tenant: Tenant) -> int:
    """Many rows of one group, each matching every word of WORDS, made by doubling in SQL."""
    with pro_api(server, tenant) as pro:
        pro.create("customfields", model="Fiche", name="str3", pro_label="abcdefghijklmnopqrst")
    columns = [c for c in _columns(server, "customfields") if c != "id"]
    names = ", ".join(f'"{c}"' for c in columns)
    for _ in range(ROWS_DOUBLINGS):
        run_sql(server, f"INSERT INTO customfields ({names}) SELECT {names} FROM customfields WHERE group_id = ?",
                (tenant.group_id,))
    return 2**ROWS_DOUBLINGS


def _columns(server: RunningServer, table: str) -> list[str]:
    if server.database_url.startswith("sqlite:"):
        return [str(r[1]) for r in run_sql(server, f"PRAGMA table_info({table})")]
    rows = run_sql(server, "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                           "ORDER BY ordinal_position", (table,))
    return [str(r[0]) for r in rows]


def test_a_statement_past_the_timeout_is_a_503_and_leaves_nothing_open(start_server: StartServer) -> None:
    limited = start_server({"OPENRDV_STATEMENT_TIMEOUT_MS": "50"}, fresh_database=True)
    tenant = limited.new_tenant()
    total = fill(limited, tenant)
    with pro_api(limited, tenant) as pro:
        for params in ({"search": WORDS}, {"search": WORDS, "results": "all"},
                       {"search": WORDS, "startIndex": "100000", "results": "all"}):
            response = pro.get("customfields", params=params)
            message = error_of(response, 503)  # never a 200 with a cut body, never a 500
            assert "0.05 s" in message and "narrow" in message, message
        xml = pro.client.get(f"/groups/{tenant.group_id}/customfields.xml", params={"search": WORDS, "results": "all"})
        assert xml.status_code == 503 and b"<error>" in xml.content
        # nothing was left open: reads and writes go on at once on the same server
        assert pro.listing("customfields", {"results": "3"})["recordsReturned"] == 3
        pro.create("fiches", lastname="After the timeout")
        renamed = pro.put("groups", tenant.group_id, {"group": {"name": "Still writable"}}, nested=False, wrap=False)
        assert renamed.status_code == 200 and renamed.json()["name"] == "Still writable"
        # the same search over few rows (an id range the index reads) is answered in full
        few = pro.listing("customfields", [("search", WORDS), *conditions(("id", "<", 50))])
        assert 0 < few["totalRecords"] < 50
        assert all(r["pro_label"] == "abcdefghijklmnopqrst" for r in few["records"])
    assert run_sql(limited, "SELECT count(*) FROM customfields WHERE group_id = ?", (tenant.group_id,)) == [(total,)]
    log = limited.log_text()
    assert "Traceback" not in log and "was stopped" in log
