"""Stage 1, loading: read the corpus folder into governed documents, or reasons for rejection.

Entry point: `load_corpus(folder, today=...)`. Every file gets exactly one outcome: a
`Document` (approved and within its review date) or a `Rejection` whose reason says
what is wrong and how to fix it. A bad file never stops the others.

Formats: Markdown with YAML front matter; plain text with a front matter block or a
sidecar `NAME.txt.yaml`; PDF with a sidecar `NAME.pdf.yaml` (text per page via pypdf,
sections from the PDF outline).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .chunking import LIST_ITEM
from .records import Block, Document, DocumentMeta, Rejection

FORMATS = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".pdf": "pdf"}
REQUIRED = ("id", "title", "audience", "owner", "version", "approved_by", "approved_on",
            "review_due", "status")
AUDIENCES = ("patient", "clinician", "all")
STATUSES = ("approved", "draft", "withdrawn")
SIDECAR = ".yaml"
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,80}$")


class _MetaLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so an impossible date gets our own message."""


_MetaLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class Rejected(Exception):
    """Raised inside loading with the reason a file cannot be indexed."""


@dataclass(frozen=True)
class LoadResult:
    documents: list[Document]
    rejections: list[Rejection]


def load_corpus(folder: Path, *, today: dt.date | None = None) -> LoadResult:
    """Load every document under `folder`; governance decides what may be indexed."""
    today = today or dt.date.today()
    folder = Path(folder)
    documents: list[Document] = []
    rejections: list[Rejection] = []
    seen_ids: dict[str, str] = {}
    for path in _candidate_files(folder):
        shown = _display_path(folder, path)
        if path.name.endswith(SIDECAR):
            main = path.with_name(path.name[: -len(SIDECAR)])
            if not main.exists():
                rejections.append(Rejection(shown, f"metadata file without a document: {main.name} is missing"))
            elif main.suffix.lower() not in (".pdf", ".txt"):
                rejections.append(Rejection(shown, f"sidecar metadata is only read for .pdf and .txt files, not {main.name}"))
            continue
        try:
            doc = load_document(path, source=shown)
            _check_governance(doc.meta, today)
            if doc.meta.id in seen_ids:
                raise Rejected(f"duplicate id '{doc.meta.id}': {seen_ids[doc.meta.id]} already uses it; give each document its own id")
        except Rejected as exc:
            rejections.append(Rejection(shown, str(exc)))
            continue
        seen_ids[doc.meta.id] = shown
        documents.append(doc)
    return LoadResult(documents, rejections)


def _candidate_files(folder: Path) -> list[Path]:
    files = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).parts
        if any(part.startswith((".", "_")) for part in relative) or not path.is_file():
            continue
        files.append(path)
    return files


def _display_path(folder: Path, path: Path) -> str:
    return f"{folder.name}/{path.relative_to(folder).as_posix()}"


def load_document(path: Path, *, source: str) -> Document:
    """Parse one file into a Document (governance not applied). Raises Rejected."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise Rejected(
            f"unsupported file type '{path.suffix or path.name}': use Markdown (.md), PDF (.pdf) or plain text (.txt)"
        )
    raw = path.read_bytes()
    if not raw.strip():
        raise Rejected("empty file")
    sidecar = path.with_name(path.name + SIDECAR)
    sidecar_raw = sidecar.read_bytes() if sidecar.exists() else b""
    content_hash = hashlib.sha256(raw + b"\0" + sidecar_raw).hexdigest()

    if kind == "pdf":
        if not sidecar_raw:
            raise Rejected(f"missing metadata: write {sidecar.name} beside the PDF with the required fields")
        meta = parse_meta(_yaml_mapping(_decode(sidecar_raw, sidecar.name), where=sidecar.name))
        text, blocks = _pdf_blocks(path, meta.title)
    else:
        text = _decode(raw, path.name)
        match = _FRONT_MATTER.match(text)
        if match:
            meta = parse_meta(_yaml_mapping(match.group(1), where="front matter"))
            body_start = match.end()
        elif sidecar_raw:
            meta = parse_meta(_yaml_mapping(_decode(sidecar_raw, sidecar.name), where=sidecar.name))
            body_start = 0
        else:
            raise Rejected(
                "missing metadata: start the file with a front matter block (--- ... ---)"
                + (f" or write {sidecar.name} beside it" if kind == "text" else "")
            )
        blocks = _markdown_blocks(text, body_start, meta.title)
    if not blocks:
        raise Rejected("no text after the metadata: the document is empty")
    _check_headings(meta, blocks)
    return Document(meta=meta, source=source, format=kind, text=text, blocks=tuple(blocks),
                    content_hash=content_hash)


def _decode(raw: bytes, name: str) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Rejected(
            f"text is not UTF-8 (byte 0x{raw[exc.start]:02x} at position {exc.start} of {name}): save the file as UTF-8"
        ) from None
    return text.replace("\r\n", "\n")


def _yaml_mapping(text: str, *, where: str) -> dict:
    try:
        data = yaml.load(text, Loader=_MetaLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise Rejected(f"invalid YAML in {where}{at}: {problem}") from None
    if not isinstance(data, dict):
        raise Rejected(f"invalid YAML in {where}: expected 'field: value' lines")
    return data


def _date(data: dict, name: str) -> dt.date:
    value = data[name]
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise Rejected(f"invalid date in {name}: '{value}' (use YYYY-MM-DD)") from None


def parse_meta(data: dict) -> DocumentMeta:
    missing = [name for name in REQUIRED if data.get(name) in (None, "")]
    if missing:
        label = "field" if len(missing) == 1 else "fields"
        raise Rejected(f"missing {label} {', '.join(missing)}")
    doc_id = str(data["id"]).strip()
    if not _ID.match(doc_id):
        raise Rejected(f"invalid id '{doc_id}': use lowercase letters, digits and '-'")
    audience = str(data["audience"]).strip().lower()
    if audience not in AUDIENCES:
        raise Rejected(f"invalid audience '{data['audience']}': use one of {', '.join(AUDIENCES)}")
    status = str(data["status"]).strip().lower()
    if status not in STATUSES:
        raise Rejected(f"invalid status '{data['status']}': use one of {', '.join(STATUSES)}")
    approved_on, review_due = _date(data, "approved_on"), _date(data, "review_due")
    questions = _questions(data.get("questions"))
    section_audience = _section_audience(data.get("section_audience"), audience)
    if review_due < approved_on:
        raise Rejected(f"review_due {review_due} is before approved_on {approved_on}")
    return DocumentMeta(
        id=doc_id, title=str(data["title"]).strip(), audience=audience,
        owner=str(data["owner"]).strip(), version=str(data["version"]).strip(),
        approved_by=str(data["approved_by"]).strip(), approved_on=approved_on,
        review_due=review_due, status=status, questions=questions, section_audience=section_audience,
    )


MAX_PHRASING_CHARS = 200


def _questions(value) -> dict[str, tuple[str, ...]]:
    """`questions:` maps a section heading to the ways readers ask what it answers."""
    if value is None:
        return {}
    example = "write `questions:` then, indented, `\"Heading\":` and a list of `- phrasing` lines"
    if not isinstance(value, dict):
        raise Rejected(f"questions must map section headings to lists of phrasings: {example}")
    out: dict[str, tuple[str, ...]] = {}
    for heading, phrasings in value.items():
        if not isinstance(heading, str) or not heading.strip():
            raise Rejected(f"questions: '{heading}' is not a section heading: {example}")
        if isinstance(phrasings, str):
            phrasings = [phrasings]
        if not isinstance(phrasings, list) or not phrasings:
            raise Rejected(f"questions: '{heading}' needs a list of phrasings (lines starting '- ')")
        cleaned = []
        for phrasing in phrasings:
            if not isinstance(phrasing, str) or not phrasing.strip():
                raise Rejected(f"questions: '{heading}' has an empty or non-text phrasing; write each as text")
            if len(phrasing) > MAX_PHRASING_CHARS:
                raise Rejected(f"questions: a phrasing under '{heading}' is {len(phrasing)} characters; "
                               f"keep each under {MAX_PHRASING_CHARS}")
            cleaned.append(" ".join(phrasing.split()))
        out[" ".join(heading.split())] = tuple(cleaned)
    return out


def _section_audience(value, audience: str) -> dict[str, str]:
    """`section_audience:` maps a heading of a document for all to the one audience it is for."""
    if value is None:
        return {}
    example = "write `section_audience:` then, indented, `\"Heading\": clinician` (or patient)"
    if not isinstance(value, dict) or not value:
        raise Rejected(f"section_audience must map section headings to an audience: {example}")
    if audience != "all":
        raise Rejected(f"section_audience narrows a document for all to one audience per section, but this document "
                       f"is for {audience} only: leave section_audience out, or set audience: all")
    out: dict[str, str] = {}
    for heading, who in value.items():
        if not isinstance(heading, str) or not heading.strip():
            raise Rejected(f"section_audience: '{heading}' is not a section heading: {example}")
        who = str(who).strip().lower()
        if who not in ("patient", "clinician"):
            raise Rejected(f"section_audience: '{heading}' is for '{who}': use patient or clinician")
        out[" ".join(heading.split())] = who
    return out


def _check_headings(meta: DocumentMeta, blocks) -> None:
    """Every `questions:` and `section_audience:` key names a section of the document (its path
    or its own heading)."""
    known = {meta.title}
    for block in blocks:
        parts = block.section.split(" > ")
        known.update(" > ".join(parts[:depth]) for depth in range(1, len(parts) + 1))
        known.update(parts)  # a heading with only subsections under it is still a heading
    for field_name, keys in (("questions", meta.questions), ("section_audience", meta.section_audience)):
        unknown = [h for h in keys if h not in known]
        if unknown:
            headings = sorted({b.section.rsplit(" > ", 1)[-1] for b in blocks} - {meta.title})
            raise Rejected(f"{field_name}: no section headed '{unknown[0]}' in the document; use a heading as written, "
                           f"e.g. '{headings[0] if headings else meta.title}'")


def _check_governance(meta: DocumentMeta, today: dt.date) -> None:
    if meta.status != "approved":
        raise Rejected(f"status is {meta.status}")
    if meta.review_due < today:
        raise Rejected(f"review_due {meta.review_due.isoformat()} has passed")


def _markdown_blocks(text: str, body_start: int, title: str) -> list[Block]:
    """Split at headings. A section path is the `##` heading, then `###` and deeper."""
    blocks: list[Block] = []
    path: dict[int, str] = {}
    section = title
    cursor = body_start
    for match in _HEADING.finditer(text, body_start):
        _append_block(blocks, text, cursor, match.start(), section, None)
        level, heading = len(match.group(1)), match.group(2).strip()
        if level == 1:
            path.clear()
            section = title
        else:
            path = {lvl: h for lvl, h in path.items() if lvl < level}
            path[level] = heading
            section = " > ".join(path[lvl] for lvl in sorted(path))
        cursor = match.end()
    _append_block(blocks, text, cursor, len(text), section, None)
    return blocks


def _append_block(blocks: list[Block], text: str, start: int, end: int, section: str,
                  page: int | None) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if stripped:
        offset = start + chunk.index(stripped)
        blocks.append(Block(text=stripped, section=section, start=offset, page=page))


def _pdf_blocks(path: Path, title: str) -> tuple[str, list[Block]]:
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Rejected("PDF is encrypted: save an unencrypted copy")
        pages = [_list_ends_marked((page.extract_text() or "").replace("\r\n", "\n"),
                                   page.extract_text(extraction_mode="layout")) for page in reader.pages]
        outline = _flatten_outline(reader)
    except Rejected:
        raise
    except Exception as exc:  # pypdf raises many types for damaged files
        if "decrypt" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise Rejected("PDF is encrypted: save an unencrypted copy") from None
        raise Rejected(f"cannot read PDF (damaged or not a PDF): {type(exc).__name__}: {str(exc)[:120]}") from None
    if not pages:
        raise Rejected("PDF has no pages")
    if not any(page.strip() for page in pages):
        raise Rejected("no text layer: needs OCR (the PDF holds only images)")

    text_parts, blocks, offset = [], [], 0
    path_in_force: dict[int, str] = {}
    running = _running_lines(pages)
    for number, page_text in enumerate(pages, start=1):
        cursor, page_end = _content_span(page_text, running)
        section = _section_of(path_in_force, title)
        for level, heading in [(lvl, h) for lvl, h, pg in outline if pg == number - 1]:
            pattern = r"\s+".join(re.escape(word) for word in heading.split())
            found = re.compile(pattern).search(page_text, cursor, page_end)
            if found is None:
                continue
            _append_block(blocks, page_text, cursor, found.start(), section, number)
            path_in_force = {lvl: h for lvl, h in path_in_force.items() if lvl < level}
            path_in_force[level] = heading
            section = _section_of(path_in_force, title)
            cursor = found.end()
        _append_block(blocks, page_text, cursor, page_end, section, number)
        # Shift this page's block offsets to offsets in the joined document text.
        blocks = [b if b.page != number else Block(b.text, b.section, b.start + offset, b.page)
                  for b in blocks]
        text_parts.append(page_text)
        offset += len(page_text) + 2
    return "\n\n".join(text_parts), blocks


def _list_ends_marked(plain: str, layout: str) -> str:
    """A page's text with a blank line where a list ends and a paragraph begins.

    pypdf's plain text drops indentation, so a paragraph set straight after a list reads as the
    last item's wrapped line: the leaving-hospital guide's checklist ended "...and know how to take
    them You still come back to the centre every day...", one quoted sentence. The same page
    laid out keeps the indents: a wrapped line of an item stands under the item's text, a new
    paragraph further left. Where the two texts' lines correspond one to one (words alike, blank
    lines aside), each line further left than the list item above it starts a paragraph; where
    they do not (a page laid out in columns or tables), the plain text is kept as it is."""
    lines = plain.split("\n")
    shown = [i for i, line in enumerate(lines) if line.strip()]
    laid = [line for line in layout.split("\n") if line.strip()]
    if [" ".join(lines[i].split()) for i in shown] != [" ".join(line.split()) for line in laid]:
        return plain
    starts, item_indent = set(), None
    for i, line in zip(shown, laid):
        indent = len(line) - len(line.lstrip())
        if LIST_ITEM.match(line):  # a list item as the chunker reads one
            item_indent = indent
        elif item_indent is not None:
            if indent < item_indent:
                starts.add(i)
                item_indent = None
    if not starts:
        return plain
    return "\n".join(("\n" + line) if i in starts else line for i, line in enumerate(lines))


def _normalise_line(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip())


def _running_lines(pages: list[str]) -> set[str]:
    """First or last lines repeated on most pages (digits ignored): headers and footers."""
    if len(pages) < 2:
        return set()
    counts: dict[str, int] = {}
    for page in pages:
        lines = [line for line in page.strip().splitlines() if line.strip()]
        for line in {lines[0], lines[-1]} if lines else ():
            key = _normalise_line(line)
            counts[key] = counts.get(key, 0) + 1
    return {key for key, n in counts.items() if n >= max(2, (len(pages) + 1) // 2)}


def _content_span(page: str, running: set[str]) -> tuple[int, int]:
    """Start and end of a page's text without its running header and footer."""
    start, end = 0, len(page)
    lines = page.splitlines(keepends=True)
    if lines and _normalise_line(lines[0]) in running:
        start = len(lines[0])
    if len(lines) > 1 and _normalise_line(lines[-1]) in running:
        end = len(page) - len(lines[-1])
    return start, max(start, end)


def _section_of(path: dict[int, str], title: str) -> str:
    deeper = [path[lvl] for lvl in sorted(path) if lvl > 0]
    return " > ".join(deeper) if deeper else title


def _flatten_outline(reader) -> list[tuple[int, str, int]]:
    """(level, title, page index) for every outline entry, in reading order."""
    entries: list[tuple[int, str, int]] = []

    def walk(items, level):
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
            else:
                try:
                    entries.append((level, str(item.title).strip(), reader.get_destination_page_number(item)))
                except Exception:  # an outline entry without a page: ignore it
                    continue

    walk(reader.outline, 0)
    return entries
