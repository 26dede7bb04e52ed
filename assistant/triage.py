"""Red-flag triage: runs before retrieval on the user's own message.

Entry point: `assess(message) -> Triage`. A message that describes an urgent symptom
happening now (to the writer or someone they care for) is urgent; a question about the
same words ("how is confusion assessed?") is not. When in doubt between the two, the
message is urgent: a missed red flag costs more than an extra phone call.

The symptoms are those the service's red-flag leaflet lists (temperature of 37.5 C or
above, chills, confusion, trouble speaking, drowsiness, fits, breathlessness, fast
heartbeat or faintness, bleeding or bruising, new tremor or handwriting change).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FEVER_THRESHOLD_C = 37.5


def _rx(*patterns: str) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.I)


# "Fever" in the languages most often spoken in England after English (Polish, Romanian,
# Punjabi, Urdu, Portuguese, Spanish, Arabic, Bengali, Gujarati, Italian, French, German,
# Chinese, Turkish, Dutch, Hindi): a message the rest of the chain cannot read must still
# get the urgent instruction. Other symptoms are recognised in English only.
FEVER_WORDS = (r"\bfiebre\b", r"\bfi[eè]vre\b", r"\bfieber", r"\bfebbre\b", r"\bfebr[eaă]\b", r"\bkoorts",
               r"\bgor[aą]czk", r"\bate[sş](im|i)?\b", r"\bbukh?aa?r\b", r"حمى", r"بخار", r"बुखार", r"জ্বর", r"તાવ", r"ਬੁਖਾਰ", r"发烧|發燒|发热|發熱")

# Found down: a collapse, whatever words are used for it.
_ON_THE_FLOOR = (r"\b(is|was|'s|lying|laying|found (him|her|them)|still) (lying |laying )?on the (floor|ground)\b"
                 r"|\b(went|gone|fell) down\b.{0,40}\b(floor|ground|not (moving|answering|responding))\b")
# symptom name -> pattern. Spelling slips people make in a hurry are included.
SYMPTOMS: dict[str, re.Pattern] = {
    "fever": _rx(r"\bfe+ve?rs?\b", r"\bfeverish\b", r"\bhigh (temp|temperature)\b", r"\btemp(erature)? (is |was |of )?(high|up|raised)\b",
                 r"\b(burning|boiling) up\b", r"\bhot and (cold|shivery)\b", r"\bpyrexi", *FEVER_WORDS),
    "chills": _rx(r"\bchill(s|y)?\b", r"\bshiver", r"\brigou?rs?\b", r"\bshaking (all over|uncontrollabl)", r"\bcan'?t stop shaking\b", r"\bteeth (are )?chattering\b"),
    "confusion": _rx(r"\bconfus", r"\bdisorientat", r"\btalking (nonsense|gibberish|rubbish)\b", r"\bnot making (any )?sense\b",
                     r"\bdoesn'?t (know|recogni[sz]e) (where|who|me)\b", r"\bdon'?t know where i am\b", r"\bmixed up\b", r"\bmuddled\b", r"\bforget(ting|s)? (words|where|who|what day)\b", r"\bnot (him|her)self\b",
                     r"\bacting (strange|odd|weird)ly?\b",
                     r"\b(asking|saying|telling (me|us)) the same (thing|question|things|story)\b.{0,20}\b(over|again|repeatedly)\b",
                     r"\brepeating (him|her|them|my)sel(f|ves)\b",
                     r"\b(do(es)?|did) ?n'?o?t know (what|which) (day|year|month|time) it is\b",
                     r"\b(do(es)?|did) ?n'?o?t know (where|who) (he|she|they|i) (is|am|are|was)\b"),
    "hallucinations": _rx(r"\bhallucinat", r"\bseeing things\b", r"\bhearing (things|voices)\b",
                          r"\b(who|that|which|things|people) (are ?n'?t|is ?n'?t|aren'?t|isn'?t) (really )?there\b",
                          r"\b(sees|seeing|saw|hears|hearing|heard) (people|animals|insects|bugs|spiders|someone|somebody|children)\b.{0,40}\b(not|n'?t|nobody|no one)\b",
                          r"\b(reaching|grabbing|picking) (out )?(for|at) (things|stuff|something|nothing)\b.{0,20}\b(air|there)\b"),
    "reading": _rx(r"\bcan'?t read\b", r"\b(trouble|difficulty|problems?|struggling) (with )?reading\b", r"\bwords (look|are|seem) (jumbled|muddled|wrong|strange)\b"),
    "movement": _rx(r"\bface (feels |is |has gone |went )?numb\b", r"\bnumb face\b", r"\bmoving (really |very |so )?slow(ly)?\b",
                    r"\bslow(ed)? movements?\b", r"\bface (looks |is )?(blank|frozen|expressionless)\b"),
    "speech": _rx(r"\b(trouble|difficulty|problems?|struggling) (with )?(speaking|talking|getting (his|her|my|the) words out|finding (the |his |her |my )?words|understanding)\b",
                  r"\bcan'?t (speak|talk|get (his|her|my|the) words out|find (the |his |her |my )?words|understand)\b", r"\bslurr", r"\bwords (are |come out )?(jumbled|muddled|wrong)\b",
                  r"\bspeech (is |has )?(slurred|strange|changed|muddled)"),
    "drowsiness": _rx(r"\bdrows", r"\b(very|so|really|way|unusually|much|extra) (sleepy|sleepier)\b", r"\bsleepier than (normal|usual|before)\b",
                      r"\b(keeps?|keeping|kept) (dozing|nodding|drifting) off\b", r"\b(keeps?|keeping|kept) falling asleep\b", r"\bdozing off\b", r"\bcan'?t (stay awake|keep (his|her|my) eyes open)\b", r"\bcan(no|')?t wake\b",
                      r"\bwon'?t wake\b", r"\b(hard|difficult) to wake\b", r"\bunresponsive\b", r"\bnot waking\b", r"\bwon'?t respond\b"),
    "seizure": _rx(r"\bseizur", r"\bhaving a fit\b", r"\bhad a fit\b", r"\bfitting\b", r"\bconvuls", r"\bhe'?s fitting\b", r"\bshe'?s fitting\b", r"\bfit (just )?now\b"),
    "breathing": _rx(r"\bbreathless", r"\bshort(ness)? of breath\b", r"\bout of breath\b", r"\bcan'?t (catch (my|his|her) )?breath", r"\b(struggling|hard|difficult|trouble) (to )?breath",
                     r"\bbreathing (is )?(fast|hard|difficult|laboured|labored)\b", r"\bgasping\b"),
    "heart": _rx(r"\bheart (is )?(racing|pounding|beating (really |very )?fast|going (really |very )?fast|fluttering)\b", r"\bpalpitation", r"\bfast heart ?beat\b",
                 r"\bracing heart\b", r"\birregular heart ?beat\b", r"\bfaint", r"\bdizzy\b", r"\blight-?headed\b", r"\bpassed out\b", r"\bcollaps",
                 _ON_THE_FLOOR),
    "bleeding": _rx(r"\bbleed", r"\bbruis", r"\bnose ?bleed", r"\bblood in (my|his|her|the) (wee|urine|poo|stool|sick|vomit)\b", r"\bcoughing (up )?blood\b"),
    "tremor": _rx(r"\btremor", r"\btrembl", r"\bshaky hands?\b", r"\b(hands?|arms?|legs?)\b.{0,25}\bshak(ing|y|es)\b", r"\btwitch", r"\bhandwriting\b", r"\bcan'?t (write|hold (a|my|the) pen)\b", r"\bjerking\b",
                   r"\bcan'?t (keep|hold) (my|his|her|their) (hands?|arms?|legs?|head) still\b",
                   r"\b(hands?|arms?|legs?|head|cup|pen|spoon)\b.{0,40}\b(wobbl|jumping about|won'?t (stay|keep) still)",
                   r"\b(keeps?|kept|started) (wobbling|trembling|quivering)\b"),
    "unwell": _rx(r"\bfeel(ing|s)? (really |very |so |generally )?(unwell|awful|terrible|rough|ill)\b"),
}
# Each of these needs 999 first: a fit, collapse, cannot be woken, severe breathing difficulty.
EMERGENCY = _rx(r"\bseizur", r"\b(having|had) a fit\b", r"\bfitting\b", r"\bconvuls", r"\bcollaps", r"\bpassed out\b", r"\bunconscious\b",
                r"\bcan(no|')?t (be )?wake", r"\bwon'?t wake\b", r"\bnot waking\b", r"\bunresponsive\b", r"\bwon'?t respond\b",
                r"\bcan'?t breathe?\b", r"\bgasping\b", r"\bstruggling to breath", r"\bsevere(ly)? (difficulty )?breath", r"\blips? (are |is |going )?blue\b",
                _ON_THE_FLOOR)
# 38.5 or, as much of Europe writes it, 38,5
_TEMPERATURE = re.compile(r"(?<![\d.,])(\d{2,3}(?:[.,]\d)?)\s*(?:[°º]|deg(?:rees?)?|degs?)?\s*([cf])?(?![\d])\b", re.I)
_TEMP_CONTEXT = re.compile(r"\btemp|\bfever|\bthermometer|\btoo high\b|\breading\b|[°º]|\bdegrees?\b|\b\d{2}([.,]\d)?\s*[cf]\b"
                           r"|\bgrad(os?|i)?\b|\bdegr[eé]s?\b|\bgraus\b|体温|度|" + "|".join(FEVER_WORDS), re.I)

# Phrases that ask about a symptom rather than report one.
_ASKING = _rx(r"^\s*(what|why|how|when|which|who|where|is|are|does|do|can|could|should|will|would|explain|tell me|define|describe)\b.*\b(mean|means|measure[sd]?|assess(ed)?|grade[sd]?|graded|scored?|tested|checked|treated|managed|cause[sd]?|common|happen|happens|look like|signs?|symptoms?|side effects?|defined|definition|score|scale|ice|crs|icans)\b",
              r"^\s*(what|how)\s+(is|are|does|do)\s+(a|an|the)?\s*\w+\s*(assessed|measured|graded|defined|treated|managed|checked)\b",
              r"\bwhat (should|do) (i|we|you) (do|look out for|watch (out )?for) (if|when)\b", r"\bwhat happens if\b", r"\bwhat if\b", r"\bin case\b",
              r"\bwhy (do|does|should|must) (i|we|you|patients?)\b", r"\bhow (often|long|many times)\b", r"\bwhat (is|are|does) (a |an |the )?\w+", r"\bsigns? of\b",
              r"\bwhich symptoms\b", r"\b(who|what|when|where) (do|should|would) (i|we) (call|ring|phone|contact)\b",
              r"\bif (i|we|he|she|they|you) (get|gets|got|have|has|had|'ve had|have had|feel|feels|develop|develops|notice|notices|start|starts)\b", r"\bmatters?\b", r"^\s*(do|does|should|can|must|would) (we|you|patients?|pts|people|they|carers?) ", r"\bis it normal\b", r"\bduring (the )?(trial|study)\b",
              r"\bwhat (do|does) (they|you|it|that|the \w+) (actually |really |exactly )?mean by\b", r"\bwhat counts as\b",
              r"\b(do|should|would|must) (i|we|you|they|patients?) (still )?(need to |have to )?(ring|call|phone|contact)\b.{0,30}\bif\b"
              r"|\bif\b.{0,60}\b(do|should|would|must) (i|we|you|they|patients?) (still )?(need to |have to )?(ring|call|phone|contact)\b",
              r"\bwhat'?s the (difference|threshold|cut-?off|limit)\b", r"\bdifference between\b",
              r"\bone of the (things|signs|symptoms|side effects|red flags|warning signs)\b", r"\b(you|we|i|they|people) (should )?(ring|call|phone) at\b", r"\b(should|do) (i|we) (ring|call|phone) about\b",
              r"\b(do|does|is|are) (they|you|doctors|the team|it) (use|used|give|given|treat|treated)\b.{0,40}\bfor (the )?\w+", r"\bin (the )?(ZUMA|CARTITUDE)", r"\bin crs terms\b", r"\bice (score|test)\b")
_PERSONAL_REPORT = _rx(r"\b(i'?ve|i have|i'?m|i am|im|ive)\s+(got|been|having|feeling|a|an)?\s*\w*", r"\bmy (temp|temperature|husband|wife|partner|mum|mom|dad|son|daughter|child|heart|hands?|speech|handwriting|nose|face)('s|\s+(is|was|has|have|keeps?|went|feels?|looks?|seems?|started|changed|won'?t|can'?t|isn'?t|doesn'?t|just))\b",
                       r"\b(dad|mum|mom|husband|wife|partner|son|daughter)s? (face|hands?|speech|handwriting)\b",
                       r"\b(he|she)('s| is| has| keeps| can'?t| won'?t)\b", r"\b(right )?now\b", r"\btonight\b", r"\bthis (morning|evening)\b", r"\bsince\b",
                       r"\bjust (now|started|starting|start|happened|had|got|been|become|gone|went|began|woke|turned|collapsed|fell)\b")


# "my temp is normal, but if I get the shivers...": a normal reading reports nothing urgent.
_NORMAL_READING = re.compile(r"\bmy (temp|temperature)('s| is| was) (only |still |completely )?(normal|fine|ok|okay|good)\b", re.I)


@dataclass(frozen=True)
class Triage:
    urgent: bool
    emergency: bool = False  # 999 first
    symptoms: tuple[str, ...] = field(default_factory=tuple)
    reason: str = ""


def _temperatures_c(message: str) -> list[float]:
    if not _TEMP_CONTEXT.search(message):
        return []
    found = []
    for value, unit in _TEMPERATURE.findall(message):
        number = float(value.replace(",", "."))
        if (unit or "").lower() == "f" or 95 <= number <= 110:
            number = (number - 32) * 5 / 9
        if 34 <= number <= 43:
            found.append(number)
    return found


def assess(message: str) -> Triage:
    text = " ".join(message.split())
    symptoms = [name for name, pattern in SYMPTOMS.items() if pattern.search(text)]
    temperatures = _temperatures_c(text)
    if temperatures:
        if max(temperatures) >= FEVER_THRESHOLD_C:
            symptoms.insert(0, f"temperature {max(temperatures):.1f} C")
        elif symptoms == ["fever"]:
            symptoms = []  # "my temp is 37.1, is that a fever?" reports a normal reading
    if not symptoms:
        return Triage(False, reason="no red-flag symptom described")
    asking = bool(_ASKING.search(text))
    readings = [t for t in temperatures if not (asking and abs(t - FEVER_THRESHOLD_C) < 0.05)]  # "the 37.5 you tell us to ring at"
    reporting = bool(_PERSONAL_REPORT.search(_NORMAL_READING.sub(" ", text))) or bool(readings and max(readings) >= FEVER_THRESHOLD_C)
    if asking and not reporting:
        return Triage(False, symptoms=tuple(symptoms), reason="asks about a symptom; describes none happening now")
    emergency = bool(EMERGENCY.search(text))
    return Triage(True, emergency=emergency, symptoms=tuple(symptoms),
                  reason="describes " + ", ".join(symptoms))
