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
    return {"recipe_file": path.name, **data}  # the file's name only: local paths never go into a card


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
    from ..models.presets import build_config, list_presets

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
                     license: str = DEFAULT_LICENSE,
                     evaluations: Iterable[Mapping[str, Any]] | None = None) -> ModelCard:
    """The card of a model (or of a `config` plus a `parameters` count, for a checkpoint that is not loaded).

    ``metrics``: the trainer's own evaluation (the validation split, which also selected the checkpoint);
    ``evaluations``: results of :func:`astrobio_hf.evaluation.evaluate` (named split and protocol, with baselines),
    which go into ``model-index`` and the Evaluation section."""
    if model is not None:
        config = model.config
        parameters = sum(p.numel() for p in model.parameters())
    if config is None or parameters is None:
        raise ValueError("build_model_card needs a model, or a config and a parameter count")
    model_type = config.model_type
    preset = preset or infer_preset(config)
    recipe_dict = scrub_local_paths(scrub_secrets(load_recipe(recipe))) if recipe is not None else None
    sources = summarize_sources([_source_row(s) for s in (data_sources or [])])
    generated = list(generated_parts or []) + [
        f"{s['source']}: {s['rows']} rows" if s["rows"] else f"{s['source']}: {s.get('note') or 'generated'}"
        for s in sources if s.get("generated")]
    metrics = dict(metrics or {})
    evaluations = [dict(e) for e in (evaluations or [])]

    card_data = ModelCardData(
        library_name="transformers",
        license=license,
        pipeline_tag=PIPELINE_TAGS.get(model_type, "feature-extraction"),
        datasets=sorted({_dataset_id(e) for e in evaluations}) or None,
        model_name=preset or model_type,
        eval_results=model_index(evaluations) or None,
        tags=[*BASE_TAGS, "multimodal" if model_type == "astro_multimodal" else model_type.replace("_", "-")],
        astrobio_hf={
            "model_type": model_type,
            "architecture": (config.architectures or [type(model).__name__ if model is not None else None])[0],
            "preset": preset or "custom",
            "parameters": int(parameters),
            "generated_parts": generated,
            "validation_metrics": metrics,
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
        *(["",
           "Without astrobio-hf, the code saved beside the weights serves `AutoModel`, `AutoConfig`, `AutoProcessor` "
           'and `pipeline("habitability-classification", model=...)` with `trust_remote_code=True`.']
          if model_type == "astro_multimodal" else []),
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
        "## Intended use and limitations",
        "",
        *_limitations(model_type, evaluations, sources),
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
        *(_evaluation_sections(evaluations) if evaluations else
          ["No held-out evaluation was recorded for this checkpoint (run `astrobio-hf evaluate`)."]),
        "",
        "### Validation split (used to select the checkpoint; not a held-out figure)",
        "",
        *(_metrics_table(metrics) if metrics else ["Not recorded."]),
        "",
    ])
    card = ModelCard(f"---\n{card_data.to_yaml()}\n---\n\n{body}")
    _refuse_secrets(str(card), "the model card")
    refuse_local_paths(str(card), "the model card")
    return card


def write_model_card(model_dir: str | Path, model: Any = None, *,
                     recipe: Mapping[str, Any] | str | Path | None = None,
                     metrics: Mapping[str, Any] | None = None,
                     data_sources: Iterable[Mapping[str, Any] | str] | None = None,
                     generated_parts: Iterable[str] | None = None, preset: str | None = None,
                     license: str = DEFAULT_LICENSE) -> Path:
    """Write `model_dir/README.md` for `model` (or, with model=None, for the checkpoint saved in `model_dir`:
    config.json is read and parameters are counted from the safetensors headers). Returns the card's path.

    What is not passed is read from the folder: recipe, data sources, preset and validation metrics from the
    ``card`` entry of ``run_info.json`` (train.py records them), evaluations from ``evaluation/*/results.json``."""
    model_dir = Path(model_dir)
    recorded = _recorded_card_inputs(model_dir)
    if recipe is None and recorded.get("recipe") is not None:  # train.py records the arguments and their origin apart
        recipe = {**recorded["recipe"], **(recorded.get("recipe_notes") or {})}
    metrics = metrics if metrics is not None else recorded.get("validation_metrics")
    data_sources = data_sources if data_sources is not None else recorded.get("data_sources")
    preset = preset or recorded.get("preset")
    evaluations = evaluations_of_these_weights(model_dir)
    config, parameters = None, None
    if model is None:
        from transformers import AutoConfig

        from .. import models  # noqa: F401  (registers our model types with AutoConfig)

        if not (model_dir / "config.json").is_file():
            raise FileNotFoundError(f"{model_dir} has no config.json: save the model there first")
        config = AutoConfig.from_pretrained(str(model_dir))
        parameters = count_parameters_in_dir(model_dir)
    card = build_model_card(model, config=config, parameters=parameters, recipe=recipe, metrics=metrics,
                            data_sources=data_sources, generated_parts=generated_parts, preset=preset,
                            license=license, evaluations=evaluations)
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / CARD_FILENAME
    card.save(str(path))
    return path


def evaluations_of_these_weights(model_dir: str | Path) -> list[dict[str, Any]]:
    """The ``evaluation/*/results.json`` of the weights now in ``model_dir``: an evaluation without a recorded weights
    fingerprint, or with another one (an older model's), is left out of the card."""
    from .fingerprint import weights_fingerprint

    current = weights_fingerprint(model_dir)
    kept = []
    for path in sorted(Path(model_dir).glob("evaluation/*/results.json")):
        try:
            result = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if current is not None and result.get("weights_fingerprint") == current:
            kept.append(result)
    return kept


def save_with_card(model: Any, output_dir: str | Path, *, tokenizer: Any = None, **card_kwargs: Any) -> Path:
    """What a trainer or the demo calls after training: `save_pretrained` (safetensors), the tokenizer if any, and
    the model card (keyword arguments as for `write_model_card`). Returns the card's path."""
    output_dir = Path(output_dir)
    if card_kwargs.get("recipe") is not None:  # read first: a wrong recipe path must not leave weights without a card
        card_kwargs["recipe"] = load_recipe(card_kwargs["recipe"])
    model.save_pretrained(str(output_dir))
    if tokenizer is not None:
        tokenizer.save_pretrained(str(output_dir))
    if getattr(model.config, "model_type", None) == "astro_multimodal":
        from .remote_code import add_remote_code

        add_remote_code(output_dir, type(model.config), type(model))  # loads without astrobio-hf
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
    if "habitability_threshold" in as_dict:
        weights = as_dict.get("habitability_class_weights")
        lines.append(f"- decision threshold: habitable when P(habitable) >= {as_dict['habitability_threshold']:.4g} "
                     "(chosen on the validation split by train.py; predict, the pipeline and evaluate use it)")
        lines.append(f"- classification loss: `{as_dict.get('classification_loss', 'cross_entropy')}`, class weights "
                     + (f"habitability {[round(w, 3) for w in weights]}" if weights else "none"))
    return lines


PIPELINE_TAGS = {"astro_multimodal": "tabular-classification", "astro_llm": "text-generation",
                 "astro_graph_vae": "graph-ml", "astro_datacube": "feature-extraction"}
_HEADLINE = (("balanced_accuracy", "balanced accuracy"), ("f1", "F1 (habitable)"), ("pr_auc", "PR-AUC"),
             ("roc_auc", "ROC-AUC"), ("hz_macro_f1", "hz_class macro-F1"), ("ece", "expected calibration error"))
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/(?:home|work|tmp|root|Users|mnt|opt|var|srv|data|scratch)/[^\s'\"|)]+")


def local_path_prefixes(extra: Iterable[str | Path] = ()) -> list[str]:
    """Absolute paths of this machine that must not reach a card or an upload: cwd, home, the given folders."""
    found = {str(Path.cwd().resolve()), str(Path.home())} | {str(Path(p).resolve()) for p in extra}
    return sorted(p for p in found if p not in ("/", ""))


def find_local_paths(text: str, extra: Iterable[str | Path] = ()) -> list[str]:
    """Absolute local paths in ``text``: this machine's prefixes, and anything that looks like /home/..., /tmp/..."""
    hits = [p for p in local_path_prefixes(extra) if p in text]
    return hits + _ABSOLUTE_PATH.findall(text)


def refuse_local_paths(text: str, what: str, extra: Iterable[str | Path] = ()) -> None:
    hits = find_local_paths(text, extra)
    if hits:
        raise ValueError(f"{what} would contain the local path {hits[0]!r}; record names relative to the model "
                         "folder instead")


def scrub_local_paths(value: Any) -> Any:
    """A copy of a recipe with absolute paths replaced by their last component (``/a/b/dataset`` -> ``dataset``)."""
    if isinstance(value, Mapping):
        return {k: scrub_local_paths(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_local_paths(v) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        return Path(value).name
    return value


def summarize_sources(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Provenance entries (one per source, release, generated) -> one line per (source, generated): rows, releases."""
    merged: dict[tuple[str, bool], dict[str, Any]] = {}
    for row in rows:
        key = (str(row["source"]), bool(row.get("generated")))
        entry = merged.setdefault(key, {"source": key[0], "generated": key[1], "rows": 0, "releases": []})
        note = str(row.get("note") or "")
        if note.endswith(" rows") and note.split()[0].isdigit():  # summarize_provenance's "N rows"
            entry["rows"] += int(note.split()[0])
        elif note and not entry.get("note"):
            entry["note"] = note
        release = str(row.get("release") or "")
        if release and release not in entry["releases"]:
            entry["releases"].append(release)
    return sorted(merged.values(), key=lambda e: -e["rows"])


def _dataset_id(evaluation: Mapping[str, Any]) -> str:
    return str(evaluation.get("dataset_id") or "nasa_exoplanet_archive/pscomppars")


def model_index(evaluations: list[dict[str, Any]]) -> list[Any]:
    """`model-index` entries: the model's and the baselines' headline metrics per (split, protocol)."""
    from huggingface_hub import EvalResult

    out = []
    for ev in evaluations:
        for method in ev.get("methods", []):
            if method["name"].startswith("model without"):
                continue
            who = "" if method["name"] == "multimodal model" else f"baseline {method['name']}: "
            for key, label in _HEADLINE:
                value = method["metrics"].get(key)
                if value is None or value != value:
                    continue
                out.append(EvalResult(
                    task_type="tabular-classification", task_name="habitability (Kopparapu 2014 rule labels)",
                    dataset_type=_dataset_id(ev), dataset_config=ev["protocol"]["name"],
                    dataset_name=f"{ev.get('dataset_name') or ev.get('dataset')} ({ev['protocol']['name']} protocol)",
                    dataset_split=ev["split"], metric_type=key,
                    metric_value=round(float(value), 4), metric_name=f"{who}{label}"))
    return out


def _limitations(model_type: str, evaluations: list[dict[str, Any]], sources: list[dict[str, Any]]) -> list[str]:
    lines = ["For research on the astrobio-hf pipeline and as a starting point for fine-tuning; not for deciding "
             "which real planets are habitable."]
    if model_type == "astro_multimodal":
        lines += ["",
                  "- The `habitability` and `hz_class` labels are a closed-form rule (Kopparapu et al. 2014 "
                  "conservative habitable zone from the insolation and the host's Teff, plus a size cut), not "
                  "observations of habitability. Under the `full` protocol the rule's inputs are in "
                  "`planet_params`, so the rule itself is the ceiling; see the `label_rule` baseline.",
                  "- Generated (not observed) inputs: " + (", ".join(f"{s['source']} ({s['rows']} rows)"
                                                            for s in sources if s.get("generated")) or "none") + ".",
                  ]
    for ev in evaluations:
        rows = ev.get("rows", {})
        lines.append(f"- Class balance on split `{ev['split']}` ({ev['protocol']['name']}): {rows.get('habitable')} "
                     f"habitable of {rows.get('labelled')} labelled planets (train: {rows.get('train_habitable')} of "
                     f"{rows.get('train_labelled')}); intervals are wide at this size.")
    return lines


def _evaluation_sections(evaluations: list[dict[str, Any]]) -> list[str]:
    from ..evaluation.report import markdown_table

    lines: list[str] = []
    for ev in evaluations:
        lines += [f"### Split `{ev['split']}`, protocol `{ev['protocol']['name']}`", "",
                  markdown_table(ev).rstrip(), ""]
        if ev.get("files", {}).get("figure"):
            lines += [f"Figure: `evaluation/{ev['split']}_{ev['protocol']['name']}/{ev['files']['figure']}`", ""]
    return lines


def _recorded_card_inputs(model_dir: Path) -> dict[str, Any]:
    info = model_dir / "run_info.json"
    if not info.is_file():
        return {}
    try:
        return dict(json.loads(info.read_text()).get("card") or {})
    except (json.JSONDecodeError, AttributeError):
        return {}


def _source_row(source: Mapping[str, Any] | str) -> dict[str, Any]:
    if isinstance(source, str):
        return {"source": source}
    if "source" not in source:
        raise ValueError(f"data source entry {dict(source)!r} has no 'source' field")
    return dict(source)


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ") if value not in (None, "") else "-"


def _sources_table(sources: list[dict[str, Any]]) -> list[str]:
    rows = ["| source | real or generated | rows (train split) | releases | note |", "|---|---|---:|---|---|"]
    for s in sources:
        releases = s["releases"]
        shown = "; ".join(releases[:2]) + (f"; ... ({len(releases)} in all)" if len(releases) > 2 else "")
        rows.append(f"| {_cell(s['source'])} | {'generated' if s['generated'] else 'real'} | {s['rows']} | "
                    f"{_cell(shown)} | {_cell(s.get('note'))} |")
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


__all__ = ["find_local_paths", "refuse_local_paths", "scrub_local_paths", "summarize_sources", "model_index",
           "write_model_card", "build_model_card", "evaluations_of_these_weights", "save_with_card", "count_parameters_in_dir", "infer_preset",
           "secret_env_values", "scrub_secrets", "load_recipe", "CARD_FILENAME"]
