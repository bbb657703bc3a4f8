"""What a request proves about its caller, and the cookie sessions of sessions/login and sessions/logout.

The wire side of authentication only: the API key, Basic credentials and the `_session_id` cookie are
read here into `Credentials`; deciding who they name is openrdv.auth's work."""

from __future__ import annotations

import secrets
import time
from typing import Any

from openrdv.auth.principal import Authenticator, Credentials, UserKind, parse_basic
from openrdv.auth.sessions import COOKIE_NAME, close_session, open_session, purge_expired
from openrdv.crud.reading import get_record_unscoped
from openrdv.db.engine import Conn, Database
from openrdv.errors import ApiError, invalid
from openrdv.model.context import CallContext, Principal
from openrdv.registry import RESOURCES
from openrdv.settings import Settings
from openrdv.web import idempotency
from openrdv.web.formats import MEDIA_TYPES, Format
from openrdv.web.http import ApiRequest, ApiResponse
from openrdv.web.render import render_document

LOGIN_FAILED = "Invalid email or password"
USER_KINDS: tuple[UserKind, ...] = ("pro", "account")  # the login object tried first wins
PURGE_ONE_LOGIN_IN = 100


# -- credentials --------------------------------------------------------------------------------------
def read_cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value.strip().strip('"') or None
    return None


def credentials_of(request: ApiRequest, params: dict[str, Any], body: dict[str, Any]) -> Credentials:
    """Everything the request carries that may identify its caller; the query's API key wins over
    the body's (which strict servers refuse)."""
    creds = Credentials(address=request.client)
    key = params.get("apikey")
    if isinstance(key, str) and key:
        creds.apikey = key
    else:
        body_key = body.get("apikey")
        if isinstance(body_key, str) and body_key:
            creds.apikey, creds.apikey_in_body = body_key, True
    authorization = request.headers.get("authorization")
    if authorization:
        basic = parse_basic(authorization)
        if basic is None:
            creds.basic_malformed = authorization.strip().lower().startswith("basic")
        else:
            creds.basic = basic
    cookie = request.headers.get("cookie")
    if cookie:
        creds.session_token = read_cookie(cookie, COOKIE_NAME)
    return creds


# -- cookies ------------------------------------------------------------------------------------------
def session_cookie(token: str, settings: Settings) -> str:
    cookie = f"{COOKIE_NAME}={token}; path=/; HttpOnly; SameSite=Lax"
    return cookie + "; Secure" if settings.secure_cookies else cookie


def expired_cookie(settings: Settings) -> str:
    return session_cookie("", settings) + "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"


# -- login --------------------------------------------------------------------------------------------
def login_fields(params: dict[str, Any], body: dict[str, Any]) -> tuple[UserKind, str, str]:
    """The profile, e-mail and password of a login: `pro[email]`/`pro[password]` (or `account[...]`),
    from the body or the query string, as ClicRDV's clients send them."""
    found = _login_object(params, body)
    if found is None:
        raise invalid("pro", "is missing: send pro[email] and pro[password] (or account[email] and account[password])")
    kind, given = found
    email = given.get("email")
    password = given.get("password")
    if not isinstance(email, str) or not email.strip():
        raise invalid(f"{kind}[email]", "can't be blank")
    if not isinstance(password, str) or not password:
        raise invalid(f"{kind}[password]", "can't be blank")
    return kind, email.strip(), password


def _login_object(params: dict[str, Any], body: dict[str, Any]) -> tuple[UserKind, dict[str, Any]] | None:
    for kind in USER_KINDS:
        for source in (body, params):
            value = source.get(kind)
            if isinstance(value, dict):
                return kind, value
    return None


class Sessions:
    """sessions/login opens a server-side session and sets its cookie; sessions/logout closes it."""

    def __init__(self, settings: Settings, db: Database, auth: Authenticator) -> None:
        self.settings = settings
        self.db = db
        self.auth = auth

    def login(self, request: ApiRequest, params: dict[str, Any], body: dict[str, Any], fmt: Format) -> ApiResponse:
        kind, email, password = login_fields(params, body)
        now = int(time.time())
        with self.db.connect() as conn:
            # the API key still identifies the application; the user is the one of the form, not of
            # Basic credentials or of a session cookie the client happens to send along
            creds = credentials_of(request, params, body)
            creds.basic = None
            creds.session_token = None
            caller = self.auth.identify(conn, creds, now)
            assert caller.apikey_id is not None
            user_id = self.auth.check_password(conn, kind, email, password, request.client, now)
            if user_id is None:
                raise ApiError(LOGIN_FAILED, extra={kind: None}).with_status(401)
            token = open_session(conn, kind, user_id, caller.apikey_id, now)
            if secrets.randbelow(PURGE_ONE_LOGIN_IN) == 0:
                # expired sessions and old idempotency records are otherwise only removed when used
                purge_expired(conn, now, self.settings.session_idle, self.settings.session_max)
                idempotency.purge(conn, now)
            principal = self.auth.load_principal(conn, kind, user_id, caller.apikey_id, None)
            assert principal is not None
            profile = self.profile_record(conn, principal, fmt == "xml")
        payload = {kind: profile, "error": None}
        return ApiResponse(
            200,
            render_document(payload, fmt),
            MEDIA_TYPES[fmt],
            headers=[("Set-Cookie", session_cookie(token, self.settings)), ("Cache-Control", "no-store")],
        )

    def profile_record(self, conn: Conn, principal: Principal, xml: bool) -> dict[str, Any]:
        """The logged-in user as the login response shows it: its record, as the user itself would
        read it, plus `group_id` (main group) and `group_ids`."""
        resource = RESOURCES["pros"] if principal.kind == "pro" else RESOURCES.get("accounts")
        if resource is None:
            return {"id": principal.user_id, "email": principal.email, "group_id": principal.main_group_id}
        ctx = CallContext.of_caller(conn, self.settings, self.db, principal, principal.apikey_id, {})
        # unscoped: the user's own row, whatever the tenant scope of its resource would let it list
        record = get_record_unscoped(resource, ctx, principal.user_id, xml)
        record["group_id"] = principal.main_group_id
        record["group_ids"] = list(principal.group_ids)
        return record

    def logout(self, request: ApiRequest, fmt: Format) -> ApiResponse:
        token = read_cookie(request.headers.get("cookie", ""), COOKIE_NAME)
        if token:
            with self.db.connect() as conn:
                close_session(conn, token)
        return ApiResponse(
            200,
            render_document({"error": None}, fmt),
            MEDIA_TYPES[fmt],
            headers=[("Set-Cookie", expired_cookie(self.settings)), ("Cache-Control", "no-store")],
        )


__all__ = [
    "LOGIN_FAILED",
    "Sessions",
    "credentials_of",
    "expired_cookie",
    "login_fields",
    "read_cookie",
    "session_cookie",
]
