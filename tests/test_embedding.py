"""The embedder's own rules that need no model: one-thread encoding under overlapping requests."""

from __future__ import annotations

import threading

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
