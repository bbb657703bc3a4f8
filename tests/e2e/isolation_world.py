"""Two tenants, their users and every kind of caller, for the isolation matrix (test_isolation_matrix.py).

Tenant A holds a record of every resource (a private one of each catalogue resource, a public one
too), with a unique *marker* in every text field a pro may write; who may legitimately read each
marker is known (its record's owner, the field's readability in the declaration), so any body can be
scanned for markers it must not show. Tenant B has a pro and an account; accounts A and C are
customers of A; the callers (`Caller`) range from no credentials at all to keys of the wrong
environment and sessions opened with them.

Everything is made over HTTP as the users would, except API keys (``create_apikey``/``revoke_apikey``
on the server's database: the operator's command line does the same) and a second server of the
*production* environment, on the same database, where sessions with production keys are opened.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from openrdv.auth.apikeys import create_apikey, revoke_apikey
from openrdv.db.engine import Database
from openrdv.model.declaration import TEXT_KINDS, Field, Kind, Resource
from openrdv.registry import RESOURCES

from .booking_helpers import Shop, at, build_shop, fresh_tenant, register
from .conftest import JSON_TYPE, RunningServer, Tenant, basic_header, cookie, launch, session_token, stop

# Fields a marker cannot go into: a format the server checks (a colour, a zone, an RRULE, a column
# name, a choice) and write-only secrets. (The e-mails users log in with are skipped where they are set.)
NO_MARKER = {"timezone", "rrule", "exdates", "colorref", "password", "model", "name@customfields", "type"}
MIN_MARKER_ROOM = 16  # a marker is 13 characters; fields shorter than this (country_code) get none


# The record of tenant A each resource's member routes are attacked on: one no caller of the matrix owns
# and, for the catalogue, a private one (blank public name), which even customers must not read.
TARGETS = {
    "groups": "groups.a",
    "pros": "pros.a",
    "calendarsets": "calendarsets.priv",
    "calendars": "calendars.priv",
    "interventionsets": "interventionsets.priv",
    "interventions": "interventions.priv",
    "customfields": "customfields.priv",
    "fiches": "fiches.other",
    "vevents": "vevents.block",
    "appointments": "appointments.target",
    "accounts": "accounts.c",
}


@dataclass(frozen=True)
class Origin:
    """Where a marker was written: record `label`, `field`; whether an account may read that field
    (`account_readable`), and who may see the record (`public`, or `owner` = a caller's name)."""

    label: str
    field: str
    account_readable: bool
    public: bool
    owner: str | None


CallerKind = Literal["refused", "anonymous", "pro", "account"]


@dataclass(frozen=True)
class Caller:
    """A principal of the matrix: what it sends with every request, and what it is."""

    name: str
    kind: CallerKind  # "refused": its credentials must never be accepted (401 on every offered verb)
    params: dict[str, str]
    headers: dict[str, str]
    doc: str

    def may_read(self, origin: Origin) -> bool:
        """Whether this caller may see a marker from `origin` (anywhere, in any body)."""
        if self.kind not in ("anonymous", "account") or not origin.account_readable:
            return False  # a pro of another group sees nothing of tenant A; refused callers see nothing
        return origin.public or origin.owner == self.name


@dataclass
class World:
    server: RunningServer
    shop: Shop
    tenant_a: Tenant
    tenant_b: Tenant
    tag: str
    records: dict[str, tuple[Resource, int]] = field(default_factory=dict)  # label → (resource, id)
    origins: dict[str, Origin] = field(default_factory=dict)  # marker → where it was written
    callers: dict[str, Caller] = field(default_factory=dict)
    account_c_email: str = ""
    slot: str = ""  # a free start on the public calendar (for booking bodies)

    @property
    def group_a(self) -> int:
        return self.tenant_a.group_id

    def id_of(self, label: str) -> int:
        return self.records[label][1]

    def target(self, resource: Resource) -> int:
        return self.id_of(TARGETS.get(resource.name, f"{resource.name}.new"))

    def markers_in(self, text: str) -> list[str]:
        return re.findall(re.escape(self.tag) + r"\d{3}", text)

    def leaks(self, caller: Caller, text: str) -> list[str]:
        """The markers in `text` this caller must not see, each with its origin."""
        found = []
        for marker in sorted(set(self.markers_in(text))):
            origin = self.origins.get(marker)
            if origin is None or not caller.may_read(origin):
                found.append(f"{marker} ({origin.label}.{origin.field})" if origin else f"{marker} (unknown)")
        return found


# -- building ---------------------------------------------------------------------------------------------
def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: "
        f"expected {status}, got {response.status_code}: {response.text}"
    )
    assert response.headers.get("content-type") == JSON_TYPE, response.headers
    return response.json()


def _markable(resource: Resource, f: Field) -> bool:
    if f.kind not in TEXT_KINDS or not f.can_write("pro") or f.choices:
        return False
    if f.name in NO_MARKER or f"{f.name}@{resource.name}" in NO_MARKER:
        return False
    return f.max_length is None or f.max_length >= MIN_MARKER_ROOM


class Builder:
    def __init__(self, world: World) -> None:
        self.world = world
        self.count = 0

    def marker(self, origin: Origin) -> str:
        self.count += 1
        value = f"{self.world.tag}{self.count:03d}"
        self.world.origins[value] = origin
        return value

    def marked_fields(
        self,
        resource: Resource,
        label: str,
        *,
        public: bool,
        owner: str | None,
        readable_as: Resource | None = None,
        writer: Literal["pro", "account"] = "pro",
        skip: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        """A marker for every text field of `resource` the writer may write. `readable_as`: the
        declaration an account reads the record through (appointments over their vevents)."""
        view = readable_as or resource
        fields: dict[str, Any] = {}
        for f in resource.fields:
            if not _markable(resource, f) or not f.can_write(writer) or f.name in skip:
                continue
            seen_as = view.by_name.get(f.name)
            origin = Origin(label, f.name, bool(seen_as and seen_as.can_read("account")), public, owner)
            value = self.marker(origin)
            if f.name == "email":
                value += "@e2e.example.org"
            elif f.kind is Kind.JSON:
                value = f'{{"note": "{value}"}}'
            fields[f.name] = value
        return fields

    def mark(
        self,
        client: httpx.Client,
        path: str,
        resource: Resource,
        label: str,
        *,
        public: bool,
        owner: str | None = None,
        readable_as: Resource | None = None,
        writer: Literal["pro", "account"] = "pro",
    ) -> None:
        """PUT markers into every text field of the record at `path`, and check they were stored."""
        fields = self.marked_fields(resource, label, public=public, owner=owner, readable_as=readable_as, writer=writer)
        record = _ok(client.put(path, json={resource.singular: fields}))
        for name, value in fields.items():
            assert record.get(name) == value, (label, name, record.get(name), value)


def _create(client: httpx.Client, path: str, resource: Resource, fields: dict[str, Any]) -> int:
    return int(_ok(client.post(path, json={resource.singular: fields}), 201)["id"])


def _catalogue(world: World, builder: Builder, pro: httpx.Client) -> None:
    """A public and a private record of each catalogue resource in group A, marked."""
    shop, g = world.shop, world.group_a
    world.records["interventionsets.pub"] = (RESOURCES["interventionsets"], shop.interventionset_id)
    world.records["interventions.pub"] = (RESOURCES["interventions"], shop.intervention_id)
    world.records["calendars.pub"] = (RESOURCES["calendars"], shop.calendar_id)
    made: dict[str, tuple[str, dict[str, Any]]] = {
        "calendarsets.pub": ("calendarsets", {"name": "set", "publicname": "Set"}),
        "calendarsets.priv": ("calendarsets", {"name": "set", "publicname": ""}),
        "interventionsets.priv": ("interventionsets", {"name": "iset", "publicname": ""}),
        "interventions.priv": ("interventions", {"name": "svc", "publicname": "", "length": 30}),
        "calendars.priv": ("calendars", {"name": "cal", "publicname": "", "intervention_ids": [shop.intervention_id]}),
        "customfields.pub": ("customfields", {"model": "Fiche", "name": "str0", "user_visible": True}),
        "customfields.priv": ("customfields", {"model": "Vevent", "name": "str1", "user_visible": False}),
    }
    for label, (name, fields) in made.items():
        world.records[label] = (RESOURCES[name], _create(pro, f"/groups/{g}/{name}", RESOURCES[name], fields))
    for label, (resource, record_id) in list(world.records.items()):
        if resource.name in ("calendarsets", "calendars", "interventionsets", "interventions", "customfields"):
            # publicname stays a marker on the public records: the markers are non-blank
            public = label.endswith(".pub")
            # a private item keeps its blank public name
            fields = builder.marked_fields(
                resource, label, public=public, owner=None, skip=frozenset() if public else frozenset({"publicname"})
            )
            record = _ok(pro.put(f"/groups/{g}/{resource.name}/{record_id}", json={resource.singular: fields}))
            assert all(record[k] == v for k, v in fields.items()), (label, record)


def _bookings(world: World, builder: Builder, pro: httpx.Client) -> None:
    """Account A books (its fiche and appointment); the pro books for a fiche no account owns."""
    shop, g = world.shop, world.group_a
    slots = _ok(shop.slots(pro, shop.first_day))["availabletimeslots"]
    assert len(slots) >= 9, slots  # three starts an hour apart: the 30-minute bookings do not overlap
    account_a = world.callers["account_a"]
    with world.server.client(params=account_a.params, headers=account_a.headers) as client:
        own = _ok(
            shop.book(
                client,
                slots[0]["start"],
                calendar_id=shop.calendar_id,
                fiche={"lastname": "Own", "firstname": "Customer"},
            ),
            201,
        )
    world.records["appointments.own"] = (RESOURCES["appointments"], int(own["id"]))
    world.records["fiches.own"] = (RESOURCES["fiches"], int(own["fiche_id"]))
    world.records["fiches.other"] = (
        RESOURCES["fiches"],
        _create(pro, f"/groups/{g}/fiches", RESOURCES["fiches"], {"lastname": "Other"}),
    )
    target = _ok(
        shop.book(pro, slots[4]["start"], calendar_id=shop.calendar_id, fiche={"id": world.id_of("fiches.other")}), 201
    )
    world.records["appointments.target"] = (RESOURCES["appointments"], int(target["id"]))
    world.slot = slots[8]["start"]
    vevents, appointments, fiches = RESOURCES["vevents"], RESOURCES["appointments"], RESOURCES["fiches"]
    for label, owner in (("fiches.own", "account_a"), ("fiches.other", None)):
        builder.mark(pro, f"/groups/{g}/fiches/{world.id_of(label)}", fiches, label, public=False, owner=owner)
    for label, owner in (("appointments.own", "account_a"), ("appointments.target", None)):
        builder.mark(
            pro,
            f"/groups/{g}/vevents/{world.id_of(label)}",
            vevents,
            label,
            public=False,
            owner=owner,
            readable_as=appointments,
        )
    day = shop.first_day
    block = {"calendar_id": shop.calendar_id, "start": at(day, "13:00"), "end": at(day, "14:00")}
    world.records["vevents.block"] = (vevents, _create(pro, f"/groups/{g}/vevents", vevents, block))
    builder.mark(pro, f"/groups/{g}/vevents/{world.id_of('vevents.block')}", vevents, "vevents.block", public=False)
    world.records["vevents.opening"] = (vevents, shop.opening_id)
    builder.mark(pro, f"/groups/{g}/vevents/{shop.opening_id}", vevents, "vevents.opening", public=False)


def _keys(server: RunningServer) -> dict[str, str]:
    """API keys made on the server's database as the operator would: a revoked one, one of the other
    environment, and two sandbox keys whose sessions are opened before one of them is revoked."""
    database = Database(server.database_url, pool_size=1)
    try:
        with database.connect() as conn:
            revoked, revoked_key = create_apikey(conn, "matrix-revoked", "sandbox")
            revoke_apikey(conn, revoked.id)
            _, production = create_apikey(conn, "matrix-production", "production")
            later, later_key = create_apikey(conn, "matrix-revoked-later", "sandbox")
    finally:
        database.close()
    return {"revoked": revoked_key, "production": production, "later": later_key, "later_id": str(later.id)}


def _login(url: str, key: str, kind: str, email: str, password: str) -> str:
    with httpx.Client(base_url=url + "/api/v1", timeout=30) as client:
        response = client.post(
            "/sessions/login.json", params={"apikey": key, f"{kind}[email]": email, f"{kind}[password]": password}
        )
    _ok(response)
    return session_token(response)


def _production_sessions(
    world: World, keys: dict[str, str], accounts: dict[str, tuple[str, str]], log: Path
) -> dict[str, str]:
    """Sessions opened on a *production* server of the same database with the production key."""
    process, url = launch(
        world.server.database_url, log, {"OPENRDV_ENVIRONMENT": "production", "OPENRDV_LOGIN_ATTEMPTS": "1000"}
    )
    try:
        a = world.tenant_a
        return {
            "pro": _login(url, keys["production"], "pro", a.email, a.password),
            "account": _login(url, keys["production"], "account", *accounts["account_a"]),
        }
    finally:
        stop(process)


def _callers(world: World, keys: dict[str, str], accounts: dict[str, tuple[str, str]], log: Path) -> None:
    server, a, b = world.server, world.tenant_a, world.tenant_b
    key = {"apikey": server.apikey}
    pro_a = {"Authorization": basic_header(a.email, a.password)}
    later_session = _login(server.url, keys["later"], "pro", a.email, a.password)
    database = Database(server.database_url, pool_size=1)
    try:
        with database.connect() as conn:
            revoke_apikey(conn, int(keys["later_id"]))
    finally:
        database.close()
    production = _production_sessions(world, keys, accounts, log)
    made = [
        Caller("none", "refused", {}, {}, "no API key, no user"),
        Caller("nokey_pro_a", "refused", {}, pro_a, "tenant A's pro, right password, no API key"),
        Caller(
            "badkey_pro_a",
            "refused",
            {"apikey": "san_" + secrets.token_urlsafe(30)},
            pro_a,
            "tenant A's pro with an API key that does not exist",
        ),
        Caller("revoked_pro_a", "refused", {"apikey": keys["revoked"]}, pro_a, "a revoked API key"),
        Caller(
            "production_pro_a",
            "refused",
            {"apikey": keys["production"]},
            pro_a,
            "an API key of the production environment on this sandbox server",
        ),
        Caller(
            "production_session_pro_a",
            "refused",
            {},
            cookie(production["pro"]),
            "a session tenant A's pro opened with a production key (on a production server)",
        ),
        Caller(
            "production_session_account_a",
            "refused",
            {},
            cookie(production["account"]),
            "a session customer A opened with a production key (on a production server)",
        ),
        Caller(
            "revoked_session_pro_a", "refused", {}, cookie(later_session), "a session opened with a key revoked since"
        ),
        Caller("anonymous", "anonymous", key, {}, "a valid API key and no user (the booking page)"),
        Caller("pro_b", "pro", key, {"Authorization": basic_header(b.email, b.password)}, "the pro of group B"),
        Caller(
            "account_b",
            "account",
            key,
            {"Authorization": basic_header(*accounts["account_b"])},
            "a customer registered with group B",
        ),
        Caller(
            "account_b_session",
            "account",
            {},
            cookie(_login(server.url, server.apikey, "account", *accounts["account_b"])),
            "the same customer through a session",
        ),
    ]
    for caller in made:
        world.callers[caller.name] = caller


def build_world(server: RunningServer, log_dir: Path) -> Iterator[World]:
    shop = build_shop(server)
    world = World(server, shop, shop.tenant, fresh_tenant(server), "zq" + secrets.token_hex(4))
    builder = Builder(world)
    keys = _keys(server)
    accounts: dict[str, tuple[str, str]] = {}
    for name, group in (
        ("account_a", world.group_a),
        ("account_b", world.tenant_b.group_id),
        ("account_c", world.group_a),
    ):
        made = register(server, group)
        accounts[name] = (made.email, made.password)
        world.records[f"accounts.{name[-1]}"] = (RESOURCES["accounts"], made.id)
    world.account_c_email = accounts["account_c"][0]
    world.callers["account_a"] = Caller(
        "account_a",
        "account",
        {"apikey": server.apikey},
        {"Authorization": basic_header(*accounts["account_a"])},
        "a customer of group A, owner of its own fiche and appointment",
    )
    pro = server.client(params={"apikey": server.apikey}, auth=world.tenant_a.auth)
    try:
        _catalogue(world, builder, pro)
        _bookings(world, builder, pro)
        g = world.group_a
        world.records["groups.a"] = (RESOURCES["groups"], g)
        builder.mark(pro, f"/groups/{g}", RESOURCES["groups"], "groups.a", public=True)
        world.records["pros.a"] = (RESOURCES["pros"], world.tenant_a.pro_id)
        # tenant A's pro logs in with its e-mail: it stays
        fields = builder.marked_fields(RESOURCES["pros"], "pros.a", public=False, owner=None, skip=frozenset({"email"}))
        _ok(pro.put(f"/groups/{g}/pros/{world.tenant_a.pro_id}", json={"pro": fields}))
    finally:
        pro.close()
    for name in ("account_a", "account_c"):
        label = f"accounts.{name[-1]}"
        owner = "account_a" if name == "account_a" else None
        fields = builder.marked_fields(
            RESOURCES["accounts"], label, public=False, owner=owner, writer="account", skip=frozenset({"email"})
        )  # the login
        auth = {"Authorization": basic_header(*accounts[name])}
        with server.client(params={"apikey": server.apikey}, headers=auth) as client:
            _ok(client.put(f"/accounts/{world.id_of(label)}", json={"account": fields}))
    _new_resources(world, builder)
    _callers(world, keys, accounts, log_dir / "production.log")
    yield world


def _new_resources(world: World, builder: Builder) -> None:
    """A resource declared after this module was written gets its target made generically: a marked
    record created by tenant A's pro in group A (a resource that cannot be made so needs a TARGETS row)."""
    for resource in RESOURCES.values():
        if resource.name in TARGETS:
            continue
        assert "create" in resource.pro_verbs and resource.tenancy == "group", (
            f"{resource.name}: add its target record of tenant A to isolation_world.TARGETS"
        )
        label = f"{resource.name}.new"
        fields = builder.marked_fields(resource, label, public=False, owner=None)
        with world.server.client(params={"apikey": world.server.apikey}, auth=world.tenant_a.auth) as pro:
            world.records[label] = (
                resource,
                _create(pro, f"/groups/{world.group_a}/{resource.name}", resource, fields),
            )
