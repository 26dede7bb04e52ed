"""The parts the benchmarks share: the embedder, our index, the peer recipe's index, golden cases.

The peer is LangChain's standard RAG recipe: `RecursiveCharacterTextSplitter(chunk_size=1000,
chunk_overlap=200)` over each document's text, then `Chroma.from_documents` with the same
all-MiniLM-L6-v2 behind a LangChain `Embeddings` that calls `SentenceTransformer.encode` the
way `langchain_huggingface.HuggingFaceEmbeddings` does by default (batch 32, no extra
normalisation; the model's own last layer normalises). Needs langchain-text-splitters and
langchain-chroma (bench-only pins, see BENCHMARKS.md).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Sequence

from .common import CORPUS, WORK, log

PEER_RECIPE = {"splitter": "RecursiveCharacterTextSplitter", "chunk_size": 1000, "chunk_overlap": 200,
               "store": "langchain_chroma.Chroma.from_documents", "k": 4}
PEER_COLLECTION = "peer"


def embedder():
    """The packaged model, loaded and warmed once (the first encode pays one-off costs)."""
    from assistant.embedding import SentenceEmbedder
    from assistant.settings import packaged_model_path

    model = SentenceEmbedder(packaged_model_path())
    model.encode(["warm up the model", "CAR-T therapy"])
    return model


def lazy_embedder():
    """The packaged model, loaded only if something must be embedded (chunking needs the tokenizer)."""
    from assistant.embedding import SentenceEmbedder
    from assistant.settings import packaged_model_path

    return SentenceEmbedder(packaged_model_path())


class CountingEmbedder:
    """Our embedder, counting the texts it embeds (re-ingest must embed none) and the time it takes.

    With `keep=True` it also keeps each batch it was asked to embed, so that raw `model.encode`
    can be timed on exactly the texts (and batches) the pipeline embedded.
    """

    def __init__(self, inner, keep: bool = False):
        import time

        self._clock = time.perf_counter
        self.inner = inner
        self.name = inner.name
        self.texts = 0
        self.seconds = 0.0
        self.batches: list[list[str]] | None = [] if keep else None

    def encode(self, texts):
        started = self._clock()
        try:
            return self.inner.encode(texts)
        finally:
            self.texts += len(texts)
            self.seconds += self._clock() - started
            if self.batches is not None:
                self.batches.append(list(texts))

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


def settings_for(index_dir: Path, **overrides):
    from assistant.settings import load_settings

    return load_settings(corpus_dir=CORPUS, index_dir=Path(index_dir),
                         feedback_db=Path(index_dir) / "feedback.sqlite3", **overrides)


def our_index(model, index_dir: Path = WORK / "index"):
    """Settings of an up-to-date index of corpus/ (incremental: a no-op when it is current)."""
    from assistant.indexing import ingest

    settings = settings_for(index_dir)
    report = ingest(settings, embedder=model)
    if report.embedded:
        log(f"our index: embedded {report.embedded} chunks in {report.seconds:.1f} s")
    return settings


def corpus_documents():
    from assistant.loading import load_corpus

    return load_corpus(CORPUS).documents


def corpus_key(documents) -> str:
    """Changes when any indexed document's bytes change."""
    digest = hashlib.sha256()
    for doc in sorted(documents, key=lambda d: d.meta.id):
        digest.update(f"{doc.meta.id}:{doc.content_hash}\n".encode())
    return digest.hexdigest()[:16]


# -- the peer recipe ------------------------------------------------------------------------------
def _require_peer() -> None:
    """The peer recipe's packages are benchmark-only: say how to get them when missing."""
    import importlib.util

    missing = [name for name in ("langchain_text_splitters", "langchain_chroma")
               if importlib.util.find_spec(name) is None]
    if missing:
        raise SystemExit(f"the peer recipe needs {', '.join(missing)}: .venv/bin/pip install "
                         "langchain-text-splitters==1.1.3 langchain-chroma==1.1.0 (requirements-dev.txt)")


def lc_embeddings(model):
    """LangChain Embeddings over the same SentenceTransformer, HuggingFaceEmbeddings-style."""
    from langchain_core.embeddings import Embeddings

    class MiniLMEmbeddings(Embeddings):
        def __init__(self):
            self.texts = 0

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            self.texts += len(texts)
            return model.model.encode(list(texts), show_progress_bar=False).tolist()

        def embed_query(self, text: str) -> list[float]:
            return self.embed_documents([text])[0]

    return MiniLMEmbeddings()


def peer_documents(documents) -> list:
    """The standard recipe's input: one LangChain Document per source document, its whole text."""
    from langchain_core.documents import Document

    return [Document(page_content=doc.text,
                     metadata={"doc_id": doc.meta.id, "title": doc.meta.title, "source": doc.source,
                               "audience": doc.meta.audience})
            for doc in documents]


def peer_split(lc_docs: Sequence) -> list:
    _require_peer()
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=PEER_RECIPE["chunk_size"],
                                              chunk_overlap=PEER_RECIPE["chunk_overlap"])
    return splitter.split_documents(list(lc_docs))


def build_peer(lc_docs: Sequence, embeddings, persist_dir: Path):
    """Split + Chroma.from_documents into a fresh folder; returns (vectorstore, chunk count)."""
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma

    shutil.rmtree(persist_dir, ignore_errors=True)
    chunks = peer_split(lc_docs)
    store = Chroma.from_documents(chunks, embedding=embeddings, collection_name=PEER_COLLECTION,
                                  persist_directory=str(persist_dir),
                                  client_settings=ChromaSettings(anonymized_telemetry=False,
                                                                 is_persistent=True,
                                                                 persist_directory=str(persist_dir)))
    return store, len(chunks)


def peer_index(model, documents=None, persist_dir: Path = WORK / "peer"):
    """The peer's vector store over corpus/, built once and reused while the corpus is unchanged."""
    _require_peer()
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma

    documents = documents if documents is not None else corpus_documents()
    stamp_path = persist_dir / "STAMP.json"
    stamp = {"corpus": corpus_key(documents), "recipe": PEER_RECIPE}
    embeddings = lc_embeddings(model)
    if stamp_path.exists() and json.loads(stamp_path.read_text()) == stamp:
        return Chroma(collection_name=PEER_COLLECTION, embedding_function=embeddings,
                      persist_directory=str(persist_dir),
                      client_settings=ChromaSettings(anonymized_telemetry=False, is_persistent=True,
                                                     persist_directory=str(persist_dir)))
    log("peer index: building (split + Chroma.from_documents)")
    store, _ = build_peer(peer_documents(documents), embeddings, persist_dir)
    stamp_path.write_text(json.dumps(stamp))
    return store


def write_peer_stamp(documents, persist_dir: Path = WORK / "peer") -> None:
    (persist_dir / "STAMP.json").write_text(json.dumps({"corpus": corpus_key(documents), "recipe": PEER_RECIPE}))


# -- golden cases ---------------------------------------------------------------------------------
def golden_cases():
    from eval.cases import load_suite

    return load_suite(corpus_dir=CORPUS)


def retrieval_cases(cases=None):
    """Answered cases with expected sources: the ones retrieval can be scored on."""
    cases = cases if cases is not None else golden_cases()
    return [c for c in cases if c.expected_status == "answered" and c.expected_sources]
