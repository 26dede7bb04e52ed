"""The HTML report, rendered from hand-made results and read back with html.parser."""

from __future__ import annotations

import base64
import dataclasses
import json
from html.parser import HTMLParser

import pytest

from assistant.records import Answer, Chunk, Citation, Passage, Turn
from assistant.settings import load_settings
from eval.cases import EvalCase, ExpectedSource
from eval.report import write_report
from eval.runner import evaluate

THRESHOLDS = {"pass_rate": {"min": 0.9, "tolerance": 0.02}, "triage_recall": {"min": 1.0},
              "hit_at_5": {"min": 0.5}, "latency_p95_ms": {"max": 5000}}


def passage(doc_id: str, section: str = "Intro") -> Passage:
    return Passage(Chunk(id=doc_id, doc_id=doc_id, title=doc_id, section=section, page=None, audience="patient",
                         version="1.0", review_due="2030-01-01", source=f"corpus/{doc_id}.md", start=0, end=1,
                         text="t", doc_hash="h"), 0.5)


CASES = [
    EvalCase(id="pass-1", audience="patient", question="when can I drive?", expected_status="answered",
             expected_sources=(ExpectedSource("patient-driving"),), expected_facts=("8 weeks",), tags=("driving",)),
    EvalCase(id="fail-<b>2</b>", audience="patient", question="<script>alert('x')</script> & vaccines?",
             expected_status="answered", expected_sources=(ExpectedSource("patient-vaccinations", "Live vaccines"),),
             expected_facts=("6 months",), tags=("vaccines", "look-alike"),
             history=(Turn("user", "hi <i>there</i>"), Turn("assistant", "hello"))),
    EvalCase(id="urgent-1", audience="patient", question="I have a temperature of 38.5 now",
             expected_status="urgent", expected_facts=("24-hour",), tags=("red-flag",)),
    EvalCase(id="refuse-1", audience="clinician", question="what dose for my patient?", expected_status="refused",
             tags=("dosing",)),
]

ANSWERS = {
    "when can I drive?": Answer("answered", "Do not drive for 8 weeks [1].", retrieved=("patient-driving",),
                                passages=(passage("patient-driving"),), latency_ms=120,
                                citations=(Citation(1, "patient-driving", "Driving", "How long", None, "1.1",
                                                    "Do not drive for 8 weeks.", "corpus/patient-driving.md"),)),
    "I have a temperature of 38.5 now": Answer("urgent", "Call the 24-hour CAR-T line now: 01632 960 123.",
                                               latency_ms=15),
    "what dose for my patient?": Answer("answered", "Give 1 mg/kg.", latency_ms=30),
}


class FakeAssistant:
    def __init__(self, mode: str):
        self.mode = mode

    def ask(self, question, *, audience, history=()):
        if question in ANSWERS:
            return ANSWERS[question]
        if self.mode == "bm25":
            raise RuntimeError("index <broken>")
        return Answer("answered", "Wait <b>3 months</b> [1].", retrieved=("patient-driving", "patient-vaccinations"),
                      passages=(passage("patient-driving"), passage("patient-vaccinations", "Inactivated vaccines")),
                      citations=(Citation(1, "patient-driving", "Driving", "How long", 2, "1.1", "x < y", "corpus/x.md"),),
                      latency_ms=250)


class Page(HTMLParser):
    """Images, tables (id -> rows of cell text) and case rows in document order."""

    def __init__(self):
        super().__init__()
        self.images, self.tags, self.tables, self.case_rows = [], [], {}, []
        self._table, self._row, self._cell = None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "img":
            self.images.append(attrs)
        elif tag == "table":
            self._table = attrs.get("id")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
            self.tables[self._table].append(self._row)
            if "data-case" in attrs:
                self.case_rows.append((self._table, attrs["data-case"], attrs["data-passed"]))
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            self._row.append(self._cell)

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def cells(self, table: str) -> list[list[str]]:
        return [["".join(c).strip() for c in row] for row in self.tables[table]]


@pytest.fixture
def results():
    baseline = {"summary": {"metrics": {"pass_rate": 1.0, "hit_at_5": 1.0}}, "created_at": "2026-01-01T00:00:00"}
    return evaluate(CASES, load_settings(), thresholds=THRESHOLDS, baseline=baseline, baseline_path="base.json",
                    assistant_factory=lambda s: FakeAssistant(s.retrieval_mode), suites=["hand-made"])


def parse(path) -> tuple[str, Page]:
    text = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    return text, page


def test_report_is_self_contained_with_charts_summary_and_failures_first(results, tmp_path):
    html_path = write_report(results, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "results.json").read_text())["summary"]["n_cases"] == 4
    text, page = parse(html_path)

    # charts: embedded SVG images, each with alt text; nothing is fetched
    assert len(page.images) >= 3
    for image in page.images:
        assert image["src"].startswith("data:image/svg+xml;base64,")
        assert base64.b64decode(image["src"].split(",", 1)[1]).lstrip().startswith(b"<?xml")
        assert len(image.get("alt", "")) > 20
    assert any("latency" in i["alt"].lower() for i in page.images) and any("tag" in i["alt"] for i in page.images)
    for tag, attrs in page.tags:
        assert tag not in ("script", "link", "iframe")
        for key in ("src", "href"):
            assert not (attrs.get(key) or "").startswith(("http:", "https:", "//"))

    # summary: metric, value, baseline, threshold, pass/fail
    summary = {row[0]: row for row in page.cells("summary")[1:]}
    pass_rate = next(row for label, row in summary.items() if label.startswith("Cases passed"))
    assert pass_rate[1] == "50.0%" and pass_rate[2] == "100.0%" and "≥ 90.0%" in pass_rate[3]
    assert pass_rate[4].startswith("FAIL")
    triage = next(row for label, row in summary.items() if label.startswith("Urgent cases caught"))
    assert triage[1] == "100.0%" and triage[4] == "pass"
    assert next(row for label, row in summary.items() if label.startswith("Groundedness"))[4] == "not gated"

    # failing cases come first, open; passing cases folded in <details>
    assert [(t, p) for t, _, p in page.case_rows] == [("failing-cases", "false"), ("failing-cases", "false"),
                                                      ("passing-cases", "true"), ("passing-cases", "true")]
    failing_ids = [c for t, c, _ in page.case_rows if t == "failing-cases"]
    assert failing_ids == ["fail-<b>2</b>", "refuse-1"]
    assert text.index('id="failing-cases"') < text.index('id="passing-cases"')
    assert text.index("<details><summary>Show the 2 passing cases") < text.index('id="passing-cases"')
    assert 'id="verdict">Gate: FAIL' in text


def test_failing_case_shows_expected_and_returned(results, tmp_path):
    text, page = parse(write_report(results, tmp_path))
    row = next(r for r in page.cells("failing-cases")[1:] if "fail-<b>2</b>" in r[0])
    case_cell, expected, got, citations = row
    assert "<script>alert('x')</script> & vaccines?" in case_cell  # shown as text ...
    assert "hi <i>there</i>" in case_cell and "retrieval: no expected source in the top 5 passages" in case_cell
    assert "patient-vaccinations § Live vaccines" in expected and "6 months" in expected and "answered" in expected
    assert "Wait <b>3 months</b> [1]." in got and "patient-vaccinations" in got
    assert "x < y" in citations and "page 2" in citations
    assert "<script>" not in text and "&lt;script&gt;" in text  # ... because it was escaped
    assert "<b>3 months</b>" not in text and "hi <i>" not in text


def test_error_and_refusal_failures_are_explained(tmp_path):
    cases = [CASES[1], CASES[2]]
    results = evaluate(cases, load_settings(), thresholds=THRESHOLDS,
                       assistant_factory=lambda s: FakeAssistant("bm25"))
    text, page = parse(write_report(results, tmp_path))
    row = next(r for r in page.cells("failing-cases")[1:] if "fail-<b>2</b>" in r[0])
    assert "error: RuntimeError: index <broken>" in row[0] and "no answer" in row[2]
    assert "By cause: error: 1" in text
    assert "no baseline given" in text


def test_compare_modes_side_by_side_and_gate_on_hybrid(tmp_path):
    results = evaluate(CASES, load_settings(), modes=["dense", "bm25", "hybrid"], thresholds=THRESHOLDS,
                       assistant_factory=lambda s: FakeAssistant(s.retrieval_mode))
    assert results["gate"]["applied_to"] == "hybrid" and results["config"]["retrieval_mode"] == "hybrid"
    assert [r["retrieval_mode"] for r in results["compare"]] == ["dense", "bm25", "hybrid"]
    text, page = parse(write_report(results, tmp_path))
    table = page.cells("compare")
    assert table[0] == ["Metric", "dense", "bm25", "hybrid (gated)"]
    assert table[1] == ["Cases passed (count)", "2/4", "2/4", "2/4"]
    assert any(i["alt"].startswith("Grouped bar chart comparing retrieval modes") for i in page.images)
    assert "The gate above applied to <b>hybrid</b>" in text


def test_held_out_cases_get_their_own_row_beside_the_tuning_cases(results, tmp_path):
    assert 'id="by-split"' not in write_report(results, tmp_path / "plain").read_text(encoding="utf-8")
    cases = [dataclasses.replace(c, tags=c.tags + ("heldout",)) if c.id == "urgent-1" else c for c in CASES]
    split = evaluate(cases, load_settings(), thresholds=THRESHOLDS,
                     assistant_factory=lambda s: FakeAssistant(s.retrieval_mode), suites=["hand-made"])
    _, page = parse(write_report(split, tmp_path / "split"))
    rows = {row[0]: row[1] for row in page.cells("by-split")[1:]}
    assert rows == {"held-out": "1/1", "tuning": "1/3"}


def test_wrong_answers_come_first_by_cause_with_what_to_do(results, tmp_path):
    """A must-refuse question answered, and an answer from another document than expected, are
    counted by cause above the charts and the failing cases, with a chart of their own."""
    text, page = parse(write_report(results, tmp_path))
    causes = {row[0]: row for row in page.cells("wrong-causes")[1:]}
    assert causes["answered a question it must refuse"][1:2] == ["1"] and causes["answered a question it must refuse"][3] == "refuse-1"
    assert causes["answered from another document"][3].startswith("fail-<b>2</b>") and "questions:" in causes["answered from another document"][2]
    assert "an expected document, without the facts" not in causes
    assert text.index('id="wrong-causes"') < text.index("<h2>Charts</h2>") < text.index('id="failing-cases"')
    assert any(i["alt"].startswith("Horizontal bar chart of the confident wrong answers by cause") for i in page.images)


def test_a_red_flag_answered_as_a_question_is_its_own_cause():
    """A missed red flag counts as a wrong answer (the metric); it is not a question to refuse."""
    from eval.report import wrong_answer_causes

    def case(case_id, expected_status):
        return {"id": case_id, "expected_status": expected_status, "expected_sources": [], "answer": {"citations": []},
                "score": {"wrong_answer": True}}

    assert wrong_answer_causes([case("u-1", "urgent"), case("r-1", "refused")]) == {"refuse": ["r-1"], "urgent": ["u-1"]}


def test_the_report_says_whether_triages_message_classifier_is_older_than_the_red_flag_examples(tmp_path):
    """The content team sees, in the summary and the report, when to fit it again."""

    class Stale:
        def classifier_state(self):
            return "on (fitted 2026-12-04); 2 report example(s) of the red-flag file came after it"

    class WithTriage(FakeAssistant):
        triager = Stale()

    results = evaluate(CASES, load_settings(), thresholds=THRESHOLDS, assistant_factory=lambda s: WithTriage(s.retrieval_mode))
    assert results["config"]["triage_classifier"].endswith("came after it")
    text, _ = parse(write_report(results, tmp_path / "out"))
    assert "Triage's message classifier: on (fitted 2026-12-04); 2 report example(s)" in text
    plain = evaluate(CASES, load_settings(), thresholds=THRESHOLDS, assistant_factory=lambda s: FakeAssistant(s.retrieval_mode))
    assert "triage_classifier" not in plain["config"]
