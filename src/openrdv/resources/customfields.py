"""customfields: the labels and widgets a group gives to the custom columns of fiches and vevents."""

from __future__ import annotations

from typing import Any

from openrdv.errors import invalid
from openrdv.model.context import CallContext
from openrdv.model.declaration import READ_VERBS, Behaviour, Field, Kind, Resource, id_field, timestamp_fields
from openrdv.resources.custom import CUSTOM_NAMES

# Built-in columns a group may also label (the real API shows `birthdate` as a customfield).
BUILTIN: dict[str, tuple[str, ...]] = {
    "Fiche": ("lastname", "firstname", "firstphone", "secondphone", "email", "birthdate", "comments"),
    "Vevent": ("text", "comments"),
}


class CustomfieldBehaviour(Behaviour):
    def account_scope(self, ctx: CallContext) -> tuple[str, list[Any]] | None:
        return 't."user_visible" = ? AND t."deleted" = ?', [True, False]

    def validate(self, ctx: CallContext, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
        model = values.get("model")
        name = values.get("name") or ""
        allowed = set(CUSTOM_NAMES) | set(BUILTIN.get(str(model), ()))
        if name not in allowed:
            raise invalid("name", f"must be a column of {model}: bool0-9, dt0-1, num0-3, str0-14, txt0-2 "
                                  f"or {', '.join(BUILTIN.get(str(model), ()))}")
        clash = ctx.conn.scalar(
            "SELECT id FROM customfields WHERE group_id = ? AND model = ? AND name = ? AND deleted = ? AND id <> ?",
            (values["group_id"], model, name, False, existing["id"] if existing else 0),
        )
        if clash is not None and not values.get("deleted"):
            raise invalid("name", f"{name} of {model} already has a customfield ({clash})")


CUSTOMFIELDS = Resource(
    name="customfields",
    singular="customfield",
    table="customfields",
    account_verbs=READ_VERBS,
    anonymous_read=True,
    soft_delete=True,
    search_fields=("name", "pro_label", "user_label"),
    behaviour=CustomfieldBehaviour(),
    doc="Configuration of a custom column: its labels and widgets for pros and online customers.",
    fields=[
        id_field(),
        Field("group_id", Kind.REF, ref_table="groups", account="r"),
        Field("model", Kind.STR, 16, default="Fiche", choices=("Fiche", "Vevent"), required=True, account="r"),
        Field("name", Kind.STR, 32, default="", required=True, account="r", doc="the column, e.g. str0"),
        Field("deleted", Kind.BOOL, default=False, account="r"),
        Field("pro_label", Kind.STR, 255, default=""),
        Field("pro_inputex", Kind.TEXT, default="", doc="form widget definition (JSON text)"),
        Field("pro_position", Kind.INT, default=0),
        Field("pro_required", Kind.BOOL, default=False),
        Field("user_label", Kind.STR, 255, default="", account="r"),
        Field("user_inputex", Kind.TEXT, default="", account="r"),
        Field("user_position", Kind.INT, account="r"),
        Field("user_required", Kind.BOOL, default=False, account="r"),
        Field("user_visible", Kind.BOOL, default=False, account="r"),
        *timestamp_fields(account="r"),
    ],
)
