"""Rails bracket syntax for query strings and form bodies (CONTRACT §1 "query params")."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrdv.web.brackets import (
    MAX_DEPTH,
    MAX_PAIRS,
    BracketError,
    parse_form,
    parse_pairs,
    parse_query,
    split_key,
    split_query,
)

# -- split_key ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "parts"),
    [
        ("a", ["a"]),
        ("a[]", ["a", ""]),
        ("a[b]", ["a", "b"]),
        ("a[b][]", ["a", "b", ""]),
        ("conditions[0][field]", ["conditions", "0", "field"]),
        ("x[][n]", ["x", "", "n"]),
        # odd keys degrade to plain names
        ("a]", ["a]"]),
        ("[a]", ["[a]"]),
        ("a[b", ["a[b"]),
        ("a[b]c", ["a[b]c"]),
        ("a[b]]", ["a[b]]"]),
        ("a[[b]]", ["a[[b]]"]),
    ],
)
def test_split_key(key: str, parts: list[str]) -> None:
    assert split_key(key) == parts


def test_split_key_depth_limit() -> None:
    deepest = "a" + "[x]" * (MAX_DEPTH - 1)
    assert len(split_key(deepest)) == MAX_DEPTH
    with pytest.raises(BracketError):
        split_key(deepest + "[y]")


# -- split_query --------------------------------------------------------------------------------------


def test_split_query_keeps_order_and_duplicates() -> None:
    assert split_query("a=1&b=2&a=3") == [("a", "1"), ("b", "2"), ("a", "3")]


def test_split_query_empty_chunks_and_missing_values() -> None:
    assert split_query("") == []
    assert split_query("&&a=1&&") == [("a", "1")]
    assert split_query("flag") == [("flag", "")]
    assert split_query("flag=") == [("flag", "")]


@pytest.mark.parametrize(
    ("raw", "op"),
    [
        ("op=>=", ">="),
        ("op==", "="),
        ("op=<=", "<="),
        ("op=<>", "<>"),
        ("op=!=", "!="),
        ("op=>", ">"),
        ("op=<", "<"),
        ("op=%3E%3D", ">="),
        ("op=%3C%3D", "<="),
        ("op=%3D", "="),
        ("op=%3c%3e", "<>"),
        ("op=not+like", "not like"),
        ("op=not%20like", "not like"),
        ("op=NOT%20LIKE", "NOT LIKE"),
    ],
)
def test_operators_raw_and_encoded(raw: str, op: str) -> None:
    assert split_query(raw) == [("op", op)]
    assert parse_query(raw) == {"op": op}


def test_spaces_plus_and_percent_20() -> None:
    assert parse_query("q=jean+dupont&r=jean%20dupont&s=a%2Bb") == {
        "q": "jean dupont",
        "r": "jean dupont",
        "s": "a+b",
    }


def test_value_may_contain_equals_and_encoded_ampersand() -> None:
    assert parse_query("v=a=b=c&w=x%26y%3Dz") == {"v": "a=b=c", "w": "x&y=z"}


def test_utf8_values() -> None:
    assert parse_query("name=%C3%89lo%C3%AFse&raw=Éloïse") == {"name": "Éloïse", "raw": "Éloïse"}


@pytest.mark.parametrize("raw", ["name=%FF", "name=%C3", "%FF=1", "a=%E2%82", "a[%C3]=1"])
def test_invalid_utf8_is_a_bracket_error(raw: str) -> None:
    with pytest.raises(BracketError):
        parse_query(raw)


# -- parse_query --------------------------------------------------------------------------------------


def test_plain_and_list() -> None:
    assert parse_query("a[]=1&a[]=2&b=x") == {"a": ["1", "2"], "b": "x"}


def test_encoded_brackets_are_brackets() -> None:
    assert parse_query("a%5B%5D=1&a%5B%5D=2&c%5B0%5D%5Bfield%5D=x") == {
        "a": ["1", "2"],
        "c": {"0": {"field": "x"}},
    }


def test_nested_conditions() -> None:
    raw = (
        "conditions[0][field]=name&conditions[0][op]=like&conditions[0][value]=%25dup%25"
        "&conditions[1][field]=id&conditions[1][op]=>=&conditions[1][value]=3"
    )
    assert parse_query(raw) == {
        "conditions": {
            "0": {"field": "name", "op": "like", "value": "%dup%"},
            "1": {"field": "id", "op": ">=", "value": "3"},
        }
    }


def test_repeated_plain_key_last_wins() -> None:
    assert parse_query("a=1&a=2&a=3") == {"a": "3"}
    assert parse_query("h[k]=1&h[k]=2") == {"h": {"k": "2"}}


def test_list_of_hashes() -> None:
    assert parse_query("x[][n]=1&x[][m]=2&x[][n]=3") == {"x": [{"n": "1", "m": "2"}, {"n": "3"}]}


def test_list_of_nested_hashes_merges_like_rack() -> None:
    raw = "x[][a][b]=1&x[][a][c]=2&x[][a][b]=3"
    assert parse_query(raw) == {"x": [{"a": {"b": "1", "c": "2"}}, {"a": {"b": "3"}}]}


def test_list_inside_hash_and_nested_lists() -> None:
    assert parse_query("f[ids][]=1&f[ids][]=2&f[name]=x") == {"f": {"ids": ["1", "2"], "name": "x"}}
    assert parse_query("m[][]=1&m[][]=2") == {"m": [["1"], ["2"]]}


def test_odd_keys_degrade_to_plain_names() -> None:
    assert parse_query("a]=1&[a]=2&a[b=3&a[b]c=4") == {"a]": "1", "[a]": "2", "a[b": "3", "a[b]c": "4"}


def test_empty_key_is_ignored() -> None:
    assert parse_query("=1&a=2&=") == {"a": "2"}


def test_shape_conflicts_never_raise() -> None:
    # a later shape replaces an earlier incompatible one
    assert parse_query("a=1&a[b]=2") == {"a": {"b": "2"}}
    assert parse_query("a[b]=2&a=1") == {"a": "1"}
    assert parse_query("c[]=1&c[x]=2") == {"c": {"x": "2"}}
    assert parse_query("d[x]=1&d[]=2") == {"d": ["2"]}


def test_too_deep_nesting_is_refused() -> None:
    ok = "a" + "[x]" * (MAX_DEPTH - 1) + "=1"
    parsed: Any = parse_query(ok)
    for _ in range(MAX_DEPTH):
        parsed = parsed["a" if "a" in parsed else "x"]
    assert parsed == "1"
    with pytest.raises(BracketError):
        parse_query("a" + "[x]" * MAX_DEPTH + "=1")
    with pytest.raises(BracketError):
        parse_query("a" + "[]" * 50 + "=1")


def test_too_many_pairs_is_refused() -> None:
    assert len(parse_pairs([(f"k{i}", "v") for i in range(MAX_PAIRS)])) == MAX_PAIRS
    with pytest.raises(BracketError):
        parse_query("&".join(f"k{i}=v" for i in range(MAX_PAIRS + 1)))


def test_parse_pairs_decoded_input() -> None:
    # form bodies arrive already split; values are not decoded again
    assert parse_pairs([("a[]", "%41"), ("a[]", "+")]) == {"a": ["%41", "+"]}


# -- properties ---------------------------------------------------------------------------------------

_NAME = st.text(
    alphabet=st.characters(blacklist_characters="[]", blacklist_categories=("Cs",)), min_size=1, max_size=8
)
_VALUE = st.text(max_size=12)
_FLAT_HASH = st.dictionaries(_NAME, _VALUE, min_size=1, max_size=4)


@st.composite
def _list_of_hashes(draw: st.DrawFn) -> list[dict[str, Any]]:
    # every hash has the same keys in the same order, as a form repeating `x[][k]` fields does
    keys = draw(st.lists(_NAME, min_size=1, max_size=3, unique=True))
    nested = draw(st.sampled_from([None, *keys]))
    sub_keys = draw(st.lists(_NAME, min_size=1, max_size=2, unique=True))
    count = draw(st.integers(1, 3))
    result = []
    for _ in range(count):
        item: dict[str, Any] = {}
        for key in keys:
            if key == nested:
                item[key] = {sub: draw(_VALUE) for sub in sub_keys}
            else:
                item[key] = draw(_VALUE)
        result.append(item)
    return result


_PARAM = st.one_of(
    _VALUE,
    st.lists(_VALUE, min_size=1, max_size=4),
    st.dictionaries(
        _NAME,
        st.one_of(_VALUE, st.lists(_VALUE, min_size=1, max_size=3), _FLAT_HASH),
        min_size=1,
        max_size=4,
    ),
    _list_of_hashes(),
)
_PARAMS = st.dictionaries(_NAME, _PARAM, max_size=5)


def _encode(prefix: str, value: Any, out: list[str], encode_brackets: bool) -> None:
    def enc_key(key: str) -> str:
        encoded = quote_plus(key, safe="[]")
        return encoded.replace("[", "%5B").replace("]", "%5D") if encode_brackets else encoded

    if isinstance(value, str):
        out.append(f"{enc_key(prefix)}={quote_plus(value)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                for key, sub in item.items():
                    _encode(f"{prefix}[][{key}]", sub, out, encode_brackets)
            else:
                _encode(f"{prefix}[]", item, out, encode_brackets)
    else:
        for key, sub in value.items():
            _encode(f"{prefix}[{key}]", sub, out, encode_brackets)


def to_query(params: dict[str, Any], encode_brackets: bool = False) -> str:
    out: list[str] = []
    for key, value in params.items():
        _encode(key, value, out, encode_brackets)
    return "&".join(out)


@settings(max_examples=200, deadline=None)
@given(_PARAMS, st.booleans())
def test_rails_encoding_round_trips(params: dict[str, Any], encode_brackets: bool) -> None:
    assert parse_query(to_query(params, encode_brackets)) == params


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_only_raises_bracket_error(raw: str) -> None:
    try:
        result = parse_query(raw)
    except BracketError:
        return
    assert isinstance(result, dict)


_QUERYISH = st.text(alphabet="ab[]=&%+0F3C5D", max_size=60)


@settings(max_examples=200, deadline=None)
@given(_QUERYISH)
def test_bracket_heavy_text_only_raises_bracket_error(raw: str) -> None:
    try:
        result = parse_query(raw)
    except BracketError:
        return
    assert isinstance(result, dict)
    assert all(isinstance(key, str) and key for key in result)


# -- a second raw `?` (the official PHP client) -------------------------------------------------------
def test_a_raw_question_mark_in_a_query_separates_parameters() -> None:
    raw = "conditions[2][value]=2100-01-01%2000:00:00?format=json&apikey=k"
    assert parse_query(raw) == {"conditions": {"2": {"value": "2100-01-01 00:00:00"}}, "format": "json", "apikey": "k"}
    assert parse_query("a=1??b=2?") == {"a": "1", "b": "2"}


def test_an_encoded_question_mark_stays_in_its_value() -> None:
    assert parse_query("q=what%3F&r=1") == {"q": "what?", "r": "1"}


def test_a_form_body_keeps_a_raw_question_mark_in_its_value() -> None:
    assert parse_form("comments=why?&x=1") == {"comments": "why?", "x": "1"}


def test_a_too_deep_name_is_not_echoed_whole() -> None:
    name = "a" * 5000 + "[x]" * (MAX_DEPTH + 1)
    with pytest.raises(BracketError) as refused:
        parse_query(name + "=1")
    assert len(str(refused.value)) < 200 and "nested deeper" in str(refused.value)
