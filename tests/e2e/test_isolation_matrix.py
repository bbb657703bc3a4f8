"""The tenant boundary, cell by cell: every route × method × caller gets the contract's status and no
other tenant's data.

Routes are derived from the declarations (`openrdv.registry.RESOURCES`: verbs per profile, nesting,
tenancy) and checked against the server's own `/api/v1/openapi.json`, so a resource or verb added
later is attacked without editing this file. The callers (isolation_world.py) range from no
credentials to keys of the wrong environment and sessions opened with them, a pro of another group
and customers who do not own the record. The expected status comes from CONTRACT.md §2-§5: 405 for a
verb not offered (before authentication), 401 for refused credentials, 403 for a profile not allowed
the verb, 404 — never 403 — for another tenant's group or record, 400 for a body naming another
tenant's ids. Every body and header is scanned for tenant A's markers the caller may not read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlencode

import httpx
import pytest

from openrdv.auth.apikeys import create_apikey
from openrdv.db.engine import Database
from openrdv.model.declaration import READ_VERBS, Kind, Resource
from openrdv.registry import RESOURCES
from openrdv.web.routes import METHOD_VERBS

from .booking_helpers import at, fresh_tenant
from .conftest import RunningServer, StartServer, basic_header, session_token, sha1_hex, unique
from .isolation_world import TARGETS, Caller, Origin, World, build_world

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
RouteKind = Literal["collection", "member", "availability"]
# the record of tenant A a body points at, by the table its field references
REF_LABELS = {
    "calendars": "calendars.priv",
    "calendarsets": "calendarsets.priv",
    "interventions": "interventions.priv",
    "interventionsets": "interventionsets.priv",
    "fiches": "fiches.other",
    "vevents": "vevents.block",
}


@dataclass(frozen=True)
class Route:
    template: str  # as the OpenAPI document writes it
    kind: RouteKind
    resource: Resource | None
    nested: bool


def declared_routes() -> list[Route]:
    """Every route the declarations give: each resource un-nested, and nested in a group when it is
    kept per group; its collection when it offers list or create, its member when it offers get,
    update or delete (to any profile); availability nested (documented) and un-nested (served)."""
    routes = [
        Route("/api/v1/groups/{group_id}/availabletimeslots", "availability", None, True),
        Route("/api/v1/availabletimeslots", "availability", None, False),
    ]
    for resource in RESOURCES.values():
        offered = resource.pro_verbs | resource.account_verbs
        prefixes = [("/api/v1", False)]
        if resource.tenancy not in ("groups", "self"):
            prefixes.append(("/api/v1/groups/{group_id}", True))
        for prefix, nested in prefixes:
            if offered & {"list", "create"}:
                routes.append(Route(f"{prefix}/{resource.name}", "collection", resource, nested))
            if offered & {"get", "update", "delete"}:
                routes.append(Route(f"{prefix}/{resource.name}/{{id}}", "member", resource, nested))
    return routes


def route_verb(route: Route, method: str) -> str | None:
    if route.kind == "availability":
        return "slots" if method == "GET" else None
    return METHOD_VERBS.get((route.kind, method))


def offered_verbs(route: Route) -> frozenset[str]:
    if route.resource is None:
        return frozenset({"slots"})
    return route.resource.pro_verbs | route.resource.account_verbs


# -- the contract's answer ---------------------------------------------------------------------------------
def expected_status(route: Route, method: str, caller: Caller, variant: str = "plain") -> int:
    verb = route_verb(route, method)
    if verb is None or verb not in offered_verbs(route):
        return 405  # before authentication: a verb not offered to anyone
    if caller.kind == "refused":
        return 401
    if route.resource is None:
        return _availability_status(route, caller)
    return _resource_status(route, route.resource, verb, caller, variant)


def _availability_status(route: Route, caller: Caller) -> int:
    """Every group's catalogue is public, so customers and the booking page see group A's free
    slots; a pro addresses only its own groups: 404 in group A's URL, 400 naming `group_id` outside it."""
    if caller.kind == "pro":
        return 404 if route.nested else 400
    return 200


def _resource_status(route: Route, resource: Resource, verb: str, caller: Caller, variant: str) -> int:
    anonymous = caller.kind == "anonymous"
    if anonymous and not (
        (resource.anonymous_read and verb in READ_VERBS) or (resource.anonymous_create and verb == "create")
    ):
        return 401
    if verb not in resource.verbs("pro" if caller.kind == "pro" else "account"):
        return 403
    if anonymous and route.kind == "collection" and not route.nested and resource.tenancy not in ("groups", "self"):
        return 401  # an API key alone reads one group's public catalogue, in its URL
    if route.nested and caller.kind == "pro":
        return 404  # group A is not the pro's: never 403, never its data
    if verb == "list":
        return 200
    if verb == "create":
        return _create_status(resource, caller, variant)
    # a member verb on tenant A's target record, which none of these callers owns
    if resource.tenancy == "groups" and verb == "get" and caller.kind != "pro":
        return 200  # a group's public fields are every customer's to read
    return 404


def _create_status(resource: Resource, caller: Caller, variant: str) -> int:
    """Every create body of the matrix names tenant A's group or records (400: another tenant's ids in a
    body), or a taken e-mail (400, code 11). A customer booking in group A, whose catalogue is public,
    with the fiche of another customer of A names a record that is not visible to it: 404 (§2)."""
    if resource.name == "appointments" and caller.kind == "account" and variant == "group":
        return 404
    return 400


# -- requests ----------------------------------------------------------------------------------------------
@dataclass
class Cell:
    route: Route
    method: str
    caller: Caller
    path: str
    query: dict[str, Any]
    body: dict[str, Any] | None = None
    variant: str = "plain"
    attacked: frozenset[str] = frozenset()  # names a 400 must mention (the body's foreign ids)
    search: Origin | None = None  # a `search` for a marker of this origin


def _ref_fields(world: World, resource: Resource) -> dict[str, Any]:
    """Every reference a pro may write (other than group_id) pointed at tenant A's record of its table."""
    refs: dict[str, Any] = {}
    for f in resource.fields:
        if not f.can_write("pro") or f.name == "group_id":
            continue
        table = f.ref_table if f.kind is Kind.REF else (f.link.other_table if f.link else None)
        label = REF_LABELS.get(table or "")
        if label is not None:
            refs[f.name] = [world.id_of(label)] if f.kind is Kind.IDS else world.id_of(label)
    return refs


def _base_fields(world: World, resource: Resource) -> dict[str, Any]:
    """A body that would create a record if it named nothing of another tenant."""
    day = world.shop.first_day
    specific: dict[str, dict[str, Any]] = {
        "pros": {
            "email": f"{unique('intruder')}@e2e.example.org",
            "password": "pw-intruder-123",
            "lastname": "Intruder",
        },
        "interventions": {"name": "intruder", "length": 30},
        "fiches": {"lastname": "Intruder"},
        "customfields": {"model": "Fiche", "name": "str9"},
        "vevents": {"start": at(day, "15:00"), "end": at(day, "15:30")},
        "accounts": {"email": world.account_c_email, "password": "pw-intruder-123"},
        "appointments": {
            "date": world.slot,
            "calendar_id": world.id_of("calendars.pub"),
            "intervention_ids": [world.id_of("interventions.pub")],
            "fiche": {"id": world.id_of("fiches.other")},
        },
    }
    if resource.name in specific:
        return dict(specific[resource.name])
    fields: dict[str, Any] = {"name": "intruder"} if "name" in resource.writable("pro") else {}
    for f in resource.fields:
        if f.required and f.can_write("pro"):
            fields[f.name] = at(day, "15:00") if f.kind is Kind.DATETIME else "intruder"
    return fields


def create_bodies(world: World, route: Route, resource: Resource) -> Iterator[tuple[str, dict[str, Any], set[str]]]:
    """(variant, body, attacked names): tenant A's group named in the body; then, outside a group URL,
    tenant A's records named by reference with no group (the create lands in the caller's group)."""
    base = _base_fields(world, resource)
    refs = _ref_fields(world, resource)
    attacked = {"group_id", *refs, "fiche"}
    if resource.name == "accounts":
        attacked |= {"e-mail", "email"}  # the address of account C is taken (code 11)
    yield "group", {resource.singular: {**base, **refs, "group_id": world.group_a}}, attacked
    if not route.nested and refs:
        yield "refs", {resource.singular: {**base, **refs}}, set(refs) | {"fiche"}


def update_body(world: World, resource: Resource) -> dict[str, Any]:
    """An intruder's change: text overwritten, and the record moved to group B where that is a field."""
    fields: dict[str, Any] = {
        f.name: "intruder"
        for f in resource.fields
        if f.kind in (Kind.STR, Kind.TEXT)
        and f.can_write("account")
        and not f.choices
        and f.name not in ("email", "password")
    }
    for f in resource.fields:
        if (
            f.kind in (Kind.STR, Kind.TEXT)
            and f.can_write("pro")
            and len(fields) < 3
            and not f.choices
            and f.name not in ("email", "password", "timezone", "colorref", "rrule", "exdates", "type")
        ):
            fields.setdefault(f.name, "intruder")
    if "group_id" in resource.writable("pro"):
        fields["group_id"] = world.tenant_b.group_id
    return {resource.singular: fields}


def list_queries(world: World, route: Route, resource: Resource, caller: Caller) -> Iterator[Cell]:
    """A list, then asking for group A's rows by parameter and by condition, the streamed path, and a
    `search` for each marker written in one of the resource's search fields."""
    path = route.template.format(group_id=world.group_a, id=0)
    yield Cell(route, "GET", caller, path, {})
    if caller.kind == "refused":
        return
    yield Cell(route, "GET", caller, path, {"format": "xml"}, variant="xml")
    a = world.group_a
    yield Cell(route, "GET", caller, path, {"group_id": a}, variant="group_id param")
    by = "group_id" if "group_id" in resource.by_name else "id"  # the groups themselves: by id
    yield Cell(
        route,
        "GET",
        caller,
        path,
        {"conditions[0][field]": by, "conditions[0][op]": "=", "conditions[0][value]": a},
        variant="group condition",
    )
    yield Cell(route, "GET", caller, path, {"results": "all", "include_past": 1}, variant="results=all")
    for marker, origin in world.origins.items():
        label_resource = world.records[origin.label][0] if origin.label in world.records else None
        if label_resource is resource and origin.field in resource.search_fields:
            yield Cell(
                route, "GET", caller, path, {"search": marker, "include_past": 1}, variant="search", search=origin
            )


def cells_of(world: World, route: Route, method: str, caller: Caller) -> Iterator[Cell]:
    resource = route.resource
    target = world.target(resource) if resource is not None and route.kind == "member" else 0
    path = route.template.format(group_id=world.group_a, id=target)
    if route.kind == "availability":
        query = {
            "intervention_ids[]": world.id_of("interventions.pub"),
            "start": at(world.shop.first_day, "00:00"),
            "nDays": 1,
            **({} if route.nested else {"group_id": world.group_a}),
        }
        yield Cell(route, method, caller, path, query)
        return
    assert resource is not None
    verb = route_verb(route, method)
    if verb == "list":
        yield from list_queries(world, route, resource, caller)
    elif method in ("POST",) and route.kind == "collection":
        for variant, body, attacked in create_bodies(world, route, resource):
            yield Cell(route, method, caller, path, {}, body, variant, frozenset(attacked))
    elif method in ("PUT", "PATCH", "POST"):
        yield Cell(route, method, caller, path, {}, update_body(world, resource))
    else:
        yield Cell(route, method, caller, path, {})
        if method == "GET" and caller.kind != "refused":
            yield Cell(route, method, caller, path, {"format": "xml"}, variant="xml")


def all_cells(world: World) -> Iterator[Cell]:
    for route in declared_routes():
        for method in METHODS:
            for caller in world.callers.values():
                yield from cells_of(world, route, method, caller)


# -- checking ----------------------------------------------------------------------------------------------
def check(world: World, cell: Cell, response: httpx.Response) -> list[str]:
    """What is wrong with this answer to this cell (nothing: an empty list)."""
    problems: list[str] = []
    want = expected_status(cell.route, cell.method, cell.caller, cell.variant)
    got = response.status_code
    if got != want:
        problems.append(f"status {got}, contract says {want}")
    text = response.text
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.multi_items())
    leaked = world.leaks(cell.caller, text + "\n" + headers)
    if leaked:
        problems.append(f"tenant A's data shown: {', '.join(leaked)}")
    if got >= 400:
        problems += _error_shape(response)
    if got == 405 and not response.headers.get("allow"):
        problems.append("405 without Allow")
    if got == 401 and "www-authenticate" in response.headers:
        problems.append("401 with WWW-Authenticate")
    if got == 400 and want == 400 and cell.attacked and cell.variant != "xml":
        body = response.json()
        said = str(body.get("error", "")) + " " + " ".join(body.get("errors") or {})
        if not any(name in said for name in cell.attacked):
            problems.append(f"400 for another reason than the foreign ids {sorted(cell.attacked)}")
    if cell.search is not None and got == 200:
        records = response.json().get("records") or []
        if records and not cell.caller.may_read(cell.search):
            problems.append(
                f"search matched text the caller cannot read ({cell.search.label}.{cell.search.field}): "
                f"{len(records)} record(s)"
            )
    return problems


def _error_shape(response: httpx.Response) -> list[str]:
    if response.headers.get("content-type", "").startswith("application/xml"):
        return [] if b"<error" in response.content else ["XML error body without <error>"]
    try:
        body = response.json()
    except ValueError:
        return ["error body is not JSON"]
    if not isinstance(body, dict) or not isinstance(body.get("error"), str) or not body["error"].strip():
        return ["error body without an `error` sentence"]
    return []


def send(client: httpx.Client, cell: Cell) -> httpx.Response:
    return client.request(
        cell.method, cell.path, params={**cell.caller.params, **cell.query}, headers=cell.caller.headers, json=cell.body
    )


def describe(cell: Cell, response: httpx.Response, problems: list[str]) -> str:
    query = "&".join(f"{k}={v}" for k, v in cell.query.items())
    return (
        f"{cell.caller.name:<26} {cell.method:<6} {cell.path}{'?' + query if query else ''} [{cell.variant}] → "
        f"{response.status_code}: {'; '.join(problems)} | body: {response.text[:240]}"
    )


# -- fixtures and tests ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from build_world(server, tmp_path_factory.mktemp("isolation"))


def test_the_declared_routes_are_the_documented_ones(server: RunningServer) -> None:
    """The routes the matrix attacks are exactly the resource routes of the OpenAPI document, with the
    same methods: a route the document gains is a route the declarations (and so the matrix) have."""
    document = httpx.get(server.api + "/openapi.json", timeout=30).json()
    documented = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if not path.startswith("/api/v1/sessions/")
    }
    declared = {
        (route.template, method)
        for route in declared_routes()
        for method in METHODS
        if (verb := route_verb(route, method)) is not None and verb in offered_verbs(route)
    }
    assert documented == declared, (
        f"documented, not declared: {sorted(documented - declared)}; "
        f"declared (and served), not documented: {sorted(declared - documented)}"
    )


def test_every_cell_answers_the_contract_and_shows_nothing_of_another_tenant(world: World) -> None:
    started = time.monotonic()
    failures: list[str] = []
    count = 0
    with httpx.Client(base_url=world.server.url, timeout=30) as client:
        for cell in all_cells(world):
            count += 1
            response = send(client, cell)
            problems = check(world, cell, response)
            if problems:
                failures.append(describe(cell, response, problems))
    elapsed = time.monotonic() - started
    print(f"\nisolation matrix: {count} cells, {len(failures)} failing, {elapsed:.1f} s")
    assert count > 1000, count
    assert not failures, f"{len(failures)} of {count} cells break the contract:\n" + "\n".join(failures)


def test_tenant_a_is_intact_and_its_markers_readable_by_its_pro(world: World) -> None:
    """The control of the matrix: tenant A's pro reads every marker it wrote (so the scan looks for
    strings that are really served), and no intruder's write landed."""
    missing: list[str] = []
    g = world.group_a
    with world.server.client(params={"apikey": world.server.apikey}, auth=world.tenant_a.auth) as pro:
        for label, (resource, record_id) in world.records.items():
            if resource.name == "accounts":
                continue  # no pro reads accounts; account A reads its own below
            collection = "vevents" if resource.name == "appointments" else resource.name
            path = f"/groups/{g}" if collection == "groups" else f"/groups/{g}/{collection}/{record_id}"
            response = pro.get(path)
            assert response.status_code == 200, (label, response.text)
            assert "intruder" not in response.text.lower(), (label, response.text)
            assert '"deleted":true' not in response.text.replace(" ", ""), (label, response.text)
            wanted = [m for m, o in world.origins.items() if o.label == label]
            missing += [f"{label}: {m}" for m in wanted if m not in response.text]
    account_a = world.callers["account_a"]
    with world.server.client(params=account_a.params, headers=account_a.headers) as client:
        own = client.get(f"/accounts/{world.id_of('accounts.a')}")
        assert own.status_code == 200, own.text
        assert not world.leaks(account_a, own.text), own.text
        wanted = [m for m, o in world.origins.items() if o.label == "accounts.a" and o.account_readable]
        missing += [f"accounts.a: {m}" for m in wanted if m not in own.text]
    assert not missing, missing


def test_every_resource_has_a_target(world: World) -> None:
    for resource in RESOURCES.values():
        assert world.target(resource) > 0, resource.name
    assert set(TARGETS) <= set(RESOURCES), set(TARGETS) - set(RESOURCES)


# -- credentials in every position never reach the log ----------------------------------------------------
@dataclass(frozen=True)
class Sent:
    """One request of the secrets check: `position` says where its credentials travel."""

    position: str
    query: str = ""
    body: bytes | None = None
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


def _positions(key: str, email: str, password: str, fresh: Callable[[str], str], token: str) -> list[Sent]:
    """Credentials in every place a client may put them: `fresh(label)` is a new secret made for that
    place (so a leak names its place); the real key, password and session token travel too."""
    e = quote(email)
    q, enc, br, form, js, xml, hdr = (fresh(n) for n in ("query", "encoded", "bracket", "form", "json", "xml", "hdr"))
    raw, bad = fresh("raw-sep"), fresh("malformed")
    return [
        Sent("query", f"apikey={key}&pro[email]={e}&pro[password]={q}&account[password]={q}&password={q}"),
        Sent("query, real password", f"apikey={key}&pro[email]={e}&pro[password]={quote(password)}"),
        Sent(
            "query, names percent-encoded",
            f"%61pikey={key}&pro%5Bemail%5D={e}&pro%5bpassword%5d={enc}"
            f"&%70assword={enc}&account%5Bpass%77ord%5D={enc}&%5Fsession%5Fid={enc}",
        ),
        Sent(
            "query, bracket names",
            f"apikey={key}&pro[][password]={br}&user[password][]={br}&apikey[]={br}"
            f"&pro[password][0]={br}&fiche[password]={br}",
        ),
        Sent("query, second ?", f"format=json?apikey={key}?pro[password]={raw}&pro[email]={e}"),
        Sent(
            "form body",
            "",
            urlencode(
                {"apikey": key, "pro[email]": email, "pro[password]": form, "account[password]": form, "password": form}
            ).encode()
            + f"&%70ro%5Bpassword%5D={form}".encode(),
            "application/x-www-form-urlencoded",
        ),
        Sent(
            "JSON body",
            f"apikey={key}",
            json.dumps(
                {
                    "apikey": key,
                    "pro": {"email": email, "password": js},
                    "account": {"password": js},
                    "password": js,
                    "fiche": {"password": js},
                }
            ).encode(),
            "application/json",
        ),
        Sent(
            "JSON body, real password",
            "",
            json.dumps({"apikey": key, "pro": {"email": email, "password": password}}).encode(),
            "application/json",
        ),
        Sent(
            "XML body",
            f"apikey={key}",
            f"<pro><email>{email}</email><password>{xml}</password><apikey>{key}</apikey></pro>".encode(),
            "application/xml",
        ),
        Sent("malformed JSON body", f"apikey={key}", f'{{"pro": {{"password": "{bad}"'.encode(), "application/json"),
        Sent(
            "headers",
            "",
            None,
            None,
            (("Authorization", basic_header(email, hdr)), ("Cookie", f"_session_id={hdr}"), ("X-Api-Key", hdr)),
        ),
        Sent(
            "headers, real credentials",
            f"apikey={key}",
            None,
            None,
            (("Authorization", basic_header(email, password)),),
        ),
        Sent(
            "headers, bearer and session",
            "",
            None,
            None,
            (("Authorization", f"Bearer {hdr}"), ("Cookie", f"theme=dark; _session_id={token}")),
        ),
    ]


def test_no_credential_reaches_the_log_whatever_its_position(start_server: StartServer, tmp_path: Path) -> None:
    """Every route kind (login, logout, openapi, availability, a collection, a member, an unknown path,
    a method not offered) with credentials in every position: none of them in the log (at DEBUG) or in
    a response body."""
    logged = start_server({"OPENRDV_LOG_LEVEL": "DEBUG"})
    tenant = fresh_tenant(logged)
    database = Database(logged.database_url, pool_size=1)
    try:
        with database.connect() as conn:
            _, key = create_apikey(conn, "secrets-check", "sandbox")
    finally:
        database.close()
    secrets_sent: dict[str, str] = {key: "the API key"}
    for text in (tenant.password,):
        secrets_sent |= {text: "the password", sha1_hex(text): "its SHA-1", sha1_hex(text).upper(): "its SHA-1"}

    def fresh(label: str) -> str:
        value = f"Sx{unique(label.replace('-', ''))}"
        secrets_sent[value] = label
        return value

    with logged.client() as client:
        login = client.post(
            "/sessions/login.json", params={"apikey": key, "pro[email]": tenant.email, "pro[password]": tenant.password}
        )
        assert login.status_code == 200, login.text
        token = session_token(login)
    secrets_sent[token] = "a session token"
    secrets_sent[basic_header(tenant.email, tenant.password).split()[1]] = "a Basic credential"
    g, p = tenant.group_id, tenant.pro_id
    targets = [
        ("POST", "/api/v1/sessions/login.json"),
        ("GET", "/api/v1/sessions/logout"),
        ("GET", "/api/v1/openapi.json"),
        ("GET", f"/api/v1/groups/{g}/availabletimeslots"),
        ("GET", f"/api/v1/groups/{g}/fiches"),
        ("POST", f"/api/v1/groups/{g}/fiches"),
        ("PUT", f"/api/v1/groups/{g}/pros/{p}"),
        ("GET", "/api/v1/nothing/here"),
        ("DELETE", f"/api/v1/groups/{g}/pros/{p}"),
    ]
    in_bodies: list[str] = []
    last = ""
    for method, path in targets:
        for n, sent in enumerate(_positions(key, tenant.email, tenant.password, fresh, token)):
            last = f"secrets-{n}-{unique('r')}"
            headers = {"X-Request-Id": last, **dict(sent.headers)}
            if sent.content_type:
                headers["Content-Type"] = sent.content_type
            target = path + (f"?{sent.query}" if sent.query else "")
            response = logged.raw(method, target, headers, sent.body)
            assert response.status < 500, (method, target, sent.position, response.status, response.body[:300])
            shown = [label for secret, label in secrets_sent.items() if secret.encode() in response.body]
            if shown:
                in_bodies.append(f"{method} {path} [{sent.position}] → {response.status}: {shown}")
    deadline = time.monotonic() + 10
    while last not in logged.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = logged.log_text()
    leaked = [
        f"{label}: {line.strip()[:300]}"
        for secret, label in secrets_sent.items()
        for line in log.splitlines()
        if secret in line
    ]
    assert not leaked and not in_bodies, (
        f"secrets in the server log ({len(leaked)} lines):\n"
        + "\n".join(leaked[:60])
        + "\nsecrets in response bodies:\n"
        + "\n".join(in_bodies)
    )
