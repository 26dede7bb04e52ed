"""The corpus-fitted adapter (adapter.py): what it is fitted on, that the fit does its job and
is the same everywhere, and that the index, the answer units and the question are mapped by
it while triage reads the unadapted vectors."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

import assistant.adapter as adapter_module
from assistant.adapter import (AdaptedEmbedder, Adapter, BaseVectors, adapter_for, adapter_key, adapter_path,
                               fit_matrix, read_adapter, training_pairs)
from assistant.embedding import HashEmbedder
from assistant.records import Chunk


class Meaningful(HashEmbedder):
    """The hash embedder, declared to read meaning, so that an adapter is fitted for it."""

    name = "meaningful-hash"
    understands_meaning = True


def chunk(doc: str, section: str, text: str, *, start: int = 0, questions: str = "", title: str = "Leaflet") -> Chunk:
    return Chunk(id=f"{doc}-{section}-{start}", doc_id=doc, title=title, section=section, text=text, page=None,
                 source=f"corpus/{doc}.md", audience="patient", version="1.0", review_due="2030-01-01",
                 doc_hash="h", start=start, end=start + len(text),
                 questions=questions)


def corpus() -> list[Chunk]:
    return [
        chunk("driving", "When you can drive", "Do not drive for 8 weeks after your infusion.",
              questions="when can i drive again\nis it safe to drive home"),
        chunk("driving", "When you can drive", "Wait 8 weeks after a neurological side effect has gone.", start=50),
        chunk("driving", "Sources", "NHS; package leaflets."),
        chunk("fever", "A high temperature", "A temperature of 38 degrees or more needs a call to the line.",
              questions="what counts as a fever"),
        chunk("fever-copy", "A high temperature", "A temperature of 38 degrees or more needs a call to the line.",
              questions="what counts as a fever"),
    ]


def test_pairs_are_each_sections_heading_and_phrasings_against_its_text():
    pairs = training_pairs(corpus())
    by_ask = {ask: pairs.texts[s] for ask, s in zip(pairs.asks, pairs.section)}
    driving = by_ask["when can i drive again"]
    assert driving.startswith("Do not drive for 8 weeks") and "neurological side effect" in driving  # the whole section
    assert by_ask["Leaflet > When you can drive"] == driving == by_ask["is it safe to drive home"]
    assert not any("NHS; package" in text for text in pairs.texts)  # a list of sources is asked for by no one
    assert len(pairs.texts) == 2  # the copied document's section counts once
    assert sorted(pairs.asks).count("what counts as a fever") == 1


def test_pairs_and_key_do_not_depend_on_the_order_of_chunks():
    chunks = corpus()
    shuffled = chunks[:]
    random.Random(3).shuffle(shuffled)
    assert training_pairs(shuffled) == training_pairs(chunks)
    assert adapter_key(training_pairs(shuffled), "m") == adapter_key(training_pairs(chunks), "m")
    reworded = [dataclasses.replace(c, questions=c.questions.replace("a fever", "a high temperature"))
                for c in chunks]
    assert adapter_key(training_pairs(reworded), "m") != adapter_key(training_pairs(chunks), "m")


def test_a_large_corpus_is_fitted_on_a_fixed_sample_of_its_pairs(monkeypatch):
    monkeypatch.setattr(adapter_module, "MAX_PAIRS", 3)
    chunks = corpus()
    pairs = training_pairs(chunks)
    assert len(pairs.asks) == 3
    assert training_pairs(list(reversed(chunks))) == pairs


def test_fit_brings_each_ask_nearer_its_own_section():
    """Questions that share an "asking" direction and are noisy in half the dimensions: the
    fitted map finds each one's own section more often than the unadapted vectors do."""
    rng = np.random.default_rng(0)
    dim, sections = 32, 30
    targets = rng.normal(size=(sections, dim))
    targets /= np.linalg.norm(targets, axis=1, keepdims=True)
    section = np.repeat(np.arange(sections), 4)
    noise = rng.normal(size=(len(section), dim)) * 0.35
    noise[:, : dim // 2] *= 3
    asking = rng.normal(size=dim)
    asks = targets[section] + noise + 2 * asking / np.linalg.norm(asking)
    asks /= np.linalg.norm(asks, axis=1, keepdims=True)
    asks, targets = asks.astype(np.float32), targets.astype(np.float32)

    def found(matrix):
        adapter = Adapter("k", matrix)
        return float(np.mean(np.argmax(adapter.apply(asks) @ adapter.apply(targets).T, axis=1) == section))

    matrix = fit_matrix(asks, targets, section)
    assert found(matrix) >= found(np.eye(dim, dtype=np.float32)) + 0.15
    assert np.array_equal(matrix, fit_matrix(asks, targets, section))  # the same W every time


def test_adapter_maps_to_unit_length_and_the_identity_leaves_vectors_alone():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(5, 8)).astype(np.float32)
    mapped = Adapter("k", rng.normal(size=(8, 8)).astype(np.float32)).apply(vectors)
    assert np.allclose(np.linalg.norm(mapped, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(Adapter.identity().apply(vectors), vectors)


def test_no_adapter_for_a_model_without_meaning_or_a_single_section():
    assert adapter_for(corpus(), HashEmbedder()).is_identity
    assert adapter_for(corpus()[:2], Meaningful()).is_identity
    fitted = adapter_for(corpus(), Meaningful())
    assert not fitted.is_identity and fitted.matrix.shape == (64, 64)
    assert AdaptedEmbedder(Meaningful(), fitted).name == f"meaningful-hash+{fitted.key}"
    assert AdaptedEmbedder(HashEmbedder(), Adapter.identity()).name == "hash-embedder"


def test_a_known_adapter_with_the_same_pairs_is_not_fitted_again(monkeypatch):
    fitted = adapter_for(corpus(), Meaningful())
    monkeypatch.setattr(adapter_module, "fit_matrix", lambda *a: pytest.fail("fitted again"))
    assert adapter_for(corpus(), Meaningful(), known=fitted) is fitted


class Counting(Meaningful):
    def __init__(self):
        super().__init__()
        self.texts: list[str] = []

    def encode(self, texts):
        self.texts += list(texts)
        return super().encode(texts)


def test_base_vectors_are_kept_between_runs_and_only_the_latest_texts_are_written(tmp_path):
    path = tmp_path / "base-vectors.npz"
    model = Counting()
    first = BaseVectors(model, path)
    vectors = first.encode(["fever", "driving", "fever"])
    assert model.texts == ["fever", "driving"] and np.array_equal(vectors[0], vectors[2])
    assert np.array_equal(vectors, vectors.astype(np.float16).astype(np.float32))  # rounded as when read back
    first.save()

    model.texts.clear()
    second = BaseVectors(model, path)
    assert np.array_equal(second.encode(["driving", "rash"]), np.vstack([vectors[1], model.encode(["rash"])[0]])
                          .astype(np.float16).astype(np.float32))
    assert model.texts == ["rash", "rash"]  # "driving" came from the file (and the check encoded "rash" again)
    second.save()
    third = BaseVectors(model, path)
    assert set(third._rows) == {third._key("driving"), third._key("rash")}  # "fever" was not used: dropped

    other = Counting()
    other.name = "another-model"
    assert BaseVectors(other, path)._rows == {}  # another model's vectors are never reused
    assert BaseVectors(model, path, reuse=False)._rows == {}  # a rebuild embeds everything again


def test_a_key_ending_in_zero_bytes_survives_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(BaseVectors, "_key", staticmethod(lambda text: text.encode().ljust(16, b"\0")[:16]))
    kept = BaseVectors(Counting(), tmp_path / "b.npz")
    kept.encode(["ab"])
    kept.save()
    model = Counting()
    BaseVectors(model, tmp_path / "b.npz").encode(["ab"])
    assert model.texts == []


# -- with the real model and real Chroma ---------------------------------------------------------

class CountingModel:
    """The real embedder, recording every text that reaches it."""

    def __init__(self, embedder):
        self.inner = embedder
        self.name = embedder.name
        self.model_path = embedder.model_path
        self.texts: list[str] = []

    def count_tokens(self, text):
        return self.inner.count_tokens(text)

    def encode(self, texts):
        self.texts += list(texts)
        return self.inner.encode(texts)


def _vectors(settings) -> dict[str, np.ndarray]:
    from assistant.store import IndexStore

    return {c.id: np.asarray(v, dtype=np.float32)
            for c, v in IndexStore.iter_chunks(IndexStore.connect(settings).live_collection(), with_embeddings=True)}


@pytest.mark.slow
def test_ingest_maps_the_index_and_a_new_adapter_remaps_it_without_the_model(starter_settings, starter_corpus,
                                                                              embedder, tmp_path):
    from assistant.indexing import ingest, saved_folder
    from assistant.settings import load_settings
    from assistant.store import IndexStore

    model = CountingModel(embedder)
    first = ingest(starter_settings, embedder=model)
    collection = IndexStore.connect(starter_settings).live_collection()
    key = collection.metadata["adapter"]
    adapter = read_adapter(adapter_path(saved_folder(starter_settings), collection.name))
    assert key != "none" and adapter.key == key and not np.allclose(adapter.matrix, np.eye(384), atol=1e-3)
    chunks = {c.id: c for c, _ in IndexStore.iter_chunks(collection)}
    stored = _vectors(starter_settings)
    some = sorted(stored)[0]
    expected = adapter.apply(embedder.encode([chunks[some].embedding_text]).astype(np.float16).astype(np.float32))
    # Chroma holds the adapted vectors (a batch of one is encoded in another order of sums: 1e-5 apart)
    assert np.allclose(stored[some], expected[0], atol=1e-3)
    assert not np.allclose(stored[some], embedder.encode([chunks[some].embedding_text])[0], atol=1e-2)

    model.texts.clear()
    again = ingest(starter_settings, embedder=model)
    assert again.embedded == 0 and again.remapped == 0 and model.texts == []

    driving = starter_corpus / "driving.md"
    driving.write_text(driving.read_text().replace("Do not drive for 8 weeks", "Do not drive for eight weeks"))
    edited = ingest(starter_settings, embedder=model)
    new_key = IndexStore.connect(starter_settings).live_collection().metadata["adapter"]
    unchanged = [c for c in chunks.values() if c.doc_id != "starter-driving"]
    assert new_key != key and edited.updated == ["starter-driving"]
    assert edited.remapped == len(unchanged) == first.chunks - edited.embedded
    assert not {c.embedding_text for c in unchanged} & set(model.texts)  # re-mapped, not embedded again

    # The same corpus built from nothing gives the same vectors.
    fresh = load_settings(corpus_dir=starter_corpus, index_dir=tmp_path / "fresh")
    ingest(fresh, embedder=embedder)
    remapped, rebuilt = _vectors(starter_settings), _vectors(fresh)
    assert remapped.keys() == rebuilt.keys()
    # Equal but for the model's vectors being kept as float16: a batch encoded in another order
    # of sums (1e-6 apart) now and then rounds one element to the next float16 step (up to 5e-5
    # on some machines), so the bound is one such step on any element and a tiny mean.
    apart = np.concatenate([np.abs(remapped[i] - rebuilt[i]) for i in rebuilt])
    assert apart.max() < 2e-4 and apart.mean() < 1e-6
    # moved by the new W (a one-word edit moves it little, but a hundred times more than the above)
    moved = np.concatenate([np.abs(remapped[c.id] - stored[c.id]) for c in unchanged])
    assert moved.mean() > 1e-5


@pytest.mark.slow
def test_a_reader_without_the_saved_adapter_fits_the_same_one(starter_settings, embedder):
    """On the starter corpus: refitting embeds every section and sentence again (on the whole
    corpus, over a minute), and what is checked does not depend on the corpus's size."""
    from assistant.indexing import ingest, saved_folder
    from assistant.retrieval import HybridRetriever
    from assistant.store import IndexStore

    ingest(starter_settings, embedder=embedder)
    store = IndexStore.connect(starter_settings)
    saved = HybridRetriever(store, embedder, saved_dir=saved_folder(starter_settings))
    assert saved.adapter.key == store.live_collection().metadata["adapter"] and not saved.adapter.is_identity
    refitted = HybridRetriever(store, embedder, saved_dir=None)  # as a server-mode machine with no saved files
    assert refitted.adapter.key == saved.adapter.key
    # fitted from vectors encoded in other batches: the same to within float rounding
    assert np.allclose(refitted.adapter.matrix, saved.adapter.matrix, atol=1e-3)
    question = "can my wife drive me home after the infusion?"
    found = [p.chunk.id for p in saved.search(question)]
    assert len(found) > 1 and [p.chunk.id for p in refitted.search(question)] == found


@pytest.mark.slow
def test_triage_reads_unadapted_vectors_and_the_answer_adapted_ones(assistant, embedder, monkeypatch):
    message = "when can I drive again?"
    seen = {}
    assess, search = assistant.triager.assess, assistant.retriever.search

    def spy_assess(question, vectors=None, **kwargs):
        seen["triage"] = vectors
        return assess(question, vectors=vectors, **kwargs)

    def spy_search(query, **kwargs):
        seen.setdefault("search", kwargs["query_vector"])
        return search(query, **kwargs)

    monkeypatch.setattr(assistant.triager, "assess", spy_assess)
    monkeypatch.setattr(assistant.retriever, "search", spy_search)
    answer = assistant.ask(message)
    base = embedder.encode([message])[0]
    assert not assistant.retriever.adapter.is_identity
    assert np.allclose(seen["triage"][-1], base, atol=1e-5)
    assert np.allclose(seen["search"], assistant.retriever.adapt(base), atol=1e-5)
    assert not np.allclose(seen["search"], base, atol=1e-3)
    assert answer.status == "answered" and answer.citations
