"""Auto-class registration on `import astrobio_hf`, the preset table, and the `astrobio-hf models` command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

import astrobio_hf
from astrobio_hf.cli import main
from astrobio_hf.models.presets import build_config, build_model, count_parameters, get_preset, list_presets

AUTO_CASES = [
    ("astro-llm-tiny", AutoModelForCausalLM, astrobio_hf.AstroLLMForCausalLM),
    ("astro-graph-vae-tiny", AutoModel, astrobio_hf.AstroGraphVAE),
    ("astro-datacube-tiny", AutoModel, astrobio_hf.AstroDatacubeModel),
    ("astro-multimodal-tiny", AutoModel, astrobio_hf.AstroMultimodalModel),
]


@pytest.mark.parametrize("preset, auto_cls, expected", AUTO_CASES, ids=[c[0] for c in AUTO_CASES])
def test_auto_classes_load_saved_models(tmp_path, preset, auto_cls, expected):
    torch.manual_seed(0)
    model = build_model(preset)
    model.save_pretrained(tmp_path)
    assert isinstance(AutoConfig.from_pretrained(tmp_path), type(model.config))
    loaded = auto_cls.from_pretrained(tmp_path)
    assert type(loaded) is expected
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name


def test_automodel_gives_the_llm_base_model(tmp_path):
    build_model("astro-llm-tiny").save_pretrained(tmp_path)
    assert type(AutoModel.from_pretrained(tmp_path)) is astrobio_hf.AstroLLMModel


def test_every_model_declares_no_split_modules_that_exist():
    for preset in ("astro-llm-tiny", "astro-graph-vae-tiny", "astro-datacube-tiny", "astro-multimodal-tiny"):
        model = build_model(preset)
        classes = {type(m).__name__ for m in model.modules()}
        assert model._no_split_modules, preset
        assert set(model._no_split_modules) & classes, preset
        assert model.supports_gradient_checkpointing, preset


def test_13b_preset_counts_between_13_0_and_13_3_billion():
    config = build_config("astro-llm-13b")
    assert (config.hidden_size, config.intermediate_size, config.num_hidden_layers) == (4352, 14336, 56)
    assert (config.num_attention_heads, config.num_key_value_heads, config.vocab_size) == (64, 8, 32000)
    assert config.tie_word_embeddings is False
    n = count_parameters("astro-llm-13b")
    # closed form: untied embeddings + per layer (q, k, v, o, SwiGLU, two norms) + final norm
    h, i, layers, kv = 4352, 14336, 56, 8 * (4352 // 64)
    per_layer = h * h * 2 + 2 * h * kv + 3 * h * i + 2 * h
    assert n == 2 * 32000 * h + layers * per_layer + h
    assert 13.0e9 <= n <= 13.3e9


def test_7b_preset_matches_llama_2_7b_parameter_count():
    assert count_parameters("astro-llm-7b") == 6_738_415_616


def test_every_preset_builds_a_valid_config():
    names = [p.name for p in list_presets()]
    for model in ("astro-llm", "astro-graph-vae", "astro-datacube", "astro-multimodal"):
        assert f"{model}-tiny" in names and f"{model}-small" in names
    for name in names:
        assert build_config(name).model_type == get_preset(name).model_type
    with pytest.raises(KeyError, match="unknown preset 'astro-llm-70b'"):
        get_preset("astro-llm-70b")


def test_models_command_prints_the_table(capsys):
    assert main(["models", "--presets", "--json"]) == 0
    rows = {row["preset"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["astro-llm-13b"]["parameters"] == count_parameters("astro-llm-13b")
    assert main(["models", "--presets"]) == 0
    assert "| astro-llm-13b | astro_llm | 13.15B |" in capsys.readouterr().out


def test_console_script_is_installed():
    result = subprocess.run([sys.executable, "-m", "astrobio_hf.cli", "models", "--json"],
                            capture_output=True, text=True, check=True)
    assert json.loads(result.stdout)[0]["preset"] == "astro-llm-tiny"
