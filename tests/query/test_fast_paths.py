"""The SQLite fast paths (query/range_counts.py, query/fulltext.py) behind their interfaces: each
declines what its derived data cannot answer alone, and the plain path alone (plain_list_sql) gives
the same totals and pages as the SQL they speed up, on a real migrated SQLite database."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from openrdv import admin
from openrdv.agenda.zones import zone
from openrdv.db.derived import BUCKET_BITS
from openrdv.db.engine import Database
from openrdv.db.sql import in_list
from openrdv.migrations import upgrade
from openrdv.model.declaration import Resource
from openrdv.query import fulltext, range_counts
from openrdv.query.collection import (
    CollectionRequest,
    ListSql,
    build_list_sql,
    fast_sql,
    list_query,
    parse_collection,
    plain_list_sql,
)
from openrdv.query.fastpath import FastSql, ListQuery
from openrdv.query.search import search_document
from openrdv.registry import RESOURCES
from openrdv.settings import Settings

FICHES = RESOURCES["fiches"]
PARIS = zone("Europe/Paris")
BASE = PARIS.parse("2026-01-01")
W = 1 << BUCKET_BITS
EDGE = BASE >> BUCKET_BITS << BUCKET_BITS  # the first second of a range-count bucket
GROUPS = 3
ROWS = 600
# words of 3+ characters for the trigram index, and short ones ("le", "de") it cannot look up
NAMES = ["martin", "dupont", "durand", "le goff", "marchand", "de la tour", "bernard", "lefevre", "le martin"]
FIRSTNAMES = ["léa", "paul", "zoé", "al", "marc"]


def utc(instant: int) -> str:
    return datetime.fromtimestamp(instant, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cond(*items: tuple[str, str, Any]) -> dict[str, Any]:
    return {str(i): {"field": f, "op": op, "value": v} for i, (f, op, v) in enumerate(items)}


def request_for(params: dict[str, Any], resource: Resource = FICHES) -> CollectionRequest:
    return parse_collection(params, resource, "pro", PARIS)


def query_for(
    params: dict[str, Any],
    groups: Sequence[int] | None = (1,),
    plain_scope: bool = True,
    dialect: str = "sqlite",
    resource: Resource = FICHES,
    **changes: Any,
) -> ListQuery:
    request = dataclasses.replace(request_for(params, resource), **changes)
    return list_query(resource, request, dialect, groups, plain_scope)


# -- each fast path declines what its data does not answer alone ----------------------------------------

ON_UPDATED = cond(("updated_at", ">=", "2026-01-01"), ("updated_at", "<", "2026-02-01"))


def test_range_counts_answer_a_group_scope_with_range_conditions_on_one_counted_field() -> None:
    assert range_counts.total_sql(query_for({})) is not None
    assert range_counts.total_sql(query_for({"conditions": ON_UPDATED}, groups=(1, 2))) is not None


@pytest.mark.parametrize(
    ("params", "context"),
    [
        ({"conditions": cond(("lastname", "=", "martin"))}, {}),  # a field that is not counted
        ({"conditions": cond(("birthdate", ">=", "2026-01-01"))}, {}),  # a datetime that is not counted
        ({"conditions": cond(("updated_at", ">=", "2026-01-01"), ("created_at", "<", "2026-01-01"))}, {}),
        ({"conditions": cond(("updated_at", "!=", "2026-01-01"))}, {}),
        ({"conditions": cond(("updated_at", "in", ["2026-01-01", "2026-01-02"]))}, {}),
        ({"conditions": ON_UPDATED, "search": "martin"}, {}),  # a search word narrows the rows too
        ({"search": "martin"}, {}),
        ({}, {"filters": [('t."externid" = ?', [7])]}),  # a list filter
        ({}, {"plain_scope": False}),  # the scope is more than the group restriction
        ({}, {"groups": None}),
        ({}, {"groups": ()}),
        ({}, {"dialect": "postgresql"}),
        ({}, {"resource": RESOURCES["pros"]}),  # no counted column
    ],
)
def test_range_counts_decline(params: dict[str, Any], context: dict[str, Any]) -> None:
    assert range_counts.total_sql(query_for(params, **context)) is None


def test_full_text_finds_the_rows_of_words_of_three_characters_in_any_scope() -> None:
    for groups in [(1,), (1, 2), tuple(range(1, 30)), None]:
        for plain_scope in (True, False):
            clauses = fulltext.search_clauses(query_for({"search": "martin le"}, groups, plain_scope))
            assert clauses is not None and len(clauses) == 2, (groups, plain_scope)
            assert "fiches_fts" in clauses[0][0] and "LIKE" in clauses[1][0]  # "le" checked on those rows


@pytest.mark.parametrize(
    ("params", "context"),
    [
        ({"search": "le"}, {}),  # no word of 3 characters: the trigram index has nothing to look up
        ({"search": "de la le"}, {}),
        ({"search": "martin"}, {"search_column": "search_public"}),  # an account's public search column
        ({"search": "martin"}, {"dialect": "postgresql"}),
        ({"search": "martin"}, {"resource": RESOURCES["groups"]}),  # no full-text index
    ],
)
def test_full_text_declines(params: dict[str, Any], context: dict[str, Any]) -> None:
    query = query_for(params, **context)
    assert fulltext.search_clauses(query) is None
    assert fulltext.total_sql(query) is None and fulltext.page_ids_sql(query) is None
    assert fast_sql(query) == FastSql()  # nor do the range counts answer a search


@pytest.mark.parametrize(
    ("params", "context"),
    [
        ({"search": "martin le"}, {}),  # a short word is checked on the rows
        ({"search": "martin", "conditions": ON_UPDATED}, {}),
        ({"search": "martin"}, {"filters": [('t."externid" = ?', [7])]}),
        ({"search": "martin"}, {"plain_scope": False}),
        ({"search": "martin"}, {"groups": None}),
        ({"search": "martin"}, {"groups": tuple(range(1, 22))}),  # more groups than ranges read
    ],
)
def test_full_text_total_and_page_decline_unless_the_words_alone_narrow_the_groups(
    params: dict[str, Any], context: dict[str, Any]
) -> None:
    query = query_for(params, **context)
    assert fulltext.search_clauses(query) is not None
    assert fulltext.total_sql(query) is None and fulltext.page_ids_sql(query) is None


def test_full_text_page_needs_one_group_and_the_id_order() -> None:
    assert fulltext.page_ids_sql(query_for({"search": "martin"})) is not None
    assert fulltext.page_ids_sql(query_for({"search": "martin", "sort": "lastname"})) is None
    assert fulltext.page_ids_sql(query_for({"search": "martin", "sort": "id"})) is None
    two = query_for({"search": "martin"}, groups=(1, 2))
    assert fulltext.total_sql(two) is not None and fulltext.page_ids_sql(two) is None


def test_where_every_fast_path_declines_the_sql_is_the_plain_sql() -> None:
    request = request_for({"search": "le", "conditions": cond(("lastname", "=", "x")), "sort": "lastname"})
    for dialect, like in (("sqlite", "LIKE"), ("postgresql", "ILIKE")):
        built = build_list_sql(FICHES, 't."id"', ['t."group_id" = ?'], [1], request, like, dialect, (1,), True)
        assert built == plain_list_sql(FICHES, 't."id"', ['t."group_id" = ?'], [1], request, like, dialect)


def test_the_plain_path_reads_no_derived_data() -> None:
    requests: list[dict[str, Any]] = [{}, {"search": "martin"}, {"conditions": ON_UPDATED}, {"search": "martin le"}]
    for params in requests:
        plain = plain_list_sql(FICHES, 't."id"', ['t."group_id" = ?'], [1], request_for(params), "LIKE", "sqlite")
        text = plain.count_sql + plain.page_sql
        assert "fts" not in text and "range_counts" not in text, params


# -- the plain path alone gives the same answers ----------------------------------------------------------


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    url = "sqlite:///" + str(tmp_path_factory.mktemp("fast_paths") / "t.db")
    upgrade(url)
    database = Database(url)
    for i in range(GROUPS):
        admin.create(database, Settings(), "groups", {"name": f"G{i + 1}"})
    with database.connect() as conn:
        for i in range(ROWS):
            lastname, firstname = NAMES[i * 7 % len(NAMES)], FIRSTNAMES[i // 4 % len(FIRSTNAMES)]
            # spread over 40 buckets around BASE, a few NULLs: whole and partial buckets both count
            updated = None if i % 17 == 0 else BASE + (i * 92_821) % (40 * W) - 20 * W
            conn.execute(
                "INSERT INTO fiches (group_id, lastname, firstname, updated_at, created_at, deleted, search_text) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (i % GROUPS + 1, lastname, firstname, updated, BASE + i * 600, i % 5 == 0,
                 search_document([lastname, firstname])),
            )
    yield database
    database.close()


def answers(db: Database, sql: ListSql) -> tuple[int, list[int]]:
    """The total and the page's ids."""
    with db.connect() as conn:
        total = int(conn.scalar(sql.count_sql, sql.count_params))
        return total, [int(r[0]) for r in conn.all(sql.page_sql, sql.page_params)]


PARAMS: list[dict[str, Any]] = [
    {},
    {"results": "all"},
    {"results": "7", "startIndex": "11"},
    {"conditions": cond(("updated_at", ">=", "2026-01-01"))},
    {"conditions": cond(("updated_at", ">", "2025-12-20 13:00"), ("updated_at", "<=", "2026-01-09 07:30"))},
    {"conditions": cond(("updated_at", ">=", utc(EDGE + 600)), ("updated_at", "<", utc(EDGE + 40_000)))},
    {"conditions": cond(("updated_at", ">=", utc(EDGE - 1)), ("updated_at", "<=", utc(EDGE + 3 * W)))},
    {"conditions": cond(("updated_at", "=", utc(EDGE + 3 * W)))},
    {"conditions": cond(("updated_at", "<", "2025-12-24"))},
    {"conditions": cond(("updated_at", ">", "2026-02-01"), ("updated_at", "<", "2026-01-01"))},
    {"conditions": cond(("created_at", "<", "2026-01-02"))},
    {"conditions": cond(("lastname", "=", "martin"))},
    {"search": "mar"},
    {"search": "martin", "results": "4", "startIndex": "2"},
    {"search": "martin", "results": "all", "startIndex": "5"},
    {"search": "martin le"},
    {"search": "le"},
    {"search": "dur zoé", "sort": "lastname", "dir": "desc"},
    {"search": "mar", "conditions": cond(("updated_at", ">=", "2026-01-01"))},
    {"search": "nobody"},
    {"search": "tin", "startIndex": "1000"},
]
SCOPES: list[tuple[Sequence[int] | None, bool]] = [
    ((1,), True),
    ((2, 3), True),
    (tuple(range(1, GROUPS + 1)), True),
    (tuple(range(1, 25)), True),  # more groups than the index reads one range each
    ((1,), False),
    (None, False),
]


@pytest.mark.parametrize("params", PARAMS, ids=[str(p) for p in PARAMS])
def test_the_plain_path_alone_gives_the_same_totals_and_pages(db: Database, params: dict[str, Any]) -> None:
    for groups, plain_scope in SCOPES:
        for filtered in (False, True):
            request = request_for(params)
            if filtered:
                request.filters.append(('t."firstname" != ?', ["al"]))
            where: list[str] = []
            where_params: list[Any] = []
            if groups is not None:
                sql, values = in_list('t."group_id"', groups)
                where, where_params = [sql], values
            if not plain_scope:
                where, where_params = [*where, 't."deleted" = ?'], [*where_params, 0]
            built = build_list_sql(FICHES, 't."id"', where, where_params, request, "LIKE", "sqlite", groups,
                                   plain_scope)
            plain = plain_list_sql(FICHES, 't."id"', where, where_params, request, "LIKE", "sqlite")
            assert answers(db, built) == answers(db, plain), (params, groups, plain_scope, filtered)


def test_the_comparison_covers_every_fast_part(db: Database) -> None:
    """The requests above do reach each fast path (not only the plain SQL on both sides)."""
    used = {"range total": 0, "index total": 0, "index page": 0, "index ids": 0}
    for params in PARAMS:
        for groups, plain_scope in SCOPES:
            fast = fast_sql(list_query(FICHES, request_for(params), "sqlite", groups, plain_scope))
            used["range total"] += fast.total is not None and "range_counts" in fast.total[0]
            used["index total"] += fast.total is not None and "fiches_fts" in fast.total[0]
            used["index page"] += fast.page_ids is not None
            used["index ids"] += fast.search is not None
    assert all(used.values()), used
