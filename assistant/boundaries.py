"""What the assistant must not answer: personal medical advice, and attempts to change its
instructions. Entry point: `Boundaries(data, embedder).crossed(message, vector) -> Crossing | None`.

The knowledge is reviewed data (`safety/boundaries.yaml`), judged like triage: a rule (an
explicit pattern) or meaning (the message is close to an example and closer to it than to
every counter-example) is enough. The code holds no wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from .embedding import encode_cached
from .errors import UsageError
from .reviewed import REVIEW_FIELDS, YAML_LOADER, alternation, reviewed_problems, texts

DEFAULT_BOUNDARIES = Path(__file__).resolve().parent.parent / "safety" / "boundaries.yaml"
KINDS = ("personal-advice", "override")


@dataclass(frozen=True)
class Crossing:
    kind: str  # personal-advice | override
    reason: str  # which net, on what


@dataclass(frozen=True)
class _Boundary:
    id: str
    rules: object
    examples: tuple[str, ...]
    counter: tuple[str, ...]


class Boundaries:
    def __init__(self, data: dict, embedder=None, *, where: str = "boundaries"):
        problems = reviewed_problems(data, where, "boundaries")
        try:
            self.similarity = float(data["semantic"]["similarity"])
            self.margin = float(data["semantic"]["margin"])
        except (KeyError, TypeError, ValueError):
            problems.append("'semantic' needs numbers 'similarity' and 'margin'")
        self.boundaries: list[_Boundary] = []
        for item in data.get("boundaries") or []:
            if not isinstance(item, dict) or item.get("id") not in KINDS:
                problems.append(f"each boundary needs an id, one of {', '.join(KINDS)}")
                continue
            rules = alternation(item.get("rules"), f"boundary '{item['id']}' rules", problems, required=False)
            self.boundaries.append(_Boundary(item["id"], rules, texts(item.get("examples")), texts(item.get("not"))))
        if problems:
            raise UsageError(f"{where}: " + "; ".join(problems))
        self.meta = {k: data.get(k) for k in REVIEW_FIELDS}
        self.embedder = embedder if getattr(embedder, "understands_meaning", True) else None
        self._vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if self.embedder is not None:
            for b in self.boundaries:
                encoded = encode_cached(self.embedder, list(b.examples + b.counter)) \
                    if b.examples else np.zeros((0, 1), np.float32)
                self._vectors[b.id] = (encoded[: len(b.examples)], encoded[len(b.examples):])

    @classmethod
    def from_file(cls, path: Path | str = DEFAULT_BOUNDARIES, embedder=None) -> "Boundaries":
        path = Path(path)
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
        except FileNotFoundError:
            raise UsageError(f"boundaries file {path} not found: set CART_BOUNDARIES_FILE to safety/boundaries.yaml") from None
        except yaml.YAMLError:
            raise UsageError(f"boundaries file {path} is not valid YAML: fix it and restart") from None
        return cls(data, embedder, where=str(path))

    def crossed(self, message: str, vector: np.ndarray | None = None, *, also: tuple[str, ...] = (),
                only: tuple[str, ...] = KINDS) -> Crossing | None:
        """`also`: other spellings of the message (the spelling-repaired text) the rules try too."""
        for b in self.boundaries:
            if b.id not in only:
                continue
            for text in (message, *also):
                match = b.rules.search(text) if b.rules else None
                if match:
                    return Crossing(b.id, f"rules: '{match.group(0)}'")
            if vector is not None and b.id in self._vectors and len(self._vectors[b.id][0]):
                examples, counter = self._vectors[b.id]
                sims = examples @ np.asarray(vector, dtype=np.float32)
                best = int(np.argmax(sims))
                against = float(np.max(counter @ vector)) if len(counter) else 0.0
                if sims[best] >= self.similarity and sims[best] - against >= self.margin:
                    return Crossing(b.id, f"meaning: close to \"{b.examples[best]}\" ({sims[best]:.2f}; "
                                          f"counter-example {against:.2f})")
        return None
