"""Regenerate BENCHMARKS.md's tables and the latency/memory chart from bench/results/*.json.

    .venv/bin/python -m bench.report

Only the blocks between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` are
rewritten; the narrative around them is left alone. Tables show the full suite
(bench/results/full); the quick suite (bench/results/quick) gets its own goals table.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

from .common import RESULTS, ROOT, read_results

DOC = ROOT / "BENCHMARKS.md"
CHART = ROOT / "bench" / "latency-memory.png"


# -- pure formatting ---------------------------------------------------------------------------
def fmt(value, digits: int = 1, unit: str = "") -> str:
    """A number for a table: fixed digits, thousands separators, '-' when missing."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return f"{value:,.{digits}f}{unit}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A GitHub table; cells are str()-ed and pipes escaped. Numeric-looking columns align right."""
    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    cells = [[cell(v) for v in row] for row in rows]
    for row in cells:
        if len(row) != len(headers):
            raise ValueError(f"row has {len(row)} cells, expected {len(headers)}: {row}")
    numeric = [bool(cells) and all(re.fullmatch(r"[-+]?[\d,.]+( ?[a-zA-Z%/×x]*)?|-|yes|no", r[i]) for r in cells)
               for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def replace_block(text: str, name: str, content: str) -> str:
    """Swap what sits between the generated-block markers called `name`."""
    start, end = f"<!-- generated:{name} -->", f"<!-- /generated:{name} -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"BENCHMARKS.md has no block '{name}': add the lines {start} and {end}")
    return pattern.sub(lambda _: f"{start}\n{content.strip()}\n{end}", text, count=1)


def provenance(record: dict | None) -> str:
    if not record:
        return "_Not measured yet._"
    m = record["machine"]
    load = f"{m['load_average'][0]:.1f} -> {m.get('load_average_end', ['?'])[0]}"
    return (f"_Command:_ `{record['command']}` · _machine:_ {m['nproc']} cores (nproc), {m['memory_gib']} GiB "
            f"(free -g), load average {load}, Python {m['python']} · _date:_ {record['date']} · "
            f"_commit:_ {m.get('git') or '-'} · _wall:_ {record['wall_seconds']:.0f} s")


def met(value, goal, higher_is_better: bool = True) -> str:
    if value is None or goal is None:
        return "-"
    ok = value >= goal if higher_is_better else value <= goal
    return "**met**" if ok else "**missed**"


# -- the figures against their goals ------------------------------------------------------------
def goal_rows(results: dict[str, dict]) -> list[list[str]]:
    rows = []
    ingest = (results.get("ingest") or {}).get("results")
    if ingest:
        r = ingest["throughput_ratio_vs_raw"]
        label = "Ingest throughput, ours / raw model.encode (median of paired ratios)"
        every, repeats = ingest.get("corpus_subset_every", 1), ingest.get("repeats", 1)
        if every > 1 or repeats < 3:  # few or short jobs: the load swings single samples by +-30%
            part = "the whole corpus" if every == 1 else f"every {every}th document"
            label += (f"; indicative only: {repeats} repeat{'s' if repeats != 1 else ''} on {part}, "
                      f"judged on the full suite")
        rows.append([label, ">= 0.80", fmt(r, 2), met(r, 0.8)])
        rows.append(["Re-ingest unchanged: texts embedded", "0", fmt(ingest["reingest_embedded_texts"]),
                     met(ingest["reingest_embedded_texts"], 0, higher_is_better=False)])
    retrieval = (results.get("retrieval") or {}).get("results")
    if retrieval:
        s = retrieval["scores"]
        best_other = max((n for n in s if n != "hybrid"), key=lambda n: s[n]["mrr"])
        rows.append([f"Retrieval: hybrid ahead of dense, BM25 and peer (MRR; next best {best_other})",
                     "hybrid first", f"{fmt(s['hybrid']['mrr'], 3)} vs {fmt(s[best_other]['mrr'], 3)}",
                     "**met**" if retrieval["hybrid_ahead_of_all"] else "**missed**"])
    latency = (results.get("latency") or {}).get("results")
    if latency:
        for row in latency["scales"]:
            goal = row.get("goal_p95_ms")
            if goal is None:
                continue
            p95 = row["warm"]["passes"]["1"]["ms"]["p95"]
            rows.append([f"Warm p95 through Assistant.ask, {row['chunks']:,} chunks (first visit of each question)",
                         f"<= {goal:.0f} ms", fmt(p95, 0, " ms"), met(p95, goal, higher_is_better=False)])
            hot = row["warm"]["passes"].get("2")
            if hot:
                p95 = hot["ms"]["p95"]
                rows.append([f"Warm p95, {row['chunks']:,} chunks, questions asked again (caches hot)",
                             f"<= {goal:.0f} ms", fmt(p95, 0, " ms"), met(p95, goal, higher_is_better=False)])
    concurrency = (results.get("concurrency") or {}).get("results")
    if concurrency:
        rows.append(["Concurrency: errors over all levels", "0", fmt(concurrency["errors_total"]),
                     met(concurrency["errors_total"], 0, higher_is_better=False)])
        rows.append(["Concurrency: answers differing from a single client's", "0",
                     fmt(concurrency["mismatches_total"]),
                     met(concurrency["mismatches_total"], 0, higher_is_better=False)])
    return rows


def goals_block(results: dict[str, dict]) -> str:
    rows = goal_rows(results)
    if not rows:
        return "_Not measured yet._"
    dates = sorted({r["date"][:10] for r in results.values()})
    return markdown_table(["Figure", "Goal", "Measured", ""], rows) + f"\n\n_Measured on {', '.join(dates)}._"


# -- one table per benchmark -------------------------------------------------------------------------
def ingest_block(record: dict | None) -> str:
    if not record:
        return provenance(None)
    r = record["results"]
    tr = r["throughput_ratio_vs_raw"]
    rows = [
        ["ours: `ingest(..., rebuild=True)`", fmt(r["chunks"]), fmt(r["ours_seconds"]["median"], 1),
         fmt(r["ours_chunks_per_s"], 1), "1.00"],
        ["raw: the model's own work: `model.encode` of the same batches (adapter pairs, chunks, answer units" +
         (f": {fmt(r['embedded_texts'])} texts)" if r.get("embedded_texts") else ")") + " and the adapter's fit", fmt(r["chunks"]), fmt(r["raw_encode_seconds"]["median"], 1),
         fmt(r["raw_chunks_per_s"], 1), fmt(1 / tr if tr else None, 2)],
        ["peer: splitter 1000/200 + `Chroma.from_documents`", fmt(r["peer_chunks"]),
         fmt(r["peer_seconds"]["median"], 1), fmt(r["peer_chunks_per_s"], 1), fmt(r["speed_vs_peer"], 2)],
    ]
    table = markdown_table(["Pipeline", "Chunks", "Seconds (median)", "Chunks/s",
                            "Time for the corpus / ours (paired median)"], rows)
    extra = [
        ["Repeats (paired, rotating order)", fmt(r["repeats"])],
        ["Documents" + (f" (every {r['corpus_subset_every']}th by id)" if r.get("corpus_subset_every", 1) > 1 else ""),
         fmt(r["documents"])],
        ["Ours / raw per repeat", ", ".join(fmt(x, 2) for x in r["throughput_ratios_vs_raw"])],
        ["Share of our ingest time outside `model.encode` (same runs; the adapter's fit included)", fmt(100 * r["overhead_share"], 1, " %")
         if r.get("overhead_share") is not None else "-"],
        ["Peer time / our time, same corpus (median of paired ratios; >1: ours faster)", fmt(r["speed_vs_peer"], 2)],
        ["Re-ingest unchanged: seconds (median)", fmt(r["reingest_seconds"]["median"], 2)],
        ["Re-ingest unchanged: texts embedded", fmt(r["reingest_embedded_texts"])],
        ["Re-ingest time / full ingest time", fmt(r["reingest_vs_full"], 3)],
    ]
    if r.get("peer_rerun"):
        p = r["peer_rerun"]
        extra.append(["Peer recipe run again on its folder: texts embedded, seconds, collection size",
                      f"{fmt(p['embedded'])}, {fmt(p['seconds'], 1)} s, {fmt(p['collection_before'])} -> "
                      f"{fmt(p['collection_after'])}"])
    return table + "\n\n" + markdown_table(["", ""], extra) + "\n\n" + provenance(record)


RETRIEVAL_LABELS = {
    "dense": "dense only (MiniLM, Chroma)", "bm25": "BM25 only", "hybrid": "**ours: hybrid (weighted RRF)**",
    "peer": "peer: `similarity_search(question, k=4)`",
    "peer_our_query": "peer index, our query text, k=6 (diagnostic)",
}


def retrieval_block(record: dict | None) -> str:
    if not record:
        return provenance(None)
    r = record["results"]
    rows = [[RETRIEVAL_LABELS.get(name, name), fmt(s["hit_at_1"], 3), fmt(s["hit_at_5"], 3), fmt(s["mrr"], 3),
             fmt(len(r["misses"][name]))]
            for name, s in r["scores"].items()]
    return (markdown_table(["Retriever", "hit@1", "hit@5", "MRR", "Misses (not in top 5)"], rows)
            + f"\n\n{r['cases']} cases (golden cases expected to be answered, with expected sources); "
              f"scored by document.\n\n" + provenance(record))


def _statuses(counts: dict) -> str:
    return "/".join(str(counts.get(k, 0)) for k in ("answered", "refused", "urgent"))


def latency_block(record: dict | None) -> str:
    if not record:
        return provenance(None)
    r = record["results"]
    rows = []
    for row in r["scales"]:
        passes, cold = row["warm"]["passes"], row.get("cold") or {}
        one, again = passes["1"], passes.get(str(r["passes"]), {}) if r["passes"] > 1 else {}
        rows.append([
            f"{row['copies']}x", fmt(row["chunks"]),
            fmt(row["synthetic_build"].get("build_seconds"), 0, " s") + (" (kept)" if row["synthetic_build"].get("reused")
                                                                        and row["copies"] > 1 else ""),
            fmt(cold.get("first_answer_seconds"), 1, " s"), fmt(cold.get("app_peak_rss_mib"), 0),
            fmt(cold.get("http_ms", {}).get("p50"), 0),
            fmt(one["ms"]["p50"], 0), fmt(one["ms"]["p95"], 0), fmt(one["p95_ratio_to_first"], 2),
            fmt(again.get("ms", {}).get("p50"), 0), fmt(again.get("ms", {}).get("p95"), 0),
            _statuses(one["statuses"]), fmt(row.get("goal_p95_ms"), 0),
        ])
    headers = ["Index", "Chunks", "Index build", "Cold start to 1st answer", "App peak RSS MiB",
               "HTTP /ask p50 ms", "Warm p50 ms", "Warm p95 ms", "p95 / 1x", "Again p50 ms", "Again p95 ms",
               "Answered/refused/urgent", "p95 goal ms"]
    text = markdown_table(headers, rows)
    text += (f"\n\n{r['questions']} golden questions per pass (with audience and history), every size asked "
             f"each question back to back in one process; warm = after one warm-up question; 'Again' = "
             f"the same questions a second time.")
    notes = [[f"Building the Assistant, {row['chunks']:,} chunks (side-by-side worker)",
              fmt(row["warm"]["build_seconds"], 1, " s")] for row in r["scales"]]
    check = r.get("encode_check")
    if check:
        cells = [f"{name.replace('_', ' ')} {fmt(v['median'], 1)} / {fmt(v['p95'], 1)}" for name, v in check.items()]
        notes.append(["One question's encoding, same run, median / p95 ms", "; ".join(cells)])
    for row in r["scales"]:
        for n, path in (row.get("profiles") or {}).items():
            what = "building the Assistant" if n == "0" else f"pass {n}"
            notes.append([f"Profile, {row['chunks']:,} chunks, {what}", f"`{path}`"])
    return text + "\n\n" + markdown_table(["", ""], notes) + "\n\n" + provenance(record)


def before_block(record: dict | None) -> str:
    """The 1x figures measured before commit a950821 (the older per-size worker layout)."""
    if not record:
        return "_No earlier measurement kept._"
    row = record["results"]["scales"][0]
    warm = row["warm"]
    rows = [["Warm, first visit, p50 / p95 ms", f"{fmt(warm['passes']['1']['ms']['p50'], 0)} / "
                                                 f"{fmt(warm['passes']['1']['ms']['p95'], 0)}"],
            ["Warm, asked again, p50 / p95 ms", f"{fmt(warm['passes']['2']['ms']['p50'], 0)} / "
                                                f"{fmt(warm['passes']['2']['ms']['p95'], 0)}"]]
    check = warm.get("encode_check") or {}
    if check:
        two, one = check.get("threads_2", {}), check.get("threads_1", {})
        rows.append(["One question's encoding, torch 2 threads vs 1, same run: median / p95 ms",
                     f"{fmt(two.get('median'), 1)} / {fmt(two.get('p95'), 1)} vs "
                     f"{fmt(one.get('median'), 1)} / {fmt(one.get('p95'), 1)}"])
    alt = row.get("warm_one_thread")
    if alt:
        ms = alt["passes"]["1"]["ms"]
        rows.append(["Same questions, torch on 1 thread (what-if run right after): p50 / p95 ms",
                     f"{fmt(ms['p50'], 0)} / {fmt(ms['p95'], 0)}"])
    rows.append(["Cold start to first answer; app peak RSS",
                 f"{fmt(row['cold']['first_answer_seconds'], 1, ' s')}; {fmt(row['cold']['app_peak_rss_mib'], 0)} MiB"])
    m = record["machine"]
    return (markdown_table([f"1x ({row['chunks']} chunks), before", "Measured"], rows)
            + f"\n\n_Command:_ `{record['command']}` (its 1x step) · _machine:_ {m['nproc']} cores, "
              f"{m['memory_gib']} GiB, load average {m['load_average'][0]:.1f} · _date:_ {record['date']} · "
              f"_code:_ {m.get('git')}")


def concurrency_block(record: dict | None) -> str:
    if not record:
        return provenance(None)
    r = record["results"]
    rows = [[fmt(x["clients"]), fmt(x["requests"]), fmt(x["throughput_rps"], 1), fmt(x.get("throughput_vs_1"), 2),
             fmt(x["ms"]["p50"], 0), fmt(x["ms"]["p95"], 0), fmt(x["errors"]), fmt(x["mismatches"])]
            for x in r["levels"]]
    return (markdown_table(["Clients", "Requests", "Requests/s", "vs 1 client", "p50 ms", "p95 ms", "Errors",
                            "Answers differing"], rows)
            + f"\n\n{r['questions']} golden questions (no history) per client; app peak RSS "
              f"{fmt(r['app_peak_rss_mib'], 0)} MiB.\n\n" + provenance(record))


# -- the chart ---------------------------------------------------------------------------------
def chart(record: dict | None, path: Path = CHART) -> Path | None:
    """Warm latency and peak memory against index size (log scale), the goals drawn in."""
    if not record:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(record["results"]["scales"], key=lambda r: r["chunks"])
    measured = [r for r in rows if r.get("cold")]  # quick runs time the cold start at 1x only
    x = [r["chunks"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2), dpi=100)
    for key, style, label in (("p50", "o-", "p50, first visit"), ("p95", "s-", "p95, first visit")):
        left.plot(x, [r["warm"]["passes"]["1"]["ms"][key] for r in rows], style, label=label)
    if all("2" in r["warm"]["passes"] for r in rows):
        left.plot(x, [r["warm"]["passes"]["2"]["ms"]["p95"] for r in rows], "^--", label="p95, asked again")
    goals = [(r["chunks"], r["goal_p95_ms"]) for r in rows if r.get("goal_p95_ms")]
    if goals:
        left.plot(*zip(*goals), "r*", markersize=11, label="p95 goal")
    left.set(xscale="log", xlabel="chunks in the index", ylabel="ms per question",
             title="Warm latency (Assistant.ask)")
    left.set_ylim(bottom=0)
    left.legend(fontsize=7)
    mx = [r["chunks"] for r in measured]
    right.plot(mx, [r["cold"]["app_peak_rss_mib"] for r in measured], "s-", label="app.py peak RSS")
    right.set(xscale="log", xlabel="chunks in the index", ylabel="MiB", title="Serving process memory")
    right.set_ylim(bottom=0)
    cold = right.twinx()
    cold.plot(mx, [r["cold"]["first_answer_seconds"] for r in measured], "o:", color="tab:green",
              label="cold start, s")
    cold.set_ylabel("cold start to first answer, s")
    cold.set_ylim(bottom=0)
    handles = right.get_legend_handles_labels()
    more = cold.get_legend_handles_labels()
    right.legend(handles[0] + more[0], handles[1] + more[1], fontsize=7, loc="upper left")
    for axis in (left, right):
        axis.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def render(doc: Path = DOC) -> str:
    full, quick = read_results("full"), read_results("quick")
    text = doc.read_text(encoding="utf-8")
    text = replace_block(text, "goals-full", goals_block(full))
    text = replace_block(text, "goals-quick", goals_block(quick))
    text = replace_block(text, "ingest", ingest_block(full.get("ingest")))
    text = replace_block(text, "retrieval", retrieval_block(full.get("retrieval")))
    text = replace_block(text, "latency", latency_block(full.get("latency")))
    before = RESULTS / "before-a950821" / "latency.json"
    if before.exists():  # kept only where it was measured: elsewhere the block stays as committed
        text = replace_block(text, "latency-before", before_block(json.loads(before.read_text())))
    text = replace_block(text, "concurrency", concurrency_block(full.get("concurrency")))
    run = full.get("run") or {}
    quick_run = quick.get("run") or {}
    text = replace_block(text, "suite-times", markdown_table(["Suite", "Wall time", "Command", "Date"], [
        ["quick", fmt(quick_run.get("wall_seconds"), 0, " s"), f"`{quick_run.get('command', '-')}`",
         quick_run.get("date", "-")],
        ["full", fmt(run.get("wall_seconds"), 0, " s"), f"`{run.get('command', '-')}`", run.get("date", "-")],
    ]))
    chart(full.get("latency") or quick.get("latency"))
    doc.write_text(text, encoding="utf-8")
    return text


def main(argv=None) -> int:
    render()
    print(f"wrote {DOC.relative_to(ROOT)} and {CHART.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
