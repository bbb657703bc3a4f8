"""`conditions[i][field|op|value]` → SQL over allow-listed columns with bound parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from openrdv.agenda.zones import WallTimeError, Zone
from openrdv.db.sql import quote
from openrdv.errors import ApiError, invalid
from openrdv.model.coerce import to_bool, to_float, to_int, to_str
from openrdv.model.declaration import TEXT_KINDS, Field, Kind, Profile, Resource

MAX_CONDITIONS = 20
MAX_IN_ITEMS = 1000

OPERATORS: dict[str, str] = {
    "=": "=",
    "==": "=",
    "!=": "!=",
    "<>": "!=",
    ">": ">",
    ">=": ">=",
    "<": "<",
    "<=": "<=",
    "like": "LIKE",
    "not like": "NOT LIKE",
    "in": "IN",
    "not in": "NOT IN",
}


@dataclass(frozen=True)
class Condition:
    label: str  # "conditions[0]": what an error names
    field: Field
    op: str  # one of OPERATORS' values
    value: Any  # coerced: scalar, list for IN, None for IS NULL


def _ordered_entries(raw: Any) -> list[tuple[str, Any]]:
    if isinstance(raw, dict):
        def order(key: str) -> tuple[int, int | str]:
            return (0, int(key)) if key.isascii() and key.isdigit() and len(key) <= 18 else (1, key)

        return [(key, raw[key]) for key in sorted(raw, key=order)]
    if isinstance(raw, list):
        return [(str(i), item) for i, item in enumerate(raw)]
    raise invalid(
        "conditions",
        "must be given as conditions[i][field], conditions[i][op] and conditions[i][value]",
    )


def coerce_value(field: Field, value: Any, label: str, zone: Zone) -> Any:
    try:
        if field.kind in (Kind.INT, Kind.REF):
            return to_int(value, label)
        if field.kind is Kind.BOOL:
            return to_bool(value, label)
        if field.kind is Kind.FLOAT:
            return to_float(value, label)
        if field.kind is Kind.DATETIME:
            if not isinstance(value, str):
                raise invalid(label, f"value must be a date and time, got {value!r}")
            return zone.parse(value, field.year_range)
        return to_str(value, label)
    except WallTimeError as exc:
        raise invalid(label, f"value for {field.name}: {exc}") from None
    except ApiError as exc:
        reason = next(iter(exc.errors.values()))[0] if exc.errors else exc.message
        raise invalid(label, f"value for {field.name} {reason}") from None


def _split_list(value: Any, label: str) -> list[Any]:
    if isinstance(value, list):
        items = value
    elif isinstance(value, dict):
        items = list(value.values())
    else:
        text = str(value).strip()
        if text.startswith("["):
            try:
                parsed = orjson.loads(text)
                items = parsed if isinstance(parsed, list) else [parsed]
            except orjson.JSONDecodeError:
                items = [p.strip() for p in text.strip("[]").split(",")]
        else:
            items = [p.strip() for p in text.split(",")] if text else []
    if len(items) > MAX_IN_ITEMS:
        raise invalid(label, f"'in' accepts at most {MAX_IN_ITEMS} values")
    return items


def parse_conditions(raw: Any, resource: Resource, profile: Profile, zone: Zone) -> list[Condition]:
    entries = _ordered_entries(raw)
    if len(entries) > MAX_CONDITIONS:
        raise invalid("conditions", f"at most {MAX_CONDITIONS} conditions are allowed")
    readable = {f.name: f for f in resource.readable(profile)}
    result: list[Condition] = []
    for index, entry in entries:
        label = f"conditions[{index}]"
        if not isinstance(entry, dict):
            raise invalid(label, "must have field, op and value")
        name = entry.get("field")
        if not isinstance(name, str) or not name.strip():
            raise invalid(label, "field is missing")
        field = readable.get(name.strip())
        if field is None:
            raise invalid(label, f"unknown field '{name}' for {resource.name}")
        if field.virtual:
            raise invalid(label, f"field '{name}' cannot be used in conditions")
        raw_op = entry.get("op", "=")
        op_key = " ".join(str(raw_op).lower().split()) if raw_op is not None else "="
        op = OPERATORS.get(op_key)
        if op is None:
            raise invalid(label, f"unknown operator '{raw_op}' (use =, !=, >, >=, <, <=, like, not like, in, not in)")
        if "value" not in entry:
            raise invalid(label, "value is missing")
        value = entry["value"]
        if op in ("LIKE", "NOT LIKE"):
            if field.kind not in TEXT_KINDS:
                raise invalid(label, f"'{op_key}' applies to text fields only, and {field.name} is not one")
            result.append(Condition(label, field, op, to_str(value, label)))
        elif op in ("IN", "NOT IN"):
            items = [coerce_value(field, item, label, zone) for item in _split_list(value, label)]
            result.append(Condition(label, field, op, items))
        elif value is None or (isinstance(value, str) and value.strip().lower() == "null"):
            if op not in ("=", "!="):
                raise invalid(label, "null can only be compared with = or !=")
            result.append(Condition(label, field, op, None))
        else:
            result.append(Condition(label, field, op, coerce_value(field, value, label, zone)))
    return result


def condition_sql(cond: Condition, like: str, alias: str = "") -> tuple[str, list[Any]]:
    col = f"{alias}{quote(cond.field.col)}"
    if cond.value is None:
        is_text = cond.field.kind in TEXT_KINDS
        if cond.op == "=":
            return (f"({col} IS NULL OR {col} = '')" if is_text else f"{col} IS NULL"), []
        return (f"({col} IS NOT NULL AND {col} <> '')" if is_text else f"{col} IS NOT NULL"), []
    if cond.op in ("LIKE", "NOT LIKE"):
        keyword = like if cond.op == "LIKE" else f"NOT {like}"
        # only the caller's % and _ are wildcards: no escape character on either engine
        # (PostgreSQL's default one, \, would make a trailing backslash an error)
        escape = " ESCAPE ''" if like == "ILIKE" else ""
        return f"{col} {keyword} ?{escape}", [cond.value]
    if cond.op in ("IN", "NOT IN"):
        if not cond.value:
            return ("1 = 0" if cond.op == "IN" else "1 = 1"), []
        marks = ", ".join("?" for _ in cond.value)
        return f"{col} {cond.op} ({marks})", list(cond.value)
    if cond.op == "!=":
        # SQL's != drops NULL rows; a client asking "taker != clicRDV" wants rows with no taker too.
        return f"({col} != ? OR {col} IS NULL)", [cond.value]
    return f"{col} {cond.op} ?", [cond.value]
