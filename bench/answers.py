"""What section answers cost a question: warm latency in `section` mode (the default) and in
the earlier `sentences` mode, side by side.

    .venv/bin/python -m bench.answers [--quick | --full] [--questions N] [--passes N]

One process builds one `Assistant` on the real index (`from_settings`) and asks each chosen
golden question (with its audience and history) in both modes, in an order that alternates
per question, so the machine's load hits both alike. Section mode reads the sentence,
heading and phrasing vectors saved at ingest, so a question costs one encode and a matrix
product more than retrieval; the goal is a warm p95 of at most 100 ms. A third arm, section mode
without the scope classifier (scope.py: the message's layers, read from the pass that gives its
vectors), says what that classifier costs, in the same run. Also reported: the start-up
cost of loading the saved units against rebuilding them (embedding every sentence).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

from .common import log, machine, paired_ratios, question_passes, summary, write_result
from .latency import pick

GOAL_P95_MS = 100.0


def run(questions: int | None, passes: int) -> dict:
    from assistant.chain import Assistant
    from assistant.indexing import saved_folder
    from assistant.settings import load_settings
    from assistant.units import build_units, load_units

    from . import parts

    settings = load_settings()
    served = Assistant.from_settings(settings)
    retriever = served.retriever
    started = time.perf_counter()
    load_units(saved_folder(settings), retriever.generation, retriever.chunks, retriever.index_embedder)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    build_units(retriever.chunks, retriever.index_embedder)
    build_s = time.perf_counter() - started
    cases = pick(parts.golden_cases(), questions)
    served.ask("when can I drive again?")  # warm-up, as app.py does
    with_scope, without_scope = served.model, replace(served.model, scope=None)
    arms = ("section", "sentences", "section_without_scope")
    timings: dict[str, list[float]] = {arm: [] for arm in arms}
    for p in range(passes):
        for i, case in enumerate(cases):
            for arm in arms[(i + p) % 3:] + arms[:(i + p) % 3]:
                served.answer_mode = "sentences" if arm == "sentences" else "section"
                served.model = without_scope if arm == "section_without_scope" else with_scope
                t = time.perf_counter()
                served.ask(case.question, audience=case.audience, history=list(case.history))
                timings[arm].append((time.perf_counter() - t) * 1000)
    served.answer_mode, served.model = "section", with_scope
    section, sentences = summary(timings["section"]), summary(timings["sentences"])
    return {"questions": len(cases), "passes": passes, "units": int(len(retriever.units.chunk_row)),
            "units_load_s": round(load_s, 3), "units_build_s": round(build_s, 2),
            "section_ms": section, "sentences_ms": sentences,
            "section_without_scope_ms": summary(timings["section_without_scope"]),
            "scope_median_ratio": round(statistics.median(paired_ratios(timings["section"],
                                                                        timings["section_without_scope"])), 3),
            "median_ratio": round(statistics.median(paired_ratios(timings["section"], timings["sentences"])), 3),
            "goal_p95_ms": GOAL_P95_MS, "goal_met": section["p95"] <= GOAL_P95_MS}


def main(argv=None) -> int:
    mode, questions, passes = question_passes(argv, "python -m bench.answers", __doc__.split("\n\n")[0])
    started, before = time.perf_counter(), machine()
    results = run(questions, passes)
    path = write_result("answers", mode, results, started=started, machine_before=before)
    log(f"answers: p95 {results['section_ms']['p95']:.1f} ms in section mode, {results['sentences_ms']['p95']:.1f} ms "
        f"in sentences mode, {results['section_without_scope_ms']['p95']:.1f} ms in section mode without the scope "
        f"classifier (goal at most {GOAL_P95_MS:.0f}); units loaded in {results['units_load_s']} s, "
        f"rebuilt in {results['units_build_s']} s; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
