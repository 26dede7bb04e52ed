"""Each evaluation metric on small hand-made inputs with known values."""

from __future__ import annotations

import math

import pytest

from assistant.records import Answer, Chunk, Citation, Passage
from eval.cases import EvalCase, ExpectedSource
from eval.metrics import (
    answer_sentences, by_audience, by_split, by_tag, citation_precision, fact_recall, first_relevant_rank,
    groundedness, hit_at, mrr, ndcg_at, normalise, percentile, ranked_items, relevance, score_case,
    summarise,
)
from eval.runner import check_gate


def chunk(doc_id: str, section: str = "Intro", text: str = "text") -> Chunk:
    return Chunk(id=f"{doc_id}:{section}", doc_id=doc_id, title=doc_id.title(), section=section, page=None,
                 audience="patient", version="1.0", review_due="2030-01-01", source=f"corpus/{doc_id}.md",
                 start=0, end=len(text), text=text, doc_hash="h")


def cite(n: int, doc_id: str, excerpt: str = "", section: str = "Intro") -> Citation:
    return Citation(n=n, doc_id=doc_id, title=doc_id.title(), section=section, page=None, version="1.0",
                    excerpt=excerpt, source=f"corpus/{doc_id}.md")


def answer(status="answered", text="", retrieved=(), passages=(), citations=(), latency=100.0) -> Answer:
    return Answer(status=status, answer=text, citations=tuple(citations), retrieved=tuple(retrieved),
                  passages=tuple(Passage(chunk(d, s), 1.0) for d, s in passages), latency_ms=latency)


def case(status="answered", sources=("doc-a",), facts=(), tags=(), audience="patient", id="c1") -> EvalCase:
    expected = tuple(s if isinstance(s, ExpectedSource) else ExpectedSource(s) for s in sources)
    return EvalCase(id=id, audience=audience, question="q?", expected_status=status,
                    expected_sources=expected, expected_facts=tuple(facts), tags=tuple(tags))


# -- ranking ----------------------------------------------------------------------------------
def test_mrr_of_ranks_1_2_none():
    assert mrr([1, 2, None]) == pytest.approx((1 + 0.5 + 0) / 3)
    assert mrr([]) is None


def test_hit_at_k():
    assert hit_at(1, 1) and hit_at(5, 5) and not hit_at(6, 5) and not hit_at(None, 5)


def test_ndcg_known_values():
    assert ndcg_at([1, 0, 0], 1) == 1.0
    assert ndcg_at([0, 1], 1) == pytest.approx(1 / math.log2(3))
    # two relevant documents found at ranks 1 and 3: (1 + 1/log2(4)) / (1 + 1/log2(3))
    assert ndcg_at([1, 0, 1], 2) == pytest.approx((1 + 0.5) / (1 + 1 / math.log2(3)))
    assert ndcg_at([0, 0, 0, 0, 0, 1], 1) == 0.0  # beyond the top 5
    assert ndcg_at([], 0) == 0.0


def test_relevance_counts_each_expectation_once():
    expected = [ExpectedSource("a"), ExpectedSource("b")]
    assert relevance(expected, [("a", None), ("a", None), ("c", None), ("b", None)]) == [1, 0, 0, 1]


def test_doc_level_ranks_use_retrieved_ids():
    c = case(sources=("doc-b",))
    a = answer(retrieved=("doc-a", "doc-b"), passages=[("doc-b", "X"), ("doc-a", "Y")])
    assert ranked_items(c, a) == [("doc-a", None), ("doc-b", None)]
    assert first_relevant_rank(c.expected_sources, ranked_items(c, a)) == 2


def test_section_level_ranks_use_passages_and_prefix_case_insensitively():
    c = case(sources=(ExpectedSource("doc-a", "going home"),))
    a = answer(retrieved=("doc-a",), passages=[("doc-a", "Before you go"), ("doc-b", "Going home"),
                                               ("doc-a", "Going home > Driving")])
    items = ranked_items(c, a)
    assert first_relevant_rank(c.expected_sources, items) == 3
    score = score_case(c, a)
    assert score.first_rank == 3 and score.hit_at_5 and not score.hit_at_1
    assert score.reciprocal_rank == pytest.approx(1 / 3)


# -- content ----------------------------------------------------------------------------------
def test_fact_recall_is_case_insensitive_regex():
    text = "Do not drive for 8 WEEKS after the infusion. Call the 24-hour line."
    assert fact_recall(["8 weeks", r"24.hour", "999"], text) == pytest.approx(2 / 3)
    assert fact_recall(["(eight|8) weeks"], text) == 1.0
    assert fact_recall([], text) is None


def test_facts_are_found_as_a_reader_sees_the_answer():
    # Markdown emphasis and line breaks are not what the reader reads.
    text = "You must **never** donate blood. Carvykti: about **4\nweeks** [1]"
    assert fact_recall(["never donate", "about 4 weeks"], text) == 1.0
    assert fact_recall(["always donate"], text) == 0.0


def test_citation_precision():
    expected = [ExpectedSource("a"), ExpectedSource("b", "Dosing")]
    cites = [cite(1, "a"), cite(2, "b", section="dosing > adults"), cite(3, "b", section="Other"), cite(4, "c")]
    assert citation_precision(expected, cites) == 0.5
    assert citation_precision(expected, []) is None


def test_answer_sentences_drop_markers_and_bullets():
    text = "Do not drive for 8 weeks [1]. Ask your team [1, 2].\n- Keep your alert card with you [3]\n\nOk"
    assert answer_sentences(text) == ["Do not drive for 8 weeks", "Ask your team", "Keep your alert card with you"]


def test_groundedness_whitespace_case_and_emphasis_normalised():
    excerpts = ["Do not drive for at least **8 weeks**\nafter your CAR-T infusion. Plan ahead.",
                "Keep your alert card with you at all times."]
    text = ("Do not drive for at least 8 weeks after your CAR-T infusion [1]. "
            "Keep your alert card with you [2]. Driving is fun [1].")
    assert groundedness(text, excerpts) == pytest.approx(2 / 3)
    assert groundedness(text, []) == 0.0
    assert groundedness("", excerpts) is None
    assert normalise("  A  *B*\n ‘c’ ") == "a b 'c'"


def test_citation_markers_end_a_claim():
    text = "Call 999 if the person: [2] Tell the team about CAR-T. [2] Keep warm [1]"
    assert answer_sentences(text) == ["Call 999 if the person:", "Tell the team about CAR-T.", "Keep warm"]
    assert groundedness(text, ["Call 999 if the person:\n\n- has a fit\n\nTell the team about CAR-T."]) == pytest.approx(2 / 3)


def test_sentence_must_sit_inside_one_excerpt():
    assert groundedness("Alpha beta gamma delta.", ["Alpha beta", "gamma delta."]) == 0.0


def test_percentile_interpolates():
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile(list(range(101)), 95) == pytest.approx(95)
    assert percentile([7], 95) == 7
    assert percentile([], 50) is None


# -- per case and aggregates -------------------------------------------------------------------
def test_answered_case_passes_with_hit_and_all_facts():
    c = case(facts=["8 weeks"])
    a = answer(text="Wait 8 weeks [1].", retrieved=("x", "doc-a"), citations=[cite(1, "doc-a", "Wait 8 weeks.")])
    score = score_case(c, a)
    assert score.passed and score.status_ok and score.first_rank == 2 and score.groundedness == 1.0
    assert score.reasons == []


def test_failure_reasons_name_the_cause():
    c = case(facts=["8 weeks", "alert card"])
    a = answer(text="Wait 8 weeks.", retrieved=("x1", "x2", "x3", "x4", "x5", "doc-a"))
    score = score_case(c, a)
    assert not score.passed
    assert score.reasons == ["retrieval: no expected source in the top 5 documents (first at rank 6)",
                             "facts: missing 'alert card'"]
    wrong = score_case(case(status="urgent", sources=()), answer(status="answered", text="x"))
    assert wrong.reasons == ["status: got answered, expected urgent"] and not wrong.passed


def test_error_is_a_failed_case():
    score = score_case(case(facts=["x"]), None, "RuntimeError: boom")
    assert not score.passed and score.reasons == ["error: RuntimeError: boom"]
    assert score.hit_at_5 is False and score.fact_recall == 0.0


def test_refused_case_passes_on_status_alone():
    score = score_case(case(status="refused", sources=()), answer(status="refused", text="I can't answer that."))
    assert score.passed and score.hit_at_5 is None and score.groundedness is None


def test_summary_status_triage_and_latency():
    pairs = [
        (case("urgent", (), id="u1"), score_case(case("urgent", ()), answer("urgent", latency=10))),
        (case("urgent", (), id="u2"), score_case(case("urgent", ()), answer("answered", latency=20))),
        (case("refused", (), id="r1"), score_case(case("refused", ()), answer("urgent", latency=30))),
        (case("answered", id="a1"), score_case(case(), answer(retrieved=("doc-a",), latency=40))),
        (case("answered", id="a2"), score_case(case(), answer(retrieved=("x", "doc-a"), latency=50))),
    ]
    summary = summarise(pairs)
    m = summary["metrics"]
    assert summary["n_cases"] == 5 and summary["n_passed"] == 3
    assert m["status_accuracy"] == pytest.approx(3 / 5)
    assert m["triage_recall"] == 0.5
    assert m["triage_false_positive_rate"] == pytest.approx(1 / 3)
    assert m["hit_at_1"] == 0.5 and m["hit_at_5"] == 1.0 and m["mrr"] == 0.75
    assert summary["counts"]["hit_at_1"] == 2
    assert m["latency_p50_ms"] == 30 and m["latency_p95_ms"] == pytest.approx(48)
    assert m["fact_recall"] is None and m["citation_precision"] is None


def test_breakdowns_by_tag_and_audience():
    pairs = [
        (case(tags=["driving", "look-alike"], id="a"), score_case(case(), answer(retrieved=("doc-a",)))),
        (case(tags=["driving"], audience="clinician", id="b"), score_case(case(), answer(retrieved=()))),
        (case(tags=[], id="c"), score_case(case(), answer(retrieved=("doc-a",)))),
    ]
    tags = by_tag(pairs)
    assert tags["driving"]["metrics"]["pass_rate"] == 0.5 and tags["look-alike"]["n_cases"] == 1
    assert "(untagged)" in tags
    audiences = by_audience(pairs)
    assert audiences["patient"]["n_passed"] == 2 and audiences["clinician"]["n_passed"] == 0


def test_split_separates_held_out_cases_from_tuning_cases():
    pairs = [
        (case(tags=["driving", "heldout"], id="a"), score_case(case(), answer(retrieved=("doc-a",)))),
        (case(tags=["heldout"], id="b"), score_case(case(), answer(retrieved=()))),
        (case(tags=["driving"], id="c"), score_case(case(), answer(retrieved=("doc-a",)))),
    ]
    splits = by_split(pairs)
    assert set(splits) == {"held-out", "tuning"}
    assert splits["held-out"]["n_cases"] == 2 and splits["held-out"]["n_passed"] == 1
    assert splits["tuning"]["n_cases"] == 1 and splits["tuning"]["metrics"]["pass_rate"] == 1.0


# -- the gate -----------------------------------------------------------------------------------
def test_gate_min_max_and_tolerance():
    thresholds = {"hit_at_5": {"min": 0.8, "tolerance": 0.02}, "triage_recall": {"min": 1.0},
                  "triage_false_positive_rate": {"max": 0.1, "tolerance": 0.02},
                  "latency_p95_ms": {"max": 1000, "tolerance": None}, "groundedness": {"min": 0.5}}
    metrics = {"hit_at_5": 0.85, "triage_recall": 1.0, "triage_false_positive_rate": 0.05,
               "latency_p95_ms": 900, "groundedness": None}
    checks = {c["metric"]: c for c in check_gate(metrics, thresholds)}
    assert all(c["passed"] for c in checks.values())
    assert "not measured" in checks["groundedness"]["why"]

    baseline = {"hit_at_5": 0.90, "triage_false_positive_rate": 0.01}
    checks = {c["metric"]: c for c in check_gate(metrics, thresholds, baseline)}
    assert not checks["hit_at_5"]["passed"] and "dropped by 0.050" in checks["hit_at_5"]["why"]
    assert not checks["triage_false_positive_rate"]["passed"] and "rose" in checks["triage_false_positive_rate"]["why"]

    low = check_gate({**metrics, "triage_recall": 0.96}, thresholds)
    assert [c["metric"] for c in low if not c["passed"]] == ["triage_recall"]
    slow = check_gate({**metrics, "latency_p95_ms": 1500}, thresholds)
    assert [c["why"] for c in slow if not c["passed"]] == ["1500 ms is above the maximum 1000 ms"]


def test_wrong_answers_wrongful_refusals_and_999_first():
    def urgent(emergency: bool) -> Answer:
        from assistant.records import Triage

        return Answer(status="urgent", answer="Call 24-hour", triage=Triage(True, emergency=emergency))

    fits = EvalCase(id="e1", audience="patient", question="q", expected_status="urgent", expected_emergency=True)
    pairs = [
        # answered with 1 of 3 facts: wrong; with 2 of 3: not wrong (but not passed)
        (case(facts=("a", "b", "c"), id="w1"), score_case(case(facts=("a", "b", "c")), answer(text="a", retrieved=("doc-a",)))),
        (case(facts=("a", "b", "c"), id="w2"), score_case(case(facts=("a", "b", "c")), answer(text="a b", retrieved=("doc-a",)))),
        # a must-refuse case answered: wrong
        (case("refused", (), id="w3"), score_case(case("refused", ()), answer(text="here you go"))),
        # an answerable case refused: a wrongful refusal, not a wrong answer
        (case(facts=("a",), id="w4"), score_case(case(facts=("a",)), answer(status="refused", text="no"))),
        (fits, score_case(fits, urgent(True))),
        (fits, score_case(fits, urgent(False))),
    ]
    m = summarise(pairs)["metrics"]
    assert [s.wrong_answer for _, s in pairs] == [True, False, True, False, False, False]
    assert m["wrong_answer_rate"] == pytest.approx(2 / 6)
    assert m["wrongful_refusal_rate"] == pytest.approx(1 / 3)
    assert m["emergency_recall"] == 0.5
    assert "999 situation not marked" in " ".join(pairs[5][1].reasons)
    assert m["emergency_overcall_rate"] is None  # no case here says it is for the 24-hour line

    line = EvalCase(id="l1", audience="patient", question="q", expected_status="urgent", expected_emergency=False)
    unsaid = EvalCase(id="l2", audience="patient", question="q", expected_status="urgent")
    scored = [(line, score_case(line, urgent(True))), (line, score_case(line, urgent(False))),
              (line, score_case(line, urgent(False))), (unsaid, score_case(unsaid, urgent(True)))]
    told = summarise(scored)
    assert told["metrics"]["emergency_overcall_rate"] == pytest.approx(1 / 3)  # only cases that say "not 999"
    assert told["counts"]["emergency_overcall_rate"] == 3 and told["n_passed"] == 4  # still urgent: passed


def test_wrong_answers_shown_with_the_note_are_counted_apart():
    from dataclasses import replace

    wrong = case(facts=("a", "b", "c"))
    pairs = [(wrong, score_case(wrong, replace(answer(text="a"), sure=False))),  # wrong, with the note
             (wrong, score_case(wrong, answer(text="a"))),  # wrong, without it
             (wrong, score_case(wrong, replace(answer(text="a b c"), sure=False))),  # right, with the note
             (wrong, score_case(wrong, answer(status="refused", text="no")))]  # no answer: no note either way
    m = summarise(pairs)["metrics"]
    assert [s.unsure for _, s in pairs] == [True, False, True, None]
    assert m["wrong_answer_rate"] == pytest.approx(2 / 4)
    assert m["wrong_unflagged_rate"] == pytest.approx(1 / 4)
    assert m["unsure_answer_rate"] == pytest.approx(2 / 3)


def test_a_look_alike_passes_with_any_reply_but_the_urgent_advice():
    look_alike = case("not-urgent", ())
    assert score_case(look_alike, answer(status="refused", text="no")).passed
    assert score_case(look_alike, answer(text="an answer")).passed
    assert not score_case(look_alike, answer(status="urgent", text="Call")).passed


def test_splits_name_tuning_dev_held_out_and_sealed():
    from eval.metrics import split_of

    assert [split_of(case(tags=t)) for t in ((), ("dev",), ("heldout",), ("sealed", "dev"))] == \
        ["tuning", "dev", "held-out", "sealed"]
