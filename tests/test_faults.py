"""Faults: the Chroma server going away and coming back, ingestion killed part-way in server
mode, an index folder that cannot be written, and a full disk.

Each fault must give a message that names the problem and the fix (no stack trace), and
must leave the index that is being served untouched.

Running as root, `chmod` does not stop a write, so a read-only folder is a read-only bind
mount (EROFS stops root too) and a full disk is a small tmpfs: both need the right to
mount (root with CAP_SYS_ADMIN); without it those two tests are skipped, and the
fast tests at the end still check the error translation itself.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import store as store_module
from assistant.embedding import HashEmbedder
from assistant.errors import StoreUnavailableError
from assistant.indexing import ingest
from assistant.settings import load_settings
from assistant.store import IndexStore, storage_problem
from tests.conftest import ROOT, write_approved

DRIVING = "when can I drive after car-t?"


def run_ingest_cli(env_extra: dict, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "CART_CHROMA_URL": "", **env_extra}
    return subprocess.run([sys.executable, str(ROOT / "ingest.py"), "--json", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=timeout)


def chunk_count(settings) -> int:
    return IndexStore.connect(settings).live_collection().count()


def add_bulk_documents(corpus: Path, docs: int, sections: int) -> None:
    """docs x sections short sections: one small chunk each, quick to embed but many writes."""
    template = (corpus / "driving.md").read_text()
    head, _, _ = template.partition("# Driving after CAR-T therapy")
    for n in range(docs):
        body = "\n\n".join(f"## Topic {n}-{s}\nThe ward team checks item {s} of list {n} every morning."
                           for s in range(sections))
        (corpus / f"bulk-{n}.md").write_text(head.replace("id: starter-driving", f"id: bulk-{n}")
                                             + f"# Bulk {n}\n\n{body}\n")


def can_mount() -> bool:
    probe = Path(f"/tmp/cart-mount-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
                            capture_output=True).returncode == 0
        if ok:
            subprocess.run(["umount", str(probe)], capture_output=True)
        return ok
    except OSError:
        return False
    finally:
        probe.rmdir()


@pytest.fixture
def mountable():
    if os.geteuid() != 0 or not can_mount():
        pytest.skip("needs the right to mount (root with CAP_SYS_ADMIN)")


def unmount(target: Path) -> None:
    # lazily: this process may still hold Chroma's files open
    subprocess.run(["umount", "-l", str(target)], capture_output=True)


# -- the Chroma server stops while the app runs, and comes back ------------------------------------
@pytest.mark.slow
def test_chroma_server_down_is_explained_and_the_app_recovers_by_itself(
        chroma_server, starter_corpus, embedder, browser, tmp_path):
    from gradio_client import Client
    from tests.web import ask, http_get, last_reply, open_page, start_server, stop_server

    settings = load_settings(corpus_dir=starter_corpus, chroma_url=chroma_server.url)
    ingest(settings, embedder=embedder)
    app = start_server(tmp_path, corpus_dir=starter_corpus, index_dir=tmp_path / "unused",
                       env={"CART_CHROMA_URL": chroma_server.url})
    client = Client(app.url + "/", verbose=False)
    try:
        assert client.predict(DRIVING, "patient", api_name="/ask")["status"] == "answered"
        with open_page(browser, app.url) as page:
            assert "8 weeks" in ask(page, DRIVING)

            chroma_server.stop()
            reply = ask(page, DRIVING)  # the page: a clear message, what to do, whom to call
            assert "cannot answer right now" in reply and f"cannot reach the Chroma server at {chroma_server.url}" in reply
            assert "chroma run" in reply and "01632 960 123" in reply
            assert last_reply(page).locator(".error-note").count() == 1
            assert page.locator("#status").get_by_text("cannot reach the Chroma server").is_visible()
            assert "Traceback" not in page.content()

            status, body = http_get(app.url + "/healthz")
            assert status == 503 and "cannot reach the Chroma server" in json.loads(body)["detail"]
            with pytest.raises(Exception, match="cannot reach the Chroma server") as failed:
                client.predict(DRIVING, "patient", api_name="/ask")
            assert "Traceback" not in str(failed.value)

            chroma_server.start()  # same port, same folder: nothing else is done, no restart of the app
            reply = ask(page, DRIVING)
            assert "8 weeks" in reply and "[1]" in reply
            assert not page.locator("#status").is_visible()
            assert http_get(app.url + "/healthz")[0] == 200
            assert client.predict(DRIVING, "patient", api_name="/ask")["status"] == "answered"
    finally:
        client.close()
        stop_server(app)
    log = app.log.read_text()  # the outage was handled as a known error, not as a bug
    assert "answering failed" not in log and "ConnectError" not in log and "gradio.exceptions.Error" not in log


# -- ingestion killed part-way, in server mode ------------------------------------------------------
@pytest.mark.slow
def test_ingestion_killed_part_way_in_server_mode_keeps_the_previous_index(
        chroma_server, starter_corpus, embedder):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from assistant.chain import Assistant

    settings = load_settings(corpus_dir=starter_corpus, chroma_url=chroma_server.url)
    first = ingest(settings, embedder=embedder)
    add_bulk_documents(starter_corpus, docs=12, sections=64)  # 768 chunks: 3 slices of 256

    proc = subprocess.Popen([sys.executable, str(ROOT / "ingest.py"), "--corpus", str(starter_corpus)],
                            cwd=ROOT, env={**os.environ, "CART_CHROMA_URL": chroma_server.url},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = chromadb.HttpClient(host="127.0.0.1", port=chroma_server.port,
                                 settings=ChromaSettings(anonymized_telemetry=False))
    deadline = time.monotonic() + 180
    try:
        while True:  # kill it once the new generation holds some, not all, of its chunks
            assert proc.poll() is None, "ingestion finished before it could be killed"
            assert time.monotonic() < deadline, "ingestion never wrote to the new generation"
            names = [c.name for c in client.list_collections()]
            if "cart-g000002" in names and client.get_collection("cart-g000002").count() > 0:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    partial = client.get_collection("cart-g000002").count()
    assert 0 < partial < 768 + first.chunks

    store = IndexStore.connect(settings)
    assert store.live_generation().name == "cart-g000001"
    assert store.generations() == ["cart-g000001", "cart-g000002"]  # the orphan is not served
    assert chunk_count(settings) == first.chunks
    answer = Assistant.from_settings(settings, embedder=embedder).ask(DRIVING)
    assert answer.status == "answered" and "8 weeks" in answer.answer
    assert not any(c.doc_id.startswith("bulk-") for c in answer.citations)

    done = ingest(settings, embedder=embedder)  # the next run completes and cleans up
    assert len(done.added) == 12 and len(done.unchanged) == 4
    store = IndexStore.connect(settings)
    assert store.live_generation().name == "cart-g000003"
    assert store.generations() == ["cart-g000001", "cart-g000003"]
    assert chunk_count(settings) == done.chunks == first.chunks + 768


# -- an index folder that cannot be written ---------------------------------------------------------
@pytest.mark.slow
def test_read_only_index_folder_is_explained_and_the_index_untouched(mountable, starter_corpus, embedder, tmp_path):
    from assistant.chain import Assistant

    writable = load_settings(corpus_dir=starter_corpus, index_dir=tmp_path / "index")
    first = ingest(writable, embedder=embedder)
    read_only = tmp_path / "index-ro"
    read_only.mkdir()
    subprocess.run(["mount", "--bind", str(writable.index_dir), str(read_only)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(read_only)], check=True)
        driving = starter_corpus / "driving.md"
        driving.write_text(driving.read_text().replace("Do not drive for 8 weeks", "Do not drive for eight weeks"))

        settings = load_settings(corpus_dir=starter_corpus, index_dir=read_only)
        with pytest.raises(StoreUnavailableError) as problem:  # ingest.py prints it as "error: ..."
            ingest(settings, embedder=embedder)
        assert str(problem.value).startswith(f"index folder {read_only} is not writable (read-only)")
        assert "set CART_INDEX_DIR" in str(problem.value) and "unchanged" in str(problem.value)

        # Chroma opens its database for writing even to read: the app says so too (and
        # tries again on the next question).
        with pytest.raises(StoreUnavailableError, match="is not writable"):
            Assistant.from_settings(settings, embedder=embedder)
    finally:
        unmount(read_only)
    assert "8 weeks" in Assistant.from_settings(writable, embedder=embedder).ask(DRIVING).answer
    assert IndexStore.connect(writable).generations() == ["cart-g000001"]
    assert chunk_count(writable) == first.chunks


def test_a_file_where_the_index_folder_should_be_is_explained(starter_corpus, tmp_path):
    """Works for root too (no permission is involved): a file named like the folder."""
    blocker = tmp_path / "index"
    blocker.write_text("not a folder")
    for index_dir in (blocker, blocker / "inside"):
        settings = load_settings(corpus_dir=starter_corpus, index_dir=index_dir)
        with pytest.raises(StoreUnavailableError, match=f"is not a folder: {blocker} is a file") as problem:
            ingest(settings, embedder=HashEmbedder())
        assert "set CART_INDEX_DIR" in str(problem.value)
        with pytest.raises(StoreUnavailableError, match="not a folder"):
            IndexStore.connect(settings)  # what the app does: the page shows the same message
    assert blocker.read_text() == "not a folder"


# -- a full disk ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_full_disk_is_explained_and_the_index_untouched(mountable, starter_corpus, embedder, tmp_path):
    from assistant.chain import Assistant

    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(disk)], check=True)
    try:
        settings = load_settings(corpus_dir=starter_corpus, index_dir=disk / "index")
        first = ingest(settings, embedder=embedder)
        serving = Assistant.from_settings(settings, embedder=embedder)  # the running app's view
        add_bulk_documents(starter_corpus, docs=2, sections=64)
        filler = disk / "filler"
        with filler.open("wb") as out:  # leave 128 KiB: enough to open the index, not to write 128 chunks
            out.write(b"\0" * (shutil.disk_usage(disk).free - 128 * 1024))

        result = run_ingest_cli({"CART_INDEX_DIR": str(settings.index_dir), "CART_CORPUS_DIR": str(starter_corpus)})
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        error = result.stderr.splitlines()[-1]  # after the progress lines
        assert error.startswith(f"error: the disk of the index folder {settings.index_dir} is full")
        assert "free space" in error and "unchanged" in error

        answer = serving.ask(DRIVING)  # still answering, from the same index, while the disk is full
        assert answer.status == "answered" and "8 weeks" in answer.answer
        assert IndexStore.connect(settings).live_generation().name == "cart-g000001"
        assert chunk_count(settings) == first.chunks

        filler.unlink()  # space again: the next run completes
        done = ingest(settings, embedder=embedder)
        assert len(done.added) == 2 and chunk_count(settings) == first.chunks + 128
        assert IndexStore.connect(settings).generations() == ["cart-g000001", "cart-g000003"]
    finally:
        unmount(disk)


# -- time passing: a document's review date arrives while it is being served -------------------------------
def test_a_document_past_its_review_date_is_not_cited_before_the_next_ingestion(starter_corpus, tmp_path,
                                                                                 monkeypatch):
    from assistant import retrieval
    from assistant.retrieval import HybridRetriever

    settings = load_settings(corpus_dir=starter_corpus, index_dir=tmp_path / "index")
    ingest(settings, embedder=HashEmbedder())  # every starter document is due for review on 2028-02-01
    retriever = HybridRetriever(IndexStore.connect(settings), HashEmbedder(), top_k=10)
    assert "starter-driving" in {p.chunk.doc_id for p in retriever.search("drive 8 weeks infusion")}

    monkeypatch.setattr(retrieval, "today_iso", lambda: "2028-02-02")  # nobody has run ingest.py since
    assert retriever.search("drive 8 weeks infusion") == []
    assert retriever.search("drive 8 weeks infusion", doc_ids={"starter-driving"}) == []


def test_an_urgent_reply_never_takes_its_phone_number_from_a_document_past_its_review_date(tmp_path,
                                                                                           monkeypatch):
    from assistant import chain, retrieval
    from assistant.chain import Assistant
    from assistant.retrieval import HybridRetriever

    corpus = tmp_path / "corpus"
    write_approved(corpus, "red-flags", "## Your 24-hour line\nThe 24-hour line is 0100 000 0001. Call it for a fever.",
                   review_due="2028-02-01")
    write_approved(corpus, "visiting", "## Visiting\nVisitors are welcome on the ward every afternoon.")
    settings = load_settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    ingest(settings, embedder=HashEmbedder())
    served = Assistant(HybridRetriever(IndexStore.connect(settings), HashEmbedder(), top_k=4), HashEmbedder())
    fever = "I have a temperature of 38.6"
    before = served.ask(fever)
    assert before.status == "urgent" and "0100 000 0001" in before.answer

    for module in (retrieval, chain):  # the leaflet passes its review date while the app runs
        monkeypatch.setattr(module, "today_iso", lambda: "2028-02-02")
    after = served.ask(fever)
    assert after.status == "urgent" and "0100 000 0001" not in after.answer
    assert "your CAR-T team's 24-hour line" in after.answer and not after.citations


# -- the translation itself, without mounts (fast) ----------------------------------------------------
@pytest.mark.parametrize("exc, expected", [
    (OSError(28, "No space left on device"), "is full"),
    (OSError(30, "Read-only file system"), "is not writable (read-only)"),
    (PermissionError(13, "Permission denied"), "is not writable (permission denied)"),
    (NotADirectoryError(20, "Not a directory"), "is not a folder"),
])
def test_os_errors_at_the_store_become_messages_with_the_fix(exc, expected, tmp_path):
    problem = storage_problem(exc, index_dir=tmp_path / "index")
    assert isinstance(problem, StoreUnavailableError) and expected in str(problem)
    assert str(tmp_path / "index") in str(problem) and "CART_INDEX_DIR" in str(problem)


def test_chroma_errors_are_recognised_by_their_text(tmp_path):
    from chromadb.errors import InternalError

    full = storage_problem(InternalError("error returned from database: (code: 13) database or disk is full"),
                           index_dir=tmp_path)
    assert "is full" in str(full)
    read_only = storage_problem(InternalError("(code: 8) attempt to write a readonly database"), index_dir=tmp_path)
    assert "not writable" in str(read_only)
    assert storage_problem(InternalError("some other failure"), index_dir=tmp_path) is None  # plenty of space
    assert storage_problem(ValueError("a bug"), index_dir=tmp_path) is None  # bugs are not hidden


def test_simulated_disk_full_during_writing_keeps_the_index(starter_corpus, tmp_path, monkeypatch):
    """Where mounting is not allowed: ENOSPC raised at the Chroma boundary, as sqlite would."""
    from chromadb.errors import InternalError

    settings = load_settings(corpus_dir=starter_corpus, index_dir=tmp_path / "index")
    first = ingest(settings, embedder=HashEmbedder())
    add_bulk_documents(starter_corpus, docs=1, sections=8)

    def full(self, collection, chunks, embeddings):
        raise InternalError("Query error: Database error: error returned from database: (code: 13) database or disk is full")

    monkeypatch.setattr(IndexStore, "add_chunks", store_module._explained(full))
    with pytest.raises(StoreUnavailableError, match="is full"):
        ingest(settings, embedder=HashEmbedder())
    monkeypatch.undo()
    assert IndexStore.connect(settings).live_generation().name == "cart-g000001"
    assert chunk_count(settings) == first.chunks
    done = ingest(settings, embedder=HashEmbedder())
    assert done.added == ["bulk-0"] and chunk_count(settings) == first.chunks + 8


def test_server_unreachable_is_not_mistaken_for_a_missing_index():
    """A stopped server used to read as 'no published collection yet: run ingest.py'."""
    import httpx

    class DeadClient:
        def get_collection(self, *args, **kwargs):
            raise httpx.ConnectError("[Errno 111] Connection refused")

    store = IndexStore(DeadClient(), "cart", url="http://127.0.0.1:9")
    with pytest.raises(StoreUnavailableError, match="cannot reach the Chroma server at http://127.0.0.1:9"):
        store.live_generation()
