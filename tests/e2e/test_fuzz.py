"""Fuzzing what a client controls: query strings, bodies (JSON, form, XML) and date values.

Most cases run against `Api.handle` in this process (the whole request path but the ASGI shell, on
the engine of the end-to-end tests: SQLite, or PostgreSQL with OPENRDV_TEST_POSTGRES); a smaller
number go through a real server, raw bytes included. Whatever arrives: no 5xx, an error body that
says what is wrong, and no traceback or error in the log (the `openrdv` loggers, through caplog, in
process; the server's log file for the real server).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openrdv import admin
from openrdv.auth.apikeys import create_apikey
from openrdv.db.engine import Database
from openrdv.model.declaration import Kind
from openrdv.registry import RESOURCES
from openrdv.settings import Settings
from openrdv.web.api import Api
from openrdv.web.http import ApiRequest, ApiResponse
from openrdv.web.openapi import openapi_bytes

from .conftest import RunningServer, provision_database

IN_PROCESS = settings(
    deadline=None,
    database=None,  # every run explores afresh; a failure prints its reproducing example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
CASES = {"query": 3500, "body": 3500, "dates": 3000}  # ≥ 10,000 in process per run
SERVER_CASES = 300


# -- an in-process world ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class World:
    api: Api
    key: str
    group_a: int
    group_b: int
    pro: dict[str, str]  # headers of group A's pro (HTTP Basic)
    account: dict[str, str]
    ids: dict[str, int]  # a record of group A per collection


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    database = provision_database(tmp_path_factory.mktemp("fuzz"), "fuzz", primary=False)
    db = Database(database.url)
    # no rate limit, no login throttle: every case must reach the handlers (a 429 would hide them)
    settings_ = Settings(database_url=database.url, login_attempts=1_000_000, rate_limit=0)
    with db.connect() as conn:
        _, key = create_apikey(conn, "fuzz", "sandbox")

    def make(name: str, fields: dict[str, Any], group: int | None = None) -> int:
        return int(admin.create(db, settings_, name, fields, group_id=group)["id"])

    group_a = make("groups", {"name": "Fuzz A", "timezone": "Europe/Paris"})
    group_b = make("groups", {"name": "Fuzz B", "timezone": "America/New_York"})
    make("pros", {"lastname": "P", "email": "pro@fuzz.example.org", "password": "secret-fuzz-1"}, group_a)
    ids = {
        "interventionsets": make("interventionsets", {"name": "S", "publicname": "S"}, group_a),
        "calendarsets": make("calendarsets", {"name": "CS", "publicname": "CS"}, group_a),
        "fiches": make("fiches", {"lastname": "F"}, group_a),
        "customfields": make("customfields", {"model": "Fiche", "name": "str0", "user_visible": True}, group_a),
    }
    ids["interventions"] = make(
        "interventions",
        {"name": "I", "publicname": "I", "length": 30, "interventionset_id": ids["interventionsets"]},
        group_a,
    )
    ids["calendars"] = make(
        "calendars", {"name": "C", "publicname": "C", "intervention_ids": [ids["interventions"]]}, group_a
    )
    ids["vevents"] = make(
        "vevents",
        {
            "calendar_id": ids["calendars"],
            "type": "VfreebusyEvent",
            "start": "2030-01-07 09:00",
            "end": "2030-01-07 18:00",
            "rrule": "FREQ=DAILY",
        },
        group_a,
    )
    api = Api(settings_, db)
    api.openapi_document = openapi_bytes
    made = api.handle(
        ApiRequest(
            "POST",
            "accounts",
            f"apikey={key}",
            {"content-type": "application/json"},
            json.dumps(
                {"account": {"email": "c@fuzz.example.org", "password": "secret-fuzz-2", "group_id": group_a}}
            ).encode(),
            "127.0.0.1",
            "t",
        )
    )
    assert made.status == 201, made.body
    ids["accounts"] = int(json.loads(made.body)["id"])
    with db.connect() as conn:
        ids["pros"] = int(conn.scalar("SELECT id FROM pros WHERE email = ?", ("pro@fuzz.example.org",)))
    ids["groups"] = group_a
    ids["appointments"] = ids["vevents"]

    def basic(email: str, password: str) -> dict[str, str]:
        return {"authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}

    yield World(
        api,
        key,
        group_a,
        group_b,
        basic("pro@fuzz.example.org", "secret-fuzz-1"),
        basic("c@fuzz.example.org", "secret-fuzz-2"),
        ids,
    )
    db.close()
    if database.drop is not None:
        database.drop()


def body_of(response: ApiResponse) -> bytes:
    """The whole body; a streamed one is read to its end (a failure while streaming counts)."""
    return b"".join(response.stream) if response.stream is not None else response.body


def assert_sound(response: ApiResponse, caplog: pytest.LogCaptureFixture, what: str) -> None:
    body = body_of(response)
    assert response.status < 500, f"{what} → {response.status}: {body[:500]!r}"
    assert response.status != 429, f"{what} → 429: the fuzzing stopped reaching the handlers"
    if response.status >= 400 and response.media_type.startswith("application/json"):
        error = json.loads(body).get("error")
        assert isinstance(error, str) and error.strip(), (
            f"{what} → {response.status} without a sentence: {body[:300]!r}"
        )
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, f"{what} logged: {[r.getMessage() for r in bad]}"


@pytest.fixture
def quiet(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="openrdv")
    return caplog


# -- strategies ---------------------------------------------------------------------------------------------
ALL_FIELDS = sorted({f.name for r in RESOURCES.values() for f in r.fields})
OPS = [
    "=",
    "!=",
    "<>",
    ">",
    ">=",
    "<",
    "<=",
    "like",
    "not like",
    "in",
    "not in",
    "LIKE",
    "Not In",
    "==",
    "=<",
    "between",
    "",
    "is",
    "null",
    "regexp",
    "; DROP TABLE fiches",
    "%3D",
    "in\x00",
]
PARAMS = [
    "results",
    "startIndex",
    "sort",
    "dir",
    "search",
    "format",
    "include_past",
    "calendar_id",
    "fiche_id",
    "intervention_ids[]",
    "calendar_ids[]",
    "calendarset_ids[]",
    "interventionset_id",
    "urlname",
    "start",
    "end",
    "nDays",
    "cal_qty",
    "min_capacity",
    "group_id",
    "ids",
    "apikey",
    "_method",
    "id",
    "deleted",
]
ODD_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30), st.sampled_from([2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1])
).map(str)
FLOAT_TEXT = st.floats(allow_nan=True, allow_infinity=True).map(repr) | st.sampled_from(
    ["1e309", "-0", "0x10", "1_000", "١٢", "²", "NaN", "Infinity", ".5", "5.", "1e-400"]
)


# the edges of what a datetime, a 64-bit column and a zone's offset can hold are where conversions break
YEARS = ["0001", "0000", "0002", "9999", "9998", "10000", "1899", "1900", "1970", "2026", "2100", "2101", "20"]
MONTHS = ["01", "12", "02", "1", "13", "00", "99", "１２"]
DAYS = ["01", "31", "28", "29", "30", "32", "00", "7", "٣"]
HOURS = ["00", "23", "12", "24", "25", "2", "-1"]
MINUTES = ["00", "59", "30", "60", "5"]
SECONDS = ["00", "59", "60", "61", "5", "00.5", "00.123456789", "00,5"]
SEPARATORS = [" ", "T", "t", "  ", "_", "", "\t"]
OFFSETS = [
    "",
    "",
    "Z",
    "+01:00",
    "-05:00",
    "+14:00",
    "-12:00",
    "+18:00",
    "-18:00",
    "+23:59",
    "+24:00",
    "+25:00",
    "-99:99",
    "+01:60",
    "-00:00",
    "+0100",
    "+1",
    " Europe/Paris",
    "+01:00:30",
    "[Europe/Paris]",
]


@st.composite
def dates(draw: st.DrawFn) -> str:
    """Date and time texts: well-formed, out of range, in odd formats, with strange digits and offsets."""
    year = draw(st.sampled_from(YEARS) if draw(st.integers(0, 4)) else st.integers(-5, 300000).map(str))
    month, day, hour = draw(st.sampled_from(MONTHS)), draw(st.sampled_from(DAYS)), draw(st.sampled_from(HOURS))
    minute, second = draw(st.sampled_from(MINUTES)), draw(st.sampled_from(SECONDS))
    sep, offset = draw(st.sampled_from(SEPARATORS)), draw(st.sampled_from(OFFSETS))
    shape = draw(st.integers(0, 13))
    if shape >= 10:
        # a real datetime (Hypothesis favours its extremes: year 1, year 9999, midnight) in a common form
        moment = draw(st.datetimes())
        form = draw(st.sampled_from(["%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]))
        return f"{moment.year:04d}" + moment.strftime(form)[len(str(moment.year)) :] + (offset if ":" in form else "")
    if shape <= 1:
        return f"{year}-{month}-{day}"
    if shape == 2:
        return f"{year}-{month}-{day}{sep}{hour}:{minute}{offset}"
    if shape <= 6:
        return f"{year}-{month}-{day}{sep}{hour}:{minute}:{second}{offset}"
    if shape == 7:
        return draw(st.one_of(ODD_TEXT, NUMBERS))
    if shape == 8:
        return f"{day}/{month}/{year}"
    return f"{year}{month}{day}{sep}{hour}{minute}{second}{offset}"


def encode(text: str, how: list[int]) -> str:
    """`text` with each character sent raw, percent-encoded (UTF-8) or, now and then, mangled: a lone
    or truncated escape, an invalid one, a bare `%`, a lone UTF-8 byte."""
    out = []
    for index, char in enumerate(text):
        mode = how[index % len(how)] if how else 0
        if mode == 1:
            out.append(quote(char, safe=""))
        elif mode == 2:
            out.append(quote(char, safe="").lower())
        elif mode == 3:
            out.append(char + "%")
        elif mode == 4:
            out.append("%zz" + char)
        elif mode == 5:
            out.append("%C3" + char)
        elif mode == 6:
            out.append("%" + char)
        else:
            out.append(char)
    return "".join(out)


NAME_PARTS = st.sampled_from(
    [
        "conditions",
        "[",
        "]",
        "[0]",
        "[field]",
        "[op]",
        "[value]",
        "[]",
        "[[",
        "]]",
        "a",
        "0",
        "-1",
        "99999999999999999999",
        "[1][2][3]",
        "%5B",
        "%5D",
        ".",
        "&",
        "=",
        "?",
    ]
)


@st.composite
def query_strings(draw: st.DrawFn) -> str:
    pairs = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.integers(0, 4))
        index = draw(st.sampled_from(["0", "1", "19", "20", "-1", "x", "", "007", "99999999999999999999"]))
        if kind == 0:
            name, value = draw(st.sampled_from(PARAMS)), draw(st.one_of(ODD_TEXT, NUMBERS, FLOAT_TEXT, dates()))
        elif kind == 1:
            name = f"conditions[{index}][field]"
            value = draw(st.sampled_from(ALL_FIELDS) | ODD_TEXT)
        elif kind == 2:
            name, value = f"conditions[{index}][op]", draw(st.sampled_from(OPS))
        elif kind == 3:
            name = f"conditions[{index}][value]"
            value = draw(
                st.one_of(
                    ODD_TEXT,
                    NUMBERS,
                    FLOAT_TEXT,
                    dates(),
                    st.just("null"),
                    st.lists(NUMBERS, max_size=5).map(",".join),
                    st.lists(st.integers(), max_size=5).map(json.dumps),
                )
            )
        else:
            name = "".join(draw(st.lists(NAME_PARTS, min_size=1, max_size=6)))
            value = draw(ODD_TEXT)
        how = draw(st.lists(st.integers(0, 6), min_size=1, max_size=4))
        pairs.append(encode(name, how) + draw(st.sampled_from(["=", "=", "", "=="])) + encode(value, how))
    return draw(st.sampled_from(["&", "&", "?", "&&", ";"])).join(pairs)


def collection_paths(world: World) -> list[str]:
    paths = ["availabletimeslots", f"groups/{world.group_a}/availabletimeslots", "groups", f"groups/{world.group_b}"]
    for resource in RESOURCES.values():
        nested = resource.tenancy not in ("groups", "self")
        paths.append(resource.name)
        paths.append(f"{resource.name}/{world.ids[resource.name]}")
        if nested:
            paths.append(f"groups/{world.group_a}/{resource.name}")
            paths.append(f"groups/{world.group_a}/{resource.name}/{world.ids[resource.name]}")
            paths.append(f"groups/{world.group_b}/{resource.name}")
    return paths


def caller_headers(world: World, who: str) -> dict[str, str]:
    return {"pro": world.pro, "account": world.account}.get(who, {})


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    ODD_TEXT,
    dates(),
    NUMBERS,
)


def field_keys() -> st.SearchStrategy[str]:
    singulars = [r.singular for r in RESOURCES.values()]
    return st.sampled_from(ALL_FIELDS + singulars + ["apikey", "_method", "fiche", "date", "id"]) | ODD_TEXT


JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(field_keys(), children, max_size=6),
    max_leaves=25,
)


def to_form(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A JSON value as Rails bracket pairs (`a[b][]=1`)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in to_form(v, f"{prefix}[{k}]" if prefix else str(k))]
    if isinstance(value, list):
        return [p for v in value for p in to_form(v, f"{prefix}[]")] or [(prefix + "[]", "")]
    return [(prefix or "value", "" if value is None else str(value))]


def to_xml(value: Any, tag: str, odd: bool) -> str:
    """A JSON value as XML elements (Rails style types), with odd names and attributes when asked."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in tag) or "x"
    name = safe if safe[0].isalpha() else "x" + safe
    if odd:
        name = tag.replace(" ", "") or "x"  # may not be a valid XML name at all
    if isinstance(value, dict):
        inner = "".join(to_xml(v, k, odd) for k, v in value.items())
        return f"<{name}>{inner}</{name}>"
    if isinstance(value, list):
        return f'<{name} type="array">' + "".join(to_xml(v, "item", odd) for v in value) + f"</{name}>"
    if value is None:
        return f'<{name} nil="true"/>'
    kind = {bool: "boolean", int: "integer", float: "float"}.get(type(value), "string")
    text = str(value).replace("&", "&amp;").replace("<", "&lt;")
    return f'<{name} type="{kind}">{text}</{name}>'


XML_ODDITIES = [
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x"><!ENTITY f "&e;&e;&e;&e;">]>'
    b"<fiche><lastname>&f;</lastname></fiche>",
    b'<!DOCTYPE a SYSTEM "file:///etc/passwd"><fiche><lastname>x</lastname></fiche>',
    b"<fiche><lastname><![CDATA[<b>x</b>]]></lastname></fiche>",
    b"<fiche><lastname>&#0;</lastname></fiche>",
    b'<fiche><lastname type="integer">abc</lastname></fiche>',
    b'<fiche><birthdate type="datetime">never</birthdate></fiche>',
    b"<fiche>" * 40 + b"</fiche>" * 40,
    b"<a>" * 5000 + b"</a>" * 5000,
    b"<fiche>" + b"<x>" * 3000,
    b"<fiche><lastname>x</lastname>",
    b'<?xml version="1.0" encoding="latin-1"?><fiche><lastname>\xe9</lastname></fiche>',
    b"\xef\xbb\xbf<fiche/>",
    b"<a:fiche xmlns:a='urn:x'><a:lastname>x</a:lastname></a:fiche>",
]


@dataclass(frozen=True)
class Payload:
    """A body and its Content-Type; shown shortened (Hypothesis prints a failing example's arguments,
    and a 5,000-element XML body would bury the report)."""

    content_type: str
    data: bytes

    def __repr__(self) -> str:
        return f"Payload({self.content_type!r}, {len(self.data)} bytes: {self.data[:120]!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # Hypothesis's printer prefers this one
        printer.text(repr(self))


def payload(content_type: str, data: bytes) -> Payload:
    return Payload(content_type, data)


@st.composite
def bodies(draw: st.DrawFn) -> Payload:
    """(Content-Type, body): JSON (wrapped, unwrapped, not an object, invalid), form, XML, others."""
    resource = draw(st.sampled_from(list(RESOURCES.values())))
    fields = draw(st.dictionaries(st.sampled_from([f.name for f in resource.fields] or ["x"]), JSON_LEAVES, max_size=8))
    value = draw(
        st.one_of(
            st.just({resource.singular: fields}),
            st.just(fields),
            JSON_VALUES,
            st.just({resource.singular: draw(JSON_VALUES)}),
        )
    )
    kind = draw(st.integers(0, 6))
    if kind == 0:
        return payload("application/json", json.dumps(value).encode())
    if kind == 1:
        cut = json.dumps(value).encode()[: draw(st.integers(0, 40))]
        return payload("application/json", cut + draw(st.binary(max_size=8)))
    if kind == 2:
        pairs = to_form(value)
        how = draw(st.lists(st.integers(0, 6), min_size=1, max_size=3))
        return payload(
            "application/x-www-form-urlencoded",
            "&".join(encode(k, how) + "=" + encode(v, how) for k, v in pairs).encode("utf-8", "surrogatepass"),
        )
    if kind == 3:
        return payload("application/xml", to_xml(value, resource.singular, draw(st.booleans())).encode())
    if kind == 4:
        return payload("application/xml", draw(st.sampled_from(XML_ODDITIES)))
    if kind == 5:
        big = draw(
            st.sampled_from(
                [
                    "1" * 5000,
                    "9" * 400 + ".5",
                    "1e999999",
                    "-" + "9" * 4300,
                    "[" * 5000,
                    "[" * 3000 + "]" * 3000,
                    '{"a":' * 2000 + "1" + "}" * 2000,
                ]
            )
        )
        name = draw(st.sampled_from(ALL_FIELDS))
        return payload("application/json", f'{{"{resource.singular}": {{"{name}": {big}}}}}'.encode())
    odd = st.sampled_from(
        [
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/json; charset=latin-1",
            "",
            "application/vnd.api+json",
            "application/x-www-form-urlencoded; charset=utf-16",
            "image/png",
        ]
    )
    return payload(draw(odd), draw(st.binary(max_size=60)))


def call(world: World, method: str, path: str, query: str, headers: dict[str, str], body: bytes = b"") -> ApiResponse:
    return world.api.handle(ApiRequest(method, path, query, headers, body, client="127.0.0.1", request_id="fuzz"))


# -- the in-process fuzzing -----------------------------------------------------------------------------------
def test_fuzzed_query_strings(world: World, quiet: pytest.LogCaptureFixture) -> None:
    paths = collection_paths(world)

    @settings(IN_PROCESS, max_examples=CASES["query"])
    @given(
        path=st.sampled_from(paths),
        query=query_strings(),
        who=st.sampled_from(["pro", "account", "anonymous"]),
        suffix=st.sampled_from(["", "", ".json", ".xml"]),
        keyed=st.sampled_from([True, True, True, False]),
    )
    def run(path: str, query: str, who: str, suffix: str, keyed: bool) -> None:
        quiet.clear()
        full = (f"apikey={world.key}&" if keyed else "") + query
        response = call(world, "GET", path + suffix, full, caller_headers(world, who))
        assert_sound(response, quiet, f"GET {path}{suffix}?{full} as {who}")

    run()


def test_fuzzed_bodies(world: World, quiet: pytest.LogCaptureFixture) -> None:
    paths = collection_paths(world)

    @settings(IN_PROCESS, max_examples=CASES["body"])
    @given(
        path=st.sampled_from(paths),
        method=st.sampled_from(["POST", "PUT", "DELETE", "PATCH"]),
        body=bodies(),
        who=st.sampled_from(["pro", "pro", "account", "anonymous"]),
        query=st.sampled_from(["", "format=xml", "_method=PUT", "_method=DELETE"]),
    )
    def run(path: str, method: str, body: Payload, who: str, query: str) -> None:
        quiet.clear()
        content_type, data = body.content_type, body.data
        headers = {**caller_headers(world, who), **({"content-type": content_type} if content_type else {})}
        response = call(world, method, path, f"apikey={world.key}&{query}", headers, data)
        assert_sound(response, quiet, f"{method} {path}?{query} as {who} [{content_type}] {data[:300]!r}")

    run()


def date_targets(world: World) -> list[tuple[str, str, str]]:
    """(method, path, parameter or body field): every place a date is read."""
    g, ids = world.group_a, world.ids
    targets = [("GET", f"groups/{g}/availabletimeslots", q) for q in ("start", "end")]
    targets += [("POST", f"groups/{g}/appointments", "date"), ("POST", "appointments", "date")]
    for resource in RESOURCES.values():
        for f in resource.fields:
            if f.kind is not Kind.DATETIME:
                continue
            if resource.tenancy == "group":
                targets.append(("GET", f"groups/{g}/{resource.name}", f"condition:{f.name}"))
            if f.can_write("pro") and "update" in resource.pro_verbs:
                targets.append(("PUT", f"groups/{g}/{resource.name}/{ids[resource.name]}", f.name))
            if f.can_write("pro") and "create" in resource.pro_verbs:
                targets.append(("POST", f"groups/{g}/{resource.name}", f.name))
    return targets


def test_fuzzed_dates(world: World, quiet: pytest.LogCaptureFixture) -> None:
    targets = date_targets(world)
    assert len(targets) > 8, targets

    @settings(IN_PROCESS, max_examples=CASES["dates"])
    @given(
        target=st.sampled_from(targets),
        value=dates(),
        op=st.sampled_from(["=", ">=", "<", "!=", "in", "like"]),
        form=st.booleans(),
    )
    def run(target: tuple[str, str, str], value: str, op: str, form: bool) -> None:
        quiet.clear()
        method, path, name = target
        query = f"apikey={world.key}"
        body = b""
        headers = dict(world.pro)
        intervention = world.ids["interventions"]
        if method == "GET" and name.startswith("condition:"):
            query += (
                f"&conditions[0][field]={name.split(':')[1]}&conditions[0][op]={quote(op)}"
                f"&conditions[0][value]={quote(value)}"
            )
        elif method == "GET":
            query += f"&intervention_ids[]={intervention}&{name}={quote(value)}"
        else:
            singular = "appointment" if "appointments" in path else RESOURCES[path.split("/")[2]].singular
            fields: dict[str, Any] = {name: value}
            if singular == "appointment":
                fields |= {"intervention_ids": [intervention], "fiche": {"id": world.ids["fiches"]}}
            if singular == "vevent":
                fields |= {"calendar_id": world.ids["calendars"], "start": value, "end": value}
            if form:
                headers["content-type"] = "application/x-www-form-urlencoded"
                body = "&".join(f"{quote(k)}={quote(str(v))}" for k, v in to_form({singular: fields})).encode()
            else:
                headers["content-type"] = "application/json"
                body = json.dumps({singular: fields}).encode()
        response = call(world, method, path, query, headers, body)
        assert_sound(response, quiet, f"{method} {path}?{query} {body[:300]!r}")

    run()


# -- through a real server -------------------------------------------------------------------------------------
RAW_QUERY_BYTES = st.binary(max_size=80).map(
    lambda b: b.replace(b" ", b"%20").replace(b"#", b"%23").replace(b"\r", b"").replace(b"\n", b"")
)


def test_fuzzed_requests_through_a_real_server(server: RunningServer) -> None:
    """Raw bytes in the query (invalid UTF-8 included) and fuzzed bodies, over HTTP: no 5xx, and no
    traceback or error line in the server's log."""
    tenant = server.new_tenant()
    start = server.log_path.stat().st_size
    auth = {"Authorization": "Basic " + base64.b64encode(f"{tenant.email}:{tenant.password}".encode()).decode()}
    g = tenant.group_id
    paths = [
        "/api/v1/groups",
        f"/api/v1/groups/{g}/fiches",
        f"/api/v1/groups/{g}/vevents.xml",
        "/api/v1/fiches",
        f"/api/v1/groups/{g}/availabletimeslots",
        f"/api/v1/groups/{g}/appointments",
        f"/api/v1/groups/{g}",
    ]
    seen: list[str] = []

    @settings(
        deadline=None,
        database=None,
        max_examples=SERVER_CASES,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        path=st.sampled_from(paths),
        raw=RAW_QUERY_BYTES,
        query=query_strings(),
        body=bodies(),
        method=st.sampled_from(["GET", "GET", "POST", "PUT"]),
    )
    def run(path: str, raw: bytes, query: str, body: Payload, method: str) -> None:
        target = f"{path}?apikey={server.apikey}&".encode() + raw + b"&" + query.encode("utf-8", "surrogatepass")
        content_type, data = body.content_type, body.data
        headers = {**auth, **({"Content-Type": content_type} if content_type and method != "GET" else {})}
        response = _raw_bytes(server, method, target, headers, data if method != "GET" else None)
        seen.append(f"{method} {target[:200]!r}")
        assert response[0] < 500, f"{method} {target!r} {data[:200]!r} → {response[0]}: {response[1][:400]!r}"

    run()
    time.sleep(0.3)  # the access line is written after the response
    with open(server.log_path, "rb") as log:
        log.seek(start)
        written = log.read().decode("utf-8", "replace")
    bad = [line for line in written.splitlines() if "Traceback" in line or " ERROR " in line or " CRITICAL " in line]
    assert not bad, "\n".join(bad[:20]) + "\n" + written[-3000:]
    assert len(seen) >= SERVER_CASES // 2


def _raw_bytes(
    server: RunningServer, method: str, target: bytes, headers: dict[str, str], body: bytes | None
) -> tuple[int, bytes]:
    """A request line sent byte for byte (http.client refuses bytes it deems invalid in a target)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(server.url)
    lines = [
        method.encode() + b" " + target + b" HTTP/1.1",
        f"Host: {parts.hostname}:{parts.port}".encode(),
        b"Connection: close",
    ]
    lines += [f"{k}: {v}".encode() for k, v in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}".encode())
    request = b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=30) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    response = b"".join(chunks)
    status_line = response.split(b"\r\n", 1)[0]
    fields = status_line.split(b" ")
    assert len(fields) >= 2 and fields[1].isdigit(), f"no HTTP response to {target!r}: {response[:200]!r}"
    return int(fields[1]), response.split(b"\r\n\r\n", 1)[-1]
