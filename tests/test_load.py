"""Load: 32 concurrent clients, 10 questions each, against the running app (app.py over the
real corpus) through its HTTP API (gradio_client). No errors, and every answer is the one a
single client gets. The figures are printed (run with -s to see them) for BENCHMARKS.md.
"""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.slow

CLIENTS = 32
QUESTIONS = (  # answered, refused, urgent and follow-on material, patient and clinician
    ("when can I drive after car-t?", "patient"),
    ("What is cytokine release syndrome?", "patient"),
    ("Can I have vaccines after CAR-T?", "patient"),
    ("how long do I need to stay near the hospital?", "patient"),
    ("I've got a temperature of 38.2 and shivering", "patient"),
    ("does car-t cure lupus?", "patient"),
    ("How is CRS graded?", "clinician"),
    ("How do I refer a patient for CAR-T?", "clinician"),
    ("Is tocilizumab used for ICANS alone?", "clinician"),
    ("what dose of tocilizumab for my patient in bed 4?", "clinician"),
)


def comparable(result: dict) -> tuple:
    """What must not change under load: everything but the timing."""
    return result["status"], result["answer"], tuple(sorted(c.items()) for c in map(dict, result["citations"])), \
        tuple(result["retrieved"])


def test_32_concurrent_clients_get_the_single_client_answers(live_app):
    from gradio_client import Client

    single = Client(live_app.url + "/", verbose=False)
    expected = {q: comparable(single.predict(q, a, api_name="/ask")) for q, a in QUESTIONS}
    single.close()
    assert {s[0] for s in expected.values()} == {"answered", "refused", "urgent"}

    with ThreadPoolExecutor(8) as pool:  # each client reads the app's config first
        clients = list(pool.map(lambda _: Client(live_app.url + "/", verbose=False), range(CLIENTS)))
    latencies: list[float] = []
    mismatches: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def run(n: int) -> None:
        client = clients[n]
        order = QUESTIONS[n % len(QUESTIONS):] + QUESTIONS[: n % len(QUESTIONS)]  # not all on one question
        start.wait()
        for question, audience in order:
            began = time.perf_counter()
            result = client.predict(question, audience, api_name="/ask")
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)
                if comparable(result) != expected[question]:
                    mismatches.append(f"client {n}: {question!r} -> {result['status']}: {result['answer'][:80]!r}")

    began = time.perf_counter()
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            for future in [pool.submit(run, n) for n in range(CLIENTS)]:
                future.result()  # any error in any client fails the test
    finally:
        for client in clients:
            client.close()
    wall = time.perf_counter() - began

    assert not mismatches, mismatches[:5]
    assert len(latencies) == CLIENTS * len(QUESTIONS)
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(f"\nLOAD {CLIENTS} clients x {len(QUESTIONS)} questions = {len(latencies)} requests in {wall:.1f} s: "
          f"{len(latencies) / wall:.1f} answers/s; latency p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"max {ordered[-1] * 1000:.0f} ms", flush=True)

    after = Client(live_app.url + "/", verbose=False)  # still serving normally afterwards
    assert comparable(after.predict(*QUESTIONS[0], api_name="/ask")) == expected[QUESTIONS[0][0]]
    after.close()
