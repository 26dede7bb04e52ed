"""Stage 4b, answer units: every sentence (or list item) and every section heading of the
indexed chunks, embedded once at ingest and saved beside the generation, with the model of
how readers ask each section fitted on them (asking.py).

Entry points: `build_units(chunks, embedder, previous=None) -> Units`, `Units.save(path)`,
`load_units(folder, generation, chunks, embedder) -> Units` (a missing or mismatched file is
rebuilt, never trusted). The answerer (answering.py) scores a question against these
vectors, so a question costs one encode and a matrix product.

A unit is a span of its chunk's text (`chunk.text[start:end]`), so what is quoted is always
verbatim. A chunk id is a hash of its document, section and text: vectors of an unchanged
chunk are copied from the previous generation's file, never re-embedded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .asking import Asking, fit_asking
from .chunking import split_sentences
from .records import Chunk

log = logging.getLogger(__name__)
UNITS_VERSION = "4"  # 3: with how readers ask each section (asking.py); 4: spans re-split, not copied, when chunking changes


def heading_text(chunk: Chunk) -> str:
    """What a section answers, as its reader sees it: the document title and the heading path."""
    return chunk.section if chunk.section == chunk.title else f"{chunk.title} > {chunk.section}"


def sentence_spans(chunk: Chunk) -> list[tuple[int, int]]:
    return split_sentences(chunk.text)


@dataclass
class Units:
    """Row-aligned arrays over all units; `chunk_row[i]` indexes the chunk list they were built on."""

    chunk_ids: list[str]
    chunk_row: np.ndarray  # int32, per sentence unit
    starts: np.ndarray  # int32, offset in the chunk's text
    ends: np.ndarray
    vectors: np.ndarray  # float32 when built, float16 when read from a file: (n_units, dim), unit length
    heading_vectors: np.ndarray  # (n_chunks, dim): each chunk's heading
    embedder: str
    phrase_row: np.ndarray = None  # int32, chunk row of each phrasing (front matter `questions:`)
    phrase_vectors: np.ndarray = None  # (n_phrasings, dim)
    asking: Asking = None  # which section a question is about, fitted on the headings and phrasings

    def rows_of(self, chunk_row: int) -> np.ndarray:
        lo, hi = self._bounds[chunk_row]
        return np.arange(lo, hi)

    def row_of(self, chunk_id: str) -> int | None:
        return self._row_of_id.get(chunk_id)

    def __post_init__(self):
        bounds = np.zeros((len(self.chunk_ids), 2), dtype=np.int64)
        if len(self.chunk_row):
            change = np.flatnonzero(np.diff(self.chunk_row)) + 1
            firsts = np.concatenate([[0], change])
            lasts = np.concatenate([change, [len(self.chunk_row)]])
            for lo, hi in zip(firsts, lasts):
                bounds[self.chunk_row[lo]] = (lo, hi)
        self._bounds = bounds
        self._row_of_id = {cid: i for i, cid in enumerate(self.chunk_ids)}
        if self.phrase_row is None:
            self.phrase_row = np.zeros(0, dtype=np.int32)
            self.phrase_vectors = np.zeros((0, self.heading_vectors.shape[1] if self.heading_vectors.ndim == 2 else 0),
                                           dtype=np.float32)
        self._phrases: dict[int, np.ndarray] = {}
        for i, row in enumerate(self.phrase_row):
            self._phrases.setdefault(int(row), []).append(i)
        self._phrases = {row: np.asarray(rows) for row, rows in self._phrases.items()}
        if self.asking is None:
            self.asking = Asking.empty(len(self.chunk_ids), self.phrase_vectors.shape[1])

    def phrase_rows_of(self, chunk_row: int) -> np.ndarray:
        return self._phrases.get(chunk_row, np.zeros(0, dtype=np.int64))

    def save(self, path: Path, generation: str) -> None:
        meta = {"version": UNITS_VERSION, "generation": generation, "embedder": self.embedder,
                "chunks": ids_digest(self.chunk_ids)}
        save_arrays(path, meta=np.array(json.dumps(meta)), chunk_ids=np.array(self.chunk_ids),
                    chunk_row=self.chunk_row, starts=self.starts, ends=self.ends,
                    vectors=self.vectors.astype(np.float16), heading_vectors=self.heading_vectors.astype(np.float16),
                    phrase_row=self.phrase_row, phrase_vectors=self.phrase_vectors.astype(np.float16),
                    asking_coef=self.asking.coef, asking_intercept=self.asking.intercept,
                    asking_section_of_row=self.asking.section_of_row)


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """Arrays to an .npz file, atomically: readers see the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    os.close(fd)
    os.chmod(tmp, 0o644)
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def ids_digest(ids) -> str:
    """Which chunks a file was built on, whatever their order."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16]


def build_units(chunks: list[Chunk], embedder, previous: Units | None = None, *, progress=None) -> Units:
    """Embed each chunk's sentences and heading; reuse `previous` vectors for unchanged chunks
    (the same text split into the same sentences)."""
    old_rows = {cid: i for i, cid in enumerate(previous.chunk_ids)} if previous is not None \
        and previous.embedder == embedder.name else {}
    rows, starts, ends = [], [], []
    texts_to_embed: list[str] = []
    unit_source: list[tuple[str, int]] = []  # ("new", index in texts_to_embed) or ("old", unit row)
    heading_source: list[tuple[str, int]] = []
    phrase_rows: list[int] = []
    phrase_source: list[tuple[str, int]] = []
    headings: dict[str, int] = {}
    for row, chunk in enumerate(chunks):
        old = old_rows.get(chunk.id)
        spans = sentence_spans(chunk)
        if old is not None and [(int(previous.starts[u]), int(previous.ends[u]))
                                for u in previous.rows_of(old)] != spans:
            old = None  # same text, split into sentences differently (chunking.py changed): embed again
        if old is not None:
            for u in previous.rows_of(old):
                rows.append(row)
                starts.append(int(previous.starts[u]))
                ends.append(int(previous.ends[u]))
                unit_source.append(("old", int(u)))
            heading_source.append(("old", old))
            for p in previous.phrase_rows_of(old):
                phrase_rows.append(row)
                phrase_source.append(("old", int(p)))
            continue
        for start, end in spans:
            rows.append(row)
            starts.append(start)
            ends.append(end)
            unit_source.append(("new", len(texts_to_embed)))
            texts_to_embed.append(" ".join(chunk.text[start:end].split()))
        heading = heading_text(chunk)
        if heading not in headings:
            headings[heading] = len(texts_to_embed)
            texts_to_embed.append(heading)
        heading_source.append(("new", headings[heading]))
        for phrasing in filter(None, chunk.questions.split("\n")):
            phrase_rows.append(row)
            phrase_source.append(("new", len(texts_to_embed)))
            texts_to_embed.append(phrasing)
    dim = None
    new_vectors = np.zeros((0, 0), dtype=np.float32)
    if texts_to_embed:
        order = sorted(range(len(texts_to_embed)), key=lambda i: len(texts_to_embed[i]))  # less padding
        parts = []
        for i in range(0, len(order), 256):
            parts.append(embedder.encode([texts_to_embed[j] for j in order[i: i + 256]]))
            if progress:
                progress("embedding sentences", min(i + 256, len(order)), len(order))
        sorted_vectors = np.vstack(parts).astype(np.float32)
        new_vectors = np.empty_like(sorted_vectors)
        new_vectors[order] = sorted_vectors
        dim = new_vectors.shape[1]
    if dim is None:
        dim = previous.vectors.shape[1] if previous is not None and previous.vectors.size else \
            int(np.asarray(embedder.encode(["x"])).shape[1])

    def pick(source, old_matrix):
        out = np.zeros((len(source), dim), dtype=np.float32)
        for i, (kind, j) in enumerate(source):
            out[i] = new_vectors[j] if kind == "new" else old_matrix[j]
        return out

    heading_vectors = pick(heading_source, previous.heading_vectors if previous is not None else None)
    phrase_row = np.asarray(phrase_rows, dtype=np.int32)
    phrase_vectors = pick(phrase_source, previous.phrase_vectors if previous is not None else None)
    if progress:
        progress("learning how each section is asked", 0, 1)
    asking = fit_asking(chunks, heading_vectors, phrase_row, phrase_vectors)
    if progress:
        progress("learning how each section is asked", 1, 1)
    return Units(
        chunk_ids=[c.id for c in chunks], chunk_row=np.asarray(rows, dtype=np.int32),
        starts=np.asarray(starts, dtype=np.int32), ends=np.asarray(ends, dtype=np.int32),
        vectors=pick(unit_source, previous.vectors if previous is not None else None),
        heading_vectors=heading_vectors, embedder=embedder.name, phrase_row=phrase_row,
        phrase_vectors=phrase_vectors, asking=asking,
    )


def units_path(folder: Path, generation: str) -> Path:
    return Path(folder) / f"{generation}.units.npz"


def read_units(path: Path) -> tuple[dict, Units] | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            units = Units(chunk_ids=[str(i) for i in data["chunk_ids"]], chunk_row=data["chunk_row"],
                          starts=data["starts"], ends=data["ends"],
                          # Kept as saved (float16): half the memory, and no conversion of every
                          # vector at start (2.9 s at 100,000 chunks); the few rows an answer reads
                          # are promoted to float32 in its matrix products, exactly as astype would.
                          vectors=data["vectors"], heading_vectors=data["heading_vectors"], embedder=meta["embedder"],
                          phrase_row=data["phrase_row"], phrase_vectors=data["phrase_vectors"],
                          # a file of version 2 has none: its vectors are still reused when rebuilding
                          asking=Asking(data["asking_coef"], data["asking_intercept"], data["asking_section_of_row"])
                          if "asking_coef" in data.files else None)
        return meta, units
    except (OSError, ValueError, KeyError) as exc:
        if Path(path).exists():
            log.warning("ignoring unreadable units file %s (%s): rebuilding", path, exc)
        return None


def load_units(folder: Path | None, generation: str | None, chunks: list[Chunk], embedder) -> Units:
    """The saved units of `generation` when they match its chunks and embedder; else rebuilt
    (and saved, when there is a folder), reusing whatever rows of a stale file still match."""
    found = read_units(units_path(folder, generation)) if folder and generation else None
    if found is not None:
        meta, units = found
        if (meta.get("version") == UNITS_VERSION and meta.get("generation") == generation
                and meta.get("embedder") == embedder.name and meta.get("chunks") == ids_digest(c.id for c in chunks)
                and len(units.chunk_ids) == len(chunks)):
            return units
        log.warning("units file of %s does not match its chunks: rebuilding", generation)
    units = build_units(chunks, embedder, previous=found[1] if found else None)
    if folder and generation:
        try:
            units.save(units_path(folder, generation), generation)
        except OSError as exc:  # a read-only folder still serves, from memory
            log.warning("could not save units for %s: %s", generation, exc)
    return units


def collect_generation_files(folder: Path | None, keep: set[str], *suffixes: str) -> None:
    """Delete the files saved per generation ("GEN.units.npz", "GEN.adapter.npz": one suffix
    each) of generations no longer kept."""
    if not folder or not Path(folder).is_dir():
        return
    for suffix in suffixes:
        for path in Path(folder).glob(f"*{suffix}"):
            if path.name[: -len(suffix)] not in keep:
                path.unlink(missing_ok=True)
