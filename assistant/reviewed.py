"""What every reviewed safety data file shares (safety/red-flags.yaml, safety/boundaries.yaml):
the review fields it must carry like a corpus document, how it is read (YAML), and its lists
of word patterns, each compiled to one whole-word pattern (`alternation`)."""

from __future__ import annotations

import re

import yaml

from .errors import UsageError

__all__ = ["REVIEW_FIELDS", "YAML_LOADER", "alternation", "any_of", "reviewed_problems", "texts"]

# libyaml's safe loader when the wheel has it (0.05 s against 0.3 s for the red-flag file).
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

REVIEW_FIELDS = ("id", "owner", "version", "approved_by", "review_due", "status")


def reviewed_problems(data, where: str, body: str) -> list[str]:
    """A safety data file is reviewed like a corpus document: these fields must be there."""
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected fields ({', '.join(REVIEW_FIELDS)}, {body})")
    return [f"missing '{name}' (the file is reviewed like a corpus document)"
            for name in REVIEW_FIELDS if not data.get(name)]


def texts(value) -> tuple[str, ...]:
    return tuple(str(v).strip() for v in (value or []) if str(v).strip())


# Whole words: "me" is not in "measure", "now" is not in "know". A pattern may start at an
# apostrophe ("'s fine", "'re ok"): that is where a word's ending starts ("he's fine").
WORD_START = "(?:(?<![A-Za-z0-9])|(?='))"
WORD_END = "(?![A-Za-z0-9])"


def whole_words(alternatives) -> str:
    """One pattern of alternatives that each match whole words, the word's start said once before
    them all: the same matches as each alternative with its own start, found about five times as
    fast (the regex engine tries the alternatives only where a word starts, not at every letter)."""
    return f"{WORD_START}(?:{'|'.join(alternatives)})"


def any_of(patterns: list[re.Pattern]) -> re.Pattern | None:
    """The alternatives of several `alternation` patterns in one (the word's start said once).
    A pattern made some other way is kept whole beside them, as it matches."""
    if not patterns:
        return None
    if all(p.pattern.startswith(WORD_START) for p in patterns):
        return re.compile(whole_words(p.pattern[len(WORD_START):] for p in patterns), re.I)
    return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.I)


def alternation(patterns, where: str, problems: list[str], *, required: bool = True) -> re.Pattern | None:
    patterns = texts(patterns)
    if not patterns:
        if required:
            problems.append(f"'{where}' needs at least one pattern")
        return None
    try:
        return re.compile(whole_words(f"(?:{p}){WORD_END}" for p in patterns), re.I)
    except re.error as exc:
        problems.append(f"'{where}': a pattern is not a valid regular expression ({exc})")
        return None
