"""Draft golden cases from "not helpful" feedback, for a person to review.

Entry point: `write_drafts(db_path, out_path, ...)`. Each 'not_helpful' row of the
feedback table becomes one draft case `fb-<feedback id>` with the user's comment, the
answer they were given and `expected_status: draft-needs-review`. That status is not a
valid one, so a draft copied into eval/golden/ unreviewed fails validation with a clear
message instead of entering the gate. Drafts go to eval/drafts/ by default, outside the
golden set. A feedback row whose case id is already in the golden set is skipped.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import yaml

from assistant.errors import UsageError

DRAFTS = Path(__file__).parent / "drafts" / "from-feedback.yaml"
DRAFT_STATUS = "draft-needs-review"
COLUMNS = ("id", "created_at", "rating", "comment", "question", "answer", "citations", "audience", "status")


@dataclass(frozen=True)
class Feedback:
    id: int
    created_at: str
    rating: str
    comment: str
    question: str
    answer: str
    citations: list
    audience: str
    status: str


def read_not_helpful(db_path: Path) -> list[Feedback]:
    db_path = Path(db_path)
    if not db_path.is_file():
        raise UsageError(f"feedback database not found: {db_path} (pass --db PATH or set CART_FEEDBACK_DB)")
    try:
        with closing(sqlite3.connect(db_path, timeout=15)) as db:
            present = {row[1] for row in db.execute("PRAGMA table_info(feedback)")}
            if not present:
                raise UsageError(f"{db_path} has no feedback table: is it the web page's feedback database?")
            missing = [c for c in COLUMNS if c not in present]
            if missing:
                raise UsageError(f"{db_path}: the feedback table lacks column(s) {', '.join(missing)}")
            rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback WHERE rating = 'not_helpful' ORDER BY id").fetchall()
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"cannot read {db_path} as SQLite ({exc})") from None
    out = []
    for row in rows:
        values = dict(zip(COLUMNS, row))
        try:
            citations = json.loads(values["citations"] or "[]")
        except (TypeError, json.JSONDecodeError):
            citations = []
        out.append(Feedback(
            id=int(values["id"]), created_at=str(values["created_at"] or ""), rating=values["rating"],
            comment=(values["comment"] or "").strip(), question=(values["question"] or "").strip(),
            answer=(values["answer"] or "").strip(), citations=citations if isinstance(citations, list) else [],
            audience=values["audience"] if values["audience"] in ("patient", "clinician") else "patient",
            status=values["status"] or ""))
    return out


def _cited_docs(citations: list) -> list[str]:
    docs = []
    for c in citations:
        doc = c.get("doc_id") if isinstance(c, dict) else None
        if doc and doc not in docs:
            docs.append(doc)
    return docs


def _comment_block(text: str, prefix: str) -> list[str]:
    lines = text.splitlines() or [""]
    return [f"# {prefix}{lines[0]}"] + [f"#   {line}" for line in lines[1:]]


def render_drafts(feedback: list[Feedback], *, skip_ids: set[str] = frozenset()) -> tuple[str, int]:
    """YAML text of the drafts and how many there are."""
    header = [
        "# DRAFT golden cases from 'not helpful' feedback: review before use.",
        "# For each case: decide the right status (answered | refused | urgent), fill expected_sources",
        "# and expected_facts (see CONTENT_TEAM.md), replace the draft status, then move the case into",
        "# a file in eval/golden/. Delete drafts that are not worth a case.",
        "",
    ]
    body: list[str] = []
    count = 0
    for item in feedback:
        case_id = f"fb-{item.id}"
        if case_id in skip_ids or not item.question:
            continue
        count += 1
        body += [f"# feedback #{item.id}, {item.created_at}: rated not helpful"]
        body += _comment_block(f"{item.status}: {item.answer}", "the assistant replied: ")
        cited = _cited_docs(item.citations)
        if cited:
            body.append(f"# it cited: {', '.join(cited)}")
        case = {
            "id": case_id,
            "audience": item.audience,
            "question": item.question,
            "expected_status": DRAFT_STATUS,
            "expected_sources": [],
            "expected_facts": [],
            "tags": ["from-feedback"],
            "note": f"user comment: {item.comment}" if item.comment else "user left no comment",
        }
        body.append(yaml.safe_dump([case], sort_keys=False, allow_unicode=True, width=100).rstrip())
        body.append("")
    if not count:
        body.append("[]  # no 'not helpful' feedback to review")
    return "\n".join(header + body) + "\n", count


def write_drafts(db_path: Path, out_path: Path = DRAFTS, *, golden_ids: set[str] = frozenset()) -> int:
    text, count = render_drafts(read_not_helpful(db_path), skip_ids=set(golden_ids))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(text, encoding="utf-8")
    return count
