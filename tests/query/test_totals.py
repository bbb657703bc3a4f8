"""Totals and search pages from SQLite's derived data (db/derived.py; query/range_counts.py and
query/fulltext.py) against the plain SQL they replace, on a real migrated SQLite database, after
random inserts, updates and deletes that only the triggers keep track of."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openrdv import admin
from openrdv.agenda.zones import zone
from openrdv.db.derived import BUCKET_BITS, GROUP_SHIFT, rebuild_derived
from openrdv.db.engine import Conn, Database
from openrdv.migrations import upgrade
from openrdv.query.collection import build_list_sql, parse_collection
from openrdv.query.conditions import Condition, condition_sql
from openrdv.query.fulltext import matching_page_ids_sql, matching_total_sql
from openrdv.query.range_counts import range_total_sql
from openrdv.registry import RESOURCES
from openrdv.settings import Settings

FICHES = RESOURCES["fiches"]
VEVENTS = RESOURCES["vevents"]
UPDATED_AT = FICHES.by_name["updated_at"]
W = 1 << BUCKET_BITS
# values around bucket edges (negative ones too: dates before 1970), and anywhere
EDGES = [k * W + d for k in range(-2, 4) for d in (-1, 0, 1)]
instants = st.one_of(st.none(), st.sampled_from(EDGES), st.integers(-3 * W, 4 * W))
LETTERS = "abcé"
texts = st.text(alphabet=LETTERS + " ", max_size=12)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    url = "sqlite:///" + str(tmp_path_factory.mktemp("totals") / "t.db")
    upgrade(url)
    database = Database(url)
    for name in ("G1", "G2", "G3"):
        admin.create(database, Settings(), "groups", {"name": name})
    yield database
    database.close()


def rolled_back(db: Database) -> Any:
    """A connection inside a transaction rolled back afterwards: each example starts empty."""

    class _Ctx:
        def __enter__(self) -> Conn:
            self.cm = db.connect()
            self.conn = self.cm.__enter__()
            self.conn.execute("BEGIN")
            return self.conn

        def __exit__(self, *exc: object) -> None:
            self.conn.execute("ROLLBACK")
            self.cm.__exit__(None, None, None)

    return _Ctx()


Op = tuple[str, int, Any, Any]
operations = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(1, 3), instants, texts),
        st.tuples(st.just("update"), st.integers(0, 30), instants, texts),
        st.tuples(st.just("move"), st.integers(0, 30), st.integers(1, 3), st.none()),
        st.tuples(st.just("delete"), st.integers(0, 30), st.none(), st.none()),
    ),
    max_size=40,
)


def apply(conn: Conn, ops: list[Op]) -> None:
    for kind, a, b, c in ops:
        ids = [r[0] for r in conn.all("SELECT id FROM fiches ORDER BY id")]
        if kind == "insert":
            conn.execute(
                "INSERT INTO fiches (group_id, lastname, updated_at, created_at, search_text) VALUES (?, ?, ?, ?, ?)",
                (a, c, b, b, c),
            )
        elif ids and kind == "update":
            conn.execute("UPDATE fiches SET updated_at = ?, search_text = ? WHERE id = ?", (b, c, ids[a % len(ids)]))
        elif ids and kind == "move":
            conn.execute("UPDATE fiches SET group_id = ? WHERE id = ?", (b, ids[a % len(ids)]))
        elif ids and kind == "delete":
            conn.execute("DELETE FROM fiches WHERE id = ?", (ids[a % len(ids)],))


def range_counts(conn: Conn) -> set[tuple[Any, ...]]:
    return set(conn.all("SELECT tbl, col, group_id, bucket, n FROM range_counts WHERE n != 0"))


comparisons = st.lists(
    st.tuples(st.sampled_from(["=", ">", ">=", "<", "<="]), st.sampled_from(EDGES) | st.integers(-3 * W, 4 * W)),
    max_size=3,
)
group_sets = st.sampled_from([(1,), (2,), (1, 2), (1, 2, 3)])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations, queries=st.lists(st.tuples(group_sets, comparisons), min_size=1, max_size=6))
def test_range_totals_equal_the_counted_rows(db: Database, ops: list[Op], queries: list[Any]) -> None:
    with rolled_back(db) as conn:
        apply(conn, ops)
        kept = range_counts(conn)
        rebuild_derived(conn, "fiches")
        assert range_counts(conn) == kept, "the triggers and a rebuild disagree"
        for groups, comparisons_ in queries:
            conditions = [Condition(f"conditions[{i}]", UPDATED_AT, op, v) for i, (op, v) in enumerate(comparisons_)]
            built = range_total_sql(FICHES, groups, conditions)
            assert built is not None
            clauses = [f"group_id IN ({', '.join('?' for _ in groups)})"]
            params: list[Any] = list(groups)
            for cond in conditions:
                sql, values = condition_sql(cond, "LIKE")
                clauses.append(sql)
                params += values
            expected = conn.scalar(f"SELECT count(*) FROM fiches WHERE {' AND '.join(clauses)}", params)
            assert conn.scalar(*built) == expected, (groups, comparisons_)


def test_range_totals_decline_what_they_cannot_answer() -> None:
    lastname = FICHES.by_name["lastname"]
    created = FICHES.by_name["created_at"]
    assert range_total_sql(FICHES, (1,), [Condition("c", lastname, "=", "x")]) is None
    assert range_total_sql(FICHES, (1,), [Condition("c", UPDATED_AT, "!=", 5)]) is None
    assert range_total_sql(FICHES, (1,), [Condition("c", UPDATED_AT, "=", None)]) is None
    assert range_total_sql(FICHES, (1,), [Condition("c", UPDATED_AT, "IN", [1, 2])]) is None
    two = [Condition("a", UPDATED_AT, ">", 5), Condition("b", created, ">", 5)]
    assert range_total_sql(FICHES, (1,), two) is None
    assert range_total_sql(FICHES, (), []) is None
    assert range_total_sql(RESOURCES["calendars"], (1,), []) is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=operations,
    words=st.lists(st.text(alphabet=LETTERS + " ", min_size=3, max_size=4), min_size=1, max_size=2),
    groups=group_sets,
    limit=st.sampled_from([None, 1, 3]),
    offset=st.integers(0, 4),
)
def test_search_through_group_ranges_equals_a_scan(
    db: Database, ops: list[Op], words: list[str], groups: tuple[int, ...], limit: int | None, offset: int
) -> None:
    match = " AND ".join('"' + w + '"' for w in words)
    with rolled_back(db) as conn:
        apply(conn, ops)
        likes = " AND ".join("search_text LIKE ?" for _ in words)
        marks = ", ".join("?" for _ in groups)
        expected = [
            r[0]
            for r in conn.all(
                f"SELECT id FROM fiches WHERE group_id IN ({marks}) AND {likes} ORDER BY id",
                [*groups, *(f"%{w}%" for w in words)],
            )
        ]
        total = matching_total_sql("fiches", groups, match)
        assert total is not None and conn.scalar(*total) == len(expected)
        page = matching_page_ids_sql("fiches", groups[0], match, limit, offset)
        in_first = [i for i in expected if conn.scalar("SELECT group_id FROM fiches WHERE id = ?", (i,)) == groups[0]]
        wanted = in_first[offset:] if limit is None else in_first[offset : offset + limit]
        assert [r[0] for r in conn.all(*page)] == wanted


def test_collection_sql_uses_the_derived_data_only_where_it_answers_alone(db: Database) -> None:
    paris = zone("Europe/Paris")

    def sql_for(params: dict[str, Any], plain: bool = True, groups: tuple[int, ...] = (1,)) -> Any:
        request = parse_collection(params, FICHES, "pro", paris)
        return build_list_sql(FICHES, 't."id"', ['t."group_id" = ?'], [1], request, "LIKE", "sqlite", groups, plain)

    cond = {"0": {"field": "updated_at", "op": ">=", "value": "2026-01-01"}}
    assert "range_counts" in sql_for({}).count_sql
    assert "range_counts" in sql_for({"conditions": cond}).count_sql
    assert "range_counts" not in sql_for({"conditions": cond}, plain=False).count_sql
    other = {"0": {"field": "lastname", "op": "=", "value": "x"}}
    assert "range_counts" not in sql_for({"conditions": other}).count_sql
    searched = sql_for({"search": "martin"})
    assert "fiches_fts" in searched.count_sql and '"fiches" t' not in searched.count_sql
    assert "ORDER BY rowid LIMIT" in searched.page_sql
    assert "ORDER BY rowid LIMIT" not in sql_for({"search": "martin", "sort": "lastname"}).page_sql
    # a word too short for the trigram index is checked on the rows: the plain count
    assert '"fiches" t' in sql_for({"search": "martin le"}).count_sql
    # PostgreSQL never reads SQLite's derived tables
    request = parse_collection({"search": "martin"}, FICHES, "pro", paris)
    pg = build_list_sql(FICHES, 't."id"', ['t."group_id" = ?'], [1], request, "ILIKE", "postgresql", (1,), True)
    assert "fts" not in pg.count_sql and "range_counts" not in pg.count_sql


def test_every_counted_field_has_an_index_for_its_partial_buckets() -> None:
    for resource in RESOURCES.values():
        for name in resource.counted:
            assert resource.by_name[name].kind.value == "datetime", (resource.name, name)
            assert any(tuple(ix[:2]) == ("group_id", name) for ix in resource.indexes), (resource.name, name)


def test_group_ranges_leave_room_for_ids_and_groups() -> None:
    assert GROUP_SHIFT + 23 <= 63  # group ids up to 8 million, ids up to a trillion, in a signed rowid
    assert VEVENTS.counted and FICHES.counted
