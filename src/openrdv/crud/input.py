"""The input of a write: the resource object of the request, its values coerced by field kind with
the declared limits, choices and transforms, the required fields, and the ids it names checked
against the group the row belongs to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openrdv.agenda.zones import Zone
from openrdv.db.sql import quote
from openrdv.errors import ValidationFailed, invalid
from openrdv.model.coerce import (
    to_bool,
    to_datetime,
    to_float,
    to_id_list,
    to_int,
    to_json_text,
    to_optional_id,
    to_str,
)
from openrdv.model.context import CallContext
from openrdv.model.declaration import Field, Kind, Resource

TEXT_MAX = 65535
NON_FIELD_KEYS = frozenset({"apikey", "format", "_method", "pro", "account", "results", "startIndex"})


def extract_object(resource: Resource, body: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    """The resource object of a request: wrapped in its singular name (`{"fiche": {...}}`) or not,
    from the body and/or bracket parameters in the query string."""
    obj: dict[str, Any] = {}
    from_query = query.get(resource.singular)
    if isinstance(from_query, dict):
        obj.update(from_query)
    wrapped = body.get(resource.singular)
    if isinstance(wrapped, dict):
        obj.update(wrapped)
    elif resource.singular in body and wrapped not in (None, ""):
        raise invalid(resource.singular, "must be an object of fields")
    else:
        obj.update({k: v for k, v in body.items() if k not in NON_FIELD_KEYS})
    return obj


# -- one coercer per kind: raw input → the value stored (before choices and transforms) ---------------
Coercer = Callable[[Field, Any, Zone], Any]


def _coerce_int(field: Field, raw: Any, zone: Zone) -> Any:
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        value: Any = field.default  # the declared bounds hold for a default too
    else:
        value = to_int(raw, field.name)
    if value is not None:
        if field.min_value is not None and value < field.min_value:
            raise invalid(field.name, f"must be greater than or equal to {field.min_value}")
        if field.max_value is not None and value > field.max_value:
            raise invalid(field.name, f"must be less than or equal to {field.max_value}")
    return value


def _coerce_ref(field: Field, raw: Any, zone: Zone) -> int | None:
    value = to_optional_id(raw, field.name)
    if value is None and field.zero_when_null:
        return 0
    return value


def _coerce_str(field: Field, raw: Any, zone: Zone) -> str:
    return to_str(raw, field.name, field.max_length or 255)


def _coerce_text(field: Field, raw: Any, zone: Zone) -> str:
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        raw = ",".join(raw)  # a list for a text field (exdates) is its comma-separated form
    return to_str(raw, field.name, TEXT_MAX)


def _coerce_json(field: Field, raw: Any, zone: Zone) -> str:
    return to_json_text(raw, field.name, TEXT_MAX)


def _coerce_bool(field: Field, raw: Any, zone: Zone) -> bool:
    return bool(field.default) if raw is None else to_bool(raw, field.name)


def _coerce_datetime(field: Field, raw: Any, zone: Zone) -> int | None:
    # wall-clock input is read in the row's group zone, within the field's years
    return to_datetime(raw, field.name, zone, field.year_range)


def _coerce_float(field: Field, raw: Any, zone: Zone) -> float | None:
    return None if raw is None or raw == "" else to_float(raw, field.name)


def _coerce_ids(field: Field, raw: Any, zone: Zone) -> list[int]:
    return to_id_list(raw, field.name)


COERCERS: dict[Kind, Coercer] = {
    Kind.INT: _coerce_int,
    Kind.REF: _coerce_ref,
    Kind.STR: _coerce_str,
    Kind.TEXT: _coerce_text,
    Kind.JSON: _coerce_json,
    Kind.BOOL: _coerce_bool,
    Kind.DATETIME: _coerce_datetime,
    Kind.FLOAT: _coerce_float,
    Kind.IDS: _coerce_ids,
}
# a Kind added without its coercer fails at import, not at the first write of such a field
assert COERCERS.keys() == set(Kind), set(Kind) - COERCERS.keys()


def coerce_field(field: Field, raw: Any, zone: Zone) -> Any:
    """A raw input value → the value stored, by the field's kind, choices and transform; datetimes
    read as wall clock in `zone`. ValidationFailed names the field."""
    value = COERCERS[field.kind](field, raw, zone)
    if field.blank_means_default and value in (None, "") and field.default is not None:
        value = field.default  # an empty choice means the default (vevent type "" → "Vevent")
    if field.choices is not None and value is not None and value not in field.choices:
        allowed = ", ".join(str(c) for c in field.choices)
        raise invalid(field.name, f"must be one of {allowed}")
    if field.transform is not None and value not in (None, ""):
        value = field.transform(value)
    return value


def coerce_input(resource: Resource, ctx: CallContext, obj: dict[str, Any], zone: Zone) -> dict[str, Any]:
    writable = resource.writable(ctx.profile)
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, raw in obj.items():
        field = writable.get(key)
        if field is None:
            continue  # unknown and read-only keys are ignored, as real clients send extras
        try:
            values[key] = coerce_field(field, raw, zone)
        except ValidationFailed as exc:
            for name, messages in (exc.errors or {}).items():
                errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationFailed(errors)
    return values


def check_required(resource: Resource, values: dict[str, Any]) -> None:
    errors = {
        f.name: ["can't be blank"]
        for f in resource.fields
        if f.required and (values.get(f.name) is None or values.get(f.name) == "")
    }
    if errors:
        raise ValidationFailed(errors)


def check_references(resource: Resource, ctx: CallContext, values: dict[str, Any], group_id: int | None) -> None:
    """Ids written into a body must name rows of the same group (never another tenant's)."""
    for field in resource.fields:
        if field.name not in values:
            continue
        value = values[field.name]
        if field.kind is Kind.REF and field.ref_table and value:
            if field.ref_table == "groups":
                continue  # group_id is decided by the route and membership, checked elsewhere
            found = ctx.conn.scalar(
                f"SELECT 1 FROM {quote(field.ref_table)} WHERE id = ? AND group_id = ?", (value, group_id)
            )
            if not found:
                raise invalid(field.name, f"{value} is not a {field.ref_table[:-1]} of this group")
        elif field.kind is Kind.IDS and value:
            link = field.link
            assert link is not None
            marks = ", ".join("?" for _ in value)
            found_ids = {
                r[0]
                for r in ctx.conn.all(
                    f"SELECT id FROM {quote(link.other_table)} WHERE group_id = ? AND id IN ({marks})",
                    [group_id, *value],
                )
            }
            missing = [v for v in value if v not in found_ids]
            if missing:
                raise invalid(field.name, f"{missing[0]} is not a {link.other_table[:-1]} of this group")
