"""The Booking API customer flow (reference §5) end to end, and who may see or touch which appointment."""

from __future__ import annotations

import datetime as dt

import httpx

from .booking_helpers import (
    Shop,
    account_login,
    anonymous_client,
    assert_refused,
    at,
    build_shop,
    create,
    error_body,
    hours_of,
    ok,
    register,
    weekday_ahead,
)
from .conftest import RunningServer, sha1_hex, unique

BOOKING_SETTINGS = (
    "inactive",
    "open",
    "openData",
    "calendarChoice",
    "anyCalendar",
    "validateEmail",
    "display_intervention_length",
    "display_intervention_price",
    "max_multirdvs",
    "timezone",
    "rdv_min_notice",
    "rdv_max_period",
    "rdv_max_upcoming",
    "rdv_min_between",
)


def ids(body: dict[str, object]) -> list[int]:
    return [int(r["id"]) for r in body["records"]]  # type: ignore[index, union-attr]


def test_customer_flow_of_the_reference(server: RunningServer) -> None:
    shop = build_shop(server)
    shop.set_rules(calendarChoice=2, max_multirdvs=1)
    # noise the filters must leave out: another set with its own service, a calendar without our service
    with shop.pro() as pro:
        other_set = create(pro, shop.path("interventionsets"), "interventionset", {"name": "O", "publicname": "Other"})
        other_service = create(
            pro,
            shop.path("interventions"),
            "intervention",
            {"name": "O", "publicname": "Other", "length": 15, "interventionset_id": other_set["id"]},
        )
    other_calendar = shop.add_calendar(intervention_ids=[other_service["id"]])
    monday = shop.first_day

    with anonymous_client(server) as web:
        # 1. the group's settings
        group = ok(web.get(f"/groups/{shop.group_id}.json"))
        for name in BOOKING_SETTINGS:
            assert name in group, (name, group)
        assert group["calendarChoice"] == 2 and group["open"] is True and group["inactive"] is False
        assert group["timezone"] == "Europe/Paris"
        # 2. the service sets, 3. the services of the chosen set
        sets = ok(web.get(shop.path("interventionsets")))
        assert sorted(ids(sets)) == sorted([shop.interventionset_id, other_set["id"]])
        services = ok(web.get(shop.path("interventions"), params={"interventionset_id": shop.interventionset_id}))
        assert ids(services) == [shop.intervention_id]
        assert services["records"][0]["length"] == 30
        # 4. the calendars offering that service
        calendars = ok(web.get(shop.path("calendars"), params={"intervention_ids[]": shop.intervention_id}))
        assert ids(calendars) == [shop.calendar_id]
        assert other_calendar not in ids(calendars)
        # 5. the free slots of that calendar
        slots = shop.slots_ok(web, monday, calendar_id=shop.calendar_id)
        assert slots["firstSlot"] == at(monday, "09:00")
        assert slots["calendar_id"] == shop.calendar_id and slots["intervention_ids"] == [shop.intervention_id]
        chosen = slots["firstSlot"]

        # 6. a new account, then login
        email = f"{unique('Flow')}@e2e.example.org"
        created = web.post(
            "/accounts",
            json={
                "account": {
                    "email": email,
                    "group_id": shop.group_id,
                    "password": "s3cret-pw",
                    "firstname": "Ann",
                    "lastname": "Lee",
                }
            },
        )
        account = ok(created, 201)
        assert account["email"] == email and account["group_id"] == shop.group_id
        assert "password" not in account and "password_hash" not in account, account
        again = web.post(
            "/accounts", json={"account": {"email": email.upper(), "group_id": shop.group_id, "password": "other-pw"}}
        )
        assert_refused(again, 11)

    token = account_login(server, email, sha1_hex("s3cret-pw"))
    assert account_login(server, email, "s3cret-pw")  # the plain password works too
    with server.client() as anonymous:
        form = anonymous.post(
            "/sessions/login",
            params={"apikey": server.apikey},
            data={"account[email]": email, "account[password]": sha1_hex("s3cret-pw").upper()},
        )
    assert ok(form)["account"]["id"] == account["id"]
    with server.client() as anonymous:
        bad = anonymous.post(
            "/sessions/login",
            params={"apikey": server.apikey},
            data={"account[email]": email, "account[password]": sha1_hex("wrong-pw")},
        )
    assert bad.status_code == 401 and bad.json()["account"] is None

    with server.client(headers={"Cookie": f"_session_id={token}"}) as customer:
        # 7. book
        booked = ok(
            shop.book(
                customer,
                chosen,
                calendar_id=shop.calendar_id,
                fiche={"firstphone": "06 12 34 56 78"},
                comments="first visit",
            ),
            201,
        )
        assert "appointment" not in booked and isinstance(booked["id"], int), booked
        assert booked["start"] == chosen and booked["end"] == at(monday, "09:30")
        assert booked["calendar_id"] == shop.calendar_id and booked["group_id"] == shop.group_id
        assert booked["intervention_id"] == shop.intervention_id
        assert booked["intervention_ids"] == [shop.intervention_id]
        assert booked["comments"] == "first visit" and booked["from_web"] is True and booked["deleted"] is False
        assert booked["group"]["id"] == shop.group_id
        assert booked["calendar"]["id"] == shop.calendar_id and booked["calendar"]["publicname"] == "Agenda"
        assert booked["intervention"]["id"] == shop.intervention_id
        assert booked["intervention"]["publicname"] == "Coupe"
        fiche = booked["fiche"]
        assert fiche["id"] == booked["fiche_id"] != 0
        assert (fiche["email"], fiche["firstname"], fiche["lastname"]) == (email, "Ann", "Lee")
        assert fiche["firstphone"] == "06 12 34 56 78"
        assert "comments" not in fiche  # the pro's notes about a customer are never shown to the customer

        # the slot is gone
        assert "09:00" not in hours_of(shop.slots_ok(customer, monday), monday)

        # 8. list own appointments, read one, cancel
        mine = ok(customer.get(shop.path("appointments")))
        assert ids(mine) == [booked["id"]] and mine["totalRecords"] == 1
        assert mine["records"][0]["fiche"]["email"] == email
        assert ok(customer.get("/appointments"))["records"][0]["id"] == booked["id"]  # un-nested
        assert ok(customer.get(shop.path(f"appointments/{booked['id']}")))["start"] == chosen
        cancelled = ok(customer.delete(shop.path(f"appointments/{booked['id']}")))
        assert cancelled["id"] == booked["id"] and cancelled["deleted"] is True

        # the slot is free again, and can be booked again
        assert "09:00" in hours_of(shop.slots_ok(customer, monday), monday)
        rebooked = ok(shop.book(customer, chosen, calendar_id=shop.calendar_id, fiche={}), 201)
        assert rebooked["id"] != booked["id"] and rebooked["fiche_id"] == booked["fiche_id"]
        assert rebooked["start"] == chosen and rebooked["calendar_id"] == shop.calendar_id

    # the pro sees the booking made online
    with shop.pro() as pro:
        seen = ok(pro.get(shop.path(f"appointments/{rebooked['id']}")))
        assert seen["from_web"] is True and seen["taker"] == "clicRDV"
        assert seen["fiche"]["email"] == email


def test_unnested_booking_takes_the_group_from_the_body(server: RunningServer) -> None:
    shop = build_shop(server)
    customer = register(server, shop.group_id)
    tuesday = weekday_ahead(1, 1)
    with customer.client() as client:
        response = client.post(
            "/appointments",
            json={
                "appointment": {
                    "group_id": shop.group_id,
                    "date": at(tuesday, "10:00"),
                    "intervention_ids": [shop.intervention_id],
                    "fiche": {},
                }
            },
        )
        booked = ok(response, 201)
        assert booked["group_id"] == shop.group_id and booked["start"] == at(tuesday, "10:00")
        assert booked["calendar_id"] == shop.calendar_id  # no calendar_id: the only free one is picked
        listed = ok(client.get("/appointments", params={"intervention_ids": f"[{shop.intervention_id}]"}))
        assert ids(listed) == [booked["id"]]


def test_intervention_ids_as_a_json_string_and_the_account_own_fiche_is_reused(server: RunningServer) -> None:
    shop = build_shop(server)
    customer = register(server, shop.group_id, firstname="Zoe", lastname="Roe")
    wednesday = weekday_ahead(2, 1)
    with customer.client() as client:
        first = ok(
            client.post(
                shop.path("appointments"),
                json={
                    "appointment": {
                        "date": at(wednesday, "09:00"),
                        "intervention_ids": f"[{shop.intervention_id}]",
                        "fiche": {},
                    }
                },
            ),
            201,
        )
        assert first["intervention_ids"] == [shop.intervention_id]
        assert (first["fiche"]["firstname"], first["fiche"]["lastname"]) == ("Zoe", "Roe")
        second = ok(shop.book(client, at(wednesday, "11:00"), fiche={}), 201)
        assert second["fiche_id"] == first["fiche_id"]  # one fiche per account and group


# -- isolation -------------------------------------------------------------------------------------------
def book_as(shop: Shop, client: httpx.Client, date: str) -> dict[str, object]:
    return ok(shop.book(client, date, calendar_id=shop.calendar_id, fiche={}), 201)  # type: ignore[no-any-return]


def test_an_account_sees_and_touches_only_its_own_appointments(server: RunningServer) -> None:
    shop = build_shop(server, capacity=2)
    a = register(server, shop.group_id)
    b = register(server, shop.group_id)
    monday = shop.first_day
    with a.client() as client_a, b.client() as client_b:
        mine = book_as(shop, client_a, at(monday, "09:00"))
        theirs = book_as(shop, client_b, at(monday, "10:00"))
        b_fiche = theirs["fiche_id"]
        assert mine["fiche_id"] != b_fiche

        assert ids(ok(client_a.get(shop.path("appointments")))) == [mine["id"]]
        assert ids(ok(client_a.get("/appointments"))) == [mine["id"]]
        assert ids(ok(client_a.get(shop.path("appointments"), params={"fiche_id": b_fiche}))) == []
        for path in (shop.path(f"appointments/{theirs['id']}"), f"/appointments/{theirs['id']}"):
            error_body(client_a.get(path), 404)
            error_body(client_a.delete(path), 404)
        # booking on B's behalf with B's fiche id
        on_behalf = shop.book(client_a, at(monday, "11:00"), calendar_id=shop.calendar_id, fiche={"id": b_fiche})
        error_body(on_behalf, 404)
        error_body(client_a.get(shop.path(f"fiches/{b_fiche}")), 404)

        # B's appointment is untouched and only B's
        still = ok(client_b.get(shop.path(f"appointments/{theirs['id']}")))
        assert still["deleted"] is False
        assert ids(ok(client_b.get(shop.path("appointments")))) == [theirs["id"]]
    with shop.pro() as pro:
        listed = shop.appointments(pro)
        assert sorted(r["id"] for r in listed) == sorted([mine["id"], theirs["id"]])


def test_a_pro_of_another_group_gets_404(server: RunningServer) -> None:
    shop = build_shop(server)
    other = build_shop(server)
    with shop.pro() as pro:
        fiche = create(pro, shop.path("fiches"), "fiche", {"lastname": "Own"})
        booked = ok(
            shop.book(pro, at(shop.first_day, "09:00"), calendar_id=shop.calendar_id, fiche={"id": fiche["id"]}), 201
        )
    with other.pro() as intruder:
        appointment = booked["id"]
        for path in (
            shop.path(f"appointments/{appointment}"),
            f"/appointments/{appointment}",
            other.path(f"appointments/{appointment}"),
        ):
            error_body(intruder.get(path), 404)
            error_body(intruder.delete(path), 404)
        error_body(intruder.get(shop.path("appointments")), 404)
        error_body(
            shop.book(intruder, at(shop.first_day, "10:00"), calendar_id=shop.calendar_id, fiche={"id": fiche["id"]}),
            404,
        )
        error_body(
            intruder.get(shop.path("availabletimeslots"), params={"intervention_ids[]": shop.intervention_id}), 404
        )
        assert ids(ok(intruder.get("/appointments", params={"include_past": 1}))) == []
        # the intruder's own group cannot borrow the other group's fiche or calendar either
        borrowed = other.book(
            intruder, at(other.first_day, "09:00"), calendar_id=other.calendar_id, fiche={"id": fiche["id"]}
        )
        assert borrowed.status_code in (400, 404), borrowed.text
        foreign_calendar = other.book(
            intruder, at(other.first_day, "09:00"), calendar_id=shop.calendar_id, fiche={"lastname": "X"}
        )
        error_body(foreign_calendar, 400)
    with shop.pro() as pro:
        assert ok(pro.get(shop.path(f"appointments/{appointment}")))["deleted"] is False


def test_an_account_books_in_other_groups_with_one_fiche_per_group(server: RunningServer) -> None:
    home, away = build_shop(server), build_shop(server)
    customer = register(server, home.group_id)
    with customer.client() as client:
        here = ok(home.book(client, at(home.first_day, "09:00"), fiche={}), 201)
        there = ok(away.book(client, at(away.first_day, "10:00"), fiche={}), 201)
        again = ok(away.book(client, at(away.first_day + dt.timedelta(days=1), "10:00"), fiche={}), 201)
        assert there["group_id"] == away.group_id and there["fiche"]["email"] == customer.email
        assert here["fiche_id"] != there["fiche_id"] == again["fiche_id"]
        assert sorted(ids(ok(client.get("/appointments")))) == sorted([here["id"], there["id"], again["id"]])
        assert ids(ok(client.get(away.path("appointments")))) == [there["id"], again["id"]]
    with away.pro() as pro:
        fiche = ok(pro.get(away.path(f"fiches/{there['fiche_id']}")))
        assert fiche["email"] == customer.email and fiche["group_id"] == away.group_id
    with home.pro() as pro:
        error_body(pro.get(home.path(f"fiches/{there['fiche_id']}")), 404)


def test_account_creation_names_what_is_wrong(server: RunningServer) -> None:
    shop = build_shop(server)
    with anonymous_client(server) as web:
        cases = {
            "email": {"email": "not-an-email", "group_id": shop.group_id, "password": "long-enough"},
            "group_id": {"email": f"{unique('g')}@e2e.example.org", "password": "long-enough"},
            "password": {"email": f"{unique('p')}@e2e.example.org", "group_id": shop.group_id, "password": "123"},
        }
        for field, account in cases.items():
            body = error_body(web.post("/accounts", json={"account": account}), 400)
            assert field in body["error"] or field in (body.get("errors") or {}), (field, body)
            assert "code" not in body or body["code"] != 11, body
        unknown_group = {"email": f"{unique('u')}@e2e.example.org", "group_id": 987654321, "password": "long-enough"}
        error_body(web.post("/accounts", json={"account": unknown_group}), 400)
    with server.client() as no_key:
        refused = no_key.post(
            "/accounts",
            json={
                "account": {
                    "email": f"{unique('k')}@e2e.example.org",
                    "group_id": shop.group_id,
                    "password": "long-enough",
                }
            },
        )
        error_body(refused, 401)
