"""Rails `to_xml` rendering and XML request bodies (CONTRACT §2 "XML")."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrdv.agenda.zones import zone
from openrdv.web.xml import (
    XML_DECLARATION,
    XmlBodyError,
    collection_xml_head,
    collection_xml_tail,
    hash_xml,
    parse_xml_body,
    record_xml,
    records_xml_chunk,
)

TS = 1784104200  # 2026-07-15 08:30:00 UTC


def parse(data: bytes) -> ET.Element:
    assert data.startswith(XML_DECLARATION.encode())
    return ET.fromstring(data)


def sample_record() -> dict[str, Any]:
    return {
        "id": 12,
        "group_id": 3,
        "first_name": "Jean & <Marie>",
        "display_intervention_length": True,
        "sendmail": False,
        "price": 12.5,
        "synched_at": None,
        "created_at": zone("Europe/Paris").format_xml(TS),
        "plain_date": "2026-07-15 10:30:00",
        "calendar_ids": [4, 5],
        "tags": ["a", "b"],
        "empty": "",
    }


def test_record_xml_dasherises_and_types() -> None:
    root = parse(record_xml("fiche_record", sample_record()))
    assert root.tag == "fiche-record"
    assert [child.tag for child in root] == [
        "id", "group-id", "first-name", "display-intervention-length", "sendmail", "price", "synched-at",
        "created-at", "plain-date", "calendar-ids", "tags", "empty",
    ]
    assert root.find("id").get("type") == "integer" and root.find("id").text == "12"  # type: ignore[union-attr]
    assert root.find("group-id").get("type") == "integer"  # type: ignore[union-attr]
    assert root.find("first-name").text == "Jean & <Marie>"  # type: ignore[union-attr]
    assert root.find("first-name").get("type") is None  # type: ignore[union-attr]
    flag = root.find("display-intervention-length")
    assert flag is not None and flag.get("type") == "boolean" and flag.text == "true"
    assert root.find("sendmail").text == "false"  # type: ignore[union-attr]
    assert root.find("price").get("type") == "float" and root.find("price").text == "12.5"  # type: ignore[union-attr]
    nil = root.find("synched-at")
    assert nil is not None and nil.get("nil") == "true" and nil.text is None and len(nil) == 0
    created = root.find("created-at")
    assert created is not None and created.get("type") == "datetime"
    assert created.text == "2026-07-15T10:30:00+02:00"
    # a plain string that looks like a date is not typed: only IsoDateTime is
    assert root.find("plain-date").get("type") is None  # type: ignore[union-attr]
    ids = root.find("calendar-ids")
    assert ids is not None and ids.get("type") == "array"
    assert [(c.tag, c.get("type"), c.text) for c in ids] == [
        ("calendar-id", "integer", "4"), ("calendar-id", "integer", "5"),
    ]
    assert [(c.tag, c.text) for c in root.find("tags")] == [("tag", "a"), ("tag", "b")]  # type: ignore[union-attr]
    assert root.find("empty").text is None  # type: ignore[union-attr]


def test_record_xml_raw_escaping() -> None:
    data = record_xml("fiche", {"comments": 'a<b>&"c"'})
    assert b"<comments>a&lt;b&gt;&amp;&quot;c&quot;</comments>" in data
    assert b"<b>" not in data


def test_record_xml_nested_hash_and_list_of_hashes() -> None:
    record = {
        "id": 1,
        "fiche": {"first_name": "Ana", "id": 9},
        "availabletimeslots": [{"start": "2026-07-15 10:00:00", "calendar_ids": [1]}],
    }
    root = parse(record_xml("appointment", record))
    fiche = root.find("fiche")
    assert fiche is not None and fiche.find("first-name").text == "Ana"  # type: ignore[union-attr]
    assert fiche.find("id").get("type") == "integer"  # type: ignore[union-attr]
    slots = root.find("availabletimeslots")
    assert slots is not None and slots.get("type") == "array"
    (slot,) = list(slots)
    assert slot.tag == "availabletimeslot"
    assert slot.find("calendar-ids/calendar-id").text == "1"  # type: ignore[union-attr]


def test_hash_xml_keeps_envelope_camel_case() -> None:
    body = {
        "records": [{"first_name": "A", "id": 1}],
        "totalRecords": 1,
        "startIndex": 0,
        "recordsReturned": 1,
        "pageSize": 25,
        "sort": None,
        "dir": None,
    }
    root = parse(hash_xml(body))
    assert root.tag == "hash"
    assert [c.tag for c in root] == ["records", "totalRecords", "startIndex", "recordsReturned", "pageSize",
                                     "sort", "dir"]
    records = root.find("records")
    assert records is not None and records.get("type") == "array"
    (record,) = list(records)
    assert record.tag == "record"
    assert [c.tag for c in record] == ["first-name", "id"]
    assert root.find("totalRecords").get("type") == "integer"  # type: ignore[union-attr]
    assert root.find("sort").get("nil") == "true"  # type: ignore[union-attr]


def test_hash_xml_error_body() -> None:
    root = parse(hash_xml({"error": "Invalid parameters: name can't be blank.",
                           "errors": {"name": ["can't be blank"]}}))
    assert root.find("error").text == "Invalid parameters: name can't be blank."  # type: ignore[union-attr]
    errors = root.find("errors")
    assert errors is not None
    name = errors.find("name")
    assert name is not None and name.get("type") == "array"
    assert [c.text for c in name] == ["can't be blank"]


@pytest.mark.parametrize("chunks", [[], [[]], [[{"id": 1}]], [[{"id": 1}, {"id": 2}], [], [{"id": 3}]]])
def test_streamed_collection_parts_concatenate_to_xml(chunks: list[list[dict[str, Any]]]) -> None:
    envelope = {"totalRecords": 3, "startIndex": 0, "recordsReturned": 3, "pageSize": 3, "sort": "id",
                "dir": "asc"}
    parts = [collection_xml_head()]
    parts += [records_xml_chunk([{**r, "first_name": f"n{r['id']}"} for r in chunk]) for chunk in chunks]
    parts.append(collection_xml_tail(envelope))
    root = parse(b"".join(parts))
    assert root.tag == "hash"
    records = root.find("records")
    assert records is not None and records.get("type") == "array"
    ids = [int(r.find("id").text) for r in records]  # type: ignore[union-attr,arg-type]
    assert ids == [r["id"] for chunk in chunks for r in chunk]
    assert all(r.tag == "record" and r.find("first-name") is not None for r in records)
    assert root.find("totalRecords").text == "3"  # type: ignore[union-attr]
    assert root.find("sort").text == "id"  # type: ignore[union-attr]
    assert [c.tag for c in root][1:] == list(envelope)


def test_streamed_equals_whole_document() -> None:
    records = [{"id": 1, "first_name": "a"}, {"id": 2, "first_name": "b"}]
    envelope = {"totalRecords": 2, "pageSize": 2}
    streamed = collection_xml_head() + records_xml_chunk(records) + collection_xml_tail(envelope)
    assert streamed == hash_xml({"records": records, **envelope})


# -- request bodies -----------------------------------------------------------------------------------


def test_parse_xml_body_round_trip() -> None:
    record = {
        "first_name": "Jean & <Marie>",
        "lastname": "Dupont",
        "intervention_ids": [3, 4],
        "deleted": False,
        "count": 7,
        "synched_at": None,
        "fiche": {"first_name": "Ana"},
    }
    assert parse_xml_body(record_xml("appointment", record)) == {
        "appointment": {
            "first_name": "Jean & <Marie>",
            "lastname": "Dupont",
            "intervention_ids": ["3", "4"],
            "deleted": "false",
            "count": "7",
            "synched_at": None,
            "fiche": {"first_name": "Ana"},
        }
    }


def test_parse_xml_body_plain_and_empty() -> None:
    body = b"<fiche><first-name>Jean</first-name><comments/><ids type='array'/></fiche>"
    assert parse_xml_body(body) == {"fiche": {"first_name": "Jean", "comments": "", "ids": []}}
    assert parse_xml_body(b"<?xml version='1.0' encoding='UTF-8'?><apikey>k</apikey>") == {"apikey": "k"}


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE fiche [<!ENTITY x "boom">]><fiche><lastname>&x;</lastname></fiche>',
        b'<?xml version="1.0"?><!DOCTYPE fiche SYSTEM "http://example.invalid/x.dtd"><fiche/>',
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>',
        b"<fiche><lastname>x</fiche>",
        b"not xml at all",
        b"",
        b"<fiche>\xff</fiche>",
        b"<a/><b/>",
    ],
)
def test_parse_xml_body_refuses(body: bytes) -> None:
    with pytest.raises(XmlBodyError):
        parse_xml_body(body)


@pytest.mark.parametrize(
    ("value", "kept"),
    [("a\x00b", "ab"), ("a\x1b[0mb", "a[0mb"), ("x\x0bx\x0cx", "xxx"), ("a\uffffb\ufffe", "ab"),
     ("tab\tnl\n", "tab\tnl\n"), ("\x7f\x85\ufffd\U0001f600", "\x7f\x85\ufffd\U0001f600")],
)
def test_characters_xml_cannot_carry_are_dropped(value: str, kept: str) -> None:
    root = ET.fromstring(record_xml("fiche", {"lastname": value}))
    assert root.find("lastname").text == kept  # type: ignore[union-attr]


# -- properties ---------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.text(max_size=20))
def test_any_text_renders_as_parseable_xml(value: str, other: str) -> None:
    data = record_xml("fiche", {"lastname": value, "tags": [other], "nested": {"txt": other}})
    root = ET.fromstring(data)
    text = root.find("lastname").text or ""  # type: ignore[union-attr]
    # only characters XML cannot carry are dropped (and a parser reads CR as LF)
    allowed = "".join(
        ch for ch in value
        if ch in "\t\n\r" or ("\x20" <= ch <= "\ud7ff") or ("\ue000" <= ch <= "\ufffd") or ch >= "\U00010000"
    )
    assert text == allowed.replace("\r\n", "\n").replace("\r", "\n")
    envelope = hash_xml({"records": [{"lastname": value}], "error": other})
    assert ET.fromstring(envelope).find("error") is not None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60))
def test_parse_xml_body_only_raises_xml_body_error(data: bytes) -> None:
    try:
        result = parse_xml_body(data)
    except XmlBodyError:
        return
    assert isinstance(result, dict) and len(result) == 1


def _nested(depth: int) -> bytes:
    return b"<fiche>" + b"<a>" * (depth - 1) + b"x" + b"</a>" * (depth - 1) + b"</fiche>"


def test_parse_xml_body_reads_32_levels() -> None:
    value: object = parse_xml_body(_nested(32))["fiche"]
    for _ in range(30):
        assert isinstance(value, dict)
        value = value["a"]
    assert value == {"a": "x"}


@pytest.mark.parametrize("depth", [33, 500, 5000, 300_000])
def test_parse_xml_body_refuses_deeper_bodies_naming_the_limit(depth: int) -> None:
    """500 levels of 8 bytes used to recurse past Python's limit: a 500 and a 236 KB traceback."""
    with pytest.raises(XmlBodyError, match="nested deeper than 32 levels"):
        parse_xml_body(_nested(depth))


def test_parse_xml_body_limit_counts_depth_not_size() -> None:
    wide = b"<fiche>" + b"<a><b><c>x</c></b></a>" * 10_000 + b"</fiche>"
    assert len(parse_xml_body(wide)["fiche"]) == 1  # repeated keys: the last wins, as before
    with pytest.raises(XmlBodyError, match="deeper than 3 levels"):
        parse_xml_body(b"<a><b><c><d/></c></b></a>", max_depth=3)
