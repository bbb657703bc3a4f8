"""Who is calling: the API key (the application) and the user (Basic or session)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Literal

from openrdv.auth import throttle
from openrdv.auth.apikeys import find_apikey
from openrdv.auth.credcache import VerifiedCredentials
from openrdv.auth.passwords import burn_verification_time, verify_password
from openrdv.auth.sessions import SessionRow, find_session
from openrdv.db.engine import Conn
from openrdv.errors import TooManyRequests, Unauthorized
from openrdv.model.context import Principal
from openrdv.settings import Settings

UserKind = Literal["pro", "account"]
USER_TABLES: dict[str, str] = {"pro": "pros", "account": "accounts"}
INVALID_LOGIN = "Invalid email or password"


@dataclass
class Credentials:
    """What a request carries; filled by the wire layer."""

    apikey: str | None = None
    apikey_in_body: bool = False
    basic: tuple[str, str] | None = None
    basic_malformed: bool = False
    session_token: str | None = None
    address: str = ""


@dataclass
class Caller:
    apikey_id: int | None
    principal: Principal | None
    session_expired: bool = False


def parse_basic(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    email, sep, password = decoded.partition(":")
    if not sep:
        return None
    return email.strip(), password


class Authenticator:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.verified = VerifiedCredentials(settings.basic_cache_ttl)

    # -- users --------------------------------------------------------------------------------------
    def check_password(
        self, conn: Conn, kind: UserKind, email: str, password: str, address: str, now: int
    ) -> int | None:
        """The user's id when the password is right, None when it is not (or the e-mail is unknown);
        TooManyRequests when throttled. See auth/throttle.py: only failures at this e-mail from this
        address may refuse a right password (cached or not); the e-mail's and the address's own
        buckets turn a wrong answer into 429 and never lock the user out."""
        limit = self.settings.login_attempts
        state = throttle.check(conn, email, address, limit, now)
        if state.pair_wait:
            # before any check, even of the cache: an exhausted guesser learns nothing more
            raise too_many_failures(state.pair_wait)
        row = conn.one(
            f"SELECT id, password_hash, credential_version FROM {USER_TABLES[kind]} WHERE lower(email) = lower(?)",
            (email,),
        )
        if row is None:
            burn_verification_time(password)
        else:
            user_id, stored, version = row
            right = self.verified.seen(kind, email, password, int(version or 0))
            if not right and verify_password(stored, password):
                self.verified.remember(kind, email, password, int(version or 0))
                right = True
            if right:
                if state.own_failures:  # a write only then: a cached Basic request stays a read
                    throttle.clear_failures(conn, email, address)
                return int(user_id)
        throttle.record_failure(conn, email, address, now)
        if state.others_wait:
            raise too_many_failures(state.others_wait)
        return None

    def find_user_kind(self, conn: Conn, email: str) -> UserKind:
        """Basic credentials name no profile: an e-mail known as a pro is a pro, else an account."""
        if conn.scalar("SELECT 1 FROM pros WHERE lower(email) = lower(?)", (email,)):
            return "pro"
        if conn.scalar("SELECT 1 FROM accounts WHERE lower(email) = lower(?)", (email,)):
            return "account"
        return "pro"

    def load_principal(
        self, conn: Conn, kind: UserKind, user_id: int, apikey_id: int, session_digest: str | None
    ) -> Principal | None:
        row = conn.one(f"SELECT email, group_id FROM {USER_TABLES[kind]} WHERE id = ?", (user_id,))
        if row is None:
            return None
        return self.make_principal(conn, kind, user_id, row[0], row[1], apikey_id, session_digest)

    def make_principal(
        self,
        conn: Conn,
        kind: UserKind,
        user_id: int,
        email: str,
        main_group: int | None,
        apikey_id: int,
        session_digest: str | None,
    ) -> Principal:

        def memberships(group_id: int | None) -> list[tuple[int, str]]:
            one = "" if group_id is None else " AND g.id = ?"
            extra: tuple[int, ...] = () if group_id is None else (group_id,)
            if kind == "pro":
                sql = (
                    "SELECT g.id, g.timezone FROM pro_groups m JOIN groups g ON g.id = m.group_id "
                    f"WHERE m.pro_id = ?{one}"
                )
                return [(int(g), str(tz)) for g, tz in conn.all(sql, (user_id, *extra))]
            # an account belongs to the group it registered with and to every group holding its fiche
            sql = (
                "SELECT g.id, g.timezone FROM groups g WHERE (g.id = ? "
                f"OR g.id IN (SELECT group_id FROM fiches WHERE account_id = ?)){one}"
            )
            return [(int(g), str(tz)) for g, tz in conn.all(sql, (main_group, user_id, *extra))]

        return Principal(
            kind=kind,
            user_id=user_id,
            email=email,
            apikey_id=apikey_id,
            main_group_id=main_group,
            memberships=memberships,
            session_digest=session_digest,
        )

    # -- API key ------------------------------------------------------------------------------------
    def check_apikey(self, conn: Conn, key: str, in_body: bool) -> int:
        if in_body and self.settings.strict_apikey:
            raise Unauthorized("This server accepts the API key only as the apikey query parameter.")
        found = find_apikey(conn, key)
        if found is None:
            raise Unauthorized("Invalid API key.")
        if found.revoked_at is not None:
            raise Unauthorized("This API key has been revoked.")
        if found.environment != self.settings.environment:
            raise Unauthorized(
                f"This API key belongs to the {found.environment} environment; "
                f"this server runs the {self.settings.environment} environment."
            )
        return found.id

    # -- the whole request --------------------------------------------------------------------------
    def identify(self, conn: Conn, creds: Credentials, now: int) -> Caller:
        principal: Principal | None = None
        session_apikey: int | None = None
        expired = False
        if creds.basic_malformed:
            raise Unauthorized("The Authorization header is not valid HTTP Basic (base64 of email:password).")
        if creds.basic is not None:
            email, password = creds.basic
            kind = self.find_user_kind(conn, email)
            user_id = self.check_password(conn, kind, email, password, creds.address, now)
            if user_id is None:
                raise Unauthorized(INVALID_LOGIN + ".")
            apikey_id = self._request_apikey(conn, creds)
            if apikey_id is None:
                raise Unauthorized(MISSING_APIKEY)
            principal = self.load_principal(conn, kind, user_id, apikey_id, None)
            return Caller(apikey_id, principal)
        if creds.session_token:
            session = find_session(
                conn, creds.session_token, now, self.settings.session_idle, self.settings.session_max
            )
            if session is None:
                expired = True
            else:
                self._check_session_apikey(session)
                session_apikey = session.apikey_id
                kind = "pro" if session.user_kind == "pro" else "account"
                if session.email is not None:
                    principal = self.make_principal(
                        conn, kind, session.user_id, session.email, session.main_group_id, session.apikey_id,
                        session.digest,
                    )
        apikey_id = self._request_apikey(conn, creds)
        if apikey_id is None:
            apikey_id = session_apikey
        if apikey_id is None:
            if expired:
                raise Unauthorized(SESSION_EXPIRED)
            raise Unauthorized(MISSING_APIKEY)
        if principal is not None:
            principal.apikey_id = apikey_id
        return Caller(apikey_id, principal, session_expired=expired)

    def _check_session_apikey(self, session: SessionRow) -> None:
        """A session lives by the API key it was opened with: a key of another environment (a sandbox
        session presented to a production server sharing the database) or a revoked one ends it."""
        if session.apikey_environment is None or session.apikey_revoked_at is not None:
            raise Unauthorized("The API key this session was opened with has been revoked: log in again.")
        if session.apikey_environment != self.settings.environment:
            raise Unauthorized(
                f"This session was opened with an API key of the {session.apikey_environment} environment; "
                f"this server runs the {self.settings.environment} environment."
            )

    def _request_apikey(self, conn: Conn, creds: Credentials) -> int | None:
        if not creds.apikey:
            return None
        return self.check_apikey(conn, creds.apikey, creds.apikey_in_body)


def too_many_failures(wait: int) -> TooManyRequests:
    return TooManyRequests(f"Too many failed logins; try again in {wait} seconds.", wait)


SESSION_EXPIRED = "Your session has expired: log in again at /api/v1/sessions/login."
MISSING_APIKEY = (
    "Missing API key: pass it as the apikey query parameter (?apikey=...), "
    "or log in at /api/v1/sessions/login with one."
)
