"""What the SQLite fast paths (range_counts.py, fulltext.py) are shown of a collection request, and
what they may answer in its place: the search restriction, the total, the ids of the page.

A fast path reads what db/derived.py keeps by triggers and gives None wherever that data does not
answer alone; collection.py then keeps the plain SQL for that part, which is correct on every engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openrdv.model.declaration import Resource
from openrdv.query.conditions import Condition

Sql = tuple[str, list[Any]]  # SQL text and its bound parameters


@dataclass(frozen=True)
class ListQuery:
    """A collection request as the fast paths see it. A copy of the parts of collection.py's
    CollectionRequest they read, so that they need not import the module that consults them."""

    resource: Resource
    dialect: str
    groups: Sequence[int] | None  # the groups the caller's scope restricts rows to (None: not to groups)
    plain_scope: bool  # the scope is nothing but that group restriction
    filtered: bool  # a declared list filter (calendar_id=...) narrows the rows too
    conditions: Sequence[Condition]
    words: Sequence[str]
    search_column: str
    id_order: bool  # no sort asked: rows by id
    results: int | None
    start_index: int

    @property
    def derived_alone(self) -> bool:
        """Whether the data SQLite derives per group may answer alone: SQLite, and nothing narrows
        the rows of `groups` but the request's conditions and search words."""
        return self.dialect == "sqlite" and self.plain_scope and bool(self.groups) and not self.filtered


@dataclass(frozen=True)
class FastSql:
    """The parts of a collection request's SQL a fast path answers; None: the plain SQL's."""

    search: list[Sql] | None = None  # WHERE clauses standing for every search word
    total: Sql | None = None  # the total's query
    page_ids: Sql | None = None  # the ids of the page's rows
