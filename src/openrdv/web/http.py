"""The API's request and response as plain values, and the reading of a request body.

They are what the ASGI layer (app.py) hands to the thread pool and gets back: no framework object
crosses into the synchronous code, so `Api.handle` can also be called directly (tests, benchmarks)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from openrdv.errors import BadRequest, UnsupportedMediaType
from openrdv.web.brackets import BracketError, parse_form
from openrdv.web.formats import MEDIA_TYPES
from openrdv.web.xml import XmlBodyError, parse_xml_body

MAX_BODY = 1024 * 1024  # app.py refuses larger bodies (413) before they are read into memory


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


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"The request body is not valid JSON ({exc.msg} at position {exc.pos}).") from None
    if not isinstance(parsed, dict):
        raise BadRequest("The request body must be a JSON object.")
    return parsed


__all__ = ["MAX_BODY", "ApiRequest", "ApiResponse", "parse_body"]
