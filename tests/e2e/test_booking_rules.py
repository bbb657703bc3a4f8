"""POST appointments end to end: every booking refusal (codes 6-13) with its code, name and sentence, and
how a pro's booking finds, creates or updates the customer's fiche and picks a calendar."""

from __future__ import annotations

import datetime as dt
import json
import re

from .booking_helpers import (
    assert_refused,
    at,
    build_shop,
    count_rows,
    create,
    error_body,
    ok,
    register,
    today,
    weekday_ahead,
)
from .conftest import RunningServer, unique


def test_6_max_rdv_number(server: RunningServer) -> None:
    shop = build_shop(server)
    shop.set_rules(rdv_max_upcoming=1)
    monday = shop.first_day
    customer = register(server, shop.group_id)
    with customer.client() as client:
        first = ok(shop.book(client, at(monday, "09:00"), fiche={}), 201)
        assert_refused(shop.book(client, at(monday + dt.timedelta(days=1), "09:00"), fiche={}), 6)
        ok(client.delete(shop.path(f"appointments/{first['id']}")))
        ok(shop.book(client, at(monday + dt.timedelta(days=1), "09:00"), fiche={}), 201)
    # the limit is per customer: another one may still book
    other = register(server, shop.group_id)
    with other.client() as client:
        ok(shop.book(client, at(monday + dt.timedelta(days=2), "09:00"), fiche={}), 201)
    with shop.pro() as pro:  # and it counts the pro's bookings for that customer too
        fiche = shop.new_fiche()
        ok(shop.book(pro, at(monday, "10:00"), fiche={"id": fiche["id"]}), 201)
        assert_refused(shop.book(pro, at(monday, "11:00"), fiche={"id": fiche["id"]}), 6)
        assert len([r for r in shop.appointments(pro) if not r["deleted"]]) == 3


def test_7_min_time_between(server: RunningServer) -> None:
    shop = build_shop(server, capacity=3)
    shop.set_rules(rdv_min_between=120)
    monday = shop.first_day
    customer = register(server, shop.group_id)
    with customer.client() as client:
        ok(shop.book(client, at(monday, "09:00"), fiche={}), 201)  # 09:00-09:30
        assert_refused(shop.book(client, at(monday, "10:30"), fiche={}), 7)
        ok(shop.book(client, at(monday, "11:30"), fiche={}), 201)  # exactly 120 minutes after the end
    other = register(server, shop.group_id)
    with other.client() as client:
        ok(shop.book(client, at(monday, "10:30"), fiche={}), 201)  # the rule is per customer


def test_8_max_rdv_period(server: RunningServer) -> None:
    shop = build_shop(server)
    shop.set_rules(rdv_max_period=14)
    customer = register(server, shop.group_id)
    far = weekday_ahead(0, 3)  # 15 to 21 days ahead
    with customer.client() as client:
        assert_refused(shop.book(client, at(far, "09:00"), fiche={}), 8)
        assert shop.slots_ok(client, far)["availabletimeslots"] == []
        ok(shop.book(client, at(weekday_ahead(0, 1), "09:00"), fiche={}), 201)  # 1 to 7 days ahead
    with shop.pro() as pro:  # the horizon binds the pro's bookings too
        assert_refused(shop.book(pro, at(far, "10:00"), fiche={"id": shop.new_fiche()["id"]}), 8)
        assert len(shop.appointments(pro)) == 1


def test_9_min_time_rdv_and_the_past(server: RunningServer) -> None:
    shop = build_shop(server)
    customer = register(server, shop.group_id)
    yesterday = today() - dt.timedelta(days=1)
    with customer.client() as client:
        assert_refused(shop.book(client, at(yesterday, "09:00"), fiche={}), 9)
        assert_refused(shop.book(client, at(yesterday - dt.timedelta(days=365), "10:00"), fiche={}), 9)
    shop.set_rules(rdv_min_notice=21 * 1440)
    with customer.client() as client:
        assert_refused(shop.book(client, at(weekday_ahead(0, 1), "09:00"), fiche={}), 9)
        ok(shop.book(client, at(weekday_ahead(0, 4), "09:00"), fiche={}), 201)  # 22 to 28 days ahead
    with shop.pro() as pro:
        assert_refused(shop.book(pro, at(yesterday, "09:00"), fiche={"id": shop.new_fiche()["id"]}), 9)
        assert len(shop.appointments(pro)) == 1


def test_10_not_available(server: RunningServer) -> None:
    shop = build_shop(server)
    monday = shop.first_day
    saturday = monday + dt.timedelta(days=5)
    first, second = register(server, shop.group_id), register(server, shop.group_id)
    elsewhere = shop.add_calendar("No service", intervention_ids=[])  # open, but not offering the service
    with first.client() as client:
        ok(shop.book(client, at(monday, "09:00"), calendar_id=shop.calendar_id, fiche={}), 201)
    with second.client() as client:
        taken = assert_refused(shop.book(client, at(monday, "09:00"), calendar_id=shop.calendar_id, fiche={}), 10)
        assert "available" in taken["error"].lower()
        assert_refused(shop.book(client, at(monday, "09:15"), fiche={}), 10)  # overlaps the taken one
        for outside in (at(saturday, "09:00"), at(monday, "13:00"), at(monday, "08:45"), at(monday, "11:45")):
            assert_refused(shop.book(client, outside, calendar_id=shop.calendar_id, fiche={}), 10)
            assert_refused(shop.book(client, outside, fiche={}), 10)
        assert_refused(shop.book(client, at(monday, "10:00"), calendar_id=elsewhere, fiche={}), 10)
        ok(shop.book(client, at(monday, "09:30"), calendar_id=shop.calendar_id, fiche={}), 201)
    with shop.pro() as pro:  # the pro's booking obeys the same availability
        fiche = shop.new_fiche()
        assert_refused(shop.book(pro, at(monday, "09:00"), calendar_id=shop.calendar_id, fiche={"id": fiche["id"]}), 10)
        assert_refused(shop.book(pro, at(saturday, "09:00"), fiche={"id": fiche["id"]}), 10)
        assert sorted(r["start"] for r in shop.appointments(pro)) == [at(monday, "09:00"), at(monday, "09:30")]


def test_11_email_already_exists(server: RunningServer) -> None:
    shop = build_shop(server)
    taken = register(server, shop.group_id)
    other_group = build_shop(server)
    with shop.anonymous() as web:
        for email in (taken.email, taken.email.upper(), " " + taken.email.title()):
            response = web.post(
                "/accounts",
                json={"account": {"email": email.strip(), "group_id": shop.group_id, "password": "another-pw"}},
            )
            body = assert_refused(response, 11)
            assert taken.email.split("@")[0].lower() in body["error"].lower()
        # accounts are unique across the server, not per group; a form body is refused the same way
        form = web.post(
            "/accounts",
            data={
                "account[email]": taken.email,
                "account[group_id]": other_group.group_id,
                "account[password]": "another-pw",
            },
        )
        assert_refused(form, 11)
    # a pro's booking that would create a second fiche with the e-mail of a customer of the group
    known = shop.new_fiche(email=f"{unique('fiche')}@e2e.example.org")
    with shop.pro() as pro:
        twin = {"lastname": "Twin", "firstname": "New", "email": known["email"].upper()}
        body = assert_refused(shop.book(pro, at(shop.first_day, "09:00"), fiche=twin), 11)
        assert known["email"] in body["error"].lower()
        assert ok(pro.get(shop.path("fiches"), params={"search": "Twin"}))["totalRecords"] == 0
        assert shop.appointments(pro) == []
        # the same customer, named by fiche[id], books fine
        booked = ok(shop.book(pro, at(shop.first_day, "09:00"), fiche={"id": known["id"], "firstname": "New"}), 201)
        assert booked["fiche_id"] == known["id"]


def test_12_same_time_rdv_on_another_calendar(server: RunningServer) -> None:
    shop = build_shop(server)
    other = shop.add_calendar("Second")
    monday = shop.first_day
    customer = register(server, shop.group_id)
    with customer.client() as client:
        ok(shop.book(client, at(monday, "10:00"), calendar_id=shop.calendar_id, fiche={}), 201)
        body = assert_refused(shop.book(client, at(monday, "10:15"), calendar_id=other, fiche={}), 12)
        assert "time" in body["error"].lower()
        assert_refused(shop.book(client, at(monday, "10:00"), calendar_id=other, fiche={}), 12)
        ok(shop.book(client, at(monday, "10:30"), calendar_id=other, fiche={}), 201)  # touching is not overlapping
    with shop.pro() as pro:
        fiche = shop.new_fiche()
        ok(shop.book(pro, at(monday, "09:00"), calendar_id=shop.calendar_id, fiche={"id": fiche["id"]}), 201)
        assert_refused(shop.book(pro, at(monday, "09:00"), calendar_id=other, fiche={"id": fiche["id"]}), 12)
        assert len(shop.appointments(pro)) == 3


def test_13_email_not_found_and_a_known_email_finds_the_fiche(server: RunningServer) -> None:
    shop = build_shop(server)
    monday = shop.first_day
    known = shop.new_fiche(email=f"{unique('known')}@e2e.example.org")
    with shop.pro() as pro:
        body = assert_refused(shop.book(pro, at(monday, "09:00"), fiche={"email": "unknown@x"}), 13)
        assert "unknown@x" in body["error"]
        found = ok(shop.book(pro, at(monday, "09:00"), fiche={"email": known["email"].upper()}), 201)
        assert found["fiche_id"] == known["id"]
        assert len(shop.appointments(pro)) == 1


def test_pro_booking_creates_or_updates_the_fiche(server: RunningServer) -> None:
    shop = build_shop(server, capacity=2)
    monday = shop.first_day
    email = f"{unique('new')}@e2e.example.org"
    with shop.pro() as pro:
        made = ok(
            shop.book(
                pro,
                at(monday, "09:00"),
                calendar_id=shop.calendar_id,
                fiche={"lastname": "Martin", "firstname": "Léa", "email": email, "firstphone": "06 01 02 03 04"},
                comments="by phone",
                websource="desk",
                from_web=0,
            ),
            201,
        )
        fiche = ok(pro.get(shop.path(f"fiches/{made['fiche_id']}")))
        assert (fiche["lastname"], fiche["firstname"], fiche["email"], fiche["firstphone"]) == (
            "Martin",
            "Léa",
            email,
            "06 01 02 03 04",
        )
        assert made["fiche"]["id"] == fiche["id"] and made["from_web"] is False
        assert made["comments"] == "by phone" and made["websource"] == "desk" and made["taker"] == shop.tenant.email

        updated = ok(
            shop.book(
                pro,
                at(monday, "10:00"),
                calendar_id=shop.calendar_id,
                fiche={"id": fiche["id"], "firstphone": "07 99 99 99 99"},
            ),
            201,
        )
        assert updated["fiche_id"] == fiche["id"]
        assert updated["fiche"]["firstphone"] == "07 99 99 99 99"
        again = ok(pro.get(shop.path(f"fiches/{fiche['id']}")))
        assert again["firstphone"] == "07 99 99 99 99" and again["lastname"] == "Martin"
        # an invalid fiche is refused and nothing is booked
        error_body(shop.book(pro, at(monday, "11:00"), fiche={"lastname": "Bad", "email": "not an email"}), 400)
        assert len(shop.appointments(pro)) == 2
        # a fiche of this group that does not exist
        missing = shop.book(pro, at(monday, "11:00"), fiche={"id": 987654321})
        assert missing.status_code in (400, 404), missing.text
        assert len(shop.appointments(pro)) == 2


def test_without_calendar_id_a_free_calendar_is_picked(server: RunningServer) -> None:
    shop = build_shop(server)
    second = shop.add_calendar("Second")
    monday = shop.first_day
    shop.add_block(shop.calendar_id, monday, "09:00", "12:00")
    with shop.pro() as pro:
        for hour in ("09:00", "10:00", "11:00"):
            booked = ok(shop.book(pro, at(monday, hour), fiche={"id": shop.new_fiche()["id"]}), 201)
            assert booked["calendar_id"] == second, booked
        assert_refused(shop.book(pro, at(monday, "09:00"), fiche={"id": shop.new_fiche()["id"]}), 10)
        # both free: the first booking takes either, the second the other one
        tuesday = monday + dt.timedelta(days=1)
        picked = {
            ok(shop.book(pro, at(tuesday, "09:00"), fiche={"id": shop.new_fiche()["id"]}), 201)["calendar_id"]
            for _ in range(2)
        }
        assert picked == {shop.calendar_id, second}


def test_booking_needs_a_date_services_and_a_customer(server: RunningServer) -> None:
    shop = build_shop(server)
    monday = shop.first_day
    with shop.pro() as pro:
        fiche = shop.new_fiche()
        no_date = pro.post(
            shop.path("appointments"),
            json={"appointment": {"intervention_ids": [shop.intervention_id], "fiche": {"id": fiche["id"]}}},
        )
        assert "date" in error_body(no_date, 400)["error"]
        no_services = pro.post(
            shop.path("appointments"), json={"appointment": {"date": at(monday, "09:00"), "fiche": {"id": fiche["id"]}}}
        )
        assert "intervention_ids" in error_body(no_services, 400)["error"]
        bad_date = shop.book(pro, "someday", fiche={"id": fiche["id"]})
        assert "date" in error_body(bad_date, 400)["error"]
        no_fiche = shop.book(pro, at(monday, "09:00"))
        assert "fiche" in error_body(no_fiche, 400)["error"]
        other_service = create(pro, shop.path("interventions"), "intervention", {"name": "Z", "length": 10})
        unoffered = shop.book(
            pro, at(monday, "09:00"), intervention_ids=[other_service["id"]], fiche={"id": fiche["id"]}
        )
        assert_refused(unoffered, 10)
        assert shop.appointments(pro) == []


def test_several_services_in_one_appointment(server: RunningServer) -> None:
    shop = build_shop(server)
    extra = shop.add_intervention(length=45, calendar_ids=[shop.calendar_id])
    both = [shop.intervention_id, extra]
    monday = shop.first_day
    customer = register(server, shop.group_id)
    with customer.client() as client:
        # 75 minutes in a 09:00-12:00 opening: the last start is 10:45
        slots = shop.slots_ok(client, monday, **{"intervention_ids[]": both})
        assert slots["intervention_ids"] == both
        assert [s["start"][11:16] for s in slots["availabletimeslots"]][-1] == "10:45"
        assert at(monday, "11:00") not in [s["start"] for s in slots["availabletimeslots"]]
        too_many = shop.book(client, at(monday, "09:00"), intervention_ids=both, fiche={})
        body = error_body(too_many, 400)  # max_multirdvs is 1 by default
        assert "intervention_ids" in body["error"] or "intervention_ids" in (body.get("errors") or {}), body
        shop.set_rules(max_multirdvs=2)
        booked = ok(shop.book(client, at(monday, "09:00"), intervention_ids=both, fiche={}), 201)
        assert booked["intervention_ids"] == both and booked["end"] == at(monday, "10:15")
        assert booked["intervention_length"] == 75
        # the 75 minutes are busy: the next 30-minute start is 10:15
        after = shop.slots_ok(client, monday)
        assert after["firstSlot"] == at(monday, "10:15")


def test_dates_are_wall_clock_times_of_the_group_zone(server: RunningServer) -> None:
    shop = build_shop(server, timezone="America/New_York")
    monday = shop.first_day
    customer = register(server, shop.group_id)
    with customer.client() as client:
        slots = shop.slots_ok(client, monday)
        assert slots["firstSlot"] == at(monday, "09:00")
        booked = ok(shop.book(client, at(monday, "09:00"), fiche={}), 201)
        assert (booked["start"], booked["end"]) == (at(monday, "09:00"), at(monday, "09:30"))
        ten = dt.datetime.combine(monday, dt.time(10, 0), tzinfo=shop.zone).astimezone(dt.UTC)
        iso = ok(shop.book(client, ten.isoformat(), fiche={}), 201)  # an instant with an offset (UTC)
        assert iso["start"] == at(monday, "10:00")
    # a wall time that does not exist (spring forward, 02:00-03:00 on the last Sunday of March in Paris)
    paris = build_shop(server)
    now = today()
    year = now.year if dt.date(now.year, 3, 25) > now else now.year + 1
    march = dt.date(year, 3, 31)
    gap_day = march - dt.timedelta(days=(march.weekday() + 1) % 7)
    with paris.pro() as pro:
        refused = paris.book(pro, at(gap_day, "02:30"), fiche={"id": paris.new_fiche()["id"]})
        body = error_body(refused, 400)
        assert "date" in body["error"] or "date" in (body.get("errors") or {}), body


def test_a_customer_books_only_offered_starts_while_a_pro_may_book_any_free_time(server: RunningServer) -> None:
    shop = build_shop(server, interval=30)
    monday = shop.first_day
    customer = register(server, shop.group_id)
    with customer.client() as client:
        offered = shop.slots_ok(client, monday)["availabletimeslots"]
        assert at(monday, "09:30") in [s["start"] for s in offered]
        assert at(monday, "09:10") not in [s["start"] for s in offered]
        # free, but not a start availabletimeslots offers: refused to a customer
        assert_refused(shop.book(client, at(monday, "09:10"), fiche={}), 10)
        ok(shop.book(client, at(monday, "09:30"), fiche={}), 201)
    with shop.pro() as pro:
        fiche = shop.new_fiche()
        ok(shop.book(pro, at(monday, "10:10"), fiche={"id": fiche["id"]}), 201)


def _fiches_of(server: RunningServer, group_id: int, email: str) -> int:
    return count_rows(
        server, "SELECT count(*) FROM fiches WHERE group_id = ? AND lower(email) = lower(?)", (group_id, email)
    )


def test_11_an_account_never_takes_another_customers_email(server: RunningServer) -> None:
    shop = build_shop(server, capacity=3)
    monday = shop.first_day
    known = shop.new_fiche(email=f"{unique('known')}@e2e.example.org")
    # the account registered with the address of a customer the business already has: its first booking
    # would make a twin of that customer (or hand it that customer's fiche): refused, nothing written
    namesake = register(server, shop.group_id, email=known["email"].upper())
    with namesake.client() as client:
        body = assert_refused(shop.book(client, at(monday, "09:00"), fiche={}), 11)
        assert known["email"] in body["error"].lower()
        assert "fiche[email]" in body["errors"], body
        assert ok(client.get(shop.path("fiches")))["totalRecords"] == 0
        # with an address of its own it books, on a fiche of its own
        own_email = f"{unique('own')}@e2e.example.org"
        booked = ok(shop.book(client, at(monday, "09:00"), fiche={"email": own_email}), 201)
        assert booked["fiche_id"] != known["id"] and booked["fiche"]["email"] == own_email
    # an account giving another customer's address in its first booking's fiche fields
    other = register(server, shop.group_id)
    with other.client() as client:
        assert_refused(shop.book(client, at(monday, "10:00"), fiche={"email": " " + known["email"].title()}), 11)
        assert ok(client.get(shop.path("fiches")))["totalRecords"] == 0
        # once it has its fiche, neither a booking nor a PUT moves that fiche to the other customer's address
        own = ok(shop.book(client, at(monday, "10:00"), fiche={}), 201)["fiche_id"]
        assert_refused(shop.book(client, at(monday, "11:00"), fiche={"email": known["email"]}), 11)
        assert_refused(shop.book(client, at(monday, "11:00"), fiche={"id": own, "email": known["email"]}), 11)
        put = client.put(shop.path(f"fiches/{own}"), json={"fiche": {"email": known["email"], "firstname": "X"}})
        body = assert_refused(put, 11)
        assert "email" in body["errors"] and known["email"] in body["error"].lower(), body
        fiche = ok(client.get(shop.path(f"fiches/{own}")))
        assert fiche["email"].lower() == other.email.lower() and fiche["firstname"] != "X"
        # its own fiche's other fields, and an address nobody has, change as before
        new_email = f"{unique('moved')}@e2e.example.org"
        changed = ok(client.put(shop.path(f"fiches/{own}"), json={"fiche": {"email": new_email, "firstname": "Y"}}))
        assert (changed["email"], changed["firstname"]) == (new_email, "Y")
    assert _fiches_of(server, shop.group_id, known["email"]) == 1
    with shop.pro() as pro:
        # the customer the business knows by that address is still the one its e-mail finds, untouched
        found = ok(shop.book(pro, at(monday, "11:00"), fiche={"email": known["email"]}), 201)
        assert found["fiche_id"] == known["id"]
        assert [r["start"] for r in shop.appointments(pro) if r["fiche_id"] == known["id"]] == [at(monday, "11:00")]
        # a pro may still give a fiche any address (the business knows its customers)
        mine = shop.new_fiche()
        ok(pro.put(shop.path(f"fiches/{mine['id']}"), json={"fiche": {"email": known["email"]}}))


def _without(value: object, *ids: int) -> str:
    """A response body with the ids it was asked about blanked out: what else it says must be equal."""
    text = json.dumps(value, sort_keys=True)
    for number in ids:
        text = re.sub(rf"\b{number}\b", "ID", text)
    return text


def test_private_catalogue_items_look_unknown_online(server: RunningServer) -> None:
    shop = build_shop(server)
    monday = shop.first_day
    other_shop = build_shop(server)
    private_calendar = shop.add_calendar("Backroom", publicname="")
    deleted_calendar = shop.add_calendar("Gone")
    private_service = shop.add_intervention(publicname="", calendar_ids=[shop.calendar_id])
    with shop.pro() as pro:
        ok(pro.delete(shop.path(f"calendars/{deleted_calendar}")))
        private_set = create(pro, shop.path("calendarsets"), "calendarset", {"name": "Staff only", "publicname": ""})
        hidden_set = create(pro, shop.path("interventionsets"), "interventionset", {"name": "Hidden", "publicname": ""})
    in_private_set = shop.add_calendar("Public, in a private set", calendarset_id=private_set["id"])
    in_hidden_set = shop.add_intervention(
        publicname="Shown", interventionset_id=hidden_set["id"], calendar_ids=[shop.calendar_id]
    )
    unknown = 987654321
    calendars = {"unknown": unknown, "another group's": other_shop.calendar_id, "private": private_calendar,
                 "deleted": deleted_calendar}
    services = {"unknown": unknown, "another group's": other_shop.intervention_id, "private": private_service,
                "in a private set": in_hidden_set}
    customer = register(server, shop.group_id)
    with customer.client() as account, shop.anonymous() as web:
        booking = {
            name: shop.book(account, at(monday, "09:00"), calendar_id=calendar, fiche={})
            for name, calendar in calendars.items()
        }
        booking_services = {
            name: shop.book(account, at(monday, "09:00"), intervention_ids=[service], fiche={})
            for name, service in services.items()
        }
        for client in (account, web):
            slots = {
                f"{param} {name}": shop.slots(client, monday, **{param: calendar})
                for name, calendar in calendars.items()
                for param in ("calendar_id", "calendar_ids[]")
            }
            slots |= {
                f"calendarset_ids[] {name}": shop.slots(client, monday, **{"calendarset_ids[]": calendarset})
                for name, calendarset in {"unknown": unknown, "private": private_set["id"]}.items()
            }
            slot_services = {
                name: shop.slots(client, monday, **{"intervention_ids[]": service})
                for name, service in services.items()
            }
            for name, response in slots.items():
                # one answer whatever the item: no slots, and nothing that tells a private item exists
                expected = slots[name.split(" ")[0] + " unknown"]
                assert response.status_code == expected.status_code == 200, (name, response.text)
                asked = [unknown, *calendars.values(), private_set["id"]]
                assert _without(response.json(), *asked) == _without(expected.json(), *asked), name
                assert response.json()["availabletimeslots"] == [], name
            for name, response in slot_services.items():
                assert error_body(response, 400)["error"] == error_body(slot_services["unknown"], 400)["error"].replace(
                    str(unknown), str(services[name])
                ), name
    for name, response in booking.items():
        body = error_body(response, 400)
        assert "code" not in body, (name, body)  # not a NotAvailable refusal: an unknown calendar
        assert _without(body, calendars[name]) == _without(error_body(booking["unknown"], 400), unknown), name
    for name, response in booking_services.items():
        body = error_body(response, 400)
        assert _without(body, services[name]) == _without(error_body(booking_services["unknown"], 400), unknown), name
    with shop.pro() as pro:
        assert shop.appointments(pro) == []
        # the business itself still sees and books them all
        seen = shop.slots_ok(pro, monday, **{"calendarset_ids[]": private_set["id"]})
        assert seen["calendar_ids"] == [in_private_set] and seen["availabletimeslots"], seen
        for service in (private_service, in_hidden_set):
            assert shop.slots_ok(pro, monday, **{"intervention_ids[]": service})["availabletimeslots"], service
        fiche = shop.new_fiche()
        ok(shop.book(pro, at(monday, "09:00"), calendar_id=private_calendar, fiche={"id": fiche["id"]}), 201)
        ok(shop.book(pro, at(monday, "10:00"), intervention_ids=[private_service], fiche={"id": fiche["id"]}), 201)
    # a public calendar of a private set is still bookable online, chosen by its own id
    with customer.client() as account:
        ok(shop.book(account, at(monday, "11:00"), calendar_id=in_private_set, fiche={}), 201)
