"""POST appointments: book a free time for a customer, under the group's rules.

A booking re-checks the slot inside the transaction that writes it: on SQLite that transaction
holds the database write lock from its first statement (BEGIN IMMEDIATE); on PostgreSQL it locks
the candidate calendars' rows (FOR UPDATE, in id order) first. Either way two bookings of one
calendar never interleave, so the re-check and the insert see the same state: no double booking,
whatever the concurrency.
"""

from __future__ import annotations

import random
from typing import Any

from openrdv.agenda.slots import compute_slots, free_places
from openrdv.booking.schedule import (
    DAY,
    GroupRules,
    candidate_calendars,
    group_rules,
    is_known_calendar,
    load_schedules,
    parse_time,
    requested_interventions,
)
from openrdv.crud.input import coerce_input, extract_object
from openrdv.crud.reading import fetch_row, get_record_unscoped
from openrdv.crud.storage import insert_values
from openrdv.crud.tenancy import target_group
from openrdv.crud.writes import create_record, update_record
from openrdv.db.engine import Conn
from openrdv.errors import BookingRefused, NotFound, invalid
from openrdv.model.coerce import to_bool, to_optional_id, to_str
from openrdv.model.context import CallContext
from openrdv.resources.appointments import APPOINTMENTS, VEVENT_INTERVENTIONS
from openrdv.resources.fiches import FICHES, refuse_another_customers_email
from openrdv.resources.vevents import VEVENTS

ONLINE_TAKER = "clicRDV"  # the taker of online bookings (MedShakeEHR skips them by it)


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
    found by e-mail (a pro's booking only), or created. A new fiche never takes the e-mail address of
    another customer of the group (code 11), whoever books, and an account never changes its fiche's
    to one (FicheBehaviour.validate)."""
    fields = {k: v for k, v in given.items() if k not in ("id", "group_id")}
    fiche_id = to_optional_id(given.get("id"), "fiche[id]")
    sub = ctx.in_group(group_id, ctx.zone_for(group_id).name, params={})
    if fiche_id:
        try:
            fetch_row(FICHES, sub, fiche_id)
        except NotFound:
            if ctx.is_pro:
                raise invalid("fiche[id]", f"{fiche_id} is not a fiche of this group") from None
            raise
        if fields:
            update_record(FICHES, sub, fiche_id, {"fiche": fields})
        return fiche_id
    if ctx.account_id is not None:
        own = ctx.conn.scalar(
            FICHE_OF_ACCOUNT,
            (ctx.account_id, group_id),
        )
        if own is not None:
            if fields:
                update_record(FICHES, sub, int(own), {"fiche": fields})
            return int(own)
        account = ctx.conn.one_dict(
            "SELECT email, firstname, lastname, phone FROM accounts WHERE id = ?", (ctx.account_id,)
        ) or {}
        data = {"email": account.get("email", ""), "firstname": account.get("firstname", ""),
                "lastname": account.get("lastname", ""), "firstphone": account.get("phone", ""), **fields}
        values = coerce_input(FICHES, sub, data, sub.zone)
        values.update(group_id=group_id, from_web=True, account_id=ctx.account_id)
        if not (values.get("lastname") or values.get("firstname")):
            values["lastname"] = values.get("email") or "Client"
        # the account's e-mail (or the one it gives) may be another customer's: never a twin of that
        # customer, nor a link to its fiche (nothing proves the account owns the address)
        refuse_another_customers_email(ctx, group_id, values.get("email") or "", name="fiche[email]")
        return insert_values(FICHES, ctx.conn, values, ctx.now)
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
    record = create_record(FICHES, sub, {"fiche": fields})
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
    obj = extract_object(APPOINTMENTS, body, ctx.params)
    group_id = target_group(ctx, to_optional_id(obj.get("group_id"), "group_id"))
    rules = group_rules(ctx, group_id)
    if not ctx.is_pro and not rules.bookable_online:
        raise BookingRefused(10, "Online booking is closed for this group.")
    date = obj.get("date", obj.get("start"))
    if date is None or date == "":
        raise invalid("date", "can't be blank: give the start of the appointment ('YYYY-MM-DD HH:MM:SS')")
    start = parse_time(date, "date", rules.zone)
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
    if calendar_id is not None and not is_known_calendar(ctx, group_id, calendar_id):
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
        vevent_id = insert_values(VEVENTS, ctx.conn, {
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
        record = get_record_unscoped(APPOINTMENTS, ctx, vevent_id, xml)
    return record
