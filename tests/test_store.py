"""The Chroma store: a generation's dense search is exact (and so the same in every process),
embedded and on a `chroma run` server."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.settings import load_settings
from assistant.store import DEFAULT_SEARCH_EF, EXACT_SEARCH_UP_TO, IndexStore, search_breadth

pytestmark = pytest.mark.slow
CHUNKS, QUERIES, CANDIDATES = 600, 40, 40  # more chunks than Chroma's default search breadth


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _nearest(collection, queries: np.ndarray) -> list[set[str]]:
    return [set(ids) for ids in collection.query(query_embeddings=queries, n_results=CANDIDATES, include=[])["ids"]]


@pytest.fixture(params=["embedded", "server"])
def store(request, tmp_path):
    if request.param == "server":
        settings = load_settings(chroma_url=request.getfixturevalue("chroma_server").url, index_dir=tmp_path / "unused")
    else:
        settings = load_settings(index_dir=tmp_path / "index")
    return IndexStore.connect(settings, create=True)


def test_a_generation_finds_the_exact_nearest_chunks_where_chromas_default_does_not(store):
    rng = np.random.default_rng(7)
    vectors, queries = _unit(rng.standard_normal((CHUNKS, 384))), _unit(rng.standard_normal((QUERIES, 384)))
    ids = [f"chunk-{i}" for i in range(CHUNKS)]
    distances = ((queries[:, None, :] - vectors[None, :, :]) ** 2).sum(axis=2)
    exact = [{ids[j] for j in np.argsort(row)[:CANDIDATES]} for row in distances]

    default = store.client.create_collection("control", embedding_function=None)
    default.add(ids=ids, embeddings=vectors)
    assert _nearest(default, queries) != exact  # so this test can fail: Chroma's default is approximate

    sized = store.new_generation(size=CHUNKS)  # what ingest does: it knows the count beforehand
    sized.add(ids=ids, embeddings=vectors)
    assert _nearest(sized, queries) == exact


def test_the_search_breadth_covers_a_collection_up_to_the_exact_limit_only():
    assert search_breadth(0) == search_breadth(40) == DEFAULT_SEARCH_EF
    assert search_breadth(371) == 371
    assert search_breadth(EXACT_SEARCH_UP_TO) == EXACT_SEARCH_UP_TO
    assert search_breadth(EXACT_SEARCH_UP_TO + 1) == DEFAULT_SEARCH_EF  # larger: Chroma's approximate default


def test_ingest_builds_the_real_corpus_with_an_exact_search(built_index):
    live = IndexStore.connect(built_index).live_collection()
    assert DEFAULT_SEARCH_EF < live.count() <= EXACT_SEARCH_UP_TO  # the real corpus: exactness needs the setting
    assert live.configuration["hnsw"]["ef_search"] == live.count()
