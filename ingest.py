"""Turn the approved documents into the searchable index.

    python ingest.py [--corpus DIR] [--check] [--rebuild] [--strict] [--json]

Exit codes: 0 the run completed (rejected files included), 1 nothing could be indexed or,
with --strict, something was rejected; 2 a usage error. Documents whose review falls within
CART_REVIEW_WARNING_DAYS (default 60) are listed as due soon, apart from rejections; they
are still indexed, and they never fail a run, --strict included.
"""

from __future__ import annotations

import argparse
import json
import sys

from assistant.errors import AssistantError
from assistant.indexing import ingest
from assistant.progress import progress_reporter
from assistant.records import IngestReport
from assistant.settings import load_settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ingest.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", metavar="DIR", help="folder of documents (default: settings, corpus/)")
    parser.add_argument("--check", action="store_true", help="validate and report; write nothing")
    parser.add_argument("--rebuild", action="store_true", help="re-embed every document")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any file is rejected")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    return parser.parse_args(argv)


def print_summary(report: IngestReport, *, strict: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="Ingestion check (nothing written)" if report.checked_only else "Ingestion")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_column("documents")
    for label, ids in (("added", report.added), ("updated", report.updated),
                       ("unchanged", report.unchanged), ("removed", report.removed)):
        table.add_row(label, str(len(ids)), ", ".join(ids[:6]) + (" ..." if len(ids) > 6 else ""))
    table.add_row("chunks", str(report.chunks), "")
    table.add_row("embeddings computed", str(report.embedded), "")
    if report.remapped:
        table.add_row("re-mapped (new adapter)", str(report.remapped), "")
    console.print(table)
    if report.rejected:
        rejected = Table(title=f"Not indexed ({len(report.rejected)})", title_style="bold yellow")
        rejected.add_column("file")
        rejected.add_column("reason")
        for item in report.rejected:
            rejected.add_row(item.path, item.reason)
        console.print(rejected)
    if report.due_soon:
        soon = Table(title=f"Review due soon ({len(report.due_soon)}): still indexed, dropped on their review date",
                     title_style="bold yellow")
        for name in ("document", "file", "owner", "review due", "days left"):
            soon.add_column(name, justify="right" if name == "days left" else "left")
        for item in report.due_soon:
            soon.add_row(item.doc_id, item.path, item.owner, item.review_due, str(item.days_left))
        console.print(soon)
    if report.shared_questions:
        shared = Table(title=f"Asked under more than one document ({len(report.shared_questions)}): still indexed; "
                             "keep each phrasing under the one section that answers it best", title_style="bold yellow")
        shared.add_column("phrasing")
        shared.add_column("listed under")
        for item in report.shared_questions:
            shared.add_row(item.phrasing, "; ".join(f"{doc_id} > {heading}" for doc_id, heading in item.sections))
        console.print(shared)
    if report.value_phrasings:
        asking = Table(title=f"Asking for a value the section does not give ({len(report.value_phrasings)}): asked that "
                             "way, a question is refused saying so; give the section the value, or leave the phrasing out",
                       title_style="bold yellow")
        for name in ("phrasing", "listed under", "not given"):
            asking.add_column(name)
        for item in report.value_phrasings:
            asking.add_row(item.phrasing, f"{item.doc_id} > {item.section}", item.kind)
        console.print(asking)
    if report.pointing_back:
        back = Table(title=f"A section that opens by pointing back ({len(report.pointing_back)}): an answer quotes one "
                           "section on its own; name what it is about in its first sentence", title_style="bold yellow")
        for name in ("section", "first sentence"):
            back.add_column(name)
        for item in report.pointing_back:
            back.add_row(f"{item.doc_id} > {item.section}", item.opening)
        console.print(back)
    console.print(f"done in {report.seconds:.1f} s" + (" (--strict: rejections fail the run)" if strict and report.rejected else ""))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        overrides = {"corpus_dir": args.corpus} if args.corpus else {}
        settings = load_settings(**overrides)
        with progress_reporter(enabled=True) as progress:
            report = ingest(settings, check=args.check, rebuild=args.rebuild, progress=progress)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: the previous index is still the one served", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print_summary(report, strict=args.strict)
    return 1 if (args.strict and report.rejected) else 0


if __name__ == "__main__":
    sys.exit(main())
