"""Rails `to_xml` style rendering, and XML request bodies.

Record keys are dasherised and typed (`type="integer"`, `type="boolean"`, `type="datetime"`,
`nil="true"`); collections sit under `<hash>` with `<records type="array"><record>…`; envelope keys
keep their camelCase, as the real API does.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from openrdv.agenda.zones import IsoDateTime

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
# A ClicRDV body nests 3 or 4 levels (<fiche><custom-fields><field>); reading a deeper tree recursed
# until Python's limit (a 500 and a huge traceback for 4 KB of `<a>`), so a body may nest this deep.
MAX_DEPTH = 32


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


# Characters XML 1.0 cannot carry: most C0 controls, lone surrogates, U+FFFE and U+FFFF.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    # Drop them rather than emit invalid XML.
    return _NOT_XML_CHAR.sub("", text)


def _singular(tag: str) -> str:
    if tag.endswith("ies"):
        return tag[:-3] + "y"
    if tag.endswith("s"):
        return tag[:-1]
    return "record"


def _value_xml(tag: str, value: Any, out: list[str], dasherize: bool) -> None:
    name = tag.replace("_", "-") if dasherize else tag
    if value is None:
        out.append(f'<{name} nil="true"/>')
    elif isinstance(value, bool):
        out.append(f'<{name} type="boolean">{"true" if value else "false"}</{name}>')
    elif isinstance(value, int):
        out.append(f'<{name} type="integer">{value}</{name}>')
    elif isinstance(value, float):
        out.append(f'<{name} type="float">{value}</{name}>')
    elif isinstance(value, IsoDateTime):
        out.append(f'<{name} type="datetime">{value}</{name}>')
    elif isinstance(value, str):
        out.append(f"<{name}>{_escape(_clean(value))}</{name}>")
    elif isinstance(value, dict):
        out.append(f"<{name}>")
        for key, item in value.items():
            _value_xml(key, item, out, True)
        out.append(f"</{name}>")
    elif isinstance(value, (list, tuple)):
        out.append(f'<{name} type="array">')
        child = "record" if tag == "records" else _singular(name)
        for item in value:
            if isinstance(item, dict):
                out.append(f"<{child}>")
                for key, sub in item.items():
                    _value_xml(key, sub, out, True)
                out.append(f"</{child}>")
            else:
                _value_xml(child, item, out, False)
        out.append(f"</{name}>")
    else:
        out.append(f"<{name}>{_escape(_clean(str(value)))}</{name}>")


def record_xml(root: str, record: dict[str, Any]) -> bytes:
    out = [XML_DECLARATION, f"<{root.replace('_', '-')}>"]
    for key, value in record.items():
        _value_xml(key, value, out, True)
    out.append(f"</{root.replace('_', '-')}>\n")
    return "".join(out).encode()


def hash_xml(body: dict[str, Any]) -> bytes:
    """A document whose top-level keys keep their spelling (collection envelopes, login, errors)."""
    out = [XML_DECLARATION, "<hash>"]
    for key, value in body.items():
        _value_xml(key, value, out, False)
    out.append("</hash>\n")
    return "".join(out).encode()


def collection_xml_head() -> bytes:
    return (XML_DECLARATION + '<hash><records type="array">').encode()


def records_xml_chunk(records: list[dict[str, Any]]) -> bytes:
    out: list[str] = []
    for record in records:
        out.append("<record>")
        for key, value in record.items():
            _value_xml(key, value, out, True)
        out.append("</record>")
    return "".join(out).encode()


def collection_xml_tail(envelope: dict[str, Any]) -> bytes:
    out = ["</records>"]
    for key, value in envelope.items():
        _value_xml(key, value, out, False)
    out.append("</hash>\n")
    return "".join(out).encode()


class XmlBodyError(ValueError):
    pass


def _element_value(element: Element) -> Any:
    if element.get("nil") == "true":
        return None
    children = list(element)
    kind = element.get("type")
    if kind == "array":
        return [_element_value(child) for child in children]
    if children:
        return {child.tag.replace("-", "_"): _element_value(child) for child in children}
    return element.text or ""


class _DepthLimitedBuilder(TreeBuilder):
    """The standard tree builder, stopping the parse at the first element nested too deep (before
    the rest of a deep body is even read)."""

    def __init__(self, max_depth: int) -> None:
        super().__init__()
        self._depth = 0
        self._max_depth = max_depth

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        self._depth += 1
        if self._depth > self._max_depth:
            raise XmlBodyError(f"is nested deeper than {self._max_depth} levels")
        return super().start(tag, attrs)

    def end(self, tag: str) -> Element:
        self._depth -= 1
        return super().end(tag)


def parse_xml_body(data: bytes, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """`<fiche><first-name>..</first-name></fiche>` → {"fiche": {"first_name": ..}}. Entities and
    DTDs are refused (no entity expansion attacks), and so is an element nested deeper than
    `max_depth` levels (the root is level 1)."""
    parser = SafeET.XMLParser(target=_DepthLimitedBuilder(max_depth), forbid_dtd=True)
    try:
        parser.feed(data)
        root = parser.close()
    except XmlBodyError:
        raise
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise XmlBodyError(f"is not well-formed XML ({exc})") from None
    return {root.tag.replace("-", "_"): _element_value(root)}
