"""The embedder: one-thread encoding under overlapping requests, cached vectors, packed passes."""

from __future__ import annotations

import threading

import pytest
import torch

from assistant.embedding import _torch_threads


def test_overlapping_callers_keep_one_thread_until_the_last_leaves_then_restore():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        a_inside, b_inside, a_may_leave, a_left = (threading.Event() for _ in range(4))
        seen = {}

        def caller_a():
            with _torch_threads(1):
                a_inside.set()
                a_may_leave.wait(10)
            a_left.set()

        thread = threading.Thread(target=caller_a)
        thread.start()
        a_inside.wait(10)
        with _torch_threads(1):  # B comes in while A is inside...
            b_inside.set()
            a_may_leave.set()
            a_left.wait(10)  # ...and A leaves first: B must still run on one thread
            seen["after_a_left"] = torch.get_num_threads()
        thread.join(10)
        seen["after_both"] = torch.get_num_threads()
        assert seen == {"after_a_left": 1, "after_both": 2}
    finally:
        torch.set_num_threads(before)


class Counting:
    """Stands in for the model: a fixed vector per text, and a count of texts embedded."""

    model_path = "/models/stand-in"

    def __init__(self):
        self.texts = 0

    def encode(self, texts):
        import numpy as np

        self.texts += len(texts)
        return np.array([[float(len(t)), 1.0] for t in texts], dtype=np.float32)


def test_fixed_texts_are_embedded_once_then_read_and_any_change_is_a_new_key(tmp_path):
    import numpy as np

    from assistant.embedding import encode_cached

    first, second = Counting(), Counting()
    texts = ["my dad is shaking", "what is a tremor?"]
    vectors = encode_cached(first, texts, tmp_path)
    assert first.texts == 2
    assert np.array_equal(encode_cached(second, texts, tmp_path), vectors) and second.texts == 0
    encode_cached(second, texts + ["a new example"], tmp_path)  # the file gained an example
    assert second.texts == 3
    other_model = Counting()
    other_model.model_path = "/models/another"
    encode_cached(other_model, texts, tmp_path)
    assert other_model.texts == 2
    for path in tmp_path.glob("*.npy"):
        path.write_bytes(b"garbled")
    again = Counting()
    assert np.array_equal(encode_cached(again, texts, tmp_path), vectors) and again.texts == 2  # rebuilt, not trusted


@pytest.mark.slow
def test_a_questions_texts_packed_in_one_pass_get_the_vectors_each_gets_alone(embedder):
    """The few texts of one question (its sentences and the whole message) share one forward
    pass, each attending only to itself: every vector must equal sentence-transformers' own,
    for short, long (truncated) and one-word texts alike, in any order."""
    import numpy as np

    texts = ["my dad had car-t 9 days ago.", "he is shaking and confused since this morning, is this normal?",
             "ok", "fever " * 400, "my dad had car-t 9 days ago. he is shaking and confused. is this normal?"]
    assert embedder._packs, "the packaged model must take packed texts, or every question pays for padding"
    for batch in (texts, texts[::-1], texts[2:3]):
        packed = embedder.encode(batch)
        alone = np.vstack([embedder._encode([t]) for t in batch])
        assert packed.shape == (len(batch), 384)
        assert np.abs(packed - alone).max() < 1e-4
