"""appointments: the Booking API's view of appointment vevents (intervention ≠ 0; the fiche may not
be linked yet, vevents.py),
with the group, calendar, fiche and intervention embedded. POST books (booking/book.py);
DELETE cancels (soft delete of the vevent)."""

from __future__ import annotations

from typing import Any

from openrdv.model.context import CallContext
from openrdv.model.declaration import Behaviour, Field, Kind, Link, ListFilter, Resource, id_field
from openrdv.resources.vevents import VEVENTS

APPOINTMENT_SQL = 't."intervention_id" <> 0'
VEVENT_INTERVENTIONS = "vevent_interventions"


def _include_past(value: bool, ctx: CallContext) -> tuple[str, list[Any]]:
    if value:
        return "1 = 1", []
    return 't."end" > ?', [ctx.now]


def _calendar(value: int, ctx: CallContext) -> tuple[str, list[Any]]:
    return 't."calendar_id" = ?', [value]


def _fiche(value: int, ctx: CallContext) -> tuple[str, list[Any]]:
    return 't."fiche_id" = ?', [value]


def _interventions(ids: list[int], ctx: CallContext) -> tuple[str, list[Any]]:
    if not ids:
        return "1 = 1", []
    marks = ", ".join("?" for _ in ids)
    return (
        f'(t."intervention_id" IN ({marks}) OR t.id IN '
        f"(SELECT vevent_id FROM {VEVENT_INTERVENTIONS} WHERE intervention_id IN ({marks})))",
        [*ids, *ids],
    )


class AppointmentBehaviour(Behaviour):
    def base_scope(self, ctx: CallContext) -> tuple[str, list[Any]] | None:
        return APPOINTMENT_SQL, []

    def account_scope(self, ctx: CallContext) -> tuple[str, list[Any]] | None:
        return 't."fiche_id" IN (SELECT f.id FROM fiches f WHERE f.account_id = ?)', [ctx.account_id or 0]

    def render_extra(self, ctx: CallContext, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        pro = ctx.is_pro

        def load(table: str, columns: str, ids: set[int]) -> dict[int, dict[str, Any]]:
            if not ids:
                return {}
            marks = ", ".join("?" for _ in ids)
            names = [c.strip().strip('"') for c in columns.split(",")]
            rows = ctx.conn.all(f"SELECT id, {columns} FROM {table} WHERE id IN ({marks})", list(ids))
            return {r[0]: {"id": r[0], **dict(zip(names, r[1:], strict=True))} for r in rows}

        groups = load("groups", "name, urlname", {r["group_id"] for r in records})
        calendars = load("calendars", "name, publicname, epj", {r["calendar_id"] for r in records})
        fiches = load("fiches", 'birthdate, lastname, firstname, email, firstphone, secondphone, comments',
                      {r["fiche_id"] for r in records})
        intervention_ids = {i for r in records for i in (r.get("intervention_ids") or [])} | {
            r["intervention_id"] for r in records}
        interventions = load("interventions", "name, publicname, interventionset_id, length", intervention_ids)
        for record in records:
            zone_fmt = ctx.zone_for(record["group_id"])
            if not record.get("intervention_ids"):
                record["intervention_ids"] = [record["intervention_id"]] if record["intervention_id"] else []
            group = groups.get(record["group_id"], {})
            calendar = dict(calendars.get(record["calendar_id"], {}))
            fiche = dict(fiches.get(record["fiche_id"], {}))
            intervention = dict(interventions.get(record["intervention_id"], {}))
            if fiche.get("birthdate") is not None:
                fiche["birthdate"] = zone_fmt.format(int(fiche["birthdate"]))
            if not pro:
                calendar.pop("name", None)
                intervention.pop("name", None)
                fiche.pop("comments", None)
            lengths = [interventions.get(i, {}).get("length") or 0 for i in record["intervention_ids"]]
            record["group"] = group
            record["calendar"] = calendar
            record["fiche"] = fiche
            record["intervention"] = intervention
            record["group_name"] = group.get("name", "")
            record["calendar_name"] = calendar.get("publicname") or calendar.get("name", "")
            record["intervention_name"] = intervention.get("publicname") or intervention.get("name", "")
            record["intervention_length"] = sum(lengths)


APPOINTMENTS = Resource(
    name="appointments",
    singular="appointment",
    table="vevents",
    owns_table=False,
    pro_verbs=frozenset({"list", "get", "create", "delete"}),
    account_verbs=frozenset({"list", "get", "create", "delete"}),
    soft_delete=True,
    fulltext=True,
    search_fields=VEVENTS.search_fields,  # the stored search text of vevents: text (customer name), comments, taker
    filters=(
        ListFilter("include_past", many=False, kind=Kind.BOOL, build=_include_past, default=False,
                   doc="1 to list past appointments too (hidden by default)"),
        ListFilter("calendar_id", many=False, kind=Kind.INT, build=_calendar),
        ListFilter("fiche_id", many=False, kind=Kind.INT, build=_fiche),
        ListFilter("intervention_ids", many=True, kind=Kind.IDS, build=_interventions,
                   doc="appointments booking any of these services"),
    ),
    behaviour=AppointmentBehaviour(),
    doc="An appointment booked through the Booking API (an appointment vevent).",
    fields=[
        id_field(),
        Field("group_id", Kind.REF, ref_table="groups", pro="r", account="r"),
        Field("calendar_id", Kind.REF, ref_table="calendars", pro="r", account="r"),
        Field("fiche_id", Kind.REF, ref_table="fiches", zero_when_null=True, pro="r", account="r"),
        Field("intervention_id", Kind.REF, ref_table="interventions", zero_when_null=True, pro="r", account="r"),
        Field("intervention_ids", Kind.IDS, pro="r", account="r", sortable=False,
              link=Link(VEVENT_INTERVENTIONS, "vevent_id", "intervention_id", "interventions")),
        Field("start", Kind.DATETIME, pro="r", account="r"),
        Field("end", Kind.DATETIME, pro="r", account="r"),
        Field("text", Kind.STR, 255, pro="r", account=""),
        Field("comments", Kind.TEXT, pro="r", account="r"),
        Field("taker", Kind.STR, 255, pro="r", account=""),
        Field("websource", Kind.STR, 255, pro="r", account="r"),
        Field("from_web", Kind.BOOL, pro="r", account="r"),
        Field("state", Kind.INT, pro="r", account="r"),
        Field("deleted", Kind.BOOL, pro="r", account="r"),
        Field("created_at", Kind.DATETIME, pro="r", account="r"),
        Field("updated_at", Kind.DATETIME, pro="r", account="r"),
    ],
)
