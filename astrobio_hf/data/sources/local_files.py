"""Local mode of the archive builders: which native files a ``data_dir`` / ``data_files`` selection means."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def resolve_local_files(source: str, file_patterns: Sequence[str], data_dir: str | None,
                        data_files: Any) -> list[str] | None:
    """The sorted, resolved files of local mode (``None``: download mode).

    ``data_dir`` alone globs ``file_patterns`` recursively; ``data_files`` are paths or globs (relative to
    ``data_dir`` if given; a plain path may hold glob characters such as ``[``). Hidden files are skipped.
    """
    if data_dir is None and data_files is None:
        return None
    if data_dir is not None and not os.path.isdir(data_dir):
        raise FileNotFoundError(f"{source}: data_dir {data_dir} is not a directory")
    root = Path(data_dir) if data_dir else Path.cwd()
    if data_files is None:
        patterns = list(file_patterns)
    elif isinstance(data_files, (str, os.PathLike)):
        patterns = [os.fspath(data_files)]
    elif isinstance(data_files, dict):
        patterns = [os.fspath(p) for v in data_files.values() for p in ([v] if isinstance(v, str) else v)]
    else:
        patterns = [os.fspath(p) for p in data_files]
    found: set[str] = set()
    for pattern in patterns:
        candidate = Path(pattern) if os.path.isabs(pattern) else root / pattern
        if candidate.is_file():  # a plain path (may contain glob characters such as '[')
            found.add(str(candidate.resolve()))
            continue
        if os.path.isabs(pattern):
            matches = Path(candidate.anchor).glob(str(candidate.relative_to(candidate.anchor)))
        else:
            matches = root.glob(pattern)
        hits = [str(m.resolve()) for m in matches if m.is_file() and not m.name.startswith(".")]
        if data_files is not None and not hits:
            raise FileNotFoundError(f"{source}: no file matches {pattern!r} (under {root})")
        found.update(hits)
    if not found:
        raise FileNotFoundError(f"{source}: no native files ({', '.join(file_patterns)}) "
                                f"under {root}")
    return sorted(found)
