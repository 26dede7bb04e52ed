"""Golden cases: typed `EvalCase` records, loaded and validated from eval/golden/*.yaml.

Entry point: `load_suite(paths, corpus_dir)`. Every problem in every file is collected and
reported together (file, case id, what is wrong and how to fix it) in one `CaseError`, so
a person editing cases fixes them in one pass. The format is described in CORPUS_FORMAT.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from assistant.errors import UsageError
from assistant.records import Turn

GOLDEN_DIR = Path(__file__).parent / "golden"
PENDING_DIR = Path(__file__).parent / "pending"
AUDIENCES = ("patient", "clinician")
STATUSES = ("answered", "refused", "urgent", "not-urgent")  # not-urgent: only asks; any reply but the urgent advice
ROLES = ("user", "assistant")
REQUIRED = ("id", "audience", "question", "expected_status")
OPTIONAL = ("history", "expected_sources", "expected_facts", "expected_emergency", "tags", "note")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class CaseError(UsageError):
    """One or more golden cases are invalid; `problems` lists each one."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        if len(self.problems) == 1:
            message = f"invalid golden case: {self.problems[0]}"
        else:
            message = f"{len(self.problems)} problems in the golden cases:\n  " + "\n  ".join(self.problems)
        super().__init__(message)


@dataclass(frozen=True)
class ExpectedSource:
    """A document, or one section of it (the retrieved section path starts with `section`)."""

    doc: str
    section: str | None = None

    def matches(self, doc_id: str, section: str | None = None) -> bool:
        if doc_id != self.doc:
            return False
        if self.section is None:
            return True
        return (section or "").casefold().startswith(self.section.casefold())

    def label(self) -> str:
        return self.doc if self.section is None else f"{self.doc} § {self.section}"

    def to_json(self):
        return self.doc if self.section is None else {"doc": self.doc, "section": self.section}


@dataclass(frozen=True)
class EvalCase:
    id: str
    audience: str
    question: str
    expected_status: str
    history: tuple[Turn, ...] = ()
    expected_sources: tuple[ExpectedSource, ...] = ()
    expected_facts: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    note: str = ""
    file: str = ""
    expected_emergency: bool | None = None  # urgent cases: True when 999 must come first

    @property
    def section_level(self) -> bool:
        return any(s.section is not None for s in self.expected_sources)

    def to_json(self) -> dict:
        return {
            "id": self.id, "file": self.file, "audience": self.audience, "question": self.question,
            "history": [{"role": t.role, "content": t.content} for t in self.history],
            "expected_status": self.expected_status,
            "expected_sources": [s.to_json() for s in self.expected_sources],
            "expected_facts": list(self.expected_facts), "expected_emergency": self.expected_emergency,
            "tags": list(self.tags), "note": self.note,
        }


@dataclass
class CorpusIndex:
    """What a case may point at: indexed document ids and their section paths."""

    sections: dict[str, tuple[str, ...]] = field(default_factory=dict)  # doc id -> section paths
    rejected: dict[str, str] = field(default_factory=dict)  # doc id -> reason it is not indexed

    @classmethod
    def from_corpus(cls, corpus_dir: Path) -> "CorpusIndex":
        from assistant.loading import Rejected, load_corpus, load_document

        corpus_dir = Path(corpus_dir)
        if not corpus_dir.is_dir():
            raise UsageError(f"corpus folder {corpus_dir} does not exist: set CART_CORPUS_DIR")
        loaded = load_corpus(corpus_dir)
        sections = {d.meta.id: tuple(dict.fromkeys(b.section for b in d.blocks)) for d in loaded.documents}
        rejected: dict[str, str] = {}
        prefix = f"{corpus_dir.name}/"
        for rejection in loaded.rejections:
            path = corpus_dir / rejection.path.removeprefix(prefix)
            try:  # a rejected file may still name its id (a draft, an expired review date)
                doc_id = load_document(path, source=rejection.path).meta.id
            except (Rejected, OSError):
                continue
            if doc_id not in sections:
                rejected[doc_id] = rejection.reason
        return cls(sections, rejected)


def default_suites() -> list[Path]:
    return sorted(GOLDEN_DIR.glob("*.yaml"))


def pending_suites() -> list[Path]:
    """Blind dev sets still being worked on: not gated, but dev cases all the same."""
    return sorted(PENDING_DIR.glob("*.yaml"))


def load_suite(paths: list[Path] | None = None, corpus_dir: Path | None = None, *,
               corpus: CorpusIndex | None = None) -> list[EvalCase]:
    """Load and validate cases from `paths` (default: every eval/golden/*.yaml)."""
    paths = [Path(p) for p in paths] if paths else default_suites()
    if not paths:
        raise UsageError(f"no case files: add YAML files to {GOLDEN_DIR} or pass --suite FILE")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise UsageError(f"case file not found: {', '.join(missing)}")
    if corpus is None:
        corpus = CorpusIndex.from_corpus(Path(corpus_dir or "corpus"))
    problems: list[str] = []
    cases: list[EvalCase] = []
    seen: dict[str, str] = {}
    for path in paths:
        for case in _load_file(path, corpus, problems):
            if case.id in seen:
                problems.append(f"{_shown(path)}: case '{case.id}': duplicate id, already used in {seen[case.id]}; "
                                "give each case its own id")
                continue
            seen[case.id] = _shown(path)
            cases.append(case)
    if problems:
        raise CaseError(problems)
    return cases


def _shown(path: Path) -> str:
    try:
        return Path(path).resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def _load_file(path: Path, corpus: CorpusIndex, problems: list[str]) -> list[EvalCase]:
    where = _shown(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        problems.append(f"{where}: not UTF-8 text: save the file as UTF-8")
        return []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.append(f"{where}: invalid YAML{at}: {getattr(exc, 'problem', None) or exc}")
        return []
    if data is None:
        return []
    if not isinstance(data, list):
        problems.append(f"{where}: expected a list of cases (each starting with '- id: ...')")
        return []
    cases = []
    for number, item in enumerate(data, start=1):
        case = _parse_case(item, number, where, corpus, problems)
        if case is not None:
            cases.append(case)
    return cases


def _parse_case(item, number: int, where: str, corpus: CorpusIndex, problems: list[str]) -> EvalCase | None:
    if not isinstance(item, dict):
        problems.append(f"{where}: case #{number}: expected 'field: value' lines, got {type(item).__name__}")
        return None
    case_id = item.get("id")
    label = f"{where}: case '{case_id}'" if isinstance(case_id, str) and case_id else f"{where}: case #{number}"
    before = len(problems)

    def bad(message: str) -> None:
        problems.append(f"{label}: {message}")

    for name in REQUIRED:
        value = item.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            bad(f"missing field '{name}'")
        elif not isinstance(value, str):
            bad(f"'{name}' must be text, got {type(value).__name__}")
    unknown = sorted(set(item) - set(REQUIRED) - set(OPTIONAL), key=str)
    if unknown:
        bad(f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(map(str, unknown))} "
            f"(allowed: {', '.join(REQUIRED + OPTIONAL)})")
    if isinstance(case_id, str) and case_id and not _ID.match(case_id):
        bad("id must use letters, digits, '-', '_' or '.' only")
    audience = item.get("audience")
    if isinstance(audience, str) and audience and audience not in AUDIENCES:
        bad(f"audience '{audience}' is not one of {', '.join(AUDIENCES)}")
    status = item.get("expected_status")
    if isinstance(status, str) and status and status not in STATUSES:
        bad(f"expected_status '{status}' is not one of {', '.join(STATUSES)}")

    history = _parse_history(item.get("history"), bad)
    sources = _parse_sources(item.get("expected_sources"), bad, corpus)
    facts = _text_list(item.get("expected_facts"), "expected_facts", bad)
    for fact in facts:
        try:
            re.compile(fact, re.IGNORECASE)
        except re.error as exc:
            bad(f"expected_facts entry '{fact}' is not a valid regular expression ({exc}); "
                "put a backslash before special characters such as ( ) [ ] + ? *")
    tags = _text_list(item.get("tags"), "tags", bad)
    note = item.get("note") or ""
    if not isinstance(note, str):
        bad("'note' must be text")

    emergency = item.get("expected_emergency")
    if emergency is not None and not isinstance(emergency, bool):
        bad("'expected_emergency' must be true or false")
    elif emergency and status != "urgent":
        bad("'expected_emergency: true' needs expected_status: urgent")
    if status == "refused" and (sources or facts):
        bad("a refused case expects no sources and no facts: empty expected_sources and expected_facts")
    if status == "answered" and not sources and len(problems) == before:
        bad("an answered case needs at least one expected_sources entry (the document that answers it)")
    if len(problems) > before:
        return None
    return EvalCase(id=case_id, audience=audience, question=item["question"].strip(), expected_status=status,
                    history=history, expected_sources=sources, expected_facts=facts, tags=tags,
                    note=note, file=where, expected_emergency=emergency)


def _text_list(value, name: str, bad) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        bad(f"'{name}' must be a list, e.g. {name}: [\"...\"]")
        return ()
    out = []
    for entry in value:
        if isinstance(entry, (int, float)) and not isinstance(entry, bool):
            entry = str(entry)  # `expected_facts: [28]` means the text "28"
        if not isinstance(entry, str) or not entry.strip():
            bad(f"'{name}' entries must be non-empty text, got {entry!r}")
            continue
        out.append(entry.strip())
    return tuple(out)


def _parse_history(value, bad) -> tuple[Turn, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        bad("'history' must be a list of {role: user|assistant, content: ...} turns")
        return ()
    turns = []
    for n, turn in enumerate(value, start=1):
        if not isinstance(turn, dict):
            bad(f"history turn {n} must be {{role: user|assistant, content: ...}}")
            continue
        role, content = turn.get("role"), turn.get("content")
        if role not in ROLES:
            bad(f"history turn {n}: role '{role}' is not one of {', '.join(ROLES)}")
            continue
        if not isinstance(content, str) or not content.strip():
            bad(f"history turn {n}: missing content")
            continue
        extra = set(turn) - {"role", "content"}
        if extra:
            bad(f"history turn {n}: unknown field {', '.join(sorted(map(str, extra)))}")
            continue
        turns.append(Turn(role=role, content=content.strip()))
    return tuple(turns)


def _parse_sources(value, bad, corpus: CorpusIndex) -> tuple[ExpectedSource, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        bad("'expected_sources' must be a list of document ids or {doc: ID, section: HEADING}")
        return ()
    sources = []
    for entry in value:
        if isinstance(entry, str):
            source = ExpectedSource(entry.strip())
        elif isinstance(entry, dict) and set(entry) <= {"doc", "section"} and isinstance(entry.get("doc"), str):
            section = entry.get("section")
            if section is not None and (not isinstance(section, str) or not section.strip()):
                bad(f"expected_sources: section of '{entry['doc']}' must be a heading text")
                continue
            source = ExpectedSource(entry["doc"].strip(), section.strip() if section else None)
        else:
            bad(f"expected_sources entry {entry!r} must be a document id or {{doc: ID, section: HEADING}}")
            continue
        if source.doc in corpus.rejected:
            bad(f"expected source '{source.doc}' is not indexed ({corpus.rejected[source.doc]}): "
                "a case may only expect approved, in-date documents")
            continue
        if source.doc not in corpus.sections:
            close = [d for d in corpus.sections if source.doc in d or d in source.doc][:3]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            bad(f"expected source '{source.doc}' is not a document id in the corpus{hint}")
            continue
        if source.section is not None and not any(
                ExpectedSource(source.doc, source.section).matches(source.doc, s) for s in corpus.sections[source.doc]):
            bad(f"expected source '{source.doc}' has no section starting with '{source.section}' "
                f"(its sections: {'; '.join(corpus.sections[source.doc])})")
            continue
        sources.append(source)
    return tuple(sources)
