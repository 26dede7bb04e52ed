"""Red-flag triage on wordings written for this test (the golden set has its own)."""

import pytest

from assistant.triage import assess

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
    "is it normal for my hands to feel wobbly after the infusion, or is that a warning sign?",
]


@pytest.mark.parametrize("message", URGENT + EMERGENCY)
def test_red_flags_are_urgent(message):
    assert assess(message).urgent, message


@pytest.mark.parametrize("message", EMERGENCY)
def test_fit_collapse_or_cannot_wake_needs_999(message):
    assert assess(message).emergency


@pytest.mark.parametrize("message", URGENT)
def test_other_red_flags_are_not_999_first(message):
    assert not assess(message).emergency, message


@pytest.mark.parametrize("message", INFORMATIONAL)
def test_questions_about_symptoms_are_not_flagged(message):
    assert not assess(message).urgent, message
