"""Word-level text helpers shared by BM25 retrieval and sentence selection."""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"[a-z0-9]+(?:[.-][a-z0-9]+)*")
_STEMMER = snowballstemmer.stemmer("english")

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most
my myself no nor not now of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself yourselves get got im ive id dont cant wont also us tell please
know need want thing things really go going still yes ok okay hi hello thanks thank much many
""".split())


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    return _STEMMER.stemWord(word)


def words(text: str) -> list[str]:
    """Lowercase words; hyphenated and dotted terms (car-t, 37.5) also give their parts."""
    out: list[str] = []
    for token in _WORD.findall(text.lower()):
        out.append(token)
        if "-" in token:
            out.extend(part for part in token.split("-") if part)
    return out


def terms(text: str) -> list[str]:
    """Stemmed content words: what BM25 and sentence scoring compare."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]
