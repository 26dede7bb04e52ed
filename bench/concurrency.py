"""Simultaneous clients against the running page: throughput, p95, errors, identical answers.

    .venv/bin/python -m bench.concurrency [--quick | --full] [--clients 1,4,16] [--via page|api]

Starts `python app.py` on a free 127.0.0.1 port over the real index (stopped at the end).
A single client first asks every chosen golden question once through the page's /ask API
(over HTTP, as `PageClient` below): those are the reference answers, and the run also warms the app's caches
for them. Then, for each level N, N clients (one HTTP client each, in threads, released
together) each ask every question, starting at different offsets. Per level: requests per
second over the wall time, p50/p95 per request, errors (any exception: must be 0), and
answers that differ from the reference (anything but latency_ms: must be 0).
`--via api`: the same through the JSON API (POST /api/v1/ask, one httpx client each, the
per-client limit lifted), against the compute limit measured in this process: cores over
the warm in-process seconds per answer of the same questions.
"""

from __future__ import annotations

import argparse
import threading
import time

from . import parts
from .common import (RESULTS, AppProcess, close_all, comparable, log, machine, rotated, summary,
                     write_result)


class ApiClient:
    """The JSON API with the interface of gradio_client's Client that `level` uses."""

    def __init__(self, url: str, verbose: bool = False):
        import httpx

        self.url = url.rstrip("/") + "/api/v1/ask"
        self.http = httpx.Client(timeout=60)

    def ask(self, question: str, audience: str) -> dict:
        response = self.http.post(self.url, json={"question": question, "audience": audience})
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        self.http.close()


class PageClient:
    """The page's queue, spoken directly over HTTP as gradio documents it for curl: POST
    /gradio_api/call/ask queues the event, GET /gradio_api/call/ask/<event_id> streams it to
    `event: complete`. The server does what it does for gradio_client, but the client costs far
    less: 16 gradio_clients used 1.4 of this machine's 2 cores, so they measured themselves."""

    def __init__(self, url: str):
        import httpx

        self.url = url.rstrip("/") + "/gradio_api/call/ask"
        self.http = httpx.Client(timeout=60)

    def ask(self, question: str, audience: str) -> dict:
        import json

        queued = self.http.post(self.url, json={"data": [question, audience]})
        queued.raise_for_status()
        event = None
        with self.http.stream("GET", f"{self.url}/{queued.json()['event_id']}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    data = json.loads(line.split(":", 1)[1])
                    if event == "error":
                        raise RuntimeError(f"the page answered with an error: {data}")
                    return data[0]
        raise RuntimeError("the page's event stream ended without an answer")

    def close(self) -> None:
        self.http.close()


def _client(via: str, url: str):
    return ApiClient(url) if via == "api" else PageClient(url)


def _ask(via: str, client, question: str, audience: str) -> dict:
    answer = client.ask(question, audience)
    answer.pop("passages", None)  # the page's /ask leaves them out
    return answer


def level(url: str, clients: int, questions: list[tuple[str, str]], reference: dict, via: str = "page") -> dict:
    sessions: list = [None] * clients
    start = threading.Barrier(clients + 1)
    lock = threading.Lock()
    times: list[float] = []
    errors: list[str] = []
    mismatches: list[str] = []

    def client(index: int) -> None:
        sessions[index] = _client(via, url)  # connected before the clock starts
        start.wait()
        for question, audience in rotated(questions, index * max(1, len(questions) // clients)):
            t = time.perf_counter()
            try:
                answer = _ask(via, sessions[index], question, audience)
            except Exception as exc:  # counted, never fatal: the figure is how many
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            elapsed = (time.perf_counter() - t) * 1000
            with lock:
                times.append(elapsed)
                if comparable(answer) != reference[(question, audience)]:
                    mismatches.append(question)

    health_ms: list[float] = []
    done = threading.Event()

    def health() -> None:
        """GET /healthz every 0.2 s while the clients ask: it must stay fast when busy."""
        import urllib.request

        while not done.is_set():
            t = time.perf_counter()
            try:
                with urllib.request.urlopen(url.rstrip("/") + "/healthz", timeout=30) as response:
                    response.read()
                health_ms.append((time.perf_counter() - t) * 1000)
            except OSError as exc:
                with lock:
                    errors.append(f"healthz: {exc}"[:200])
            done.wait(0.2)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    prober = threading.Thread(target=health, daemon=True)
    prober.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    done.set()
    prober.join()
    close_all(sessions)
    requests = clients * len(questions)
    return {"clients": clients, "requests": requests, "completed": len(times), "wall_seconds": wall,
            "throughput_rps": len(times) / wall if wall else None, "ms": summary(times),
            "healthz_ms": summary(health_ms),
            "errors": len(errors), "error_samples": errors[:5], "mismatches": len(mismatches),
            "mismatch_samples": mismatches[:5]}


def compute_limit(settings, questions: list[tuple[str, str]]) -> dict:
    """Answers a second the cores could give: cores / warm in-process seconds per answer."""
    import os

    from assistant.chain import Assistant

    assistant = Assistant.from_settings(settings, embedder=parts.embedder())
    for question, audience in questions:
        assistant.ask(question, audience)  # warm
    started = time.perf_counter()
    for question, audience in questions * 3:
        assistant.ask(question, audience)
    per_answer = (time.perf_counter() - started) / (3 * len(questions))
    cores = os.cpu_count() or 1
    return {"seconds_per_answer": per_answer, "cores": cores, "answers_per_s": cores / per_answer}


def run(mode: str, levels: list[int], n_questions: int, via: str = "page") -> dict:
    from .latency import pick

    settings = parts.our_index(parts.lazy_embedder())
    cases = [c for c in parts.golden_cases() if not c.history]  # /ask takes no history
    questions = [(c.question, c.audience) for c in pick(cases, n_questions)]
    limit = compute_limit(settings, questions) if via == "api" else None
    env = {"CART_API_RATE": "10000"} if via == "api" else {}
    with AppProcess(settings.index_dir, log_path=RESULTS / mode / f"app-concurrency-{via}.log", **env) as app:
        app.start()
        single = _client(via, app.url)
        reference, reference_ms = {}, []
        for question, audience in questions:
            t = time.perf_counter()
            reference[(question, audience)] = comparable(_ask(via, single, question, audience))
            reference_ms.append((time.perf_counter() - t) * 1000)
        single.close()
        rows = []
        for clients in levels:
            rows.append(level(app.url, clients, questions, reference, via))
            r = rows[-1]
            log(f"{via} {clients:2d} clients: {r['throughput_rps']:.1f} req/s, p95 {r['ms']['p95']:.0f} ms, "
                f"healthz p95 {r['healthz_ms']['p95'] or 0:.0f} ms, "
                f"errors {r['errors']}, mismatches {r['mismatches']}")
        peak = app.peak_rss_mib()
    base = rows[0]["throughput_rps"] if rows and rows[0]["clients"] == 1 else None
    for r in rows:
        r["throughput_vs_1"] = r["throughput_rps"] / base if base else None
    if limit:
        for r in rows:
            r["share_of_compute_limit"] = r["throughput_rps"] / limit["answers_per_s"]
    return {"via": via, "compute_limit": limit, "questions": len(questions),
            "reference_first_visit_ms": summary(reference_ms), "levels": rows,
            "app_peak_rss_mib": peak,
            "errors_total": sum(r["errors"] for r in rows), "mismatches_total": sum(r["mismatches"] for r in rows)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.concurrency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="24 questions per client")
    parser.add_argument("--quick", action="store_true", help="4 questions per client (the default)")
    parser.add_argument("--clients", default="1,4,16", help="comma-separated levels (default 1,4,16)")
    parser.add_argument("--questions", type=int)
    parser.add_argument("--via", choices=("page", "api"), default="page",
                        help="the page's gradio /ask (default) or the JSON API /api/v1/ask")
    args = parser.parse_args(argv)
    mode = "full" if args.full else "quick"
    levels = [int(x) for x in args.clients.split(",")]
    n_questions = args.questions or (24 if mode == "full" else 4)
    started, before = time.perf_counter(), machine()
    results = run(mode, levels, n_questions, args.via)
    name = "concurrency" if args.via == "page" else "concurrency-api"
    path = write_result(name, mode, results, started=started, machine_before=before)
    log(f"concurrency: errors {results['errors_total']}, mismatches {results['mismatches_total']}; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
