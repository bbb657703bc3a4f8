"""Logging with every secret redacted: API keys, passwords, SHA-1 hashes, session tokens and the
Authorization header never reach a log line, whichever logger wrote it."""

from __future__ import annotations

import logging
import re
import sys

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


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact(message)
        record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            # the traceback is rendered later from exc_info; render and redact it now instead
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
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
