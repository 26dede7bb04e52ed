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


class Recording:
    """A real embedder, recording each text it is asked to encode."""

    def __init__(self, embedder):
        self.inner, self.seen = embedder, []

    def encode(self, texts):
        self.seen.extend(texts)
        return self.inner.encode(texts)

    def count_tokens(self, text):
        return self.inner.count_tokens(text)


@pytest.mark.slow
def test_a_long_message_is_encoded_sentence_by_sentence_and_its_whole_is_pooled_from_them(embedder):
    """Triage reads each sentence; the whole message (triage's last text, and the search
    vector) comes from the same encode. A short whole is encoded beside its sentences; a long
    one is the token-weighted mean of its sentences' vectors and is never encoded itself."""
    import numpy as np

    from assistant.embedding import WHOLE_TOO_MAX_TOKENS, encode_message
    from assistant.triage import meaning_texts

    short = meaning_texts("my dad had car-t 9 days ago. is he allowed to drive?")
    long = meaning_texts("My husband came home from the hospital last Tuesday after his CAR-T cells. "
                         "He has been sleeping a lot in the afternoons and eating less than usual. "
                         "The nurse said to keep an eye on him and check his temperature twice a day. "
                         "Can you tell me how long he has to stay near the hospital?")
    assert len(short) == 3 and len(long) == 5
    assert embedder.count_tokens(short[-1]) <= WHOLE_TOO_MAX_TOKENS < embedder.count_tokens(long[-1])

    recording = Recording(embedder)
    vectors = encode_message(recording, short)
    assert recording.seen == short and np.abs(vectors - embedder.encode(short)).max() < 1e-4

    recording = Recording(embedder)
    vectors = encode_message(recording, long)
    assert recording.seen == long[:-1] and vectors.shape == (5, 384)  # the whole is not encoded again
    alone = embedder.encode(long[:-1])
    assert np.abs(vectors[:-1] - alone).max() < 1e-4
    weights = np.array([embedder.count_tokens(t) + 2 for t in long[:-1]], dtype=np.float32)
    expected = weights @ alone / np.linalg.norm(weights @ alone)
    assert np.abs(vectors[-1] - expected).max() < 1e-5 and abs(np.linalg.norm(vectors[-1]) - 1) < 1e-5
    # A stand-in for the whole: closer to the message encoded whole than any of its sentences is.
    own = embedder.encode(long[-1:])[0]
    assert float(vectors[-1] @ own) > max(float(v @ own) for v in alone)


@pytest.mark.slow
def test_reading_a_message_gives_its_vectors_and_its_whole_layers_from_one_pass(embedder):
    """What the scope classifier reads (scope.py) comes from the pass that gives the message's
    vectors: the same vectors, and the whole's token means at every layer, its own when it is
    encoded, its sentences' pooled as its vector is when it is long."""
    import numpy as np

    from assistant.embedding import encode_message, read_message
    from assistant.triage import meaning_texts

    one = meaning_texts("what should I bring on the day of my cell collection?")
    vectors, layers = read_message(embedder, one)
    assert np.array_equal(vectors, encode_message(embedder, one)) and layers.shape == (6 * 384,)
    assert np.abs(layers - embedder.layer_means(one)[0]).max() < 1e-4
    long = meaning_texts("My husband came home last Tuesday after his CAR-T cells. He has been sleeping a lot in "
                         "the afternoons. The nurse said to check his temperature twice a day. "
                         "How long does he have to stay near the hospital?")
    vectors, layers = read_message(embedder, long)
    assert np.array_equal(vectors, encode_message(embedder, long))
    weights = np.array([embedder.count_tokens(t) + 2 for t in long[:-1]], dtype=np.float32)
    expected = weights @ embedder.layer_means(long[:-1]) / weights.sum()
    assert np.abs(layers - expected).max() < 1e-4
    # The last layer's part is what the vectors pool: normalised, it is the sentence's vector.
    last = embedder.layer_means(one)[0][-384:]
    assert np.abs(last / np.linalg.norm(last) - embedder.encode(one)[0]).max() < 1e-4
