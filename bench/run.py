"""Every benchmark in turn, then BENCHMARKS.md's tables and chart regenerated.

    .venv/bin/python -m bench.run            # quick (make bench): under 3 minutes, fresh checkout included
    .venv/bin/python -m bench.run --full     # the full suite (make bench-full; long: 1000x the corpus)

Each benchmark runs in its own process (memory and timings apart). Quick: ingestion of the
whole corpus once (ours, raw encode, peer; the builds are kept for what follows); retrieval
(always the whole golden set); latency at 1x and 10x with 20 questions, cold start at 1x;
1, 4 and 16 clients with 4 questions each. The synthetic 10x index in bench/results/work is
reused while the corpus is unchanged.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from .common import ROOT, bench_env, log, machine, write_result

SUITE = ("ingest", "retrieval", "latency", "triage", "answers", "concurrency")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the full suite (default: quick)")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(SUITE)}")
    parser.add_argument("--no-report", action="store_true", help="do not rewrite BENCHMARKS.md")
    args = parser.parse_args(argv)
    mode = "full" if args.full else "quick"
    names = args.only.split(",") if args.only else list(SUITE)
    unknown = sorted(set(names) - set(SUITE))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(SUITE)}")
    started, before = time.perf_counter(), machine()
    seconds = {}
    for name in names:
        log(f"== bench.{name} --{mode}")
        t = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", f"bench.{name}", f"--{mode}"], cwd=ROOT, env=bench_env())
        seconds[name] = round(time.perf_counter() - t, 1)
        if done.returncode != 0:
            log(f"bench.{name} failed with exit code {done.returncode}")
            return done.returncode
    write_result("run", mode, {"benchmarks": names, "seconds": seconds}, started=started, machine_before=before)
    log(f"{mode} suite: {time.perf_counter() - started:.0f} s ({', '.join(f'{k} {v:.0f} s' for k, v in seconds.items())})")
    if not args.no_report:
        from .report import main as report

        report([])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
