"""What triage costs a question: warm latency with it, with its rules alone and without it, side by side.

    .venv/bin/python -m bench.triage [--quick | --full] [--questions N] [--passes N]

One process builds one `Assistant` on the real index (the web page's own, `from_settings`)
and asks each chosen golden question (with its audience and history) four times in a row,
in an order that rotates per question:
- as served: both triage nets (the message's sentences are encoded and compared with the
  red-flag examples; a long message's whole vector, which is also its search vector, is pooled
  from them), and a flag of the meaning net alone read again by the message classifier
  (`triage_veto`);
- both nets, no message classifier;
- the rules net alone (a `Triager` without the model, so the chain encodes only the whole
  message);
- no triage at all (a `Triager` that reads nothing: what the answer alone costs, one encode of
  the whole message).
Interleaved like this, the machine's load hits all four alike. Reported: p50 and p95 of each;
what triage adds to p95 (served against none: the goal, at most 10 ms), what its rules net adds
(rules alone against none: about 0 since the forty-first session, +3.5 to +7 ms before it), what
its meaning net adds (served against rules alone) and what the message classifier adds; the median
per-question ratios. Also the start-up cost of the red-flag file (embedding its examples,
fitting the reports-or-questions classifier, reading the message classifier).
"""

from __future__ import annotations

import statistics
import time

from .common import log, machine, paired_ratios, question_passes, summary, write_result
from .latency import pick

GOAL_EXTRA_P95_MS = 10.0


def _no_triage(red_flags_file):
    """A `Triager` that reads nothing: no red flag, no "how someone is now", no encode."""
    from assistant.records import Triage
    from assistant.triage import Triager

    class NoTriage(Triager):
        def assess(self, message, vectors=None, audience="patient", layers=None):
            return Triage(False, reason="triage off (benchmark)")

        def describes_now(self, message):
            return False

    return NoTriage.from_file(red_flags_file)


def run(questions: int | None, passes: int) -> dict:
    from assistant.chain import Assistant
    from assistant.settings import load_settings
    from assistant.triage import Triager

    from . import parts

    settings = load_settings()
    served = Assistant.from_settings(settings)
    started = time.perf_counter()
    Triager.from_file(settings.red_flags_file, served.embedder, settings.triage_veto_file)
    startup_s = time.perf_counter() - started
    triagers = {"both nets": served.triager,
                "nets, no classifier": Triager.from_file(settings.red_flags_file, served.embedder, None),
                "rules only": Triager.from_file(settings.red_flags_file),  # no model: the rules net alone
                "no triage": _no_triage(settings.red_flags_file)}
    names = tuple(triagers)
    cases = pick(parts.golden_cases(), questions)
    served.ask("when can I drive again?")  # warm-up, as app.py does
    timings: dict[str, list[float]] = {name: [] for name in names}
    for p in range(passes):
        for i, case in enumerate(cases):
            turn = (i + p) % len(names)
            for name in names[turn:] + names[:turn]:
                served.triager = triagers[name]
                t = time.perf_counter()
                served.ask(case.question, audience=case.audience, history=list(case.history))
                timings[name].append((time.perf_counter() - t) * 1000)
    served.triager = triagers["both nets"]
    both, unvetoed, rules, none = (summary(timings[name]) for name in names)
    extra = both["p95"] - none["p95"]
    return {"questions": len(cases), "passes": passes, "startup_red_flags_s": round(startup_s, 2),
            "both_nets_ms": both, "without_classifier_ms": unvetoed, "rules_only_ms": rules, "no_triage_ms": none,
            "extra_p95_ms": round(extra, 1), "rules_extra_p95_ms": round(rules["p95"] - none["p95"], 1),
            "meaning_extra_p95_ms": round(both["p95"] - rules["p95"], 1),
            "classifier_extra_p95_ms": round(both["p95"] - unvetoed["p95"], 1),
            "median_ratio": round(statistics.median(paired_ratios(timings["both nets"], timings["no triage"])), 3),
            "meaning_median_ratio": round(statistics.median(paired_ratios(timings["both nets"], timings["rules only"])), 3),
            "goal_extra_p95_ms": GOAL_EXTRA_P95_MS, "goal_met": extra <= GOAL_EXTRA_P95_MS}


def main(argv=None) -> int:
    mode, questions, passes = question_passes(argv, "python -m bench.triage", __doc__.split("\n\n")[0])
    started, before = time.perf_counter(), machine()
    results = run(questions, passes)
    path = write_result("triage", mode, results, started=started, machine_before=before)
    log(f"triage: p95 {results['both_nets_ms']['p95']:.1f} ms with both nets, {results['rules_only_ms']['p95']:.1f} ms "
        f"with rules only, {results['no_triage_ms']['p95']:.1f} ms with none (triage adds {results['extra_p95_ms']:+} ms, "
        f"goal at most {GOAL_EXTRA_P95_MS:.0f}; its rules net {results['rules_extra_p95_ms']:+} ms, "
        f"its meaning net {results['meaning_extra_p95_ms']:+} ms, "
        f"its message classifier {results['classifier_extra_p95_ms']:+} ms); wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
