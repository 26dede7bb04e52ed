"""Red-flag triage: the reviewed data file, both nets, and wordings written for this test
(the golden and blind case sets have their own)."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest
import yaml

import assistant.triage as triage_module
from assistant.errors import UsageError
from assistant.triage import DEFAULT_RED_FLAGS, RedFlags, Triager, sentences
from assistant.triage_veto import Veto

RED_FLAGS = RedFlags.load()
RULES = Triager(RED_FLAGS)  # the rules net alone: no model


def rules_without(*cues: str) -> Triager:
    """The rules net over the red-flag file without these cues: what a cue does is the file's."""
    data = yaml.safe_load(DEFAULT_RED_FLAGS.read_text())
    for name in cues:
        del data["cues"][name]
    return Triager(RedFlags.from_data(data))

URGENT = [
    "I've had a temperature of 37.6 since lunchtime",
    "temp 38.4 and i feel awful",
    "my thermometer says 101 F",
    "I'm freezing cold and can't stop shivering",
    "my partner keeps getting confused about what day it is",
    "mum is muddled and keeps forgetting words, started tonight",
    "he's really drowsy and hard to wake",
    "I feel breathless walking to the kitchen",
    "my heart is racing and I feel faint",
    "i've got bruises i can't explain and my gums are bleeding",
    "my dad's handwriting has gone all shaky since yesterday",
    "she is slurring her words",
    "I keep seeing things that aren't there",
    "dad keeps telling us the same story over and over",
    "she doesn't know what year it is",
    "he's seeing people in the room who are not there",
    "my husband is grabbing at things in the air",
    "my son is much sleepier than usual and keeps nodding off",
    "is 38.1 too high? had my cells on friday",
    "dad can't keep his hands still at dinner tonight",
    "her arm keeps wobbling when she reaches for things",
    # a report that ends with a question is a report (issue 13)
    "is it normal for my hands to feel wobbly after the infusion, or is that a warning sign?",
    "my temp is 38.2, should I be worried?",
]
EMERGENCY = ["my wife is having a fit", "he collapsed in the bathroom", "I can't wake my husband up",
             "she's gasping and can't breathe", "found him lying on the floor and he won't answer",
             "she fell down in the kitchen and is not moving"]
INFORMATIONAL = [
    "how is confusion assessed after car t?",
    "what does the ICE score measure",
    "why do I need to check my temperature twice a day?",
    "what temperature counts as a fever for CRS?",
    "is shivering a sign of CRS?",
    "what should I do if I get a fever at home",
    "how are seizures treated in ICANS",
    "what is tremor a sign of after cilta-cel",
    "my temperature is 36.9, is that normal?",
    "what do they mean by confusion in the leaflet?",
    "if i feel shivery but my temperature is fine, should i call?",
    "is fainting one of the warning signs i should call about?",
    "whats the difference between a temperature and a fever after car-t",
    "do doctors use steroids for the confusion kind of side effect?",
    "if your temperature goes up and then settles, do you still need to call?",
    "is 37.5 the temperature you ring at?",
]




@pytest.fixture(scope="module")
def triager(embedder):
    """As served: both nets and the message classifier (tests/test_triage_veto.py)."""
    return Triager(RED_FLAGS, embedder, Veto.load())


@pytest.mark.slow
@pytest.mark.parametrize("message", URGENT + EMERGENCY)
def test_red_flags_are_urgent(triager, message):
    assert triager.assess(message).urgent, message


@pytest.mark.slow
@pytest.mark.parametrize("message", EMERGENCY)
def test_fit_collapse_or_cannot_wake_needs_999(triager, message):
    assert triager.assess(message).emergency


@pytest.mark.slow
@pytest.mark.parametrize("message", URGENT)
def test_other_red_flags_are_not_999_first(triager, message):
    assert not triager.assess(message).emergency, message


@pytest.mark.slow
@pytest.mark.parametrize("message", INFORMATIONAL)
def test_questions_about_symptoms_are_not_flagged(triager, message):
    assert not triager.assess(message).urgent, message


@pytest.mark.slow
@pytest.mark.parametrize("symptom", [s.id for s in RED_FLAGS.symptoms])
def test_each_symptom_catches_its_reports_and_not_its_questions(triager, symptom):
    """Every example in the signed-off file behaves as the file says."""
    entry = next(s for s in RED_FLAGS.symptoms if s.id == symptom)
    missed = [r for r in entry.reports if not triager.assess(r).urgent]
    flagged = [q for q in entry.questions if triager.assess(q).urgent]
    assert not missed and not flagged, (missed, flagged)
    if entry.emergency:
        assert all(triager.assess(r).emergency for r in entry.reports)


@pytest.mark.slow
def test_a_new_example_in_the_file_changes_behaviour_without_code(embedder):
    message = "grandad keeps picking at invisible threads on his jumper"
    assert not Triager(RED_FLAGS, embedder).assess(message).urgent
    wider = RED_FLAGS.with_examples("confusion", reports=["grandad keeps picking at threads that are not there on his jumper"])
    verdict = Triager(wider, embedder).assess(message)
    assert verdict.urgent and "meaning" in verdict.reason and "confusion" in verdict.reason


@pytest.mark.slow
def test_a_statement_close_to_reports_is_a_report_unless_the_classifier_is_sure_it_asks(embedder, monkeypatch):
    """The classifier's doubt (p between question_probability and report_probability) does not
    overrule a statement about now that is close to a symptom's reports; it does a question's."""

    import numpy as np

    def judged_as(triager, closeness: float, p: float):
        def judge(vectors):
            n = len(vectors)
            close = np.zeros((n, len(triager._symptoms)), dtype=np.float32)
            close[:, [s.id for s in triager._symptoms].index("unwell")] = closeness
            return close, np.zeros_like(close, dtype=int), np.full(n, p)
        monkeypatch.setattr(triager, "_judge", judge)
        return triager

    statement, question = "things are a bit strange for me today", "what does a strange day mean?"
    on = judged_as(Triager(RED_FLAGS, embedder), 0.6, 0.3)
    assert on.assess(statement).urgent and not on.assess(question).urgent
    assert not judged_as(Triager(RED_FLAGS, embedder), 0.6, 0.1).assess(statement).urgent  # sure it asks
    assert not judged_as(Triager(RED_FLAGS, embedder), RED_FLAGS.statement_similarity - 0.05, 0.3).assess(statement).urgent
    off = judged_as(Triager(replace(RED_FLAGS, statement_similarity=1.0), embedder), 0.6, 0.3)
    assert not off.assess(statement).urgent


@pytest.mark.slow
def test_reason_says_which_net_fired_and_on_what(triager):
    rules = triager.assess("I'm shivering and can't get warm")
    assert rules.reason.startswith("rules: 'shivering'")
    meaning = triager.assess("my dad can barely lift his eyelids this evening")
    assert meaning.urgent and "meaning: close to" in meaning.reason


def test_rules_net_alone_reads_temperatures_and_symptom_words():
    assert RULES.assess("my temperature is 38,4 tonight").urgent
    assert RULES.assess("thermometer says 101 F").symptoms[0].startswith("temperature 38.3")
    assert not RULES.assess("my temperature is 36.9, is that normal?").urgent
    assert not RULES.assess("is 37.5 the temperature you ring at?").urgent
    # the threshold offered as one of two numbers, or a document's number: no one's reading
    assert not RULES.assess("I'm home on Friday. Which is it I ring at, 38 or 37.5?").urgent
    assert not RULES.assess("Our ward protocol says 38 for post-chemo patients.", audience="clinician").urgent
    assert RULES.assess("I'm home on Friday. My temp is 38 or 38.1, is that too high?").urgent
    assert not RULES.assess("what should I do if I get a fever?").urgent
    assert RULES.assess("he collapsed in the kitchen").emergency


def test_a_reading_in_words_is_read_in_celsius_or_fahrenheit():
    assert RULES.assess("temp is thirty eight point two").symptoms[0].startswith("temperature 38.2")
    assert RULES.assess("Temp was ninety nine point eight on the ear thermometer.").symptoms[0].startswith("temperature 37.7")
    assert RULES.assess("his temperature is a hundred and one").symptoms[0].startswith("temperature 38.3")
    assert not RULES.assess("her temp is ninety eight point six, all normal, when is clinic?").urgent
    assert not RULES.assess("we walked a hundred yards to the car park").urgent


def test_an_if_condition_is_supposed_whatever_and_joins_inside_it():
    """A condition runs from its "if" to the comma or "then" that ends it: a reading or a symptom
    word joined into it by "and" is supposed too. What follows the condition, and an "if" that
    asks whether something is so, are read."""
    assert not RULES.assess("If it's the middle of the night and the thermometer says 37.6, "
                            "is it alright to wait until the morning?").urgent
    assert not RULES.assess("if it's late at night and she's shivering, do we still ring?").urgent
    assert RULES.assess("If it helps, her temp is 38.5 now").urgent
    assert RULES.assess("not sure if it matters but the thermometer says 38.3").urgent
    assert RULES.assess("If it's the middle of the night and the thermometer says 37.6, is it alright to wait? "
                        "Because it says 37.9 right now.").urgent


def test_rules_net_reads_a_fast_heart_rate_as_it_reads_a_temperature():
    fast = RULES.assess("hubby's fitbit has said 128 all evening and he is lying on the sofa")
    assert fast.urgent and "reading 128 beats a minute" in fast.reason
    assert RULES.assess("his pulse is 104 tonight, is that too fast?").urgent  # asked, but of someone, now
    assert not RULES.assess("is a pulse of 120 dangerous after car-t?").urgent  # asks, of no one
    assert not RULES.assess("what heart rate should we ring about, is it 100?").urgent
    # not beats a minute: a blood pressure, oxygen, an age, a time
    assert not RULES.pulses_bpm("bp 135/85, oxygen 96 percent, pulse fine")
    assert RULES.pulses_bpm("my 72 year old dad's pulse is 88.") == [88.0]


def test_a_reading_does_not_hide_a_999_word_in_the_same_sentence():
    both = RULES.assess("my temp is 39 and she is having a fit")
    assert both.urgent and both.emergency and "reading 39.0 C" in both.reason and "(seizure)" in both.reason
    assert not RULES.assess("my temp is 39 and she is fine").emergency


@pytest.mark.parametrize("message", ["GP here: patient 3 weeks post CAR-T with a fever of 38.3, what should I do?",
                                     "67F, 9 days after her cells, new tremor in both hands",
                                     "d+12, witnessed tonic-clonic seizure in clinic"])
def test_a_clinician_naming_the_patient_they_see_tells_of_someone(message):
    assert RULES.assess(message, audience="clinician").urgent


def test_when_the_treatment_was_says_nothing_of_when_the_symptom_was_however_it_is_written():
    """"CAR-T therapy 2 weeks ago", "CAR-T 3 wks ago": the treatment's date, set aside before
    looking for an episode placed in the past (cues.treatment); the symptom is told now."""
    collapse = "man just collapsed in our waiting area, card in his wallet says CAR-T therapy 2 weeks ago"
    assert RULES.assess(collapse, audience="clinician").emergency
    assert RULES.assess("she's been breathless walking to the car since yesterday, had CAR-T 3 wks ago").urgent
    # a symptom's own date still places it in the past
    assert not RULES.assess("he collapsed 2 wks ago on the ward, can he drive now?").urgent


AS_EVER = [
    "My wheeze with the asthma has been there for years and it is no different since the cells.",
    "Her hand tremor has been there for years, same as ever.",
    "I bruise easily on my blood thinner, have done for ages, no more than usual.",
    "Known essential tremor for 10 yrs, tremor same as ever at today's review.",
    "He gets breathless on the stairs. He has had COPD for years, nothing new.",  # what the second explains
    "I've had a slight tremor for about 20 years. It's exactly the same as it's always been.",
    "My hands have had a fine tremor since my fifties, no different now.",
    "I get a bit wheezy on hills with my asthma, just the same as before treatment.",  # had before the treatment
    # a sentence between, naming the condition, with no "now" and no change in it
    "I've had a tremor in my left hand since my forties. Essential tremor, the neurologist says. It's no different now.",
]
CHANGED = [
    "My wheeze with the asthma has been there for years but it is much worse since this morning.",
    "Mum has had a shake in her right hand for as long as I can remember. It's the same, but now she is confused too.",
    "I bruise easily on my blood thinner, have done for ages, and there are new big bruises on my legs today.",
    "He is breathless tonight. He has had COPD for years, nothing new.",  # told now: urgent wins
    # the sentence between tells of now, or of a change: the unchanged one does not reach past it
    "She has had a tremor for years. Her hands are trembling tonight. It's no different to usual.",
    "I've had a tremor for years. My tremor is much worse. It's no different otherwise.",
    "He has had COPD for years and he is breathless tonight. He has had it for years, nothing new.",
]


@pytest.mark.parametrize("message", AS_EVER)
def test_a_condition_long_had_and_unchanged_is_history_not_a_red_flag(message):
    assert not RULES.assess(message).urgent
    assert rules_without("unchanged").assess(message).urgent  # the file's cue decides


@pytest.mark.parametrize("message", CHANGED)
def test_a_long_standing_condition_that_changed_is_still_a_report(message):
    assert RULES.assess(message).urgent


@pytest.mark.parametrize("message", ["GP: 70F, d+12, new petechiae on both shins and haematuria since last night",
                                     "pt d+6, expressive dysphasia on ward round, ICE 8",
                                     "3/52 post CAR-T, more somnolent today, rousable to voice",
                                     "d+40 cilta-cel, micrographia noted in clinic today",
                                     "pt 1/52 post CAR-T, myoclonic jerks in both arms this afternoon"])
def test_clinicians_words_for_the_24_hour_symptoms_are_read(message):
    assert RULES.assess(message, audience="clinician").urgent


@pytest.mark.parametrize("message", ["In the soap last night one of the characters had a fit in the pub. Could that happen after CAR-T?",
                                     "Somebody in a facebook group said she had hallucinations after her cells. How common is that?"])
def test_someone_in_a_story_or_met_only_online_is_never_the_patient(message):
    assert not RULES.assess(message).urgent
    assert rules_without("strangers").assess(message).urgent  # the file's cue decides


def test_an_episode_looked_after_by_the_team_said_either_way_round_is_over():
    """"the team reviewed her" and "reviewed by the team": an episode looked after (cues.over)."""
    for message in ("She had a bad nosebleed on Monday, reviewed by the team that afternoon. No bleeding since.",
                    "She had a bad nosebleed on Monday, the team reviewed her that afternoon. No bleeding since."):
        assert not RULES.assess(message).urgent, message
    assert RULES.assess("She has had a bad nosebleed since lunch and has not been seen by the team.").urgent


@pytest.mark.parametrize("message, urgent", [
    ("The patient's husband (her main carer) has a streaming cold and a temp of 38.1. Should he stay away?", False),
    ("Practice nurse: the wife of one of our CAR-T patients came in with her own breathlessness today.", False),
    ("The patient's wife rang: he has a temp of 38.5 and is shivering.", True),  # "he" may be the patient
    ("The patient's wife says he is confused today.", True),  # the relative telling of the patient
    ("The patient's husband has a fever and the patient is shivering too.", True),  # the patient named again
])
def test_a_clinicians_sentence_about_the_patients_relative_tells_of_the_relative(message, urgent):
    assert RULES.assess(message, audience="clinician").urgent == urgent
    if not urgent:
        assert rules_without("patients_kin").assess(message, audience="clinician").urgent  # the file's cue decides


def test_clinicians_words_for_severe_breathing_are_read():
    assert RULES.assess("72M d+9 post CAR-T, tripoding. ?T2 resp failure", audience="clinician").emergency


@pytest.mark.parametrize("message", ["what CRS grade is it if a patient is febrile on one vasopressor?",
                                     "what ICANS grade is it if the pt can't be roused?",
                                     "what should our receptionists tell a patient who rings with a fever?",
                                     "ASTCT question: a febrile post CAR-T patient on 2 L nasal oxygen, normotensive. Grade?"])
@pytest.mark.slow
def test_a_clinicians_question_about_patients_in_general_is_not_a_report(triager, message):
    assert not triager.assess(message, audience="clinician").urgent


def test_a_clinicians_message_is_read_with_the_red_flags_the_triager_has_now():
    """triage-calibrate replaces `red_flags` to sweep its numbers: a clinician's message reads the new ones."""
    triager = Triager(RED_FLAGS)
    message = "pt 3 weeks post CAR-T, T 38.3 at the surgery today"
    assert triager.assess(message, audience="clinician").urgent
    triager.red_flags = replace(RED_FLAGS, fever_threshold_c=39.0)
    assert not triager.assess(message, audience="clinician").urgent


def test_the_clinicians_words_for_their_patient_are_the_files_and_read_only_in_a_clinicians_message():
    message = "patient 3 weeks post CAR-T with a fever of 38.3, what should I do?"
    assert RULES.assess(message, audience="clinician").urgent and not RULES.assess(message).urgent
    assert not rules_without("clinician_patient").assess(message, audience="clinician").urgent


def _heart_only(triager, message):
    return [s for s in triager.assess(message).symptoms if "heartbeat" in s]


@pytest.mark.slow
def test_a_normal_pulse_reading_decides_the_heart_symptom_unless_the_beat_feels_wrong(triager):
    # By meaning these are close to "my watch says my heart rate is 130": the number decides.
    for calm in ("my watch says my resting heart rate is 66 today, that's fine isn't it?",
                 "heart rate 74 sitting down after breakfast, is that ok?",
                 "Checked dad's heart rate on his watch and it was 81 this afternoon, is that alright?"):
        assert not triager.assess(calm).urgent, calm
    # ...not when the beat is said to feel wrong, nor for the other symptoms of the sentence
    assert _heart_only(triager, "her pulse is 84 but it keeps skipping beats and fluttering tonight")
    assert triager.assess("pulse 76 but i feel really faint and dizzy when i stand").urgent
    # a slow reading is never cleared by the number: with the normal range widened down to 40,
    # the same message would be
    slow = "his heart rate is 42 on the monitor and he looks grey and clammy"
    assert triager.assess(slow).urgent
    wider = replace(RED_FLAGS, heart_rate=replace(RED_FLAGS.heart_rate, normal_from_bpm=40))
    assert not Triager(wider, triager.embedder).assess(slow).urgent


def test_the_heart_rate_rule_is_data(tmp_path):
    data = yaml.safe_load(DEFAULT_RED_FLAGS.read_text())
    data["heart_rate"]["fast_bpm"] = 130
    lenient = Triager(RedFlags.from_data(data))
    assert RULES.assess("my watch says 118 and I'm sat still").urgent
    assert not lenient.assess("my watch says 118 and I'm sat still").urgent
    data["heart_rate"]["symptom"] = "pulse"
    data["heart_rate"]["normal_from_bpm"] = 140
    with pytest.raises(UsageError) as error:
        RedFlags.from_data(data)
    assert "heart_rate.symptom 'pulse'" in str(error.value) and "normal_from_bpm must be below" in str(error.value)
    del data["heart_rate"]
    assert RedFlags.from_data(data).heart_rate is None  # optional: without it no pulse is read


@pytest.mark.parametrize("name", ["emergency_set_aside_below", "neutral_margin"])
def test_the_weak_999_level_and_the_news_margin_are_optional_data_checked_as_numbers(name):
    """Not given, each is 0: no 999 is ever set aside; the news counts when it is closer at all."""
    data = yaml.safe_load(DEFAULT_RED_FLAGS.read_text())
    assert getattr(RedFlags.from_data(data), name) == data["semantic"][name] > 0
    data["semantic"][name] = "half"
    with pytest.raises(UsageError, match=f"'{name}' must be a number"):
        RedFlags.from_data(data)
    del data["semantic"][name]
    assert getattr(RedFlags.from_data(data), name) == 0.0


@pytest.mark.slow
@pytest.mark.parametrize("message", ["my husbands eyebrows are going thin", "mums toes are a bit sore in her new shoes",
                                     "my wife keeps getting hiccups after tea"])
def test_short_everyday_news_of_someones_body_is_no_red_flag(triager, message):
    """A short sentence about someone's body stood close to the reports of that shape (the kin
    word and the body), whatever it said: "my wife has hiccups" was told to call 999. The file's
    everyday news now has sentences of that shape (file 1.12)."""
    assert not triager.assess(message).urgent, triager.assess(message).reason


def test_a_report_followed_by_a_question_is_still_a_report():
    assert RULES.assess("my husband is really confused. is this normal?").urgent
    assert sentences("my husband is really confused. is this normal?") == ["my husband is really confused.", "is this normal?"]


OTHER_PEOPLES_HEALTH = [
    "My mum has the chills and a cold - she's not a patient. Should she keep away from my brother after his CAR-T?",
    "My neighbour is confused from a urine infection, she's nothing to do with cancer treatment. Can I still visit her?",
    "Dad gets confused with his dementia but he's not the one having treatment. Can he stay with us?",
    "I'm his main carer. I've got a temperature of 38.3 myself and a sore throat. Should I keep away from him?",
    "My wife had CAR-T a fortnight ago. I've been feeling dizzy myself, is it safe for me to keep caring for her?",
    "I'm the one who had CAR-T, a month ago, and I feel fine. My little girl has a temperature of 38.5 with a cold.",
    "I had CAR-T three weeks ago. My wife, who's my carer, has come down with the shivers and a cold.",
    # the patient named as family, and the sentence opens with another relative
    "I'm my wife's carer. My son has a high temperature and a sore throat. Should he stay at his gran's?",
    "Our grandson fell off the wall and the cut on the knee is bleeding a lot. Can he visit his nan who had CAR-T?",
    # said in passing, or in a sentence that opens by saying so
    "My grandad, who is 90 and not the patient, had a dizzy spell yesterday. Can I go and see him?",
    "My 7 year old has a temperature of 38.4. She's not the patient, her dad is. Should she stay at her gran's?",
    # the patient named with their treatment, or as the one the writer cares for
    "Our neighbour has come down with a bug and feels awful. Should she stay away, as my husband's had CAR-T?",
    "My mother-in-law has vertigo and is staying with us for a week. Does that matter while I'm caring for my husband?",
    # a stranger, or someone on a screen or in print
    "A man in the next bed had a fit while we were visiting. Could that happen to my wife?",
    "I read an article where a woman got confused after CAR-T. How common is that?",
    # a he or she who cannot be the patient (his wife)
    "My son has a temperature of 38.4 and he's off school. My wife's had CAR-T, should he stay at his gran's?",
    # the writer says they are the patient by how long since the treatment, or as "the CAR-T"
    "My sister is breathless with a chest infection. Can she visit? I'm 3 weeks post CAR-T and well.",
    "I had the CAR-T and I'm doing fine. It's my husband who has the shivers with a cold.",
    # red-flag file 1.7: "I'm the CAR-T patient", "my CAR-T ...", "he isn't having any treatment himself"
    "My brother is shivering and burning up tonight. He isn't having any treatment himself, I'm the one who had CAR-T. Can he stay?",
    "my grandad gets muddled with his memory, he's not on any treatment. will my car-t do that to me?",
    "My sister has a cold and the shivers. I'm the CAR-T patient, should she stay away?",
    # the writer cares, and the clause that names the symptom tells of the writer alone (I, my)
    "I'm her carer and I'm so tired I keep nodding off on the sofa in the evenings. Is there respite care?",
    "I'm his carer. I cut my hand on a tin and it bled for ages. Should I cover it when I do his line?",
    # an aside in brackets does not change whose the sentence is
    "My son (he's 15 and helps me with his dad) has the shivers and a sore throat. Should he keep away from his dad, who had CAR-T?",
    # the writer has a carer, so the writer is the patient; the carer's health is the carer's
    "My carer has a chest infection and gets breathless on the stairs. Can someone else cover?",
    "My husband is my carer (I had the CAR-T) and he's got the shivers from a cold. Should he sleep in the other room?",
    # an animal, or a stranger placed by where they were (red-flag file 1.8)
    "Our cat had a fit on the landing this morning and the vet is seeing her later. Is a cat safe around him?",
    "my dog had a fit in the garden this morning, the vet is seeing him later",  # "my" is the dog's owner
    "the old gentleman in the next bay was wheezing all night, it kept us awake. Can we ask to move?",
    # the treatment's name as people type it, "car t" as "CAR-T" (red-flag file 1.26)
    "my niece is staying with us and she has a temperature of 38.4 with a cough. i had car t last month and i feel "
    "well, should she keep away from me?",
    # the writer is the patient, so a he or she alone is someone else (forty-fifth session)
    "I'm the patient, my husband looks after me. He's had a dizzy spell this afternoon, the GP thinks it's his blood "
    "pressure tablets. Is he still ok to drive me to clinic?",
    # a he or she going on from the relative the sentence opens with, and the writer only in a
    # clause with no symptom (forty-seventh session)
    "My wife had CAR-T in June. Our nephew is stopping with us and he's got the shivers, probably a bug I reckon.",
    "My husband had CAR-T last month. My daughter came round and she was dizzy, I think it's her ears.",
    # an aside naming no symptom, where the writer is the patient
    "My brother (who drives me to clinic) has been breathless with a chest infection. I'm the one who had CAR-T. "
    "Can he still take me?",
    # a clause naming no one goes on from the writer's; a toddler is a relative (forty-eighth session)
    "I'm his carer. I've gone dizzy and faint, I think I skipped lunch.",
    "Our toddler has been shivering with a cold. I'm the one who had CAR-T, should I keep away?",
]
STILL_THE_PATIENT = [
    "I'm his main carer. He has a temperature of 38.3 and the chills.",
    "I'm his carer. I feel shivery myself and he is confused.",  # the patient is named too
    "She's not the patient, I am. I have a temperature of 38.5.",
    "My wife had CAR-T last week. She can't stop shaking and her temperature is 38.1.",
    "I'm the patient. I've got a temperature of 38.3 myself.",  # the writer said nothing of caring for someone
    "I had CAR-T on Monday. My wife just checked and the temperature is 38.6.",  # someone telling of the writer
    "I had CAR-T last week. My husband says the thermometer reads 38.4.",
    "I had CAR-T last week. My wife says I'm shivering.",
    "I had my cells 10 days ago. My son found me on the floor, I had collapsed.",
    "I'm my wife's carer. My son says she's shaking and confused.",  # someone telling of the patient
    "I'm my husband's carer. My daughter is here and he has a temperature of 38.2.",  # "he" may be the patient
    "I'm my wife's carer. My son rang and mum is confused.",  # "mum" may be the patient
    "I'm my husband's carer. My mum is here and there's blood in his wee.",  # "his" may be the patient's
    "I'm his carer. My mum is here helping, and the nosebleed will not stop.",  # the patient has no kin word
    "I'm my wife's carer. My son is here and she has a temperature of 38.2.",  # "she" may be the patient
    "A man has collapsed outside our door and isn't breathing.",  # a stranger, now: 999 all the same
    "My husband had CAR-T last week. My son is with him and his temperature is 38.4.",  # "his" may be
    "I'm 3 weeks post CAR-T. My wife says I'm shivering.",  # someone telling of the writer
    "i had car t 3 weeks ago and my temperature is 38.4 tonight",
    "he hasn't had any treatment for the fever yet and he's burning up and shivering",  # not treated for it, not "not a patient"
    "dad is shivering and shaking tonight, he hasn't had any treatment yet",
    # a he or she of the patient's sex with someone else named between, or the writer in the clause
    "My husband had CAR-T last week. My son is with him and he is shivering.",
    "My wife had CAR-T last week. My daughter is here and I think she is confused.",
    "My wife had CAR-T in June. My son is here and she's got the shivers.",  # "she" is not the son
    "I'm the one who had CAR-T. My sister (I'm shivering too) is staying with me.",  # an aside with a symptom
    "I'm his carer. He is shivering and confused.",  # a clause of the patient's
    "I'm his carer. I'm worried and he's shivery and confused.",
    "My husband - he had CAR-T last week - is shivering and confused tonight.",
    "I'm the one who had CAR-T. My sister (I'm dizzzy and breathles too) has a cold.",  # ... misspelt
    "Dad's shivering and really hot tonight. He hasn't had any treatment.",
    "mum is very drowsy today and she is not having any treatment.",
    "I'm the CAR-T patient and I've been shivering all evening",
    "my car-t nurse said to watch for confusion and I'm muddled and forgetting words today",
    "my mum is confused and seeing things tonight, is that in my car-t leaflet?",  # a carer's "my leaflet"
    # a carer's own words that look at the patient, or read a number off them
    "I'm his carer and I've noticed new bruises all over.",
    "I'm her carer and I'm scared, she's burning up.",
    "My wife had CAR-T. I just took the temperature and it's 38.6.",
    "My carer says I'm slurring my words tonight.",
    # an animal in the message, and the symptom someone else's; or an animal only the patient sees
    "the dog is barking like mad and he won't wake up",
    "my dog jumped up at me and my hand is bleeding and won't stop",  # the writer, beyond the dog's "my"
    "he keeps seeing a dog in the kitchen that isn't there",
    "the man in the next bed is having a fit now",
    # the writer is the patient and a he or she tells of them, or reads a number off them
    "I had CAR-T last week. She says I was talking nonsense at breakfast.",
    "I had my cells on Monday. She took my temperature, 38.4.",
    "I had CAR-T 2 weeks ago. He thinks I look really drowsy and I can barely keep my eyes open.",
    # "our carer" may be a family's agency carer, and "she" the patient the family writes about
    "Our carer from the agency came this morning. She's shaking all over and not making sense.",
]


def test_without_the_someone_else_cues_every_sentence_is_read(tmp_path):
    rules = rules_without("not_patient", "writer_cares", "someone_else", "writer_is_patient", "relations")
    assert rules.assess(OTHER_PEOPLES_HEALTH[3]).urgent


def test_the_animals_are_the_files_cue_not_code():
    """Without `cues.animals` in the red-flag file, an animal's symptom reads as anyone's."""
    message = "Our dog has been shivering all morning and the vet thinks it's the fireworks."
    assert not RULES.assess(message).urgent
    assert rules_without("animals").assess(message).urgent


def test_a_fit_described_without_the_word_needs_999():
    for message in ("he's jerking all over and won't answer me", "her eyes have rolled back and her whole body is shaking",
                    "she stared, her arm twitched, then she went stiff and shook for a minute. she's sleepy now"):
        assert RULES.assess(message).emergency, message
    assert not RULES.assess("what does a fit look like? is it the whole body jerking?").urgent


@pytest.mark.parametrize("message", ["she cannot be woken", "my dad's ankles are swollen and he cant be woken",
                                     "I can't rouse him", "he is unrousable", "i cant get her to wake up"])
def test_cannot_be_woken_in_the_999_lists_own_words_is_999_by_the_rules(message):
    """The 999 list says "cannot be woken": the rules read "can't wake" but not "woken" or
    "rouse", so those were 999 by meaning alone, and a side clause about swollen ankles moved
    the meaning (file 1.12)."""
    assert RULES.assess(message).emergency
    assert "rules:" in RULES.assess(message).reason
    assert not RULES.assess("what does cannot be woken mean?").urgent
    assert not RULES.assess("why is being unrousable a 999 thing").urgent


def test_lay_descriptions_are_symptom_words():
    assert "confusion" in RULES.assess("he got lost on the way to the loo in our own house just now").reason
    assert "breathing" in RULES.assess("im panting after two steps, had my cells on friday").reason
    assert not RULES.assess("what if he gets lost in our own house?").urgent  # supposes


def test_a_number_that_defines_a_fever_is_not_a_reading():
    assert not RULES.assess("my nurse said 38 is a fever but the card says lower, which do I go by?").urgent
    assert RULES.assess("my temp is 38.2, is 38 a fever?").urgent  # a reading beside it
    assert RULES.assess("his temperature is 38.1 now").urgent


def test_hay_fever_is_not_a_fever():
    assert not RULES.assess("my hay fever is awful this week, can I take my antihistamines?").urgent
    assert RULES.assess("I've got a fever tonight").urgent


def test_misspelt_symptom_words_are_mended_before_the_rules_read_them():
    seizure = RULES.assess("mums havin a siezure and wont answer me")
    assert seizure.urgent and seizure.emergency and "spelling mended" in seizure.reason
    assert RULES.assess("he colapsed in the hall just now").emergency
    assert RULES.assess("heart racin for the last hour").urgent
    assert not RULES.assess("what is a siezure?").urgent  # mended, still only a question
    assert RULES.mend("mums havin a siezure") == "mums having a seizure"
    assert RULES.mend("the bed is warm") == "the bed is warm"  # everyday words are not slips


def test_a_word_of_english_is_not_mended_into_a_symptom_word():
    """"cooking" is one slip from "choking" but is a word: the fifteenth blind set's "I'm back
    pottering in the garden and cooking my own tea" was a 999 false alarm."""
    assert RULES.mend("cooking my own tea") == "cooking my own tea"
    assert not RULES.assess("I'm back in the kitchen cooking my own tea today").urgent
    assert RULES.mend("he had a siezure") == "he had a seizure"  # a slip is still mended


def test_a_dropped_g_is_mended_where_the_file_has_the_word():
    """Texts drop the "g" ("havin a fit"): the fourteenth blind set's fit was urgent by meaning
    alone, not 999, before."""
    assert RULES.mend("my brother is havin a fit, dad's cousin is with him") == \
        "my brother is having a fit, dad's cousin is with him"  # not "cousing"
    assert RULES.assess("my husband is havin a fit in the lounge").emergency


@pytest.mark.parametrize("message", ["she's struggling for breath and going grey",
                                     "I'm fighting for air, it's really bad",
                                     "his lips have turned a funny blue",
                                     "mum is struggling so hard to breathe shes pulling at her chest",
                                     "she's heaving for every breath and her shoulders are going up and down"])
def test_severe_trouble_breathing_as_the_files_examples_say_it_is_999_by_the_rules(message):
    """The file's own 999 examples say "fighting for every breath", "struggling for breath",
    "lips ... gone a funny blue colour": its words now read them too (file 1.10)."""
    assert RULES.assess(message).emergency
    assert not RULES.assess("his lips are not blue and he's breathing easily").emergency
    assert not RULES.assess("I'm making the most of every breath of sea air on holiday").emergency


@pytest.mark.parametrize("message, urgent", [
    ("My husband got breathless on day 4 and was admitted. He's home now and well. When can he garden?", False),
    ("Dad was very confused on day 5. He's been back to his old self for two weeks. Can he drive?", False),
    ("My wife was hard to wake on day 8. She's been fine for a month since. Could it happen again?", False),
    ("He got breathless on day 4 and he's still puffed now", True),  # still going on
    ("She's not like herself at all since the weekend, snapping at everyone", True),
    ("since tea he can't find the names of things, called the kettle the hot thing", True),
    ("for the last hour he keeps saying he can hear a choir singing but nobody is in", True),
])
def test_an_episode_that_is_over_is_told_apart_from_one_going_on(message, urgent):
    assert RULES.assess(message).urgent == urgent


@pytest.mark.slow
@pytest.mark.parametrize("message, urgent", [
    # the account tells of the episode's care before it says it ended (file 1.30)
    ("My wife had a nosebleed on Sunday. We phoned the line and they dealt with it at the day unit. "
     "No bleeding since. Can she floss?", False),
    ("He had the shakes on Sunday. We rang the number and they checked him over. Nothing since.", False),
    ("She had a fever on Sunday. We rang the line and they checked her over. It's gone now.", False),
    # well for weeks places the episode before now, as "weeks ago" does
    ("She was seeing things on the ward after her CAR-T - faces in the curtains, she was certain of it. "
     "It stopped after two days and she's been well at home for three weeks.", False),
    # ... not care with no ending, an ending with now, well for hours, or not well for a week
    ("He had a fit on Sunday. We rang the line. He's still not right tonight.", True),
    ("Had a temp of 38 on Sunday. Rang the line, no answer. Still hot now.", True),
    ("He had a fit this morning. He's been fine for an hour.", True),
    ("He hasn't been well for a week and he's shivery.", True),
])
def test_an_episode_told_with_its_care_and_its_ending_is_over(triager, message, urgent):
    assert triager.assess(message).urgent == urgent


@pytest.mark.slow
@pytest.mark.parametrize("message, urgent", [
    # a sentence cut at spaced dashes is read whole too (file 1.30): a condition as it always was,
    # an episode that is over, someone who is not the patient hold for each piece
    ("I've had a little tic - a flicker by my right eye - since junior school, exactly as it always was. "
     "Should my CAR-T team know?", False),
    ("She was seeing things on the ward after her CAR-T - faces in the curtains. It stopped after two days "
     "and she's been well at home for three weeks.", False),
    ("The lady in the next bed on the ward last week - she was in for her knee, not CAR-T - was shivering "
     "all night. Is that catching?", False),
    # ... and what a piece says of now still reports
    ("I've had a tic - a twitch by my eye - since school, but it's much worse tonight.", True),
    ("She was seeing things on the ward after her CAR-T - and tonight she's seeing faces in the curtains again.", True),
    ("My husband - he had CAR-T last week - is shivering and confused tonight.", True),
])
def test_a_sentence_cut_at_dashes_is_read_whole_for_whose_and_when(triager, message, urgent):
    assert triager.assess(message).urgent == urgent


@pytest.mark.parametrize("message, emergency", [
    # it happens again now, pointing back at a symptom named before it (forty-ninth session): the
    # first episode, over, was set aside, and "another one" named nothing
    ("Dad had a fit in March. He's just had another one.", True),
    ("Dad had a fit in March - a big one, on the ward. Then another one just now.", True),
    ("She had a fever last week. She has another one tonight.", False),
    ("She was muddled on the ward after her cells. She's like that again today.", False),
])
def test_another_one_now_is_the_symptom_named_before_it_now(message, emergency):
    triage = RULES.assess(message)
    assert triage.urgent and triage.emergency == emergency
    assert "points back at" in triage.reason


@pytest.mark.parametrize("message", [
    "Dad had a fit in March. Is he likely to have another one now he's home?",  # one that may come
    "If he has another one tonight, what do I do? He had a fit in March.",  # a supposition
    "She had a fever last week. She has another appointment today.",  # another of something else
    "He had chills last month. He's fine now and having another coffee.",
    "My wife was confused on day 5, it was treated and it's gone now. Could it come back?",  # not said to be now
    "Dad had a fit in March. Give me a second now, I'll find his letter.",  # a moment, not a second fit
])
def test_another_that_may_come_or_is_something_else_is_not_a_report(message):
    assert not RULES.assess(message).urgent


@pytest.mark.parametrize("message, urgent, emergency", [
    # (file 1.31) "still" told in the past does not say now: the fit was on day 6, in hospital
    ("I had a fit on day 6 while I was still in hospital. It was treated and I've had no more since. "
     "When can I drive?", False, False),
    ("She had a fit on day 6 and she's still not responding", True, True),
    ("He had a fit on day 6 on the ward and he is still shaking now", True, True),
    # a fit about something is anger; a fit about an hour ago, or about the time I got home, is a fit
    ("my husband is having a fit about the lounge carpet right now because the dog was sick on it", False, False),
    ("he had a fit about an hour ago", True, True),
    ("she had a fit about the time I got home and she's sleepy now", True, True),
    # someone's thing, a room of the house, and "put it back" (the verb's object, not "it's back")
    ("Mum's gazebo has just collapsed in the garden - a gust caught it. She had her CAR-T two weeks ago "
     "and wants to help me put it back up. Can she lift things yet?", False, False),
    ("The house is a bit chilly because the boiler's packed up, temp 36.6. Can we stay at my sister's?", False, False),
    ("Mum's collapsed in the garden", True, True),
    ("Mum's legs collapsed under her in the kitchen", True, True),
    ("The house is cold and I'm shivering and shaking tonight", True, False),
    # someone's animal is an animal; a "he's" or "she's" is never anyone's thing
    ("My neighbour's dog had a fit this morning, poor thing. Is it normal to feel a bit shaky after CAR-T?", False, False),
    ("he's bus sick and shivering now", True, False),
    ("she's car sick and really dizzy tonight", True, False),
    ("He had a fit in March. It's back tonight.", True, True),
])
def test_past_still_a_fit_about_something_and_things_told_apart_from_reports(message, urgent, emergency):
    triage = RULES.assess(message)
    assert (triage.urgent, triage.emergency) == (urgent, emergency)


@pytest.mark.parametrize("message, urgent", [
    # (file 1.31) CAR-T named as what the person has not had: not the patient
    ("My husband's got a temperature of 38.4 tonight from the Covid booster he had this afternoon. He hasn't "
     "had CAR-T - I'm the one who had it, and I'm fine, 36.7.", False),
    ("My husband's got a temperature of 38.4 tonight. He hasn't had CAR-T yet, it's booked for next week.", True),
    # the writer, who is the patient, named only in a clause with no symptom: the relative's health
    ("My husband keeps nodding off in his chair, even while I'm talking to him - he's on night shifts. He "
     "hasn't had any treatment; I had CAR-T 10 days ago and I'm fine myself.", False),
    ("My husband keeps nodding off and I'm so drowsy myself today. I had CAR-T 10 days ago.", True),
    # a "who" with no one between it and the relative the sentence opens with is that relative
    ("My husband had CAR-T 11 days ago and he's doing brilliantly. It's my mum, who lives with us, who's "
     "muddled tonight - she's had dementia for years.", False),
    ("My husband had CAR-T 11 days ago. My mum, who lives with us, says he's muddled tonight.", True),
])
def test_who_has_not_had_car_t_and_whose_clause_names_the_symptom(message, urgent):
    assert RULES.assess(message).urgent == urgent


@pytest.mark.slow
@pytest.mark.parametrize("message, urgent", [
    # (file 1.31) weeks ago with no number places an episode before now, by both nets
    ("The shaking in my hands that I had after the infusion settled weeks ago - the team saw me about it "
     "at the time. Can I go back to playing the guitar?", False),
    ("The shaking in my hands settled weeks ago. Can I go back to playing the guitar?", False),
    ("He had the shakes weeks ago and they're back tonight", True),
    ("She was confused weeks ago and she's confused again now", True),
])
def test_weeks_ago_without_a_number_looks_back(triager, message, urgent):
    assert triager.assess(message).urgent == urgent


@pytest.mark.parametrize("message, urgent", [
    # (file 1.31) "puffing" is "puffed", and "short breath" is short of breath; not puffing on a pipe
    ("he's puffing and can't finish a sentence tonight", True),
    ("I've been short breath since this morning", True),
    ("Dad's sat in the garden puffing on his pipe, feeling grand", False),
])
def test_puffing_and_short_breath_are_breathlessness_words(message, urgent):
    assert RULES.assess(message).urgent == urgent


@pytest.mark.slow
@pytest.mark.parametrize("message, urgent", [
    # an episode over, then "not a flicker since" and "no puffing at all now": none now (1.31)
    ("Dad had a seizure at the dinner table back in March, a week after his CAR-T, and had the anti-seizure "
     "medicine. Not a flicker since and he's completely himself. When can he drive?", False),
    ("The short breath Maria had last week turned out to be fluid, which the ward drained, and she's been "
     "breathing easily ever since - no puffing at all now. What time is Thursday's appointment?", False),
    # ... and what is said of now still reports
    ("Dad had a seizure back in March. Not a good day since, and he's shaking all over tonight.", True),
    ("He had a fit in March. Not a day since without shaking.", True),  # a span of time: every day
    ("The short breath Maria had last week is back and she's puffing at rest now.", True),
])
def test_none_since_and_denied_puffing_say_no_symptom_now(triager, message, urgent):
    assert triager.assess(message).urgent == urgent


@pytest.mark.slow
@pytest.mark.parametrize("message, urgent", [
    # (1.31) the writer, who is the patient, only placed in a clause beside a relative's symptom
    ("My husband keeps nodding off in his chair, even while I'm talking to him - he's on night shifts. He "
     "hasn't had any treatment; I had CAR-T 10 days ago and I'm fine myself.", False),
    # ... but a clause of the writer's near a symptom by meaning, with no symptom word, is theirs
    ("My wife is worried sick because I keep dropping my cup and I can't do my buttons up. I had CAR-T last week.", True),
    ("My daughter came round and I couldn't get my words out properly. I had my cells 9 days ago.", True),
])
def test_a_writer_beside_a_relative_tells_of_themselves_only_near_a_symptom(triager, message, urgent):
    assert triager.assess(message).urgent == urgent


@pytest.mark.parametrize("message, urgent", [
    # (file 1.31) money bled and a bruised ego are idioms; bleeding and bruises are not
    ("The parking charges and train fares are bleeding me dry. CAR-T was 3 weeks ago. Any help with costs?", False),
    ("I'm bleeding money on hospital car parking at the moment! Any help with parking costs?", False),
    ("he's bleeding from his gums and it won't stop", True),
    ("my arm is bruised all over today", True),
    # "it's me that had the CAR-T": the writer is the patient, the grandson's cold is his
    ("My grandson (he's five) has been really hot and shivery with a cold. He's not had any treatment, it's "
     "me that had the CAR-T. Is it safe for him to come round next week?", False),
    ("My grandson has a cold. It's me that had the CAR-T and I'm shivering tonight.", True),
    # an aside saying someone has never had the treatment
    ("my neighbour (who has never had any cancer treatment) had a seizure last week and now can't drive. "
     "Is the driving rule after CAR-T the same?", False),
    ("My husband (who hasn't had any treatment yet, his cells are being made) is shivering tonight.", True),
    # "keep" after a past "couldn't" looks back; "can't keep him awake" is now
    ("Last month Dad was so sleepy we couldn't keep him awake and he ended up in intensive care for two days. "
     "He's been home a fortnight and is his old self.", False),
    ("Dad is so sleepy today we can't keep him awake", True),
    # a thing that collapsed "on me" is still a thing; a person who collapsed on me is not
    ("My phone's collapsed on me, the screen's gone black", False),
    ("Dad collapsed on me in the hall just now", True),
])
def test_idioms_asides_and_a_past_keep_told_apart_from_reports(message, urgent):
    assert RULES.assess(message).urgent == urgent


def test_the_treatment_named_after_a_whose_is_no_machine():
    """"my car" is a machine, "my CAR-T" is not (file 1.31): a sentence set aside as a machine's
    also keeps the meaning net from reading the whole message, so "His CAR-T was a week ago
    today" beside "I couldn't rouse him" took a cannot-wake report's 999 away."""
    for sentence in ("His CAR-T was a week ago today.", "my car t was last week", "her CAR-T cells went in on Monday"):
        assert not RULES._about_animal_or_thing(sentence), sentence
    assert RULES._about_animal_or_thing("my car broke down on the way to clinic")
    assert RULES._about_animal_or_thing("my son's car has been shaking on the motorway")


def test_dash_groups_number_the_sentences_a_dash_cut():
    from assistant.triage import dash_groups, sentences

    message = "I've had a tic - a twitch by my eye - since school. Is it ok? Yes - fine."
    assert sentences(message) == ["I've had a tic", "a twitch by my eye", "since school.", "Is it ok?", "Yes", "fine."]
    assert dash_groups(message) == [0, 0, 0, 1, 2, 2]


WELL_AGAIN_OR_QUOTED = [
    # "now" and "since" in a clause saying someone is well do not make the episode current
    "He was muddled on day 6 in hospital, they treated him and he's been back to normal for a fortnight now. Can he drive yet?",
    "I had a temperature of 38.4 last Wednesday, they gave me antibiotics and it's been normal since (36.7 today).",
    "My wife had a seizure four years ago, it's been well controlled since. Does that matter for CAR-T?",
    "Dad was seeing things on day 7 and the team treated him. He's home now and himself again.",
    # a leaflet, a box or a label quoted
    "The leaflet lists shivering, a racing heart and dizziness. Where do I park for the day unit?",
    "My new tablets say they may cause drowsiness. Is that a problem after CAR-T?",
    # the clause with the cue says the episode is over, and nothing else says now
    "She had some confusion on day 6 that was treated with steroids and it's completely gone now. Could it come back?",
    "My dad's handwriting got shaky on the ward after his CAR-T but it went back to normal within days. Do we keep testing it?",
    # a sentence that says someone is well, with a few words of where or when beside it
    "My wife was breathless on day 3 and needed oxygen on the ward. She's home now and breathing completely normally.",
    "Dad was muddled on day 6 and the team treated him. He's been home for three weeks now and fine.",
    # how someone has long been
    "She's had a slight tremor in her hands for years, the GP calls it essential tremor. Should we mention it?",
    # it has not happened since
    "I had a fit once as a child and none since. Does that matter for CAR-T?",
    "I felt faint for a second getting out of the bath 3 days ago, gone straight away and not happened since.",
    # the next sentence says the episode is over
    "His hands were trembling in the first few days. That settled quickly and he's been fine since. When is clinic?",
    # long ago, said in the clause that names the symptom (red-flag file 1.7, cues.long_ago)
    "I blacked out once at a concert years ago from the heat. Should I mention it to the team?",
    "My dad collapsed on holiday many years ago, it was his heart. Is collapse after CAR-T a heart thing?",
]
STILL_GOING_ON = [
    "He was confused this morning and he's still not back to normal now",
    "my temp was 36.8 this morning and now it's 38.4",
    "He seems fine but he's been shivering since lunch",
    "The leaflet says to call about shivering and I'm shivering now",
    "the box says it can cause dizziness and I've been dizzy since this morning",
    # a cue for "over" in another clause does not set aside the part that says now
    "Mum's a bit muddled tonight, she forgot she'd already had her lunch",
    "my wife is short of breath walking to the car today, she was fine doing that before her treatment",
    # cues that must not set a report aside: a fever brought down, "it went on", never like
    # this "for years" or "in all my life", something on screen at the time, a clinician's patient
    "My temp is 38.5. It went down with paracetamol.",
    "She was really drowsy. It went on all afternoon.",
    "I haven't been this confused for years",
    "I've never felt this cold and shivery in all my life",
    "We were watching the news when she collapsed",
    "A patient collapsed in clinic today after CAR-T",
    # long-standing, and worse now
    "I've had a tremor for years but today it's much worse and I can't hold a cup.",
    # not right since: still going on
    "He had a fit on the ward 3 weeks ago and he's not been himself since.",
    # said to be well, and a symptom word beside it
    "He was muddled on day 6 in hospital. He's home now and fine, just very sleepy all day.",
    # an episode over, then another that says now
    "He was confused this morning. It settled for an hour but he's confused again now.",
    # long ago, then now: the clause that says now is a report (cues.long_ago; "I've just ..." says now)
    "I used to faint as a teenager and I've just fainted in the bathroom",
    "He collapsed years ago playing football, and he's collapsed again just now",
    "we moved here years ago, and now he doesn't know where he is",
]


# Whose health, and whether it is going on now: (message, urgent).
WHOSE_AND_WHEN = ([(m, False) for m in OTHER_PEOPLES_HEALTH + WELL_AGAIN_OR_QUOTED]
                  + [(m, True) for m in STILL_THE_PATIENT + STILL_GOING_ON])


@pytest.mark.parametrize("message, urgent", WHOSE_AND_WHEN)
def test_the_rules_tell_someone_elses_health_an_episode_over_and_a_quote_from_a_report(message, urgent):
    assert RULES.assess(message).urgent == urgent


@pytest.mark.slow
@pytest.mark.parametrize("message, urgent", WHOSE_AND_WHEN)
def test_both_nets_agree_on_whose_health_and_when(triager, message, urgent):
    assert triager.assess(message).urgent == urgent


# An episode that has ended, told of with nothing placing it before now: still the call (a fit
# that stopped is 999; a fever brought down, a faint come round from, need the call, DOMAIN E 55-56).
ENDED_NOT_LOOKED_AT = [
    ("she had a fit, it settled and she's fine now", True),
    ("Dad had a fit. It has stopped now.", True),
    ("my wife passed out, she's fine now", True),
    ("my temp was 38.2, it's gone down now", False),
    ("I was shivering badly but it's gone now", False),
    ("he was very confused, he's back to normal now", False),
]
# The same endings, with the team having looked at it or a time before now: looked back on.
ENDED_AND_LOOKED_AT = [
    "she had a fit on the ward, it settled and she's fine now",
    "my temp was 38.2, we rang the line, they gave him antibiotics and it's gone down now",
    "I felt faint on Tuesday, the team checked me over and I've been fine since",
    "He was very confused in the first week, they treated him and he's back to normal now",
]


# Looked after for something, and a symptom told in the present: a report, whatever the sentence
# looks back on (five of these were missed before the red-flag file 1.9; the others would be by
# its care cues without `_told_as_present`).
TOLD_AS_PRESENT = [
    "I was treated for an infection and I feel really unwell",
    "he was treated for a chest infection last month and he's very breathless",
    "I was given antibiotics for a chest infection and I feel hot and shivery",
    "they gave him steroids for the rash and he seems confused",
    "we rang the line about his cough and he is breathless",
    "the team reviewed him on Monday, he feels faint and dizzy",
    "she was admitted for a fever and she seems muddled",
    # missed before the red-flag file 1.9 too: the stay looked back on set the whole sentence aside
    "mum was in hospital with an infection in June, she is breathless",
    "I got home from the ward last week and I feel dizzy",
    "dad was admitted last month with a chest infection, he's very sleepy",
]


@pytest.mark.parametrize("message", TOLD_AS_PRESENT)
def test_a_symptom_told_in_the_present_is_a_report_beside_an_episode_looked_back_on(message):
    assert RULES.assess(message).urgent


def test_how_someone_has_long_been_told_in_the_present_is_still_not_an_episode_now():
    assert not RULES.assess("She's had a slight tremor in her hands for years, the GP calls it essential tremor.").urgent
    assert rules_without("long_standing").assess(
        "She's had a slight tremor in her hands for years, the GP calls it essential tremor.").urgent


@pytest.mark.parametrize("message, emergency", ENDED_NOT_LOOKED_AT)
def test_an_ending_alone_does_not_set_a_report_aside(message, emergency):
    found = RULES.assess(message)
    assert found.urgent and found.emergency == emergency, found.reason


@pytest.mark.parametrize("message", ENDED_AND_LOOKED_AT)
def test_an_ending_looked_after_or_placed_before_now_is_looked_back_on(message):
    assert not RULES.assess(message).urgent


def test_without_the_ended_cues_an_episode_looked_after_still_reads_as_over():
    """The `ended` cues only take clauses out of the part that says now; what sets a report
    aside is the anchor (`over`, `past`): without `ended`, "and it's gone down now" says now."""
    rules = rules_without("ended")
    assert rules.assess(ENDED_AND_LOOKED_AT[1]).urgent
    assert not RULES.assess(ENDED_AND_LOOKED_AT[1]).urgent


# After an episode the team looked after, a clause telling how someone is that names no symptom
# and is not close to one by meaning: its "since" or "now" does not make the episode current.
AFTER_AN_EPISODE = [
    "my wife was drowsy on day 4, the ward team treated her and she's been chirpy since",
    "I had a nosebleed last week, the team gave me platelets and I've been tickety-boo since",
    "dad had a tremor in the first week, the consultant reviewed him and he's been whistling round the house since",
]
# ...while a clause that says now and names a symptom, points back at the episode, is set
# against what went before, or is close to a symptom by meaning, still reports.
NOW_AFTER_AN_EPISODE = [
    ("She had a fit on the ward on day 6 and she's having another one now", True),
    ("I was treated for a fever last month, and today I can barely lift my head off the pillow", False),
    ("he was muddled on the ward but they treated it, now he doesn't know what year it is", False),
    ("my hands have always been a bit shaky, but this morning I dropped my cup twice", False),
    ("mum was confused on day 5 and they gave her steroids, and since this morning she's been muddled again", False),
    ("I was dizzy on the ward last week, they gave me fluids, and it's come back today", False),
]


@pytest.mark.slow
@pytest.mark.parametrize("message", AFTER_AN_EPISODE)
def test_a_clause_about_no_symptom_does_not_make_an_episode_looked_after_current(triager, message):
    """All three were flagged before `Triager._says_now` (one as 999)."""
    assert not triager.assess(message).urgent


@pytest.mark.slow
@pytest.mark.parametrize("message, emergency", NOW_AFTER_AN_EPISODE)
def test_a_clause_saying_now_beside_an_episode_looked_after_still_reports(triager, message, emergency):
    found = triager.assess(message)
    assert found.urgent and found.emergency == emergency, found.reason


def test_without_a_model_every_time_cue_says_now():
    """The rules net alone cannot tell a clause about a symptom from one about none: it errs to urgent."""
    assert RULES.assess(AFTER_AN_EPISODE[0]).urgent


def test_the_since_of_how_someone_has_long_been_does_not_say_now():
    """"since he was a boy" is how someone has long been (cues.long_standing), not "since" now."""
    message = "he's had a wheeze since he was a boy and gets it every winter"
    assert not RULES.assess(message).urgent
    assert rules_without("long_standing").assess(message).urgent


@pytest.mark.slow
@pytest.mark.parametrize("message, urgent, emergency", [
    ("Do I need to tell the team that I blacked out in the kitchen this morning?", True, True),
    ("Is it worth mentioning to the nurses that he's been confused today?", True, False),
    ("should I tell them if I get a fever?", False, False),
    ("do I need to mention that I had a fit as a child?", False, False),
    ("how do I tell the difference between being tired and the drowsiness in the leaflet?", False, False),
])
def test_what_a_question_says_it_would_tell_is_read_as_a_report(triager, message, urgent, emergency):
    """The thirteenth blind set's last two misses were reports inside a question, read by the
    classifier as asking: what the question would tell, mention or report is read as a statement."""
    found = triager.assess(message)
    assert (found.urgent, found.emergency) == (urgent, emergency), found.reason


def test_back_again_says_now_and_fainting_is_passing_out():
    """Found by the thirteenth blind set's first run (red-flag file 1.9): "again" says an
    episode is back now (not "hasn't happened again"); having fainted is having passed out, a
    999 situation (not "nearly fainted", which is feeling faint)."""
    assert RULES.assess("Gums bleeding again when I brush my teeth, same as before they gave me platelets.").urgent
    assert not RULES.assess("I had a nosebleed last week, rang the line, they checked my platelets and "
                            "it hasnt happened again.").urgent
    assert RULES.assess("I fainted in the shower this morning, came round after a few seconds").emergency
    nearly = RULES.assess("mum nearly fainted in the kitchen and had to sit down")
    assert nearly.urgent and not nearly.emergency


@pytest.mark.parametrize("message, urgent", [
    ("did my handwriting check this morning and it looks the same as always", False),
    ("is the sentence the nurses have me write each day to check my handwriting?", False),
    ("his handwriting has gone all over the place since lunch", True),
    ("there's a real change in mum's handwriting today, it's tiny", True),
])
def test_handwriting_is_a_report_only_when_it_has_changed(message, urgent):
    assert RULES.assess(message).urgent == urgent


def test_without_the_well_quote_and_patient_cues_those_sentences_are_read():
    rules = rules_without("well_now", "quotes", "patient_named", "therapy")
    assert rules.assess(WELL_AGAIN_OR_QUOTED[2]).urgent
    assert rules.assess(WELL_AGAIN_OR_QUOTED[4]).urgent
    assert rules.assess(OTHER_PEOPLES_HEALTH[8]).urgent  # the patient named only by patient_named and therapy
    assert rules.assess(OTHER_PEOPLES_HEALTH[11]).urgent  # the patient named only by therapy


def test_a_well_cue_may_start_at_a_words_ending():
    """"he's fine": a cue written "'s fine" matches after a word, as a whole-word cue may not."""
    flags = RED_FLAGS
    assert flags.well_now.search("He's fine in himself") and flags.well_now.search("they're ok")
    assert not flags.well_now.search("the fine print")  # still whole words
    # the rules net too: "he's fine since" says the episode is over
    assert not RULES.assess("He had a temp of 38.4 on day 5, they gave him antibiotics and he's fine since.").urgent


def test_the_file_is_reviewed_like_a_document(tmp_path):
    data = yaml.safe_load(DEFAULT_RED_FLAGS.read_text())
    assert data["owner"] and data["version"] and data["review_due"]
    assert not RED_FLAGS.review_overdue()
    del data["owner"]
    data["symptoms"][0]["action"] = "phone a friend"
    path = tmp_path / "red-flags.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(UsageError) as error:
        RedFlags.load(path)
    assert "missing 'owner'" in str(error.value) and "action must be one of" in str(error.value)


def test_every_symptom_of_the_24_hour_and_999_lists_is_covered():
    ids = {s.id for s in RED_FLAGS.symptoms}
    assert {"fever", "chills", "unwell", "breathing", "confusion", "hallucinations", "speech", "drowsiness", "tremor",
            "heart", "dizziness", "reading-writing", "bleeding"} <= ids
    assert {s.id for s in RED_FLAGS.symptoms if s.emergency} == {"seizure", "collapse", "severe-breathing", "cannot-wake"}


def test_calibration_prefers_no_miss_then_fewest_false_alarms_then_the_more_sensitive_setting():
    from eval.triage_calibration import Point, choose

    def point(sim, missed, emergency_missed, false_alarms, over=0):
        return Point(sim, 0.5, 0.2, 0.5, 0.45, 0.65, missed, emergency_missed, false_alarms, over)

    points = [point(0.50, 0, 0, 9), point(0.45, 1, 0, 0), point(0.48, 0, 1, 0), point(0.55, 0, 0, 4),
              point(0.40, 0, 0, 4)]
    assert choose(points).symptom_similarity == 0.40  # no miss, 4 alarms, lower threshold wins the tie


def test_calibration_sweeps_the_999_number_second_and_marks_every_999_situation_first():
    """`refine` keeps the grid's choice and moves only `emergency_over_words`; `choose` then
    takes the setting that marks every 999 situation and, of those, sends the fewest 24-hour
    messages to 999."""
    from types import SimpleNamespace

    from eval.cases import EvalCase
    from eval.triage_calibration import EMERGENCY_OVER_WORDS, Point, choose, refine

    fit = EvalCase(id="fit", audience="patient", question="a", expected_status="urgent", expected_emergency=True)
    drowsy = EvalCase(id="drowsy", audience="patient", question="b", expected_status="urgent", expected_emergency=False)
    calm = EvalCase(id="calm", audience="patient", question="c", expected_status="not-urgent")
    closeness = {"a": 0.57, "b": 0.53, "c": 0.0}  # to the 999 symptom's reports, where a word named another

    class Fake:
        red_flags = RED_FLAGS

        def encode(self, message):
            return message

        def assess(self, message, vectors=None, audience="patient"):
            over = closeness[message] >= self.red_flags.emergency_over_words
            return SimpleNamespace(urgent=message != "c", emergency=message != "c" and over)

    grid_choice = Point(0.42, 0.45, 0.1, 0.47, 0.5, 0.65, 0, 0, 0, 0)
    fake = Fake()
    points = refine(fake, [fit, drowsy, calm], grid_choice)
    assert [p.emergency_over_words for p in points] == list(EMERGENCY_OVER_WORDS)
    assert {(p.symptom_similarity, p.report_probability, p.emergency_similarity) for p in points} == {(0.42, 0.45, 0.5)}
    assert fake.red_flags is RED_FLAGS  # put back
    assert [(p.emergency_missed, p.over_escalated) for p in points] == [(0, 1), (0, 0), (1, 0), (1, 0), (1, 0)]
    assert choose(points).emergency_over_words == 0.55
    assert choose([p for p in points if p.emergency_over_words != 0.55]).emergency_over_words == 0.5  # 999 first


def test_a_statement_that_opens_with_cant_is_not_a_question():
    """"can't stop shivering" is how a text message reports; "Can ...?" still asks."""
    assert RULES.assess("can't stop shivering under the duvet").urgent
    assert not RULES.assess("Can the shivering be from the cold room?").urgent


def test_meaning_reads_a_question_that_names_no_one_and_no_time_as_asking(triager):
    """As the rules net does: in a message naming no one and no time, a sentence asked with a
    question mark only asks, however close it is to a symptom's reports."""
    assert not triager.assess("Why is a racing heart on the list? Is it from the fever?").urgent
    assert triager.assess("Is it from the fever? I've been burning up since lunch").urgent  # the writer, now
    assert triager.assess("can hardly breathe, gasping for each breath sitting up in bed").urgent  # no question mark


def test_a_symptom_word_said_to_be_absent_or_defined_is_not_a_report():
    assert not RULES.assess("I have no fever today and I feel fine").urgent
    assert not RULES.assess("No more shivering since the weekend.").urgent
    assert RULES.assess("no fever but I can't stop shivering").urgent  # the other word is still a report
    assert RULES.assess("can't go an hour without shivering").urgent  # "without" is not "no" ...
    # ... unless the clause before can do without it
    assert not RULES.assess("Walked to the shops and back without getting breathless, first time in ages.").urgent
    assert not RULES.assess("She came home from the ward without any fever.").urgent
    assert RULES.assess("I can barely get up the stairs without getting breathless.").urgent
    assert RULES.assess("He struggles to stand without feeling dizzy.").urgent
    assert RULES.assess("no response when I shake him").urgent  # "no" inside a symptom's own words
    assert not RULES.assess("Why does the leaflet say 37.5 when my GP says a fever is 38?").urgent
    assert RULES.assess("my GP says it's a fever and I'm shaking").urgent


@pytest.mark.parametrize("message", ["Temp fine, no chills, not breathless, slept well.",
                                     "Six months out and never had any confusion after the cells.",
                                     "Pulse 70, no bleeding gums and no new bruises today."])
def test_symptoms_listed_as_absent_are_not_reports(message):
    assert not RULES.assess(message).urgent


@pytest.mark.parametrize("message, urgent", [
    ("I'm scared I won't notice if she collapses in the night.", False),
    ("Ring the line in case he gets the shivers, they said.", False),
    ("I'm not sure if he's confused or just half asleep.", True),  # whether it is so now: asked of someone now
    ("Can you tell if she is drowsy? She keeps nodding off.", True),
])
def test_a_symptom_in_an_if_clause_is_supposed_unless_it_asks_whether_it_is_so_now(message, urgent):
    assert RULES.assess(message).urgent == urgent


def test_an_episode_placed_in_a_season_or_a_month_is_looked_back_on():
    assert not RULES.assess("I felt faint a few times back in the spring, my blood pressure tablets were changed.").urgent
    assert RULES.assess("I felt faint in the garden this morning.").urgent


@pytest.mark.slow
def test_a_sentence_denying_each_symptom_it_names_is_no_report_by_meaning(triager):
    """MiniLM does not read "no" or "not": the rules say which words are denied, and the meaning
    net's closeness on such a sentence (or on the whole message it alone makes) is set aside."""
    assert triager._denies("No temperature, no shivers, not breathless, slept all night.")
    assert not triager._denies("No temperature, but shivering and can't get warm.")
    assert not triager.assess("No temperature, no shivers, not breathless, slept all night. Can I walk to the shops now?").urgent
    assert triager.assess("No temperature, but I'm shivering and can't get warm tonight.").urgent


def test_a_worry_about_what_may_come_or_what_others_may_think_supposes():
    assert not RULES.assess("I'm scared he'll get confused after the infusion").urgent
    assert not RULES.assess("The nurses might think she's drowsy when she's just shy.").urgent
    assert RULES.assess("I'm worried he's confused tonight").urgent  # a worry about now is a report
    assert RULES.assess("I think he's confused, he called me by his sister's name").urgent


def test_a_sentence_that_opens_by_supposing_supposes(triager):
    """"Say my temperature was 37.6 ..., would I still ring?" asks about a case it imagines
    (red-flag file 1.8, cues.hypothetical); "say" without someone after it does not suppose."""
    assert not triager.assess("Say my temperature was 37.9 but I felt fine, would I still ring the line?").urgent
    assert not RULES.assess("imagine he gets the shivers at 3am, who do we call?").urgent
    assert not RULES.assess("Let's say she's a bit muddled one evening, is that an emergency?").urgent
    assert RULES.assess("say something, he's not breathing properly!").urgent
    assert RULES.assess("Say hi to the nurses. My temp is 38.6 tonight.").urgent


def test_an_animal_only_the_patient_perceives_is_still_a_report(triager):
    """An animal's own symptom is not the patient's (red-flag file 1.8), but an animal seen,
    heard or talking where there is none is a hallucination, by both nets."""
    assert triager.assess("our cat is talking to him, he says, and it keeps telling him to go outside").urgent
    assert triager.assess("the dog he keeps stroking on the sofa isn't there, we have no dog").urgent
    assert not triager.assess("Our dog has been shivering all evening, the vet thinks it's the fireworks.").urgent


def test_not_breathing_is_999_by_the_rules_alone():
    """Someone not breathing is a 999 call whatever the meaning net says (file 1.8); not
    breathing fast, or a question about what to do if it happened, is not."""
    for message in ("mum isnt breathing", "he's stopped breathing", "my wife is not breathing properly"):
        triage = RULES.assess(message)
        assert triage.urgent and triage.emergency, message
    assert not RULES.assess("his breathing is fine, not breathing fast").emergency
    assert not RULES.assess("what do I do if he stops breathing?").urgent


def test_a_sentence_saying_none_since_ends_the_episode_before_it(triager):
    """"No bleeding since." after an episode told in the past sets it aside, for both nets (its
    vector alone is close to bleeding reports); an episode of today, or something new, is not."""
    assert not triager.assess("Mum had a nosebleed on Tuesday and they gave her platelets. No bleeding since.").urgent
    assert not RULES.assess("I had the shivers last week. Nothing since.").urgent
    assert triager.assess("She had a nosebleed this morning. No bleeding since.").urgent  # today: still now
    assert triager.assess("He had a fever on Tuesday. No fever since but now he is confused.").urgent
    assert triager.assess("He was confused yesterday. No better since.").urgent  # none of a symptom, not of "better"


def test_fine_since_and_home_now_looks_back():
    """"fine since and is home now" says how someone is after an episode, not that it goes on."""
    assert not RULES.assess("Two weeks ago he had a fit on the ward, they treated him and he's been fine since "
                            "and is home now.").urgent
    assert RULES.assess("He had a fit on the ward last week, he was fine since and is home now but he is shaking "
                        "again").urgent
    assert RULES.assess("Two days ago he collapsed, is home now").urgent  # no one said he is well


def test_fear_of_a_symptom_to_come_supposes():
    """"scared of getting a fever" asks about the future (cues.hypothetical, file 1.10); "scared
    about him being so muddled" tells of now."""
    assert not RULES.assess("My wife is scared of getting a fever after her cells, what do we watch for?").urgent
    assert RULES.assess("I'm scared about him being so muddled today").urgent
    data = yaml.safe_load(DEFAULT_RED_FLAGS.read_text())
    data["cues"]["hypothetical"] = [c for c in data["cues"]["hypothetical"] if "getting|becoming" not in c]
    assert Triager(RedFlags.from_data(data)).assess(
        "My wife is scared of getting a fever after her cells, what do we watch for?").urgent


@pytest.mark.slow
@pytest.mark.parametrize("message, urgent", [
    ("I had a nosebleed on Monday, the team gave me platelets, no bleeding since", False),
    ("I had a nosebleed on the ward last week, no bleeding since but tonight my gums are oozing", True),
])
def test_a_clause_saying_there_has_been_none_since_does_not_say_now(triager, message, urgent):
    """"no bleeding since" names the symptom only to say it has not come back: its "since" is an
    ending, not now (`_says_now` skips it, as `_none_since` reads a sentence of its own)."""
    assert triager.assess(message).urgent == urgent


@pytest.mark.parametrize("message", [
    "just did her temp like they said and its 37.9, she says she feels fine, do we still ring?",
    "took his temp like the nurse told us to and it's 38.3",
])
def test_a_reading_read_off_now_reports_whatever_the_rest_of_the_sentence_places_before_now(message):
    """"like they said" (hearsay, cues.past) placed the whole sentence before now, so the
    sixteenth blind set's 37.9 C read off just now was missed; the reading's own clause decides."""
    assert RULES.assess(message).urgent


@pytest.mark.parametrize("message", [
    "my temp was 38.2 on the ward last week and it settled",
    "he had a temp of 38.5 in hospital, the team treated it and its 36.8 now",
    "they said to ring if it's over 37.5",
])
def test_a_reading_placed_before_now_or_supposed_is_still_not_a_report(message):
    assert not RULES.assess(message).urgent


@pytest.mark.slow
@pytest.mark.parametrize("message", [
    "she had icans on the ward, it was treated, now she's back to sleeping all day and hard to wake",
    "he was treated for crs last week and now he's back to shaking and shivering",
    "she is back to writing nonsense, cant spell her own name",
])
def test_back_to_a_symptom_after_an_episode_looked_after_reports(triager, message):
    """"back to ..." says nothing of how someone is by itself: "back to her crosswords" after an
    episode is someone well again, "back to sleeping all day" is not. A cue reading every "back
    to ...ing" as well (tried in the twenty-fifth session against the fifteenth set's look-alikes)
    missed all three of these."""
    assert triager.assess(message).urgent


# -- the twenty-fourth blind set's look-alikes, read as mechanisms (red-flag file 1.15) ---------
@pytest.mark.parametrize("message, urgent", [
    ("the tumble dryer keeps trembling and banging, it's driving me mad", False),
    ("our office printer is twitching and chewing up every page", False),
    # what measures someone tells of them, and a he or she is never the machine
    ("the monitor says his heart rate is 130", True),
    ("the car broke down and he's shaking all over, can't get warm", True),
    # a phone and what a house is built of (1.28); a clause of when says when, not whose
    ("My phone keeps collapsing the menu in the app whenever I try to log my temperatures.", False),
    ("The kitchen ceiling has collapsed after a leak from upstairs.", False),
    ("Our wifi keeps having a fit every time I open the video link.", False),
    ("my husband collapsed when the ceiling came down", True),
    ("the dog was shaking when my wife had a fit", True),
    # a clause going on with "it" is the machine's too (forty-ninth session); "he" never is
    ("My laptop has been slow all week and now it won't wake up at all.", False),
    ("My husband has been slow all day and now he won't wake up.", True),
])
def test_a_machine_is_never_the_patient(message, urgent):
    """cues.things, read as cues.animals are: a symptom word whose clause opens with a machine."""
    assert RULES.assess(message).urgent == urgent


def test_the_machines_are_the_files_cue_not_code():
    assert not RULES.assess("the tumble dryer keeps trembling and banging").urgent
    assert rules_without("things").assess("the tumble dryer keeps trembling and banging").urgent


@pytest.mark.parametrize("message, urgent", [
    ("our cat has been shaking and trembling since the vet", False),
    ("our cat is on the bed and trembling all over", False),
    ("our cat is on the bed and he is trembling all over", True),  # he: the cat or the patient
])
def test_a_clause_with_no_subject_goes_on_from_the_animal_before_it(message, urgent):
    """"trembling since the vet" has no subject of its own: it is the cat's, as the clause before."""
    assert RULES.assess(message).urgent == urgent


@pytest.mark.parametrize("message, urgent", [
    ("the gentleman in the next bay was confused in the night, calling for his wife", False),
    ("the gentleman in the next bay was confused in the night, and so was my dad", True),
    ("the lady opposite was confused in the night, it kept me awake", False),
    ("the lady opposite was confused in the night and so was I", True),
])
def test_a_strangers_own_kin_and_the_writers_reaction_leave_it_the_strangers(message, urgent):
    """"his wife" in a stranger's sentence is the stranger's kin, not someone the writer cares
    for; the writer in a clause naming no symptom tells what they made of it, unless "so was I"."""
    assert RULES.assess(message).urgent == urgent


@pytest.mark.parametrize("message, urgent", [
    ("My mum (not the patient - she's 88) gets very muddled in the evenings.", False),
    ("My mum (the patient - she's 68) gets very muddled in the evenings.", True),
    ("My dad (who had CAR-T - he's 70) is very muddled tonight.", True),
])
def test_a_dash_inside_brackets_does_not_end_the_sentence(message, urgent):
    """The aside in brackets says who is ill; cut at its dash, the symptom lost who it was."""
    assert RULES.assess(message).urgent == urgent


@pytest.mark.parametrize("message, urgent", [
    ("the man in the bed next to my husband was confused in the night", False),
    ("the lady in the bay opposite my mum had a fit yesterday, the nurses were quick", False),
    ("the lady opposite me in the day unit fainted this morning, the nurses sorted her out", False),
    ("the man in the bed next to my husband was confused in the night and so was my husband", True),
    ("my husband is in the bed next to the window and he is really confused", True),
    ("the man in the bed next to my husband was confused and my husband is shaking", True),
    ("a man collapsed next to my husband in the waiting room", True),  # a verb is not a place
])
def test_someone_the_writer_knows_may_only_say_where_a_stranger_was(message, urgent):
    """"next to my husband" just after a stranger places the stranger; it does not name who is ill."""
    assert RULES.assess(message).urgent == urgent


def test_someone_on_the_screen_is_a_stranger():
    assert not RULES.assess("We were watching a hospital drama and someone had a seizure on it").urgent
    assert RULES.assess("We were watching a hospital drama and he had a seizure on the sofa").urgent


@pytest.mark.slow
def test_the_patients_relative_saying_so_is_the_writer_who_cares(triager):
    """"I'm his wife": the writer's own tummy bug is the carer's, as "I'm his carer" makes it (the
    meaning net read it as close to breathing reports)."""
    assert not triager.assess("My husband had CAR-T in May. I'm his wife and I've come down with a tummy bug.").urgent
    assert triager.assess("My husband had CAR-T in May. He's come down with a tummy bug and the shivers.").urgent


@pytest.mark.parametrize("message, urgent", [
    ("I'm confused by the consent form, which page do I sign?", False),
    ("honestly confused about the parking at the new building", False),
    ("dad is confused about where he is tonight", True),
    ("she's confused by the simplest things today", True),
])
def test_confused_by_paperwork_is_another_sense(message, urgent):
    assert RULES.assess(message).urgent == urgent


@pytest.mark.parametrize("message", ["going a bit stir crazy with cabin fever at home",
                                     "the excitement in the house is at fever pitch"])
def test_a_fever_idiom_is_no_temperature(message):
    assert not RULES.assess(message).urgent


def test_severely_short_of_breath_in_clinicians_words_is_999():
    triage = Triager(RED_FLAGS).assess("pt d+6, RR 32, severely SOB at rest", audience="clinician")
    assert triage.urgent and triage.emergency


@pytest.mark.slow
@pytest.mark.parametrize("message, urgent", [
    ("Ten days ago she was seeing people who weren't there and was kept in for it. Since coming home she's been "
     "totally clear. Can she go back to choir?", False),
    ("Ten days ago she was seeing people who weren't there and was kept in for it. The team told us she's "
     "recovered. Can she go back to choir?", False),
    ("Ten days ago she was seeing people who weren't there and was kept in for it. Tonight she's seeing them "
     "again.", True),
    ("he's recovered from the fit but now he's confused", True),
])
def test_recovered_or_clear_since_says_someone_is_well(triager, message, urgent):
    """"recovered" and "been totally clear" say someone is well (cues.well_now), so a sentence
    saying only that is no report by meaning (it stood 0.43 from collapse reports)."""
    assert triager.assess(message).urgent == urgent


@pytest.mark.slow
@pytest.mark.parametrize("message, urgent", [
    ("Week three at home. Breathing much better on the stairs since I got back.", False),
    ("Thermometer says 36.3, seems low. He's otherwise fine and went out for a walk today.", False),
    ("Week three at home. Breathing much harder on the stairs since this morning.", True),
])
def test_doing_better_or_otherwise_fine_says_someone_is_well(triager, message, urgent):
    """cues.well_now (1.15): "breathing much better" stood 0.55 from breathing reports by meaning,
    "otherwise fine" with a walk 0.44 from collapse reports."""
    assert triager.assess(message).urgent == urgent


@pytest.mark.parametrize("sentence, well", [
    ("she's doing really well, pottering about again", True),
    ("he's doing pretty well now", True),
    ("I'm doing fine", True),
    ("she's not doing really well", False),
    ("he's doing really well but shaky", False),
])
def test_doing_well_with_an_intensifier_says_someone_is_well(sentence, well):
    """cues.well_now (1.27) reads "doing really well" as "doing well", as its first cue reads
    "feeling really well": a sentence saying only that was read by meaning and stood 0.47 from
    reading-writing reports, telling a carer asking about a swimming class to call the line."""
    assert Triager(RED_FLAGS)._says_well(sentence) == well


@pytest.mark.slow
@pytest.mark.parametrize("message, urgent", [
    # "hasn't come back since", said of an episode on the ward or the day unit (cues.ended, 1.16)
    ("Her nosebleed last Tuesday was sorted at the day unit and it hasn't come back since.", False),
    ("the team sorted her shaking on the ward and it hasn't come back since", False),
    ("She had a nosebleed on Saturday and it hasn't stopped since.", True),
    ("she had the shakes on the ward and they haven't stopped since", True),
    # back to everyday life (not_red_flags, 1.16): no report by meaning ...
    ("Grandad's back on his feet now and out walking the dog every morning.", False),
    # ... unless a symptom is told beside it, or the words say the opposite
    ("He's back on his feet after the ward, but tonight he's muddled and doesn't know where he is.", True),
    ("Grandad's been off his feet all day, he can barely stay awake.", True),
])
def test_an_episode_over_and_back_to_everyday_life_is_no_report(triager, message, urgent):
    """Red-flag file 1.16: the shortened "not" in an ending ("it hasn't come back since") reads
    as "not come back since", and everyday news of someone back to their life after a treated
    episode stands among the news the meaning net weighs reports against ("back on his feet" stood
    closer to collapse reports than to any news before). Each of the first, second and fifth was
    urgent with the file's 1.15."""
    assert triager.assess(message).urgent == urgent


@pytest.mark.slow
def test_one_close_report_is_enough_for_the_line_but_not_for_999(embedder):
    """semantic.single_report_margin (1.16): a sentence 0.75 from one report of a symptom of the
    24-hour line is as close to it as 0.75 less the margin, when that is more than the mean of its
    three closest; a 999 symptom still needs the mean of three."""
    import numpy as np

    margin = RED_FLAGS.single_report_margin
    assert margin > 0
    served, without = Triager(RED_FLAGS, embedder), Triager(replace(RED_FLAGS, single_report_margin=0.0), embedder)
    rng = np.random.default_rng(0)
    for symptom_id, counts in (("hallucinations", True), ("seizure", False)):
        j = next(k for k, s in enumerate(served._symptoms) if s.id == symptom_id)
        report = served._reports[served._columns[j][0]].astype(np.float64)
        other = rng.normal(size=report.shape)
        other -= (other @ report) * report
        other /= np.linalg.norm(other)
        vector = (0.75 * report + np.sqrt(1 - 0.75 ** 2) * other).astype(np.float32)[None, :]
        near, mean = served._judge(vector)[0][0, j], without._judge(vector)[0][0, j]
        if counts:
            assert near == pytest.approx(0.75 - margin, abs=1e-3) and near > mean
        else:
            assert near == pytest.approx(mean)


@pytest.mark.slow
@pytest.mark.parametrize("message", [
    "dad is dead to the world and I've tried everything to rouse him",
    "I've been trying to wake my husband for ten minutes, he just lies there",
    "mum is totally out of it, eyes shut, floppy, I've shouted and shaken her",
    "husbands been asleep since lunch and I can barely rouse him",
    "mum's eyes roll back when I try to wake her and she goes straight back under",
    "he woke briefly at lunch, since then he's been out of it and I can barely rouse him",
    "I'm awake with him all night, he's floppy and totally out of it, I'm shaking him",
    "mum answered me at breakfast but now she's limp and I'm shouting at her",
])
def test_someone_who_cannot_be_woken_is_999_told_without_a_not(triager, message):
    """Withdrawn in the thirty-eighth session: cannot-wake read by meaning only in a sentence with
    a "not" or its like (every one of its report examples has one) told 21 fewer dev reports of
    drowsiness to call 999, but lost the 999 of these fresh wordings, which tell it by what the
    carer does ("tried everything to rouse him", "I'm shaking him"), not by what the patient does
    not do. 999 first is never traded for fewer calls."""
    told = triager.assess(message)
    assert told.urgent and told.emergency, told.reason


@pytest.mark.slow
@pytest.mark.parametrize("message, emergency", [
    ("he went down in the kitchen, I thought he might have tripped but he isn't moving", True),
    ("she fell in the bathroom, might have fainted, she's not answering me", True),
    ("he might have collapsed, I found him on the floor", True),
    ("mum might have blacked out, she doesn't remember getting to the floor", True),
    ("she might have had a fit in the night, the bed is soaked and she's very confused", True),
    ("dad might have hit his head when he went down, he's not making sense", None),
    ("I think he might have a temperature, he's burning up", None),
])
def test_what_might_have_happened_is_a_report_not_a_supposition(triager, message, emergency):
    """Red-flag file 1.18: "might have" before what has happened speculates about it ("he might
    have collapsed, I found him on the floor"): a report. Each of these was not urgent at all with
    1.16, which read any "might have" as supposing and left the sentence unread by both nets
    (None: urgent, whichever number comes first)."""
    told = triager.assess(message)
    assert told.urgent and (emergency is None or told.emergency == emergency), told.reason


@pytest.mark.parametrize("message", ["might I get the shakes after the cells?", "what might happen if I get a fever?",
                                     "he might have a fit, the leaflet says, what do I do then?"])
def test_what_might_come_still_supposes(message):
    assert not RULES.assess(message).urgent


@pytest.mark.slow
@pytest.mark.parametrize("message", [
    "dad's shaking and shivering tonight and his clinic is next week",
    "she's very confused this evening and her appointment is next week, should we wait?",
    "messaging just in case but he's burning up and shivery",
    "I suppose she's a bit breathless tonight, puffing after a few steps",
    "we're off home next week and tonight she's seeing things on the walls",
    "in case it matters, he's been really muddled since lunch",
])
def test_a_supposing_aside_does_not_hide_a_report(triager, message):
    """What a supposition cue supposes ends at its comma, "but" or "then" ("next week" is only
    itself): each of these was read as supposing whole, by both nets, and was not urgent at all."""
    assert triager.assess(message).urgent, message


def test_which_suppositions_are_only_a_time_to_come_is_data():
    """cues.time_ahead ("next week") supposes only its own words; the same cue as an ordinary
    supposition supposes to the end of its clause, and "his clinic is next week and he's
    shivering tonight" is then read as supposing whole (the rules net alone, no model)."""
    message = "his clinic is next week and he's shivering tonight"
    assert RULES.assess(message).urgent
    data = yaml.safe_load(DEFAULT_RED_FLAGS.read_text())
    data["cues"]["hypothetical"] += data["cues"].pop("time_ahead")
    assert not Triager(RedFlags.from_data(data)).assess(message).urgent
    data["cues"]["time_ahead"] = ["next (week|month"]
    with pytest.raises(UsageError, match="cues.time_ahead"):
        RedFlags.from_data(data)


@pytest.mark.slow
@pytest.mark.parametrize("message", [
    "he keeps dozing off in his chair but I can wake him easily and he knows who I am",
    "my wife has slept most of today, she does wake when I give her a nudge but drifts off again",
    "dad is very sleepy this evening, he wakes up fine when I talk to him but keeps nodding off",
])
def test_someone_who_does_wake_is_drowsy_for_the_line_not_999(triager, message):
    """Red-flag file 1.21 (cannot-wake's `instead`): each of these was told 999 with 1.20, read by
    meaning as someone who cannot be woken; the person wakes, so it is drowsiness: urgent, the
    24-hour line."""
    told = triager.assess(message)
    assert told.urgent and not told.emergency, told.reason
    assert "drowsiness" in told.reason or "drowsy" in " ".join(told.symptoms), told


@pytest.mark.slow
@pytest.mark.parametrize("message, audience", [
    ("my wife went all wobbly at the top of the stairs. she didn't go down, I held onto her, and she's sat on the step chatting", "patient"),
    ("Practice nurse: pt felt faint in the waiting room, stayed conscious throughout, sat with legs raised, now talking. d+8.", "clinician"),
    ("mum went white as a sheet in the queue and felt she would drop, but she never went down and is sitting on a bench talking to me", "patient"),
])
def test_someone_who_stayed_conscious_is_faint_for_the_line_not_999(triager, message, audience):
    """Red-flag file 1.22 (collapse's `instead`, read over the message): each of these was told
    999 with 1.21, a sentence read by meaning as a collapse; the message says the person stayed
    conscious or did not go down, so it is feeling faint: urgent, the 24-hour line."""
    told = triager.assess(message, audience=audience)
    assert told.urgent and not told.emergency, told.reason


@pytest.mark.slow
@pytest.mark.parametrize("message, why", [
    # seizure's `instead`, read over the message: the person is awake and talking
    ("my husband's thumb and first finger keep twitching on their own this evening. he's wide awake and chatting about the football",
     "read as tremor"),
    ("grans lip keeps jumping and her left hand is doing little jerks, shes alert and knows exactly where she is", "read as tremor"),
    # a 999 word of the rules said not to have happened ("haven't fainted"): the symptom its `instead` names
    ("i feel woozy when i stand but i havent fainted or anything", "said not to have happened"),
    ("Light-headed on and off since lunch. Not actually passed out, just had to sit down.", "said not to have happened"),
])
def test_what_the_file_says_is_the_lesser_symptom_is_for_the_line_not_999(triager, message, why):
    """Red-flag file 1.23: each of these was told 999 with 1.22 (a fit read by meaning; a
    collapse read by the rules' "fainted", "passed out"); each is the lesser symptom the 999
    symptom's `instead` names: urgent, the 24-hour line."""
    told = triager.assess(message)
    assert told.urgent and not told.emergency, told.reason
    assert why in told.reason, told.reason


@pytest.mark.slow
@pytest.mark.parametrize("message", ["her hand is jerking and now her whole body has gone stiff, shes awake",
                                     "his arm keeps jerking and he isnt answering me, eyes staring",
                                     "dads hand is jerking and he fell on the floor, hes conscious but dazed"])
def test_a_sign_of_the_999_symptom_keeps_its_999_beside_a_lesser_word(triager, message):
    """Red-flag file 1.23 (`signs`): each of these was told the 24-hour line with 1.22, the
    meaning net's fit or collapse set aside for the tremor word in the sentence; the sentence
    says the whole body went stiff, or no answer, or a fall to the floor: 999."""
    told = triager.assess(message)
    assert told.emergency, told.reason


@pytest.mark.slow
@pytest.mark.parametrize("message, audience", [
    ("Practice nurse here. Unable to rouse the patient at my visit just now, responds to pain only. Day 11 post CAR-T.", "clinician"),
    ("mum is unable to wake up properly, I've been shaking her shoulder for ages", "patient"),
])
def test_unable_to_is_read_as_cant(triager, message, audience):
    """Red-flag file 1.23 (`cues.cannot`): the file's words say "can't rouse"; "unable to rouse"
    was not read by the rules net (a district nurse's message was not urgent at all)."""
    told = triager.assess(message, audience=audience)
    assert told.emergency, told.reason
    assert "cannot-wake" in told.reason, told.reason


@pytest.mark.parametrize("message, urgent", [
    # ... and in the perfect or the past, and "no longer" (file 1.30)
    ("She hasn't been able to find her words since this morning, is that one of the side effects?", True),
    ("He can no longer get his words out since lunch.", True),
    ("I haven't been able to get to the shops since my CAR-T, can my son collect my prescription?", False),
])
def test_has_not_been_able_to_is_read_as_cant(message, urgent):
    told = RULES.assess(message)
    assert told.urgent == urgent, told.reason
    assert not urgent or "read as can't" in told.reason


@pytest.mark.slow
@pytest.mark.parametrize("message", ["Care home: resident unconscious in the lounge, GCS 6. CAR-T 3 weeks ago.",
                                     "she's not fainted, she's lying on the floor and won't get up",
                                     "he isn't just dizzy, he has collapsed"])
def test_a_999_word_not_denied_stays_999(triager, message):
    """"resident" ends in "nt" and denies nothing; a fall to the floor said beside a denied
    faint, or a collapse said after another word is denied, is still 999."""
    assert triager.assess(message, audience="clinician" if message.startswith("Care") else "patient").emergency, message


@pytest.mark.slow
@pytest.mark.parametrize("message", ["grandad cant say what year it is tonight, he was fine this morning",
                                     "he doesnt remember what day it is since lunch"])
def test_not_knowing_the_day_or_year_by_any_verb_is_confusion(triager, message):
    """Red-flag file 1.23: confusion's words had "doesn't know what day it is" only; not being
    able to say, tell or remember it is the same sign (each not urgent with 1.22)."""
    told = triager.assess(message)
    assert told.urgent and "confusion" in told.reason, told.reason


@pytest.mark.slow
def test_not_knowing_the_day_of_an_appointment_is_no_confusion(triager):
    assert not triager.assess("I do not know what day my appointment is, can you tell me").urgent


def test_a_sign_makes_a_closer_than_urgent_reading_999_unless_only_nearly():
    """A meaning reading of a 999 symptom close enough for the line but not for 999 is 999 when
    the sentence says one of the symptom's signs; not when the sign only nearly happened, or is
    said not to have."""
    flags = RedFlags.load(DEFAULT_RED_FLAGS)
    collapse = next(s for s in flags.symptoms if s.id == "collapse")
    weak = (flags.symptom_similarity + flags.emergency_similarity) / 2

    def hit(sentence):
        return triage_module._Hit("meaning", collapse, sentence, "close to collapse reports", similarity=weak)

    assert hit("he's just gone down in the queue at the shop, completely out for a bit").emergency(flags)
    assert not hit("he's just wobbly in the queue at the shop").emergency(flags)
    assert not hit("nearly went over in the kitchen just now").emergency(flags)
    assert not hit("she never went down, I caught her").emergency(flags)


def test_signs_keep_a_999_reading_so_only_a_999_symptom_has_them():
    data = yaml.safe_load(DEFAULT_RED_FLAGS.read_text())
    tremor = next(s for s in data["symptoms"] if s["id"] == "tremor")
    tremor["signs"] = ["all over"]
    with pytest.raises(UsageError, match="symptom 'tremor': 'signs' keep a 999 reading"):
        RedFlags.from_data(data)
    seizure = next(s for s in data["symptoms"] if s["id"] == "seizure")
    tremor.pop("signs")
    seizure["signs"] = ["(stiff"]
    with pytest.raises(UsageError, match="symptom 'seizure' signs"):
        RedFlags.from_data(data)


@pytest.mark.slow
@pytest.mark.parametrize("message", ["she's having a fit but she's awake and talking",
                                     "his arms and legs are jerking all over, he's awake and talking nonsense"])
def test_a_fit_in_words_or_with_the_whole_body_taken_stays_999(triager, message):
    assert triager.assess(message).emergency, message


@pytest.mark.slow
@pytest.mark.parametrize("message", ["he collapsed in the hall, he didn't lose consciousness but he's still on the floor",
                                     "he went down in the kitchen and didn't pass out but I can't get him up"])
def test_a_collapse_said_in_words_or_with_someone_still_down_stays_999(triager, message):
    assert triager.assess(message).emergency, message


@pytest.mark.slow
@pytest.mark.parametrize("message", ["I can wake him but he just groans and can't answer me",
                                     "dad is dead to the world and I've tried everything to rouse him"])
def test_a_wake_that_is_denied_or_not_said_stays_999(triager, message):
    assert triager.assess(message).emergency, message


def test_what_a_symptom_is_read_as_instead_names_another_symptom_of_the_file():
    data = yaml.safe_load(DEFAULT_RED_FLAGS.read_text())
    wake = next(s for s in data["symptoms"] if s["id"] == "cannot-wake")
    wake["instead"]["symptom"] = "sleepiness"
    with pytest.raises(UsageError, match="instead.symptom 'sleepiness' is not another symptom id"):
        RedFlags.from_data(data)
    wake["instead"] = {"symptom": "drowsiness"}
    with pytest.raises(UsageError, match="instead.when"):
        RedFlags.from_data(data)
    wake["instead"] = {"symptom": "drowsiness", "when": ["wakes up"], "scope": "paragraph"}
    with pytest.raises(UsageError, match="instead.scope must be sentence or message, not 'paragraph'"):
        RedFlags.from_data(data)


@pytest.mark.slow
@pytest.mark.parametrize("message", [
    "my knee has been clicking every time I go upstairs", "dad's tummy keeps gurgling, tea is running late",
    "I'm feeling a bit down and sick of being stuck indoors", "she's gained a few pounds since she came home",
    "dad's hair is coming back curly and grey",
])
def test_everyday_news_of_the_kinds_the_file_names_is_no_red_flag(triager, message):
    """Red-flag file 1.20's everyday news (body news outside the list, feelings, hair and weight):
    each of these was urgent with 1.19, read by meaning near a tremor, drowsiness, unwell,
    collapse or fit report (the hair, a fit: 999)."""
    told = triager.assess(message)
    assert not told.urgent, told.reason


@pytest.mark.slow
@pytest.mark.parametrize("message", [
    "what should I do if I get a fever and chills?", "What if he gets confused, is that 999?",
    "I'm starting CAR-T next week, what should I do if I get a temperature?",
    "in case I get the shakes next week, who do I ring?", "would I need to ring if I felt dizzy after the infusion?",
    # a sentence that opens by supposing supposes all of its clause, across "but", as "if" does
    # (urgent before: what was left, "his temperature is normal", stood near fever reports)
    "Say he's shivery but his temperature is normal, do I still ring?",
])
def test_a_sentence_that_only_supposes_still_does(triager, message):
    assert not triager.assess(message).urgent, message


def test_all_symptoms_words_in_one_pattern_find_what_each_symptoms_own_find():
    """The rules net reads any symptom's words with one pattern (the word's start said once before
    all the alternatives, for speed): on every example in the file it finds the same first word
    as the symptoms' own patterns, and nothing where none of them finds one."""
    words = Triager(RED_FLAGS)._any_term
    texts = [t for s in RED_FLAGS.symptoms for t in (*s.reports, *s.questions, *s.describes)]
    texts += [*RED_FLAGS.not_red_flags, *RED_FLAGS.general_questions, "measure it now", "he's know-how"]
    found = 0
    for text in texts:
        own = [m for s in RED_FLAGS.symptoms if s.terms for m in [s.terms.search(text)] if m]
        first = min((m.start() for m in own), default=None)
        match = words.search(text)
        assert (match.start() if match else None) == first, text
        found += match is not None
    assert 0 < found < len(texts)


def test_a_fits_signs_are_said_of_a_fit_not_everyday_english():
    """Red-flag file 1.24: "all over" and "blank" alone were signs of a fit; they are said of a
    pulse all over the place and of someone looking blank when asked, so only the fit's own
    uses count (the whole body jerking, the eyes gone blank)."""
    seizure = next(s for s in RED_FLAGS.symptoms if s.id == "seizure")
    for sentence in ("her pulse is all over the place tonight", "he looks blank when I ask him the date",
                     "I ache all over"):
        assert not triage_module._signs_said(seizure, sentence), sentence
    for sentence in ("he was jerking all over on the sofa", "her eyes went blank and she didn't answer",
                     "his arms went rigid"):
        assert triage_module._signs_said(seizure, sentence), sentence


def test_a_sign_inside_a_lesser_symptoms_own_words_is_that_symptoms():
    fit = triage_module.Symptom("fit", "a fit", "call-999", (), None, ("x",), (), signs=re.compile(r"rigid", re.I))
    cold = triage_module.Symptom("cold", "chills", "call-24h", (), re.compile(r"rigid with cold", re.I), ("x",), ())
    assert triage_module._signs_said(fit, "she's rigid with cold")
    assert not triage_module._signs_said(fit, "she's rigid with cold", [cold])
    assert triage_module._signs_said(fit, "she's rigid with cold and then went rigid all over", [cold])


def test_a_lesser_reading_close_enough_to_a_999_symptom_with_its_sign_is_999_too():
    """Red-flag file 1.24: the meaning net's closest symptom is a lesser one (a tremor), but the
    sentence is as close to fit reports as 999 needs and says a fit's sign: it is a fit too.
    Closeness built by hand, so the test reads the rule, not the model."""
    triager = Triager(RED_FLAGS)
    ids = [s.id for s in triager._symptoms]
    closeness = np.zeros(len(ids), dtype=np.float32)
    nearest = np.zeros(len(ids), dtype=np.int64)
    closeness[ids.index("seizure")] = RED_FLAGS.emergency_similarity + 0.01
    hits = triager._signed_emergency("his hands were shaking and then his arms went rigid", closeness, nearest, 0.9)
    assert [h.symptom.id for h in hits] == ["seizure"] and hits[0].emergency(RED_FLAGS)
    assert not triager._signed_emergency("his hands were shaking and he felt cold", closeness, nearest, 0.9)
    closeness[ids.index("seizure")] = RED_FLAGS.emergency_similarity - 0.01
    assert not triager._signed_emergency("his hands were shaking and then his arms went rigid", closeness, nearest, 0.9)


def test_patterns_made_otherwise_are_kept_whole_in_one():
    """`any_of` says the word's start once only for the file's own word lists; a pattern made
    some other way keeps its own meaning beside them (cut as if it were one, it became an empty
    alternative that matched anywhere)."""
    from assistant.reviewed import alternation, any_of

    problems: list[str] = []
    words = alternation(["fever", "chills"], "test", problems)
    plain = re.compile(r"\d+ ?bpm", re.I)
    both = any_of([words, plain])
    assert not problems
    assert both.search("pulse 120bpm") and both.search("a fever") and not both.search("feverfew")
    assert not any_of([])


def test_clause_reading_is_optional_data_checked():
    """Red-flag file 1.25: `semantic.clause_agreement` (0 or absent: clauses not read) and
    `semantic.clause_min_words`, checked as a probability under 1 and a whole number of words."""
    data = yaml.safe_load(DEFAULT_RED_FLAGS.read_text())
    flags = RedFlags.from_data(data)
    assert 0 < flags.clause_agreement == data["semantic"]["clause_agreement"] < 1
    assert flags.clause_min_words == data["semantic"]["clause_min_words"]
    for bad, says in ((1.0, "under 1"), ("most", "must be a number")):
        data["semantic"]["clause_agreement"] = bad
        with pytest.raises(UsageError, match=says):
            RedFlags.from_data(data)
    data["semantic"]["clause_agreement"] = 0.9
    data["semantic"]["clause_min_words"] = "twelve"
    with pytest.raises(UsageError, match="clause_min_words"):
        RedFlags.from_data(data)
    data["semantic"]["clause_min_words"] = 12
    data["semantic"]["clause_within"] = "a bit"
    with pytest.raises(UsageError, match="'clause_within' must be a number"):
        RedFlags.from_data(data)
    del data["semantic"]["clause_agreement"], data["semantic"]["clause_min_words"], data["semantic"]["clause_within"]
    assert RedFlags.from_data(data).clause_agreement == 0.0


@pytest.mark.slow
def test_a_report_in_one_clause_of_a_long_sentence_is_read_when_the_classifier_agrees(embedder, monkeypatch):
    """Red-flag file 1.25: a long sentence about something else with a report in one clause
    stands under the meaning net's thresholds as a whole (but within `clause_within` of them);
    read clause by clause, the report is found, and it counts (the 24-hour line, never 999)
    only when the message classifier gives the whole message at least `clause_agreement`."""
    message = ("sorry, question about the parking form for monday, my husband's signature has come out tiny and "
               "cramped on it twice today, nothing like his usual one")
    served = Triager(RED_FLAGS, embedder, Veto.load())
    found = served.assess(message)
    assert found.urgent and not found.emergency and "as a clause of its sentence" in found.reason
    assert not Triager(replace(RED_FLAGS, clause_agreement=0.0), embedder, Veto.load()).assess(message).urgent
    monkeypatch.setattr(served, "veto_probability", lambda text, layers=None: RED_FLAGS.clause_agreement - 0.01)
    assert not served.assess(message).urgent
