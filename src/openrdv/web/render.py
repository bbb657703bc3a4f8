"""Records, collections and errors → response bytes in JSON or XML."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from openrdv.web import xml as xmlr
from openrdv.web.formats import Format

ENVELOPE_KEYS = ("totalRecords", "startIndex", "recordsReturned", "pageSize", "sort", "dir")


def render_record(record: dict[str, Any], fmt: Format, root: str) -> bytes:
    if fmt == "xml":
        return xmlr.record_xml(root, record)
    return orjson.dumps(record)


def render_document(body: dict[str, Any], fmt: Format) -> bytes:
    """A document whose top-level keys are not a record (login, errors, availability)."""
    if fmt == "xml":
        return xmlr.hash_xml(body)
    return orjson.dumps(body)


def render_collection(records: list[dict[str, Any]], envelope: dict[str, Any], fmt: Format) -> bytes:
    if fmt == "xml":
        return xmlr.collection_xml_head() + xmlr.records_xml_chunk(records) + xmlr.collection_xml_tail(envelope)
    return orjson.dumps({"records": records, **envelope})


def stream_collection(
    chunks: Iterator[list[dict[str, Any]] | bytes], envelope: dict[str, Any], fmt: Format
) -> Iterator[bytes]:
    """The envelope of a streamed collection: records first, totals last (the totals are known
    once the rows have been read, in the same snapshot). A chunk is a list of records, or (JSON
    only) those records already encoded as one JSON array."""
    if fmt == "xml":
        yield xmlr.collection_xml_head()
        for records in chunks:
            assert not isinstance(records, bytes), "an XML stream renders records itself"
            yield xmlr.records_xml_chunk(records)
        yield xmlr.collection_xml_tail(envelope)
        return
    yield b'{"records":['
    first = True
    for records in chunks:
        if not records:
            continue
        encoded = records if isinstance(records, bytes) else orjson.dumps(records)
        body = memoryview(encoded)[1:-1]  # the array's items, without a copy of a megabyte chunk
        if not body:
            continue
        # one copy: the items, after a comma unless first
        yield bytes(body) if first else b"".join((b",", body))
        first = False
    yield b"]," + orjson.dumps(envelope)[1:]
