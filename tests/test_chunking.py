"""Chunking: exact slices of the source, within the size limit, overlapping, stable ids."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings, strategies as st

from assistant.chunking import chunk_document, split_sentences, words_counter
from assistant.records import Block, Document, DocumentMeta

META = DocumentMeta(id="doc", title="Doc", audience="patient", owner="o", version="1", approved_by="a",
                    approved_on=dt.date(2026, 1, 1), review_due=dt.date(2028, 1, 1), status="approved")


def doc_of(text: str, section: str = "Section") -> Document:
    return Document(meta=META, source="corpus/doc.md", format="markdown", text=text,
                    blocks=(Block(text=text.strip(), section=section, start=text.index(text.strip()[:1]) if text.strip() else 0),),
                    content_hash="h")


def test_sentences_and_list_items_are_units():
    text = "Call the team. Do not wait, e.g. until morning.\n- Item one\n- Item two\n\nNew paragraph here."
    spans = [text[s:e] for s, e in split_sentences(text)]
    assert spans == ["Call the team.", "Do not wait, e.g. until morning.", "- Item one", "- Item two",
                     "New paragraph here."]


def test_a_wrapped_line_that_starts_with_a_number_continues_its_sentence():
    # PDF text wraps where the page is full: "(01632 960" then "789) can tell you" is one sentence.
    text = ("At Riverside, send referrals to the team. The coordinator (01632 960\n789) can tell you which form"
            "\nto use.\nYou will need:\n1. a letter\n2. the form\n- Step 3: call (01632 960\n789) first\n- done")
    spans = [text[s:e] for s, e in split_sentences(text)]
    assert spans == ["At Riverside, send referrals to the team.",
                     "The coordinator (01632 960\n789) can tell you which form\nto use.", "You will need:",
                     "1. a letter", "2. the form", "- Step 3: call (01632 960\n789) first", "- done"]


def test_chunks_respect_size_and_overlap():
    sentences = [f"Sentence number {i} talks about apheresis and cells." for i in range(40)]
    text = " ".join(sentences)
    chunks = chunk_document(doc_of(text), max_tokens=40, overlap_tokens=10, count_tokens=words_counter)
    assert len(chunks) > 3
    for chunk in chunks:
        assert words_counter(chunk.text) <= 40
        assert text[chunk.start: chunk.end] == chunk.text
    # consecutive chunks share a whole sentence
    for first, second in zip(chunks, chunks[1:]):
        assert second.start < first.end
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_ids_are_stable_and_content_derived():
    text = "One sentence here. Another sentence there."
    first = chunk_document(doc_of(text), max_tokens=50, overlap_tokens=5)
    again = chunk_document(doc_of(text), max_tokens=50, overlap_tokens=5)
    changed = chunk_document(doc_of(text.replace("there", "elsewhere")), max_tokens=50, overlap_tokens=5)
    assert [c.id for c in first] == [c.id for c in again]
    assert first[0].id != changed[0].id


def test_a_sentence_longer_than_a_chunk_is_cut_at_words():
    text = " ".join(["word"] * 500) + "."
    chunks = chunk_document(doc_of(text), max_tokens=64, overlap_tokens=8)
    assert len(chunks) >= 8 and all(words_counter(c.text) <= 64 for c in chunks)


def test_what_lies_between_units_counts_towards_the_chunk():
    """A table's separator row is in a chunk that spans both its rows, though it is no unit."""
    text = "| a | b |\n|---|---|\n| c | d |"
    chunks = chunk_document(doc_of(text), max_tokens=10, overlap_tokens=2)
    assert [c.text for c in chunks] == ["| a | b |", "| c | d |"]
    assert chunk_document(doc_of(text), max_tokens=11, overlap_tokens=2)[0].text == text


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=80),
                min_size=1, max_size=30),
       st.integers(min_value=8, max_value=60))
def test_property_chunks_are_exact_bounded_slices(pieces, max_tokens):
    text = "\n".join(pieces)
    if not text.strip():
        return
    for chunk in chunk_document(doc_of(text), max_tokens=max_tokens, overlap_tokens=max_tokens // 4):
        assert text[chunk.start: chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text
        assert words_counter(chunk.text) <= max_tokens
