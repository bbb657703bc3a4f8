"""The OpenAPI 3.1 document, generated from the same declarations that serve the API."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson

from openrdv import __version__
from openrdv.model.declaration import READ_VERBS, Field, Kind, Profile, Resource
from openrdv.registry import RESOURCES

_TYPES: dict[Kind, dict[str, Any]] = {
    Kind.INT: {"type": ["integer", "null"]},
    Kind.REF: {"type": ["integer", "null"]},
    Kind.STR: {"type": "string"},
    Kind.TEXT: {"type": "string"},
    Kind.JSON: {"type": "string", "description": "a JSON document as text"},
    Kind.BOOL: {"type": "boolean"},
    # not "format: date-time" (RFC 3339 wants a "T" and an offset): the wire's JSON datetimes are wall
    # clock in the group's zone, as ClicRDV writes them (XML has the offset)
    Kind.DATETIME: {
        "type": ["string", "null"],
        "pattern": r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$",
        "description": "YYYY-MM-DD HH:MM:SS in the group's time zone",
    },
    Kind.FLOAT: {"type": ["number", "null"]},
    Kind.IDS: {"type": "array", "items": {"type": "integer"}},
}


def _field_schema(field: Field, writing: bool) -> dict[str, Any]:
    schema = dict(_TYPES[field.kind])
    if field.kind is Kind.REF and field.zero_when_null:
        schema["type"] = "integer"
    if field.max_length and field.kind is Kind.STR:
        schema["maxLength"] = field.max_length
    if field.choices:
        schema["enum"] = list(field.choices)
    if field.min_value is not None:
        schema["minimum"] = field.min_value
    if field.max_value is not None:
        schema["maximum"] = field.max_value
    if field.doc:
        schema["description"] = field.doc
    if writing and field.kind is Kind.BOOL:
        schema = {"type": ["boolean", "integer", "string"], "description": field.doc or "true/false/1/0"}
    if writing and field.kind in (Kind.INT, Kind.REF):
        schema["type"] = ["integer", "string", "null"]
    return schema


def _record_schema(resource: Resource) -> dict[str, Any]:
    """Every field a pro may read; required: those every profile that may read the resource gets
    (an account or an API key alone reads fewer fields of the same records)."""
    fields = resource.readable("pro")
    readers: list[Profile] = [
        p for p in ("pro", "account") if resource.verbs(p) & READ_VERBS or (p == "account" and resource.anonymous_read)
    ]
    always = set.intersection(*({f.name for f in resource.readable(p)} for p in readers)) if readers else set()
    return {
        "type": "object",
        "properties": {f.name: _field_schema(f, False) for f in fields},
        "required": [f.name for f in fields if f.name in always],
    }


def _input_schema(resource: Resource) -> dict[str, Any]:
    fields = resource.writable("pro")
    return {
        "type": "object",
        "properties": {name: _field_schema(f, True) for name, f in fields.items()},
        "additionalProperties": True,
    }


COLLECTION_PARAMS: list[dict[str, Any]] = [
    {
        "name": "results",
        "in": "query",
        "schema": {"type": ["integer", "string"]},
        "description": "page size (default 25) or 'all' (streamed)",
    },
    {
        "name": "startIndex",
        "in": "query",
        "schema": {"type": "integer", "minimum": 0},
        "description": "offset of the first record",
    },
    {"name": "sort", "in": "query", "schema": {"type": "string"}},
    {"name": "dir", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc", "ASC", "DESC"]}},
    {"name": "search", "in": "query", "schema": {"type": "string", "maxLength": 200}},
]
COMMON_PARAMS: list[dict[str, Any]] = [
    {"name": "apikey", "in": "query", "schema": {"type": "string"}, "description": "the application's API key"},
    {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "xml"]}},
]
ERRORS = {
    str(code): {
        "description": text,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for code, text in [
        (400, "bad parameter"),
        (401, "no or bad credentials"),
        (403, "profile not allowed"),
        (404, "unknown or not visible"),
        (405, "verb not offered"),
        (406, "unknown format"),
        (409, "Idempotency-Key reused with another request"),
        (413, "body larger than 1 MiB"),
        (415, "body type not understood"),
        (429, "too many requests or failed logins (Retry-After)"),
        (503, "busy, or a statement ran past its time limit"),
    ]
}


def build_document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "properties": {
                "error": {"type": "string"},
                "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
                "code": {"type": "integer"},
                "name": {"type": "string"},
            },
            "required": ["error"],
        }
    }
    for resource in RESOURCES.values():
        title = resource.singular.capitalize()
        schemas[title] = _record_schema(resource)
        schemas[f"{title}Input"] = _input_schema(resource)
        ref = {"$ref": f"#/components/schemas/{title}"}
        collection_schema = {
            "type": "object",
            "properties": {
                "records": {"type": "array", "items": ref},
                "totalRecords": {"type": "integer"},
                "startIndex": {"type": "integer"},
                "recordsReturned": {"type": "integer"},
                "pageSize": {"type": "integer"},
                "sort": {"type": ["string", "null"]},
                "dir": {"type": ["string", "null"]},
            },
        }
        filters = [
            {
                "name": f.name + ("[]" if f.many else ""),
                "in": "query",
                "schema": {"type": "array", "items": {"type": "integer"}} if f.many else {"type": "string"},
                "description": f.doc,
            }
            for f in resource.filters
        ]
        verbs = resource.pro_verbs | resource.account_verbs
        body = {
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {
                                "type": "object",
                                "properties": {resource.singular: {"$ref": f"#/components/schemas/{title}Input"}},
                            },
                            {"$ref": f"#/components/schemas/{title}Input"},
                        ]
                    }
                }
            }
        }
        nested = resource.tenancy not in ("groups", "self")
        prefixes = ["/api/v1/groups/{group_id}", "/api/v1"] if nested else ["/api/v1"]
        for prefix in prefixes:
            group_param = (
                [{"name": "group_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
                if "{group_id}" in prefix
                else []
            )
            coll: dict[str, Any] = {}
            if "list" in verbs:
                coll["get"] = {
                    "summary": f"List {resource.name}",
                    "tags": [resource.name],
                    "parameters": group_param + COMMON_PARAMS + COLLECTION_PARAMS + filters,
                    "responses": {
                        "200": {
                            "description": "a page",
                            "content": {"application/json": {"schema": collection_schema}},
                        },
                        **ERRORS,
                    },
                }
            if "create" in verbs:
                coll["post"] = {
                    "summary": f"Create a {resource.singular}",
                    "tags": [resource.name],
                    "parameters": group_param + COMMON_PARAMS,
                    "requestBody": body,
                    "responses": {
                        "201": {"description": "created", "content": {"application/json": {"schema": ref}}},
                        **ERRORS,
                    },
                }
            if coll:
                paths[f"{prefix}/{resource.name}"] = coll
            member: dict[str, Any] = {}
            id_param = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
            ok = {"200": {"description": "the record", "content": {"application/json": {"schema": ref}}}, **ERRORS}
            if "get" in verbs:
                member["get"] = {
                    "summary": f"Read a {resource.singular}",
                    "tags": [resource.name],
                    "parameters": group_param + id_param + COMMON_PARAMS,
                    "responses": ok,
                }
            if "update" in verbs:
                member["put"] = {
                    "summary": f"Update a {resource.singular}",
                    "tags": [resource.name],
                    "parameters": group_param + id_param + COMMON_PARAMS,
                    "requestBody": body,
                    "responses": ok,
                }
            if "delete" in verbs:
                member["delete"] = {
                    "summary": f"Delete a {resource.singular}"
                    + (" (soft: sets deleted)" if resource.soft_delete else ""),
                    "tags": [resource.name],
                    "parameters": group_param + id_param + COMMON_PARAMS,
                    "responses": ok,
                }
            if member:
                paths[f"{prefix}/{resource.name}/{{id}}"] = member
    slot_params = [
        {
            "name": "intervention_ids[]",
            "in": "query",
            "required": True,
            "schema": {"type": "array", "items": {"type": "integer"}},
            "description": "the services to book",
        },
        {"name": "calendar_id", "in": "query", "schema": {"type": "integer"}},
        {"name": "calendar_ids[]", "in": "query", "schema": {"type": "array", "items": {"type": "integer"}}},
        {"name": "calendarset_ids[]", "in": "query", "schema": {"type": "array", "items": {"type": "integer"}}},
        {"name": "start", "in": "query", "schema": {"type": "string"}, "description": "default: now"},
        {"name": "end", "in": "query", "schema": {"type": "string"}, "description": "at most 31 days after start"},
        {"name": "nDays", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 31}},
        {"name": "cal_qty", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {"name": "min_capacity", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    ]
    slots_schema = {
        "type": "object",
        "properties": {
            "group_id": {"type": "integer"},
            "firstSlot": {"type": ["string", "null"]},
            "intervention_ids": {"type": "array", "items": {"type": "integer"}},
            "calendar_id": {"type": ["integer", "null"]},
            "calendar_ids": {"type": "array", "items": {"type": "integer"}},
            "availabletimeslots": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "start": {"type": "string"},
                        "capacity": {"type": "integer"},
                        "calendar_ids": {"type": "array", "items": {"type": "integer"}},
                    },
                },
            },
        },
    }
    slots_responses = {
        "200": {"description": "the slots", "content": {"application/json": {"schema": slots_schema}}},
        **ERRORS,
    }
    paths["/api/v1/groups/{group_id}/availabletimeslots"] = {
        "get": {
            "summary": "Free appointment starts (Booking API)",
            "tags": ["availabletimeslots"],
            "parameters": [
                {"name": "group_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                *COMMON_PARAMS,
                *slot_params,
            ],
            "responses": slots_responses,
        }
    }
    paths["/api/v1/availabletimeslots"] = {
        "get": {
            "summary": "Free appointment starts of `group_id`, else of the caller's main group",
            "tags": ["availabletimeslots"],
            "parameters": [
                {"name": "group_id", "in": "query", "schema": {"type": "integer"}},
                *COMMON_PARAMS,
                *slot_params,
            ],
            "responses": slots_responses,
        }
    }
    paths["/api/v1/sessions/login"] = {
        "post": {
            "summary": "Log in (pro[email]/pro[password] or account[email]/account[password])",
            "tags": ["sessions"],
            "parameters": COMMON_PARAMS,
            "responses": {
                **ERRORS,
                "200": {"description": "logged in; Set-Cookie _session_id"},
                "401": {"description": "Invalid email or password"},
            },
        }
    }
    paths["/api/v1/sessions/logout"] = {
        m: {
            "summary": "Log out",
            "tags": ["sessions"],
            "responses": {**ERRORS, "200": {"description": "logged out"}},
        }
        for m in ("get", "post", "delete")
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "openrdv (ClicRDV REST API v1)", "version": __version__},
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apikey": {"type": "apiKey", "in": "query", "name": "apikey"},
                "basic": {"type": "http", "scheme": "basic"},
                "session": {"type": "apiKey", "in": "cookie", "name": "_session_id"},
            },
        },
        "security": [{"apikey": [], "basic": []}, {"apikey": [], "session": []}, {"session": []}],
        "paths": paths,
    }


@lru_cache(maxsize=1)
def openapi_bytes() -> bytes:
    return orjson.dumps(build_document())
