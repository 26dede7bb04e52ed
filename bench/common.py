"""What every benchmark shares: statistics, the machine record, result files, processes.

The pure helpers (summary, ratio, synthetic ids, free_port) are unit-tested in
tests/test_bench.py without the model. Everything here is stdlib + numpy.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

from eval.metrics import percentile

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
WORK = RESULTS / "work"  # indexes shared by the benchmarks of one run (gitignored)
CORPUS = ROOT / "corpus"
MODES = ("quick", "full")


# -- statistics -----------------------------------------------------------------------------
def summary(values: Sequence[float]) -> dict:
    """n, median, p95, min, max of a sample (None for an empty sample)."""
    values = [float(v) for v in values]
    if not values:
        return {"n": 0, "median": None, "p50": None, "p95": None, "min": None, "max": None}
    return {"n": len(values), "median": statistics.median(values), "p50": percentile(values, 50),
            "p95": percentile(values, 95), "min": min(values), "max": max(values)}


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def paired_ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """Ratio within each repeat (both measured back to back), for a noise-robust median."""
    if len(numerators) != len(denominators):
        raise ValueError(f"unequal repeats: {len(numerators)} and {len(denominators)}")
    return [r for r in (ratio(a, b) for a, b in zip(numerators, denominators)) if r is not None]


def rotated(items: list, offset: int) -> list:
    """`items` starting at `offset` (mod len), wrapping round: each client or round its own order."""
    if not items:
        return []
    offset %= len(items)
    return list(items[offset:]) + list(items[:offset])


# -- synthetic copies of an index ---------------------------------------------------------
def synthetic_ids(chunk_id: str, doc_id: str, copy: int) -> tuple[str, str]:
    """Ids of copy `copy` of a chunk: copy 0 is the real chunk, unchanged; others are distinct."""
    if copy < 0:
        raise ValueError("copy must be 0 or more")
    if copy == 0:
        return chunk_id, doc_id
    suffix = f"~x{copy:06d}"
    return f"{chunk_id}{suffix}", f"{doc_id}{suffix}"


def copies_for(base_chunks: int, scale: int, cap: int | None = None) -> int:
    """How many copies of the base chunks make `scale` times the corpus, at most `cap` chunks."""
    if base_chunks <= 0 or scale <= 0:
        raise ValueError("base_chunks and scale must be positive")
    if cap is None or base_chunks * scale <= cap:
        return scale
    return max(1, cap // base_chunks)


# -- the machine and the record of a run -----------------------------------------------------
def question_passes(argv, prog: str, description: str) -> tuple[str, int | None, int]:
    """The --quick / --full / --questions / --passes options of a per-question benchmark:
    (mode, questions per pass (None: every golden question), passes)."""
    import argparse

    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--full", action="store_true", help="every golden question, 3 passes")
    parser.add_argument("--quick", action="store_true", help="200 golden questions, 1 pass (the default)")
    parser.add_argument("--questions", type=int, help="golden questions per pass")
    parser.add_argument("--passes", type=int)
    args = parser.parse_args(argv)
    mode = "full" if args.full else "quick"
    return mode, args.questions or (None if mode == "full" else 200), args.passes or (3 if mode == "full" else 1)


def machine() -> dict:
    """What a figure was measured on: cores (nproc), memory (free -g), load, versions."""
    info = {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": _memory_gib(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }
    try:
        info["git"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                     text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "assistant", "app.py"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        if dirty:  # the code measured is not exactly the commit
            info["git"] += "+uncommitted"
    except (OSError, subprocess.SubprocessError):
        info["git"] = ""
    return info


def _memory_gib() -> int | None:
    """Total memory as `free -g` prints it (GiB, rounded down)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // (1024 * 1024)
    except OSError:
        pass
    return None


def peak_rss_mib(pid: int | str = "self") -> float | None:
    """Peak resident memory (VmHWM) of a live process, in MiB (Linux)."""
    return _status_mib(pid, "VmHWM:")


def rss_mib(pid: int | str = "self") -> float | None:
    """Resident memory (VmRSS) of a live process now, in MiB (Linux)."""
    return _status_mib(pid, "VmRSS:")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a live process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status_mib(pid: int | str, field: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def command_line() -> str:
    """The command that produced a result, as typed from the repository root."""
    return " ".join([".venv/bin/python", "-m", _module_name()] + [shlex.quote(a) for a in sys.argv[1:]])


def _module_name() -> str:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return spec.name if spec and spec.name else Path(sys.argv[0]).stem


def write_result(name: str, mode: str, results: dict, *, started: float, machine_before: dict) -> Path:
    """bench/results/MODE/NAME.json: the figures with their command, machine and date."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    record = {
        "bench": name, "mode": mode, "command": command_line(),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "machine": {**machine_before, "load_average_end": [round(x, 2) for x in os.getloadavg()]},
        "results": results,
    }
    path = RESULTS / mode / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def read_results(mode: str) -> dict[str, dict]:
    folder = RESULTS / mode
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))}


# -- processes and ports -------------------------------------------------------------------------
def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def bench_env(**extra: str) -> dict:
    """Environment for a child process: offline, no telemetry, the repository importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CART_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False",
               GRADIO_ANALYTICS_ENABLED="False", PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class AppProcess:
    """`python app.py` on a free 127.0.0.1 port, started and stopped by the benchmark.

    `start()` returns once GET /healthz answers 200 (app.py opens the port only after its
    assistant has answered one question); `stop()` ends this process only, by its pid.
    """

    def __init__(self, index_dir: Path, *, log_path: Path, timeout: float = 900.0, **env: str):
        self.index_dir = Path(index_dir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = Path(log_path)
        self.timeout = timeout
        self.env = env
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0

    def start(self) -> float:
        """Spawn and wait for /healthz; returns the seconds from spawn to healthy."""
        import urllib.error
        import urllib.request

        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = bench_env(CART_CORPUS_DIR=str(CORPUS), CART_INDEX_DIR=str(self.index_dir),
                        CART_FEEDBACK_DB=str(self.log_path.with_suffix(".sqlite3")), **self.env)
        self._log = open(self.log_path, "w")
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen([sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(self.port)],
                                        cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        while time.perf_counter() - self.started_at < self.timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"app.py exited with {self.process.returncode}: see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "healthz", timeout=5) as response:
                    if response.status == 200:
                        return time.perf_counter() - self.started_at
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"app.py was not healthy after {self.timeout:.0f} s: see {self.log_path}")

    def since_start(self) -> float:
        return time.perf_counter() - self.started_at

    def peak_rss_mib(self) -> float | None:
        return peak_rss_mib(self.process.pid) if self.process else None

    def rss_mib(self) -> float | None:
        return rss_mib(self.process.pid) if self.process else None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:  # uvicorn waits for open client connections (gradio_client's heartbeat) to close
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self) -> "AppProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def close_all(clients) -> None:
    """Close gradio_client sessions in parallel: each close waits about a second on its
    heartbeat thread, so 16 closed one after another cost 15 s of the quick suite."""
    threads = [threading.Thread(target=c.close, daemon=True) for c in clients if c is not None]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


def ask_http(client, question: str, audience: str = "patient") -> dict:
    """One question through the page's /ask API (gradio_client)."""
    return client.predict(question, audience, api_name="/ask")


def comparable(answer: dict) -> dict:
    """An /ask answer without what may differ between two identical answers (its latency)."""
    return {k: v for k, v in answer.items() if k != "latency_ms"}
