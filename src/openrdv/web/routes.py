"""The URL space of /api/v1/: a path → what it addresses, and an HTTP method → the verb it asks for.

Routes come from the declared resources (openrdv.registry), so a new resource needs no routing code:
`<resource>[/<id>]` and, for resources kept per group, `groups/<group>/<resource>[/<id>]` too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from openrdv.errors import MethodNotAllowed, NotFound
from openrdv.model.declaration import Resource, Verb
from openrdv.registry import RESOURCES
from openrdv.web.formats import split_suffix

RouteKind = Literal["login", "logout", "openapi", "availability", "collection", "member"]


@dataclass
class Route:
    kind: RouteKind
    resource: Resource | None = None  # the collection or member routes only
    group_id: int | None = None  # the group of a nested URL (`groups/<group>/...`)
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


def verb_for(resource: Resource, kind: str, method: str) -> Verb:
    """The verb a method asks of a collection or member route; 405 naming the methods of the verbs
    the resource offers to any profile (which profile may use them is decided after authentication)."""
    verb = METHOD_VERBS.get((kind, method))
    offered = resource.pro_verbs | resource.account_verbs
    if verb is None or verb not in offered:
        allowed = [m for v, m in VERB_METHODS[kind].items() if v in offered]
        raise MethodNotAllowed(method, allowed)
    return verb


def parse_id(segment: str) -> int:
    """A record id of the URL; anything else (or beyond 64-bit integers) addresses nothing."""
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
        return Route("login" if segments[1] == "login" else "logout"), suffix
    if head == "openapi" and count == 1:
        return Route("openapi"), suffix
    if head == "groups":
        return _group_route(segments), suffix
    if head == "availabletimeslots" and count == 1:
        return Route("availability"), suffix
    resource = RESOURCES.get(head)
    if resource is None or count > 2:
        raise NotFound()
    if count == 1:
        return Route("collection", resource), suffix
    return Route("member", resource, record_id=parse_id(segments[1])), suffix


def _group_route(segments: list[str]) -> Route:
    """`groups[/<group>[/<resource>[/<id>]]]`: the groups themselves, or a resource kept per group
    addressed inside one of them (the tenant guard later checks the caller belongs to it)."""
    groups = RESOURCES["groups"]
    count = len(segments)
    if count == 1:
        return Route("collection", groups)
    group_id = parse_id(segments[1])
    if count == 2:
        return Route("member", groups, record_id=group_id)
    if segments[2] == "availabletimeslots" and count == 3:
        return Route("availability", group_id=group_id, nested=True)
    resource = RESOURCES.get(segments[2])
    if resource is None or resource.tenancy in ("groups", "self") or count > 4:
        raise NotFound()
    if count == 3:
        return Route("collection", resource, group_id=group_id, nested=True)
    return Route("member", resource, group_id=group_id, record_id=parse_id(segments[3]), nested=True)


__all__ = ["METHOD_VERBS", "VERB_METHODS", "Route", "RouteKind", "parse_id", "resolve", "verb_for"]
