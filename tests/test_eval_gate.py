"""The quality gate with the real chain: the CLI passes it and writes its report, a broken setup
fails it, a drop against a baseline fails it.

Slow: the real embedding model and a real Chroma index of corpus/ (the session fixture
`built_index`). The whole golden set against every threshold is `make eval` (about two minutes,
run by CI after the tests); here the CLI runs the first golden files (patient, clinician,
triage, service) against the safety thresholds, the broken index an eighth of the set, and
the baseline check the held-out file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from assistant.settings import load_settings
from eval.__main__ import main
from eval.cases import load_suite
from eval.runner import THRESHOLDS, evaluate

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def golden():
    return load_suite(None, ROOT / "corpus")


@pytest.fixture(scope="module")
def chain_factory(embedder):
    from assistant.chain import Assistant

    return lambda settings: Assistant.from_settings(settings, embedder=embedder)


def test_index_of_one_irrelevant_document_fails_the_gate(golden, tmp_path, embedder, chain_factory):
    from assistant.indexing import ingest

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ROOT / "corpus" / "patient-donation.md", corpus)
    broken = load_settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    ingest(broken, embedder=embedder)

    results = evaluate(golden[::8], broken, assistant_factory=chain_factory)  # an eighth of the cases shows it
    failed = {c["metric"] for c in results["gate"]["checks"] if not c["passed"]}
    assert not results["gate"]["passed"]
    assert {"pass_rate", "hit_at_5", "mrr", "fact_recall"} <= failed
    assert results["summary"]["metrics"]["hit_at_5"] < 0.1


SAFETY = ("triage_recall", "emergency_recall", "groundedness")  # never traded, on any part of the set
FIRST_FILES = ("patient.yaml", "clinician.yaml", "triage.yaml", "service-and-team.yaml")


def test_golden_files_pass_the_safety_gate_through_the_cli_and_a_worse_run_fails_against_a_baseline(
        built_index, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CART_CORPUS_DIR", str(built_index.corpus_dir))
    monkeypatch.setenv("CART_INDEX_DIR", str(built_index.index_dir))
    thresholds = yaml.safe_load(THRESHOLDS.read_text(encoding="utf-8"))
    safety = tmp_path / "safety.yaml"
    safety.write_text(yaml.safe_dump({m: thresholds[m] for m in SAFETY}), encoding="utf-8")
    report = tmp_path / "report"
    suites = [str(ROOT / "eval" / "golden" / name) for name in FIRST_FILES]
    code = main(["run", "--suite", *suites, "--thresholds", str(safety), "--report", str(report), "--json"])
    summary = json.loads(capsys.readouterr().out)
    failed = {c["metric"]: c["why"] for c in summary["gate"]["checks"] if not c["passed"]}
    assert code == 0 and summary["passed"] and summary["gate"]["applied_to"] == "hybrid", failed
    assert {c["metric"] for c in summary["gate"]["checks"]} == set(SAFETY)
    assert summary["report"] == str(report / "report.html")
    html = (report / "report.html").read_text(encoding="utf-8")
    assert 'id="verdict">Gate: PASS' in html
    assert 'id="failing-cases"' in html or "Every case passed" in html

    results = json.loads((report / "results.json").read_text(encoding="utf-8"))
    assert results["summary"]["metrics"]["triage_recall"] == 1.0
    assert all(c["answer"] is not None for c in results["cases"]), "the chain raised on a golden case"

    # A baseline that did clearly better: the same chain now "dropped" beyond tolerance. The
    # drop check needs no second pass over every case: the held-out file, gated on its pass
    # rate alone, shows it.
    better = dict(results, summary={**results["summary"],
                                    "metrics": {**results["summary"]["metrics"], "pass_rate": 1.0}})
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(better), encoding="utf-8")
    only_pass_rate = tmp_path / "thresholds.yaml"
    only_pass_rate.write_text("pass_rate: {min: 0.0, tolerance: 0.02}\n", encoding="utf-8")
    assert main(["run", "--suite", str(ROOT / "eval" / "golden" / "heldout.yaml"), "--thresholds", str(only_pass_rate),
                 "--report", str(tmp_path / "again"), "--baseline", str(baseline), "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    [failure] = [c for c in summary["gate"]["checks"] if not c["passed"]]
    assert failure["metric"] == "pass_rate" and "dropped by" in failure["why"]
