"""Typed records passed between the pipeline stages. The CLI and the web page only format them."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Literal

Audience = Literal["patient", "clinician", "all"]
Status = Literal["answered", "refused", "urgent", "clarify", "social"]  # clarify: asks which of two sections is meant;
# social: a greeting, thanks or goodbye answered in kind (chain.SOCIAL_REPLIES)


@dataclass(frozen=True)
class DocumentMeta:
    id: str
    title: str
    audience: Audience
    owner: str
    version: str
    approved_by: str
    approved_on: dt.date
    review_due: dt.date
    status: Literal["approved", "draft", "withdrawn"]
    # How readers ask what a section answers: {heading: (phrasing, ...)} (CORPUS_FORMAT.md).
    questions: dict = field(default_factory=dict, compare=False, hash=False)
    # Sections of a document for all that are for one audience only: {heading: audience}.
    section_audience: dict = field(default_factory=dict, compare=False, hash=False)

    def audience_for(self, section: str) -> Audience:
        """Who a section is for: the audience its heading (or a heading above it) is given in
        `section_audience`, else the document's."""
        if self.section_audience:
            parts = section.split(" > ")
            for depth in range(len(parts), 0, -1):
                for key in (" > ".join(parts[:depth]), parts[depth - 1]):
                    if key in self.section_audience:
                        return self.section_audience[key]
        return self.audience

    def questions_for(self, section: str) -> tuple[str, ...]:
        """The phrasings of a section, keyed by its whole path or its own heading."""
        if not self.questions:
            return ()
        own = section.rsplit(" > ", 1)[-1]
        return tuple(self.questions.get(section, ())) or tuple(self.questions.get(own, ()))


@dataclass(frozen=True)
class Block:
    """A structural unit of a document: a Markdown section or a PDF page section."""

    text: str
    section: str
    start: int  # offset of `text` in Document.text
    page: int | None = None


@dataclass(frozen=True)
class Document:
    meta: DocumentMeta
    source: str  # path relative to the corpus folder's parent, e.g. "corpus/patient-driving.md"
    format: Literal["markdown", "pdf", "text"]
    text: str  # what a reader sees; blocks and chunks hold offsets into it
    blocks: tuple[Block, ...]
    content_hash: str


@dataclass(frozen=True)
class Rejection:
    path: str
    reason: str


PHRASINGS_READ_WITH_TEXT = 5


@dataclass(frozen=True)
class Chunk:
    id: str
    doc_id: str
    title: str
    section: str
    page: int | None
    audience: Audience
    version: str
    review_due: str
    source: str
    start: int
    end: int
    text: str
    doc_hash: str
    questions: str = ""  # the section's phrasings, one per line (front matter `questions:`)

    @property
    def embedding_text(self) -> str:
        """Title, section and how readers ask what it answers give a passage its topic; the
        model (and BM25) see them with the text. Only the first `PHRASINGS_READ_WITH_TEXT`
        phrasings: the model reads 256 word pieces, and more would crowd out the passage's
        own words. Every phrasing is also embedded on its own (units.py), where the answer
        stage matches the question against each."""
        asked = "\n".join(self.questions.split("\n")[:PHRASINGS_READ_WITH_TEXT]) if self.questions else ""
        return f"{self.title} > {self.section}\n{asked}\n{self.text}" if asked else f"{self.title} > {self.section}\n{self.text}"

    def metadata(self) -> dict:
        meta = {k: v for k, v in asdict(self).items() if k not in ("id", "text")}
        meta["page"] = -1 if self.page is None else self.page  # Chroma metadata has no null
        return meta

    @classmethod
    def from_store(cls, chunk_id: str, text: str, meta: dict) -> "Chunk":
        values = {k: meta[k] for k in cls.__dataclass_fields__ if k not in ("id", "text", "questions")}
        values["questions"] = meta.get("questions", "")
        values["page"] = None if values["page"] == -1 else int(values["page"])
        return cls(id=chunk_id, text=text, **values)


@dataclass(frozen=True)
class DueSoon:
    """An indexed document whose review falls within the warning window: it still serves,
    and drops out of the answers on its review date unless it is reviewed."""

    doc_id: str
    path: str
    owner: str
    review_due: str  # YYYY-MM-DD
    days_left: int

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SharedQuestion:
    """A phrasing (front matter `questions:`) listed under sections of more than one document:
    it pulls a question that way towards each of them, and the ranker must tell them apart by
    their text alone. A warning only: keep it under the one section that answers it best."""

    phrasing: str  # as first written
    sections: tuple[tuple[str, str], ...]  # (doc_id, heading) for each place it is listed

    def to_json(self) -> dict:
        return {"phrasing": self.phrasing, "sections": [{"doc_id": d, "section": h} for d, h in self.sections]}


@dataclass(frozen=True)
class ValuePhrasing:
    """A phrasing (front matter `questions:`) that asks for a value of one kind (values.py: a
    price, a dose, a survival figure) that its section's text does not give: a question asked
    that way finds the section and is refused ("does not give doses"). A warning only: give the
    section the value, or leave the phrasing out."""

    phrasing: str
    doc_id: str
    section: str
    kind: str  # what the refusal says is not given: "doses"

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PointingBack:
    """A section whose first sentence opens by pointing back ("These signs may not appear...",
    "It gets your body ready..."): an answer quotes one section on its own, so its reader never
    sees what "these" or "it" was. A warning only: name the thing in the section's first sentence."""

    doc_id: str
    section: str
    opening: str  # the first sentence, as written

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    due_soon: list[DueSoon] = field(default_factory=list)
    shared_questions: list[SharedQuestion] = field(default_factory=list)
    value_phrasings: list[ValuePhrasing] = field(default_factory=list)
    pointing_back: list[PointingBack] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    remapped: int = 0  # unchanged chunks whose vectors a new adapter mapped again (adapter.py)
    seconds: float = 0.0
    checked_only: bool = False

    def to_json(self) -> dict:
        return {
            "documents": {
                "added": len(self.added),
                "updated": len(self.updated),
                "unchanged": len(self.unchanged),
                "removed": len(self.removed),
            },
            "rejected": [{"path": r.path, "reason": r.reason} for r in self.rejected],
            "due_soon": [d.to_json() for d in self.due_soon],
            "shared_questions": [q.to_json() for q in self.shared_questions],
            "value_phrasings": [q.to_json() for q in self.value_phrasings],
            "pointing_back": [q.to_json() for q in self.pointing_back],
            "chunks": self.chunks,
            "embedded": self.embedded,
            "remapped": self.remapped,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class Citation:
    n: int
    doc_id: str
    title: str
    section: str
    page: int | None
    version: str
    excerpt: str
    source: str  # e.g. "corpus/patient-driving.md"


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused score, in rank order."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None


@dataclass(frozen=True)
class Triage:
    """Triage of one message. `reason` says which net fired and on what, for a clinician
    reading the log: "rules: 'shivering' in 'im shivering'" or "meaning: close to ..."."""

    urgent: bool
    emergency: bool = False  # 999 first
    symptoms: tuple[str, ...] = ()
    reason: str = ""

    def to_json(self) -> dict:
        return {"urgent": self.urgent, "emergency": self.emergency, "symptoms": list(self.symptoms),
                "reason": self.reason}


@dataclass(frozen=True)
class Answer:
    status: Status
    answer: str
    citations: tuple[Citation, ...] = ()
    retrieved: tuple[str, ...] = ()  # doc ids in rank order, each once
    passages: tuple[Passage, ...] = ()
    latency_ms: float = 0.0
    backend: str = "grounded"
    verification: dict | None = None  # generative backend: kept/dropped sentences, fallback
    triage: Triage | None = None  # what triage decided about the message, and why
    decision: dict | None = None  # the sections weighed, the one chosen and its probability
    sure: bool = True  # an answer the model gives less than an even chance is shown with a note

    def to_json(self) -> dict:
        return {
            "status": self.status,
            "answer": self.answer,
            "citations": [asdict(c) for c in self.citations],
            "retrieved": list(self.retrieved),
            "passages": [{"doc_id": p.chunk.doc_id, "section": p.chunk.section, "page": p.chunk.page,
                          "score": round(p.score, 6)} for p in self.passages],
            "backend": self.backend,
            "verification": self.verification,
            "triage": self.triage.to_json() if self.triage else None,
            "decision": self.decision,
            "sure": self.sure,
            "latency_ms": round(self.latency_ms, 1),
        }
