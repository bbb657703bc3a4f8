"""A session lives by the API key it was opened with: of the server's environment and not revoked."""

from __future__ import annotations

import pytest

from openrdv.auth.apikeys import create_apikey
from openrdv.auth.sessions import COOKIE_NAME

from .conftest import AuthWorld, json_of

pytestmark = pytest.mark.engines  # the session is read with its API key in one query of each engine


def login_cookie(world: AuthWorld, key: str, email: str, password: str, **server: str) -> dict[str, str]:
    body = {"pro": {"email": email, "password": password}}
    response = world.call(world.api(**server), "POST", "sessions/login", {"apikey": key}, body=body)
    assert response.status == 200, response.body
    set_cookie = dict(response.headers)["Set-Cookie"]
    token = set_cookie.split(";")[0].partition("=")[2]
    assert token
    return {"cookie": f"{COOKIE_NAME}={token}"}


def test_a_sandbox_session_is_refused_by_a_production_server_sharing_the_database(world: AuthWorld) -> None:
    """Before: the cookie alone worked on the production server."""
    pro_id, email, password = world.new_pro()
    sandbox, production = world.api(), world.api(environment="production")
    cookie = login_cookie(world, world.sandbox_key, email, password)
    path = f"groups/{world.group_id}/pros/{pro_id}"
    assert world.call(sandbox, "GET", path, headers=cookie).status == 200
    alone = world.call(production, "GET", path, headers=cookie)
    assert alone.status == 401, alone.body
    assert "sandbox" in json_of(alone)["error"] and "production" in json_of(alone)["error"]
    # a production key beside the cookie does not make the sandbox session a production one
    with_key = world.call(production, "GET", path, {"apikey": world.production_key}, headers=cookie)
    assert with_key.status == 401, with_key.body
    # the session is not ended: the sandbox server still takes it
    assert world.call(sandbox, "GET", path, headers=cookie).status == 200


def test_a_production_session_works_on_production_only(world: AuthWorld) -> None:
    pro_id, email, password = world.new_pro()
    cookie = login_cookie(world, world.production_key, email, password, environment="production")
    path = f"groups/{world.group_id}/pros/{pro_id}"
    assert world.call(world.api(environment="production"), "GET", path, headers=cookie).status == 200
    assert world.call(world.api(), "GET", path, headers=cookie).status == 401


def test_a_session_whose_key_is_revoked_is_refused(world: AuthWorld) -> None:
    """`openrdv apikey revoke` deletes the key's sessions; a session that outlived its key in any
    other way (a revocation written by another tool, a restored backup) is refused all the same."""
    pro_id, email, password = world.new_pro()
    with world.db.connect() as conn:
        key_row, key = create_apikey(conn, "short-lived", "sandbox")
    cookie = login_cookie(world, key, email, password)
    path = f"groups/{world.group_id}/pros/{pro_id}"
    assert world.call(world.api(), "GET", path, headers=cookie).status == 200
    with world.db.connect() as conn:
        conn.execute("UPDATE apikeys SET revoked_at = 1 WHERE id = ?", (key_row.id,))
    refused = world.call(world.api(), "GET", path, headers=cookie)
    assert refused.status == 401, refused.body
    assert "revoked" in json_of(refused)["error"]
