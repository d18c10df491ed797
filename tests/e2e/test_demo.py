"""The demo path end to end, shortened: the first rows of the real catalog and one epoch, through the same commands as
`make demo` (both protocols, evaluation with baselines, model card)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from astrobio_hf.sharing.hub import _files_to_upload
from astrobio_hf.sharing.model_card import find_local_paths
from tests.helpers.train_runs import REPO, train_env


def test_demo_runs_end_to_end_offline_on_the_real_catalog(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "astrobio_hf.demo", "--output", str(out), "--max-planets", "400",
                             "--epochs", "1", "--resamples", "20", "--folds", "3"], cwd=REPO, env=train_env(), capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sample"] == "real" and summary["validation"]["eval_habitability_labelled"] > 0
    for protocol in ("full", "withheld"):
        methods = summary["test"][protocol]
        assert {"multimodal model", "majority", "label_rule", "logistic_regression",
                "hist_gradient_boosting"} <= set(methods)
        assert any(name.startswith("model without") for name in methods)
        assert 0.0 <= methods["multimodal model"]["hz_macro_f1"] <= 1.0
        folder = out / ("model" if protocol == "full" else "model_withheld") / "evaluation" / f"test_{protocol}"
        results = json.loads((folder / "results.json").read_text())
        assert results["split"] == "test" and results["protocol"]["name"] == protocol
        assert (folder / "figure.png").stat().st_size > 10_000 and (folder / "results.md").is_file()
        crossval = summary["cross_validation"][protocol]
        assert crossval["folds"] == 3 and crossval["seed"] == 0
        assert {"logistic_regression", "hist_gradient_boosting", "trees_temperate_x_rocky", "label_rule"} <= set(
            crossval["paired"])
        # every labelled planet of every split is scored out of fold, not only the test split's
        assert crossval["rows"]["labelled"] > 2 * summary["test_rows"][protocol]["labelled"]
    spec = json.loads((out / "model_withheld" / "multimodal_spec.json").read_text())
    assert "pl_insol" not in spec["planet_param_names"] and "pl_eqt" not in spec["planet_param_names"]
    # real planets, named as the archive names them, with the catalog entry marked real
    names = [p["planet_name"] for p in summary["predictions"]]
    assert "51 Peg b" in names
    for prediction in summary["predictions"]:
        assert 0.0 <= prediction["habitability_probability"] <= 1.0
        catalog = [e for e in prediction["provenance"] if e["source"] == "nasa_exoplanet_archive"]
        assert catalog and not catalog[0]["generated"]
    cases = {c["case"]: c for c in summary["reference_cases"]}
    assert cases["Earth twin (by values)"]["rule_habitability"] == 1
    assert cases["hot Jupiter (HD 209458 b values)"]["rule_hz_class"] == "too hot"
    assert all(0.0 < c["threshold"] < 1.0 for c in cases.values())
    assert "reference planets given by values" in result.stdout and "out of fold" in result.stdout
    card = (out / "model" / "README.md").read_text()
    assert "model-index" in card and "split: test" in card and "split: cv3" in card
    assert "decision threshold: habitable when P(habitable) >=" in card
    assert "label_rule" in card and "pipeline_tag: tabular-classification" in card
    # nothing that `astrobio-hf push` would upload names a local path
    for model in ("model", "model_withheld"):
        for rel in _files_to_upload(out / model):
            path = out / model / rel
            if path.suffix in (".md", ".json", ".yaml", ".txt"):
                assert not find_local_paths(path.read_text(), [tmp_path]), f"{path} names a local path"
    assert "[demo] results, protocol full" in result.stdout and "hist_gradient_boosting" in result.stdout
    run_info = json.loads((out / "model" / "run_info.json").read_text())
    assert run_info["num_processes"] == 1 and run_info["model_type"] == "multimodal"
    # the demo's model, processor and pipeline load where astrobio_hf cannot be imported, with the package's outputs
    from astrobio_hf.inference.predict import predict
    from tests.e2e.test_remote_code_fresh_venv import REMOTE, VALUES
    from tests.helpers.fresh_venv import make_fresh_venv, run_in

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    remote = run_in(make_fresh_venv(tmp_path / "venv"), REMOTE, str(out / "model"), json.dumps(VALUES),
                    cwd=elsewhere, modules_cache=tmp_path / "modules")
    assert remote["astrobio_hf_importable"] is False and remote["classes"] == ["transformers_modules"] * 4
    expected = predict(out / "model", VALUES)
    assert remote["habitability"] == pytest.approx(expected.habitability_probability, abs=1e-6)
    assert remote["pipeline"]["habitability_probability"] == pytest.approx(expected.habitability_probability,
                                                                           abs=1e-6)
