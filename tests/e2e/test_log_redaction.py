"""No secret reaches the server log, whatever way it was sent; the access lines are there."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import httpx

from .conftest import RunningServer, StartServer, basic_header, cookie, session_token, sha1_hex, unique


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


def _log_since(server: RunningServer, start: int, rids: list[str]) -> str:
    """The log written since byte `start`, once the access lines of all `rids` are in it (or 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        with open(server.log_path, "rb") as log:
            log.seek(start)
            written = log.read().decode("utf-8", "replace")
        if all(f"rid={rid}" in written for rid in rids) or time.monotonic() > deadline:
            return written
        time.sleep(0.05)


def test_a_password_under_an_encoded_name_is_not_logged(server: RunningServer) -> None:
    """`pro%5Bp%61ssword%5D` is `pro[password]` to the API: the log decides by the decoded name too."""
    start = server.log_path.stat().st_size
    tag = unique("")
    email = f"{unique('nobody')}%40e2e.example.org"
    names = ["pro%5Bp%61ssword%5D", "PRO%5BPASSWORD%5D", "pro%5bPassWord%5d",
             "%70ro[%50assword]", "pro%255Bpassword%255D"]
    secrets_sent = []
    for n, name in enumerate(names):
        secret = f"Secret{n}x{tag}"
        secrets_sent.append(secret)
        query = f"apikey={server.apikey}&pro%5Bemail%5D={email}&{name}={secret}"
        response = server.raw("POST", f"/api/v1/sessions/login.json?{query}", {"X-Request-Id": f"encoded-{tag}-{n}"})
        assert response.status in (400, 401), response.body
    written = _log_since(server, start, [f"encoded-{tag}-{n}" for n in range(len(names))])
    for n, name in enumerate(names):
        assert f"rid=encoded-{tag}-{n}" in written
        assert f"{name}=***" in written
    leaked = [s for s in [*secrets_sent, server.apikey] if s in written]
    assert not leaked, f"secrets in the log: {leaked}\n{written[-2000:]}"


def test_a_request_cannot_forge_or_hide_a_log_line(server: RunningServer) -> None:
    start = server.log_path.stat().st_size
    tag = unique("")
    forged = f"2026-01-01 00:00:00,000 INFO openrdv.access 127.0.0.1 GET /api/v1/forged{tag} 200 1.0ms rid=forged"
    encoded = forged.replace(" ", "%20")
    targets = {
        f"lf-{tag}": f"/api/v1/groups%0A{encoded}",
        f"crlf-{tag}": f"/api/v1/groups%0D%0A{encoded}",
        f"query-{tag}": f"/api/v1/groups?x=%0A{encoded}&y=1",
        f"escape-{tag}": f"/api/v1/groups%1B[2K%1B[1A%0D{encoded}",
        f"unicode-{tag}": f"/api/v1/groups%E2%80%A8{encoded}%C2%85",
    }
    for rid, target in targets.items():
        response = server.raw("GET", target, {"X-Request-Id": rid})
        assert response.status in (401, 404), (target, response.status)
    written = _log_since(server, start, list(targets))
    lines = written.splitlines()
    for rid in targets:
        (line,) = [line for line in lines if f"rid={rid}" in line]
        assert line.split(" ")[2:4] == ["INFO", "openrdv.access"], line  # the line starts as ours do
    # the forged text only ever appears inside the access line of its own request, escaped
    for line in lines:
        if f"forged{tag}" in line:
            assert f"rid=forged{tag}" not in line and any(f"rid={rid}" in line for rid in targets), line
    assert not [line for line in lines if line.startswith("2026-01-01")]
    assert "\x1b" not in written and "\r" not in written and "\u2028" not in written and "\x85" not in written
    assert "/api/v1/groups\\n2026-01-01%2000:00:00,000%20INFO" in written


def test_deep_bodies_are_a_400_without_a_traceback(server: RunningServer) -> None:
    """4 KB of nested XML once cost a 500 and a 236 KB traceback, before authentication."""
    start = server.log_path.stat().st_size
    tag = unique("")
    bodies = {
        "xml": (b"<fiche>" + b"<a>" * 600 + b"</a>" * 600 + b"</fiche>", "application/xml"),
        "json": (b'{"fiche": ' + b'{"a":' * 900 + b"1" + b"}" * 900 + b"}", "application/json"),
        "json-arrays": (b'{"fiche": ' + b"[" * 1000 + b"]" * 1000 + b"}", "application/json"),
        "form": (b"fiche" + b"[a]" * 600 + b"=1", "application/x-www-form-urlencoded"),
    }
    rids: list[str] = []
    for kind, (body, content_type) in bodies.items():
        for method, path in (("POST", "/api/v1/fiches"), ("PUT", f"/api/v1/groups/{server.group_id}/fiches/1")):
            rid = f"deep-{tag}-{kind}-{method}"
            rids.append(rid)
            response = server.raw(method, path, {"Content-Type": content_type, "X-Request-Id": rid}, body)
            assert response.status == 400, (kind, method, response.status, response.body[:300])
            answer = response.json()
            assert list(answer["errors"]) == ["body"], answer
            assert "nested deeper than" in answer["errors"]["body"][0]
    written = _log_since(server, start, rids)
    assert written.count(f"deep-{tag}-") == len(bodies) * 2
    assert "Traceback" not in written and "ERROR" not in written, written[:3000]


def test_bodies_are_never_logged(start_server: StartServer) -> None:
    logged = start_server({"OPENRDV_LOG_LEVEL": "DEBUG"})
    marker = unique("BodyMarker")
    own = logged.new_tenant()
    auth = {"Authorization": basic_header(own.email, own.password)}
    bodies = [
        ("application/json", f'{{"fiche": {{"lastname": "{marker}", "comments": "note {marker}"}}}}'.encode()),
        ("application/x-www-form-urlencoded", f"fiche[lastname]={marker}&fiche[comments]={marker}".encode()),
        ("application/xml", f"<fiche><lastname>{marker}</lastname></fiche>".encode()),
        ("application/json", f'{{"fiche": {{"lastname": "{marker}", "bad": '.encode()),  # a 400
    ]
    for n, (content_type, body) in enumerate(bodies):
        response = logged.raw(
            "POST",
            f"/api/v1/groups/{own.group_id}/fiches?apikey={logged.apikey}",
            {**auth, "Content-Type": content_type, "X-Request-Id": f"body-{n}"},
            body,
        )
        assert response.status in (201, 400), response.body
    written = _log_since(logged, 0, [f"body-{n}" for n in range(len(bodies))])
    assert all(f"rid=body-{n}" in written for n in range(len(bodies)))
    assert marker not in written
