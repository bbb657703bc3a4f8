"""accounts: online customers (Booking API). Unique by e-mail across the server; created without a
user (apikey only); each account reads and updates only itself."""

from __future__ import annotations

from typing import Any

from openrdv.errors import BookingRefused, invalid
from openrdv.model.context import CallContext
from openrdv.model.declaration import Field, Kind, Resource, id_field, timestamp_fields
from openrdv.resources.users import CREDENTIAL_VERSION, UserBehaviour, email_taken_by, password_field
from openrdv.resources.validation import check_email


class AccountBehaviour(UserBehaviour):
    user_kind = "account"

    def validate(self, ctx: CallContext, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
        check_email(values.get("email") or "", required=True)
        taken = email_taken_by(ctx, values["email"], "account", existing["id"] if existing else None)
        # a pro's e-mail gets the very refusal an account's gets: nothing tells a customer it is a pro's
        unchanged = existing is not None and str(existing.get("email") or "").lower() == values["email"].lower()
        if taken == "account" or (taken == "pro" and not unchanged):
            raise BookingRefused(11, f"The e-mail address {values['email']} is already used by another account.")
        group_id = values.get("group_id")
        if existing is not None:
            values["group_id"] = existing["group_id"]
        elif group_id is None:
            raise invalid("group_id", "can't be blank (the group the customer registers with)")
        elif ctx.conn.scalar("SELECT 1 FROM groups WHERE id = ?", (group_id,)) is None:
            raise invalid("group_id", f"there is no group {group_id}")


ACCOUNTS = Resource(
    name="accounts",
    singular="account",
    table="accounts",
    tenancy="self",
    pro_verbs=frozenset(),
    account_verbs=frozenset({"list", "get", "create", "update"}),
    anonymous_create=True,
    behaviour=AccountBehaviour(),
    hidden_columns=(CREDENTIAL_VERSION,),
    doc="An online customer. POST needs only an API key.",
    fields=[
        id_field(),
        Field("email", Kind.STR, 255, default="", account="rw", required=True),
        Field("group_id", Kind.REF, ref_table="groups", account="rw", doc="group the customer registers with"),
        Field("firstname", Kind.STR, 64, default="", account="rw"),
        Field("lastname", Kind.STR, 64, default="", account="rw"),
        Field("phone", Kind.STR, 25, default="", account="rw"),
        password_field(pro="", account="w", default=""),
        Field(
            "pendingRdv",
            Kind.JSON,
            default="",
            account="rw",
            doc="the appointment being booked while the e-mail is not confirmed (JSON)",
        ),
        *timestamp_fields(account="r"),
    ],
)
