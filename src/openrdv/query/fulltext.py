"""The group-ranged full-text fast path (SQLite): `search` answered by the FTS5 trigram index that
db/derived.py keeps by triggers, whose rowid `group_id << GROUP_SHIFT | id` makes each group's rows
one contiguous rowid range.

- The rows holding every search word of 3+ characters are ids read from the index (within each of
  the caller's groups' rowid ranges, up to MAX_RANGED_GROUPS of them), instead of a LIKE over the
  search text of every row; shorter words are checked by LIKE on those rows only.
- When the search words are all that narrow the caller's groups, the total is counted inside the
  index alone, without visiting the table once per match; and in one group with no sort asked, the
  page's ids come from the index in rowid order.

A 3–6 letter search in a group of a million fiches: 5–7 ms instead of 30 ms (bench/README.md,
target b). The plain LIKE is kept on PostgreSQL (pg_trgm indexes serve it there), for resources
without the index, for an account's public search column (the index holds the full search text,
which may match what the account cannot read), and for a search without any word of 3 characters
(a trigram index cannot look them up).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openrdv.db.derived import GROUP_SHIFT, ID_MASK, fts_table
from openrdv.query.fastpath import ListQuery, Sql
from openrdv.query.search import word_like_sql

# Above this many groups a search reads the whole index once instead of one rowid range a group.
MAX_RANGED_GROUPS = 20
MIN_INDEXED_WORD = 3  # trigrams: a shorter word has none to look up


def search_clauses(query: ListQuery) -> list[Sql] | None:
    """WHERE clauses standing for every search word, the index finding the rows; None where the
    index does not apply."""
    indexed = _indexed_words(query)
    if not indexed:
        return None
    ids_sql, ids_params = matching_ids_sql(query.resource.table, query.groups, _match(indexed))
    clauses: list[Sql] = [(f't."id" IN ({ids_sql})', ids_params)]
    return clauses + [word_like_sql(query.search_column, w) for w in query.words if len(w) < MIN_INDEXED_WORD]


def total_sql(query: ListQuery) -> Sql | None:
    """The total counted in the index alone, or None unless every word is indexed and nothing but
    them narrows the caller's groups."""
    match = _alone_match(query)
    if match is None or not query.groups:
        return None
    return matching_total_sql(query.resource.table, query.groups, match)


def page_ids_sql(query: ListQuery) -> Sql | None:
    """The ids of the page (in id order) from the index alone, in one group with no sort asked."""
    match = _alone_match(query)
    if match is None or not query.groups or len(query.groups) != 1 or not query.id_order:
        return None
    return matching_page_ids_sql(query.resource.table, query.groups[0], match, query.results, query.start_index)


def _indexed_words(query: ListQuery) -> list[str]:
    """The search words the index looks up (none where it does not apply)."""
    if not query.resource.fulltext or query.dialect != "sqlite" or query.search_column != "search_text":
        return []
    return [w for w in query.words if len(w) >= MIN_INDEXED_WORD]


def _alone_match(query: ListQuery) -> str | None:
    """The FTS5 expression of the words when the index answers the request alone."""
    indexed = _indexed_words(query)
    if not query.derived_alone or not indexed or len(indexed) != len(query.words) or query.conditions:
        return None
    return _match(indexed)


def _match(words: Sequence[str]) -> str:
    """The FTS5 expression matching rows holding every word (each a quoted string, not syntax)."""
    return " AND ".join('"' + w.replace('"', '""') + '"' for w in words)


def matching_ids_sql(table: str, groups: Sequence[int] | None, match: str) -> Sql:
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


def matching_total_sql(table: str, groups: Sequence[int], match: str) -> Sql | None:
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


def matching_page_ids_sql(table: str, group: int, match: str, limit: int | None, offset: int) -> Sql:
    """The ids of one page (by id) of one group's rows matching `match`, from the index alone."""
    fts = fts_table(table)
    sql = (
        f"SELECT rowid - ? FROM {fts} WHERE {fts} MATCH ? AND rowid >= ? AND rowid < ? ORDER BY rowid LIMIT ? OFFSET ?"
    )
    low = group << GROUP_SHIFT
    return sql, [low, match, low, low + (1 << GROUP_SHIFT), -1 if limit is None else limit, offset]
