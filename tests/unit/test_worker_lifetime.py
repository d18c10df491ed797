"""Children started after ``children_die_with_this_process`` keep working: only their parent's death ends them."""

from __future__ import annotations

import multiprocessing as mp
import os

from astrobio_hf.data.sources.worker_lifetime import children_die_with_this_process


def _grandchild(queue) -> None:
    queue.put(("grandchild", os.getpid()))


def _child(queue) -> None:
    process = mp.get_context("fork").Process(target=_grandchild, args=(queue,))
    process.start()
    process.join()
    queue.put(("grandchild exit", process.exitcode))


def test_children_and_grandchildren_run_to_their_end():
    children_die_with_this_process()
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    process = ctx.Process(target=_child, args=(queue,))
    process.start()
    process.join(timeout=60)
    got = dict(queue.get(timeout=10) for _ in range(2))
    assert process.exitcode == 0 and got["grandchild exit"] == 0 and got["grandchild"] > 0
