"""fiches: customer records. Accounts see and update only their own, with the user-visible custom
columns; a deleted fiche shows to its account with `$` before its lastname."""

from __future__ import annotations

from typing import Any

from openrdv.errors import BookingRefused, invalid
from openrdv.model.context import CallContext
from openrdv.model.declaration import (
    Behaviour,
    Field,
    HiddenColumn,
    Kind,
    ListFilter,
    Profile,
    Resource,
    id_field,
    timestamp_fields,
)
from openrdv.resources.custom import CUSTOM_NAMES, custom_fields
from openrdv.resources.validation import check_email


def user_visible_columns(ctx: CallContext, group_id: int, model: str) -> set[str]:
    rows = ctx.conn.all(
        "SELECT name FROM customfields WHERE group_id = ? AND model = ? AND user_visible = ? AND deleted = ?",
        (group_id, model, True, False),
    )
    return {r[0] for r in rows}


# through ix_fiches_email, like the booking's lookup by e-mail (booking/book.py FICHE_BY_EMAIL)
OTHER_FICHE_WITH_EMAIL = (
    "SELECT id FROM fiches WHERE group_id = ? AND lower(email) = lower(?) AND deleted IS FALSE AND id <> ? LIMIT 1"
)


def refuse_another_customers_email(
    ctx: CallContext, group_id: int, email: str, *, own_id: int = 0, name: str = "email"
) -> None:
    """Code 11 when another (not deleted) fiche of the group has this e-mail address. For online
    customers: a pro finds a customer by e-mail (a booking with fiche[email] alone), so an account
    whose fiche took another customer's address could take over that customer's bookings; and nothing
    proves an account owns the address it registered with, so its fiche is never linked by e-mail."""
    email = email.strip()
    if not email or ctx.conn.scalar(OTHER_FICHE_WITH_EMAIL, (group_id, email, own_id)) is None:
        return
    refusal = BookingRefused(
        11,
        f"A customer of this group already has the e-mail address {email}: a customer's record cannot take "
        "another customer's e-mail address. Give another address, or ask the business to book for you.",
    )
    refusal.errors = {name: ["is the e-mail address of another customer of this group"]}
    raise refusal


class FicheBehaviour(Behaviour):
    def account_scope(self, ctx: CallContext) -> tuple[str, list[Any]] | None:
        return 't."account_id" = ?', [ctx.account_id or 0]

    def validate(self, ctx: CallContext, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
        if not (values.get("lastname") or "").strip() and not (values.get("firstname") or "").strip():
            raise invalid("lastname", "can't be blank (give a lastname or a firstname)")
        check_email(values.get("email") or "")
        if not ctx.is_pro:
            email = values.get("email") or ""
            if existing is None or email.strip().lower() != (existing.get("email") or "").strip().lower():
                own_id = int(existing["id"]) if existing else 0
                refuse_another_customers_email(ctx, int(values["group_id"]), email, own_id=own_id)
            # an account writes only the custom columns the group shows online
            visible = user_visible_columns(ctx, int(values["group_id"]), "Fiche")
            for name in CUSTOM_NAMES:
                if name not in visible:
                    values[name] = existing.get(name) if existing else (False if name.startswith("bool") else None)

    def renders_extra(self, profile: Profile) -> bool:
        return profile == "account"

    def render_extra(self, ctx: CallContext, records: list[dict[str, Any]]) -> None:
        if ctx.is_pro or not records:
            return
        cache: dict[int, set[str]] = {}
        for record in records:
            group_id = record["group_id"]
            if group_id not in cache:
                cache[group_id] = user_visible_columns(ctx, group_id, "Fiche")
            for name in CUSTOM_NAMES:
                if name not in cache[group_id]:
                    record.pop(name, None)
            if record.get("deleted"):
                record["lastname"] = "$" + (record.get("lastname") or "")


def _externid(value: Any, ctx: CallContext) -> tuple[str, list[Any]]:
    return 't."externid" = ?', [value]


FICHES = Resource(
    name="fiches",
    singular="fiche",
    table="fiches",
    account_verbs=frozenset({"list", "get", "update"}),
    soft_delete=True,
    fulltext=True,
    counted=("updated_at", "created_at"),
    search_fields=("lastname", "firstname", "email", "firstphone", "secondphone"),
    filters=(ListFilter("externid", many=False, kind=Kind.INT, build=_externid,
                        doc="the fiche with this external id"),),
    behaviour=FicheBehaviour(),
    hidden_columns=(HiddenColumn("account_id", doc="the online account this customer record belongs to"),),
    # the contact fields a back office sorts and filters on (a sort without an index reads the whole
    # group: 2 s at a million fiches); the custom columns stay unindexed
    indexes=(("group_id", "updated_at", "id"), ("group_id", "lastname", "id"), ("group_id", "externid"),
             ("account_id",), ("group_id", "created_at", "id"), ("group_id", "firstname", "id"),
             ("group_id", "email", "id"), ("group_id", "birthdate", "id")),
    doc="A customer record.",
    fields=[
        id_field(),
        Field("group_id", Kind.REF, ref_table="groups", account="r"),
        Field("lastname", Kind.STR, 64, default="", account="rw"),
        Field("firstname", Kind.STR, 64, default="", account="rw"),
        Field("firstphone", Kind.STR, 25, default="", account="rw", doc="usually the mobile"),
        Field("secondphone", Kind.STR, 25, default="", account="rw"),
        Field("email", Kind.STR, 255, default="", account="rw"),
        Field("birthdate", Kind.DATETIME, account="rw", years=(1800, 2200)),
        Field("comments", Kind.TEXT, default="", doc="notes never shown to the customer"),
        Field("from_web", Kind.BOOL, default=False, account="r", doc="created from the booking module"),
        Field("rappel_email", Kind.BOOL, default=True, account="rw", doc="accepts e-mail reminders"),
        Field("rappel_sms", Kind.BOOL, default=True, account="rw", doc="accepts SMS reminders"),
        Field("externid", Kind.INT, doc="id in an external system"),
        Field("deleted", Kind.BOOL, default=False, account="r"),
        *custom_fields(account="rw", online_model="Fiche"),
        *timestamp_fields(account="r"),
    ],
)
