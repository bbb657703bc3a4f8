"""Shared helpers of the Booking API end-to-end tests (test_booking_*.py, test_idempotency.py).

Everything goes through HTTP against the real server, except ``count_rows``, which reads the
server's database directly (SQLite or PostgreSQL) to prove what was, or was not, written.

Dates: the server runs on the real clock. Tests book on weekdays one or more weeks ahead
(``weekday_ahead``), computed in the group's zone, so they never depend on the day they run.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from .conftest import JSON_TYPE, RunningServer, Tenant, cookie, session_token, sha1_hex, unique

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
BOOKING_NAMES = {
    6: "MaxRdvNumber",
    7: "MintimeBetween",
    8: "MaxRdvPeriod",
    9: "MintimeRdv",
    10: "NotAvailable",
    11: "EmailAlreadyExists",
    12: "SameTimeRdv",
    13: "EmailNotFound",
}


# -- dates -----------------------------------------------------------------------------------------------
def today(zone: ZoneInfo = PARIS) -> dt.date:
    return dt.datetime.now(zone).date()


def weekday_ahead(weekday: int = 0, weeks: int = 1, zone: ZoneInfo = PARIS) -> dt.date:
    """The `weekday` (0 = Monday) of the week `weeks` weeks after this one (weeks >= 1: always
    strictly in the future)."""
    base = today(zone)
    monday = base - dt.timedelta(days=base.weekday())
    return monday + dt.timedelta(weeks=weeks, days=weekday)


def at(day: dt.date, hhmm: str) -> str:
    """Wire datetime 'YYYY-MM-DD HH:MM:SS' of `day` at `hhmm`."""
    return f"{day.isoformat()} {hhmm}:00"


def starts_of(body: dict[str, Any]) -> list[str]:
    return [slot["start"] for slot in body["availabletimeslots"]]


def hours_of(body: dict[str, Any], day: dt.date) -> list[str]:
    """'HH:MM' of the offered starts on `day`."""
    prefix = day.isoformat() + " "
    return [s[len(prefix) : len(prefix) + 5] for s in starts_of(body) if s.startswith(prefix)]


def grid(first: str, last: str, step: int = 15) -> list[str]:
    """'HH:MM' from `first` to `last` inclusive every `step` minutes."""
    h, m = map(int, first.split(":"))
    end_h, end_m = map(int, last.split(":"))
    out, minutes, stop = [], h * 60 + m, end_h * 60 + end_m
    while minutes <= stop:
        out.append(f"{minutes // 60:02d}:{minutes % 60:02d}")
        minutes += step
    return out


def parse_wire(value: str, zone: ZoneInfo = PARIS) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)


# -- responses -------------------------------------------------------------------------------------------
def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text}"
    assert response.headers.get("content-type") == JSON_TYPE, response.headers
    return response.json()


def error_body(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert an error response (status, JSON, a non-empty sentence in `error`); its body."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text}"
    assert response.headers.get("content-type") == JSON_TYPE, response.headers
    body = response.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("error"), str) and len(body["error"].strip()) > 10, body
    return body


def assert_refused(response: httpx.Response, code: int) -> dict[str, Any]:
    """A booking-rule refusal: 400 with `code`, its `name` and a human sentence."""
    body = error_body(response, 400)
    assert body.get("code") == code, f"expected code {code}, got {body}"
    assert body.get("name") == BOOKING_NAMES[code], body
    assert " " in body["error"].strip(), body  # a sentence, not a symbol
    return body


def assert_names(response: httpx.Response, parameter: str, status: int = 400) -> dict[str, Any]:
    """A refusal naming `parameter` (in the sentence, or as a key of `errors`)."""
    body = error_body(response, status)
    named = parameter in body["error"] or parameter in (body.get("errors") or {})
    assert named, f"{parameter!r} not named in {body}"
    return body


# -- clients ---------------------------------------------------------------------------------------------
def pro_client(server: RunningServer, tenant: Tenant) -> httpx.Client:
    """A pro of `tenant`: API key in the query, HTTP Basic with the plain password."""
    return server.client(params={"apikey": server.apikey}, auth=tenant.auth)


def anonymous_client(server: RunningServer) -> httpx.Client:
    """The booking module before login: an API key and no user."""
    return server.client(params={"apikey": server.apikey})


def create(client: httpx.Client, path: str, singular: str, fields: dict[str, Any]) -> dict[str, Any]:
    record = ok(client.post(path, json={singular: fields}), 201)
    assert isinstance(record.get("id"), int), record
    return record


@dataclass
class Account:
    id: int
    email: str
    password: str
    token: str
    server: RunningServer = field(repr=False)

    def client(self) -> httpx.Client:
        """Requests as this account: the session cookie only (the API key is bound to the session)."""
        return self.server.client(headers=cookie(self.token))


def register(server: RunningServer, group_id: int, **fields: Any) -> Account:
    """POST /accounts (API key only) and log in with the SHA-1 of the password."""
    email = fields.pop("email", None) or f"{unique('cust')}@e2e.example.org"
    password = fields.pop("password", None) or "pw-" + secrets.token_hex(6)
    with anonymous_client(server) as client:
        record = create(
            client,
            "/accounts",
            "account",
            {
                "email": email,
                "group_id": group_id,
                "password": password,
                "firstname": fields.pop("firstname", "Cust"),
                "lastname": fields.pop("lastname", unique("L")),
                **fields,
            },
        )
    return Account(int(record["id"]), email, password, account_login(server, email, sha1_hex(password)), server)


def account_login(server: RunningServer, email: str, password: str) -> str:
    with server.client() as client:
        response = client.post(
            "/sessions/login.json",
            params={
                "apikey": server.apikey,
                "account[email]": email,
                "account[password]": password,
            },
        )
    body = ok(response)
    assert body["error"] is None and body["account"]["email"].lower() == email.lower(), body
    return session_token(response)


# -- tenants ---------------------------------------------------------------------------------------------
def fresh_tenant(server: RunningServer, timezone: str = "Europe/Paris") -> Tenant:
    """A new group and a new pro in it, made by the operator code the `openrdv group create` / `pro create`
    commands run (openrdv.admin), in this process: ``server.new_tenant()`` does the same through two
    command runs, which costs a second or more each and the booking tests need dozens of groups."""
    from openrdv import admin
    from openrdv.db.engine import Database
    from openrdv.settings import Settings

    settings = Settings.from_env(database_url=server.database_url)
    database = Database(server.database_url, pool_size=1)
    tag = unique("b")
    email = f"{tag}@e2e.example.org"
    password = "pw-" + secrets.token_hex(8)
    try:
        group = admin.create(
            database, settings, "groups", {"name": f"E2E {tag}", "timezone": timezone, "urlname": tag.lower()}
        )
        pro = admin.create(
            database,
            settings,
            "pros",
            {"email": email, "password": password, "firstname": "Test", "lastname": tag},
            group_id=int(group["id"]),
        )
    finally:
        database.close()
    return Tenant(group_id=int(group["id"]), email=email, password=password, pro_id=int(pro["id"]))


# -- a bookable group ------------------------------------------------------------------------------------
@dataclass
class Shop:
    """A group with an interventionset, a service and a calendar opened by a recurring weekly opening."""

    server: RunningServer
    tenant: Tenant
    interventionset_id: int
    intervention_id: int
    calendar_id: int
    opening_id: int
    first_day: dt.date  # first day of the opening's recurrence (a Monday)
    zone: ZoneInfo

    @property
    def group_id(self) -> int:
        return self.tenant.group_id

    def pro(self) -> httpx.Client:
        return pro_client(self.server, self.tenant)

    def anonymous(self) -> httpx.Client:
        return anonymous_client(self.server)

    def path(self, collection: str) -> str:
        return f"/groups/{self.group_id}/{collection}"

    def set_rules(self, **fields: Any) -> dict[str, Any]:
        """PUT the group's booking fields as its pro."""
        with self.pro() as client:
            group = ok(client.put(f"/groups/{self.group_id}", json={"group": fields}))
        for name, value in fields.items():
            assert group[name] == value, (name, group)
        return group

    def add_calendar(
        self,
        name: str | None = None,
        *,
        capacity: int = 1,
        interval: int = 15,
        publicname: str | None = None,
        intervention_ids: list[int] | None = None,
        calendarset_id: int | None = None,
        opening: tuple[str, str] | None = ("09:00", "12:00"),
        rrule: str = WEEKDAYS,
    ) -> int:
        """A calendar offering the shop's service (or `intervention_ids`), with its own weekly opening."""
        name = name or unique("cal")
        fields: dict[str, Any] = {
            "name": name,
            "publicname": name if publicname is None else publicname,
            "capacity": capacity,
            "interval": interval,
            "intervention_ids": [self.intervention_id] if intervention_ids is None else intervention_ids,
        }
        if calendarset_id is not None:
            fields["calendarset_id"] = calendarset_id
        with self.pro() as client:
            calendar_id = int(create(client, self.path("calendars"), "calendar", fields)["id"])
        if opening is not None:
            self.add_opening(calendar_id, self.first_day, *opening, rrule=rrule)
        return calendar_id

    def add_intervention(
        self,
        *,
        length: int = 30,
        publicname: str | None = None,
        interventionset_id: int | None = None,
        calendar_ids: list[int] | None = None,
    ) -> int:
        name = unique("svc")
        fields: dict[str, Any] = {
            "name": name,
            "publicname": name if publicname is None else publicname,
            "length": length,
        }
        if interventionset_id is not None:
            fields["interventionset_id"] = interventionset_id
        with self.pro() as client:
            intervention_id = int(create(client, self.path("interventions"), "intervention", fields)["id"])
            if calendar_ids:
                for calendar_id in calendar_ids:
                    self.link(client, calendar_id, intervention_id)
        return intervention_id

    def link(self, client: httpx.Client, calendar_id: int, intervention_id: int) -> None:
        calendar = ok(client.get(self.path(f"calendars/{calendar_id}")))
        ids = sorted({*calendar["intervention_ids"], intervention_id})
        updated = ok(client.put(self.path(f"calendars/{calendar_id}"), json={"calendar": {"intervention_ids": ids}}))
        assert sorted(updated["intervention_ids"]) == ids, updated

    def add_vevent(self, **fields: Any) -> dict[str, Any]:
        with self.pro() as client:
            return create(client, self.path("vevents"), "vevent", fields)

    def add_opening(
        self,
        calendar_id: int,
        day: dt.date,
        start: str,
        end: str,
        *,
        rrule: str = "",
        exdates: str = "",
        end_day: dt.date | None = None,
    ) -> int:
        return int(
            self.add_vevent(
                calendar_id=calendar_id,
                type="VfreebusyEvent",
                start=at(day, start),
                end=at(end_day or day, end),
                rrule=rrule,
                exdates=exdates,
            )["id"]
        )

    def add_block(self, calendar_id: int, day: dt.date, start: str, end: str, text: str = "Lunch") -> int:
        record = self.add_vevent(
            calendar_id=calendar_id, start=at(day, start), end=at(day, end), text=text, fiche_id=0, intervention_id=0
        )
        assert record["fiche_id"] == 0 and record["intervention_id"] == 0, record
        return int(record["id"])

    def slots(self, client: httpx.Client, day: dt.date | None = None, **params: Any) -> httpx.Response:
        query: dict[str, Any] = {"intervention_ids[]": self.intervention_id}
        if day is not None:
            query.update(start=at(day, "00:00"), nDays=1)
        query.update(params)
        return client.get(self.path("availabletimeslots"), params=query)

    def slots_ok(self, client: httpx.Client, day: dt.date | None = None, **params: Any) -> dict[str, Any]:
        body = ok(self.slots(client, day, **params))
        assert body["group_id"] == self.group_id, body
        assert body["firstSlot"] == (body["availabletimeslots"][0]["start"] if body["availabletimeslots"] else None)
        return body

    def book(
        self,
        client: httpx.Client,
        date: str,
        *,
        calendar_id: int | None = None,
        intervention_ids: list[int] | None = None,
        fiche: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        group_id: int | None = None,
        **extra: Any,
    ) -> httpx.Response:
        appointment: dict[str, Any] = {
            "date": date,
            "intervention_ids": intervention_ids or [self.intervention_id],
            **extra,
        }
        if calendar_id is not None:
            appointment["calendar_id"] = calendar_id
        if fiche is not None:
            appointment["fiche"] = fiche
        return client.post(
            f"/groups/{group_id or self.group_id}/appointments", json={"appointment": appointment}, headers=headers
        )

    def new_fiche(self, **fields: Any) -> dict[str, Any]:
        data = {"lastname": unique("Doe"), "firstname": "John", **fields}
        with self.pro() as client:
            return create(client, self.path("fiches"), "fiche", data)

    def appointments(self, client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
        body = ok(client.get(self.path("appointments"), params={"include_past": 1, "results": "all", **params}))
        return list(body["records"])


def build_shop(
    server: RunningServer,
    *,
    timezone: str = "Europe/Paris",
    capacity: int = 1,
    interval: int = 15,
    length: int = 30,
    opening: tuple[str, str] = ("09:00", "12:00"),
    rrule: str = WEEKDAYS,
    first_day: dt.date | None = None,
) -> Shop:
    """A new tenant whose group has one public set, one public service of `length` minutes and one public
    calendar offering it, open `opening` on weekdays (by default) from next week's Monday."""
    zone = ZoneInfo(timezone)
    tenant = fresh_tenant(server, timezone)
    first = first_day or weekday_ahead(0, 1, zone)
    with pro_client(server, tenant) as client:
        group = f"/groups/{tenant.group_id}"
        set_id = create(client, f"{group}/interventionsets", "interventionset", {"name": "Set", "publicname": "Soins"})[
            "id"
        ]
        intervention_id = create(
            client,
            f"{group}/interventions",
            "intervention",
            {"name": "Cut", "publicname": "Coupe", "length": length, "interventionset_id": set_id},
        )["id"]
        calendar_id = create(
            client,
            f"{group}/calendars",
            "calendar",
            {
                "name": "Main",
                "publicname": "Agenda",
                "capacity": capacity,
                "interval": interval,
                "intervention_ids": [intervention_id],
            },
        )["id"]
        opening_id = create(
            client,
            f"{group}/vevents",
            "vevent",
            {
                "calendar_id": calendar_id,
                "type": "VfreebusyEvent",
                "start": at(first, opening[0]),
                "end": at(first, opening[1]),
                "rrule": rrule,
            },
        )["id"]
    return Shop(server, tenant, int(set_id), int(intervention_id), int(calendar_id), int(opening_id), first, zone)


# -- the database, read directly -------------------------------------------------------------------------
def count_rows(server: RunningServer, sql: str, params: tuple[Any, ...] = ()) -> int:
    """`SELECT count(*) ...` (with `?` placeholders) on the server's database (SQLite or PostgreSQL)."""
    url = server.database_url
    if url.startswith("sqlite:///"):
        import sqlite3

        conn = sqlite3.connect(url[len("sqlite:///") :], timeout=30)
        try:
            return int(conn.execute(sql, params).fetchone()[0])
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(sql.replace("?", "%s"), params).fetchone()
        assert row is not None
        return int(row[0])
