"""The API's request and response as plain values, and the reading of a request body.

They are what the ASGI layer (app.py) hands to the thread pool and gets back: no framework object
crosses into the synchronous code, so `Api.handle` can also be called directly (tests, benchmarks)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from openrdv.errors import UnsupportedMediaType, invalid
from openrdv.web.brackets import BracketError, parse_form
from openrdv.web.formats import MEDIA_TYPES
from openrdv.web.xml import MAX_DEPTH, XmlBodyError, parse_xml_body

MAX_BODY = 1024 * 1024  # app.py refuses larger bodies (413) before they are read into memory
MAX_BODY_DEPTH = MAX_DEPTH  # objects and arrays in a JSON body, elements in an XML one (the outermost is 1)


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
    stream: Iterator[bytes] | None = None  # a large collection, encoded chunk by chunk as it is sent


# -- headers every response carries (app.py adds them as a response starts, whoever made it) ---------------
RawHeaders = list[tuple[bytes, bytes]]

NOSNIFF = (b"x-content-type-options", b"nosniff")  # a JSON error echoing input is never sniffed as HTML
NO_STORE = (b"cache-control", b"no-store")
CORS_ALLOW_METHODS = b"GET, HEAD, POST, PUT, DELETE"
CORS_ALLOW_HEADERS = b"Authorization, Content-Type, Idempotency-Key, X-Request-Id, X-HTTP-Method-Override"
CORS_EXPOSE_HEADERS = (
    b"X-Request-Id, Retry-After, Allow, Idempotent-Replayed, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
)
CORS_MAX_AGE = b"600"  # seconds a browser may reuse a preflight's answer


def is_preflight(method: str, headers: dict[str, str], allowed_origins: tuple[str, ...]) -> bool:
    """A browser's CORS preflight from an origin the operator listed: app.py answers it (204)
    without authentication. One from any other origin is an ordinary OPTIONS request."""
    return (
        method == "OPTIONS"
        and "access-control-request-method" in headers
        and _allowed_origin(headers, allowed_origins) is not None
    )


def _allowed_origin(headers: dict[str, str], allowed_origins: tuple[str, ...]) -> str | None:
    origin = headers.get("origin", "").strip()
    return origin if origin and origin.lower() in allowed_origins else None


def cors_headers(headers: dict[str, str], allowed_origins: tuple[str, ...], *, preflight: bool) -> RawHeaders:
    """The CORS headers of a response: none when no origin is configured; `Vary: Origin` alone for a
    request from an origin not listed (the answer differs by Origin, caches must know); for a listed
    origin, that exact origin (never `*`) with credentials allowed, and for a preflight the methods
    and headers the API understands."""
    if not allowed_origins:
        return []
    vary = (b"vary", b"Origin")
    origin = _allowed_origin(headers, allowed_origins)
    if origin is None:
        return [vary]
    answer = [
        vary,
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),
    ]
    if preflight:
        return [
            *answer,
            (b"access-control-allow-methods", CORS_ALLOW_METHODS),
            (b"access-control-allow-headers", CORS_ALLOW_HEADERS),
            (b"access-control-max-age", CORS_MAX_AGE),
        ]
    return [*answer, (b"access-control-expose-headers", CORS_EXPOSE_HEADERS)]


def with_headers(headers: RawHeaders, added: RawHeaders) -> RawHeaders:
    """`headers` with `added` set: a header already there is replaced (one Cache-Control, one
    X-Request-Id), except Vary, whose values are merged."""
    names = {name.lower() for name, _ in added}
    vary = [value for name, value in headers if name.lower() == b"vary"]
    kept = [(name, value) for name, value in headers if name.lower() not in names]
    for name, value in added:
        if name == b"vary" and vary:
            tokens = [token.strip() for token in b",".join(vary).split(b",") if token.strip()]
            if value.lower() not in {token.lower() for token in tokens}:
                tokens.append(value)
            value = b", ".join(tokens)
        kept.append((name, value))
    return kept


def body_media_type(request: ApiRequest) -> str:
    """The declared Content-Type, or a guess from the first byte: old clients often send none."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type:
        return content_type
    first = request.body.lstrip()[:1]
    if first in (b"{", b"["):
        return "application/json"
    if first == b"<":
        return "application/xml"
    return "application/x-www-form-urlencoded"


def parse_body(request: ApiRequest) -> dict[str, Any]:
    """The body as nested fields, whatever its encoding (JSON, bracket form, ClicRDV XML)."""
    data = request.body
    if not data or not data.strip():
        return {}
    content_type = body_media_type(request)
    if content_type in ("application/json", "text/json") or content_type.endswith("+json"):
        return _json_object(data)
    if content_type == "application/x-www-form-urlencoded":
        try:
            return parse_form(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise invalid("body", "is not valid UTF-8") from None
        except BracketError as exc:
            raise invalid("body", f"cannot be read as a form: {exc}") from None
    if content_type in ("application/xml", "text/xml") or content_type.endswith("+xml"):
        try:
            return parse_xml_body(data, MAX_BODY_DEPTH)
        except XmlBodyError as exc:
            raise invalid("body", str(exc)) from None
    raise UnsupportedMediaType(
        f"Content-Type {content_type} is not understood: send application/json, "
        "application/x-www-form-urlencoded or application/xml."
    )


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "depth" in exc.msg:  # beyond orjson's own limit (1,024): the same refusal as below
            raise invalid("body", f"is nested deeper than {MAX_BODY_DEPTH} levels") from None
        raise invalid("body", f"is not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(parsed, dict):
        raise invalid("body", "must be a JSON object")
    if _nested_deeper_than(parsed, MAX_BODY_DEPTH):
        # orjson reads 1,024 levels; what reads the fields afterwards may recurse: refuse it here
        raise invalid("body", f"is nested deeper than {MAX_BODY_DEPTH} levels")
    return parsed


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether objects and arrays nest more than `limit` levels (walked without recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node
        containers = [child for child in children if isinstance(child, (dict, list))]
        if containers and depth == limit:
            return True
        pending.extend((child, depth + 1) for child in containers)
    return False


__all__ = [
    "MAX_BODY",
    "MAX_BODY_DEPTH",
    "NOSNIFF",
    "NO_STORE",
    "ApiRequest",
    "ApiResponse",
    "cors_headers",
    "is_preflight",
    "parse_body",
    "with_headers",
]
