"""GET …/availabletimeslots end to end: openings, busy time, capacity, filters, rules, limits, DST."""

from __future__ import annotations

import datetime as dt
import time
from xml.etree import ElementTree

from .booking_helpers import (
    at,
    build_shop,
    create,
    error_body,
    grid,
    hours_of,
    ok,
    parse_wire,
    register,
    starts_of,
    today,
)
from .conftest import RunningServer

MORNING = grid("09:00", "11:30")  # 30-minute service in a 09:00-12:00 opening, every 15 minutes


def test_slots_only_inside_openings(server: RunningServer) -> None:
    shop = build_shop(server)
    monday = shop.first_day
    with shop.anonymous() as web:
        week = shop.slots_ok(web, start=at(monday, "00:00"), nDays=7)
        days = sorted({s[:10] for s in starts_of(week)})
        assert days == [(monday + dt.timedelta(days=n)).isoformat() for n in range(5)]  # no weekend
        for n in range(5):
            assert hours_of(week, monday + dt.timedelta(days=n)) == MORNING
        assert all(s["capacity"] == 1 and s["calendar_ids"] == [shop.calendar_id] for s in week["availabletimeslots"])
        assert week["firstSlot"] == at(monday, "09:00")
        assert week["calendar_ids"] == [shop.calendar_id] and week["calendar_id"] is None
        # a window opening mid-morning keeps the opening's grid (10:15, not 10:10)
        late = shop.slots_ok(web, start=at(monday, "10:10"), end=at(monday, "23:00"))
        assert hours_of(late, monday) == grid("10:15", "11:30")
        # the weekend alone: nothing, and firstSlot is null
        saturday = monday + dt.timedelta(days=5)
        weekend = shop.slots_ok(web, start=at(saturday, "00:00"), nDays=2)
        assert weekend["availabletimeslots"] == [] and weekend["firstSlot"] is None

    # an exdate removes one occurrence of the recurring opening
    wednesday = monday + dt.timedelta(days=2)
    with shop.pro() as pro:
        ok(pro.put(shop.path(f"vevents/{shop.opening_id}"), json={"vevent": {"exdates": at(wednesday, "09:00")}}))
    with shop.anonymous() as web:
        week = shop.slots_ok(web, start=at(monday, "00:00"), nDays=7)
        assert hours_of(week, wednesday) == []
        assert hours_of(week, monday + dt.timedelta(days=1)) == MORNING
        assert hours_of(week, monday + dt.timedelta(days=3)) == MORNING


def test_a_busy_end_is_offered_off_the_grid(server: RunningServer) -> None:
    shop = build_shop(server)
    monday, tuesday = shop.first_day, shop.first_day + dt.timedelta(days=1)
    shop.add_block(shop.calendar_id, monday, "09:00", "09:40")
    short = shop.add_intervention(length=20, calendar_ids=[shop.calendar_id])
    fiche = shop.new_fiche()
    with shop.pro() as pro:
        ok(
            shop.book(
                pro,
                at(tuesday, "10:30"),
                calendar_id=shop.calendar_id,
                intervention_ids=[short],
                fiche={"id": fiche["id"]},
            ),
            201,
        )
    with shop.anonymous() as web:
        body = shop.slots_ok(web, start=at(monday, "00:00"), nDays=2)
    assert hours_of(body, monday) == ["09:40", *grid("09:45", "11:30")]
    # the 30-minute service around a 10:30-10:50 appointment: up to 10:00, then from its end
    assert hours_of(body, tuesday) == [*grid("09:00", "10:00"), "10:50", *grid("11:00", "11:30")]


def test_blocks_take_time_notes_do_not_deleted_events_are_ignored(server: RunningServer) -> None:
    shop = build_shop(server)
    monday = shop.first_day
    tuesday, wednesday, thursday = (monday + dt.timedelta(days=n) for n in (1, 2, 3))
    shop.add_block(shop.calendar_id, monday, "10:00", "11:00")
    note = shop.add_vevent(
        calendar_id=shop.calendar_id,
        note=1,
        start=at(tuesday, "00:00"),
        end=at(tuesday, "00:00"),
        text="Remember the keys",
    )
    assert note["note"] is True
    gone_block = shop.add_block(shop.calendar_id, wednesday, "09:00", "12:00")
    fiche = shop.new_fiche()
    with shop.pro() as pro:
        ok(pro.delete(shop.path(f"vevents/{gone_block}")))
        cancelled = ok(
            shop.book(pro, at(thursday, "09:00"), calendar_id=shop.calendar_id, fiche={"id": fiche["id"]}), 201
        )
        ok(pro.delete(shop.path(f"appointments/{cancelled['id']}")))
        # a block removed with PUT deleted=1
        friday = monday + dt.timedelta(days=4)
        hidden = shop.add_block(shop.calendar_id, friday, "09:00", "12:00")
        ok(pro.put(shop.path(f"vevents/{hidden}"), json={"vevent": {"deleted": "1"}}))
    with shop.anonymous() as web:
        body = shop.slots_ok(web, start=at(monday, "00:00"), nDays=5)
    assert hours_of(body, monday) == [*grid("09:00", "09:30"), *grid("11:00", "11:30")]
    assert hours_of(body, tuesday) == MORNING
    assert hours_of(body, wednesday) == MORNING
    assert hours_of(body, thursday) == MORNING
    assert hours_of(body, friday) == MORNING


def test_capacity_merges_across_calendars_and_filters(server: RunningServer) -> None:
    shop = build_shop(server, capacity=2)
    a = shop.calendar_id
    with shop.pro() as pro:
        calendar_set = create(pro, shop.path("calendarsets"), "calendarset", {"name": "Set B", "publicname": "B"})
    b = shop.add_calendar("B", capacity=1, opening=("10:00", "12:00"), calendarset_id=calendar_set["id"])
    monday = shop.first_day
    with shop.anonymous() as web:
        body = shop.slots_ok(web, monday)
        assert sorted(body["calendar_ids"]) == sorted([a, b])
        by_start = {s["start"][11:16]: s for s in body["availabletimeslots"]}
        assert list(by_start) == MORNING
        assert by_start["09:00"]["capacity"] == 2 and by_start["09:00"]["calendar_ids"] == [a]
        assert by_start["09:45"]["capacity"] == 2 and by_start["09:45"]["calendar_ids"] == [a]
        for hour in grid("10:00", "11:30"):
            assert by_start[hour]["capacity"] == 3 and by_start[hour]["calendar_ids"] == [a, b], by_start[hour]

        both = shop.slots_ok(web, monday, cal_qty=2)
        assert hours_of(both, monday) == grid("10:00", "11:30")
        assert hours_of(shop.slots_ok(web, monday, min_capacity=3), monday) == grid("10:00", "11:30")
        none = shop.slots_ok(web, monday, min_capacity=4)
        assert none["availabletimeslots"] == [] and none["firstSlot"] is None
        assert shop.slots_ok(web, monday, cal_qty=3)["availabletimeslots"] == []

        # restrictions: calendar_id, calendar_ids[], calendarset_ids[]
        only_b = shop.slots_ok(web, monday, calendar_id=b)
        assert only_b["calendar_id"] == b and only_b["calendar_ids"] == [b]
        assert hours_of(only_b, monday) == grid("10:00", "11:30")
        assert all(s["calendar_ids"] == [b] and s["capacity"] == 1 for s in only_b["availabletimeslots"])
        only_a = shop.slots_ok(web, monday, **{"calendar_ids[]": [a]})
        assert only_a["calendar_ids"] == [a] and hours_of(only_a, monday) == MORNING
        assert all(s["calendar_ids"] == [a] and s["capacity"] == 2 for s in only_a["availabletimeslots"])
        by_set = shop.slots_ok(web, monday, **{"calendarset_ids[]": [calendar_set["id"]]})
        assert by_set["calendar_ids"] == [b] and hours_of(by_set, monday) == grid("10:00", "11:30")

    # bookings use up places
    with shop.pro() as pro:
        for _ in range(2):
            ok(shop.book(pro, at(monday, "10:00"), calendar_id=a, fiche={"id": shop.new_fiche()["id"]}), 201)
    with shop.anonymous() as web:
        by_start = {s["start"][11:16]: s for s in shop.slots_ok(web, monday)["availabletimeslots"]}
    assert (by_start["09:30"]["capacity"], by_start["09:30"]["calendar_ids"]) == (2, [a])  # ends as 10:00 begins
    assert "09:45" not in by_start  # A is full from 10:00 and B opens at 10:00
    assert (by_start["10:00"]["capacity"], by_start["10:00"]["calendar_ids"]) == (1, [b])
    assert (by_start["10:15"]["capacity"], by_start["10:15"]["calendar_ids"]) == (1, [b])
    assert (by_start["10:30"]["capacity"], by_start["10:30"]["calendar_ids"]) == (3, [a, b])


def test_min_notice_and_max_period_trim_the_offer(server: RunningServer) -> None:
    shop = build_shop(server)
    always = shop.add_calendar("Always", opening=None)
    start_day = today() - dt.timedelta(days=1)
    shop.add_opening(always, start_day, "00:00", "00:00", end_day=start_day + dt.timedelta(days=6))

    def first_and_last(**params: object) -> tuple[dt.datetime, dt.datetime, int, float]:
        before = int(time.time())
        with shop.anonymous() as web:
            body = shop.slots_ok(web, calendar_id=always, **params)
        after = time.time() + 1
        starts = starts_of(body)
        assert starts, body
        return parse_wire(starts[0]), parse_wire(starts[-1]), before, after

    def minutes(moment: dt.datetime, reference: float) -> float:
        return (moment.timestamp() - reference) / 60

    first, _, before, after = first_and_last(nDays=1)
    assert minutes(first, before) >= 0 and minutes(first, after) < 15, (first, before)
    shop.set_rules(rdv_min_notice=120)
    first, _, before, after = first_and_last(nDays=1)
    assert minutes(first, before) >= 120 and minutes(first, after) < 135, (first, before)
    shop.set_rules(rdv_min_notice=0, rdv_max_period=2)
    _, last, before, after = first_and_last(nDays=7)
    assert minutes(last, before) > 2 * 1440 - 15 and minutes(last, after) <= 2 * 1440, (last, before)


def test_window_and_parameter_limits(server: RunningServer) -> None:
    shop = build_shop(server)
    monday = shop.first_day
    with shop.anonymous() as web:
        wide = shop.slots(web, start=at(monday, "00:00"), end=at(monday + dt.timedelta(days=32), "00:00"))
        assert "31" in error_body(wide, 400)["error"]
        body = error_body(wide, 400)
        assert "end" in body["error"] or "end" in (body.get("errors") or {}), body
        many = error_body(shop.slots(web, start=at(monday, "00:00"), nDays=32), 400)
        assert "nDays" in many["error"] or "nDays" in (many.get("errors") or {}), many
        month = shop.slots_ok(web, start=at(monday, "00:00"), end=at(monday + dt.timedelta(days=31), "00:00"))
        assert len(starts_of(month)) == 5 * 4 * len(MORNING) + len(MORNING) * 3  # 4 weeks + Mon-Wed
        missing = error_body(web.get(shop.path("availabletimeslots"), params={"start": at(monday, "00:00")}), 400)
        assert "intervention_ids" in missing["error"] or "intervention_ids" in (missing.get("errors") or {})
        bad_start = error_body(shop.slots(web, start="next monday"), 400)
        assert "start" in bad_start["error"] or "start" in (bad_start.get("errors") or {})
        unknown = error_body(web.get(shop.path("availabletimeslots"), params={"intervention_ids[]": 99999999}), 400)
        assert "intervention_ids" in unknown["error"] or "intervention_ids" in (unknown.get("errors") or {})


def test_accounts_and_anonymous_see_only_the_public_catalogue(server: RunningServer) -> None:
    shop = build_shop(server)
    hidden = shop.add_calendar("Backroom", publicname="")
    private_service = shop.add_intervention(publicname="", calendar_ids=[shop.calendar_id])
    with shop.pro() as pro:
        hidden_set = create(pro, shop.path("interventionsets"), "interventionset", {"name": "Hidden", "publicname": ""})
    in_hidden_set = shop.add_intervention(
        publicname="Visible name", interventionset_id=hidden_set["id"], calendar_ids=[shop.calendar_id]
    )
    monday = shop.first_day
    customer = register(server, shop.group_id)

    with shop.pro() as pro:
        seen = shop.slots_ok(pro, monday)
        assert sorted(seen["calendar_ids"]) == sorted([shop.calendar_id, hidden])
        assert seen["availabletimeslots"][0]["capacity"] == 2
        for service in (private_service, in_hidden_set):
            assert hours_of(shop.slots_ok(pro, monday, **{"intervention_ids[]": service}), monday) == MORNING
    with shop.anonymous() as web, customer.client() as account:
        for client in (web, account):
            public = shop.slots_ok(client, monday)
            assert public["calendar_ids"] == [shop.calendar_id]
            assert all(
                s["calendar_ids"] == [shop.calendar_id] and s["capacity"] == 1 for s in public["availabletimeslots"]
            )
            assert shop.slots_ok(client, monday, calendar_id=hidden)["availabletimeslots"] == []
            for service in (private_service, in_hidden_set):
                refused = error_body(shop.slots(client, monday, **{"intervention_ids[]": service}), 400)
                assert "intervention_ids" in refused["error"] or "intervention_ids" in (refused.get("errors") or {})
        # nor can the account book there
        assert shop.book(account, at(monday, "09:00"), calendar_id=hidden, fiche={}).status_code == 400
        assert shop.book(account, at(monday, "09:00"), intervention_ids=[private_service], fiche={}).status_code == 400
    with shop.pro() as pro:
        assert shop.appointments(pro) == []


def test_a_closed_or_inactive_group_offers_nothing_online(server: RunningServer) -> None:
    shop = build_shop(server)
    monday = shop.first_day
    customer = register(server, shop.group_id)
    for closing in ({"open": False}, {"inactive": True}):
        shop.set_rules(**closing)
        with shop.anonymous() as web, customer.client() as account:
            for client in (web, account):
                closed = shop.slots_ok(client, monday)
                assert closed["availabletimeslots"] == [] and closed["firstSlot"] is None
            refused = shop.book(account, at(monday, "09:00"), calendar_id=shop.calendar_id, fiche={})
            assert error_body(refused, 400)
        with shop.pro() as pro:
            assert hours_of(shop.slots_ok(pro, monday), monday) == MORNING  # the pro's own agenda is still open
        shop.set_rules(open=True, inactive=False)
    with customer.client() as account:
        assert hours_of(shop.slots_ok(account, monday), monday) == MORNING
    with shop.pro() as pro:
        assert shop.appointments(pro) == []


def last_sunday(year: int, month: int) -> dt.date:
    day = dt.date(year, month + 1, 1) - dt.timedelta(days=1)
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)


def test_a_weekly_opening_keeps_its_local_time_across_dst(server: RunningServer) -> None:
    """A 09:00 Monday opening created in winter time stays 09:00 in summer time and back in winter."""
    shop = build_shop(server, rrule="FREQ=WEEKLY;BYDAY=MO")
    shop.set_rules(rdv_max_period=400)
    now = today()
    changes = []
    for month in (3, 10):
        year = now.year if last_sunday(now.year, month) > shop.first_day else now.year + 1
        changes.append(last_sunday(year, month))
    with shop.anonymous() as web:
        for sunday in changes:
            for monday in (sunday - dt.timedelta(days=6), sunday + dt.timedelta(days=1)):
                body = shop.slots_ok(web, monday)
                assert body["firstSlot"] == at(monday, "09:00"), (monday, body["firstSlot"])
                assert hours_of(body, monday) == MORNING


def test_xml_slot_starts_carry_their_utc_offset(server: RunningServer) -> None:
    """CONTRACT §2: datetimes are ISO-8601 with offset in XML; across DST the offset changes, 09:00 stays."""
    shop = build_shop(server, rrule="FREQ=WEEKLY;BYDAY=MO")
    shop.set_rules(rdv_max_period=400)
    now = today()
    year = now.year if last_sunday(now.year, 3) > shop.first_day else now.year + 1
    sunday = last_sunday(year, 3)
    expected = {sunday - dt.timedelta(days=6): "+01:00", sunday + dt.timedelta(days=1): "+02:00"}
    with shop.anonymous() as web:
        for monday, offset in expected.items():
            response = shop.slots(web, monday, format="xml")
            assert response.status_code == 200, response.text
            assert response.headers["content-type"].startswith("application/xml"), response.headers
            root = ElementTree.fromstring(response.content)
            first = f"{monday.isoformat()}T09:00:00{offset}"
            assert root.findtext("firstSlot") == first, response.text[:400]
            starts = [e.text for e in root.iter("start")]
            assert starts[0] == first and len(starts) == len(MORNING), starts
            assert all(s is not None and s.endswith(offset) for s in starts), starts
