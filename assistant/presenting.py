"""Presenting: turn records into what the web page shows. Pure functions, no gradio.

- `chat_reply(answer, audience)`: the Markdown of one assistant message (urgent banner,
  refusal note, the answer with its [n] markers, the numbered sources with links).
- `sources_panel(citations, question)`: the HTML of the sources panel (excerpts).
- `error_reply(exc)`: what the page says when the assistant cannot answer.
- `resolve_source(corpus_dir, requested)`: the file a /source/ link may open, or None.
- `document_page(document)`: a whole approved document as an HTML page.

Everything taken from a user, a document or a model is escaped here: the chat renders
Markdown and the sources panel is raw HTML, so nothing may arrive there unescaped.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path, PurePosixPath
from typing import Iterable, Sequence
from urllib.parse import quote

from .records import Answer, Citation, Document, DocumentMeta, Turn

# The invented centre's numbers (CORPUS_FORMAT.md, corpus/all-service-contacts.md).
LINE_24H = "01632 960 123"
DAY_UNIT = "01632 960 456"
REFERRALS_PHONE = "01632 960 789"
REFERRALS_EMAIL = "cart-referrals@example.org"

SOURCE_ROUTE = "source"  # documents are served at /source/<corpus folder>/<file>
DOCUMENT_SUFFIXES = (".md", ".markdown", ".txt", ".pdf")

AUDIENCES = {"patient": "Patient or carer", "clinician": "Clinician"}

EXAMPLES = {
    "patient": (
        "When can I drive after CAR-T?",
        "What is cytokine release syndrome?",
        "Which temperature should make me call the team?",
        "Can I have vaccines after CAR-T?",
    ),
    "clinician": (
        "How is CRS graded?",
        "How do I refer a patient for CAR-T?",
        "What work-up is needed before CAR-T?",
        "Is tocilizumab used for ICANS alone?",
    ),
}


def _tel(number: str) -> str:
    return f'<a href="tel:{number.replace(" ", "")}">{number}</a>'


def urgent_banner(audience: str = "patient") -> str:
    """High-contrast banner that opens an urgent reply (styled by .urgent-banner in the page CSS).
    A clinician is told to contact the CAR-T team on the same line."""
    call = ("Contact the CAR-T team on the 24-hour line now" if audience == "clinician"
            else "Call the 24-hour CAR-T line now")
    return (
        '<div class="urgent-banner" role="alert">'
        f"<strong>{call}: {_tel(LINE_24H)}.</strong> "
        "Call <strong>999</strong> for a fit, a collapse, or someone who cannot be woken."
        "</div>"
    )


def where_to_ask(audience: str, *, plain: bool = False) -> str:
    """Who to ask and how, for the page (numbers as tel: links) or, `plain`, as text."""
    tel = (lambda number: number) if plain else _tel
    if audience == "clinician":
        return (
            f"Ask the referral coordinator on {tel(REFERRALS_PHONE)} (Monday to Friday, 9am to 5pm) "
            f"or email {REFERRALS_EMAIL}. For an individual patient's treatment, speak to the "
            "patient's CAR-T consultant."
        )
    return (
        f"Ask your CAR-T team: call the day unit on {tel(DAY_UNIT)} (Monday to Friday, 9am to 5pm). "
        f"If you are worried about symptoms, call the 24-hour CAR-T line on {tel(LINE_24H)}."
    )


REFUSAL_TITLE = "Not covered by the approved information"


def refusal_title() -> str:
    return f'<p class="refusal-title" role="note"><strong>{REFUSAL_TITLE}</strong></p>'


def refusal_note(audience: str) -> str:
    return f'<div class="refusal-note" role="note"><strong>Where to ask:</strong> {where_to_ask(audience)}</div>'


UNSURE_TITLE = "This may not answer exactly what you asked."
UNSURE_BODY = "It is the closest approved information I found: check the source below."


def unsure_note(audience: str) -> str:
    """Shown above an answer the model gives less than an even chance (`Answer.sure`): the
    reader is told it is the closest approved section, to check the source, and where to ask."""
    return (f'<div class="unsure-note" role="note"><strong>{UNSURE_TITLE}</strong> {UNSURE_BODY} '
            f'{where_to_ask(audience)}</div>')


def unsure_text(audience: str) -> str:
    """The same note as plain text, for the command line."""
    return f"{UNSURE_TITLE} {UNSURE_BODY} {where_to_ask(audience, plain=True)}"


# -- escaping ----------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|~])")
_MD_LINE_START = re.compile(r"^(\s*)(?:([-+=])|(\d+)\.(?=\s|$))", re.M)  # lists, headings, rules


def escape_user_text(text: str) -> str:
    """A user's message shown literally: no HTML, no Markdown (no links, no remote images)."""
    escaped = _MD_SPECIAL.sub(r"\\\1", html.escape(text.strip(), quote=False))
    return _MD_LINE_START.sub(
        lambda m: m.group(1) + ("\\" + m.group(2) if m.group(2) else m.group(3) + "\\."), escaped)


def escape_answer_text(text: str) -> str:
    """Answer text keeps its Markdown emphasis and lists, but no HTML and no images."""
    escaped = html.escape(text.strip(), quote=False)
    return escaped.replace("![", "!\\[")


def _md_link_text(text: str) -> str:
    return re.sub(r"([\\\[\]*_`])", r"\\\1", html.escape(text, quote=False))


# -- links to source documents ------------------------------------------------------------
def heading_anchor(section: str) -> str:
    """The id python-markdown's toc extension gives the section's last heading."""
    from markdown.extensions.toc import slugify

    last = section.split(" > ")[-1]
    plain = re.sub(r"[*_`]", "", last)
    return slugify(plain, "-")


def source_url(citation: Citation) -> str:
    """Relative link that opens the whole document at the cited place."""
    path = quote(PurePosixPath(citation.source).as_posix())
    url = f"{SOURCE_ROUTE}/{path}"
    if citation.source.lower().endswith(".pdf"):
        return f"{url}#page={citation.page}" if citation.page else url
    if citation.section and citation.section != citation.title:
        return f"{url}#{heading_anchor(citation.section)}"
    return url


def citation_fields(citation: Citation) -> list[tuple[str, str]]:
    """Where a citation points, as (label, value): section (unless it repeats the title),
    page (PDFs), version. The chat's source line and the sources panel both show these."""
    fields = []
    if citation.section and citation.section != citation.title:
        fields.append(("Section", citation.section))
    if citation.page:
        fields.append(("Page", str(citation.page)))
    fields.append(("Version", citation.version))
    return fields


def _place(citation: Citation) -> str:
    return ", ".join(f"{label.lower()} “{value}”" if label == "Section" else f"{label.lower()} {value}"
                     for label, value in citation_fields(citation))


# -- the chat reply -------------------------------------------------------------------------
def citations_markdown(citations: Sequence[Citation]) -> str:
    if not citations:
        return ""
    lines = ["**Sources**", ""]
    for c in citations:
        lines.append(
            f"- **[{c.n}]** [{_md_link_text(c.title)}]({source_url(c)}) "
            f"({_md_link_text(_place(c))})"
        )
    return "\n".join(lines)


def chat_reply(answer: Answer, audience: str) -> str:
    """Markdown for one assistant message."""
    parts = []
    if answer.status == "urgent":
        parts.append(urgent_banner(audience))
    elif answer.status == "refused":
        parts.append(refusal_title())
    elif answer.status == "answered" and not answer.sure:
        parts.append(unsure_note(audience))
    if answer.answer.strip():
        parts.append(escape_answer_text(answer.answer))
    if answer.status == "refused":
        parts.append(refusal_note(audience))
    if answer.citations:
        parts.append(citations_markdown(answer.citations))
    return "\n\n".join(parts)


def error_reply(message: str) -> str:
    """The assistant could not be built or could not answer: say why, how to fix, whom to call."""
    return (
        '<div class="error-note" role="alert">'
        "<strong>The assistant cannot answer right now.</strong> "
        f"{html.escape(message)} It will try again when you ask your next question."
        f"<br>If you need advice now, call the 24-hour CAR-T line on {_tel(LINE_24H)}; "
        "in an emergency call 999.</div>"
    )


def status_banner(message: str | None) -> str:
    """Top-of-page notice while the assistant is unavailable; empty when all is well."""
    return error_reply(message) if message else ""


UNEXPECTED = (
    "Something went wrong on our side (the details are in the server log)."
)


# -- the sources panel ----------------------------------------------------------------------
SOURCES_EMPTY = (
    '<section class="sources" aria-labelledby="sources-heading">'
    '<h2 id="sources-heading">Sources</h2>'
    '<p class="sources-hint">After each answer, the passages it was taken from appear here. '
    "Each number in the answer, such as [1], matches a source below.</p></section>"
)


def sources_panel(citations: Sequence[Citation], question: str = "") -> str:
    if not citations:
        if question:
            return (
                '<section class="sources" aria-labelledby="sources-heading">'
                '<h2 id="sources-heading">Sources</h2>'
                '<p class="sources-hint">This answer has no sources from the approved documents.</p>'
                "</section>"
            )
        return SOURCES_EMPTY
    items = []
    for c in citations:
        url = html.escape(source_url(c))
        meta = [f"<dt>{label}</dt><dd>{html.escape(value)}</dd>" for label, value in citation_fields(c)]
        items.append(
            f'<li value="{int(c.n)}" class="source" id="source-{int(c.n)}">'
            f'<p class="source-title"><span class="source-n">[{int(c.n)}]</span> '
            f"{html.escape(c.title)}</p>"
            f'<dl class="source-meta">{"".join(meta)}</dl>'
            # A long excerpt scrolls in its box: focusable, so a keyboard can scroll it too (WCAG 2.1.1).
            f'<blockquote class="source-excerpt" tabindex="0" aria-label="Quoted from source {int(c.n)}">'
            f'{render_markdown(c.excerpt.strip(), links=False)}</blockquote>'
            f'<a class="source-open" href="{url}" target="_blank" rel="noopener">'
            f"Open the whole document<span class=\"visually-hidden\">: {html.escape(c.title)}"
            " (opens in a new tab)</span></a></li>"
        )
    asked = (f'<p class="sources-for">For: “{html.escape(question.strip())}”</p>' if question else "")
    return (
        '<section class="sources" aria-labelledby="sources-heading">'
        f'<h2 id="sources-heading">Sources</h2>{asked}'
        f'<ol class="source-list">{"".join(items)}</ol></section>'
    )


# -- conversation state ------------------------------------------------------------------
def history_turns(exchanges: Iterable[dict]) -> list[Turn]:
    """Earlier questions and raw answers (not the formatted chat) for the chain."""
    turns: list[Turn] = []
    for ex in exchanges:
        if ex.get("status") not in ("answered", "refused", "urgent", "clarify"):
            continue  # an error reply, or a greeting, thanks or goodbye, is not part of the conversation
        turns.append(Turn("user", ex["question"]))
        turns.append(Turn("assistant", ex["answer"]))
    return turns


# -- serving documents ---------------------------------------------------------------------
def resolve_source(corpus_dir: Path, requested: str) -> Path | None:
    """The document a /source/ link may open: a file inside corpus_dir, or None.

    `requested` is a citation's source ("corpus/patient-driving.md"): its first component is
    the corpus folder's name. Anything else (absolute paths, '..', hidden or underscore files
    that loading skips, symlinks leading out, other file types) is refused.
    """
    if not requested or "\x00" in requested or "\\" in requested:
        return None
    parts = PurePosixPath(requested).parts
    root = Path(corpus_dir).resolve()
    if len(parts) < 2 or parts[0] != root.name:
        return None
    if any(p in ("", ".", "..") or p.startswith((".", "_")) for p in parts[1:]):
        return None
    candidate = root.joinpath(*parts[1:]).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    if candidate.suffix.lower() not in DOCUMENT_SUFFIXES:
        return None
    return candidate


def servable(meta: DocumentMeta, today: dt.date | None = None) -> bool:
    """The same rule as indexing: only approved documents within their review date."""
    return meta.status == "approved" and meta.review_due >= (today or dt.date.today())


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n---[ \t]*(?:\n|\Z)", re.S)


_LINK_PATTERNS = ("reference", "link", "image_link", "image_reference", "short_reference",
                  "short_image_ref", "autolink", "automail")


def render_markdown(text: str, *, plain: bool = False, links: bool = True) -> str:
    """Markdown to HTML with heading ids; raw HTML in the source is shown as text.

    links=False also drops links and images, for excerpts shown inside the page itself.
    """
    import markdown

    md = markdown.Markdown(extensions=["toc", "tables", "sane_lists"] + (["nl2br"] if plain else []))
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    if not links:
        for name in _LINK_PATTERNS:
            if name in md.inlinePatterns:
                md.inlinePatterns.deregister(name)
    return md.convert(text)


DOCUMENT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)

_DOCUMENT_CSS = """
:root { color-scheme: light dark; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       line-height: 1.6; margin: 0; background: #f4f6f8; color: #1b2631; font-size: 1.05rem; }
main { max-width: 46rem; margin: 0 auto; padding: 1.25rem 1rem 3rem; background: #fff; }
header.doc-header { border-bottom: 4px solid #005eb8; margin-bottom: 1.25rem; padding-bottom: .5rem; }
.doc-kicker { color: #425563; font-size: .95rem; margin: 0; }
h1 { font-size: 1.7rem; line-height: 1.25; margin: .25rem 0 .5rem; }
h2 { font-size: 1.35rem; margin-top: 2rem; } h3 { font-size: 1.15rem; }
h2:target, h3:target { background: #fff2b3; outline: 3px solid #ffcc00; }
dl.doc-meta { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: 0;
              font-size: .95rem; color: #2b3a44; }
dl.doc-meta dt { font-weight: 600; } dl.doc-meta dd { margin: 0; }
a { color: #004b93; } a:focus { outline: 3px solid #ffcc00; background: #ffcc00; color: #000; }
table { border-collapse: collapse; } td, th { border: 1px solid #aab4bd; padding: .3rem .5rem; }
.doc-footer { margin-top: 2.5rem; font-size: .9rem; color: #425563; border-top: 1px solid #d8dde0; padding-top: .75rem; }
@media (prefers-color-scheme: dark) {
  body { background: #101418; color: #e8edf1; } main { background: #1b2128; }
  .doc-kicker, .doc-footer, dl.doc-meta { color: #c5ced6; } a { color: #8cc4ff; }
  h2:target, h3:target { background: #4a3d00; }
}
"""


def document_page(document: Document) -> str:
    """A whole approved document as a standalone HTML page (no scripts, no remote assets)."""
    meta = document.meta
    body_text = _FRONT_MATTER.sub("", document.text, count=1)
    body = render_markdown(body_text, plain=document.format == "text")
    body = re.sub(r"\A\s*<h1[^>]*>.*?</h1>", "", body, count=1, flags=re.S)  # the title goes in the header
    rows = [
        ("Version", meta.version),
        ("Approved by", meta.approved_by),
        ("Approved on", meta.approved_on.isoformat()),
        ("Review due", meta.review_due.isoformat()),
        ("Owner", meta.owner),
        ("Written for", {"patient": "patients and carers", "clinician": "clinicians"}.get(meta.audience, "everyone")),
    ]
    dl = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in rows)
    title = html.escape(meta.title)
    return (
        "<!doctype html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title} - Riverside CAR-T service</title><style>{_DOCUMENT_CSS}</style></head>"
        "<body><main>"
        '<header class="doc-header"><p class="doc-kicker">Riverside Cellular Therapy Centre: approved document</p>'
        f'<h1>{title}</h1><dl class="doc-meta" aria-label="Document details">{dl}</dl></header>'
        f'<article>{body}</article>'
        '<footer class="doc-footer">This is the approved version the assistant answers from. '
        f"If you feel unwell after CAR-T therapy, call the 24-hour CAR-T line on {LINE_24H}; "
        "in an emergency call 999.</footer>"
        "</main></body></html>"
    )


def not_found_page(message: str) -> str:
    return (
        "<!doctype html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Document not available</title><style>{_DOCUMENT_CSS}</style></head>"
        f"<body><main><h1>Document not available</h1><p>{html.escape(message)}</p></main></body></html>"
    )
