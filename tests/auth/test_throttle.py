"""The login throttle (auth/throttle.py): a guesser is slowed down, but no one's failures lock another
user out, whether they come from the user's own address (a NAT, a reverse proxy) or from elsewhere."""

from __future__ import annotations

import time

import pytest

from openrdv.auth import throttle
from openrdv.auth.principal import Authenticator
from openrdv.errors import TooManyRequests

from .conftest import LOGIN_ATTEMPTS, AuthWorld, basic, json_of, made_up_email, new_address

pytestmark = pytest.mark.engines  # the counts are upserts of each engine


def attempt(auth: Authenticator, world: AuthWorld, email: str, password: str, address: str) -> int | None:
    with world.db.connect() as conn:
        return auth.check_password(conn, "pro", email, password, address, int(time.time()))


def refused(auth: Authenticator, world: AuthWorld, email: str, password: str, address: str) -> int:
    """The Retry-After of an attempt that must be throttled."""
    with pytest.raises(TooManyRequests) as caught:
        attempt(auth, world, email, password, address)
    assert caught.value.status == 429
    wait = int(dict(caught.value.headers)["Retry-After"])
    assert 1 <= wait <= throttle.WINDOW
    return wait


def test_failures_with_made_up_emails_from_one_address_lock_no_one_out(world: AuthWorld) -> None:
    """Before: an address's failures refused every login from it, right ones included (a reverse
    proxy's address: everyone)."""
    auth = world.authenticator()
    pro_id, email, password = world.new_pro()
    address = new_address()
    assert attempt(auth, world, email, password, address) == pro_id  # a Basic client: now in the cache
    for _ in range(LOGIN_ATTEMPTS * throttle.ADDRESS_FACTOR):
        assert attempt(auth, world, made_up_email(), "wrong-password", address) is None
    # the address is now known for failures: a wrong answer says so ...
    refused(auth, world, made_up_email(), "wrong-password", address)
    refused(auth, world, email, "wrong-password", address)
    # ... but right passwords from it get in, the cached one and one checked afresh
    assert attempt(auth, world, email, password, address) == pro_id
    other_id, other_email, other_password = world.new_pro("other-password-1")
    assert attempt(auth, world, other_email, other_password, address) == other_id


def test_an_attacked_email_still_lets_its_user_in_from_elsewhere(world: AuthWorld) -> None:
    """Before: failures at an e-mail refused its right password from everywhere for 15 minutes."""
    auth = world.authenticator()
    pro_id, email, password = world.new_pro()
    attacker, user = new_address(), new_address()
    for n in range(LOGIN_ATTEMPTS):
        assert attempt(auth, world, email, f"guess-{n}", attacker) is None
    refused(auth, world, email, password, attacker)  # the guesser: refused even the right password
    refused(auth, world, email, "a-typo-1", user)  # a wrong one from anywhere: 429 while attacked
    assert attempt(auth, world, email, password, user) == pro_id
    assert attempt(auth, world, email, password, user) == pro_id  # again, from the cache
    refused(auth, world, email, password, attacker)  # the user's success frees no one else


def test_a_throttled_guesser_learns_nothing_not_even_from_the_cache(world: AuthWorld, verifications: list[str]) -> None:
    auth = world.authenticator()
    pro_id, email, password = world.new_pro()
    attacker = new_address()
    assert attempt(auth, world, email, password, new_address()) == pro_id  # the user: cached
    for n in range(LOGIN_ATTEMPTS):
        assert attempt(auth, world, email, f"guess-{n}", attacker) is None
    verifications.clear()
    for guess in ("guess-x", password):
        refused(auth, world, email, guess, attacker)
    assert verifications == [], "no password is checked once the address is out of guesses at this e-mail"


def test_a_right_password_clears_its_own_failures(world: AuthWorld) -> None:
    auth = world.authenticator()
    pro_id, email, password = world.new_pro()
    address = new_address()
    for _ in range(3):
        for n in range(LOGIN_ATTEMPTS - 1):
            assert attempt(auth, world, email, f"typo-{n}", address) is None
        assert attempt(auth, world, email, password, address) == pro_id


def test_the_buckets_hold_no_email_in_clear(world: AuthWorld) -> None:
    auth = world.authenticator()
    email = made_up_email()
    assert attempt(auth, world, email, "wrong-password", new_address()) is None
    with world.db.connect() as conn:
        buckets = [str(b) for (b,) in conn.all("SELECT bucket FROM login_failures")]
    assert buckets and not any(email in b or email.split("@")[0] in b for b in buckets)
    assert max(len(b) for b in buckets) == len("email:") + 64


def test_basic_and_login_over_the_api_from_a_failing_address(world: AuthWorld) -> None:
    """What a client behind a busy address sees: 429 for unknown e-mails, 200 for its own."""
    api = world.api()
    pro_id, email, password = world.new_pro()
    address = new_address()
    key = {"apikey": world.sandbox_key}
    for _ in range(LOGIN_ATTEMPTS * throttle.ADDRESS_FACTOR):
        ghost = {"pro": {"email": made_up_email(), "password": "wrong-password"}}
        assert world.call(api, "POST", "sessions/login", key, body=ghost, client=address).status == 401
    ghost = {"pro": {"email": made_up_email(), "password": "wrong-password"}}
    late = world.call(api, "POST", "sessions/login", key, body=ghost, client=address)
    assert late.status == 429 and dict(late.headers).get("Retry-After")
    login = world.call(
        api, "POST", "sessions/login", key, body={"pro": {"email": email, "password": password}}, client=address
    )
    assert login.status == 200, login.body
    assert json_of(login)["pro"]["id"] == pro_id
    path = f"groups/{world.group_id}/pros/{pro_id}"
    listed = world.call(api, "GET", path, key, basic(email, password), client=address)
    assert listed.status == 200, listed.body
