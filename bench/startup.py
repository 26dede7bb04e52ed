"""Start-up: the first answer with each generation's saved search snapshot against without it.

    .venv/bin/python -m bench.startup [--scales 1,288] [--rounds 2]

For each scale S (S copies of the real index's chunks; bench/latency.py's synthetic indexes,
which save their answer units and search snapshot as ingestion does), `python app.py` is
spawned on a free 127.0.0.1 port and timed to its first answer through the page's /ask API,
alternately with the snapshot in place ("saved") and with it deleted ("rebuilt": start-up
pages every chunk out of Chroma, re-tokenises the corpus, builds BM25 and saves the snapshot
again), `--rounds` times each, side by side in one run. The floor is measured in the same run:
a process that only imports the libraries the app imports (gradio, chromadb, the package)
and loads the embedding model
(`python -m bench.startup --floor`). Goals (issue 15): at 100,000 chunks the first answer
within 10 s; at 1x within the floor plus 1 s.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import parts
from .common import ROOT, AppProcess, ask_http, bench_env, log, machine, write_result
from .report import fmt, markdown_table, replace_block

DOC = ROOT / "BENCHMARKS.md"


def floor_seconds() -> float:
    """Seconds for a fresh process to import what app.py imports and load the model."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bench.startup", "--floor"], cwd=ROOT, env=bench_env(), check=True)
    return time.perf_counter() - started


def _floor() -> None:
    import chromadb  # noqa: F401  (what app.py imports when it starts serving)
    import gradio  # noqa: F401

    import app  # noqa: F401
    from assistant.embedding import build_embedder
    from assistant.settings import load_settings

    build_embedder(load_settings()).encode(["What is CAR-T therapy?"])


def first_answer(index_dir: Path, log_path: Path) -> dict:
    from gradio_client import Client

    with AppProcess(index_dir, log_path=log_path) as app:
        app.start()
        client = Client(app.url, verbose=False)
        status = ask_http(client, "What is CAR-T therapy?", "patient")["status"]
        seconds = app.since_start()
        client.close()
        return {"seconds": round(seconds, 2), "status": status, "peak_rss_mib": app.peak_rss_mib()}


def run(scales: list[int], rounds: int) -> dict:
    from assistant.indexing import saved_folder
    from assistant.snapshot import snapshot_path
    from assistant.store import IndexStore

    from .latency import synthetic_index

    model = parts.lazy_embedder()
    base = parts.our_index(model)
    rows = []
    for copies in scales:
        settings, build = synthetic_index(base, copies)
        store = IndexStore.connect(settings)
        generation = store.live_generation().name
        chunks = store.live_collection().count()
        snapshot = snapshot_path(saved_folder(settings), generation)
        del store
        row = {"copies": copies, "chunks": chunks, "saved": [], "rebuilt": [], "floor": []}
        folder = ROOT / "bench" / "results" / "work"
        for r in range(rounds):
            row["floor"].append(round(floor_seconds(), 2))
            for kind in ("saved", "rebuilt") if r % 2 == 0 else ("rebuilt", "saved"):
                if kind == "rebuilt":
                    shutil.rmtree(snapshot, ignore_errors=True)
                elif not snapshot.is_dir():
                    raise RuntimeError(f"no saved snapshot at {snapshot} before a 'saved' start")
                result = first_answer(settings.index_dir, folder / f"startup-x{copies}-{kind}-{r}.log")
                row[kind].append(result)
                log(f"  x{copies} ({chunks:,} chunks) {kind}: first answer {result['seconds']:.1f} s")
        rows.append(row)
    return {"rows": rows, "rounds": rounds}


def block(record: dict) -> str:
    def median(values):
        import statistics

        return statistics.median(values) if values else None

    rows = []
    for row in record["results"]["rows"]:
        saved = median([r["seconds"] for r in row["saved"]])
        rebuilt = median([r["seconds"] for r in row["rebuilt"]])
        floor = median(row["floor"])
        goal = "10 s" if row["chunks"] >= 90_000 else (f"floor + 1 s = {floor + 1:.1f} s" if row["copies"] == 1 else "-")
        met = (saved <= 10 if row["chunks"] >= 90_000 else saved <= floor + 1 if row["copies"] == 1 else None)
        rows.append([f"{row['copies']}x", fmt(row["chunks"]), fmt(floor, 1, " s"), fmt(saved, 1, " s"),
                     fmt(rebuilt, 1, " s"), fmt(saved - floor, 1, " s"), fmt(rebuilt / saved if saved else None, 2),
                     fmt(median([r["peak_rss_mib"] for r in row["saved"]]), 0), goal,
                     "-" if met is None else ("met" if met else "NOT met")])
    table = markdown_table(["Index", "Chunks", "Floor: imports + model", "First answer, saved snapshot",
                            "First answer, rebuilt", "Saved minus floor", "Rebuilt / saved", "Peak RSS MiB (saved)",
                            "Goal", "Saved meets it"], rows)
    machine_ = record["machine"]
    starts = "; ".join(f"{row['copies']}x saved {', '.join(str(r['seconds']) for r in row['saved'])} s, rebuilt "
                       f"{', '.join(str(r['seconds']) for r in row['rebuilt'])} s, floor {', '.join(map(str, row['floor']))} s"
                       for row in record["results"]["rows"])
    return (table + f"\n\nMedians of {record['results']['rounds']} starts each, saved and rebuilt alternating "
            f"(each start: {starts}).\n\n"
            f"_Command:_ `{record['command']}` · _machine:_ {machine_.get('nproc', '?')} cores, load average "
            f"{machine_.get('load_average', ['?'])[0]} -> {machine_.get('load_average_end', ['?'])[0]} · "
            f"_date:_ {record['date']} · _wall:_ {record['wall_seconds']:.0f} s")


def write_block(path: Path) -> None:
    import json

    DOC.write_text(replace_block(DOC.read_text(encoding="utf-8"), "startup", block(json.loads(path.read_text()))),
                   encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="1,288", help="comma-separated multiples of the corpus (default 1,288)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="1x only, one round")
    parser.add_argument("--full", action="store_true", help="1x and 288x (~100,000 chunks), two rounds (default)")
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor:
        _floor()
        return 0
    scales, rounds = ([1], 1) if args.quick else ([int(s) for s in args.scales.split(",")], args.rounds)
    started, before = time.perf_counter(), machine()
    results = run(scales, rounds)
    path = write_result("startup", "quick" if args.quick else "full", results, started=started, machine_before=before)
    if not args.quick:
        write_block(path)
    log(f"startup: wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
