"""Keeping a builder's Arrow cache honest across runs: leftovers of killed runs, caches built on unverified answers.

* :func:`remove_stale_incomplete`: the ``<cache>.incomplete`` folder a killed prepare left (only when no
  other process holds the builder's lock);
* :func:`cache_replays_unverified`: whether a finished cache was built from a downloaded answer nothing
  proved whole (it must be rebuilt from a fresh download, never replayed);
* :func:`find_cause` / :func:`format_errors_unwrapped`: our format error out of datasets' wrapper (with
  ``num_proc`` the wrapper is pickled back from the worker without its ``__cause__``, so unwrap in the worker).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from collections.abc import Iterator

from datasets.exceptions import DatasetGenerationError
from filelock import FileLock, Timeout

logger = logging.getLogger(__name__)

REPORT_FILENAME = "astrobio_report.json"


def remove_stale_incomplete(source: str, output_dir: str) -> None:
    """Delete ``<output_dir>.incomplete`` when no live prepare holds the builder's lock."""
    stale = output_dir + ".incomplete"
    if not os.path.isdir(stale):
        return
    lock = FileLock(output_dir + "_builder.lock", timeout=0)
    try:
        with lock:  # nobody else is preparing this config: the directory is a killed run's leftover
            shutil.rmtree(stale, ignore_errors=True)
            logger.warning("%s: removed a stale partial cache %s", source, stale)
    except Timeout:
        pass


def cache_replays_unverified(cache_dir: str) -> list[str]:
    """The unverified answers a finished cache in ``cache_dir`` was built from (empty: none, or no cache)."""
    path = os.path.join(cache_dir, REPORT_FILENAME)
    if not os.path.isfile(path):
        return []
    try:
        with open(path, encoding="utf-8") as fh:
            return list(json.load(fh).get("unverified_answers") or [])
    except (OSError, ValueError):
        return []


def find_cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """``exc`` or the first exception of ``kind`` in its ``__cause__``/``__context__`` chain."""
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


@contextlib.contextmanager
def format_errors_unwrapped(kind: type[BaseException]) -> Iterator[None]:
    """Re-raise the ``kind`` error inside datasets' ``DatasetGenerationError`` as itself (what the user sees)."""
    try:
        yield
    except DatasetGenerationError as exc:
        cause = find_cause(exc, kind)
        if cause is not None:
            raise cause from None
        raise
