"""The demo path end to end, shortened: a smaller sample and one epoch, through the same commands as `make demo`."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers.train_runs import REPO, train_env


def test_demo_runs_end_to_end_offline(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "astrobio_hf.demo", "--output", str(out), "--n-hosts", "60",
                             "--epochs", "1"], cwd=REPO, env=train_env(), capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    for split in ("validation", "test"):
        assert summary[split]["eval_habitability_labelled"] > 0
        assert 0.0 <= summary[split]["eval_hz_class_accuracy"] <= 1.0
    names = [p["planet_name"] for p in summary["predictions"]]
    assert "DEMO-SOL c" in names
    for prediction in summary["predictions"]:
        assert 0.0 <= prediction["habitability_probability"] <= 1.0
        assert any(entry["generated"] for entry in prediction["provenance"])  # generated inputs say so
    card = (out / "model" / "README.md").read_text()
    assert "AstroMultimodalModel" in card and "generated" in card
    assert "[demo] metrics" in result.stdout and "DEMO-SOL c: habitability probability" in result.stdout
    run_info = json.loads((out / "model" / "run_info.json").read_text())
    assert run_info["num_processes"] == 1 and run_info["model_type"] == "multimodal"
