"""How readers ask (front matter `questions:`), and the answer units embedded once at ingest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.answer_model import DECISION_FEATURES, FEATURES, AnswerModel
from assistant.chunking import chunk_document
from assistant.embedding import HashEmbedder
from assistant.errors import UsageError
from assistant.loading import load_corpus, load_document
from assistant.records import PHRASINGS_READ_WITH_TEXT
from assistant.units import build_units, load_units, read_units, units_path

HEAD = ("---\nid: {id}\ntitle: Driving after CAR-T\naudience: patient\nowner: Team\nversion: \"1.0\"\n"
        "approved_by: Dr Example\napproved_on: 2026-01-01\nreview_due: 2030-01-01\nstatus: approved\n{questions}---\n")
BODY = ("# Driving after CAR-T\n\nThis leaflet is about driving.\n\n## How long you cannot drive\n\n"
        "Do not drive for at least 8 weeks after your infusion. This applies even if you feel well.\n\n"
        "## Heavy machinery\n\nDo not use heavy machinery or power tools for 8 weeks.\n")
ASKED = ('questions:\n  "How long you cannot drive":\n    - when can i get behind the wheel again\n'
         '    - Can my husband drive me home?\n')


def write(folder: Path, questions: str = ASKED, doc_id: str = "patient-driving") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{doc_id}.md"
    path.write_text(HEAD.format(id=doc_id, questions=questions) + BODY, encoding="utf-8")
    return path


class Counting(HashEmbedder):
    def __init__(self):
        super().__init__()
        self.texts = 0

    def encode(self, texts):
        self.texts += len(texts)
        return super().encode(texts)


def chunks_of(path: Path):
    doc = load_document(path, source=f"corpus/{path.name}")
    return chunk_document(doc, max_tokens=60, overlap_tokens=10)


def test_phrasings_belong_to_their_section_and_are_searched_with_it(tmp_path):
    doc = load_document(write(tmp_path), source="corpus/patient-driving.md")
    assert doc.meta.questions_for("How long you cannot drive") == (
        "when can i get behind the wheel again", "Can my husband drive me home?")
    assert doc.meta.questions_for("Heavy machinery") == ()
    chunks = chunk_document(doc, max_tokens=60, overlap_tokens=10)
    driving = next(c for c in chunks if c.section == "How long you cannot drive")
    assert "behind the wheel" in driving.embedding_text and "behind the wheel" not in driving.text
    assert all(not c.questions for c in chunks if c.section != "How long you cannot drive")


def test_a_passage_is_read_with_its_first_phrasings_and_every_phrasing_is_matched_on_its_own(tmp_path):
    many = [f"driving question number {n}" for n in range(1, 10)]
    block = 'questions:\n  "How long you cannot drive":\n' + "".join(f"    - {q}\n" for q in many)
    chunks = chunks_of(write(tmp_path, block))
    driving = next(c for c in chunks if c.section == "How long you cannot drive")
    read = [q for q in many if q in driving.embedding_text.split("\n")]
    assert read == many[:PHRASINGS_READ_WITH_TEXT]  # the passage's own words are not crowded out
    assert driving.text in driving.embedding_text
    units = build_units(chunks, HashEmbedder())
    assert len(units.phrase_rows_of(units.row_of(driving.id))) == len(many)


def test_changing_a_phrasing_changes_the_chunk_id_so_its_vectors_are_made_again(tmp_path):
    before = {c.section: c.id for c in chunks_of(write(tmp_path / "a"))}
    after = {c.section: c.id for c in chunks_of(write(tmp_path / "b", ASKED.replace("again", "at all")))}
    assert before["How long you cannot drive"] != after["How long you cannot drive"]
    assert before["Heavy machinery"] == after["Heavy machinery"]


def write_for_all(folder: Path, block: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "all-contacts.md"
    head = HEAD.format(id="all-contacts", questions=block).replace("audience: patient", "audience: all")
    path.write_text(head + BODY.replace("## Heavy machinery", "## Referrals (clinicians)\n\nEmail referrals to the coordinator.\n\n### Forms\n\nSend the form.\n\n"
                                        "## Heavy machinery"), encoding="utf-8")
    return path


@pytest.mark.parametrize("questions, reason", [
    ('questions:\n  "How long you cant drive":\n    - when can i drive\n',
     "questions: no section headed 'How long you cant drive' in the document; use a heading as written, e.g. 'Heavy machinery'"),
    ("questions:\n  - when can i drive\n",
     "questions must map section headings to lists of phrasings"),
    ('questions:\n  "Heavy machinery": []\n',
     "questions: 'Heavy machinery' needs a list of phrasings (lines starting '- ')"),
    ('questions:\n  "Heavy machinery":\n    - ""\n',
     "questions: 'Heavy machinery' has an empty or non-text phrasing; write each as text"),
    ('questions:\n  "Heavy machinery":\n    - ' + "x" * 201 + "\n",
     "questions: a phrasing under 'Heavy machinery' is 201 characters; keep each under 200"),
    # `section_audience:`, in a document for all
    ('section_audience:\n  "Referals (clinicians)": clinician\n',
     "section_audience: no section headed 'Referals (clinicians)' in the document; use a heading as written"),
    ('section_audience:\n  "Referrals (clinicians)": doctors\n',
     "section_audience: 'Referrals (clinicians)' is for 'doctors': use patient or clinician"),
    ("section_audience:\n  - Referrals (clinicians)\n",
     "section_audience must map section headings to an audience"),
])
def test_a_bad_questions_or_section_audience_block_is_rejected_with_what_to_fix(tmp_path, questions, reason):
    (write_for_all if questions.startswith("section_audience") else write)(tmp_path / "corpus", questions)
    result = load_corpus(tmp_path / "corpus")
    assert not result.documents
    assert result.rejections[0].reason.startswith(reason), result.rejections[0].reason


def test_units_hold_every_sentence_each_heading_and_each_phrasing_verbatim(tmp_path):
    chunks = chunks_of(write(tmp_path))
    units = build_units(chunks, HashEmbedder())
    texts = [chunks[r].text[s:e] for r, s, e in zip(units.chunk_row, units.starts, units.ends)]
    assert "Do not drive for at least 8 weeks after your infusion." in texts
    assert "Do not use heavy machinery or power tools for 8 weeks." in texts
    assert len(units.heading_vectors) == len(chunks) and len(units.phrase_row) == 2
    row = units.row_of(next(c.id for c in chunks if c.questions))
    assert len(units.phrase_rows_of(row)) == 2
    assert np.allclose(np.linalg.norm(units.vectors, axis=1), 1.0, atol=1e-3)


def _asking_of(units, chunks, question: str) -> dict[str, float]:
    """Each section's probability, by the model of how readers ask (asking.py)."""
    logp = units.asking.log_probability(HashEmbedder().encode([question])[0])
    return {c.section: float(np.exp(units.asking.of_row(logp, units.row_of(c.id)))) for c in chunks}


def test_how_each_section_is_asked_is_learned_from_its_heading_and_phrasings_and_saved_with_the_units(tmp_path):
    chunks = chunks_of(write(tmp_path / "corpus"))
    units = build_units(chunks, HashEmbedder())
    asked = _asking_of(units, chunks, "when can i get behind the wheel again")
    assert max(asked, key=asked.get) == "How long you cannot drive" and sum(asked.values()) == pytest.approx(1.0, abs=1e-3)
    asked = _asking_of(units, chunks, "heavy machinery")
    assert max(asked, key=asked.get) == "Heavy machinery"
    units.save(tmp_path / "g1.units.npz", "g1")
    _, read = read_units(tmp_path / "g1.units.npz")
    assert np.array_equal(read.asking.coef, units.asking.coef)
    assert np.array_equal(read.asking.section_of_row, units.asking.section_of_row)
    assert _asking_of(read, chunks, "heavy machinery") == _asking_of(units, chunks, "heavy machinery")


def test_a_phrasing_the_content_team_adds_moves_its_question_to_its_section_at_the_next_build(tmp_path):
    question = "is a chainsaw ok to use"
    chunks = chunks_of(write(tmp_path / "a"))
    before = _asking_of(build_units(chunks, HashEmbedder()), chunks, question)
    added = ASKED + '  "Heavy machinery":\n    - can I use a chainsaw in the garden\n'
    chunks = chunks_of(write(tmp_path / "b", added))
    after = _asking_of(build_units(chunks, HashEmbedder()), chunks, question)
    assert max(before, key=before.get) != "Heavy machinery" and max(after, key=after.get) == "Heavy machinery"
    assert after["Heavy machinery"] > before["Heavy machinery"] + 0.2


def test_a_corpus_of_one_or_two_sections_still_gets_a_model_of_how_it_is_asked(tmp_path):
    from assistant.asking import fit_asking
    from types import SimpleNamespace

    vectors = HashEmbedder().encode(["driving rules", "heavy machinery", "when can i drive"])
    one = fit_asking([SimpleNamespace(doc_id="d", section="A")], vectors[:1], np.zeros(0, np.int32), vectors[:0])
    assert one.of_row(one.log_probability(vectors[2]), 0) == 0.0  # one section: nothing to tell apart
    two = fit_asking([SimpleNamespace(doc_id="d", section="A"), SimpleNamespace(doc_id="d", section="B")],
                     vectors[:2], np.array([0], np.int32), vectors[2:3])
    logp = two.log_probability(vectors[2])
    assert np.exp(logp).sum() == pytest.approx(1.0) and two.of_row(logp, 0) > two.of_row(logp, 1)


def test_unchanged_chunks_reuse_their_vectors_and_only_new_ones_are_embedded(tmp_path):
    chunks = chunks_of(write(tmp_path / "a"))
    first = Counting()
    previous = build_units(chunks, first)
    again = Counting()
    same = build_units(chunks, again, previous)
    assert first.texts > 0 and again.texts == 0
    assert np.array_equal(same.vectors, previous.vectors) and np.array_equal(same.phrase_vectors, previous.phrase_vectors)
    changed = chunks_of(write(tmp_path / "b", ASKED.replace("again", "at all")))
    third = Counting()
    build_units(changed, third, previous)
    assert 0 < third.texts < first.texts  # only the section whose phrasing changed


def test_a_chunk_whose_text_is_split_into_sentences_differently_is_embedded_again(tmp_path, monkeypatch):
    # A change to the sentence splitter leaves chunk ids (their text) as they were: the units
    # built by the earlier splitter must not be reused, or answers quote its broken sentences.
    import assistant.units as units_module

    chunks = chunks_of(write(tmp_path / "a"))
    previous = build_units(chunks, Counting())
    monkeypatch.setattr(units_module, "sentence_spans", lambda chunk: [(0, len(chunk.text))])
    rebuilt = build_units(chunks, Counting(), previous)
    fresh = build_units(chunks, Counting())
    assert [(int(s), int(e)) for s, e in zip(rebuilt.starts, rebuilt.ends)] == [(0, len(c.text)) for c in chunks]
    assert len(rebuilt.vectors) < len(previous.vectors) and np.array_equal(rebuilt.vectors, fresh.vectors)


def test_a_saved_file_is_used_only_while_it_matches_and_is_rebuilt_otherwise(tmp_path):
    chunks = chunks_of(write(tmp_path / "a"))
    embedder = Counting()
    build_units(chunks, embedder).save(units_path(tmp_path / "units", "cart-g000001"), "cart-g000001")
    loaded = load_units(tmp_path / "units", "cart-g000001", chunks, Counting())
    assert loaded.chunk_ids == [c.id for c in chunks]
    other = chunks_of(write(tmp_path / "b", ""))
    rebuilding = Counting()
    rebuilt = load_units(tmp_path / "units", "cart-g000001", other, rebuilding)
    assert rebuilding.texts > 0 and rebuilt.chunk_ids == [c.id for c in other]
    assert read_units(units_path(tmp_path / "units", "cart-g000001"))[1].chunk_ids == [c.id for c in other]
    units_path(tmp_path / "units", "cart-g000002").write_bytes(b"not a numpy file")
    assert load_units(tmp_path / "units", "cart-g000002", chunks, HashEmbedder()).chunk_ids == [c.id for c in chunks]


def test_ingest_saves_units_with_each_generation_and_drops_those_of_deleted_ones(tmp_path):
    from assistant.indexing import ingest, saved_folder
    from assistant.settings import load_settings

    corpus = tmp_path / "corpus"
    write(corpus)
    settings = load_settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    embedder = HashEmbedder()
    names, adapters = [], []
    for change in ("again", "soon", "later"):
        write(corpus, ASKED.replace("again", change))
        ingest(settings, embedder=embedder)
        names.append(sorted(p.name for p in saved_folder(settings).glob("*.units.npz")))
        adapters.append(sorted(p.name for p in saved_folder(settings).glob("*.adapter.npz")))
    assert names[0] == ["cart-g000001.units.npz"]
    assert names[2] == ["cart-g000002.units.npz", "cart-g000003.units.npz"]  # live and the one before
    assert adapters == [[n.replace(".units.", ".adapter.") for n in found] for found in names]  # collected alike


def test_the_answer_model_file_explains_what_is_wrong(tmp_path):
    with pytest.raises(UsageError, match="is missing: restore it from git or run `python -m eval answer-calibrate`"):
        AnswerModel.load(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(UsageError, match="is not valid JSON"):
        AnswerModel.load(tmp_path / "bad.json")
    (tmp_path / "old.json").write_text(json.dumps({"coefficients": {"best": 1}, "intercept": 0, "threshold": 0.5}))
    with pytest.raises(UsageError, match="lacks its ranker, decision or threshold"):
        AnswerModel.load(tmp_path / "old.json")
    root = Path(__file__).resolve().parent.parent
    current = json.loads((root / "calibration" / "answer-model.json").read_text())
    del current["ranker"]["coefficients"]["top2"]
    (tmp_path / "partial.json").write_text(json.dumps(current))
    with pytest.raises(UsageError, match=r"\(ranker\) lacks top2"):
        AnswerModel.load(tmp_path / "partial.json")


def test_the_scope_classifier_in_the_answer_model_explains_what_is_wrong_and_refuses_only_at_its_threshold(tmp_path):
    from assistant.scope import Scope

    root = Path(__file__).resolve().parent.parent
    current = json.loads((root / "calibration" / "answer-model.json").read_text())
    for broken, message in ((dict(current["scope"], features="last-layer"), "made for other features"),
                            (dict(current["scope"], weights=current["scope"]["weights"][:5]), "lists of one length"),
                            (dict(current["scope"], threshold=0.3), "must be from 0.5 to 1"),
                            ({k: v for k, v in current["scope"].items() if k != "intercept"}, "lacks or garbles")):
        (tmp_path / "model.json").write_text(json.dumps(dict(current, scope=broken)))
        with pytest.raises(UsageError, match=message) as raised:
            AnswerModel.load(tmp_path / "model.json")
        assert "python -m eval answer-calibrate" in str(raised.value)
    model = AnswerModel.from_json(current)
    gate = model.scope.threshold
    assert model.out_of_scope(gate) and not model.out_of_scope(gate - 0.01) and not model.out_of_scope(None)
    # A fake encoder has no layers: nothing is read, nothing refused by it.
    assert not model.reads_scope(HashEmbedder()) and model.refuse_like(None) is None
    # A model file from before the scope classifier still loads, and refuses nothing by meaning.
    older = AnswerModel.from_json({k: v for k, v in current.items() if k != "scope"})
    assert older.scope is None and not older.out_of_scope(0.99)
    assert isinstance(model.scope, Scope) and AnswerModel.from_json(model.to_json()).scope.threshold == gate


def test_the_scope_threshold_is_the_cheapest_on_the_cross_validated_decisions():
    from eval.answer_calibration import SCOPE_GATES, choose_gate
    from eval.cases import EvalCase

    # Four cases the decision answers (q 0.9): two answerable and rightly answered, two that must
    # be refused; the classifier gives them 0.2, 0.75, 0.85 and 0.97.
    cases = {"a1": EvalCase("a1", "patient", "q", "answered"), "a2": EvalCase("a2", "patient", "q", "answered"),
             "r1": EvalCase("r1", "patient", "q", "refused"), "r2": EvalCase("r2", "patient", "q", "refused")}
    ids, q, right = list(cases), np.full(4, 0.9), np.array([1.0, 1.0, 0.0, 0.0])
    refuse_like = {"a1": 0.2, "a2": 0.75, "r1": 0.85, "r2": 0.97}
    gates = choose_gate(ids, q, right, cases, 0.5, refuse_like, wrong_cost=2.0)
    chosen, best = gates[0]
    assert chosen == 0.8 and (best.right, best.wrong, best.wrongful_refusals) == (2, 0, 0)
    assert sorted(g for g, _ in gates) == sorted(SCOPE_GATES)
    by_gate = dict(gates)
    assert (by_gate[1.0].wrong, by_gate[0.7].wrongful_refusals) == (2, 1)  # none refused; a2 refused too
    # A wrong answer that costs less than a refusal: refusing by meaning no longer pays.
    assert choose_gate(ids, q, right, cases, 0.5, {**refuse_like, "r1": 0.7, "r2": 0.7}, wrong_cost=0.4)[0][0] == 1.0


def test_a_blank_model_keeps_retrieval_order_and_answers_so_calibration_can_describe_sections():
    from types import SimpleNamespace

    from assistant.answering import SectionScore

    def section(rank, best):
        return SectionScore(("doc", f"s{rank}"), rank, (), heading=best, best=best, top2=best, coverage=best,
                            heading_overlap=0.0, audience_fit=True)

    sections = [section(2, 0.9), section(0, 0.1), section(1, 0.5)]
    blank = AnswerModel.blank()
    ranked = blank.rank(sections, unknown=False)
    assert [r.section.rank for r in ranked] == [0, 1, 2] and {r.probability for r in ranked} == {0.5}
    evidence = SimpleNamespace(similarity=0.2, coverage=0.1, enough=False)
    assert blank.answer_probability(ranked, evidence, unknown=True) >= blank.threshold


def test_each_candidate_is_read_by_itself_and_against_the_best_of_the_question_s_candidates():
    from assistant.answer_model import SECTION_FEATURES, candidate_features
    from assistant.answering import SectionScore, SectionUnit

    def section(name, best, units):
        unit = SectionUnit(row=0, offset=0, text="A sentence.", is_item=False, similarity=best, overlap=0.0)
        return SectionScore(("doc", name), 0, (unit,) * units, heading=0.3, best=best, top2=best, coverage=0.5,
                            heading_overlap=0.0, audience_fit=True, asked=best)

    x = candidate_features([section("long", 0.6, 8), section("short", 0.5, 1)], unknown=False)
    assert x.shape == (2, len(FEATURES)) and FEATURES[:len(SECTION_FEATURES)] == SECTION_FEATURES
    own, vs_best = x[:, :len(SECTION_FEATURES)], x[:, len(SECTION_FEATURES):]
    length, best = SECTION_FEATURES.index("length"), SECTION_FEATURES.index("best")
    assert own[0, length] == pytest.approx(np.log(9)) and own[1, length] == pytest.approx(np.log(2))
    # Against the best: 0 where a candidate is the best, how far it trails where it is not.
    assert vs_best[0, best] == 0 and vs_best[1, best] == pytest.approx(-0.1)
    assert vs_best[1, length] == pytest.approx(np.log(2) - np.log(9)) and vs_best[0, length] == 0
    assert (vs_best <= 0).all() and (vs_best.max(axis=0) == 0).all()


def test_the_committed_answer_model_was_fitted_by_the_command_on_tuning_and_dev_cases_only():
    root = Path(__file__).resolve().parent.parent
    data = json.loads((root / "calibration" / "answer-model.json").read_text())
    model = AnswerModel.from_json(data)
    assert data["command"] == "python -m eval answer-calibrate" and data["ranker"]["features"] == list(FEATURES)
    assert data["decision"]["features"] == list(DECISION_FEATURES)
    assert set(data["fitted_on"]["splits"]) <= {"tuning", "dev"} and 0 < model.threshold < 1
    rows = (root / "calibration" / "answer-data.csv").read_text().splitlines()
    assert len(rows) - 1 == data["fitted_on"]["rows"]
    assert not any(",sealed," in r or ",held-out," in r for r in rows)
    # The scope classifier: fitted on the same splits' questions, the rows committed beside it.
    scope_rows = (root / "calibration" / data["scope_fitted_on"]["data"]).read_text().splitlines()
    assert len(scope_rows) - 1 == data["scope_fitted_on"]["cases"] and 0.5 <= model.scope.threshold <= 1
    assert not any("sealed" in r or "heldout" in r for r in scope_rows[1:])


def test_calibration_labels_as_the_evaluation_judges_and_weighs_a_wrong_answer_above_a_refusal():
    from assistant.records import Turn  # noqa: F401 - EvalCase's history type
    from eval.answer_calibration import Outcome, choose_threshold, is_right
    from eval.cases import EvalCase, ExpectedSource

    case = EvalCase("c", "patient", "when can I drive?", "answered",
                    expected_sources=(ExpectedSource("patient-driving"),), expected_facts=("8 weeks", "feel well"))
    assert is_right(case, "patient-driving", "How long", "Do not drive for 8 weeks.")
    assert not is_right(case, "patient-driving", "How long", "Do not drive.")
    refuse = EvalCase("r", "patient", "best pizza?", "refused")
    assert not is_right(refuse, "patient-driving", "How long", "Do not drive for 8 weeks. Even if you feel well.")
    outcomes = [Outcome(0.3, 100, 80, 15, 0, 5), Outcome(0.5, 100, 75, 5, 10, 10), Outcome(0.7, 100, 60, 2, 28, 10)]
    assert choose_threshold(outcomes, 2).threshold == 0.5  # costs 30, 20, 32
    assert choose_threshold(outcomes, 10).threshold == 0.7  # costs 150, 60, 48
    assert choose_threshold(outcomes[:2], 1.5).threshold == 0.5  # costs 22.5, 17.5
    assert choose_threshold(outcomes, 2, max_wrong=0.04).threshold == 0.7  # only 0.7 lets through at most 4%
    assert choose_threshold(outcomes, 2, max_wrong=0.01).threshold == 0.7  # none does: refuse the most


# -- the content team's walkthrough (CONTENT_TEAM.md), on a fixture corpus --------------------------
WALKTHROUGH_CASE = """\
- id: wt-001
  audience: patient
  question: im self employed what happens to my income
  expected_sources:
  - doc: patient-practical
    section: Money, work and benefits
  expected_facts:
  - time off work
  expected_status: answered
"""
MODE = "sentences"  # the default answer mode
WALKTHROUGH_DOCS = ("patient-practical.md", "patient-temperature.md", "patient-donation.md", "all-service-contacts.md")


@pytest.mark.slow
def test_a_failing_case_is_fixed_by_adding_a_phrasing_checked_then_evaluated(tmp_path, embedder, monkeypatch, capsys):
    """Report shows a wrongful refusal -> add a phrasing under the heading -> `ingest.py --check`
    -> ingest -> `eval run` shows the case fixed. No code changes, only the document."""
    import re

    from assistant.indexing import ingest
    from assistant.settings import load_settings
    from eval.__main__ import main
    from eval.cases import load_suite
    from eval.runner import evaluate

    root = Path(__file__).resolve().parent.parent
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in WALKTHROUGH_DOCS:  # the real leaflets, without the phrasings they carry now
        text = (root / "corpus" / name).read_text(encoding="utf-8")
        (corpus / name).write_text(re.sub(r"\nquestions:\n(?:  .*\n)+", "\n", text), encoding="utf-8")
    cases_file = tmp_path / "cases.yaml"
    cases_file.write_text(WALKTHROUGH_CASE, encoding="utf-8")
    settings = load_settings(corpus_dir=corpus, index_dir=tmp_path / "index", answer_mode=MODE)

    def run_case():
        from assistant.chain import Assistant

        ingest(settings, embedder=embedder)
        results = evaluate(load_suite([cases_file], corpus), settings,
                           assistant_factory=lambda s: Assistant.from_settings(s, embedder=embedder))
        return results["cases"][0]

    before = run_case()
    assert not before["passed"] and before["answer"]["status"] == "refused", before["score"]

    leaflet = corpus / "patient-practical.md"
    text = leaflet.read_text(encoding="utf-8")
    leaflet.write_text(text.replace("status: approved\n", 'status: approved\nquestions:\n  "Money, work and benefits":\n'
                                    "    - who can I talk to about losing income if I am self-employed?\n"
                                    "    - Will I have to take time off my job?\n", 1), encoding="utf-8")
    monkeypatch.setenv("CART_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("CART_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("CART_ANSWER_MODE", MODE)
    import ingest as ingest_cli  # the content team's own command

    assert ingest_cli.main(["--check"]) == 0
    assert "patient-practical" in capsys.readouterr().out

    after = run_case()
    assert after["passed"], (after["score"]["reasons"], after["answer"]["answer"])
    assert after["answer"]["status"] == "answered" and "time off work" in after["answer"]["answer"]


# -- section answers (answering.SectionAnswerer) over a small index, deterministic embedder ------------
SECTION_DOCS = {
    "patient-driving": ("patient", "# Driving\n\nIntro to driving.\n\n## How long you cannot drive\n\n"
                        "Do not drive for at least 8 weeks after your infusion.\n\nThis applies even if you feel well.\n\n"
                        "## What to bring\n\nBring these things:\n\n- your alert card\n- a thermometer\n- your medicines\n"),
    "clin-driving": ("clinician", "# Driving advice for referrers\n\n## Driving restrictions\n\n"
                     "Do not tell patients that they may drive before 8 weeks.\n\n"
                     "The restriction lasts 8 weeks from the infusion.\n\n"
                     "## Who to refer\n\nPoints to think about:\n\n- Fitness. Centres look for good performance status.\n"
                     "- Myeloma. Both appraisals for myeloma were terminated. Do not refer myeloma patients on the basis "
                     "of those appraisals.\n\nSend the form by email. Call the coordinator with questions. Book a slot "
                     "at the meeting. Keep a copy of the letter.\n"),
}


@pytest.fixture
def section_index(tmp_path):
    from assistant.indexing import ingest, saved_folder
    from assistant.retrieval import HybridRetriever
    from assistant.settings import load_settings
    from assistant.store import IndexStore

    from tests.conftest import write_approved

    for doc_id, (audience, body) in SECTION_DOCS.items():
        write_approved(tmp_path / "corpus", doc_id, body.split("\n", 2)[2], audience=audience)
        text = (tmp_path / "corpus" / f"{doc_id}.md").read_text()
        (tmp_path / "corpus" / f"{doc_id}.md").write_text(text.replace(f"# {doc_id}\n", body.split("\n", 1)[0] + "\n"))
    settings = load_settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    embedder = HashEmbedder()
    ingest(settings, embedder=embedder)
    return HybridRetriever(IndexStore.connect(settings), embedder, top_k=10, saved_dir=saved_folder(settings))


def test_a_section_answer_quotes_one_section_whole_in_order_with_its_list(section_index):
    from assistant.answering import SectionAnswerer

    answerer = SectionAnswerer(section_index)
    question = "what should I bring?"
    vector = section_index.embedder.encode([question])[0]
    sections = answerer.candidates(question, vector, section_index.search(question, audience="patient"))
    bring = next(s for s in sections if s.key == ("patient-driving", "What to bring"))
    composition = answerer.compose(bring, question)
    assert composition.text == ("Bring these things: [1]\n- your alert card [1]\n- a thermometer [1]\n"
                                "- your medicines [1]")
    assert [c.section for c in composition.citations] == ["What to bring"]
    assert all(line in composition.citations[0].excerpt for line, _ in composition.sentences)


def test_a_patient_never_gets_a_sentence_addressed_to_clinicians(section_index):
    from assistant.answering import SectionAnswerer

    answerer = SectionAnswerer(section_index)
    question = "how long is the driving restriction?"
    vector = section_index.embedder.encode([question])[0]
    passages = section_index.search(question, audience="patient")
    for audience, told in (("patient", False), ("clinician", True)):
        sections = answerer.candidates(question, vector, passages, audience=audience)
        clinical = next(s for s in sections if s.key == ("clin-driving", "Driving restrictions"))
        text = answerer.compose(clinical, question).text
        assert "The restriction lasts 8 weeks from the infusion." in text
        assert ("Do not tell patients" in text) is told


def test_check_lists_a_question_asked_under_two_documents_for_one_reader(tmp_path):
    """The same phrasing under two documents a patient may be answered from is listed by
    `ingest.py --check` (a warning: both are still indexed); under a clinician guide and a
    patient leaflet it is not, since each reader is answered from one of them."""
    from assistant.indexing import shared_questions

    corpus = tmp_path / "corpus"
    write(corpus)
    write(corpus, questions='questions:\n  "Heavy machinery":\n    - When can I get behind the WHEEL again?\n',
          doc_id="patient-machinery")
    other = write(corpus, questions='questions:\n  "How long you cannot drive":\n    - Can my husband drive me home?\n',
                  doc_id="clin-driving")
    other.write_text(other.read_text().replace("audience: patient", "audience: clinician"))
    loaded = load_corpus(corpus)
    assert not loaded.rejections
    [shared] = shared_questions(loaded.documents)
    assert shared.sections == (("patient-driving", "How long you cannot drive"), ("patient-machinery", "Heavy machinery"))
    assert shared.to_json()["phrasing"] == "when can i get behind the wheel again"

    other.write_text(other.read_text().replace("audience: clinician", "audience: all"))
    assert len(shared_questions(load_corpus(corpus).documents)) == 2  # a document for all readers meets both

    # compared by their letters in any script: two different questions in Arabic are not one
    write(corpus, questions='questions:\n  "Heavy machinery":\n    - "متى يمكنني القيادة؟"\n', doc_id="patient-machinery")
    write(corpus, questions='questions:\n  "How long you cannot drive":\n    - "ماذا آكل؟"\n')
    other.unlink()
    assert shared_questions(load_corpus(corpus).documents) == []


def test_check_lists_a_phrasing_asking_a_value_its_section_does_not_give(tmp_path):
    """`ingest.py --check` lists a phrasing that asks for a dose or a price when its section's
    text gives none (asked that way, a question is refused as "does not give ..."), and not one
    whose section gives it, nor one that asks about a value without asking for it."""
    from assistant.indexing import value_phrasings

    corpus = tmp_path / "corpus"
    write(corpus, questions='questions:\n  "Heavy machinery":\n    - how much does a driving assessment cost\n'
                            '    - who do I ask about the cost of an assessment\n'
                            '  "How long you cannot drive":\n    - how many weeks before I drive\n')
    [listed] = value_phrasings(load_corpus(corpus).documents)
    assert (listed.phrasing, listed.doc_id, listed.section, listed.kind) == (
        "how much does a driving assessment cost", "patient-driving", "Heavy machinery", "costs or prices")
    path = corpus / "patient-driving.md"
    path.write_text(path.read_text().replace("power tools for 8 weeks.", "power tools for 8 weeks. An assessment costs £40."))
    assert value_phrasings(load_corpus(corpus).documents) == []


def test_check_lists_a_section_that_opens_by_pointing_back(tmp_path):
    """An answer quotes one section on its own: `ingest.py --check` lists a section whose first
    sentence opens with "these", "it"... (what they point to is in another section), not one
    that names its subject or the document itself, nor the opening under the title."""
    from assistant.indexing import pointing_back

    corpus = tmp_path / "corpus"
    path = write(corpus)
    path.write_text(path.read_text().replace("This leaflet is about driving.", "It is about driving.")
                    .replace("Do not use heavy machinery", "These rules also cover heavy machinery. Do not use it"))
    [listed] = pointing_back(load_corpus(corpus).documents)
    assert (listed.doc_id, listed.section, listed.opening) == (
        "patient-driving", "Heavy machinery", "These rules also cover heavy machinery.")
    path.write_text(path.read_text().replace("These rules also cover", "The driving rules also cover"))
    assert pointing_back(load_corpus(corpus).documents) == []


def test_the_approved_corpus_has_no_section_that_opens_by_pointing_back():
    from assistant.indexing import pointing_back

    assert pointing_back(load_corpus(Path("corpus")).documents) == []


# -- Sections for one audience of a document for all (front matter `section_audience:`) ------

def test_a_section_for_clinicians_of_a_document_for_all_is_a_clinician_passage(tmp_path):
    chunks = chunks_of(write_for_all(tmp_path, 'section_audience:\n  "Referrals (clinicians)": clinician\n'))
    audience = {c.section: c.audience for c in chunks}
    assert audience["Referrals (clinicians)"] == "clinician"
    assert audience["Referrals (clinicians) > Forms"] == "clinician"  # a subsection is for whom its section is
    assert audience["How long you cannot drive"] == audience["Heavy machinery"] == "all"
    plain = {c.section: c.id for c in chunks_of(write_for_all(tmp_path / "plain", ""))}
    assert all(plain[c.section] != c.id for c in chunks if c.audience == "clinician")  # indexed again
    assert all(plain[c.section] == c.id for c in chunks if c.audience == "all")  # the rest keeps its vectors


def test_section_audience_is_only_for_a_document_for_all(tmp_path):
    write(tmp_path / "corpus", 'section_audience:\n  "Heavy machinery": clinician\n')
    reason = load_corpus(tmp_path / "corpus").rejections[0].reason
    assert reason.startswith("section_audience narrows a document for all to one audience per section, but this "
                             "document is for patient only")


def test_a_list_item_of_several_sentences_is_quoted_whole_on_its_line(section_index):
    """An item is one criterion: "- Myeloma. There is no route... Do not refer..." quoted as
    its last sentence alone lost what "those appraisals" were, and its first alone said nothing."""
    from assistant.answering import SectionAnswerer

    answerer = SectionAnswerer(section_index, max_units=3)  # the section is longer: it is trimmed
    question = "can I refer myeloma patients?"
    vector = section_index.embedder.encode([question])[0]
    sections = answerer.candidates(question, vector, section_index.search(question, audience="clinician"),
                                   audience="clinician")
    refer = next(s for s in sections if s.key == ("clin-driving", "Who to refer"))
    text = answerer.compose(refer, question).text
    assert ("- Myeloma. [1] Both appraisals for myeloma were terminated. [1] "
            "Do not refer myeloma patients on the basis of those appraisals. [1]") in text.splitlines()
    assert "- Fitness. [1] Centres look for good performance status. [1]" in text.splitlines()  # the list, whole
    assert "Keep a copy of the letter." not in text  # the rest of the section is trimmed away
