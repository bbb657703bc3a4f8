"""One API request, start to finish, as plain synchronous code run on a database thread:
route → format → parameters and body → authentication → tenant guard → handler → rendering."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from openrdv import registry
from openrdv.auth.principal import SESSION_EXPIRED, Authenticator, Caller, Credentials, parse_basic
from openrdv.auth.sessions import COOKIE_NAME, close_session, open_session, purge_expired
from openrdv.booking.availability import available_time_slots
from openrdv.crud import handlers
from openrdv.crud.records import shape_for
from openrdv.crud.tenancy import guard_group, target_group
from openrdv.db.engine import Conn, Database, DatabaseBusy
from openrdv.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    ServiceBusy,
    Unauthorized,
    UnsupportedMediaType,
    invalid,
)
from openrdv.model.coerce import scalar_param, to_optional_id
from openrdv.model.context import CallContext, Principal
from openrdv.model.declaration import Profile, Resource, Verb
from openrdv.registry import RESOURCES
from openrdv.settings import Settings
from openrdv.web import idempotency
from openrdv.web.brackets import BracketError, parse_form, parse_query
from openrdv.web.formats import MEDIA_TYPES, Format, negotiate, split_suffix
from openrdv.web.render import render_collection, render_document, render_record, stream_collection
from openrdv.web.xml import XmlBodyError, parse_xml_body

log = logging.getLogger("openrdv.api")

MAX_BODY = 1024 * 1024
LOGIN_FAILED = "Invalid email or password"


@dataclass
class ApiRequest:
    method: str
    path: str  # after /api/v1/
    query_string: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    client: str = ""
    request_id: str = ""


@dataclass
class ApiResponse:
    status: int
    body: bytes = b""
    media_type: str = MEDIA_TYPES["json"]
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: Iterator[bytes] | None = None


@dataclass
class Route:
    kind: str  # "login", "logout", "openapi", "collection", "member"
    resource: Resource | None = None
    group_id: int | None = None
    record_id: int | None = None
    nested: bool = False


METHOD_VERBS: dict[tuple[str, str], Verb] = {
    ("collection", "GET"): "list",
    ("collection", "POST"): "create",
    ("member", "GET"): "get",
    ("member", "PUT"): "update",
    ("member", "DELETE"): "delete",
}
VERB_METHODS: dict[str, dict[Verb, str]] = {
    "collection": {"list": "GET", "create": "POST"},
    "member": {"get": "GET", "update": "PUT", "delete": "DELETE"},
}


def _id(segment: str) -> int:
    if not segment.isdigit() or len(segment) > 18:
        raise NotFound()
    return int(segment)


def resolve(path: str) -> tuple[Route, str | None]:
    """Path after /api/v1/ → route and format suffix. A trailing slash is ignored."""
    segments = [s for s in path.split("/") if s]
    if not segments:
        raise NotFound("Not found: see /api/v1/openapi.json for the routes.")
    segments[-1], suffix = split_suffix(segments[-1])
    head = segments[0]
    count = len(segments)
    if head == "sessions" and count == 2 and segments[1] in ("login", "logout"):
        return Route(segments[1]), suffix
    if head == "openapi" and count == 1:
        return Route("openapi"), suffix
    if head == "groups":
        groups = RESOURCES["groups"]
        if count == 1:
            return Route("collection", groups), suffix
        group_id = _id(segments[1])
        if count == 2:
            return Route("member", groups, record_id=group_id), suffix
        if segments[2] == "availabletimeslots" and count == 3:
            return Route("availability", group_id=group_id, nested=True), suffix
        resource = RESOURCES.get(segments[2])
        if resource is None or resource.tenancy in ("groups", "self") or count > 4:
            raise NotFound()
        if count == 3:
            return Route("collection", resource, group_id=group_id, nested=True), suffix
        return Route("member", resource, group_id=group_id, record_id=_id(segments[3]), nested=True), suffix
    if head == "availabletimeslots" and count == 1:
        return Route("availability"), suffix
    resource = RESOURCES.get(head)
    if resource is None or count > 2:
        raise NotFound()
    if count == 1:
        return Route("collection", resource), suffix
    return Route("member", resource, record_id=_id(segments[1])), suffix


def parse_body(request: ApiRequest) -> dict[str, Any]:
    data = request.body
    if not data or not data.strip():
        return {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not content_type:
        stripped = data.lstrip()
        content_type = (
            "application/json"
            if stripped[:1] in (b"{", b"[")
            else "application/xml"
            if stripped[:1] == b"<"
            else "application/x-www-form-urlencoded"
        )
    if content_type in ("application/json", "text/json") or content_type.endswith("+json"):
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"The request body is not valid JSON ({exc.msg} at position {exc.pos}).") from None
        if not isinstance(parsed, dict):
            raise BadRequest("The request body must be a JSON object.")
        return parsed
    if content_type == "application/x-www-form-urlencoded":
        try:
            return parse_form(data.decode("utf-8"))
        except (UnicodeDecodeError, BracketError) as exc:
            raise BadRequest(f"The form body cannot be read: {exc}.") from None
    if content_type in ("application/xml", "text/xml") or content_type.endswith("+xml"):
        try:
            return parse_xml_body(data)
        except XmlBodyError as exc:
            raise BadRequest(f"The request body is not valid XML: {exc}.") from None
    raise UnsupportedMediaType(
        f"Content-Type {content_type} is not understood: send application/json, "
        "application/x-www-form-urlencoded or application/xml."
    )


def read_cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value.strip().strip('"') or None
    return None


def credentials_of(request: ApiRequest, params: dict[str, Any], body: dict[str, Any]) -> Credentials:
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


def session_cookie(token: str, settings: Settings) -> str:
    cookie = f"{COOKIE_NAME}={token}; path=/; HttpOnly; SameSite=Lax"
    return cookie + "; Secure" if settings.secure_cookies else cookie


def expired_cookie(settings: Settings) -> str:
    return session_cookie("", settings) + "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"


class Api:
    """The API as a synchronous function of a request; app.py runs it on a small thread pool."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.auth = Authenticator(settings)
        self.openapi_document: Callable[[], bytes] | None = None

    # -- entry point ------------------------------------------------------------------------------------
    def handle(self, request: ApiRequest) -> ApiResponse:
        fmt: Format = "json"
        try:
            route, suffix = resolve(request.path)
            try:
                params = parse_query(request.query_string)
            except BracketError as exc:
                raise BadRequest(f"The query string cannot be read: {exc}.") from None
            fmt = negotiate(suffix, params.get("format"), request.headers.get("accept", ""))
            method = request.method.upper()
            if method == "HEAD":
                method = "GET"
            body = parse_body(request) if method in ("POST", "PUT", "DELETE", "PATCH") else {}
            override = params.get("_method") or body.get("_method") or request.headers.get("x-http-method-override")
            if method == "POST" and isinstance(override, str) and override.upper() in ("PUT", "DELETE"):
                method = override.upper()
            return self.dispatch(request, route, method, params, body, fmt)
        except ApiError as exc:
            return self.error_response(exc, fmt, request)
        except DatabaseBusy:
            return self.error_response(ServiceBusy(), fmt, request)
        except Exception:
            log.exception("request %s failed", request.request_id)
            return self.error_response(
                ApiError(f"Internal server error (request id {request.request_id})."), fmt, request, status=500
            )

    def error_response(self, exc: ApiError, fmt: Format, request: ApiRequest, status: int | None = None) -> ApiResponse:
        return ApiResponse(
            status=status or exc.status,
            body=render_document(exc.body(), fmt),
            media_type=MEDIA_TYPES[fmt],
            headers=list(exc.headers.items()),
        )

    # -- routing ----------------------------------------------------------------------------------------
    def dispatch(
        self, request: ApiRequest, route: Route, method: str, params: dict[str, Any], body: dict[str, Any], fmt: Format
    ) -> ApiResponse:
        if route.kind == "openapi":
            if method != "GET":
                raise MethodNotAllowed(method, ["GET"])
            assert self.openapi_document is not None
            return ApiResponse(200, self.openapi_document(), MEDIA_TYPES["json"])
        if route.kind == "logout":
            if method not in ("GET", "POST", "DELETE"):
                raise MethodNotAllowed(method, ["GET", "POST", "DELETE"])
            return self.logout(request, fmt)
        if route.kind == "login":
            if method != "POST":
                raise MethodNotAllowed(method, ["POST"])
            return self.login(request, params, body, fmt)
        if route.kind == "availability":
            if method != "GET":
                raise MethodNotAllowed(method, ["GET"])
            return self.availability(request, route, params, fmt)
        resource = route.resource
        assert resource is not None
        verb = METHOD_VERBS.get((route.kind, method))
        offered = resource.pro_verbs | resource.account_verbs
        if verb is None or verb not in offered:
            allowed = [m for v, m in VERB_METHODS[route.kind].items() if v in offered]
            raise MethodNotAllowed(method, allowed)
        with self.db.connect() as conn:
            caller = self.auth.identify(conn, credentials_of(request, params, body), int(time.time()))
            principal = caller.principal
            anonymous_ok = (resource.anonymous_read and verb in ("list", "get")) or (
                resource.anonymous_create and verb == "create"
            )
            if principal is None and not anonymous_ok:
                if caller.session_expired:
                    raise Unauthorized(SESSION_EXPIRED)
                raise Unauthorized(
                    "Authentication required: send HTTP Basic credentials (email:password) "
                    "or log in at /api/v1/sessions/login."
                )
            profile: Profile = "pro" if principal is not None and principal.kind == "pro" else "account"
            if verb not in resource.verbs(profile):
                raise Forbidden(f"Your profile ({profile}) may not {verb} {resource.name}.")
            if (
                not route.nested
                and route.kind == "collection"
                and principal is None
                and resource.tenancy not in ("groups", "self")
            ):
                raise Unauthorized("Authentication required for this collection outside a group URL.")
            ctx = self.context(conn, caller, params, request)
            if route.group_id is not None:
                ctx = ctx.in_group(route.group_id, guard_group(conn, principal, route.group_id))
            key = request.headers.get("idempotency-key")
            if verb == "create" and key is not None:
                return self.idempotent_create(request, key, resource, route, ctx, body, fmt)
            return self.run_verb(resource, verb, route, ctx, body, fmt)

    def context(self, conn: Conn, caller: Caller, params: dict[str, Any], request: ApiRequest) -> CallContext:
        return CallContext.of_caller(
            conn, self.settings, self.db, caller.principal, caller.apikey_id, params, request.request_id
        )

    def idempotent_create(
        self,
        request: ApiRequest,
        key: str,
        resource: Resource,
        route: Route,
        ctx: CallContext,
        body: dict[str, Any],
        fmt: Format,
    ) -> ApiResponse:
        """A POST with an Idempotency-Key: the key is claimed, the record made and the response kept
        in one transaction, so a retry replays the first answer and never creates twice."""
        if not key.strip() or len(key) > 255:
            raise invalid("Idempotency-Key", "must be 1 to 255 characters")
        principal = ctx.principal
        scope = (
            f"{ctx.apikey_id}:{principal.kind if principal else 'anonymous'}:{principal.user_id if principal else 0}"
        )
        fingerprint = idempotency.fingerprint(request.method, request.path, request.body)
        with ctx.conn.transaction():
            stored = idempotency.claim(ctx.conn, scope, key, fingerprint, ctx.now)
            if stored is not None:
                return ApiResponse(
                    stored.status, stored.body, stored.media_type, headers=[("Idempotent-Replayed", "true")]
                )
            response = self.run_verb(resource, "create", route, ctx, body, fmt)
            idempotency.store(ctx.conn, scope, key, response.status, response.media_type, response.body)
            return response

    def availability(self, request: ApiRequest, route: Route, params: dict[str, Any], fmt: Format) -> ApiResponse:
        with self.db.connect() as conn:
            caller = self.auth.identify(conn, credentials_of(request, params, {}), int(time.time()))
            principal = caller.principal
            ctx = self.context(conn, caller, params, request)
            if route.group_id is not None:
                ctx = ctx.in_group(route.group_id, guard_group(conn, principal, route.group_id))
            group_id = target_group(ctx, to_optional_id(scalar_param(params, "group_id"), "group_id"))
            ctx = ctx.in_group(group_id, guard_group(conn, principal, group_id))
            result = available_time_slots(ctx, group_id, xml=fmt == "xml")
        return ApiResponse(200, render_document(result, fmt), MEDIA_TYPES[fmt])

    def run_verb(
        self, resource: Resource, verb: Verb, route: Route, ctx: CallContext, body: dict[str, Any], fmt: Format
    ) -> ApiResponse:
        xml = fmt == "xml"
        media = MEDIA_TYPES[fmt]
        if verb == "list":
            page = handlers.list_records(resource, ctx, xml)
            if page.stream is not None:
                return ApiResponse(200, media_type=media, stream=stream_collection(page.stream, page.envelope, fmt))
            assert page.records is not None
            return ApiResponse(200, render_collection(page.records, page.envelope, fmt), media)
        if verb == "create":
            record = registry.create(resource, ctx, body, xml)
            return ApiResponse(201, render_record(record, fmt, resource.singular), media)
        assert route.record_id is not None
        if verb == "get":
            record = handlers.get_record(resource, ctx, route.record_id, xml)
        elif verb == "update":
            record = handlers.update_record(resource, ctx, route.record_id, body, xml)
        else:
            record = handlers.delete_record(resource, ctx, route.record_id, xml)
        return ApiResponse(200, render_record(record, fmt, resource.singular), media)

    # -- sessions ---------------------------------------------------------------------------------------
    def login(self, request: ApiRequest, params: dict[str, Any], body: dict[str, Any], fmt: Format) -> ApiResponse:
        kind: str | None = None
        given: dict[str, Any] = {}
        for candidate in ("pro", "account"):
            for source in (body, params):
                value = source.get(candidate)
                if isinstance(value, dict):
                    kind, given = candidate, value
                    break
            if kind:
                break
        if kind is None:
            raise invalid("pro", "send pro[email] and pro[password] (or account[email] and account[password])")
        email = given.get("email")
        password = given.get("password")
        if not isinstance(email, str) or not email.strip():
            raise invalid(f"{kind}[email]", "can't be blank")
        if not isinstance(password, str) or not password:
            raise invalid(f"{kind}[password]", "can't be blank")
        now = int(time.time())
        with self.db.connect() as conn:
            creds = credentials_of(request, params, body)
            creds.basic = None
            creds.session_token = None
            caller = self.auth.identify(conn, creds, now)
            assert caller.apikey_id is not None
            user_id = self.auth.check_password(conn, kind, email.strip(), password, request.client, now)  # type: ignore[arg-type]
            if user_id is None:
                raise ApiError(LOGIN_FAILED, extra={kind: None}).with_status(401)
            token = open_session(conn, kind, user_id, caller.apikey_id, now)
            if secrets.randbelow(100) == 0:
                # expired sessions and old idempotency records are otherwise only removed when used
                purge_expired(conn, now, self.settings.session_idle, self.settings.session_max)
                idempotency.purge(conn, now)
            principal = self.auth.load_principal(conn, kind, user_id, caller.apikey_id, None)  # type: ignore[arg-type]
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
        """The logged-in user as the login response shows it: its record plus `group_id` (main
        group) and `group_ids`."""
        resource = RESOURCES["pros"] if principal.kind == "pro" else RESOURCES.get("accounts")
        ctx = CallContext.of_caller(conn, self.settings, self.db, principal, principal.apikey_id, {})
        if resource is None:
            return {"id": principal.user_id, "email": principal.email, "group_id": principal.main_group_id}
        shape = shape_for(resource, "pro" if principal.kind == "pro" else "account")
        row = conn.one(f"SELECT {shape.select_list} FROM {resource.table} t WHERE t.id = ?", (principal.user_id,))
        assert row is not None
        record = handlers.render_rows(ctx, shape, [row], handlers.Formatters(ctx, shape, xml))[0]
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


__all__ = ["Api", "ApiRequest", "ApiResponse", "Caller"]
