"""Rails bracket syntax for query strings and form bodies.

`a[]=1&a[]=2` → {"a": ["1", "2"]}; `c[0][field]=x` → {"c": {"0": {"field": "x"}}}; a repeated plain
key keeps its last value, as Rails does. Values are always strings here; coercion happens later,
against the declared type of the field they are for.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

_KEY_PART = re.compile(r"\[([^\[\]]*)\]")
MAX_DEPTH = 8
MAX_PAIRS = 2000
NAME_SHOWN = 40  # characters of a parameter name an error repeats


class BracketError(ValueError):
    pass


def split_key(key: str) -> list[str]:
    """'a[b][]' → ['a', 'b', '']; a key without brackets → [key]. Text after an unclosed bracket
    stays part of the name, so odd keys degrade to plain names rather than errors."""
    head, sep, _ = key.partition("[")
    if not sep or not head:
        return [key]
    parts = [head]
    pos = len(head)
    while pos < len(key):
        match = _KEY_PART.match(key, pos)
        if match is None:
            return [key]
        parts.append(match.group(1))
        pos = match.end()
    if len(parts) > MAX_DEPTH:
        # the name is the client's: an error echoes its start only (a name can be a megabyte long)
        shown = key if len(key) <= NAME_SHOWN else key[:NAME_SHOWN] + "..."
        raise BracketError(f"parameter {shown!r} is nested deeper than {MAX_DEPTH} levels")
    return parts


def _has_path(node: Any, parts: list[str]) -> bool:
    """Whether the hash already holds the key path (list markers skipped), as Rack checks before
    starting a new hash of 'a[][x][y]': `a[][x][y]=1&a[][x][z]=2` → [{"x": {"y": "1", "z": "2"}}]."""
    for part in parts:
        if part == "":
            continue
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _assign(target: dict[str, Any], parts: list[str], value: str) -> None:
    node: Any = target
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        nxt = None if last else parts[index + 1]
        if isinstance(node, list):
            # 'a[][x]=1' builds a list of hashes: a new hash starts when the key repeats.
            if last:
                node.append(value)
                return
            if nxt == "":
                child: Any = []
                node.append(child)
            else:
                if node and isinstance(node[-1], dict) and not _has_path(node[-1], parts[index + 1 :]):
                    child = node[-1]
                else:
                    child = {}
                    node.append(child)
            node = child
            continue
        if last:
            node[part] = value
            return
        want_list = nxt == ""
        child = node.get(part)
        if want_list and not isinstance(child, list):
            child = []
            node[part] = child
        elif not want_list and not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child


def parse_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    if len(pairs) > MAX_PAIRS:
        raise BracketError(f"too many parameters (at most {MAX_PAIRS})")
    result: dict[str, Any] = {}
    for key, value in pairs:
        if not key:
            continue
        parts = split_key(key)
        if parts[0] == "":
            continue
        _assign(result, parts if len(parts) > 1 else [key], value)
    return result


# A raw '?' inside a query string separates parameters like '&' (CONTRACT §1): the official PHP
# client appends "?format=json&apikey=..." to URLs that already carry a query. A '?' that belongs to
# a value arrives percent-encoded (%3F). Form bodies keep '&' alone.
_QUERY_SEPARATORS = re.compile(r"[&?]")


def split_query(raw: str, separators: re.Pattern[str] = _QUERY_SEPARATORS) -> list[tuple[str, str]]:
    """Split an urlencoded string into decoded (key, value) pairs. Each pair splits at its first '=',
    so `op=>=` and `op==` carry the operators `>=` and `=` whether encoded or raw."""
    pairs: list[tuple[str, str]] = []
    if not raw:
        return pairs
    for chunk in separators.split(raw):
        if not chunk:
            continue
        key, _, value = chunk.partition("=")
        try:
            pairs.append((unquote_plus(key, errors="strict"), unquote_plus(value, errors="strict")))
        except UnicodeDecodeError:
            raise BracketError("the query string or form body is not valid UTF-8") from None
    return pairs


def parse_query(raw: str) -> dict[str, Any]:
    """A URL's query string ('&' and a raw '?' separate parameters)."""
    return parse_pairs(split_query(raw))


_FORM_SEPARATOR = re.compile("&")


def parse_form(raw: str) -> dict[str, Any]:
    """An application/x-www-form-urlencoded body ('&' alone separates parameters)."""
    return parse_pairs(split_query(raw, _FORM_SEPARATOR))
