"""The calibrated decision to answer: which retrieved section answers the question, and
whether it answers it well enough to be quoted at all.

Entry point: `AnswerModel.load(path)`, then `model.rank(sections, unknown=...)`. A logistic
regression over a few features of each candidate section (below) gives the probability that
the section holds the answer. A second regression, the decision, reads the first few of them
each as if chosen (`choose`); the one it gives the best chance is quoted when that chance
reaches the threshold, otherwise the question is refused with where to ask.

The coefficients, the threshold and the figures they were chosen on live in a JSON file
(`calibration/answer-model.json`) written by `python -m eval answer-calibrate` from the
tuning and dev cases only, never by hand; the rows it was fitted on are committed beside it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import UsageError
from .scope import Scope

# Below this probability that its section answers the question, an answer is still quoted (the
# threshold, chosen by answer-calibrate, is lower: a refusal costs too) but with a note that it may
# not answer exactly what was asked: the model gives it less than an even chance. Not fitted: it is
# what the probability means. Cross-validated on the tuning and dev cases (seventeenth session),
# about one answer in five falls below it, and about one in five of those is wrong, against one
# in twelve above it (SAFETY.md H11).
SURE_PROBABILITY = 0.5

# The ranker scores each candidate section alone; which one is quoted is the one, among its
# first CHOOSE_AMONG, the decision gives the best chance of answering when read as chosen
# (`AnswerModel.choose`). A patient's question whose best-scored section is a clinician page
# ("whats the age limit for kymriah" -> the tisa-cel access criteria) was refused, the decision
# reading the audience misfit, while the young people's leaflet, close behind, answered it.
# Measured on the golden and pending answer sets (thirtieth session; nothing refitted): held-out
# passed 407 -> 414 of 501 (wrong answers 37 -> 33, wrongful refusals 33 -> 28), dev 1,889 ->
# 1,892 of 2,033; among 2, 3 and 5 candidates, 3 and 5 alike and 2 one held-out case fewer.
CHOOSE_AMONG = 3

SECTION_FEATURES = (
    "best",  # cosine of the question and the section's closest sentence
    "top2",  # mean cosine of its two closest sentences
    "heading",  # cosine of the question and the section's heading
    "coverage",  # share of the question's idf-weighted words found in the section
    "heading_overlap",  # ... found in its heading
    "rank_prior",  # 1 / (1 + its best retrieval rank)
    "audience_fit",  # its document is for the asker's audience (or for all)
    "lead",  # its closest sentence against the best of the other candidates
    "unknown",  # the question has words the corpus never uses (a topic it lacks)
    "fused",  # its fused retrieval score over the first passage's
    "centroid",  # cosine of the question and the mean of its sentences
    "dense_prior",  # 1 / its best rank by meaning alone (0: not in that list)
    "bm25_prior",  # 1 / its best rank by words alone
    "asked",  # cosine of the question and the closest phrasing of the section (or its heading)
    "asked_lead",  # that, against the best of the other candidates
    "length",  # log(1 + its sentences and items): the closest of many sentences is close by chance more often
    "asking",  # log-probability that the question is this section's, read against all sections' phrasings (asking.py)
)
# Each of those again, against the best of that question's candidates (0 for the best): which
# section answers is a choice among the candidates, and a cosine of 0.5 that leads by 0.1 says
# more than one that trails by 0.1. Measured on the tuning and dev cases (5-fold, by case):
# the right section first 85.7% -> 89.3% with the length and these together (held-out 81.9% ->
# 85.0%, BENCHMARKS.md).
FEATURES = SECTION_FEATURES + tuple(f"{name}_vs_best" for name in SECTION_FEATURES)


def section_features(section, others, unknown: bool) -> np.ndarray:
    rivals = [o.best for o in others if o is not section]
    asked_rivals = [o.asked for o in others if o is not section]
    return np.array([
        section.best, section.top2, section.heading, section.coverage, section.heading_overlap,
        1.0 / (1 + section.rank), float(section.audience_fit),
        section.best - max(rivals) if rivals else 0.0, float(unknown),
        section.fused, section.centroid, section.dense_prior, section.bm25_prior,
        section.asked, section.asked - max(asked_rivals) if asked_rivals else 0.0,
        math.log1p(len(section.units)), section.asking,
    ], dtype=np.float64)


def candidate_features(sections, unknown: bool) -> np.ndarray:
    """One row of FEATURES per section: its own, then each against the best of all of them."""
    own = np.vstack([section_features(s, sections, unknown) for s in sections])
    return np.hstack([own, own - own.max(axis=0)])


DECISION_FEATURES = (
    "p_top",  # the ranker's probability for the chosen section
    "margin",  # ... over the runner-up's
    "similarity",  # cosine of the question and the closest retrieved passage
    "coverage",  # share of the question's idf-weighted words in the first passages
    "unknown",  # words the corpus never uses
    "best", "asked", "audience_fit", "rank_prior",  # of the chosen section, as above
    "evidence_rule",  # the earlier hand-set evidence rule's verdict (chain.Evidence.enough), as one signal
)


@dataclass(frozen=True)
class Ranked:
    probability: float
    section: object  # answering.SectionScore
    features: dict[str, float]  # by FEATURES name, as the ranker read them


def decision_features(ranked: list, evidence, unknown: bool) -> np.ndarray:
    """What the decision to answer reads: the ranker's verdict on its first section (ranked
    items with `probability` and `features`) and how well the question is covered."""
    p_top, own = ranked[0].probability, ranked[0].features
    runner_up = ranked[1].probability if len(ranked) > 1 else 0.0
    return np.array([p_top, p_top - runner_up, evidence.similarity, evidence.coverage, float(unknown),
                     own["best"], own["asked"], own["audience_fit"], own["rank_prior"],
                     float(evidence.enough)], dtype=np.float64)


@dataclass(frozen=True)
class Logistic:
    """w . (x - mean) / scale + bias, squashed; fitted by eval/answer_calibration.py."""

    names: tuple[str, ...]
    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray

    def probability(self, x: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(x) - self.mean) / self.scale
        return 1.0 / (1.0 + np.exp(-(z @ self.weights + self.bias)))

    @classmethod
    def from_json(cls, data: dict, names: tuple[str, ...], where: str) -> "Logistic":
        coefficients = data.get("coefficients") or {}
        missing = [n for n in names if n not in coefficients]
        if missing or "intercept" not in data:
            raise UsageError(f"{where} lacks {', '.join(missing) or 'its intercept'}: it was made for another "
                             "version; run `python -m eval answer-calibrate`")
        mean, scale = data.get("mean") or {}, data.get("scale") or {}
        return cls(names, np.array([float(coefficients[n]) for n in names]), float(data["intercept"]),
                   np.array([float(mean.get(n, 0.0)) for n in names]),
                   np.array([float(scale.get(n, 1.0)) or 1.0 for n in names]))

    def to_json(self) -> dict:
        return {"coefficients": {n: round(float(w), 6) for n, w in zip(self.names, self.weights)},
                "intercept": round(self.bias, 6),
                "mean": {n: round(float(v), 6) for n, v in zip(self.names, self.mean)},
                "scale": {n: round(float(v), 6) for n, v in zip(self.names, self.scale)}}


@dataclass(frozen=True)
class AnswerModel:
    """A ranker (which section answers) and a decision (is that answer good enough to give)."""

    ranker: Logistic
    decision: Logistic
    threshold: float
    info: dict
    scope: Scope | None = None  # what the documents are not for (scope.py); None in a blank model

    @classmethod
    def load(cls, path: Path) -> "AnswerModel":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"answer model {path} is missing: restore it from git or run "
                             "`python -m eval answer-calibrate`") from None
        except json.JSONDecodeError as exc:
            raise UsageError(f"answer model {path} is not valid JSON ({exc.msg}, line {exc.lineno}): "
                             "restore it from git or run `python -m eval answer-calibrate`") from None
        return cls.from_json(data, str(path))

    @classmethod
    def from_json(cls, data: dict, where: str = "answer model") -> "AnswerModel":
        if not isinstance(data.get("ranker"), dict) or not isinstance(data.get("decision"), dict) \
                or "threshold" not in data:
            raise UsageError(f"{where} lacks its ranker, decision or threshold: it was made for another version; "
                             "run `python -m eval answer-calibrate`")
        return cls(Logistic.from_json(data["ranker"], FEATURES, f"{where} (ranker)"),
                   Logistic.from_json(data["decision"], DECISION_FEATURES, f"{where} (decision)"),
                   float(data["threshold"]),
                   {k: v for k, v in data.items() if k not in ("ranker", "decision", "threshold", "scope")},
                   Scope.from_json(data["scope"], f"{where} (scope)") if "scope" in data else None)

    @classmethod
    def blank(cls) -> "AnswerModel":
        """A model that knows nothing: every section 0.5 (so retrieval order decides) and every
        question answered. What `answer-calibrate` describes the sections with when the saved
        model was made for other features."""
        def zero(names):
            n = len(names)
            return Logistic(names, np.zeros(n), 0.0, np.zeros(n), np.ones(n))

        return cls(zero(FEATURES), zero(DECISION_FEATURES), 0.0, {})

    def to_json(self) -> dict:
        return {"ranker": {"features": list(FEATURES), **self.ranker.to_json()},
                "decision": {"features": list(DECISION_FEATURES), **self.decision.to_json()},
                "threshold": round(self.threshold, 4), **self.info,
                **({"scope": self.scope.to_json()} if self.scope is not None else {})}

    def reads_scope(self, embedder) -> bool:
        """Whether its scope classifier reads this encoder's layers (a blank model has none)."""
        return self.scope is not None and self.scope.reads(embedder)

    def refuse_like(self, layers: np.ndarray | None) -> float | None:
        """`Scope.probability` of a message's layers (`embedding.read_message`); None without
        either."""
        return self.scope.probability(layers) if self.scope is not None and layers is not None else None

    def out_of_scope(self, refuse_like: float | None) -> bool:
        """Whether a message so like those that must be refused is refused, whatever section was found."""
        return refuse_like is not None and self.scope is not None and refuse_like >= self.scope.threshold

    def rank(self, sections, *, unknown: bool) -> list[Ranked]:
        """Each section with its probability and features, most likely first."""
        if not sections:
            return []
        x = candidate_features(sections, unknown)
        p = self.ranker.probability(x)
        order = sorted(range(len(sections)), key=lambda i: (-p[i], sections[i].rank))
        return [Ranked(float(p[i]), sections[i], {n: round(float(v), 4) for n, v in zip(FEATURES, x[i])})
                for i in order]

    def answer_probability(self, ranked: list[Ranked], evidence, unknown: bool) -> float:
        if not ranked:
            return 0.0
        return float(self.decision.probability(decision_features(ranked, evidence, unknown))[0])

    def choose(self, ranked: list[Ranked], evidence, unknown: bool) -> tuple[list[Ranked], float]:
        """The candidates with the one to quote first, and the decision's probability that it
        answers. The ranker scores each section alone; the decision reads one as chosen,
        against the rest (its margin, its audience, how it was asked). Each of the ranker's
        first CHOOSE_AMONG is read as if it were chosen, and the decision's likeliest leads."""
        if not ranked:
            return ranked, 0.0
        orders = [_first(ranked, i) for i in range(min(CHOOSE_AMONG, len(ranked)))]
        p = self.decision.probability(np.vstack([decision_features(order, evidence, unknown) for order in orders]))
        best = int(np.argmax(p))  # the first of equals: the ranker's order breaks a tie
        return orders[best], float(p[best])


def _first(ranked: list[Ranked], i: int) -> list[Ranked]:
    """`ranked` with its i-th item moved to the front, the others in their order."""
    return ranked if i == 0 else [ranked[i], *ranked[:i], *ranked[i + 1:]]
