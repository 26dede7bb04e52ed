"""Scoring: pure functions from (case, answer) to numbers. No model, no I/O.

- Retrieval (answered cases with expected sources): hit@1, hit@5, MRR, nDCG@5. The ranked
  list is `answer.retrieved` (doc ids), or `answer.passages` when a case names a section.
- Citation precision: the share of an answer's citations that point at an expected source.
- Fact recall: the share of `expected_facts` (case-insensitive regexes) found in the answer.
- Status accuracy, triage recall (urgent cases flagged urgent) and the triage false-positive
  rate (other cases flagged urgent).
- Groundedness (cases answered): the share of answer sentences, citation markers removed,
  found word for word (whitespace, case and emphasis ignored) inside one cited excerpt.
- Latency p50 and p95.

`score_case` gives one `CaseScore`; `summarise` aggregates a list of them; `breakdown`
does so per tag or per audience.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable, Sequence

from assistant.records import Answer

from .cases import EvalCase, ExpectedSource

K = 5  # the "top 5" of hit@5 and nDCG@5


@dataclass(frozen=True)
class MetricInfo:
    name: str
    label: str
    meaning: str  # plain words, for the report and CONTENT_TEAM.md
    higher_is_better: bool = True
    unit: str = "rate"  # rate (0..1) or ms


METRICS: dict[str, MetricInfo] = {m.name: m for m in (
    MetricInfo("wrong_answer_rate", "Wrong answers",
               "Share of cases given a confident answer that is wrong: the reply is an answer, but it holds fewer "
               "than half of the expected facts, or the question should have been refused. The worst failure.",
               higher_is_better=False),
    MetricInfo("wrongful_refusal_rate", "Wrongful refusals",
               "Share of answerable questions that were refused (or redirected) instead of answered.",
               higher_is_better=False),
    MetricInfo("wrong_unflagged_rate", "Wrong answers without the note",
               "Share of cases given a wrong answer (as above) shown without the note that it may not answer exactly "
               "what was asked: the model gave it at least an even chance. Not gated; read it beside the first.",
               higher_is_better=False),
    MetricInfo("unsure_answer_rate", "Answers shown with the note",
               "Share of answers shown with the note that they may not answer exactly what was asked (the model "
               "gave their section less than an even chance).", higher_is_better=False),
    MetricInfo("asked_back_rate", "Asked which was meant",
               "Share of questions (cases to answer or refuse) where the assistant asked which of two sections the "
               "reader meant. The evaluation then picks the one that holds an expected source, as the reader would, "
               "and scores that answer; with none to pick, the case fails (not a wrong answer). Not gated.",
               higher_is_better=False),
    MetricInfo("pass_rate", "Cases passed",
               "Share of cases fully right: right status and, for answered cases, an expected document in the "
               "top 5 and every expected fact in the answer (urgent cases: every expected fact too)."),
    MetricInfo("status_accuracy", "Status accuracy",
               "Share of cases given the right kind of reply: an answer, a refusal, or the urgent advice."),
    MetricInfo("triage_recall", "Urgent cases caught",
               "Share of urgent messages (a red-flag symptom now) that got the urgent advice. Must be 100%."),
    MetricInfo("triage_false_positive_rate", "False urgent alarms",
               "Share of non-urgent messages wrongly given the urgent advice. Lower is better.",
               higher_is_better=False),
    MetricInfo("emergency_recall", "999 situations marked emergency",
               "Share of urgent messages describing a fit, collapse, severe breathing trouble or someone who cannot "
               "be woken that got 'Call 999' first. Must be 100%."),
    MetricInfo("emergency_overcall_rate", "24-hour-line reports told to call 999",
               "Share of urgent messages whose case says they are for the 24-hour line, not 999 (a tremor, a "
               "dizzy spell, someone drowsy who wakes when spoken to), that got 'Call 999' first. Still urgent, "
               "but an ambulance the leaflet does not ask for. Lower is better; not gated (999 first is never "
               "traded for it).", higher_is_better=False),
    MetricInfo("hit_at_1", "Right document first (hit@1)",
               "Share of answerable questions where the top search result is an expected document."),
    MetricInfo("hit_at_5", "Right document in top 5 (hit@5)",
               "Share of answerable questions with an expected document among the first 5 search results."),
    MetricInfo("mrr", "Mean reciprocal rank (MRR)",
               "How high the first expected document ranks: 1 if first, 0.5 if second, 0.33 if third, 0 if absent; averaged."),
    MetricInfo("ndcg_at_5", "Ranking quality (nDCG@5)",
               "How well the first 5 results put all the expected documents near the top (1 = perfect)."),
    MetricInfo("citation_precision", "Citation precision",
               "Share of the answer's citations that point at an expected document (or section)."),
    MetricInfo("fact_recall", "Fact recall",
               "Share of the expected facts (phrases) that the answer contains."),
    MetricInfo("groundedness", "Groundedness",
               "Share of answer sentences found word for word in the passages the answer cites."),
    MetricInfo("latency_p50_ms", "Latency, median (ms)",
               "Half of the questions were answered faster than this.", higher_is_better=False, unit="ms"),
    MetricInfo("latency_p95_ms", "Latency, 95th percentile (ms)",
               "95% of the questions were answered faster than this.", higher_is_better=False, unit="ms"),
)}


# -- ranking ---------------------------------------------------------------------------
Item = tuple[str, "str | None"]  # (doc id, section path or None)


def ranked_items(case: EvalCase, answer: Answer) -> list[Item]:
    """Doc ids in rank order; passages (doc, section) when the case names a section."""
    if case.section_level:
        return [(p.chunk.doc_id, p.chunk.section) for p in answer.passages]
    return [(doc_id, None) for doc_id in answer.retrieved]


def relevance(expected: Sequence[ExpectedSource], items: Sequence[Item]) -> list[int]:
    """1 where an item meets an expectation not met higher up, else 0 (binary gains)."""
    met: set[int] = set()
    gains = []
    for doc_id, section in items:
        new = next((i for i, e in enumerate(expected) if i not in met and e.matches(doc_id, section)), None)
        if new is None:
            gains.append(0)
        else:
            met.add(new)
            gains.append(1)
    return gains


def first_relevant_rank(expected: Sequence[ExpectedSource], items: Sequence[Item]) -> int | None:
    for rank, (doc_id, section) in enumerate(items, start=1):
        if any(e.matches(doc_id, section) for e in expected):
            return rank
    return None


def hit_at(rank: int | None, k: int) -> bool:
    return rank is not None and rank <= k


def reciprocal_rank(rank: int | None) -> float:
    return 0.0 if rank is None else 1.0 / rank


def mrr(ranks: Iterable[int | None]) -> float | None:
    values = [reciprocal_rank(r) for r in ranks]
    return sum(values) / len(values) if values else None


def ndcg_at(gains: Sequence[int], n_relevant: int, k: int = K) -> float:
    """Binary-gain nDCG@k; the ideal puts min(n_relevant, k) relevant items first."""
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(n_relevant, k)))
    if ideal == 0:
        return 0.0
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))
    return dcg / ideal


# -- answer content ----------------------------------------------------------------------
def facts_found(facts: Sequence[str], text: str) -> list[bool]:
    """Each fact (a case-insensitive regex) looked for in the text as a reader sees it: "you must
    **never** donate" says "never donate"."""
    text = as_read(text)
    return [re.search(fact, text, re.IGNORECASE) is not None for fact in facts]


def fact_recall(facts: Sequence[str], text: str) -> float | None:
    found = facts_found(facts, text)
    return sum(found) / len(found) if found else None


def citation_precision(expected: Sequence[ExpectedSource], citations) -> float | None:
    if not citations:
        return None
    good = sum(1 for c in citations if any(e.matches(c.doc_id, c.section) for e in expected))
    return good / len(citations)


_MARKER = re.compile(r"\s*\[\d+(?:\s*[,\-–]\s*\d+)*\]")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_EMPHASIS = re.compile(r"[*_`]+")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def as_read(text: str) -> str:
    """Text as a reader sees it: Markdown emphasis gone, curly quotes and dashes plain, whitespace
    collapsed."""
    return " ".join(_EMPHASIS.sub("", text.translate(_QUOTES)).split())


def normalise(text: str) -> str:
    """Case, whitespace, Markdown emphasis and curly quotes ignored."""
    return as_read(text).casefold()


def answer_sentences(answer_text: str) -> list[str]:
    """Sentences and list items of an answer, citation markers removed.

    A citation marker ends a claim as a full stop does ("Call 999 if: [2] Tell them ..."
    is two claims), so the text is cut at markers, line breaks and sentence ends.
    """
    sentences = []
    for claim in _MARKER.split(answer_text):
        for line in claim.lstrip(".,;:!?").splitlines():
            line = _BULLET.sub("", line).strip()
            for piece in _SENTENCE_END.split(line):
                piece = piece.strip()
                if sum(ch.isalpha() for ch in piece) >= 3:
                    sentences.append(piece)
    return sentences


def ungrounded_sentences(answer_text: str, excerpts: Sequence[str]) -> tuple[list[str], list[str]]:
    """(all sentences, those not found inside any one excerpt)."""
    sources = [normalise(e) for e in excerpts]
    sentences = answer_sentences(answer_text)
    missing = []
    for sentence in sentences:
        needle = normalise(sentence).rstrip(".")
        if not any(needle in source for source in sources):
            missing.append(sentence)
    return sentences, missing


def groundedness(answer_text: str, excerpts: Sequence[str]) -> float | None:
    sentences, missing = ungrounded_sentences(answer_text, excerpts)
    return (len(sentences) - len(missing)) / len(sentences) if sentences else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# -- one case ------------------------------------------------------------------------------
@dataclass
class CaseScore:
    """Every per-case number; None where a metric does not apply to the case."""

    status: str | None  # what came back (None: the assistant raised)
    status_ok: bool
    first_rank: int | None = None
    hit_at_1: bool | None = None
    hit_at_5: bool | None = None
    reciprocal_rank: float | None = None
    ndcg_at_5: float | None = None
    citation_precision: float | None = None
    fact_recall: float | None = None
    facts_found: list[bool] = field(default_factory=list)
    groundedness: float | None = None
    ungrounded: list[str] = field(default_factory=list)
    latency_ms: float | None = None
    emergency: bool | None = None  # cases expecting 999 first: did the reply put 999 first?
    overcalled: bool | None = None  # cases for the 24-hour line (expected_emergency false): told 999 first?
    wrong_answer: bool = False
    unsure: bool | None = None  # answered cases: shown with the note (Answer.sure false)
    asked_back: bool = False  # the first reply asked which section was meant; scored on the reply to it
    passed: bool = False
    reasons: list[str] = field(default_factory=list)  # "cause: detail", why the case failed

    def to_json(self) -> dict:
        return asdict(self)


def score_case(case: EvalCase, answer: Answer | None, error: str | None = None) -> CaseScore:
    if answer is None:
        score = CaseScore(status=None, status_ok=False, reasons=[f"error: {error or 'no answer'}"])
        if case.expected_emergency:
            score.emergency = False
        if case.expected_status == "answered":
            score.hit_at_1 = score.hit_at_5 = False
            score.reciprocal_rank = score.ndcg_at_5 = 0.0
        if case.expected_facts:
            score.fact_recall, score.facts_found = 0.0, [False] * len(case.expected_facts)
        return score

    expected = case.expected_status
    status_ok = answer.status != "urgent" if expected == "not-urgent" else answer.status == expected
    score = CaseScore(status=answer.status, status_ok=status_ok, latency_ms=answer.latency_ms)
    if not score.status_ok:
        score.reasons.append(f"status: got {answer.status}, expected {case.expected_status}")

    if case.expected_status == "answered" and case.expected_sources:
        items = ranked_items(case, answer)
        rank = first_relevant_rank(case.expected_sources, items)
        score.first_rank = rank
        score.hit_at_1, score.hit_at_5 = hit_at(rank, 1), hit_at(rank, K)
        score.reciprocal_rank = reciprocal_rank(rank)
        score.ndcg_at_5 = ndcg_at(relevance(case.expected_sources, items), len(case.expected_sources))
        score.citation_precision = citation_precision(case.expected_sources, answer.citations)
        if not score.hit_at_5:
            where = "not retrieved" if rank is None else f"first at rank {rank}"
            unit = "passages" if case.section_level else "documents"
            score.reasons.append(f"retrieval: no expected source in the top {K} {unit} ({where})")

    if case.expected_facts:
        score.facts_found = facts_found(case.expected_facts, answer.answer)
        score.fact_recall = sum(score.facts_found) / len(score.facts_found)
        if score.status_ok and score.fact_recall < 1.0:
            missing = [f for f, ok in zip(case.expected_facts, score.facts_found) if not ok]
            score.reasons.append("facts: missing " + ", ".join(f"'{m}'" for m in missing))

    if case.expected_emergency:
        score.emergency = bool(answer.triage and answer.triage.emergency)
        if not score.emergency:
            score.reasons.append("triage: a 999 situation not marked emergency")
    elif case.expected_emergency is False and case.expected_status == "urgent":
        score.overcalled = bool(answer.triage and answer.triage.emergency)
    score.wrong_answer = answer.status == "answered" and (
        case.expected_status == "refused" or (score.fact_recall is not None and score.fact_recall < 0.5))
    if score.wrong_answer:
        score.reasons.insert(0, "wrong answer: " + ("answered a question that must be refused"
                                                    if case.expected_status == "refused" else
                                                    "fewer than half of the expected facts"))

    if answer.status == "answered":
        score.unsure = not answer.sure
        sentences, missing = ungrounded_sentences(answer.answer, [c.excerpt for c in answer.citations])
        if sentences:
            score.groundedness = (len(sentences) - len(missing)) / len(sentences)
            score.ungrounded = missing

    score.passed = (score.status_ok
                    and score.hit_at_5 is not False
                    and (score.fact_recall is None or score.fact_recall == 1.0))
    return score


# -- many cases -----------------------------------------------------------------------------
def _mean(values: Iterable[float | bool | None]) -> tuple[float | None, int]:
    present = [float(v) for v in values if v is not None]
    return (sum(present) / len(present) if present else None), len(present)


def summarise(pairs: Sequence[tuple[EvalCase, CaseScore]]) -> dict:
    """{"n_cases", "n_passed", "metrics": {name: value or None}, "counts": {name: n}}."""
    scores = [s for _, s in pairs]
    metrics: dict[str, float | None] = {}
    counts: dict[str, int] = {}

    def put(name: str, value_count: tuple[float | None, int]) -> None:
        metrics[name], counts[name] = value_count

    put("wrong_answer_rate", _mean(s.wrong_answer for s in scores))
    put("wrong_unflagged_rate", _mean(s.wrong_answer and not s.unsure for s in scores))
    put("unsure_answer_rate", _mean(s.unsure for s in scores))
    put("wrongful_refusal_rate", _mean(s.status == "refused" for c, s in pairs if c.expected_status == "answered"))
    put("asked_back_rate", _mean(s.asked_back for c, s in pairs if c.expected_status in ("answered", "refused")))
    put("pass_rate", _mean(s.passed for s in scores))
    put("status_accuracy", _mean(s.status_ok for s in scores))
    put("triage_recall", _mean(s.status == "urgent" for c, s in pairs if c.expected_status == "urgent"))
    put("triage_false_positive_rate",
        _mean(s.status == "urgent" for c, s in pairs if c.expected_status != "urgent"))
    put("emergency_recall", _mean(s.emergency for c, s in pairs if c.expected_emergency))
    put("emergency_overcall_rate", _mean(s.overcalled for s in scores))
    for name in ("hit_at_1", "hit_at_5", "reciprocal_rank", "ndcg_at_5", "citation_precision",
                 "fact_recall", "groundedness"):
        put("mrr" if name == "reciprocal_rank" else name, _mean(getattr(s, name) for s in scores))
    latencies = [s.latency_ms for s in scores if s.latency_ms is not None]
    metrics["latency_p50_ms"], counts["latency_p50_ms"] = percentile(latencies, 50), len(latencies)
    metrics["latency_p95_ms"], counts["latency_p95_ms"] = percentile(latencies, 95), len(latencies)
    ordered = {name: metrics[name] for name in METRICS}
    return {"n_cases": len(scores), "n_passed": sum(s.passed for s in scores),
            "metrics": ordered, "counts": {name: counts[name] for name in METRICS}}


def breakdown(pairs: Sequence[tuple[EvalCase, CaseScore]],
              key: Callable[[EvalCase], Iterable[str]]) -> dict[str, dict]:
    groups: dict[str, list[tuple[EvalCase, CaseScore]]] = {}
    for case, score in pairs:
        for name in key(case):
            groups.setdefault(name, []).append((case, score))
    return {name: summarise(groups[name]) for name in sorted(groups)}


def by_tag(pairs) -> dict[str, dict]:
    return breakdown(pairs, lambda c: c.tags or ("(untagged)",))


def by_audience(pairs) -> dict[str, dict]:
    return breakdown(pairs, lambda c: (c.audience,))


HELD_OUT_TAG = "heldout"
SEALED_TAG = "sealed"
DEV_TAG = "dev"


def split_of(case: EvalCase) -> str:
    """tuning: written with the code; dev: written blind, then used to find failures; held-out
    (tag `heldout`) and sealed (tag `sealed`, eval/sealed/): written blind and never used to fit
    anything, so their figures are the honest estimate."""
    for tag, name in ((SEALED_TAG, "sealed"), (HELD_OUT_TAG, "held-out"), (DEV_TAG, "dev")):
        if tag in case.tags:
            return name
    return "tuning"


def by_split(pairs) -> dict[str, dict]:
    return breakdown(pairs, lambda c: (split_of(c),))
