"""What availability and booking both read: a group's booking rules, the services asked for, the
calendars that offer them, and each calendar's openings, blocks and appointments over a window
(from one query), ready for the pure slot engine (agenda/slots.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openrdv.agenda.recurrence import expand_occurrences, parse_exdates
from openrdv.agenda.slots import CalendarSchedule
from openrdv.agenda.zones import WallTimeError, Zone
from openrdv.db.engine import Conn
from openrdv.errors import NotFound, invalid
from openrdv.model.coerce import to_id_list
from openrdv.model.context import CallContext
from openrdv.resources.catalogue import PUBLIC_INTERVENTIONS, PUBLIC_SQL
from openrdv.resources.vevents import AVAILABILITY

DAY = 86400
MAX_WINDOW_DAYS = 31


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
        sql += f" AND {PUBLIC_INTERVENTIONS[0]}"
        params += PUBLIC_INTERVENTIONS[1]
    found = {int(r[0]): int(r[1] or 0) for r in ctx.conn.all(sql, params)}
    for wanted in ids:
        if wanted not in found:
            raise invalid("intervention_ids", f"{wanted} is not a bookable service of this group")
    return [(i, found[i]) for i in ids]


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
        if not ctx.is_pro:
            # online a private (or deleted) calendar set selects nothing, exactly like an unknown id
            sql += ' AND c."calendarset_id" IN (SELECT t.id FROM calendarsets t WHERE ' + PUBLIC_SQL + ")"
            params.append(False)
    sql += " ORDER BY c.id"
    if lock and ctx.conn.dialect == "postgresql":
        # every booking of a calendar locks its row first: bookings of one calendar are serialised
        sql += " FOR UPDATE"
    rows = ctx.conn.all(sql, params)
    return [CalendarRow(int(r[0]), int(r[1] or 1), int(r[2] or 15)) for r in rows]


def is_known_calendar(ctx: CallContext, group_id: int, calendar_id: int) -> bool:
    """Whether the group has this calendar as the caller may know it. Online (accounts and anonymous
    callers) a private or deleted calendar is as unknown as another group's: one answer for all three,
    so that a calendar the business keeps off line never shows, not even by a different refusal."""
    sql = "SELECT 1 FROM calendars t WHERE t.id = ? AND t.group_id = ?"
    params: list[Any] = [calendar_id, group_id]
    if not ctx.is_pro:
        sql += " AND " + PUBLIC_SQL
        params.append(False)
    return ctx.conn.scalar(sql, params) is not None


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


def parse_time(value: Any, name: str, zone: Zone) -> int:
    if not isinstance(value, str):
        raise invalid(name, "must be a date and time 'YYYY-MM-DD HH:MM:SS'")
    try:
        return zone.parse(value)
    except WallTimeError as exc:
        raise invalid(name, str(exc)) from None
