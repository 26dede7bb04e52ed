"""Latency and memory against index size: cold start, warm per-question latency, peak RSS.

    .venv/bin/python -m bench.latency [--quick | --full] [--scales 1,10] [--questions N]

For each scale S (S times the real corpus's chunks):
- the index: the real index's chunks and embeddings copied S times into one new Chroma
  generation (ids and doc ids made distinct, embeddings jittered by N(0, 0.01) and
  renormalised; copy 0 is the real chunks untouched) through IndexStore.new_generation /
  add_chunks / publish, so the unchanged Assistant serves it;
- cold start: `python app.py` spawned on a free port, until its first answer through the
  page's /ask API (gradio_client); then a few more answers (HTTP latency), and the serving
  process's peak RSS (VmHWM);
- warm latency: ONE worker process builds an `Assistant` per size (`from_settings`, then one
  warm-up question, as app.py does) and asks every chosen golden question (with its audience
  and history) through `Assistant.ask` of every size back to back, the order rotating, twice:
  pass 1 is each question's first visit, pass 2 asks them again (every cache hot). Sizes are
  thus compared side by side under the same machine load: p50/p95 per size and pass, and
  the ratio to 1x (median of per-question ratios; ratio of p95s).
The worker also times one question's encoding as served against the bare model on 2 torch
threads and on 1, alternating. Full mode: pyinstrument profiles (single-size workers) of the
passes that miss a goal, and of building and pass 2 at the largest size
(bench/results/full/profile-xS-{build,passN}.txt).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from . import parts
from .common import (RESULTS, ROOT, WORK, AppProcess, ask_http, bench_env, copies_for, log, machine,
                     paired_ratios, peak_rss_mib, ratio, rotated, summary, synthetic_ids, write_result)

SIGMA = 0.01
SEED = 20261122
GOAL_P95_MS = {"1x": 100.0, "100k": 300.0}
HUNDRED_K = 100_000


# -- synthetic index ------------------------------------------------------------------------------
def jitter(vectors: np.ndarray, rng: np.random.Generator, sigma: float = SIGMA) -> np.ndarray:
    """Unit vectors near `vectors`: Gaussian noise, then renormalised."""
    noisy = vectors + rng.normal(0.0, sigma, size=vectors.shape).astype(np.float32)
    return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)


def synthetic_index(base_settings, copies: int) -> tuple[object, dict]:
    """Settings of an index holding `copies` copies of the base index's chunks (reused if current)."""
    from assistant.store import IndexStore

    base_store = IndexStore.connect(base_settings)
    generation = base_store.live_generation()
    if copies == 1:
        _save_snapshot(base_settings)  # an index built before snapshots existed gets one, as at ingest
        return base_settings, {"chunks": None, "build_seconds": 0.0, "reused": True}
    folder = WORK / f"index-x{copies}"
    # Keyed by content (chunk ids are content hashes), not by generation: a rebuilt but
    # identical base index keeps its synthetic copies (1000x takes ~10 minutes to write).
    ids = sorted(c.id for c, _ in IndexStore.iter_chunks(base_store.live_collection()))
    stamp = {"fingerprint": generation.fingerprint, "ids": hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16],
             "copies": copies, "sigma": SIGMA, "seed": SEED}
    settings = parts.settings_for(folder)
    stamp_path = folder / "STAMP.json"
    if stamp_path.exists() and json.loads(stamp_path.read_text()) == stamp:
        _save_snapshot(settings)
        return settings, json.loads((folder / "BUILD.json").read_text()) | {"reused": True}

    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    rows = list(IndexStore.iter_chunks(base_store.live_collection(), with_embeddings=True))
    chunks = [c for c, _ in rows]
    vectors = np.asarray([v for _, v in rows], dtype=np.float32)
    store = IndexStore.connect(settings, create=True)
    collection = store.new_generation(size=copies * len(chunks))  # beyond EXACT_SEARCH_UP_TO: approximate
    rng = np.random.default_rng(SEED)
    pending_chunks: list = []
    pending_vectors: list = []
    for copy in range(copies):
        renamed = []
        for chunk in chunks:
            chunk_id, doc_id = synthetic_ids(chunk.id, chunk.doc_id, copy)
            renamed.append(dataclasses.replace(chunk, id=chunk_id, doc_id=doc_id))
        pending_chunks += renamed
        pending_vectors.append(vectors if copy == 0 else jitter(vectors, rng))
        if len(pending_chunks) >= 10_000 or copy == copies - 1:
            store.add_chunks(collection, pending_chunks, np.vstack(pending_vectors))
            pending_chunks, pending_vectors = [], []
            log(f"  synthetic x{copies}: {(copy + 1) * len(chunks):,} chunks written")
    adapter = _copy_adapter(base_settings, base_store, generation.name, chunks, settings, collection.name)
    _copy_units(base_settings, generation.name, chunks, settings, collection.name, copies, adapter)
    _save_snapshot(settings, collection)
    store.publish(collection, generation.fingerprint, adapter=adapter.key)
    info = {"chunks": copies * len(chunks), "build_seconds": time.perf_counter() - started}
    (folder / "BUILD.json").write_text(json.dumps(info))
    stamp_path.write_text(json.dumps(stamp))
    return settings, info | {"reused": False}


def _save_snapshot(settings, collection=None) -> None:
    """The synthetic generation's search snapshot (chunks, BM25), saved as ingestion saves it."""
    from assistant.indexing import saved_folder
    from assistant.snapshot import build_search, save_search, search_key, snapshot_path
    from assistant.store import IndexStore

    store = IndexStore.connect(settings)
    collection = collection or store.live_collection()
    if not (snapshot_path(saved_folder(settings), collection.name) / "key.json").exists():
        chunks = [chunk for chunk, _ in IndexStore.iter_chunks(collection)]
        save_search(saved_folder(settings), search_key(collection), build_search(chunks))


def _copy_adapter(base_settings, base_store, base_generation: str, chunks: list, settings, generation: str):
    """The base generation's adapter (adapter.py), saved for the synthetic one: its copies'
    vectors are the base's, mapped by it."""
    from assistant.adapter import adapter_path, load_adapter, save_adapter
    from assistant.indexing import saved_folder

    key = (base_store.live_collection().metadata or {}).get("adapter")
    adapter = load_adapter(saved_folder(base_settings), base_generation, chunks, parts.embedder(), key=key)
    save_adapter(adapter, adapter_path(saved_folder(settings), generation))
    return adapter


def _copy_units(base_settings, base_generation: str, chunks: list, settings, generation: str, copies: int,
                adapter) -> None:
    """The synthetic generation's answer units: the base's, once per copy (as ingest would
    save them), so the Assistant loads them instead of embedding every copy's sentences."""
    from assistant.adapter import AdaptedEmbedder
    from assistant.indexing import saved_folder
    from assistant.asking import Asking
    from assistant.units import Units, load_units, units_path

    base = load_units(saved_folder(base_settings), base_generation, chunks, AdaptedEmbedder(parts.embedder(), adapter))
    rows = [base.row_of(c.id) for c in chunks]
    order = np.concatenate([base.rows_of(r) for r in rows]) if rows else np.zeros(0, dtype=np.int64)
    per_copy = np.concatenate([np.full(len(base.rows_of(r)), i) for i, r in enumerate(rows)])
    phrase_order = np.concatenate([base.phrase_rows_of(r) for r in rows]).astype(np.int64)
    phrase_copy = np.concatenate([np.full(len(base.phrase_rows_of(r)), i) for i, r in enumerate(rows)])
    n = len(chunks)
    ids = [synthetic_ids(c.id, c.doc_id, copy)[0] for copy in range(copies) for c in chunks]
    units = Units(chunk_ids=ids,
                  chunk_row=np.concatenate([per_copy + copy * n for copy in range(copies)]).astype(np.int32),
                  starts=np.tile(base.starts[order], copies), ends=np.tile(base.ends[order], copies),
                  vectors=np.tile(base.vectors[order], (copies, 1)),
                  heading_vectors=np.tile(base.heading_vectors[rows], (copies, 1)), embedder=base.embedder,
                  phrase_row=np.concatenate([phrase_copy + copy * n for copy in range(copies)]).astype(np.int32),
                  phrase_vectors=np.tile(base.phrase_vectors[phrase_order], (copies, 1)),
                  # each copy's sections are sections of their own, read in the same way
                  asking=Asking(np.tile(base.asking.coef, (copies, 1)), np.tile(base.asking.intercept, copies),
                                np.concatenate([base.asking.section_of_row[rows] + copy * len(base.asking.coef)
                                                for copy in range(copies)]).astype(np.int32)))
    units.save(units_path(saved_folder(settings), generation), generation)


# -- the worker: warm latency through Assistant.ask -------------------------------------------------
def pick(cases: list, n: int | None) -> list:
    """n cases spread evenly over the golden set (all of them when n is None or too big)."""
    if n is None or n >= len(cases):
        return list(cases)
    step = len(cases) / n
    return [cases[int(i * step)] for i in range(n)]


def worker(index_dirs: list[Path], questions: int | None, passes: int, *, profile: Path | None = None,
           profile_pass: int = 0, encode_check: bool = False) -> dict:
    """Warm latency of one Assistant per index, in one process, interleaved question by question.

    Each question is asked of every index back to back (the order rotating), so a burst of load
    on this shared machine hits every size alike and the ratios to the first index hold.
    `profile`: a pyinstrument profile of pass `profile_pass` (0: of building the Assistants).
    """
    from assistant.chain import Assistant

    model = parts.embedder()
    profiler = _profiler() if profile is not None and profile_pass == 0 else None
    indexes = []
    for folder in index_dirs:
        started = time.perf_counter()
        assistant = Assistant.from_settings(parts.settings_for(folder), embedder=model)
        built = time.perf_counter() - started
        assistant.ask("What is CAR-T therapy?", audience="patient")  # as app.py does at start
        indexes.append({"index": str(folder), "assistant": assistant, "chunks": len(assistant.retriever.chunks),
                        "build_seconds": built, "samples": {}, "statuses": {}})
    if profiler is not None:
        _write_profile(profiler, profile)
        profiler = None
    cases = pick(parts.golden_cases(), questions)
    for n in range(1, passes + 1):
        if profile is not None and n == profile_pass:
            profiler = _profiler()
        for entry in indexes:
            entry["samples"][str(n)], entry["statuses"][str(n)] = [], {}
        for i, case in enumerate(cases):
            for entry in rotated(indexes, i):
                t = time.perf_counter()
                answer = entry["assistant"].ask(case.question, case.audience, case.history)
                entry["samples"][str(n)].append((time.perf_counter() - t) * 1000)
                statuses = entry["statuses"][str(n)]
                statuses[answer.status] = statuses.get(answer.status, 0) + 1
        if profiler is not None:
            _write_profile(profiler, profile)
            profiler = None

    first = indexes[0]["samples"]
    result = {"questions": len(cases), "indexes": []}
    for entry in indexes:
        passes_out = {}
        for n, samples in entry["samples"].items():
            ms = summary(samples)
            passes_out[n] = {"ms": ms, "statuses": entry["statuses"][n], "samples": samples,
                             "median_ratio_to_first": summary(paired_ratios(samples, first[n]))["median"],
                             "p95_ratio_to_first": ratio(ms["p95"], summary(first[n])["p95"])}
        result["indexes"].append({"index": entry["index"], "chunks": entry["chunks"],
                                  "build_seconds": entry["build_seconds"], "passes": passes_out})
    if encode_check:
        result["encode_check"] = _encode_check(model, [c.question for c in cases[:30]])
    result["peak_rss_mib"] = peak_rss_mib()
    return result


def _profiler():
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    profiler.start()
    return profiler


def _write_profile(profiler, path: Path) -> None:
    profiler.stop()
    path.write_text(profiler.output_text(unicode=True, color=False, show_all=False))


def _encode_check(model, questions: list[str]) -> dict:
    """One question's encoding three ways, alternating in blocks of 5: as served
    (`SentenceEmbedder.encode`), and the bare SentenceTransformer on 2 torch threads and on 1."""
    import torch

    default = torch.get_num_threads()

    def bare(threads: int):
        def encode(q: str):
            torch.set_num_threads(threads)
            try:
                model.model.encode([q], normalize_embeddings=True, show_progress_bar=False)
            finally:
                torch.set_num_threads(default)
        return encode

    ways = {"served": lambda q: model.encode([q]), f"threads_{max(2, default)}": bare(max(2, default)),
            "threads_1": bare(1)}
    times: dict[str, list[float]] = {name: [] for name in ways}
    for b, block in enumerate(range(0, len(questions), 5)):
        for name in rotated(list(ways), b):
            for q in questions[block: block + 5]:
                t = time.perf_counter()
                ways[name](q)
                times[name].append((time.perf_counter() - t) * 1000)
    return {name: summary(v) for name, v in times.items()}


def run_worker(index_dirs: list[Path], *, questions: int | None, passes: int, profile: Path | None = None,
               profile_pass: int = 0, encode_check: bool = False) -> dict:
    command = [sys.executable, "-m", "bench.latency", "--worker", ",".join(map(str, index_dirs)),
               "--passes", str(passes)]
    if questions:
        command += ["--questions", str(questions)]
    if profile:
        command += ["--profile", str(profile), "--profile-pass", str(profile_pass)]
    if encode_check:
        command += ["--encode-check"]
    done = subprocess.run(command, cwd=ROOT, env=bench_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"latency worker failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- cold start through the page ------------------------------------------------------------------
def cold_start(index_dir: Path, log_path: Path, http_questions: list[tuple[str, str]]) -> dict:
    from gradio_client import Client

    with AppProcess(index_dir, log_path=log_path) as app:
        healthy = app.start()
        client = Client(app.url, verbose=False)
        first = ask_http(client, "What is CAR-T therapy?", "patient")
        first_answer = app.since_start()
        times = []
        for question, audience in http_questions:
            t = time.perf_counter()
            ask_http(client, question, audience)
            times.append((time.perf_counter() - t) * 1000)
        client.close()
        return {"healthy_seconds": healthy, "first_answer_seconds": first_answer,
                "first_status": first["status"], "http_ms": summary(times),
                "app_peak_rss_mib": app.peak_rss_mib()}


# -- the benchmark ------------------------------------------------------------------------------
def run(mode: str, scales: list[int], questions: int | None, passes: int, cap: int | None) -> dict:
    model = parts.lazy_embedder()
    base = parts.our_index(model)
    base_chunks = len(_count(base))
    del model
    cases = parts.golden_cases()
    http_questions = [(c.question, c.audience)
                      for c in pick([c for c in cases if not c.history], 10 if mode == "full" else 5)]
    folder = RESULTS / mode
    rows, folders = [], []
    for scale in scales:
        copies = copies_for(base_chunks, scale, cap)
        log(f"latency: scale {scale}x ({copies} copies, {copies * base_chunks:,} chunks)")
        settings, build = synthetic_index(base, copies)
        folders.append(settings.index_dir)
        row = {"scale": scale, "copies": copies, "chunks": copies * base_chunks, "capped": copies != scale,
               "synthetic_build": build, "goal_p95_ms": goal_for(copies * base_chunks, base_chunks)}
        if mode == "full" or not rows:  # quick: the cold start at 1x only (each costs ~15 s)
            row["cold"] = cold_start(settings.index_dir, folder / f"app-x{copies}.log", http_questions)
            log(f"  cold start {row['cold']['first_answer_seconds']:.1f} s, app peak RSS "
                f"{row['cold']['app_peak_rss_mib']:.0f} MiB")
        else:
            row["cold"] = None
        rows.append(row)

    log(f"latency: warm, every size side by side ({len(folders)} assistants in one process)")
    side = run_worker(folders, questions=questions, passes=passes, encode_check=True)
    for row, warm in zip(rows, side["indexes"]):
        row["warm"] = warm
        one, two = warm["passes"]["1"]["ms"], warm["passes"].get(str(passes), {}).get("ms", {})
        log(f"  {row['chunks']:>9,} chunks: first visit p50 {one['p50']:.0f} / p95 {one['p95']:.0f} ms; "
            f"again p95 {two.get('p95', float('nan')):.0f} ms (p95 x{warm['passes']['1']['p95_ratio_to_first']:.2f})")

    if mode == "full":  # where the time goes: sizes that miss a goal, and the largest
        for row, index_dir in zip(rows, folders):
            goal = row["goal_p95_ms"]
            missed = [n for n, p in row["warm"]["passes"].items() if goal is not None and p["ms"]["p95"] > goal]
            wanted = sorted(set(missed) | ({"0", str(passes)} if row is rows[-1] else set()))
            row["profiles"] = {}
            for n in wanted:
                profile = folder / f"profile-x{row['copies']}-{'build' if n == '0' else 'pass' + n}.txt"
                run_worker([index_dir], questions=min(questions or 60, 60), passes=max(1, int(n)),
                           profile=profile, profile_pass=int(n))
                row["profiles"][n] = str(profile.relative_to(ROOT))
    return {"base_chunks": base_chunks, "questions": side["questions"], "passes": passes, "sigma": SIGMA,
            "goals_ms": GOAL_P95_MS, "encode_check": side.get("encode_check"),
            "side_by_side_peak_rss_mib": side["peak_rss_mib"], "scales": rows}


def _count(settings) -> list:
    from assistant.store import IndexStore

    return list(IndexStore.iter_chunks(IndexStore.connect(settings).live_collection()))


def goal_for(chunks: int, base_chunks: int) -> float | None:
    """The p95 goal that applies at this size: 100 ms at 1x, 300 ms around 100,000 chunks."""
    if chunks == base_chunks:
        return GOAL_P95_MS["1x"]
    if abs(chunks - HUNDRED_K) <= base_chunks:
        return GOAL_P95_MS["100k"]
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="1x, 100x, ~100,000 chunks and 1000x; all questions")
    parser.add_argument("--quick", action="store_true",
                        help="1x and 10x, 20 questions, cold start at 1x only (the default)")
    parser.add_argument("--scales", help="comma-separated multiples of the corpus, e.g. 1,10,100")
    parser.add_argument("--questions", type=int, help="golden questions per pass (default: quick 40, full all)")
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--cap", type=int, help="at most this many chunks per synthetic index")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # comma-separated index folders
    parser.add_argument("--profile", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-pass", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--encode-check", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = worker([Path(p) for p in args.worker.split(",")], args.questions, args.passes,
                        profile=args.profile, profile_pass=args.profile_pass, encode_check=args.encode_check)
        print(json.dumps(result))
        return 0
    mode = "full" if args.full else "quick"
    if args.scales:
        scales = [int(s) for s in args.scales.split(",")]
    else:
        scales = [1, 100, 288, 1000] if mode == "full" else [1, 10]
    questions = args.questions or (None if mode == "full" else 20)
    started, before = time.perf_counter(), machine()
    results = run(mode, scales, questions, args.passes, args.cap)
    path = write_result("latency", mode, results, started=started, machine_before=before)
    log(f"latency: wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
