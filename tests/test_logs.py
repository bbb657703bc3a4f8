"""Secrets never reach a log line (CONTRACT §3.4)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrdv.logs import REDACTED, RedactingFilter, configure_logging, escape_controls, redact, redact_query

SHA1 = "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8"  # sha1("password")
TOKEN64 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
APIKEY = "san_Xy7-kP_q2Lr9ZtVb0Wm4NcHd8Ef3Gs1JuA6"
PRODKEY = "pro_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_"
ARGON = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("GET /api/v1/groups?apikey=abc123XYZ&results=5", "abc123XYZ"),
        ("GET /api/v1/groups?results=5&APIKEY=abc123XYZ", "abc123XYZ"),
        ("GET /api/v1/groups?api_key=abc123XYZ", "abc123XYZ"),
        ("POST /api/v1/sessions/login pro[email]=a@b.fr&pro[password]=hunter2!", "hunter2!"),
        ("POST /api/v1/sessions/login pro%5Bemail%5D=a@b.fr&pro%5Bpassword%5D=hunter2!", "hunter2!"),
        ("account[password]=s3cr3t&x=1", "s3cr3t"),
        ('body {"pro": {"email": "a@b.fr", "password": "hunter 2 with spaces"}}', "hunter 2 with spaces"),
        ('body {"apikey":"k3y-value","x":1}', "k3y-value"),
        ('{"password": ""} and {"token": "tok en"}', "tok en"),
        ("Authorization: Basic YWxpY2VAZXhhbXBsZS5mcjpodW50ZXIy", "YWxpY2VAZXhhbXBsZS5mcjpodW50ZXIy"),
        ("authorization=Bearer abc.def-ghi", "abc.def-ghi"),
        ("headers: [('authorization', 'Basic YWxpY2U6aHVudGVyMg==')]", "YWxpY2U6aHVudGVyMg=="),
        ("Cookie: _session_id=" + TOKEN64, TOKEN64),
        ("password: hunter2", "hunter2"),
        (r'{"password": "ab\"cd-SECRET", "email": "a@b.fr"}', "cd-SECRET"),
        ("params {'apikey': 'abc123XYZ', 'results': '5'}", "abc123XYZ"),
        ("form {'pro[email]': 'a@b.fr', 'pro[password]': 'hunter2!'}", "hunter2!"),
        ("form {'pro%5Bpassword%5D': 'hunter2!'}", "hunter2!"),
        ("""params {'password': "it's-SECRET"}""", "SECRET"),
        ('truncated {"password": "SECRET-without-end', "SECRET"),
        ("login with sha1 " + SHA1 + " failed", SHA1),
        ("sha1 upper " + SHA1.upper(), SHA1.upper()),
        ("session token " + TOKEN64 + ".", TOKEN64),
        ("key was " + APIKEY + " (sandbox)", APIKEY),
        ("key was " + PRODKEY, PRODKEY),
        ("stored hash " + ARGON + " for pro 3", ARGON),
    ],
)
def test_redact(line: str, secret: str) -> None:
    out = redact(line)
    assert secret not in out
    assert REDACTED in out


def test_redact_keeps_the_rest() -> None:
    assert redact("GET /api/v1/groups?apikey=abc123&results=5") == "GET /api/v1/groups?apikey=***&results=5"
    assert redact("pro[email]=a@b.fr&pro[password]=hunter2") == "pro[email]=a@b.fr&pro[password]=***"
    assert redact('{"email": "a@b.fr", "password": "x"}') == '{"email": "a@b.fr", "password": "***"}'
    assert redact(r'{"password": "a\"b", "email": "e"}') == '{"password": "***", "email": "e"}'
    assert redact("{'apikey': 'k', 'sort': 'name'}") == "{'apikey': '***', 'sort': 'name'}"
    assert redact("Authorization: Basic YWxpY2U6aHVudGVyMg==") == "Authorization: ***"
    assert redact("pro 12 logged in from 10.0.0.1") == "pro 12 logged in from 10.0.0.1"
    plain = "GET /api/v1/groups/3/fiches?results=25&sort=id"
    assert redact(plain) == plain


def test_short_hex_is_not_a_secret() -> None:
    # ids, short hex and request ids stay readable
    assert redact("request 1a2b3c4d fiche 123456") == "request 1a2b3c4d fiche 123456"


_HEX = st.sampled_from("0123456789abcdefABCDEF")


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([40, 64]).flatmap(lambda n: st.text(alphabet=_HEX, min_size=n, max_size=n)),
    st.text(alphabet="ghij.:=( -", max_size=10),
    st.text(alphabet="ghij.:=) -", max_size=10),
)
def test_hex_secrets_are_redacted(secret: str, before: str, after: str) -> None:
    out = redact(f"{before} {secret} {after}")
    assert secret not in out
    assert REDACTED in out


# -- the logging filter -------------------------------------------------------------------------------


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("openrdv.tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def test_filter_redacts_formatted_arguments(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("request %s %s", "GET", "/api/v1/pros?apikey=abc123SECRET&results=2")
    logger.warning("login for %r with password=%s", "a@b.fr", "hunter2")
    out = stream.getvalue()
    assert "abc123SECRET" not in out and "hunter2" not in out
    assert "INFO openrdv.tests.logs request GET /api/v1/pros?apikey=***&results=2" in out
    assert "login for 'a@b.fr' with password=***" in out


def test_filter_survives_bad_format_arguments(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("apikey=%s and %s", "only-one-arg-SECRET")
    out = stream.getvalue()
    assert "only-one-arg-SECRET" not in out
    assert "apikey=***" in out


def test_logged_exception_is_redacted(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured

    def fail() -> None:
        raise RuntimeError(f"cannot verify Authorization: Basic YWxpY2U6aHVudGVyMg== key {APIKEY} sha {SHA1}")

    try:
        try:
            fail()
        except RuntimeError as exc:
            raise ValueError(f"wrapped apikey=topSECRETkey password: hunter2 token {TOKEN64}") from exc
    except ValueError:
        logger.exception("request failed for %s", "/api/v1/groups?apikey=anotherSECRET")
    out = stream.getvalue()
    assert "Traceback" in out and "RuntimeError" in out and "ValueError" in out
    for secret in ("YWxpY2U6aHVudGVyMg==", APIKEY, SHA1, "topSECRETkey", "hunter2", TOKEN64, "anotherSECRET"):
        assert secret not in out, secret
    assert out.count(REDACTED) >= 7


# -- parameters by decoded name ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "pro%5Bp%61ssword%5D",  # an encoded letter hid `password` from a pattern over the raw text
        "pro%5bpassword%5d",
        "PRO%5BPASSWORD%5D",
        "pro[PassWord]",
        "pro%255Bpassword%255D",  # encoded twice
        "account%5Bpassword_confirmation%5D",
        "pro%5Bnew_password%5D",
        "%61pikey",
        "APIKEY",
        "api%5Fkey",
        "key",
        "pro[pwd]",
        "access_token",
        "client_secret",
        "_session_id",
        "session",
        "Authorization",
        "pro+password",
    ],
)
def test_redact_query_by_decoded_name(name: str) -> None:
    query = f"results=5&{name}=Hunter2%21SECRET&sort=id"
    assert redact_query(query) == f"results=5&{name}={REDACTED}&sort=id"


def test_redact_query_hides_a_value_up_to_the_next_ampersand() -> None:
    # a raw '?' separates parameters for the API's parser (the PHP client): the value after it is
    # hidden too, whichever way it is read
    assert redact_query("x=1?pro%5Bpassword%5D=ab?cd=ef&g=2") == "x=1?pro%5Bpassword%5D=***&g=2"
    assert redact_query("pro[password]=a,b;c'd&e=f") == "pro[password]=***&e=f"


@pytest.mark.parametrize(
    "query",
    ["", "results=5&sort=key&search=password", "monkey=1&keyboard=2&hashtag=3", "conditions[0][field]=token", "a&b="],
)
def test_redact_query_keeps_what_is_not_secret(query: str) -> None:
    assert redact_query(query) == query


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["password", "apikey", "token", "secret", "key", "_session_id"]),
    st.lists(st.booleans(), min_size=12, max_size=12),
    st.text(alphabet="abcXYZ019,;'!~()*", min_size=1, max_size=20),
)
def test_redact_query_whatever_letters_are_encoded(word: str, encode: list[bool], secret: str) -> None:
    name = "pro[" + word + "]"
    encoded = "".join(f"%{ord(c):02X}" if flag else c for c, flag in zip(name, encode + [False] * 20, strict=False))
    out = redact_query(f"pro%5Bemail%5D=a%40b.fr&{encoded}={secret}ZZ&x=1")
    assert f"{secret}ZZ" not in out and out.endswith(f"={REDACTED}&x=1")


# -- one record, one line ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("/api/v1/x\n2026-01-01 INFO forged", "/api/v1/x\\n2026-01-01 INFO forged"),
        ("a\r\nb\tc", "a\\r\\nb\\tc"),
        ("\x1b[31mred\x00\x7f", "\\x1b[31mred\\x00\\x7f"),
        ("line\u2028sep\u2029par\x85nel\x0bvt\x0cff\x1cfs", "line\\u2028sep\\u2029par\\x85nel\\x0bvt\\x0cff\\x1cfs"),
        ("abc\u202edcba\u200b", "abc\\u202edcba\\u200b"),
        ("lone \udcff surrogate", "lone \\udcff surrogate"),
        ("Hélène Ørsted 日本 €", "Hélène Ørsted 日本 €"),
        ("plain ASCII with a \\n backslash", "plain ASCII with a \\n backslash"),
    ],
)
def test_escape_controls(text: str, escaped: str) -> None:
    assert escape_controls(text) == escaped


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_escaped_text_is_one_printable_line(text: str) -> None:
    out = escape_controls(text)
    assert out.isprintable() and len(out.splitlines()) <= 1


def test_filter_keeps_a_record_on_one_line(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("GET %s 404", "/api/v1/x\nINFO openrdv.tests.logs GET /forged 200")
    logger.warning("odd %r", "\r\x1b[2K\u2028")
    lines = stream.getvalue().splitlines()
    assert lines == [
        "INFO openrdv.tests.logs GET /api/v1/x\\nINFO openrdv.tests.logs GET /forged 200 404",
        "WARNING openrdv.tests.logs odd '\\r\\x1b[2K\\u2028'",
    ]


def test_a_traceback_cannot_start_a_log_line(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        raise ValueError("bad input\nINFO openrdv.tests.logs forged line apikey=SECRETkey\r\x1b[2J")
    except ValueError:
        logger.exception("request %s failed", "r1")
    logger.info("after", stack_info=True)
    lines = stream.getvalue().splitlines()
    records = [line for line in lines if not line.startswith("| ")]
    assert records == ["ERROR openrdv.tests.logs request r1 failed", "INFO openrdv.tests.logs after"]
    out = stream.getvalue()
    assert "| Traceback (most recent call last):" in out and "| ValueError: bad input" in out
    assert "| INFO openrdv.tests.logs forged line apikey=***\\r\\x1b[2J" in out
    assert "SECRETkey" not in out and "\x1b" not in out and "\r" not in out
    assert "| Stack (most recent call last):" in out


def test_uvicorn_and_library_records_go_through_the_same_filter() -> None:
    """configure_logging puts one filtered handler on the root: any logger's line is escaped."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    try:
        configure_logging("INFO")
        (handler,) = root.handlers
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(stream)
        logging.getLogger("uvicorn.error").warning("Invalid HTTP request: %s", "GET /\napikey=abcSECRET")
        logging.getLogger("some.library").error("x\ny")
    finally:
        root.handlers, root.level = saved[0], saved[1]
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].endswith("uvicorn.error Invalid HTTP request: GET /\\napikey=***")
    assert lines[1].endswith("some.library x\\ny")
