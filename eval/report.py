"""The evaluation report: one self-contained HTML file rendered from the results dict.

Entry point: `write_report(results, out_dir) -> Path` (writes report.html and results.json).
Nothing in the page is fetched: the CSS is inline and the charts are matplotlib SVGs
embedded as data URIs, each with alt text. Every piece of text from a case, an answer or
a document is escaped. Order: verdict, summary table, charts, failing cases (first, open),
then the passing cases folded away.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Sequence

from .metrics import METRICS

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;
padding:1.5rem;color:#1b1b1b;line-height:1.45}
h1{margin:.2rem 0}h2{margin-top:2.2rem;border-bottom:2px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0;font-size:.92rem}
th,td{border:1px solid #d6d6d6;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f4f7}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.verdict{display:inline-block;padding:.35rem .8rem;border-radius:.3rem;font-weight:700;color:#fff}
.pass{color:#0a6b2b}.fail{color:#b00020;font-weight:600}.na{color:#777}
.verdict.pass{background:#0a7d33;color:#fff}.verdict.fail{background:#b00020;color:#fff}
.meta{color:#555;font-size:.9rem}.meaning{color:#555;font-size:.82rem}
.charts img{max-width:100%;border:1px solid #eee;margin:.5rem 0}
.answer{white-space:pre-wrap;max-height:22rem;overflow:auto;background:#fafafa;padding:.4rem;border:1px solid #eee}
.why{color:#b00020}.hit{font-weight:700;color:#0a6b2b}.miss{color:#b00020}
ol.ranked{margin:0;padding-left:1.4rem}ul.plain{margin:0;padding-left:1.1rem}
details>summary{cursor:pointer;font-weight:600;margin:.4rem 0}
.excerpt{color:#444;font-size:.85rem;white-space:pre-line;max-height:14rem;overflow:auto}.turn{color:#555;font-size:.88rem}
.tag{display:inline-block;background:#eef1f6;border-radius:.25rem;padding:0 .3rem;margin:0 .15rem .15rem 0;font-size:.8rem}
"""


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def fmt(name: str, value) -> str:
    if value is None:
        return "—"
    if METRICS[name].unit == "ms":
        return f"{value:,.0f} ms"
    return f"{value * 100:.1f}%"


def fmt_delta(name: str, value) -> str:
    if value is None:
        return ""
    return f"{value:,.0f} ms" if METRICS[name].unit == "ms" else f"{value * 100:.1f} pts"


# -- charts ------------------------------------------------------------------------------------
def _svg_img(fig, alt: str) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    data = base64.b64encode(buffer.getvalue().encode("utf-8")).decode("ascii")
    return f'<img src="data:image/svg+xml;base64,{data}" alt="{esc(alt)}">'


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "eval-report", "font.size": 9})
    return plt


RATE_METRICS = [name for name, info in METRICS.items() if info.unit == "rate"]


def chart_metrics(results: dict) -> str:
    plt = _pyplot()
    metrics = results["summary"]["metrics"]
    baseline = (results.get("baseline") or {}).get("metrics") or {}
    thresholds = {c["metric"]: c for c in results.get("gate", {}).get("checks", [])}
    names = [n for n in RATE_METRICS if metrics.get(n) is not None]
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(names) + 1.2))
    ys = range(len(names))
    height = 0.38 if baseline else 0.6
    ax.barh([y - (height / 2 if baseline else 0) for y in ys], [metrics[n] for n in names], height,
            label="this run", color="#2f6db5")
    if baseline:
        ax.barh([y + height / 2 for y in ys], [baseline.get(n) or 0 for n in names], height,
                label="baseline", color="#b9c4d3")
    for y, n in zip(ys, names):
        limit = thresholds.get(n, {})
        for key, marker in (("min", "|"), ("max", "|")):
            if limit.get(key) is not None:
                ax.plot([limit[key]], [y], marker=marker, markersize=16, color="#b00020", mew=2)
        ax.text(min(metrics[n], 1.0) + 0.01, y - (height / 2 if baseline else 0), f"{metrics[n] * 100:.1f}%",
                va="center", fontsize=8)
    ax.plot([], [], marker="|", linestyle="none", color="#b00020", markersize=12, mew=2, label="threshold")
    ax.set_yticks(list(ys), [METRICS[n].label for n in names])
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12)
    ax.set_xlabel("share (1 = 100%)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Metrics" + (" vs baseline" if baseline else ""))
    alt = "Bar chart of each metric" + (" against the baseline" if baseline else "") + ": " + "; ".join(
        f"{METRICS[n].label} {fmt(n, metrics[n])}" + (f" (baseline {fmt(n, baseline.get(n))})" if baseline else "")
        for n in names)
    return _svg_img(fig, alt)


def chart_compare(results: dict) -> str:
    plt = _pyplot()
    runs = results["compare"]
    names = [n for n in RATE_METRICS if n != "triage_false_positive_rate"
             and any(r["summary"]["metrics"].get(n) is not None for r in runs)]
    fig, ax = plt.subplots(figsize=(11, 4.2))
    width = 0.8 / len(runs)
    colours = ["#2f6db5", "#e08a1e", "#3a9a4a", "#8a56b5"]
    for i, run in enumerate(runs):
        values = [run["summary"]["metrics"].get(n) or 0 for n in names]
        ax.bar([x + (i - (len(runs) - 1) / 2) * width for x in range(len(names))], values, width,
               label=run["retrieval_mode"] + (" (gated)" if run["retrieval_mode"] == results["gate"]["applied_to"] else ""),
               color=colours[i % len(colours)])
    ax.set_xticks(range(len(names)), [METRICS[n].label.split(" (")[0] for n in names], rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share (1 = 100%)")
    ax.legend(fontsize=8, ncols=len(runs))
    ax.set_title("Retrieval modes side by side")
    alt = "Grouped bar chart comparing retrieval modes: " + "; ".join(
        f"{run['retrieval_mode']}: " + ", ".join(f"{METRICS[n].label} {fmt(n, run['summary']['metrics'].get(n))}"
                                              for n in ("pass_rate", "hit_at_5", "mrr"))
        for run in runs)
    return _svg_img(fig, alt)


def chart_tags(results: dict) -> str:
    plt = _pyplot()
    tags = sorted(results["by_tag"].items(), key=lambda kv: (kv[1]["metrics"]["pass_rate"] or 0, kv[0]))
    fig, ax = plt.subplots(figsize=(9, 0.24 * len(tags) + 1.2))
    values = [t[1]["metrics"]["pass_rate"] or 0 for t in tags]
    colours = ["#b00020" if v < 0.5 else "#e08a1e" if v < 0.9 else "#3a9a4a" for v in values]
    ax.barh(range(len(tags)), values, color=colours)
    for y, (name, t) in enumerate(tags):
        ax.text(min(values[y], 0.93) + 0.01, y, f"{t['n_passed']}/{t['n_cases']}", va="center", fontsize=6.5)
    ax.set_yticks(range(len(tags)), [f"{name} (n={t['n_cases']})" for name, t in tags], fontsize=7.5)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.0)
    ax.set_xlabel("pass rate")
    ax.set_title("Pass rate by tag (worst first)")
    worst = ", ".join(f"{name} {t['n_passed']}/{t['n_cases']}" for name, t in tags[:8])
    alt = f"Horizontal bar chart of the pass rate for each of {len(tags)} tags, worst first: {worst}"
    return _svg_img(fig, alt)


def chart_latency(results: dict) -> str:
    plt = _pyplot()
    latencies = [c["answer"]["latency_ms"] for c in results["cases"] if c.get("answer")]
    metrics = results["summary"]["metrics"]
    fig, ax = plt.subplots(figsize=(9, 3))
    ax.hist(latencies or [0], bins=30, color="#2f6db5")
    for name, style in (("latency_p50_ms", "--"), ("latency_p95_ms", ":")):
        if metrics.get(name) is not None:
            ax.axvline(metrics[name], color="#b00020", linestyle=style, label=f"{METRICS[name].label}: {fmt(name, metrics[name])}")
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("cases")
    ax.legend(fontsize=8)
    ax.set_title("Latency")
    alt = (f"Histogram of latency over {len(latencies)} questions: median {fmt('latency_p50_ms', metrics.get('latency_p50_ms'))}, "
           f"95th percentile {fmt('latency_p95_ms', metrics.get('latency_p95_ms'))}")
    return _svg_img(fig, alt)


# -- tables ------------------------------------------------------------------------------------
def summary_table(results: dict) -> str:
    metrics = results["summary"]["metrics"]
    counts = results["summary"].get("counts", {})
    baseline = (results.get("baseline") or {}).get("metrics") or {}
    checks = {c["metric"]: c for c in results.get("gate", {}).get("checks", [])}
    rows = []
    for name, info in METRICS.items():
        check = checks.get(name)
        limits = []
        if check:
            if check.get("min") is not None:
                limits.append(f"≥ {fmt(name, check['min'])}")
            if check.get("max") is not None:
                limits.append(f"≤ {fmt(name, check['max'])}")
            if check.get("tolerance") is not None:
                limits.append(f"{'drop' if info.higher_is_better else 'rise'} ≤ {fmt_delta(name, check['tolerance'])}")
        if not check:
            verdict = '<td class="na">not gated</td>'
        elif check["passed"]:
            verdict = f'<td class="pass">pass{(" — " + esc(check["why"])) if check["why"] else ""}</td>'
        else:
            verdict = f'<td class="fail">FAIL — {esc(check["why"])}</td>'
        rows.append(
            f'<tr><th scope="row">{esc(info.label)}<div class="meaning">{esc(info.meaning)}</div></th>'
            f'<td class="num">{esc(fmt(name, metrics.get(name)))}</td>'
            f'<td class="num">{esc(fmt(name, baseline.get(name)) if baseline else "—")}</td>'
            f'<td>{esc(", ".join(limits) or "—")}</td>{verdict}'
            f'<td class="num">{esc(counts.get(name, ""))}</td></tr>')
    return ('<table id="summary"><thead><tr><th>Metric</th><th>Value</th><th>Baseline</th>'
            '<th>Threshold</th><th>Gate</th><th>Cases</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def compare_table(results: dict) -> str:
    runs = results["compare"]
    gated = results["gate"]["applied_to"]
    head = "".join(f"<th>{esc(r['retrieval_mode'])}{' (gated)' if r['retrieval_mode'] == gated else ''}</th>" for r in runs)
    rows = []
    for name, info in METRICS.items():
        values = [r["summary"]["metrics"].get(name) for r in runs]
        present = [v for v in values if v is not None]
        best = (max(present) if info.higher_is_better else min(present)) if present else None
        cells = "".join(f'<td class="num">{"<b>" if v is not None and v == best and len(present) > 1 else ""}'
                        f'{esc(fmt(name, v))}{"</b>" if v is not None and v == best and len(present) > 1 else ""}</td>'
                        for v in values)
        rows.append(f"<tr><th scope=\"row\">{esc(info.label)}</th>{cells}</tr>")
    passed = "".join(f'<td class="num">{r["summary"]["n_passed"]}/{r["summary"]["n_cases"]}</td>' for r in runs)
    rows.insert(0, f"<tr><th scope=\"row\">Cases passed (count)</th>{passed}</tr>")
    return (f'<table id="compare"><thead><tr><th>Metric</th>{head}</tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def group_table(groups: dict, title: str, table_id: str) -> str:
    shown = ("pass_rate", "status_accuracy", "hit_at_5", "mrr", "fact_recall", "citation_precision", "groundedness")
    head = "".join(f"<th>{esc(METRICS[n].label)}</th>" for n in shown)
    rows = "".join(
        f"<tr><th scope=\"row\">{esc(name)}</th><td class=\"num\">{g['n_passed']}/{g['n_cases']}</td>"
        + "".join(f'<td class="num">{esc(fmt(n, g["metrics"].get(n)))}</td>' for n in shown) + "</tr>"
        for name, g in groups.items())
    return (f'<table id="{table_id}"><thead><tr><th>{esc(title)}</th><th>Passed</th>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def _source_label(source) -> str:
    return source if isinstance(source, str) else f"{source['doc']} § {source['section']}"


def _matches(source, doc_id: str, section: str | None) -> bool:
    if isinstance(source, str):
        return doc_id == source
    return doc_id == source["doc"] and (section or "").casefold().startswith(source["section"].casefold())


def case_row(case: dict) -> str:
    score, answer = case["score"], case.get("answer")
    sources = case["expected_sources"]
    history = "".join(f'<div class="turn"><b>{esc(t["role"])}:</b> {esc(t["content"])}</div>' for t in case["history"])
    tags = "".join(f'<span class="tag">{esc(t)}</span>' for t in case["tags"])
    why = "".join(f"<li>{esc(r)}</li>" for r in score["reasons"])
    where = ", ".join(esc(x) for x in (case["audience"], case.get("file")) if x)
    question = (f'<b>{esc(case["id"])}</b> <span class="meta">({where})</span><br>{tags}'
                + (f'<details open><summary>history ({len(case["history"])} turns)</summary>{history}</details>' if history else "")
                + f'<p>{esc(case["question"])}</p>'
                + (f'<ul class="plain why">{why}</ul>' if why else "")
                + (f'<p class="meta">note: {esc(case["note"])}</p>' if case.get("note") else ""))

    facts = "".join(
        f'<li class="{"hit" if ok else "miss"}">{"✓" if ok else "✗"} <code>{esc(f)}</code></li>'
        for f, ok in zip(case["expected_facts"], score["facts_found"] or [False] * len(case["expected_facts"])))
    expected = (f'<b>status:</b> {esc(case["expected_status"])}'
                + (f'<br><b>sources:</b><ul class="plain">{"".join(f"<li>{esc(_source_label(s))}</li>" for s in sources)}</ul>' if sources else "")
                + (f'<b>facts:</b><ul class="plain">{facts}</ul>' if facts else ""))

    if answer is None:
        got = f'<span class="fail">no answer: {esc(case.get("error"))}</span>'
        cites = ""
    else:
        status_class = "pass" if score["status_ok"] else "fail"
        section_level = any(not isinstance(s, str) for s in sources)
        if section_level:
            ranked = [(p["doc_id"], p["section"]) for p in answer["passages"]]
        else:
            ranked = [(d, None) for d in answer["retrieved"]]
        items = "".join(
            f'<li class="{"hit" if any(_matches(s, d, sec) for s in sources) else ""}">{esc(d)}'
            + (f' <span class="meta">§ {esc(sec)}</span>' if sec else "") + "</li>"
            for d, sec in ranked[:8])
        metrics = []
        if score.get("first_rank") is not None:
            metrics.append(f"first expected at rank {score['first_rank']}")
        if score.get("groundedness") is not None:
            metrics.append(f"grounded {score['groundedness'] * 100:.0f}%")
        if score.get("citation_precision") is not None:
            metrics.append(f"citation precision {score['citation_precision'] * 100:.0f}%")
        metrics.append(f"{answer['latency_ms']:,.0f} ms")
        ungrounded = "".join(f"<li>{esc(s)}</li>" for s in score.get("ungrounded") or [])
        got = (f'<b>status:</b> <span class="{status_class}">{esc(answer["status"])}</span>'
               f'<div class="answer">{esc(answer["answer"])}</div>'
               f'<div class="meta">{esc(" · ".join(metrics))}</div>'
               + (f'<details><summary>sentences not found in the cited excerpts</summary><ul class="plain">{ungrounded}</ul></details>' if ungrounded else "")
               + (f'<b>retrieved ({"passages" if section_level else "documents"}):</b><ol class="ranked">{items}</ol>' if items else "<b>retrieved:</b> nothing"))
        cites = "".join(
            f'<li>[{c["n"]}] <b>{esc(c["title"])}</b> <span class="meta">{esc(c["doc_id"])} § {esc(c["section"])}'
            + (f', page {esc(c["page"])}' if c.get("page") else "") + f', v{esc(c["version"])}</span>'
            + f'<div class="excerpt">{esc(c["excerpt"])}</div></li>'
            for c in answer["citations"])
        cites = f'<ul class="plain">{cites}</ul>' if cites else '<span class="na">none</span>'
    state = "passing" if case["passed"] else "failing"
    return (f'<tr class="case-{state}" id="case-{esc(case["id"])}" data-case="{esc(case["id"])}" data-passed="{str(case["passed"]).lower()}">'
            f"<td>{question}</td><td>{expected}</td><td>{got}</td><td>{cites}</td></tr>")


def cases_table(cases: Sequence[dict], table_id: str) -> str:
    return (f'<table id="{table_id}"><thead><tr><th style="width:26%">Case</th><th style="width:18%">Expected</th>'
            '<th style="width:32%">What came back</th><th>Citations</th></tr></thead><tbody>'
            + "".join(case_row(c) for c in cases) + "</tbody></table>")


def failure_groups(cases: Sequence[dict]) -> dict[str, list[str]]:
    """Failing case ids by cause (status, retrieval, facts, error), a case under each of its causes."""
    groups: dict[str, list[str]] = {}
    for case in cases:
        if case["passed"]:
            continue
        for reason in case["score"]["reasons"] or ["other: failed"]:
            cause = reason.split(":", 1)[0]
            if cause == "status":
                cause = f"status: expected {case['expected_status']}, got {case['score']['status']}"
            groups.setdefault(cause, []).append(case["id"])
    return dict(sorted(groups.items(), key=lambda kv: -len(kv[1])))


# What a confident wrong answer came from, and what the content team can do about it.
WRONG_CAUSES = {
    "refuse": ("answered a question it must refuse",
               "check that no approved document covers it; personal advice goes to safety/boundaries.yaml"),
    "urgent": ("a red-flag message answered as a question",
               "the red-flag file (safety/red-flags.yaml, SAFETY.md H1) needs this kind of report: tell its owner"),
    "elsewhere": ("answered from another document",
                  "add how readers ask it under the section that answers it (questions:, CORPUS_FORMAT.md), "
                  "or retitle that section's heading"),
    "short": ("an expected document, without the facts",
              "the facts may be in another section of it: give that section the phrasing, or the facts a "
              "section of their own"),
}


def wrong_answer_causes(cases: Sequence[dict]) -> dict[str, list[str]]:
    """The ids of the confident wrong answers (score `wrong_answer`) by cause (WRONG_CAUSES)."""
    out: dict[str, list[str]] = {}
    for case in cases:
        if not case["score"].get("wrong_answer"):
            continue
        if case["expected_status"] != "answered":
            cause = "refuse" if case["expected_status"] == "refused" else "urgent"
        else:
            cited = [(c["doc_id"], c.get("section")) for c in (case.get("answer") or {}).get("citations") or []]
            expected = any(_matches(s, doc_id, section) for s in case["expected_sources"] for doc_id, section in cited)
            cause = "short" if expected else "elsewhere"
        out.setdefault(cause, []).append(case["id"])
    return {cause: out[cause] for cause in WRONG_CAUSES if cause in out}


def chart_wrong(causes: dict[str, list[str]]) -> str:
    plt = _pyplot()
    labels = [WRONG_CAUSES[c][0] for c in causes]
    counts = [len(ids) for ids in causes.values()]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(labels) + 0.9))
    ax.barh(range(len(labels)), counts, 0.6, color="#b00020")
    for y, n in enumerate(counts):
        ax.text(n + max(counts) * 0.01, y, str(n), va="center", fontsize=8)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("confident wrong answers")
    ax.set_title("Wrong answers by cause")
    alt = "Horizontal bar chart of the confident wrong answers by cause: " + "; ".join(
        f"{label} {n}" for label, n in zip(labels, counts))
    return _svg_img(fig, alt)


def wrong_answers_section(cases: Sequence[dict]) -> list[str]:
    causes = wrong_answer_causes(cases)
    if not causes:
        return []
    total = sum(len(ids) for ids in causes.values())
    rows = "".join(f"<tr><td>{esc(WRONG_CAUSES[c][0])}</td><td>{len(ids)}</td><td>{esc(WRONG_CAUSES[c][1])}</td>"
                   f"<td>{esc(', '.join(ids[:12]) + (' ...' if len(ids) > 12 else ''))}</td></tr>"
                   for c, ids in causes.items())
    return [f"<h2>Wrong answers ({total})</h2>",
            '<p class="meta">Answered, but the answer holds fewer than half the expected facts (for a '
            "red-flag message, the urgent advice), or the question must be refused: the worst failure, "
            "so it is shown first.</p>",
            '<table id="wrong-causes"><thead><tr><th>Cause</th><th>Cases</th><th>What to do</th>'
            f"<th>Case ids</th></tr></thead><tbody>{rows}</tbody></table>",
            f'<div class="charts">{chart_wrong(causes)}</div>']


# -- the page ----------------------------------------------------------------------------------
def render_html(results: dict) -> str:
    summary, gate, config = results["summary"], results["gate"], results["config"]
    failing = [c for c in results["cases"] if not c["passed"]]
    passing = [c for c in results["cases"] if c["passed"]]
    verdict = "pass" if gate["passed"] else "fail"
    baseline = results.get("baseline")
    groups = failure_groups(results["cases"])
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>CAR-T assistant evaluation — {esc(verdict.upper())}</title><style>{CSS}</style></head><body>",
        "<h1>CAR-T assistant evaluation</h1>",
        f'<p><span class="verdict {verdict}" id="verdict">Gate: {verdict.upper()}</span> '
        f"{summary['n_passed']} of {summary['n_cases']} cases passed.</p>",
        f'<p class="meta">Run {esc(results.get("created_at"))} · retrieval <b>{esc(config.get("retrieval_mode"))}</b>'
        f' · top_k {esc(config.get("top_k"))} · answers {esc(config.get("backend"))}'
        f' · suites: {esc(", ".join(results.get("suites") or []))}<br>'
        f'The gate applied to the <b>{esc(gate["applied_to"])}</b> configuration'
        + (f'; baseline: {esc(baseline.get("path"))}' + (f' (run {esc(baseline["created_at"])})' if baseline.get("created_at") else "")
           if baseline else "; no baseline given")
        + "."
        + (f"<br>Triage's message classifier: {esc(config['triage_classifier'])}" if config.get("triage_classifier") else "")
        + "</p>",
        "<h2>Summary</h2>", summary_table(results),
        *wrong_answers_section(results["cases"]),
    ]
    if results.get("compare"):
        parts += ["<h2>Retrieval modes compared</h2>",
                  f'<p class="meta">Each mode ran the same cases. The gate above applied to '
                  f'<b>{esc(gate["applied_to"])}</b>; best value per row in bold.</p>',
                  compare_table(results), f'<div class="charts">{chart_compare(results)}</div>']
    parts += ["<h2>Charts</h2>", '<div class="charts">', chart_metrics(results), chart_tags(results),
              chart_latency(results), "</div>",
              "<h2>By audience</h2>", group_table(results["by_audience"], "Audience", "by-audience")]
    if len(results.get("by_split") or {}) > 1:
        parts += ["<h2>Tuning cases against held-out cases</h2>",
                  '<p class="meta">Retrieval weights and evidence thresholds were chosen on the tuning '
                  'cases; the held-out cases (tag <code>heldout</code>) were written afterwards and never '
                  'used to tune, so their figures are the fairer estimate.</p>',
                  group_table(results["by_split"], "Cases", "by-split")]
    parts += [f"<h2>Failing cases ({len(failing)})</h2>"]
    if failing:
        parts.append("<p>By cause: " + "; ".join(f"{esc(cause)}: {len(ids)}" for cause, ids in groups.items()) + "</p>")
        parts.append(cases_table(failing, "failing-cases"))
    else:
        parts.append("<p class=\"pass\">Every case passed.</p>")
    parts += documents_section(results)
    parts += [f"<h2>Passing cases ({len(passing)})</h2>",
              f"<details><summary>Show the {len(passing)} passing cases</summary>"
              + cases_table(passing, "passing-cases") + "</details>",
              "<h2>By tag</h2>", "<details><summary>Show every tag</summary>",
              group_table(results["by_tag"], "Tag", "by-tag"), "</details>",
              "</body></html>"]
    return "\n".join(parts)


def documents_section(results: dict) -> list[str]:
    """Review dates due within the warning window first, then every indexed document."""
    soon, documents = results.get("due_soon") or [], results.get("documents") or []
    parts = [f"<h2>Review due soon ({len(soon)})</h2>"]
    if soon:
        parts.append('<p class="meta">Still indexed; each drops out of the answers on its review date unless it is '
                     'reviewed and its <code>review_due</code> moved.</p>')
        parts.append('<table id="due-soon"><thead><tr><th>Document</th><th>File</th><th>Owner</th>'
                     '<th>Review due</th><th>Days left</th></tr></thead><tbody>'
                     + "".join(f"<tr><td>{esc(d['doc_id'])}</td><td>{esc(d['path'])}</td><td>{esc(d['owner'])}</td>"
                               f"<td>{esc(d['review_due'])}</td><td>{esc(d['days_left'])}</td></tr>" for d in soon)
                     + "</tbody></table>")
    else:
        parts.append('<p class="pass">No indexed document is due for review within the warning window.</p>')
    if documents:
        parts.append(f"<h2>Indexed documents ({len(documents)})</h2>")
        parts.append('<details><summary>Show every indexed document</summary><table id="documents"><thead><tr>'
                     "<th>Id</th><th>Title</th><th>Audience</th><th>Version</th><th>Owner</th><th>Review due</th>"
                     "<th>Chunks</th></tr></thead><tbody>"
                     + "".join(f"<tr><td>{esc(d['doc_id'])}</td><td>{esc(d['title'])}</td><td>{esc(d['audience'])}</td>"
                               f"<td>{esc(d['version'])}</td><td>{esc(d['owner'])}</td><td>{esc(d['review_due'])}</td>"
                               f"<td>{esc(d['chunks'])}</td></tr>" for d in documents)
                     + "</tbody></table></details>")
    return parts


def write_report(results: dict, out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    page = out_dir / "report.html"
    page.write_text(render_html(results), encoding="utf-8")
    return page
