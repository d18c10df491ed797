"""A model written by train.py carries its code and `auto_map` (model, config, processor, pipeline) from the moment it
is saved: in a fresh virtual environment where astrobio_hf cannot be imported, `AutoConfig`, `AutoModel`,
`AutoProcessor` and `pipeline("habitability-classification")` load it with `trust_remote_code=True` and give the
outputs of the installed package. And where astrobio-hf is installed, the same folder still loads without
trust_remote_code."""

from __future__ import annotations

import json

import pytest

from tests.helpers.fresh_venv import make_fresh_venv, run_in
from tests.helpers.multimodal_rows import tiny_checkpoint

VALUES = {"pl_name": "Kepler-186 f", "pl_orbper": 129.9444, "pl_rade": 1.17, "pl_insol": 0.29, "st_teff": 3755.0,
          "st_rad": 0.52, "st_mass": 0.54}

REMOTE = """
import json, sys
try:
    import astrobio_hf
    importable = True
except ImportError:
    importable = False
import torch
from transformers import AutoConfig, AutoModel, AutoProcessor, pipeline

folder, values = sys.argv[1], json.loads(sys.argv[2])
config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
processor = AutoProcessor.from_pretrained(folder, trust_remote_code=True)
with torch.no_grad():
    out = model.predict_proba(**processor(processor.planet_inputs(values)))
classify = pipeline("habitability-classification", model=folder, trust_remote_code=True)
answer = classify(values)
print(json.dumps({"astrobio_hf_importable": importable,
                  "loaded": sorted({m.split(".")[0] for m in sys.modules if m.startswith("astrobio_hf")}),
                  "classes": [type(x).__module__.split(".")[0] for x in (config, model, processor, classify)],
                  "habitability": float(out["habitability"][0]), "hz_class": out["hz_class"][0].tolist(),
                  "pipeline": answer}))
"""


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("remote")
    return tiny_checkpoint(root)


def test_saved_folder_carries_code_and_auto_map(saved):
    config = json.loads((saved / "config.json").read_text())
    assert config["auto_map"] == {"AutoConfig": "configuration_multimodal.AstroMultimodalConfig",
                                  "AutoModel": "modeling_multimodal.AstroMultimodalModel"}
    assert config["custom_pipelines"]["habitability-classification"]["impl"] == "pipeline.HabitabilityPipeline"
    processor = json.loads((saved / "processor_config.json").read_text())
    assert processor["auto_map"] == {"AutoProcessor": "processing.AstroMultimodalProcessor"}
    assert {"modeling_multimodal.py", "processing.py", "pipeline.py", "collator.py"} <= {p.name for p in
                                                                                         saved.glob("*.py")}


def test_fresh_venv_without_astrobio_hf_gives_the_package_outputs(saved, tmp_path):
    from astrobio_hf.inference.predict import predict

    python = make_fresh_venv(tmp_path / "venv")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    result = run_in(python, REMOTE, str(saved), json.dumps(VALUES), cwd=outside, modules_cache=tmp_path / "modules")
    assert result["astrobio_hf_importable"] is False and result["loaded"] == []
    assert result["classes"] == ["transformers_modules"] * 4
    expected = predict(saved, VALUES)
    assert result["habitability"] == pytest.approx(expected.habitability_probability, abs=1e-6)
    assert result["hz_class"] == pytest.approx(list(expected.hz_class_probabilities.values()), abs=1e-6)
    assert result["pipeline"]["habitability_probability"] == pytest.approx(expected.habitability_probability,
                                                                           abs=1e-6)
    assert result["pipeline"]["label"] == expected.hz_class


def test_installed_package_still_loads_without_trust_remote_code(saved):
    from transformers import AutoProcessor, pipeline

    import astrobio_hf  # noqa: F401
    from astrobio_hf.inference.pipeline import HabitabilityPipeline
    from astrobio_hf.inference.processing import AstroMultimodalProcessor

    assert isinstance(AutoProcessor.from_pretrained(str(saved)), AstroMultimodalProcessor)
    classify = pipeline("habitability-classification", model=str(saved))
    assert isinstance(classify, HabitabilityPipeline)
    assert 0.0 <= classify(VALUES)["habitability_probability"] <= 1.0
