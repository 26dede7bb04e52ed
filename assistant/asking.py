"""Stage 4c, how readers ask: which section a question is about, learned at ingest from the
corpus's own phrasings and headings.

Entry points: `fit_asking(chunks, heading_vectors, phrase_row, phrase_vectors) -> Asking`
(units.py calls it when it builds units), `Asking.log_probability(vector)`,
`Asking.of_row(log_probability, chunk_row)`. Stored in the generation's units file
(units.py), so a question costs one more matrix product (sections x dimensions).

Each section's heading and the ways readers ask it (front matter `questions:`,
CORPUS_FORMAT.md) are examples of questions it answers. The nearest phrasing alone (the
answer model's `asked`) lets one close wording decide ("Do I need chemo before the CAR-T
cells?" stands at 0.88 to "what chemo do I get before the car t cells", though it is the
journey leaflet's summary). A multinomial logistic regression over all of them learns which
directions of the embedding tell the sections apart: the question is read against every
section's phrasings at once. Its log-probability of each candidate section is one more
feature of the section ranker. Fitted on the corpus only (never on evaluation cases), so a
phrasing the content team adds counts at the next ingest.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

# Weak regularisation: the phrasings are few per section (about 20) and chosen to differ.
# Chosen by the ranker's cross-validated accuracy on the tuning and dev cases among
# 1, 10, 100, 1,000 and 10,000 (BENCHMARKS.md).
ASKING_C = 100.0
LOG_FLOOR = float(np.log(1e-4))  # a section the model all but rules out


@dataclass
class Asking:
    coef: np.ndarray  # (n_sections, dim) float32
    intercept: np.ndarray  # (n_sections,) float32
    section_of_row: np.ndarray  # int32 per chunk row: its section's index, -1 when it has none

    def log_probability(self, vector: np.ndarray) -> np.ndarray:
        """Log-probability of each section, for one unit-length question vector."""
        if not len(self.coef):
            return np.zeros(0, dtype=np.float32)
        z = self.coef @ np.asarray(vector, dtype=np.float32) + self.intercept
        z = z - z.max()
        return z - np.log(np.exp(z).sum())

    def of_row(self, log_probability: np.ndarray, chunk_row: int) -> float:
        """The log-probability of the section of a chunk row (floored; 0.0 with one section)."""
        if len(self.coef) <= 1:
            return 0.0
        section = int(self.section_of_row[chunk_row]) if chunk_row < len(self.section_of_row) else -1
        return max(LOG_FLOOR, float(log_probability[section])) if section >= 0 else LOG_FLOOR

    @classmethod
    def empty(cls, rows: int = 0, dim: int = 0) -> "Asking":
        return cls(np.zeros((0, dim), dtype=np.float32), np.zeros(0, dtype=np.float32),
                   np.full(rows, -1, dtype=np.int32))


def fit_asking(chunks, heading_vectors: np.ndarray, phrase_row: np.ndarray, phrase_vectors: np.ndarray) -> Asking:
    """Each section's heading and phrasings (once each, from its first chunk) as examples of it."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    sections: dict[tuple[str, str], int] = {}
    first_row: list[int] = []
    section_of_row = np.full(len(chunks), -1, dtype=np.int32)
    for row, chunk in enumerate(chunks):
        key = (chunk.doc_id, chunk.section)
        if key not in sections:
            sections[key] = len(sections)
            first_row.append(row)
        section_of_row[row] = sections[key]
    dim = heading_vectors.shape[1] if heading_vectors.ndim == 2 else 0
    if len(sections) < 2:
        return Asking.empty(len(chunks), dim)  # one section: nothing to tell apart (`of_row` gives 0.0)
    firsts = set(first_row)
    x = [np.asarray(heading_vectors[r], dtype=np.float32) for r in first_row]
    y = list(range(len(first_row)))
    for i, row in enumerate(phrase_row):
        if int(row) in firsts:
            x.append(np.asarray(phrase_vectors[i], dtype=np.float32))
            y.append(int(section_of_row[row]))
    with warnings.catch_warnings():
        # A section with few phrasings is a class with few examples: that is the design, not a
        # regression target mistaken for classes, and lbfgs stops near enough at its limit.
        warnings.filterwarnings("ignore", message="The number of unique classes")
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        model = LogisticRegression(C=ASKING_C, max_iter=300).fit(np.vstack(x), np.asarray(y))
    # Every section is a class (its heading is one of its examples), so classes_ is 0..n-1.
    coef, intercept = model.coef_.astype(np.float32), model.intercept_.astype(np.float32)
    if len(sections) == 2:  # a binary fit has one row: the second section against the first
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept]).astype(np.float32)
    return Asking(coef, intercept, section_of_row)
