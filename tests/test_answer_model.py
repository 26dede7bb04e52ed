"""The answer model's choice among its candidates (no embedding model: synthetic features)."""

from types import SimpleNamespace

import numpy as np

from assistant.answer_model import CHOOSE_AMONG, DECISION_FEATURES, FEATURES, AnswerModel, Logistic, Ranked


def _model(audience_weight: float) -> AnswerModel:
    """A decision that reads the ranker's probability and, with `audience_weight`, whether the
    chosen section is written for the asker."""
    weights = np.zeros(len(DECISION_FEATURES))
    weights[DECISION_FEATURES.index("p_top")] = 4.0
    weights[DECISION_FEATURES.index("audience_fit")] = audience_weight
    n = len(FEATURES)
    ranker = Logistic(FEATURES, np.zeros(n), 0.0, np.zeros(n), np.ones(n))
    decision = Logistic(DECISION_FEATURES, weights, -3.0, np.zeros(len(weights)), np.ones(len(weights)))
    return AnswerModel(ranker, decision, 0.5, {})


def _ranked(*candidates: tuple[str, float, int]) -> list[Ranked]:
    """(name, ranker probability, written for the asker) per candidate, best first."""
    return [Ranked(p, name, {"best": 0.5, "asked": 0.5, "audience_fit": float(fit), "rank_prior": 0.5})
            for name, p, fit in candidates]


EVIDENCE = SimpleNamespace(similarity=0.5, coverage=0.5, enough=True)


def test_the_decision_chooses_among_the_rankers_first_candidates():
    """A section scored a little lower but written for the asker is quoted when the decision,
    reading each as chosen, gives it the better chance; the others keep their order behind it."""
    ranked = _ranked(("clinician page", 0.9, 0), ("patient leaflet", 0.8, 1), ("other", 0.3, 1))
    chosen, p = _model(audience_weight=3.0).choose(ranked, EVIDENCE, unknown=False)
    assert [r.section for r in chosen] == ["patient leaflet", "clinician page", "other"]
    assert p == _model(3.0).answer_probability(chosen, EVIDENCE, False) > _model(3.0).answer_probability(ranked, EVIDENCE, False)
    # A decision that does not read the audience keeps the ranker's first.
    chosen, p = _model(audience_weight=0.0).choose(ranked, EVIDENCE, unknown=False)
    assert [r.section for r in chosen] == ["clinician page", "patient leaflet", "other"]


def test_only_the_first_candidates_are_read_as_chosen():
    """A candidate ranked below CHOOSE_AMONG is never quoted first, however the decision reads it."""
    behind = [(f"misfit {i}", 0.9 - 0.01 * i, 0) for i in range(CHOOSE_AMONG)]
    chosen, _ = _model(audience_weight=3.0).choose(_ranked(*behind, ("for the asker", 0.85, 1)), EVIDENCE, False)
    assert chosen[0].section == "misfit 0"
    assert _model(3.0).choose([], EVIDENCE, False) == ([], 0.0)
