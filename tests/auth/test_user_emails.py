"""One e-mail names one user: pros and accounts never share one (case-insensitively), or HTTP Basic,
which tries pros first, would stop logging the account in."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from openrdv import admin, registry
from openrdv.errors import ApiError
from openrdv.registry import RESOURCES
from openrdv.web.http import ApiResponse

from .conftest import AuthWorld, basic, json_of, made_up_email

ACCOUNT_PASSWORD = "account-password-1"

pytestmark = pytest.mark.engines  # PostgreSQL serialises the e-mail check with a lock of its own


def new_account(world: AuthWorld, email: str | None = None) -> tuple[int, str]:
    email = email or made_up_email()
    body = {"account": {"email": email, "password": ACCOUNT_PASSWORD, "group_id": world.group_id}}
    made = world.call(world.api(), "POST", "accounts", {"apikey": world.sandbox_key}, body=body)
    assert made.status == 201, made.body
    return int(json_of(made)["id"]), email


def as_pro(world: AuthWorld, pro: tuple[int, str, str], method: str, path: str, body: dict[str, Any]) -> ApiResponse:
    _, email, password = pro
    return world.call(world.api(), method, path, {"apikey": world.sandbox_key}, basic(email, password), body)


def email_refusal(response: ApiResponse) -> list[str]:
    assert response.status == 400, response.body
    errors = json_of(response)["errors"]
    assert list(errors) == ["email"], errors
    return list(errors["email"])


def test_a_pro_cannot_take_an_accounts_email(world: AuthWorld) -> None:
    """Before: the pro was made, and the account's Basic login answered 401 from then on."""
    account_id, email = new_account(world)
    creator = world.new_pro()
    made = as_pro(world, creator, "POST", f"groups/{world.group_id}/pros",
                  {"pro": {"email": email.upper(), "password": "pro-password-2"}})
    assert email_refusal(made) == ["is already used by another user"]
    with world.db.connect() as conn:
        assert conn.scalar("SELECT count(*) FROM pros WHERE lower(email) = lower(?)", (email,)) == 0
    # the account still logs in with HTTP Basic
    itself = world.call(world.api(), "GET", f"accounts/{account_id}", {"apikey": world.sandbox_key},
                        basic(email, ACCOUNT_PASSWORD))
    assert itself.status == 200, itself.body
    # nor may an existing pro move to it
    moved = as_pro(world, creator, "PUT", f"groups/{world.group_id}/pros/{creator[0]}", {"pro": {"email": email}})
    assert email_refusal(moved) == ["is already used by another user"]
    # nor the operator
    with pytest.raises(ApiError) as caught:
        admin.create(world.db, world.settings, "pros", {"email": email, "password": "pro-password-3"},
                     group_id=world.group_id)
    assert caught.value.status == 400


def test_another_pros_email_is_refused_in_any_case(world: AuthWorld) -> None:
    creator = world.new_pro()
    _, taken, _ = world.new_pro()
    made = as_pro(world, creator, "POST", f"groups/{world.group_id}/pros",
                  {"pro": {"email": taken.upper(), "password": "pro-password-2"}})
    assert email_refusal(made) == ["is already used by another user"]


def test_an_account_cannot_take_a_pros_email(world: AuthWorld) -> None:
    _, pro_email, _ = world.new_pro()
    _, account_email = new_account(world)
    body = {"account": {"email": pro_email.upper(), "password": ACCOUNT_PASSWORD, "group_id": world.group_id}}
    refused = world.call(world.api(), "POST", "accounts", {"apikey": world.sandbox_key}, body=body)
    taken_by_account = {**body, "account": {**body["account"], "email": account_email.upper()}}
    same = world.call(world.api(), "POST", "accounts", {"apikey": world.sandbox_key}, body=taken_by_account)
    # the very refusal a taken account e-mail gets (code 11), so a customer learns nothing of pros
    assert refused.status == same.status == 400
    first, second = json_of(refused), json_of(same)
    assert first["code"] == second["code"] == 11
    assert first["name"] == second["name"] == "EmailAlreadyExists"
    assert first["error"] == second["error"].replace(account_email.upper(), pro_email.upper())


def test_an_account_cannot_move_to_a_pros_email(world: AuthWorld) -> None:
    _, pro_email, _ = world.new_pro()
    account_id, account_email = new_account(world)
    moved = world.call(world.api(), "PUT", f"accounts/{account_id}", {"apikey": world.sandbox_key},
                       basic(account_email, ACCOUNT_PASSWORD), {"account": {"email": pro_email}})
    assert moved.status == 400, moved.body
    assert json_of(moved)["code"] == 11


def test_users_who_shared_an_email_before_may_still_change_other_fields(world: AuthWorld) -> None:
    """Data from before e-mails were unique across pros and accounts: not refused on an unrelated change."""
    pro = world.new_pro()
    account_id, _ = new_account(world)
    with world.db.connect() as conn:
        conn.execute("UPDATE accounts SET email = ? WHERE id = ?", (pro[1].upper(), account_id))
    renamed = as_pro(world, pro, "PUT", f"groups/{world.group_id}/pros/{pro[0]}", {"pro": {"lastname": "Renamed"}})
    assert renamed.status == 200, renamed.body
    assert json_of(renamed)["lastname"] == "Renamed"


def test_a_pro_made_while_an_account_takes_its_email_waits_and_is_refused(world: AuthWorld) -> None:
    """The check runs inside the write transaction and waits for one that is taking the e-mail: on
    PostgreSQL a lock on the e-mail (without it the pro's check would not see the account not yet
    committed, and both would be made); on SQLite the write lock."""
    email = made_up_email()
    outcome: list[int] = []

    def make_pro() -> None:
        try:
            admin.create(world.db, world.settings, "pros", {"email": email, "password": "pro-password-1"},
                         group_id=world.group_id)
            outcome.append(201)
        except ApiError as exc:
            outcome.append(exc.status)

    pro_maker = threading.Thread(target=make_pro)
    with world.db.connect() as conn, conn.transaction():
        ctx = admin.operator_context(world.db, conn, world.settings)
        body = {"account": {"email": email.upper(), "password": ACCOUNT_PASSWORD, "group_id": world.group_id}}
        registry.create(RESOURCES["accounts"], ctx, body)
        pro_maker.start()
        time.sleep(1.0)  # the pro's transaction is under way meanwhile
        assert outcome == [], "the pro was decided while the account's transaction was open"
    pro_maker.join(timeout=60)
    assert outcome == [400]
    with world.db.connect() as conn:
        assert conn.scalar("SELECT count(*) FROM pros WHERE lower(email) = lower(?)", (email,)) == 0
