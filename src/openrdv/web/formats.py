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
    return from_accept(accept)


def from_accept(accept: str) -> Format:
    """Accept → format, by q-value then order. A browser-style list that also names */* is ignored
    (as Rails does) and gets the default, JSON."""
    accept = accept.lower().strip()
    if not accept:
        return "json"
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media, *options = [p.strip() for p in part.split(";")]
        quality = 1.0
        for option in options:
            name, _, value = option.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            ranked.append((quality, position, media))
    if len(ranked) > 1 and any(media == "*/*" for _, _, media in ranked):
        return "json"
    for quality, _, media in sorted(ranked, key=lambda r: (-r[0], r[1])):
        if quality <= 0:
            continue
        if media in ("application/json", "text/json") or media.endswith("+json"):
            return "json"
        if media in ("application/xml", "text/xml") or (media.endswith("+xml") and "xhtml" not in media):
            return "xml"
        if media in ("*/*", "application/*", "text/*"):
            return "json"
    raise NotAcceptable("None of the media types in Accept is offered: use application/json or application/xml.")
