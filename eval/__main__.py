"""Evaluate the assistant on the golden cases, and gate on the results.

    python -m eval run [--suite FILE ...] [--report DIR] [--baseline FILE] [--json]
                       [--compare dense,bm25,hybrid] [--thresholds FILE]
    python -m eval check [--suite FILE ...]
    python -m eval from-feedback [--db PATH] [--out FILE]

Exit codes: 0 the gate passed (check: the cases are valid; from-feedback: drafts written);
1 the gate failed; 2 a usage error (bad path, invalid case, no index), one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from assistant.errors import AssistantError, UsageError

from .runner import MODES


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the golden cases, write the report, apply the gate")
    run.add_argument("--suite", nargs="+", action="extend", metavar="FILE", type=Path,
                     help="case files (default: every eval/golden/*.yaml)")
    run.add_argument("--report", metavar="DIR", type=Path, default=Path("reports/latest"),
                     help="folder for report.html and results.json (default: reports/latest)")
    run.add_argument("--baseline", metavar="FILE", type=Path,
                     help="results.json of an earlier run: the gate also fails on drops beyond tolerance")
    run.add_argument("--thresholds", metavar="FILE", type=Path, help="gate thresholds (default: eval/thresholds.yaml)")
    run.add_argument("--json", action="store_true", help="print the summary as one JSON object on stdout")
    run.add_argument("--compare", metavar="MODES",
                     help="comma-separated retrieval modes to run side by side, e.g. dense,bm25,hybrid")

    check = commands.add_parser("check", help="validate the case files only (no model)")
    check.add_argument("--suite", nargs="+", action="extend", metavar="FILE", type=Path)

    commands.add_parser("triage-calibrate", help="sweep the triage thresholds on the tuning and dev cases")
    commands.add_parser("triage-veto", help="fit triage's message classifier on the tuning and dev cases "
                                           "(writes calibration/triage-veto.json)")
    answer = commands.add_parser("answer-calibrate",
                                 help="fit the decision to answer on the tuning and dev cases (writes calibration/)")
    answer.add_argument("--wrong-cost", type=float, default=2.0,
                        help="how many wrongful refusals one confident wrong answer costs (default 2)")
    answer.add_argument("--max-wrong", type=float, default=1.0,
                        help="the largest share of confident wrong answers the threshold may let through, "
                             "cross-validated (default 1: no cap)")
    answer.add_argument("--keep-decision", action="store_true",
                        help="fit only the scope classifier and its threshold; keep the saved ranker, decision "
                             "and threshold")
    sealed = commands.add_parser("sealed", help="run the sealed case sets for their figures only (no case is shown)")
    sealed.add_argument("--json", action="store_true", help="print the figures as one JSON object")

    feedback = commands.add_parser("from-feedback", help="draft cases from 'not helpful' feedback")
    feedback.add_argument("--db", metavar="PATH", type=Path, help="feedback SQLite file (default: settings)")
    feedback.add_argument("--out", metavar="FILE", type=Path, help="drafts file (default: eval/drafts/from-feedback.yaml)")
    return parser.parse_args(argv)


def parse_modes(text: str | None) -> list[str] | None:
    if not text:
        return None
    modes = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise UsageError(f"--compare: unknown retrieval mode {', '.join(unknown) or '(none)'}; use {','.join(MODES)}")
    return list(dict.fromkeys(modes))


def cmd_run(args) -> int:
    from assistant.progress import progress_reporter
    from assistant.settings import load_settings

    from .cases import load_suite
    from .report import write_report
    from .runner import evaluate, load_baseline, load_thresholds

    modes = parse_modes(args.compare)
    settings = load_settings()
    thresholds = load_thresholds(args.thresholds) if args.thresholds else load_thresholds()
    baseline = load_baseline(args.baseline) if args.baseline else None
    cases = load_suite(args.suite, settings.corpus_dir)
    suites = [str(p) for p in args.suite] if args.suite else _default_suite_names()
    with progress_reporter(enabled=True) as progress:
        results = evaluate(cases, settings, modes=modes, thresholds=thresholds, baseline=baseline,
                           baseline_path=str(args.baseline) if args.baseline else None,
                           suites=suites, progress=progress)
    page = write_report(results, args.report)
    if args.json:
        print(json.dumps(summary_json(results, page)))
    else:
        print_summary(results, page)
    return 0 if results["gate"]["passed"] else 1


def _default_suite_names() -> list[str]:
    from .cases import default_suites

    return [f"eval/golden/{p.name}" for p in default_suites()]


def summary_json(results: dict, page: Path) -> dict:
    return {
        "passed": results["gate"]["passed"],
        "gate": results["gate"],
        "config": results["config"],
        "summary": results["summary"],
        "by_audience": {k: v["metrics"] for k, v in results["by_audience"].items()},
        "by_split": {k: v["metrics"] for k, v in (results.get("by_split") or {}).items()},
        "compare": {r["retrieval_mode"]: r["summary"] for r in results["compare"]} if results.get("compare") else None,
        "failed": [c["id"] for c in results["cases"] if not c["passed"]],
        "report": str(page),
    }


def print_summary(results: dict, page: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    from .metrics import METRICS
    from .report import fmt

    console = Console()
    gate = {c["metric"]: c for c in results["gate"]["checks"]}
    runs = results.get("compare") or [{"retrieval_mode": results["config"]["retrieval_mode"],
                                       "summary": results["summary"]}]
    table = Table(title=f"Evaluation ({results['summary']['n_cases']} cases; gate on {results['gate']['applied_to']})")
    table.add_column("metric")
    for run in runs:
        table.add_column(run["retrieval_mode"], justify="right")
    table.add_column("gate")
    for name, info in METRICS.items():
        check = gate.get(name)
        verdict = "" if not check else "[green]pass[/]" if check["passed"] else f"[red]FAIL[/] {check['why']}"
        table.add_row(info.label, *[fmt(name, r["summary"]["metrics"].get(name)) for r in runs], verdict)
    console.print(table)
    if results["config"].get("triage_classifier"):
        console.print(f"triage's message classifier: {results['config']['triage_classifier']}")
    splits = results.get("by_split") or {}
    if len(splits) > 1:  # tuned-on cases against held-out ones: the honest estimate is the second
        console.print("; ".join(
            f"{name}: {g['n_passed']}/{g['n_cases']} passed, wrong answers {fmt('wrong_answer_rate', g['metrics'].get('wrong_answer_rate'))}, status {fmt('status_accuracy', g['metrics'].get('status_accuracy'))}, "
            f"MRR {fmt('mrr', g['metrics'].get('mrr'))}, fact recall {fmt('fact_recall', g['metrics'].get('fact_recall'))}"
            for name, g in splits.items()))
    failed = [c["id"] for c in results["cases"] if not c["passed"]]
    if failed:
        console.print(f"failing cases ({len(failed)}): {', '.join(failed[:20])}{' ...' if len(failed) > 20 else ''}")
    verdict = "[green]PASSED[/]" if results["gate"]["passed"] else "[red]FAILED[/]"
    console.print(f"gate {verdict}; report: {page}")


def cmd_triage_calibrate(args) -> int:
    from .triage_calibration import main as calibrate

    return calibrate()


def cmd_triage_veto(args) -> int:
    from .triage_veto import main as fit

    return fit()


def cmd_answer_calibrate(args) -> int:
    from .answer_calibration import main as calibrate

    if not args.wrong_cost > 0:
        raise UsageError(f"--wrong-cost {args.wrong_cost} must be above 0: e.g. 2 (a wrong answer costs two refusals)")
    if not 0 < args.max_wrong <= 1:
        raise UsageError(f"--max-wrong {args.max_wrong} must be a share above 0 and at most 1: e.g. 0.12")
    return calibrate(args.wrong_cost, args.max_wrong, keep_decision=args.keep_decision)


SEALED_DIR = Path(__file__).parent / "sealed"


def cmd_sealed(args) -> int:
    """Figures only: a sealed case is never read one by one, so no case id or answer is shown
    or written, and nothing is gated."""
    from rich.console import Console
    from rich.table import Table

    from assistant.progress import progress_reporter
    from assistant.settings import load_settings

    from .cases import load_suite
    from .metrics import METRICS
    from .report import fmt
    from .runner import ChainFactory, run_cases, summarise_run

    settings = load_settings()
    factory = ChainFactory()
    figures = {}
    with progress_reporter(enabled=not args.json) as progress:
        for path in sorted(SEALED_DIR.glob("*.yaml")):
            cases = load_suite([path], settings.corpus_dir)
            results = run_cases(cases, factory(settings), progress=progress, stage=f"sealed {path.stem}")
            figures[path.stem] = summarise_run(results)["summary"]
    if args.json:
        print(json.dumps(figures))
        return 0
    table = Table(title="Sealed case sets: figures only")
    table.add_column("metric")
    for name, summary in figures.items():
        table.add_column(f"{name} ({summary['n_cases']})", justify="right")
    for name, info in METRICS.items():
        values = [s["metrics"].get(name) for s in figures.values()]
        if any(v is not None for v in values):
            table.add_row(info.label, *[fmt(name, v) for v in values])
    Console().print(table)
    return 0


def cmd_check(args) -> int:
    from assistant.settings import load_settings

    from .cases import load_suite

    cases = load_suite(args.suite, load_settings().corpus_dir)
    urgent = sum(c.expected_status == "urgent" for c in cases)
    refused = sum(c.expected_status == "refused" for c in cases)
    print(f"{len(cases)} valid cases ({urgent} urgent, {refused} refused, "
          f"{sum(bool(c.history) for c in cases)} with history)")
    return 0


def cmd_from_feedback(args) -> int:
    import yaml

    from assistant.settings import load_settings

    from .cases import default_suites
    from .feedback_cases import DRAFTS, write_drafts

    db = args.db or load_settings().feedback_db
    golden_ids = set()
    for path in default_suites():
        try:
            golden_ids |= {c.get("id") for c in yaml.safe_load(path.read_text(encoding="utf-8")) or []
                           if isinstance(c, dict)}
        except (yaml.YAMLError, TypeError):
            continue  # `check` reports broken files; drafting does not need them
    out = args.out or DRAFTS
    count = write_drafts(db, out, golden_ids=golden_ids)
    print(f"{count} draft case{'s' if count != 1 else ''} written to {out}: review them before moving any into eval/golden/")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    handler = {"run": cmd_run, "check": cmd_check, "from-feedback": cmd_from_feedback, "sealed": cmd_sealed,
               "triage-calibrate": cmd_triage_calibrate, "triage-veto": cmd_triage_veto, "answer-calibrate": cmd_answer_calibrate}[args.command]
    try:
        return handler(args)
    except AssistantError as exc:
        # Anything that stops the run before a verdict (bad path, invalid case, no index) is
        # a usage error: exit 1 is kept for "the gate failed".
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
