"""pros: the professionals who use the Calendar API. A pro belongs to one or more groups."""

from __future__ import annotations

from typing import Any

from openrdv.auth.passwords import hash_password
from openrdv.errors import Forbidden, invalid
from openrdv.resources.context import CallContext
from openrdv.resources.declaration import (
    Behaviour,
    Field,
    Kind,
    Link,
    Resource,
    id_field,
    timestamp_fields,
)
from openrdv.resources.validation import check_email

PASSWORD_MIN = 6


def _password_to_hash(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise invalid("password", f"is too short (minimum is {PASSWORD_MIN} characters)")
    return hash_password(password)


class ProBehaviour(Behaviour):
    def check_update(self, ctx: CallContext, existing: dict[str, Any]) -> None:
        if ctx.principal is None or ctx.principal.kind != "pro" or existing["id"] != ctx.principal.user_id:
            raise Forbidden("A pro may update only its own profile.")

    def validate(self, ctx: CallContext, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
        check_email(values.get("email", ""), required=True)
        if not values.get("password"):
            raise invalid("password", "can't be blank")
        clash = ctx.conn.scalar(
            "SELECT id FROM pros WHERE lower(email) = lower(?) AND id <> ?",
            (values["email"], existing["id"] if existing else 0),
        )
        if clash is not None:
            raise invalid("email", "is already used by another pro")
        if existing is not None:
            # the main group is chosen at creation; a pro cannot move itself to another tenant
            values["group_id"] = existing["group_id"]

    def before_write(self, ctx: CallContext, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
        if existing is not None and values.get("password") != existing.get("password"):
            values["credential_version"] = int(existing.get("credential_version") or 0) + 1

    def after_write(self, ctx: CallContext, row_id: int, values: dict[str, Any], created: bool) -> None:
        if created:
            ctx.conn.execute("INSERT INTO pro_groups (pro_id, group_id) VALUES (?, ?)", (row_id, values["group_id"]))
        elif "credential_version" in values:
            # a password change ends the pro's other sessions
            current = ctx.principal.session_digest if ctx.principal else None
            ctx.conn.execute(
                "DELETE FROM sessions WHERE user_kind = 'pro' AND user_id = ? AND token_digest <> ?",
                (row_id, current or ""),
            )


PROS = Resource(
    name="pros",
    singular="pro",
    table="pros",
    tenancy="members",
    pro_verbs=frozenset({"list", "get", "create", "update"}),
    account_verbs=frozenset(),
    search_fields=("lastname", "firstname", "email"),
    behaviour=ProBehaviour(),
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
        Field(
            "password",
            Kind.STR,
            255,
            pro="w",
            column="password_hash",
            sortable=False,
            transform=_password_to_hash,
            doc="plain password (write-only; stored as argon2id of its SHA-1)",
        ),
        Field("synched_at", Kind.DATETIME, pro="r"),
        *timestamp_fields(),
    ],
)
