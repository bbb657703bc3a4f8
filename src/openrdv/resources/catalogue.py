"""The catalogue: calendars (agendas), calendar sets, interventions (services), intervention sets.

Accounts and anonymous callers see the public catalogue only: rows not deleted and with a non-blank
`publicname` (for interventions, their set too, if they have one)."""

from __future__ import annotations

import re
from typing import Any

from openrdv.errors import invalid
from openrdv.model.context import CallContext
from openrdv.model.declaration import (
    READ_VERBS,
    Behaviour,
    Field,
    Kind,
    Link,
    ListFilter,
    Resource,
    id_field,
    timestamp_fields,
)

PUBLIC_SQL = "t.\"deleted\" = ? AND t.\"publicname\" <> ''"
CALENDAR_INTERVENTIONS = "calendar_interventions"
COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")  # colorref of interventions and vevents


class PublicCatalogue(Behaviour):
    def account_scope(self, ctx: CallContext) -> tuple[str, list[Any]] | None:
        return PUBLIC_SQL, [False]

    def before_write(self, ctx: CallContext, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
        # a publicname of blanks is a blank publicname: store it as "" so that every reader of the
        # public catalogue (account scopes, availability) sees the item as not offered online
        if not (values.get("publicname") or "").strip():
            values["publicname"] = ""


# The services a customer may see and book (on alias `t`): public, and not in a set whose blank
# publicname hides it online whatever its own publicname. Availability and booking use it too.
PUBLIC_INTERVENTIONS: tuple[str, list[Any]] = (
    PUBLIC_SQL + " AND (t.\"interventionset_id\" IS NULL OR t.\"interventionset_id\" IN "
    "(SELECT s.id FROM interventionsets s WHERE s.\"deleted\" = ? AND s.\"publicname\" <> ''))",
    [False, False],
)


class InterventionBehaviour(PublicCatalogue):
    def account_scope(self, ctx: CallContext) -> tuple[str, list[Any]] | None:
        return PUBLIC_INTERVENTIONS

    def validate(self, ctx: CallContext, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
        if not (values.get("name") or values.get("publicname") or "").strip():
            raise invalid("name", "can't be blank")
        color = values.get("colorref") or ""
        if color and not COLOR_RE.match(color):
            raise invalid("colorref", "must be a colour like #RRGGBB")

    def render_extra(self, ctx: CallContext, records: list[dict[str, Any]]) -> None:
        if not ctx.is_pro:
            _keep_public(ctx, records, "calendar_ids", _public_calendars(ctx))


class NamedBehaviour(PublicCatalogue):
    def validate(self, ctx: CallContext, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
        if not (values.get("name") or values.get("publicname") or "").strip():
            raise invalid("name", "can't be blank")


class CalendarBehaviour(NamedBehaviour):
    def render_extra(self, ctx: CallContext, records: list[dict[str, Any]]) -> None:
        if not ctx.is_pro:
            _keep_public(ctx, records, "intervention_ids", _public_interventions(ctx))


# Online (accounts and anonymous callers) the links name public items only: a calendar lists the
# services bookable online, a service the calendars shown online, and the link filters match on them.
def _public_interventions(ctx: CallContext) -> tuple[str, list[Any]]:
    return f"SELECT t.id FROM interventions t WHERE {PUBLIC_INTERVENTIONS[0]}", list(PUBLIC_INTERVENTIONS[1])


def _public_calendars(ctx: CallContext) -> tuple[str, list[Any]]:
    return f"SELECT t.id FROM calendars t WHERE {PUBLIC_SQL}", [False]


def _keep_public(ctx: CallContext, records: list[dict[str, Any]], field: str,
                 public: tuple[str, list[Any]]) -> None:
    ids = sorted({i for record in records for i in record.get(field) or ()})
    if not ids:
        return
    marks = ", ".join("?" for _ in ids)
    shown = {row[0] for row in ctx.conn.all(f"{public[0]} AND t.id IN ({marks})", [*public[1], *ids])}
    for record in records:
        if field in record:
            record[field] = [i for i in record[field] if i in shown]


def _ids_in(column: str, ids: list[int]) -> tuple[str, list[Any]]:
    if not ids:
        return "1 = 0", []
    return f"{column} IN ({', '.join('?' for _ in ids)})", list(ids)


def _calendars_offering_all(ids: list[int], ctx: CallContext) -> tuple[str, list[Any]]:
    if not ids:
        return "1 = 1", []
    inner, params = _ids_in("intervention_id", ids)
    if not ctx.is_pro:
        public = _public_interventions(ctx)
        inner, params = f"{inner} AND intervention_id IN ({public[0]})", [*params, *public[1]]
    return (
        f"t.id IN (SELECT calendar_id FROM {CALENDAR_INTERVENTIONS} WHERE {inner} "
        f"GROUP BY calendar_id HAVING count(DISTINCT intervention_id) = ?)",
        [*params, len(ids)],
    )


def _in_calendarsets(ids: list[int], ctx: CallContext) -> tuple[str, list[Any]]:
    if not ids:
        return "1 = 1", []
    return _ids_in('t."calendarset_id"', ids)


def _interventions_on_calendars(ids: list[int], ctx: CallContext) -> tuple[str, list[Any]]:
    if not ids:
        return "1 = 1", []
    inner, params = _ids_in("calendar_id", ids)
    if not ctx.is_pro:
        public = _public_calendars(ctx)
        inner, params = f"{inner} AND calendar_id IN ({public[0]})", [*params, *public[1]]
    return f"t.id IN (SELECT intervention_id FROM {CALENDAR_INTERVENTIONS} WHERE {inner})", params


def _in_interventionset(value: int, ctx: CallContext) -> tuple[str, list[Any]]:
    return 't."interventionset_id" = ?', [value]


def _catalogue_fields(account_name: str = "") -> list[Field]:
    return [
        Field("name", Kind.STR, 255, default="", account=account_name, doc="internal name"),
        Field("publicname", Kind.STR, 255, default="", account="r",
              doc="name shown online; blank = not offered online"),
    ]


CALENDARSETS = Resource(
    name="calendarsets",
    singular="calendarset",
    table="calendarsets",
    account_verbs=READ_VERBS,
    anonymous_read=True,
    soft_delete=True,
    search_fields=("name", "publicname"),
    behaviour=NamedBehaviour(),
    doc="A category of calendars.",
    fields=[
        id_field(),
        Field("group_id", Kind.REF, ref_table="groups", account="r"),
        *_catalogue_fields(),
        Field("description", Kind.TEXT, default="", account="r"),
        Field("sort", Kind.INT, default=0, account="r", doc="display order"),
        Field("deleted", Kind.BOOL, default=False),
        *timestamp_fields(account=""),
    ],
)

CALENDARS = Resource(
    name="calendars",
    singular="calendar",
    table="calendars",
    account_verbs=READ_VERBS,
    anonymous_read=True,
    soft_delete=True,
    search_fields=("name", "publicname"),
    filters=(
        ListFilter("intervention_ids", many=True, kind=Kind.IDS, build=_calendars_offering_all,
                   doc="calendars offering ALL of these interventions"),
        ListFilter("calendarset_ids", many=True, kind=Kind.IDS, build=_in_calendarsets,
                   doc="calendars of any of these calendar sets"),
    ),
    behaviour=CalendarBehaviour(),
    doc="A bookable agenda (a person or a resource).",
    fields=[
        id_field(),
        Field("group_id", Kind.REF, ref_table="groups", account="r"),
        Field("calendarset_id", Kind.REF, ref_table="calendarsets", account="r"),
        *_catalogue_fields(),
        Field("address", Kind.STR, 255, default="", account="r"),
        Field("zipcode", Kind.STR, 16, default="", account="r"),
        Field("city", Kind.STR, 64, default="", account="r"),
        Field("description", Kind.TEXT, default="", account="r"),
        Field("epj", Kind.STR, 255, default="", account="r", doc="free label some clients read"),
        Field("sort", Kind.INT, default=0, account="r", doc="display order"),
        Field("interval", Kind.INT, default=15, min_value=1, max_value=1440, account="r",
              doc="step between offered slot starts, in minutes"),
        Field("capacity", Kind.INT, default=1, min_value=1, max_value=1000, account="r",
              doc="appointments the calendar takes at the same time"),
        Field("intervention_ids", Kind.IDS, account="r", sortable=False,
              link=Link(CALENDAR_INTERVENTIONS, "calendar_id", "intervention_id", "interventions"),
              doc="services bookable on this calendar"),
        Field("deleted", Kind.BOOL, default=False),
        *timestamp_fields(account=""),
    ],
)

INTERVENTIONSETS = Resource(
    name="interventionsets",
    singular="interventionset",
    table="interventionsets",
    account_verbs=READ_VERBS,
    anonymous_read=True,
    soft_delete=True,
    search_fields=("name", "publicname"),
    behaviour=NamedBehaviour(),
    doc="A category of services; a blank publicname hides its services online.",
    fields=[
        id_field(),
        Field("group_id", Kind.REF, ref_table="groups", account="r"),
        *_catalogue_fields(),
        Field("description", Kind.TEXT, default="", account="r"),
        Field("sort", Kind.INT, default=0, account="r"),
        Field("deleted", Kind.BOOL, default=False),
        *timestamp_fields(account=""),
    ],
)

INTERVENTIONS = Resource(
    name="interventions",
    singular="intervention",
    table="interventions",
    account_verbs=READ_VERBS,
    anonymous_read=True,
    soft_delete=True,
    search_fields=("name", "publicname", "abbr"),
    filters=(
        ListFilter("interventionset_id", many=False, kind=Kind.INT, build=_in_interventionset,
                   doc="services of this set"),
        ListFilter("calendar_ids", many=True, kind=Kind.IDS, build=_interventions_on_calendars,
                   doc="services bookable on any of these calendars"),
    ),
    behaviour=InterventionBehaviour(),
    doc="A service (consultation, massage...): every appointment books one or more.",
    fields=[
        id_field(),
        Field("group_id", Kind.REF, ref_table="groups", account="r"),
        Field("interventionset_id", Kind.REF, ref_table="interventionsets", account="r"),
        *_catalogue_fields(),
        Field("abbr", Kind.STR, 255, default="", doc="short label on appointments"),
        Field("length", Kind.INT, default=15, min_value=1, max_value=1440, account="r", doc="minutes"),
        Field("colorref", Kind.STR, 7, default="#dddddd", doc="#RRGGBB"),
        Field("sort", Kind.INT, default=0, account="r"),
        Field("price", Kind.INT, min_value=0, account="r", doc="cents (3000 = 30.00)"),
        Field("description", Kind.TEXT, default="", account="r"),
        Field("calendar_ids", Kind.IDS, account="r", sortable=False,
              link=Link(CALENDAR_INTERVENTIONS, "intervention_id", "calendar_id", "calendars"),
              doc="calendars offering this service"),
        Field("deleted", Kind.BOOL, default=False),
        *timestamp_fields(account=""),
    ],
)
