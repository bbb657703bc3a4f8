"""vevents: everything in a calendar. Four kinds share the table:

- appointment: intervention_id ≠ 0; never recurring. Its fiche_id may still be 0: an appointment
  whose customer record is not linked yet (MedShakeEHR creates the patient's fiche, posts the
  vevent without fiche_id, and links it with a later PUT). A fiche without an intervention is
  refused: an appointment says which service it books;
- block (plage): fiche_id = intervention_id = 0; blocks the calendar;
- internet availability: type = "VfreebusyEvent"; the windows online booking may use;
- note: note = 1, start = end = midnight; blocks nothing.
Recurrence: `rrule` (RFC 5545 RRULE) and `exdates` (occurrence starts removed), in wall-clock time."""

from __future__ import annotations

from typing import Any

from openrdv.agenda.recurrence import parse_exdates, validate_rrule
from openrdv.errors import invalid
from openrdv.model.context import CallContext
from openrdv.model.declaration import Behaviour, Field, Kind, ListFilter, Resource, id_field, timestamp_fields
from openrdv.resources.catalogue import COLOR_RE
from openrdv.resources.custom import custom_fields

AVAILABILITY = "VfreebusyEvent"
EVENT_TYPES = ("Vevent", AVAILABILITY)
MAX_EVENT_SECONDS = 366 * 86400


class VeventBehaviour(Behaviour):
    def validate(self, ctx: CallContext, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
        check_times(values)
        color = values.get("colorref") or ""
        if color and not COLOR_RE.match(color):
            raise invalid("colorref", "must be a colour like #RRGGBB")
        rrule = (values.get("rrule") or "").strip()
        values["rrule"] = rrule[6:] if rrule.upper().startswith("RRULE:") else rrule
        check_kind(values)
        if values.get("note"):
            check_note(ctx, values)
        check_recurrence(values)


def check_times(values: dict[str, Any]) -> None:
    start, end = values.get("start"), values.get("end")
    if start is None:
        raise invalid("start", "can't be blank")
    if end is None:
        raise invalid("end", "can't be blank")
    if end < start:
        raise invalid("end", "must not be before start")
    if end - start > MAX_EVENT_SECONDS:
        raise invalid("end", "must be within a year of start (use rrule for repeating events)")


def check_kind(values: dict[str, Any]) -> None:
    """An appointment has an intervention (its fiche may come later); an availability or a recurring
    event has neither."""
    fiche_id = values.get("fiche_id") or 0
    appointment = bool(values.get("intervention_id"))
    if fiche_id and not appointment:
        raise invalid("intervention_id", "is required with a fiche: an appointment books a service")
    if values.get("type") == AVAILABILITY and appointment:
        raise invalid("type", "an internet availability cannot carry a fiche or an intervention")
    if appointment and values["rrule"]:
        raise invalid("rrule", "an appointment cannot be recurring")


def check_note(ctx: CallContext, values: dict[str, Any]) -> None:
    start, end = values["start"], values["end"]
    local_start = ctx.zone_for(values.get("group_id")).local_datetime(start)
    if start != end or (local_start.hour, local_start.minute, local_start.second) != (0, 0, 0):
        raise invalid("start", "a note starts and ends at midnight of its day (start = end = 00:00:00)")


def check_recurrence(values: dict[str, Any]) -> None:
    rrule = values["rrule"]
    if rrule:
        problem = validate_rrule(rrule)
        if problem:
            raise invalid("rrule", problem.rstrip("."))  # the error sentence adds its own full stop
    exdates = values.get("exdates") or ""
    if exdates:
        try:
            parse_exdates(exdates)
        except ValueError as exc:
            raise invalid("exdates", str(exc).rstrip(".")) from None


def _equals(column: str) -> Any:
    def build(value: int, ctx: CallContext) -> tuple[str, list[Any]]:
        return f't."{column}" = ?', [value]

    return build


VEVENTS = Resource(
    name="vevents",
    singular="vevent",
    table="vevents",
    account_verbs=frozenset(),
    soft_delete=True,
    fulltext=True,
    counted=("updated_at", "created_at", "start"),
    search_fields=("text", "comments", "taker"),
    filters=(
        ListFilter("calendar_id", many=False, kind=Kind.INT, build=_equals("calendar_id"),
                   doc="events of this calendar"),
        ListFilter("fiche_id", many=False, kind=Kind.INT, build=_equals("fiche_id"),
                   doc="events of this customer (appointments)"),
    ),
    behaviour=VeventBehaviour(),
    indexes=(("group_id", "calendar_id", "start"), ("group_id", "updated_at", "id"), ("group_id", "fiche_id"),
             ("calendar_id", "start"), ("group_id", "start", "id"), ("fiche_id", "end"),
             ("group_id", "created_at", "id")),
    doc="An event of a calendar: appointment, block, internet availability or note.",
    fields=[
        id_field(),
        Field("group_id", Kind.REF, ref_table="groups"),
        Field("calendar_id", Kind.REF, ref_table="calendars", required=True),
        Field("start", Kind.DATETIME, required=True, doc="start (first occurrence when recurring)"),
        Field("end", Kind.DATETIME, required=True, doc="end (of the first occurrence when recurring)"),
        Field("fiche_id", Kind.REF, ref_table="fiches", zero_when_null=True,
              doc="the customer of an appointment; 0 for other events, or until the customer is linked"),
        Field("intervention_id", Kind.REF, ref_table="interventions", zero_when_null=True,
              doc="0 unless an appointment"),
        Field("type", Kind.STR, 32, default="Vevent", choices=EVENT_TYPES, blank_means_default=True,
              doc="VfreebusyEvent for internet availabilities"),
        Field("note", Kind.BOOL, default=False, doc="a day note (blocks no time)"),
        Field("text", Kind.STR, 255, default="", doc="label in the agenda"),
        Field("comments", Kind.TEXT, default=""),
        Field("colorref", Kind.STR, 7, default=""),
        Field("taker", Kind.STR, 255, default="", doc="who entered the event"),
        Field("from_web", Kind.BOOL, default=False, doc="booked online"),
        Field("websource", Kind.STR, 255, default="", doc="where an online booking came from"),
        Field("state", Kind.INT, default=0, min_value=0, max_value=99, doc="0 normal, 2 no-show"),
        Field("rrule", Kind.STR, 512, default="", doc="RFC 5545 RRULE, wall-clock time"),
        Field("exdates", Kind.TEXT, default="", doc="comma-separated occurrence starts removed"),
        Field("deleted", Kind.BOOL, default=False),
        *custom_fields(account=""),
        *timestamp_fields(account=""),
    ],
)
