"""Chroma storage: one client factory for embedded and server mode, and index generations.

Crash safety: each ingestion that changes anything writes a complete new collection
(`NAME-gNNNNNN`) and only then points the small pointer collection (`NAME-pointer`) at
it. A run killed part-way leaves the pointer, and so the serving index, untouched; the
next run deletes the orphan. The previous generation is kept one run longer so a process
still reading it is not cut off mid-question.
"""

from __future__ import annotations

import datetime as dt
import errno
import functools
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

from .errors import AssistantError, IndexMissingError, StoreUnavailableError
from .records import Chunk

# Up to this many chunks the dense search visits every one (HNSW's ef_search at least the count):
# its candidates are the exact nearest, the same in every process. Chroma rebuilds a small
# collection's graph in each process that opens it, and with its default ef_search (100) the tail
# of the 40 candidates differed between two processes for 22 of 600 golden questions. An
# exhaustive search of 5,000 chunks costs about 3 ms more a question here; a larger collection
# keeps Chroma's default, approximate search (the 100,000-chunk benchmark, BENCHMARKS.md).
EXACT_SEARCH_UP_TO = 5_000
DEFAULT_SEARCH_EF = 100  # Chroma's own
LOW_DISK_BYTES = 4 * 1024 * 1024  # below this, an unexplained write failure is taken for a full disk


def search_breadth(chunks: int) -> int:
    """HNSW's ef_search for a collection of `chunks`: all of them up to EXACT_SEARCH_UP_TO (an
    exact search), Chroma's default beyond."""
    return max(DEFAULT_SEARCH_EF, chunks) if chunks <= EXACT_SEARCH_UP_TO else DEFAULT_SEARCH_EF


def unreachable(url: str, exc: BaseException) -> str:
    return (f"cannot reach the Chroma server at {url} ({type(exc).__name__}): "
            "start it (chroma run --host 127.0.0.1 --port PORT --path FOLDER) or unset CART_CHROMA_URL "
            "to use the embedded index")


def storage_problem(exc: BaseException, *, index_dir: Path | None = None,
                    url: str = "") -> StoreUnavailableError | None:
    """What a failure of the store itself means and how to fix it; None when it is not one.

    Chroma reports a full disk or a read-only folder as a generic InternalError (sometimes
    only as "Error in compaction"), and a stopped server as an httpx error: without this,
    the page would show "something went wrong" and the CLI a traceback.
    """
    import httpx
    from chromadb.errors import ChromaError

    if url and isinstance(exc, (httpx.TransportError, ConnectionError, TimeoutError)):
        return StoreUnavailableError(unreachable(url, exc))
    if not isinstance(exc, (ChromaError, OSError)):
        return None
    text = str(exc).lower()
    code = getattr(exc, "errno", None)
    where = f"index folder {index_dir}" if index_dir is not None else f"Chroma server at {url}"
    if code in (errno.EEXIST, errno.ENOTDIR) and index_dir is not None:
        return StoreUnavailableError(
            f"{where} is not a folder ({exc.strerror}): move that file away or set CART_INDEX_DIR to a folder")
    if code in (errno.EROFS, errno.EACCES, errno.EPERM) or "readonly" in text or "read-only" in text:
        return StoreUnavailableError(
            f"{where} is not writable ({'read-only' if 'read' in text or code == errno.EROFS else 'permission denied'}):"
            " Chroma needs write access even to read; fix the folder's permissions or mount, or set CART_INDEX_DIR"
            " to a writable folder. The index being served is unchanged")
    full = code == errno.ENOSPC or "disk is full" in text or "no space left" in text
    if not full and index_dir is not None:
        try:
            full = shutil.disk_usage(index_dir if index_dir.exists() else index_dir.parent).free < LOW_DISK_BYTES
        except OSError:
            full = False
    if full:
        fix = ("free space on that disk or set CART_INDEX_DIR to a folder on a larger one"
               if index_dir is not None else "free space on the disk of the server's --path folder")
        return StoreUnavailableError(f"the disk of the {where} is full: {fix}, then run ingestion again."
                                     " The index being served is unchanged")
    return None


def _forget_failed_system(index_dir: Path) -> None:
    # chromadb caches one System per path even when starting it failed; every later client
    # for that path then fails with "Could not connect to tenant". Drop it, so that the next
    # attempt (the page retries on the next question) starts afresh once the folder is fixed.
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(str(index_dir), None)


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
            raise StoreUnavailableError(unreachable(settings.chroma_url, exc)) from None
        return client
    index_dir = Path(settings.index_dir)
    existing = next((p for p in (index_dir, *index_dir.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise StoreUnavailableError(f"index folder {index_dir} is not a folder: {existing} is a file; "
                                    "move that file away or set CART_INDEX_DIR to a folder")
    if not create and not (index_dir / "chroma.sqlite3").exists():
        raise IndexMissingError(
            f"no index in {index_dir}: build it with `python ingest.py` (make run does this for you)"
        )
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(index_dir), settings=chroma_settings)
    except Exception as exc:
        _forget_failed_system(index_dir)
        problem = storage_problem(exc, index_dir=index_dir)
        if problem is None:
            raise
        raise problem from None


def _explained(method):
    """Run an IndexStore method inside `explain_failures`."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.explain_failures():
            return method(self, *args, **kwargs)
    return wrapper


@dataclass(frozen=True)
class Generation:
    name: str
    fingerprint: str
    published: str


class IndexStore:
    """The live collection behind a pointer, and the making of new generations."""

    def __init__(self, client, name: str, *, index_dir: Path | None = None, url: str = ""):
        self.client = client
        self.name = name
        self.index_dir = index_dir  # where the data is, to explain a failure: the folder ...
        self.url = url  # ... or the server
        self._pattern = re.compile(rf"^{re.escape(name)}-g(\d{{6}})$")

    @classmethod
    def connect(cls, settings, *, create: bool = False) -> "IndexStore":
        return cls(make_client(settings, create=create), settings.collection,
                   index_dir=None if settings.chroma_url else Path(settings.index_dir), url=settings.chroma_url)

    @contextmanager
    def explain_failures(self):
        """Raise a failure of the store itself (server down, disk full, read-only) as a
        StoreUnavailableError that says what to do; anything else passes unchanged."""
        try:
            yield
        except AssistantError:
            raise
        except Exception as exc:
            problem = storage_problem(exc, index_dir=self.index_dir, url=self.url)
            if problem is None:
                raise
            raise problem from None

    # -- reading ---------------------------------------------------------------
    def live_generation(self) -> Generation | None:
        from chromadb.errors import NotFoundError

        with self.explain_failures():
            try:
                pointer = self.client.get_collection(f"{self.name}-pointer", embedding_function=None)
            except (NotFoundError, ValueError):
                return None  # nothing published yet; a server that is down is not "no index"
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
        with self.explain_failures():
            return self.client.get_collection(generation.name, embedding_function=None)

    @staticmethod
    def iter_chunks(collection, *, with_embeddings: bool = False, ids: list[str] | None = None,
                    batch: int = 2000) -> Iterator[tuple[Chunk, list[float] | None]]:
        include = ["documents", "metadatas"] + (["embeddings"] if with_embeddings else [])
        if ids is not None:
            for i in range(0, len(ids), batch):
                yield from _rows(collection.get(ids=ids[i: i + batch], include=include), with_embeddings)
            return
        # Ids first, then pages by id: paging by offset makes each page slower than the last
        # (the whole read grew quadratically: 14.6 s against 7.6 s at 99,936 chunks).
        yield from IndexStore.iter_chunks(collection, with_embeddings=with_embeddings,
                                          ids=collection.get(include=[])["ids"], batch=batch)

    # -- writing ---------------------------------------------------------------
    @_explained
    def generations(self) -> list[str]:
        names = [c.name if hasattr(c, "name") else str(c) for c in self.client.list_collections()]
        return sorted(n for n in names if self._pattern.match(n))

    @_explained
    def new_generation(self, size: int):
        """A new, unpublished collection for `size` chunks, its search breadth set for that size
        (`search_breadth`). Chroma fixes it when a process first loads the collection: a later
        change reaches only processes that open it afterwards, so it is set here, at creation."""
        existing = [int(self._pattern.match(n).group(1)) for n in self.generations()]
        name = f"{self.name}-g{(max(existing) + 1 if existing else 1):06d}"
        return self.client.create_collection(name, embedding_function=None, metadata={"complete": False},
                                             configuration={"hnsw": {"ef_search": search_breadth(size)}})

    @_explained
    def publish(self, collection, fingerprint: str, *, adapter: str = "") -> None:
        """Point readers at `collection`; keep the previous generation one more run. `adapter`:
        the key of the adapter its vectors were mapped by (adapter.py), kept in its metadata so
        that a reader on any machine maps questions the same way."""
        previous = self.live_generation()
        collection.modify(metadata={"complete": True, **({"adapter": adapter} if adapter else {})})
        meta = {"live": collection.name, "fingerprint": fingerprint,
                "previous": previous.name if previous else "",
                "published": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        pointer = self.client.get_or_create_collection(f"{self.name}-pointer", embedding_function=None,
                                                       metadata=meta)
        pointer.modify(metadata=meta)
        self.collect_garbage()

    @_explained
    def kept_generations(self) -> set[str]:
        """The live generation and the one before it."""
        live = self.live_generation()
        if live is None:
            return set()
        pointer = self.client.get_collection(f"{self.name}-pointer", embedding_function=None)
        return {live.name, (pointer.metadata or {}).get("previous", "")} - {""}

    @_explained
    def collect_garbage(self) -> list[str]:
        """Delete generations that are neither live nor the one before (orphans of killed runs)."""
        keep = self.kept_generations()
        deleted = []
        for name in self.generations():
            if name not in keep:
                self.client.delete_collection(name)
                deleted.append(name)
        return deleted

    @_explained
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
