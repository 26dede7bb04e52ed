"""Red-flag triage: runs before anything else, on the user's own message.

Entry point: `Triager(red_flags, embedder).assess(message) -> Triage`. What triage knows
lives in a reviewed data file, `safety/red-flags.yaml` (read and validated by
`red_flags.RedFlags.load`; this module holds the two nets that read it): each symptom's
action (24-hour line or 999), its explicit words, and example reports and example questions
written by people. The code holds no symptom words.

Two nets look at each sentence of the message; either one flags it:
- **rules**, for what rules do well: a temperature reading at or over the threshold (in C
  or F, dot or comma decimals), or an explicit symptom word, in a sentence that reports
  something happening now (it names who, or it is a statement rather than a question) and
  does not suppose ("if I get a fever") or look back at an episode that is over.
- **meaning**: the packaged MiniLM embeds each sentence (and the whole message). A sentence
  is urgent when it is close to one symptom's example reports (mean of the 3 closest),
  closer to them than to the file's everyday news (`not_red_flags`), and a small classifier
  fitted at start-up on the file's examples (reports against questions; `fit_logistic`)
  says it reports rather than asks. A report that ends "is this normal?" is still a
  report: each sentence is judged on its own. As in the rules net, in a message that names
  no one and no time, a sentence asked with a question mark only asks.
When the nets disagree, urgent wins: a missed red flag costs more than an extra call.
A flag of the meaning net alone, not a 999 situation (or one it reads only just: under the
file's `emergency_set_aside_below`), is read once more as a whole message by
a classifier fitted on people's messages (`triage_veto`, calibration/triage-veto.json), which
may set it aside when it is sure the message tells of no symptom now ("Is there a leaflet in
Polish? My mother reads English slowly"), except near a report example it was not fitted on.
When the message has a temperature in it, the rule on the number alone decides fever
("my temp is 36.9, is that ok?", "is 37.5 the number you ring at?"): there, it is exact.

A clinician's message (`assess(..., audience="clinician")`) is read by the same nets with the
file's words for how clinicians name the patient they see ("pt", "49F", "d+8") counted as
naming someone, "a febrile post CAR-T patient" read as patients in general, and a note
without a subject in a message that names the patient read as a statement.

`Triage.reason` says which net fired and on what, so a clinician reading the log sees why.
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from .embedding import encode_cached, encode_message
from .red_flags import DEFAULT_RED_FLAGS, RedFlags, Symptom
from .reviewed import any_of
from .text import Vocabulary, english_word, plain_quotes
from .records import Triage
from .triage_veto import DEFAULT_VETO, MessageLayers, Veto, example_key, message_text

__all__ = ["RedFlags", "Symptom", "Triage", "Triager", "DEFAULT_RED_FLAGS", "meaning_texts", "sentences"]

TOP = 3  # a sentence's closeness to a symptom: the mean of its 3 closest example reports

# 38.5 or, as much of Europe writes it, 38,5; "38 point 2"
_TEMPERATURE = re.compile(r"(?<![\d.,])(\d{2,3}(?:(?:[.,]| point )\d)?)\s*(?:[°º]|deg(?:rees?)?|degs?)?\s*([cf])?(?![\d])\b", re.I)
# "T 38.0", "T=37.8": the abbreviation of temperature in charts and clinicians' notes.
_TEMP_CONTEXT = re.compile(r"\btemp|\bT\s?[:=]?\s?\d{2}[.,]\d\b|\bfever|\bthermometer|\btoo high\b|\breading\b|\bhot\b|\bwarm\b|\bsweat|[°º]|\bdegrees?\b|\b\d{2}([.,]\d)?\s*[cf]\b"
                           r"|\bgrad(os?|i)?\b|\bdegr[eé]s?\b|\bgraus\b|体温|度", re.I)
_DIGITS = {w: str(i) for i, w in enumerate("zero one two three four five six seven eight nine".split())}
# Readings in words, Celsius and Fahrenheit: "thirty eight point two", "ninety nine point eight",
# "a hundred and one" (longest first, so "a hundred and one" is not read as "a hundred").
_WORD_NUMBERS = {"thirty six": "36", "thirty seven": "37", "thirty eight": "38", "thirty nine": "39", "forty": "40",
                 **{f"ninety {w}": f"9{d}" for w, d in _DIGITS.items() if d >= "5"},
                 **{f"{a}hundred": "100" for a in ("a ", "one ", "")},
                 **{f"{a}hundred and {w}": f"10{d}" for a in ("a ", "one ", "") for w, d in _DIGITS.items() if "1" <= d <= "6"}}
_WORD_NUMBER = re.compile(r"\b(" + "|".join(w.replace(" ", r"\s+") for w in sorted(_WORD_NUMBERS, key=len, reverse=True))
                          + r")\b", re.I)
_POINT = re.compile(r"\b(\d{2,3}) point (" + "|".join(_DIGITS) + r")\b", re.I)
# Sentence ends, and a comma before a question clause ("feel awful, do i need to ring").
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+|\s+-\s+|(?<=\w)\s*\.\.\.\s*"
                       r"|,\s*(?=(?:do|does|should|shall|is|are|can|could|will|would|what|why|how|when|which|who)\s+"
                       r"(?:i|we|you|he|she|they|it|that|this|these|there|the|my)\b)", re.I)
# ("can't stop shivering", "isn't eating" open a statement: a question they start ends with "?".)
_QUESTION_FORM = re.compile(r"\?\s*$|^\s*(what|why|how|when|which|who|where|whats|what's|hows|how's|whys|why's|wheres|where's|whos|who's|is|are|does|do|did|can|could|should|will|would|explain|tell me|define|describe)\b(?!n?['’]t\b)", re.I)
_IF = re.compile(r"\bif\b", re.I)
# A symptom word in a clause that opens with "if" or "in case" is supposed ("I worry I won't hear
# him if he collapses at night"), unless the "if" asks whether it is so now ("not sure if he's
# confused", "can you tell if she's drowsy": an indirect question about someone now).
_IF_CLAUSE = re.compile(r"(?<!\bsure )(?<!\bknow )(?<!\bwonder )(?<!\bwondering )(?<!\btell )(?<!\bsee )(?<!\bcheck )"
                        r"(?<!\bask )(?<!\basking )(?<!\bcertain )(?<!\bunsure )(?<!\bnoticed )(?<!\bmatter )\b(?:if|in case)\b", re.I)
# Where an "if" clause's condition ends: "If it's night and the thermometer says 37.6, do I wait?"
_CONDITION_END = re.compile(r"[,;:?!]|\s-\s|\bthen\b", re.I)


def _spans(cue: re.Pattern, sentence: str, end_of) -> list[tuple[int, int]]:
    """The spans of a sentence that `cue`'s matches govern: from each match to where
    `end_of(match)` (a pattern, searched from the match's end) first matches, or to the end of
    the sentence; `end_of` None: the match alone."""
    spans = []
    for match in cue.finditer(sentence):
        end_pattern = end_of(match)
        if end_pattern is None:
            spans.append(match.span())
            continue
        end = end_pattern.search(sentence, match.end())
        spans.append((match.start(), end.start() if end else len(sentence)))
    return spans


def _blank(sentence: str, spans: list[tuple[int, int]]) -> str:
    """The sentence with `spans` blanked out (offsets kept)."""
    for start, end in spans:
        sentence = sentence[:start] + " " * (end - start) + sentence[end:]
    return sentence


def _conditions(sentence: str) -> list[tuple[int, int]]:
    """The spans of a sentence's "if" conditions: from the "if" (`_IF_CLAUSE`: not "not sure if")
    to the comma, "then" or question mark that ends the condition, whatever "and" joins inside
    it ("if it's the middle of the night and the thermometer says 37.6, ...": both are supposed)."""
    return _spans(_IF_CLAUSE, sentence, lambda match: _CONDITION_END)


# Where what a supposition cue supposes ends: "in case it matters, he's been muddled since lunch",
# "messaging just in case but he's burning up" (`Triager._set_aside_supposed`).
_SUPPOSED_END = re.compile(r"[,;:?!]|\s-\s|\b(?:then|but)\b", re.I)


def _supposed_spans(cue: re.Pattern, time_ahead: re.Pattern | None, sentence: str) -> list[tuple[int, int]]:
    """The spans of a sentence that its supposition cues (cues.hypothetical) suppose: from each
    cue to the comma, "but", "then" or question mark that ends it ("if" runs on across "but", as
    `_conditions` reads it); a time to come (cues.time_ahead: "his clinic is next week"), only
    itself."""
    def end_of(match: re.Match) -> re.Pattern | None:
        if time_ahead is not None and time_ahead.fullmatch(match.group(0)):
            return None
        # a condition, or a sentence that opens by supposing ("say I'm shivery but the
        # thermometer says normal, do I ring?"), supposes all of its clause
        opens = match.start() == len(sentence) - len(sentence.lstrip())
        return _CONDITION_END if opens or _IF.match(match.group(0)) else _SUPPOSED_END
    return _spans(cue, sentence, end_of)


def _outside_conditions(sentence: str) -> str:
    """The sentence with its "if" conditions blanked out (offsets kept)."""
    return _blank(sentence, _conditions(sentence))


# A text message's statement that leaves out "I" ("hearing music...", "cant stop shaking"), or a
# clause that goes on from the one before it ("our dog has been shaking and trembling all evening").
_NO_SUBJECT = re.compile(r"\s*(\w+ing|can'?t|cannot|keep|kept|been|got|feel|felt)\b(?<!\bthing)(?<!\bsomething)(?<!\beverything)(?<!\banything)(?<!\bnothing)", re.I)
# A verb in the present progressive says it is happening now, whatever else the sentence
# looks back at ("mum is talking to her sister who died years ago").
# (An -ing word followed by a verb is a noun: "dad's handwriting got wobbly" is not "dad is ...ing".)
_NOW_VERB = re.compile(r"\b(is|are|am|'s|'re|'m|im|keeps?) (still )?(?!going\b)\w+ing\b"
                       r"(?!\s+(?:got|gets|was|were|is|has|had|went|goes|became|looks?|looked|seems?|seemed)\b)", re.I)
# A symptom word said to be absent, just before it: "no fever", "no more shivering since",
# "no sign of bleeding", "no new bruises", "not breathless", "never had any confusion" (not
# "without": "can't go an hour without shivering" is a report).
_NO = r"no|no more|no further|no new|no other|no obvious|no signs? of|not any"
_ABSENT = re.compile(rf"\b(?:{_NO}|not|nor|never(?: had| felt| been| noticed)?(?: any)?)\s+$", re.I)
# "Without" sets a word aside in the same way ("walked round the block without getting puffed",
# "came home without any fever"), unless the clause before it cannot do without it: "can't hold
# a cup without spilling it", "can't go an hour without shivering", "can barely walk without
# getting breathless" tell of the symptom each time (`_CANNOT_WITHOUT`).
_WITHOUT = re.compile(r"\bwithout(?:\s+(?:getting|feeling|being|becoming|going|any|a|an|much|so much as a|the slightest))?\s+$", re.I)
_CANNOT_WITHOUT = re.compile(r"n't\b|\b(?:not|no|never|cannot|cant|cnt|unable|barely|hardly|scarcely|struggl\w*|impossible|difficult|hard)\b", re.I)
# ... but a 999 word is read after "not" or "never" ("can't get a proper breath, not gasping though
# so prob can wait?" still tells of the breathing): only "no" and its like set one aside.
_ABSENT_999 = re.compile(rf"\b(?:{_NO})\s+$", re.I)
# A 999 word said not to have happened ("not fainted or anything", "hasn't actually passed out",
# "never went unconscious"): the symptom's `instead` (the lesser one) is read, not the 999.
_DENIED = re.compile(r"(?:\b(?:not|never|nor)|n't|\b(?:is|was|are|were|has|have|had|did|does|do|could|would|ca|wo)nt)(?:\s+(?:actually|really|quite|fully|completely|properly|yet|ever|even|totally|"
                     r"gone|been|had|have|has|was|is))*\s+$", re.I)
# Someone telling of another: "my wife says", "my husband just checked".
_TELLS = (r"\s*,?\s+(?:just |has |had |also |then |has just )?(?:says?|said|thinks?|thought|noticed|checked|found|"
          r"reckons?|tells?|told|took|takes|measured|saw|sees|heard|spotted|worries|is worried|keeps saying)\b")
# A he or a she, who is not a writer who says they are the patient (`_someone_elses`), and one
# telling of the writer ("she says ...", "he just checked ...").
_HE_OR_SHE = re.compile(r"\b(?:he|she|him|her|hes|shes|he's|she's|himself|herself)\b", re.I)
_SUBJECT = re.compile(r"(?:he|she|hes|shes|he's|she's)", re.I)  # a he or she as the subject of a clause
_HE_OR_SHE_TELLS = re.compile(r"\b(?:he|she)" + _TELLS, re.I)
_CARER = re.compile(r"\bcarer\b", re.I)  # a writer who is the patient only by having a carer
# A relative named with their treatment ("my husband's had CAR-T", "his dad, who had CAR-T"):
# at most this many words between, none of them someone else.
_TREATED_WITHIN = 4
# Where a stranger was, placed by someone the writer knows: "the man in the bed next to my
# husband", "the lady opposite me in the waiting room". Read just after the stranger, before any
# verb, it says where they were, not who is ill; `_about_stranger` sets it aside.
_PLACE = r"(?:next to|opposite|beside|across from|near|behind|in front of)"
_KNOWN = r"(?:me|us|(?:my|our)\s+\w+(?:-in-law)?(?:'s)?)(?=\W|$)"  # the writer, or someone of theirs
_PLACED_BY = re.compile(r"^(?:\s+(?:the|a|same|other|next|end))?(?:\s+(?:bed|bay|room|chair|cubicle|seat|side room|row|queue|space|corner|ward))?"
                        rf"\s+(?:(?:right|just|directly)\s+)?{_PLACE}\s+{_KNOWN}", re.I)
_PLACING = re.compile(rf"\b{_PLACE}$", re.I)  # a stranger that ends placing them ("the lady opposite") ...
_PLACED_OBJECT = re.compile(rf"^\s+{_KNOWN}", re.I)  # ... goes on with whom ("me")
_PRONOUN = re.compile(r"\b(he|she|they|him|her|them|you|we|us)\b", re.I)
_WRITERS_KIN = re.compile(r"(my|our)\b", re.I)  # the writer's own relative: the writer cares for the patient
# The writer saying the same of themselves: "so was I", "me too", "same here".
_SO_DID_I = re.compile(r"\b(so (was|am|did|do|have|had|has) (i|my)|me too|same (here|with me)|(i|i've|i'm|i was|i have) too|as (was|did) i|and me)\b", re.I)
_THEIRS = re.compile(r"(his|her|their)\b", re.I)  # someone else's relative: "her mum", "his wife"
# At most this many words, with no symptom word: where or when, beside a clause that says someone is well.
_FEW_WORDS = 8
# A number that defines a fever, not a reading: "38 is a fever", "a fever is 38" ("my temp is
# 38.2" is a reading).
_NUMBER = r"\d{2}(?:[.,]\d)?\s*(?:[°º]\s*)?(?:c\b|degrees?\b)?"
_THRESHOLD_TALK = re.compile(rf"\b{_NUMBER}\s*(?:is|counts as|means)\s+(?:a |the )?fever\b"
                             rf"|\bfever\s+(?:is|means|starts at|counts from)\s+(?:over |above )?{_NUMBER}"
                             # what a document says ("our acute oncology leaflet says 38"), not a person reading it off
                             rf"|\b(?:leaflet|booklet|guidance|guideline|policy|protocol|card|website|sheet|handbook)s?\s+"
                             rf"(?:says?|said|uses?|used|gives?)\s+(?:it'?s\s+|it is\s+)?{_NUMBER}", re.I)
# Two numbers offered as alternatives: "is it 37.5 or 38?" (`Triager._offers_threshold`).
_ALTERNATIVES = re.compile(r"\b(\d{2}(?:[.,]\d)?)\s*(?:[°º]\s*)?(?:c\b)?\s*(?:or|/)\s*(\d{2}(?:[.,]\d)?)\b", re.I)
# Said in the present: "a man has collapsed", "there's a woman on the floor", "still", "now".
_PRESENT = re.compile(r"\b(is|are|am|has|have|isn'?t|aren'?t|hasn'?t|haven'?t|now|still|keeps?)\b|'s\b|'re\b", re.I)
# Words that say an episode ended, and a sentence told in the past: `_ended_next`.
_ENDED = re.compile(r"\b(settled|resolved|gone|away|cleared|stopped|passed|fine|better|normal|treated)\b", re.I)
_PAST_TENSE = re.compile(r"\b(was|were|had|got|went|did)\b", re.I)
# A clause told in the present: "he is breathless", "she seems muddled", "I feel unwell", "he's
# had a fit" (`Triager._told_as_present`). A noun's "'s" is mostly whose ("mum's rigors were
# treated"): only a pronoun's counts. Not "keep" after a past "couldn't" ("we couldn't keep him
# awake", as cues.time reads it).
_PRESENT_TELLING = re.compile(r"\b(is|are|am|isn'?t|aren'?t|seems?|feels?|looks?|sounds?|has|have|hasn'?t|haven'?t|"
                              r"(?<!couldn't )(?<!could not )(?<!couldnt )(?<!didn't )(?<!did not )keeps?|can'?t|cannot|won'?t|doesn'?t|don'?t|im)\b|\b(he|she|it|they|i|you|we|who|that)"
                              r"['’](s|re|m|ve)\b", re.I)
# What a question says it would tell, mention or report: "Do I need to tell the team that I blacked
# out this afternoon?", "Can I wait till clinic to mention I've felt faint today?" (`_told_inside`).
_COMPLEMENT = re.compile(r"\b(?:tell(?:ing)?(?!\s+(?:the\s+)?difference)|mention(?:ing)?|report(?:ing)?|say(?:ing)?|let (?:them|the team|the line|you|someone|anyone) know)\b"
                         r"(?:\s+(?:the|my|our|them|someone|anyone|team|nurses?|doctors?|line|unit|clinic|to))*"
                         r"\s+(?:that\s+|about\s+)?", re.I)
# A sentence saying only that there has been none since: "No bleeding since.", "Nothing since"
# (`Triager._none_since`: what there has been none of must be a symptom, not "no better since"),
# or not a single one of anything: "Not a flicker since".
_NONE_SINCE = re.compile(r"\s*(?P<none>nothing|none|not (?:a|one)(?: single)?|no|not had any|(?:(?:i|he|she|they|we) )?(?:haven'?t|hasn'?t) had any)\b"
                         r"(?P<what>[^.,;!?]{0,30}?)\bsince\b(?:\s+[\w']+){0,4}\s*[.!]?\s*$", re.I)
_SPAN = re.compile(r"(?:second|minute|moment|hour|day|night|morning|evening|afternoon|week|month|year|time)s?", re.I)
# What "nothing ... since" may point back at: "nothing like that since she came home".
_LIKE_THAT = re.compile(r"\s*(?:like|of) (?:that|it|this|them|those)\s*$", re.I)
# A clause pointing back at an episode, as a clause's "now" or "since" still tells of it: "it's
# started again", "she's having another one", "the same thing since" (`Triager._says_now`).
_POINTS_BACK = re.compile(r"\b(it|its|it's|that|this|those|these|they|them|one|another|same|more|worse|again|back)\b", re.I)
# A sentence that opens by pointing back at the one before: "That settled by day 10".
_ANAPHOR = re.compile(r"\s*(that|it|this|which|they|those|these|both)\b", re.I)
# It happens again now, pointing back at a symptom named just before ("Dad had a fit in March. He's
# just had another one."; `Triager._recurring`): "another" or "one more" standing for it (not
# "another appointment"), or it is back, started or happening again.
_RECURS = re.compile(r"\b(?:another(?:\s+one)?|one more|a second one)(?=\s*(?:[.,!?;:)]|$)|\s+(?:just|now|tonight|today|this|"
                     r"again|and|but|so|then|in|at|earlier|last)\b)"
                     # "it's back", not "put it back" (the verb's object): a bare "back" needs its "is"
                     r"|\b(?:it|that|they|this|the same)(?:'s|'re|\s+is|\s+are|\s+has|\s+have)\s+back\b"
                     r"|\b(?:it|that|they|this|the same)(?:'s|'re|\s+is|\s+are|\s+has|\s+have)?\s+(?:started again|"
                     r"starting again|happening again|come back|coming back|returned)\b"
                     r"|\b(?:(?:doing|having) (?:it|that|one)|like (?:that|this|it)|the same(?: thing)?) again\b", re.I)
_MAY_HAVE = re.compile(r"\b(?:to|will|would|could|might|may|can|likely|chance|risk|ever)\s+(?:\w+\s+){0,2}$", re.I)
# "the same as before the treatment": had before it, so long-standing (`Triager._as_ever`).
_AS_BEFORE = re.compile(r"\bbefore (?:the |my |his |her |their )?(?:treatment|car-?t|cells|infusion|chemo)\b", re.I)
# Something changed, said beside "no different" or "for years" (`Triager._as_ever`).
_CHANGE = re.compile(r"\b(worse|worsening|new|newly|more|different|differently|changed?|changing|started|starting|"
                     r"suddenly|again|but|except|although|though|now also|also now|getting)\b", re.I)
# Anything of the writer's: "I", "me", "my speech" ("us" and "we" take in the family too).
_FIRST_PERSON = re.compile(r"\b(i|i'm|im|i've|ive|i'd|i'll|me|my|mine|myself)\b", re.I)
# A sentence's clauses: where one says someone is well, or quotes a leaflet, the rest may not.
_CLAUSE = re.compile(r"\s*(?:[,;()]|\s-\s|\b(?:and|but|so|because|though)\b)\s*", re.I)
# Not well after all: "not back to normal", "seems fine but ...".
_DOUBT = re.compile(r"\b(not|no|never|isn'?t|wasn'?t|hasn'?t|haven'?t|aren'?t|doesn'?t|don'?t|didn'?t|but|though|although|except|apart from)\b|n't\b", re.I)
# The writer's own body, marked as theirs: "I've come down with a cold myself", "my own temp".
_WRITER = re.compile(r"\b(myself|my own)\b", re.I)
# An aside in brackets does not change whose a sentence is: "My son (16, he's helping me look
# after his dad) has had a cold all week with shivers".
_ASIDE = re.compile(r"\([^()]*\)")
# Who is writing, before the message proper: "Practice nurse: ", "GP here - ".
_WHO_WRITES = re.compile(r"^\s*[\w &/'-]{2,40}?(?::|\s+-|\s+here[,.:-]?)\s+")
# Hearing or talking, or saying something is not there: an animal in such a sentence may
# be one only the patient perceives ("the cat he keeps seeing isn't there").
# ("the vet is seeing her later" is not: seeing is said of a vet as often as of the patient.)
_PERCEIVED = re.compile(r"\b(talk\w*|hear\w*|real|imagin\w*|there'?s no|is ?n'?t there|not there|no (dog|cat|animal)s?)\b", re.I)
# A clause going on from one that opens with an animal or a machine, with "it" for it: "my phone
# has been slow and now it won't wake up" (`Triager._about_animal_or_thing`; a person is never "it").
_IT = re.compile(r"\s*(?:(?:now|then|just|still)\s+)?(?:it|it's|its)\b", re.I)
_ON_ME = re.compile(r"\bon (?:me|us)\b", re.I)  # what a thing or an animal did to the writer (`_about_animal_or_thing`)
# Clauses, for whose a symptom is: not cut at "so" ("im so sleepy"). Cut where a clause of
# when opens ("our wifi keeps having a fit | every time I open the link"): it says when, and
# the writer in it says what they were doing, not that the symptom is theirs.
_HOLDER_CLAUSE = re.compile(r"\s*(?:[,;()]|\s-\s|\b(?:and|but|because|though|when|whenever|every time|each time|(?<!\ba )while|whilst)\b)\s*", re.I)  # not "for a while"
# The writer looking at someone or fearing for them, not feeling something: "I've noticed
# bruising", "I found blood", "I'm scared".
_OBSERVES = re.compile(r"\b(notic\w*|found|find|finding|see|seen|saw|seeing|spott\w*|check\w*|watch\w*|heard|hear|"
                       r"took|taken|tak(e|ing)|measur\w*|look(ed|ing)? at|can tell|worried|worry|scared|frightened)\b", re.I)
# A number read as beats a minute: two or three digits, not part of a decimal, a time, a date or
# a blood pressure ("85 over 50", "120/80"), and not followed by another unit ("97 percent",
# "38 C", "10 days").
_BPM = re.compile(r"(?<![\d:/])(?<!\d[.,])(?<!over )(\d{2,3})(?![\d:/]|[.,]\d)(?!\s*(?:%|percent|per cent|over\b|c\b|f\b|[°º]|deg|mg|mcg|kg|ml|"
                  r"mm|cm|years?\b|yrs?\b|y/?o\b|days?\b|weeks?\b|wks?\b|months?\b|hours?\b|hrs?\b|min(?:ute)?s?\b|secs?\b|"
                  r"seconds?\b|am\b|pm\b|times\b|pounds?\b|lbs?\b|stone\b|miles?\b|steps?\b|st\b|nd\b|rd\b|th\b))", re.I)
# "my temp is 37.5", "thermometer says 37.5": the threshold itself, read off someone.
_READ_OFF = re.compile(r"\b(temp\w*|thermometer|reading|it)(?:'s|\s+(?:is|was|at|reads?|says?|shows?|showing|went up to|gone up to|hit|has hit))\s+\d", re.I)
# A reading read off now, in a clause of its own: "just did her temp like they said and its 37.9",
# "checked again, it's 38.2 now" (`Triager._read_now`).
_READS_NOW = re.compile(r"\b(?:its|it['’]s|is|reads|says|shows|showing|now)\b", re.I)


def sentences(message: str) -> list[str]:
    """The message cut into sentences: a long message is judged piece by piece. Never inside
    brackets: "My mum (not the patient - she's 88) gets muddled" is one sentence, whose aside
    says who is ill."""
    return [part for part, _ in _cut(message)]


def dash_groups(message: str) -> list[int]:
    """Per sentence of `sentences(message)`: the number of the sentence it is part of when
    spaced dashes are not cut at ("I've had a little tic - a twitch by my eye - since school,
    as it always was" is one)."""
    groups, group = [], -1
    for _, after_dash in _cut(message):
        group += not after_dash or group < 0
        groups.append(group)
    return groups


@functools.lru_cache(maxsize=4096)
def _cut(message: str) -> tuple[tuple[str, bool], ...]:
    """`sentences`, each with whether a spaced dash cut it from the one before (cut once per
    message: `sentences` and `dash_groups` both read it)."""
    message = " ".join(message.split())
    asides = _bracketed(message)
    parts, start, dash = [], 0, False
    for cut in _SENTENCE.finditer(message):
        if not any(a < cut.start() < b for a, b in asides):
            parts.append((message[start:cut.start()], dash))
            start, dash = cut.end(), cut.group(0).strip() == "-"
    parts = [(p.strip(" ,"), d) for p, d in parts + [(message[start:], dash)]]
    # A reading is a sentence too ("T 38.0 @ 02:15."): keep a part with two letters or a digit.
    kept = [(p, d) for p, d in parts if sum(ch.isalpha() for ch in p) >= 2 or any(ch.isdigit() for ch in p)]
    return tuple(kept) or ((message, False),)


_EXPLAINED_WITHIN = 1  # sentences between one saying a condition is long-standing and one saying it is unchanged
_ASIDE_MAX = 200  # characters: a longer bracket is more likely one left open than an aside


def _bracketed(message: str) -> list[tuple[int, int]]:
    """Where each closed pair of round brackets opens and closes, for asides of at most
    `_ASIDE_MAX` characters; an unclosed "(" or a stray ")" ("1) ...") encloses nothing."""
    spans, opened = [], []
    for i, ch in enumerate(message):
        if ch == "(":
            opened.append(i)
        elif ch == ")" and opened:
            a = opened.pop()
            if i - a <= _ASIDE_MAX:
                spans.append((a, i))
    return spans


def _pooled(layers) -> bool:
    """Whether a message's layers (`MessageLayers`, or a text and its row) were pooled from its sentences'."""
    return bool(getattr(layers, "pooled", False))


def meaning_texts(message: str) -> list[str]:
    """What the meaning net reads: each sentence, then the whole message when it has several
    (together they may say what no sentence says alone). A long message's whole vector is
    pooled from its sentences' (`embedding.encode_message`), not encoded a second time."""
    parts = sentences(message)
    return parts + [" ".join(message.split())] if len(parts) > 1 else parts


@dataclass(frozen=True)
class _Hit:
    net: str  # "rules" or "meaning"
    symptom: Symptom
    sentence: str
    detail: str
    similarity: float = 1.0  # meaning: to the closest report; rules: 1
    example: int = -1  # meaning: the closest report (index into Triager._report_text)
    # rules: a hit the message classifier may not set aside: a number read off (a temperature or
    # heart rate over the line), or a symptom a question says it would tell ("is it worth
    # mentioning to the nurses that he's been confused today?"), which it reads as asking.
    firm: bool = False

    def emergency(self, flags: "RedFlags") -> bool:
        """999 first needs a 999 symptom, and by meaning a closer match than urgency does, or
        one of the symptom's `signs` in the sentence ("gone down in the queue, completely out")."""
        return self.symptom.emergency and (self.net == "rules" or self.similarity >= flags.emergency_similarity
                                           or _signs_said(self.symptom, self.sentence))


class Triager:
    """Both nets over one `RedFlags`. Examples are embedded once, here; a message then costs
    one encode of its sentences (the chain reuses the vector of a one-sentence question)."""

    def __init__(self, red_flags: RedFlags, embedder=None, veto: Veto | None = None):
        self.red_flags = red_flags
        # A test double that hashes words (HashEmbedder) would make the meaning net noise.
        self.embedder = embedder if getattr(embedder, "understands_meaning", True) else None
        self._by_id = {s.id: s for s in red_flags.symptoms}
        self._fever = self._by_id.get("fever")
        rate = red_flags.heart_rate
        self._pulse = self._by_id.get(rate.symptom) if rate is not None else None
        self._report_of: list[Symptom] = []
        self._report_text: list[str] = []
        self._question_text: list[str] = []
        for symptom in red_flags.symptoms:
            for text in symptom.reports:
                self._report_of.append(symptom)
                self._report_text.append(text)
            self._question_text.extend(symptom.questions)
        self._question_text.extend(red_flags.general_questions)
        self._symptoms = list(dict.fromkeys(self._report_of))
        self._lesser = [s for s in self._symptoms if not s.emergency]  # whose words hold no 999 sign
        # The words people use about these symptoms (the file's own examples and descriptions),
        # to mend a misspelt one before the rules read symptom words: "siezure", "colapsed".
        self._vocabulary = Vocabulary([*self._report_text, *self._question_text, *red_flags.not_red_flags,
                                       *(d for s in red_flags.symptoms for d in s.describes)])
        # Any symptom's words, in one pattern: a clause with none of them may say someone is well.
        self._any_term = any_of([s.terms for s in red_flags.symptoms if s.terms])
        # "my wife says ...", "my husband just checked ...": someone telling of the writer.
        self._tells = (re.compile(f"(?:{red_flags.relations.pattern}){_TELLS}", re.I)
                       if red_flags.relations is not None else None)
        # What is never the patient, opening a clause: an animal, a machine (cues.animals, things).
        self._not_people = any_of([c for c in (red_flags.animals, red_flags.things) if c is not None])
        self._read_once()
        owner = np.array([self._symptoms.index(s) for s in self._report_of], dtype=int)
        self._columns = [np.flatnonzero(owner == j) for j in range(len(self._symptoms))]  # each symptom's reports
        # The same, as one (symptoms x most reports) index into the reports, padded with a column
        # that is never close (`_judge` reads every symptom in one gather and one sort).
        self._padded = np.full((len(self._columns), max((len(c) for c in self._columns), default=0)),
                               len(self._report_text), dtype=int)
        for j, columns in enumerate(self._columns):
            self._padded[j, :len(columns)] = columns
        self._line = np.array([not s.emergency for s in self._symptoms], dtype=bool)  # the 24-hour line's symptoms
        self._reports = self._weights = self._neutral = None
        if self.embedder is not None:
            vectors = encode_cached(self.embedder, self._report_text + self._question_text)  # read, after the first start
            self._reports = vectors[: len(self._report_text)]
            neutral = red_flags.not_red_flags
            news = (encode_cached(self.embedder, list(neutral)) if neutral
                    else np.zeros((0, vectors.shape[1]), dtype=np.float32))
            # A question about red flags in general is as far from a report as everyday news is
            # (`_question_text` ends with them).
            general = vectors[len(vectors) - len(red_flags.general_questions):]
            self._neutral = np.vstack([news, general])
            labels = np.r_[np.ones(len(self._report_text)), np.zeros(len(self._question_text))]
            self._weights = fit_logistic(vectors, labels)
        # The message classifier (`triage_veto`), when it reads this encoder: it may set aside
        # a flag of the meaning net alone, except near a report example it was not fitted on.
        self.veto = veto if self.embedder is not None and veto is not None and veto.reads(self.embedder) else None
        self._unfitted = (frozenset(k for k, t in enumerate(self._report_text) if example_key(t) not in veto.fitted_reports)
                          if self.veto is not None else frozenset())

        self._clinical: tuple[RedFlags, Triager] | None = None  # `_for_clinicians`, for these red flags

    def _read_once(self) -> None:
        """Per Triager (not per class): a clause's verdict reads only this file's cues, symptom
        words and fever threshold (triage-calibrate changes only the meaning net's numbers).
        Asked of the same sentence by both nets and the whole message's checks: read once."""
        self._well_clause = functools.lru_cache(maxsize=4096)(self._is_well_clause)
        self._supposes = functools.lru_cache(maxsize=4096)(self._supposes_uncached)
        self._unwell_part = functools.lru_cache(maxsize=4096)(self._unwell_part_uncached)
        self._near_symptom = functools.lru_cache(maxsize=4096)(self._near_symptom_uncached)
        self.mend = functools.lru_cache(maxsize=4096)(self._mend_uncached)

    def _for_clinicians(self) -> "Triager | None":
        """This triager (its examples, vectors and classifiers shared) with the file's words for
        how clinicians name the patient they see ("pt", "49F", "d+8") read as naming someone, as
        the person cues are; made again when `red_flags` is replaced (triage-calibrate sweeps it)."""
        flags = self.red_flags
        if flags.clinician_patient is None:
            return None
        made = self._clinical
        if made is None or made[0] is not flags:
            other = copy.copy(self)
            other.red_flags = replace(flags, person=any_of([flags.person, flags.clinician_patient]))
            other._read_once()
            other._clinical = None
            made = self._clinical = (flags, other)
        return made[1]

    @classmethod
    def from_file(cls, path: Path | str = DEFAULT_RED_FLAGS, embedder=None,
                  veto_file: Path | str | None = DEFAULT_VETO) -> "Triager":
        """`veto_file`: the message classifier's coefficients (None: without it; not read without
        a model, as the rules net alone has no use for it)."""
        return cls(RedFlags.load(path), embedder, Veto.load(veto_file) if embedder is not None and veto_file else None)

    # -- public ----------------------------------------------------------------------
    def assess(self, message: str, vectors: np.ndarray | None = None, audience: str = "patient",
               layers: MessageLayers | None = None) -> Triage:
        """`vectors`: embeddings of `meaning_texts(message)`, if the caller has them already;
        `layers`: a text and its `layer_means` row, if the caller has them (`MessageLayers`: the
        message classifier reads a row of the text's own when the text is the message it reads,
        else encodes it; a pooled row spares that encode where it settles the verdict).
        `audience` "clinician": the patient the clinician names ("pt d+9, T 38.4", "49F post
        CAR-T") is someone the writer tells of, as a carer's "my husband" is
        (`cues.clinician_patient`); in a message that names one, a note without a subject
        ("Witnessed seizure at home, post-ictal") is not set aside as only asking (the
        classifier of reports and questions learnt patients' and carers' words), unless it is
        in question form."""
        clinical = self._for_clinicians() if audience == "clinician" else None
        if clinical is not None:
            general = self.red_flags.clinician_general
            message = general.sub(r"\1person", message) if general else message
            return clinical._assess(message, vectors, notes=True, layers=layers)
        return self._assess(message, vectors, layers=layers)

    def _assess(self, message: str, vectors: np.ndarray | None, notes: bool = False,
                layers: MessageLayers | None = None) -> Triage:
        message = plain_quotes(message)  # "he won’t wake" as the file's cues are written: "won't"
        parts = sentences(message)
        supposed = self._set_aside_supposed(parts)
        if supposed is not None:  # both nets read what is left; its vectors are not the caller's
            message, vectors = supposed, None
            parts = sentences(message)
        text = " ".join(message.split())
        whose = self._someone_elses(parts)  # someone else's, an animal's or a thing's: `_recurring` reads it too
        others = self._others(parts, whose)
        groups = dash_groups(message)
        if len(set(groups)) < len(parts):
            # A sentence cut at spaced dashes is read whole too: whose health it tells of, an
            # episode it says is over, a condition as it always was hold for each of its pieces
            # ("Dad was confused on the ward - talking about his old job. It settled after two
            # days and he's been well for weeks": the piece after the dash is his episode too).
            whole = self._others([", ".join(p for p, g in zip(parts, groups) if g == k) for k in range(groups[-1] + 1)])
            others = [other or whole[g] for other, g in zip(others, groups)]
        readings = self.temperatures_c(" ".join(p for p, other in zip(parts, others) if not other))
        # Whether the message names someone, or says now: both nets read a question by it.
        # A sentence that only says someone is well ("I'm fine now.") says nothing of a symptom now.
        message_time = any(self.red_flags.time.search(p) and not self._supposes(p) and not self._says_well(p)
                           for p in parts)
        message_person = bool(self.red_flags.person.search(text))
        asks = [False] * len(parts)
        meaning: list[_Hit] = []
        if self.embedder is not None:
            texts = meaning_texts(message)
            vectors = np.asarray(self.encode(message) if vectors is None else vectors, dtype=np.float32)
            closeness, nearest, report_p = self._judge(vectors)
            # A sentence the classifier is sure only asks is not read as a report by the rules either.
            # A clinician's notes on the patient they name: only a sentence in question form asks.
            notes = notes and bool(self.red_flags.clinician_patient.search(text))
            asks = [float(report_p[i]) < self.red_flags.question_probability
                    and (not notes or bool(_QUESTION_FORM.search(parts[i]))) for i in range(len(parts))]
            meaning = self._meaning(texts, closeness, nearest, report_p, others, message_person or message_time)
        rules = self._rules(parts, text, asks, others, message_time, message_person)
        rules += self._recurring(parts, others, whose, rules)
        if readings:  # with a number in the message, the rule on the number decides fever
            meaning = [h for h in meaning if h.symptom is not self._fever]
        if self._pulse is not None:  # ...and a normal pulse reading the heart symptom, where it is read
            meaning = [h for h in meaning if h.symptom is not self._pulse or not self._normal_pulse(h.sentence)]
        # MiniLM does not read "no" or "not": a sentence whose every symptom word is said to be
        # absent ("No temperature, no chills, not breathless, slept right through.") is not a
        # report by meaning either (a 999 hit is kept).
        # The whole message read as one, when its only such sentences deny and no other sentence
        # is a report by meaning, is no report either.
        denied = {p for p in parts if self._denies(p)} if meaning else set()
        if denied and len(parts) > 1 and not any(h.sentence in parts and h.sentence not in denied for h in meaning):
            denied.add(" ".join(message.split()))
        meaning = [h for h in meaning if h.sentence not in denied or h.emergency(self.red_flags)]
        # ... nor what the sentence says is so instead: "she wakes up if I speak to her" is drowsy
        meaning = [self._read_instead(h, text) for h in meaning]
        hits = rules + meaning
        if not hits and self.embedder is not None:
            hits = self._clause_reading(parts, others, message, layers, vectors)
        if not hits:
            return Triage(False, reason="no red-flag symptom described")
        symptoms = list(dict.fromkeys(h.symptom.label for h in hits))
        if readings and max(readings) >= self.red_flags.fever_threshold_c:
            symptoms.insert(0, f"temperature {max(readings):.1f} C")
        # Where a word named a non-999 symptom in the sentence ("her arm keeps wobbling" is a
        # tremor), meaning says 999 only when it is very close to a 999 report ("went stiff and
        # his whole body was jerking" is a fit, though "jerking" alone is a tremor word), or when
        # the sentence has a sign of the 999 symptom its file names ("his arms are jerking and he
        # can't hear me").
        named = {h.sentence for h in hits if h.net == "rules" and not h.symptom.emergency}
        emergency = any(h.emergency(self.red_flags) and not (
            h.net == "meaning" and h.sentence in named and h.similarity < self.red_flags.emergency_over_words
            and not _signs_said(h.symptom, h.sentence)) for h in hits)
        reason = "; ".join(f"{h.net}: {h.detail} in \"{_clip(h.sentence)}\"" for h in hits[:4])
        below = self._set_aside_below(hits) if not emergency or self._weak_emergency(hits) else None
        # A long message its pooled layers already show the classifier would keep is not encoded again.
        if below is not None and self._pooled_below(message, layers, below) is not False:
            p = self.veto_probability(message, layers)
            if p < below:
                flagged = "the meaning net alone" if all(h.net == "meaning" for h in hits) else "symptom words"
                return Triage(False, reason=f"set aside by the message classifier ({p:.3f} that the message tells "
                                            f"of a symptom now, under {below:g}); {flagged} had flagged it: {reason}")
        return Triage(True, emergency=emergency, symptoms=tuple(symptoms), reason=reason)

    def _read_instead(self, hit: _Hit, message: str) -> _Hit:
        """A meaning hit on a symptom whose `instead` applies to the sentence (or to the
        message), as a hit on that other symptom (the red-flag file says which, and on what
        words)."""
        instead = hit.symptom.instead
        if instead is None or not instead.applies(message if instead.scope == "message" else hit.sentence):
            return hit
        other = self._by_id[instead.symptom]
        return replace(hit, symptom=other, detail=f"{hit.detail}; read as {other.label}: the {instead.scope} says so")

    def _set_aside_supposed(self, parts: list[str]) -> str | None:
        """The message (as its sentences, `parts`) with what its sentences suppose cut out, where
        what is left of a sentence tells of a symptom (names one, or at three words or more
        stands near one): "dad's shaking and shivering tonight and his clinic is next week", "in
        case it matters, he's been really muddled since lunch" were read as supposing whole, by
        both nets, and not urgent at all. A sentence whose rest tells of none stays whole, and
        supposes as before ("what should I do if I get a fever and chills?"). None when nothing
        is cut."""
        flags = self.red_flags
        kept = []
        for part in parts:
            rest = " ".join(_blank(part, _supposed_spans(flags.hypothetical, flags.time_ahead, part)).split()).strip(" ,;:-")
            tells = rest != part.strip() and rest and (self._names_symptom(rest) or (
                self.embedder is not None and len(rest.split()) >= 3 and self._near_symptom(rest)))
            kept.append(rest if tells else part)
        return ". ".join(k.rstrip(".") for k in kept) if kept != parts else None

    def _weak_emergency(self, hits: list[_Hit]) -> bool:
        """999 only by meaning, and only just: each hit that says 999 is of the meaning net and
        less close than `emergency_set_aside_below` ("she's nervous" beside a question about the
        infusion day stood 0.49 from fit reports). A rule's 999 is never weak."""
        below = self.red_flags.emergency_set_aside_below
        return all(h.net == "meaning" and h.similarity < below for h in hits if h.emergency(self.red_flags))

    def _set_aside_below(self, hits: list[_Hit]) -> float | None:
        """Under what probability the classifier sets these hits aside, or None where it may not
        (`triage_veto`): a meaning hit under its `threshold`, where the closest report is one it
        was fitted on; a rules hit on a symptom's words under its `words_threshold`, where it has
        one ("the kids are bleeding us dry", a sister's dizzy spells); a firm rules hit (a reading,
        or what a question says it would tell) never. Hits of both kinds: the lower."""
        veto = self.veto
        if veto is None or not hits:
            return None
        limits = []
        for h in hits:
            if h.net == "meaning" and h.example not in self._unfitted:
                limits.append(veto.threshold)
            elif h.net == "rules" and not h.firm and veto.words_threshold is not None:
                limits.append(veto.words_threshold)
            else:
                return None
        return min(limits)

    def classifier_state(self) -> str:
        """One line for the evaluation summary: whether the message classifier reads flags, and
        how many of the file's report examples came after its fit (near them it sets nothing
        aside until `python -m eval triage-veto` fits it again)."""
        if self.veto is None:
            return "off (no model, or fitted on another encoder)" if self.embedder is not None else "off (no model)"
        fitted = self.veto.info.get("fitted", "on an unknown date")
        if not self._unfitted:
            return f"on (fitted {fitted} on every report example of the red-flag file)"
        return (f"on (fitted {fitted}); {len(self._unfitted)} report example(s) of the red-flag file came after it and "
                "are never set aside near: run `python -m eval triage-veto` to fit it again")

    def veto_probability(self, message: str, layers: MessageLayers | tuple[str, np.ndarray] | None = None) -> float:
        """The message classifier's probability that `message` tells of a symptom now; from
        `layers` (a text and its `layer_means` row) when that text is the message as it reads it
        and the row is its own, not pooled."""
        text = message_text(message)
        row = layers[1] if layers is not None and message_text(layers[0]) == text and not _pooled(layers) else None
        return self._row_probability(self.embedder.layer_means([text])[0] if row is None else row)

    def _row_probability(self, row: np.ndarray) -> float:
        """The message classifier's probability for one `layer_means` row."""
        return float(self.veto.probability(np.asarray(row, dtype=np.float32)[None, :])[0])

    def _pooled_below(self, message: str, layers: MessageLayers | tuple[str, np.ndarray] | None,
                      limit: float) -> bool | None:
        """Whether the classifier gives `message` less than `limit`, as far as the pooled layers of
        the message the chain read tell (`Veto.pooled_side`); None where they do not, or are not
        this message's pooled layers: `veto_probability` reads the message's own."""
        if layers is None or not _pooled(layers) or message_text(layers[0]) != message_text(message):
            return None
        return self.veto.pooled_side(self._row_probability(layers[1]), limit)

    def encode(self, message: str) -> np.ndarray:
        """The vectors of `meaning_texts(message)`, in one encode."""
        return encode_message(self.embedder, meaning_texts(message))

    def describes_now(self, message: str) -> bool:
        """Says how someone is now ("my dad is...", "I feel..."): a refusal then still gives
        the 24-hour line."""
        flags = self.red_flags
        return any((flags.person.search(p) or flags.time.search(p)) and not flags.hypothetical.search(p)
                   and not any(cue is not None and cue.search(p) for cue in (flags.over, flags.ended))
                   for p in sentences(message))

    def temperatures_c(self, text: str, *, context: str | None = None) -> list[float]:
        """Readings in C (F converted), where the text or its `context` (the whole message)
        is about temperature: "is 37.6 ok? my temp has crept up" reads 37.6."""
        text = _WORD_NUMBER.sub(lambda m: _WORD_NUMBERS[" ".join(m.group(0).lower().split())], text)
        text = _POINT.sub(lambda m: f"{m.group(1)}.{_DIGITS[m.group(2).lower()]}", text)
        about = context if context is not None else text
        if not _TEMP_CONTEXT.search(about) and not (self._fever and self._fever.terms and self._fever.terms.search(about)):
            return []
        found = []
        for value, unit in _TEMPERATURE.findall(text):
            number = float(re.sub(r"[,]| point ", ".", value))
            if (unit or "").lower() == "f" or 95 <= number <= 110:
                number = (number - 32) * 5 / 9
            if 34 <= number <= 43:
                found.append(number)
        return found

    def pulses_bpm(self, text: str) -> list[float]:
        """Heart-rate readings in the text, where it is about a heart rate (`heart_rate.context`)."""
        rule = self.red_flags.heart_rate
        if rule is None or not rule.context.search(text):
            return []
        return [float(n) for n in _BPM.findall(text) if 30 <= int(n) <= 250]

    def _normal_pulse(self, text: str) -> bool:
        """The text reads a heart rate in the normal resting range, every reading it holds, and
        does not say the beat feels wrong: the number decides the heart symptom there."""
        rule = self.red_flags.heart_rate
        readings = self.pulses_bpm(text)
        return bool(readings) and all(rule.normal_from_bpm <= r < rule.fast_bpm for r in readings) and not (
            rule.unless is not None and rule.unless.search(text))

    def _someone_elses(self, parts: list[str]) -> list[bool]:
        """Per sentence: it tells of the health of someone who is not the patient, so neither
        net reads it. A sentence that says so ("she's not a patient", "he's not the one having
        treatment"), with the sentence it qualifies just before it ("my mum has the chills -
        she's not a patient"); and, when the writer says they care for the patient ("I'm his
        carer", "my wife had CAR-T"), a sentence about the writer's own body alone ("I've come
        down with a cold myself", "my own temperature"); and, when the writer says they are the
        patient ("I'm the one who had the cells"), a sentence naming a relative or a he or she and
        nothing of the writer, not telling of the writer ("she says I was talking nonsense") and
        not a reading. Anyone else named in a sentence of a writer who cares (he, my husband)
        keeps it in: when unsure, both nets read it."""
        flags = self.red_flags
        out = [False] * len(parts)
        if flags.not_patient is not None:
            for i, part in enumerate(parts):
                said = flags.not_patient.search(part)
                if said:
                    out[i] = True
                    # a short tag, or a sentence that opens by saying so ("She's not the patient, my husband is")
                    tag = len(part.split()) <= 8 or not part[:said.start()].strip()
                    if i and not flags.not_patient.search(parts[i - 1]) and tag \
                            and flags.someone_else is not None and flags.someone_else.search(parts[i - 1]):
                        out[i - 1] = True  # a short tag qualifying the sentence before it
        treated = self._treated(parts)
        writer_cares = any(_WRITERS_KIN.match(m) for m in treated) or (
            flags.writer_cares is not None and any(flags.writer_cares.search(p) for p in parts))
        if writer_cares:
            for i, part in enumerate(parts):
                if (_WRITER.search(part) and not (flags.someone_else and flags.someone_else.search(part))) \
                        or self._writers_own(part):
                    out[i] = True
        writer_is_patient = flags.writer_is_patient is not None and any(flags.writer_is_patient.search(p) for p in parts)
        # ... in their own words of the treatment, not only by having a carer: "our carer" may be a
        # family's agency carer, and "she" the patient the family writes about.
        writer_treated = writer_is_patient and any(not _CARER.search(m.group(0))
                                                   for p in parts for m in flags.writer_is_patient.finditer(p))
        patients = set() if writer_is_patient else self._patients(parts, treated)
        if patients:
            for i, part in enumerate(parts):
                if not out[i] and self._about_other_kin(part, patients):
                    out[i] = True
        if flags.patients_kin is not None:
            for i, part in enumerate(parts):
                if not out[i] and self._about_patients_kin(part):
                    out[i] = True
        if writer_is_patient and self._tells is not None:
            for i, part in enumerate(parts):
                # Someone else named, and nothing of the writer's once "my wife" is set aside; not
                # someone telling of the writer ("my wife just checked and the temperature is 38.6").
                # The writer's own "I'm the one who had CAR-T" is set aside: "My husband is my carer
                # (I'm the one who had CAR-T) and he's come down with the shivers himself".
                # An aside naming no symptom does not change whose the sentence is ("my mum (who looks
                # after me) has been breathless", as `_about_other_kin` reads one).
                rest = _ASIDE.sub(lambda m: m.group(0) if self._names_symptom(m.group(0)) else " ",
                                  flags.writer_is_patient.sub(" ", part))
                # The writer named only in a clause that tells of no symptom tells what they were
                # doing ("My husband keeps nodding off in his chair, even while I'm talking to him");
                # not in one that names one ("... and I'm shivery") or is near one by meaning ("... and
                # I keep dropping my cup"): `_writer_beside`.
                if flags.relations.search(part) and not self._writer_beside(flags.relations.sub(" ", rest)) \
                        and not self._tells.search(rest):
                    out[i] = True
                # ... or a he or she alone, who cannot be the writer ("My wife is my carer (I'm the one
                # who had the cells). She's been dizzy today"), where the writer names their own
                # treatment; not a reading, which may be the writer's taken by them ("she took it,
                # 38.4"), nor one telling of the writer.
                elif writer_treated and _HE_OR_SHE.search(rest) and not _FIRST_PERSON.search(rest) \
                        and not _HE_OR_SHE_TELLS.search(rest) and not any(ch.isdigit() for ch in rest):
                    out[i] = True
        if flags.strangers is not None:
            for i, part in enumerate(parts):
                if not out[i] and self._about_stranger(part):
                    out[i] = True
        if self._not_people is not None:
            for i, part in enumerate(parts):
                if not out[i] and self._about_animal_or_thing(part):
                    out[i] = True
        return out

    def _about_patients_kin(self, part: str) -> bool:
        """The sentence opens (after a "Practice nurse:" of who is writing) with the patient's
        relative (cues.patients_kin: "The patient's husband (her main carer) has a cold and a temp
        of 37.9", "the wife of one of our CAR-T patients came in with her own breathlessness") and
        names no one else who may be the patient: no he, him or his when the relative is a woman
        (nor she or her for a man; either, when the relative could be either), no "pt" or "the
        patient" again, not the writer, and is not the relative telling of the patient ("the
        patient's wife says he is confused")."""
        flags = self.red_flags
        body = " ".join(_ASIDE.sub(" ", _WHO_WRITES.sub("", part, count=1)).split())
        found = flags.patients_kin.match(body)
        if found is None or (self._tells is not None and self._tells.search(body)):
            return False
        rest = body[found.end():]
        if _FIRST_PERSON.search(rest) or (flags.clinician_patient is not None and flags.clinician_patient.search(rest)):
            return False
        sex = _GENDER.get(next((w for w in re.findall(r"[a-z-]+", found.group(0).lower()) if w in _GENDER), ""))
        for named in flags.someone_else.finditer(rest):
            other = _GENDER.get(named.group(0).lower().replace("'", ""))
            if sex is None or other is None or other != sex:
                return False  # may be the patient
        return True

    def _about_animal_or_thing(self, part: str) -> bool:
        """The sentence tells of an animal ("Our dog has been shivering all morning") or a machine
        ("the washing machine is shaking", "our fax machine keeps twitching"; cues.animals,
        cues.things), never the patient: each clause that names a symptom opens with it, or goes
        on from one that does with no subject of its own (`_NO_SUBJECT`: "our dog has been
        shaking and trembling all evening") or with "it" (`_IT`: "my phone has been slow and now it
        won't wake up"). "our dog is barking, he won't wake up" has none in
        the clause that tells of someone not waking; "hubby says theres a cat on the bed" tells of
        what he sees. The sentence names no relative, and the writer only in a clause with no
        symptom, saying what they made of it (`_writer_in_it`: "it's driving me mad"). A he or
        she may be the animal, never the machine. Not when the sentence tells of hearing or
        talking, or says the animal is not there (`_PERCEIVED`): "the cat he keeps seeing on the
        bed isn't there", "our cat is talking to him" are what the patient perceives. Told now
        or before: no animal's or machine's symptom calls for the CAR-T line or 999."""
        flags, holder = self.red_flags, self._not_people
        # "my dog" names the animal's owner, not the writer as the one the sentence tells of.
        rest = holder.sub(" ", part)
        # "My phone's collapsed on me", "the car died on us": the writer put out, not in it
        if not holder.search(part) or self._writer_in_it(_ON_ME.sub(" ", rest)) or _PERCEIVED.search(part) or (
                flags.relations is not None and flags.relations.search(rest)):
            return False
        # A he or she is never a machine: "the monitor says his heart rate is 130" tells of him.
        if flags.things is not None and not (flags.animals is not None and flags.animals.search(part)) \
                and flags.someone_else is not None and flags.someone_else.search(rest):
            return False
        clauses = [c.strip() for c in _HOLDER_CLAUSE.split(part) if c and c.strip()]
        opens = []  # per clause: it opens with the animal or thing, or goes on from one that does
        for c in clauses:
            opens.append(bool(holder.match(c)) or bool(opens and opens[-1] and (_NO_SUBJECT.match(c) or _IT.match(c))))
        named = [k for k, c in enumerate(clauses) if self._any_term is not None and self._any_term.search(c)]
        return all(opens[k] for k in named) if named else bool(holder.match(part.strip()))

    def _writer_in_it(self, text: str) -> bool:
        """The writer is in what a sentence tells of a stranger, an animal or a machine: named in a
        clause that names a symptom ("... and I feel faint"), or saying the same of themselves ("and
        so was I"). Named in a clause with none, the writer tells what they made of it ("it kept
        me awake", "made me think about the leaflet")."""
        return bool(_SO_DID_I.search(text)) or any(
            _FIRST_PERSON.search(c) and (self._any_term is None or self._any_term.search(c) or self._any_term.search(self.mend(c)))
            for c in _HOLDER_CLAUSE.split(text) if c)

    def _writer_beside(self, text: str) -> bool:
        """The writer is in the text (I, me, my) and, if they are, what they tell of themselves may
        be a symptom: a clause naming the writer names a symptom (`_writer_in_it`), or, with a
        model, is near one by meaning (`_near_symptom`: "my wife says I keep dropping things"). A
        clause of the writer's that is neither ("even while I'm talking to him") only places them."""
        if not _FIRST_PERSON.search(text):
            return False
        if self._writer_in_it(text):
            return True
        return self.embedder is not None and any(
            _FIRST_PERSON.search(c) and len(c.split()) >= 3 and self._near_symptom(c.strip())
            for c in _HOLDER_CLAUSE.split(text) if c and c.strip())

    def _writers_own(self, part: str) -> bool:
        """Where the writer cares for the patient: every clause of the sentence that names a
        symptom tells of the writer alone ("Im the carer and im so sleepy all the time because
        im up checking on him at night", "I cut my finger and it bled"): it names the writer
        (I, my), no one else (he, her, my husband) and the writer does not look at someone ("I've
        noticed bruising", `_OBSERVES`). An aside in brackets is set aside, as is the writer
        saying they care. A clause naming no one goes on from the writer's clause before it ("I've
        gone a bit dizzy and faint"). Not a sentence with a reading in it: a carer's "I just took
        it, 38.4" is the patient's temperature. A sentence naming no symptom is the writer's when
        all of it is so."""
        flags = self.red_flags
        if flags.someone_else is None or self._any_term is None or any(ch.isdigit() for ch in part):
            return False
        text = _ASIDE.sub(" ", part)
        if flags.writer_cares is not None:
            text = flags.writer_cares.sub(" ", text)

        def writers(t: str) -> bool:  # the writer, no one else, and not looking at someone
            return bool(_FIRST_PERSON.search(t)) and not flags.someone_else.search(t) and not _OBSERVES.search(t)

        clauses = [c for c in _HOLDER_CLAUSE.split(text) if c and c.strip()]
        # A clause naming no one goes on from the one before: "I've gone a bit dizzy and faint".
        own: list[bool] = []
        for c in clauses:
            nobody = not _FIRST_PERSON.search(c) and not flags.someone_else.search(c) and not _PRONOUN.search(c) \
                and not (flags.relations is not None and flags.relations.search(c))
            own.append(bool(own and own[-1] and nobody) or writers(c))
        named = [k for k, c in enumerate(clauses) if self._any_term.search(c) or self._any_term.search(self.mend(c))]
        return all(own[k] for k in named) if named else writers(text)

    def _about_stranger(self, part: str) -> bool:
        """The sentence tells of a stranger ("An old gentleman collapsed in the car park and the
        staff helped him"), never the patient: a stranger (cues.strangers) is the first person it
        names, and it names no one else: no relative but the stranger's own ("shouting for her
        mum", `_THEIRS`), and the writer only in a clause with no symptom, saying what they made
        of it (`_writer_in_it`: "it kept me awake"; not "and so was I"). A he or she is the
        stranger. Not when it tells of now ("a man has collapsed outside and isn't breathing"):
        then 999 is the right answer whoever it is."""
        flags = self.red_flags
        stranger = flags.strangers.search(part)
        if stranger is None or _PRESENT.search(part) or _NOW_VERB.search(part):
            return False
        before, rest = part[:stranger.start()], part[stranger.end():]
        # "the man in the bed next to my husband", "the lady opposite me": where, not who
        rest = (_PLACED_OBJECT if _PLACING.search(stranger.group(0)) else _PLACED_BY).sub(" ", rest, count=1)
        if flags.person.search(before) or _FIRST_PERSON.search(before) or self._writer_in_it(rest):
            return False
        # A relative of theirs ("shouting for her mum", "his wife was with him") is the stranger's
        # kin, not someone the writer cares for: only the writer's or an unowned one counts.
        return flags.relations is None or not any(
            not _THEIRS.match(m.group(0)) for text in (before, rest) for m in flags.relations.finditer(text))

    def _treated(self, parts: list[str]) -> list[str]:
        """Relatives named with their treatment: a relation (cues.relations), then within
        `_TREATED_WITHIN` words naming no one else a name of the treatment (cues.therapy) that is
        not the writer's: "my husband's had CAR-T", "his dad, who had CAR-T", "since my husband's
        treatment started", "while my husband recovers from CAR-T". The relations, as written."""
        flags = self.red_flags
        if flags.relations is None or flags.therapy is None:
            return []
        found = []
        for part in parts:
            for relation in flags.relations.finditer(part):
                cure = flags.therapy.search(part, relation.end())
                if cure is None or _FIRST_PERSON.search(cure.group(0)):
                    continue
                between = part[relation.end():cure.start()]
                if len(between.split()) <= _TREATED_WITHIN and not _FIRST_PERSON.search(between) \
                        and not _PRONOUN.search(between) and not flags.relations.search(between):
                    found.append(relation.group(0))
        return found

    def _patients(self, parts: list[str], treated: Sequence[str] = ()) -> set[str]:
        """Who the patient is, when the writer names them as family ("I'm my husband's carer",
        "my wife had CAR-T", "his grandad who had CAR-T", or any relative `_treated` found): their
        kin words ("wife", "hubby"; `_kin` groups them). Empty when the writer says no
        one (the caller asks only when the writer has not said they are the patient)."""
        flags = self.red_flags
        if flags.relations is None or flags.someone_else is None:
            return set()
        named = [m.group(0) for cue in (flags.writer_cares, flags.patient_named) if cue is not None
                 for p in parts for m in cue.finditer(p)] + list(treated)
        kin = [{_word(r.group(0)) for r in flags.relations.finditer(text)} - {"carer"} for text in named]
        # "I'm his carer", "I'm not the patient": a patient with no kin word could be anyone named
        return set().union(*kin) if kin and all(kin) else set()

    def _about_other_kin(self, part: str, patients: set[str]) -> bool:
        """The sentence opens with a relative who is not the patient ("My son has a chest
        infection and a wheezy cough") and names no one else: not the patient, no he, him or
        his who might be ("my mum is here and there's blood in his wee"), not the writer, and
        is not someone telling of the patient ("my son says ..."). A he or she who cannot be
        the patient does not count: "my daughter had a nosebleed, she's fine now", when the
        patient is "my husband" (`_GENDER`; a patient or pronoun of either sex may be anyone)."""
        flags = self.red_flags
        part = _ASIDE.sub(" ", part)
        mentions = list(flags.relations.finditer(part))
        if not mentions or part[:mentions[0].start()].strip(" ,.-").count(" ") > 0:
            return False
        kin = {_kin(word) for word in patients}
        if any(_kin(m.group(0)) in kin for m in mentions):
            return False
        if self._tells is not None and self._tells.search(part):
            return False
        # The writer only in a clause naming no symptom tells what they make of it ("just a virus
        # I think", "he's staying with us"), as of a stranger (`_writer_in_it`).
        if self._writer_in_it(flags.relations.sub(" ", part)):
            return False
        sexes = {_GENDER.get(word) for word in patients}
        opening = _GENDER.get(_word(mentions[0].group(0)))
        relatives = [m.span() for m in mentions]  # weighed above
        others = [m for m in flags.someone_else.finditer(part)
                  if not any(start <= m.start() < end for start, end in relatives)]
        relative_end = mentions[0].end()
        for k, named in enumerate(others):
            # A "who" with no one named between it and the relative is the relative: "It's my mum,
            # who lives with us, who's muddled tonight".
            if named.group(0).lower() == "who" and all(o.group(0).lower() == "who" for o in others[:k]) \
                    and not any(start < named.start() for start, _ in relatives[1:]) \
                    and not _FIRST_PERSON.search(part[relative_end:named.start()]):
                continue
            sex = _GENDER.get(named.group(0).lower().replace("'", ""))
            # The first he or she after the relative the sentence opens with, of the relative's sex
            # and with no other relative named between, goes on from them: "My grandson is staying
            # with us and he's got the shivers" (not "his", "him": "my son is with him and his
            # temperature is 38.4").
            if k == 0 and sex is not None and sex == opening and _SUBJECT.fullmatch(named.group(0)) \
                    and not any(start < named.start() for start, _ in relatives[1:]):
                continue
            if sex is None or None in sexes or sex in sexes:
                return False  # may be the patient
        return True

    def _others(self, parts: list[str], whose: list[bool] | None = None) -> list[bool]:
        """Per sentence: it tells of someone else's health, of an episode that is over, or of a
        condition as it always was: neither net reads it. `whose`: `_someone_elses(parts)`, where
        the caller has it."""
        whose = self._someone_elses(parts) if whose is None else whose
        return [o or e or u for o, e, u in zip(whose, self._ended_next(parts), self._as_ever(parts))]

    def _ended_next(self, parts: list[str]) -> list[bool]:
        """Per sentence: the next sentence says its episode is over ("His hands were shaky in
        the first week. That settled by day 10 and he's been steady since."): it opens by
        pointing back ("that", "it", "this", `_ANAPHOR`) and holds an `ended` or `over` cue with no
        symptom word and no doubt before it ("It hasn't settled" does not), or it says only that
        there has been none since ("No bleeding since."; `_NONE_SINCE`); the sentence itself, told
        in the past, does not say now in its unwell part; and one of the two places the episode
        before now (`_looks_back`): "Dad had a fit. It has stopped now." still reports.
        The account may tell of the episode's care first, in sentences naming no symptom that
        hold an `over` cue and do not say now ("Mum had a nosebleed on Saturday. We rang the line
        and they sorted it at the day unit. No bleeding since."): the ending is read after them,
        and they are set aside with the episode."""
        flags = self.red_flags
        out = [False] * len(parts)
        if flags.over is None and flags.ended is None:
            return out
        for i in range(len(parts) - 1):
            k = i + 1
            while k + 1 < len(parts) and self._tells_care(parts[k]):
                k += 1
            after = parts[k]
            cue = next((m for m in (c.search(after) for c in (flags.ended, flags.over) if c is not None) if m), None)
            # an ending said outright ("settled", "went away"), not "it went up to 38.5"; told
            # of in the past ("were shaky"), not "my temp is 38.4. It went down with paracetamol"
            # or a sentence saying only that there has been none since ("No bleeding since.")
            none_since = self._none_since(after)
            if not none_since and (not _ANAPHOR.match(after) or cue is None or not _ENDED.search(cue.group(0))) \
                    or not _PAST_TENSE.search(parts[i]):
                continue
            clause = "" if none_since else after[:cue.end()]
            current = self._unwell_part(parts[i])
            if self._plain(clause) and not any(t >= flags.fever_threshold_c for t in self.temperatures_c(parts[i])) \
                    and any(self._looks_back(p) for p in parts[i:k + 1]) and not self._says_now(current, parts[i]):
                out[i:k] = [True] * (k - i)
        return out

    def _tells_care(self, sentence: str) -> bool:
        """The sentence tells how an episode was looked after (cues.over: "we rang the line and
        they sorted it"), naming no symptom and saying nothing of now (cues.time)."""
        flags = self.red_flags
        return bool(flags.over is not None and flags.over.search(sentence)) and not self._names_symptom(sentence) \
            and not flags.time.search(sentence) and not _NOW_VERB.search(sentence)

    def _as_ever(self, parts: list[str]) -> list[bool]:
        """Per sentence: it tells of a condition someone has long had, said to be as it always
        was (cues.long_standing or long_ago, with cues.unchanged: "I've been breathless on hills for
        years with my asthma and it's no different now"; "Known BPPV for years. Nothing different
        since her CAR-T."): the one that says it is unchanged, and the one before it that says it
        is long-standing; or, when one sentence says both, the one before it that it explains, if
        that one does not say now (cues.time: "He gets breathless on the stairs. He's had COPD for
        years, nothing new."; not "He's breathless tonight."). Not when either says something
        changed, outside the cue's own words ("for years, but worse today", "the same tremor, and
        new twitching"; `_CHANGE`)."""
        flags = self.red_flags
        out = [False] * len(parts)
        if flags.unchanged is None or flags.long_standing is None:
            return out
        long = [bool(flags.long_standing.search(p) or (flags.long_ago is not None and flags.long_ago.search(p)))
                or self._same_as_before(p) for p in parts]
        same = [bool(flags.unchanged.search(p)) for p in parts]
        steady = [not _CHANGE.search(flags.unchanged.sub(" ", p)) for p in parts]
        for i in range(len(parts)):
            if not (same[i] and steady[i]):
                continue
            if long[i] or (i and long[i - 1] and steady[i - 1]):
                out[i] = True
                if not long[i]:
                    out[i - 1] = True
                elif i and steady[i - 1] and not flags.time.search(parts[i - 1]):
                    out[i - 1] = True  # what it explains, told with no "now": "gets breathless on the stairs - he's had COPD for years, nothing new"
            # ... or over at most `_EXPLAINED_WITHIN` sentences between, none telling of now or of a
            # change, back to one that says it is long-standing ("I've had a tremor since my forties.
            # Essential tremor, my neurologist says. It's no different now").
            for j in range(i - 2, max(-1, i - 2 - _EXPLAINED_WITHIN), -1):
                if not (steady[j + 1] and not flags.time.search(parts[j + 1])):
                    break
                if long[j] and steady[j]:
                    out[j:i + 1] = [True] * (i + 1 - j)
                    break
        return out

    def _same_as_before(self, sentence: str) -> bool:
        """"exactly the same as before treatment": a cues.unchanged phrase ending just before
        `_AS_BEFORE`, so the condition was there before the treatment (long-standing)."""
        found = _AS_BEFORE.search(sentence)
        return bool(found and self.red_flags.unchanged.search(sentence[max(0, found.start() - 40):found.end()]))

    def _placed_before_now(self, text: str) -> bool:
        """The text places an episode before now: looked after by the team, before the treatment,
        always (cues.over), days or weeks ago, on the ward (cues.past, the treatment's own date set
        aside). An ending alone (cues.ended) does not."""
        flags = self.red_flags
        return bool((flags.over is not None and flags.over.search(text)) or flags.past.search(flags.treatment.sub(" ", text)))

    def _looks_back(self, text: str) -> bool:
        """`_placed_before_now`, or long ago (cues.long_ago): what a next sentence's "it settled"
        needs beside it (`_ended_next`)."""
        flags = self.red_flags
        return self._placed_before_now(text) or bool(flags.long_ago is not None and flags.long_ago.search(text))

    def _none_since(self, sentence: str) -> bool:
        """The sentence says only that there has been none of a symptom since ("No bleeding
        since.", "Nothing since."), not "No better since." (`_NONE_SINCE`)."""
        found = _NONE_SINCE.match(sentence)
        if found is None:
            return False
        what = found.group("what").strip()
        if found.group("none").lower() in ("nothing", "none") and (not what or _LIKE_THAT.match(what)):
            return True
        # "Not a flicker since", "not one peep since": not a single one of anything, as "nothing";
        # not a span of time ("not a day since without shaking" says every day)
        if found.group("none").lower().startswith("not ") and re.fullmatch(r"[\w'-]+", what) \
                and not _SPAN.fullmatch(what):
            return True
        return bool(what and self._any_term is not None and self._any_term.search(what))

    # -- the two nets -------------------------------------------------------------------
    def _supposes_uncached(self, sentence: str, current: str | None = None) -> bool:
        """"What should I do if I get a fever?", "in case", an episode that is over. Whether an
        episode is over (cues.over, cues.past) is read only when the part of the sentence that
        tells of someone unwell does not say now: "Jim's a bit muddled this evening, forgot he'd
        already had his tea" is a report, "he was muddled on day 5 and it settled" is not. An
        ending alone (cues.ended) places nothing before now: "she had a fit, she's fine now" and
        "my temp was 38.2, it's gone down now" report (a fit that stopped is still 999; a fever
        brought down still needs the call, DOMAIN E 55-56).
        `current`: that part, when the caller has it (the whole message's, `_unwell_whole`)."""
        flags = self.red_flags
        if flags.hypothetical.search(sentence):
            return True
        current = self._unwell_part(sentence) if current is None else current
        if flags.long_ago is not None and self._any_term is not None:
            # Long ago, said of the symptom itself ("I fainted at a wedding years ago"): every
            # clause naming a symptom says so. Said of something else, it says nothing of the
            # symptom ("we moved years ago, and now he doesn't know where he is"). Nor when the
            # rest of its unwell part says now ("fits since she was a child, and had one tonight").
            named = [c for c in _CLAUSE.split(sentence) if c and self._any_term.search(c)]
            if named and all(flags.long_ago.search(c) for c in named) and not any(
                    flags.time.search(c) or _NOW_VERB.search(c)
                    for c in _CLAUSE.split(current) if c and not flags.long_ago.search(c)):
                return True
        # (the cheap checks first: `_says_now` may encode a clause)
        if self._placed_before_now(sentence) and not self._told_as_present(sentence) and not self._says_now(current, sentence):
            return True  # an episode that is over (when the treatment was is set aside)
        return bool(_IF.search(sentence)) and (bool(_QUESTION_FORM.search(sentence)) or sentence.lower().startswith("if "))

    def _says_now(self, current: str, sentence: str) -> bool:
        """The part of a sentence that tells of someone unwell (`_unwell_part`) says now: a clause
        of it has a present "-ing" verb ("is puffing"), or a time cue (cues.time) that is not part
        of how someone has long been ("since I was a kid": cues.long_standing, cues.long_ago) in a
        clause that names a symptom, doubts, points back at one ("it's started again", "another
        one"), or is close by meaning to a symptom's reports ("he's been a bit vacant since").
        A clause about none of these ("and he's been sharp as a tack since") tells how someone is
        after an episode, not that it goes on, where the sentence names the symptom by a word.
        Without a model, or with no symptom word, every time cue says now."""
        flags = self.red_flags
        for cue in (flags.long_standing, flags.long_ago):
            if cue is not None:
                current = cue.sub(lambda m: " " * len(m.group(0)), current)
        cuts = [None, *_CLAUSE.finditer(current), None]
        for before, after in zip(cuts, cuts[1:]):
            clause = current[before.end() if before else 0:after.start() if after else len(current)]
            if not clause.strip() or self._none_since(clause):  # "no bleeding since": an ending
                continue
            if _NOW_VERB.search(clause):
                return True
            if not flags.time.search(clause):
                continue
            # set against what went before ("always have, but today I've nearly gone over")
            contrast = before is not None and _DOUBT.search(before.group(0))
            if self.embedder is None or contrast or not self._plain(clause) or _POINTS_BACK.search(clause) \
                    or not self._names_symptom(sentence) or self._near_symptom(clause):
                return True
        return False

    def _names_symptom(self, sentence: str) -> bool:
        """A word of the sentence (as written, or mended) names a symptom. Only then is it known
        which clause tells of it: where meaning alone finds it ("hubby walks bent over and slow
        now"), any clause may (`_says_now`)."""
        return self._any_term is not None and bool(self._any_term.search(sentence) or self._any_term.search(self.mend(sentence)))

    def _near_symptom_uncached(self, clause: str) -> bool:
        """The clause is as close to some symptom's reports as the meaning net needs to read a
        sentence as one (symptom_similarity), whatever it says of it: MiniLM does not tell "not
        breathless" from "breathless", so this errs towards now."""
        vector = np.asarray(self.embedder.encode([clause]), dtype=np.float32)
        closeness, _, _ = self._judge(vector)
        return float(closeness[0].max()) >= self.red_flags.symptom_similarity

    def _told_as_present(self, sentence: str) -> bool:
        """A clause of the sentence names a symptom in the present ("the team reviewed him on
        Monday, he feels faint", "I was treated for an infection and I feel unwell", "he's had a
        fit"), in a sentence that does not tell how someone has long been (cues.long_standing:
        "she's had a tremor for years, the GP says it's essential tremor"): what the rest of the
        sentence looks back on is something else. Read as written: mending words for the rules
        (`mend`) may make a verb of another word ("stem cell" -> "seem cell")."""
        flags = self.red_flags
        if self._any_term is None or (flags.long_standing is not None and flags.long_standing.search(sentence)):
            return False
        text = sentence
        # the clause each symptom word starts in ("I feel hot and shivery": "I feel hot")
        cuts = [(0, 0), *(m.span() for m in _CLAUSE.finditer(text)), (len(text), len(text))]
        for word in self._any_term.finditer(text):
            after = next(k for k, (a, _) in enumerate(cuts) if a > word.start() or k == len(cuts) - 1)
            if _PRESENT_TELLING.search(text[cuts[after - 1][1]:cuts[after][0]]):
                return True
        return False

    def _is_well_clause(self, clause: str) -> bool:
        """A clause saying someone is well now ("he's been back to normal for three weeks now"),
        or a normal temperature reading ("(36.5 this morning)"), with no symptom word and no
        doubt in it ("not back to normal"). Asked through `_well_clause`, cached: one
        sentence's clauses are asked about several times."""
        flags = self.red_flags
        readings = any(ch.isdigit() for ch in clause) and self.temperatures_c(clause, context="temperature")
        if not readings and (flags.well_now is None or not flags.well_now.search(clause.strip())):
            return False
        if _DOUBT.search(clause) or (self._any_term is not None and self._any_term.search(clause)):
            return False
        return max(readings) < flags.fever_threshold_c if readings else True  # "(36.5 this morning)": a normal reading

    def _unwell_part_uncached(self, sentence: str) -> str:
        """The sentence without its clauses that say someone is well, or that an episode is
        over, with no symptom word in them: their "now" and "since" ("back to normal for three
        weeks now", "it's completely gone now") tell how someone is after an episode, not that
        the episode is still going on."""
        flags = self.red_flags
        if flags.well_now is None and flags.over is None and flags.ended is None:
            return sentence
        # Where the sentence says an episode is over: a cue may span clauses ("home now and fine").
        over = [m.span() for cue in (flags.over, flags.ended) if cue is not None for m in cue.finditer(sentence)]
        kept, start, joint = [], 0, ""
        for cut in [*_CLAUSE.finditer(sentence), None]:
            end = cut.start() if cut else len(sentence)
            clause = sentence[start:end]
            cues = [(max(a, start) - start, min(b, end) - start) for a, b in over if a < end and b > start]
            # plain outside the cue's own words: "not happened since" is a cue, "not" in it no doubt
            rest = clause
            for a, b in cues:
                rest = rest[:a] + " " * (b - a) + rest[b:]
            if clause.strip() and not self._well_clause(clause) and not (cues and self._plain(rest)):
                # a clause set against the one before keeps its "but" (`_says_now` reads it)
                kept.append(f"but {clause.strip()}" if kept and _DOUBT.search(joint) else clause.strip())
            start, joint = (cut.end(), cut.group(0)) if cut else (end, "")
        return " , ".join(kept)

    def _unwell_whole(self, parts: list[str]) -> str:
        """The whole message's unwell part: its sentences' own, leaving out the sentences that
        only say someone is well or that ask."""
        return " , ".join(u for u in (self._unwell_part(p) for p in parts
                                      if not self._says_well(p) and not _QUESTION_FORM.search(p)) if u)

    def _plain(self, clause: str) -> bool:
        """No symptom word and no doubt ("it hasn't gone away") in the clause."""
        return not _DOUBT.search(clause) and not (self._any_term is not None and self._any_term.search(clause))

    def _says_well(self, sentence: str) -> bool:
        """The sentence only says someone is well ("He's home now and himself again."): no
        symptom, no "but", so the meaning net does not read it as a report."""
        clauses = [c for c in _CLAUSE.split(sentence) if c and c.strip()]
        well = [self._well_clause(c) for c in clauses]
        # every clause says so, or is a few words of where or when with no symptom word in them
        # ("hes home now 5 weeks later"; not "just very sleepy")
        return (any(well) and not _DOUBT.search(sentence)
                and all(w or (len(c.split()) <= _FEW_WORDS and self._plain(c)) for w, c in zip(well, clauses)))

    def _quoted(self, sentence: str, start: int) -> bool:
        """The symptom word at `start` is what a leaflet, a medicine's box or someone else says
        ("the leaflet lists shivering, racing heart ...", "the box says may cause drowsiness"):
        a quoting cue comes before it in the sentence, with no one and no "now" in between."""
        flags = self.red_flags
        if flags.quotes is None:
            return False
        for cue in flags.quotes.finditer(sentence, 0, start):
            between = sentence[cue.end():start]
            if not flags.person.search(between) and not flags.time.search(between):
                return True
        return False

    def _states(self, sentence: str) -> bool:
        """A statement, not a question, about someone ("my husband is..."), about now, or with
        the writer left out as texts do ("hearing music that isnt playing")."""
        flags = self.red_flags
        return not _QUESTION_FORM.search(sentence) and bool(
            flags.person.search(sentence) or flags.time.search(sentence) or _NO_SUBJECT.match(sentence))

    def _told_inside(self, sentence: str) -> bool:
        """A question that says it would tell, mention or report something (`_COMPLEMENT`), and
        what it would tell is a statement about someone or about now with a symptom word in it,
        not a supposition: "Do I need to tell the team that I blacked out in the garden this
        afternoon?" reports; "should I tell them if I get a fever?" and "do I need to mention
        that I had a fit as a child?" do not."""
        found = _COMPLEMENT.search(sentence)
        if found is None or self._any_term is None:
            return False
        told = sentence[found.end():].strip().rstrip("?!. ")
        return bool(told) and bool(self._any_term.search(told)) and self._states(told) and not self._supposes(told)

    def _reports_now(self, sentence: str, message_time: bool, asks: bool) -> bool:
        """Not a supposition, not a question by meaning (`asks`), and either a statement or a
        question that names who or when ("is it normal for my hands to shake?"), or sits in
        a message that says it is happening now ("is it ok to be breathless? still puffed now")."""
        flags = self.red_flags
        if self._supposes(sentence):
            return False
        if asks and not self._states(sentence):
            # the classifier's "only asks" does not overrule a statement's symptom word, nor one
            # the question says it would tell ("should I tell them that I blacked out today?")
            return self._told_inside(sentence)
        return (not _QUESTION_FORM.search(sentence) or bool(flags.person.search(sentence))
                or bool(flags.time.search(sentence)) or message_time)

    def _rules(self, parts: list[str], text: str, asks: list[bool], others: list[bool], message_time: bool,
               message_person: bool) -> list[_Hit]:
        hits: list[_Hit] = []
        flags = self.red_flags
        threshold = flags.fever_threshold_c
        for sentence, sentence_asks, other in zip(parts, asks, others):
            if other:
                continue
            high = [t for t in self.temperatures_c(_THRESHOLD_TALK.sub(" ", sentence), context=text) if t >= threshold]
            # In a question, a number is a reading only in a message about someone ("is 38.1 too
            # high? had my cells friday"), and the threshold itself only when read off someone.
            asked = any(_QUESTION_FORM.search(c) for c in _CLAUSE.split(sentence) if c)
            quoting = asked and (all(abs(t - threshold) < 0.05 for t in high) or self._offers_threshold(sentence))
            someone = message_person or message_time
            # A reading flags the sentence; its words are still read ("T 38.4, no response to
            # sternal rub" is also a 999 situation).
            read: list[_Hit] = []
            if high and self._fever is not None and (not self._supposes(sentence) or self._read_now(sentence)) and (
                    not asked or _READ_OFF.search(sentence) or (someone and not quoting)):
                read.append(_Hit("rules", self._fever, sentence, f"reading {max(high):.1f} C", firm=True))
            # A heart rate is read the same way: "my watch says 124 bpm and im just sat on the sofa".
            fast = [b for b in self.pulses_bpm(sentence) if b >= flags.heart_rate.fast_bpm] if self._pulse else []
            quoting = asked and all(b == flags.heart_rate.fast_bpm for b in fast)
            if fast and not self._supposes(sentence) and (not asked or (someone and not quoting)):
                read.append(_Hit("rules", self._pulse, sentence, f"reading {max(fast):.0f} beats a minute",
                                 firm=True))
            hits.extend(read)
            if not (read or self._reports_now(sentence, message_time, sentence_asks)):
                continue
            mended = self.mend(sentence)
            if self._any_term is not None and not (self._any_term.search(sentence) or self._any_term.search(mended)):
                continue  # no symptom's words at all (one pattern for all): nothing more to read
            firm = self._told_inside(sentence)
            for symptom in (s for s in flags.symptoms if s.terms and all(h.symptom is not s for h in read)):
                match, how = self._told(symptom, sentence), ""
                if match is None and mended != sentence:
                    match, how = self._told(symptom, mended), self._mending(sentence, mended)
                if match:
                    hit = self._denied_999(symptom, mended if how else sentence, sentence, how) or \
                        _Hit("rules", symptom, sentence, f"'{match.group(0)}' ({symptom.id}{how})")
                    hits.append(replace(hit, firm=firm))
        return hits

    def _recurring(self, parts: list[str], others: list[bool], whose: list[bool], hits: list[_Hit]) -> list[_Hit]:
        """A sentence naming no symptom that says it is happening again now, pointing back at
        one the sentence before it (or the one before that) names: "Dad had a fit in March. He's
        just had another one." The episode named first may be over, and set aside; the one now
        is that symptom, now. Not where a hit already reads the sentence, nor in a supposition
        ("if he has another one"), nor in a sentence telling of someone else; nor pointing back at
        a sentence of someone else's, an animal's or a thing's (`whose`: "Mum's gazebo has just
        collapsed ... she wants to help me put it up again")."""
        flags = self.red_flags
        found: list[_Hit] = []
        read = {h.sentence for h in hits}
        for j, sentence in enumerate(parts):
            again = _RECURS.search(sentence)
            if again is None or others[j] or sentence in read or self._names_symptom(sentence) \
                    or flags.hypothetical.search(sentence):
                continue
            if not (flags.time.search(sentence) or _NOW_VERB.search(sentence)) or _MAY_HAVE.search(sentence[:again.start()]):
                continue  # not said to be now ("could it come back?"), or one that may come ("is he likely to have another one now?")
            for k in range(j - 1, max(-1, j - 3), -1):
                before = parts[k]
                if whose[k]:
                    continue
                named = [(s, m) for s in flags.symptoms if s.terms and (m := self._told(s, before))]
                if named:
                    found.extend(_Hit("rules", s, sentence, f"'{again.group(0)}' points back at '{m.group(0)}' ({s.id})")
                                 for s, m in named)
                    break
        return found

    def _denied_999(self, symptom: Symptom, read: str, sentence: str, how: str) -> _Hit | None:
        """A 999 symptom with an `instead` whose every word in the sentence (as `read`) is said
        not to have happened ("he hasn't actually fainted", "not passed out or anything"): a
        hit on that lesser symptom (the 24-hour line), else None. A 999 symptom without one
        keeps its 999 ("not gasping though" still tells of the breathing)."""
        if not symptom.emergency or symptom.instead is None:
            return None
        told = [m for m in symptom.terms.finditer(read) if not _said_absent(symptom, read, m.start())]
        if not told or not all(_DENIED.search(read, 0, m.start()) for m in told):
            return None
        other = self._by_id[symptom.instead.symptom]
        return _Hit("rules", other, sentence, f"'{told[0].group(0)}' said not to have happened ({symptom.id}{how}): "
                                              f"read as {other.label}")

    def _denies(self, sentence: str) -> bool:
        """The sentence names symptoms by their words, and says each one is absent: "no chills,
        not breathless" (`_said_absent`)."""
        if self._any_term is None or not self._any_term.search(sentence):
            return False
        return all(_said_absent(s, sentence, m.start()) for s in self.red_flags.symptoms if s.terms
                   for m in s.terms.finditer(sentence))

    def _offers_threshold(self, sentence: str) -> bool:
        """The sentence offers the fever threshold as one of two numbers ("is it 37.5 or 38?",
        "38 or 37.5?"): it asks which number is the threshold, it reads no one's temperature."""
        threshold = self.red_flags.fever_threshold_c
        return any(abs(float(n.replace(",", ".")) - threshold) < 0.05
                   for m in _ALTERNATIVES.finditer(sentence) for n in m.groups())

    def _read_now(self, sentence: str) -> bool:
        """A reading at or above the fever threshold read off in the present, in a clause that
        supposes nothing and places nothing before now: what the rest of the sentence says
        ("like they said", "we rang the line on Sunday") does not make the reading a past one."""
        threshold = self.red_flags.fever_threshold_c
        for clause in _CLAUSE.split(_outside_conditions(sentence)):
            if clause and _READS_NOW.search(clause) and any(
                    t >= threshold for t in self.temperatures_c(_THRESHOLD_TALK.sub(" ", clause), context=sentence)) \
                    and not self._supposes(clause):
                return True
        return False

    def _told(self, symptom: Symptom, sentence: str) -> re.Match | None:
        """The first of the symptom's words in the sentence that is not quoted, not said to be
        absent ("No bleeding since.", "no fever", "not breathless"; `_ABSENT`, `_ABSENT_999` for a
        999 symptom), not supposed in an "if" clause (`_IF_CLAUSE`) or anywhere in an "if"
        condition (`_conditions`: "if it's late and she's shivering, ...") and not in a number's
        definition ("my GP says a fever is 38"; `_THRESHOLD_TALK`)."""
        supposed = _conditions(sentence)
        told = [m for m in symptom.terms.finditer(sentence)
                if not self._quoted(sentence, m.start()) and not _said_absent(symptom, sentence, m.start())
                and not _IF_CLAUSE.search(_CLAUSE.split(sentence[:m.start()])[-1])
                and not any(start < m.start() < end for start, end in supposed)]
        if not told:
            return None
        defined = [d.span() for d in _THRESHOLD_TALK.finditer(sentence)]  # only where a word was told
        return next((m for m in told if not any(a <= m.start() < b for a, b in defined)), None)

    def _mending(self, sentence: str, mended: str) -> str:
        """What `mend` did to the sentence, for `Triage.reason` ("; spelling mended")."""
        written = self._as_written(sentence)
        return "; " + ", ".join(what for what, done in (("'unable to' and its like read as can't", written != sentence),
                                                       ("spelling mended", mended != written)) if done)

    def _as_written(self, text: str) -> str:
        """The text with what the file reads as "can't" (`cues.cannot`: "unable to rouse him")
        written as its words say it ("can't rouse him")."""
        return self.red_flags.cannot.sub("can't", text) if self.red_flags.cannot is not None else text

    def _mend_uncached(self, text: str) -> str:
        """`mend` (read once per text, `_read_once`): the text as the file's words are written
        (`_as_written`), with each misspelt word (not a word of English, one or two slips from a
        word of the red-flag file's examples, or one of them without its final "g") put right;
        everything else as written."""
        text = self._as_written(text)

        def fix(match: re.Match) -> str:
            word = match.group(0)
            lower = word.lower()
            # the "g" texts drop ("havin a fit", "shakin"), where the file's examples have the word
            if len(lower) >= 5 and lower.endswith("in") and f"{lower}g" in self._vocabulary:
                return f"{lower}g"
            if english_word(lower):  # a word, not a slip: "cooking" is not "choking"
                return word
            mended = self._vocabulary.correct(lower)
            return word if mended == lower else mended

        return re.sub(r"[A-Za-z]{4,}", fix, text)

    def _judge(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per text: closeness to each symptom (mean of its TOP closest reports; a symptom the
        everyday news of `not_red_flags` and the `general_questions` is closer than, by more than
        `neutral_margin`, counts 0),
        the closest report of each symptom, and the probability that the text reports (not asks)."""
        closeness, blocks, ordered = self._nearness(vectors)
        nearest = self._padded[np.arange(len(self._columns)), np.argmax(blocks, axis=2)]
        single = self.red_flags.single_report_margin
        if single:
            # One report example this close is enough for the line ("he keeps swatting at things
            # in the air ... theres nothing there" stood 0.58 from one hallucination report, its
            # three closest 0.39); a 999 needs the agreement of several.
            closest = np.where(self._line, ordered[:, :, -1] - single, 0.0)
            # ...and it never takes a sentence from a 999 symptom it is already close enough to.
            emergency = np.where(self._line, -np.inf, closeness).max(axis=1, keepdims=True)
            closest = np.minimum(closest, np.where(emergency >= self.red_flags.symptom_similarity, emergency - 1e-4, np.inf))
            closeness = np.maximum(closeness, closest).astype(np.float32)
        if len(self._neutral):
            neutral = np.sort(vectors @ self._neutral.T, axis=1)[:, -min(TOP, len(self._neutral)):].mean(axis=1)
            margin = self.red_flags.neutral_margin
            closeness = np.where(closeness + margin > neutral[:, None], closeness, 0.0).astype(np.float32)
        report_p = 1.0 / (1.0 + np.exp(-(vectors @ self._weights[:-1] + self._weights[-1])))
        return closeness, nearest, report_p

    def _meaning(self, parts: list[str], closeness: np.ndarray, nearest: np.ndarray, report_p: np.ndarray,
                 others: list[bool], someone_or_now: bool) -> list[_Hit]:
        flags = self.red_flags
        hits: list[_Hit] = []
        whole = len(parts) - 1 if len(parts) > 1 else None  # meaning_texts ends with the whole message
        unread = [self._unread(p) for p in parts[:whole]]
        # As in the rules net, in a message that names no one and no time, a question only asks
        # ("Like an eyelid twitch, or something bigger?"). Asked with its question mark: "can
        # barely breathe, fighting for every breath" is a report.
        if not someone_or_now:
            unread = [u or p.rstrip().endswith("?") for u, p in zip(unread, parts[:whole])]
        for i, sentence in enumerate(parts):
            # The whole message is not judged when part of it is someone else's health, nor when
            # each of its sentences is unread or only asks: then no part of it tells of now.
            if i == whole:
                if any(others) or self._supposes(sentence, self._unwell_whole(parts[:whole])) or all(
                        u or report_p[k] < flags.question_probability for k, u in enumerate(unread)):
                    continue
            elif others[i] or unread[i]:
                continue
            j = int(np.argmax(closeness[i]))
            c, p = float(closeness[i, j]), float(report_p[i])
            # As in the rules net, the classifier's doubt does not overrule a sentence of the
            # message that states something about someone or about now and is this close to a
            # symptom's reports: there only a classifier sure it asks (question_probability) does.
            stated = i != whole and c >= flags.statement_similarity and self._states(sentence)
            needed = flags.question_probability if stated else flags.report_probability
            if c >= flags.symptom_similarity and p >= needed:
                symptom = self._symptoms[j]
                hits.append(self._meaning_hit(symptom, sentence, c, int(nearest[i, j]), p))
                if not symptom.emergency:
                    hits.extend(self._signed_emergency(sentence, closeness[i], nearest[i], p))
        return hits

    def _clause_reading(self, parts: list[str], others: list[bool], message: str,
                        layers: MessageLayers | None, vectors: np.ndarray) -> list[_Hit]:
        """A message neither net flagged, read clause by clause (red-flag file 1.25): a long
        sentence's vector is the mean of all it says, so a report in one clause of it is diluted
        by the rest ("my dads had the cilta cel for myeloma, walks really slow now and tiny steps
        like hes on ice, only this last week" stood 0.42 from movement reports as a sentence,
        0.58 as its clause about walking, and the classifier gave the sentence 0.34 of reporting).
        The sentences read are those of at least `clause_min_words` words that stand within
        `clause_within` of `symptom_similarity` from a line symptom's reports (`_nearness`, before
        the everyday news is weighed: a sentence diluted, not one about something else; about one
        long sentence in six of the answer questions), not someone else's, not supposing, not only
        saying someone is well or none since. Each of their clauses of three words or more that is
        not a supposition, a well clause nor one saying its symptom is absent ("not puffed on the
        stairs") is read against the 24-hour line's reports as a sentence is
        (`symptom_similarity`, `report_probability`). A clause alone has lost
        what the rest of its message says ("woke up clear headed", "sorted", "for years"), so a
        hit counts only when the message classifier, which reads the whole message, gives it at
        least `clause_agreement` of telling of a symptom now; and never 999 (a 999 by meaning
        needs its sentence). The classifier is asked first (its reading of the message is mostly
        at hand, `layers`), and the clauses are encoded only for a message it agrees on."""
        flags = self.red_flags
        if not flags.clause_agreement or self.veto is None:
            return []
        long = [i for i, part in enumerate(parts) if not others[i] and len(part.split()) >= flags.clause_min_words]
        if not long:
            return []  # most messages: no nearness worked out
        near = self._nearness(vectors[long])[0][:, self._line].max(axis=1) >= flags.symptom_similarity - flags.clause_within
        clauses = [c.strip() for i, close in zip(long, near) if close and not self._unread(parts[i])
                   for c in _CLAUSE.split(parts[i])
                   if c and len(c.split()) >= 3 and not self._supposes(c.strip()) and not self._well_clause(c)
                   and not self._denies(c.strip())]
        if len(clauses) < 2:
            return []
        # the classifier first: for a message it doubts (most of those that reach here), no encode
        if self._pooled_below(message, layers, flags.clause_agreement):
            return []
        agreed = self.veto_probability(message, layers)
        if agreed < flags.clause_agreement:
            return []
        closeness, nearest, report_p = self._judge(np.asarray(self.embedder.encode(clauses), dtype=np.float32))
        line = np.where(self._line[None, :], closeness, -1.0)
        hits = []
        for k, clause in enumerate(clauses):
            j = int(np.argmax(line[k]))
            c, p = float(line[k, j]), float(report_p[k])
            symptom = self._symptoms[j]
            if c >= flags.symptom_similarity and p >= flags.report_probability and all(h.symptom is not symptom for h in hits):
                hits.append(self._meaning_hit(symptom, clause, c, int(nearest[k, j]), p, " as a clause of its sentence"))
        return [replace(h, detail=f"{h.detail}; the message classifier agrees: {agreed:.2f}") for h in hits]

    def _unread(self, sentence: str) -> bool:
        """A sentence the meaning net does not read: it supposes, only says someone is well, or
        says there has been none since ("No bleeding since.": its vector is close to bleeding
        reports, whatever the "no")."""
        return self._supposes(sentence) or self._says_well(sentence) or self._none_since(sentence)

    def _nearness(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per text and symptom, the mean closeness of its TOP closest reports (of those it has,
        when it has fewer), before the everyday news and the single-report margin are weighed
        (`_judge`); and the closeness of each report, per symptom as given and sorted."""
        sims = vectors @ self._reports.T
        never = np.full((len(sims), 1), -np.inf, dtype=sims.dtype)
        blocks = np.concatenate([sims, never], axis=1)[:, self._padded]  # (texts, symptoms, reports)
        ordered = np.sort(blocks, axis=2)
        closeness = ordered[:, :, -TOP:].mean(axis=2).astype(np.float32)
        for j, columns in enumerate(self._columns):
            if len(columns) < TOP:  # fewer reports than TOP: the mean of those it has
                closeness[:, j] = ordered[:, j, -len(columns):].mean(axis=1)
        return closeness, blocks, ordered

    def _signed_emergency(self, sentence: str, closeness: np.ndarray, nearest: np.ndarray, p: float) -> list[_Hit]:
        """A sentence the meaning net reads as a lesser symptom (its closest), that is as close to
        a 999 symptom as 999 needs (emergency_similarity) and says one of that symptom's `signs`
        outside every lesser symptom's own words: the 999 symptom too (red-flag file 1.24). "...
        generalised shaking ... with stiffening of limbs, tongue bitten" stood closest to tremor
        reports and was told the line only. A sign inside a lesser symptom's own words is that
        symptom's (`_signs_said`). `closeness` and `nearest`: the sentence's rows of `_judge`."""
        hits = []
        for k, symptom in enumerate(self._symptoms):
            c = float(closeness[k])
            if symptom.emergency and c >= self.red_flags.emergency_similarity and _signs_said(symptom, sentence, self._lesser):
                hits.append(self._meaning_hit(symptom, sentence, c, int(nearest[k]), p, " with its sign"))
        return hits

    def _meaning_hit(self, symptom: Symptom, sentence: str, closeness: float, example: int, p: float,
                     how: str = "") -> _Hit:
        """A hit of the meaning net, its detail naming the closest report example (`example`)."""
        return _Hit("meaning", symptom, sentence,
                    f"close to {symptom.id} reports such as \"{_clip(self._report_text[example], 40)}\" "
                    f"({closeness:.2f}{how}; reports, not asks: p={p:.2f})", similarity=closeness, example=example)


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float = 0.3, steps: int = 25) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method (weights, then bias): does this
    text report something or ask? Fitted at start-up on the file's examples, so an example
    added to the file changes the classifier too. Classes weigh equally, whatever their counts.
    `l2` = 0.3: 5-fold accuracy on the file's examples 0.961 (0.01: 0.969, 1.0: 0.947); with 0.01
    the dev cases had twice the false alarms, with 1.0 one of the file's own reports was missed."""
    x = np.hstack([x.astype(np.float64), np.ones((len(x), 1))])
    balance = np.where(y == 1, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1)) * len(y)
    penalty = l2 * np.eye(x.shape[1])
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ (balance * (p - y)) + penalty @ w
        hessian = (x * (balance * p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w.astype(np.float32)


# Kin words that name one person: "my hubby" is "my husband", "my mam" is "my mum".
_KIN_GROUPS = (("husband", "hubby", "wife", "partner"), ("mum", "mom", "mam", "mother"), ("dad", "father"),
               ("nan", "nana", "gran", "granny", "grandma", "grandmother"), ("grandad", "grandpa", "granddad", "grandfather"),
               ("son", "boy"), ("daughter", "girl"), ("child", "children", "kid", "kids", "baby", "toddler"))
_KIN = {word: group[0] for group in _KIN_GROUPS for word in group}


# Who a word can be: a he or a she ("partner", "friend", "they" may be either).
_GENDER = {**dict.fromkeys("he him his hes himself husband hubby dad father son boy brother grandad grandpa granddad "
                           "grandfather grandson uncle nephew father-in-law brother-in-law stepson stepdad stepfather godson".split(), "m"),
           **dict.fromkeys("she her hers shes herself wife mum mom mam mother daughter girl sister nan nana gran granny "
                           "grandma grandmother granddaughter aunt auntie niece mother-in-law sister-in-law stepdaughter stepmum "
                           "stepmom stepmother goddaughter".split(), "f")}


_NEARLY = re.compile(r"\b(?:nearly|almost|about to|close to|as if (?:he|she|they|i) might)\s+$", re.I)


def _signs_said(symptom: Symptom, sentence: str, words_of: Sequence[Symptom] = ()) -> bool:
    """One of the symptom's `signs` is in the sentence, not said only nearly or not to have
    happened ("nearly went over", "never went down"), nor inside a word of one of the symptoms
    `words_of` (with a sign "all over", "shaking all over" would still be chills' word)."""
    if symptom.signs is None:
        return False
    said = [m for m in symptom.signs.finditer(sentence)
            if not _NEARLY.search(sentence, 0, m.start()) and not _DENIED.search(sentence, 0, m.start())]
    if not said or not words_of:
        return bool(said)
    taken = [m.span() for other in words_of if other.terms is not None for m in other.terms.finditer(sentence)]
    return any(not any(a <= m.start() and m.end() <= b for a, b in taken) for m in said)


def _said_absent(symptom: Symptom, sentence: str, start: int) -> bool:
    """The symptom's word at `start` is said to be absent just before it (`_ABSENT`, or `_WITHOUT`
    where the clause before can do without it; for a 999 symptom only "no" and its like,
    `_ABSENT_999`)."""
    if (_ABSENT_999 if symptom.emergency else _ABSENT).search(sentence, 0, start):
        return True
    without = None if symptom.emergency else _WITHOUT.search(sentence, 0, start)
    return without is not None and not _CANNOT_WITHOUT.search(_CLAUSE.split(sentence[:without.start()])[-1])


def _word(relation: str) -> str:
    """A relation phrase's person word: "my little girl" -> "girl", "my mum's husband" -> "mum"."""
    return re.sub(r"'s\b.*$", "", relation.lower()).split()[-1]


def _kin(relation: str) -> str:
    """A relation phrase's person, as a group: "my little girl" -> "daughter"."""
    word = _word(relation)
    return _KIN.get(word, word)


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."
