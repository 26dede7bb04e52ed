"""Hybrid retrieval's own rules, on a tiny index with the hash embedder (no meaning needed)."""

from __future__ import annotations

from assistant.embedding import HashEmbedder
from assistant.indexing import ingest
from assistant.retrieval import HybridRetriever
from assistant.settings import load_settings
from assistant.store import IndexStore
from tests.conftest import write_approved

SHARED = "Keep your alert card with you at all times after the infusion."


def retriever_over(tmp_path, documents: dict[str, str], **kwargs) -> HybridRetriever:
    for doc_id, body in documents.items():
        write_approved(tmp_path / "corpus", doc_id, body)
    settings = load_settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    ingest(settings, embedder=HashEmbedder())
    return HybridRetriever(IndexStore.connect(settings), HashEmbedder(), **kwargs)


def test_the_same_text_in_two_documents_is_one_passage(tmp_path):
    retriever = retriever_over(tmp_path, {
        "leaflet-a": f"## Card\n{SHARED}",
        "leaflet-b": f"## Card\n{SHARED}",  # copied word for word
        "leaflet-c": "## Card\nShow the alert card to any doctor or nurse who treats you.",
    }, top_k=3)
    passages = retriever.search("alert card infusion")
    texts = [" ".join(p.chunk.text.split()) for p in passages]
    assert len(texts) == len(set(texts)) == 2  # both distinct texts, the copy left out
    assert {p.chunk.doc_id for p in passages} & {"leaflet-a", "leaflet-b"}
    assert "leaflet-c" in {p.chunk.doc_id for p in passages}
    # Asked for one document only, its own copy is still found.
    assert [p.chunk.doc_id for p in retriever.search("alert card infusion", doc_ids={"leaflet-b"})] == ["leaflet-b"]


def test_a_documents_sources_list_is_never_a_passage(tmp_path):
    retriever = retriever_over(tmp_path, {
        "leaflet-a": "## What it is\nCAR-T therapy uses your own immune cells to treat your cancer.\n\n"
                     "## Sources\n- NHS England: CAR-T therapy, what it is and how it works",
    }, top_k=5)
    sections = [p.chunk.section for p in retriever.search("what is car-t therapy and how it works")]
    assert sections and "Sources" not in sections
    assert any(c.section == "Sources" for c in retriever.chunks)  # still indexed: the page shows it
