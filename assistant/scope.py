"""Stage 4d, what the documents are not for: how much a message looks like the questions the
assistant must refuse (one person's results or outlook, another hospital's parking or phone
number, a country's rules the documents do not cover) rather than those they answer.

Entry point: `Scope.from_json(data)` (the `scope` block of calibration/answer-model.json),
then `scope.probability(layers)`. A logistic regression over the message read at every layer
of the packaged MiniLM (`embedding.read_message`: the whole message's token means at each
layer, from the very pass that gives its vectors, so reading it costs no second pass), fitted
by `python -m eval answer-calibrate` on the tuning and dev questions (must refuse = 1,
answerable = 0).

What it may do (`AnswerModel.out_of_scope`): refuse a message it gives at least `threshold`,
whatever section the search found, with where to ask. The threshold is chosen with it, on the
cross-validated decisions of the tuning and dev cases, as the one that costs least (a wrong
answer counting twice a wrongful refusal). Weighed inside the decision model instead, as one
more feature, it lifted the cross-validated curve but gave more wrong answers on the held-out
questions (docs/history.md, twenty-seventh session); as a gate on its own it gave fewer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import UsageError
from .triage_veto import layer_logistic, layer_probability

FEATURES = "message-layers-v1"  # what the weights read: `embedding.read_message`'s layers of the message
_REFIT = "run `python -m eval answer-calibrate` (or restore calibration/answer-model.json from git)"


@dataclass(frozen=True)
class Scope:
    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    model: str  # the encoder whose layers it reads (its folder name)
    threshold: float  # at or above it, the message is refused

    def reads(self, embedder) -> bool:
        """Whether it was fitted on this encoder's layers (a test's fake encoder has none)."""
        return hasattr(embedder, "encode_with_layers") and getattr(embedder, "name", None) == self.model

    def probability(self, layers: np.ndarray) -> float:
        """The probability that the message whose `read_message` layers these are is one the
        documents are not for."""
        return float(layer_probability(layers, self.weights, self.bias, self.mean, self.scale)[0])

    @classmethod
    def from_json(cls, data, where: str = "answer model (scope)") -> "Scope":
        weights, bias, mean, scale, model = layer_logistic(data, FEATURES, where, _REFIT)
        try:
            threshold = float(data["threshold"])
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{where} lacks or garbles {exc}: {_REFIT}") from None
        if not 0.5 <= threshold <= 1.0:
            raise UsageError(f"{where}: threshold {threshold} must be from 0.5 to 1 (it refuses only a message it "
                             f"finds more likely than not one to refuse; 1 all but never refuses): {_REFIT}")
        return cls(weights, bias, mean, scale, model, threshold)

    def to_json(self) -> dict:
        return {"features": FEATURES, "model": self.model, "threshold": round(self.threshold, 4),
                "intercept": round(self.bias, 6),
                "weights": [round(float(v), 6) for v in self.weights],
                "mean": [round(float(v), 6) for v in self.mean],
                "scale": [round(float(v), 6) for v in self.scale]}
