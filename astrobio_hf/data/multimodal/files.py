"""Input lists of a multimodal build: paths, globs and folders to files."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

from .config import MultimodalBuildError


def expand_files(items: Sequence[str | os.PathLike], patterns: tuple[str, ...]) -> list[Path]:
    """Paths, globs and folders (searched recursively for ``patterns``) -> sorted unique files."""
    out: set[Path] = set()
    for item in items:
        text = os.fspath(item)
        if os.path.isdir(text):
            for pattern in patterns:
                out.update(Path(p) for p in glob.glob(os.path.join(text, "**", pattern), recursive=True))
        elif any(ch in text for ch in "*?["):
            out.update(Path(p) for p in glob.glob(text, recursive=True))
        elif os.path.isfile(text):
            out.add(Path(text))
        else:
            raise MultimodalBuildError(f"light-curve / spectrum input {text!r} does not exist")
    return sorted(out)


