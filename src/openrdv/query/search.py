"""Text normalisation shared by stored search columns and search terms (lower case, no accents), and
the plain SQL test of a search word."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

MAX_SEARCH_LENGTH = 200
# Separates the searchable fields inside the stored column so that a word never matches across two
# fields; LIKE patterns never contain it because normalize() drops control characters.
FIELD_SEPARATOR = "\x1f"


def normalize(text: str) -> str:
    if text.isascii() and text.isprintable():
        # the same result as below, without the per-character loop: ASCII has no accents and NFKD
        # leaves it as it is, printable ASCII has no control characters, casefold() of ASCII is lower()
        return " ".join(text.lower().split())
    return _normalize_unicode(text)


@lru_cache(maxsize=65536)
def _normalize_unicode(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch) and ch >= " ")
    return " ".join(kept.casefold().split())


def search_document(values: Iterable[object]) -> str:
    """The stored, normalised text a row is searched in."""
    return FIELD_SEPARATOR.join(normalize(str(v)) for v in values if v not in (None, ""))


def search_words(term: str) -> list[str]:
    return [w for w in normalize(term).split(" ") if w]


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def word_like_sql(column: str, word: str) -> tuple[str, list[Any]]:
    """The plain test of one search word: a LIKE over the stored search column of table alias t.
    LIKE, not ILIKE, on every engine: both sides are already normalised."""
    return f"t.\"{column}\" LIKE ? ESCAPE '\\'", [f"%{like_escape(word)}%"]
