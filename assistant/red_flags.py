"""The red-flag file (safety/red-flags.yaml) as typed records, validated on load: each symptom's
action (24-hour line or 999), its words, signs and examples, and the cues and thresholds both of
triage's nets read (`triage.Triager`). A mistake in the file is a clear `UsageError` naming
each problem, never a half-read file."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import yaml

from .errors import UsageError
from .reviewed import YAML_LOADER, alternation, reviewed_problems, texts

__all__ = ["ACTIONS", "DEFAULT_RED_FLAGS", "Instead", "PulseReadings", "RedFlags", "SEMANTIC_FIELDS", "Symptom"]

DEFAULT_RED_FLAGS = Path(__file__).resolve().parent.parent / "safety" / "red-flags.yaml"
ACTIONS = ("call-24h", "call-999")
SEMANTIC_FIELDS = ("symptom_similarity", "report_probability", "question_probability", "statement_similarity",
                   "emergency_similarity", "emergency_over_words")


@dataclass(frozen=True)
class Instead:
    """By meaning, a sentence (`scope` "message": a message) with `when` and without `unless`
    tells of the symptom `symptom` instead ("she wakes up if I speak to her": drowsiness, not
    cannot-be-woken; "she never lost consciousness": dizziness, not a collapse)."""
    symptom: str
    when: re.Pattern
    unless: re.Pattern | None = None
    scope: str = "sentence"

    def applies(self, text: str) -> bool:
        return bool(self.when.search(text)) and not (self.unless is not None and self.unless.search(text))


@dataclass(frozen=True)
class Symptom:
    id: str
    label: str
    action: str
    describes: tuple[str, ...]
    terms: re.Pattern | None
    reports: tuple[str, ...]
    questions: tuple[str, ...]
    instead: Instead | None = None  # where the meaning net reads another symptom instead
    # A 999 symptom's own signs ("went stiff", "can't hear me"): with them in the sentence, the
    # meaning net's reading of it stays 999 though a lesser symptom's word is there too, and
    # (1.24) a lesser reading close enough to it is read as it too (`Triager._signed_emergency`).
    signs: re.Pattern | None = None

    @property
    def emergency(self) -> bool:
        return self.action == "call-999"


@dataclass(frozen=True)
class PulseReadings:
    """How the rules net reads a heart rate (safety/red-flags.yaml `heart_rate`), as it reads a
    temperature: a reading at or above `fast_bpm` in a sentence about now is the symptom
    `symptom`; a reading in the normal resting range [`normal_from_bpm`, `fast_bpm`) decides
    that symptom for the text it is in, so the meaning net's closeness of "my pulse is 68 this
    morning" to "my watch says 130" does not raise an alarm, unless the text also says the beat
    feels wrong (`unless`: "pulse is 85 but it keeps skipping")."""

    symptom: str
    fast_bpm: float
    normal_from_bpm: float
    context: re.Pattern  # the sentence is about a heart rate: "pulse", "heart rate", "bpm", a watch
    unless: re.Pattern | None = None


@dataclass(frozen=True)
class RedFlags:
    """The reviewed red-flag data (safety/red-flags.yaml), validated."""

    meta: dict
    fever_threshold_c: float
    symptom_similarity: float
    report_probability: float
    question_probability: float
    statement_similarity: float
    emergency_similarity: float
    emergency_over_words: float
    person: re.Pattern
    time: re.Pattern
    hypothetical: re.Pattern
    past: re.Pattern
    treatment: re.Pattern
    symptoms: tuple[Symptom, ...]
    # A time to come ("next week"): a supposition (in `hypothetical` too) of its own words only.
    time_ahead: re.Pattern | None = None
    # Someone else's health (cues.not_patient, writer_cares, someone_else, writer_is_patient,
    # relations); each optional, None: not judged.
    not_patient: re.Pattern | None = None
    writer_cares: re.Pattern | None = None
    someone_else: re.Pattern | None = None
    writer_is_patient: re.Pattern | None = None
    relations: re.Pattern | None = None
    # Someone is well now ("back to normal for three weeks now"); a document or someone quoted
    # ("the leaflet lists ..."); the patient named as someone the writer cares for ("I'm my
    # husband's carer", "his grandad who had CAR-T"). Each optional, None: not judged.
    well_now: re.Pattern | None = None
    quotes: re.Pattern | None = None
    patient_named: re.Pattern | None = None
    over: re.Pattern | None = None  # an episode looked back on: looked after, before the treatment, always
    ended: re.Pattern | None = None  # an episode said to have ended ("it settled"): with `over` or `past` only
    long_standing: re.Pattern | None = None  # how someone has long been ("for years"): told in the present, still history
    therapy: re.Pattern | None = None  # the treatment's names: a relative named with it is the patient
    strangers: re.Pattern | None = None  # "an old gentleman", "a lady on the ward": never the patient
    animals: re.Pattern | None = None  # "our dog", "the cat": never the patient
    things: re.Pattern | None = None  # "the washing machine", "our fax machine": never the patient
    long_ago: re.Pattern | None = None  # "years ago", said in the clause that names the symptom
    # As it has long been ("no different", "unchanged", "nothing new"): with `long_standing`, a
    # condition someone has had for years and that has not changed is history, not a red flag.
    unchanged: re.Pattern | None = None
    # The patient's relative, as a clinician names them ("the patient's husband", "the wife of one
    # of our CAR-T patients"): a sentence that opens with one tells of the relative (`_about_patients_kin`).
    patients_kin: re.Pattern | None = None
    cannot: re.Pattern | None = None  # words the rules read as "can't" ("unable to")
    # How a clinician names the patient they are seeing ("pt", "the patient", "49F"): in a
    # clinician's message it names someone, as the person cues do (None: not read).
    clinician_patient: re.Pattern | None = None
    # Words that make "patient" general in a clinician's message ("a febrile post CAR-T
    # patient"): a phrase of one of them, up to four words and the noun (None: not read).
    clinician_general: re.Pattern | None = None
    general_questions: tuple[str, ...] = ()  # questions about symptoms in general ("what should I watch for?")
    not_red_flags: tuple[str, ...] = ()  # everyday news that is no red flag ("dad is on morphine for his back")
    heart_rate: PulseReadings | None = None  # how a pulse reading is read; None: not read
    # A 999 read by meaning alone, its closest 999 symptom less close than this, may be set aside
    # by the message classifier as any flag of the meaning net may (optional; 0: never).
    emergency_set_aside_below: float = 0.0
    # A symptom's closeness counts 0 when the everyday news (`not_red_flags`, `general_questions`)
    # is closer than it by more than this (optional; 0: when it is closer at all).
    neutral_margin: float = 0.0
    # A symptom of the 24-hour line is as close as its one closest report less this, when that is
    # closer than the mean of its TOP closest (optional; 0: not read). Never a 999 symptom.
    single_report_margin: float = 0.0
    # (1.25) A long sentence of a message neither net flagged is read clause by clause against the
    # 24-hour line's reports, and a clause as close as a sentence needs is a report when the
    # message classifier gives the whole message at least this (optional; 0: not read).
    clause_agreement: float = 0.0
    clause_min_words: int = 12  # ... a sentence of at least this many words
    clause_within: float = 0.05  # ... as close to a line symptom's reports as symptom_similarity less this
    path: str = ""

    @classmethod
    def load(cls, path: Path | str = DEFAULT_RED_FLAGS) -> "RedFlags":
        path = Path(path)
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
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
        numbers = {}
        for name in SEMANTIC_FIELDS:
            try:
                numbers[name] = float(semantic[name])
            except (KeyError, TypeError, ValueError):
                problems.append(f"'semantic' needs a number '{name}'")
                numbers[name] = 0.0
        cues = data.get("cues") or {}
        person = alternation(cues.get("person"), "cues.person", problems)
        time = alternation(cues.get("time"), "cues.time", problems)
        # a time to come supposes too, but only its own words (`_supposed_spans`)
        hypothetical = alternation(texts(cues.get("hypothetical")) + texts(cues.get("time_ahead")),
                                    "cues.hypothetical", problems)
        time_ahead = alternation(cues.get("time_ahead"), "cues.time_ahead", problems, required=False)
        past = alternation(cues.get("past"), "cues.past", problems)
        treatment = alternation(cues.get("treatment"), "cues.treatment", problems)
        others = {name: alternation(cues.get(name), f"cues.{name}", problems, required=False)
                  for name in ("not_patient", "writer_cares", "someone_else", "writer_is_patient", "relations",
                               "well_now", "quotes", "patient_named", "over", "ended", "long_standing", "therapy", "strangers",
                               "long_ago", "animals", "things", "clinician_patient", "unchanged", "patients_kin", "cannot")}
        general = texts(cues.get("clinician_general"))
        others["clinician_general"] = (
            # the words between name the patient ("a febrile post CAR-T patient"), no clause of
            # their own: not "a fever and the patient is shivering"
            re.compile(r"\b((?:%s)\s+(?:(?!(?:and|but|or|the|this|that|is|are|was|were|has|had|have|with|who|then)\b)"
                       r"[\w+/-]+\s+){0,4}?)(?:pts?|patients?)\b" % "|".join(map(re.escape, general)), re.I)
            if general else None)
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
            reports, questions = texts(item.get("reports")), texts(item.get("questions"))
            if not reports:
                problems.append(f"symptom '{sid}': needs at least one example in 'reports'")
            terms = alternation(item.get("terms"), f"symptom '{sid}' terms", problems, required=False)
            signs = alternation(item.get("signs"), f"symptom '{sid}' signs", problems, required=False)
            if signs is not None and item.get("action") != "call-999":
                problems.append(f"symptom '{sid}': 'signs' keep a 999 reading, and this symptom's action is not call-999")
            symptoms.append(Symptom(sid, str(item.get("label") or sid), str(item.get("action")), texts(item.get("describes")),
                                    terms, reports, questions, _instead(item.get("instead"), sid, problems, signs), signs))
        if not symptoms:
            problems.append("no symptoms: list them under 'symptoms'")
        for symptom in symptoms:
            if symptom.instead is not None and symptom.instead.symptom not in seen - {symptom.id}:
                problems.append(f"symptom '{symptom.id}': instead.symptom '{symptom.instead.symptom}' is not another symptom id of this file")
        heart_rate = _pulse_readings(data.get("heart_rate"), {s.id for s in symptoms}, problems)
        optional = {}
        for name in ("emergency_set_aside_below", "neutral_margin", "single_report_margin", "clause_agreement", "clause_within"):
            try:
                optional[name] = float(semantic.get(name, cls.__dataclass_fields__[name].default))
            except (TypeError, ValueError):
                problems.append(f"'semantic' '{name}' must be a number")
        if not 0.0 <= optional.get("clause_agreement", 0.0) < 1.0:
            problems.append("'semantic' 'clause_agreement' must be at least 0 (0: clauses not read) and under 1")
        words = semantic.get("clause_min_words", 12)
        if isinstance(words, bool) or not isinstance(words, int) or words < 2:
            problems.append("'semantic' 'clause_min_words' must be a whole number of words, 2 or more")
        else:
            optional["clause_min_words"] = words
        if problems:
            raise UsageError(f"{where}: " + "; ".join(problems))
        return cls(meta={k: data.get(k) for k in ("id", "title", "owner", "version", "approved_by", "approved_on",
                                                     "review_due", "status")},
                   fever_threshold_c=float(data.get("fever_threshold_c", 37.5)),
                   **numbers, person=person, time=time,
                   hypothetical=hypothetical, time_ahead=time_ahead, past=past, treatment=treatment, **others,
                   symptoms=tuple(symptoms), general_questions=texts(data.get("general_questions")),
                   not_red_flags=texts(data.get("not_red_flags")), heart_rate=heart_rate,
                   **optional, path=where)

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


def _pulse_readings(data, symptom_ids: set[str], problems: list[str]) -> PulseReadings | None:
    """`heart_rate` validated (optional: without it no pulse reading is read)."""
    if data is None:
        return None
    if not isinstance(data, dict):
        problems.append("'heart_rate' must be a mapping with symptom, fast_bpm, normal_from_bpm and context")
        return None
    if data.get("symptom") not in symptom_ids:
        problems.append(f"heart_rate.symptom '{data.get('symptom')}' is not a symptom id of this file")
    numbers = {}
    for name in ("fast_bpm", "normal_from_bpm"):
        try:
            numbers[name] = float(data[name])
        except (KeyError, TypeError, ValueError):
            problems.append(f"heart_rate needs a number '{name}' (beats a minute)")
            numbers[name] = 0.0
    if numbers["normal_from_bpm"] >= numbers["fast_bpm"] > 0:
        problems.append("heart_rate.normal_from_bpm must be below heart_rate.fast_bpm")
    context = alternation(data.get("context"), "heart_rate.context", problems)
    unless = alternation(data.get("unless"), "heart_rate.unless", problems, required=False)
    if context is None:
        return None
    return PulseReadings(str(data.get("symptom")), numbers["fast_bpm"], numbers["normal_from_bpm"], context, unless)


def _instead(data, sid: str, problems: list[str], signs: re.Pattern | None = None) -> Instead | None:
    """A symptom's `instead` validated (optional); without `unless` of its own, the symptom's
    `signs` (a sign of the 999 symptom keeps it)."""
    if data is None:
        return None
    if not isinstance(data, dict) or not data.get("symptom"):
        problems.append(f"symptom '{sid}': 'instead' must be a mapping with a symptom id and 'when' patterns")
        return None
    when = alternation(data.get("when"), f"symptom '{sid}' instead.when", problems)
    unless = alternation(data.get("unless"), f"symptom '{sid}' instead.unless", problems, required=False) or signs
    scope = str(data.get("scope", "sentence"))
    if scope not in ("sentence", "message"):
        problems.append(f"symptom '{sid}': instead.scope must be sentence or message, not '{scope}'")
    return Instead(str(data["symptom"]), when, unless, scope) if when is not None else None
