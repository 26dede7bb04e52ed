"""Feedback storage: identifiers scrubbed from every free-text field, safe with several writers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import multiprocessing
import sqlite3

import pytest

from assistant.errors import UsageError
from assistant.feedback import FeedbackStore, export_csv, scrub
from assistant.records import Citation

CITE = Citation(1, "patient-driving", "Driving after CAR-T therapy", "How long you cannot drive", None, "1.1",
                "Do not drive for at least 8 weeks.", "corpus/patient-driving.md")


@pytest.mark.parametrize("text, secret", [
    ("my NHS number is 943 476 5919", "943 476 5919"),
    ("NHS no. 943-476-5919 thanks", "943-476-5919"),
    ("nhs:9434765919", "9434765919"),
    ("call me on 07700 900123", "07700 900123"),
    ("mobile 07700900123", "07700900123"),
    ("ring +44 7700 900123 please", "7700 900123"),
    ("+44 (0)20 7946 0000", "7946 0000"),
    ("home 020 7946 0000", "7946 0000"),
    ("landline 0161 496 0000", "496 0000"),
    ("0161-496-0000", "496-0000"),
    ("(01632) 960123", "960123"),
    ("write to jo.bloggs+cart@nhs.example.co.uk soon", "jo.bloggs"),
    ("DOB 01/02/1960", "1960"),
    ("dob: 1.2.1960", "1960"),
    ("born 1 Feb 1960", "1960"),
    ("born on the 1st of February 1960", "1960"),
    ("Date of birth: February 1, 1960", "1960"),
    ("born in 1960", "1960"),
    ("DOB Feb 1960", "1960"),
    ("seen on 03/04/26 in clinic", "03/04/26"),
    ("date of birth 1960-02-01", "1960-02-01"),
])
def test_scrub_removes_identifiers(text, secret):
    cleaned = scrub(text)
    assert secret not in cleaned
    assert "[removed]" in cleaned


@pytest.mark.parametrize("text", [
    "I have a temperature of 38.2 and I am shivering",
    "Do not drive for 8 weeks after the infusion",
    "ICE score 7-9 is grade 1; version 1.1.2; day 14",
    "TA872 and TA895; CRS grade 3; 10-14 days in hospital",
    "I was born with it",
])
def test_scrub_keeps_clinical_text(text):
    assert scrub(text) == text


def test_scrub_handles_empty_values():
    assert scrub("") == "" and scrub(None) == ""


def test_add_scrubs_every_free_text_field_and_stores_the_rest(tmp_path):
    db = tmp_path / "sub" / "feedback.sqlite3"
    store = FeedbackStore(db)
    row_id = store.add(rating="not_helpful", question="My NHS number is 943 476 5919, when can I drive?",
                       answer="Call jo@example.org", comment="ring me on 07700 900123, DOB 01/02/1960",
                       citations=[CITE], audience="patient", status="answered")
    assert row_id == 1
    row = store.all()[0]
    assert row["rating"] == "not_helpful" and row["audience"] == "patient" and row["status"] == "answered"
    assert row["question"] == "My NHS number is [removed], when can I drive?"
    assert row["answer"] == "Call [removed]"
    assert row["comment"] == "ring me on [removed], DOB [removed]"
    assert json.loads(row["citations"])[0]["doc_id"] == "patient-driving"
    created = dt.datetime.fromisoformat(row["created_at"])
    assert created.utcoffset() == dt.timedelta(0)
    # nothing identifying is left anywhere in the file
    raw = db.read_bytes() + (db.with_name(db.name + "-wal").read_bytes() if db.with_name(db.name + "-wal").exists() else b"")
    for secret in (b"943 476 5919", b"jo@example.org", b"07700 900123", b"01/02/1960"):
        assert secret not in raw


def test_table_schema_and_wal(tmp_path):
    db = tmp_path / "f.sqlite3"
    FeedbackStore(db)
    with sqlite3.connect(db) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(feedback)")]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert columns == ["id", "created_at", "rating", "comment", "question", "answer", "citations", "audience", "status"]
    assert mode == "wal"


def test_rating_is_checked_and_rows_can_change(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    with pytest.raises(ValueError):
        store.add(rating="meh")
    row_id = store.add(rating="helpful", question="q")
    assert store.update(row_id, comment="my email is a@b.co")
    assert store.update(row_id, rating="not_helpful")
    assert not store.update(999, rating="helpful")
    row = store.all()[0]
    assert (row["rating"], row["comment"]) == ("not_helpful", "my email is [removed]")
    assert store.delete(row_id) and store.all() == []


def _write_rows(path: str, worker: int, count: int) -> None:
    store = FeedbackStore(path)
    for i in range(count):
        store.add(rating="helpful", question=f"worker {worker} question {i}", audience="patient", status="answered")


def test_several_writer_processes(tmp_path):
    db = str(tmp_path / "f.sqlite3")
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_write_rows, args=(db, n, 40)) for n in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    rows = FeedbackStore(db).all()
    assert len(rows) == 160
    assert len({r["question"] for r in rows}) == 160


def test_export_csv(tmp_path):
    db = tmp_path / "f.sqlite3"
    store = FeedbackStore(db)
    store.add(rating="helpful", question="when can I drive, again?", answer='8 weeks "at least"',
              citations=[CITE], audience="patient", status="answered", comment="line one\nline two")
    store.add(rating="not_helpful", question="q2", audience="clinician", status="refused")
    out = io.StringIO()
    assert export_csv(db, out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0]) == ["id", "created_at", "rating", "comment", "question", "answer", "citations",
                             "audience", "status"]
    assert rows[0]["question"] == "when can I drive, again?" and rows[0]["comment"] == "line one\nline two"
    assert rows[0]["answer"] == '8 weeks "at least"'
    assert json.loads(rows[0]["citations"])[0]["source"] == "corpus/patient-driving.md"
    assert rows[1]["rating"] == "not_helpful" and rows[1]["status"] == "refused"


def test_export_without_a_file_says_so(tmp_path):
    with pytest.raises(UsageError, match="no feedback file"):
        export_csv(tmp_path / "none.sqlite3", io.StringIO())
    assert not (tmp_path / "none.sqlite3").exists()
