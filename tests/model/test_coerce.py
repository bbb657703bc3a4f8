"""Lenient scalar coercion (CONTRACT §1 "scalars"): what real clients send becomes the declared type,
and a value that does not convert is refused naming the field."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrdv.agenda.zones import zone
from openrdv.errors import ValidationFailed
from openrdv.model.coerce import (
    MAX_INT,
    to_bool,
    to_datetime,
    to_float,
    to_id,
    to_id_list,
    to_int,
    to_json_text,
    to_optional_id,
    to_str,
)

PARIS = zone("Europe/Paris")


def refused(func: Any, *args: Any, field: str = "f", **kwargs: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        func(*args, field, **kwargs)
    exc = info.value
    assert exc.errors is not None and list(exc.errors) == [field]
    assert exc.errors[field] and all(isinstance(m, str) and m for m in exc.errors[field])
    assert field in exc.message
    assert exc.status == 400
    return exc


# -- to_int -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10", 10),
        (" 10 ", 10),
        ("-3", -3),
        ("0", 0),
        (10, 10),
        (7.0, 7),
        ("7.0", 7),
        (True, 1),
        (False, 0),
        (str(MAX_INT), MAX_INT),
        (str(-MAX_INT), -MAX_INT),
    ],
)
def test_to_int_accepts(value: Any, expected: int) -> None:
    result = to_int(value, "count")
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    "value",
    ["x", "", "  ", "1.5", "10abc", "1e400", "nan", "inf", 1.5, float("inf"), float("nan"), None, [1],
     {"a": 1},
     str(MAX_INT + 1), MAX_INT + 1, -(MAX_INT + 1), "9" * 5000],
)
def test_to_int_refuses(value: Any) -> None:
    refused(to_int, value, field="count")


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-MAX_INT, max_value=MAX_INT))
def test_to_int_round_trips_decimal_text(n: int) -> None:
    assert to_int(str(n), "n") == n
    assert to_int(n, "n") == n


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=30), st.floats(), st.integers(), st.none(), st.lists(st.integers(), max_size=2)
    )
)
def test_to_int_only_raises_validation_failed(value: Any) -> None:
    try:
        result = to_int(value, "n")
    except ValidationFailed as exc:
        assert exc.errors is not None and list(exc.errors) == ["n"]
        return
    assert isinstance(result, int) and abs(result) <= MAX_INT


# -- to_optional_id -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("  ", None), ("null", None), (0, None), ("0", None), ("12", 12), (12, 12)],
)
def test_to_optional_id(value: Any, expected: int | None) -> None:
    assert to_optional_id(value, "calendar_id") == expected


@pytest.mark.parametrize("value", ["-1", -5, "abc", "1.5", [3]])
def test_to_optional_id_refuses(value: Any) -> None:
    refused(to_optional_id, value, field="calendar_id")


# -- to_bool ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [True, 1, "1", "true", "TRUE", "True", "yes", "Yes", "on", "ON", " 1 ", " true "],
)
def test_to_bool_true(value: Any) -> None:
    assert to_bool(value, "open") is True


@pytest.mark.parametrize(
    "value",
    [False, 0, "0", "false", "FALSE", "False", "no", "NO", "off", "Off", " 0 "],
)
def test_to_bool_false(value: Any) -> None:
    assert to_bool(value, "open") is False


@pytest.mark.parametrize("value", [2, -1, "2", "maybe", "truth", "oui", None, 1.0, 0.5, [True], {"v": 1}])
def test_to_bool_refuses(value: Any) -> None:
    exc = refused(to_bool, value, field="open")
    assert "boolean" in exc.errors["open"][0]  # type: ignore[index]


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=10),
        st.integers(),
        st.floats(),
        st.none(),
        st.booleans(),
        st.lists(st.text(max_size=3), max_size=2),
        st.dictionaries(st.text(max_size=2), st.text(max_size=2), max_size=2),
    )
)
def test_to_bool_only_raises_validation_failed(value: Any) -> None:
    try:
        result = to_bool(value, "flag")
    except ValidationFailed as exc:
        assert exc.errors is not None and list(exc.errors) == ["flag"]
        return
    assert isinstance(result, bool)


# -- to_float -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1.5", 1.5), ("1,5", 1.5), (" 2 ", 2.0), (3, 3.0), (2.25, 2.25), (True, 1.0), ("-0.5", -0.5)],
)
def test_to_float_accepts(value: Any, expected: float) -> None:
    assert to_float(value, "price") == expected


@pytest.mark.parametrize("value", ["x", "", "nan", "inf", "-inf", float("nan"), float("inf"), None, [1.0]])
def test_to_float_refuses(value: Any) -> None:
    refused(to_float, value, field="price")


@settings(max_examples=100, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_to_float_round_trips_repr(x: float) -> None:
    result = to_float(repr(x), "x")
    assert result == x and math.isfinite(result)


# -- to_str -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ""), ("abc", "abc"), ("", ""), (True, "1"), (False, "0"), (12, "12"), (1.5, "1.5"),
     ("  x ", "  x ")],
)
def test_to_str_accepts(value: Any, expected: str) -> None:
    assert to_str(value, "name") == expected


def test_to_str_max_length() -> None:
    assert to_str("a" * 5, "name", max_length=5) == "aaaaa"
    exc = refused(to_str, "a" * 6, field="name", max_length=5)
    assert "5" in exc.errors["name"][0]  # type: ignore[index]


@pytest.mark.parametrize("value", ["a\x00b", ["a"], {"a": "b"}])
def test_to_str_refuses(value: Any) -> None:
    refused(to_str, value, field="name")


# -- to_id_list ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([1, 2], [1, 2]),
        (["1", "2"], [1, 2]),
        ("[1,2]", [1, 2]),
        ("[1, 2]", [1, 2]),
        ('["1","2"]', [1, 2]),
        ("1,2", [1, 2]),
        (" 1 , 2 ", [1, 2]),
        ("3", [3]),
        (3, [3]),
        ("[3]", [3]),
        ("[]", []),
        ("", []),
        (None, []),
        ([], []),
        ("1,,2,", [1, 2]),
        ([2, 1, 2, "1"], [2, 1]),  # duplicates dropped, first order kept
        ({"0": "4", "1": "5"}, [4, 5]),
        ({"2": "7", "10": "9", "1": "6"}, [6, 7, 9]),  # numeric index order, not text order
        ("[1, 2", [1, 2]),  # a broken JSON array still reads as a comma list
    ],
)
def test_to_id_list_accepts(value: Any, expected: list[int]) -> None:
    assert to_id_list(value, "calendar_ids") == expected


@pytest.mark.parametrize("value", ["0", "-1", "1,x", "[1,-2]", "[null]", ["a"], "1.5", [0]])
def test_to_id_list_refuses(value: Any) -> None:
    refused(to_id_list, value, field="calendar_ids")


def test_to_id_list_item_limit() -> None:
    assert len(to_id_list(list(range(1, 11)), "ids", max_items=10)) == 10
    refused(to_id_list, list(range(1, 12)), field="ids", max_items=10)
    refused(to_id_list, ",".join(str(i) for i in range(1, 1002)), field="ids")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=MAX_INT), unique=True, max_size=20))
def test_to_id_list_spellings_agree(ids: list[int]) -> None:
    comma = ",".join(str(i) for i in ids)
    assert to_id_list(ids, "ids") == ids
    assert to_id_list(comma, "ids") == ids
    assert to_id_list(f"[{comma}]", "ids") == ids
    assert to_id_list([str(i) for i in ids], "ids") == ids


# -- to_datetime --------------------------------------------------------------------------------------


def _utc(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-15 10:30:00", _utc(2026, 1, 15, 9, 30)),
        ("2026-01-15 10:30", _utc(2026, 1, 15, 9, 30)),
        ("2026-01-15", _utc(2026, 1, 14, 23, 0)),
        ("2026-07-15 10:30:00", _utc(2026, 7, 15, 8, 30)),
        ("2026-07-15T10:30:00", _utc(2026, 7, 15, 8, 30)),
        ("2026-07-15T10:30:00Z", _utc(2026, 7, 15, 10, 30)),
        ("2026-07-15T10:30:00+05:00", _utc(2026, 7, 15, 5, 30)),
    ],
)
def test_to_datetime_accepts(text: str, expected: int) -> None:
    assert to_datetime(text, "start", PARIS) == expected


@pytest.mark.parametrize("value", [None, "", "   "])
def test_to_datetime_blank_is_none(value: Any) -> None:
    assert to_datetime(value, "start", PARIS) is None


@pytest.mark.parametrize(
    "value",
    ["tomorrow", "2026-13-01", "2026-02-30 10:00", "2026-01-15 25:00", "15/01/2026", 1700000000,
     ["2026-01-01"],
     "2026-03-29 02:30"],
)
def test_to_datetime_refuses(value: Any) -> None:
    refused(to_datetime, value, field="start", zone=PARIS)


def test_to_datetime_gap_names_field_and_reason() -> None:
    with pytest.raises(ValidationFailed) as info:
        to_datetime("2026-03-29 02:30:00", "start", PARIS)
    assert info.value.errors is not None
    assert "does not exist" in info.value.errors["start"][0]


# -- to_json_text -------------------------------------------------------------------------------------


def test_to_json_text() -> None:
    assert to_json_text(None, "pendingRdv") == ""
    assert to_json_text('{"a": 1}', "pendingRdv") == '{"a": 1}'
    assert to_json_text({"a": [1, 2]}, "pendingRdv") == '{"a":[1,2]}'
    assert to_json_text([1, "x"], "pendingRdv") == '[1,"x"]'
    assert to_json_text("x" * 10, "pendingRdv", max_length=10) == "x" * 10
    refused(to_json_text, "x" * 11, field="pendingRdv", max_length=10)
    refused(to_json_text, {"k": "x" * 20}, field="pendingRdv", max_length=10)


# -- ids and dates at the edges (8, 7) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [("0", 0), (0, 0), ("1", 1), (MAX_INT, MAX_INT), (str(MAX_INT), MAX_INT)]
)
def test_to_id_accepts_zero_for_none_and_int64(value: Any, expected: int) -> None:
    assert to_id(value, "f") == expected


@pytest.mark.parametrize("value", ["-1", -1, str(MAX_INT + 1), MAX_INT + 1, "9223372036854775808.0", "1e19", "x", None])
def test_to_id_refuses_beyond_int64_and_negatives(value: Any) -> None:
    refused(to_id, value)


@pytest.mark.parametrize("value", [str(2**63), -(2**63), "99999999999999999999999", 2**64, "9.3e18"])
def test_every_integer_beyond_int64_is_a_400_not_a_driver_overflow(value: Any) -> None:
    assert "out of range" in refused(to_int, value).message
    assert "out of range" in refused(to_optional_id, value).message
    refused(to_id_list, [1, value])


@pytest.mark.parametrize(
    "text",
    ["0001-01-01", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "1899-12-31 23:59:59", "2201-01-01"],
)
def test_to_datetime_years(text: str) -> None:
    exc = refused(to_datetime, text, field="start", zone=zone("Pacific/Kiritimati"), years=(1900, 2200))
    assert "years 1900 to 2200" in exc.message
    assert to_datetime("2200-12-31 23:59:59", "start", zone("Pacific/Kiritimati"), (1900, 2200)) is not None
