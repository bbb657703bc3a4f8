"""Format negotiation (CONTRACT §1 "format"): suffix, else format=, else Accept, else JSON; 406 else."""

from __future__ import annotations

import pytest

from openrdv.errors import NotAcceptable
from openrdv.web.formats import MEDIA_TYPES, negotiate, split_suffix


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("fiches.json", ("fiches", "json")),
        ("fiches.xml", ("fiches", "xml")),
        ("12.JSON", ("12", "json")),
        ("12", ("12", None)),
        ("fiches", ("fiches", None)),
        ("fiches.csv", ("fiches", "csv")),
        ("a.b.xml", ("a.b", "xml")),
        (".json", (".json", None)),
        ("", ("", None)),
    ],
)
def test_split_suffix(segment: str, expected: tuple[str, str | None]) -> None:
    assert split_suffix(segment) == expected


def test_suffix_beats_format_param_and_accept() -> None:
    assert negotiate("xml", "json", "application/json") == "xml"
    assert negotiate("json", "xml", "application/xml") == "json"


def test_format_param_beats_accept() -> None:
    assert negotiate(None, "xml", "application/json") == "xml"
    assert negotiate(None, "json", "application/xml") == "json"
    assert negotiate(None, " XML ", "") == "xml"


@pytest.mark.parametrize("suffix", ["csv", "html", "yaml", "", "jsonp"])
def test_unknown_suffix_is_406(suffix: str) -> None:
    with pytest.raises(NotAcceptable) as info:
        negotiate(suffix, "json", "application/json")
    assert info.value.status == 406
    assert ".json" in info.value.message


@pytest.mark.parametrize("fmt", ["csv", "html", "jsonx"])
def test_unknown_format_param_is_406(fmt: str) -> None:
    with pytest.raises(NotAcceptable) as info:
        negotiate(None, fmt, "application/json")
    assert info.value.status == 406
    assert fmt in info.value.message


@pytest.mark.parametrize("fmt", [None, "", "  ", ["xml"], 3])
def test_blank_or_non_text_format_param_falls_back_to_accept(fmt: object) -> None:
    assert negotiate(None, fmt, "application/xml") == "xml"
    assert negotiate(None, fmt, "") == "json"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("", "json"),
        ("   ", "json"),
        ("*/*", "json"),
        ("application/*", "json"),
        ("application/json", "json"),
        ("application/json; charset=utf-8", "json"),
        ("APPLICATION/JSON", "json"),
        ("text/json", "json"),
        ("application/vnd.api+json", "json"),
        ("application/xml", "xml"),
        ("text/xml", "xml"),
        ("application/atom+xml", "xml"),
        ("text/html,*/*;q=0.8", "json"),
        ("text/plain, application/xml", "xml"),
        ("text/html, application/json", "json"),
    ],
)
def test_accept(accept: str, expected: str) -> None:
    assert negotiate(None, None, accept) == expected


@pytest.mark.parametrize("accept", ["text/csv", "text/html", "image/png, text/plain", "text/csv;q=1"])
def test_accept_nothing_offered_is_406(accept: str) -> None:
    with pytest.raises(NotAcceptable) as info:
        negotiate(None, None, accept)
    assert info.value.status == 406


def test_media_types() -> None:
    assert MEDIA_TYPES == {"json": "application/json; charset=utf-8", "xml": "application/xml; charset=utf-8"}
