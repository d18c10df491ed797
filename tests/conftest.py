"""Shared pytest fixtures: offline environment and the location of the real archive files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never reach the network: set the offline switches before any HF library is imported.
for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "WANDB_MODE": "offline",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ.setdefault(_name, _value)

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_DATA_DIR = Path(os.environ.get("ASTROBIO_REAL_DATA", REPO_ROOT.parent / "shared" / "data" / "real"))


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The read-only directory of real archive files (../shared/data/real); tests read them in place."""
    if not (REAL_DATA_DIR / "MANIFEST.md").is_file():
        pytest.fail(f"real archive files not found at {REAL_DATA_DIR}; set ASTROBIO_REAL_DATA")
    return REAL_DATA_DIR
