"""Stage 6, answering (default: grounded, offline, deterministic).

Entry point: `GroundedAnswerer.compose(question, passages, ...) -> Composition`. The reply
is made of whole sentences (or list items) taken verbatim from the retrieved passages,
each followed by the number of the passage it came from. Nothing else is said, except the
fixed safety and refusal lines, which are themselves cited from the contacts document.

Also here: what the assistant must not answer (personal medical advice, attempts to
change its instructions, questions with no support in the approved documents).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .chunking import split_sentences
from .records import Citation, Passage
from .text import terms

_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")

# Personal medical advice: doses, stopping or changing medicines, "will I survive".
PERSONAL_ADVICE = re.compile("|".join([
    r"\b(how much|how many|what dose|which dose|what amount|how often should i take)\b.*\b(should|can|do|shall|must|to)\b.*\b(i|he|she|we|my|they)\b.*\b(take|have|give|use)\b",
    r"\b(dose|dosage|dosing|mg|milligrams?)\b.*\b(for|of)\b.*\b(me|my|him|her|this patient|my patient|our patient)\b",
    r"\b(my|this|our) (patient|pt)'?s?\b.*\b(dose|dosage|mg)\b", r"\b\d+\s?kg\b.*\b(dose|dosage)\b|\b(dose|dosage)\b.*\b\d+\s?kg\b",
    r"\bshould (i|he|she|we) (stop|start|skip|double|change|reduce|increase|come off)\b",
    r"\bcan (i|he|she|we) (stop|skip|double) (taking|my|his|her)\b", r"\bstop taking (my|his|her)\b",
    r"\b(will|am|are|is) (i|he|she|my \w+) (going to )?(survive|die|be cured|live|make it|beat (this|it))\b",
    r"\b(my|his|her|their) (chances?|odds|prognosis|life expectancy)\b", r"\bhow long (do|does|have) (i|he|she|my \w+) (have )?(got )?(left|to live)\b",
    r"\bprognosis for (me|him|her|my|this patient|my patient)\b", r"\bwill (it|this|car-?t) (work|cure) (for )?(me|him|her|my)\b",
    r"\b(is it|would it be) (safe|ok|okay) for (me|him|her) to (take|stop|have)\b", r"\bwhat (are|is) (my|his|her) (chance|survival)\b",
    r"\bshould (my|this|our) (patient|pt)\b.*\b(get|have|receive|be given)\b", r"\bhow much (paracetamol|ibuprofen|tocilizumab|dexamethasone|steroid)\b",
]), re.I)

# Attempts to change what the assistant is or reveal how it works.
OVERRIDE = re.compile("|".join([
    r"\bignore\b.{0,40}\b(instructions?|rules?|prompts?|guidelines?|above|previous|prior)\b", r"\bdisregard\b.{0,40}\b(instructions?|rules?|above|previous)\b",
    r"\b(system|hidden|initial) prompt\b", r"\byour (instructions|rules|prompt|programming)\b", r"\byou are now\b", r"\bpretend (to be|you are)\b",
    r"\bact as (a|an|my)\b", r"\bdeveloper mode\b", r"\bjailbreak\b", r"\bdo anything now\b", r"\bforget (everything|your|all)\b",
    r"\bapprove this referral\b", r"\boverride\b.{0,30}\b(rules?|safety|instructions?|restrictions?)\b", r"\bno (restrictions|rules|filters?)\b",
]), re.I)

MIN_EVIDENCE = 0.40  # cosine of question and best passage below which nothing is said
MIN_SENTENCE_OVERLAP = 0.2


@dataclass(frozen=True)
class Composition:
    text: str
    citations: tuple[Citation, ...]
    sentences: tuple[tuple[str, int], ...]  # (sentence verbatim, citation number)


def citation_for(n: int, passage: Passage) -> Citation:
    chunk = passage.chunk
    return Citation(n=n, doc_id=chunk.doc_id, title=chunk.title, section=chunk.section, page=chunk.page,
                    version=chunk.version, excerpt=chunk.text, source=chunk.source)


@dataclass(frozen=True)
class _Candidate:
    passage_rank: int
    position: int
    text: str
    score: float
    is_item: bool


class GroundedAnswerer:
    """Picks the few sentences that best answer the question, cites them, orders them naturally."""

    def __init__(self, idf: dict[str, float] | None = None, *, max_sentences: int = 4, max_passages: int = 3):
        self.idf = idf or {}
        self.max_sentences = max_sentences
        self.max_passages = max_passages

    def _weight(self, term: str) -> float:
        return self.idf.get(term, max(self.idf.values(), default=1.0))

    def compose(self, question: str, passages: list[Passage], *, context: str = "") -> Composition:
        """`context` (the previous question of a follow-up) counts at half weight."""
        query = {t: self._weight(t) for t in terms(question)}
        for t in terms(context):
            query.setdefault(t, 0.5 * self._weight(t))
        total = sum(query.values()) or 1.0
        candidates: list[_Candidate] = []
        for rank, passage in enumerate(passages):
            for start, end in split_sentences(passage.chunk.text):
                sentence = passage.chunk.text[start:end]
                body = _LIST_MARKER.sub("", sentence).strip()
                if len(body) < 12 or body.startswith("#") or _is_boilerplate(body):
                    continue
                sentence_terms = set(terms(body))
                overlap = sum(w for t, w in query.items() if t in sentence_terms) / total
                # Retrieval rank carries meaning the word overlap misses; earlier passages win ties.
                score = overlap + 0.35 / (1 + rank) + 0.05 / (1 + start / 200)
                candidates.append(_Candidate(rank, start, body, score if overlap >= MIN_SENTENCE_OVERLAP or rank == 0 else 0.0,
                                             bool(_LIST_MARKER.match(sentence))))
        if not candidates:
            return Composition("", (), ())
        best = max(c.score for c in candidates)
        chosen: list[_Candidate] = []
        seen_terms: list[set[str]] = []
        for candidate in sorted(candidates, key=lambda c: -c.score):
            if len(chosen) >= self.max_sentences or candidate.score < max(0.55 * best, 1e-9):
                break
            cand_terms = set(terms(candidate.text))
            if any(_jaccard(cand_terms, other) > 0.6 for other in seen_terms):
                continue  # the same point again (overlapping chunks, repeated leaflets)
            ranks = {c.passage_rank for c in chosen}
            if candidate.passage_rank not in ranks and len(ranks) >= self.max_passages:
                continue
            chosen.append(candidate)
            seen_terms.append(cand_terms)
        chosen.sort(key=lambda c: (c.passage_rank, c.position))
        numbers: dict[int, int] = {}
        citations: list[Citation] = []
        lines: list[str] = []
        sentences: list[tuple[str, int]] = []
        for candidate in chosen:
            if candidate.passage_rank not in numbers:
                numbers[candidate.passage_rank] = len(numbers) + 1
                citations.append(citation_for(numbers[candidate.passage_rank], passages[candidate.passage_rank]))
            n = numbers[candidate.passage_rank]
            sentences.append((candidate.text, n))
            lines.append(("- " if candidate.is_item else "") + f"{candidate.text} [{n}]")
        text = _join(lines)
        return Composition(text, tuple(citations), tuple(sentences))


def _join(lines: list[str]) -> str:
    out = ""
    for line in lines:
        if not out:
            out = line
        elif line.startswith("- ") or out.splitlines()[-1].startswith("- "):
            out += "\n" + line
        else:
            out += " " + line
    return out


def _is_boilerplate(sentence: str) -> bool:
    lowered = sentence.lower().strip("*_ ")
    return lowered.startswith("illustrative document") or lowered.startswith("sources") or lowered.startswith("source:")


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def idf_table(chunks) -> dict[str, float]:
    """Inverse document frequency of each term over the indexed chunks."""
    counts: dict[str, int] = {}
    for chunk in chunks:
        for term in set(terms(chunk.embedding_text)):
            counts[term] = counts.get(term, 0) + 1
    n = max(len(chunks), 1)
    return {term: math.log(1 + (n - c + 0.5) / (c + 0.5)) for term, c in counts.items()}
