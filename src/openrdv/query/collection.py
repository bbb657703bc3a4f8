"""A collection request (results, startIndex, sort/dir, search, conditions, filters) → SQL: the plain
count and page SQL, correct on every engine, with the parts that a SQLite fast path (range_counts.py,
fulltext.py) answers faster put in their place. `fast_sql` is the one place that consults them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openrdv.agenda.zones import Zone
from openrdv.db.sql import quote
from openrdv.errors import invalid
from openrdv.model.coerce import scalar_param, to_bool, to_id, to_id_list, to_int, to_str
from openrdv.model.declaration import Field, Kind, Profile, Resource
from openrdv.query import fulltext, range_counts
from openrdv.query.conditions import Condition, condition_sql, parse_conditions
from openrdv.query.fastpath import FastSql, ListQuery, Sql
from openrdv.query.search import (
    MAX_SEARCH_LENGTH,
    search_problem,
    search_words,
    word_in_fields_sql,
    word_like_sql,
)

DEFAULT_PAGE = 25
# Deeper than this, rows are fetched through an index-only scan of ids first: OFFSET over full rows
# costs ~1 s at 500,000 rows, over the (group_id, id) index a few milliseconds.
DEEP_OFFSET = 1000
# A page bigger than this is streamed like results=all.
STREAM_ABOVE = 1000


@dataclass
class CollectionRequest:
    results: int | None  # None = all
    start_index: int
    sort: Field | None
    sort_param: str | None
    dir_param: str | None
    descending: bool
    words: list[str]
    conditions: list[Condition]
    filters: list[tuple[str, list[Any]]] = field(default_factory=list)
    search_column: str = "search_text"  # "" when the words are matched in `search_fields` instead
    search_fields: tuple[str, ...] = ()  # the columns matched one by one where no search column serves

    @property
    def streamed(self) -> bool:
        return self.results is None or self.results > STREAM_ABOVE


def parse_collection(
    params: dict[str, Any], resource: Resource, profile: Profile, zone: Zone
) -> CollectionRequest:
    """The collection parameters, each checked against what this profile may read: `sort`,
    `conditions` and `search` never touch a field the caller cannot read (CONTRACT §4)."""
    results, start = _parse_paging(params)
    sort_field, sort_param, dir_param, descending = _parse_sort(params, resource, profile)
    words, search_column, search_fields = _parse_search(params, resource, profile)
    conditions: list[Condition] = []
    if "conditions" in params:
        conditions = parse_conditions(params["conditions"], resource, profile, zone)
    return CollectionRequest(
        search_column=search_column,
        search_fields=search_fields,
        results=results,
        start_index=start,
        sort=sort_field,
        sort_param=sort_param,
        dir_param=dir_param,
        descending=descending,
        words=words,
        conditions=conditions,
    )


def _parse_paging(params: dict[str, Any]) -> tuple[int | None, int]:
    raw_results = scalar_param(params, "results")
    results: int | None = DEFAULT_PAGE
    if raw_results is not None and str(raw_results).strip() != "":
        if str(raw_results).strip().lower() == "all":
            results = None
        else:
            results = to_int(raw_results, "results")
            if results < 1:
                raise invalid("results", "must be a positive integer or 'all'")
    raw_start = scalar_param(params, "startIndex")
    start = 0
    if raw_start is not None and str(raw_start).strip() != "":
        start = to_int(raw_start, "startIndex")
        if start < 0:
            raise invalid("startIndex", "must be 0 or more")
    return results, start


def _parse_sort(
    params: dict[str, Any], resource: Resource, profile: Profile
) -> tuple[Field | None, str | None, str | None, bool]:
    """(sort field, sort as echoed, dir as echoed, descending)."""
    sort_param = scalar_param(params, "sort")
    if sort_param is None or str(sort_param).strip() == "":
        return None, None, None, False  # dir is ignored without sort (and then echoed as null)
    sort_param = str(sort_param).strip()
    candidate = resource.by_name.get(sort_param)
    if candidate is None or not candidate.can_read(profile) or candidate.virtual or not candidate.sortable:
        raise invalid("sort", f"unknown or unsortable field '{sort_param}' for {resource.name}")
    dir_param = scalar_param(params, "dir")
    if dir_param is None or str(dir_param).strip() == "":
        return candidate, sort_param, None, False
    dir_param = str(dir_param).strip().lower()
    if dir_param not in ("asc", "desc"):
        raise invalid("dir", "must be 'asc' or 'desc'")
    return candidate, sort_param, dir_param, dir_param == "desc"


def _parse_search(
    params: dict[str, Any], resource: Resource, profile: Profile
) -> tuple[list[str], str, tuple[str, ...]]:
    """(words, the stored search column they are matched in, or "" and the fields matched instead).

    An account searches only text it may read: its own search column where the table keeps one,
    else (a view such as appointments) the fields it may read themselves."""
    search_column = "search_public" if profile == "account" and resource.has_public_search else "search_text"
    search_fields: tuple[str, ...] = ()
    if profile == "account" and not resource.has_public_search and (
        resource.public_search_fields != tuple(resource.search_fields)
    ):
        search_column = ""
        search_fields = tuple(resource.by_name[n].col for n in resource.public_search_fields)
    raw_search = scalar_param(params, "search")
    if raw_search is None or str(raw_search).strip() == "":
        return [], search_column, search_fields
    text = to_str(raw_search, "search")
    if len(text) > MAX_SEARCH_LENGTH:
        raise invalid("search", f"is too long (maximum is {MAX_SEARCH_LENGTH} characters)")
    if not resource.searchable or (profile == "account" and not resource.public_search_fields):
        raise invalid("search", f"is not offered on {resource.name}")
    words = search_words(text)
    problem = search_problem(words)
    if problem is not None:
        raise invalid("search", problem)
    return words, search_column, search_fields


def filter_value(resource: Resource, name: str, raw: Any, profile: Profile = "pro") -> Any:
    """The typed value of a plain list filter (`calendar_id=3`, `calendar_ids[]=1`). A filter named
    after a field matches on that field: refused to a profile that may not read it (an account
    probing a fiche's `externid`), and an id when the field is a reference (0: rows without one)."""
    spec = resource.filter_by_name[name]
    named = resource.by_name.get(name)
    if named is not None and not named.can_read(profile):
        raise invalid(name, f"is not a filter your profile ({profile}) may use on {resource.name}")
    if spec.many:
        return to_id_list(raw, name)
    if isinstance(raw, list):
        raw = raw[-1] if raw else ""
    if named is not None and named.kind is Kind.REF:
        return to_id(raw, name)
    if spec.kind in (Kind.INT, Kind.REF):
        return to_int(raw, name)
    if spec.kind is Kind.BOOL:
        return to_bool(raw, name)
    return to_str(raw, name)


@dataclass
class ListSql:
    count_sql: str
    count_params: list[Any]
    page_sql: str
    page_params: list[Any]


def build_list_sql(
    resource: Resource,
    select_list: str,
    where: list[str],
    where_params: list[Any],
    request: CollectionRequest,
    like: str,
    dialect: str,
    groups: Sequence[int] | None = None,
    plain_scope: bool = False,
) -> ListSql:
    """The count and page SQL of a collection request. `where` scopes it to what the caller may
    see; `groups` are the groups that scope restricts rows to (None: not restricted to groups), and
    `plain_scope` says that `where` is nothing but that group restriction."""
    fast = fast_sql(list_query(resource, request, dialect, groups, plain_scope))
    return _list_sql(resource, select_list, where, where_params, request, like, dialect, fast)


def fast_sql(query: ListQuery) -> FastSql:
    """What the SQLite fast paths answer in place of the plain SQL: each part is the first fast
    path's that applies (the range counts need no search word, the full-text total needs one)."""
    return FastSql(
        search=fulltext.search_clauses(query),
        total=_first(range_counts.total_sql(query), fulltext.total_sql(query)),
        page_ids=fulltext.page_ids_sql(query),
    )


def plain_list_sql(
    resource: Resource,
    select_list: str,
    where: list[str],
    where_params: list[Any],
    request: CollectionRequest,
    like: str,
    dialect: str,
) -> ListSql:
    """The count and page SQL of a collection request without any fast path, correct on every
    engine: LIKE over the search column, count(*) over the matching rows."""
    return _list_sql(resource, select_list, where, where_params, request, like, dialect, FastSql())


def list_query(
    resource: Resource,
    request: CollectionRequest,
    dialect: str,
    groups: Sequence[int] | None = None,
    plain_scope: bool = False,
) -> ListQuery:
    """The request as the fast paths see it (build_list_sql's arguments of the same names)."""
    return ListQuery(
        resource=resource,
        dialect=dialect,
        groups=groups,
        plain_scope=plain_scope,
        filtered=bool(request.filters),
        conditions=request.conditions,
        words=request.words,
        search_column=request.search_column,
        id_order=request.sort is None,
        results=request.results,
        start_index=request.start_index,
    )


def _first(*answers: Sql | None) -> Sql | None:
    return next((answer for answer in answers if answer is not None), None)


def _list_sql(
    resource: Resource,
    select_list: str,
    where: list[str],
    where_params: list[Any],
    request: CollectionRequest,
    like: str,
    dialect: str,
    fast: FastSql,
) -> ListSql:
    """The plain SQL, with the parts a fast path answers put in place of their plain ones."""
    search = fast.search if fast.search is not None else _plain_search(request, like)
    where_sql, params = _where_sql(where, where_params, request, like, search)
    table = quote(resource.table)
    order = _order_sql(request, dialect)
    plain_count: Sql = (f"SELECT count(*) FROM {table} t WHERE {where_sql}", params)
    count_sql, count_params = fast.total if fast.total is not None else plain_count
    if fast.page_ids is not None:
        ids_sql, page_params = fast.page_ids
        page_sql = f"SELECT {select_list} FROM {table} t WHERE t.\"id\" IN ({ids_sql}) ORDER BY {order}"
    else:
        page_sql, page_params = _page_sql(table, select_list, where_sql, params, order, request, dialect)
    return ListSql(count_sql, count_params, page_sql, page_params)


def _plain_search(request: CollectionRequest, like: str) -> list[Sql]:
    if not request.search_column:
        return [word_in_fields_sql(request.search_fields, word, like) for word in request.words]
    return [word_like_sql(request.search_column, word) for word in request.words]


def _where_sql(
    where: list[str], where_params: list[Any], request: CollectionRequest, like: str, search: list[Sql]
) -> Sql:
    """The caller's scope, then the list filters, the conditions and the search, ANDed."""
    clauses = list(where)
    params = list(where_params)
    for sql, values in request.filters:
        clauses.append(sql)
        params.extend(values)
    for cond in request.conditions:
        sql, values = condition_sql(cond, like, "t.")
        clauses.append(sql)
        params.extend(values)
    for sql, values in search:
        clauses.append(sql)
        params.extend(values)
    return (" AND ".join(clauses) if clauses else "1 = 1"), params


def _order_sql(request: CollectionRequest, dialect: str) -> str:
    if request.sort is None:
        return 't."id" ASC'
    direction = "DESC" if request.descending else "ASC"
    nulls = ""
    if dialect == "postgresql":
        # SQLite sorts NULL first ascending; PostgreSQL is told to do the same
        nulls = " NULLS LAST" if request.descending else " NULLS FIRST"
    return f"t.{quote(request.sort.col)} {direction}{nulls}, t.\"id\" ASC"


def _page_sql(
    table: str,
    select_list: str,
    where_sql: str,
    params: list[Any],
    order: str,
    request: CollectionRequest,
    dialect: str,
) -> Sql:
    """The page's rows in order; deep pages find their ids first, through an index-only scan."""
    limit_sql = ""
    limit_params: list[Any] = []
    if request.results is not None:
        limit_sql = " LIMIT ? OFFSET ?"
        limit_params = [request.results, request.start_index]
    elif request.start_index:
        limit_sql = " LIMIT -1 OFFSET ?" if dialect == "sqlite" else " OFFSET ?"
        limit_params = [request.start_index]
    if request.start_index >= DEEP_OFFSET:
        inner = f"SELECT t.\"id\" FROM {table} t WHERE {where_sql} ORDER BY {order}{limit_sql}"
        page_sql = f"SELECT {select_list} FROM {table} t WHERE t.\"id\" IN ({inner}) ORDER BY {order}"
    else:
        page_sql = f"SELECT {select_list} FROM {table} t WHERE {where_sql} ORDER BY {order}{limit_sql}"
    return page_sql, params + limit_params
