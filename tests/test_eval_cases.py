"""The golden set itself is valid, invalid cases get clear messages, and feedback drafts."""

from __future__ import annotations

import collections
import textwrap
from pathlib import Path

import pytest
import yaml

from eval.__main__ import main
from eval.cases import CaseError, CorpusIndex, default_suites, load_suite

ROOT = Path(__file__).resolve().parent.parent


# -- the real golden set ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus() -> CorpusIndex:
    return CorpusIndex.from_corpus(ROOT / "corpus")


@pytest.fixture(scope="module")
def golden(corpus):
    suites = default_suites()
    assert {p.name for p in suites} >= {"clinician.yaml", "patient.yaml", "triage.yaml"}
    return load_suite(suites, corpus=corpus)  # raises CaseError listing every problem


def test_golden_set_is_valid_and_large_enough(golden):
    statuses = collections.Counter(c.expected_status for c in golden)
    tags = collections.Counter(t for c in golden for t in c.tags)
    assert len(golden) >= 150
    assert sum(bool(c.history) for c in golden) >= 20
    assert statuses["urgent"] >= 25
    assert statuses["refused"] >= 20
    assert tags["look-alike"] >= 15
    assert len({c.id for c in golden}) == len(golden)
    assert {c.audience for c in golden} == {"patient", "clinician"}


def test_golden_expected_sources_exist_and_none_is_rejected(golden, corpus):
    for case in golden:
        for source in case.expected_sources:
            assert source.doc in corpus.sections, case.id
            assert source.doc not in corpus.rejected, case.id
    # the corpus keeps a draft and an expired document that no case may expect
    assert {"patient-draft-visiting", "clin-old-tisacel-dlbcl"} <= set(corpus.rejected)


def test_golden_cases_are_well_formed(golden):
    for case in golden:
        assert case.question.strip(), case.id
        if case.expected_status == "answered":
            assert case.expected_sources, case.id
        if case.expected_status == "refused":
            assert not case.expected_sources and not case.expected_facts, case.id
        if case.history:
            assert case.history[0].role == "user", case.id


# -- invalid cases: clear messages ---------------------------------------------------------------
@pytest.fixture
def tiny_corpus() -> CorpusIndex:
    return CorpusIndex(sections={"patient-driving": ("Driving after CAR-T", "How long you cannot drive",
                                                     "Going home > Driving")},
                       rejected={"patient-draft-visiting": "status is draft"})


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


GOOD = """\
- id: ok-001
  audience: patient
  question: when can I drive
  expected_sources: [patient-driving, {doc: patient-driving, section: going home}]
  expected_facts: ["8 weeks", "(eight|8)"]
  expected_status: answered
  history:
    - {role: user, content: hello}
    - {role: assistant, content: hi}
  tags: [driving]
"""


def problems_of(tmp_path, tiny_corpus, *texts) -> list[str]:
    paths = [write(tmp_path, f"s{i}.yaml", t) for i, t in enumerate(texts)]
    with pytest.raises(CaseError) as caught:
        load_suite(paths, corpus=tiny_corpus)
    return caught.value.problems


def test_good_case_loads(tmp_path, tiny_corpus):
    [case] = load_suite([write(tmp_path, "good.yaml", GOOD)], corpus=tiny_corpus)
    assert case.section_level and case.history[1].role == "assistant" and case.file.endswith("good.yaml")


@pytest.mark.parametrize("change, message", [
    (("  audience: patient\n", ""), "case 'ok-001': missing field 'audience'"),
    (("audience: patient", "audience: nurse"), "case 'ok-001': audience 'nurse' is not one of patient, clinician"),
    (("expected_status: answered", "expected_status: maybe"), "expected_status 'maybe' is not one of answered, refused, urgent"),
    (("role: assistant", "role: bot"), "history turn 2: role 'bot' is not one of user, assistant"),
    (("[patient-driving,", "[patient-drivng,"), "expected source 'patient-drivng' is not a document id in the corpus"),
    (("[patient-driving,", "[patient-draft-visiting,"), "expected source 'patient-draft-visiting' is not indexed (status is draft)"),
    (("section: going home", "section: parking"), "has no section starting with 'parking'"),
    (('"(eight|8)"', '"(eight|8"'), "expected_facts entry '(eight|8' is not a valid regular expression"),
    (("tags: [driving]", "tag: [driving]"), "unknown field tag"),
    (("expected_status: answered", "expected_status: refused"), "a refused case expects no sources and no facts"),
])
def test_invalid_case_messages_name_file_case_and_problem(tmp_path, tiny_corpus, change, message):
    problems = problems_of(tmp_path, tiny_corpus, GOOD.replace(*change))
    assert len(problems) == 1, problems
    assert "s0.yaml: case 'ok-001': " in problems[0]
    assert message in problems[0]


def test_duplicate_ids_across_files(tmp_path, tiny_corpus):
    problems = problems_of(tmp_path, tiny_corpus, GOOD, GOOD)
    assert len(problems) == 1
    assert "s1.yaml: case 'ok-001': duplicate id, already used in" in problems[0] and "s0.yaml" in problems[0]


def test_every_problem_is_reported_at_once(tmp_path, tiny_corpus):
    text = GOOD + "- {id: x-2, audience: patient, expected_status: urgent}\n- just text\n"
    problems = problems_of(tmp_path, tiny_corpus, text)
    assert any("case 'x-2': missing field 'question'" in p for p in problems)
    assert any("case #3: expected 'field: value' lines" in p for p in problems)
    assert str(CaseError(problems)).startswith("2 problems in the golden cases:")


def test_broken_yaml_names_the_line(tmp_path, tiny_corpus):
    [problem] = problems_of(tmp_path, tiny_corpus, "- id: a\n  question: [unclosed\n")
    assert problem.endswith("s0.yaml: invalid YAML at line 3, column 1: expected ',' or ']', but got '<stream end>'")


def test_cli_usage_errors_are_one_line_exit_2(tmp_path, capsys):
    assert main(["run", "--suite", str(tmp_path / "missing.yaml"), "--report", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: case file not found:") and err.count("\n") == 1 and "Traceback" not in err

    bad = write(tmp_path, "bad.yaml", "- {id: b-1, audience: nurse, question: hi, expected_status: refused}\n")
    assert main(["run", "--suite", str(bad), "--report", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "audience 'nurse'" in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "r").exists()

    assert main(["run", "--compare", "dense,fancy"]) == 2
    assert "unknown retrieval mode fancy" in capsys.readouterr().err

    assert main(["run", "--baseline", str(tmp_path / "nope.json")]) == 2
    assert "baseline file not found" in capsys.readouterr().err


def test_cli_check_counts_the_golden_set(capsys):
    assert main(["check"]) == 0
    assert "valid cases" in capsys.readouterr().out


# -- drafts from feedback ---------------------------------------------------------------------------
def test_from_feedback_writes_reviewable_drafts(tmp_path, tiny_corpus, capsys):
    from assistant.feedback import FeedbackStore

    db = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(db)
    store.add(rating="helpful", question="when can I drive", answer="8 weeks [1]", audience="patient", status="answered")
    store.add(rating="not_helpful", question="can I go swimming?", answer="I can't find that.\nCall us.",
              comment="it didn't answer: my line is\n01632 960 000", audience="patient", status="refused",
              citations='[{"doc_id": "patient-going-home"}]')
    store.add(rating="not_helpful", question="CRS grade 2 management", answer="Tocilizumab [1]",
              comment="", audience="clinician", status="answered")
    out = tmp_path / "drafts" / "from-feedback.yaml"
    assert main(["from-feedback", "--db", str(db), "--out", str(out)]) == 0
    assert "2 draft cases written" in capsys.readouterr().out

    text = out.read_text(encoding="utf-8")
    drafts = yaml.safe_load(text)
    assert [d["question"] for d in drafts] == ["can I go swimming?", "CRS grade 2 management"]
    assert all(d["expected_status"] == "draft-needs-review" and d["expected_sources"] == [] for d in drafts)
    assert drafts[0]["note"].startswith("user comment: it didn't answer") and "[removed]" in drafts[0]["note"]
    assert drafts[1]["audience"] == "clinician"
    assert "# the assistant replied: refused: I can't find that." in text and "#   Call us." in text
    assert "# it cited: patient-going-home" in text

    # An unreviewed draft moved into the golden set is refused, with the reason.
    problems = problems_of(tmp_path, tiny_corpus, text)
    assert any("expected_status 'draft-needs-review' is not one of" in p for p in problems)


def test_from_feedback_missing_db_is_a_usage_error(tmp_path, capsys):
    assert main(["from-feedback", "--db", str(tmp_path / "none.sqlite3"), "--out", str(tmp_path / "o.yaml")]) == 2
    assert capsys.readouterr().err.startswith("error: feedback database not found")
