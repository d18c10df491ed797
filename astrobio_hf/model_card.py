"""Model cards: the README.md (YAML metadata + text) that goes next to a saved checkpoint and up to the hub.

The card states what a reader needs to trust a checkpoint: the architecture, the preset, the exact parameter count,
the training recipe, the data sources with their provenance and which parts were generated rather than real, and
the evaluation metrics. Secrets never reach it: recipe keys that hold tokens are dropped, and a card whose text
contains the value of a secret-looking environment variable (HF_TOKEN, *_API_KEY, ...) is refused.

`write_model_card(dir, model, ...)` writes the card; `save_with_card(model, dir, ...)` is the one call a trainer or
the demo makes after training (save_pretrained + tokenizer + card).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import ModelCard, ModelCardData

CARD_FILENAME = "README.md"
DEFAULT_LICENSE = "apache-2.0"
BASE_TAGS = ("astrobiology", "exoplanets", "astrobio-hf")

ARCHITECTURES: dict[str, str] = {
    "astro_llm": "Llama-style decoder (RoPE, grouped-query attention, RMSNorm, SwiGLU) whose parameter names match "
                 "`LlamaForCausalLM`, with an evidence projector that turns a fused multimodal embedding into prefix "
                 "tokens.",
    "astro_graph_vae": "Variational graph autoencoder over metabolic networks: a torch_geometric GATv2 encoder, "
                       "per-node Gaussian latents, edge and node-feature decoders, and an elemental-balance "
                       "constraint.",
    "astro_datacube": "ViT over 4-D tubelets (time x lev x lat x lon, all variables) of `[vars, time, lev, lat, lon]` "
                      "climate cubes, trained with masked reconstruction and a lapse-rate physics term.",
    "astro_multimodal": "Per-modality encoders (planet parameters, spectrum, light curve, climate cube, metabolic "
                        "graph), cross-modal fusion that accepts any subset of modalities (masks), a habitability "
                        "head, and an optional LLM head.",
}

# Environment variables whose values are secrets: HF_TOKEN, WANDB_API_KEY, NCBI_API_KEY, AWS_SECRET_ACCESS_KEY, ...
_SECRET_ENV_NAME = re.compile(r"(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|APIKEY|ACCESS_KEY|SECRET_KEY)(_|$)", re.I)
# Recipe keys that hold secrets (hub_token, api_key, ...); vocabulary entries such as pad_token are not secrets.
_SECRET_KEY = re.compile(r"(token|secret|password|passwd|api_key|apikey|access_key|credentials?)$", re.I)
_VOCAB_TOKEN_KEYS = {"pad_token", "bos_token", "eos_token", "unk_token", "sep_token", "cls_token", "mask_token"}
_MIN_SECRET_LENGTH = 8  # shorter values ("0", "true") are switches, not secrets
_VOLATILE_CONFIG_KEYS = {"transformers_version", "architectures", "_name_or_path", "dtype", "torch_dtype"}


def secret_env_values(extra: Iterable[str | None] = ()) -> dict[str, str]:
    """Secret values to keep out of cards, configs and logs: {label: value} for secret-looking env variables and
    any `extra` values (e.g. a token passed as an argument)."""
    found = {name: value for name, value in os.environ.items()
             if _SECRET_ENV_NAME.search(name) and len(value) >= _MIN_SECRET_LENGTH}
    for i, value in enumerate(extra):
        if value and len(value) >= _MIN_SECRET_LENGTH:
            found[f"the token passed in (#{i + 1})"] = value
    return found


def scrub_secrets(value: Any) -> Any:
    """A copy of a recipe (nested dicts/lists) without secret-holding keys and with secret values redacted."""
    secrets = set(secret_env_values().values())
    if isinstance(value, Mapping):
        return {k: scrub_secrets(v) for k, v in value.items()
                if not (_SECRET_KEY.search(str(k)) and str(k) not in _VOCAB_TOKEN_KEYS)}
    if isinstance(value, (list, tuple)):
        return [scrub_secrets(v) for v in value]
    if isinstance(value, str) and any(s in value for s in secrets):
        return "<redacted>"
    return value


def load_recipe(recipe: Mapping[str, Any] | str | Path | None) -> dict[str, Any] | None:
    """A training recipe as a dict: given as a dict, or as the path of the YAML/JSON file it was launched with."""
    if recipe is None:
        return None
    if isinstance(recipe, Mapping):
        return dict(recipe)
    path = Path(recipe)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))  # YAML is a superset of JSON
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read the training recipe {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"training recipe {path} is not a mapping of arguments")
    return {"recipe_file": str(path), **data}


def count_parameters_in_dir(model_dir: str | Path) -> int:
    """Parameters stored in a checkpoint folder, read from the safetensors headers (nothing is loaded)."""
    from safetensors import safe_open

    files = sorted(Path(model_dir).glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"no *.safetensors file in {model_dir} to count parameters from")
    total = 0
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            for name in handle.keys():
                n = 1
                for dim in handle.get_slice(name).get_shape():
                    n *= dim
                total += n
    return total


def infer_preset(config: Any) -> str | None:
    """The named preset whose config equals `config` (ignoring bookkeeping keys), or None for a custom size."""
    from .models.presets import build_config, list_presets

    target = _comparable(config.to_dict())
    for preset in list_presets():
        if preset.model_type == config.model_type and _comparable(build_config(preset.name).to_dict()) == target:
            return preset.name
    return None


def _comparable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if k not in _VOLATILE_CONFIG_KEYS}
    if isinstance(value, (list, tuple)):
        return [_comparable(v) for v in value]
    return value


def build_model_card(model: Any = None, *, config: Any = None, parameters: int | None = None,
                     recipe: Mapping[str, Any] | str | Path | None = None,
                     metrics: Mapping[str, Any] | None = None,
                     data_sources: Iterable[Mapping[str, Any] | str] | None = None,
                     generated_parts: Iterable[str] | None = None, preset: str | None = None,
                     license: str = DEFAULT_LICENSE) -> ModelCard:
    """The card of a model (or of a `config` plus a `parameters` count, for a checkpoint that is not loaded)."""
    if model is not None:
        config = model.config
        parameters = sum(p.numel() for p in model.parameters())
    if config is None or parameters is None:
        raise ValueError("build_model_card needs a model, or a config and a parameter count")
    model_type = config.model_type
    preset = preset or infer_preset(config)
    recipe_dict = scrub_secrets(load_recipe(recipe)) if recipe is not None else None
    sources = [_source_row(s) for s in (data_sources or [])]
    generated = list(generated_parts or []) + [
        f"{s['source']}: {s.get('note') or 'generated'}" for s in sources if s.get("generated")]
    metrics = dict(metrics or {})

    card_data = ModelCardData(
        library_name="transformers",
        license=license,
        tags=[*BASE_TAGS, "multimodal" if model_type == "astro_multimodal" else model_type.replace("_", "-")],
        astrobio_hf={
            "model_type": model_type,
            "architecture": (config.architectures or [type(model).__name__ if model is not None else None])[0],
            "preset": preset or "custom",
            "parameters": int(parameters),
            "generated_parts": generated,
            "metrics": metrics,
        },
    )
    body = "\n".join([
        f"# {preset or model_type} ({_architecture_name(model, config)})",
        "",
        "A checkpoint of astrobio-hf (multimodal astrobiology models on the Hugging Face stack). Load it with:",
        "",
        "```python",
        "import astrobio_hf  # registers the astrobio-hf model classes with transformers' Auto classes",
        "from transformers import AutoModel",
        "",
        'model = AutoModel.from_pretrained("ORG/NAME")  # this repository id, or the local folder',
        "```",
        "",
        "## Architecture",
        "",
        ARCHITECTURES.get(model_type, f"Model type `{model_type}`."),
        "",
        f"- model type: `{model_type}`; class: `{_architecture_name(model, config)}`",
        f"- preset: `{preset}`" if preset else "- preset: none (a custom size; see config.json)",
        f"- parameters: {int(parameters):,}",
        *_config_lines(config),
        "",
        "## Training recipe",
        "",
        *(["```yaml", yaml.safe_dump(recipe_dict, sort_keys=False).rstrip(), "```"] if recipe_dict
          else ["No training recipe was recorded for this checkpoint (for example, freshly initialised weights)."]),
        "",
        "## Data sources",
        "",
        *(_sources_table(sources) if sources else ["No data sources were recorded for this checkpoint."]),
        "",
        "### Generated (not real) parts",
        "",
        *([f"- {part}" for part in generated] if generated else
          ["None: every recorded source above is real archive data." if sources else "Not recorded."]),
        "",
        "## Evaluation",
        "",
        *(_metrics_table(metrics) if metrics else ["No evaluation was recorded for this checkpoint."]),
        "",
    ])
    card = ModelCard(f"---\n{card_data.to_yaml()}\n---\n\n{body}")
    _refuse_secrets(str(card), "the model card")
    return card


def write_model_card(model_dir: str | Path, model: Any = None, *,
                     recipe: Mapping[str, Any] | str | Path | None = None,
                     metrics: Mapping[str, Any] | None = None,
                     data_sources: Iterable[Mapping[str, Any] | str] | None = None,
                     generated_parts: Iterable[str] | None = None, preset: str | None = None,
                     license: str = DEFAULT_LICENSE) -> Path:
    """Write `model_dir/README.md` for `model` (or, with model=None, for the checkpoint saved in `model_dir`:
    config.json is read and parameters are counted from the safetensors headers). Returns the card's path."""
    model_dir = Path(model_dir)
    config, parameters = None, None
    if model is None:
        from transformers import AutoConfig

        from . import models  # noqa: F401  (registers our model types with AutoConfig)

        if not (model_dir / "config.json").is_file():
            raise FileNotFoundError(f"{model_dir} has no config.json: save the model there first")
        config = AutoConfig.from_pretrained(str(model_dir))
        parameters = count_parameters_in_dir(model_dir)
    card = build_model_card(model, config=config, parameters=parameters, recipe=recipe, metrics=metrics,
                            data_sources=data_sources, generated_parts=generated_parts, preset=preset,
                            license=license)
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / CARD_FILENAME
    card.save(str(path))
    return path


def save_with_card(model: Any, output_dir: str | Path, *, tokenizer: Any = None, **card_kwargs: Any) -> Path:
    """What a trainer or the demo calls after training: `save_pretrained` (safetensors), the tokenizer if any, and
    the model card (keyword arguments as for `write_model_card`). Returns the card's path."""
    output_dir = Path(output_dir)
    model.save_pretrained(str(output_dir))
    if tokenizer is not None:
        tokenizer.save_pretrained(str(output_dir))
    return write_model_card(output_dir, model, **card_kwargs)


def _architecture_name(model: Any, config: Any) -> str:
    if model is not None:
        return type(model).__name__
    return (config.architectures or [config.model_type])[0]


def _config_lines(config: Any) -> list[str]:
    """Sub-models of a composite config and the main sizes, one bullet each."""
    lines = []
    as_dict = config.to_dict()
    for key, value in as_dict.items():
        if isinstance(value, dict) and "model_type" in value:
            sizes = ", ".join(f"{k}={value[k]}" for k in ("hidden_size", "num_hidden_layers", "num_attention_heads",
                                                          "vocab_size", "latent_dim") if k in value)
            lines.append(f"- `{key}`: `{value['model_type']}`" + (f" ({sizes})" if sizes else ""))
    sizes = [f"{k}={as_dict[k]}" for k in ("hidden_size", "num_hidden_layers", "num_fusion_layers",
                                           "num_attention_heads", "intermediate_size", "vocab_size",
                                           "max_position_embeddings") if k in as_dict]
    if sizes:
        lines.append(f"- sizes: {', '.join(sizes)}")
    return lines


def _source_row(source: Mapping[str, Any] | str) -> dict[str, Any]:
    if isinstance(source, str):
        return {"source": source}
    if "source" not in source:
        raise ValueError(f"data source entry {dict(source)!r} has no 'source' field")
    return dict(source)


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ") if value not in (None, "") else "-"


def _sources_table(sources: list[dict[str, Any]]) -> list[str]:
    rows = ["| source | release | file or URL | kind | note |", "|---|---|---|---|---|"]
    for s in sources:
        location = s.get("file") or s.get("url")
        kind = "generated" if s.get("generated") else "real"
        rows.append(f"| {_cell(s['source'])} | {_cell(s.get('release'))} | {_cell(location)} | {kind} | "
                    f"{_cell(s.get('note'))} |")
    return rows


def _metrics_table(metrics: dict[str, Any]) -> list[str]:
    rows = ["| metric | value |", "|---|---:|"]
    for name, value in metrics.items():
        shown = f"{value:.4g}" if isinstance(value, float) else json.dumps(value) if isinstance(value, dict) else value
        rows.append(f"| {_cell(name)} | {_cell(shown)} |")
    return rows


def _refuse_secrets(text: str, what: str) -> None:
    for label, value in secret_env_values().items():
        if value in text:
            raise ValueError(f"{what} would contain the value of {label}; refusing to write it")


__all__ = ["write_model_card", "build_model_card", "save_with_card", "count_parameters_in_dir", "infer_preset",
           "secret_env_values", "scrub_secrets", "load_recipe", "CARD_FILENAME"]
