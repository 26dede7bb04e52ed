"""Server mode: the same code against a real `chroma run` (CART_CHROMA_URL) instead of the
embedded index. Ingestion, incremental re-ingestion, the chain, the web page, and two app
processes sharing one Chroma server and one feedback file (scale-out)."""

from __future__ import annotations

import json
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from assistant.indexing import ingest
from assistant.settings import load_settings
from assistant.store import IndexStore
from tests.web import ask, http_get, open_page, start_server, stop_server

pytestmark = pytest.mark.slow
DRIVING = "when can I drive after car-t?"
QUESTIONS = ("how long does apheresis take?", "what is lymphodepletion?")  # one through each app


@pytest.fixture
def server_settings(chroma_server, starter_corpus, tmp_path):
    # index_dir points at a folder that must never appear: everything goes to the server.
    return load_settings(corpus_dir=starter_corpus, chroma_url=chroma_server.url,
                         index_dir=tmp_path / "embedded-index-unused")


def server_collections(url: str) -> list[str]:
    import chromadb
    from chromadb.config import Settings

    host, port = url.removeprefix("http://").split(":")
    client = chromadb.HttpClient(host=host, port=int(port), settings=Settings(anonymized_telemetry=False))
    return sorted(c.name for c in client.list_collections())


def test_ingest_reingest_and_ask_through_the_server(server_settings, starter_corpus, chroma_server, embedder):
    from assistant.chain import Assistant

    first = ingest(server_settings, embedder=embedder)
    assert sorted(first.added) == ["starter-crs-guide", "starter-driving", "starter-glossary", "starter-temperature"]
    assert first.embedded == first.chunks > 4
    assert server_collections(chroma_server.url) == ["cart-g000001", "cart-pointer"]
    assert (chroma_server.path / "chroma.sqlite3").exists()
    assert not server_settings.index_dir.exists()  # nothing was written to an embedded index

    again = ingest(server_settings, embedder=embedder)
    assert again.embedded == 0 and len(again.unchanged) == 4 and not again.added
    assert server_collections(chroma_server.url) == ["cart-g000001", "cart-pointer"]

    driving = starter_corpus / "driving.md"
    driving.write_text(driving.read_text().replace("Do not drive for 8 weeks", "Do not drive for eight weeks"))
    edited = ingest(server_settings, embedder=embedder)
    assert edited.updated == ["starter-driving"] and 0 < edited.embedded < first.chunks
    assert IndexStore.connect(server_settings).live_generation().name == "cart-g000002"

    assistant = Assistant.from_settings(server_settings, embedder=embedder)
    answer = assistant.ask(DRIVING)
    assert answer.status == "answered" and "eight weeks" in answer.answer and "[1]" in answer.answer
    assert answer.citations[0].doc_id == "starter-driving" and answer.citations[0].version == "1.0"
    assert assistant.ask("I've got a temperature of 38.5 and shivering").status == "urgent"


def test_two_app_processes_share_one_chroma_server_and_one_feedback_file(
        server_settings, starter_corpus, chroma_server, embedder, browser, tmp_path):
    from gradio_client import Client

    ingest(server_settings, embedder=embedder)
    feedback_db = tmp_path / "shared-feedback.sqlite3"
    env = {"CART_CHROMA_URL": chroma_server.url, "CART_FEEDBACK_DB": str(feedback_db)}
    folders = [tmp_path / "app-a", tmp_path / "app-b"]
    for folder in folders:
        folder.mkdir()
    with ThreadPoolExecutor(2) as pool:  # both load the model at once, as a real deployment would
        apps = list(pool.map(lambda f: start_server(f, corpus_dir=starter_corpus,
                                                    index_dir=server_settings.index_dir, env=env), folders))
    try:
        for app in apps:
            status, body = http_get(app.url + "/healthz")
            assert status == 200 and json.loads(body)["detail"].startswith("index cart-g000001")
        clients = [Client(app.url + "/", verbose=False) for app in apps]
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda c: c.predict(DRIVING, "patient", api_name="/ask"), clients))
        for result in results:
            assert result["status"] == "answered" and "8 weeks" in result["answer"]
            assert result["citations"][0]["doc_id"] == "starter-driving"
        assert results[0]["answer"] == results[1]["answer"]

        # Ingestion moves the pointer: both processes follow it without a restart.
        driving = starter_corpus / "driving.md"
        driving.write_text(driving.read_text().replace("Do not drive for 8 weeks", "Do not drive for eight weeks"))
        assert ingest(server_settings, embedder=embedder).updated == ["starter-driving"]
        time.sleep(2.1)  # the chain looks for a new generation at most every 2 s
        for client in clients:
            assert "eight weeks" in client.predict(DRIVING, "patient", api_name="/ask")["answer"]

        # Feedback through each page lands in the one SQLite file.
        for n, app in enumerate(apps):
            with open_page(browser, app.url) as page:
                ask(page, QUESTIONS[n])
                page.locator("#helpful").click()
                page.get_by_text("recorded this answer as helpful").wait_for()
    finally:
        for app in apps:
            app.process.terminate()  # both at once: each waits a few seconds for open streams
        for app in apps:
            stop_server(app)
    with sqlite3.connect(feedback_db) as conn:
        rows = conn.execute("SELECT question, rating, status FROM feedback ORDER BY id").fetchall()
    assert sorted(rows) == sorted((q, "helpful", "answered") for q in QUESTIONS)
    assert not server_settings.index_dir.exists()
