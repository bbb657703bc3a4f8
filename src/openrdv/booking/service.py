"""Availability and booking: the database side around the pure slot engine (booking/slots.py).

Busy time for every candidate calendar comes from one query. A booking re-checks the slot inside
the transaction that writes it: on SQLite that transaction holds the database write lock from its
first statement (BEGIN IMMEDIATE); on PostgreSQL it locks the candidate calendars' rows (FOR
UPDATE, in id order) first. Either way two bookings of one calendar never interleave, so the
re-check and the insert see the same state: no double booking, whatever the concurrency.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from openrdv.agenda.recurrence import expand_occurrences, parse_exdates
from openrdv.agenda.slots import CalendarSchedule, compute_slots, free_places
from openrdv.agenda.zones import WallTimeError, Zone
from openrdv.crud import handlers
from openrdv.crud.tenancy import target_group
from openrdv.db.engine import Conn
from openrdv.db.sql import quote
from openrdv.errors import BookingRefused, NotFound, invalid
from openrdv.model.coerce import scalar_param, to_bool, to_id_list, to_int, to_optional_id, to_str
from openrdv.model.context import CallContext
from openrdv.resources.appointments import APPOINTMENTS, VEVENT_INTERVENTIONS
from openrdv.resources.fiches import FICHES
from openrdv.resources.vevents import AVAILABILITY, VEVENTS

DAY = 86400
MAX_WINDOW_DAYS = 31
ONLINE_TAKER = "clicRDV"


@dataclass(frozen=True)
class GroupRules:
    id: int
    zone: Zone
    min_notice: int  # seconds
    max_period: int  # seconds
    max_upcoming: int
    min_between: int  # seconds
    max_services: int
    bookable_online: bool


@dataclass(frozen=True)
class CalendarRow:
    id: int
    capacity: int
    interval: int


def group_rules(ctx: CallContext, group_id: int) -> GroupRules:
    row = ctx.conn.one(
        "SELECT timezone, rdv_min_notice, rdv_max_period, rdv_max_upcoming, rdv_min_between, max_multirdvs, "
        '"inactive", "open" FROM groups WHERE id = ?',
        (group_id,),
    )
    if row is None:
        raise NotFound()
    _timezone, notice, period, upcoming, between, services, inactive, is_open = row
    return GroupRules(
        id=group_id,
        zone=ctx.zone_for(group_id),
        min_notice=int(notice or 0) * 60,
        max_period=int(period or 365) * DAY,
        max_upcoming=int(upcoming or 0),
        min_between=int(between or 0) * 60,
        max_services=max(1, int(services or 1)),
        bookable_online=bool(is_open) and not bool(inactive),
    )


def requested_interventions(ctx: CallContext, group_id: int, raw: Any, limit: int | None) -> list[tuple[int, int]]:
    """(id, length in minutes) of the requested services, checked against the group's catalogue
    (the public catalogue for accounts)."""
    ids = to_id_list(raw, "intervention_ids")
    if not ids:
        raise invalid("intervention_ids", "can't be blank: give the services to book (intervention_ids[]=...)")
    if limit is not None and len(ids) > limit:
        raise invalid("intervention_ids", f"at most {limit} services may be booked in one appointment")
    marks = ", ".join("?" for _ in ids)
    sql = (
        f'SELECT t.id, t."length" FROM interventions t WHERE t.group_id = ? AND t."deleted" = ? AND t.id IN ({marks})'
    )
    params: list[Any] = [group_id, False, *ids]
    if not ctx.is_pro:
        public = INTERVENTIONS_PUBLIC
        sql += f" AND {public[0]}"
        params += public[1]
    found = {int(r[0]): int(r[1] or 0) for r in ctx.conn.all(sql, params)}
    for wanted in ids:
        if wanted not in found:
            raise invalid("intervention_ids", f"{wanted} is not a bookable service of this group")
    return [(i, found[i]) for i in ids]


def _public_interventions() -> tuple[str, list[Any]]:
    from openrdv.resources.catalogue import INTERVENTIONS

    scope = INTERVENTIONS.behaviour.account_scope(None)  # type: ignore[arg-type]
    assert scope is not None
    return scope[0], list(scope[1])


INTERVENTIONS_PUBLIC = _public_interventions()


def candidate_calendars(
    ctx: CallContext,
    group_id: int,
    intervention_ids: list[int],
    calendar_ids: list[int] | None = None,
    calendarset_ids: list[int] | None = None,
    lock: bool = False,
) -> list[CalendarRow]:
    """Calendars of the group that offer every requested service (public ones for accounts)."""
    marks = ", ".join("?" for _ in intervention_ids)
    sql = (
        'SELECT c.id, c."capacity", c."interval" FROM calendars c WHERE c.group_id = ? AND c."deleted" = ? '
        f"AND c.id IN (SELECT calendar_id FROM calendar_interventions WHERE intervention_id IN ({marks}) "
        "GROUP BY calendar_id HAVING count(DISTINCT intervention_id) = ?)"
    )
    params: list[Any] = [group_id, False, *intervention_ids, len(intervention_ids)]
    if not ctx.is_pro:
        sql += " AND c.\"publicname\" <> ''"
    if calendar_ids:
        sql += f" AND c.id IN ({', '.join('?' for _ in calendar_ids)})"
        params += calendar_ids
    if calendarset_ids:
        sql += f' AND c."calendarset_id" IN ({", ".join("?" for _ in calendarset_ids)})'
        params += calendarset_ids
    sql += " ORDER BY c.id"
    if lock and ctx.conn.dialect == "postgresql":
        # every booking of a calendar locks its row first: bookings of one calendar are serialised
        sql += " FOR UPDATE"
    rows = ctx.conn.all(sql, params)
    return [CalendarRow(int(r[0]), int(r[1] or 1), int(r[2] or 15)) for r in rows]


def load_schedules(
    conn: Conn, zone: Zone, calendars: list[CalendarRow], window_start: int, window_end: int
) -> list[CalendarSchedule]:
    """Openings, blocks and appointments of every calendar over the window, from one query."""
    if not calendars:
        return []
    ids = [c.id for c in calendars]
    marks = ", ".join("?" for _ in ids)
    columns = 'calendar_id, start, "end", "type", fiche_id, intervention_id, rrule, exdates'
    base = f'calendar_id IN ({marks}) AND "deleted" = ? AND "note" = ?'
    rows = conn.all(
        # `+start` keeps the planner off the (calendar_id, start) index, which would walk a calendar's
        # whole history: (calendar_id, end) reads only what ends after the window opens
        f"SELECT {columns} FROM vevents WHERE {base} AND \"end\" > ? AND +start < ? AND rrule = '' "
        f"UNION ALL SELECT {columns} FROM vevents WHERE {base} AND rrule <> '' AND start < ?",
        [*ids, False, False, window_start, window_end, *ids, False, False, window_end],
    )
    openings: dict[int, list[tuple[int, int]]] = {c.id: [] for c in calendars}
    blocks: dict[int, list[tuple[int, int]]] = {c.id: [] for c in calendars}
    appointments: dict[int, list[tuple[int, int]]] = {c.id: [] for c in calendars}
    for calendar_id, start, end, kind, fiche_id, intervention_id, rrule, exdates in rows:
        if rrule:
            try:
                occurrences = expand_occurrences(
                    zone.local_datetime(start), zone.local_datetime(end), rrule,
                    parse_exdates(exdates or None), zone.tz, window_start, window_end,
                )
            except ValueError:
                continue  # a rule that no longer parses blocks nothing and opens nothing
        else:
            occurrences = [(int(start), int(end))]
        if kind == AVAILABILITY:
            openings[calendar_id].extend(occurrences)
        elif fiche_id or intervention_id:  # an appointment takes one place (its customer may be unlinked yet)
            appointments[calendar_id].extend(occurrences)
        else:
            blocks[calendar_id].extend(occurrences)
    return [
        CalendarSchedule(c.id, c.capacity, c.interval, openings[c.id], blocks[c.id], appointments[c.id])
        for c in calendars
    ]


def _parse_time(value: Any, name: str, zone: Zone) -> int:
    if not isinstance(value, str):
        raise invalid(name, "must be a date and time 'YYYY-MM-DD HH:MM:SS'")
    try:
        return zone.parse(value)
    except WallTimeError as exc:
        raise invalid(name, str(exc)) from None


# -- availabletimeslots -------------------------------------------------------------------------------
def available_time_slots(ctx: CallContext, group_id: int, xml: bool = False) -> dict[str, Any]:
    """The availabletimeslots document. Starts are wall-clock strings in the group's zone, or ISO-8601
    with offset for an XML response (`xml=True`), like every datetime of the wire (CONTRACT §2)."""
    params = ctx.params
    rules = group_rules(ctx, group_id)
    zone = rules.zone
    raw_ids = params.get("intervention_ids", params.get("intervention_id"))
    interventions = requested_interventions(ctx, group_id, raw_ids, None)
    ids = [i for i, _ in interventions]
    duration = sum(length for _, length in interventions) * 60
    if duration <= 0:
        raise invalid("intervention_ids", "the services have no length")
    start_raw = scalar_param(params, "start")
    window_start = _parse_time(start_raw, "start", zone) if start_raw is not None else ctx.now
    end_raw = scalar_param(params, "end")
    days_raw = scalar_param(params, "nDays")
    if end_raw is not None:
        window_end = _parse_time(end_raw, "end", zone)
        if window_end <= window_start:
            raise invalid("end", "must be after start")
    else:
        days = to_int(days_raw, "nDays") if days_raw is not None else 7
        if days < 1:
            raise invalid("nDays", "must be 1 or more")
        if days > MAX_WINDOW_DAYS:
            raise invalid("nDays", f"must be at most {MAX_WINDOW_DAYS}")
        window_end = window_start + days * DAY
    if window_end - window_start > MAX_WINDOW_DAYS * DAY:
        raise invalid("end", f"the window may span at most {MAX_WINDOW_DAYS} days")
    calendar_id = to_optional_id(scalar_param(params, "calendar_id"), "calendar_id")
    calendar_ids = to_id_list(params.get("calendar_ids"), "calendar_ids")
    if calendar_id:
        calendar_ids = [calendar_id] if not calendar_ids or calendar_id in calendar_ids else []
    calendarset_ids = to_id_list(params.get("calendarset_ids"), "calendarset_ids")
    cal_qty = to_int(scalar_param(params, "cal_qty") or 1, "cal_qty")
    min_capacity = to_int(scalar_param(params, "min_capacity") or 1, "min_capacity")
    if cal_qty < 1:
        raise invalid("cal_qty", "must be 1 or more")
    if min_capacity < 1:
        raise invalid("min_capacity", "must be 1 or more")
    calendars = candidate_calendars(ctx, group_id, ids, calendar_ids or None, calendarset_ids or None)
    slots = []
    if calendars and (ctx.is_pro or rules.bookable_online):
        schedules = load_schedules(ctx.conn, zone, calendars, window_start, window_end + duration)
        earliest = max(window_start, ctx.now + rules.min_notice)
        latest = ctx.now + rules.max_period
        slots = compute_slots(schedules, duration, window_start, window_end, earliest, latest, cal_qty, min_capacity)
    render = zone.format_xml if xml else zone.format
    rendered = [{"start": render(s.start), "capacity": s.capacity, "calendar_ids": list(s.calendar_ids)}
                for s in slots]
    return {
        "group_id": group_id,
        "firstSlot": rendered[0]["start"] if rendered else None,
        "intervention_ids": ids,
        "calendar_id": calendar_id,
        "calendar_ids": [c.id for c in calendars],
        "availabletimeslots": rendered,
    }


# -- booking ------------------------------------------------------------------------------------------
FICHE_CONTACT = ("lastname", "firstname", "email", "firstphone", "secondphone", "birthdate")


def _fiche_object(value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid("fiche", "must be an object of fiche fields")
    return value


# through ix_fiches_email: with "deleted IS FALSE" the (group_id, deleted) index is no candidate, which
# a planner without fresh statistics took, reading every fiche of the group (1 ms at 2,000 fiches)
FICHE_BY_EMAIL = (
    "SELECT id FROM fiches WHERE group_id = ? AND lower(email) = lower(?) AND deleted IS FALSE ORDER BY id LIMIT 1"
)
# through the account_id index: "+group_id" keeps the planner off the group's indexes too
FICHE_OF_ACCOUNT = (
    "SELECT id FROM fiches WHERE account_id = ? AND +group_id = ? AND deleted IS FALSE ORDER BY id LIMIT 1"
)


def resolve_fiche(ctx: CallContext, group_id: int, given: dict[str, Any]) -> int:
    """The customer's fiche: by id (updated with the other fields), the account's own in this group,
    found by e-mail, or created."""
    fields = {k: v for k, v in given.items() if k not in ("id", "group_id")}
    fiche_id = to_optional_id(given.get("id"), "fiche[id]")
    sub = ctx.in_group(group_id, ctx.zone_for(group_id).name, params={})
    if fiche_id:
        try:
            handlers.fetch_row(FICHES, sub, fiche_id)
        except NotFound:
            if ctx.is_pro:
                raise invalid("fiche[id]", f"{fiche_id} is not a fiche of this group") from None
            raise
        if fields:
            handlers.update_record(FICHES, sub, fiche_id, {"fiche": fields})
        return fiche_id
    if ctx.account_id is not None:
        own = ctx.conn.scalar(
            FICHE_OF_ACCOUNT,
            (ctx.account_id, group_id),
        )
        if own is not None:
            if fields:
                handlers.update_record(FICHES, sub, int(own), {"fiche": fields})
            return int(own)
        account = ctx.conn.one_dict(
            "SELECT email, firstname, lastname, phone FROM accounts WHERE id = ?", (ctx.account_id,)
        ) or {}
        data = {"email": account.get("email", ""), "firstname": account.get("firstname", ""),
                "lastname": account.get("lastname", ""), "firstphone": account.get("phone", ""), **fields}
        values = handlers.coerce_input(FICHES, sub, data, sub.zone)
        values.update(group_id=group_id, from_web=True, account_id=ctx.account_id)
        if not (values.get("lastname") or values.get("firstname")):
            values["lastname"] = values.get("email") or "Client"
        return handlers.insert_values(FICHES, ctx.conn, values, ctx.now)
    if not fields:
        raise invalid("fiche", "can't be blank: give fiche[id] or the customer's fiche fields")
    if set(fields) == {"email"}:
        email = to_str(fields["email"], "fiche[email]")
        found = ctx.conn.scalar(
            FICHE_BY_EMAIL,
            (group_id, email),
        )
        if found is None:
            raise BookingRefused(13, f"No customer of this group has the e-mail address {email}.")
        return int(found)
    new_email = fields.get("email")
    if isinstance(new_email, str) and new_email.strip():
        taken = ctx.conn.scalar(
            FICHE_BY_EMAIL,
            (group_id, new_email.strip()),
        )
        if taken is not None:
            raise BookingRefused(
                11,
                f"A customer of this group already has the e-mail address {new_email.strip()}: "
                "book with fiche[id] (or fiche[email] alone) to use that customer.",
            )
    record = handlers.create_record(FICHES, sub, {"fiche": fields})
    return int(record["id"])


def lock_row(conn: Conn, table: str, row_id: int) -> None:
    """PostgreSQL: lock one row until the transaction ends, so that two bookings of one customer on
    different calendars (which lock different calendar rows) still run one after the other: the customer
    rules (codes 6, 7, 12) and "one fiche per account and group" hold under concurrency too. Locks are
    always taken in the same order (calendars by id, then the account, then the fiche): no deadlock.
    SQLite needs nothing: its write transaction (BEGIN IMMEDIATE) already serialises every booking."""
    if conn.dialect == "postgresql":
        conn.one(f"SELECT id FROM {table} WHERE id = ? FOR UPDATE", (row_id,))


def check_customer_rules(ctx: CallContext, rules: GroupRules, fiche_id: int, start: int, end: int) -> None:
    appointment = 'fiche_id = ? AND intervention_id <> 0 AND "deleted" = ?'
    overlapping = ctx.conn.scalar(
        f'SELECT count(*) FROM vevents WHERE {appointment} AND start < ? AND "end" > ?',
        (fiche_id, False, end, start),
    )
    if overlapping:
        raise BookingRefused(12, "The customer already has an appointment at that time.")
    if rules.min_between:
        close = ctx.conn.scalar(
            f'SELECT count(*) FROM vevents WHERE {appointment} AND start < ? AND "end" > ?',
            (fiche_id, False, end + rules.min_between, start - rules.min_between),
        )
        if close:
            minutes = rules.min_between // 60
            raise BookingRefused(7, f"Another appointment of the customer is less than {minutes} minutes away.")
    if rules.max_upcoming:
        upcoming = ctx.conn.scalar(
            f'SELECT count(*) FROM vevents WHERE {appointment} AND "end" > ?', (fiche_id, False, ctx.now)
        )
        if int(upcoming or 0) >= rules.max_upcoming:
            raise BookingRefused(
                6, f"The customer already has {rules.max_upcoming} upcoming appointment(s), the most allowed."
            )


def book_appointment(ctx: CallContext, body: dict[str, Any], xml: bool) -> dict[str, Any]:
    obj = handlers.extract_object(APPOINTMENTS, body, ctx.params)
    group_id = target_group(ctx, to_optional_id(obj.get("group_id"), "group_id"))
    rules = group_rules(ctx, group_id)
    if not ctx.is_pro and not rules.bookable_online:
        raise BookingRefused(10, "Online booking is closed for this group.")
    date = obj.get("date", obj.get("start"))
    if date is None or date == "":
        raise invalid("date", "can't be blank: give the start of the appointment ('YYYY-MM-DD HH:MM:SS')")
    start = _parse_time(date, "date", rules.zone)
    interventions = requested_interventions(
        ctx,
        group_id,
        obj.get("intervention_ids", obj.get("intervention_id")),
        None if ctx.is_pro else rules.max_services,
    )
    ids = [i for i, _ in interventions]
    duration = sum(length for _, length in interventions) * 60
    end = start + duration
    calendar_id = to_optional_id(obj.get("calendar_id"), "calendar_id")
    fiche_data = _fiche_object(obj.get("fiche"))
    comments = to_str(obj.get("comments"), "comments", 65535)
    websource = to_str(obj.get("websource"), "websource", 255)
    from_web = to_bool(obj["from_web"], "from_web") if obj.get("from_web") not in (None, "") else True
    if start < ctx.now + rules.min_notice:
        minutes = rules.min_notice // 60
        raise BookingRefused(
            9, "This time is too soon to book" + (f": book at least {minutes} minutes ahead." if minutes else ".")
        )
    if start > ctx.now + rules.max_period:
        raise BookingRefused(8, f"This time is too far ahead: book at most {rules.max_period // DAY} days ahead.")
    if calendar_id is not None and ctx.conn.scalar(
        "SELECT 1 FROM calendars WHERE id = ? AND group_id = ?", (calendar_id, group_id)
    ) is None:
        raise invalid("calendar_id", f"{calendar_id} is not a calendar of this group")
    with ctx.conn.transaction():
        calendars = candidate_calendars(ctx, group_id, ids, [calendar_id] if calendar_id else None, lock=True)
        if ctx.account_id is not None:
            lock_row(ctx.conn, "accounts", ctx.account_id)  # before its fiche may be looked up or created
        fiche_id = resolve_fiche(ctx, group_id, fiche_data)
        lock_row(ctx.conn, "fiches", fiche_id)  # before the customer rules read its appointments
        check_customer_rules(ctx, rules, fiche_id, start, end)
        schedules = load_schedules(ctx.conn, rules.zone, calendars, start - DAY, end + DAY)
        if ctx.is_pro:
            # a pro may book any free time, on the grid or not
            free = [s.calendar_id for s in schedules if free_places(s, start, end) > 0]
        else:
            # a customer books exactly what availabletimeslots offers (the same computation)
            free = [s.calendar_id for s in schedules if compute_slots([s], duration, start, start + 1, start, start)]
        if not free:
            raise BookingRefused(10, "This time slot is not available (any more): choose another one.")
        chosen = free[0] if calendar_id else random.choice(free)
        fiche = ctx.conn.one_dict("SELECT lastname, firstname FROM fiches WHERE id = ?", (fiche_id,)) or {}
        taker = ONLINE_TAKER if not ctx.is_pro else (ctx.principal.email if ctx.principal else "")
        text = " ".join(p for p in (fiche.get("lastname"), fiche.get("firstname")) if p)
        vevent_id = handlers.insert_values(VEVENTS, ctx.conn, {
            "group_id": group_id, "calendar_id": chosen, "start": start, "end": end, "fiche_id": fiche_id,
            "intervention_id": ids[0], "text": text,
            "comments": comments, "websource": websource, "from_web": from_web if ctx.is_pro else True,
            "taker": taker,
        }, ctx.now)
        for intervention_id in ids:
            ctx.conn.execute(
                f"INSERT INTO {VEVENT_INTERVENTIONS} (vevent_id, intervention_id) VALUES (?, ?)",
                (vevent_id, intervention_id),
            )
        record = handlers.get_record_unscoped(APPOINTMENTS, ctx, vevent_id, xml)
    return record


__all__ = ["available_time_slots", "book_appointment", "quote"]
