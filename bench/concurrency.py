"""Simultaneous clients against the running page: throughput, p95, errors, identical answers.

    .venv/bin/python -m bench.concurrency [--quick | --full] [--clients 1,4,16]

Starts `python app.py` on a free 127.0.0.1 port over the real index (stopped at the end).
A single client first asks every chosen golden question once through the page's /ask API
(gradio_client): those are the reference answers, and the run also warms the app's caches
for them. Then, for each level N, N clients (one gradio_client each, in threads, released
together) each ask every question, starting at different offsets. Per level: requests per
second over the wall time, p50/p95 per request, errors (any exception: must be 0), and
answers that differ from the reference (anything but latency_ms: must be 0).
"""

from __future__ import annotations

import argparse
import threading
import time

from . import parts
from .common import (RESULTS, AppProcess, ask_http, close_all, comparable, log, machine, rotated, summary,
                     write_result)


def level(url: str, clients: int, questions: list[tuple[str, str]], reference: dict) -> dict:
    from gradio_client import Client

    sessions: list = [None] * clients
    start = threading.Barrier(clients + 1)
    lock = threading.Lock()
    times: list[float] = []
    errors: list[str] = []
    mismatches: list[str] = []

    def client(index: int) -> None:
        sessions[index] = Client(url, verbose=False)  # connected before the clock starts
        start.wait()
        for question, audience in rotated(questions, index * max(1, len(questions) // clients)):
            t = time.perf_counter()
            try:
                answer = ask_http(sessions[index], question, audience)
            except Exception as exc:  # counted, never fatal: the figure is how many
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            elapsed = (time.perf_counter() - t) * 1000
            with lock:
                times.append(elapsed)
                if comparable(answer) != reference[(question, audience)]:
                    mismatches.append(question)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    close_all(sessions)
    requests = clients * len(questions)
    return {"clients": clients, "requests": requests, "completed": len(times), "wall_seconds": wall,
            "throughput_rps": len(times) / wall if wall else None, "ms": summary(times),
            "errors": len(errors), "error_samples": errors[:5], "mismatches": len(mismatches),
            "mismatch_samples": mismatches[:5]}


def run(mode: str, levels: list[int], n_questions: int) -> dict:
    from gradio_client import Client

    from .latency import pick

    settings = parts.our_index(parts.lazy_embedder())
    cases = [c for c in parts.golden_cases() if not c.history]  # /ask takes no history
    questions = [(c.question, c.audience) for c in pick(cases, n_questions)]
    with AppProcess(settings.index_dir, log_path=RESULTS / mode / "app-concurrency.log") as app:
        app.start()
        single = Client(app.url, verbose=False)
        reference, reference_ms = {}, []
        for question, audience in questions:
            t = time.perf_counter()
            reference[(question, audience)] = comparable(ask_http(single, question, audience))
            reference_ms.append((time.perf_counter() - t) * 1000)
        single.close()
        rows = []
        for clients in levels:
            rows.append(level(app.url, clients, questions, reference))
            r = rows[-1]
            log(f"concurrency {clients:2d}: {r['throughput_rps']:.1f} req/s, p95 {r['ms']['p95']:.0f} ms, "
                f"errors {r['errors']}, mismatches {r['mismatches']}")
        peak = app.peak_rss_mib()
    base = rows[0]["throughput_rps"] if rows and rows[0]["clients"] == 1 else None
    for r in rows:
        r["throughput_vs_1"] = r["throughput_rps"] / base if base else None
    return {"questions": len(questions), "reference_first_visit_ms": summary(reference_ms), "levels": rows,
            "app_peak_rss_mib": peak,
            "errors_total": sum(r["errors"] for r in rows), "mismatches_total": sum(r["mismatches"] for r in rows)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.concurrency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="24 questions per client")
    parser.add_argument("--quick", action="store_true", help="4 questions per client (the default)")
    parser.add_argument("--clients", default="1,4,16", help="comma-separated levels (default 1,4,16)")
    parser.add_argument("--questions", type=int)
    args = parser.parse_args(argv)
    mode = "full" if args.full else "quick"
    levels = [int(x) for x in args.clients.split(",")]
    n_questions = args.questions or (24 if mode == "full" else 4)
    started, before = time.perf_counter(), machine()
    results = run(mode, levels, n_questions)
    path = write_result("concurrency", mode, results, started=started, machine_before=before)
    log(f"concurrency: errors {results['errors_total']}, mismatches {results['mismatches_total']}; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
