"""The calibrated decision to answer: which retrieved section answers the question, and
whether it answers it well enough to be quoted at all.

Entry point: `AnswerModel.load(path)`, then `model.rank(sections, unknown=...)`. A logistic
regression over a few features of each candidate section (below) gives the probability that
the section holds the answer; the best section is quoted when that probability reaches the
threshold, otherwise the question is refused with where to ask.

The coefficients, the threshold and the figures they were chosen on live in a JSON file
(`calibration/answer-model.json`) written by `python -m eval answer-calibrate` from the
tuning and dev cases only, never by hand; the rows it was fitted on are committed beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import UsageError

FEATURES = (
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
)


def section_features(section, others, unknown: bool) -> np.ndarray:
    rivals = [o.best for o in others if o is not section]
    asked_rivals = [o.asked for o in others if o is not section]
    return np.array([
        section.best, section.top2, section.heading, section.coverage, section.heading_overlap,
        1.0 / (1 + section.rank), float(section.audience_fit),
        section.best - max(rivals) if rivals else 0.0, float(unknown),
        section.fused, section.centroid, section.dense_prior, section.bm25_prior,
        section.asked, section.asked - max(asked_rivals) if asked_rivals else 0.0,
    ], dtype=np.float64)


def feature_dict(section, others, unknown: bool) -> dict[str, float]:
    return {name: round(float(v), 4) for name, v in zip(FEATURES, section_features(section, others, unknown))}


@dataclass(frozen=True)
class AnswerModel:
    weights: np.ndarray  # one per feature, then the bias
    threshold: float
    info: dict

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
        coefficients = data.get("coefficients") or {}
        missing = [f for f in FEATURES if f not in coefficients]
        if missing or "intercept" not in data or "threshold" not in data:
            raise UsageError(f"{where} lacks {', '.join(missing) or 'intercept or threshold'}: it was made for "
                             "another version; run `python -m eval answer-calibrate`")
        weights = np.array([float(coefficients[f]) for f in FEATURES] + [float(data["intercept"])])
        return cls(weights, float(data["threshold"]), {k: v for k, v in data.items() if k != "coefficients"})

    def to_json(self) -> dict:
        return {"features": list(FEATURES),
                "coefficients": {f: round(float(w), 6) for f, w in zip(FEATURES, self.weights)},
                "intercept": round(float(self.weights[-1]), 6), "threshold": round(self.threshold, 4),
                **{k: v for k, v in self.info.items() if k not in ("features", "intercept", "threshold")}}

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        return 1.0 / (1.0 + np.exp(-(x @ self.weights[:-1] + self.weights[-1])))

    def rank(self, sections, *, unknown: bool) -> list[tuple[float, object]]:
        """(probability, section), most likely first."""
        if not sections:
            return []
        x = np.vstack([section_features(s, sections, unknown) for s in sections])
        p = self.probabilities(x)
        order = sorted(range(len(sections)), key=lambda i: (-p[i], sections[i].rank))
        return [(float(p[i]), sections[i]) for i in order]
