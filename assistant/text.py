"""Word-level text helpers shared by BM25 retrieval and sentence selection."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

# Curly apostrophes and quotes, as phones type them ("he won’t wake"), and the plain ones
# the red-flag file and the word search are written with.
_TYPOGRAPHIC = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'", "\u02bc": "'",
                              "\u201c": '"', "\u201d": '"', "\u201e": '"'})


def plain_quotes(text: str) -> str:
    return text.translate(_TYPOGRAPHIC)


# "dose" typed for the verb "does": opening a sentence or a clause, or after how, why, when, where
# or who, before who or what does it ("how dose car t work", "dose my carer have to stay", "hi,
# dose it hurt"), or after how long, how often, how soon ("how long dose crs last"). After "what"
# or "which", or after any other word, it stays the noun: "what dose the centre uses", "the exact
# tocilizumab dose he should get".
_DOES = re.compile(r"(?:^|(?<=[.!?,;:] )|(?<=\bhow )|(?<=\bwhy )|(?<=\bwhen )|(?<=\bwhere )|(?<=\bwho ))dose"
                   r"(?=\s+(?:i|you|u|he|she|it|we|they|my|your|his|her|our|their|car[- ]?t|cart|any\w*|every\w*|some\w*"
                   r"|the|this|that|these|those)\b)"
                   r"|(?<=\bhow long )dose\b|(?<=\bhow often )dose\b|(?<=\bhow soon )dose\b",
                   re.I)


# A verb of asking: with one, a question says what it asks ("is CRS monitoring needed after both
# doses?"); without, a clinician's note names it ("toci dosing for CRS?", values.py), and a
# fragment after a question only says what that question means ("... - baseline or CDF?",
# retrieval.question_parts).
ASKING_VERB = re.compile(r"\b(?:is|are|was|were|am|do|does|did|can|could|will|would|should|shall|may|might|must|"
                         r"need|needs|has|have|had)\b", re.I)


def does_for_dose(text: str) -> str:
    """The verb "does" where "dose" was typed for it (`_DOES`). Every question is read so
    (`chain.normalise_question`): the dose checks (values.py, the personal-advice rules of
    safety/boundaries.yaml) and the word search all see the verb."""
    return _DOES.sub(lambda m: "Does" if m.group()[0] == "D" else "does", text)


# Texting shorthand, spelled out before anything reads a question: the word search, the
# meaning model and triage all read "what ... before ..." where "wot ... b4 ..." was typed.
# Spelling repair (`Vocabulary.correct_text`) cannot: "wot" is one letter from "not", and
# MiniLM reads "b4" as a letter and a digit. Only forms with one reading in an English message
# are here; a clinician's "r/r" (relapsed or refractory), "IM" or "min" (minimum) are not, nor
# "hr" (a heart rate to triage).
SHORTHAND = {
    "wot": "what", "wat": "what", "wht": "what", "wut": "what", "wots": "what's", "wats": "what's",
    "b4": "before", "b4hand": "beforehand", "u": "you", "ur": "your", "wud": "would", "cud": "could",
    "shud": "should", "shd": "should", "pls": "please", "plz": "please", "cos": "because",
    "coz": "because", "cuz": "because", "thx": "thanks", "abt": "about", "tho": "though",
    "thru": "through", "wen": "when", "gonna": "going to", "wanna": "want to", "hav": "have",
    "2day": "today", "2moro": "tomorrow", "2morrow": "tomorrow", "tmrw": "tomorrow", "2nite": "tonight",
    "ppl": "people", "appt": "appointment", "appts": "appointments", "sum1": "someone",
    "some1": "someone", "any1": "anyone", "l8r": "later", "hosp": "hospital", "wk": "week",
    "wks": "weeks", "yr": "year", "yrs": "years", "hrs": "hours", "mins": "minutes",
}
# A whole word, not part of a hyphenated, slashed or dotted term ("CAR-T", "r/r", "37.5").
_SHORTHAND = re.compile(r"(?<![\w/.-])(" + "|".join(sorted(SHORTHAND, key=len, reverse=True)) + r")(?![\w/-]|\.\w)",
                        re.I)
# "n" for "and" only before a word ("n how close do we have to be"; not "n=20"), or before
# another such "n", which becomes one: read once, the text reads the same a second time.
_AND = re.compile(r"(?<![\w/.-])n(?= (?:[a-z]{2,}|n\b))", re.I)


def spelled_out(text: str) -> str:
    """`text` with texting shorthand (`SHORTHAND`) written as the words it stands for."""
    return _AND.sub("and", _SHORTHAND.sub(lambda m: SHORTHAND[m.group().lower()], text))


_WORD = re.compile(r"[a-z0-9]+(?:[.-][a-z0-9]+)*")
_STEMMER = snowballstemmer.stemmer("english")

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most
my myself no nor not now of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself yourselves get got im ive id dont cant wont also us tell please
know need want thing things really go going still yes ok okay hi hello thanks thank much many
whats thats theres hows wheres whos hes shes youre theyre isnt doesnt didnt wasnt arent havent
hasnt shouldnt wouldnt couldnt lets
""".split())


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    return _STEMMER.stemWord(word)


def words(text: str) -> list[str]:
    """Lowercase words; hyphenated and dotted terms (car-t, 37.5) also give their parts."""
    out: list[str] = []
    for token in _WORD.findall(text.lower()):
        out.append(token)
        if "-" in token:
            parts = [part for part in token.split("-") if part]
            out.extend(parts)
            out.append("".join(parts))  # people type "lisocel" and "cart" for liso-cel and car-t
    return out


# Short forms the leaflets and people use for the same thing: one term for both.
ALIASES = {"chemo": "chemotherapi", "jab": "vaccin", "appt": "appoint", "ring": "call"}

# Words this common in English (Zipf frequency, wordfreq) are everyday words, not topics:
# "kids", "somebody", "wrong" are missing from the leaflets without the question being off
# topic, while "lupus" (3.2) or "sarcoidosis" (2.3) name something the corpus does not cover.
EVERYDAY_ZIPF = 4.5
WORD_ZIPF = 3.0  # a word of English at all (wordfreq's Zipf scale: 3 is once in a million words)


@lru_cache(maxsize=50_000)
def zipf(word: str) -> float:
    """How common a word is in English (wordfreq's Zipf scale: 3 is once in a million words),
    looked up once per word: the spelling menders ask it of every longer word."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")


def everyday(word: str) -> bool:
    """A common English word (or the plural of one)."""
    forms = {word, word[:-1] if word.endswith("s") else word, word[:-2] if word.endswith("es") else word}
    return max(zipf(form) for form in forms) >= EVERYDAY_ZIPF


def english_word(word: str) -> bool:
    """A word English uses, however rarely it is the common one ("cooking", "breeding"): a
    mender must not turn it into another ("choking")."""
    return zipf(word) >= WORD_ZIPF


# Latin-script languages other than English that wordfreq knows (its small lists): patients and
# carers in the UK write in many of them (messages in other scripts are told apart by their
# letters, chain._unreadable). A message is in one of them when the mean Zipf frequency of its
# words in that language exceeds their mean in English by OTHER_LANGUAGE_MARGIN; each language is
# read from its OTHER_LANGUAGE_WORDS most frequent words, which hold the small words that tell
# languages apart. On every golden and pending case message (4,192, English, misspelt or in
# clinicians' shorthand, the corpus's words counting as English) the largest such excess was
# 0.00; on a blind set written by a helper (tests/fixtures/languages.yaml) every message of 3 or
# more words in these languages was read as such, none of 60 in English, and Albanian, Somali,
# Welsh, Swahili and Estonian, which wordfreq lacks, were not (SAFETY.md H1).
OTHER_LANGUAGES = ("pl", "ro", "pt", "es", "lt", "lv", "fr", "it", "de", "nl", "tr", "cs", "sk", "hu", "sh", "sl",
                   "vi", "fil", "id", "ms", "sv", "da", "nb", "fi", "is", "ca")
OTHER_LANGUAGE_WORDS = 10000
OTHER_LANGUAGE_MARGIN = 0.5
# Fewer different words than this say too little: "bye", "ok ta", "no no no" are English that
# other languages use more often (in 57 short replies and greetings, 20 one-word and 3 two-word
# ones were read as another language; none of 3 or more).
OTHER_LANGUAGE_MIN_WORDS = 3
_LETTERS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@lru_cache(maxsize=1)
def other_language_words() -> dict[str, dict[str, float]]:
    """Each of OTHER_LANGUAGES' most frequent words with its Zipf frequency, read once at start-up
    (about 0.5 s and 27 MB; each of wordfreq's whole lists is let go before the next is read)."""
    import math

    import wordfreq

    out = {}
    for lang in OTHER_LANGUAGES:
        frequencies = wordfreq.get_frequency_dict(lang, wordlist="small")
        top = sorted(frequencies.items(), key=lambda item: -item[1])[:OTHER_LANGUAGE_WORDS]
        out[lang] = {word: math.log10(f) + 9.0 for word, f in top}
        del frequencies, top
        wordfreq.get_frequency_dict.cache_clear()
        wordfreq.get_frequency_list.cache_clear()
    return out


def other_language(text: str, known=frozenset()) -> str | None:
    """The language of OTHER_LANGUAGES a message is written in, or None for English (or a message
    of fewer than OTHER_LANGUAGE_MIN_WORDS different words). `known`: words that are English here
    whatever their frequency (the corpus's own: "liso-cel TA?" is a clinician's English)."""
    found = [w.lower() for w in _LETTERS.findall(plain_quotes(text))]
    if len(set(found)) < OTHER_LANGUAGE_MIN_WORDS:
        return None
    english = sum(max(zipf(w), 5.0 if w in known else 0.0) for w in found) / len(found)
    scores = {lang: sum(table.get(w, 0.0) for w in found) / len(found) for lang, table in other_language_words().items()}
    lang = max(scores, key=scores.get)
    return lang if scores[lang] - english >= OTHER_LANGUAGE_MARGIN else None


def term(word: str) -> str:
    """What a word counts as: its stem, or the stem it is a short form of."""
    stemmed = stem(word)
    return ALIASES.get(stemmed, stemmed)


def terms(text: str) -> list[str]:
    """Stemmed content words: what BM25 and sentence scoring compare."""
    return [term(w) for w in words(text) if w not in STOPWORDS]


@dataclass(frozen=True)
class CorpusTerms:
    """What start-up needs from every chunk's text, gathered in one pass: the chunk count,
    each term's document frequency (for idf) and each word's count (for spelling repair)."""

    chunks: int
    document_frequency: dict[str, int]
    word_counts: dict[str, int]


def analyse(texts, each_terms=None) -> CorpusTerms:
    """One pass over `texts`; `each_terms(terms)` receives every text's terms in order (the
    BM25 index is built from them), so the corpus is split into words once, not three times."""
    frequency: dict[str, int] = {}
    counts: dict[str, int] = {}
    n = 0
    for text in texts:
        n += 1
        found = words(text)
        for word in found:
            counts[word] = counts.get(word, 0) + 1
        own = [term(w) for w in found if w not in STOPWORDS]
        for each in set(own):
            frequency[each] = frequency.get(each, 0) + 1
        if each_terms is not None:
            each_terms(own)
    return CorpusTerms(n, frequency, counts)


class Vocabulary:
    """The corpus's own words, to mend a misspelt query word ("agin" -> "again").

    A word one edit away from exactly one known word (symmetric deletes) is replaced by the
    most frequent such word. A word with no near neighbour stays: it is a topic the corpus
    does not have, which the evidence check needs to see.
    """

    def __init__(self, texts=(), *, counts: dict[str, int] | None = None, asked=()):
        """From texts, or from word counts already gathered (`analyse(...).word_counts`).
        `asked`: every phrasing of the corpus's sections (front matter `questions:`). Their words
        are how people ask about a topic the documents cover, so none is an unknown topic; they
        never become spelling targets (phrasings keep people's slips: "wat checks will i hav")."""
        self.counts: dict[str, int] = dict(counts or {})
        self.asked_terms = {term(w) for w in {w for text in set(asked) for w in words(text)}}
        for text in texts:
            for word in words(text):
                self.counts[word] = self.counts.get(word, 0) + 1
        for word in STOPWORDS | COMMON_WORDS:
            self.counts.setdefault(word, 1)
        self.terms = {term(word) for word in self.counts}
        self._by_prefix: dict[str, list[str]] = {}
        for word in self.counts:
            if word.isalpha() and len(word) >= 6:
                self._by_prefix.setdefault(word[:4], []).append(word)
        self._deletes: dict[str, list[str]] = {}
        for word in self.counts:
            if word.isalpha() and len(word) >= 3:
                for variant in _deletes(word):
                    self._deletes.setdefault(variant, []).append(word)

    def __contains__(self, word: str) -> bool:
        return word in self.counts

    def correct(self, word: str) -> str:
        if word in self.counts or not word.isalpha() or len(word) < 3 or everyday(word):
            return word  # an everyday word ("bed") is not a slip for a corpus word ("be")
        candidates = set(self._deletes.get(word, ()))
        for variant in _deletes(word):
            candidates.update(self._deletes.get(variant, ()))
            if variant in self.counts:
                candidates.add(variant)
        near = {c for c in candidates if abs(len(c) - len(word)) <= 1 and _distance_at_most_one(word, c)}
        if not near and len(word) >= 7:
            # A long word may carry two slips ("reffered"): one deletion from each side meet.
            near = {c for c in candidates if abs(len(c) - len(word)) <= 2 and _levenshtein(word, c) <= 2}
        candidates = near
        if not candidates and len(word) >= 4:
            # Clinical shorthand: "toci", "temp", "neuro" -> the corpus word they begin.
            candidates = {c for c in self._by_prefix.get(word[:4], ()) if c.startswith(word) and len(c) > len(word) + 1}
        if not candidates:
            return word
        return max(sorted(candidates), key=lambda c: self.counts[c])

    def correct_text(self, text: str) -> str:
        return " ".join(self.correct(w) for w in words(text))

    def unknown(self, text: str) -> list[str]:
        """Content words neither in the corpus nor one edit from a corpus word, nor everyday
        English: the topics of a question that the approved documents do not have."""
        return [w for w in words(text) if w.isalpha() and len(w) >= 4 and w not in STOPWORDS
                and w not in self.counts and (t := term(w)) not in self.terms and t not in self.asked_terms
                and self.correct(w) == w and not everyday(w)]

    def medicines_unnamed(self, text: str, unknown: Sequence[str] | None = None) -> list[str]:
        """Medicines the question names that no approved document names: its unknown words
        (`unknown`, or the ones already found for it) that end in a stem of the WHO's
        international nonproprietary names (`MEDICINE_STEM`: glofitamab, bendamustine, aciclovir)
        and are no word of English ("cancel", "parcel" end in a stem too). The documents cannot
        say anything about a medicine they never name."""
        written = {w.replace("-", ""): w for w in words(text) if "-" in w}  # "zevor-cel" as typed
        found = self.unknown(text) if unknown is None else unknown
        return list(dict.fromkeys(written.get(w, w) for w in found if MEDICINE_STEM.search(w) and not english_word(w)))

    def who_missing(self, text: str) -> set[str]:
        """Terms of words naming people ("my wife", "our son") that the corpus lacks: they say
        who is asking or who is ill, not what the question is about, so the evidence check
        leaves them out of its word coverage."""
        return {term(w) for w in words(text) if w in PEOPLE and term(w) not in self.terms}


# Endings of medicines' international nonproprietary names, most of them the WHO's INN stems, of
# the kinds a CAR-T question names: monoclonal antibodies (-mab), cell therapies (-cel, -leucel),
# receptor fusions (-cept), kinase and other enzyme inhibitors (-nib, -lisib, -ciclib, -parib,
# -zomib), thalidomide-like (-mide), alkylating agents (-mustine), platinum (-platin),
# anthracyclines (-rubicin), taxanes (-taxel), topoisomerase inhibitors (-tecan), antimetabolites
# (-abine, -trexate), corticosteroids (-sone, -solone), antivirals (-vir), antibiotics (-cycline,
# -mycin, -floxacin, -cillin, -penem), antifungals (-azole, -fungin) and interleukin blockers
# (-kinra). Only the question's unknown words are read: a medicine the documents name
# (tocilizumab, fludarabine) is never one of them, nor a near-miss spelling of one.
MEDICINE_STEM = re.compile(r"(?:mab|cel|cept|nib|lisib|ciclib|parib|zomib|mide|mustine|platin|rubicin|taxel|tecan|"
                           r"abine|trexate|sone|solone|vir|cycline|mycin|floxacin|cillin|penem|azole|fungin|kinra)$")


PEOPLE = frozenset("""
wife husband partner boyfriend girlfriend fiance fiancee spouse son daughter child children kid kids
baby mum mom mother dad father parent parents grandad granddad grandpa grandma gran nan nana
grandmother grandfather brother sister sibling uncle aunt auntie cousin friend neighbour family
grandson granddaughter nephew niece teenager
""".split())

# Everyday question words people type that a leaflet may never use.
COMMON_WORDS = frozenset("""
again when where which what who why how can could would should will shall may might must
question questions help thanks thank tell explain mean means meaning ok okay please yes no
threshold thresholds cutoff cutoffs cut off requirement requirements required minimum maximum
min max limit limits rule rules
""".split())  # how questions are framed ("LVEF threshold?", "ECOG cutoff?"), not topics the corpus lacks


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _distance_at_most_one(a: str, b: str) -> bool:
    """Levenshtein distance <= 1, or one swap of neighbouring letters."""
    if a == b:
        return True
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diffs) == 1 or (len(diffs) == 2 and diffs[1] == diffs[0] + 1
                                   and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))
