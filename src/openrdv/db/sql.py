"""SQL text helpers shared by every floor that writes SQL: identifiers quoted, id lists bound."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def in_list(column: str, ids: Sequence[int]) -> tuple[str, list[Any]]:
    """`column` is one of `ids`, as SQL with bound parameters (none of them: no row)."""
    if not ids:
        return "1 = 0", []
    if len(ids) == 1:
        return f"{column} = ?", [ids[0]]
    return f"{column} IN ({', '.join('?' for _ in ids)})", list(ids)

