"""Ingestion throughput: our pipeline against raw `model.encode` and the peer recipe, side by side.

    .venv/bin/python -m bench.ingest [--quick | --full] [--repeats N] [--every N]

Quick: the whole corpus, once (its builds are kept for the retrieval, latency and concurrency
benchmarks, so a fresh checkout builds nothing twice). Full: the whole corpus, 5 repeats, and
the peer recipe run a second time on the same folder. `--every 6` takes a sixth of the corpus.

Each repeat runs, back to back and in a rotating order:
- ours: `ingest(settings, embedder=..., rebuild=True)` into a temporary index (loading,
  chunking, embedding, writing a new Chroma generation, publishing);
- raw: the model's own work, nothing else: `SentenceTransformer.encode` of exactly the batches
  our first ingest sent to the model (the adapter's headings, phrasings and sections, the
  chunks' `embedding_text`, then every sentence, heading and phrasing the answer units embed;
  batch size and normalisation as the pipeline), and the adapter's fit (`adapter.fit_matrix`,
  a training step of the embedding) on those texts' vectors: the ceiling our pipeline can reach;
- peer: LangChain's standard recipe over the same documents (bench/parts.py).
Then re-ingest with nothing changed: its time and how many texts were embedded (goal 0).
Ratios are medians of the per-repeat ratios; the model is loaded and warmed first.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from . import parts
from .common import CORPUS, WORK, log, machine, paired_ratios, ratio, summary, write_result

GOAL_RATIO = 0.8


def subset(documents: list, every: int) -> list:
    """Every `every`-th document by id (all of them for 1): a smaller corpus, same mix of formats."""
    if every < 1:
        raise ValueError("every must be 1 or more")
    return sorted(documents, key=lambda d: d.meta.id)[::every]


def copy_corpus(documents: list, folder: Path) -> Path:
    """A corpus folder holding just these documents' files (and their metadata sidecars)."""
    folder.mkdir(parents=True, exist_ok=True)
    for doc in documents:
        source = CORPUS.parent / doc.source
        for path in (source, source.with_name(source.name + ".yaml")):
            if path.exists():
                shutil.copy2(path, folder / path.name)
    return folder


def run(mode: str, repeats: int, every: int = 1) -> dict:
    from assistant.indexing import chunk_documents, ingest

    model = parts.embedder()
    documents = subset(parts.corpus_documents(), every)
    settings_probe = parts.settings_for(WORK / "scratch")
    chunks = [c for cs in chunk_documents(documents, settings_probe, model).values() for c in cs]
    texts = [c.embedding_text for c in chunks]
    from assistant.adapter import fit_matrix, training_pairs

    pairs = training_pairs(chunks)
    pair_vectors = model.encode(list(pairs.asks) + list(pairs.texts)).astype(np.float16).astype(np.float32)
    pair_section = np.asarray(pairs.section)
    lc_docs = parts.peer_documents(documents)
    log(f"ingest: {len(documents)} documents, {len(chunks)} chunks, {repeats} repeats")

    ours_s, ours_encode_s, raw_s, peer_s, peer_chunks = [], [], [], [], 0
    ours_chunks, embedded_batches = 0, None
    scratch = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        ours_settings = parts.settings_for(scratch / "ours")
        if every > 1:
            ours_settings = ours_settings.model_copy(
                update={"corpus_dir": copy_corpus(documents, scratch / "corpus")})
        jobs = ("ours", "raw", "peer")
        for r in range(repeats):
            for job in jobs[r % 3:] + jobs[: r % 3]:  # rotate so no job always runs first
                started = time.perf_counter()
                if job == "ours":
                    timed = parts.CountingEmbedder(model, keep=embedded_batches is None)
                    report = ingest(ours_settings, embedder=timed, rebuild=True)
                    ours_s.append(time.perf_counter() - started)
                    ours_encode_s.append(timed.seconds)
                    ours_chunks = report.chunks
                    if embedded_batches is None:
                        embedded_batches = timed.batches
                elif job == "raw":
                    # The first repeat runs ours first, so its batches are known here.
                    for batch in embedded_batches:
                        model.model.encode(batch, batch_size=ours_settings.embedding_batch_size, normalize_embeddings=True,
                                           convert_to_numpy=True, show_progress_bar=False)
                    fit_matrix(pair_vectors[: len(pairs.asks)], pair_vectors[len(pairs.asks):], pair_section)
                    raw_s.append(time.perf_counter() - started)
                else:
                    peer_dir = scratch / f"peer-{r}"  # a fresh folder: Chroma caches clients by path
                    _, peer_chunks = parts.build_peer(lc_docs, parts.lc_embeddings(model), peer_dir)
                    peer_s.append(time.perf_counter() - started)
                log(f"  repeat {r + 1} {job}: {time.perf_counter() - started:.1f} s")

        # Re-ingest with nothing changed: nothing may be embedded, and it should be quick.
        counting = parts.CountingEmbedder(model)
        reingest_s, reingest_reported = [], []
        for _ in range(max(3, repeats)):
            started = time.perf_counter()
            report = ingest(ours_settings, embedder=counting)
            reingest_s.append(time.perf_counter() - started)
            reingest_reported.append(report.embedded)

        peer_rerun = None
        if mode == "full" and repeats >= 2:  # the recipe has no content hashing: a rerun embeds everything
            embeddings = parts.lc_embeddings(model)
            from langchain_chroma import Chroma
            from chromadb.config import Settings as ChromaSettings

            folder = scratch / "peer-0"  # the first repeat's build: the last one is kept, unpolluted
            store = Chroma(collection_name=parts.PEER_COLLECTION, embedding_function=embeddings,
                           persist_directory=str(folder),
                           client_settings=ChromaSettings(anonymized_telemetry=False, is_persistent=True,
                                                          persist_directory=str(folder)))
            before = store._collection.count()
            started = time.perf_counter()
            store.add_documents(parts.peer_split(lc_docs))
            peer_rerun = {"seconds": time.perf_counter() - started, "embedded": embeddings.texts,
                          "collection_before": before, "collection_after": store._collection.count()}

        if every == 1:
            # Keep the last builds for the retrieval and latency benchmarks of this run; stop
            # Chroma's cached clients first so that nothing holds the folders being moved.
            from chromadb.api.client import SharedSystemClient

            SharedSystemClient.clear_system_cache()
            for name in ("index", "peer"):
                shutil.rmtree(WORK / name, ignore_errors=True)
            WORK.mkdir(parents=True, exist_ok=True)
            shutil.move(str(scratch / "ours"), WORK / "index")
            shutil.move(str(peer_dir), WORK / "peer")
            parts.write_peer_stamp(documents)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    ours, raw, peer = summary(ours_s), summary(raw_s), summary(peer_s)
    throughput_ratios = paired_ratios(raw_s, ours_s)  # (chunks/ours_s) / (chunks/raw_s)
    peer_ratios = paired_ratios(peer_s, ours_s)
    return {
        "documents": len(documents), "corpus_subset_every": every, "chunks": ours_chunks, "peer_chunks": peer_chunks, "repeats": repeats,
        "ours_seconds": ours, "raw_encode_seconds": raw, "peer_seconds": peer,
        "ours_chunks_per_s": ratio(ours_chunks, ours["median"]),
        "raw_chunks_per_s": ratio(len(texts), raw["median"]),
        "embedded_texts": sum(len(b) for b in embedded_batches),  # chunks, sentences, headings, phrasings
        "peer_chunks_per_s": ratio(peer_chunks, peer["median"]),
        "throughput_ratio_vs_raw": summary(throughput_ratios)["median"],
        # Noise-robust: the share of our ingest time spent outside model.encode, same run.
        "ours_encode_seconds": summary(ours_encode_s),
        "overhead_share": summary([1 - e / t for e, t in zip(ours_encode_s, ours_s)])["median"],
        "throughput_ratios_vs_raw": throughput_ratios,
        "speed_vs_peer": summary(peer_ratios)["median"],  # >1: we index the corpus faster than the peer
        "speed_vs_peer_ratios": peer_ratios,
        "reingest_seconds": summary(reingest_s),
        "reingest_embedded_texts": counting.texts,
        "reingest_reported_embedded": max(reingest_reported),
        "reingest_vs_full": ratio(summary(reingest_s)["median"], ours["median"]),
        "peer_rerun": peer_rerun,
        "goal_ratio_vs_raw": GOAL_RATIO,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="whole corpus, 5 repeats")
    parser.add_argument("--quick", action="store_true",
                        help="the whole corpus, 1 repeat (the default)")
    parser.add_argument("--repeats", type=int, help="override the number of repeats")
    parser.add_argument("--every", type=int, help="use every Nth document (1: the whole corpus)")
    args = parser.parse_args(argv)
    mode = "full" if args.full else "quick"
    repeats = args.repeats or (5 if mode == "full" else 1)
    every = args.every or 1
    started, before = time.perf_counter(), machine()
    results = run(mode, repeats, every)
    path = write_result("ingest", mode, results, started=started, machine_before=before)
    log(f"ingest: ours {results['ours_chunks_per_s']:.1f} chunks/s, raw {results['raw_chunks_per_s']:.1f}, "
        f"ratio {results['throughput_ratio_vs_raw']:.2f} (goal >= {GOAL_RATIO}); "
        f"re-ingest embedded {results['reingest_embedded_texts']}; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
