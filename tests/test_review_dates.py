"""Review dates that warn in time: documents due within the window are listed (and still
indexed) by `ingest.py --check`, every ingest and the evaluation report."""

from __future__ import annotations

import datetime as dt
import json
import re

from assistant.embedding import HashEmbedder
from assistant.indexing import ingest
from assistant.settings import load_settings
from eval.report import documents_section
from eval.runner import corpus_documents

def due_in(corpus, name: str, days: int) -> str:
    """Set a document's review date `days` from today (read now: a date read when the module was
    imported is yesterday's for a run that passes midnight)."""
    path = corpus / name
    due = (dt.date.today() + dt.timedelta(days=days)).isoformat()
    path.write_text(re.sub(r"^review_due: .*$", f"review_due: {due}", path.read_text(), count=1, flags=re.M))
    return due


def test_a_document_due_in_10_days_is_listed_and_still_indexed(starter_corpus, tmp_path):
    due = due_in(starter_corpus, "driving.md", 10)
    due_in(starter_corpus, "temperature.md", 200)
    settings = load_settings(corpus_dir=starter_corpus, index_dir=tmp_path / "index")
    report = ingest(settings, embedder=HashEmbedder())
    assert [(d.doc_id, d.review_due, d.days_left) for d in report.due_soon] == [("starter-driving", due, 10)]
    assert report.due_soon[0].owner and report.due_soon[0].path.endswith("driving.md")
    assert "starter-driving" in report.added and not report.rejected
    assert json.loads(json.dumps(report.to_json()))["due_soon"][0]["days_left"] == 10


def test_the_setting_changes_the_window(starter_corpus, tmp_path):
    due_in(starter_corpus, "driving.md", 10)
    due_in(starter_corpus, "temperature.md", 200)
    wide = load_settings(corpus_dir=starter_corpus, index_dir=tmp_path / "index", review_warning_days=250)
    listed = [d.doc_id for d in ingest(wide, embedder=HashEmbedder(), check=True).due_soon]
    assert listed[:2] == ["starter-driving", "starter-temperature"]
    narrow = load_settings(corpus_dir=starter_corpus, index_dir=tmp_path / "index", review_warning_days=5)
    assert ingest(narrow, embedder=HashEmbedder(), check=True).due_soon == []


def test_check_lists_them_apart_from_rejections_and_strict_does_not_fail(starter_corpus, tmp_path, monkeypatch, capsys):
    import ingest as ingest_cli

    due_in(starter_corpus, "driving.md", 10)
    monkeypatch.setenv("CART_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setattr("assistant.indexing.build_embedder", lambda settings: HashEmbedder())
    assert ingest_cli.main(["--corpus", str(starter_corpus), "--check", "--strict", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["doc_id"] for d in data["due_soon"]] == ["starter-driving"] and data["rejected"] == []
    assert ingest_cli.main(["--corpus", str(starter_corpus), "--check"]) == 0
    assert "Review due soon (1)" in capsys.readouterr().out


def test_the_report_lists_due_soon_and_every_indexed_document(starter_corpus):
    due_in(starter_corpus, "driving.md", 10)
    documents, soon = corpus_documents(load_settings(corpus_dir=starter_corpus), assistant=None)
    assert {d["doc_id"] for d in documents} >= {"starter-driving", "starter-temperature"}
    assert set(documents[0]) == {"doc_id", "title", "audience", "version", "owner", "review_due", "chunks"}
    html = "\n".join(documents_section({"documents": documents, "due_soon": soon}))
    assert 'id="due-soon"' in html and "starter-driving" in html.split('id="documents"')[0]
    assert "Review due soon (1)" in html and f"Indexed documents ({len(documents)})" in html
