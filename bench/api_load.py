"""The JSON API when one client floods it, and over a long soak.

    .venv/bin/python -m bench.api_load flood [--normal 8] [--seconds 20] [--rate 5]
    .venv/bin/python -m bench.api_load soak [--questions 20000] [--clients 8]

Both start `python app.py` on a free 127.0.0.1 port over the real index and stop it at the
end. Each client sends from its own loopback address (127.0.0.2, 127.0.0.3, ...: the whole of
127.0.0.0/8 is this machine), so the server's per-client limit, keyed by client address, sees
them as the separate systems they stand for.

flood: 8 normal clients each ask one golden question a second (under their limit; not in step), first
alone (their unloaded p95), then while one more client sends 10 times its limit
(`CART_API_RATE`, requests a second) without waiting for answers. Goal: the normal clients'
p95 at most 2x their unloaded p95, and none of their requests fails (the flooder's get 429).

soak: N golden questions (every case, with its audience and history, over and over) through
`POST /api/v1/ask` from 8 clients; the server's resident memory is read after the first
1,000 and at the end. Goal: growth at most 10%, 0 errors.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import threading
import time

from . import parts
from .common import RESULTS, ROOT, AppProcess, bench_env, cpu_seconds, log, machine, summary, write_result

FLOOD_FACTOR = 10
GOAL_FLOOD_P95_RATIO = 2.0
GOAL_SOAK_GROWTH = 0.10


def client_from(address: str, timeout: float = 60.0):
    """An HTTP client that connects from `address` (a loopback address of its own)."""
    import httpx

    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=timeout)


def loopback(n: int) -> str:
    return f"127.0.0.{n + 2}"


def _payloads() -> list[dict]:
    return [{"question": c.question, "audience": c.audience,
             "history": [{"role": t.role, "content": t.content} for t in c.history]}
            for c in parts.golden_cases()]


class Paced:
    """A normal client: one question every `interval` seconds from its own address, until told
    to stop; keeps its latencies and errors."""

    def __init__(self, url: str, address: str, payloads: list[dict], offset: int, interval: float, phase: float):
        self.url, self.address, self.payloads, self.offset, self.interval = url, address, payloads, offset, interval
        self.phase = phase  # seconds before its first question: independent systems do not ask in step
        self.ms: list[float] = []
        self.at: list[float] = []  # when each answered question was sent
        self.errors: list[str] = []

    def run(self, stop: threading.Event) -> None:
        with client_from(self.address) as http:
            n = self.offset
            next_at = time.perf_counter() + self.phase
            stop.wait(self.phase)
            while not stop.is_set():
                payload = self.payloads[n % len(self.payloads)]
                n += 1
                t = time.perf_counter()
                try:
                    response = http.post(self.url, json=payload)
                    if response.status_code != 200:
                        self.errors.append(f"{response.status_code}: {response.text[:120]}")
                    else:
                        self.ms.append((time.perf_counter() - t) * 1000)
                        self.at.append(t)
                except Exception as exc:  # counted: the figure is how many
                    self.errors.append(f"{type(exc).__name__}: {exc}"[:160])
                next_at += self.interval
                stop.wait(max(0.0, next_at - time.perf_counter()))


def _normal_phase(url: str, payloads: list[dict], normal: int, seconds: float, flood_rate: float | None,
                  server_pid: int, first: int) -> dict:
    """`normal` paced clients for `seconds`, asking from golden question `first` on (each phase
    asks questions of its own, so no phase finds its answers warm from an earlier one)."""
    stop = threading.Event()
    clients = [Paced(url, loopback(i), payloads, first + i * (int(seconds) + 2), 1.0, i / normal) for i in range(normal)]
    threads = [threading.Thread(target=c.run, args=(stop,), daemon=True) for c in clients]
    flooder, flood = None, None
    if flood_rate:  # its own process, as another system would be: its sending costs not our clients' time
        flooder = subprocess.Popen([sys.executable, "-m", "bench.api_load", "flooder", url, loopback(normal),
                                    str(flood_rate), str(seconds)], cwd=ROOT, env=bench_env(), stdout=subprocess.PIPE,
                                   text=True)
        flooder.stdout.readline()  # "ready": it has loaded its questions and starts now
    server_cpu, began = cpu_seconds(server_pid), time.perf_counter()
    for thread in threads:
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in threads:
        thread.join(120)
    server_cpu = cpu_seconds(server_pid) - server_cpu
    if flooder:
        flood = json.loads(flooder.communicate(timeout=120)[0])
    ms = [m for c in clients for m in c.ms]
    slowest = sorted(((m, t - began) for c in clients for m, t in zip(c.ms, c.at)), reverse=True)[:8]
    errors = [e for c in clients for e in c.errors]
    return {"normal_ms": summary(ms), "normal_answers": len(ms), "normal_errors": len(errors),
            "server_cpu_seconds": round(server_cpu, 1),
            "slowest": [{"ms": round(m), "sent_at_s": round(t, 2)} for m, t in slowest],
            "normal_error_samples": errors[:5], **({"flood": flood} if flood_rate else {})}


def flooder(url: str, address: str, rate: float, seconds: float) -> dict:
    """Send `rate` requests a second from one address for `seconds` without waiting for
    answers (a pool of sender threads), counting what comes back."""
    import queue
    from concurrent.futures import ThreadPoolExecutor

    senders = 32
    codes: dict[str, int] = {}
    retry_after: list[str] = []
    lock = threading.Lock()
    idle = queue.Queue()
    for _ in range(senders):  # made before the clock starts: making one costs more than sending
        idle.put(client_from(address))

    def send(payload: dict) -> None:
        http = idle.get()
        try:
            response = http.post(url, json=payload)
            key = str(response.status_code)
            if response.status_code == 429:
                with lock:
                    retry_after.append(response.headers.get("Retry-After", ""))
        except Exception as exc:
            key = type(exc).__name__
        finally:
            idle.put(http)
        with lock:
            codes[key] = codes.get(key, 0) + 1

    payloads = _payloads()
    print("ready", flush=True)
    sent = 0
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=senders) as pool:
        while time.perf_counter() - began < seconds:
            pool.submit(send, payloads[sent % len(payloads)])
            sent += 1
            time.sleep(max(0.0, began + sent / rate - time.perf_counter()))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"sent": sent, "seconds": round(time.perf_counter() - began, 1), "codes": codes,
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "retry_after_all_set": bool(retry_after) and all(v.isdigit() and int(v) >= 1 for v in retry_after)}


def flood(normal: int, seconds: float, rate: float, factor: float = FLOOD_FACTOR) -> dict:
    settings = parts.our_index(parts.lazy_embedder())
    payloads = _payloads()
    with AppProcess(settings.index_dir, log_path=RESULTS / "full" / "app-flood.log", CART_API_RATE=str(rate)) as app:
        app.start()
        url = app.url + "api/v1/ask"
        pid = app.process.pid
        span = normal * (int(seconds) + 2)  # questions a phase may ask
        _normal_phase(url, payloads, normal, 3, None, pid, 0)  # warm the server's threads
        alone = _normal_phase(url, payloads, normal, seconds, None, pid, span)
        log(f"flood: {normal} normal clients alone: p95 {alone['normal_ms']['p95']:.0f} ms, "
            f"errors {alone['normal_errors']}")
        flooded = _normal_phase(url, payloads, normal, seconds, factor * rate, pid, 2 * span)
        log(f"flood: with one client at {factor * rate:.0f} req/s: normal p95 "
            f"{flooded['normal_ms']['p95']:.0f} ms, errors {flooded['normal_errors']}; flooder got "
            f"{flooded['flood']['codes']}; CPU s: server {alone['server_cpu_seconds']} -> "
            f"{flooded['server_cpu_seconds']}, flooder {flooded['flood']['cpu_seconds']}")
    ratio = flooded["normal_ms"]["p95"] / alone["normal_ms"]["p95"]
    return {"normal_clients": normal, "seconds": seconds, "rate_limit": rate, "flood_rate": factor * rate,
            "alone": alone, "flooded": flooded, "p95_ratio": round(ratio, 2),
            "goal_p95_ratio": GOAL_FLOOD_P95_RATIO,
            "goal_met": ratio <= GOAL_FLOOD_P95_RATIO and flooded["normal_errors"] == 0 and alone["normal_errors"] == 0}


def soak(questions: int, clients: int) -> dict:
    settings = parts.our_index(parts.lazy_embedder())
    payloads = _payloads()
    lock = threading.Lock()
    done = {"n": 0, "errors": [], "ms": []}
    samples: list[tuple[int, float]] = []
    with AppProcess(settings.index_dir, log_path=RESULTS / "full" / "app-soak.log") as app:
        app.start()
        url = app.url + "api/v1/ask"
        per_client = questions // clients
        after_first: dict = {}

        def run(index: int) -> None:
            with client_from(loopback(index)) as http:
                for k in range(per_client):
                    payload = payloads[(index * per_client + k) % len(payloads)]
                    t = time.perf_counter()
                    try:
                        response = http.post(url, json=payload)
                        ok = response.status_code == 200
                        error = None if ok else f"{response.status_code}: {response.text[:120]}"
                    except Exception as exc:
                        ok, error = False, f"{type(exc).__name__}: {exc}"[:160]
                    with lock:
                        done["n"] += 1
                        if ok:
                            done["ms"].append((time.perf_counter() - t) * 1000)
                        else:
                            done["errors"].append(error)
                        n = done["n"]
                        if n == 1000:
                            after_first["rss"] = app.rss_mib()
                        if n % 1000 == 0:
                            samples.append((n, app.rss_mib()))
                            log(f"soak: {n:,} asked, rss {samples[-1][1]:.0f} MiB, errors {len(done['errors'])}")

        began = time.perf_counter()
        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
        end_rss, peak = app.rss_mib(), app.peak_rss_mib()
    growth = (end_rss - after_first["rss"]) / after_first["rss"]
    return {"questions": done["n"], "clients": clients, "wall_seconds": round(wall, 1),
            "answers_per_s": round(len(done["ms"]) / wall, 1), "ms": summary(done["ms"]),
            "errors": len(done["errors"]), "error_samples": done["errors"][:5],
            "rss_after_1000_mib": round(after_first["rss"], 1), "rss_end_mib": round(end_rss, 1),
            "peak_rss_mib": round(peak, 1), "growth": round(growth, 4), "rss_samples": samples,
            "goal_growth": GOAL_SOAK_GROWTH, "goal_met": growth <= GOAL_SOAK_GROWTH and not done["errors"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_load", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    f = sub.add_parser("flood", help="one client at 10x its limit while others ask normally")
    f.add_argument("--normal", type=int, default=8, help="normal clients (default 8)")
    f.add_argument("--seconds", type=float, default=20.0, help="length of each phase (default 20)")
    f.add_argument("--rate", type=float, default=5.0, help="the per-client limit, requests a second (default 5)")
    f.add_argument("--factor", type=float, default=FLOOD_FACTOR, help="the flood, in times the limit (default 10)")
    s = sub.add_parser("soak", help="many questions through the API: memory growth and errors")
    s.add_argument("--questions", type=int, default=20_000)
    s.add_argument("--clients", type=int, default=8)
    g = sub.add_parser("flooder", help="(internal) the flooding client, run in its own process by flood")
    g.add_argument("url")
    g.add_argument("address")
    g.add_argument("rate", type=float)
    g.add_argument("seconds", type=float)
    args = parser.parse_args(argv)
    if args.what == "flooder":
        print(json.dumps(flooder(args.url, args.address, args.rate, args.seconds)))
        return 0
    started, before = time.perf_counter(), machine()
    if args.what == "flood":
        results = flood(args.normal, args.seconds, args.rate, args.factor)
        log(f"flood: normal p95 x{results['p95_ratio']} under the flood (goal at most {GOAL_FLOOD_P95_RATIO}); "
            f"goal met: {results['goal_met']}")
    else:
        results = soak(args.questions, args.clients)
        log(f"soak: rss {results['rss_after_1000_mib']} -> {results['rss_end_mib']} MiB "
            f"({100 * results['growth']:+.1f}%), errors {results['errors']}; goal met: {results['goal_met']}")
    path = write_result(f"api-{args.what}", "full", results, started=started, machine_before=before)
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
