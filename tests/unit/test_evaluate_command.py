"""`astrobio-hf evaluate` on a small catalog prepared by the real builders, with a tiny model: outputs, protocols,
determinism, the model card it rewrites, and no local path in anything that would be pushed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from astrobio_hf.cli import main as cli_main
from astrobio_hf.data.multimodal import MultimodalBuildConfig, build_multimodal_dataset
from astrobio_hf.data.multimodal_schema import save_multimodal_dataset
from astrobio_hf.data.splits import assign_host_splits
from astrobio_hf.evaluation import EvaluationError, evaluate
from astrobio_hf.models import AstroMultimodalModel
from astrobio_hf.models.presets import build_config
from astrobio_hf.sharing.hub import HubError, push_model
from astrobio_hf.sharing.model_card import find_local_paths
from astrobio_hf.training.tasks import _from_spec


def _catalog_csv(path, n: int = 90, seed: int = 0):
    """An archive-style pscomppars CSV: one planet per star; every third planet temperate and Earth-sized."""
    rng = np.random.default_rng(seed)
    insol = np.where(np.arange(n) % 3 == 0, 0.6, rng.choice([0.05, 5.0], n))
    teff = rng.uniform(5600, 5900, n)
    a = np.sqrt((teff / 5772.0) ** 4 / insol)
    frame = pd.DataFrame({
        "pl_name": [f"Test-{i} b" for i in range(n)], "hostname": [f"Test-{i}" for i in range(n)],
        "pl_orbper": 365.25 * a**1.5, "pl_orbsmax": a, "pl_rade": np.where(np.arange(n) % 2 == 0, 1.0, 3.0),
        "pl_bmasse": 2.0, "pl_orbeccen": 0.0, "pl_insol": insol, "pl_eqt": 278.6 * (0.7 * insol) ** 0.25,
        "st_teff": teff, "st_rad": 1.0, "st_mass": 1.0, "st_met": 0.0, "st_logg": 4.4, "sy_dist": 50.0,
        "discoverymethod": "Transit", "disc_year": 2020,
    })
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate")
    csv = _catalog_csv(root / "pscomppars.csv")
    out = {}
    for protocol in ("full", "withheld"):
        splits, spec, _ = build_multimodal_dataset(MultimodalBuildConfig(
            nasa_data_files=[csv], cache_dir=root / "cache", protocol=protocol, split_fractions=(0.5, 0.25, 0.25)))
        dataset = save_multimodal_dataset(splits, spec, root / f"dataset_{protocol}")
        torch.manual_seed(0)
        config = build_config("astro-multimodal-tiny", **_from_spec("astro-multimodal-tiny", spec))
        model_dir = root / f"model_{protocol}"
        AstroMultimodalModel(config).save_pretrained(model_dir)
        out[protocol] = (dataset, model_dir, spec)
    return out


def test_withheld_protocol_removes_the_insolation_columns(prepared):
    full, withheld = prepared["full"][2], prepared["withheld"][2]
    assert {"pl_insol", "pl_eqt"} <= set(full.planet_param_names)
    assert not {"pl_insol", "pl_eqt"} & set(withheld.planet_param_names)
    assert withheld.extra["protocol"]["removed_columns"] == ["pl_insol", "pl_eqt"]
    assert full.extra["splits"]["stratified_by"] and full.extra["splits"]["seed"] == 0


def test_evaluate_writes_results_table_and_figure_deterministically(prepared, tmp_path):
    dataset, model_dir, _ = prepared["full"]
    first = evaluate(model_dir, dataset, split="test", out_dir=tmp_path / "a", n_resamples=30)
    second = evaluate(model_dir, dataset, split="test", out_dir=tmp_path / "b", n_resamples=30)
    # the same numbers, NaN included (json writes NaN as NaN; NaN != NaN in a dict comparison)
    assert json.dumps([m["metrics"] for m in first["methods"]]) == json.dumps([m["metrics"] for m in second["methods"]])
    names = [m["name"] for m in first["methods"]]
    assert names[:5] == ["multimodal model", "majority", "label_rule", "logistic_regression", "hist_gradient_boosting"]
    assert "model without planet_params" in names
    rows = first["rows"]
    assert rows["habitable"] > 0 and rows["positive_rate"] == rows["habitable"] / rows["labelled"]
    rule = next(m for m in first["methods"] if m["name"] == "label_rule")["metrics"]
    assert rule["balanced_accuracy"] == 1.0 and rule["f1"] == 1.0  # the rule on its own inputs is the ceiling
    for name in ("results.json", "results.md", "figure.png"):
        assert (tmp_path / "a" / name).is_file()
    text = (tmp_path / "a" / "results.json").read_text()
    assert not find_local_paths(text, [tmp_path, dataset.parent])
    assert "| label_rule |" in (tmp_path / "a" / "results.md").read_text()


def test_cli_evaluate_rewrites_the_card_with_model_index(prepared, capsys):
    dataset, model_dir, _ = prepared["withheld"]
    assert cli_main(["evaluate", "--model", str(model_dir), "--dataset", str(dataset), "--resamples", "20"]) == 0
    assert "protocol `withheld`" in capsys.readouterr().out
    results = json.loads((model_dir / "evaluation" / "test_withheld" / "results.json").read_text())
    assert results["protocol"]["name"] == "withheld" and results["split"] == "test"
    card = (model_dir / "README.md").read_text()
    assert "model-index" in card and "split: test" in card and "config: withheld" in card
    assert "baseline hist_gradient_boosting" in card and "pipeline_tag: tabular-classification" in card
    assert "closed-form rule" in card
    assert not find_local_paths(card, [model_dir.parent])


def test_a_withheld_dataset_cannot_be_scored_under_full(prepared):
    dataset, model_dir, _ = prepared["withheld"]
    with pytest.raises(EvaluationError, match="withheld"):
        evaluate(model_dir, dataset, protocol="full")


def test_push_refuses_a_file_naming_a_local_path(prepared, monkeypatch, tmp_path):
    _, model_dir, _ = prepared["full"]
    monkeypatch.setenv("HF_TOKEN", "hf_loopback_only_test_value")
    (model_dir / "notes.json").write_text(json.dumps({"dataset_path": str(tmp_path / "dataset")}))
    try:
        with pytest.raises(HubError, match="local path"):
            push_model(model_dir, "org/name", endpoint="http://127.0.0.1:9")
    finally:
        (model_dir / "notes.json").unlink()


def test_stratified_splits_put_the_rare_class_in_every_split():
    hosts = [f"h{i}" for i in range(200)]
    positives = [i in (3, 50, 120, 199) for i in range(200)]
    plain = assign_host_splits(hosts, seed=0)
    stratified = assign_host_splits(hosts, seed=0, positives=positives)
    holding = {stratified[h] for h, p in zip(hosts, positives, strict=True) if p}
    assert holding == {"train", "validation", "test"}
    assert sorted(set(plain.values())) == sorted(set(stratified.values()))
    assert abs(sum(v == "train" for v in stratified.values()) - 160) <= 2


def test_test_time_withholding_of_a_model_trained_on_everything(prepared, tmp_path):
    dataset, model_dir, _ = prepared["full"]
    results = evaluate(model_dir, dataset, protocol="withheld", out_dir=tmp_path, n_resamples=10, ablations=False)
    assert results["protocol"]["name"] == "withheld" and results["protocol"]["dataset_prepared_with"] == "full"
    rule = next(m for m in results["methods"] if m["name"] == "label_rule")["metrics"]
    assert rule["balanced_accuracy"] == 1.0  # pl_orbsmax, st_rad and st_teff still give the insolation


CV_RECIPE = {"preset": "astro-multimodal-tiny", "seed": 0, "num_train_epochs": 2, "per_device_train_batch_size": 16,
             "learning_rate": 0.003, "eval_strategy": "epoch", "save_strategy": "epoch", "load_best_model_at_end": True,
             "metric_for_best_model": "task_score", "greater_is_better": True, "use_cpu": True,
             "config_overrides": '{"auxiliary_losses": false}'}


def test_out_of_fold_evaluation_scores_every_planet_once_with_paired_differences(prepared, tmp_path, capsys):
    import yaml

    dataset, model_dir, _ = prepared["full"]
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(CV_RECIPE))
    out = tmp_path / "cv"
    assert cli_main(["evaluate", "--model", str(model_dir), "--dataset", str(dataset), "--folds", "3", "--recipe",
                     str(recipe), "--resamples", "20", "--output", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["split"] == "cv3" and results["cross_validation"]["folds"] == 3
    assert results["rows"]["labelled"] == sum(f["test"] for f in results["cross_validation"]["per_fold"])
    assert results["rows"]["habitable"] == sum(f["habitable"]["test"] for f in results["cross_validation"]["per_fold"])
    names = [m["name"] for m in results["methods"]]
    assert names[:5] == ["multimodal model", "majority", "label_rule", "logistic_regression",
                         "hist_gradient_boosting"]
    paired = {p["b"]: p["differences"] for p in results["paired"]}
    assert {"label_rule", "logistic_regression", "hist_gradient_boosting"} <= set(paired)
    assert paired["label_rule"]["hz_macro_f1"]["difference"] <= 0  # nothing beats the rule under `full`
    for fold in results["cross_validation"]["per_fold"]:
        assert 0 < fold["model"]["threshold_choice"]["threshold"] < 1
        assert set(fold["thresholds"]) >= {"multimodal model", "hist_gradient_boosting"}
    assert "Paired differences" in (out / "results.md").read_text()
    assert (out / "figure.png").stat().st_size > 10_000
    assert "model minus" in capsys.readouterr().out
