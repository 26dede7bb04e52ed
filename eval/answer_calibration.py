"""Fitting the decision to answer: `python -m eval answer-calibrate`.

Runs the tuning and dev cases (never held-out or sealed ones) through the assistant and
collects, for each case, every candidate section it weighed (`Answer.decision`) with its
features (assistant/answer_model.py). A candidate is a right answer when its document is
one the case expects and its text holds at least half the expected facts. A logistic
regression over the features is fitted, cross-validated five ways by case, and its
threshold chosen on the cross-validated predictions: the lowest probability at which
confident wrong answers stay within the target (`--target`, default 0.05), so as few
questions as possible are refused. Writes calibration/answer-model.json (coefficients,
threshold, the figures they gave) and calibration/answer-data.csv (the rows fitted on).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cases import EvalCase
from .metrics import facts_found, split_of

ROOT = Path(__file__).resolve().parent.parent
MODEL_FILE = ROOT / "calibration" / "answer-model.json"
DATA_FILE = ROOT / "calibration" / "answer-data.csv"
FOLDS = 5
L2 = 0.3
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.05, 0.96, 0.01))


@dataclass
class Row:
    case_id: str
    split: str
    doc_id: str
    section: str
    features: np.ndarray
    label: int


@dataclass(frozen=True)
class Outcome:
    threshold: float
    cases: int
    right: int
    wrong: int
    wrongful_refusals: int
    refused_right: int  # must-refuse (or nothing right to quote) and refused

    def share(self, n: int) -> float:
        return n / self.cases if self.cases else 0.0


def fitting_cases(cases: list[EvalCase]) -> list[EvalCase]:
    return [c for c in cases if split_of(c) in ("tuning", "dev") and c.expected_status in ("answered", "refused")]


def section_texts(chunks) -> dict[tuple[str, str], str]:
    texts: dict[tuple[str, str], list] = {}
    for chunk in sorted(chunks, key=lambda c: (c.doc_id, c.start)):
        texts.setdefault((chunk.doc_id, chunk.section), []).append(chunk.text)
    return {key: " ".join("\n".join(parts).split()) for key, parts in texts.items()}


def is_right(case: EvalCase, doc_id: str, section: str, text: str) -> bool:
    """As the evaluation judges an answer: at least half the expected facts (wherever they
    are written); a case without facts, by its expected sources."""
    if case.expected_status != "answered":
        return False
    if case.expected_facts:
        found = facts_found(case.expected_facts, text)
        return sum(found) * 2 >= len(found)
    return any(s.matches(doc_id, section) for s in case.expected_sources)


def collect(assistant, cases: list[EvalCase], progress=None) -> tuple[list[Row], dict[str, EvalCase]]:
    from assistant.answer_model import FEATURES

    texts = section_texts(assistant.retriever.chunks)
    rows: list[Row] = []
    used: dict[str, EvalCase] = {}
    for i, case in enumerate(cases):
        answer = assistant.ask(case.question, case.audience, case.history)
        if progress:
            progress("cases", i + 1, len(cases))
        decision = answer.decision
        if decision is None or decision.get("boundary"):
            continue  # decided before the answer stage: urgent, an override, personal advice
        used[case.id] = case
        for candidate in decision["candidates"]:
            key = (candidate["doc_id"], candidate["section"])
            features = np.array([candidate["features"][f] for f in FEATURES], dtype=np.float64)
            rows.append(Row(case.id, split_of(case), key[0], key[1], features,
                            int(is_right(case, key[0], key[1], texts.get(key, "")))))
    return rows, used


def fold_of(case_id: str) -> int:
    return int(hashlib.sha256(case_id.encode()).hexdigest(), 16) % FOLDS


def cross_validated(rows: list[Row]) -> np.ndarray:
    from assistant.triage import fit_logistic

    x = np.vstack([r.features for r in rows])
    y = np.array([r.label for r in rows], dtype=np.float64)
    folds = np.array([fold_of(r.case_id) for r in rows])
    p = np.zeros(len(rows))
    for k in range(FOLDS):
        train, test = folds != k, folds == k
        w = fit_logistic(x[train], y[train], l2=L2)
        p[test] = 1.0 / (1.0 + np.exp(-(x[test] @ w[:-1] + w[-1])))
    return p


def outcome(rows: list[Row], p: np.ndarray, cases: dict[str, EvalCase], threshold: float) -> Outcome:
    by_case: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_case.setdefault(row.case_id, []).append(i)
    right = wrong = wrongful = refused_right = 0
    for case_id, case in cases.items():
        members = by_case.get(case_id, [])
        best = max(members, key=lambda i: p[i]) if members else None
        answered = best is not None and p[best] >= threshold
        if answered and rows[best].label:
            right += 1
        elif answered:
            wrong += 1
        elif case.expected_status == "answered":
            wrongful += 1
        else:
            refused_right += 1
    return Outcome(threshold, len(cases), right, wrong, wrongful, refused_right)


def choose_threshold(outcomes: list[Outcome], target: float) -> Outcome:
    within = [o for o in outcomes if o.share(o.wrong) <= target]
    if not within:
        return max(outcomes, key=lambda o: o.threshold)
    return min(within, key=lambda o: (o.wrongful_refusals, o.threshold))


def write_data(rows: list[Row], path: Path) -> None:
    from assistant.answer_model import FEATURES

    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["case_id", "split", "doc_id", "section", *FEATURES, "label"])
        for r in rows:
            out.writerow([r.case_id, r.split, r.doc_id, r.section, *[f"{v:.4f}" for v in r.features], r.label])


def main(target: float = 0.05) -> int:
    from rich.console import Console
    from rich.table import Table

    from assistant.answer_model import FEATURES, AnswerModel
    from assistant.chain import Assistant
    from assistant.progress import progress_reporter
    from assistant.settings import load_settings
    from assistant.triage import fit_logistic

    from .cases import load_suite

    settings = load_settings(answer_mode="section")  # the mode the model decides for
    cases = fitting_cases(load_suite(None, settings.corpus_dir))
    assistant = Assistant.from_settings(settings)
    with progress_reporter() as progress:
        rows, used = collect(assistant, cases, progress)
    p = cross_validated(rows)
    outcomes = [outcome(rows, p, used, t) for t in THRESHOLDS]
    chosen = choose_threshold(outcomes, target)
    x = np.vstack([r.features for r in rows])
    y = np.array([r.label for r in rows], dtype=np.float64)
    weights = fit_logistic(x, y, l2=L2)
    model = AnswerModel(weights.astype(np.float64), chosen.threshold, {
        "fitted": dt.date.today().isoformat(), "command": "python -m eval answer-calibrate",
        "fitted_on": {"cases": len(used), "rows": len(rows), "right_rows": int(y.sum()),
                      "splits": sorted({r.split for r in rows}), "data": DATA_FILE.name},
        "target_wrong_rate": target, "l2": L2,
        "cross_validated": {"folds": FOLDS, "right": round(chosen.share(chosen.right), 4),
                            "wrong": round(chosen.share(chosen.wrong), 4),
                            "wrongful_refusals": round(chosen.share(chosen.wrongful_refusals), 4)},
    })
    import json

    MODEL_FILE.parent.mkdir(exist_ok=True)
    MODEL_FILE.write_text(json.dumps(model.to_json(), indent=1) + "\n", encoding="utf-8")
    write_data(rows, DATA_FILE)
    table = Table(title=f"Decision to answer, {FOLDS}-fold cross-validated on {len(used)} tuning and dev cases")
    for name in ("threshold", "right", "wrong", "wrongful refusals", "refused rightly"):
        table.add_column(name, justify="right")
    for o in outcomes[::5] + ([chosen] if chosen not in outcomes[::5] else []):
        table.add_row(f"{o.threshold:.2f}", f"{o.share(o.right):.1%}", f"{o.share(o.wrong):.1%}",
                      f"{o.share(o.wrongful_refusals):.1%}", f"{o.share(o.refused_right):.1%}",
                      style="bold green" if o == chosen else None)
    Console().print(table)
    print("coefficients: " + ", ".join(f"{f} {w:+.2f}" for f, w in zip(FEATURES, weights)) + f", bias {weights[-1]:+.2f}")
    print(f"threshold {chosen.threshold:.2f} (wrong answers within {target:.0%}); wrote {MODEL_FILE.relative_to(ROOT)} "
          f"and {DATA_FILE.relative_to(ROOT)}")
    return 0
