"""pros: the professionals who use the Calendar API. A pro belongs to one or more groups."""

from __future__ import annotations

from typing import Any

from openrdv.errors import Forbidden, invalid
from openrdv.model.context import CallContext
from openrdv.model.declaration import (
    Field,
        Kind,
    Link,
    Resource,
    id_field,
    timestamp_fields,
)
from openrdv.resources.users import CREDENTIAL_VERSION, UserBehaviour, email_taken_by, password_field
from openrdv.resources.validation import check_email


class ProBehaviour(UserBehaviour):
    user_kind = "pro"

    def check_update(self, ctx: CallContext, existing: dict[str, Any]) -> None:
        if ctx.principal is None or ctx.principal.kind != "pro" or existing["id"] != ctx.principal.user_id:
            raise Forbidden("A pro may update only its own profile.")

    def validate(self, ctx: CallContext, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
        check_email(values.get("email", ""), required=True)
        if not values.get("password"):
            raise invalid("password", "can't be blank")
        taken = email_taken_by(ctx, values["email"], "pro", existing["id"] if existing else None)
        # an account's e-mail is refused when the pro takes it, not when a pro already had it (data
        # from before e-mails were unique across both) and changes something else
        unchanged = existing is not None and str(existing.get("email") or "").lower() == values["email"].lower()
        if taken == "pro" or (taken == "account" and not unchanged):
            raise invalid("email", "is already used by another user")
        if existing is not None:
            # the main group is chosen at creation; a pro cannot move itself to another tenant
            values["group_id"] = existing["group_id"]

    def after_write(self, ctx: CallContext, row_id: int, values: dict[str, Any], created: bool) -> None:
        if created:
            ctx.conn.execute("INSERT INTO pro_groups (pro_id, group_id) VALUES (?, ?)", (row_id, values["group_id"]))
        super().after_write(ctx, row_id, values, created)


PROS = Resource(
    name="pros",
    singular="pro",
    table="pros",
    tenancy="members",
    pro_verbs=frozenset({"list", "get", "create", "update"}),
    account_verbs=frozenset(),
    search_fields=("lastname", "firstname", "email"),
    behaviour=ProBehaviour(),
    hidden_columns=(CREDENTIAL_VERSION,),
    doc="A professional user of the Calendar API (agenda back office).",
    fields=[
        id_field(),
        Field("group_id", Kind.REF, pro="rw", ref_table="groups", doc="main group (chosen at creation)"),
        Field(
            "group_ids",
            Kind.IDS,
            pro="r",
            link=Link("pro_groups", "pro_id", "group_id", "groups"),
            sortable=False,
            doc="every group the pro belongs to",
        ),
        Field("lastname", Kind.STR, 255, default=""),
        Field("firstname", Kind.STR, 255, default=""),
        Field("email", Kind.STR, 255, default="", required=True, doc="login e-mail"),
        Field("cellphone", Kind.STR, 25, default=""),
        password_field(pro="w", account=""),
        Field("synched_at", Kind.DATETIME, pro="r"),
        *timestamp_fields(),
    ],
)
