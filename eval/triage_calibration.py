"""Choosing the triage thresholds: `python -m eval triage-calibrate`.

Runs the tuning and dev cases (of eval/golden and the pending blind dev sets of eval/pending;
never held-out or sealed ones) through the triage alone, for a grid of the meaning net's
numbers (safety/red-flags.yaml `semantic`), and prints urgent messages missed, 999 situations
not marked, and false alarms for each. The choice rule: no urgent message missed and no 999
situation unmarked, then fewest false alarms, then the lowest thresholds (when in doubt,
urgent wins). `emergency_over_words` decides only between 999 and the 24-hour line for an
urgent message, so it is swept second, alone, at the point the grid chose (`refine`), by the
same rule: a 999 situation told to ring the line counts first, a 24-hour symptom told to ring
999 only after. Copy the chosen numbers into the file. The nets are swept without triage's
message classifier (`python -m eval triage-veto`, fitted on these same cases, would flatter every
point); fit it again after changing the numbers, since what it may set aside depends on them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from .cases import EvalCase
from .metrics import split_of

GRID = {"symptom_similarity": (0.4, 0.42, 0.45, 0.48),
        "report_probability": (0.4, 0.45, 0.5),
        "question_probability": (0.1, 0.2),
        "statement_similarity": (0.45, 0.47, 0.5, 0.55, 1.0),  # 1.0: a statement needs report_probability too
        "emergency_similarity": (0.45, 0.5),
        "emergency_over_words": (0.65,)}
# Swept second, at the grid's choice (`refine`): it tells 999 from the 24-hour line, not urgent
# from not, so the grid does not multiply by it.
EMERGENCY_OVER_WORDS = (0.5, 0.55, 0.6, 0.65, 0.7)


@dataclass(frozen=True)
class Point:
    symptom_similarity: float
    report_probability: float
    question_probability: float
    statement_similarity: float
    emergency_similarity: float
    emergency_over_words: float
    missed: int
    emergency_missed: int
    false_alarms: int
    over_escalated: int  # urgent, not 999, but told to call 999 first


def fitting_cases(cases: list[EvalCase]) -> list[EvalCase]:
    return [c for c in cases if split_of(c) in ("tuning", "dev")]


def sweep(triager, cases: list[EvalCase], progress=None, grid: dict | None = None,
          vectors: dict | None = None) -> list[Point]:
    """Every point of `grid` (GRID), each over every case (the messages are encoded once,
    first, unless `vectors` has them); `progress(stage, done, total)` is told of each point."""
    grid_values = grid or GRID
    base = triager.red_flags
    urgent = [c for c in cases if c.expected_status == "urgent"]
    others = [c for c in cases if c.expected_status != "urgent"]
    if vectors is None:
        vectors = {c.id: triager.encode(c.question) for c in urgent + others}  # once, not per point
    points = []
    try:
        grid = list(itertools.product(*grid_values.values()))
        for n, values in enumerate(grid):
            if progress:
                progress("threshold points", n, len(grid))
            triager.red_flags = replace(base, **dict(zip(grid_values, values)))
            verdicts = {c.id: triager.assess(c.question, vectors=vectors[c.id], audience=c.audience)
                        for c in urgent + others}
            points.append(Point(*values, missed=sum(not verdicts[c.id].urgent for c in urgent),
                                emergency_missed=sum(not verdicts[c.id].emergency for c in urgent if c.expected_emergency),
                                false_alarms=sum(verdicts[c.id].urgent for c in others),
                                over_escalated=sum(verdicts[c.id].emergency for c in urgent if c.expected_emergency is False)))
        if progress:
            progress("threshold points", len(grid), len(grid))
    finally:
        triager.red_flags = base
    return points


def refine(triager, cases: list[EvalCase], best: Point, vectors: dict | None = None, progress=None) -> list[Point]:
    """`EMERGENCY_OVER_WORDS` swept alone, every other number as `best` has it."""
    grid = {name: (getattr(best, name),) for name in GRID}
    grid["emergency_over_words"] = EMERGENCY_OVER_WORDS
    return sweep(triager, cases, progress, grid, vectors)


def choose(points: list[Point]) -> Point:
    return min(points, key=lambda p: (p.missed + p.emergency_missed, p.false_alarms + p.over_escalated,
                                      p.symptom_similarity, p.report_probability, -p.question_probability,
                                      -p.statement_similarity, p.emergency_similarity, p.emergency_over_words))


def main() -> int:
    from rich.console import Console
    from rich.table import Table

    from assistant.embedding import build_embedder
    from assistant.progress import progress_reporter
    from assistant.settings import load_settings
    from assistant.triage import Triager

    from .cases import default_suites, load_suite, pending_suites

    settings = load_settings()
    cases = fitting_cases(load_suite(default_suites() + pending_suites(), settings.corpus_dir))
    # Without the message classifier: fitted on these same cases it would flatter every point.
    triager = Triager.from_file(settings.red_flags_file, build_embedder(settings), veto_file=None)
    vectors = {c.id: triager.encode(c.question) for c in cases}
    with progress_reporter() as progress:
        points = sweep(triager, cases, progress, vectors=vectors)
        second = refine(triager, cases, choose(points), vectors, progress)
    best = choose(second)
    points = points + [p for p in second if p not in points]
    table = Table(title=f"Triage thresholds on {len(cases)} tuning and dev cases "
                        f"({sum(c.expected_status == 'urgent' for c in cases)} urgent)")
    for name in (*GRID, "missed", "999 not marked", "false alarms", "999 for a non-999"):
        table.add_column(name.replace("_", " "), justify="right")
    shown = sorted(points, key=lambda p: (p.missed + p.emergency_missed, p.false_alarms + p.over_escalated))[:25]
    for p in shown:
        style = "bold green" if p == best else None
        table.add_row(*[f"{getattr(p, name):.2f}" for name in GRID], str(p.missed), str(p.emergency_missed),
                      str(p.false_alarms), str(p.over_escalated), style=style)
    Console().print(table)
    print("chosen (the 25 best of", len(points), "shown): " + ", ".join(f"{n} {getattr(best, n)}" for n in GRID)
          + "; in the file now: " + ", ".join(f"{n} {getattr(triager.red_flags, n)}" for n in GRID))
    return 0
