"""Stage 4c, the search snapshot: what start-up needs from a generation besides its vectors
(every chunk, the BM25 index and the corpus's term counts), saved beside the generation when
ingestion publishes it, so that start-up reads a few files instead of paging every chunk out
of Chroma and re-tokenising the corpus (29 s to the first answer at 100,000 chunks before).

Entry points: `build_search(chunks) -> Search`, `save_search(folder, key, search)`,
`load_search(folder, key) -> Search | None`, `search_key(collection) -> dict`.

A snapshot is trusted only when its key equals the live collection's: generation name,
Chroma's collection id (a new one for every collection created, even under a reused name)
and chunk count. A generation is never changed after it is published, so these pin it. A
missing, unreadable, partial or mismatched snapshot returns None and the caller rebuilds
from the store (and saves what it rebuilt).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .records import Chunk
from .text import CorpusTerms, analyse

log = logging.getLogger(__name__)
SNAPSHOT_VERSION = "2"  # 2: chunk rows as the store keeps them (Chunk.metadata)
SUFFIX = ".search"


@dataclass
class Search:
    chunks: list[Chunk]
    bm25: object  # bm25s.BM25
    corpus_terms: CorpusTerms


def search_key(collection) -> dict:
    """What identifies a published generation: its name, Chroma's id for it and its size."""
    return {"version": SNAPSHOT_VERSION, "generation": collection.name, "collection_id": str(collection.id),
            "count": int(collection.count())}


def build_search(chunks: list[Chunk]) -> Search:
    """Tokenise every chunk once: BM25 is built from the same pass that counts terms and words.
    Rows are in document order whatever order the chunks came in, so a snapshot written at
    ingest and one rebuilt from the store rank ties alike."""
    import bm25s

    chunks = sorted(chunks, key=lambda c: (c.doc_id, c.start, c.id))

    corpus_tokens: list[list[str]] = []
    corpus_terms = analyse((c.embedding_text for c in chunks), lambda own: corpus_tokens.append(own or ["_"]))
    bm25 = bm25s.BM25()
    bm25.index(corpus_tokens, show_progress=False)
    return Search(chunks, bm25, corpus_terms)


def snapshot_path(folder: Path, generation: str) -> Path:
    return Path(folder) / f"{generation}{SUFFIX}"


def save_search(folder: Path, key: dict, search: Search) -> Path:
    """Write the snapshot into a fresh folder, then rename it into place: a reader finds the
    whole snapshot of a generation or none (its key file is written last)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = snapshot_path(folder, key["generation"])
    tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".{key['generation']}.", suffix=".tmp"))
    try:
        search.bm25.save(str(tmp / "bm25"), show_progress=False)
        rows = [[c.id, c.text, c.metadata()] for c in search.chunks]  # as the store keeps them
        (tmp / "chunks.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        terms = search.corpus_terms
        (tmp / "terms.json").write_text(json.dumps({"chunks": terms.chunks, "df": terms.document_frequency,
                                                    "words": terms.word_counts}), encoding="utf-8")
        (tmp / "key.json").write_text(json.dumps(key), encoding="utf-8")
        os.chmod(tmp, 0o755)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_search(folder: Path | None, key: dict) -> Search | None:
    """The saved snapshot of the generation `key` names, or None (missing, unreadable, stale)."""
    if folder is None:
        return None
    path = snapshot_path(folder, key["generation"])
    try:
        saved_key = json.loads((path / "key.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        if path.exists():
            log.warning("ignoring unreadable search snapshot %s: rebuilding", path)
        return None
    if saved_key != key:
        log.warning("search snapshot of %s does not match its collection (%s, now %s): rebuilding",
                    key["generation"], saved_key, key)
        return None
    try:
        import bm25s

        rows = json.loads((path / "chunks.json").read_text(encoding="utf-8"))
        chunks = [Chunk.from_store(cid, text, meta) for cid, text, meta in rows]
        terms = json.loads((path / "terms.json").read_text(encoding="utf-8"))
        bm25 = bm25s.BM25.load(str(path / "bm25"), show_progress=False)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.warning("ignoring unreadable search snapshot %s (%s): rebuilding", path, exc)
        return None
    if len(chunks) != key["count"] or int(bm25.scores.get("num_docs", -1)) != len(chunks):
        log.warning("search snapshot %s is incomplete: rebuilding", path)
        return None
    return Search(chunks, bm25, CorpusTerms(int(terms["chunks"]), terms["df"], terms["words"]))


def collect_snapshots(folder: Path | None, keep: set[str]) -> None:
    """Delete snapshots (and leftovers of interrupted writes) of generations no longer kept."""
    if not folder or not Path(folder).is_dir():
        return
    for path in Path(folder).iterdir():
        if path.name.endswith(SUFFIX) and path.name[: -len(SUFFIX)] not in keep:
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith(".") and path.name.endswith(".tmp") and path.is_dir():
            if path.name[1:].split(".", 1)[0] not in keep:
                shutil.rmtree(path, ignore_errors=True)
