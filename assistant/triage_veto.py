"""A second look at a message only the meaning net flagged: does the whole message tell of a
symptom now, or does it ask about one, or tell of something else?

The meaning net reads each sentence against the red-flag file's examples, so a side sentence
of a question ("Feeling overwhelmed", "my husband's a very deep sleeper normally") can sit as
close to a report as a real one does. This classifier reads the whole message, at every layer
of the packaged MiniLM (`SentenceEmbedder.layer_means`): a logistic regression over those
features, fitted on people's messages (the tuning and dev cases) and the file's examples, by
`python -m eval triage-veto`, which writes its coefficients, threshold and cross-validated
figures to `calibration/triage-veto.json` and the rows it was fitted on beside it.

What it may do, and no more (`Triager._set_aside_below`): set aside a flag raised by the
meaning net alone, when it gives the message less than `threshold`; and, where the file has a
`words_threshold`, a flag the rules raised on a symptom's words ("the kids are bleeding us dry",
"my sister ... has been getting dizzy spells"), when it gives the message less than that. Each
is chosen so that, cross-validated by case file, no urgent message more was missed. Never a
reading (a temperature or heart rate over the line: a number is what rules read best), never a
999 situation (but one the meaning net alone reads only just, under the red-flag file's
`emergency_set_aside_below`), and never a hit whose closest example report is one it was not
fitted on: a report example a clinician adds to the red-flag file takes effect at once,
whatever this file says, until the classifier is fitted again.

What it costs: the chain has a message's layers from its own pass, the whole message's own
when it encoded it (one sentence, or a short message) and else pooled from its sentences'
(`embedding.read_message`). The classifier reads a message's own layers, so a long message is
encoded once more, about 25 ms, when its flag could be set aside (about one question in six
of the golden sets, most of them reports it keeps). The fit measures how far the probability
from the own layers strays from the one from the pooled layers (`pooled_spread`, in log-odds,
over every long message it was fitted on); where the pooled reading, widened by that spread and
`POOLED_MARGIN`, stands wholly on one side of a threshold, the answer is known without that
encode (`Veto.pooled_side`).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .errors import UsageError
from .text import plain_quotes

__all__ = ["Veto", "DEFAULT_VETO", "FEATURES", "POOLED_MARGIN", "MessageLayers", "example_key", "layer_logistic",
           "layer_probability", "log_odds", "message_text"]

DEFAULT_VETO = Path(__file__).resolve().parent.parent / "calibration" / "triage-veto.json"
# What the coefficients read: `SentenceEmbedder.layer_means` of the message. A file made for
# other features is refused, not misread.
FEATURES = "layer-means-v1"
# Log-odds added on each side of the fitted `pooled_spread` before a pooled reading settles a
# threshold: the spread is the extreme of the messages fitted on, and a new wording may stray
# further. Where a flag could be set aside, only "not under" is taken from the pooled reading,
# so erring there keeps a flag. The clause reading also takes "under" (its 0.9 of agreement):
# with this spread, only for a pooled probability under about 0.0006.
POOLED_MARGIN = 1.0
_REFIT = "run `python -m eval triage-veto` (or restore calibration/triage-veto.json from git)"


def layer_logistic(data, features: str, where: str, refit: str) -> tuple[np.ndarray, float, np.ndarray, np.ndarray, str]:
    """The weights, intercept, mean, scale and encoder name of a logistic regression over a
    message's layers (this classifier's, and scope.py's), read from a fitted file's `data`; a
    UsageError saying what is wrong and how to mend it (`refit`) otherwise."""
    if not isinstance(data, dict) or data.get("features") != features:
        raise UsageError(f"{where} was made for other features than {features}: {refit}")
    try:
        weights, mean, scale = (np.asarray(data[k], dtype=np.float32) for k in ("weights", "mean", "scale"))
        bias, model = float(data["intercept"]), str(data["model"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{where} lacks or garbles {exc}: {refit}") from None
    if not (weights.ndim == 1 and weights.shape == mean.shape == scale.shape and len(weights)):
        raise UsageError(f"{where}: weights, mean and scale must be lists of one length: {refit}")
    return weights, bias, mean, np.where(scale > 0, scale, 1.0).astype(np.float32), model


def layer_probability(rows: np.ndarray, weights: np.ndarray, bias: float, mean: np.ndarray,
                      scale: np.ndarray) -> np.ndarray:
    """Per row of a message's layers, the probability such a logistic regression gives (its
    weights read the features standardised by `mean` and `scale`): this classifier's, scope.py's
    and their fits' (eval/triage_veto.py, eval/answer_calibration.py)."""
    z = (np.atleast_2d(rows) - mean) / scale
    return 1.0 / (1.0 + np.exp(-(z @ weights + bias)))


class MessageLayers(NamedTuple):
    """A message's `layer_means` row as the chain read it: `text`'s own (the whole message was
    encoded), or, `pooled`, its sentences' rows pooled (`embedding.read_message`)."""
    text: str
    row: np.ndarray
    pooled: bool = False


def log_odds(p):
    """log(p / (1 - p)) of a probability or an array of them, kept finite at 0 and 1."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


def message_text(message: str) -> str:
    """A message as the classifier reads it, in the fit and in triage alike."""
    return " ".join(plain_quotes(message).split())


def example_key(text: str) -> str:
    """A short key of an example text, as the fit saw it: which reports it was fitted on."""
    return hashlib.sha256(message_text(text).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Veto:
    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    threshold: float
    model: str  # the encoder whose layers it reads (its folder name)
    fitted_reports: frozenset[str]  # `example_key` of each report example it was fitted on
    info: dict = field(default_factory=dict)
    # Below this, a flag with a rules hit on a symptom's words is set aside too (None: never).
    words_threshold: float | None = None
    # Least and most log-odds by which the own layers' reading exceeded the pooled layers' over
    # the long messages fitted on (None: unmeasured, and a long message is always encoded).
    pooled_spread: tuple[float, float] | None = None

    @classmethod
    def load(cls, path: Path | str = DEFAULT_VETO) -> "Veto":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"triage classifier {path} is missing: {_REFIT}") from None
        except json.JSONDecodeError as exc:
            raise UsageError(f"triage classifier {path} is not valid JSON ({exc.msg}, line {exc.lineno}): {_REFIT}") from None
        return cls.from_json(data, str(path))

    @classmethod
    def from_json(cls, data, where: str = "triage classifier") -> "Veto":
        weights, bias, mean, scale, model = layer_logistic(data, FEATURES, where, _REFIT)
        try:
            threshold, fitted = float(data["threshold"]), frozenset(map(str, data["fitted_reports"]))
            words = data.get("words_threshold")
            words = None if words is None else float(words)
            spread = data.get("pooled_spread")
            spread = None if spread is None else tuple(float(v) for v in spread)
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{where} lacks or garbles {exc}: {_REFIT}") from None
        if spread is not None and not (len(spread) == 2 and all(map(math.isfinite, spread)) and spread[0] <= spread[1]):
            raise UsageError(f"{where}: pooled_spread {list(spread)} must be two finite numbers, the least first: {_REFIT}")
        for name, value in (("threshold", threshold), ("words_threshold", words)):
            if value is not None and not 0.0 <= value < 0.5:
                raise UsageError(f"{where}: {name} {value} must be at least 0 and under 0.5 (the classifier "
                                 f"sets a flag aside only when it is fairly sure): {_REFIT}")
        info = {k: v for k, v in data.items() if k not in (
            "weights", "mean", "scale", "intercept", "threshold", "words_threshold", "pooled_spread", "model",
            "fitted_reports")}
        return cls(weights, bias, mean, scale, threshold, model, fitted, info, words, spread)

    def to_json(self) -> dict:
        words = {} if self.words_threshold is None else {"words_threshold": round(self.words_threshold, 4)}
        if self.pooled_spread is not None:  # rounded outwards: never narrower than measured
            words["pooled_spread"] = [math.floor(self.pooled_spread[0] * 1e4) / 1e4, math.ceil(self.pooled_spread[1] * 1e4) / 1e4]
        return {"features": FEATURES, "model": self.model, "threshold": round(self.threshold, 4), **words,
                "intercept": round(self.bias, 6),
                **{k: v for k, v in self.info.items() if k != "features"},
                "fitted_reports": sorted(self.fitted_reports),
                "weights": [round(float(v), 6) for v in self.weights],
                "mean": [round(float(v), 6) for v in self.mean],
                "scale": [round(float(v), 6) for v in self.scale]}

    def probability(self, features: np.ndarray) -> np.ndarray:
        """Per row of `layer_means`: the probability that the message tells of a red flag now."""
        return layer_probability(features, self.weights, self.bias, self.mean, self.scale)

    def pooled_side(self, pooled_probability: float, limit: float) -> bool | None:
        """Whether the message's own layers would give it less than `limit`, as far as its pooled
        layers' probability tells: True or False where the pooled reading, widened by
        `pooled_spread` and `POOLED_MARGIN`, stands wholly below or wholly at or above it; None
        where it does not (or the spread is unmeasured): encode the message to know."""
        if self.pooled_spread is None:
            return None
        low, high = self.pooled_spread
        base, line = float(log_odds(pooled_probability)), float(log_odds(limit))
        if base + high + POOLED_MARGIN < line:
            return True
        if base + low - POOLED_MARGIN >= line:
            return False
        return None

    def reads(self, embedder) -> bool:
        """Whether it was fitted on this encoder's layers (else it is left out, and triage says so)."""
        name = getattr(embedder, "name", None)
        return hasattr(embedder, "layer_means") and name == self.model
