"""Collection parameters (CONTRACT §4: results, startIndex, sort/dir, search) against real SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrdv import admin
from openrdv.agenda.zones import zone
from openrdv.db.engine import Database
from openrdv.errors import ValidationFailed
from openrdv.migrations import upgrade
from openrdv.model.declaration import Resource
from openrdv.query.collection import (
    DEEP_OFFSET,
    DEFAULT_PAGE,
    STREAM_ABOVE,
    CollectionRequest,
    build_list_sql,
    filter_value,
    parse_collection,
)
from openrdv.query.search import MAX_ONE_LETTER_WORDS, MAX_SEARCH_LENGTH, MAX_SEARCH_WORDS, search_words
from openrdv.registry import RESOURCES
from openrdv.settings import Settings

# the schema module (not under test here) still calls SQLAlchemy's deprecated Column.copy()

GROUPS = RESOURCES["groups"]
PROS = RESOURCES["pros"]
FICHES = RESOURCES["fiches"]
PARIS = zone("Europe/Paris")

# rows 1..7 are for search; 8..30 repeat small pools of values so that sorts have many ties
SEARCH_ROWS = [
    ("Cabinet Éloïse", "Paris", "75001"),
    ("Cabinet Dupont", "Lyon", "69001"),
    ("Éloïse Martin", "Cabourg", "14390"),
    ("Garage 100%", "Marseille", "13001"),
    ("Garage_Central", "Nice", "06000"),
    ("GarageXCentral", "Nice", "06100"),
    ("ab", "cd", ""),
]
POOL_NAMES = ["Studio Nord", "atelier sud", "Atelier Sud", "Zen", "studio nord"]
POOL_CITIES = ["Brest", "Agen", "", "Brest"]
N = 30


def create_db(path: Any) -> Database:
    url = "sqlite:///" + str(path)
    upgrade(url)
    return Database(url)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = create_db(tmp_path_factory.mktemp("collection") / "t.db")
    cfg = Settings()
    base = PARIS.parse("2026-05-01 10:00")
    for i in range(N):
        if i < len(SEARCH_ROWS):
            name, city, zipcode = SEARCH_ROWS[i]
        else:
            name, city, zipcode = POOL_NAMES[i % 5], POOL_CITIES[i % 4], str(10000 + i % 3)
        record = admin.create(
            database, cfg, "groups",
            {"name": name, "city": city, "zipcode": zipcode, "mailreminder": [0, 15, 30][i % 3],
             "sendmail": i % 2 == 0, "inactive": "1" if i % 5 == 0 else "0", "urlname": f"g-{i}"},
        )
        assert record["id"] == i + 1
    with database.connect() as conn:
        for i in range(N):
            created = None if i % 7 == 3 else base + (i % 4) * 3600
            conn.execute("UPDATE groups SET created_at = ? WHERE id = ?", (created, i + 1))
    for last, first, email in [("Martin", "Léa", "lea@example.fr"), ("Durand", "Paul", "paul@example.fr"),
                               ("martin", "Zoé", "zoe@example.org")]:
        admin.create(database, cfg, "pros", {"lastname": last, "firstname": first, "email": email,
                                                "password": "secret123"}, group_id=1)
    yield database
    database.close()


def request_for(params: dict[str, Any], resource: Resource = GROUPS) -> CollectionRequest:
    return parse_collection(params, resource, "pro", PARIS)


def run(
    db: Database,
    params: dict[str, Any],
    resource: Resource = GROUPS,
    where: list[str] | None = None,
    where_params: list[Any] | None = None,
) -> tuple[int, list[int]]:
    request = request_for(params, resource)
    sql = build_list_sql(resource, 't."id"', where or [], where_params or [], request, "LIKE", "sqlite")
    with db.connect() as conn:
        total = int(conn.scalar(sql.count_sql, sql.count_params))
        rows = conn.all(sql.page_sql, sql.page_params)
    return total, [int(r[0]) for r in rows]


def refused(params: dict[str, Any], name: str, resource: Resource = GROUPS) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        request_for(params, resource)
    exc = info.value
    assert exc.errors is not None and list(exc.errors) == [name], exc.errors
    assert name in exc.message and exc.status == 400
    return exc


def column(db: Database, table: str, col: str) -> list[tuple[int, Any]]:
    with db.connect() as conn:
        return [(int(r[0]), r[1]) for r in conn.all(f'SELECT id, "{col}" FROM {table} ORDER BY id')]


def expected_order(rows: list[tuple[int, Any]], descending: bool) -> list[int]:
    """SQLite's order: NULL first ascending (last descending), ties by id ascending."""
    by_id = sorted(rows, key=lambda r: r[0])
    ordered = sorted(by_id, key=lambda r: (r[1] is not None, r[1]), reverse=descending)
    return [r[0] for r in ordered]


def table_intact(db: Database) -> None:
    with db.connect() as conn:
        assert conn.scalar("SELECT count(*) FROM groups") == N
        assert conn.scalar("SELECT count(*) FROM pros") == 3


# -- results ------------------------------------------------------------------------------------------


def test_results_default(db: Database) -> None:
    request = request_for({})
    assert request.results == DEFAULT_PAGE == 25
    assert request.start_index == 0 and request.sort is None and request.dir_param is None
    assert not request.streamed
    assert run(db, {}) == (N, list(range(1, 26)))
    assert run(db, {"results": ""}) == (N, list(range(1, 26)))


@pytest.mark.parametrize("value", ["5", 5, " 5 ", "5.0", ["9", "5"]])
def test_results_number(db: Database, value: Any) -> None:
    assert run(db, {"results": value}) == (N, [1, 2, 3, 4, 5])


@pytest.mark.parametrize("value", ["all", "ALL", "All", " all "])
def test_results_all(db: Database, value: str) -> None:
    request = request_for({"results": value})
    assert request.results is None and request.streamed
    assert run(db, {"results": value}) == (N, list(range(1, N + 1)))


def test_big_pages_are_streamed() -> None:
    assert not request_for({"results": str(STREAM_ABOVE)}).streamed
    assert request_for({"results": str(STREAM_ABOVE + 1)}).streamed


@pytest.mark.parametrize(
    "value", ["0", 0, "-1", -1, "x", "1.5", "all pages", "1e99", {"a": "1"}, "5; DROP TABLE groups"]
)
def test_results_invalid(db: Database, value: Any) -> None:
    refused({"results": value}, "results")
    table_intact(db)


# -- startIndex ---------------------------------------------------------------------------------------


def test_start_index(db: Database) -> None:
    assert run(db, {"results": "5", "startIndex": "5"}) == (N, [6, 7, 8, 9, 10])
    assert run(db, {"results": "5", "startIndex": 27}) == (N, [28, 29, 30])
    assert run(db, {"startIndex": "10"}) == (N, list(range(11, 31)))
    assert run(db, {"results": "all", "startIndex": "28"}) == (N, [29, 30])
    assert run(db, {"startIndex": ""}) == (N, list(range(1, 26)))


@pytest.mark.parametrize("start", [N, N + 1, 500, DEEP_OFFSET, DEEP_OFFSET + 7, 2**62])
def test_start_index_past_the_end(db: Database, start: int) -> None:
    assert run(db, {"results": "10", "startIndex": str(start)}) == (N, [])
    assert run(db, {"results": "all", "startIndex": str(start)}) == (N, [])
    assert run(db, {"results": "10", "startIndex": str(start), "sort": "name", "dir": "desc"}) == (N, [])


@pytest.mark.parametrize("value", ["-1", "x", "1.5", {"a": "1"}])
def test_start_index_invalid(value: Any) -> None:
    refused({"startIndex": value}, "startIndex")


# -- sort / dir ---------------------------------------------------------------------------------------

SORTABLE = [f.name for f in GROUPS.readable("pro") if not f.virtual and f.sortable]


@pytest.mark.parametrize("field", SORTABLE)
@pytest.mark.parametrize("direction", ["asc", "desc", "ASC", "Desc", None])
def test_sort_every_readable_field(db: Database, field: str, direction: str | None) -> None:
    params: dict[str, Any] = {"sort": field, "results": "all"}
    if direction is not None:
        params["dir"] = direction
    request = request_for(params)
    assert request.sort_param == field
    assert request.dir_param == (direction.lower() if direction else None)
    descending = direction is not None and direction.lower() == "desc"
    col = GROUPS.by_name[field].col
    expected = expected_order(column(db, "groups", col), descending)
    assert run(db, params) == (N, expected)


def test_sort_ties_by_id(db: Database) -> None:
    # mailreminder takes 3 values; inside each value, ids ascend, in both directions
    _, asc = run(db, {"sort": "mailreminder", "results": "all"})
    _, desc = run(db, {"sort": "mailreminder", "dir": "desc", "results": "all"})
    assert asc[:10] == [i + 1 for i in range(N) if i % 3 == 0]
    assert desc[:10] == [i + 1 for i in range(N) if i % 3 == 2]


def test_sort_nulls(db: Database) -> None:
    _, asc = run(db, {"sort": "created_at", "results": "all"})
    _, desc = run(db, {"sort": "created_at", "dir": "desc", "results": "all"})
    nulls = [i + 1 for i in range(N) if i % 7 == 3]
    assert asc[: len(nulls)] == nulls
    assert desc[-len(nulls):] == nulls


def test_dir_without_sort_orders_by_id(db: Database) -> None:
    assert run(db, {"dir": "desc", "results": "5"}) == (N, [1, 2, 3, 4, 5])


def test_sort_on_pros(db: Database) -> None:
    pro_sortable = [f.name for f in PROS.readable("pro") if not f.virtual and f.sortable]
    assert "password" not in pro_sortable and "group_ids" not in pro_sortable
    total, ordered = run(db, {"sort": "lastname", "dir": "desc"}, PROS)
    assert total == 3 and ordered == [3, 1, 2]  # 'martin' > 'Martin' > 'Durand'
    assert run(db, {"sort": "firstname"}, PROS)[1] == [1, 2, 3]


@pytest.mark.parametrize(
    "sort",
    ["nope", "name; drop table groups", "name desc", "name, id", "search_text", "t.name", "1", "NAME",
     'name"', "(select 1)", "name --"],
)
def test_sort_unknown_field(db: Database, sort: str) -> None:
    refused({"sort": sort}, "sort")
    table_intact(db)


@pytest.mark.parametrize("sort", ["password", "password_hash", "group_ids", "credential_version"])
def test_sort_unreadable_or_virtual_field(sort: str) -> None:
    refused({"sort": sort}, "sort", PROS)


@pytest.mark.parametrize("direction", ["up", "descending", "desc; drop table groups", "1", {"a": "b"}])
def test_dir_invalid(db: Database, direction: Any) -> None:
    refused({"sort": "name", "dir": direction}, "dir")
    table_intact(db)


def test_blank_sort_is_no_sort(db: Database) -> None:
    request = request_for({"sort": " ", "dir": ""})
    assert request.sort is None and request.sort_param is None and request.dir_param is None


# -- paging is stable ---------------------------------------------------------------------------------

_CONDITIONS = st.sampled_from([
    None,
    {"0": {"field": "sendmail", "op": "=", "value": "1"}},
    {"0": {"field": "created_at", "op": "!=", "value": "null"}},
    {"0": {"field": "city", "op": "in", "value": "Brest,Agen,Nice"}},
    {"0": {"field": "id", "op": ">", "value": "40"}},
])


@settings(max_examples=150, deadline=None)
@given(
    sort=st.sampled_from([None, *SORTABLE]),
    direction=st.sampled_from([None, "asc", "desc", "DESC", "Asc"]),
    size=st.integers(1, 12),
    conditions=_CONDITIONS,
    search=st.sampled_from([None, "", "studio", "nord studio", "e"]),
)
def test_walking_pages_yields_every_id_once(
    db: Database, sort: str | None, direction: str | None, size: int, conditions: Any, search: str | None
) -> None:
    base: dict[str, Any] = {}
    if sort is not None:
        base["sort"] = sort
    if direction is not None:
        base["dir"] = direction
    if conditions is not None:
        base["conditions"] = conditions
    if search is not None:
        base["search"] = search
    total, everything = run(db, {**base, "results": "all"})
    assert total == len(everything) == len(set(everything))
    walked: list[int] = []
    start = 0
    while True:
        page_total, page = run(db, {**base, "results": str(size), "startIndex": str(start)})
        assert page_total == total
        assert len(page) == min(size, max(0, total - start))
        if not page:
            break
        walked += page
        start += size
    assert walked == everything
    assert sorted(walked) == sorted(set(walked))
    if sort is not None:
        descending = direction is not None and direction.lower() == "desc"
        col = GROUPS.by_name[sort].col
        kept = set(everything)
        assert everything == [i for i in expected_order(column(db, "groups", col), descending) if i in kept]


# -- deep offsets -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = create_db(tmp_path_factory.mktemp("big") / "t.db")
    cfg = Settings()
    for i in range(DEEP_OFFSET + 30):
        admin.create(database, cfg, "groups", {"name": f"g{i % 17:02d}", "mailreminder": i % 4})
    yield database
    database.close()


def test_deep_offset_pages(big: Database) -> None:
    count = DEEP_OFFSET + 30
    assert run(big, {"results": "10", "startIndex": str(DEEP_OFFSET)}) == (
        count, list(range(DEEP_OFFSET + 1, DEEP_OFFSET + 11)))
    assert run(big, {"results": "10", "startIndex": str(DEEP_OFFSET + 25)}) == (
        count, list(range(DEEP_OFFSET + 26, count + 1)))
    assert run(big, {"results": "all", "startIndex": str(DEEP_OFFSET + 20)}) == (
        count, list(range(DEEP_OFFSET + 21, count + 1)))
    full = expected_order(column(big, "groups", "name"), True)
    for start in (DEEP_OFFSET - 5, DEEP_OFFSET, DEEP_OFFSET + 13):
        total, page = run(big, {"results": "7", "startIndex": str(start), "sort": "name", "dir": "desc"})
        assert total == count and page == full[start : start + 7]
    cond = {"0": {"field": "mailreminder", "op": "=", "value": "2"}}
    matching = [i for i in range(1, count + 1) if (i - 1) % 4 == 2]
    total, page = run(big, {"results": "all", "startIndex": "5", "conditions": cond})
    assert total == len(matching) and page == matching[5:]


def test_deep_offset_walk_is_stable(big: Database) -> None:
    seen: list[int] = []
    for start in range(0, DEEP_OFFSET + 30, 97):
        seen += run(big, {"results": "97", "startIndex": str(start), "sort": "mailreminder"})[1]
    assert len(seen) == DEEP_OFFSET + 30 and sorted(seen) == list(range(1, DEEP_OFFSET + 31))
    assert seen == expected_order(column(big, "groups", "mailreminder"), False)


# -- search -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("eloise cab", [1, 3]),  # every word somewhere in name, city or zipcode
        ("ELOÏSE CABINET", [1]),
        ("éloïse", [1, 3]),
        ("ÉLOISE", [1, 3]),
        ("cabinet", [1, 2]),
        ("cab  xyz", []),
        ("75001", [1]),
        ("cabourg martin eloise", [3]),
        ("100%", [4]),
        ("%", [4]),
        ("garage_central", [5]),
        ("_", [5]),
        ("garage central", [5, 6]),
        ("ab cd", [7]),
        ("bc", []),  # a word never matches across two fields
        ("b\x1fc", []),
        ("' OR 1=1 --", []),
        ("%' OR '1'='1", []),
    ],
)
def test_search(db: Database, term: str, expected: list[int]) -> None:
    request = request_for({"search": term})
    assert request.words
    assert run(db, {"search": term, "results": "all"}) == (len(expected), expected)
    table_intact(db)


def test_blank_search_matches_everything(db: Database) -> None:
    assert request_for({"search": "   "}).words == []
    assert run(db, {"search": " ", "results": "all"})[0] == N


def test_search_combines_with_conditions_and_paging(db: Database) -> None:
    cond = {"0": {"field": "id", "op": "!=", "value": "3"}}
    assert run(db, {"search": "eloise", "conditions": cond}) == (1, [1])
    pool = [i for i in range(8, N + 1) if POOL_NAMES[(i - 1) % 5].lower() == "studio nord"]
    assert run(db, {"search": "STUDIO", "results": "3", "startIndex": "2"}) == (len(pool), pool[2:5])


def test_search_length_limit(db: Database) -> None:
    assert run(db, {"search": "a" * MAX_SEARCH_LENGTH})[0] == 0
    exc = refused({"search": "a" * (MAX_SEARCH_LENGTH + 1)}, "search")
    assert "200" in exc.message


def test_search_on_pros(db: Database) -> None:
    assert run(db, {"search": "MARTIN"}, PROS) == (2, [1, 3])
    assert run(db, {"search": "lea martin"}, PROS) == (1, [1])
    assert run(db, {"search": "example.org"}, PROS) == (1, [3])
    assert run(db, {"search": "zoe durand"}, PROS) == (0, [])


def test_search_with_the_fulltext_index(tmp_path: Any) -> None:
    database = create_db(tmp_path / "fts.db")
    cfg = Settings()
    group = admin.create(database, cfg, "groups", {"name": "G"})["id"]
    people = [("Éloïse", "Cabinet", "e@x.fr"), ("Dupont", "Jean", "jd@x.fr"), ("Garage_Central", "", ""),
              ("Garage Central", "", ""), ("ab", "cd", "")]
    for last, first, email in people:
        admin.create(database, cfg, "fiches", {"lastname": last, "firstname": first, "email": email},
                        group_id=group)
    try:
        cases = [("eloise cab", [1]), ("ELOÏSE", [1]), ("dupont je", [2]), ("garage_central", [3]),
                 ("garage", [3, 4]), ("bcd", []), ('"eloise"', []), ("x.fr", [1, 2]), ("' OR 1=1 --", [])]
        for term, expected in cases:
            assert run(database, {"search": term}, FICHES) == (len(expected), expected), term
    finally:
        database.close()


# -- filters ------------------------------------------------------------------------------------------


def test_filter_value(db: Database) -> None:
    assert filter_value(GROUPS, "urlname", "g-3") == "g-3"
    assert filter_value(GROUPS, "urlname", ["g-1", "g-2"]) == "g-2"
    request = request_for({})
    spec = GROUPS.filter_by_name["urlname"]
    request.filters.append(spec.build("g-4", None))  # type: ignore[arg-type]
    sql = build_list_sql(GROUPS, 't."id"', [], [], request, "LIKE", "sqlite")
    with db.connect() as conn:
        assert [r[0] for r in conn.all(sql.page_sql, sql.page_params)] == [5]


def test_where_clauses_and_conditions_are_anded(db: Database) -> None:
    cond = {"0": {"field": "mailreminder", "op": "=", "value": "15"}}
    params = {"conditions": cond, "results": "all"}
    total, page = run(db, params, where=['t."sendmail" = ?'], where_params=[True])
    assert page == [i + 1 for i in range(N) if i % 3 == 1 and i % 2 == 0] and total == len(page)


def test_postgresql_sql_text(db: Database) -> None:
    request = request_for({"sort": "created_at", "dir": "desc", "results": "all", "startIndex": "3"})
    sql = build_list_sql(GROUPS, 't."id"', [], [], request, "ILIKE", "postgresql")
    assert 'ORDER BY t."created_at" DESC NULLS LAST, t."id" ASC OFFSET ?' in sql.page_sql
    assert sql.page_params == [3]
    asc = build_list_sql(GROUPS, 't."id"', [], [], request_for({"sort": "name"}), "ILIKE", "postgresql")
    assert 'ORDER BY t."name" ASC NULLS FIRST, t."id" ASC LIMIT ? OFFSET ?' in asc.page_sql


# -- what a search may cost (Hardening 12) ---------------------------------------------------------------


def test_search_words_drop_what_changes_no_result() -> None:
    assert search_words("Jean jean JEAN") == ["jean"]
    assert search_words("j jean e an") == ["jean"]  # each inside "jean": a row holding "jean" holds them
    assert search_words("martin j") == ["martin", "j"]
    assert search_words(" ".join("a" * 100)) == ["a"]


def test_search_word_limits(db: Database) -> None:
    studio = run(db, {"search": "studio"})
    assert studio[0] > 0
    assert run(db, {"search": " ".join(["STUDIO"] * 28)}) == studio
    assert run(db, {"search": "studio s t u d i o"}) == studio
    ten = " ".join(f"w{i}x" for i in range(MAX_SEARCH_WORDS))
    assert run(db, {"search": ten}) == (0, [])
    exc = refused({"search": ten + " w99x"}, "search")
    assert f"at most {MAX_SEARCH_WORDS}" in exc.message
    assert run(db, {"search": "studio " + " ".join("xy"[:MAX_ONE_LETTER_WORDS])}) == (0, [])
    exc = refused({"search": "studio x y z"}, "search")
    assert "one-letter" in exc.message
    # the reported case: a hundred one-letter words (deep startIndex or not) is refused before any SQL
    hundred = " ".join("abcdefghijklmnopqrstuvwxyz0123456789"[i % 36] for i in range(100))
    refused({"search": hundred, "startIndex": "900000"}, "search", FICHES)
    table_intact(db)


# -- fields a profile cannot read are never a filter (Hardening 4) ------------------------------------------


def test_a_filter_on_a_field_the_profile_cannot_read_is_refused() -> None:
    assert filter_value(FICHES, "externid", "5", "pro") == 5
    with pytest.raises(ValidationFailed) as info:
        filter_value(FICHES, "externid", "5", "account")
    assert list(info.value.errors or {}) == ["externid"]
    assert filter_value(RESOURCES["appointments"], "fiche_id", "5", "account") == 5


@pytest.mark.parametrize("value", ["-1", "9223372036854775808", "-9223372036854775808", "1.5", "x"])
def test_id_filters_are_ids(value: str) -> None:
    for resource in (RESOURCES["vevents"], RESOURCES["appointments"]):
        for name in ("calendar_id", "fiche_id"):
            with pytest.raises(ValidationFailed) as info:
                filter_value(resource, name, value)
            assert list(info.value.errors or {}) == [name]
    assert filter_value(RESOURCES["vevents"], "fiche_id", "0") == 0  # events without a fiche
    assert filter_value(RESOURCES["vevents"], "calendar_id", str(2**63 - 1)) == 2**63 - 1


def test_an_account_searches_appointments_in_what_it_may_read_only(tmp_path: Any) -> None:
    """The stored search text of vevents holds `taker` and `text`, which an account cannot read: its
    search of appointments matches the comments alone (the one search field it may read)."""
    database = create_db(tmp_path / "appointments.db")
    cfg = Settings()
    group = admin.create(database, cfg, "groups", {"name": "G"})["id"]
    calendar = admin.create(database, cfg, "calendars", {"name": "C", "publicname": "C"}, group_id=group)["id"]
    service = admin.create(database, cfg, "interventions", {"name": "S", "publicname": "S"}, group_id=group)["id"]
    fiche = admin.create(database, cfg, "fiches", {"lastname": "Durand"}, group_id=group)["id"]
    admin.create(database, cfg, "vevents", {
        "calendar_id": calendar, "fiche_id": fiche, "intervention_id": service, "start": "2030-01-07 10:00",
        "end": "2030-01-07 10:30", "text": "Durand", "taker": "Secretnote Martin", "comments": "Bring the X-ray",
    }, group_id=group)
    appointments = RESOURCES["appointments"]

    def found(term: str, profile: Any) -> int:
        request = parse_collection({"search": term}, appointments, profile, PARIS)
        sql = build_list_sql(appointments, 't."id"', [], [], request, "LIKE", "sqlite")
        with database.connect() as conn:
            return int(conn.scalar(sql.count_sql, sql.count_params))

    try:
        assert found("secretnote", "pro") == 1 and found("secretnote", "account") == 0
        assert found("secr", "account") == 0 and found("durand", "account") == 0
        assert found("x-ray", "account") == 1 and found("BRING ray", "account") == 1
        assert found("x-ray", "pro") == 1
    finally:
        database.close()
