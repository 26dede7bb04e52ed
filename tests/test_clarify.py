"""Asking which of two close sections the reader means: when the chain asks, how the reply is
read back, how the web page offers the sections, and how the evaluation scores it (no model)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from assistant import presenting as P
from assistant.chain import CLARIFY_BELOW, CLARIFY_INTRO, CLARIFY_MARGIN, _close_sections, _Pick
from assistant.feedback import FeedbackStore
from assistant.records import Answer, Turn
from assistant.webapp import AssistantHolder, Conversation
from eval.cases import EvalCase, ExpectedSource
from eval.metrics import summarise
from eval.runner import run_cases


def section(doc: str, heading: str, text: str):
    return SimpleNamespace(key=(doc, heading), units=[SimpleNamespace(text=t) for t in text.split(". ")])


def pick(probability: float, *ranked) -> _Pick:
    return _Pick([], None, False, [SimpleNamespace(section=s, probability=p) for s, p in ranked], probability,
                 np.zeros(3))


DRIVING = section("driving", "How long", "Do not drive for 8 weeks. Your team will tell you when")
FERTILITY = section("fertility", "Fertility", "The chemo can affect fertility. Ask about storing eggs or sperm")
FERTILITY_COPY = section("young", "Fertility", "The chemo can affect fertility. Ask about storing eggs or sperm first")


def test_the_reader_is_asked_only_when_the_model_is_unsure_and_the_next_section_is_close():
    unsure = CLARIFY_BELOW - 0.1
    close = pick(unsure, (DRIVING, 0.40), (FERTILITY, 0.40 - CLARIFY_MARGIN / 2))
    assert [s.key for s in _close_sections(close)] == [DRIVING.key, FERTILITY.key]
    assert _close_sections(pick(CLARIFY_BELOW, (DRIVING, 0.40), (FERTILITY, 0.39))) == []  # sure enough
    assert _close_sections(pick(unsure, (DRIVING, 0.40), (FERTILITY, 0.40 - 2 * CLARIFY_MARGIN))) == []  # not close
    assert _close_sections(pick(unsure, (DRIVING, 0.40))) == []  # nothing else to offer


def test_only_a_number_an_ordinal_or_an_options_words_pick_an_option():
    from assistant.chain import _CHOICE

    for reply, n in (("2", "2"), ("2.", "2"), ("the first one", "first"), ("Second please", "second"),
                     ("option 1", "1"), ("number two", "two")):
        assert _CHOICE.match(reply).group("n").lower() == n, reply
    for reply in ("no one", "neither", "2 weeks after?", "the first week", "one more question"):
        assert _CHOICE.match(reply) is None, reply


def test_two_sections_that_say_the_same_are_not_offered_as_a_choice():
    assert _close_sections(pick(0.3, (FERTILITY, 0.40), (FERTILITY_COPY, 0.39))) == []
    assert len(_close_sections(pick(0.3, (FERTILITY, 0.40), (DRIVING, 0.39)))) == 2


# -- the evaluation's reader ----------------------------------------------------------------
OPTIONS = [{"doc_id": "fertility", "section": "Fertility", "label": "Fertility (Chemotherapy)"},
           {"doc_id": "young", "section": "Fertility", "label": "Fertility (Young people)"}]
QUESTION_BACK = Answer("clarify", f"{CLARIFY_INTRO}\n\n1. Fertility (Chemotherapy)\n2. Fertility (Young people)",
                       decision={"clarify": OPTIONS})


class Reader:
    """Asks back on the first question; answers "1" and "2" from the offered section's document."""

    def __init__(self):
        self.calls = []

    def ask(self, question, *, audience, history=()):
        self.calls.append((question, list(history)))
        if question in ("1", "2"):
            doc = OPTIONS[int(question) - 1]["doc_id"]
            return Answer("answered", f"From {doc}: you can store eggs first.", retrieved=(doc,))
        return QUESTION_BACK


def case(id: str, status: str, sources=(), facts=()) -> EvalCase:
    return EvalCase(id=id, audience="patient", question="will car t stop me having kids", expected_status=status,
                    expected_sources=tuple(ExpectedSource(s) for s in sources), expected_facts=facts)


def test_the_evaluation_replies_with_the_section_that_holds_an_expected_source_and_scores_that_answer():
    reader = Reader()
    result, = run_cases([case("by-source", "answered", ["young"], ["store eggs"])], reader)
    assert reader.calls[1] == ("2", [Turn("user", "will car t stop me having kids"),
                                     Turn("assistant", QUESTION_BACK.answer)])
    assert result.score.asked_back and result.score.passed and result.answer.retrieved == ("young",)
    assert result.asked_back is QUESTION_BACK and result.to_json()["asked_back"]["status"] == "clarify"


def test_without_an_expected_source_offered_the_reader_takes_the_section_whose_answer_holds_the_facts():
    reader = Reader()
    result, = run_cases([case("by-facts", "answered", ["elsewhere"], ["from young"])], reader)
    assert [q for q, _ in reader.calls] == ["will car t stop me having kids", "1", "2"]
    assert result.answer.retrieved == ("young",) and result.score.asked_back


def test_a_question_back_with_nothing_to_pick_fails_without_counting_as_a_wrong_answer():
    results = run_cases([case("refuse", "refused"), case("nothing", "answered", ["elsewhere"], ["not there"])],
                        Reader())
    for result in results:
        assert result.answer.status == "clarify" and result.score.asked_back
        assert not result.score.passed and not result.score.wrong_answer
        assert result.score.reasons[0].startswith("asked back")
    summary = summarise([(r.case, r.score) for r in results])["metrics"]
    assert summary["asked_back_rate"] == 1.0 and summary["wrong_answer_rate"] == 0.0


# -- the web page ---------------------------------------------------------------------------
def test_the_page_offers_each_section_as_a_button_and_keeps_the_question_back_in_the_conversation(tmp_path):
    fake = Reader()
    convo = Conversation(AssistantHolder(lambda: fake), FeedbackStore(tmp_path / "fb.sqlite3"))
    messages, exchanges, exchange = convo.ask("will car t stop me having kids", "patient", [], {})
    assert exchange["status"] == "clarify"
    assert messages[-1]["options"] == [{"label": o["label"], "value": o["label"]} for o in OPTIONS]
    assert "1. Fertility (Chemotherapy)" in messages[-1]["content"]
    messages, exchanges, _ = convo.ask("Fertility (Young people)", "patient", messages, exchanges)
    assert fake.calls[-1][1] == [Turn("user", "will car t stop me having kids"), Turn("assistant", QUESTION_BACK.answer)]
    assert "options" not in messages[1]  # the buttons go once they are answered
    assert P.history_turns(exchanges[k] for k in sorted(exchanges))[-1].content.startswith(CLARIFY_INTRO)
