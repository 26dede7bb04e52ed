"""Running the golden cases through the assistant, and the quality gate.

Entry point: `evaluate(cases, settings, modes=..., ...) -> dict`, the JSON-ready results
(written as results.json; report.py renders the same dict). The assistant is the one the
web page uses, built once per retrieval mode by `assistant_factory(settings)`. A case whose
question makes the assistant raise is recorded as a failed case, not a crashed run.

The gate (`check_gate`) compares the summary with eval/thresholds.yaml (`min`/`max` per
metric) and with a baseline results.json (`tolerance`: the largest allowed drop, or rise
for lower-is-better metrics).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence

import yaml

from assistant.errors import UsageError
from assistant.records import Answer, Turn

from .cases import EvalCase
from .metrics import METRICS, CaseScore, by_audience, by_split, by_tag, facts_found, score_case, summarise

THRESHOLDS = Path(__file__).parent / "thresholds.yaml"
RESULTS_VERSION = 1
MODES = ("hybrid", "dense", "bm25")
Progress = Callable[[str, int, int], None]


class AssistantLike(Protocol):
    def ask(self, question: str, *, audience: str, history: Sequence[Turn] = ()) -> Answer: ...


@dataclass
class CaseResult:
    case: EvalCase
    answer: Answer | None
    score: CaseScore
    error: str | None = None
    asked_back: Answer | None = None  # the reply that asked which section was meant, when it was answered

    def to_json(self) -> dict:
        return {**self.case.to_json(),
                "answer": self.answer.to_json() if self.answer else None,
                "asked_back": self.asked_back.to_json() if self.asked_back else None,
                "error": self.error, "passed": self.score.passed, "score": self.score.to_json()}


class ChainFactory:
    """Builds the web page's `Assistant` per settings, loading the embedding model only once."""

    def __init__(self, embedder=None):
        self.embedder = embedder

    def __call__(self, settings) -> AssistantLike:
        try:
            from assistant.chain import Assistant
        except ImportError as exc:
            raise UsageError(f"the assistant chain cannot be imported ({exc}): is assistant/chain.py in place?") from None
        if self.embedder is None:
            from assistant.embedding import build_embedder

            self.embedder = build_embedder(settings)
        return Assistant.from_settings(settings, embedder=self.embedder)


def run_cases(cases: Sequence[EvalCase], assistant: AssistantLike, *, progress: Progress | None = None,
              stage: str = "eval") -> list[CaseResult]:
    progress = progress or (lambda stage, done, total: None)
    results = []
    progress(stage, 0, len(cases))
    for done, case in enumerate(cases, start=1):
        answer, error = None, None
        started = time.perf_counter()
        asked_back = None
        try:
            answer = assistant.ask(case.question, audience=case.audience, history=list(case.history))
            if answer.status == "clarify" and (reply := reader_reply(case, answer, assistant)) is not None:
                asked_back, answer = answer, reply
        except Exception as exc:  # record the failure, keep evaluating the other cases
            error = f"{type(exc).__name__}: {exc}"
            last = traceback.extract_tb(exc.__traceback__)[-1:]
            if last:
                error += f" (at {Path(last[0].filename).name}:{last[0].lineno})"
        if answer is not None and not answer.latency_ms:
            # The chain measures its own latency; a fake or older chain may not.
            answer = _with_latency(answer, (time.perf_counter() - started) * 1000)
        score = score_case(case, answer, error)
        score.asked_back = asked_back is not None or (answer is not None and answer.status == "clarify")
        if answer is not None and answer.status == "clarify":
            score.reasons.insert(0, "asked back: none of the sections offered holds an expected source")
        results.append(CaseResult(case, answer, score, error, asked_back))
        progress(stage, done, len(cases))
    return results


def reader_reply(case: EvalCase, answer: Answer, assistant: AssistantLike) -> Answer | None:
    """The answer a reader who knows what they meant gets to "which of these do you mean?": they
    reply with the number of the first section offered (`decision["clarify"]`) that is one of
    the case's expected sources, or else of the first whose answer holds every expected fact (the
    heading that answers their question). None when no section offered is either: a question to
    refuse has none, and the case is scored on the question back."""
    options = (answer.decision or {}).get("clarify") or []
    history = [*case.history, Turn("user", case.question), Turn("assistant", answer.answer)]

    def reply(n: int) -> Answer:
        return assistant.ask(str(n), audience=case.audience, history=history)

    expected = next((n for n, option in enumerate(options, 1)
                     if any(s.matches(option["doc_id"], option["section"]) for s in case.expected_sources)), None)
    if expected is not None:
        return reply(expected)
    if case.expected_status != "answered" or not case.expected_facts:
        return None
    replies = (reply(n) for n in range(1, len(options) + 1))
    return next((a for a in replies if all(facts_found(case.expected_facts, a.answer))), None)


def _with_latency(answer: Answer, latency_ms: float) -> Answer:
    from dataclasses import replace

    return replace(answer, latency_ms=latency_ms)


def summarise_run(results: Sequence[CaseResult]) -> dict:
    pairs = [(r.case, r.score) for r in results]
    return {"summary": summarise(pairs), "by_tag": by_tag(pairs), "by_audience": by_audience(pairs),
            "by_split": by_split(pairs)}


def describe(settings) -> dict:
    """The configuration a run used, as shown in the report."""
    names = ("retrieval_mode", "top_k", "chunk_tokens", "chunk_overlap_tokens", "corpus_dir",
             "index_dir", "chroma_url", "collection", "llm_model")
    config = {}
    for name in names:
        value = getattr(settings, name, None)
        config[name] = str(value) if isinstance(value, Path) else value
    config["backend"] = "generative" if getattr(settings, "llm_base_url", "") else "grounded"
    return config


def evaluate(cases: Sequence[EvalCase], settings, *, modes: Sequence[str] | None = None,
             assistant_factory: Callable[[object], AssistantLike] | None = None,
             thresholds: dict | None = None, baseline: dict | None = None, baseline_path: str | None = None,
             suites: Sequence[str] = (), progress: Progress | None = None) -> dict:
    """Run every mode (default: the settings' own), score, gate the gated mode; JSON-ready dict."""
    modes = list(modes or [settings.retrieval_mode])
    assistant_factory = assistant_factory or ChainFactory()
    gated = settings.retrieval_mode if settings.retrieval_mode in modes else modes[0]
    runs: dict[str, dict] = {}
    assistants: dict[str, AssistantLike] = {}
    for mode in modes:
        mode_settings = settings.model_copy(update={"retrieval_mode": mode})
        assistant = assistants[mode] = assistant_factory(mode_settings)
        results = run_cases(cases, assistant, progress=progress, stage=f"eval {mode}")
        runs[mode] = {"config": describe(mode_settings), "results": results, **summarise_run(results)}

    main = runs[gated]
    triager = getattr(assistants[gated], "triager", None)
    if hasattr(triager, "classifier_state"):
        main["config"]["triage_classifier"] = triager.classifier_state()
    documents, soon = corpus_documents(settings, assistants[gated])
    thresholds = load_thresholds() if thresholds is None else thresholds
    baseline_metrics = (baseline or {}).get("summary", {}).get("metrics") if baseline else None
    checks = check_gate(main["summary"]["metrics"], thresholds, baseline_metrics)
    return {
        "version": RESULTS_VERSION,
        "created_at": dt.datetime.now().isoformat(timespec="seconds"),
        "suites": list(suites),
        "config": main["config"],
        "summary": main["summary"],
        "by_tag": main["by_tag"],
        "by_audience": main["by_audience"],
        "by_split": main["by_split"],
        "gate": {"applied_to": gated, "passed": all(c["passed"] for c in checks), "checks": checks},
        "baseline": {"path": baseline_path, "created_at": (baseline or {}).get("created_at"),
                     "metrics": baseline_metrics} if baseline_metrics else None,
        "compare": [{"retrieval_mode": mode, "config": run["config"], "summary": run["summary"],
                     "by_audience": run["by_audience"],
                     "failed": [r.case.id for r in run["results"] if not r.score.passed]}
                    for mode, run in runs.items()] if len(runs) > 1 else None,
        "documents": documents,
        "due_soon": soon,
        "cases": [r.to_json() for r in main["results"]],
    }


def corpus_documents(settings, assistant) -> tuple[list[dict], list[dict]]:
    """Every indexed document (id, title, audience, version, owner, review date, chunks) and
    those whose review falls within the warning window, for the report."""
    from assistant.indexing import due_soon
    from assistant.loading import load_corpus

    corpus = Path(getattr(settings, "corpus_dir", "corpus"))
    if not corpus.is_dir():
        return [], []
    loaded = load_corpus(corpus)
    counts: dict[str, int] = {}
    for chunk in getattr(getattr(assistant, "retriever", None), "chunks", None) or ():
        counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1
    documents = [{"doc_id": d.meta.id, "title": d.meta.title, "audience": d.meta.audience, "version": d.meta.version,
                  "owner": d.meta.owner, "review_due": d.meta.review_due.isoformat(), "chunks": counts.get(d.meta.id, 0)}
                 for d in sorted(loaded.documents, key=lambda d: d.meta.id)]
    window = getattr(settings, "review_warning_days", 60)
    return documents, [s.to_json() for s in due_soon(loaded.documents, window)]


# -- the gate ----------------------------------------------------------------------------------
def load_thresholds(path: Path = THRESHOLDS) -> dict:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise UsageError(f"thresholds file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"invalid YAML in {path}: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected 'metric: {{min: ..., tolerance: ...}}' lines")
    for name, rule in data.items():
        if name not in METRICS:
            raise UsageError(f"{path}: unknown metric '{name}' (known: {', '.join(METRICS)})")
        if not isinstance(rule, dict) or set(rule) - {"min", "max", "tolerance"}:
            raise UsageError(f"{path}: '{name}' must be {{min: NUMBER, max: NUMBER, tolerance: NUMBER}}")
        for key, value in rule.items():
            if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
                raise UsageError(f"{path}: '{name}.{key}' must be a number, got {value!r}")
    return data


def load_baseline(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"baseline file not found: {path} (pass a results.json from an earlier run)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"baseline {path} is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("summary", {}).get("metrics"), dict):
        raise UsageError(f"baseline {path} is not a results.json written by `python -m eval run`")
    return data


def check_gate(metrics: dict, thresholds: dict, baseline: dict | None = None) -> list[dict]:
    """One check per gated metric: {metric, value, baseline, min, max, tolerance, passed, why}."""
    checks = []
    for name, rule in thresholds.items():
        value = metrics.get(name)
        before = (baseline or {}).get(name)
        check = {"metric": name, "value": value, "baseline": before, "min": rule.get("min"),
                 "max": rule.get("max"), "tolerance": rule.get("tolerance"), "passed": True, "why": ""}
        why = []
        if value is None:
            check["why"] = "not measured (no case of this kind in the suite)"
            checks.append(check)
            continue
        if check["min"] is not None and value < check["min"] - 1e-9:
            why.append(f"{_fmt(name, value)} is below the minimum {_fmt(name, check['min'])}")
        if check["max"] is not None and value > check["max"] + 1e-9:
            why.append(f"{_fmt(name, value)} is above the maximum {_fmt(name, check['max'])}")
        tolerance = check["tolerance"]
        if tolerance is not None and before is not None:
            change = (before - value) if METRICS[name].higher_is_better else (value - before)
            if change > tolerance + 1e-9:
                word = "dropped" if METRICS[name].higher_is_better else "rose"
                why.append(f"{word} by {_fmt(name, change)} vs the baseline {_fmt(name, before)} "
                           f"(tolerance {_fmt(name, tolerance)})")
        check["passed"], check["why"] = not why, "; ".join(why)
        checks.append(check)
    return checks


def _fmt(name: str, value: float) -> str:
    return f"{value:.0f} ms" if METRICS[name].unit == "ms" else f"{value:.3f}"
