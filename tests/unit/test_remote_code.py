"""A checkpoint saved with `save_for_remote_code` loads with `AutoModel.from_pretrained(dir, trust_remote_code=True)`
in a process where astrobio_hf cannot be imported, and computes the same outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import torch

from astrobio_hf.models.presets import build_model
from astrobio_hf.sharing.remote_code import bundle_sources, save_for_remote_code

# Runs in a fresh interpreter: astrobio_hf is made unimportable before anything else (the editable install would
# otherwise find it), and transformers copies the bundled code into HF_MODULES_CACHE (a temporary folder).
WITHOUT_PACKAGE = """
import importlib.abc, json, sys

class NoAstrobio(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "astrobio_hf":
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, NoAstrobio())
import torch
from transformers import AutoConfig, AutoModel

folder = sys.argv[1]
config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
params = torch.linspace(-1, 1, len(config.planet_param_names)).reshape(1, -1)
with torch.no_grad():
    out = model.predict_proba(planet_params=params, planet_params_mask=torch.ones_like(params, dtype=torch.bool))
print(json.dumps({"class": type(model).__name__, "module": type(model).__module__,
                  "astrobio_hf_loaded": any(m.split(".")[0] == "astrobio_hf" for m in sys.modules),
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
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["HF_MODULES_CACHE"] = str(tmp_path / "modules")
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(WITHOUT_PACKAGE), str(tmp_path / "ckpt")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
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
