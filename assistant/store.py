"""Chroma storage: one client factory for embedded and server mode, and index generations.

Crash safety: each ingestion that changes anything writes a complete new collection
(`NAME-gNNNNNN`) and only then points the small pointer collection (`NAME-pointer`) at
it. A run killed part-way leaves the pointer, and so the serving index, untouched; the
next run deletes the orphan. The previous generation is kept one run longer so a process
still reading it is not cut off mid-question.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

from .errors import IndexMissingError, StoreUnavailableError
from .records import Chunk


def make_client(settings, *, create: bool):
    """PersistentClient on `index_dir`, or HttpClient when `chroma_url` is set."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        try:
            client = chromadb.HttpClient(
                host=url.hostname, port=url.port or (443 if url.scheme == "https" else 80),
                ssl=url.scheme == "https", settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:
            raise StoreUnavailableError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({type(exc).__name__}): "
                "start it (chroma run --host 127.0.0.1 --port PORT --path FOLDER) or unset CART_CHROMA_URL "
                "to use the embedded index"
            ) from None
        return client
    index_dir = Path(settings.index_dir)
    if not create and not (index_dir / "chroma.sqlite3").exists():
        raise IndexMissingError(
            f"no index in {index_dir}: build it with `python ingest.py` (make run does this for you)"
        )
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(index_dir), settings=chroma_settings)
    except PermissionError as exc:
        raise StoreUnavailableError(
            f"index folder {index_dir} is not writable ({exc.strerror}): fix its permissions or set CART_INDEX_DIR"
        ) from None


@dataclass(frozen=True)
class Generation:
    name: str
    fingerprint: str
    published: str


class IndexStore:
    """The live collection behind a pointer, and the making of new generations."""

    def __init__(self, client, name: str):
        self.client = client
        self.name = name
        self._pattern = re.compile(rf"^{re.escape(name)}-g(\d{{6}})$")

    @classmethod
    def connect(cls, settings, *, create: bool = False) -> "IndexStore":
        return cls(make_client(settings, create=create), settings.collection)

    # -- reading ---------------------------------------------------------------
    def live_generation(self) -> Generation | None:
        try:
            pointer = self.client.get_collection(f"{self.name}-pointer", embedding_function=None)
        except Exception:
            return None
        meta = pointer.metadata or {}
        if not meta.get("live"):
            return None
        return Generation(meta["live"], meta.get("fingerprint", ""), meta.get("published", ""))

    def live_collection(self):
        generation = self.live_generation()
        if generation is None:
            raise IndexMissingError(
                f"the index has no published collection '{self.name}' yet: run `python ingest.py`"
            )
        return self.client.get_collection(generation.name, embedding_function=None)

    @staticmethod
    def iter_chunks(collection, *, with_embeddings: bool = False, ids: list[str] | None = None,
                    batch: int = 2000) -> Iterator[tuple[Chunk, list[float] | None]]:
        include = ["documents", "metadatas"] + (["embeddings"] if with_embeddings else [])
        if ids is not None:
            for i in range(0, len(ids), batch):
                yield from _rows(collection.get(ids=ids[i: i + batch], include=include), with_embeddings)
            return
        offset = 0
        while True:
            page = collection.get(limit=batch, offset=offset, include=include)
            if not page["ids"]:
                return
            yield from _rows(page, with_embeddings)
            offset += len(page["ids"])

    # -- writing ---------------------------------------------------------------
    def generations(self) -> list[str]:
        names = [c.name if hasattr(c, "name") else str(c) for c in self.client.list_collections()]
        return sorted(n for n in names if self._pattern.match(n))

    def new_generation(self):
        existing = [int(self._pattern.match(n).group(1)) for n in self.generations()]
        name = f"{self.name}-g{(max(existing) + 1 if existing else 1):06d}"
        return self.client.create_collection(name, embedding_function=None,
                                             metadata={"complete": False})

    def publish(self, collection, fingerprint: str) -> None:
        """Point readers at `collection`; keep the previous generation one more run."""
        previous = self.live_generation()
        collection.modify(metadata={"complete": True})
        meta = {"live": collection.name, "fingerprint": fingerprint,
                "previous": previous.name if previous else "",
                "published": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        pointer = self.client.get_or_create_collection(f"{self.name}-pointer", embedding_function=None,
                                                       metadata=meta)
        pointer.modify(metadata=meta)
        self.collect_garbage()

    def collect_garbage(self) -> list[str]:
        """Delete generations that are neither live nor the one before (orphans of killed runs)."""
        live = self.live_generation()
        keep = set()
        if live:
            keep.add(live.name)
            pointer = self.client.get_collection(f"{self.name}-pointer", embedding_function=None)
            keep.add((pointer.metadata or {}).get("previous", ""))
        deleted = []
        for name in self.generations():
            if name not in keep:
                self.client.delete_collection(name)
                deleted.append(name)
        return deleted

    def add_chunks(self, collection, chunks: list[Chunk], embeddings) -> None:
        step = max(1, min(self.client.get_max_batch_size(), 2000))
        for i in range(0, len(chunks), step):
            part = chunks[i: i + step]
            collection.add(
                ids=[c.id for c in part], documents=[c.text for c in part],
                metadatas=[c.metadata() for c in part], embeddings=embeddings[i: i + step],
            )


def _rows(page, with_embeddings: bool):
    embeddings = page.get("embeddings") if with_embeddings else None
    for i, chunk_id in enumerate(page["ids"]):
        chunk = Chunk.from_store(chunk_id, page["documents"][i], page["metadatas"][i])
        yield chunk, (embeddings[i] if embeddings is not None else None)
