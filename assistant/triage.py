"""Red-flag triage: runs before anything else, on the user's own message.

Entry point: `Triager(red_flags, embedder).assess(message) -> Triage`. What triage knows
lives in a reviewed data file, `safety/red-flags.yaml` (`RedFlags.load`): each symptom's
action (24-hour line or 999), its explicit words, and example reports and example questions
written by people. The code holds no symptom words.

Two nets look at each sentence of the message; either one flags it:
- **rules**, for what rules do well: a temperature reading at or over the threshold (in C
  or F, dot or comma decimals), or an explicit symptom word, in a sentence that reports
  something happening now (it names who, or it is a statement rather than a question) and
  does not suppose ("if I get a fever") or look back at an episode that is over.
- **meaning**: the packaged MiniLM compares the sentence with the example reports and the
  example questions (embedded once, at start-up). A sentence close to a report, and closer
  to it than to any question, is urgent. A report that ends "is this normal?" is still a
  report: each sentence is judged on its own.
When the nets disagree, urgent wins: a missed red flag costs more than an extra call.
When the message has a temperature in it, the rule on the number alone decides fever
("my temp is 36.9, is that ok?", "is 37.5 the number you ring at?"): there, it is exact.

`Triage.reason` says which net fired and on what, so a clinician reading the log sees why.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import yaml

from .errors import UsageError
from .records import Triage

__all__ = ["RedFlags", "Symptom", "Triage", "Triager", "DEFAULT_RED_FLAGS", "meaning_texts", "sentences"]

DEFAULT_RED_FLAGS = Path(__file__).resolve().parent.parent / "safety" / "red-flags.yaml"
ACTIONS = ("call-24h", "call-999")

# 38.5 or, as much of Europe writes it, 38,5; "38 point 2"
_TEMPERATURE = re.compile(r"(?<![\d.,])(\d{2,3}(?:(?:[.,]| point )\d)?)\s*(?:[°º]|deg(?:rees?)?|degs?)?\s*([cf])?(?![\d])\b", re.I)
_TEMP_CONTEXT = re.compile(r"\btemp|\bfever|\bthermometer|\btoo high\b|\breading\b|[°º]|\bdegrees?\b|\b\d{2}([.,]\d)?\s*[cf]\b"
                           r"|\bgrad(os?|i)?\b|\bdegr[eé]s?\b|\bgraus\b|体温|度", re.I)
_WORD_NUMBERS = {"thirty six": "36", "thirty seven": "37", "thirty eight": "38", "thirty nine": "39", "forty": "40"}
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+|\s+-\s+|(?<=\w)\s*\.\.\.\s*")
_QUESTION_FORM = re.compile(r"\?\s*$|^\s*(what|why|how|when|which|who|where|whats|what's|hows|how's|whys|why's|wheres|where's|whos|who's|is|are|does|do|did|can|could|should|will|would|explain|tell me|define|describe)\b", re.I)
_IF = re.compile(r"\bif\b", re.I)
# "my temp is 37.5", "thermometer says 37.5": the threshold itself, read off someone.
_READ_OFF = re.compile(r"\b(temp\w*|thermometer|reading|it)(?:'s|\s+(?:is|was|at|reads?|says?|shows?|showing|went up to|gone up to|hit|has hit))\s+\d", re.I)


def sentences(message: str) -> list[str]:
    """The message cut into sentences: a long message is judged piece by piece."""
    message = " ".join(message.split())
    parts = [p.strip(" ,") for p in _SENTENCE.split(message)]
    return [p for p in parts if sum(ch.isalpha() for ch in p) >= 2] or [message]


def meaning_texts(message: str) -> list[str]:
    """What the meaning net embeds: each sentence, then the whole message when it has several
    (together they may say what no sentence says alone)."""
    parts = sentences(message)
    return parts + [" ".join(message.split())] if len(parts) > 1 else parts


@dataclass(frozen=True)
class Symptom:
    id: str
    label: str
    action: str
    describes: tuple[str, ...]
    terms: re.Pattern | None
    reports: tuple[str, ...]
    questions: tuple[str, ...]

    @property
    def emergency(self) -> bool:
        return self.action == "call-999"


@dataclass(frozen=True)
class RedFlags:
    """The reviewed red-flag data (safety/red-flags.yaml), validated."""

    meta: dict
    fever_threshold_c: float
    report_similarity: float
    margin: float
    question_margin: float
    emergency_similarity: float
    person: re.Pattern
    time: re.Pattern
    hypothetical: re.Pattern
    symptoms: tuple[Symptom, ...]
    general_questions: tuple[str, ...] = ()  # questions about symptoms in general ("what should I watch for?")
    path: str = ""

    @classmethod
    def load(cls, path: Path | str = DEFAULT_RED_FLAGS) -> "RedFlags":
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"red-flag file {path} not found: set CART_RED_FLAGS_FILE to safety/red-flags.yaml") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark else ""
            raise UsageError(f"red-flag file {path} is not valid YAML{at}: fix it and restart") from None
        return cls.from_data(data, where=str(path))

    @classmethod
    def from_data(cls, data, *, where: str = "red-flag data") -> "RedFlags":
        problems = reviewed_problems(data, where, "symptoms")
        semantic = data.get("semantic") or {}
        try:
            report_similarity = float(semantic["report_similarity"])
            margin = float(semantic["margin"])
            question_margin = float(semantic["question_margin"])
            emergency_similarity = float(semantic["emergency_similarity"])
        except (KeyError, TypeError, ValueError):
            problems.append("'semantic' needs numbers 'report_similarity', 'margin', 'question_margin' and "
                            "'emergency_similarity'")
            report_similarity = margin = question_margin = emergency_similarity = 0.0
        cues = data.get("cues") or {}
        person = _alternation(cues.get("person"), "cues.person", problems)
        time = _alternation(cues.get("time"), "cues.time", problems)
        hypothetical = _alternation(cues.get("hypothetical"), "cues.hypothetical", problems)
        symptoms = []
        seen: set[str] = set()
        for n, item in enumerate(data.get("symptoms") or [], start=1):
            if not isinstance(item, dict) or not item.get("id"):
                problems.append(f"symptom #{n}: needs an 'id'")
                continue
            sid = str(item["id"])
            if sid in seen:
                problems.append(f"symptom '{sid}': duplicate id")
            seen.add(sid)
            if item.get("action") not in ACTIONS:
                problems.append(f"symptom '{sid}': action must be one of {', '.join(ACTIONS)}")
            reports, questions = _texts(item.get("reports")), _texts(item.get("questions"))
            if not reports:
                problems.append(f"symptom '{sid}': needs at least one example in 'reports'")
            terms = _alternation(item.get("terms"), f"symptom '{sid}' terms", problems, required=False)
            symptoms.append(Symptom(sid, str(item.get("label") or sid), str(item.get("action")), _texts(item.get("describes")),
                                    terms, reports, questions))
        if not symptoms:
            problems.append("no symptoms: list them under 'symptoms'")
        if problems:
            raise UsageError(f"{where}: " + "; ".join(problems))
        return cls(meta={k: data.get(k) for k in ("id", "title", "owner", "version", "approved_by", "approved_on",
                                                     "review_due", "status")},
                   fever_threshold_c=float(data.get("fever_threshold_c", 37.5)),
                   report_similarity=report_similarity, margin=margin, question_margin=question_margin,
                   emergency_similarity=emergency_similarity, person=person, time=time,
                   hypothetical=hypothetical,
                   symptoms=tuple(symptoms), general_questions=_texts(data.get("general_questions")), path=where)

    def review_overdue(self, today: dt.date | None = None) -> bool:
        due = self.meta.get("review_due")
        due = due if isinstance(due, dt.date) else dt.date.fromisoformat(str(due))
        return due < (today or dt.date.today())

    def with_examples(self, symptom_id: str, *, reports: Sequence[str] = (), questions: Sequence[str] = ()) -> "RedFlags":
        """A copy with more examples for one symptom (what a reviewer adding a line does)."""
        from dataclasses import replace

        symptoms = tuple(replace(s, reports=s.reports + tuple(reports), questions=s.questions + tuple(questions))
                         if s.id == symptom_id else s for s in self.symptoms)
        return replace(self, symptoms=symptoms)


REVIEW_FIELDS = ("id", "owner", "version", "approved_by", "review_due", "status")


def reviewed_problems(data, where: str, body: str) -> list[str]:
    """A safety data file is reviewed like a corpus document: these fields must be there."""
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected fields ({', '.join(REVIEW_FIELDS)}, {body})")
    return [f"missing '{name}' (the file is reviewed like a corpus document)"
            for name in REVIEW_FIELDS if not data.get(name)]


def _texts(value) -> tuple[str, ...]:
    return tuple(str(v).strip() for v in (value or []) if str(v).strip())


def _alternation(patterns, where: str, problems: list[str], *, required: bool = True) -> re.Pattern | None:
    patterns = _texts(patterns)
    if not patterns:
        if required:
            problems.append(f"'{where}' needs at least one pattern")
        return None
    try:
        # Whole words: "me" is not in "measure", "now" is not in "know".
        return re.compile("|".join(f"(?<![A-Za-z0-9])(?:{p})(?![A-Za-z0-9])" for p in patterns), re.I)
    except re.error as exc:
        problems.append(f"'{where}': a pattern is not a valid regular expression ({exc})")
        return None


@dataclass(frozen=True)
class _Hit:
    net: str  # "rules" or "meaning"
    symptom: Symptom
    sentence: str
    detail: str
    similarity: float = 1.0  # meaning: to the closest report; rules: 1

    def emergency(self, flags: "RedFlags") -> bool:
        """999 first needs a 999 symptom, and by meaning a closer match than urgency does."""
        return self.symptom.emergency and (self.net == "rules" or self.similarity >= flags.emergency_similarity)


class Triager:
    """Both nets over one `RedFlags`. Examples are embedded once, here; a message then costs
    one encode of its sentences (the chain reuses the vector of a one-sentence question)."""

    def __init__(self, red_flags: RedFlags, embedder=None):
        self.red_flags = red_flags
        # A test double that hashes words (HashEmbedder) would make the meaning net noise.
        self.embedder = embedder if getattr(embedder, "understands_meaning", True) else None
        self._fever = next((s for s in red_flags.symptoms if s.id == "fever"), None)
        self._report_of: list[Symptom] = []
        self._report_text: list[str] = []
        self._question_text: list[str] = []
        for symptom in red_flags.symptoms:
            for text in symptom.reports:
                self._report_of.append(symptom)
                self._report_text.append(text)
            self._question_text.extend(symptom.questions)
        self._question_text.extend(red_flags.general_questions)
        self._reports = self._questions = None
        if embedder is not None:
            vectors = np.asarray(embedder.encode(self._report_text + self._question_text), dtype=np.float32)
            self._reports = vectors[: len(self._report_text)]
            self._questions = vectors[len(self._report_text):]

    @classmethod
    def from_file(cls, path: Path | str = DEFAULT_RED_FLAGS, embedder=None) -> "Triager":
        return cls(RedFlags.load(path), embedder)

    # -- public ----------------------------------------------------------------------
    def assess(self, message: str, vectors: np.ndarray | None = None) -> Triage:
        """`vectors`: embeddings of `meaning_texts(message)`, if the caller has them already."""
        text = " ".join(message.split())
        parts = sentences(message)
        readings = self.temperatures_c(text)
        asks = [False] * len(parts)
        meaning: list[_Hit] = []
        if self.embedder is not None:
            texts = meaning_texts(message)
            if vectors is None:
                vectors = self.encode(texts)
            report_sims, question_sims = self._similarities(vectors)
            # A sentence far closer to the example questions than to any report only asks.
            asks = [float(question_sims[i].max() - report_sims[i].max()) >= self.red_flags.question_margin
                    for i in range(len(parts))]
            meaning = self._meaning(texts, report_sims, question_sims)
        rules = self._rules(parts, text, asks)
        if readings:  # with a number in the message, the rule on the number decides fever
            meaning = [h for h in meaning if h.symptom is not self._fever]
        hits = rules + meaning
        if not hits:
            return Triage(False, reason="no red-flag symptom described")
        symptoms = list(dict.fromkeys(h.symptom.label for h in hits))
        if readings and max(readings) >= self.red_flags.fever_threshold_c:
            symptoms.insert(0, f"temperature {max(readings):.1f} C")
        emergency = any(h.emergency(self.red_flags) for h in hits)
        reason = "; ".join(f"{h.net}: {h.detail} in \"{_clip(h.sentence)}\"" for h in hits[:4])
        return Triage(True, emergency=emergency, symptoms=tuple(symptoms), reason=reason)

    def encode(self, parts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.embedder.encode(list(parts)), dtype=np.float32)

    def describes_now(self, message: str) -> bool:
        """Says how someone is now ("my dad is...", "I feel..."): a refusal then still gives
        the 24-hour line."""
        flags = self.red_flags
        return any((flags.person.search(p) or flags.time.search(p)) and not flags.hypothetical.search(p)
                   for p in sentences(message))

    def temperatures_c(self, text: str, *, context: str | None = None) -> list[float]:
        """Readings in C (F converted), where the text or its `context` (the whole message)
        is about temperature: "is 37.6 ok? my temp has crept up" reads 37.6."""
        for words, digits in _WORD_NUMBERS.items():
            text = re.sub(rf"\b{words}\b", digits, text, flags=re.I)
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

    # -- the two nets -------------------------------------------------------------------
    def _supposes(self, sentence: str) -> bool:
        """"What should I do if I get a fever?", "in case", an episode that is over."""
        if self.red_flags.hypothetical.search(sentence):
            return True
        return bool(_IF.search(sentence)) and (bool(_QUESTION_FORM.search(sentence)) or sentence.lower().startswith("if "))

    def _reports_now(self, sentence: str, message_time: bool, asks: bool) -> bool:
        """Not a supposition, not a question by meaning (`asks`), and either a statement or a
        question that names who or when ("is it normal for my hands to shake?"), or sits in
        a message that says it is happening now ("is it ok to be breathless? still puffed now")."""
        flags = self.red_flags
        if asks or self._supposes(sentence):
            return False
        return (not _QUESTION_FORM.search(sentence) or bool(flags.person.search(sentence))
                or bool(flags.time.search(sentence)) or message_time)

    def _rules(self, parts: list[str], text: str, asks: list[bool]) -> list[_Hit]:
        hits: list[_Hit] = []
        flags = self.red_flags
        threshold = flags.fever_threshold_c
        message_time = any(flags.time.search(p) and not self._supposes(p) for p in parts)
        for sentence, sentence_asks in zip(parts, asks):
            high = [t for t in self.temperatures_c(sentence, context=text) if t >= threshold]
            # A reading is a number: its meaning cannot make it a question ("is 38.1 too high?"),
            # but the threshold itself quoted in a question is a reference ("is 37.5 the number
            # you ring at?") unless it is read off someone ("my temp is 37.5, ok?").
            quoting = _QUESTION_FORM.search(sentence) and all(abs(t - threshold) < 0.05 for t in high)
            if high and self._fever is not None and not self._supposes(sentence) and (
                    not quoting or _READ_OFF.search(sentence)):
                hits.append(_Hit("rules", self._fever, sentence, f"reading {max(high):.1f} C"))
                continue
            if not self._reports_now(sentence, message_time, sentence_asks):
                continue
            for symptom in flags.symptoms:
                match = symptom.terms.search(sentence) if symptom.terms else None
                if match:
                    hits.append(_Hit("rules", symptom, sentence, f"'{match.group(0)}' ({symptom.id})"))
        return hits

    def _similarities(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        report_sims = vectors @ self._reports.T
        question_sims = vectors @ self._questions.T if len(self._questions) else np.zeros((len(vectors), 1))
        return report_sims, question_sims

    def _meaning(self, parts: list[str], report_sims: np.ndarray, question_sims: np.ndarray) -> list[_Hit]:
        flags = self.red_flags
        hits: list[_Hit] = []
        for i, sentence in enumerate(parts):
            if self._supposes(sentence):
                continue
            best = int(np.argmax(report_sims[i]))
            r, q = float(report_sims[i, best]), float(np.max(question_sims[i]))
            if r >= flags.report_similarity and r - q >= flags.margin:
                symptom = self._report_of[best]
                hits.append(_Hit("meaning", symptom, sentence,
                                 f"close to {symptom.id} report \"{_clip(self._report_text[best], 40)}\" ({r:.2f}; question {q:.2f})",
                                 similarity=r))
        return hits

    def scores(self, message: str) -> list[tuple[str, float, float, str]]:
        """(sentence, best report similarity, best question similarity, symptom) per sentence:
        what calibration fits the thresholds on."""
        parts = meaning_texts(message)
        vectors = self.encode(parts)
        out = []
        for i, sentence in enumerate(parts):
            r = vectors[i] @ self._reports.T
            q = vectors[i] @ self._questions.T
            best = int(np.argmax(r))
            out.append((sentence, float(r[best]), float(np.max(q)), self._report_of[best].id))
        return out


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."
