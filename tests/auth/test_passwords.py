"""A failed password check costs the same whether the e-mail exists or not: the number of argon2id
verifications is counted (each costs ~20-30 ms, so the count is the timing)."""

from __future__ import annotations

import hashlib
import time

import pytest

from openrdv.auth.passwords import hash_password, verify_password
from openrdv.auth.principal import Authenticator, UserKind

from .conftest import AuthWorld, made_up_email, new_address


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def verifications_of(
    world: AuthWorld, verifications: list[str], kind: UserKind, email: str, password: str
) -> tuple[int | None, int]:
    """(the user's id or None, the verifications it cost), from a fresh cache and a fresh address."""
    verifications.clear()
    with world.db.connect() as conn:
        found = Authenticator(world.settings).check_password(
            conn, kind, email, password, new_address(), int(time.time())
        )
    return found, len(verifications)


@pytest.mark.parametrize(
    "given",
    [
        pytest.param(sha1("not the password"), id="sha1-form"),  # before: 2 for a known e-mail, 1 for an unknown
        pytest.param(sha1("not the password").upper(), id="sha1-form-upper"),
        pytest.param("not the password", id="plain"),
        pytest.param("", id="empty"),
    ],
)
def test_a_wrong_password_costs_the_same_for_a_known_and_an_unknown_email(
    world: AuthWorld, verifications: list[str], given: str
) -> None:
    _, email, _ = world.new_pro()
    known = verifications_of(world, verifications, "pro", email, given)
    unknown = verifications_of(world, verifications, "pro", made_up_email(), given)
    assert known[0] is None and unknown[0] is None
    assert known[1] == unknown[1] >= 1


def test_an_account_without_a_password_costs_what_an_unknown_email_costs(
    world: AuthWorld, verifications: list[str]
) -> None:
    for given in (sha1("anything"), "anything", ""):
        email = made_up_email()
        made = world.call(
            world.api(),
            "POST",
            "accounts",
            {"apikey": world.sandbox_key},
            body={"account": {"email": email, "group_id": world.group_id}},
        )
        assert made.status == 201, made.body
        passwordless = verifications_of(world, verifications, "account", email, given)
        unknown = verifications_of(world, verifications, "account", made_up_email(), given)
        assert passwordless[0] is None
        assert passwordless[1] == unknown[1] >= 1


@pytest.mark.parametrize("form", ["plain", "sha1", "sha1-upper"])
def test_the_right_password_in_every_form_gets_in(world: AuthWorld, verifications: list[str], form: str) -> None:
    pro_id, email, password = world.new_pro()
    given = {"plain": password, "sha1": sha1(password), "sha1-upper": sha1(password).upper()}[form]
    assert verifications_of(world, verifications, "pro", email, given)[0] == pro_id


def test_a_plain_password_that_looks_like_a_sha1_still_gets_in(world: AuthWorld) -> None:
    hexlike = sha1("a password of forty hexadecimal digits")
    stored = hash_password(hexlike)
    assert verify_password(stored, hexlike)
    assert verify_password(stored, sha1(hexlike))
    assert not verify_password(stored, sha1(hexlike + "x"))


def test_a_broken_stored_hash_fails_and_still_costs_a_verification(verifications: list[str]) -> None:
    for stored in ("", None, "not-an-argon2-hash"):
        verifications.clear()
        assert not verify_password(stored, "some password")
        assert verifications, stored
