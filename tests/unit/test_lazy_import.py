"""`import astrobio_hf` is light (no torch), and transformers' Auto classes still find the models in a fresh process,
whichever is imported first (registration is deferred to the first import of transformers' auto modules)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from astrobio_hf.models.presets import build_model
from tests.conftest import REPO_ROOT


def run_python(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line last."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          cwd=REPO_ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lazy") / "multimodal"
    build_model("astro-multimodal-tiny").save_pretrained(folder)
    return folder


def test_import_is_light_and_auto_model_works_after_it(saved):
    result = run_python(f"""
        import json, sys
        import astrobio_hf
        light = {{m: m in sys.modules for m in ("torch", "torch_geometric", "datasets", "transformers.modeling_utils")}}
        assert astrobio_hf.__version__
        from transformers import AutoModel
        model = AutoModel.from_pretrained({str(saved)!r})
        print(json.dumps({{"light": light, "model": type(model).__name__}}))
    """)
    assert result["light"] == {"torch": False, "torch_geometric": False, "datasets": False,
                               "transformers.modeling_utils": False}
    assert result["model"] == "AstroMultimodalModel"


def test_auto_classes_imported_before_the_package(saved):
    result = run_python(f"""
        import json
        from transformers import AutoConfig, AutoModel
        import astrobio_hf
        config = AutoConfig.from_pretrained({str(saved)!r})
        model = AutoModel.from_pretrained({str(saved)!r})
        print(json.dumps({{"config": type(config).__name__, "model": type(model).__name__}}))
    """)
    assert result == {"config": "AstroMultimodalConfig", "model": "AstroMultimodalModel"}


def test_registration_waits_for_transformers_modules_still_loading(saved):
    # Trainer pulls in modeling_utils, whose own imports load the auto modules half-way: registering then would
    # import our models against a partial transformers; the hook must wait and still register.
    result = run_python(f"""
        import json
        import astrobio_hf
        from transformers import Trainer, pipeline
        from transformers import AutoModel, AutoProcessor
        from transformers.pipelines import PIPELINE_REGISTRY
        model = AutoModel.from_pretrained({str(saved)!r})
        print(json.dumps({{"model": type(model).__name__,
                           "task": "habitability-classification" in PIPELINE_REGISTRY.get_supported_tasks()}}))
    """)
    assert result == {"model": "AstroMultimodalModel", "task": True}
