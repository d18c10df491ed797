"""Parse workers die with the process that started them.

``datasets`` runs ``num_proc`` workers in a ``multiprocess`` pool it creates itself, plus a ``Manager``
server process for its queue, with no initializer hook. :func:`children_die_with_this_process` registers
an after-fork hook with ``multiprocess`` (and ``multiprocessing``) so that every process they start calls
:func:`die_with_parent`; the builder's per-shard entry point calls it too (start methods other than
fork do not run the hook). On Linux the kernel kills the child when its parent dies
(``prctl(PR_SET_PDEATHSIG, SIGKILL)``); elsewhere a daemon thread polls the parent pid. Without this a
``kill -9`` of ``prepare --num-proc N`` leaves N workers parsing and the manager waiting.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading
import time

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # linux/prctl.h
_installed_for: set[int] = set()


def _prctl_pdeathsig() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int, interval_s: float = 1.0) -> None:
    while os.getppid() == parent_pid:
        time.sleep(interval_s)
    os._exit(1)  # the parent is gone: nobody will read what this worker writes


def die_with_parent(parent_pid: int | None = None) -> None:
    """End this process when its parent dies; nothing in ``parent_pid`` itself (the main process).

    ``parent_pid`` ``None``: the parent is whoever forked this process (a grandchild dies with its own parent).
    """
    pid = os.getpid()
    if pid == parent_pid or pid in _installed_for:
        return
    parent = os.getppid() if parent_pid is None else parent_pid
    _installed_for.add(pid)
    if not _prctl_pdeathsig():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="parent-watchdog").start()
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


class _Owner:
    """A registration of the after-fork hook (the registry keeps weak references: held in ``_OWNERS``)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid


_OWNERS: dict[int, _Owner] = {}


def children_die_with_this_process() -> None:
    """Every process ``multiprocess``/``multiprocessing`` forks from now on dies with this one."""
    import multiprocessing.util

    pid = os.getpid()
    if pid in _OWNERS:
        return
    owner = _OWNERS[pid] = _Owner(pid)
    multiprocessing.util.register_after_fork(owner, lambda _owner: die_with_parent())
    try:
        import multiprocess.util
    except ImportError:  # datasets installs multiprocess; without it only multiprocessing's children exist
        return
    multiprocess.util.register_after_fork(owner, lambda _owner: die_with_parent())
