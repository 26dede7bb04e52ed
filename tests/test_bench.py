"""The benchmarks' pure helpers: statistics, ratios, synthetic ids, table rendering. No model."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from bench.common import (comparable, copies_for, free_port, paired_ratios, ratio, rotated, summary,
                          synthetic_ids)
from bench.ingest import subset
from bench.latency import goal_for, jitter, pick
from bench.report import fmt, goal_rows, markdown_table, met, replace_block
from bench.retrieval import doc_level, doc_ranking, score
from eval.cases import ExpectedSource


# -- statistics ---------------------------------------------------------------------------------
def test_summary_gives_median_and_interpolated_p95():
    s = summary(range(1, 101))  # 1..100
    assert s["n"] == 100
    assert s["median"] == 50.5 and s["p50"] == 50.5
    assert s["p95"] == pytest.approx(95.05)  # numpy's default (linear) interpolation
    assert (s["min"], s["max"]) == (1, 100)
    assert np.percentile(range(1, 101), 95) == pytest.approx(s["p95"])


def test_summary_of_one_value_and_of_nothing():
    assert summary([7.0])["p95"] == 7.0
    empty = summary([])
    assert empty["n"] == 0 and empty["median"] is None and empty["p95"] is None


def test_ratio_is_none_when_it_cannot_be_computed():
    assert ratio(3.0, 4.0) == 0.75
    assert ratio(1.0, 0) is None
    assert ratio(None, 2.0) is None and ratio(2.0, None) is None


def test_paired_ratios_pair_each_repeat_and_refuse_unequal_lengths():
    assert paired_ratios([2.0, 3.0], [4.0, 3.0]) == [0.5, 1.0]
    assert paired_ratios([1.0], [0.0]) == []  # a zero time is dropped, not a crash
    with pytest.raises(ValueError, match="unequal repeats"):
        paired_ratios([1.0], [1.0, 2.0])


# -- synthetic copies -----------------------------------------------------------------------------
def test_copy_zero_keeps_the_real_ids():
    assert synthetic_ids("patient-driving:abc", "patient-driving", 0) == ("patient-driving:abc", "patient-driving")


def test_synthetic_ids_are_distinct_across_copies_and_keep_their_origin():
    ids = [synthetic_ids("doc:1", "doc", c) for c in range(1000)]
    assert len({chunk for chunk, _ in ids}) == 1000
    assert len({doc for _, doc in ids}) == 1000
    chunk_id, doc_id = ids[42]
    assert chunk_id.startswith("doc:1") and doc_id.startswith("doc") and chunk_id != "doc:1"
    with pytest.raises(ValueError):
        synthetic_ids("doc:1", "doc", -1)


def test_copies_for_caps_the_chunk_count():
    assert copies_for(347, 100) == 100
    assert copies_for(347, 1000, cap=100_000) == 288  # 99,936 chunks
    assert copies_for(347, 1000, cap=100) == 1  # never fewer than the real corpus
    with pytest.raises(ValueError):
        copies_for(0, 10)


def test_jitter_gives_unit_vectors_near_the_originals():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(50, 384)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    moved = jitter(base, np.random.default_rng(1))
    assert moved.shape == base.shape and moved.dtype == np.float32
    assert np.allclose(np.linalg.norm(moved, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(moved * base, axis=1)
    assert cosines.min() > 0.95 and not np.allclose(moved, base)


def test_goal_applies_at_1x_and_near_100k_chunks_only():
    assert goal_for(347, 347) == 100.0
    assert goal_for(288 * 347, 347) == 300.0
    assert goal_for(3470, 347) is None and goal_for(347_000, 347) is None


# -- choosing questions and documents ------------------------------------------------------------------
def test_pick_spreads_over_the_whole_list():
    items = list(range(100))
    assert pick(items, 4) == [0, 25, 50, 75]
    assert pick(items, None) == items and pick(items, 500) == items


def test_rotated_starts_each_client_elsewhere():
    assert rotated([1, 2, 3, 4], 1) == [2, 3, 4, 1]
    assert rotated([1, 2, 3], 5) == [3, 1, 2]
    assert rotated([], 3) == []


def test_subset_takes_every_nth_document_by_id():
    class Doc:
        def __init__(self, doc_id):
            self.meta = type("Meta", (), {"id": doc_id})()

    docs = [Doc(x) for x in "edcba"]
    assert [d.meta.id for d in subset(docs, 2)] == ["a", "c", "e"]
    assert len(subset(docs, 1)) == 5
    with pytest.raises(ValueError):
        subset(docs, 0)


# -- retrieval scoring ----------------------------------------------------------------------------------
def test_doc_ranking_keeps_first_appearance_of_each_document():
    assert doc_ranking(["a", "b", "a", "c", "b"]) == [("a", None), ("b", None), ("c", None)]


def test_doc_level_drops_sections_and_duplicates():
    expected = (ExpectedSource("a", "Driving"), ExpectedSource("a"), ExpectedSource("b"))
    assert doc_level(expected) == (ExpectedSource("a"), ExpectedSource("b"))


def test_score_counts_hits_and_reciprocal_ranks():
    s = score([1, 2, None, 6])
    assert s["cases"] == 4
    assert s["hit_at_1"] == 0.25 and s["hit_at_5"] == 0.5
    assert s["mrr"] == pytest.approx((1 + 0.5 + 0 + 1 / 6) / 4)


# -- tables -----------------------------------------------------------------------------------------
def test_markdown_table_aligns_numbers_right_and_escapes_pipes():
    table = markdown_table(["Name", "ms"], [["a|b", "1,234.5"], ["c", "-"]])
    lines = table.splitlines()
    assert lines[0] == "| Name | ms |"
    assert lines[1] == "|---|---:|"
    assert lines[2] == "| a\\|b | 1,234.5 |"


def test_markdown_table_rejects_a_short_row():
    with pytest.raises(ValueError, match="expected 2"):
        markdown_table(["a", "b"], [["only one"]])


def test_fmt_numbers_for_tables():
    assert fmt(None) == "-"
    assert fmt(1234) == "1,234"
    assert fmt(0.81234, 2) == "0.81"
    assert fmt(12.3, 0, " ms") == "12 ms"
    assert fmt(True) == "yes"


def test_replace_block_rewrites_only_between_its_markers():
    text = "intro\n<!-- generated:x -->\nold\n<!-- /generated:x -->\nnarrative\n"
    out = replace_block(text, "x", "new table")
    assert out == "intro\n<!-- generated:x -->\nnew table\n<!-- /generated:x -->\nnarrative\n"
    assert replace_block(out, "x", "new table") == out  # idempotent
    with pytest.raises(ValueError, match="no block 'y'"):
        replace_block(text, "y", "anything")


def test_met_and_goal_rows_judge_each_figure():
    assert met(0.9, 0.8) == "**met**" and met(120, 100, higher_is_better=False) == "**missed**"
    assert met(None, 1) == "-"
    results = {
        "ingest": {"results": {"throughput_ratio_vs_raw": 0.75, "reingest_embedded_texts": 0}},
        "concurrency": {"results": {"errors_total": 0, "mismatches_total": 1}},
    }
    rows = goal_rows(results)
    verdicts = {row[0].split(":")[0].split(",")[0]: row[-1] for row in rows}
    assert verdicts["Ingest throughput"] == "**missed**"
    assert verdicts["Re-ingest unchanged"] == "**met**"
    assert [r[-1] for r in rows if r[0].startswith("Concurrency")] == ["**met**", "**missed**"]


# -- processes -----------------------------------------------------------------------------------
def test_free_port_can_be_bound():
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_comparable_ignores_only_latency():
    a = {"status": "answered", "answer": "x", "latency_ms": 12.0}
    b = {"status": "answered", "answer": "x", "latency_ms": 99.0}
    assert comparable(a) == comparable(b)
    assert comparable(a) != comparable({**b, "answer": "y"})


def test_close_all_closes_every_client_and_skips_missing_ones():
    from bench.common import close_all

    class Session:
        def __init__(self):
            self.closed = 0

        def close(self):
            self.closed += 1

    sessions = [Session(), None, Session(), Session()]
    close_all(sessions)
    assert [s.closed for s in sessions if s is not None] == [1, 1, 1]


def test_the_triage_benchmarks_no_triage_arm_takes_what_the_chain_passes():
    """The chain calls `Triager.assess(message, vectors=..., audience=..., layers=...)`: the benchmark's
    stand-in must take the same, or its arm fails (as it did when clinicians' triage came)."""
    import inspect

    from assistant.triage import DEFAULT_RED_FLAGS, Triager
    from bench.triage import _no_triage

    stand_in = _no_triage(DEFAULT_RED_FLAGS)
    assert list(inspect.signature(stand_in.assess).parameters) == list(inspect.signature(Triager(stand_in.red_flags).assess).parameters)
    assert not stand_in.assess("he collapsed", vectors=None, audience="clinician").urgent
