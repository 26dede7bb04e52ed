"""The web page's formatting and behaviour as pure functions: no server, no model."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import pytest

from assistant import presenting as P
from assistant.errors import IndexMissingError, StoreUnavailableError, UsageError
from assistant.feedback import FeedbackStore
from assistant.loading import load_corpus, load_document
from assistant.records import Answer, Citation, Turn
from assistant.webapp import AssistantHolder, Conversation

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"

DRIVE = Citation(1, "patient-driving", "Driving after CAR-T therapy", "How long you cannot drive", None, "1.1",
                 "Do not drive for at least **8 weeks** after your CAR-T infusion.", "corpus/patient-driving.md")
HANDBOOK = Citation(2, "patient-handbook", "Your CAR-T treatment handbook", "Going home > Driving", 3, "2.0",
                    "Do not drive for 8 weeks after the infusion.", "corpus/patient-handbook.pdf")
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


def answered(*citations: Citation) -> Answer:
    return Answer("answered", "Do not drive for at least **8 weeks** [1]. The handbook agrees [2].",
                  citations or (DRIVE, HANDBOOK))


# -- chat replies -----------------------------------------------------------------------------
def test_answer_shows_numbered_citations_with_links():
    reply = P.chat_reply(answered(), "patient")
    assert "**8 weeks** [1]" in reply
    assert "**[1]** [Driving after CAR-T therapy](source/corpus/patient-driving.md#how-long-you-cannot-drive)" in reply
    assert "[Your CAR-T treatment handbook](source/corpus/patient-handbook.pdf#page=3)" in reply
    assert "page 3" in reply and "version 2.0" in reply
    assert "urgent-banner" not in reply and P.REFUSAL_TITLE not in reply


@pytest.mark.parametrize("audience, contact", [("patient", P.DAY_UNIT), ("clinician", P.REFERRALS_PHONE)])
def test_an_answer_the_model_is_unsure_of_opens_with_a_note(audience, contact):
    unsure = P.chat_reply(replace(answered(), sure=False), audience)
    assert unsure.index(P.UNSURE_TITLE) < unsure.index("**8 weeks** [1]") < unsure.index("**Sources**")
    assert contact in unsure.split("**8 weeks**")[0]
    assert P.UNSURE_TITLE not in P.chat_reply(answered(), audience)
    assert replace(answered(), sure=False).to_json()["sure"] is False


def test_urgent_reply_opens_with_the_banner():
    answer = Answer("urgent", "**Call the CAR-T 24-hour line on 01632 960 123 now.** Call 999 for a fit.")
    reply = P.chat_reply(answer, "patient")
    assert reply.startswith('<div class="urgent-banner" role="alert">')
    banner = reply.split("</div>")[0]
    assert "24-hour CAR-T line now" in banner and P.LINE_24H in banner
    assert "999" in banner and "fit" in banner and "collapse" in banner and "cannot be woken" in banner
    assert 'href="tel:01632960123"' in banner
    clinician = P.chat_reply(answer, "clinician").split("</div>")[0]
    assert "Contact the CAR-T team on the 24-hour line now" in clinician and P.LINE_24H in clinician


@pytest.mark.parametrize("audience, contact", [("patient", P.DAY_UNIT), ("clinician", P.REFERRALS_PHONE)])
def test_refusal_says_not_covered_and_where_to_ask(audience, contact):
    answer = Answer("refused", "The approved information I can use does not cover this question.")
    reply = P.chat_reply(answer, audience)
    assert reply.index(P.REFUSAL_TITLE) < reply.index("does not cover this question") < reply.index("Where to ask")
    assert contact in reply


def test_user_text_is_shown_literally():
    shown = P.escape_user_text(XSS + " ![x](http://evil.example/t.png) [link](javascript:alert(1))")
    assert "<script" not in shown and "<img" not in shown
    assert "![" not in shown and "](" not in shown  # no Markdown image or link survives


def test_user_text_keeps_its_shape_but_not_markdown_structure():
    assert P.escape_user_text("I have 38.2 and when can I drive after car-t?") == \
        "I have 38.2 and when can I drive after car-t?"
    shown = P.escape_user_text("- not a list\n1. not a list\n===")
    assert shown == "\\- not a list\n1\\. not a list\n\\==="


def test_answer_text_keeps_emphasis_but_not_html_or_images():
    shown = P.escape_answer_text("**8 weeks** <b onmouseover=x>hi</b> ![t](http://evil.example/t.png)")
    assert "**8 weeks**" in shown
    assert "<b" not in shown and "![" not in shown


def test_error_reply_gives_the_fix_and_the_phone_line_without_html_injection():
    reply = P.error_reply("no index in .index: build it with `python ingest.py` <b>")
    assert "cannot answer right now" in reply and "python ingest.py" in reply
    assert "<b>" not in reply and P.LINE_24H in reply and "999" in reply


# -- the sources panel ------------------------------------------------------------------------
def test_sources_panel_lists_title_section_page_version_excerpt_and_link():
    panel = P.sources_panel([DRIVE, HANDBOOK], "when can I drive?")
    assert panel.count('<li value="') == 2
    for text in ("Driving after CAR-T therapy", "How long you cannot drive", "Version", "1.1",
                 "<dt>Page</dt><dd>3</dd>", "Going home &gt; Driving", "<strong>8 weeks</strong>",
                 'href="source/corpus/patient-driving.md#how-long-you-cannot-drive"',
                 'href="source/corpus/patient-handbook.pdf#page=3"', "Open the whole document",
                 "For: “when can I drive?”"):
        assert text in panel


def test_sources_panel_escapes_everything():
    evil = Citation(1, "x", XSS, XSS, None, '1"><script>', XSS + " [a](javascript:alert(1)) ![i](http://e/x.png)",
                    "corpus/x.md")
    panel = P.sources_panel([evil], XSS)
    assert "<script" not in panel and "<img" not in panel and 'href="javascript' not in panel
    assert panel.count("<a ") == 1  # only the link to the document itself


def test_sources_panel_empty_states():
    assert "After each answer" in P.sources_panel([])
    assert "no sources" in P.sources_panel([], "what is the best football team?")


def test_every_markdown_section_link_lands_on_a_heading():
    """The #anchor a citation links to is an id in the rendered document, for every section."""
    checked = 0
    for doc in load_corpus(CORPUS).documents:
        if doc.format == "pdf":
            continue
        page = P.document_page(doc)
        ids = set(re.findall(r'id="([^"]+)"', page))
        for block in doc.blocks:
            cite = Citation(1, doc.meta.id, doc.meta.title, block.section, None, doc.meta.version, "", doc.source)
            url = P.source_url(cite)
            if "#" in url:
                assert url.split("#", 1)[1] in ids, (doc.source, block.section)
                checked += 1
    assert checked > 50


# -- documents -------------------------------------------------------------------------------
def test_document_page_renders_markdown_with_its_metadata():
    doc = load_document(CORPUS / "patient-driving.md", source="corpus/patient-driving.md")
    page = P.document_page(doc)
    assert "<h1" in page and "Driving after CAR-T therapy" in page
    assert 'id="how-long-you-cannot-drive"' in page and "<strong>8 weeks</strong>" in page
    assert "<dt>Version</dt><dd>1.1</dd>" in page and "Review due" in page
    assert "status: approved" not in page  # the front matter is metadata, not text
    assert "<script" not in page


def test_document_page_shows_raw_html_as_text(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "x.md").write_text((CORPUS / "patient-driving.md").read_text()
                                 + "\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n")
    page = P.document_page(load_document(folder / "x.md", source="corpus/x.md"))
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page


def test_only_approved_documents_in_review_are_served():
    draft = load_document(CORPUS / "patient-draft-visiting.md", source="corpus/patient-draft-visiting.md")
    assert not P.servable(draft.meta)
    current = load_document(CORPUS / "patient-driving.md", source="corpus/patient-driving.md")
    assert P.servable(current.meta)
    assert not P.servable(current.meta, today=current.meta.review_due + dt.timedelta(days=1))


def test_resolve_source_opens_only_files_inside_the_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("x")
    (corpus / "b.pdf").write_bytes(b"%PDF")
    (corpus / "b.pdf.yaml").write_text("id: b")
    (corpus / ".hidden.md").write_text("x")
    (corpus / "sub").mkdir()
    (corpus / "sub" / "c.txt").write_text("x")
    (tmp_path / "secret.md").write_text("secret")
    (corpus / "link.md").symlink_to(tmp_path / "secret.md")

    assert P.resolve_source(corpus, "corpus/a.md") == (corpus / "a.md").resolve()
    assert P.resolve_source(corpus, "corpus/b.pdf") == (corpus / "b.pdf").resolve()
    assert P.resolve_source(corpus, "corpus/sub/c.txt") == (corpus / "sub" / "c.txt").resolve()
    for bad in ("corpus/../secret.md", "../secret.md", "corpus/sub/../../secret.md", "/etc/passwd",
                str(tmp_path / "secret.md"), "other/a.md", "a.md", "corpus", "corpus/", "corpus/.hidden.md",
                "corpus/b.pdf.yaml", "corpus/link.md", "corpus\\..\\secret.md", "corpus/a.md\x00.pdf",
                "corpus/missing.md", "corpus/sub", ""):
        assert P.resolve_source(corpus, bad) is None, bad


# -- conversation behaviour (the handlers, with a fake assistant) -------------------------------
class FakeAssistant:
    def __init__(self, answer: Answer | Exception | None = None):
        self.answer = answer or answered()
        self.calls: list[tuple[str, str, list[Turn]]] = []

    def ask(self, question, audience="patient", history=()):
        self.calls.append((question, audience, list(history)))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def conversation(tmp_path, factory) -> Conversation:
    return Conversation(AssistantHolder(factory), FeedbackStore(tmp_path / "fb.sqlite3"))


def test_ask_appends_question_and_cited_reply_and_passes_history(tmp_path):
    fake = FakeAssistant()
    convo = conversation(tmp_path, lambda: fake)
    messages, exchanges, _ = convo.ask("when can I drive?", "patient", [], {})
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert "[1]" in messages[1]["content"] and "source/corpus/patient-driving.md" in messages[1]["content"]
    assert exchanges[1]["citations"][0]["doc_id"] == "patient-driving"

    messages, exchanges, _ = convo.ask("and if I had confusion?", "patient", messages, exchanges)
    question, audience, history = fake.calls[-1]
    assert question == "and if I had confusion?"
    assert history == [Turn("user", "when can I drive?"), Turn("assistant", answered().answer)]
    assert sorted(exchanges) == [1, 3]
    assert "For: “and if I had confusion?”" in convo.sources_for(3, exchanges)


def test_missing_index_is_shown_with_the_fix_and_the_page_recovers(tmp_path):
    state = {"built": 0, "index": False}

    def factory():
        state["built"] += 1
        if not state["index"]:
            raise IndexMissingError("no index in .index: build it with `python ingest.py`")
        return FakeAssistant()

    convo = conversation(tmp_path, factory)
    messages, exchanges, exchange = convo.ask("when can I drive?", "patient", [], {})
    assert exchange["status"] == "error"
    assert "python ingest.py" in messages[-1]["content"] and "Traceback" not in messages[-1]["content"]
    assert "python ingest.py" in convo.status()

    state["index"] = True  # someone ran ingest.py: the next question rebuilds the assistant
    messages, exchanges, exchange = convo.ask("when can I drive?", "patient", messages, exchanges)
    assert exchange["status"] == "answered" and state["built"] == 2
    assert convo.status() == ""
    # the failed exchange is not part of the conversation the chain sees
    assert P.history_turns(exchanges[k] for k in sorted(exchanges)) == [
        Turn("user", "when can I drive?"), Turn("assistant", answered().answer)]


def test_store_going_away_mid_conversation_rebuilds_on_the_next_question(tmp_path):
    fakes = [FakeAssistant(StoreUnavailableError("cannot reach the Chroma server at http://127.0.0.1:8000")),
             FakeAssistant()]
    convo = conversation(tmp_path, lambda: fakes.pop(0))
    messages, exchanges, exchange = convo.ask("q1", "patient", [], {})
    assert exchange["status"] == "error" and "Chroma server" in messages[-1]["content"]
    messages, exchanges, exchange = convo.ask("q2", "patient", messages, exchanges)
    assert exchange["status"] == "answered" and not fakes


def test_user_errors_and_bugs_are_messages_not_tracebacks(tmp_path):
    convo = conversation(tmp_path, lambda: FakeAssistant(UsageError("the question is too long")))
    messages, _, _ = convo.ask("x" * 5000, "patient", [], {})
    assert "the question is too long" in messages[-1]["content"]
    assert convo.holder.ready  # a user's mistake does not throw the assistant away

    convo = conversation(tmp_path, lambda: FakeAssistant(RuntimeError("secret internal detail")))
    messages, _, _ = convo.ask("q", "patient", [], {})
    assert "secret internal detail" not in messages[-1]["content"]
    assert P.UNEXPECTED in messages[-1]["content"]


def test_unknown_audience_falls_back_to_patient(tmp_path):
    fake = FakeAssistant()
    conversation(tmp_path, lambda: fake).ask("q", "<script>", [], {})
    assert fake.calls[0][1] == "patient"


def test_rating_comment_change_and_withdrawal(tmp_path):
    convo = conversation(tmp_path, FakeAssistant)
    messages, exchanges, _ = convo.ask("when can I drive? my NHS number is 943 476 5919", "clinician", [], {})
    ids, note = convo.rate(1, "helpful", exchanges, {})
    assert "helpful" in note and list(ids) == [1]
    assert "saved" in convo.comment(1, "Clear. Email me at someone@example.com", ids)
    ids, _ = convo.rate(1, "not_helpful", exchanges, ids)  # a change of mind updates the same row
    rows = convo.store.all()
    assert len(rows) == 1
    row = rows[0]
    assert row["rating"] == "not_helpful" and row["audience"] == "clinician" and row["status"] == "answered"
    assert row["comment"] == "Clear. Email me at [removed]"
    assert "943 476 5919" not in row["question"] and "[removed]" in row["question"]
    assert '"doc_id": "patient-driving"' in row["citations"]

    ids, note = convo.rate(1, None, exchanges, ids)
    assert ids == {} and convo.store.all() == [] and "withdrawn" in note
    assert "first" in convo.comment(1, "late comment", ids)
    assert "no answer" in convo.rate(7, "helpful", exchanges, ids)[1]
