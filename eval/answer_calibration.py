"""Fitting the decision to answer: `python -m eval answer-calibrate`.

Runs the tuning and dev cases (of the golden and pending case files; never held-out or sealed
ones) through the assistant and collects, for each case, every candidate section it weighed
(`Answer.decision`) with its features (assistant/answer_model.py). A candidate is a right
answer when its text holds at least half the expected facts (as the evaluation judges an answer).

Two logistic regressions, each cross-validated five ways by case: the ranker (is this
section the answer?) and the decision (is the ranker's first section a right answer, or
should the question be refused?), which reads the ranker's verdict and how well the
question is covered. The threshold is chosen on the cross-validated decisions: the one that
costs least, a confident wrong answer counting `--wrong-cost` times a wrongful refusal
(default 2), among those that let through at most `--max-wrong` wrong answers (default 1:
no cap). The decision is fitted on the ranker's first section; at run time it reads the first
CHOOSE_AMONG each as chosen and quotes its likeliest (`AnswerModel.choose`), which the
cross-validated figures here do not include (the evaluation's do).

Then the scope classifier (assistant/scope.py): a logistic regression over each tuning and dev
message's layer means, must refuse = 1, with each case's out-of-fold probability (fitted without
its case file's fold: one file's questions share a writer and a style). Its threshold is chosen
on the same cross-validated decisions, at the chosen threshold: the one of `SCOPE_GATES` that
costs least when a case it reaches is refused (ties to the higher: refuse by meaning alone only
where it pays). `--keep-decision` fits the scope classifier alone and keeps the saved ranker,
decision and threshold (its gate chosen on decisions cross-validated as above, at the saved
threshold). Writes calibration/answer-model.json (coefficients, thresholds, the figures they
gave), calibration/answer-data.csv (the ranker's and decision's rows; not with
`--keep-decision`) and calibration/answer-scope-data.csv (each case, its label and its
out-of-fold probability).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .cases import EvalCase
from .metrics import facts_found, split_of

ROOT = Path(__file__).resolve().parent.parent
MODEL_FILE = ROOT / "calibration" / "answer-model.json"
DATA_FILE = ROOT / "calibration" / "answer-data.csv"
SCOPE_DATA_FILE = ROOT / "calibration" / "answer-scope-data.csv"
FOLDS = 5
# The scope classifier's regularisation: the strongest of 0.01, 0.1 and 1 (2,304 layer features)
# caught the most must-refuse questions for the fewest answerable ones refused, cross-validated by
# case file on the tuning and dev cases (twenty-seventh session, BENCHMARKS.md).
SCOPE_C = 0.01
SCOPE_GATES = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
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
    similarity: float = 0.0  # of the case (the same on each of its rows)
    coverage: float = 0.0
    unknown: bool = False
    rule: bool = False  # the hand-set evidence rule's verdict


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
        evidence = decision["evidence"]
        for candidate in decision["candidates"]:
            key = (candidate["doc_id"], candidate["section"])
            features = np.array([candidate["features"][f] for f in FEATURES], dtype=np.float64)
            rows.append(Row(case.id, split_of(case), key[0], key[1], features,
                            int(is_right(case, key[0], key[1], texts.get(key, ""))),
                            evidence["similarity"], evidence["coverage"], bool(decision["unknown_words"]),
                            bool(evidence["rule"])))
    return rows, used


def fold_of(key: str) -> int:
    """The fold of a case id (the ranker and decision), or of a case file (the scope classifier)."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % FOLDS


def fit_scope(embedder, cases: list[EvalCase], progress=None):
    """The scope classifier fitted on every case (must refuse = 1; its threshold 1.0 until
    `choose_gate` sets it), and each case's out-of-fold probability by case id (fitted without
    its case file's fold)."""
    from assistant.chain import normalise_question
    from assistant.embedding import read_message
    from assistant.scope import Scope
    from assistant.triage import meaning_texts

    from .triage_veto import fit as fit_layers
    from .triage_veto import probability

    rows = []
    for i, case in enumerate(cases):  # as the chain reads a message: its sentences and its whole, in one pass
        rows.append(read_message(embedder, meaning_texts(normalise_question(case.question)))[1])
        if progress and (i % 50 == 0 or i == len(cases) - 1):
            progress("message layers", i + 1, len(cases))
    x = np.vstack(rows)
    y = np.array([c.expected_status == "refused" for c in cases], dtype=np.float64)
    # By case file: one file's questions share a writer and a style, so it is judged on files it never saw.
    folds = np.array([fold_of(c.file) for c in cases])
    oof = np.zeros(len(cases))
    for k in range(FOLDS):
        if (folds == k).any():
            train = folds != k
            oof[folds == k] = probability(fit_layers(x[train], y[train], SCOPE_C), x[folds == k]) \
                if len(set(y[train])) == 2 else y[train].mean()
    weights, bias, mean, scale = fit_layers(x, y, SCOPE_C)
    return Scope(weights.astype(np.float32), bias, mean.astype(np.float32), scale.astype(np.float32), embedder.name,
                 1.0), {c.id: float(p) for c, p in zip(cases, oof)}


def fit(x: np.ndarray, y: np.ndarray, names) -> "Logistic":
    """Standardised features (so one l2 suits all), then L2-regularised logistic regression."""
    from assistant.answer_model import Logistic
    from assistant.triage import fit_logistic

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    w = fit_logistic((x - mean) / scale, y, l2=L2).astype(np.float64)
    return Logistic(tuple(names), w[:-1], float(w[-1]), mean, scale)


def by_case(rows: list[Row]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        out.setdefault(row.case_id, []).append(i)
    return out


def decision_rows(rows: list[Row], p: np.ndarray, cases: dict[str, EvalCase]):
    """Per case: the decision features of the ranker's first section, and whether it is right."""
    from types import SimpleNamespace

    from assistant.answer_model import FEATURES, Ranked, decision_features

    groups = by_case(rows)
    ids, x, y = [], [], []
    for case_id in cases:
        members = groups.get(case_id, [])
        if not members:
            continue
        order = sorted(members, key=lambda i: -p[i])
        ranked = [Ranked(p[i], None, dict(zip(FEATURES, rows[i].features))) for i in order]
        first = rows[order[0]]
        evidence = SimpleNamespace(similarity=first.similarity, coverage=first.coverage, enough=first.rule)
        x.append(decision_features(ranked, evidence, first.unknown))
        y.append(first.label)
        ids.append(case_id)
    return ids, np.array(x), np.array(y, dtype=np.float64)


def cross_validated(rows: list[Row], cases: dict[str, EvalCase]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Out-of-fold ranker probabilities, then out-of-fold decision probabilities per case."""
    from assistant.answer_model import DECISION_FEATURES, FEATURES

    x = np.vstack([r.features for r in rows])
    y = np.array([r.label for r in rows], dtype=np.float64)
    folds = np.array([fold_of(r.case_id) for r in rows])
    p = np.zeros(len(rows))
    for k in range(FOLDS):
        p[folds == k] = fit(x[folds != k], y[folds != k], FEATURES).probability(x[folds == k])
    ids, dx, dy = decision_rows(rows, p, cases)
    dfolds = np.array([fold_of(i) for i in ids])
    q = np.zeros(len(ids))
    for k in range(FOLDS):
        q[dfolds == k] = fit(dx[dfolds != k], dy[dfolds != k], DECISION_FEATURES).probability(dx[dfolds == k])
    return ids, q, dy


def gated(ids: list[str], q: np.ndarray, refuse_like: dict[str, float], gate: float) -> np.ndarray:
    """The decisions `q` with every case the scope classifier gives at least `gate` refused."""
    return np.where(np.array([refuse_like.get(i, 0.0) for i in ids]) >= gate, 0.0, q)


def choose_gate(ids: list[str], q: np.ndarray, right: np.ndarray, cases: dict[str, EvalCase], threshold: float,
                refuse_like: dict[str, float], wrong_cost: float) -> list[tuple[float, Outcome]]:
    """Each of SCOPE_GATES with its outcome at `threshold`, the chosen one first: the cheapest,
    ties to the higher gate."""
    scored = [(g, outcome(ids, gated(ids, q, refuse_like, g), right, cases, threshold)) for g in SCOPE_GATES]
    best = min(scored, key=lambda go: (wrong_cost * go[1].wrong + go[1].wrongful_refusals, -go[0]))
    return [best] + [go for go in scored if go is not best]


def outcome(ids: list[str], q: np.ndarray, right: np.ndarray, cases: dict[str, EvalCase], threshold: float) -> Outcome:
    answered = {i: (q[n] >= threshold, bool(right[n])) for n, i in enumerate(ids)}
    n_right = n_wrong = wrongful = refused_right = 0
    for case_id, case in cases.items():
        gave, good = answered.get(case_id, (False, False))
        if gave and good:
            n_right += 1
        elif gave:
            n_wrong += 1
        elif case.expected_status == "answered":
            wrongful += 1
        else:
            refused_right += 1
    return Outcome(threshold, len(cases), n_right, n_wrong, wrongful, refused_right)


def choose_threshold(outcomes: list[Outcome], wrong_cost: float, max_wrong: float = 1.0) -> Outcome:
    """The cheapest of those with at most `max_wrong` wrong answers (the highest threshold when
    none has so few): a confident wrong answer costs `wrong_cost` wrongful refusals; ties go to
    the higher threshold (when in doubt, refuse)."""
    allowed = [o for o in outcomes if o.share(o.wrong) <= max_wrong] or [max(outcomes, key=lambda o: o.threshold)]
    return min(allowed, key=lambda o: (wrong_cost * o.wrong + o.wrongful_refusals, -o.threshold))


def shares(o: Outcome) -> dict[str, float]:
    return {"right": round(o.share(o.right), 4), "wrong": round(o.share(o.wrong), 4),
            "wrongful_refusals": round(o.share(o.wrongful_refusals), 4)}


def outcome_table(title: str, rows: list[tuple[str, Outcome]], chosen: Outcome):
    from rich.table import Table

    table = Table(title=title)
    for name in ("threshold", "right", "wrong", "wrongful refusals", "refused rightly"):
        table.add_column(name, justify="right")
    for label, o in rows:
        table.add_row(label, f"{o.share(o.right):.1%}", f"{o.share(o.wrong):.1%}", f"{o.share(o.wrongful_refusals):.1%}",
                      f"{o.share(o.refused_right):.1%}", style="bold green" if o is chosen else None)
    return table


def write_data(rows: list[Row], path: Path) -> None:
    from assistant.answer_model import FEATURES

    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["case_id", "split", "doc_id", "section", *FEATURES, "similarity", "coverage", "unknown_words",
                      "evidence_rule", "label"])
        for r in rows:
            out.writerow([r.case_id, r.split, r.doc_id, r.section, *[f"{v:.4f}" for v in r.features],
                          f"{r.similarity:.4f}", f"{r.coverage:.4f}", int(r.unknown), int(r.rule), r.label])


def write_scope_data(cases: list[EvalCase], refuse_like: dict[str, float], path: Path) -> None:
    """What the scope classifier was fitted on: each case, its label and out-of-fold probability."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["case_id", "file", "must_refuse", "refuse_like_out_of_fold"])
        for c in cases:
            out.writerow([c.id, c.file, int(c.expected_status == "refused"), f"{refuse_like[c.id]:.4f}"])


def main(wrong_cost: float = 2.0, max_wrong: float = 1.0, keep_decision: bool = False) -> int:
    import json

    from rich.console import Console

    from assistant.answer_model import DECISION_FEATURES, FEATURES, AnswerModel
    from assistant.chain import Assistant
    from assistant.errors import UsageError
    from assistant.progress import progress_reporter
    from assistant.settings import load_settings

    from .cases import default_suites, load_suite, pending_suites

    settings = load_settings(answer_mode="section")  # the mode the model decides for
    # Golden and pending case files alike: their dev halves are fitted on, their held-out halves never.
    cases = fitting_cases(load_suite(default_suites() + pending_suites(), settings.corpus_dir))
    if keep_decision:
        saved = AnswerModel.load(settings.answer_model_file)  # a clear error when there is none to keep
    else:
        try:
            saved = AnswerModel.load(settings.answer_model_file)
        except UsageError:  # made for other features: describe the sections without it
            saved = AnswerModel.blank()
    # The cases as the saved decision alone treats them (the scope classifier is fitted apart).
    assistant = Assistant.from_settings(settings, model=replace(saved, scope=None))
    with progress_reporter() as progress:
        rows, used = collect(assistant, cases, progress)
        scope, refuse_like = fit_scope(assistant.embedder, cases, progress)
    ids, q, right = cross_validated(rows, used)
    outcomes = [outcome(ids, q, right, used, t) for t in THRESHOLDS]
    chosen = min(outcomes, key=lambda o: abs(o.threshold - saved.threshold)) if keep_decision \
        else choose_threshold(outcomes, wrong_cost, max_wrong)
    gates = choose_gate(ids, q, right, used, chosen.threshold, refuse_like, wrong_cost)
    gate, gated_outcome = gates[0]
    scope = replace(scope, threshold=gate)
    scope_info = {"C": SCOPE_C, "cases": len(cases), "must_refuse": sum(c.expected_status == "refused" for c in cases),
                  "folds": f"{FOLDS}, by case file", "data": SCOPE_DATA_FILE.name,
                  "cross_validated": {"threshold": gate, **shares(gated_outcome)}}
    console = Console()
    if keep_decision:
        model = replace(saved, scope=scope, info={**saved.info, "scope_fitted": dt.date.today().isoformat(),
                                                  "scope_command": "python -m eval answer-calibrate --keep-decision",
                                                  "scope_fitted_on": scope_info})
    else:
        x = np.vstack([r.features for r in rows])
        y = np.array([r.label for r in rows], dtype=np.float64)
        ranker = fit(x, y, FEATURES)
        _, dx, dy = decision_rows(rows, ranker.probability(x), used)
        decision = fit(dx, dy, DECISION_FEATURES)
        model = AnswerModel(ranker, decision, chosen.threshold, scope=scope, info={
            "fitted": dt.date.today().isoformat(), "command": "python -m eval answer-calibrate",
            "fitted_on": {"cases": len(used), "rows": len(rows), "right_rows": int(y.sum()),
                          "splits": sorted({r.split for r in rows}), "data": DATA_FILE.name},
            "wrong_cost": wrong_cost, **({"max_wrong": max_wrong} if max_wrong < 1 else {}), "l2": L2,
            "cross_validated": {"folds": FOLDS, **shares(chosen)},
            "scope_fitted_on": scope_info,
        })
        write_data(rows, DATA_FILE)
        shown = outcomes[::5] + ([chosen] if chosen not in outcomes[::5] else [])
        console.print(outcome_table(f"Decision to answer, {FOLDS}-fold cross-validated on {len(used)} tuning and dev "
                                    "cases", [(f"{o.threshold:.2f}", o) for o in shown], chosen))
        print("ranker: " + ", ".join(f"{f} {w:+.2f}" for f, w in zip(FEATURES, ranker.weights)))
        print("decision: " + ", ".join(f"{f} {w:+.2f}" for f, w in zip(DECISION_FEATURES, decision.weights)))
    MODEL_FILE.parent.mkdir(exist_ok=True)
    MODEL_FILE.write_text(json.dumps(model.to_json(), indent=1) + "\n", encoding="utf-8")
    write_scope_data(cases, refuse_like, SCOPE_DATA_FILE)
    console.print(outcome_table(f"Scope classifier: cases it gives at least the threshold refused (decisions at "
                                f"{chosen.threshold:.2f}, cross-validated; its probability out-of-fold by case file)",
                                [("none" if g >= 1.0 else f"{g:.2f}", o) for g, o in sorted(gates, key=lambda go: go[0])],
                                gated_outcome))
    print(f"threshold {chosen.threshold:.2f}" + (" (kept)" if keep_decision else
          f" (a wrong answer costs {wrong_cost:g} refusals" + (f"; at most {max_wrong:.0%} wrong answers" if max_wrong < 1
                                                               else "") + ")")
          + f"; scope threshold {gate:g}; wrote {MODEL_FILE.relative_to(ROOT)}"
          + ("" if keep_decision else f", {DATA_FILE.relative_to(ROOT)}") + f" and {SCOPE_DATA_FILE.relative_to(ROOT)}")
    return 0
