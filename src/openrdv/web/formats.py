"""Format negotiation: `.json`/`.xml` suffix, else `format=`, else `Accept`, else JSON."""

from __future__ import annotations

from typing import Literal

from openrdv.errors import NotAcceptable

Format = Literal["json", "xml"]
FORMATS: dict[str, Format] = {"json": "json", "xml": "xml"}
MEDIA_TYPES: dict[Format, str] = {
    "json": "application/json; charset=utf-8",
    "xml": "application/xml; charset=utf-8",
}


def split_suffix(segment: str) -> tuple[str, str | None]:
    """'fiches.json' → ('fiches', 'json'); '12' → ('12', None)."""
    base, dot, suffix = segment.rpartition(".")
    if not dot or not base:
        return segment, None
    return base, suffix.lower()


def negotiate(suffix: str | None, format_param: object, accept: str) -> Format:
    if suffix is not None:
        found = FORMATS.get(suffix)
        if found is None:
            raise NotAcceptable(f"Unknown format '.{suffix}': use .json or .xml.")
        return found
    if isinstance(format_param, str) and format_param.strip():
        found = FORMATS.get(format_param.strip().lower())
        if found is None:
            raise NotAcceptable(f"Unknown format '{format_param}': use format=json or format=xml.")
        return found
    accept = accept.lower()
    if not accept.strip():
        return "json"
    media = [part.split(";")[0].strip() for part in accept.split(",")]
    for item in media:
        if item in ("application/json", "text/json", "application/*+json") or item.endswith("+json"):
            return "json"
        if item in ("application/xml", "text/xml") or item.endswith("+xml"):
            return "xml"
    for item in media:
        if item in ("*/*", "application/*", "text/*", ""):
            return "json"
    raise NotAcceptable("None of the media types in Accept is offered: use application/json or application/xml.")
