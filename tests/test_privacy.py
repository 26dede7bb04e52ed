"""Privacy and exposure: identifiers a person types (NHS number, phone, email, date of birth)
are written nowhere; the app calls no one outside 127.0.0.1; only corpus documents can be
opened through it; and it binds 127.0.0.1 unless told otherwise.

The page's own requests staying on 127.0.0.1 is checked by every browser test in
test_webapp.py (and, with a remote image in a message, in test_hostile_input.py).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from tests.web import ask, open_page, raw_get

# What a patient might type about themselves, and the bare forms a log might hold.
IDENTIFIERS = {
    "nhs": ("943 476 5919", "9434765919"),
    "mobile": ("07700 900123", "07700900123"),
    "landline": ("+44 20 7946 0958", "2079460958"),
    "email": ("jane.doe@example.com", "jane.doe@example"),
    "dob": ("12/03/1961", "1961-03-12"),
    "dob-words": ("3 March 1961", "March 1961"),
}
QUESTIONS = [
    "My NHS number is 943 476 5919, when can I drive after car-t?",
    "call me on 07700 900123 or +44 20 7946 0958 about my temperature of 38.5",
    "email jane.doe@example.com: can I have vaccines after CAR-T?",
    "I was born 12/03/1961 (DOB 1961-03-12), what is CRS?",
    "born on 3 March 1961, should I stop taking my tablets?",
]


def everything_written(*folders: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for folder in folders for path in folder.rglob("*") if path.is_file()}


def leaks(files: dict[Path, bytes]) -> list[str]:
    found = []
    for path, data in files.items():
        text = data.decode("utf-8", "replace")
        for kind, forms in IDENTIFIERS.items():
            for form in forms:
                if form in text or form.replace(" ", "") in re.sub(r"\s", "", text):
                    found.append(f"{kind} {form!r} in {path}")
    return found


@pytest.mark.slow
def test_identifiers_typed_in_questions_and_comments_are_written_nowhere(live_app, browser, built_index):  # noqa: F811
    from gradio_client import Client

    before = everything_written(built_index.index_dir)
    client = Client(live_app.url + "/", verbose=False)
    try:
        for question in QUESTIONS:  # answered, urgent and refused paths
            client.predict(question, "patient", api_name="/ask")
        for bad in ("x" * 3000 + " 943 476 5919 jane.doe@example.com", "   "):  # error paths
            with pytest.raises(Exception):
                client.predict(bad, "patient", api_name="/ask")
        with pytest.raises(Exception):
            client.predict(QUESTIONS[0], "07700 900123", api_name="/ask")  # in the audience field
    finally:
        client.close()

    with open_page(browser, live_app.url) as page:
        for question in QUESTIONS[:2]:
            ask(page, question)
            page.locator("#not-helpful").click()
            page.get_by_text("recorded this answer as not helpful").wait_for()
            page.get_by_label("Comment (optional)").fill(
                "Wrong. I'm Jane, NHS 9434765919, DOB 12/03/1961, jane.doe@example.com, 07700900123")
            page.get_by_role("button", name="Send comment").click()
            page.get_by_text("your comment was saved").wait_for()

    with sqlite3.connect(live_app.feedback_db) as conn:
        rows = conn.execute("SELECT question, comment, answer FROM feedback").fetchall()
    assert len(rows) >= 2 and all("[removed]" in comment for _, comment, _ in rows)
    assert any("when can I drive after car-t?" in question for question, _, _ in rows)  # the rest is kept

    written = everything_written(live_app.folder)  # log, feedback file (+ WAL), gradio's temp files
    written.update({p: d for p, d in everything_written(built_index.index_dir).items() if before.get(p) != d})
    assert live_app.log in written and live_app.feedback_db in written
    assert not leaks(written), leaks(written)


@pytest.mark.slow
def test_the_app_calls_no_one_outside(live_app, outbound):
    """live_app runs without GRADIO_ANALYTICS_ENABLED or the offline switches, with every
    proxy variable pointing at a recorder: anything it tried to reach outside would be seen.
    By now (in a full run) it has served the load, hostile-input and privacy tests too."""
    from gradio_client import Client

    client = Client(live_app.url + "/", verbose=False)
    assert client.predict("when can I drive after car-t?", "patient", api_name="/ask")["status"] == "answered"
    client.close()
    for path in ("/", "/healthz", "/source/corpus/patient-driving.md", "/config"):
        raw_get(live_app, path)
    assert outbound.seen == []


@pytest.mark.slow
@pytest.mark.parametrize("path", [
    # test_webapp.py covers '..' (plain and encoded), absolute paths, drafts, other folders
    "/source/corpus/%252e%252e/app.py", "/source/corpus/patient-driving.md%00.pdf",
    "/source/corpus/.gitkeep", "/source/corpus/_index.md", "/source/corpus/", "/source/corpus",
    "/source/CORPUS/patient-driving.md", "/source/corpus/patient-driving.md/",
    "/source/corpus/clin-crs-icans-guide.pdf.yaml", "/source/pdf_sources/build.py",
    "/file=/etc/passwd", "/gradio_api/file=/etc/passwd", "/gradio_api/file=.env",
    "/gradio_api/file=var/feedback.sqlite3", "/static/../../app.py", "/assets/../app.py",
])
def test_only_corpus_documents_can_be_opened(live_app, path):
    status, _, body = raw_get(live_app, path)
    assert status in (404, 403, 405) or (status == 200 and b"<!doctype html>" in body[:200].lower()
                                         and b"import " not in body), (path, status, body[:200])
    assert b"root:x:0:0" not in body and b"SQLite format" not in body and b"def main" not in body


@pytest.mark.slow
@pytest.mark.parametrize("route", ["/gradio_api/upload", "/gradio_api/process_recording"])
def test_files_cannot_be_stored_through_the_page(live_app, route):
    """The page has no file input; gradio's file routes must not let anyone fill the disk."""
    import http.client
    import uuid

    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"planted.txt\"\r\n"
            f"Content-Type: text/plain\r\n\r\n{'A' * 1000}\r\n--{boundary}--\r\n").encode()
    conn = http.client.HTTPConnection("127.0.0.1", live_app.port, timeout=10)
    conn.request("POST", route, body=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 403
    assert not list(live_app.folder.rglob("planted.txt"))


def test_a_bug_that_quotes_the_question_is_logged_scrubbed(tmp_path, caplog):
    from assistant.feedback import FeedbackStore
    from assistant.webapp import AssistantHolder, Conversation

    class Broken:
        def ask(self, question, audience="patient", history=()):
            raise RuntimeError(f"could not parse {question!r}")

    convo = Conversation(AssistantHolder(lambda: Broken()), FeedbackStore(tmp_path / "fb.sqlite3"))
    with caplog.at_level("ERROR", logger="assistant.webapp"):
        messages, _, _ = convo.ask(QUESTIONS[0] + " " + QUESTIONS[2], "patient", [], {})
    assert "answering failed" in caplog.text and "RuntimeError: could not parse" in caplog.text
    assert "Traceback" in caplog.text  # still useful to whoever fixes the bug ...
    assert not leaks({Path("log"): caplog.text.encode()})  # ... without the identifiers
    assert "943 476 5919" not in messages[-1]["content"]


# -- binding --------------------------------------------------------------------------------------
def test_the_server_binds_127_0_0_1_unless_told_otherwise(monkeypatch):
    import uvicorn

    import app
    from assistant import webapp
    from assistant.errors import IndexMissingError
    from assistant.settings import Settings

    assert Settings.model_fields["host"].default == "127.0.0.1"
    bound = []

    class Holder:
        def get(self):
            raise IndexMissingError("no index")  # app.py serves anyway

    class State:
        holder = Holder()

    class Server:
        state = State()

    monkeypatch.setattr(webapp, "build_server", lambda settings: Server())
    monkeypatch.setattr(uvicorn, "run", lambda server, **kw: bound.append((kw["host"], kw["port"])))
    monkeypatch.delenv("CART_HOST", raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no .env file here
    assert app.main([]) == 0
    assert app.main(["--host", "0.0.0.0", "--port", "8123"]) == 0
    monkeypatch.setenv("CART_HOST", "192.0.2.7")
    assert app.main([]) == 0
    assert bound == [("127.0.0.1", 7860), ("0.0.0.0", 8123), ("192.0.2.7", 7860)]
