"""A fingerprint of the weights in a checkpoint folder: which weights an evaluation scored.

An evaluation records it in its ``results.json``; the model card keeps only evaluations whose fingerprint equals the
folder's current one, so a card never shows another model's figures next to new weights.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def weights_fingerprint(model_dir: str | Path) -> str | None:
    """``sha256:<hex>`` over the folder's ``*.safetensors`` files (names and bytes, sorted); None without weights."""
    files = sorted(Path(model_dir).glob("*.safetensors"))
    if not files:
        return None
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + b"\0")
        with file.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


__all__ = ["weights_fingerprint"]
