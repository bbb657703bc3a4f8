"""One API request, start to finish, as plain synchronous code run on a database thread:
route → format → parameters and body → (per route kind) authentication → tenant guard → handler → rendering."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openrdv import registry
from openrdv.auth.principal import SESSION_EXPIRED, Caller
from openrdv.auth.ratelimit import MeteredAuthenticator
from openrdv.booking.availability import available_time_slots
from openrdv.crud.listing import list_records
from openrdv.crud.reading import get_record
from openrdv.crud.tenancy import guard_group, target_group
from openrdv.crud.writes import delete_record, update_record
from openrdv.db.engine import Conn, Database, DatabaseBusy, StatementTimeout
from openrdv.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    MethodNotAllowed,
    ServiceBusy,
    Unauthorized,
    invalid,
)
from openrdv.model.coerce import scalar_param, to_optional_id
from openrdv.model.context import CallContext
from openrdv.model.declaration import Profile, Resource, Verb
from openrdv.settings import Settings
from openrdv.web import idempotency
from openrdv.web.brackets import BracketError, parse_query
from openrdv.web.formats import MEDIA_TYPES, Format, negotiate
from openrdv.web.http import ApiRequest, ApiResponse, parse_body
from openrdv.web.render import render_collection, render_document, render_record, stream_collection
from openrdv.web.routes import Route, resolve, verb_for
from openrdv.web.sessions import Sessions, credentials_of

log = logging.getLogger("openrdv.api")

AUTHENTICATION_REQUIRED = (
    "Authentication required: send HTTP Basic credentials (email:password) or log in at /api/v1/sessions/login."
)
QUERY_TOO_LONG = (
    "The request took longer than {seconds:g} s in the database and was stopped: narrow it (fewer or longer "
    "search words, conditions, a smaller startIndex) or try again later."
)
BODY_METHODS = ("POST", "PUT", "DELETE", "PATCH")
OVERRIDABLE = ("PUT", "DELETE")  # a POST may stand for these: HTML forms and some clients send no other


@dataclass(frozen=True)
class Call:
    """A request once read: its route, effective method (HEAD as GET, the POST override applied),
    query parameters, body fields and response format."""

    request: ApiRequest
    route: Route
    method: str
    params: dict[str, Any]
    body: dict[str, Any]
    fmt: Format


RouteHandler = Callable[[Call], ApiResponse]


def authorize(resource: Resource, verb: Verb, route: Route, caller: Caller) -> None:
    """May this caller (a user, or an API key alone) use this verb on this resource at this route?
    401 when it must authenticate, 403 when its profile is not allowed the verb."""
    principal = caller.principal
    anonymous_ok = (resource.anonymous_read and verb in ("list", "get")) or (
        resource.anonymous_create and verb == "create"
    )
    if principal is None and not anonymous_ok:
        raise Unauthorized(SESSION_EXPIRED if caller.session_expired else AUTHENTICATION_REQUIRED)
    profile: Profile = "pro" if principal is not None and principal.kind == "pro" else "account"
    if verb not in resource.verbs(profile):
        raise Forbidden(f"Your profile ({profile}) may not {verb} {resource.name}.")
    if (
        not route.nested
        and route.kind == "collection"
        and principal is None
        and resource.tenancy not in ("groups", "self")
    ):
        # an API key alone reads public collections of one group only: there is no "all groups" for it
        raise Unauthorized("Authentication required for this collection outside a group URL.")


class Api:
    """The API as a synchronous function of a request; app.py runs it on a small thread pool."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.auth = MeteredAuthenticator(settings)  # counts each identified request (OPENRDV_RATE_LIMIT)
        self.sessions = Sessions(settings, db, self.auth)
        self.openapi_document: Callable[[], bytes] | None = None  # set at startup: built on first use
        # the route kinds that are not a resource's collection or member: methods offered, handler
        self.fixed_routes: dict[str, tuple[tuple[str, ...], RouteHandler]] = {
            "openapi": (("GET",), self.openapi),
            "logout": (("GET", "POST", "DELETE"), self.logout),
            "login": (("POST",), self.login),
            "availability": (("GET",), self.availability),
        }

    # -- entry point ------------------------------------------------------------------------------------
    def handle(self, request: ApiRequest) -> ApiResponse:
        """The response, with the RateLimit-* headers of the caller's API key once it was identified
        (a 429 included; a request without a valid key has none)."""
        self.auth.begin()
        response = self.answer(request)
        quota = self.auth.quota()
        if quota is not None:
            response.headers = [*response.headers, *quota.headers()]
        return response

    def answer(self, request: ApiRequest) -> ApiResponse:
        fmt: Format = "json"  # errors before negotiation (an unknown route, a bad format) are JSON
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
            body = parse_body(request) if method in BODY_METHODS else {}
            override = params.get("_method") or body.get("_method") or request.headers.get("x-http-method-override")
            if method == "POST" and isinstance(override, str) and override.upper() in OVERRIDABLE:
                method = override.upper()
            return self.dispatch(Call(request, route, method, params, body, fmt))
        except ApiError as exc:
            return self.error_response(exc, fmt, request)
        except StatementTimeout as exc:
            # no traceback: a request may be heavy; the operator sees which one, the client what to do
            log.warning("request %s: %s", request.request_id, exc)
            return self.error_response(ApiError(QUERY_TOO_LONG.format(seconds=exc.seconds)), fmt, request, 503)
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
    def dispatch(self, call: Call) -> ApiResponse:
        """The fixed routes by table (the method checked before anything else), then the resources."""
        fixed = self.fixed_routes.get(call.route.kind)
        if fixed is None:
            return self.resource_call(call)
        methods, handler = fixed
        if call.method not in methods:
            raise MethodNotAllowed(call.method, list(methods))
        return handler(call)

    def resource_call(self, call: Call) -> ApiResponse:
        """A collection or member route: verb → caller → authorization → tenant guard → handler."""
        route = call.route
        resource = route.resource
        assert resource is not None
        verb = verb_for(resource, route.kind, call.method)
        with self.db.connect() as conn:
            caller = self.auth.identify(conn, credentials_of(call.request, call.params, call.body), int(time.time()))
            authorize(resource, verb, route, caller)
            ctx = self.context(conn, caller, call)
            key = call.request.headers.get("idempotency-key")
            if verb == "create" and key is not None:
                return self.idempotent_create(call, key, resource, ctx)
            return self.run_verb(resource, verb, route, ctx, call.body, call.fmt)

    def context(self, conn: Conn, caller: Caller, call: Call) -> CallContext:
        """The call's context; addressed to the group of a nested URL once the caller may see it
        (else 404, the same as a group that does not exist)."""
        ctx = CallContext.of_caller(
            conn, self.settings, self.db, caller.principal, caller.apikey_id, call.params, call.request.request_id
        )
        group_id = call.route.group_id
        if group_id is not None:
            ctx = ctx.in_group(group_id, guard_group(conn, caller.principal, group_id))
        return ctx

    # -- the fixed routes -------------------------------------------------------------------------------
    def openapi(self, call: Call) -> ApiResponse:
        assert self.openapi_document is not None
        return ApiResponse(200, self.openapi_document(), MEDIA_TYPES["json"])

    def login(self, call: Call) -> ApiResponse:
        return self.sessions.login(call.request, call.params, call.body, call.fmt)

    def logout(self, call: Call) -> ApiResponse:
        return self.sessions.logout(call.request, call.fmt)

    def availability(self, call: Call) -> ApiResponse:
        fmt = call.fmt
        with self.db.connect() as conn:
            caller = self.auth.identify(conn, credentials_of(call.request, call.params, {}), int(time.time()))
            ctx = self.context(conn, caller, call)
            group_id = target_group(ctx, to_optional_id(scalar_param(call.params, "group_id"), "group_id"))
            ctx = ctx.in_group(group_id, guard_group(conn, caller.principal, group_id))
            result = available_time_slots(ctx, group_id, xml=fmt == "xml")
        return ApiResponse(200, render_document(result, fmt), MEDIA_TYPES[fmt])

    # -- the verbs --------------------------------------------------------------------------------------
    def idempotent_create(self, call: Call, key: str, resource: Resource, ctx: CallContext) -> ApiResponse:
        """A POST with an Idempotency-Key: the key is claimed, the record made and the response kept
        in one transaction, so a retry replays the first answer and never creates twice."""
        if not key.strip() or len(key) > 255:
            raise invalid("Idempotency-Key", "must be 1 to 255 characters")
        principal = ctx.principal
        scope = (
            f"{ctx.apikey_id}:{principal.kind if principal else 'anonymous'}:{principal.user_id if principal else 0}"
        )
        request = call.request
        fingerprint = idempotency.fingerprint(request.method, request.path, request.body)
        with ctx.conn.transaction():
            stored = idempotency.claim(ctx.conn, scope, key, fingerprint, ctx.now)
            if stored is not None:
                return ApiResponse(
                    stored.status, stored.body, stored.media_type, headers=[("Idempotent-Replayed", "true")]
                )
            response = self.run_verb(resource, "create", call.route, ctx, call.body, call.fmt)
            idempotency.store(ctx.conn, scope, key, response.status, response.media_type, response.body)
            return response

    def run_verb(
        self, resource: Resource, verb: Verb, route: Route, ctx: CallContext, body: dict[str, Any], fmt: Format
    ) -> ApiResponse:
        xml = fmt == "xml"
        media = MEDIA_TYPES[fmt]
        if verb == "list":
            page = list_records(resource, ctx, xml)
            if page.stream is not None:
                return ApiResponse(200, media_type=media, stream=stream_collection(page.stream, page.envelope, fmt))
            assert page.records is not None
            return ApiResponse(200, render_collection(page.records, page.envelope, fmt), media)
        if verb == "create":
            record = registry.create(resource, ctx, body, xml)
            return ApiResponse(201, render_record(record, fmt, resource.singular), media)
        assert route.record_id is not None
        if verb == "get":
            record = get_record(resource, ctx, route.record_id, xml)
        elif verb == "update":
            record = update_record(resource, ctx, route.record_id, body, xml)
        else:
            record = delete_record(resource, ctx, route.record_id, xml)
        return ApiResponse(200, render_record(record, fmt, resource.singular), media)


__all__ = ["Api", "Call", "authorize"]
