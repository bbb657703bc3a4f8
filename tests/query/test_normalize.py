"""normalize's ASCII shortcut gives exactly what the full Unicode normalisation gives."""

from __future__ import annotations

import unicodedata

from hypothesis import example, given
from hypothesis import strategies as st

from openrdv.query.search import normalize, search_document


def normalized_the_long_way(text: str) -> str:
    """The normalisation every text went through before the ASCII shortcut (NFKD, no combining marks,
    no control characters, case-folded, runs of white space as one space)."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch) and ch >= " ")
    return " ".join(kept.casefold().split())


ascii_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127))
printable_ascii = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E))
# Latin letters with and without accents, ligatures, control characters, odd spaces, the separator
mixed_text = st.text(alphabet=st.sampled_from("aZ9 .-_@éÉèçÇïŒœßẞﬁ\t\n\r\x00\x1f\x7f\u00a0\u2003\u0301İı"))


@given(printable_ascii)
@example("  Camille  DUBOIS ")
@example("camille.dubois17@example.com")
def test_printable_ascii_takes_the_shortcut_to_the_same_result(text: str) -> None:
    assert normalize(text) == normalized_the_long_way(text)


@given(ascii_text)
@example("a\x00b")  # a control character the long way drops, which " ".join(split()) would keep
@example("a\tb\nc\x1fd\x7f")
def test_any_ascii_gives_the_same_result(text: str) -> None:
    assert normalize(text) == normalized_the_long_way(text)


@given(st.one_of(mixed_text, st.text()))
@example("Éloïse Légaré")
@example("ﬁancée")
def test_any_text_gives_the_same_result(text: str) -> None:
    assert normalize(text) == normalized_the_long_way(text)


def test_search_document_of_a_customer_record() -> None:
    assert search_document(["Lefèvre", "Éloïse", "eloise.lefevre3@example.com", "0612345678", ""]) == (
        "lefevre\x1feloise\x1feloise.lefevre3@example.com\x1f0612345678"
    )
