"""Lenient scalar coercion: what real clients send (ids as strings, booleans as "1") becomes the
declared type, and anything that does not convert is refused with the field's name."""

from __future__ import annotations

import math
from typing import Any

import orjson

from openrdv.agenda.zones import WallTimeError, Zone
from openrdv.errors import invalid

_TRUE = {"1", "true", "yes", "on", "t", "y"}
_FALSE = {"0", "false", "no", "off", "f", "n", ""}

MAX_INT = 2**63 - 1


def scalar_param(params: dict[str, Any], name: str) -> Any:
    """One plain parameter: the last of a repeated one (`a=1&a=2`, as Rails keeps), None when
    absent or blank; a nested one (`a[x]=1`) is refused."""
    value = params.get(name)
    if isinstance(value, list):
        value = value[-1] if value else None
    if isinstance(value, dict):
        raise invalid(name, "must be a single value")
    if isinstance(value, str) and not value.strip():
        return None
    return value


def to_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        result = value
    elif isinstance(value, float) and value.is_integer():
        result = int(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            result = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                raise invalid(name, f"must be an integer, got {value!r}") from None
            if not number.is_integer():
                raise invalid(name, f"must be an integer, got {value!r}") from None
            result = int(number)
    else:
        raise invalid(name, f"must be an integer, got {type(value).__name__}")
    if abs(result) > MAX_INT:
        # beyond a 64-bit column: the driver would overflow (SQLite) or the engine refuse (PostgreSQL)
        raise invalid(name, f"is out of range (-{MAX_INT} to {MAX_INT})")
    return result


def to_id(value: Any, name: str) -> int:
    """An id to match on: 1 to 2**63-1, or 0 for 'none' (rows without one)."""
    result = to_int(value, name)
    if result < 0:
        raise invalid(name, f"must be an id (1 to {MAX_INT}), or 0 for none")
    return result


def to_optional_id(value: Any, name: str) -> int | None:
    """An optional reference: null, "" and 0 all mean 'none'."""
    if value is None or (isinstance(value, str) and value.strip() in {"", "null"}):
        return None
    result = to_int(value, name)
    if result < 0:
        raise invalid(name, "must be a positive id")
    return result or None


def to_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise invalid(name, f"must be a boolean (true/false/1/0), got {value!r}")


def to_float(value: Any, name: str) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip().replace(",", "."))
        except ValueError:
            raise invalid(name, f"must be a number, got {value!r}") from None
    else:
        raise invalid(name, f"must be a number, got {type(value).__name__}")
    if not math.isfinite(result):
        raise invalid(name, "must be a finite number")
    return result


def to_str(value: Any, name: str, max_length: int | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "1" if value else "0"
    elif isinstance(value, (int, float)):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise invalid(name, f"must be a string, got {type(value).__name__}")
    if "\x00" in text:
        raise invalid(name, "must not contain NUL characters")
    if max_length is not None and len(text) > max_length:
        raise invalid(name, f"is too long (maximum is {max_length} characters)")
    return text


def to_id_list(value: Any, name: str, max_items: int = 1000) -> list[int]:
    """A list of ids from a list, a JSON array text '[1,2]', a comma list '1,2' or a single id."""
    items: list[Any]
    if value is None:
        return []
    if isinstance(value, list):
        items = value
    elif isinstance(value, dict):
        # form bodies like ids[0]=1&ids[1]=2 arrive as a hash keyed by index
        items = [value[key] for key in sorted(value, key=lambda k: (len(k), k))]
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = orjson.loads(text)
            except orjson.JSONDecodeError:
                parsed = text.strip("[]").split(",")
            items = parsed if isinstance(parsed, list) else [parsed]
        elif text == "":
            items = []
        else:
            items = text.split(",")
    else:
        items = [value]
    if len(items) > max_items:
        raise invalid(name, f"has more than {max_items} items")
    result: list[int] = []
    for item in items:
        if isinstance(item, str) and item.strip() == "":
            continue
        number = to_int(item, name)
        if number <= 0:
            raise invalid(name, f"must hold positive ids, got {item!r}")
        if number not in result:
            result.append(number)
    return result


def to_datetime(value: Any, name: str, zone: Zone, years: tuple[int, int] | None = None) -> int | None:
    """A wall-clock (or offset) datetime text in `zone` → epoch seconds; `years` bounds the year."""
    if value is None:
        return None
    if isinstance(value, str):
        if value.strip() == "":
            return None
        try:
            return zone.parse(value, years)
        except WallTimeError as exc:
            raise invalid(name, str(exc)) from None
    raise invalid(name, f"must be a date and time 'YYYY-MM-DD HH:MM:SS', got {value!r}")


def to_json_text(value: Any, name: str, max_length: int = 65535) -> str:
    """A JSON document kept as text (e.g. pendingRdv): an object is serialised, a string kept."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    if len(text) > max_length:
        raise invalid(name, f"is too long (maximum is {max_length} characters)")
    return text
