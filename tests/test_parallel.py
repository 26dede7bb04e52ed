"""Answers in parallel: one `Assistant` shared by several threads (as the web page's answer
events are, up to CART_ANSWER_CONCURRENCY at once) gives every question the same answer as
one thread does.

Slow: the real model and the real index.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from eval.cases import load_suite

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def comparable(answer) -> dict:
    data = answer.to_json()
    data.pop("latency_ms")
    return data


def test_many_questions_from_several_threads_get_the_single_thread_answers(assistant):
    cases = load_suite(None, ROOT / "corpus")
    step = max(1, len(cases) // 48)
    chosen = cases[::step][:48]  # every kind: answers, refusals, urgent, follow-ups, both audiences
    assert {c.expected_status for c in chosen} >= {"answered", "refused", "urgent"}
    alone = [comparable(assistant.ask(c.question, c.audience, c.history)) for c in chosen]
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda c: comparable(assistant.ask(c.question, c.audience, c.history)),
                                 chosen * 2))
    assert together[: len(chosen)] == alone and together[len(chosen):] == alone
