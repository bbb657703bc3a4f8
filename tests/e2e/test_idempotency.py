"""Idempotency-Key on POST appointments and POST accounts: a retry replays the first response and never
writes twice; the same key with another body is a conflict; without a key every POST counts."""

from __future__ import annotations

import json
import secrets
import threading

import httpx

from .booking_helpers import (
    Shop,
    anonymous_client,
    assert_refused,
    at,
    build_shop,
    count_rows,
    error_body,
    ok,
    register,
)
from .conftest import RunningServer, sha1_hex, unique

JSON_HEADERS = {"Content-Type": "application/json"}


def post_raw(client: httpx.Client, path: str, payload: dict[str, object], key: str | None) -> httpx.Response:
    """POST the exact same bytes every time (a retry resends the same body)."""
    headers = dict(JSON_HEADERS)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(path, content=json.dumps(payload, sort_keys=True).encode(), headers=headers)


def appointment_rows(server: RunningServer, fiche_id: int) -> int:
    return count_rows(server, "SELECT count(*) FROM vevents WHERE fiche_id = ? AND intervention_id <> 0", (fiche_id,))


def booking(shop: Shop, hour: str, **extra: object) -> dict[str, object]:
    return {
        "appointment": {
            "date": at(shop.first_day, hour),
            "calendar_id": shop.calendar_id,
            "intervention_ids": [shop.intervention_id],
            "fiche": {},
            **extra,
        }
    }


def test_a_retried_booking_is_replayed_not_booked_twice(server: RunningServer) -> None:
    shop = build_shop(server, capacity=3)
    customer = register(server, shop.group_id)
    key = "retry-" + secrets.token_hex(8)
    path = shop.path("appointments")
    with customer.client() as client:
        first = post_raw(client, path, booking(shop, "09:00"), key)
        created = ok(first, 201)
        assert first.headers.get("idempotent-replayed") != "true"
        for _ in range(2):
            retry = post_raw(client, path, booking(shop, "09:00"), key)
            assert ok(retry, 201)["id"] == created["id"]
            assert retry.headers.get("idempotent-replayed") == "true"
            assert retry.content == first.content
        fiche_id = int(created["fiche_id"])
        assert appointment_rows(server, fiche_id) == 1

        # the same key with another body: a conflict, nothing written
        conflict = post_raw(client, path, booking(shop, "10:00"), key)
        assert "Idempotency-Key" in error_body(conflict, 409)["error"]
        assert appointment_rows(server, fiche_id) == 1

        # without a key nothing is replayed: the same body again is a new (refused) booking ...
        assert_refused(post_raw(client, path, booking(shop, "09:00"), None), 12)
        # ... and two different slots make two appointments
        one = ok(post_raw(client, path, booking(shop, "10:00"), None), 201)
        two = ok(post_raw(client, path, booking(shop, "11:00"), None), 201)
        assert len({created["id"], one["id"], two["id"]}) == 3
        assert appointment_rows(server, fiche_id) == 3
        listed = ok(client.get(path, params={"include_past": 1}))
        assert sorted(r["id"] for r in listed["records"]) == sorted([created["id"], one["id"], two["id"]])

        # a new key for the same slot is a new request: refused, as the customer is already booked then
        assert_refused(post_raw(client, path, booking(shop, "09:00"), "retry-" + secrets.token_hex(8)), 12)


def test_a_key_belongs_to_its_caller(server: RunningServer) -> None:
    """Another customer sending the same key and the same bytes gets a booking of its own, never the
    first customer's appointment."""
    shop = build_shop(server, capacity=2)
    a, b = register(server, shop.group_id), register(server, shop.group_id)
    key = "shared-" + secrets.token_hex(8)
    path = shop.path("appointments")
    with a.client() as client_a, b.client() as client_b:
        mine = ok(post_raw(client_a, path, booking(shop, "09:00"), key), 201)
        theirs_response = post_raw(client_b, path, booking(shop, "09:00"), key)
        theirs = ok(theirs_response, 201)
        assert theirs_response.headers.get("idempotent-replayed") != "true"
        assert theirs["id"] != mine["id"] and theirs["fiche_id"] != mine["fiche_id"]
        assert theirs["fiche"]["email"] == b.email
    with shop.pro() as pro:
        ok_key = ok(
            post_raw(
                pro,
                path,
                {
                    "appointment": {
                        "date": at(shop.first_day, "10:00"),
                        "calendar_id": shop.calendar_id,
                        "intervention_ids": [shop.intervention_id],
                        "fiche": {"id": mine["fiche_id"]},
                    }
                },
                key,
            ),
            201,
        )
        assert ok_key["fiche_id"] == mine["fiche_id"]
        assert len(shop.appointments(pro)) == 3


def test_a_pro_booking_with_a_new_fiche_is_replayed_without_a_second_fiche(server: RunningServer) -> None:
    shop = build_shop(server)
    lastname = unique("Idem")
    payload = {
        "appointment": {
            "date": at(shop.first_day, "09:00"),
            "intervention_ids": [shop.intervention_id],
            "fiche": {"lastname": lastname, "firstname": "Once"},
        }
    }
    key = secrets.token_hex(16)
    with shop.pro() as pro:
        first = ok(post_raw(pro, shop.path("appointments"), payload, key), 201)
        again = post_raw(pro, shop.path("appointments"), payload, key)
        assert ok(again, 201)["id"] == first["id"] and again.headers.get("idempotent-replayed") == "true"
        fiches = ok(pro.get(shop.path("fiches"), params={"search": lastname}))
        assert fiches["totalRecords"] == 1
        assert len(shop.appointments(pro)) == 1


def test_concurrent_retries_of_one_key_write_once(server: RunningServer) -> None:
    shop = build_shop(server, capacity=5)
    customer = register(server, shop.group_id)
    key = "burst-" + secrets.token_hex(8)
    path = shop.path("appointments")
    barrier = threading.Barrier(10)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def attempt() -> None:
        with customer.client() as client:
            client.get(server.url + "/healthz")  # connect before the start line
            barrier.wait()
            response = post_raw(client, path, booking(shop, "09:00"), key)
        with lock:
            results.append(response)

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status_code for r in results)
    assert set(statuses) <= {201, 409}, [(r.status_code, r.text) for r in results]
    created = {r.json()["id"] for r in results if r.status_code == 201}
    assert len(created) == 1, created
    assert sum(1 for r in results if r.headers.get("idempotent-replayed") != "true" and r.status_code == 201) == 1
    with shop.pro() as pro:
        assert [r["id"] for r in shop.appointments(pro)] == list(created)


def test_a_retried_account_creation_is_replayed(server: RunningServer) -> None:
    shop = build_shop(server)
    email = f"{unique('idem')}@e2e.example.org"
    payload = {"account": {"email": email, "group_id": shop.group_id, "password": "pw-once-only", "firstname": "Ida"}}
    key = "acct-" + secrets.token_hex(8)
    with anonymous_client(server) as web:
        first = post_raw(web, "/accounts", payload, key)
        account = ok(first, 201)
        retry = post_raw(web, "/accounts", payload, key)
        assert retry.status_code == 201, retry.text
        assert retry.json()["id"] == account["id"] and retry.headers.get("idempotent-replayed") == "true"
        assert count_rows(server, "SELECT count(*) FROM accounts WHERE lower(email) = lower(?)", (email,)) == 1

        changed = {"account": {**payload["account"], "firstname": "Other"}}
        error_body(post_raw(web, "/accounts", changed, key), 409)
        # without the key the same body is a second creation: refused, the e-mail is taken
        assert_refused(post_raw(web, "/accounts", payload, None), 11)
    assert count_rows(server, "SELECT count(*) FROM accounts WHERE lower(email) = lower(?)", (email,)) == 1
    with server.client() as client:
        login = client.post(
            "/sessions/login",
            params={"apikey": server.apikey},
            data={"account[email]": email, "account[password]": sha1_hex("pw-once-only")},
        )
    assert ok(login)["account"]["id"] == account["id"]
