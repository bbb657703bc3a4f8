"""`conditions[i][field|op|value]` (CONTRACT §4) against a real SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrdv import admin
from openrdv.agenda.zones import zone
from openrdv.db.engine import Database
from openrdv.errors import ValidationFailed
from openrdv.migrations import upgrade
from openrdv.query.conditions import (
    MAX_CONDITIONS,
    MAX_IN_ITEMS,
    Condition,
    condition_sql,
    parse_conditions,
)
from openrdv.registry import RESOURCES
from openrdv.settings import Settings

# the schema module (not under test here) still calls SQLAlchemy's deprecated Column.copy()

GROUPS = RESOURCES["groups"]
PROS = RESOURCES["pros"]
PARIS = zone("Europe/Paris")
NEW_YORK = zone("America/New_York")

# name, city, zipcode, mailreminder, sendmail, created_at (Paris wall time, None = NULL)
GROUP_ROWS: list[tuple[str, str, str, int, bool, str | None]] = [
    ("Cabinet Éloïse", "Paris", "75001", 0, True, "2026-01-10 09:00:00"),
    ("Salon Dupont", "Lyon", "69001", 60, False, "2026-03-29 03:00:00"),
    ("Dupont & Fils", "Paris", "75002", 120, True, "2026-03-29 01:59:59"),
    ("Garage 100%", "Marseille", "13001", 30, True, "2026-10-25T02:30:00+02:00"),  # fall-back, 1st
    ("Garage_Central", "", "", 0, False, "2026-10-25T02:30:00+01:00"),  # fall-back, 2nd
    ("O'Brien; DROP TABLE groups", "Lille", "59000", 1440, True, None),
    ("ÉCOLE élan", "Nice", "06000", 15, True, "2026-12-31 23:00:00"),
]
ALL = [1, 2, 3, 4, 5, 6, 7]


class Data:
    def __init__(self, db: Database, group_ids: list[int], pro_ids: list[int]) -> None:
        self.db = db
        self.group_ids = group_ids
        self.pro_ids = pro_ids


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Data]:
    path: Path = tmp_path_factory.mktemp("conditions") / "t.db"
    url = "sqlite:///" + str(path)
    upgrade(url)
    db = Database(url)
    cfg = Settings()
    group_ids = []
    for name, city, zipcode, reminder, sendmail, _ in GROUP_ROWS:
        record = admin.create(
            db, cfg, "groups",
            {"name": name, "city": city, "zipcode": zipcode, "mailreminder": str(reminder),
             "sendmail": "1" if sendmail else "0"},
        )
        group_ids.append(record["id"])
    assert group_ids == ALL
    with db.connect() as conn:
        for gid, row in zip(group_ids, GROUP_ROWS, strict=True):
            created = PARIS.parse(row[5]) if row[5] else None
            conn.execute("UPDATE groups SET created_at = ? WHERE id = ?", (created, gid))
    pro_ids = []
    for last, first, email in [("Martin", "Léa", "lea@example.fr"), ("Durand", "Paul", "paul@example.fr"),
                               ("martin", "Zoé", "zoe@example.org")]:
        pro = admin.create(db, cfg, "pros", {"lastname": last, "firstname": first, "email": email,
                                                "password": "secret123"}, group_id=1)
        pro_ids.append(pro["id"])
    with db.connect() as conn:
        synched = PARIS.parse("2026-02-01 12:00")
        conn.execute("UPDATE pros SET synched_at = ? WHERE id = ?", (synched, pro_ids[0]))
    yield Data(db, group_ids, pro_ids)
    db.close()


def select_ids(data: Data, resource: Any, conditions: list[Condition], alias: str = "t.") -> list[int]:
    clauses, params = [], []
    for cond in conditions:
        sql, values = condition_sql(cond, "LIKE", alias)
        clauses.append(sql)
        params.extend(values)
    where = " AND ".join(clauses) or "1 = 1"
    table = resource.table
    prefix = "t" if alias else table
    sql = f'SELECT {prefix}."id" FROM {table}{" t" if alias else ""} WHERE {where} ORDER BY {prefix}."id"'
    with data.db.connect() as conn:
        return [int(row[0]) for row in conn.all(sql, params)]


def ids(data: Data, raw: Any, resource: Any = GROUPS, tz: Any = PARIS) -> list[int]:
    return select_ids(data, resource, parse_conditions(raw, resource, "pro", tz))


def one(field: str, op: Any, value: Any) -> dict[str, Any]:
    return {"0": {"field": field, "op": op, "value": value}}


def refused(raw: Any, label: str, resource: Any = GROUPS, *words: str) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        parse_conditions(raw, resource, "pro", PARIS)
    exc = info.value
    assert exc.errors is not None and list(exc.errors) == [label], exc.errors
    assert label in exc.message
    assert exc.status == 400
    for word in words:
        assert word in exc.errors[label][0], exc.errors
    return exc


def groups_table_intact(data: Data) -> None:
    with data.db.connect() as conn:
        assert conn.scalar("SELECT count(*) FROM groups") == len(ALL)
        assert conn.scalar("SELECT count(*) FROM pros") == 3


# -- operators on an integer field --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("=", "60", [2]),
        ("==", "60", [2]),
        ("=", 60, [2]),
        ("!=", "0", [2, 3, 4, 6, 7]),
        ("<>", "0", [2, 3, 4, 6, 7]),
        (">", "30", [2, 3, 6]),
        (">=", "30", [2, 3, 4, 6]),
        ("<", "30", [1, 5, 7]),
        ("<=", "30", [1, 4, 5, 7]),
        ("in", "0,60", [1, 2, 5]),
        ("in", " 0 , 60 ", [1, 2, 5]),
        ("in", "[0, 60]", [1, 2, 5]),
        ("in", '["0", "60"]', [1, 2, 5]),
        ("in", ["0", "60"], [1, 2, 5]),
        ("IN", "15", [7]),
        ("not in", "0,60", [3, 4, 6, 7]),
        ("NOT IN", "[0,60,1440]", [3, 4, 7]),
        ("Not In", "0", [2, 3, 4, 6, 7]),
        ("in", "", []),
        ("not in", "", ALL),
        ("in", "[]", []),
    ],
)
def test_int_operators(data: Data, op: str, value: Any, expected: list[int]) -> None:
    assert ids(data, one("mailreminder", op, value)) == expected


def test_op_defaults_to_equals(data: Data) -> None:
    assert ids(data, {"0": {"field": "mailreminder", "value": "120"}}) == [3]


# -- boolean ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("=", "1", [1, 3, 4, 6, 7]),
        ("=", "true", [1, 3, 4, 6, 7]),
        ("=", "yes", [1, 3, 4, 6, 7]),
        ("=", "on", [1, 3, 4, 6, 7]),
        ("=", True, [1, 3, 4, 6, 7]),
        ("=", "0", [2, 5]),
        ("=", "false", [2, 5]),
        ("=", "no", [2, 5]),
        ("=", "off", [2, 5]),
        ("!=", "1", [2, 5]),
        ("<>", "false", [1, 3, 4, 6, 7]),
        ("in", "1,0", ALL),
        ("not in", "true", [2, 5]),
    ],
)
def test_bool_operators(data: Data, op: str, value: Any, expected: list[int]) -> None:
    assert ids(data, one("sendmail", op, value)) == expected


def test_bool_value_must_convert(data: Data) -> None:
    refused(one("sendmail", "=", "maybe"), "conditions[0]", GROUPS, "sendmail")


# -- string -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("=", "Paris", [1, 3]),
        ("!=", "Paris", [2, 4, 5, 6, 7]),
        ("<>", "Paris", [2, 4, 5, 6, 7]),
        (">", "M", [1, 3, 4, 7]),
        (">=", "Marseille", [1, 3, 4, 7]),
        ("<", "M", [2, 5, 6]),
        ("<=", "Lyon", [2, 5, 6]),
        ("like", "%ar%", [1, 3, 4]),
        ("LIKE", "PARIS", [1, 3]),
        ("like", "paris", [1, 3]),
        ("like", "_yon", [2]),
        ("like", "L%", [2, 6]),
        ("Like", "%", ALL),
        ("not like", "%ar%", [2, 5, 6, 7]),
        ("NOT LIKE", "l%", [1, 3, 4, 5, 7]),
        ("not  like", "%e", [1, 2, 3, 5]),
        ("in", "Paris,Lyon", [1, 2, 3]),
        ("in", '["Paris", "Nice"]', [1, 3, 7]),
        ("not in", "Paris,Lyon", [4, 5, 6, 7]),
    ],
)
def test_string_operators(data: Data, op: str, value: Any, expected: list[int]) -> None:
    assert ids(data, one("city", op, value)) == expected


def test_like_uses_the_callers_wildcards(data: Data) -> None:
    assert ids(data, one("name", "like", "%100%")) == [4]
    assert ids(data, one("name", "like", "Garage_Central")) == [5]
    assert ids(data, one("name", "like", "Garage%")) == [4, 5]
    assert ids(data, one("name", "like", "%dupont%")) == [2, 3]
    assert ids(data, one("name", "not like", "%dupont%")) == [1, 4, 5, 6, 7]


def test_string_equality_is_exact(data: Data) -> None:
    assert ids(data, one("name", "=", "Cabinet Éloïse")) == [1]
    assert ids(data, one("name", "=", "cabinet éloïse")) == []
    assert ids(data, one("name", "=", "O'Brien; DROP TABLE groups")) == [6]


def test_text_null_means_empty(data: Data) -> None:
    assert ids(data, one("city", "=", None)) == [5]
    assert ids(data, one("city", "=", "null")) == [5]
    assert ids(data, one("city", "!=", "NULL")) == [1, 2, 3, 4, 6, 7]
    assert ids(data, one("city", "<>", None)) == [1, 2, 3, 4, 6, 7]


# -- datetime (in the group's zone) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("=", "2026-01-10 09:00:00", [1]),
        ("=", "2026-01-10 09:00", [1]),
        ("=", "2026-01-10T08:00:00Z", [1]),
        (">=", "2026-03-29 03:00", [2, 4, 5, 7]),
        (">", "2026-03-29 03:00", [4, 5, 7]),
        ("<", "2026-03-29 03:00", [1, 3]),
        ("<=", "2026-03-29", [1]),
        ("<", "2026-03-30", [1, 2, 3]),
        ("!=", "2026-01-10 09:00", [2, 3, 4, 5, 6, 7]),  # NULL rows count as "different"
        # the ambiguous wall time is its first occurrence; an offset picks the second
        ("=", "2026-10-25 02:30", [4]),
        ("=", "2026-10-25T02:30:00+01:00", [5]),
        (">", "2026-10-25 02:30", [5, 7]),
        ("in", "2026-01-10 09:00,2026-12-31 23:00:00", [1, 7]),
        ("not in", "2026-01-10 09:00,2026-12-31 23:00:00", [2, 3, 4, 5]),
        ("in", '["2026-01-10 09:00", "2026-03-29 01:59:59"]', [1, 3]),
        ("=", None, [6]),
        ("=", "null", [6]),
        ("!=", "Null", [1, 2, 3, 4, 5, 7]),
        ("<>", None, [1, 2, 3, 4, 5, 7]),
    ],
)
def test_datetime_operators(data: Data, op: str, value: Any, expected: list[int]) -> None:
    assert ids(data, one("created_at", op, value)) == expected


def test_datetime_is_read_in_the_given_zone(data: Data) -> None:
    # 09:00 in Paris is 03:00 in New York
    assert ids(data, one("created_at", "=", "2026-01-10 03:00"), tz=NEW_YORK) == [1]
    assert ids(data, one("created_at", "=", "2026-01-10 09:00"), tz=NEW_YORK) == []


def test_datetime_gap_is_refused(data: Data) -> None:
    refused(one("created_at", ">", "2026-03-29 02:30"), "conditions[0]", GROUPS, "does not exist")


@pytest.mark.parametrize("value", ["yesterday", "2026-02-30", 1700000000, ["2026-01-01"], {"a": "b"}])
def test_datetime_value_must_convert(data: Data, value: Any) -> None:
    refused(one("created_at", "=", value), "conditions[0]")


def test_nullable_datetime_on_pros(data: Data) -> None:
    assert ids(data, one("synched_at", "=", None), PROS) == data.pro_ids[1:]
    assert ids(data, one("synched_at", "!=", None), PROS) == data.pro_ids[:1]
    assert ids(data, one("synched_at", "<", "2026-02-01 12:00:01"), PROS) == data.pro_ids[:1]


def test_int_null_is_sql_null(data: Data) -> None:
    assert ids(data, one("mailreminder", "=", None)) == []
    assert ids(data, one("mailreminder", "!=", None)) == ALL


# -- several conditions, indices, shapes --------------------------------------------------------------


def test_conditions_are_anded(data: Data) -> None:
    raw = {
        "0": {"field": "city", "op": "=", "value": "Paris"},
        "1": {"field": "mailreminder", "op": ">", "value": "0"},
    }
    assert ids(data, raw) == [3]


def test_any_indices_and_list_form(data: Data) -> None:
    raw = {
        "12": {"field": "sendmail", "op": "=", "value": "1"},
        "0": {"field": "city", "op": "like", "value": "%a%"},
        "5": {"field": "mailreminder", "op": "<", "value": "100"},
    }
    parsed = parse_conditions(raw, GROUPS, "pro", PARIS)
    assert [c.label for c in parsed] == ["conditions[0]", "conditions[5]", "conditions[12]"]
    assert select_ids(data, GROUPS, parsed) == [1, 4]
    as_list = [raw["0"], raw["5"], raw["12"]]
    parsed_list = parse_conditions(as_list, GROUPS, "pro", PARIS)
    assert [c.label for c in parsed_list] == ["conditions[0]", "conditions[1]", "conditions[2]"]
    assert select_ids(data, GROUPS, parsed_list) == [1, 4]


def test_error_names_the_index_used(data: Data) -> None:
    raw = {
        "0": {"field": "city", "op": "=", "value": "Paris"},
        "12": {"field": "nope", "op": "=", "value": "x"},
        "5": {"field": "city", "op": "=", "value": "Lyon"},
    }
    refused(raw, "conditions[12]", GROUPS, "nope")
    # numeric order: conditions[5] is reported before conditions[12]
    raw["5"] = {"field": "alsonope", "op": "=", "value": "x"}
    refused(raw, "conditions[5]", GROUPS, "alsonope")
    refused([raw["0"], raw["12"]], "conditions[1]")


def test_odd_index_keys_do_not_crash(data: Data) -> None:
    raw = {"²": {"field": "city", "op": "=", "value": "Paris"}, "a": {"field": "id", "op": ">", "value": "2"},
           "0" * 30: {"field": "sendmail", "value": "1"}}
    parsed = parse_conditions(raw, GROUPS, "pro", PARIS)
    assert {c.label for c in parsed} == {"conditions[²]", "conditions[a]", f"conditions[{'0' * 30}]"}
    assert select_ids(data, GROUPS, parsed) == [3]


def test_alias_is_optional(data: Data) -> None:
    parsed = parse_conditions(one("city", "=", "Paris"), GROUPS, "pro", PARIS)
    sql, params = condition_sql(parsed[0], "LIKE")
    assert sql == '"city" = ?' and params == ["Paris"]
    assert select_ids(data, GROUPS, parsed, alias="") == [1, 3]


def test_field_name_is_trimmed(data: Data) -> None:
    assert ids(data, one(" city ", "=", "Lyon")) == [2]


def test_empty_conditions(data: Data) -> None:
    assert parse_conditions({}, GROUPS, "pro", PARIS) == []
    assert parse_conditions([], GROUPS, "pro", PARIS) == []


# -- refusals -----------------------------------------------------------------------------------------


def test_unknown_field(data: Data) -> None:
    refused(one("colour", "=", "x"), "conditions[0]", GROUPS, "colour")


def test_unreadable_and_virtual_fields(data: Data) -> None:
    refused(one("password", "=", "x"), "conditions[0]", PROS, "password")
    refused(one("password_hash", "=", "x"), "conditions[0]", PROS)
    refused(one("search_text", "like", "%"), "conditions[0]", GROUPS)
    refused(one("group_ids", "in", "1"), "conditions[0]", PROS, "group_ids")


@pytest.mark.parametrize("op", ["~", "between", "is", "===", "=>", "likes", "", ["="], "not"])
def test_unknown_operator(data: Data, op: Any) -> None:
    refused(one("city", op, "x"), "conditions[0]", GROUPS, "operator")


@pytest.mark.parametrize("field", ["mailreminder", "sendmail", "created_at", "id"])
@pytest.mark.parametrize("op", ["like", "not like", "LIKE"])
def test_like_on_non_text_field(data: Data, field: str, op: str) -> None:
    refused(one(field, op, "1"), "conditions[0]", GROUPS, "text")


def test_missing_value_or_field(data: Data) -> None:
    refused({"3": {"field": "city", "op": "="}}, "conditions[3]", GROUPS, "value")
    refused({"3": {"op": "=", "value": "x"}}, "conditions[3]", GROUPS, "field")
    refused({"3": {"field": "", "op": "=", "value": "x"}}, "conditions[3]", GROUPS, "field")
    refused({"3": {"field": ["city"], "op": "=", "value": "x"}}, "conditions[3]", GROUPS, "field")
    refused({"3": "city"}, "conditions[3]")
    refused(["city"], "conditions[0]")


@pytest.mark.parametrize("raw", ["city", 3, None])
def test_conditions_not_a_hash(data: Data, raw: Any) -> None:
    refused(raw, "conditions")


@pytest.mark.parametrize("op", [">", ">=", "<", "<="])
def test_null_only_with_equality(data: Data, op: str) -> None:
    refused(one("created_at", op, None), "conditions[0]", GROUPS, "null")


@pytest.mark.parametrize("value", ["abc", "1.5", "1 or 1=1", "", ["1"], {"x": "1"}])
def test_int_value_must_convert(data: Data, value: Any) -> None:
    exc = refused(one("mailreminder", ">", value), "conditions[0]")
    assert "mailreminder" in exc.errors["conditions[0]"][0]  # type: ignore[index]


def test_in_item_limit(data: Data) -> None:
    items = list(range(1, MAX_IN_ITEMS + 1))
    assert ids(data, one("id", "in", ",".join(map(str, items)))) == ALL
    assert ids(data, one("id", "not in", str(items))) == []
    refused(one("id", "in", ",".join(map(str, [*items, 9999]))), "conditions[0]", GROUPS, "1000")
    refused(one("id", "not in", str([*items, 9999])), "conditions[0]", GROUPS, "1000")
    refused(one("city", "in", ["x"] * (MAX_IN_ITEMS + 1)), "conditions[0]", GROUPS, "1000")


def test_in_items_must_convert(data: Data) -> None:
    refused(one("id", "in", "1,two,3"), "conditions[0]", GROUPS, "id")
    refused(one("created_at", "in", "2026-01-01,soon"), "conditions[0]")


def test_condition_count_limit(data: Data) -> None:
    cond = {"field": "id", "op": ">", "value": "0"}
    assert ids(data, {str(i): cond for i in range(MAX_CONDITIONS)}) == ALL
    exc = refused({str(i): cond for i in range(MAX_CONDITIONS + 1)}, "conditions")
    assert "20" in exc.message
    refused([cond] * (MAX_CONDITIONS + 1), "conditions")


# -- injection ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field",
    ["id) or (1=1", "id; DROP TABLE groups", 'id" OR "1"="1', "name --", "t.id", "groups.id", "*", "1"],
)
def test_field_injection_is_refused(data: Data, field: str) -> None:
    refused(one(field, "=", "1"), "conditions[0]", GROUPS, "unknown field")
    groups_table_intact(data)


@pytest.mark.parametrize("op", ["= 1 OR 1=1 --", "= ? OR 1", "); DROP TABLE groups; --", "IS NOT"])
def test_operator_injection_is_refused(data: Data, op: str) -> None:
    refused(one("id", op, "1"), "conditions[0]", GROUPS, "operator")
    groups_table_intact(data)


@pytest.mark.parametrize(
    ("op", "value"),
    [
        ("=", "' or 1=1 --"),
        ("=", "Paris' OR '1'='1"),
        ("!=", "x') OR 1=1; DROP TABLE groups; --"),
        ("like", "%' OR '1'='1"),
        ("in", "Paris','x') OR 1=1 --"),
        ("not in", "'); DROP TABLE groups; --"),
        (">", "'; DROP TABLE pros; --"),
    ],
)
def test_values_are_bound(data: Data, op: str, value: str) -> None:
    parsed = parse_conditions(one("city", op, value), GROUPS, "pro", PARIS)
    sql, params = condition_sql(parsed[0], "LIKE", "t.")
    assert value not in sql and "'" not in sql.replace("''", "")
    assert params
    got = select_ids(data, GROUPS, parsed)
    if op in ("=", "like", "in"):
        assert got == []
    groups_table_intact(data)


def test_sql_text_has_only_placeholders(data: Data) -> None:
    parsed = parse_conditions(
        {
            "0": {"field": "city", "op": "in", "value": "a,b,c"},
            "1": {"field": "mailreminder", "op": "!=", "value": "5"},
            "2": {"field": "name", "op": "not like", "value": "%x%"},
        },
        GROUPS, "pro", PARIS,
    )
    rendered = [condition_sql(c, "ILIKE", "t.") for c in parsed]
    assert rendered == [
        ('t."city" IN (?, ?, ?)', ["a", "b", "c"]),
        ('(t."mailreminder" != ? OR t."mailreminder" IS NULL)', [5]),
        ("t.\"name\" NOT ILIKE ? ESCAPE ''", ["%x%"]),
    ]


# -- properties ---------------------------------------------------------------------------------------

_FIELDS = ["id", "name", "city", "zipcode", "mailreminder", "sendmail", "created_at", "timezone", "nope"]
_OPS = ["=", "!=", "<>", ">", ">=", "<", "<=", "like", "not like", "in", "not in", "LIKE", "x", None]
_VALUES = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.integers(-5, 2000).map(str),
    st.sampled_from(["null", "1,2", "[1, 2]", "2026-03-29 02:30", "2026-10-25 02:30", "true", "%a%"]),
    st.lists(st.text(max_size=3), max_size=3),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"field": st.sampled_from(_FIELDS), "op": st.sampled_from(_OPS), "value": _VALUES}
        ),
        max_size=4,
    )
)
def test_parse_only_raises_validation_failed_and_sql_runs(data: Data, raw: list[dict[str, Any]]) -> None:
    raw = [{k: v for k, v in entry.items() if v is not None or k == "value"} for entry in raw]
    try:
        parsed = parse_conditions(raw, GROUPS, "pro", PARIS)
    except ValidationFailed as exc:
        assert exc.errors is not None
        (label,) = exc.errors
        assert label.startswith("conditions[")
        return
    got = select_ids(data, GROUPS, parsed)
    assert set(got) <= set(ALL)
    groups_table_intact(data)


# -- dates at the edges (Hardening 7) ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["0001-01-01 00:00:00", "0001-01-01", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00",
     "1899-12-31 23:59:59", "2201-01-01"],
)
def test_datetime_condition_beyond_its_years_is_a_400(data: Data, value: str) -> None:
    for op in (">", "=", "in"):
        refused(one("created_at", op, value), "conditions[0]", GROUPS, "created_at", "years 1900 to 2200")
    groups_table_intact(data)


def test_datetime_condition_at_the_edges_of_its_years(data: Data) -> None:
    assert ids(data, one("created_at", ">", "1900-01-01 00:00:00")) == [1, 2, 3, 4, 5, 7]
    assert ids(data, one("created_at", "<", "2200-12-31T23:59:59+14:00")) == [1, 2, 3, 4, 5, 7]
    kiritimati = zone("Pacific/Kiritimati")
    assert ids(data, one("created_at", ">=", "1900-01-01 00:00:00"), tz=kiritimati) == [1, 2, 3, 4, 5, 7]


def test_birthdate_conditions_take_the_birthdate_years() -> None:
    fiches = RESOURCES["fiches"]
    assert parse_conditions(one("birthdate", ">", "1850-01-01"), fiches, "pro", PARIS)
    with pytest.raises(ValidationFailed) as info:
        parse_conditions(one("birthdate", ">", "1799-12-31"), fiches, "pro", PARIS)
    assert info.value.errors == {
        "conditions[0]": ["value for birthdate: '1799-12-31' is out of range (years 1800 to 2200)"]
    }
