"""Retrieval quality on the golden set: dense, BM25, our hybrid, and the peer recipe.

    .venv/bin/python -m bench.retrieval [--quick | --full]

Cases: every golden case expected to be answered that names expected sources. Each of our
modes is `HybridRetriever.search` over the same index, on the query the chain builds
(`build_query` with the conversation, then the corpus vocabulary's spelling repair), with
the case's audience and the served top_k. The peer is `similarity_search(question, k=4)` over
the peer recipe's index (the standard recipe searches the question as typed); a second peer
row gets our query text and k=top_k, to separate the recipe's chunks from the query building.

Scored by document, the same for every row (the peer's chunks carry no section): the ranked
list is the distinct document ids in passage order; hit@5 = an expected document among the
first 5; MRR = mean of 1/rank of the first expected document (0 when absent).
Deterministic: quick and full are the same run. Torch runs on one thread here (this
benchmark times nothing, and single-query encoding is fastest on one thread, see latency).
"""

from __future__ import annotations

import argparse
import time

from eval.metrics import first_relevant_rank, hit_at, mrr

from . import parts
from .common import log, machine, write_result

MODES = ("dense", "bm25", "hybrid")


def doc_ranking(doc_ids) -> list[tuple[str, None]]:
    """Distinct document ids in first-seen order, as eval.metrics items (doc, no section)."""
    seen: list[str] = []
    for doc_id in doc_ids:
        if doc_id not in seen:
            seen.append(doc_id)
    return [(d, None) for d in seen]


def doc_level(expected):
    """An expectation on a section counts as its document here (the peer has no sections)."""
    from eval.cases import ExpectedSource

    return tuple(dict.fromkeys(ExpectedSource(e.doc) for e in expected))


def score(ranks: list[int | None]) -> dict:
    return {"cases": len(ranks), "hit_at_5": sum(hit_at(r, 5) for r in ranks) / len(ranks) if ranks else None,
            "hit_at_1": sum(hit_at(r, 1) for r in ranks) / len(ranks) if ranks else None,
            "mrr": mrr(ranks)}


def run() -> dict:
    from assistant.chain import Assistant
    from assistant.retrieval import HybridRetriever, build_query

    import torch

    torch.set_num_threads(1)  # quality only, no timing: one thread is fastest for single queries
    model = parts.embedder()
    settings = parts.our_index(model)
    cases = parts.retrieval_cases()
    assistant = Assistant.from_settings(settings, embedder=model)  # its vocabulary mends spelling
    store = assistant.retriever.store
    retrievers = {m: HybridRetriever(store, model, mode=m, top_k=settings.top_k) for m in MODES}
    peer = parts.peer_index(model)
    log(f"retrieval: {len(cases)} cases")

    ranks: dict[str, list] = {m: [] for m in MODES}
    ranks["peer"], ranks["peer_our_query"] = [], []
    per_case = []
    for case in cases:
        expected = doc_level(case.expected_sources)
        query = build_query(case.question, case.history)
        text = assistant.vocabulary.correct_text(query.text)
        vector = assistant.retriever.adapt(model.encode([text])[0])  # as the index was mapped (adapter.py)
        row = {"id": case.id}
        for mode, retriever in retrievers.items():
            passages = retriever.search(text, audience=case.audience, query_vector=vector)
            row[mode] = first_relevant_rank(expected, doc_ranking(p.chunk.doc_id for p in passages))
            ranks[mode].append(row[mode])
        found = peer.similarity_search(case.question, k=parts.PEER_RECIPE["k"])
        row["peer"] = first_relevant_rank(expected, doc_ranking(d.metadata["doc_id"] for d in found))
        ranks["peer"].append(row["peer"])
        found = peer.similarity_search_by_vector(vector.tolist(), k=settings.top_k)
        row["peer_our_query"] = first_relevant_rank(expected, doc_ranking(d.metadata["doc_id"] for d in found))
        ranks["peer_our_query"].append(row["peer_our_query"])
        per_case.append(row)

    scores = {name: score(r) for name, r in ranks.items()}
    hybrid = scores["hybrid"]
    others = [n for n in scores if n != "hybrid"]
    ahead = all(hybrid["hit_at_5"] >= scores[n]["hit_at_5"] and hybrid["mrr"] > scores[n]["mrr"] for n in others)
    return {"cases": len(cases), "top_k": settings.top_k, "peer_k": parts.PEER_RECIPE["k"],
            "scores": scores, "hybrid_ahead_of_all": ahead,
            "misses": {name: [row["id"] for row in per_case if not hit_at(row[name], 5)] for name in scores},
            "per_case": per_case}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.retrieval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    mode = "full" if args.full else "quick"
    started, before = time.perf_counter(), machine()
    results = run()
    path = write_result("retrieval", mode, results, started=started, machine_before=before)
    for name, s in results["scores"].items():
        log(f"  {name:15s} hit@5 {s['hit_at_5']:.3f}  MRR {s['mrr']:.3f}")
    log(f"retrieval: hybrid ahead of all: {results['hybrid_ahead_of_all']}; wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
