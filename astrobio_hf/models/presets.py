"""Named model sizes, from `tiny` (tests, CPU seconds) to the seed sizes, with parameter counts on the meta device.

A preset is a model type plus config kwargs. `build_config(name)` makes the config; `count_parameters(name)`
instantiates the model on the meta device (no memory is allocated, so the 13B preset is counted exactly without
being materialised).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import PreTrainedConfig, PreTrainedModel


@dataclass(frozen=True)
class ModelPreset:
    """One named size of one model."""

    name: str
    model_type: str
    description: str
    config_kwargs: dict[str, Any] = field(default_factory=dict)


_LLM_SIZES: dict[str, tuple[str, dict[str, Any]]] = {
    "tiny": ("parity and unit tests", dict(
        vocab_size=512, hidden_size=64, intermediate_size=176, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)),
    "small": ("CPU demo and benchmarks", dict(
        vocab_size=8000, hidden_size=256, intermediate_size=704, num_hidden_layers=4,
        num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=1024)),
    "1b": ("one workstation GPU (TinyLlama shape)", dict(
        vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
        num_attention_heads=32, num_key_value_heads=4, max_position_embeddings=2048)),
    "7b": ("Llama-2-7B shape", dict(
        vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096)),
    "13b": ("the seed size: 2 x 24 GB GPUs with FSDP CPU offload", dict(
        vocab_size=32000, hidden_size=4352, intermediate_size=14336, num_hidden_layers=56,
        num_attention_heads=64, num_key_value_heads=8, max_position_embeddings=4096,
        tie_word_embeddings=False)),
}


def _all_presets() -> dict[str, ModelPreset]:
    from .datacube.configuration_datacube import DATACUBE_PRESETS
    from .graph_vae.configuration_graph_vae import GRAPH_VAE_PRESETS
    from .multimodal.configuration_multimodal import MULTIMODAL_PRESETS

    presets: dict[str, ModelPreset] = {}
    for size, (description, kwargs) in _LLM_SIZES.items():
        presets[f"astro-llm-{size}"] = ModelPreset(f"astro-llm-{size}", "astro_llm", description, kwargs)
    for prefix, model_type, table in (
        ("astro-graph-vae", "astro_graph_vae", GRAPH_VAE_PRESETS),
        ("astro-datacube", "astro_datacube", DATACUBE_PRESETS),
        ("astro-multimodal", "astro_multimodal", MULTIMODAL_PRESETS),
    ):
        for size, kwargs in table.items():
            description = {"tiny": "unit tests", "small": "CPU demo", "seed": "the seed size"}.get(size, size)
            presets[f"{prefix}-{size}"] = ModelPreset(f"{prefix}-{size}", model_type, description, dict(kwargs))
    return presets


def list_presets() -> list[ModelPreset]:
    """Every preset, LLM sizes first."""
    return list(_all_presets().values())


def get_preset(name: str) -> ModelPreset:
    presets = _all_presets()
    if name not in presets:
        raise KeyError(f"unknown preset {name!r}; known presets: {', '.join(presets)}")
    return presets[name]


def _classes(model_type: str) -> tuple[type[PreTrainedConfig], type[PreTrainedModel]]:
    from . import (
        AstroDatacubeConfig,
        AstroDatacubeModel,
        AstroGraphVAE,
        AstroGraphVAEConfig,
        AstroLLMConfig,
        AstroLLMForCausalLM,
        AstroMultimodalConfig,
        AstroMultimodalModel,
    )

    return {
        "astro_llm": (AstroLLMConfig, AstroLLMForCausalLM),
        "astro_graph_vae": (AstroGraphVAEConfig, AstroGraphVAE),
        "astro_datacube": (AstroDatacubeConfig, AstroDatacubeModel),
        "astro_multimodal": (AstroMultimodalConfig, AstroMultimodalModel),
    }[model_type]


def build_config(name: str, **overrides: Any) -> PreTrainedConfig:
    """The config of a preset, with optional field overrides."""
    preset = get_preset(name)
    config_cls, _ = _classes(preset.model_type)
    return config_cls(**{**preset.config_kwargs, **overrides})


def build_model(name: str, **overrides: Any) -> PreTrainedModel:
    """A freshly initialised model of a preset (materialised: use only for sizes that fit in memory)."""
    config = build_config(name, **overrides)
    return _classes(config.model_type)[1](config)


def count_parameters(name: str) -> int:
    """Parameter count of a preset, from a model built on the meta device (allocates nothing)."""
    config = build_config(name)
    _, model_cls = _classes(config.model_type)
    with torch.device("meta"):
        model = model_cls(config)
    return sum(p.numel() for p in model.parameters())


__all__ = ["ModelPreset", "list_presets", "get_preset", "build_config", "build_model", "count_parameters"]
