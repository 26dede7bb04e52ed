"""Choosing the triage thresholds: `python -m eval triage-calibrate`.

Runs the tuning and dev cases (never held-out or sealed ones) through the triage alone, for a
grid of the meaning net's three numbers (safety/red-flags.yaml `semantic`), and prints urgent
messages missed, 999 situations not marked, and false alarms for each. The choice rule: no
urgent message missed and no 999 situation unmarked, then fewest false alarms, then the
lowest thresholds (when in doubt, urgent wins). Copy the chosen numbers into the file.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from .cases import EvalCase
from .metrics import split_of

GRID = {"report_similarity": (0.5, 0.53, 0.56, 0.6, 0.64),
        "margin": (0.0, 0.02, 0.04, 0.08),
        "question_margin": (0.15, 0.25, 0.35)}


@dataclass(frozen=True)
class Point:
    report_similarity: float
    margin: float
    question_margin: float
    missed: int
    emergency_missed: int
    false_alarms: int


def fitting_cases(cases: list[EvalCase]) -> list[EvalCase]:
    return [c for c in cases if split_of(c) in ("tuning", "dev")]


def sweep(triager, cases: list[EvalCase]) -> list[Point]:
    base = triager.red_flags
    urgent = [c for c in cases if c.expected_status == "urgent"]
    others = [c for c in cases if c.expected_status != "urgent"]
    from assistant.triage import meaning_texts

    vectors = {c.id: triager.encode(meaning_texts(c.question)) for c in urgent + others}  # once, not per point
    points = []
    try:
        for values in itertools.product(*GRID.values()):
            triager.red_flags = replace(base, **dict(zip(GRID, values)))
            verdicts = {c.id: triager.assess(c.question, vectors=vectors[c.id]) for c in urgent + others}
            points.append(Point(*values, missed=sum(not verdicts[c.id].urgent for c in urgent),
                                emergency_missed=sum(not verdicts[c.id].emergency for c in urgent if c.expected_emergency),
                                false_alarms=sum(verdicts[c.id].urgent for c in others)))
    finally:
        triager.red_flags = base
    return points


def choose(points: list[Point]) -> Point:
    return min(points, key=lambda p: (p.missed + p.emergency_missed, p.false_alarms,
                                      p.report_similarity, p.margin, -p.question_margin))


def main() -> int:
    from rich.console import Console
    from rich.table import Table

    from assistant.embedding import build_embedder
    from assistant.settings import load_settings
    from assistant.triage import Triager

    from .cases import load_suite

    settings = load_settings()
    cases = fitting_cases(load_suite(None, settings.corpus_dir))
    triager = Triager.from_file(settings.red_flags_file, build_embedder(settings))
    points = sweep(triager, cases)
    best = choose(points)
    table = Table(title=f"Triage thresholds on {len(cases)} tuning and dev cases "
                        f"({sum(c.expected_status == 'urgent' for c in cases)} urgent)")
    for name in ("report sim", "margin", "question margin", "missed", "999 not marked", "false alarms"):
        table.add_column(name, justify="right")
    for p in points:
        style = "bold green" if p == best else None
        table.add_row(f"{p.report_similarity:.2f}", f"{p.margin:.2f}", f"{p.question_margin:.2f}", str(p.missed),
                      str(p.emergency_missed), str(p.false_alarms), style=style)
    Console().print(table)
    print(f"chosen: report_similarity {best.report_similarity}, margin {best.margin}, "
          f"question_margin {best.question_margin} (now in the file: {triager.red_flags.report_similarity}, "
          f"{triager.red_flags.margin}, {triager.red_flags.question_margin})")
    return 0
