"""Authentication end to end: API keys, HTTP Basic, sessions, expiry, logout, throttling."""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
import pytest

from .conftest import (
    JSON_TYPE,
    RunningServer,
    StartServer,
    Tenant,
    assert_401,
    basic_header,
    cookie,
    error_of,
    login,
    login_token,
    session_token,
    set_cookie_parts,
    sha1_hex,
    unique,
)


@pytest.fixture(scope="module")
def tenant(server: RunningServer) -> Tenant:
    """A tenant that the tests of this module only read (never change)."""
    return server.new_tenant()


@pytest.fixture(scope="module")
def writable(server: RunningServer) -> Tenant:
    """A tenant whose group the tests of this module may change, each test a field of its own."""
    return server.new_tenant()


def other_address() -> str:
    """A loopback address of its own: failed logins are counted per client address too."""
    return f"127.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"


def get_group(server: RunningServer, group_id: int, **kw: Any) -> httpx.Response:
    with server.client() as client:
        return client.get(f"/groups/{group_id}", **kw)


def get_pros(server: RunningServer, group_id: int, **kw: Any) -> httpx.Response:
    with server.client() as client:
        return client.get(f"/groups/{group_id}/pros.json", **kw)


# -- HTTP Basic ------------------------------------------------------------------------------------------
def test_basic_with_plain_password(server: RunningServer, tenant: Tenant) -> None:
    response = get_pros(server, tenant.group_id, params={"apikey": server.apikey}, auth=tenant.auth)
    assert response.status_code == 200, response.text
    assert [r["id"] for r in response.json()["records"]] == [tenant.pro_id]


@pytest.mark.parametrize("case", ["lower", "upper"])
def test_basic_with_sha1_of_the_password(server: RunningServer, tenant: Tenant, case: str) -> None:
    digest = sha1_hex(tenant.password)
    digest = digest.upper() if case == "upper" else digest.lower()
    response = get_group(server, tenant.group_id, params={"apikey": server.apikey},
                         headers={"Authorization": basic_header(tenant.email, digest)})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == tenant.group_id


def test_basic_with_wrong_password_or_unknown_email(server: RunningServer, tenant: Tenant) -> None:
    wrong = get_pros(server, tenant.group_id, params={"apikey": server.apikey}, auth=(tenant.email, "not-it-123"))
    assert_401(wrong)
    unknown = get_pros(server, tenant.group_id, params={"apikey": server.apikey},
                       auth=(f"{unique('nobody')}@e2e.example.org", tenant.password))
    assert_401(unknown)
    # the wrong SHA-1 of the right password's neighbour is no better
    near = get_pros(server, tenant.group_id, params={"apikey": server.apikey},
                    headers={"Authorization": basic_header(tenant.email, sha1_hex(tenant.password + "x"))})
    assert_401(near)


def test_malformed_basic_header_is_401(server: RunningServer, tenant: Tenant) -> None:
    response = get_pros(server, tenant.group_id, params={"apikey": server.apikey},
                        headers={"Authorization": "Basic not!base64"})
    assert_401(response)


def test_no_user_on_a_protected_collection_is_401_saying_how(server: RunningServer, tenant: Tenant) -> None:
    response = get_pros(server, tenant.group_id, params={"apikey": server.apikey})
    message = assert_401(response)
    assert "basic" in message.lower() or "login" in message.lower(), message


# -- API keys --------------------------------------------------------------------------------------------
def test_missing_apikey_is_401_telling_how_to_pass_it(server: RunningServer, tenant: Tenant) -> None:
    response = get_pros(server, tenant.group_id, auth=tenant.auth)
    assert_401(response, "apikey")
    no_key_login = login(server, tenant.email, sha1_hex(tenant.password), apikey="")
    assert_401(no_key_login, "apikey")


def test_unknown_apikey_is_401(server: RunningServer, tenant: Tenant) -> None:
    response = get_pros(server, tenant.group_id, params={"apikey": "san_" + "x" * 40}, auth=tenant.auth)
    assert_401(response)


def test_production_key_on_the_sandbox_server_is_401_saying_so(server: RunningServer, tenant: Tenant) -> None:
    production = server.new_apikey("production")
    assert production["environment"] == "production"
    response = get_pros(server, tenant.group_id, params={"apikey": production["key"]}, auth=tenant.auth)
    message = assert_401(response)
    assert "production" in message.lower() or "environment" in message.lower(), message
    refused_login = login(server, tenant.email, sha1_hex(tenant.password), apikey=production["key"])
    assert_401(refused_login)
    assert set_cookie_parts(refused_login) is None


def test_revoked_key_is_refused_and_its_sessions_die(server: RunningServer, tenant: Tenant) -> None:
    key = server.new_apikey()
    token = login_token(server, tenant.email, sha1_hex(tenant.password), apikey=key["key"])
    assert get_pros(server, tenant.group_id, headers=cookie(token)).status_code == 200
    assert get_pros(server, tenant.group_id, params={"apikey": key["key"]}, auth=tenant.auth).status_code == 200

    assert server.cli("apikey", "revoke", str(key["id"])) == {"id": key["id"], "revoked": True}

    assert_401(get_pros(server, tenant.group_id, headers=cookie(token)))
    assert_401(get_pros(server, tenant.group_id, params={"apikey": key["key"]}, auth=tenant.auth), "revoked")
    assert_401(login(server, tenant.email, sha1_hex(tenant.password), apikey=key["key"]))
    # the other keys are unaffected
    assert get_pros(server, tenant.group_id, params={"apikey": server.apikey}, auth=tenant.auth).status_code == 200


def test_apikey_in_a_json_body_works_for_put(server: RunningServer, writable: Tenant) -> None:
    """The official PHP client sends the apikey inside the JSON body of POST/PUT."""
    with server.client(auth=writable.auth) as client:
        response = client.put(f"/groups/{writable.group_id}",
                              json={"apikey": server.apikey, "group": {"phone": "01 83 62 04 04"}})
        assert response.status_code == 200, response.text
        assert response.json()["phone"] == "01 83 62 04 04"
        assert "apikey" not in response.json()
        again = client.get(f"/groups/{writable.group_id}", params={"apikey": server.apikey})
        assert again.json()["phone"] == "01 83 62 04 04"


def test_strict_apikey_refuses_a_body_key(server: RunningServer, writable: Tenant,
                                          start_server: StartServer) -> None:
    strict = start_server({"OPENRDV_STRICT_APIKEY": "1"})
    with strict.client(auth=writable.auth) as client:
        refused = client.put(f"/groups/{writable.group_id}", json={"apikey": strict.apikey, "group": {"fax": "0102"}})
        assert_401(refused)
        assert client.get(f"/groups/{writable.group_id}", params={"apikey": strict.apikey}).json()["fax"] == ""
        accepted = client.put(f"/groups/{writable.group_id}", params={"apikey": strict.apikey},
                              json={"group": {"fax": "0102"}})
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["fax"] == "0102"
    # the same body key is fine on a server that is not strict
    with server.client(auth=writable.auth) as client:
        lenient = client.put(f"/groups/{writable.group_id}", json={"apikey": server.apikey, "group": {"fax": "0103"}})
        assert lenient.status_code == 200, lenient.text


# -- sessions --------------------------------------------------------------------------------------------
def check_login_success(response: httpx.Response, tenant: Tenant) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON_TYPE
    body = response.json()
    assert set(body) == {"pro", "error"}
    assert body["error"] is None
    pro = body["pro"]
    assert pro["id"] == tenant.pro_id
    assert pro["email"] == tenant.email
    assert pro["group_id"] == tenant.group_id
    assert pro["group_ids"] == [tenant.group_id]
    assert "password" not in pro and "password_hash" not in pro
    parts = set_cookie_parts(response)
    assert parts is not None, response.headers
    token, attributes = parts
    assert len(token) >= 32
    assert {a.lower() for a in attributes} == {"path=/", "httponly", "samesite=lax"}, attributes
    return token


@pytest.mark.parametrize("how", ["query", "form", "json"])
def test_login_with_sha1_password(server: RunningServer, tenant: Tenant, how: str) -> None:
    response = login(server, tenant.email, sha1_hex(tenant.password), how=how)
    token = check_login_success(response, tenant)
    # cookie-only requests, with no apikey: the key used at login is bound to the session
    listed = get_pros(server, tenant.group_id, headers=cookie(token))
    assert listed.status_code == 200, listed.text
    assert listed.json()["records"][0]["id"] == tenant.pro_id


@pytest.mark.parametrize("password", ["plain", "sha1-upper"])
def test_login_accepts_plain_password_and_any_case_sha1(server: RunningServer, tenant: Tenant, password: str) -> None:
    given = tenant.password if password == "plain" else sha1_hex(tenant.password).upper()
    check_login_success(login(server, tenant.email, given), tenant)


def test_login_without_suffix_and_with_apikey_in_json_body(server: RunningServer, tenant: Tenant) -> None:
    with server.client() as client:
        response = client.post("/sessions/login", json={"apikey": server.apikey,
                                                        "pro": {"email": tenant.email.upper(),
                                                                "password": sha1_hex(tenant.password)}})
    check_login_success(response, tenant)


def test_every_login_gets_a_new_token_and_both_work(server: RunningServer, tenant: Tenant) -> None:
    first = login_token(server, tenant.email, sha1_hex(tenant.password))
    second = login_token(server, tenant.email, sha1_hex(tenant.password))
    assert first != second
    for token in (first, second):
        assert get_pros(server, tenant.group_id, headers=cookie(token)).status_code == 200


@pytest.mark.parametrize("case", ["wrong-password", "unknown-email", "wrong-sha1"])
def test_failed_login_body(server: RunningServer, tenant: Tenant, case: str) -> None:
    email, password = {
        "wrong-password": (tenant.email, "wrong-password-1"),
        "unknown-email": (f"{unique('ghost')}@e2e.example.org", sha1_hex(tenant.password)),
        "wrong-sha1": (tenant.email, sha1_hex("something else")),
    }[case]
    response = login(server, email, password, how="form")
    assert response.status_code == 401
    assert "www-authenticate" not in response.headers
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json() == {"pro": None, "error": "Invalid email or password"}
    parts = set_cookie_parts(response)
    assert parts is None or not parts[0], "a failed login hands out no session"


def test_login_without_password_names_the_parameter(server: RunningServer, tenant: Tenant) -> None:
    with server.client() as client:
        response = client.post("/sessions/login.json", params={"apikey": server.apikey, "pro[email]": tenant.email})
    assert "pro[password]" in error_of(response, 400)


def test_unknown_session_cookie_is_401(server: RunningServer, tenant: Tenant) -> None:
    assert_401(get_pros(server, tenant.group_id, headers=cookie("f" * 64)))


def test_basic_wins_over_a_cookie(server: RunningServer, tenant: Tenant) -> None:
    token = login_token(server, tenant.email, sha1_hex(tenant.password))
    with server.client() as client:
        # Basic names the session server's main pro, the cookie names the tenant's pro
        basic = {"Authorization": basic_header(server.pro_email, server.pro_password), **cookie(token)}
        groups = client.get("/groups.json", params={"apikey": server.apikey}, headers=basic)
        assert groups.status_code == 200, groups.text
        assert [g["id"] for g in groups.json()["records"]] == [server.group_id]
        hidden = client.get(f"/groups/{tenant.group_id}/pros", params={"apikey": server.apikey}, headers=basic)
        assert hidden.status_code == 404
        # wrong Basic credentials are not rescued by a valid cookie
        bad = {"Authorization": basic_header(tenant.email, "wrong-password-2"), **cookie(token)}
        assert_401(client.get(f"/groups/{tenant.group_id}/pros", params={"apikey": server.apikey}, headers=bad))


def test_session_expires_after_idle_time(start_server: StartServer) -> None:
    short = start_server({"OPENRDV_SESSION_IDLE": "3"})
    token = login_token(short, short.pro_email, sha1_hex(short.pro_password))
    assert get_pros(short, short.group_id, headers=cookie(token)).status_code == 200
    time.sleep(3.2)  # the server's clock counts whole seconds: 3.2 s is at least 3 ticks
    with_key = get_pros(short, short.group_id, params={"apikey": short.apikey}, headers=cookie(token))
    assert_401(with_key, "expired")
    # what a cookie-only client (migclic: no apikey after login) is told
    assert_401(get_pros(short, short.group_id, headers=cookie(token)), "expired")
    # the idle clock applies to sessions only: Basic still works
    assert get_pros(short, short.group_id, params={"apikey": short.apikey},
                    auth=(short.pro_email, short.pro_password)).status_code == 200


def test_session_expires_after_max_lifetime_even_when_active(start_server: StartServer) -> None:
    short = start_server({"OPENRDV_SESSION_MAX": "3"})
    token = login_token(short, short.pro_email, sha1_hex(short.pro_password))
    logged_in = time.monotonic()
    while time.monotonic() - logged_in < 0.8:
        assert get_pros(short, short.group_id, headers=cookie(token)).status_code == 200
        time.sleep(0.2)
    while time.monotonic() - logged_in < 3.2:
        time.sleep(0.2)
        get_pros(short, short.group_id, headers=cookie(token))  # activity does not extend it
    assert_401(get_pros(short, short.group_id, params={"apikey": short.apikey}, headers=cookie(token)), "expired")


@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
def test_logout(server: RunningServer, tenant: Tenant, method: str) -> None:
    token = login_token(server, tenant.email, sha1_hex(tenant.password))
    with server.client() as client:
        response = client.request(method, "/sessions/logout.json", headers=cookie(token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json() == {"error": None}
    parts = set_cookie_parts(response)
    assert parts is not None, "the cookie is cleared"
    value, attributes = parts
    lowered = [a.lower() for a in attributes]
    assert value == ""
    assert "max-age=0" in lowered or any(a.startswith("expires=") and "1970" in a for a in lowered), attributes
    assert "path=/" in lowered
    assert_401(get_pros(server, tenant.group_id, headers=cookie(token)))


def test_logout_without_session_is_200(server: RunningServer) -> None:
    with server.client() as client:
        response = client.post("/sessions/logout")
    assert response.status_code == 200
    assert response.json() == {"error": None}


def test_password_change_ends_the_other_sessions(server: RunningServer) -> None:
    own = server.new_tenant()
    current = login_token(server, own.email, sha1_hex(own.password))
    other = login_token(server, own.email, sha1_hex(own.password))
    new_password = "new-" + unique("pw")
    with server.client() as client:
        changed = client.put(f"/groups/{own.group_id}/pros/{own.pro_id}", headers=cookie(current),
                             json={"pro": {"password": new_password}})
        assert changed.status_code == 200, changed.text
        assert "password" not in changed.json()
    assert_401(get_pros(server, own.group_id, headers=cookie(other)))
    assert get_pros(server, own.group_id, headers=cookie(current)).status_code == 200
    key = {"apikey": server.apikey}
    assert_401(get_pros(server, own.group_id, params=key, auth=own.auth))
    assert get_pros(server, own.group_id, params=key, auth=(own.email, new_password)).status_code == 200
    assert login(server, own.email, sha1_hex(own.password)).status_code == 401
    assert login(server, own.email, sha1_hex(new_password)).status_code == 200


def test_password_change_over_basic_ends_every_session(server: RunningServer) -> None:
    own = server.new_tenant()
    token = login_token(server, own.email, own.password)
    new_password = "new-" + unique("pw")
    with server.client(auth=own.auth) as client:
        changed = client.put(f"/groups/{own.group_id}/pros/{own.pro_id}", params={"apikey": server.apikey},
                             data={"pro[password]": new_password})
        assert changed.status_code == 200, changed.text
    assert_401(get_pros(server, own.group_id, headers=cookie(token)))


def test_secure_cookie_setting(start_server: StartServer) -> None:
    secure = start_server({"OPENRDV_SECURE_COOKIES": "1"})
    response = login(secure, secure.pro_email, sha1_hex(secure.pro_password))
    assert response.status_code == 200, response.text
    parts = set_cookie_parts(response)
    assert parts is not None
    assert {a.lower() for a in parts[1]} == {"path=/", "httponly", "samesite=lax", "secure"}, parts
    assert session_token(response)


# -- throttling ------------------------------------------------------------------------------------------
def check_429(response: httpx.Response) -> None:
    error_of(response, 429)
    retry = response.headers.get("retry-after")
    assert retry is not None and retry.isdigit(), response.headers
    assert 1 <= int(retry) <= 900


def new_pro(server: RunningServer, tenant: Tenant) -> tuple[str, str]:
    """A pro of its own (e-mail, password) in the tenant's group, made through the API."""
    email, password = f"{unique('throttled')}@e2e.example.org", "pro-password-" + unique("")
    with server.client(auth=tenant.auth, params={"apikey": server.apikey}) as client:
        created = client.post(f"/groups/{tenant.group_id}/pros", json={"pro": {"email": email, "password": password}})
    assert created.status_code == 201, created.text
    return email, password


def test_login_throttled_per_email_and_address(server: RunningServer, writable: Tenant,
                                               start_server: StartServer) -> None:
    limited = start_server({"OPENRDV_LOGIN_ATTEMPTS": "3"})
    email, password = new_pro(server, writable)
    other_email, other_password = new_pro(server, writable)
    address = other_address()
    for n in range(3):
        assert login(limited, email, f"wrong-password-{n}", local_address=address).status_code == 401
    # the guesser's address is refused for this e-mail, the right password too: it learns nothing more
    check_429(login(limited, email, sha1_hex(password), local_address=address))
    with limited.client(transport=httpx.HTTPTransport(local_address=address)) as client:
        basic = client.get(f"/groups/{writable.group_id}/pros", params={"apikey": limited.apikey},
                           auth=(email, password))
    check_429(basic)
    # from anywhere else a wrong password is 429 too, but the user's right one gets in
    elsewhere = other_address()
    check_429(login(limited, email, "wrong-password-x", local_address=elsewhere))
    assert login(limited, email, sha1_hex(password), local_address=elsewhere).status_code == 200
    # another e-mail from the guesser's address is not throttled by it
    assert login(limited, other_email, sha1_hex(other_password), local_address=address).status_code == 200


def test_failures_with_made_up_emails_from_one_address_lock_no_one_out(
    server: RunningServer, writable: Tenant, start_server: StartServer
) -> None:
    """Behind a reverse proxy every client has the proxy's address: one client's failures must not
    make everyone's right password answer 429."""
    limited = start_server({"OPENRDV_LOGIN_ATTEMPTS": "2"})
    email, password = new_pro(server, writable)
    address = other_address()
    for _ in range(2 * 20):  # the address allowance: 20 times the per-e-mail one
        ghost = f"{unique('ghost')}@e2e.example.org"
        assert login(limited, ghost, "wrong-password", local_address=address).status_code == 401
    check_429(login(limited, f"{unique('ghost')}@e2e.example.org", "wrong-password", local_address=address))
    # a right password from the same address: a login and an HTTP Basic request
    assert login(limited, email, sha1_hex(password), local_address=address).status_code == 200
    with limited.client(transport=httpx.HTTPTransport(local_address=address)) as client:
        basic = client.get(f"/groups/{writable.group_id}/pros", params={"apikey": limited.apikey},
                           auth=(email, password))
    assert basic.status_code == 200, basic.text
    # and from another address as well
    assert login(limited, email, sha1_hex(password), local_address=other_address()).status_code == 200


def test_a_trusted_proxy_names_the_client(server: RunningServer, writable: Tenant,
                                          start_server: StartServer) -> None:
    proxied = start_server({"OPENRDV_TRUSTED_PROXIES": "127.0.0.1", "OPENRDV_LOGIN_ATTEMPTS": "2"})
    email, password = new_pro(server, writable)

    def attempt(given: str, forwarded_for: str, local_address: str = "127.0.0.1") -> httpx.Response:
        transport = httpx.HTTPTransport(local_address=local_address)
        with proxied.client(transport=transport, headers={"X-Forwarded-For": forwarded_for}) as client:
            return client.post("/sessions/login.json",
                               params={"apikey": proxied.apikey, "pro[email]": email, "pro[password]": given})

    guesser, user = "198.51.100.17", "198.51.100.18"
    for n in range(2):  # whatever the guesser puts left of its address is its own invention
        assert attempt(f"wrong-password-{n}", f"203.0.113.{n}, {guesser}").status_code == 401
    check_429(attempt(sha1_hex(password), guesser))
    check_429(attempt(sha1_hex(password), f"203.0.113.9, {guesser}"))
    # another client behind the same proxy is another address
    assert attempt(sha1_hex(password), user).status_code == 200
    # from a peer that is not a trusted proxy the header is ignored: the peer is the client
    untrusted = other_address()
    for n in range(2):
        assert attempt(f"wrong-password-{n}", f"203.0.113.{10 + n}", untrusted).status_code == 401
    check_429(attempt(sha1_hex(password), user, untrusted))
    log = proxied.log_text()
    assert f"{guesser} POST /api/v1/sessions/login.json" in log
    assert f"{user} POST /api/v1/sessions/login.json" in log
    assert f"{untrusted} POST /api/v1/sessions/login.json" in log
    assert "203.0.113." not in log and "127.0.0.1 POST" not in log


# -- hardening ---------------------------------------------------------------------------------------
def test_a_sandbox_session_is_refused_by_a_production_server(server: RunningServer, tenant: Tenant,
                                                             start_server: StartServer) -> None:
    production = start_server({"OPENRDV_ENVIRONMENT": "production"})  # the same database
    token = login_token(server, tenant.email, sha1_hex(tenant.password))
    assert get_pros(server, tenant.group_id, headers=cookie(token)).status_code == 200
    assert_401(get_pros(production, tenant.group_id, headers=cookie(token)), "sandbox", "production")
    production_key = server.new_apikey("production")["key"]
    assert_401(get_pros(production, tenant.group_id, params={"apikey": production_key}, headers=cookie(token)),
               "sandbox")
    assert get_pros(production, tenant.group_id, params={"apikey": production_key},
                    auth=tenant.auth).status_code == 200
    assert get_pros(server, tenant.group_id, headers=cookie(token)).status_code == 200


def test_one_email_names_one_user(server: RunningServer, writable: Tenant) -> None:
    email, password = f"{unique('customer')}@e2e.example.org", "account-password-1"
    with server.client() as client:
        account = client.post("/accounts.json", params={"apikey": server.apikey},
                              json={"account": {"email": email, "password": password, "group_id": writable.group_id}})
        assert account.status_code == 201, account.text
        taken = client.post("/accounts.json", params={"apikey": server.apikey},
                            json={"account": {"email": writable.email.upper(), "password": password,
                                              "group_id": writable.group_id}})
    assert "already used" in error_of(taken, 400)
    assert taken.json()["code"] == 11
    with server.client(auth=writable.auth, params={"apikey": server.apikey}) as client:
        pro = client.post(f"/groups/{writable.group_id}/pros", json={"pro": {"email": email.upper(),
                                                                             "password": "pro-password-1"}})
    error_of(pro, 400)
    assert list(pro.json()["errors"]) == ["email"], pro.json()
    with server.client(auth=(email, password)) as client:  # the account's Basic login still names it
        itself = client.get(f"/accounts/{account.json()['id']}.json", params={"apikey": server.apikey})
    assert itself.status_code == 200, itself.text
    assert itself.json()["email"] == email
