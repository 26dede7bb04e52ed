"""Stage 2, chunking: structure-aware passages sized for the embedding model.

Entry point: `chunk_document(doc, max_tokens=..., overlap_tokens=..., count_tokens=...)`.
Blocks (Markdown sections, PDF page sections) are split into sentences and list items,
then packed into chunks of at most `max_tokens` word pieces; consecutive chunks of a block
share up to `overlap_tokens` of whole sentences. A chunk's text is an exact slice of the
document text (`doc.text[start:end]`), so every excerpt can be found in its source.
"""

from __future__ import annotations

import hashlib
import re
from typing import Callable, Iterable

from .records import Chunk, Document

TokenCounter = Callable[[str], int]

LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)]|\|)\s+")
_NUMBERED = re.compile(r"^\s*(\d+)[.)]\s+")
# A paragraph line that stops mid-sentence (no closing punctuation) is continued by the next
# one, even when that begins like a numbered item: PDF text wraps where the page is full, so a
# phone number "(01632 960" can end one line and "789) can tell you ..." begin the next. Inside
# a list item only a number no list reaches (three digits or more) is read that way, since one
# item often ends without a full stop before the next begins.
_UNFINISHED = re.compile(r"[^.:;!?)\]\"'*|]\s*$")
_ABBREVIATIONS = ("e.g.", "i.e.", "Dr.", "Mr.", "Mrs.", "Ms.", "etc.", "approx.", "vs.", "No.", "St.")
_BOUNDARY = re.compile(r"[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def words_counter(text: str) -> int:
    """A model-free token count for tests and `--check`: about one word piece per word."""
    return len(text.split())


def split_sentences(text: str, base: int = 0, *, whole_items: bool = False) -> list[tuple[int, int]]:
    """Sentence and list-item spans (start, end) in `text`, shifted by `base`.

    List items and table rows stand alone (with their wrapped continuation lines); other
    lines join into paragraphs that split after ., ! or ? followed by a capital or a digit.
    An item of several sentences is split as a paragraph is, unless `whole_items`.
    """
    spans: list[tuple[int, int]] = []
    paragraph: tuple[int, int] | None = None

    def close_paragraph():
        nonlocal paragraph
        if paragraph:
            spans.extend(_sentences_in(text, *paragraph))
            paragraph = None

    item: tuple[int, int] | None = None  # a list item still open to wrapped lines

    def close_item():
        nonlocal item
        if item:
            spans.extend(_trimmed(text, *item) if whole_items else _sentences_in(text, *item))
            item = None

    position = 0
    previous = ""
    for line in text.splitlines(keepends=True):
        start, end = position, position + len(line.rstrip("\n"))
        position += len(line)
        stripped = line.strip()
        numbered = _NUMBERED.match(line)
        wraps = bool(numbered and _UNFINISHED.search(previous)) and (
            paragraph is not None or (item is not None and len(numbered.group(1)) >= 3))
        previous = stripped
        if not stripped or set(stripped) <= set("-|: "):
            close_item()
            close_paragraph()
        elif (LIST_ITEM.match(line) and not wraps) or stripped.startswith("#"):
            close_item()
            close_paragraph()
            item = (start, end)
        elif item:
            item = (item[0], end)  # a wrapped line continues its item (PDF text, lazy Markdown)
        else:
            paragraph = (paragraph[0], end) if paragraph else (start, end)
    close_item()
    close_paragraph()
    return [(s + base, e + base) for s, e in spans]


def _sentences_in(text: str, start: int, end: int) -> Iterable[tuple[int, int]]:
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        before = text[cursor: match.start() + 1]
        if before.endswith(_ABBREVIATIONS) or len(before.strip()) < 3:
            continue
        yield from _trimmed(text, cursor, match.start() + len(match.group(0).rstrip()))
        cursor = match.end()
    yield from _trimmed(text, cursor, end)


def _trimmed(text: str, start: int, end: int) -> Iterable[tuple[int, int]]:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        offset = start + piece.index(stripped)
        yield offset, offset + len(stripped)


def chunk_document(doc: Document, *, max_tokens: int, overlap_tokens: int,
                   count_tokens: TokenCounter = words_counter) -> list[Chunk]:
    chunks: list[Chunk] = []
    for block in doc.blocks:
        units = []
        for start, end in split_sentences(block.text, block.start):
            units.extend(_fit(doc.text, start, end, max_tokens, count_tokens))
        for start, end in _pack(units, max_tokens, overlap_tokens, gap=_gap_counter(doc.text, count_tokens)):
            chunks.append(_make_chunk(doc, block.section, block.page, start, end))
    return _unique_ids(chunks)


def _fit(text: str, start: int, end: int, max_tokens: int, count: TokenCounter):
    """A unit longer than a chunk is cut at word boundaries, filling each piece word by word
    while it fits (a long drug name is several word pieces); yields (start, end, tokens)."""
    tokens = count(text[start:end])
    if tokens <= max_tokens:
        yield start, end, tokens
        return
    words = [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]
    overhead = count("")  # special tokens a tokenizer adds to any text
    costs = [count(text[s:e]) - overhead for s, e in words]
    i = 0
    while i < len(words):
        j, total = i, overhead
        while j < len(words) and (j == i or total + costs[j] <= max_tokens):
            total += costs[j]
            j += 1
        while j > i + 1 and count(text[words[i][0]:words[j - 1][1]]) > max_tokens:
            j -= 1  # pieces of joined words can outnumber the sum of their parts
        s, e = words[i][0], words[j - 1][1]
        yield s, e, count(text[s:e])
        i = j


def _gap_counter(text: str, count: TokenCounter) -> Callable[[int, int], int]:
    """Tokens of the text between two units that a chunk spanning both also holds: a table's
    separator row ("|---|---|") or a rule between paragraphs is in the chunk's slice though it
    is no sentence. Blank gaps cost nothing."""
    overhead = count("")

    def gap(start: int, end: int) -> int:
        between = text[start:end]
        return count(between) - overhead if between.strip() else 0
    return gap


def _pack(units, max_tokens: int, overlap_tokens: int,
          gap: Callable[[int, int], int] = lambda start, end: 0) -> list[tuple[int, int]]:
    """Consecutive units packed into spans of at most `max_tokens`, counting what lies between
    them (`gap`); each span after the first repeats up to `overlap_tokens` of the one before."""
    def cost(span: list[tuple[int, int, int]]) -> int:
        return sum(u[2] for u in span) + sum(gap(a[1], b[0]) for a, b in zip(span, span[1:]))

    spans: list[tuple[int, int]] = []
    current: list[tuple[int, int, int]] = []
    for unit in units:
        if current and cost(current + [unit]) > max_tokens:
            spans.append((current[0][0], current[-1][1]))
            tail: list[tuple[int, int, int]] = []
            for previous in reversed(current[1:]):
                if cost([previous] + tail) > overlap_tokens:
                    break
                tail.insert(0, previous)
            if cost(tail + [unit]) > max_tokens:
                tail = []
            current = tail
        current.append(unit)
    if current:
        spans.append((current[0][0], current[-1][1]))
    return spans


def _make_chunk(doc: Document, section: str, page: int | None, start: int, end: int) -> Chunk:
    text = doc.text[start:end]
    questions = "\n".join(doc.meta.questions_for(section))
    audience = doc.meta.audience_for(section)
    narrowed = f"\0{audience}" if audience != doc.meta.audience else ""  # a section for one audience of a document for all
    digest = hashlib.sha256(f"{doc.meta.id}\0{section}\0{page}\0{text}\0{questions}{narrowed}".encode()).hexdigest()
    return Chunk(
        id=f"{doc.meta.id}:{digest[:16]}", doc_id=doc.meta.id, title=doc.meta.title,
        section=section, page=page, audience=audience, version=doc.meta.version,
        review_due=doc.meta.review_due.isoformat(), source=doc.source, start=start, end=end,
        text=text, doc_hash=doc.content_hash, questions=questions,
    )


def _unique_ids(chunks: list[Chunk]) -> list[Chunk]:
    """The same passage twice in one document still gets two ids (stable by order)."""
    seen: dict[str, int] = {}
    result = []
    for chunk in chunks:
        n = seen.get(chunk.id, 0)
        seen[chunk.id] = n + 1
        if n:
            chunk = Chunk(**{**chunk.__dict__, "id": f"{chunk.id}-{n}"})
        result.append(chunk)
    return result
