"""Prediction for named planets and prepared records, from a checkpoint written by train.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

from astrobio_hf.cli import main as cli
from astrobio_hf.inference.predict import predict
from astrobio_hf.models.multimodal import MODALITIES
from tests.helpers.multimodal_rows import row, tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    return tiny_checkpoint(root)


def test_predict_a_named_planet(checkpoint):
    result = predict(checkpoint, planet="planet 2 B")  # names match after normalisation
    expected = row(2)
    assert result.planet_name == "Planet 2 b"
    assert 0.0 <= result.habitability_probability <= 1.0
    assert sum(result.hz_class_probabilities.values()) == pytest.approx(1.0)
    present = [m for m in MODALITIES if m == "planet_params" or expected.get(f"{m}_mask")]
    assert result.modalities_present == present
    assert result.true_habitability == 1 and result.true_hz_class == "temperate"
    assert (checkpoint / "README.md").is_file()


def test_planet_lookup_lists_missing_inputs(checkpoint):
    expected = row(3)
    result = predict(checkpoint, planet="Planet 3 b")
    absent = [m for m in MODALITIES if m != "planet_params" and not expected.get(f"{m}_mask")]
    assert result.missing_inputs == absent and absent
    names = json.loads((checkpoint / "processor_config.json").read_text())["spec"]["planet_param_names"]
    observed = list(expected["planet_params_mask"])
    assert result.missing_catalog_values == [n for n, seen in zip(names, observed, strict=True) if not seen]


def test_predict_a_record_from_json(checkpoint, tmp_path):
    record = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in row(7).items()}
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    assert cli(["predict", "--model", str(checkpoint), "--input", str(path), "--json"]) == 0


def test_cli_prints_predictions_and_clear_errors(checkpoint, capsys):
    assert cli(["predict", "--model", str(checkpoint), "--planet", "Planet 1 b", "--planet", "Planet 101 b"]) == 0
    out = capsys.readouterr().out
    assert "Planet 1 b: " in out and "threshold" in out and "Planet 101 b" in out
    assert cli(["predict", "--model", str(checkpoint), "--planet", "Kepler-442 b"]) == 1
    assert "'Kepler-442 b' is not in the prepared dataset" in capsys.readouterr().err


def test_the_threshold_chosen_on_validation_is_saved_and_decides(checkpoint, tmp_path):
    import shutil

    from astrobio_hf.models import AstroMultimodalModel

    config = json.loads((checkpoint / "config.json").read_text())
    run_info = json.loads((checkpoint / "run_info.json").read_text())
    assert config["habitability_threshold"] == pytest.approx(run_info["threshold"]["threshold"])
    assert run_info["threshold"]["rows"] == 4  # the eval split of the fixture
    probability = predict(checkpoint, planet="Planet 2 b").habitability_probability
    for threshold, decision in ((probability * 0.9, True), (min(probability * 1.1, 0.999), False)):
        copy = tmp_path / f"model-{decision}"
        shutil.copytree(checkpoint, copy)
        model = AstroMultimodalModel.from_pretrained(copy)
        model.config.habitability_threshold = threshold
        model.save_pretrained(copy)
        result = predict(copy, planet="Planet 2 b", dataset=checkpoint.parent / "data")
        assert result.threshold == pytest.approx(threshold) and result.habitable is decision
