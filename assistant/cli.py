"""Command line: `python -m assistant ask ...` and `python -m assistant feedback export --csv`.

    python -m assistant ask "QUESTION" [--audience patient|clinician] [--json]
    python -m assistant ask < questions.jsonl      # one JSON object per line in, one per line out

A stdin line is {"question": "...", "audience": "...", "history": [{"role": ..., "content": ...}]};
the models load once for the whole stream. A bad line gets {"error": "..."} and the
stream goes on.
"""

from __future__ import annotations

import argparse
import json
import sys

from .errors import AssistantError, UsageError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m assistant", description="The CAR-T service assistant.")
    commands = parser.add_subparsers(dest="command", required=True)
    ask = commands.add_parser("ask", help="answer a question from the approved documents")
    ask.add_argument("question", nargs="?", help="the question; omit it to read JSON lines from stdin")
    ask.add_argument("--audience", choices=["patient", "clinician"], default="patient")
    ask.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    feedback = commands.add_parser("feedback", help="work with stored answer feedback")
    feedback_commands = feedback.add_subparsers(dest="feedback_command", required=True)
    export = feedback_commands.add_parser("export", help="write all feedback as CSV")
    export.add_argument("--csv", action="store_true", required=True, help="CSV output (the only format)")
    export.add_argument("--db", help="feedback SQLite file (default: settings feedback_db)")
    export.add_argument("--out", help="file to write (default: stdout)")
    return parser


def _format_text(answer, audience: str) -> str:
    """An answer as the terminal shows it: an unsure answer opens with the page's note (presenting.py)."""
    from .presenting import unsure_text

    lines = [unsure_text(audience), ""] if answer.status == "answered" and not answer.sure else []
    lines += [answer.answer, ""]
    for c in answer.citations:
        page = f", page {c.page}" if c.page else ""
        lines.append(f"[{c.n}] {c.title} - {c.section}{page} (version {c.version}, {c.source})")
    return "\n".join(lines).rstrip()


def _stream(assistant, stdin, stdout) -> int:
    for number, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if not isinstance(request, dict) or "question" not in request:
                raise UsageError('each line needs a JSON object with a "question"')
            answer = assistant.ask(request["question"], request.get("audience", "patient"), request.get("history") or ())
            out = answer.to_json()
        except json.JSONDecodeError as exc:
            out = {"error": f"line {number} is not valid JSON: {exc.msg}"}
        except AssistantError as exc:
            out = {"error": f"line {number}: {exc}"}
        stdout.write(json.dumps(out) + "\n")
        stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        from .settings import load_settings

        settings = load_settings()
        if args.command == "feedback":
            from .feedback import export_csv

            db = args.db or settings.feedback_db
            if args.out:
                with open(args.out, "w", newline="", encoding="utf-8") as handle:
                    count = export_csv(db, handle)
                print(f"wrote {count} feedback rows to {args.out}", file=sys.stderr)
            else:
                export_csv(db, sys.stdout)
            return 0

        from .chain import Assistant

        assistant = Assistant.from_settings(settings)
        if args.question is None:
            return _stream(assistant, sys.stdin, sys.stdout)
        answer = assistant.ask(args.question, args.audience)
        print(json.dumps(answer.to_json()) if args.json else _format_text(answer, args.audience))
        return 0
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
