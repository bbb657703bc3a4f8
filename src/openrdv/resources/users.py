"""What pros and accounts share as users: a password field stored as argon2id of its SHA-1, and the
credential version a password change bumps (ending the user's other sessions)."""

from __future__ import annotations

import hashlib
from typing import Any

from openrdv.auth.passwords import hash_password
from openrdv.errors import invalid
from openrdv.model.context import CallContext
from openrdv.model.declaration import Behaviour, Field, HiddenColumn, Kind

PASSWORD_MIN = 6


def _password_to_hash(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise invalid("password", f"is too short (minimum is {PASSWORD_MIN} characters)")
    return hash_password(password)


def password_field(pro: str, account: str, default: Any = None) -> Field:
    return Field(
        "password",
        Kind.STR,
        255,
        pro=pro,
        account=account,
        column="password_hash",
        sortable=False,
        default=default,
        transform=_password_to_hash,
        doc="plain password (write-only; stored as argon2id of its SHA-1)",
    )


USER_TABLES = (("pro", "pros"), ("account", "accounts"))


def email_taken_by(ctx: CallContext, email: str, kind: str, own_id: int | None) -> str | None:
    """The kind of user ("pro" or "account") that already has this e-mail, case-insensitively, or
    None. E-mails are unique across pros and accounts: HTTP Basic names no profile, so one e-mail
    must name one user. Called inside the write transaction: SQLite's writers are serialised
    already; on PostgreSQL a transaction lock on the e-mail serialises a pro and an account created
    with it at the same moment (the unique indexes only see one table each)."""
    if ctx.conn.dialect == "postgresql":
        digest = hashlib.sha256(email.strip().lower().encode("utf-8")).digest()
        ctx.conn.scalar("SELECT pg_advisory_xact_lock(?)", (int.from_bytes(digest[:8], "big", signed=True),))
    for other_kind, table in USER_TABLES:
        exclude = own_id if other_kind == kind and own_id is not None else 0
        sql = f"SELECT 1 FROM {table} WHERE lower(email) = lower(?) AND id <> ?"
        if ctx.conn.scalar(sql, (email, exclude)) is not None:
            return other_kind
    return None


# bumped by a password change: the verified-credential caches of every server miss at once
CREDENTIAL_VERSION = HiddenColumn("credential_version", default=0, doc="bumped by each password change")


class UserBehaviour(Behaviour):
    """A password change bumps the credential version and ends the user's other sessions."""

    user_kind = "pro"

    def before_write(self, ctx: CallContext, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
        if existing is not None and values.get("password") != existing.get("password"):
            values["credential_version"] = int(existing.get("credential_version") or 0) + 1

    def after_write(self, ctx: CallContext, row_id: int, values: dict[str, Any], created: bool) -> None:
        if not created and "credential_version" in values:
            current = ctx.principal.session_digest if ctx.principal else None
            ctx.conn.execute(
                "DELETE FROM sessions WHERE user_kind = ? AND user_id = ? AND token_digest <> ?",
                (self.user_kind, row_id, current or ""),
            )
