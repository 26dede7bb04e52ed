"""Stage 6, answering (default: grounded, offline, deterministic).

Entry point: `GroundedAnswerer.compose(question, passages, ...) -> Composition`. The reply
is made of whole sentences (or list items) taken verbatim from the retrieved passages,
each followed by the number of the passage it came from. Nothing else is said, except the
fixed safety and refusal lines, which are themselves cited from the contacts document.

What the assistant must not answer (personal medical advice, attempts to change its
instructions) is reviewed data judged in boundaries.py.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, replace

import numpy as np

from .chunking import split_sentences
from .records import Chunk, Citation, Passage
from .retrieval import is_reference_list
from .text import CorpusTerms, terms

_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")

# Headings that name a kind of section, not its topic: "Questions about driving" holds whom to
# call, so its words say nothing about the sentences below it.
_SIGNPOST = re.compile(r"\s*(questions|more information|further information|contacts?|where to ask|who to (call|contact)|sources)\b", re.I)


def _last_heading(section: str) -> str:
    return section.rsplit(">", 1)[-1]


_FRAME = re.compile(r"\bhow (long|soon|often)\b", re.I)

MIN_EVIDENCE = 0.40  # cosine of question and best passage below which nothing is said
MIN_SENTENCE_OVERLAP = 0.2
OPENING_MAX_UNITS = 3  # an opening this short introduces its subsections (SectionAnswerer.continuation)


@dataclass(frozen=True)
class Composition:
    text: str
    citations: tuple[Citation, ...]
    sentences: tuple[tuple[str, int], ...]  # (sentence verbatim, citation number)

    @property
    def said(self) -> tuple[str, ...]:
        """Its sentences, verbatim, without their citation numbers."""
        return tuple(sentence for sentence, _ in self.sentences)


def combine(compositions: list[Composition]) -> Composition:
    """Answers to the separate questions of one message, one after the other, their citations
    numbered in turn (each composition cites its own passages from [1])."""
    text: list[str] = []
    citations: list[Citation] = []
    sentences: list[tuple[str, int]] = []
    for composition in compositions:
        if not composition.sentences:
            continue  # a section that only repeated what was already quoted
        offset = len(citations)
        numbers = {c.n: c.n + offset for c in composition.citations}
        citations.extend(replace(c, n=numbers[c.n]) for c in composition.citations)
        sentences.extend((line, numbers[n]) for line, n in composition.sentences)
        text.append(re.sub(r"\[(\d+)\]", lambda m: f"[{numbers.get(int(m.group(1)), int(m.group(1)))}]",
                           composition.text))
    return Composition("\n\n".join(text), tuple(citations), tuple(sentences))


def citation_for(n: int, passage: Passage) -> Citation:
    chunk = passage.chunk
    return Citation(n=n, doc_id=chunk.doc_id, title=chunk.title, section=chunk.section, page=chunk.page,
                    version=chunk.version, excerpt=chunk.text, source=chunk.source)


@dataclass(frozen=True)
class _Candidate:
    passage_rank: int
    position: int
    lines: tuple[str, ...]  # a sentence, a list item, or a lead-in ending in ":" with its items
    is_items: tuple[bool, ...]
    score: float = 0.0

    @property
    def text(self) -> str:
        return " ".join(self.lines)


# Signposts about the document itself, not answers: "This leaflet is about...", "It tells
# you what the service is for."
_META = re.compile(r"^(this|the) (page|leaflet|guide|document|summary|section|handbook|sheet)\b.*\b(covers?|explains?|describes?|gives?|is for|is about|tells you|sets out|lists?|summari[sz]es)\b"
                   r"|^it (also )?(tells|shows|explains|covers|describes|lists|says) (you|what|how|who|when|where|why)\b", re.I)


class GroundedAnswerer:
    """Picks the few sentences that best answer the question, cites them, orders them naturally.

    A sentence's score is the share of the question's (idf-weighted) words it and its
    neighbours contain, its passage's rank, and whether it has the kind of answer asked for.
    Scoring sentences by embedding too was measured: +0.6 points of fact recall for 5x the
    latency, so it is not done.
    """

    def __init__(self, idf: dict[str, float] | None = None, *, max_sentences: int = 4, max_passages: int = 3):
        self.idf = idf or {}
        self.max_sentences = max_sentences
        self.max_passages = max_passages
        values = sorted(self.idf.values())
        self._unknown_weight = values[len(values) // 2] if values else 1.0

    def weight(self, term: str) -> float:
        """idf; a word the corpus lacks counts like a middling word, not the rarest."""
        return self.idf.get(term, self._unknown_weight)

    def compose(self, question: str, passages: list[Passage], *, context: str = "") -> Composition:
        """`context` is the previous question of a follow-up: its topic counts as much as the new words."""
        # "How long" asks for a duration: "long" is the frame, not the topic ("long-term" is not it).
        query = {t: self.weight(t) for t in terms(_FRAME.sub(" ", question))}
        asked = set(query)
        for t in terms(_FRAME.sub(" ", context)):
            query.setdefault(t, self.weight(t))
        total = sum(query.values()) or 1.0
        candidates = [c for rank, p in enumerate(passages) if not is_reference_list(p.chunk)
                      for c in _candidates(p.chunk.text, rank)]
        if not candidates:
            return Composition("", (), ())
        scored = []
        term_sets = [set(terms(c.text)) for c in candidates]
        # The document's title over its opening lines names the whole leaflet, not those lines.
        headings = [set() if _SIGNPOST.match(_last_heading(p.chunk.section)) or p.chunk.section == p.chunk.title
                    else set(terms(p.chunk.section)) for p in passages]
        for i, candidate in enumerate(candidates):
            own = term_sets[i]
            # A sentence under "How long you stay in hospital" is about what its heading says, so
            # the heading's words of the question itself count as its own (a follow-up's earlier
            # topic, "drive", under "Questions about driving", only half: the new words choose).
            # One like "If you had any of these, ..." leans on its neighbours: words of the
            # question found only next to it count half.
            heading = headings[candidate.passage_rank]
            own = own | (heading & asked)
            near = set(heading)
            for j in (i - 1, i + 1):
                if 0 <= j < len(candidates) and candidates[j].passage_rank == candidate.passage_rank:
                    near |= term_sets[j]
            overlap = (sum(w for t, w in query.items() if t in own)
                       + 0.5 * sum(w for t, w in query.items() if t in near and t not in own)) / total
            # The passage's rank carries the dense (meaning) match; the words pick the sentence.
            score = (overlap + 0.2 / (1 + candidate.passage_rank)
                     + _answer_type_bonus(question, candidate.text))
            if overlap < MIN_SENTENCE_OVERLAP and candidate.passage_rank > 0:
                score = 0.0
            scored.append(_Candidate(candidate.passage_rank, candidate.position, candidate.lines,
                                     candidate.is_items, score))
        return self._select(scored, passages)

    def _select(self, scored: list[_Candidate], passages: list[Passage]) -> Composition:
        best = max(c.score for c in scored)
        if best <= 0:
            return Composition("", (), ())
        chosen: list[_Candidate] = []
        seen_terms: list[set[str]] = []
        budget = self.max_sentences
        for candidate in sorted(scored, key=lambda c: -c.score):
            if budget <= 0 or candidate.score < 0.75 * best:
                break
            cand_terms = set(terms(candidate.text))
            if any(_jaccard(cand_terms, other) > 0.6 or cand_terms <= other for other in seen_terms):
                continue  # the same point again (overlapping chunks, repeated leaflets)
            ranks = {c.passage_rank for c in chosen}
            if candidate.passage_rank not in ranks and len(ranks) >= self.max_passages:
                continue
            chosen.append(candidate)
            seen_terms.append(cand_terms)
            budget -= 1 if len(candidate.lines) == 1 else 2
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
            for line, is_item in zip(candidate.lines, candidate.is_items):
                line = " ".join(line.split())  # PDF text wraps mid-sentence
                sentences.append((line, n))
                lines.append(("- " if is_item else "") + f"{line} [{n}]")
        return Composition(_join(lines), tuple(citations), tuple(sentences))


def _candidates(text: str, rank: int) -> list[_Candidate]:
    """Sentences and list items of a passage; a lead-in ending in ':' keeps its list."""
    units = []
    for start, end in split_sentences(text):
        raw = text[start:end]
        body = _LIST_MARKER.sub("", raw).strip()
        if len(body) < 3 or body.startswith("#") or _is_boilerplate(body):
            continue
        units.append((start, body, bool(_LIST_MARKER.match(raw))))
    out: list[_Candidate] = []
    i = 0
    while i < len(units):
        start, body, is_item = units[i]
        if body.endswith(":") and not is_item:
            items = []
            j = i + 1
            while j < len(units) and units[j][2] and len(items) < 8:
                items.append(units[j])
                j += 1
            if items:
                out.append(_Candidate(rank, start, (body, *[u[1] for u in items]), (False, *[True] * len(items))))
                out.extend(_Candidate(rank, u[0], (u[1],), (True,)) for u in items)
                i = j
                continue
            i += 1
            continue  # a lead-in without its list says nothing
        if len(body) >= 12 and not _META.match(body):
            out.append(_Candidate(rank, start, (body,), (is_item,)))
        i += 1
    return out


_ASKS_NUMBER = re.compile(r"\b(how (long|many|much|often|soon|old)|when|what (age|temp\w*|percent\w*|dose|score|grade)|at what|threshold|cut-?off|limit|minimum|maximum|max|min)\b", re.I)
_HAS_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve|few|several)\b.{0,12}\b(hours?|days?|weeks?|months?|years?|times?)\b", re.I)
_ASKS_DEFINITION = re.compile(r"^\s*(what|who)\s+(is|are|does)\b|\bwhat does .* mean\b|\bexplain\b|\bdefin", re.I)
_DEFINES = re.compile(r"\b(is|are|means?|called|stands? for|refers? to)\b", re.I)


def _answer_type_bonus(question: str, sentence: str) -> float:
    """A "how long" question wants the sentence with the number; "what is" wants the definition."""
    bonus = 0.0
    if _ASKS_NUMBER.search(question) and _HAS_NUMBER.search(sentence):
        bonus += 0.12
    if _ASKS_DEFINITION.search(question) and _DEFINES.search(sentence):
        bonus += 0.05
    return bonus


# A sentence repeats one already quoted when nearly all the words of the shorter of the two are
# in the other: "heart tests: an ECG and a heart scan called an echocardiogram" (the handbook) and
# "heart tests: an ECG (a trace of your heart beat) and an echocardiogram (a scan of your heart)"
# (the leaflet). A section is trimmed of its repeats only when at least half of what it would
# quote repeats: product pages written to one pattern share a sentence ("What it replaced: no
# earlier appraisal is recorded ...") that says something of each product. A list is left out
# only whole (its lead-in and every item): a list quoted in part reads as the whole list.
REPEAT_CONTAINMENT = 0.8
REPEATING_SHARE = 0.5


def _words(text: str) -> set[str]:
    """A sentence's words as the word search reads them, each once ("CAR-T" is one word here,
    not also "car", "t" and "cart")."""
    return {found[0] for word in text.split() if (found := terms(word))}


def _repeats(units: list, keep: set[int], said: tuple[str, ...]) -> set[int]:
    """Which of the kept units to leave out as already said (`said`): none unless at least
    half of them repeat a sentence of it; then each sentence, and each list, that does."""
    if not said or not keep:
        return set()
    earlier = [e for e in map(_words, said) if e]
    kept = sorted(keep)
    own = {i: _words(units[i].text) for i in kept}
    # a unit with no words of its own ("You may have:") goes with what it leads into
    repeated = {i: not own[i] or any(len(own[i] & e) >= REPEAT_CONTAINMENT * min(len(own[i]), len(e)) for e in earlier)
                for i in kept}
    if sum(repeated[i] and bool(own[i]) for i in kept) < REPEATING_SHARE * len(kept):
        return set()
    blocks: list[list[int]] = []  # a sentence alone, or a list with its lead-in
    for i in kept:
        if blocks and units[i].in_list and (units[blocks[-1][-1]].in_list or units[blocks[-1][-1]].leads_in):
            blocks[-1].append(i)
        else:
            blocks.append([i])
    return {i for block in blocks if all(repeated[i] for i in block) for i in block}


def _join(lines: list[str]) -> str:
    out = ""
    for line in lines:
        if not out:
            out = line
        elif line.startswith("- ") and not out.splitlines()[-1].startswith("- "):
            out += "\n\n" + line if not out.endswith(":") and not re.search(r":\s*\[\d+\]$", out) else "\n" + line
        elif line.startswith("- "):
            out += "\n" + line
        elif out.splitlines()[-1].startswith("- "):
            out += "\n\n" + line
        else:
            out += " " + line
    return out


def _is_boilerplate(sentence: str) -> bool:
    lowered = sentence.lower().strip("*_ ")
    return lowered.startswith("illustrative document") or lowered.startswith("sources") or lowered.startswith("source:")


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def idf_table(corpus: CorpusTerms) -> dict[str, float]:
    """Inverse document frequency of each term over the indexed chunks (BM25's formula)."""
    n = max(corpus.chunks, 1)
    return {term: math.log(1 + (n - c + 0.5) / (c + 0.5)) for term, c in corpus.document_frequency.items()}


# -- answers from one section, by meaning -----------------------------------------------------------
# Sentences about patients, or about referring them, in a clinician document: what the staff are
# told, never what a patient is told (a patient's own leaflets speak to "you").
_ABOUT_PATIENTS = re.compile(r"\b(patients?|referr\w*|clinicians?|prescrib\w*|the team should)\b", re.I)


@functools.lru_cache(maxsize=4096)
def _item_spans(text: str) -> tuple[tuple[int, int], ...]:
    """The list items of a chunk's text, each whole (start, end): read once per chunk."""
    return tuple((s, e) for s, e in split_sentences(text, whole_items=True) if _LIST_MARKER.match(text[s:e]))


@dataclass(frozen=True)
class SectionUnit:
    row: int  # chunk row in the retriever
    offset: int  # in the document: orders the units and drops the copies of overlapping chunks
    text: str  # verbatim (whitespace as in the document)
    is_item: bool
    similarity: float  # cosine to the question
    overlap: float  # idf-weighted share of the question's words in it
    item: int = -1  # where the list item it is part of starts, in the document (-1: none)

    @property
    def continues_item(self) -> bool:
        """A later sentence of its list item ("- Myeloma. There is no NICE-recommended route...
        Do not refer... on the basis of those appraisals."): quoted only with its item."""
        return self.item >= 0 and not self.is_item

    @property
    def in_list(self) -> bool:
        """A list item, or a later sentence of one."""
        return self.is_item or self.continues_item

    @property
    def leads_in(self) -> bool:
        """A list's lead-in ("You may have:")."""
        return self.text.rstrip().endswith(":")


@dataclass(frozen=True)
class SectionScore:
    """One candidate section and what the decision to answer reads (answer_model.py)."""

    key: tuple[str, str]
    rank: int  # best retrieval rank among its passages (0 first)
    units: tuple[SectionUnit, ...]
    heading: float  # cosine of question and heading
    best: float  # best unit cosine
    top2: float  # mean of the two best unit cosines
    coverage: float  # share of the question's (idf-weighted) words anywhere in the section
    heading_overlap: float  # share of them in its heading
    audience_fit: bool  # the section's document is for the asker (or for all)
    fused: float = 0.0  # its best passage's fused retrieval score, over the first passage's
    centroid: float = 0.0  # cosine of the question and the mean of its sentences
    dense_prior: float = 0.0  # 1 / (1 + its best rank by meaning alone), 0 when not ranked
    bm25_prior: float = 0.0  # 1 / (1 + its best rank by words alone)
    asked: float = 0.0  # cosine of the question and the closest way readers ask it (or its heading)
    asking: float = 0.0  # log-probability that the question is this section's, by all its phrasings (asking.py)


class SectionAnswerer:
    """Chooses the one section that answers the question, and quotes its sentences in order.

    Sections come from the retrieved passages; each is described by meaning (the question's
    vector against its sentences and heading, embedded at ingest) and by the question's own
    words; the calibrated model (answer_model.py) says which one answers, if any. The answer
    is that section's sentences in document order, lists whole, trimmed to those that bear
    on the question when the section is long.
    """

    # A leaflet section is short (median 5 sentences or items, 54 words; 99th percentile 16):
    # quoted whole, it keeps its list and its caveats. Only a longer one is trimmed.
    def __init__(self, retriever, idf: dict[str, float] | None = None, *, max_units: int = 16):
        self.retriever = retriever
        self.idf = idf or {}
        values = sorted(self.idf.values())
        self._unknown_weight = values[len(values) // 2] if values else 1.0
        self.max_units = max_units
        self._labelled: tuple = (None, {}, {})  # generation, label -> key, key -> label (`_labels`)

    def weight(self, term: str) -> float:
        return self.idf.get(term, self._unknown_weight)

    def label(self, key: tuple[str, str]) -> str:
        """How a section is named when the reader is asked which one they mean: its headings
        and its document's title ("After you go home > Driving (Going home after CAR-T)")."""
        return self._labels()[1].get(key, key[1])

    def key_of(self, label: str) -> tuple[str, str] | None:
        """The section a label names (`label`), in the live generation; None when none does."""
        return self._labels()[0].get(label)

    def _labels(self) -> tuple[dict[str, tuple[str, str]], dict[tuple[str, str], str]]:
        """Label -> section key and back, built once per generation."""
        generation = self.retriever.generation
        if self._labelled[0] != generation or not self._labelled[1]:
            keys: dict[str, tuple[str, str]] = {}
            for chunk in self.retriever.chunks:
                label = chunk.section if chunk.section == chunk.title else f"{chunk.section} ({chunk.title})"
                keys.setdefault(label, (chunk.doc_id, chunk.section))
            self._labelled = (generation, keys, {key: label for label, key in keys.items()})
        return self._labelled[1:]

    def candidates(self, question: str, vector: np.ndarray, passages: list[Passage], *, context: str = "",
                   audience: str = "patient") -> list[SectionScore]:
        """Each retrieved section once, in retrieval order, with what the decision reads."""
        query = self._query(question, context)
        vector = np.asarray(vector, dtype=np.float32)
        asking = self.retriever.units.asking.log_probability(vector)
        groups: dict[tuple[str, str], list[tuple[int, Passage]]] = {}
        for rank, passage in enumerate(passages):
            if not is_reference_list(passage.chunk):
                groups.setdefault((passage.chunk.doc_id, passage.chunk.section), []).append((rank, passage))
        top = passages[0].score if passages and passages[0].score > 0 else 1.0
        scored: list[SectionScore] = []
        for key, members in groups.items():
            rank, first = members[0]
            section = self._describe(key, rank, first.chunk, query, vector, audience, asking)
            if section is None:
                continue
            dense = min((p.dense_rank for _, p in members if p.dense_rank), default=None)
            sparse = min((p.bm25_rank for _, p in members if p.bm25_rank), default=None)
            scored.append(replace(section, fused=max(p.score for _, p in members) / top,
                                  dense_prior=1.0 / dense if dense else 0.0,
                                  bm25_prior=1.0 / sparse if sparse else 0.0))
        return scored

    def _query(self, question: str, context: str = "") -> dict[str, float]:
        """The question's words by idf ("how long" is the frame, not the topic), and a
        follow-up's earlier words at half weight."""
        query = {t: self.weight(t) for t in terms(_FRAME.sub(" ", question))}
        for t in terms(_FRAME.sub(" ", context)):
            query.setdefault(t, 0.5 * self.weight(t))
        return query

    def _describe(self, key, rank: int, chunk: Chunk, query: dict[str, float], vector: np.ndarray,
               audience: str, asking: np.ndarray | None = None) -> SectionScore | None:
        retriever, units = self.retriever, self.retriever.units
        total = sum(query.values()) or 1.0
        found: dict[int, SectionUnit] = {}
        unit_vectors: list[np.ndarray] = []
        heading = asked = 0.0
        first_row = None
        section_terms: set[str] = set()
        for row in retriever.section_rows(chunk):
            part = retriever.chunks[row]
            urow = units.row_of(part.id)
            if urow is None:
                continue
            first_row = urow if first_row is None else first_row
            heading = float(units.heading_vectors[urow] @ vector)
            phrases = units.phrase_rows_of(urow)
            asked = max(asked, heading, float(np.max(units.phrase_vectors[phrases] @ vector)) if len(phrases) else heading)
            rows = units.rows_of(urow)
            sims = units.vectors[rows] @ vector if len(rows) else []
            items = _item_spans(part.text)
            for u, sim in zip(rows, sims):
                offset = part.start + int(units.starts[u])
                if offset in found:
                    continue
                raw = part.text[int(units.starts[u]): int(units.ends[u])]
                body = _LIST_MARKER.sub("", raw).strip()
                if len(body) < 3 or body.startswith("#") or _is_boilerplate(body) or _META.match(body):
                    continue
                if audience == "patient" and part.audience == "clinician" and _ABOUT_PATIENTS.search(body):
                    continue
                own = set(terms(body))
                section_terms |= own
                overlap = sum(w for t, w in query.items() if t in own) / total
                start = int(units.starts[u])
                item = next((s for s, e in items if s <= start < e), -1)
                found[offset] = SectionUnit(row, offset, body, bool(_LIST_MARKER.match(raw)), float(sim), overlap,
                                            item=part.start + item if item >= 0 else -1)
                unit_vectors.append(units.vectors[u])
        if not found:
            return None
        ordered = tuple(found[o] for o in sorted(found))
        sims = sorted((u.similarity for u in ordered), reverse=True)
        mean = np.mean(np.vstack(unit_vectors).astype(np.float32), axis=0)
        centroid = float(mean @ vector / (np.linalg.norm(mean) or 1.0))
        head_terms = set() if _SIGNPOST.match(_last_heading(chunk.section)) else set(terms(chunk.section))
        coverage = sum(w for t, w in query.items() if t in section_terms | head_terms) / total
        heading_overlap = sum(w for t, w in query.items() if t in head_terms) / total
        return SectionScore(key, rank, ordered, heading, sims[0], sum(sims[:2]) / min(2, len(sims)),
                            coverage, heading_overlap, chunk.audience in ("all", audience), centroid=centroid,
                            asked=asked, asking=0.0 if asking is None or first_row is None else units.asking.of_row(asking, first_row))

    def compose(self, section: SectionScore, question: str, said: tuple[str, ...] = ()) -> Composition:
        """The section's sentences for the question, in document order, lists kept whole.
        `said`: the sentences already quoted in this reply (another question of the same message,
        the section this one continues); a section that mostly repeats them is quoted only for what
        it adds (`_repeats`), and not at all when it adds nothing (a composition with no sentences)."""
        units = list(section.units)
        keep = self._trim(units, question) if len(units) > self.max_units else set(range(len(units)))
        keep -= _repeats(units, keep, said)
        if not keep:
            return Composition("", (), ())
        chunk_rows: list[int] = []
        lines: list[str] = []
        sentences: list[tuple[str, int]] = []
        last: SectionUnit | None = None
        for i in sorted(keep):
            unit = units[i]
            if unit.row not in chunk_rows:
                chunk_rows.append(unit.row)
            line = " ".join(unit.text.split())
            sentences.append((line, 1))
            if unit.continues_item and last is not None and last.item == unit.item:
                lines[-1] += f" {line} [1]"  # the item's next sentence, on its line
            else:
                lines.append(("- " if unit.in_list else "") + f"{line} [1]")
            last = unit
        citation = self._citation(chunk_rows)
        return Composition(_join(lines), (citation,), tuple(sentences))

    def continuation(self, section: SectionScore, ranked: list, *, question: str = "", vector: np.ndarray | None = None,
                     audience: str = "patient") -> SectionScore | None:
        """What a short opening goes on to say: one of its own subsections, or None.

        An opening (a document's lead under its title, or a heading with subheadings) of a few
        sentences introduces its subsections rather than answering ("Many people want to know
        when they can drive again."); quoted alone, it answers nothing. What follows it comes
        from the same document and under the same heading, never from another:
        - when some of its subsections were retrieved (`ranked`: the candidates) and the answer
          model still put the opening above them, the question is about what the document
          covers as a whole, and the subsection the opening introduces, its first, follows.
          (Following the best-ranked retrieved one instead gave "what is lymphodepletion?" the
          leaflet's vaccines section, retrieved for the word alone.)
        - when none was retrieved, the one whose sentences and phrasings are closest in meaning
          to the question (`vector`) follows it, if its closest sentence is closer than the
          opening's own: an opening that answers by itself ("Some people call it day 0") gets
          nothing unrelated added.
        None when the section is not a short opening or nothing follows."""
        if len(section.units) > OPENING_MAX_UNITS:
            return None
        doc_id, name = section.key
        title = self.retriever.chunks[section.units[0].row].title
        under = "" if name == title else name + " > "

        def follows(key: tuple[str, str]) -> bool:
            return (key[0] == doc_id and key != section.key and key[1].startswith(under)
                    and not _SIGNPOST.match(_last_heading(key[1])))

        if vector is None:
            return None  # no meaning to go by: the opening stands alone
        subsections = self._subsections(follows, doc_id, question, vector, audience)
        if any(follows(r.section.key) for r in ranked):
            return next(subsections, None)  # only the first is described
        closest = max(subsections, key=lambda s: s.best + s.asked, default=None)
        return closest if closest is not None and closest.best > section.best else None

    def _subsections(self, follows, doc_id: str, question: str, vector: np.ndarray, audience: str):
        """A document's sections that `follows` accepts, in document order, each described for the
        question from the vectors stored at ingest (its closest sentence, its closest phrasing)."""
        query = self._query(question)
        vector = np.asarray(vector, dtype=np.float32)
        seen: set[tuple[str, str]] = set()
        for chunk in self.retriever.chunks:
            key = (chunk.doc_id, chunk.section)
            if chunk.doc_id != doc_id or key in seen or not follows(key) or is_reference_list(chunk):
                continue
            seen.add(key)
            described = self._describe(key, len(self.retriever.chunks), chunk, query, vector, audience)
            if described is not None:
                yield described

    def _trim(self, units: list[SectionUnit], question: str) -> set[int]:
        """The units that bear on the question; a list's lead-in with its items, whole."""
        relevance = [u.similarity + 0.5 * u.overlap + (_answer_type_bonus(question, u.text)) for u in units]
        best = max(relevance)
        order = sorted(range(len(units)), key=lambda i: -relevance[i])
        keep: set[int] = set()
        for i in order:
            if len(keep) >= self.max_units or relevance[i] < best - 0.12:
                break
            keep.add(i)
        # A list item pulls in its lead-in and its list; a lead-in pulls in its items. An item
        # is quoted whole: all its sentences, whichever of them bore on the question.
        for i in list(keep):
            start = i
            while start > 0 and units[start].in_list:
                start -= 1
            if units[i].in_list or units[i].leads_in:
                keep.add(start)
                j, items = start + 1, 0
                while j < len(units) and units[j].in_list and (items := items + units[j].is_item) <= 8:
                    keep.add(j)
                    j += 1
        return keep

    def _citation(self, rows: list[int]) -> Citation:
        chunks = sorted((self.retriever.chunks[r] for r in rows), key=lambda c: c.start)
        text, cursor = chunks[0].text, chunks[0].end
        for chunk in chunks[1:]:
            if chunk.start < cursor:
                text += chunk.text[cursor - chunk.start:] if chunk.end > cursor else ""
            else:
                text += "\n" + chunk.text
            cursor = max(cursor, chunk.end)
        first = chunks[0]
        return Citation(n=1, doc_id=first.doc_id, title=first.title, section=first.section, page=first.page,
                        version=first.version, excerpt=text, source=first.source)
