"""A checkpoint saved with `save_for_remote_code` loads with `AutoModel.from_pretrained(dir, trust_remote_code=True)`
in a process where astrobio_hf cannot be imported, and computes the same outputs."""

from __future__ import annotations

import json

import torch

from astrobio_hf.models.presets import build_model
from astrobio_hf.sharing.remote_code import bundle_sources, save_for_remote_code
from tests.helpers.without_package import run_without_package

# run by run_without_package (tests/helpers/without_package.py), after the finder that refuses astrobio_hf
MODEL_SCRIPT = """
import torch
from transformers import AutoConfig, AutoModel

folder = sys.argv[1]
config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
params = torch.linspace(-1, 1, len(config.planet_param_names)).reshape(1, -1)
with torch.no_grad():
    out = model.predict_proba(planet_params=params, planet_params_mask=torch.ones_like(params, dtype=torch.bool))
print(json.dumps({"class": type(model).__name__, "module": type(model).__module__,
                  "astrobio_hf_loaded": astrobio_hf_loaded(),
                  "hz_class": out["hz_class"][0].tolist(), "id2label": {str(k): v for k, v in config.id2label.items()}}))
"""


def test_bundle_rewrites_package_imports_to_flat_files():
    sources = bundle_sources(["astrobio_hf.models.multimodal.modeling_multimodal"])
    assert {"modeling_multimodal.py", "configuration_multimodal.py", "modeling_graph_vae.py",
            "configuration_graph_vae.py", "graph_schema.py", "modeling_datacube.py", "physics_datacube.py"} <= set(sources)
    for name, text in sources.items():
        imports = [line.strip() for line in text.splitlines() if line.lstrip().startswith(("from ", "import "))]
        assert not [line for line in imports if "astrobio_hf" in line or line.startswith("from ..")], name
    assert "from .modeling_datacube import (AstroDatacubeModel)" in sources["modeling_multimodal.py"]


def test_trust_remote_code_loads_without_the_package(tmp_path):
    torch.manual_seed(0)
    model = build_model("astro-multimodal-tiny").eval()
    auto_map = save_for_remote_code(model, tmp_path / "ckpt")
    assert auto_map == {"AutoConfig": "configuration_multimodal.AstroMultimodalConfig",
                        "AutoModel": "modeling_multimodal.AstroMultimodalModel"}
    result = run_without_package(MODEL_SCRIPT, tmp_path / "ckpt", tmp_path=tmp_path)
    assert result["class"] == "AstroMultimodalModel" and result["module"].startswith("transformers_modules.")
    assert result["astrobio_hf_loaded"] is False
    assert result["id2label"] == {"0": "too_hot", "1": "temperate", "2": "too_cold"}
    params = torch.linspace(-1, 1, len(model.config.planet_param_names)).reshape(1, -1)
    with torch.no_grad():
        expected = model.predict_proba(planet_params=params, planet_params_mask=torch.ones_like(params, dtype=torch.bool))
    torch.testing.assert_close(torch.tensor(result["hz_class"]), expected["hz_class"][0], rtol=1e-5, atol=1e-6)


def test_add_remote_code_to_a_saved_llm_folder(tmp_path):
    from astrobio_hf.sharing.remote_code import add_remote_code

    build_model("astro-llm-tiny").save_pretrained(tmp_path / "llm")
    auto_map = add_remote_code(tmp_path / "llm")
    assert auto_map["AutoModelForCausalLM"] == "modeling_astro_llm.AstroLLMForCausalLM"
    assert json.loads((tmp_path / "llm" / "config.json").read_text())["auto_map"] == auto_map
    assert (tmp_path / "llm" / "configuration_astro_llm.py").is_file()
