"""What triage's meaning net costs a question: warm latency with it and without it, side by side.

    .venv/bin/python -m bench.triage [--quick | --full] [--questions N] [--passes N]

One process builds one `Assistant` on the real index (the web page's own, `from_settings`)
and asks each chosen golden question (with its audience and history) twice in a row, in an
order that alternates per question: once as served (both triage nets: the message's
sentences are encoded and compared with the red-flag examples), once with the rules net
alone (a `Triager` without the model, so the chain encodes only the search text, as it did
before the meaning net). Paired like this, the machine's load hits both alike. Reported:
p50 and p95 of each, the p95 difference (goal: at most 10 ms), and the median per-question
ratio. Also the start-up cost of the red-flag file (embedding its examples, fitting the
classifier).
"""

from __future__ import annotations

import statistics
import time

from .common import log, machine, paired_ratios, question_passes, summary, write_result
from .latency import pick

GOAL_EXTRA_P95_MS = 10.0


def run(questions: int | None, passes: int) -> dict:
    from assistant.chain import Assistant
    from assistant.settings import load_settings
    from assistant.triage import Triager

    from . import parts

    settings = load_settings()
    served = Assistant.from_settings(settings)
    started = time.perf_counter()
    Triager.from_file(settings.red_flags_file, served.embedder)
    startup_s = time.perf_counter() - started
    rules_only = Triager.from_file(settings.red_flags_file)  # no model: the rules net alone
    both_nets = served.triager
    cases = pick(parts.golden_cases(), questions)
    served.ask("when can I drive again?")  # warm-up, as app.py does
    timings: dict[str, list[float]] = {"both nets": [], "rules only": []}
    for p in range(passes):
        for i, case in enumerate(cases):
            order = ("both nets", "rules only") if (i + p) % 2 == 0 else ("rules only", "both nets")
            for name in order:
                served.triager = both_nets if name == "both nets" else rules_only
                t = time.perf_counter()
                served.ask(case.question, audience=case.audience, history=list(case.history))
                timings[name].append((time.perf_counter() - t) * 1000)
    served.triager = both_nets
    both, rules = summary(timings["both nets"]), summary(timings["rules only"])
    extra = both["p95"] - rules["p95"]
    return {"questions": len(cases), "passes": passes, "startup_red_flags_s": round(startup_s, 2),
            "both_nets_ms": both, "rules_only_ms": rules, "extra_p95_ms": round(extra, 1),
            "median_ratio": round(statistics.median(paired_ratios(timings["both nets"], timings["rules only"])), 3),
            "goal_extra_p95_ms": GOAL_EXTRA_P95_MS, "goal_met": extra <= GOAL_EXTRA_P95_MS}


def main(argv=None) -> int:
    mode, questions, passes = question_passes(argv, "python -m bench.triage", __doc__.split("\n\n")[0])
    started, before = time.perf_counter(), machine()
    results = run(questions, passes)
    path = write_result("triage", mode, results, started=started, machine_before=before)
    log(f"triage: p95 {results['both_nets_ms']['p95']:.1f} ms with both nets, {results['rules_only_ms']['p95']:.1f} ms "
        f"with rules only (+{results['extra_p95_ms']} ms; goal at most {GOAL_EXTRA_P95_MS:.0f}); wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
