"""Does the answer hold the kind of value the question asks for?

Some questions can only be answered with a value of one kind: "how much does it cost?" with
an amount of money, "what dose of ...?" with a dose, "what were the EFS and OS figures?" with
a figure. A section chosen for such a question may be on the right topic and still not hold
one ("Flu/Cy doses before Breyanzi?" is answered well by the lymphodepletion section, which
names the drugs and gives no dose). Quoting it would be a confident answer that does not
answer: the chain refuses instead, saying which kind of value the approved information does
not give (`chain.REFUSAL_VALUE`), and where to ask.

Only the kinds a reader cannot mistake are judged; a question about one (who to ask about a
dose, whether a treatment is funded, split dosing as a schedule) is not asking for the value.
Any approved document that gives such a value is quoted as before: nothing here says what the
documents hold, only what a reply must hold to answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .text import ASKING_VERB, does_for_dose, english_word


@dataclass(frozen=True)
class Kind:
    id: str
    label: str  # as the refusal names it: "the approved information does not give {label}"
    asked: re.Pattern
    held: re.Pattern
    about: re.Pattern | None = None  # the measure the value is of, which the answer must name too
    brief: re.Pattern | None = None  # also asked by a note with no verb of asking ("anakinra dosing?")
    # Judged by the question's own words rather than a pattern: (question, answer) -> the answer
    # holds it; only asked when the question names what it is about (`names`).
    holds: Callable[[str, str], bool] | None = None
    names: Callable[[str], list[str]] | None = None
    # The section on the topic still helps and is shown as general information beside the refusal:
    # "what does HLH stand for?" is answered in part by what HLH is.
    explains: bool = False


_W = r"(?:[\w'/-]+\s+)"  # one word and the space after it
# The word "dose", not as a count or a schedule: not after split, single, both, one, a, each ...
# nor before interval, schedule, timing.
_DOSE = (r"(?<!\bsplit )(?<!\bsplit-)(?<!\bsingle )(?<!\bboth )(?<!\bone )(?<!\ba )(?<!\beach )(?<!\bevery )"
         r"(?<!\banother )(?<!\bsecond )(?<!\bfirst )(?<!\bmissed )(?<!\bextra )(?<!\bmany )(?:doses?|dosing|dosage)\b"
         r"(?!\s+(?:interval|intervals|schedule|schedules|timing|regimen|gap|split))")
# What letters stand for: "what does CRS stand for?", "ICANS - what's it short for?". The answer
# must spell the letters out: words whose first letters are the letters asked about, in order
# (one word may be passed over: "Immune Effector Cell-Associated Neurotoxicity Syndrome" for
# ICANS). A question naming no letters is not judged.
_STANDS = re.compile(r"\bstands? for\b|\bshort for\b|\babbreviation\b|\bacronym\b", re.I)
_LETTERS = re.compile(r"(?<![\w-])([A-Z]{2,6})(?=[-\s?.,!:;)'\"]|$)")


def letters_asked(question: str) -> list[str]:
    """The letters a question asks the meaning of: its capitals ("CAR", "ICE"), or, in a question
    typed in lower case, its short words that are no English word ("cdf", "icans")."""
    capitals = [m.group(1) for m in _LETTERS.finditer(question)]
    if capitals:
        return capitals
    return [w.upper() for w in re.findall(r"(?<![\w-])[a-z]{2,6}(?![\w-])", question.lower()) if not english_word(w)]


def spells_out(letters: str, text: str) -> bool:
    """The text has words whose first letters are `letters`, in order, passing over at most one
    word ("immune effector cell-associated neurotoxicity syndrome" for ICANS)."""
    initials = [w[0].upper() for w in re.findall(r"[A-Za-z][A-Za-z']*", text)]
    n = len(letters)
    for start in range(len(initials)):
        if initials[start] != letters[0]:
            continue
        i, skipped, k = start + 1, 0, 1
        while k < n and i < len(initials) and i - start <= n:
            if initials[i] == letters[k]:
                k += 1
            elif skipped:
                break
            else:
                skipped = 1
            i += 1
        if k == n:
            return True
    return False


def _holds_letters(question: str, answer: str) -> bool:
    return any(spells_out(letters, answer) for letters in letters_asked(question))


# A level a decision turns on: "IgG level at which you start IVIG?", "what ANC thresholds define
# ICAHT grades?", "any CD4 cut-off?". The answer must name that measure with a figure in the same
# sentence ("LVEF above 40%", "ECOG 0-1"); the measure is the word before "level", "threshold" or
# "cut-off", or after "minimum" or "maximum" ("minimum CrCl?").
_LEVEL = re.compile(r"(?<![\w-])([A-Za-z][\w-]*)\s+(?:levels?|thresholds?|cut-?offs?|cutoffs?)\b"
                    # ... or a least or most of it: "minimum CrCl for eligibility?"
                    r"|(?<![\w/-])(?:min(?:imum)?|max(?:imum)?|lowest|highest)\s+(?:acceptable\s+|required\s+)?([A-Za-z][\w-]*)", re.I)
# A measure is a named quantity: an abbreviation ("ANC", "IgG", "CD4", "LVEF", "CrCl") or one of
# these, not a kind of criteria ("the usual fitness thresholds" asks for the criteria, which give
# their own figures).
_MEASURE_WORDS = frozenset("""platelet platelets neutrophil neutrophils lymphocyte lymphocytes haemoglobin hemoglobin
creatinine bilirubin ferritin albumin oxygen saturation saturations sodium potassium antibody antibodies immunoglobulin
immunoglobulins""".split())


def measures_asked(question: str) -> list[str]:
    """The measures whose level, threshold, cut-off, least or most a question asks for."""
    named = [m.group(1) or m.group(2) for m in _LEVEL.finditer(question)]
    return [m for m in named if re.search(r"[A-Z].*[A-Z]|\d", m) or m.lower() in _MEASURE_WORDS]


# Clinicians' short names of a measure and the words the documents spell it out in: "O2 cut-off
# for grade 2?" is answered by "oxygen by low-flow nasal cannula (up to 6 L/min)" (asked so by
# two blind writers, the forty-third and forty-fifth sets).
# Only short names `measures_asked` reads as measures (two capitals or a digit: "O2", "BP", "PLT").
_SPELLED_OUT = {"o2": ("oxygen",), "spo2": ("oxygen saturation", "saturation", "sats"),
                "bp": ("blood pressure",), "sbp": ("blood pressure", "systolic"), "hr": ("heart rate", "pulse"),
                "plt": ("platelet",), "crcl": ("creatinine clearance",), "egfr": ("gfr", "glomerular filtration"),
                "ef": ("ejection fraction",), "lvef": ("ejection fraction",), "igg": ("immunoglobulin g",),
                "anc": ("neutrophil",), "wcc": ("white cell", "white blood cell")}


def _names_measure(measure: str, sentence: str) -> bool:
    """The sentence names the measure: as a word, or, a short name in capitals, inside a longer
    one ("EF" in "LVEF"), or spelled out (`_SPELLED_OUT`: "oxygen" for "O2")."""
    if any(re.search(rf"(?<![\w-]){re.escape(words)}", sentence, re.I) for words in _SPELLED_OUT.get(measure.lower(), ())):
        return True
    if measure.isupper() and len(measure) <= 4:
        return measure in sentence
    return re.search(rf"(?<![\w-]){re.escape(measure)}", sentence, re.I) is not None


def _holds_level(question: str, answer: str) -> bool:
    sentences = re.split(r"(?<=[.!?])\s+|\n", answer)
    return any(_names_measure(measure, sentence) and re.search(r"\d", sentence)
               for measure in measures_asked(question) for sentence in sentences)


# A length of time: a number of days, weeks or months, or the leaflets' words for one.
_DURATION = (r"\b(?:\d+(?:[.,]\d+)?(?:\s?(?:-|to|–|or)\s?\d+)?|a|an|one|two|three|four|five|six|seven|eight|nine|ten|"
             r"eleven|twelve|fourteen|fifteen|twenty|thirty|few|several|many|some|couple of)\s+(?:more\s+)?"
             r"(?:minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|months?|years?)\b"
             r"|\b\d+-(?:minute|hour|day|night|week|month|year)\b|\blife-?long\b|\bfor life\b|\bpermanent(?:ly)?\b")
_NEVER = re.compile(r"(?!x)x")  # the held pattern of a kind whose `holds` judges the answer instead

KINDS = (
    Kind("money", "costs or prices",
         re.compile(rf"\bhow much\s+{_W}{{0,7}}?(?:cost|costs|costing|charge|charges|charged|pay|paying|paid)\b"
                    rf"|\bhow much (?:is|are|was|would be)\s+{_W}{{0,5}}?(?:per|a|an|each) "
                    r"(?:day|week|night|hour|month|visit|session|infusion|patient|person)\b"
                    rf"|\bwhat (?:does|do|did|will|would)\s+{_W}{{1,6}}?cost\b"
                    r"|\b(?:list )?prices?\b|\bprice tag\b|\bfees?\b"
                    # whether it costs anything: "is the accommodation free?", "will we have to pay?"
                    # (not free of or from something: "is the cancer free of disease?")
                    r"|\b(?:is|are|was|will|would) (?:it|that|this|they|the [\w-]+(?: [\w-]+){0,4}) (?:be )?free\b"
                    r"(?!\s+(?:of|from)\b(?!\s+charge))"
                    r"|\b(?:have|need|got) to pay\b|\bfree of charge\b|\b(?:cost|charge) (?:us|me|him|her|them|anything)\b", re.I),
         re.compile(r"[£$€]\s?\d|\b\d[\d,.]*\s?(?:pounds?|pence|dollars?|euros?)\b|\bfree\b"
                    r"|\bno (?:cost|charge|fee)s?\b|\bat no cost\b|\bnothing to pay\b", re.I)),
    Kind("dose", "doses",
         # the amount of a medicine: its units, or "what/which/usual dose"; not a number of doses
         # ("how many doses", "both doses", "one dose of cells"), nor when or how they are given
         # ("dose interval", "dosing schedule", "split dosing")
         re.compile(r"\bmg/(?:m2|m²|kg)\b|\bhow many (?:mg|milligrams?|micrograms?)\b|\bin (?:mg|milligrams?)\b"
                    rf"|\b(?:what|whats|what's|which|usual|recommended|standard|starting|max(?:imum)?|target)\s+{_W}{{0,3}}?"
                    rf"{_DOSE}", re.I),
         re.compile(r"\b\d+(?:\.\d+)?\s?(?:mg|g|mcg|micrograms?|milligrams?|units?|ml|mg/kg|mg/m2|mg/m²)\b"
                    r"|\b\d+(?:\.\d+)?\s?x\s?10\^?\d", re.I),
         # a clinician's note with no verb of asking names the dose it wants: "anakinra dosing for
         # steroid-refractory ICANS?", "Flu/Cy doses before liso-cel?"
         brief=re.compile(rf"(?<![\w-]){_DOSE}", re.I)),
    Kind("figures", "survival or response figures",
         # the short names only in capitals ("os" is too often a slip)
         re.compile(r"(?-i:\b(?:EFS|PFS|OS|ORR)\b)"
                    r"|\b(?:overall|event[- ]free|progression[- ]free|disease[- ]free) survival\b"
                    r"|\bsurvival (?:rates?|figures?|data|results?|curves?)\b"
                    r"|\b(?:response|remission|cure|success) rates?\b", re.I),
         re.compile(r"\d\s?(?:%|per ?cent)|\b\d+ (?:in|out of) \d+\b|\bhazard ratio\b", re.I),
         # a figure of survival or response, not any percentage ("parkinsonism in about 5% of patients")
         re.compile(r"surviv|respon[sd]|remission|\bcured?\b|\b(?:EFS|PFS|OS|ORR)\b|event[- ]free|progression[- ]free", re.I)),
    Kind("likelihood", "how likely it is",
         # how many people it happens to: a share, or the leaflets' words for one
         re.compile(r"\bwhat (?:percentage|percent|proportion|share|fraction)\b|\bwhat (?:are|is) the (?:chances?|odds|risk)\b"
                    r"|\bhow (?:likely|common|rare|many (?:people|patients))\b", re.I),
         re.compile(r"\d\s?(?:%|per ?cent)|\b\d+ (?:in|out of) \d+\b|\b(?:common|commonest|uncommon|rare|rarely|most|many|"
                    r"some|few|majority|minority|almost all|nearly all|usual|usually|often|likely|unlikely|low|small|high)\b", re.I)),
    Kind("frequency", "how often it happens",
         # how often, not how long or when
         re.compile(r"\bhow (?:often|frequently|regularly)\b(?!\s+(?:does|do|did|will|would|is|can|could|might)\s+"
                    r"(?:it|that|this|they|these|this side effect|that side effect)\s+(?:\w+\s+)?(?:happen|occur|come)\w*)"
                    r"|\bhow many times (?:a|an|per|each) (?:day|week|month|year)\b", re.I),
         re.compile(r"\b(?:every|each)\s+(?:\d+\s+|few\s+|other\s+|couple of\s+|two\s+|three\s+|four\s+|six\s+)?"
                    r"(?:day|days|week|weeks|month|months|year|years|morning|evening|night|hour|hours|visit|appointment|review|check|round)\b"
                    r"|\b(?:once|twice|three times|four times|\d+ times)\b|\b(?:daily|weekly|fortnightly|monthly|yearly|"
                    r"annually|hourly)\b|\b(?:a|per) (?:day|week|month|year)\b"
                    # the leaflets' own answer, when they give no number: "we check your counts often"
                    r"|(?<!\bhow )\boften\b|\bmany times\b|\bregular(?:ly)?\b", re.I)),
    # How many days, weeks or months: a number of them, or the leaflets' words for one ("a few
    # weeks", "several months"); a count of weeks asks for the count.
    Kind("duration", "that number of days, weeks or months",
         re.compile(r"\bhow many (?:more )?(?:minutes|hours|days|nights|weeks|months|years)\b", re.I),
         re.compile(_DURATION, re.I)),
    # How long: a length of time as above, or who will say how long ("your team can tell you how
    # long to use it for": the leaflets' own answer when they give none), or until when.
    Kind("length", "that length of time",
         re.compile(r"\bhow long\b(?!\s+ago\b)", re.I),
         re.compile(_DURATION + r"|\bhow long\b|\buntil\b|\btill\b|\bas long as\b", re.I)),
    # An upper age limit ("is there an upper age limit for 3L axi-cel?", "is he too old for it?"):
    # an age given as the most, or words saying there is none. A least age ("18 or over") is
    # not one.
    Kind("upper-age", "an upper age limit",
         re.compile(r"\b(?:upper|maximum|max|top|oldest)\s+age\b|\btoo old\b|\bage (?:cap|ceiling)\b", re.I),
         re.compile(r"\b\d+\s*(?:years?\s*(?:old\s*)?)?(?:and|or)\s+(?:under|younger|below)\b|\bunder (?:the age of )?\d+\b"
                    r"|\bup to (?:the )?(?:age of )?\d+\b|\b(?:upper|maximum) age\b|\bno (?:upper )?age limit\b|\bage alone\b"
                    r"|\bolder (?:people|patients|adults)\b", re.I)),
    Kind("time", "a time of day",
         re.compile(r"\b(?:at )?what time\b(?! of (?:year|life))|\bopening (?:hours|times)\b", re.I),
         re.compile(r"\b\d{1,2}(?:[:.]\d{2})?\s?(?:am|pm)\b|\b\d{1,2}:\d{2}\b|\bo'clock\b|\bnoon\b|\bmidday\b|"
                    r"\bmidnight\b|\b24 hours\b|\bday or night\b|\bany time\b", re.I)),
    Kind("letters", "what those letters stand for", _STANDS, _NEVER,
         holds=_holds_letters, names=letters_asked, explains=True),
    Kind("level", "that level or cut-off",
         _LEVEL, _NEVER, holds=_holds_level, names=measures_asked),
    # When something happened or was decided: "when did NICE publish TA1116?", "what year was it
    # approved?". Not when something happens to someone ("when does CRS start?": a time after the
    # infusion, which the leaflets give in days).
    Kind("date", "that date",
         re.compile(r"\bwhen (?:did|was|were)\s+" + _W + r"{0,8}?(?:publish|published|approve|approved|recommend|recommended|"
                    r"issue|issued|launch|launched|license|licensed|licence|licenced|introduce|introduced|terminate|"
                    r"terminated|announce|announced|open|opened|become|became|come out|came out)\b"
                    r"|\b(?:what|which) (?:date|year|month) (?:was|were|did)\b|\bin what year\b", re.I),
         re.compile(r"\b(?:19|20)\d{2}\b|\b(?:january|february|march|april|may|june|july|august|september|october|"
                    r"november|december)\b", re.I)),
    Kind("email", "an email address",
         re.compile(r"\be-?mail (?:address|adress|addy)\b|\bwhat(?:'s| is) (?:the|your|their|its) e-?mail\b", re.I),
         re.compile(r"\S+@\S+\.\w+")),
)
# A question asking who or where to go about a value asks for a person or a place, not the value:
# "who do I speak to about a patient's dose?", "where can I find the prices?"
_ASKS_WHO = re.compile(r"\b(?:who|whom|where)\b|\bwhich (?:person|team|doctor|nurse|consultant|pharmacist)\b", re.I)


# Where one question ends and another begins: "what time do I need to get there, and where do I
# go when I arrive?" asks for a time in its first question, whoever or wherever the second asks about.
_CLAUSES = re.compile(r"[?!;]+|\.(?:\s+|$)|,?\s+(?:and|or|but|also)\s+(?=(?:who|whom|where|what|when|how|which|is|are|do|does|"
                      r"can|could|will|would|should)\b)", re.I)


def asked_kind(question: str) -> Kind | None:
    """The kind of value the question asks for, or None. Each of its questions is read alone."""
    question = does_for_dose(question.strip())  # also done to every question the chain reads
    for clause in filter(str.strip, _CLAUSES.split(question)):
        if _ASKS_WHO.search(clause):
            continue
        kind = next((kind for kind in KINDS if (kind.asked.search(clause) or (
            kind.brief is not None and kind.brief.search(clause) and not ASKING_VERB.search(clause)))
            and (kind.names is None or kind.names(clause))), None)
        if kind is not None:
            return kind
    return None


def missing(question: str, answer: str) -> Kind | None:
    """The kind of value the question asks for when the answer holds none of it, else None."""
    kind = asked_kind(question)
    if kind is None:
        return None
    if kind.holds is not None:
        return None if kind.holds(question, answer) else kind
    held = kind.held.search(answer) and (kind.about is None or kind.about.search(answer))
    return None if held else kind
