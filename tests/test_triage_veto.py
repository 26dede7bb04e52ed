"""Triage's message classifier (assistant/triage_veto.py): what it may set aside and what it
may not, its file, and how `python -m eval triage-veto` chooses its threshold."""

from __future__ import annotations

import csv
import json
from dataclasses import replace

import numpy as np
import pytest

from assistant.errors import UsageError
from assistant.triage import RedFlags, Triager
from assistant.triage_veto import DEFAULT_VETO, POOLED_MARGIN, Veto, log_odds
from eval.triage_veto import DATA_FILE, Point, Row, choose, cross_validate, folds, splits

RED_FLAGS = RedFlags.load()
# Questions written for this test whose second sentence alone reads close to a report: the
# meaning net flags them, the whole message is a question about something else.
SIDE_SENTENCE_QUESTIONS = [
    "What should we pack for the hotel stay near the hospital? My wife gets cold easily at night",
    "Is there a leaflet in Polish? My mother reads English slowly",
]
SET_ASIDE = "set aside by the message classifier"  # how a flag it sets aside begins its reason


@pytest.fixture(scope="module")
def veto():
    return Veto.load()


# -- the file ---------------------------------------------------------------------------
def test_the_committed_classifier_loads_and_says_how_it_was_chosen(veto):
    assert 0 < veto.threshold < 0.5 and len(veto.weights) == len(veto.mean) == len(veto.scale)
    checked = veto.info["cross_validated"]
    assert checked["urgent_missed"] <= checked["urgent_missed_without"]  # the choice rule held
    assert veto.fitted_reports and veto.info["command"] == "python -m eval triage-veto"


def test_the_classifier_round_trips_through_its_json(veto, tmp_path):
    path = tmp_path / "veto.json"
    path.write_text(json.dumps(veto.to_json()), encoding="utf-8")
    again = Veto.load(path)
    x = np.random.default_rng(0).normal(size=(3, len(veto.weights))).astype(np.float32)
    assert np.allclose(again.probability(x), veto.probability(x), atol=1e-4)
    assert again.threshold == veto.threshold and again.fitted_reports == veto.fitted_reports
    assert again.words_threshold == veto.words_threshold
    # the spread is rounded outwards, never narrower than measured
    low, high = veto.pooled_spread
    assert again.pooled_spread[0] <= low <= again.pooled_spread[0] + 1e-4
    assert again.pooled_spread[1] - 1e-4 <= high <= again.pooled_spread[1]


@pytest.mark.parametrize("content, says", [
    (None, "is missing"),
    ("{not json", "not valid JSON"),
    (json.dumps({"features": "something-else"}), "other features"),
    (json.dumps({"features": "layer-means-v1", "weights": [1.0]}), "lacks or garbles"),
    (json.dumps({"features": "layer-means-v1", "weights": [1.0], "mean": [0.0], "scale": [1.0], "intercept": 0,
                 "threshold": 0.7, "model": "m", "fitted_reports": []}), "under 0.5"),
    (json.dumps({"features": "layer-means-v1", "weights": [1.0], "mean": [0.0], "scale": [1.0], "intercept": 0,
                 "threshold": 0.05, "words_threshold": "low", "model": "m", "fitted_reports": []}), "lacks or garbles"),
    (json.dumps({"features": "layer-means-v1", "weights": [1.0], "mean": [0.0], "scale": [1.0], "intercept": 0,
                 "threshold": 0.05, "words_threshold": -0.1, "model": "m", "fitted_reports": []}), "words_threshold"),
    (json.dumps({"features": "layer-means-v1", "weights": [1.0], "mean": [0.0], "scale": [1.0], "intercept": 0,
                 "threshold": 0.05, "pooled_spread": [3.0, -1.0], "model": "m", "fitted_reports": []}), "the least first"),
    (json.dumps({"features": "layer-means-v1", "weights": [1.0], "mean": [0.0], "scale": [1.0], "intercept": 0,
                 "threshold": 0.05, "pooled_spread": "wide", "model": "m", "fitted_reports": []}), "lacks or garbles"),
])
def test_a_damaged_classifier_file_is_a_clear_error_that_says_how_to_mend_it(tmp_path, content, says):
    path = tmp_path / "veto.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=says) as raised:
        Veto.load(path)
    assert "python -m eval triage-veto" in str(raised.value)


# -- a long message's pooled layers ---------------------------------------------------------
def test_a_pooled_reading_settles_a_threshold_only_where_the_spread_and_margin_allow(veto):
    """Own log-odds lie within [pooled + low, pooled + high] on what it was fitted on; widened by
    the margin, a pooled reading settles "under the limit?" only when that whole band is on one side."""
    sure = replace(veto, pooled_spread=(-1.0, 3.0))

    def prob(z):
        return float(1 / (1 + np.exp(-z)))

    line = float(log_odds(0.05))
    assert sure.pooled_side(prob(line + 1.0 + POOLED_MARGIN + 0.01), 0.05) is False  # kept without an encode
    assert sure.pooled_side(prob(line + 1.0 + POOLED_MARGIN - 0.01), 0.05) is None  # too near: encode it
    assert sure.pooled_side(prob(line - 3.0 - POOLED_MARGIN - 0.01), 0.05) is True
    assert sure.pooled_side(prob(line - 3.0 - POOLED_MARGIN + 0.01), 0.05) is None
    assert replace(veto, pooled_spread=None).pooled_side(0.999, 0.05) is None  # unmeasured: always encode


@pytest.mark.slow
def test_the_committed_spread_holds_for_the_long_messages_it_was_fitted_on(embedder, veto):
    """What the chain pools for a long message, read by the classifier, stays within the file's
    spread of what the message's own layers give (a sample of the fitted rows): so a change to
    the pooling, the encoder or the coefficients without `python -m eval triage-veto` fails here."""
    from assistant.embedding import read_message, whole_encoded
    from assistant.triage import meaning_texts

    with open(DATA_FILE, encoding="utf-8") as handle:
        texts = [r["text"] for r in csv.DictReader(handle)]
    long = [t for t in texts if not whole_encoded(embedder, meaning_texts(t))][::25]
    assert len(long) > 50
    pooled = np.vstack([read_message(embedder, meaning_texts(t), layers=True)[1] for t in long])
    served = Triager(RED_FLAGS, embedder, veto)
    own = np.array([served.veto_probability(t) for t in long])
    gap = log_odds(own) - log_odds(veto.probability(pooled))
    low, high = veto.pooled_spread
    assert low - 1e-3 <= gap.min() and gap.max() <= high + 1e-3, (gap.min(), gap.max())


# -- the choice of threshold ----------------------------------------------------------------
def test_the_choice_never_trades_a_missed_report_for_fewer_false_alarms():
    points = [Point(0.1, 0.01, missed=3, false_alarms=120, set_aside=5),
              Point(0.1, 0.05, missed=4, false_alarms=100, set_aside=25),
              Point(0.01, 0.02, missed=3, false_alarms=118, set_aside=7)]
    assert choose(points, missed_without=3) == points[2]
    assert choose(points[1:2], missed_without=3).threshold == 0.05  # none safe: the least missing


def test_cross_validation_sets_aside_only_the_flags_it_may(tmp_path):
    """Two case files, a feature that tells reports from the rest: flags set aside are only
    false alarms the meaning net alone raised, and with a words threshold those raised on
    symptom words too; a flag it may not touch stays."""
    rng = np.random.default_rng(1)
    rows = [Row("red-flags reports", 1, f"r{i}") for i in range(20)] + \
           [Row("red-flags questions", 0, f"q{i}") for i in range(20)] + \
           [Row(f"file{k}", label, f"c{k}{i}", f"c{k}{i}") for k in (0, 1) for i, label in enumerate([1] * 10 + [0] * 10)]
    y = np.array([r.label for r in rows], dtype=float)
    x = np.c_[y * 4 - 2 + rng.normal(scale=0.3, size=len(rows)), rng.normal(size=(len(rows), 3))]
    fold = folds(rows)
    assert set(fold[:40]) == {-1} and set(fold[40:]) == {0, 1}
    assert len(splits(rows, 3)) == 3 and all((s[:40] == -1).all() for s in splits(rows, 3))
    caught = fold >= 0  # every case flagged as served...
    vetoable = caught & (np.arange(len(rows)) % 2 == 0)  # ...half of them by the meaning net alone
    by_words = caught & (np.arange(len(rows)) % 4 == 1)  # ...a quarter with a rules hit on words
    never, words = cross_validate(x, rows, [fold, folds(rows, seed=3)], caught, vetoable, by_words, grid=(1.0,),
                                  thresholds=(0.1,), words_thresholds=(None, 0.1))
    assert (never.words_threshold, words.words_threshold) == (None, 0.1)
    assert never.missed == words.missed == 0  # no report set aside
    for point, may in ((never, vetoable), (words, vetoable | by_words)):
        false_alarms_it_may_clear = int((may & (y == 0)).sum())
        assert point.set_aside == false_alarms_it_may_clear and point.false_alarms == 20 - false_alarms_it_may_clear
    assert words.false_alarms < never.false_alarms


def test_the_data_it_was_fitted_on_is_committed_and_holds_no_sealed_or_held_out_case(veto):
    with open(DATA_FILE, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == veto.info["fitted_on"]["rows"]
    sources = {r["source"] for r in rows if r["case_id"]}
    assert sources == set(veto.info["fitted_on"]["case_files"])
    assert not any("sealed" in s or "heldout" in s for s in sources)


# -- in triage ------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("message", SIDE_SENTENCE_QUESTIONS)
def test_it_sets_aside_a_meaning_flag_on_a_side_sentence_of_a_question(embedder, veto, message):
    without = Triager(RED_FLAGS, embedder).assess(message)
    served = Triager(RED_FLAGS, embedder, veto).assess(message)
    assert without.urgent and without.reason.startswith("meaning:")
    assert not served.urgent and served.reason.startswith(SET_ASIDE)
    assert "meaning: close to" in served.reason  # what was set aside stays in the log


@pytest.mark.slow
@pytest.mark.parametrize("message", [
    "how long does the drip take on the day? she's anxious",
    "when do the cells get made? my wife is desperate to start",
])
def test_a_999_the_meaning_net_alone_only_just_reads_may_be_set_aside(embedder, veto, message):
    """A side sentence of a question read as a fit by meaning alone, less close than the file's
    emergency_set_aside_below (file 1.11), is set aside as any flag of that net; with the field
    at 0 (not given) the same message is told to call 999."""
    import dataclasses

    strict = Triager(dataclasses.replace(RED_FLAGS, emergency_set_aside_below=0.0), embedder, veto).assess(message)
    assert strict.urgent and strict.emergency and strict.reason.startswith("meaning:")
    served = Triager(RED_FLAGS, embedder, veto).assess(message)
    assert not served.urgent and served.reason.startswith(SET_ASIDE)


@pytest.mark.slow
def test_a_classifier_sure_of_everything_still_leaves_readings_and_999(embedder, veto, monkeypatch):
    """It may set aside a flag of the meaning net alone and, where it has a words threshold, one
    the rules raised on a symptom's words; never a reading, never what a question says it would
    tell, never a rule's 999 situation."""
    for words in (None, 0.01):
        triager = Triager(RED_FLAGS, embedder, replace(veto, words_threshold=words))
        monkeypatch.setattr(triager, "veto_probability", lambda message, layers=None: 0.0)
        worded = triager.assess("I'm freezing cold and can't stop shivering")  # a rules flag on words
        assert worded.urgent == (words is None), words
        assert worded.urgent or "symptom words had flagged it" in worded.reason
        for message in ("my temperature is 38.4 tonight", "my pulse is 130 and I'm just sat here"):
            assert triager.assess(message).urgent, message  # a reading
        # ...nor what a question says it would tell: the classifier reads such questions as asking
        assert triager.assess("Do I need to tell the ward that he's been shivering since lunch?").urgent
        for message in ("he collapsed in the bathroom", "I can't wake my husband up", "she's gasping and can't breathe"):
            verdict = triager.assess(message)
            assert verdict.urgent and verdict.emergency, message
        assert not triager.assess(SIDE_SENTENCE_QUESTIONS[0]).urgent  # ...while it does set aside


@pytest.mark.slow
def test_a_report_example_a_clinician_adds_takes_effect_over_the_classifier(embedder, veto):
    """Near a report example the classifier was not fitted on, it may not set a flag aside: an
    example added to the file changes behaviour at once, without code or a refit."""
    message = SIDE_SENTENCE_QUESTIONS[1]
    served = Triager(RED_FLAGS, embedder, veto)
    assert not served.assess(message).urgent and served.classifier_state().startswith("on (fitted")
    assert "came after" not in served.classifier_state()
    wider = RED_FLAGS.with_examples("reading-writing", reports=["my mother reads slowly now and the words won't make sense"])
    triager = Triager(wider, embedder, veto)
    verdict = triager.assess(message)
    assert verdict.urgent and verdict.reason.startswith("meaning:") and "reading-writing" in verdict.reason
    # ...and the evaluation summary says the classifier is older than the file's examples
    assert "1 report example(s) of the red-flag file came after it" in triager.classifier_state()


@pytest.mark.slow
def test_a_classifier_fitted_on_another_encoder_is_left_out(embedder, veto):
    other = Veto(veto.weights, veto.bias, veto.mean, veto.scale, veto.threshold, "another-model", veto.fitted_reports)
    assert Triager(RED_FLAGS, embedder, other).veto is None
    assert Triager(RED_FLAGS, embedder, veto).veto is veto


@pytest.mark.slow
def test_no_urgent_message_of_the_data_caught_without_it_is_set_aside(embedder, veto):
    """Every urgent case it was fitted on that the nets catch, it leaves caught. One pass: a flag
    the classifier sets aside is the nets' flag (its reason says so), so a second triager without
    it would only repeat the nets (checked on a message it sets aside in the test above)."""
    with open(DATA_FILE, encoding="utf-8") as handle:
        urgent = [r["text"] for r in csv.DictReader(handle) if r["case_id"] and r["label"] == "1"]
    served = Triager(RED_FLAGS, embedder, veto)
    set_aside = [m for m in urgent if served.assess(m).reason.startswith(SET_ASIDE)]
    assert not set_aside, set_aside[:5]


@pytest.mark.slow
def test_the_chain_passes_the_messages_own_layers_and_the_classifier_reads_them_without_a_second_pass(
        assistant, monkeypatch):
    """The chain's one pass gives the whole message's layers (a one-sentence or short message's
    own, as `layer_means` gives them): the classifier reads those and encodes nothing more, with
    the same verdict. A text that is not the message read (a clinician's rewritten one, a long
    message's pooled row) is encoded as before."""
    message = SIDE_SENTENCE_QUESTIONS[1]
    triager = assistant.triager
    alone = triager.veto_probability(message)
    calls = []
    real = assistant.embedder.layer_means
    monkeypatch.setattr(assistant.embedder, "layer_means", lambda texts: calls.append(texts) or real(texts))
    row = real([message])[0]
    assert triager.veto_probability(message, (message, row)) == pytest.approx(alone, abs=1e-6)
    assert not calls
    assert triager.veto_probability(message, ("another text", row)) == pytest.approx(alone, abs=1e-6)
    assert calls == [[message]]
    calls.clear()
    answer = assistant.ask(message)
    assert answer.triage is not None and answer.triage.reason.startswith(SET_ASIDE) and not calls


@pytest.mark.slow
def test_a_long_message_is_encoded_again_only_where_its_pooled_layers_leave_the_verdict_open(assistant, monkeypatch):
    """A long report flagged on its words, which its pooled layers already show the classifier
    keeps, costs no second encode; a long question the meaning net flagged, whose pooled layers
    cannot show it under the threshold, is encoded and set aside as before."""
    report = ("Since lunchtime my wife has been muddled, she called me by her brother's name twice and could not "
              "tell me what day it is. She had her cells put back eleven days ago and she keeps nodding off in her chair.")
    question = ("What should we pack for the hotel stay near the hospital for the weeks after the infusion? "
                "My wife gets cold easily at night.")
    calls = []
    real = assistant.embedder.layer_means
    monkeypatch.setattr(assistant.embedder, "layer_means", lambda texts: calls.append(texts) or real(texts))
    answer = assistant.ask(report)
    assert answer.triage.urgent and "rules:" in answer.triage.reason and not calls
    # ...where without the chain's layers the classifier would have had to read it again
    assert assistant.triager.assess(report).reason == answer.triage.reason and len(calls) == 1
    calls.clear()
    answer = assistant.ask(question)
    assert not answer.triage.urgent and answer.triage.reason.startswith(SET_ASIDE)
    assert len(calls) == 1
