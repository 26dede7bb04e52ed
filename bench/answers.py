"""What section answers cost a question: warm latency in `section` mode (the default) and in
the earlier `sentences` mode, side by side.

    .venv/bin/python -m bench.answers [--quick | --full] [--questions N] [--passes N]

One process builds one `Assistant` on the real index (`from_settings`) and asks each chosen
golden question (with its audience and history) in both modes, in an order that alternates
per question, so the machine's load hits both alike. Section mode reads the sentence,
heading and phrasing vectors saved at ingest, so a question costs one encode and a matrix
product more than retrieval; the goal is a warm p95 of at most 100 ms. Also reported: the
start-up cost of loading the saved units against rebuilding them (embedding every sentence).
"""

from __future__ import annotations

import statistics
import time

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
    timings: dict[str, list[float]] = {"section": [], "sentences": []}
    for p in range(passes):
        for i, case in enumerate(cases):
            order = ("section", "sentences") if (i + p) % 2 == 0 else ("sentences", "section")
            for mode in order:
                served.answer_mode = mode
                t = time.perf_counter()
                served.ask(case.question, audience=case.audience, history=list(case.history))
                timings[mode].append((time.perf_counter() - t) * 1000)
    served.answer_mode = "section"
    section, sentences = summary(timings["section"]), summary(timings["sentences"])
    return {"questions": len(cases), "passes": passes, "units": int(len(retriever.units.chunk_row)),
            "units_load_s": round(load_s, 3), "units_build_s": round(build_s, 2),
            "section_ms": section, "sentences_ms": sentences,
            "median_ratio": round(statistics.median(paired_ratios(timings["section"], timings["sentences"])), 3),
            "goal_p95_ms": GOAL_P95_MS, "goal_met": section["p95"] <= GOAL_P95_MS}


def main(argv=None) -> int:
    mode, questions, passes = question_passes(argv, "python -m bench.answers", __doc__.split("\n\n")[0])
    started, before = time.perf_counter(), machine()
    results = run(questions, passes)
    path = write_result("answers", mode, results, started=started, machine_before=before)
    log(f"answers: p95 {results['section_ms']['p95']:.1f} ms in section mode, {results['sentences_ms']['p95']:.1f} ms "
        f"in sentences mode (goal at most {GOAL_P95_MS:.0f}); units loaded in {results['units_load_s']} s, "
        f"rebuilt in {results['units_build_s']} s; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
