"""Answer feedback in SQLite: helpful / not helpful, an optional comment, and what was asked.

Entry points: `FeedbackStore(path).add(...)`, `.all()`, `export_csv(db_path, out_stream)`.
Every free-text field passes through `scrub()` before it is written, so identifiers a
person might type about themselves (NHS number, phone, email, date of birth) never reach
the file. Several processes may write at once: WAL journal, a busy timeout,
and one short connection per operation.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import sqlite3
import time
from contextlib import closing
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import IO, Any, Iterable

RATINGS = ("helpful", "not_helpful")
REMOVED = "[removed]"
BUSY_TIMEOUT_S = 15.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('helpful', 'not_helpful')),
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL DEFAULT '',
    answer TEXT NOT NULL DEFAULT '',
    citations TEXT NOT NULL DEFAULT '[]',
    audience TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT ''
)
"""
COLUMNS = ("id", "created_at", "rating", "comment", "question", "answer", "citations", "audience", "status")

# -- scrubbing ------------------------------------------------------------------------------
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
          r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_PATTERNS = [
    # email addresses
    re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    # UK phone numbers: +44 / 0044 and then 9-10 digits, or 0 and then 9-10 digits, in groups
    re.compile(r"(?<![\d+])(?:(?:\+|00)\s?44\s?(?:\(0\)\s?)?|\(?0)\d{2,4}\)?[\s-]?\d{3,4}[\s-]?\d{3,4}(?!\d)"),
    # NHS numbers: 10 digits, often 3-3-4 with spaces or dashes
    re.compile(r"(?<!\d)\d{3}[\s-]?\d{3}[\s-]?\d{4}(?!\d)"),
    # numeric dates: dd/mm/yyyy, dd-mm-yy, dd.mm.yyyy, yyyy-mm-dd
    re.compile(r"(?<!\d)\d{1,2}[/-]\d{1,2}[/-](?:\d{4}|\d{2})(?!\d)"),
    re.compile(r"(?<!\d)\d{1,2}\.\d{1,2}\.\d{4}(?!\d)"),
    re.compile(r"(?<!\d)\d{4}-\d{1,2}-\d{1,2}(?!\d)"),
    # written dates: 1 Feb 1960, 1st of February 1960, February 1, 1960
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}\s*,?\s+\d{{4}}\b", re.I),
    re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+\d{{4}}\b", re.I),
]
# What is left of a date of birth after the full dates are gone: "born in 1960", "DOB: Feb 1960"
_BIRTH = re.compile(
    rf"(\b(?:d\.?o\.?b\.?|date\s+of\s+birth|birth\s*date|born(?:\s+(?:on|in))?)\s*[:\-]?\s*)"
    rf"(?:{_MONTH}\s+)?\d{{4}}\b",
    re.I,
)


def scrub(text: str | None) -> str:
    """Replace NHS numbers, UK phone numbers, email addresses and dates (of birth) with [removed]."""
    if not text:
        return ""
    for pattern in _PATTERNS:
        text = pattern.sub(REMOVED, text)
    return _BIRTH.sub(lambda m: m.group(1) + REMOVED, text)


# -- the store ------------------------------------------------------------------------------
def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _citations_json(citations: Any) -> str:
    if isinstance(citations, str):
        return citations
    items = [asdict(c) if is_dataclass(c) else dict(c) for c in (citations or ())]
    return json.dumps(items, ensure_ascii=False)


def _check_rating(rating: str) -> str:
    if rating not in RATINGS:
        raise ValueError(f"rating must be one of {', '.join(RATINGS)}, not {rating!r}")
    return rating


class FeedbackStore:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Switching a new file to WAL takes an exclusive lock and does not wait on the busy
        # timeout: several processes starting at once retry instead of failing.
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                with closing(self._connect()) as conn:
                    conn.execute("PRAGMA journal_mode=WAL")
                    with conn:
                        conn.execute(SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        conn.row_factory = sqlite3.Row
        return conn

    def add(self, *, rating: str, question: str = "", answer: str = "", comment: str = "",
            citations: Iterable[Any] | str = (), audience: str = "", status: str = "") -> int:
        """Store one rating; returns its id (to attach a comment or change the rating later)."""
        row = (_utc_now(), _check_rating(rating), scrub(comment), scrub(question), scrub(answer),
               _citations_json(citations), audience, status)
        with closing(self._connect()) as conn, conn:
            cur = conn.execute(
                "INSERT INTO feedback (created_at, rating, comment, question, answer, citations, audience, status)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
            return int(cur.lastrowid)

    def update(self, feedback_id: int, *, rating: str | None = None, comment: str | None = None) -> bool:
        """Change the rating or the comment of a stored row; False if there is no such row."""
        sets, values = [], []
        if rating is not None:
            sets.append("rating = ?")
            values.append(_check_rating(rating))
        if comment is not None:
            sets.append("comment = ?")
            values.append(scrub(comment))
        if not sets:
            return False
        with closing(self._connect()) as conn, conn:
            cur = conn.execute(f"UPDATE feedback SET {', '.join(sets)} WHERE id = ?", (*values, feedback_id))
            return cur.rowcount == 1

    def delete(self, feedback_id: int) -> bool:
        """A rating taken back (the thumb clicked again) is removed."""
        with closing(self._connect()) as conn, conn:
            return conn.execute("DELETE FROM feedback WHERE id = ?", (feedback_id,)).rowcount == 1

    def all(self) -> list[dict]:
        with closing(self._connect()) as conn:
            rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id").fetchall()
        return [dict(row) for row in rows]


def export_csv(db_path: Path | str, out_stream: IO[str]) -> int:
    """Write every feedback row as CSV (header first); returns the number of rows."""
    if not Path(db_path).exists():
        from .errors import UsageError

        raise UsageError(f"no feedback file at {db_path}: nothing has been rated yet, or set CART_FEEDBACK_DB")
    rows = FeedbackStore(db_path).all()
    writer = csv.DictWriter(out_stream, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return len(rows)
