"""Crash-safe checkpoints: a checkpoint counts only once its completion marker is written, after every file in it.

transformers writes `checkpoint-N/` file by file, so a process killed mid-save leaves a directory that looks like a
checkpoint but is not loadable. AstroTrainer writes `COMPLETE_MARKER` last and rotates old checkpoints only after
that, so the previous complete checkpoint always survives; resuming picks the newest complete one.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from pathlib import Path

logger = logging.getLogger(__name__)

COMPLETE_MARKER = "checkpoint_complete.json"
_CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")


def mark_complete(checkpoint_dir: str | os.PathLike, step: int) -> None:
    """Write the completion marker atomically (temp file + rename)."""
    path = Path(checkpoint_dir)
    tmp = path / f".{COMPLETE_MARKER}.tmp"
    tmp.write_text(json.dumps({"step": step, "time": time.time()}))
    os.replace(tmp, path / COMPLETE_MARKER)


def list_checkpoints(output_dir: str | os.PathLike) -> list[tuple[int, Path, bool]]:
    """(step, path, complete) for every `checkpoint-N` directory, oldest first."""
    root = Path(output_dir)
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = _CHECKPOINT_RE.match(child.name)
        if match and child.is_dir():
            found.append((int(match.group(1)), child, (child / COMPLETE_MARKER).is_file()))
    return sorted(found)


def last_complete_checkpoint(output_dir: str | os.PathLike) -> Path | None:
    """The newest checkpoint whose marker exists, or None."""
    complete = [path for _, path, ok in list_checkpoints(output_dir) if ok]
    return complete[-1] if complete else None


def remove_incomplete_checkpoints(output_dir: str | os.PathLike) -> list[Path]:
    """Delete checkpoint directories a killed save left without a marker; returns what was removed."""
    removed = []
    for _, path, ok in list_checkpoints(output_dir):
        if not ok:
            logger.warning("removing incomplete checkpoint %s (its save was interrupted)", path)
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def rotate_complete_checkpoints(output_dir: str | os.PathLike, keep: int | None, protect: str | None = None) -> None:
    """Keep the newest `keep` complete checkpoints (and `protect`, the best one); delete older complete ones."""
    if not keep or keep <= 0:
        return
    complete = [path for _, path, ok in list_checkpoints(output_dir) if ok]
    protected = Path(protect).resolve() if protect else None
    excess = len(complete) - keep
    for path in complete:
        if excess <= 0:
            break
        if protected is not None and path.resolve() == protected:
            continue
        shutil.rmtree(path, ignore_errors=True)
        excess -= 1


__all__ = [
    "COMPLETE_MARKER", "mark_complete", "list_checkpoints", "last_complete_checkpoint",
    "remove_incomplete_checkpoints", "rotate_complete_checkpoints",
]
