"""Fitting triage's message classifier: `python -m eval triage-veto`.

The classifier (assistant/triage_veto.py) reads a whole message at every layer of the
packaged MiniLM and says whether it tells of a red-flag symptom now. It is fitted on people's
messages, the tuning and dev cases of eval/golden and of the pending blind dev sets in
eval/pending (never held-out or sealed ones; urgent = 1), and on the red-flag file's own
examples (reports = 1; questions, general questions and everyday news = 0).

Which threshold: cross-validated by case file, two folds, over `SPLITS` different ways of
dealing the files into them (the first alternately by name, the rest at random with fixed
seeds; the file's examples always fitted on). Each case is triaged as served without the
classifier, and a flag of the meaning net alone is set aside when the fold's classifier gives
the message less than the threshold; a flag with a rules hit on a symptom's words (never a
reading) when it gives less than the words threshold (none: never; at most the threshold).
The choice rule, for each regularisation `C` and pair of thresholds: in no split an urgent
message missed that was caught without it, then fewest false alarms on average, then the lower
thresholds (when in doubt, urgent wins). One split alone
was not enough: adding one case file moved every file to the other fold and the safe
threshold from 0.02 to 0.1. Then, with the chosen fit, the spread between what it reads from a
long message's own layers and from its sentences' layers pooled, as the chain has them
(`Veto.pooled_side`: where it settles a verdict, triage spares that message a second encode).
Writes calibration/triage-veto.json (coefficients, thresholds, that spread, the table they
were chosen from) and calibration/triage-veto-data.csv (the rows).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .metrics import split_of

ROOT = Path(__file__).resolve().parent.parent
MODEL_FILE = ROOT / "calibration" / "triage-veto.json"
DATA_FILE = ROOT / "calibration" / "triage-veto-data.csv"
C_GRID = (0.01, 0.1)
SPLITS = 5
THRESHOLDS = (0.005, 0.01, 0.02, 0.05, 0.1)
WORDS_THRESHOLDS = (None, 0.002, 0.005, 0.01, 0.02, 0.05)
BATCH = 64


@dataclass(frozen=True)
class Row:
    source: str  # a case file's name, or the red-flag file's field
    label: int  # 1: tells of a red flag now
    text: str
    case_id: str = ""  # a case's id; "" for the file's examples


@dataclass(frozen=True)
class Point:
    c: float
    threshold: float
    missed: int  # urgent cases not caught (with the classifier), in the worst split
    false_alarms: float  # on average over the splits
    set_aside: float  # flags set aside, on average
    words_threshold: float | None = None  # for flags with a rules hit on words (None: never set aside)


def gather(flags, suites: list[Path], corpus_dir) -> list[Row]:
    """The file's examples, then each tuning or dev case (without earlier turns: triage reads
    the message alone)."""
    from .cases import load_suite

    rows = [Row("red-flags reports", 1, t) for s in flags.symptoms for t in s.reports]
    rows += [Row("red-flags questions", 0, t) for s in flags.symptoms for t in s.questions]
    rows += [Row("red-flags general_questions", 0, t) for t in flags.general_questions]
    rows += [Row("red-flags not_red_flags", 0, t) for t in flags.not_red_flags]
    for path in suites:
        rows += [Row(path.stem, int(c.expected_status == "urgent"), c.question, c.id)
                 for c in load_suite([path], corpus_dir) if split_of(c) in ("tuning", "dev") and not c.history]
    return rows


def folds(rows: list[Row], seed: int | None = None) -> np.ndarray:
    """Each case's fold, 0 or 1 (alternately by file name, or with `seed` at random, half the
    files each); -1 for the file's examples."""
    files = sorted({r.source for r in rows if r.case_id})
    if seed is not None:
        files = [files[i] for i in np.random.default_rng(seed).permutation(len(files))]
    fold_of = {name: i % 2 for i, name in enumerate(files)}
    return np.array([fold_of[r.source] if r.case_id else -1 for r in rows])


def splits(rows: list[Row], n: int = SPLITS) -> list[np.ndarray]:
    return [folds(rows)] + [folds(rows, seed) for seed in range(1, n)]


def fit(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Weights (on standardised features), intercept, mean and scale."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit((x - mean) / scale, y)
    return model.coef_[0], float(model.intercept_[0]), mean, scale


def probability(fitted, x: np.ndarray) -> np.ndarray:
    from assistant.triage_veto import layer_probability

    return layer_probability(x, *fitted)


def cross_validate(x: np.ndarray, rows: list[Row], partitions: list[np.ndarray], caught: np.ndarray,
                   vetoable: np.ndarray, by_words: np.ndarray | None = None, grid: tuple[float, ...] = C_GRID,
                   thresholds: tuple[float, ...] = THRESHOLDS,
                   words_thresholds: tuple[float | None, ...] = WORDS_THRESHOLDS, progress=None) -> list[Point]:
    """Each (C, threshold, words threshold) on the cases, in each partition (`splits`) each
    fold's classifier fitted on the other fold and the file's examples. `caught`: urgent as
    served without it; `vetoable`: flagged by the meaning net alone, where the classifier may set
    the flag aside under the threshold; `by_words`: flagged with a rules hit on a symptom's words
    (and no reading or 999), which it may set aside under the words threshold."""
    by_words = np.zeros(len(rows), bool) if by_words is None else by_words
    pairs = [(t, w) for t in thresholds for w in words_thresholds if w is None or w <= t]
    y = np.array([r.label for r in rows], dtype=float)
    points, done, steps = [], 0, 2 * len(grid) * len(partitions)
    for c in grid:
        outcomes = {pair: [] for pair in pairs}
        for fold in partitions:
            cases, p = fold >= 0, np.ones(len(rows))
            for f in (0, 1):
                train = fold != f
                p[fold == f] = probability(fit(x[train], y[train], c), x[fold == f])
                done += 1
                if progress:
                    progress("cross-validation", done, steps)
            for t, w in pairs:
                aside = cases & ((vetoable & (p < t)) | (by_words & (p < (-1.0 if w is None else w))))
                urgent = caught & ~aside
                outcomes[(t, w)].append(((cases & (y == 1) & ~urgent).sum(), (cases & (y == 0) & urgent).sum(), aside.sum()))
        for (t, w), runs in outcomes.items():
            missed, alarms, aside = np.array(runs, dtype=float).T
            points.append(Point(c, t, missed=int(missed.max()), false_alarms=round(float(alarms.mean()), 1),
                                set_aside=round(float(aside.mean()), 1), words_threshold=w))
    return points


def choose(points: list[Point], missed_without: int) -> Point:
    """No more misses than without the classifier, then fewest false alarms, then the lower
    thresholds and the stronger regularisation; with none safe, the lowest thresholds."""
    def lower(p: Point) -> tuple:
        return (p.threshold, -1.0 if p.words_threshold is None else p.words_threshold, p.c)

    safe = [p for p in points if p.missed <= missed_without]
    if not safe:
        return min(points, key=lambda p: (p.missed, *lower(p)))
    return min(safe, key=lambda p: (p.false_alarms, *lower(p)))


def features(embedder, texts: list[str], progress=None) -> np.ndarray:
    from assistant.triage_veto import message_text

    parts = []
    for start in range(0, len(texts), BATCH):
        parts.append(embedder.layer_means([message_text(t) for t in texts[start:start + BATCH]]))
        if progress:
            progress("message features", min(start + BATCH, len(texts)), len(texts))
    return np.vstack(parts)


def pooled_spread(embedder, texts: list[str], own: np.ndarray, fitted, progress=None) -> tuple[tuple[float, float] | None, int]:
    """How far the log-odds of the classifier `fitted` (weights, intercept, mean, scale) from each
    long message's own layers (`own`, the rows of `features`) stray from those from its sentences'
    layers pooled, as the chain reads a long message (`embedding.read_message`): the least and the
    most of own minus pooled, over the long ones of `texts` (None when there are none), and how
    many there were."""
    from assistant.embedding import read_message, whole_encoded
    from assistant.triage import meaning_texts
    from assistant.triage_veto import layer_probability, log_odds

    long = [i for i, t in enumerate(texts) if not whole_encoded(embedder, meaning_texts(t))]
    if not long:
        return None, 0
    pooled = []
    for k, i in enumerate(long):
        pooled.append(read_message(embedder, meaning_texts(texts[i]), layers=True)[1])
        if progress and (k % 50 == 0 or k == len(long) - 1):
            progress("long messages' pooled layers", k + 1, len(long))
    gap = log_odds(layer_probability(own[long], *fitted)) - log_odds(layer_probability(np.vstack(pooled), *fitted))
    return (float(gap.min()), float(gap.max())), len(long)


def served_verdicts(flags, embedder, rows: list[Row], progress=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: caught as served without the classifier; set aside by one that is sure of every
    message and reads the meaning net's flags only; set aside by one that reads symptom words'
    flags too, and not by the first (what the classifier may set aside at all, by which threshold)."""
    from assistant.triage import Triager
    from assistant.triage_veto import Veto, example_key

    class _Doubting(Triager):
        def veto_probability(self, message: str, layers=None) -> float:
            return 0.0

    without = Triager(flags, embedder)
    anything = Veto(np.zeros(1), 0.0, np.zeros(1), np.ones(1), 0.01, embedder.name,
                    frozenset(example_key(t) for s in flags.symptoms for t in s.reports))
    doubting = _Doubting(flags, embedder, anything)
    doubting_words = _Doubting(flags, embedder, replace(anything, words_threshold=0.01))
    caught, vetoable, by_words = (np.zeros(len(rows), bool) for _ in range(3))
    for i, row in enumerate(rows):
        if row.case_id:
            vectors = without.encode(row.text)
            caught[i] = without.assess(row.text, vectors=vectors).urgent
            vetoable[i] = caught[i] and not doubting.assess(row.text, vectors=vectors).urgent
            by_words[i] = caught[i] and not vetoable[i] and not doubting_words.assess(row.text, vectors=vectors).urgent
        if progress and (i % 50 == 0 or i == len(rows) - 1):
            progress("triage as served", i + 1, len(rows))
    return caught, vetoable, by_words


def write_data(rows: list[Row], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["source", "case_id", "label", "text"])
        for r in rows:
            out.writerow([r.source, r.case_id, r.label, r.text])


def main() -> int:
    from rich.console import Console
    from rich.table import Table

    from assistant.embedding import build_embedder
    from assistant.progress import progress_reporter
    from assistant.settings import load_settings
    from assistant.triage import RedFlags
    from assistant.triage_veto import Veto, example_key

    from .cases import default_suites, pending_suites

    settings = load_settings()
    flags = RedFlags.load(settings.red_flags_file)
    embedder = build_embedder(settings)
    rows = gather(flags, default_suites() + pending_suites(), settings.corpus_dir)
    partitions = splits(rows)
    fold = partitions[0]
    y = np.array([r.label for r in rows], dtype=float)
    with progress_reporter() as progress:
        x = features(embedder, [r.text for r in rows], progress)
        caught, vetoable, by_words = served_verdicts(flags, embedder, rows, progress)
        points = cross_validate(x, rows, partitions, caught, vetoable, by_words, progress=progress)
    cases = fold >= 0
    missed_without = int((cases & (y == 1) & ~caught).sum())
    alarms_without = int((cases & (y == 0) & caught).sum())
    best = choose(points, missed_without)
    weights, bias, mean, scale = fit(x, y, best.c)
    with progress_reporter() as progress:
        spread, long_messages = pooled_spread(embedder, [r.text for r in rows], x, (weights, bias, mean, scale), progress)
    veto = Veto(weights, bias, mean, scale, best.threshold, embedder.name,
                frozenset(example_key(t) for s in flags.symptoms for t in s.reports), words_threshold=best.words_threshold,
                pooled_spread=spread, info={
                    "fitted": dt.date.today().isoformat(), "command": "python -m eval triage-veto",
                    "red_flags_version": flags.meta.get("version"), "C": best.c,
                    "pooled_spread_over": f"{long_messages} long messages (own minus pooled layers' log-odds)",
                    "fitted_on": {"rows": len(rows), "cases": int(cases.sum()), "urgent": int(y.sum()),
                                  "case_files": sorted({r.source for r in rows if r.case_id}), "data": DATA_FILE.name},
                    "cross_validated": {"folds": f"2, by case file, {len(partitions)} ways (worst split's misses, "
                                                                   "mean false alarms)", "urgent_missed_without": missed_without,
                                        "false_alarms_without": alarms_without, "urgent_missed": best.missed,
                                        "false_alarms": best.false_alarms, "set_aside": best.set_aside,
                                        "table": [p.__dict__ for p in points]}})
    MODEL_FILE.parent.mkdir(exist_ok=True)
    MODEL_FILE.write_text(json.dumps(veto.to_json(), indent=0) + "\n", encoding="utf-8")
    write_data(rows, DATA_FILE)
    table = Table(title=f"Triage's message classifier, 2-fold by case file ({len(partitions)} splits: misses in the "
                        f"worst, false alarms on average) on {int(cases.sum())} tuning and dev cases "
                        f"({int((cases & (y == 1)).sum())} urgent); without it: {missed_without} missed, "
                        f"{alarms_without} false alarms")
    for name in ("C", "threshold", "words threshold", "urgent missed", "false alarms", "flags set aside"):
        table.add_column(name, justify="right")
    for p in points:
        table.add_row(f"{p.c:g}", f"{p.threshold:g}", "never" if p.words_threshold is None else f"{p.words_threshold:g}",
                      str(p.missed), f"{p.false_alarms:g}", f"{p.set_aside:g}",
                      style="bold green" if p == best else None)
    Console().print(table)
    words = "never" if best.words_threshold is None else f"{best.words_threshold:g}"
    spread = "unmeasured" if veto.pooled_spread is None else "{:+.2f} to {:+.2f}".format(*veto.pooled_spread)
    print(f"chosen: C {best.c:g}, threshold {best.threshold:g}, words threshold {words}; own layers' log-odds minus "
          f"pooled over {long_messages} long messages: {spread}; wrote {MODEL_FILE.relative_to(ROOT)} and "
          f"{DATA_FILE.relative_to(ROOT)}")
    return 0
