"""`python -m assistant` commands that need no model."""

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

from assistant.feedback import FeedbackStore

ROOT = Path(__file__).resolve().parent.parent


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "assistant", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_feedback_export_csv_gives_content_teams_the_scrubbed_rows(tmp_path):
    db = tmp_path / "feedback.sqlite3"
    FeedbackStore(db).add(rating="not_helpful", question="my NHS number is 943 476 5919, can I drive?",
                          answer="Do not drive for 8 weeks. [1]", comment="call me on 07700 900123",
                          audience="patient", status="answered")
    out = run("feedback", "export", "--csv", env={"CART_FEEDBACK_DB": str(db)})
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(rows) == 1 and rows[0]["rating"] == "not_helpful"
    assert "943 476 5919" not in out.stdout and "07700 900123" not in out.stdout
    target = tmp_path / "export.csv"
    to_file = run("feedback", "export", "--csv", "--db", str(db), "--out", str(target))
    assert to_file.returncode == 0 and "wrote 1 feedback rows" in to_file.stderr
    assert target.read_text().startswith("id,created_at,rating")


def test_errors_are_one_line_with_an_exit_code(tmp_path):
    missing = run("feedback", "export", "--csv", "--db", str(tmp_path / "none.sqlite3"))
    assert missing.returncode == 2 and missing.stderr.startswith("error: ") and "Traceback" not in missing.stderr
    no_index = run("ask", "hello", env={"CART_INDEX_DIR": str(tmp_path / "no-index")})
    assert no_index.returncode == 1 and "python ingest.py" in no_index.stderr and "Traceback" not in no_index.stderr
    bad_setting = run("ask", "hello", env={"CART_TOP_K": "zero"})
    assert bad_setting.returncode == 2 and bad_setting.stderr.startswith("error: invalid setting: CART_TOP_K")


def test_an_unsure_answer_opens_with_the_pages_note_in_the_terminal_too():
    from dataclasses import replace

    from assistant.cli import _format_text
    from assistant.presenting import UNSURE_TITLE
    from assistant.records import Answer

    unsure = Answer(status="answered", answer="Most people stay in hospital for about 10 to 14 days. [1]", sure=False)
    text = _format_text(unsure, "patient")
    assert text.startswith(UNSURE_TITLE) and "check the source" in text
    assert "01632 960 123" in text and "<a" not in text  # the numbers as text, not as the page's links
    assert "referral coordinator on 01632 960 789" in _format_text(unsure, "clinician")
    assert UNSURE_TITLE not in _format_text(replace(unsure, sure=True), "patient")
    assert UNSURE_TITLE not in _format_text(replace(unsure, status="refused"), "patient")
