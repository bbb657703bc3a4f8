"""GET availabletimeslots: the free starts of a group's calendars for the services asked for."""

from __future__ import annotations

from typing import Any

from openrdv.agenda.slots import compute_slots
from openrdv.booking.schedule import (
    DAY,
    MAX_WINDOW_DAYS,
    candidate_calendars,
    group_rules,
    load_schedules,
    parse_time,
    requested_interventions,
)
from openrdv.errors import invalid
from openrdv.model.coerce import scalar_param, to_id_list, to_int, to_optional_id
from openrdv.model.context import CallContext


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
    window_start = parse_time(start_raw, "start", zone) if start_raw is not None else ctx.now
    end_raw = scalar_param(params, "end")
    days_raw = scalar_param(params, "nDays")
    if end_raw is not None:
        window_end = parse_time(end_raw, "end", zone)
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
