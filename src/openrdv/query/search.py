"""Text normalisation shared by stored search columns and search terms (lower case, no accents), and
the plain SQL test of a search word."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

MAX_SEARCH_LENGTH = 200
# Each word is one more LIKE (or index lookup) over every candidate row: a search of 100 one-letter
# words with a deep startIndex cost 3-4 s at a million rows. Beyond these, `search` is a 400.
MAX_SEARCH_WORDS = 10
# A one-letter word matches nearly every row, so it narrows little and costs a full LIKE; initials
# ("martin j p") are the use, and a word inside another word of the search is dropped anyway.
MAX_ONE_LETTER_WORDS = 2
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
    """The words a row must all hold, normalised, in the order given: a repeated word, or one held
    in another word of the search ("j" in "jean"), is dropped, as it can change no result."""
    words = list(dict.fromkeys(w for w in normalize(term).split(" ") if w))
    return [w for w in words if not any(w != other and w in other for other in words)]


def search_problem(words: list[str]) -> str | None:
    """Why these search words cost too much to run, or None."""
    if len(words) > MAX_SEARCH_WORDS:
        return f"has too many words ({len(words)}; at most {MAX_SEARCH_WORDS} different ones)"
    if sum(1 for w in words if len(w) == 1) > MAX_ONE_LETTER_WORDS:
        return f"has too many one-letter words (at most {MAX_ONE_LETTER_WORDS})"
    return None


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def word_like_sql(column: str, word: str) -> tuple[str, list[Any]]:
    """The plain test of one search word: a LIKE over the stored search column of table alias t.
    LIKE, not ILIKE, on every engine: both sides are already normalised."""
    return f"t.\"{column}\" LIKE ? ESCAPE '\\'", [f"%{like_escape(word)}%"]


def word_in_fields_sql(columns: Sequence[str], word: str, like: str) -> tuple[str, list[Any]]:
    """One search word held by any of these columns themselves (not a stored, normalised search
    column): case-insensitive (`like` is the engine's), not accent-insensitive."""
    pattern = f"%{like_escape(word)}%"
    tests = [f"t.\"{column}\" {like} ? ESCAPE '\\'" for column in columns]
    return "(" + " OR ".join(tests) + ")", [pattern] * len(columns)
