"""SQLite collection SQL that reads what db/derived.py keeps instead of walking every matching row:

- a total with no condition, or with range conditions on one counted column only, from the range
  counts (whole buckets) plus the rows of at most two partial buckets;
- the ids matching a `search`, from the full-text index restricted to the rowid range of each of
  the caller's groups; a total of them counted inside the index alone, without visiting the table.

Each builder gives None where it does not apply: the caller then uses the plain SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openrdv.db.derived import BUCKET_BITS, GROUP_SHIFT, ID_MASK, NULL_BUCKET, RANGE_COUNTS, fts_table
from openrdv.db.sql import in_list, quote
from openrdv.model.declaration import Resource
from openrdv.query.conditions import Condition

# Above this many groups a search reads the whole index once instead of one rowid range a group.
MAX_RANGED_GROUPS = 20
_LOWER = {">": 1, ">=": 0, "=": 0}  # operator → what to add to the value for an inclusive lower bound
_UPPER = {"<": -1, "<=": 0, "=": 0}


def _bounds(conditions: Sequence[Condition]) -> tuple[int | None, int | None] | None:
    """The inclusive [low, high] the conditions leave (None: unbounded), or None if they are not
    all range comparisons with an integer value."""
    low: int | None = None
    high: int | None = None
    for cond in conditions:
        value = cond.value
        if type(value) is not int or (cond.op not in _LOWER and cond.op not in _UPPER):
            return None
        if cond.op in _LOWER:
            bound = value + _LOWER[cond.op]
            low = bound if low is None else max(low, bound)
        if cond.op in _UPPER:
            bound = value + _UPPER[cond.op]
            high = bound if high is None else min(high, bound)
    return low, high


def range_total_sql(
    resource: Resource, groups: Sequence[int], conditions: Sequence[Condition]
) -> tuple[str, list[Any]] | None:
    """The total of a group-scoped collection with no condition, or with range conditions on a
    single counted column; None otherwise."""
    if not resource.counted or not groups:
        return None
    fields = {cond.field.name for cond in conditions}
    if len(fields) > 1 or (fields and next(iter(fields)) not in resource.counted):
        return None
    column = next(iter(fields)) if fields else resource.counted[0]
    bounds = _bounds(conditions)
    if bounds is None:
        return None
    low, high = bounds
    in_groups, group_params = in_list("group_id", groups)
    table, col = quote(resource.table), quote(resource.by_name[column].col)

    def buckets(above: int | None, below: int | None) -> tuple[str, list[Any]]:
        """Rows counted in the buckets strictly between `above` and `below`."""
        sql = f"SELECT coalesce(sum(n), 0) FROM {RANGE_COUNTS} WHERE tbl = ? AND col = ? AND {in_groups}"
        params: list[Any] = [resource.table, column, *group_params]
        if above is not None:
            sql += " AND bucket > ?"
            params.append(above)
        if below is not None:
            sql += " AND bucket < ?"
            params.append(below)
        return sql, params

    def rows(first: int, last: int) -> tuple[str, list[Any]]:
        """Rows whose value lies in [first, last], counted through the (group_id, column) index."""
        return (
            f"SELECT count(*) FROM {table} WHERE {in_groups} AND {col} >= ? AND {col} <= ?",
            [*group_params, first, last],
        )

    if low is None and high is None:
        sql, params = buckets(None, None)  # every row, NULL bucket included
        return sql, params
    if low is not None and high is not None and low > high:
        return "SELECT 0", []
    if low is not None and high is not None and low >> BUCKET_BITS == high >> BUCKET_BITS:
        return rows(low, high)
    parts: list[tuple[str, list[Any]]] = []
    above = NULL_BUCKET  # no lower bound: NULLs match no comparison
    below: int | None = None
    if low is not None:
        above = low >> BUCKET_BITS
        parts.append(rows(low, ((above + 1) << BUCKET_BITS) - 1))
    if high is not None:
        below = high >> BUCKET_BITS
        parts.append(rows(below << BUCKET_BITS, high))
    parts.append(buckets(above, below))
    return "SELECT " + " + ".join(f"({sql})" for sql, _ in parts), [p for _, params in parts for p in params]


def matching_ids_sql(table: str, groups: Sequence[int] | None, match: str) -> tuple[str, list[Any]]:
    """SQL giving the ids of the rows of these groups (None: any group) whose search text matches
    the FTS5 expression `match`."""
    fts = fts_table(table)
    if groups is None or not groups or len(groups) > MAX_RANGED_GROUPS:
        return f"SELECT rowid & {ID_MASK} FROM {fts} WHERE {fts} MATCH ?", [match]
    parts: list[str] = []
    params: list[Any] = []
    for group in groups:
        parts.append(f"SELECT rowid - ? FROM {fts} WHERE {fts} MATCH ? AND rowid >= ? AND rowid < ?")
        params += [group << GROUP_SHIFT, match, group << GROUP_SHIFT, (group + 1) << GROUP_SHIFT]
    return " UNION ALL ".join(parts), params


def matching_total_sql(table: str, groups: Sequence[int], match: str) -> tuple[str, list[Any]] | None:
    """The number of rows of these groups matching `match`, counted in the index alone."""
    if not groups or len(groups) > MAX_RANGED_GROUPS:
        return None
    fts = fts_table(table)
    parts: list[str] = []
    params: list[Any] = []
    for group in groups:
        parts.append(f"(SELECT count(*) FROM {fts} WHERE {fts} MATCH ? AND rowid >= ? AND rowid < ?)")
        params += [match, group << GROUP_SHIFT, (group + 1) << GROUP_SHIFT]
    return "SELECT " + " + ".join(parts), params


def matching_page_ids_sql(table: str, group: int, match: str, limit: int | None, offset: int) -> tuple[str, list[Any]]:
    """The ids of one page (by id) of one group's rows matching `match`, from the index alone."""
    fts = fts_table(table)
    sql = (
        f"SELECT rowid - ? FROM {fts} WHERE {fts} MATCH ? AND rowid >= ? AND rowid < ? ORDER BY rowid LIMIT ? OFFSET ?"
    )
    low = group << GROUP_SHIFT
    return sql, [low, match, low, low + (1 << GROUP_SHIFT), -1 if limit is None else limit, offset]
