"""Logging with every secret redacted: API keys, passwords, SHA-1 hashes, session tokens and the
Authorization header never reach a log line, whichever logger wrote it. Every line is also made
safe to read: control and other non-printable characters a client sent (a `%0A` in a path, an
escape sequence in a parameter) are escaped, so no request can forge or hide a log line."""

from __future__ import annotations

import logging
import re
import sys
from urllib.parse import unquote_plus

REDACTED = "***"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # key=value in query strings, form bodies and cookies, with raw or encoded brackets
    (
        re.compile(
            r"(?i)((?:apikey|api_key|password|passwd|_session_id|session_id|token|secret|key)"
            r"(?:%5D|\])?\s*[=:]\s*)([^&\s]+)"
        ),
        r"\1" + REDACTED,
    ),
    # JSON members "password": "..." and Python reprs 'password': '...', escaped quotes included
    (
        re.compile(
            r"""(?i)((["'])(?:[\w-]*(?:\[|%5B))?(?:apikey|api_key|password|passwd|_session_id|session_id|token"""
            r"""|secret|key)(?:\]|%5D)?\2"""
            r"""\s*:\s*(["']))(?:\\.|(?!\3)[^\\])*(\3?)"""
        ),
        r"\1" + REDACTED + r"\4",
    ),
    (re.compile(r"(?i)(authorization\s*[:=]\s*)(basic|bearer)?\s*[A-Za-z0-9+/=._~-]+"), r"\1" + REDACTED),
    (re.compile(r"(?i)\b(basic)\s+[A-Za-z0-9+/=]{8,}"), r"\1 " + REDACTED),
    # bare hex secrets: SHA-1 (40), SHA-256 digests and session tokens (64)
    (re.compile(r"\b[0-9a-fA-F]{40}\b|\b[0-9a-fA-F]{64}\b"), REDACTED),
    # API keys as openrdv makes them
    (re.compile(r"\b(?:san|pro)_[A-Za-z0-9_-]{20,}"), REDACTED),
    # argon2 hashes
    (re.compile(r"\$argon2[a-z]*\$[^\s\"']+"), REDACTED),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


# A parameter whose decoded name holds one of these anywhere is a secret (`new_password`, `access_token`)
_SECRET_IN_NAME = re.compile(r"passw|apikey|api_key|token|secret|session|authori[sz]ation|credential|cookie")
# ...or has one of these as a whole word of its name (`key`, `pro[pwd]`, but not `monkey`)
_SECRET_WORDS = frozenset({"key", "pwd", "pass", "auth", "hash", "sha1", "sid", "signature"})
_NAME_WORDS = re.compile(r"[a-z0-9]+")


def _decoded(name: str) -> str:
    """The name as the API's parser reads it (one percent-decoding, `+` as space), decoded again
    while that changes it: a doubly encoded name is redacted too, whatever the parser made of it."""
    for _ in range(3):
        decoded = unquote_plus(name, errors="replace")
        if decoded == name:
            break
        name = decoded
    return name.lower()


def is_secret_name(name: str) -> bool:
    """Whether a query or form parameter named `name` (raw or percent-encoded, any case, brackets
    raw or encoded) carries a secret."""
    decoded = _decoded(name)
    return bool(_SECRET_IN_NAME.search(decoded)) or any(w in _SECRET_WORDS for w in _NAME_WORDS.findall(decoded))


def redact_query(query: str) -> str:
    """A query string or form body with the value of every parameter whose decoded name is a
    secret replaced by `***`; the rest stays as sent. Pairs split as the API's parser splits them
    (`&`, and a raw `?` inside a query); a secret's value is redacted up to the next `&`, so a raw
    `?` in a password hides its end too."""
    if not query:
        return query
    chunks = query.split("&")
    for index, chunk in enumerate(chunks):
        parts = chunk.split("?")
        for position, part in enumerate(parts):
            name, equals, _ = part.partition("=")
            if equals and is_secret_name(name):
                chunks[index] = "?".join([*parts[:position], f"{name}={REDACTED}"])
                break
    return "&".join(chunks)


# Everything outside printable ASCII is looked at; of that, only what is not printable is escaped,
# so accented names and other printable text stay readable.
_MAYBE_UNSAFE = re.compile(r"[^\x20-\x7e]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char.isprintable():
        return char
    named = _NAMED_ESCAPES.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape_controls(text: str) -> str:
    r"""Line breaks (LF as `\n`, CR as `\r`, U+2028 as `\u2028`...), other control characters, terminal
    escape sequences and invisible format characters written as escapes: the text stays on one line."""
    return _MAYBE_UNSAFE.sub(_escape_char, text)


CONTINUATION = "| "


def _continuation_lines(text: str) -> str:
    """A traceback (or stack) keeps its lines, each escaped and prefixed with `| `: a line break an
    exception message copied from a request can only start another `| ` line, never a log line."""
    return "\n".join(CONTINUATION + escape_controls(line) for line in text.split("\n"))


class RedactingFilter(logging.Filter):
    """Redacts secrets and escapes control characters in the message, the traceback and the stack
    of every record its handler writes, whichever logger (ours, Uvicorn's, a library's) made it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = escape_controls(redact(message))
        record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            # the traceback is rendered later from exc_info; render and redact it now instead
            formatter = logging.Formatter()
            record.exc_text = _continuation_lines(redact(formatter.formatException(record.exc_info)))
            record.exc_info = None
        elif record.exc_text and not record.exc_text.startswith(CONTINUATION):
            record.exc_text = _continuation_lines(redact(record.exc_text))
        if record.stack_info and not record.stack_info.startswith(CONTINUATION):
            record.stack_info = _continuation_lines(redact(record.stack_info))
        return True


def configure_logging(level: str = "INFO") -> None:
    """Route every logger through one redacting handler on stderr."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("granian", "granian.access", "uvicorn", "uvicorn.error", "uvicorn.access", "_granian"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    # the servers' own access logs would print raw query strings (apikeys): ours replaces them
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("granian.access").disabled = True
