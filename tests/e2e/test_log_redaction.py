"""No secret reaches the server log, whatever way it was sent; the access lines are there."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import httpx

from .conftest import RunningServer, StartServer, cookie, session_token, sha1_hex, unique


def test_no_secret_in_the_log(start_server: StartServer) -> None:
    logged = start_server({"OPENRDV_LOG_LEVEL": "DEBUG"})
    own = logged.new_tenant()
    key = logged.apikey
    wrong = "wrong-" + unique("pw")
    new_password = "changed-" + unique("pw")
    secrets: set[str] = {key, own.password, wrong, new_password}
    for text in (own.password, wrong, new_password):
        secrets |= {sha1_hex(text), sha1_hex(text).upper()}
    expected_lines: list[tuple[str, str, int, str]] = []  # method, path, status, request id
    counter = iter(range(1000))

    def send(client: httpx.Client, method: str, path: str, status: int, *, headers: dict[str, str] | None = None,
             **kw: Any) -> httpx.Response:
        rid = f"redaction-{next(counter)}"
        response = client.request(method, path, headers={**(headers or {}), "X-Request-Id": rid}, **kw)
        assert response.status_code == status, (method, path, response.text)
        expected_lines.append((method, "/api/v1" + path, status, rid))
        for name, value in response.headers.multi_items():
            if name.lower() == "set-cookie" and value.startswith("_session_id=") and not value.startswith(
                    "_session_id=;"):
                secrets.add(session_token(response))
        return response

    def basic(email: str, password: str) -> dict[str, str]:
        encoded = base64.b64encode(f"{email}:{password}".encode()).decode()
        secrets.add(encoded)
        return {"Authorization": "Basic " + encoded}

    sha = sha1_hex(own.password)
    g, p = own.group_id, own.pro_id
    with logged.client() as c:
        # logins: query, form, JSON (apikey in the body), plain password, failures
        send(c, "POST", "/sessions/login.json", 200,
             params={"apikey": key, "pro[email]": own.email, "pro[password]": sha})
        send(c, "POST", "/sessions/login.json", 200, params={"apikey": key},
             data={"apikey": key, "pro[email]": own.email, "pro[password]": sha.upper()})
        send(c, "POST", "/sessions/login", 200, json={"apikey": key, "pro": {"email": own.email, "password": sha}})
        send(c, "POST", "/sessions/login", 200, params={"apikey": key},
             json={"pro": {"email": own.email, "password": own.password}})
        send(c, "POST", "/sessions/login.json", 401,
             params={"apikey": key, "pro[email]": own.email, "pro[password]": wrong})
        send(c, "POST", "/sessions/login.json", 401, params={"apikey": key},
             data={"pro[email]": own.email, "pro[password]": sha1_hex(wrong)})
        send(c, "POST", "/sessions/login", 401, params={"apikey": key},
             json={"pro": {"email": own.email, "password": wrong}})
        # HTTP Basic: plain, SHA-1 both cases, wrong
        send(c, "GET", f"/groups/{g}/pros", 200, params={"apikey": key}, headers=basic(own.email, own.password))
        send(c, "GET", f"/groups/{g}", 200, params={"apikey": key}, headers=basic(own.email, sha))
        send(c, "GET", f"/groups/{g}.xml", 200, params={"apikey": key}, headers=basic(own.email, sha.upper()))
        send(c, "GET", f"/groups/{g}", 401, params={"apikey": key}, headers=basic(own.email, wrong))
        # keyed requests: query and JSON body, and a refused key
        send(c, "PUT", f"/groups/{g}", 200, headers=basic(own.email, own.password),
             json={"apikey": key, "group": {"phone": "0102030405"}})
        send(c, "GET", f"/groups/{g}", 401, params={"apikey": key + "x"}, headers=basic(own.email, own.password))
        # a session, then a password change through it, then the new password
        token = session_token(send(c, "POST", "/sessions/login.json", 200,
                                   params={"apikey": key, "pro[email]": own.email, "pro[password]": sha}))
        send(c, "GET", f"/groups/{g}/pros.json", 200, headers=cookie(token))
        send(c, "PUT", f"/groups/{g}/pros/{p}", 200, headers=cookie(token),
             json={"pro": {"password": new_password}})
        send(c, "PUT", f"/groups/{g}/pros/{p}.json", 200, params={"apikey": key},
             headers=basic(own.email, new_password), data={"pro[password]": new_password, "apikey": key})
        send(c, "PUT", f"/groups/{g}/pros/{p}", 400, headers=cookie(token),
             content=b'{"pro": {"password": "' + new_password.encode() + b'"')
        send(c, "GET", f"/groups/{g}/pros", 200, params={"apikey": key}, headers=basic(own.email, new_password))
        send(c, "GET", "/sessions/logout", 200, headers=cookie(token))

    last_rid = expected_lines[-1][3]
    deadline = time.monotonic() + 10
    while last_rid not in logged.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = logged.log_text()

    leaked = sorted(s for s in secrets if s in log)
    assert not leaked, f"secrets in the log: {leaked}"
    for method, path, status, rid in expected_lines:
        pattern = rf"{method} {re.escape(path)}(\?\S*)? {status} \d+(\.\d+)?ms rid={re.escape(rid)}\b"
        assert re.search(pattern, log), f"no access line for {method} {path} {status} rid={rid}"
    assert "apikey=***" in log  # shown redacted, not dropped




def test_secrets_with_punctuation_sent_raw_in_the_query_are_not_logged(server: RunningServer) -> None:
    """`,` `;` `'` are legal unencoded in a query string, and a password may contain them: the whole
    value is a secret, not just its part before the first punctuation mark."""
    start = server.log_path.stat().st_size
    tag = unique("")
    fragments = [f"Alpha{tag}", f"Bravo{tag}", f"Charlie{tag}", f"Delta{tag}"]
    password = f"{fragments[0]},{fragments[1]};{fragments[2]}'{fragments[3]}"
    email = f"{unique('nobody')}%40e2e.example.org"
    rids = []
    for n, query in enumerate([
        f"apikey={server.apikey}&pro[email]={email}&pro[password]={password}",
        f"pro%5Bpassword%5D={password}&pro%5Bemail%5D={email}&apikey={server.apikey}",
    ]):
        rid = f"punctuation-{tag}-{n}"
        rids.append(rid)
        response = server.raw("POST", f"/api/v1/sessions/login.json?{query}", {"X-Request-Id": rid})
        assert response.status == 401, response.body
    deadline = time.monotonic() + 10
    while rids[-1] not in server.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    with open(server.log_path, "rb") as log:
        log.seek(start)
        written = log.read().decode("utf-8", "replace")
    for rid in rids:
        assert f"rid={rid}" in written
    leaked = [f for f in fragments if f in written]
    assert not leaked, f"parts of a secret in the log: {leaked}\n{written[-2000:]}"
