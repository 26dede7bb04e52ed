"""Start-up reads, not rebuilds: each generation's search snapshot (chunks, BM25, term counts)
is saved when ingestion publishes it and loaded at start; a missing or stale one is rebuilt."""

from __future__ import annotations

import json
import shutil

import pytest

from assistant.embedding import HashEmbedder
from assistant.indexing import ingest, saved_folder
from assistant.retrieval import HybridRetriever
from assistant.snapshot import SUFFIX, load_search, search_key, snapshot_path
from assistant.store import IndexStore

QUESTIONS = ["how long can I not drive", "what temperature should I call about", "what is apheresis",
             "can I have live vaccines", "referral criteria"]


def results(retriever: HybridRetriever) -> list[list[tuple[str, float]]]:
    return [[(p.chunk.id, round(p.score, 9)) for p in retriever.search(q)] for q in QUESTIONS]


@pytest.fixture
def published(starter_settings):
    ingest(starter_settings, embedder=HashEmbedder())
    store = IndexStore.connect(starter_settings)
    return starter_settings, store, saved_folder(starter_settings)


def no_chunk_reads(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("start-up read every chunk from the store instead of the saved snapshot")
    monkeypatch.setattr(IndexStore, "iter_chunks", staticmethod(refuse))


def test_ingest_saves_a_snapshot_that_start_up_reads_instead_of_the_store(published, monkeypatch):
    settings, store, folder = published
    collection = store.live_collection()
    assert snapshot_path(folder, collection.name).is_dir()
    rebuilt = HybridRetriever(store, HashEmbedder(), saved_dir=None)  # reads every chunk, builds BM25
    no_chunk_reads(monkeypatch)
    loaded = HybridRetriever(store, HashEmbedder(), saved_dir=folder)
    assert len(loaded.chunks) == len(rebuilt.chunks) == collection.count()
    assert sorted(c.id for c in loaded.chunks) == sorted(c.id for c in rebuilt.chunks)
    assert loaded.corpus_terms == rebuilt.corpus_terms
    assert results(loaded) == results(rebuilt)


@pytest.mark.parametrize("damage", ["missing", "truncated chunks", "other collection", "garbled key"])
def test_a_missing_or_stale_snapshot_is_rebuilt_and_saved_never_trusted(published, damage):
    settings, store, folder = published
    collection = store.live_collection()
    path = snapshot_path(folder, collection.name)
    good = results(HybridRetriever(store, HashEmbedder(), saved_dir=folder))
    if damage == "missing":
        shutil.rmtree(path)
    elif damage == "truncated chunks":
        rows = json.loads((path / "chunks.json").read_text())
        (path / "chunks.json").write_text(json.dumps(rows[:-1]))
    elif damage == "other collection":
        key = json.loads((path / "key.json").read_text())
        (path / "key.json").write_text(json.dumps(key | {"collection_id": "00000000-0000-0000-0000-000000000000"}))
    else:
        (path / "key.json").write_text("{not json")
    assert load_search(folder, search_key(collection)) is None
    retriever = HybridRetriever(store, HashEmbedder(), saved_dir=folder)
    assert len(retriever.chunks) == collection.count() and results(retriever) == good
    assert load_search(folder, search_key(collection)) is not None  # what was rebuilt was saved


def test_snapshots_follow_their_generations(published, starter_corpus):
    settings, store, folder = published
    for n in range(2):
        path = starter_corpus / "driving.md"
        path.write_text(path.read_text() + f"\nA line added in run {n}.\n")
        ingest(settings, embedder=HashEmbedder())
    kept = store.kept_generations()
    assert len(kept) == 2
    assert {p.name[: -len(SUFFIX)] for p in folder.glob(f"*{SUFFIX}")} == kept  # the oldest one is gone
