"""Ingestion end to end with the real model and a real embedded Chroma in a temp folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.indexing import ingest
from assistant.store import IndexStore

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def query(settings, embedder, text, n=3):
    collection = IndexStore.connect(settings).live_collection()
    result = collection.query(query_embeddings=embedder.encode([text]), n_results=n,
                              include=["documents", "metadatas"])
    return list(zip(result["documents"][0], result["metadatas"][0]))


def all_chunks(settings):
    return [c for c, _ in IndexStore.iter_chunks(IndexStore.connect(settings).live_collection())]


def test_ingest_then_incremental_edit_and_delete(starter_settings, starter_corpus, embedder):
    first = ingest(starter_settings, embedder=embedder)
    assert sorted(first.added) == ["starter-crs-guide", "starter-driving", "starter-glossary", "starter-temperature"]
    assert first.embedded == first.chunks > 4
    chunks = all_chunks(starter_settings)
    assert len(chunks) == first.chunks
    pdf_chunk = next(c for c in chunks if c.doc_id == "starter-crs-guide" and c.section == "ASTCT grades")
    assert pdf_chunk.page == 2 and "Grade 3" in pdf_chunk.text
    top_text, top_meta = query(starter_settings, embedder, "when can I drive my car again")[0]
    assert top_meta["doc_id"] == "starter-driving" and "8 weeks" in top_text

    again = ingest(starter_settings, embedder=embedder)
    assert again.embedded == 0 and len(again.unchanged) == 4 and not again.added
    assert IndexStore.connect(starter_settings).generations() == ["cart-g000001"]

    driving = starter_corpus / "driving.md"
    driving.write_text(driving.read_text().replace("Do not drive for 8 weeks", "Do not drive for eight weeks"))
    edited = ingest(starter_settings, embedder=embedder)
    driving_chunks = [c for c in all_chunks(starter_settings) if c.doc_id == "starter-driving"]
    assert edited.updated == ["starter-driving"] and edited.embedded == len(driving_chunks)
    texts = " ".join(c.text for c in all_chunks(starter_settings))
    assert "for 8 weeks after your infusion" not in texts and "for eight weeks after your infusion" in texts
    assert len(all_chunks(starter_settings)) == first.chunks  # replaced, not duplicated

    (starter_corpus / "glossary.txt").unlink()
    removed = ingest(starter_settings, embedder=embedder)
    assert removed.removed == ["starter-glossary"] and removed.embedded == 0
    assert not [c for c in all_chunks(starter_settings) if c.doc_id == "starter-glossary"]
    # The generation before is kept for readers still on it; older ones are deleted.
    assert len(IndexStore.connect(starter_settings).generations()) == 2


def test_newly_rejected_document_leaves_the_index(starter_settings, starter_corpus, embedder):
    ingest(starter_settings, embedder=embedder)
    path = starter_corpus / "temperature.md"
    path.write_text(path.read_text().replace("status: approved", "status: withdrawn"))
    report = ingest(starter_settings, embedder=embedder)
    assert report.removed == ["starter-temperature"]
    assert [r.reason for r in report.rejected] == ["status is withdrawn"]
    assert not [c for c in all_chunks(starter_settings) if c.doc_id == "starter-temperature"]


def test_nothing_indexable_keeps_the_existing_index(starter_settings, starter_corpus, embedder):
    from assistant.errors import AssistantError

    ingest(starter_settings, embedder=embedder)
    before = len(all_chunks(starter_settings))
    for path in starter_corpus.glob("*.md"):
        path.write_text(path.read_text().replace("status: approved", "status: draft"))
    for path in list(starter_corpus.glob("*.pdf")) + list(starter_corpus.glob("*.txt")):
        path.unlink()
    with pytest.raises(AssistantError, match="nothing could be indexed"):
        ingest(starter_settings, embedder=embedder)
    assert len(all_chunks(starter_settings)) == before


def run_cli(args, env_extra, **kwargs):
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, str(ROOT / "ingest.py"), *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300, **kwargs)


def test_cli_json_check_strict_and_usage(starter_corpus, tmp_path):
    env = {"CART_INDEX_DIR": str(tmp_path / "idx")}
    (starter_corpus / "notes.docx").write_text("x")

    check = run_cli(["--corpus", str(starter_corpus), "--check", "--json"], env)
    assert check.returncode == 0, check.stderr
    assert not (tmp_path / "idx").exists()  # --check writes nothing
    assert json.loads(check.stdout)["documents"]["added"] == 4

    strict = run_cli(["--corpus", str(starter_corpus), "--strict", "--json"], env)
    assert strict.returncode == 1
    result = json.loads(strict.stdout)
    assert set(result) == {"documents", "rejected", "due_soon", "shared_questions", "value_phrasings", "pointing_back", "chunks",
                           "embedded", "remapped", "seconds"}
    assert result["remapped"] == 0  # a first build: nothing to re-map
    assert result["rejected"] == [{"path": "corpus/notes.docx",
                                   "reason": "unsupported file type '.docx': use Markdown (.md), PDF (.pdf) or plain text (.txt)"}]
    assert result["embedded"] == result["chunks"] > 0

    table = run_cli(["--corpus", str(starter_corpus)], env)
    assert table.returncode == 0 and "Not indexed (1)" in table.stdout and "embeddings computed" in table.stdout

    missing = run_cli(["--corpus", str(tmp_path / "nope")], env)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.startswith("error: corpus folder") and "does not exist" in missing.stderr
    bad_flag = run_cli(["--frobnicate"], env)
    assert bad_flag.returncode == 2 and "Traceback" not in bad_flag.stderr


def test_killed_mid_embedding_keeps_previous_index_serving(tmp_path, embedder):
    from tests.conftest import make_starter_corpus
    from assistant.settings import load_settings

    corpus = make_starter_corpus(tmp_path / "corpus")
    settings = load_settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    first = ingest(settings, embedder=embedder)

    # Enough new text that embedding takes a few seconds (it is killed at its first progress).
    bulk = 16
    filler = " ".join(f"Paragraph {i} explains the journey from referral to follow-up in plain words." for i in range(60))
    for n in range(bulk):
        (corpus / f"bulk-{n}.md").write_text(
            (corpus / "driving.md").read_text().replace("id: starter-driving", f"id: bulk-{n}")
            .replace("## Sources", f"## Extra {n}\n{filler}\n\n## Sources"))
    env = {**os.environ, "CART_INDEX_DIR": str(settings.index_dir)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "ingest.py"), "--corpus", str(corpus)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    for line in proc.stderr:
        if line.startswith("embedding:") and not line.startswith("embedding: 0/"):
            break
        assert time.monotonic() < deadline, "ingestion never reached embedding"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    store = IndexStore.connect(settings)
    assert store.live_generation().name == "cart-g000001"
    assert len(store.generations()) == 2  # the half-written orphan, not served
    chunks = all_chunks(settings)
    assert len(chunks) == first.chunks and not any(c.doc_id.startswith("bulk-") for c in chunks)
    assert query(settings, embedder, "how often should I check my temperature")[0][1]["doc_id"] == "starter-temperature"

    done = run_cli(["--corpus", str(corpus), "--json"], {"CART_INDEX_DIR": str(settings.index_dir)})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["documents"]["added"] == bulk and report["documents"]["unchanged"] == 4
    store = IndexStore.connect(settings)
    assert store.live_generation().name == "cart-g000003"
    assert "cart-g000002" not in store.generations()  # the orphan was cleaned up
    assert len(all_chunks(settings)) == report["chunks"]
