"""docs/walkthrough_own_data.py runs end to end on a real PSCompPars download: prepare, train, evaluate, predict;
started from another folder than the repository, with a relative --workdir."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.timeout(900)
def test_walkthrough_runs_on_a_real_catalog(real_data_dir, tmp_path):
    catalog = real_data_dir / "nasa_exoplanet_archive" / "tap_style_2025" / "PSCompPars.csv"
    done = subprocess.run([sys.executable, str(REPO_ROOT / "docs" / "walkthrough_own_data.py"), "--catalog",
                           str(catalog), "--workdir", "walk", "--max-planets", "300",  # relative to the cwd
                           "--max-steps", "8"], cwd=tmp_path, capture_output=True, text=True, timeout=880)
    assert done.returncode == 0, done.stderr[-4000:]
    out = done.stdout
    assert "test split: {" in out and "eval_loss" in out
    assert out.count("Kepler-186 f: P(habitable)") == 3  # by values, by QTable row, through the pipeline
    assert "TRAPPIST-1 e: P(habitable)" in out  # looked up in the catalog file
    assert "multimodal dataset: 300 planets" in out
    assert (tmp_path / "walk" / "model" / "loss_curve.png").is_file()
    assert (tmp_path / "walk" / "dataset" / "README.md").is_file()
