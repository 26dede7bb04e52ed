"""Stage 3b, adapting: a linear map of the embedding space, fitted at ingest on the corpus's
own phrasings and headings against the text of their sections.

Entry points: `adapter_for(chunks, embedder) -> Adapter`, `Adapter.apply(vectors)`,
`AdaptedEmbedder(embedder, adapter)`, `BaseVectors` (the unadapted vectors kept between
ingests, so a new adapter re-maps them instead of embedding everything again).

MiniLM places a reader's question ("can I drive after the cells?") nearer to other questions
than to the passage that answers it. Every section of the corpus says how readers ask it
(front matter `questions:`, CORPUS_FORMAT.md) under a heading: those are pairs of a question
and its answer's text, written by the content team, never taken from evaluation cases. A
384 x 384 matrix W, started at the identity and kept near it, is fitted so that each phrasing
or heading, mapped by W, comes nearest to its own section's text among the others of its
batch (an in-batch softmax, as sentence-transformers' MultipleNegativesRankingLoss). Every
vector the answering side compares (the chunks in Chroma, the sentences, headings and
phrasings of the answer units, the question) is mapped by W and normalised again.

Triage and the boundaries read the unadapted vectors: their thresholds were chosen on them,
and the adapter is fitted for finding answers, not for reading symptoms.

The fit is a pure function of the chunks' texts and the model: the same corpus gives the same
W on every machine (fixed seeds, one thread), so a server-mode reader lacking the saved file
fits it again. Its key (`Adapter.key`) names the model, these settings and every training
pair, and is kept in the generation's metadata: an ingest whose key differs from the live
one re-maps every unchanged chunk (indexing.py). With the answer model refitted on it,
held-out answers went from 190 to 204 of 261 passed; the sealed sets moved both ways (docs/history.md,
"How well it answers").
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .records import Chunk
from .units import heading_text, save_arrays

log = logging.getLogger(__name__)

ADAPTER_VERSION = "1"
SECTION_CHARS = 1200  # a section's text as the target: its first 1,200 characters (about MiniLM's 256 tokens)
MAX_PAIRS = 8192  # a larger corpus is fitted on this many pairs, chosen by hash (the same on every machine)
# Chosen on held-out answer cases among L2 0.001, 0.01 and 0.1 (docs/history.md, "Answers"): 0.01 answered most.
SCALE, LEARNING_RATE, EPOCHS, BATCH, L2 = 20.0, 1e-3, 30, 64, 0.01
# W is the mean of the fits from these seeds (the order of the batches): one fit's held-out
# answers moved by up to 6 of 261 with the seed alone; the mean is steadier (docs/history.md, "Answers").
SEEDS = (0, 1, 2, 3, 4)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Pairs:
    """What W is fitted on: each ask (a heading or a phrasing) and the index of its section's text."""

    asks: tuple[str, ...]
    section: tuple[int, ...]
    texts: tuple[str, ...]  # one per section


def training_pairs(chunks: Sequence[Chunk]) -> Pairs:
    """Each section's heading and phrasings, paired with its first SECTION_CHARS characters.
    Sections of the same text (a document copied under another id) count once; a document's
    list of sources is no section anyone asks for. Order-free: sorted by text."""
    sections: dict[tuple[str, str], list[Chunk]] = {}
    for chunk in chunks:
        if chunk.section.strip().lower() != "sources":
            sections.setdefault((chunk.doc_id, chunk.section), []).append(chunk)
    asks_of: dict[str, set[str]] = {}
    for members in sections.values():
        members = sorted(members, key=lambda c: c.start)
        text = " ".join(" ".join(c.text for c in members).split())[:SECTION_CHARS]
        asks = asks_of.setdefault(text, set())
        asks.add(heading_text(members[0]))
        for chunk in members:
            asks.update(q.strip() for q in chunk.questions.split("\n") if q.strip())
    pairs = sorted({(ask, text) for text, asks in asks_of.items() for ask in asks})
    if len(pairs) > MAX_PAIRS:
        pairs = sorted(sorted(pairs, key=lambda p: _digest(*p))[:MAX_PAIRS])
    texts = sorted({text for _, text in pairs})
    index = {text: i for i, text in enumerate(texts)}
    return Pairs(tuple(a for a, _ in pairs), tuple(index[t] for _, t in pairs), tuple(texts))


@dataclass(frozen=True)
class Adapter:
    """W (dim x dim), or None for the identity (a model that reads no meaning, or too few sections)."""

    key: str
    matrix: np.ndarray | None = None

    @classmethod
    def identity(cls) -> "Adapter":
        return cls("none", None)

    @property
    def is_identity(self) -> bool:
        return self.matrix is None

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """Vectors (one or a matrix) mapped by W and normalised again."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if self.matrix is None:
            return vectors
        mapped = vectors @ self.matrix
        norms = np.linalg.norm(mapped, axis=-1, keepdims=True)
        return (mapped / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)


def adapter_key(pairs: Pairs, model_name: str) -> str:
    settings = f"{ADAPTER_VERSION}|{SECTION_CHARS}|{MAX_PAIRS}|{SCALE}|{LEARNING_RATE}|{EPOCHS}|{BATCH}|{L2}|{SEEDS}"
    body = "\n".join(f"{ask}\0{pairs.texts[s]}" for ask, s in zip(pairs.asks, pairs.section))
    return _digest(model_name, settings, body)[:16]


def fit_matrix(asks: np.ndarray, targets: np.ndarray, section: np.ndarray) -> np.ndarray:
    """The mean over SEEDS of the fits `fit_many` makes."""
    return fit_many(asks, targets, section, SEEDS).mean(axis=0).astype(np.float32)


def fit_many(asks: np.ndarray, targets: np.ndarray, section: np.ndarray, seeds: Sequence[int]) -> np.ndarray:
    """One W per seed, fitted by Adam on the in-batch softmax of each ask against the targets
    of its batch (another ask of the same section in the batch is not counted against it), plus
    L2 * |W - I|^2. Each seed draws its own batches. The fits run side by side as one stacked
    computation (Adam works element by element, so each W is the one it would be alone, in a
    fifth of the time); on one thread, so the same inputs give the same W."""
    import torch

    from .embedding import _torch_threads

    with _torch_threads(1), torch.random.fork_rng(devices=[]):
        generators = [torch.Generator().manual_seed(seed) for seed in seeds]
        dim, fits = asks.shape[1], len(seeds)
        eye = torch.eye(dim)
        w = torch.nn.Parameter(torch.eye(dim).repeat(fits, 1, 1))
        optimiser = torch.optim.Adam([w], lr=LEARNING_RATE, fused=True)
        q, t, s = torch.from_numpy(asks), torch.from_numpy(targets), torch.from_numpy(section.astype(np.int64))
        for _ in range(EPOCHS):
            orders = torch.stack([torch.randperm(len(q), generator=g) for g in generators])
            for start in range(0, len(q), BATCH):
                rows = orders[:, start: start + BATCH]  # (fits, batch)
                mine = s[rows]
                a = torch.nn.functional.normalize(torch.bmm(q[rows], w), dim=2)
                b = torch.nn.functional.normalize(torch.bmm(t[mine], w), dim=2)
                logits = SCALE * torch.bmm(a, b.transpose(1, 2))
                n = rows.shape[1]
                diagonal = torch.eye(n, dtype=torch.bool)
                logits = logits.masked_fill((mine[:, :, None] == mine[:, None, :]) & ~diagonal, float("-inf"))
                labels = torch.arange(n).repeat(fits)
                loss = torch.nn.functional.cross_entropy(logits.reshape(fits * n, n), labels) * fits
                optimiser.zero_grad()
                loss.backward()
                with torch.no_grad():
                    w.grad.add_(w - eye, alpha=2 * L2)  # the gradient of L2 * |W - I|^2, added directly
                optimiser.step()
        return w.detach().numpy().astype(np.float32)


def adapter_for(chunks: Sequence[Chunk], embedder, *, known: Adapter | None = None, progress=None) -> Adapter:
    """The adapter of these chunks: fitted on their pairs, embedded by `embedder` (unadapted);
    `known` when it was fitted on the same pairs (its key), so an unchanged corpus fits nothing.
    The identity for a model that reads no meaning (the tests' HashEmbedder) or a corpus of
    fewer than two sections (nothing to tell apart)."""
    if not getattr(embedder, "understands_meaning", True):
        return Adapter.identity()
    pairs = training_pairs(chunks)
    if len(pairs.texts) < 2:
        return Adapter.identity()
    key = adapter_key(pairs, embedder.name)
    if known is not None and known.key == key:
        return known
    if progress:
        progress("fitting the adapter", 0, 1)
    texts = list(pairs.asks) + list(pairs.texts)
    # at half precision, as BaseVectors keeps them: fitted from kept or from fresh vectors, W is the same
    vectors = np.asarray(embedder.encode(texts), dtype=np.float32).astype(np.float16).astype(np.float32)
    asks, targets = vectors[: len(pairs.asks)], vectors[len(pairs.asks):]
    matrix = fit_matrix(asks, targets, np.asarray(pairs.section))
    if progress:
        progress("fitting the adapter", 1, 1)
    return Adapter(key, matrix)


def adapter_path(folder: Path, generation: str) -> Path:
    return Path(folder) / f"{generation}.adapter.npz"


def save_adapter(adapter: Adapter, path: Path) -> None:
    matrix = adapter.matrix if adapter.matrix is not None else np.zeros((0, 0), dtype=np.float32)
    save_arrays(path, meta=np.array(json.dumps({"key": adapter.key})), matrix=matrix)


def read_adapter(path: Path) -> Adapter | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            key = json.loads(str(data["meta"]))["key"]
            matrix = data["matrix"].astype(np.float32)
        return Adapter(key, matrix if matrix.size else None)
    except (OSError, ValueError, KeyError) as exc:
        if Path(path).exists():
            log.warning("ignoring unreadable adapter file %s (%s): fitting it again", path, exc)
        return None


def load_adapter(folder: Path | None, generation: str | None, chunks: Sequence[Chunk], embedder,
                 key: str | None = None) -> Adapter:
    """The adapter `generation` was built with (`key`, in its collection's metadata): the saved
    one when its key matches, otherwise fitted again on `chunks` (and saved, when there is a
    folder). No key (an index built before adapters) or "none": the identity."""
    if key in (None, "", Adapter.identity().key):
        return Adapter.identity()
    found = read_adapter(adapter_path(folder, generation)) if folder and generation else None
    if found is not None and found.key == key:
        return found
    adapter = adapter_for(chunks, embedder)
    if adapter.key != key:
        log.warning("the adapter fitted on %s's chunks (%s) is not the one it was built with (%s)",
                    generation, adapter.key, key)
    if folder and generation:
        try:
            save_adapter(adapter, adapter_path(folder, generation))
        except OSError as exc:
            log.warning("could not save the adapter of %s: %s", generation, exc)
    return adapter


class AdaptedEmbedder:
    """An embedder whose vectors are mapped by an adapter: what the index and the answer units
    are built with. Its name carries the adapter's key, so no unit vector mapped by another
    adapter is reused (units.build_units); chunks are re-mapped by indexing._copy_chunks."""

    def __init__(self, embedder, adapter: Adapter):
        self.base = embedder
        self.adapter = adapter
        self.name = embedder.name if adapter.is_identity else f"{embedder.name}+{adapter.key}"
        self.understands_meaning = getattr(embedder, "understands_meaning", True)

    def count_tokens(self, text: str) -> int:
        return self.base.count_tokens(text)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.adapter.apply(self.base.encode(texts))


class BaseVectors:
    """Unadapted vectors by text, kept between ingests (`base-vectors.npz` in the saved folder):
    when the adapter changes, every vector of the index is re-mapped from these, and only texts
    never embedded before reach the model. Kept at half precision, as the answer units are; a
    fresh vector is rounded the same way, so a re-mapped index is the one a rebuild gives.
    Only the texts of the latest ingest are written back."""

    def __init__(self, embedder, path: Path | None, *, reuse: bool = True):
        self.embedder = embedder
        self.name = embedder.name
        self.understands_meaning = getattr(embedder, "understands_meaning", True)
        self.path = Path(path) if path is not None else None
        self._rows: dict[bytes, np.ndarray] = {}
        self._used: set[bytes] = set()
        if reuse and self.path is not None:
            self._read()

    def _read(self) -> None:
        try:
            with np.load(self.path, allow_pickle=False) as data:
                if str(data["model"]) != self.name:
                    return
                keys, vectors = data["keys"], data["vectors"]
        except (OSError, ValueError, KeyError):
            return
        self._rows = {k.tobytes(): v for k, v in zip(keys, vectors)}

    @staticmethod
    def _key(text: str) -> bytes:
        return hashlib.sha256(text.encode("utf-8")).digest()[:16]

    def count_tokens(self, text: str) -> int:
        return self.embedder.count_tokens(text)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._rows))
        if missing:
            text_of = dict(zip(keys, texts))
            fresh = np.asarray(self.embedder.encode([text_of[k] for k in missing]), dtype=np.float32)
            for k, v in zip(missing, fresh.astype(np.float16)):
                self._rows[k] = v
        self._used.update(keys)
        if not keys:
            return np.asarray(self.embedder.encode([]), dtype=np.float32)
        return np.vstack([self._rows[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        if self.path is None:
            return
        keys = sorted(self._used)
        vectors = np.vstack([self._rows[k] for k in keys]) if keys else np.zeros((0, 0), dtype=np.float16)
        # keys as raw bytes (n x 16): numpy's bytes strings would drop a key's trailing zero bytes
        save_arrays(self.path, model=np.array(self.name),
                    keys=np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(-1, 16), vectors=vectors)
