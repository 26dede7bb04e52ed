"""Stage 4, indexing: incremental, idempotent, crash-safe ingestion into Chroma.

Entry point: `ingest(settings, ...) -> IngestReport`.
- A document whose content hash (file + sidecar) and chunking settings are unchanged is
  never re-embedded: its chunks and embeddings are copied into the new generation.
- A changed document is re-chunked and re-embedded; its old chunks are not copied, so no
  stale text can be retrieved. A removed or newly rejected document is simply not copied.
- Nothing changed: nothing is written. Something changed: a new collection is filled and
  published only when complete (see store.py), so a failed run leaves the old index serving.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import time
from pathlib import Path
from urllib.parse import urlparse
from typing import Callable

import numpy as np

from .adapter import Adapter, AdaptedEmbedder, BaseVectors, adapter_for, adapter_path, read_adapter, save_adapter
from .chunking import chunk_document, split_sentences
from .embedding import Embedder, build_embedder
from .errors import AssistantError, UsageError
from .loading import load_corpus
from . import values
from .records import Chunk, Document, DueSoon, IngestReport, PointingBack, SharedQuestion, ValuePhrasing
from .store import IndexStore
from .snapshot import build_search, collect_snapshots, save_search, search_key
from .units import build_units, collect_generation_files, read_units, units_path

CHUNKER_VERSION = "8"  # bump when loading or chunking output changes (8: a PDF paragraph set straight after a list is not its last item)
STORE_VERSION = "2"  # bump when how a generation is stored changes (2: exact dense search, store.search_breadth)
Progress = Callable[[str, int, int], None]  # (stage, done, total)


def fingerprint(settings, embedder: Embedder) -> str:
    """What, besides a document's own bytes, decides its chunks and vectors and how they are
    stored: an index built otherwise is rebuilt whole."""
    key = f"{CHUNKER_VERSION}|{STORE_VERSION}|{embedder.name}|{settings.chunk_tokens}|{settings.chunk_overlap_tokens}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def chunk_documents(documents: list[Document], settings, embedder: Embedder) -> dict[str, list[Chunk]]:
    return {
        doc.meta.id: chunk_document(doc, max_tokens=settings.chunk_tokens,
                                    overlap_tokens=settings.chunk_overlap_tokens,
                                    count_tokens=embedder.count_tokens)
        for doc in documents
    }


def due_soon(documents, window_days: int, *, today: dt.date | None = None) -> list[DueSoon]:
    """Indexed documents whose review falls within `window_days` of today, soonest first."""
    today = today or dt.date.today()
    soon = [DueSoon(doc.meta.id, doc.source, doc.meta.owner, doc.meta.review_due.isoformat(),
                    (doc.meta.review_due - today).days)
            for doc in documents if (doc.meta.review_due - today).days <= window_days]
    return sorted(soon, key=lambda d: (d.days_left, d.doc_id))


def shared_questions(documents) -> list[SharedQuestion]:
    """Phrasings listed under sections of two or more documents that one reader may be
    answered from (the same audience, or one of them for all), compared without case,
    punctuation or spacing ("Can I give blood after CAR-T?", "can i give blood after car-t").
    A patient leaflet and a clinician guide may both carry a question: each reader sees one."""
    places: dict[str, list[tuple[str, str, str]]] = {}
    first: dict[str, str] = {}
    for doc in documents:
        for heading, phrasings in doc.meta.questions.items():
            for phrasing in phrasings:
                key = " ".join(re.findall(r"\w+", phrasing.casefold()))  # any script: "¿cuándo?" keeps its letters
                first.setdefault(key, phrasing)
                place = (doc.meta.id, heading, doc.meta.audience_for(heading))
                if place not in places.setdefault(key, []):
                    places[key].append(place)
    shared = []
    for key, where in sorted(places.items()):
        if any(a[2] == b[2] or "all" in (a[2], b[2]) for a in where for b in where if a[0] < b[0]):
            shared.append(SharedQuestion(first[key], tuple((doc_id, heading) for doc_id, heading, _ in where)))
    return shared


def value_phrasings(documents) -> list[ValuePhrasing]:
    """Phrasings that ask for a value of one kind (values.py) which the text of the section they
    are listed under does not hold (the section with its subsections; the title names the whole
    document): asked that way, a question is refused as "does not give ..."."""
    found = []
    for doc in documents:
        for heading, phrasings in doc.meta.questions.items():
            text = doc.text if heading == doc.meta.title else " ".join(
                b.text for b in doc.blocks if f" > {heading} > " in f" > {b.section} > ")
            found += [ValuePhrasing(phrasing, doc.meta.id, heading, kind.label) for phrasing in phrasings
                      if (kind := values.missing(phrasing, text)) is not None]
    return found


# A first sentence that opens with a word pointing back to what came before it: "These signs",
# "It is given", "This chemo", "They will". "This leaflet", "this guide" name the document itself.
_POINTS_BACK = re.compile(r"^(?:[-*+]\s+)?(?:\*\*)?(?:this|these|that|those|it|its|they|their|them|such|both)\b"
                          r"(?!\s+(?:leaflet|guide|handbook|document|sheet|page|summary|section)\b)", re.I)


def pointing_back(documents) -> list[PointingBack]:
    """Sections (other than a document's opening, under its title) whose first sentence opens by
    pointing back to something before the section: quoted alone, as an answer quotes a section,
    it does not say what it is about."""
    found = []
    for doc in documents:
        seen: set[str] = set()
        for block in doc.blocks:
            if block.section in seen or block.section == doc.meta.title:
                continue
            seen.add(block.section)
            spans = split_sentences(block.text)
            opening = block.text[spans[0][0]:spans[0][1]].strip() if spans else ""
            if _POINTS_BACK.match(opening):
                found.append(PointingBack(doc.meta.id, block.section, " ".join(opening.split())))
    return found


def ingest(settings, *, embedder: Embedder | None = None, store: IndexStore | None = None,
           check: bool = False, rebuild: bool = False, today: dt.date | None = None,
           progress: Progress | None = None) -> IngestReport:
    started = time.perf_counter()
    progress = progress or (lambda stage, done, total: None)
    corpus = Path(settings.corpus_dir)
    if not corpus.is_dir():
        raise UsageError(f"corpus folder {corpus} does not exist: pass --corpus DIR or set CART_CORPUS_DIR")

    loaded = load_corpus(corpus, today=today)
    report = IngestReport(rejected=list(loaded.rejections), checked_only=check,
                          due_soon=due_soon(loaded.documents, settings.review_warning_days, today=today),
                          shared_questions=shared_questions(loaded.documents),
                          value_phrasings=value_phrasings(loaded.documents),
                          pointing_back=pointing_back(loaded.documents))
    embedder = embedder or build_embedder(settings)
    chunks_by_doc = chunk_documents(loaded.documents, settings, embedder)
    report.chunks = sum(len(c) for c in chunks_by_doc.values())

    if store is None:
        try:
            store = IndexStore.connect(settings, create=not check)
        except AssistantError:
            if not check:
                raise
            store = None  # --check with no index yet: everything would be added
    live_state = _live_state(store) if store else {}
    live = store.live_generation() if store else None
    print_fp = fingerprint(settings, embedder)
    # The adapter of this corpus (adapter.py), fitted on vectors kept from earlier ingests where
    # their texts are unchanged; the live one when its pairs are unchanged. A new adapter (any
    # change to a heading, a phrasing or the start of a section) re-maps the unchanged chunks'
    # vectors too, from the kept vectors, without the model.
    folder = saved_folder(settings)
    base = BaseVectors(embedder, folder / "base-vectors.npz", reuse=not rebuild) \
        if getattr(embedder, "understands_meaning", True) else embedder
    known = read_adapter(adapter_path(folder, live.name)) if live is not None and not rebuild else None
    # --check reports what would change and writes nothing: it fits nothing either
    adapter = Adapter.identity() if check else \
        adapter_for([c for cs in chunks_by_doc.values() for c in cs], base, known=known, progress=progress)
    embedder = AdaptedEmbedder(base, adapter)
    remap = live is not None and _live_adapter(store) != adapter.key
    same_settings = live is not None and live.fingerprint == print_fp and not rebuild

    to_embed: list[Document] = []
    for doc in loaded.documents:
        previous_hash = live_state.get(doc.meta.id, {}).get("hash")
        if same_settings and previous_hash == doc.content_hash:
            report.unchanged.append(doc.meta.id)
        else:
            (report.updated if previous_hash else report.added).append(doc.meta.id)
            to_embed.append(doc)
    current_ids = {doc.meta.id for doc in loaded.documents}
    report.removed = sorted(set(live_state) - current_ids)

    nothing_changed = live is not None and not to_embed and not report.removed and not remap
    if check or nothing_changed:
        report.seconds = time.perf_counter() - started
        return report
    if not loaded.documents:
        raise AssistantError(
            "nothing could be indexed: no approved document within its review date"
            + (f" ({len(report.rejected)} rejected, see above)" if report.rejected else f" in {corpus}")
            + "; the existing index is unchanged"
        )

    kept_ids = [cid for doc_id in report.unchanged for cid in live_state[doc_id]["chunks"]]
    new_chunks = [chunk for doc in to_embed for chunk in chunks_by_doc[doc.meta.id]]
    collection = store.new_generation(size=len(kept_ids) + len(new_chunks))
    kept = _copy_chunks(store, kept_ids, collection, progress, remap=embedder if remap else None) if kept_ids else []
    report.remapped = len(kept) if remap else 0
    report.embedded = _embed_into(store, collection, new_chunks, embedder, progress)
    # The answer units (sentences, headings) and the search snapshot (chunks, BM25) of the
    # whole generation, saved before it is published: a reader never finds a live generation
    # without them (if it does, it rebuilds them).
    save_adapter(adapter, adapter_path(folder, collection.name))
    previous = read_units(units_path(folder, live.name)) if live is not None else None
    units = build_units(kept + new_chunks, embedder, previous[1] if previous else None, progress=progress)
    units.save(units_path(folder, collection.name), collection.name)
    progress("indexing words", 0, 1)
    save_search(folder, search_key(collection), build_search(kept + new_chunks))
    progress("indexing words", 1, 1)
    store.publish(collection, print_fp, adapter=adapter.key)
    if isinstance(base, BaseVectors):
        base.save()
    kept_generations = store.kept_generations()
    collect_generation_files(folder, kept_generations, ".units.npz", ".adapter.npz")
    collect_snapshots(folder, kept_generations)
    report.seconds = time.perf_counter() - started
    return report


def _live_state(store: IndexStore) -> dict[str, dict]:
    """doc id -> {"hash": content hash, "chunks": [chunk ids]} of the published index."""
    if store.live_generation() is None:
        return {}
    state: dict[str, dict] = {}
    with store.explain_failures():
        for chunk, _ in IndexStore.iter_chunks(store.live_collection()):
            entry = state.setdefault(chunk.doc_id, {"hash": chunk.doc_hash, "chunks": []})
            entry["chunks"].append(chunk.id)
    return state


def saved_folder(settings) -> Path:
    """Where each generation's answer units and search snapshot are saved: beside the embedded
    index; in server mode, in this machine's cache, per server and collection (a machine that
    lacks them rebuilds them on start; a stale one is never trusted: see units.load_units and
    snapshot.load_search)."""
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return cache / "cart-assistant" / "saved" / f"{url.hostname}-{url.port or 80}-{settings.collection}"
    return Path(settings.index_dir) / "saved"


def _live_adapter(store: IndexStore) -> str:
    """The key of the adapter the live generation's vectors were mapped by ("none": unadapted,
    as every index built before adapters was)."""
    with store.explain_failures():
        return (store.live_collection().metadata or {}).get("adapter") or "none"


def _copy_chunks(store: IndexStore, ids: list[str], collection, progress: Progress, *,
                 remap: Embedder | None = None) -> list[Chunk]:
    """Copy unchanged chunks with their vectors; with `remap` (the adapted embedder, when the
    adapter changed), their vectors are made again by it (from kept vectors, adapter.BaseVectors)."""
    copied: list[Chunk] = []
    stage = "re-mapping unchanged" if remap is not None else "copying unchanged"

    def write(batch: list[Chunk], vectors: list) -> None:
        if remap is not None:
            vectors = remap.encode([c.embedding_text for c in batch])
        store.add_chunks(collection, batch, np.asarray(vectors, dtype=np.float32))

    with store.explain_failures():
        source = store.live_collection()
        done = 0
        batch: list[Chunk] = []
        vectors: list = []
        for chunk, vector in IndexStore.iter_chunks(source, with_embeddings=remap is None, ids=ids):
            batch.append(chunk)
            copied.append(chunk)
            vectors.append(vector)
            if len(batch) >= 2000:
                write(batch, vectors)
                done += len(batch)
                progress(stage, done, len(ids))
                batch, vectors = [], []
        if batch:
            write(batch, vectors)
            progress(stage, done + len(batch), len(ids))
    return copied


def _embed_into(store: IndexStore, collection, chunks: list[Chunk], embedder: Embedder,
                progress: Progress, slice_size: int = 256) -> int:
    """Embed in length-sorted slices (less padding) and write each slice as it is done."""
    order = sorted(range(len(chunks)), key=lambda i: len(chunks[i].embedding_text))
    progress("embedding", 0, len(chunks))
    for i in range(0, len(order), slice_size):
        part = [chunks[j] for j in order[i: i + slice_size]]
        vectors = embedder.encode([c.embedding_text for c in part])
        store.add_chunks(collection, part, vectors)
        progress("embedding", min(i + slice_size, len(order)), len(chunks))
    return len(chunks)
