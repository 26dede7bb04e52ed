"""Stage 5, retrieval: dense search in Chroma fused with BM25, audience-aware, follow-up aware.

Entry point: `HybridRetriever.search(query, audience=...) -> list[Passage]`.
- Dense: the packaged MiniLM embeds the query, mapped by the generation's adapter (adapter.py);
  Chroma returns nearest chunks.
- BM25 (bm25s) over title, section and text of every chunk in the live generation.
- Reciprocal-rank fusion; then an audience prior: documents for the asker's audience (or
  for all) come first, the other audience's documents only when they score much better.
The BM25 index is loaded from the generation's saved snapshot (snapshot.py; rebuilt and saved
when it is missing or stale) whenever ingestion publishes a new generation.
`CartRetriever` exposes the same search as a LangChain retriever.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .adapter import Adapter, AdaptedEmbedder, load_adapter
from .records import Chunk, Passage, Turn
from .store import IndexStore
from .snapshot import build_search, load_search, save_search, search_key
from .text import ASKING_VERB, CorpusTerms, terms
from .triage import sentences
from .units import Units, load_units

log = logging.getLogger(__name__)
Mode = Literal["hybrid", "dense", "bm25"]
# Weighted reciprocal-rank fusion. On the golden set (bench/retrieval.py) BM25 weighted 2:1
# with k=10 gave MRR 0.815 against 0.800 for plain RRF (k=60): the corpus is small and full
# of exact clinical terms, which BM25 matches and MiniLM blurs.
RRF_K = 10
BM25_WEIGHT = 2.0
CANDIDATES = 40
OTHER_AUDIENCE_WEIGHT = 0.55  # a patient sees clinician text only when it clearly fits better


def is_reference_list(chunk: Chunk) -> bool:
    """A document's "Sources" section lists where its facts come from: never an answer, and
    its titles ("NHS England: CAR-T therapy") match almost any question, so search leaves it
    out of the passages it returns (the page still shows it)."""
    return chunk.section.strip().lower() == "sources"


def section_key(chunk: Chunk) -> tuple[str, str]:
    """A section of a document (a PDF's page sections of one heading count as one)."""
    return chunk.doc_id, chunk.section


def today_iso() -> str:
    return dt.date.today().isoformat()


def in_date(chunk: Chunk, today: str) -> bool:
    """False once the chunk's document is past its review date: no longer approved, so never
    cited, even before the next ingestion removes it (ISO dates compare as text)."""
    return not (chunk.review_due and chunk.review_due < today)


_FOLLOW_UP_CUES = re.compile(
    r"^\s*(and|but|also|so|what about|how about|then|ok(ay)?|and what|what if)\b|\b(that|this|it|those|these|them|they|there|then)\b",
    re.I,
)


@dataclass(frozen=True)
class RetrievalQuery:
    text: str  # what is searched
    follow_up: bool


def build_query(question: str, history: list[Turn] | tuple = ()) -> RetrievalQuery:
    """A follow-up ("and how long for that?") is searched together with the previous question.

    A question counts as a follow-up when it has few content words of its own or leans on
    the conversation (a leading "and", "what about", or a pronoun such as "that").
    """
    leaning = leaning_query(question, history)
    if leaning is None:
        return RetrievalQuery(question, False)
    own_terms = terms(question)
    if len(own_terms) <= 5 and (_FOLLOW_UP_CUES.search(question) or len(own_terms) <= 2):
        return leaning
    return RetrievalQuery(question, False)


def leaning_query(question: str, history: list[Turn] | tuple = ()) -> RetrievalQuery | None:
    """The question searched together with the previous question, as a follow-up is, whatever
    its own words; None when the conversation has no earlier question."""
    previous = [t.content for t in history if t.role == "user" and t.content.strip()]
    return RetrievalQuery(f"{previous[-1]} {question}", True) if previous else None


# A sentence that asks: it ends with "?" or opens as a question does, after a joining word too
# ("and is that the same number i ring you at": a second question typed without its question mark).
_WH = r"what|whats|what's|wot|when|where|who|which|why|how"  # the words that open a question of fact
_ASKS = re.compile(rf"\?\s*$|^\s*(?:(?:and|also|plus|but|so)\s+)?({_WH}|can|could|should|shall|is|are|do|does|did|will|would|may|am)\b", re.I)
_QUESTION_WORD = re.compile(rf"\b(?:{_WH})\b", re.I)
MAX_PARTS = 2
_POINTS = re.compile(r"\b(?:that|this|it|these|those|they|them)\b", re.I)  # pointing back
# A second question joined to the first by "and" ("how long is the follow up and is it true it
# can cause another cancer?", "what chemo do they give, and will it affect having a baby?"): the
# joining word, with the question word that opens the second, or a preposition before it ("which
# ICE band is grade 2, and from what grade are steroids considered?").
_SECOND_QUESTION = re.compile(r"(?:,\s*|\s+)(?:and|also|plus)\s+(?=(?:is|are|do|does|did|can|could|will|would|should|"
                              r"how|what|whats|what's|when|where|why|which|who|am)\b"
                              r"|(?:from|at|for|in|by|to|with|after|until|till|on|since|before)\s+(?:what|which|how|when|whom)\b)", re.I)


def question_parts(message: str) -> list[str]:
    """The separate questions of a message that asks two things ("what is bridging? and how
    long do the cells take?"): its sentences that ask and have a topic of their own (two
    content words or more), or that point back at what the sentence before them tells ("They
    said I'm having lymphodepletion. What drugs is that? And what if my cells are late?": that
    sentence and the question are one part). One question, or a tail that leans on it ("is
    that normal?", "email?"), gives no parts: the message is answered as a whole."""
    asking = []
    told = None  # the sentence just before, when it only tells
    for sentence in sentences(message):
        pieces = [piece for piece in _SECOND_QUESTION.split(sentence) if piece and piece.strip()]
        for i, piece in enumerate(pieces):
            # The first of two questions one asking sentence joins may open with a clause of its
            # own ("once I'm home, how many times a day ..., and what reading ...?"): it asks
            # when it holds a question word.
            first_of_two = i == 0 and len(pieces) > 1 and _ASKS.search(sentence) and _QUESTION_WORD.search(piece)
            if asking and not _QUESTION_WORD.search(piece) and not ASKING_VERB.search(piece):
                # A question after another with neither a question word nor a verb of asking asks
                # only by its question mark: it says what the question before it means ("How is
                # Breyanzi funded - baseline commissioning or Cancer Drugs Fund?", "What counts as a
                # collapse? Like fainting, or worse?"), not a second question of its own.
                continue
            if (_ASKS.search(piece) or first_of_two) and len(set(terms(piece))) >= 2:
                asking.append(piece)
            elif i == 0 and told and _ASKS.search(piece) and _POINTS.search(piece):
                # A question that points back at what the sentence before it tells ("They said I'm
                # having lymphodepletion. What drugs is that?") takes its topic from it.
                asking.append(f"{told} {piece}")
        told = sentence if not _ASKS.search(sentence) else None
    return asking[:MAX_PARTS] if len(asking) >= 2 else []


def asking_part(message: str) -> str | None:
    """The sentences of a message that ask, without those that only tell ("How long does the
    infusion last? My wife wants to sit with me."): None when every sentence asks, or none
    does, or what asks has no content word of its own ("Is it ok?").

    One content word is a topic: "what is crs??" asks about CRS whatever the nurse said
    around it. (Two were asked for until the twenty-seventh session; with one, on every
    tuning, dev and held-out case: one more held-out question passed, none was lost, no
    wrong answer more; docs/history.md.) A second try is still given only when the model is sure."""
    pieces = sentences(message)
    asking = [s for s in pieces if _ASKS.search(s)]
    if not asking or len(asking) == len(pieces) or not terms(" ".join(asking)):
        return None
    return " ".join(asking)


class HybridRetriever:
    def __init__(self, store: IndexStore, embedder, *, mode: Mode = "hybrid", top_k: int = 6,
                 saved_dir=None):
        self.store = store
        # Where each generation's answer units (units.py) and search snapshot (snapshot.py)
        # are saved; None: built in memory at every start.
        self.saved_dir = saved_dir
        self.embedder = embedder
        self.mode = mode
        self.top_k = top_k
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._chunks: list[Chunk] = []
        self._row_of: dict[str, int] = {}
        self._bm25 = None
        self._collection = None
        self._corpus_terms = CorpusTerms(0, {}, {})
        self._units: Units | None = None
        self._sections: dict[tuple[str, str], list[int]] = {}
        self._adapter = Adapter.identity()
        self.refresh()

    # -- index state -------------------------------------------------------------
    def refresh(self) -> bool:
        """Load the live generation if it changed since last time. True when reloaded."""
        generation = self.store.live_generation()
        name = generation.name if generation else None
        if name == self._generation and self._bm25 is not None:
            return False
        with self._lock, self.store.explain_failures():
            collection = self.store.live_collection()
            key = search_key(collection)
            search = load_search(self.saved_dir, key)
            if search is None:  # no snapshot of this generation (or a stale one): rebuild it
                search = build_search([chunk for chunk, _ in IndexStore.iter_chunks(collection)])
                if self.saved_dir is not None:
                    try:
                        save_search(self.saved_dir, key, search)
                    except OSError as exc:  # a read-only folder still serves, from memory
                        log.warning("could not save the search snapshot of %s: %s", name, exc)
            chunks, bm25, corpus_terms = search.chunks, search.bm25, search.corpus_terms
            adapter = load_adapter(self.saved_dir, name, chunks, self.embedder,
                                   key=(collection.metadata or {}).get("adapter"))
            units = load_units(self.saved_dir, name, chunks, AdaptedEmbedder(self.embedder, adapter))
            sections: dict[tuple[str, str], list[int]] = {}
            for row in sorted(range(len(chunks)), key=lambda r: (chunks[r].doc_id, chunks[r].start)):
                sections.setdefault(section_key(chunks[row]), []).append(row)
            self._chunks, self._bm25, self._collection = chunks, bm25, collection
            self._corpus_terms = corpus_terms
            self._row_of = {c.id: i for i, c in enumerate(chunks)}
            self._units, self._sections, self._adapter = units, sections, adapter
            self._generation = name
        return True

    @property
    def chunks(self) -> list[Chunk]:
        return self._chunks

    @property
    def units(self) -> Units:
        """Sentence and heading vectors of the live generation (units.py)."""
        return self._units

    def section_rows(self, chunk: Chunk) -> list[int]:
        """Rows of every chunk of `chunk`'s section, in document order."""
        return self._sections.get(section_key(chunk), [self._row_of[chunk.id]])

    def row_of(self, chunk_id: str) -> int:
        return self._row_of[chunk_id]

    @property
    def adapter(self) -> Adapter:
        return self._adapter

    @property
    def index_embedder(self) -> AdaptedEmbedder:
        """The embedder the live generation's vectors were made with: the model, then its adapter."""
        return AdaptedEmbedder(self.embedder, self._adapter)

    def adapt(self, vectors: np.ndarray) -> np.ndarray:
        """Unadapted vectors (a question's, from the embedder) mapped as the live generation's
        were (adapter.py): what is compared with the index and the answer units."""
        return self._adapter.apply(vectors)

    @property
    def corpus_terms(self) -> CorpusTerms:
        """Term and word counts of the live generation, gathered while building BM25."""
        return self._corpus_terms

    @property
    def generation(self) -> str | None:
        return self._generation

    # -- search ------------------------------------------------------------------
    def search(self, query: str, *, audience: str = "patient", k: int | None = None,
               query_vector: np.ndarray | None = None, doc_ids: set[str] | None = None) -> list[Passage]:
        """`query_vector`: the query's vector already adapted (`adapt`); embedded here when None."""
        k = k or self.top_k
        n = min(CANDIDATES, len(self._chunks)) if doc_ids is None else len(self._chunks)
        dense: list[int] = []
        sparse: list[int] = []
        if self.mode in ("hybrid", "dense"):
            vector = query_vector if query_vector is not None else self.adapt(self.embedder.encode([query])[0])
            dense = self._dense(vector, n)
        if self.mode in ("hybrid", "bm25"):
            sparse = self._sparse(query, n)
        today = today_iso()

        def servable(row: int) -> bool:
            chunk = self._chunks[row]
            return (doc_ids is None or chunk.doc_id in doc_ids) and in_date(chunk, today)

        dense = [i for i in dense if servable(i)]
        sparse = [i for i in sparse if servable(i)]
        scores: dict[int, float] = {}
        dense_rank = {row: r for r, row in enumerate(dense, start=1)}
        sparse_rank = {row: r for r, row in enumerate(sparse, start=1)}
        for ranking, weight in ((dense, 1.0), (sparse, BM25_WEIGHT)):
            for rank, row in enumerate(ranking, start=1):
                scores[row] = scores.get(row, 0.0) + weight / (RRF_K + rank)
        for row in scores:
            chunk_audience = self._chunks[row].audience
            if chunk_audience not in ("all", audience):
                scores[row] *= OTHER_AUDIENCE_WEIGHT
        ranked: list[int] = []
        seen: set[str] = set()
        for row in sorted(scores, key=lambda row: (-scores[row], row)):
            # The same text in two documents (a leaflet and its PDF, a copied paragraph) is one
            # passage: the best-ranked copy is kept, so repeats cannot crowd out other evidence.
            # A reference list is left out after fusion: it still takes its rank in each list,
            # as in the runs the fusion weights were chosen on.
            text = " ".join(self._chunks[row].text.lower().split())
            if text in seen or is_reference_list(self._chunks[row]):
                continue
            seen.add(text)
            ranked.append(row)
            if len(ranked) == k:
                break
        return [Passage(self._chunks[row], scores[row], dense_rank.get(row), sparse_rank.get(row))
                for row in ranked]

    def _dense(self, vector: np.ndarray, n: int) -> list[int]:
        with self.store.explain_failures():  # the Chroma server may have stopped since refresh()
            result = self._collection.query(query_embeddings=[np.asarray(vector, dtype=np.float32)],
                                            n_results=max(1, n), include=[])
        return [self._row_of[i] for i in result["ids"][0] if i in self._row_of]

    def _sparse(self, query: str, n: int) -> list[int]:
        query_terms = terms(query)
        if not query_terms:
            return []
        scores = self._bm25.get_scores(query_terms)
        return [int(i) for i in top_rows(scores, n) if scores[i] > 0]

    def vectors_of(self, chunk_ids: list[str]) -> np.ndarray:
        with self.store.explain_failures():
            got = self._collection.get(ids=chunk_ids, include=["embeddings"])
        by_id = dict(zip(got["ids"], got["embeddings"]))
        return np.asarray([by_id[i] for i in chunk_ids], dtype=np.float32)


def top_rows(scores: np.ndarray, n: int) -> np.ndarray:
    """The rows of the n highest scores, best first, ties in row order: what a stable full
    argsort gives, in O(len) rather than O(len log len) (a partition finds the cut first)."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    if n < len(scores):
        cut = np.partition(scores, len(scores) - n)[len(scores) - n]  # the n-th highest score
        rows = np.flatnonzero(scores >= cut)  # every tie at the cut, in row order
    else:
        rows = np.arange(len(scores))
    return rows[np.argsort(-scores[rows], kind="stable")][:n]


def as_langchain_document(passage: Passage):
    from langchain_core.documents import Document

    chunk = passage.chunk
    return Document(
        page_content=chunk.text,
        metadata={**chunk.metadata(), "id": chunk.id, "score": passage.score},
        id=chunk.id,
    )


def _langchain_retriever_class():
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.retrievers import BaseRetriever
    from pydantic import ConfigDict

    class CartRetriever(BaseRetriever):
        """The hybrid search as a LangChain retriever: `CartRetriever(hybrid=..., audience=...)`."""

        model_config = ConfigDict(arbitrary_types_allowed=True)
        hybrid: HybridRetriever
        audience: str = "patient"
        k: int = 6

        def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun):
            return [as_langchain_document(p) for p in self.hybrid.search(query, audience=self.audience, k=self.k)]

    return CartRetriever


def langchain_retriever(hybrid: HybridRetriever, audience: str = "patient", k: int = 6):
    return _langchain_retriever_class()(hybrid=hybrid, audience=audience, k=k)
