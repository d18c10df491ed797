"""What `train.py` needs for each model type: the model, the train/eval datasets, the collator and the metrics.

All four model types train from one prepared multimodal dataset (a `DatasetDict` saved with `save_to_disk` plus its
`MultimodalSpec`; with `--streaming`, the same dataset as Parquet shards read as `IterableDataset`s, see streaming.py):
the multimodal model uses whole rows; the graph VAE the rows that carry a metabolic graph; the datacube model the rows
that carry a climate cube; the LLM the `text` column, tokenized and packed into blocks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from ..data.collator import ArrowBatches, CubeCollator, GraphCollator, MultimodalCollator
from ..data.multimodal_schema import UNLABELLED, MultimodalSpec, checkpoint_spec, load_multimodal_dataset
from ..data.planet_scaling import fit_scaling, scaling_of, with_scaling
from ..models import (
    AstroDatacubeConfig,
    AstroDatacubeModel,
    AstroGraphVAE,
    AstroGraphVAEConfig,
    AstroLLMConfig,
    AstroLLMForCausalLM,
    AstroMultimodalConfig,
    AstroMultimodalModel,
)
from ..models.presets import build_config, get_preset
from .arguments import DataArguments, ModelArguments
from .class_balance import class_weights
from .eval_stream import EvalStream
from .metrics import habitability_metrics
from .streaming import StreamingSplits, load_streaming_splits

logger = logging.getLogger(__name__)

DEFAULT_PRESETS = {
    "multimodal": "astro-multimodal-tiny",
    "llm": "astro-llm-tiny",
    "graph_vae": "astro-graph-vae-tiny",
    "datacube": "astro-datacube-tiny",
}
MODEL_CLASSES: dict[str, tuple[type, type[PreTrainedModel]]] = {
    "multimodal": (AstroMultimodalConfig, AstroMultimodalModel),
    "llm": (AstroLLMConfig, AstroLLMForCausalLM),
    "graph_vae": (AstroGraphVAEConfig, AstroGraphVAE),
    "datacube": (AstroDatacubeConfig, AstroDatacubeModel),
}


@dataclass
class TrainingTask:
    """Everything model-specific that AstroTrainer is given."""

    model: PreTrainedModel
    train_dataset: datasets.Dataset | ArrowBatches | datasets.IterableDataset | None
    eval_dataset: datasets.Dataset | ArrowBatches | EvalStream | None
    data_collator: Callable[[Any], dict[str, Any]]
    prediction_fields: tuple[str, ...] = ()
    label_names: list[str] = field(default_factory=list)
    compute_metrics: Callable | None = None
    perplexity: bool = False
    tokenizer: PreTrainedTokenizerBase | None = None
    spec: MultimodalSpec | None = None
    streaming: StreamingSplits | None = None  # with --streaming: the manifest (row counts, provenance)


def _overrides(model_args: ModelArguments) -> dict[str, Any]:
    if not model_args.config_overrides:
        return {}
    try:
        overrides = json.loads(model_args.config_overrides)
    except json.JSONDecodeError as error:
        raise ValueError(f"--config_overrides is not valid JSON: {error}") from error
    if not isinstance(overrides, dict):
        raise ValueError("--config_overrides must be a JSON object of config fields.")
    return overrides


def build_model(model_args: ModelArguments, extra_config: dict[str, Any] | None = None) -> PreTrainedModel:
    """A model from a checkpoint (`model_name_or_path`) or from a preset plus overrides."""
    config_cls, model_cls = MODEL_CLASSES[model_args.model_type]
    overrides = {**(extra_config or {}), **_overrides(model_args)}
    attn = {"attn_implementation": model_args.attn_implementation} if model_args.attn_implementation else {}
    if model_args.model_name_or_path:
        path = Path(model_args.model_name_or_path)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"--model_name_or_path {path} has no config.json (expected a saved checkpoint).")
        return model_cls.from_pretrained(path, **overrides, **attn)
    preset = model_args.preset or DEFAULT_PRESETS[model_args.model_type]
    config = build_config(preset, **overrides)
    if not isinstance(config, config_cls):
        raise ValueError(f"preset {preset!r} is a {config.model_type} preset, not one for --model_type "
                         f"{model_args.model_type}.")
    if attn:
        config._attn_implementation = model_args.attn_implementation
    return model_cls(config)


def _arrow(dataset: datasets.Dataset | datasets.IterableDataset | None
           ) -> ArrowBatches | datasets.IterableDataset | None:
    """A map-style split served as Arrow slices; a streamed split is already one (rows as one-row Arrow tables)."""
    if dataset is None or isinstance(dataset, datasets.IterableDataset):
        return dataset
    return ArrowBatches(dataset)


def _eval(dataset: datasets.Dataset | datasets.IterableDataset | None, streaming: StreamingSplits | None,
          rows: int | None = None) -> ArrowBatches | EvalStream | None:
    """The eval split as the Trainer gets it; a stream with its row count when known (see EvalStream)."""
    if dataset is None or streaming is None:
        return _arrow(dataset)
    return EvalStream(dataset, rows)


def _limit(dataset: datasets.Dataset | None, limit: int | None) -> datasets.Dataset | None:
    if dataset is None or limit is None:
        return dataset
    return dataset.select(range(min(limit, len(dataset))))


def _spec_overrides(spec: MultimodalSpec) -> dict[str, Any]:
    """Config fields that must follow the dataset's shapes."""
    return {
        "planet_param_names": list(spec.planet_param_names),
        "spectrum_channels": spec.spectrum_channels,
        "spectrum_length": spec.spectrum_length,
        "light_curve_channels": spec.light_curve_channels,
        "light_curve_length": spec.light_curve_length,
        "light_curve_feature_names": list(spec.light_curve_feature_names),
        "num_hz_classes": len(spec.hz_class_names),
        "hz_class_names": list(spec.hz_class_names),
    }


def datacube_fields(spec: MultimodalSpec) -> dict[str, Any]:
    """Datacube config fields that must follow the dataset: the grid, and (when the spec records them) the variables,
    pressure levels and the normalisation statistics the physics term needs to return to physical units."""
    v, t, z, y, x = spec.climate_cube_shape
    fields: dict[str, Any] = {"num_variables": v, "num_time": t, "num_levels": z, "num_lat": y, "num_lon": x}
    cube = spec.extra.get("climate_cube") or {}
    variables = list(cube.get("variables") or [])
    if len(variables) == v:
        fields["variable_names"] = variables
        stats = (cube.get("normalisation") or {}).get("variables") or {}
        if all(name in stats for name in variables):
            fields["normalization_mean"] = [float(stats[name]["mean"]) for name in variables]
            fields["normalization_std"] = [float(stats[name]["std"]) for name in variables]
        fields["nonnegative_variables"] = [name for name in ("hus",) if name in variables]
        fields["temperature_variable"] = "ta" if "ta" in variables else None
    if len(cube.get("levels_hpa") or []) == z:
        fields["pressure_levels"] = [float(p) for p in cube["levels_hpa"]]
    return fields


def _from_spec(preset: str, spec: MultimodalSpec) -> dict[str, Any]:
    """Config overrides that make a fresh multimodal model fit a prepared dataset."""
    preset_kwargs = get_preset(preset).config_kwargs
    return {**_spec_overrides(spec),
            "datacube_config": {**preset_kwargs.get("datacube_config", {}), **datacube_fields(spec)}}


def build_task(model_args: ModelArguments, data_args: DataArguments, seed: int = 0) -> TrainingTask:
    """Load the prepared dataset and assemble the model-specific pieces for `--model_type` (`seed` shuffles a
    streamed train split; map-style splits are shuffled by the Trainer's sampler)."""
    if not data_args.dataset_path:
        raise ValueError("--dataset_path is required: a multimodal dataset prepared by "
                         "`astrobio-hf prepare --dataset multimodal` (or saved with save_multimodal_dataset).")
    kind = model_args.model_type
    streaming = None
    if data_args.streaming:
        if kind == "llm":
            raise ValueError("--streaming trains the multimodal, graph_vae and datacube models; the LLM's tokenizer "
                             "and packing need the whole text column: train it from a saved dataset.")
        streaming = load_streaming_splits(data_args, seed)
        train, evaluation, spec = streaming.train, streaming.evaluation, streaming.spec
    else:
        splits, spec = load_multimodal_dataset(data_args.dataset_path)
        train = _limit(splits.get("train"), data_args.max_train_samples)
        evaluation = _limit(splits.get(data_args.eval_split), data_args.max_eval_samples)

    if kind == "multimodal":
        eval_rows = streaming.rows.get(data_args.eval_split) if streaming else None
        return multimodal_task(model_args, train, _eval(evaluation, streaming, eval_rows), spec, streaming)
    if kind == "graph_vae":
        keep = lambda rows: rows["graph_mask"]  # noqa: E731
        return TrainingTask(
            model=build_model(model_args),
            train_dataset=_arrow(train.filter(keep, batched=True)) if train is not None else None,
            eval_dataset=_eval(evaluation.filter(keep, batched=True) if evaluation is not None else None, streaming),
            data_collator=GraphCollator(spec), spec=spec, streaming=streaming,
        )
    if kind == "datacube":
        keep = lambda rows: rows["climate_cube_mask"]  # noqa: E731
        model = build_model(model_args, extra_config=None if model_args.model_name_or_path else datacube_fields(spec))
        if tuple(model.config.grid_shape) != tuple(spec.climate_cube_shape):
            raise ValueError(f"datacube config grid {model.config.grid_shape} differs from the dataset's cubes "
                             f"{spec.climate_cube_shape}; pass --config_overrides with the dataset grid.")
        return TrainingTask(
            model=model,
            train_dataset=_arrow(train.filter(keep, batched=True)) if train is not None else None,
            eval_dataset=_eval(evaluation.filter(keep, batched=True) if evaluation is not None else None, streaming),
            data_collator=CubeCollator(spec), spec=spec, streaming=streaming,
        )
    return _llm_task(model_args, data_args, train, evaluation, spec)


def label_column(dataset: datasets.Dataset, name: str):
    """A label column as a numpy array (unlabelled = -100)."""
    return dataset.with_format("numpy", columns=[name])[:][name]


def multimodal_task(model_args: ModelArguments, train: datasets.Dataset | datasets.IterableDataset | None,
                    evaluation: ArrowBatches | EvalStream | None, spec: MultimodalSpec,
                    streaming: StreamingSplits | None = None) -> TrainingTask:
    """The multimodal model's task. The train split fixes what the recipe learns from the data: the planet_params
    scaling (fitted on its rows, or the starting checkpoint's, so a fine-tuned model keeps its input scale) and the
    class weights of both heads (`--class_weighting`). A streamed split is not read twice: it keeps the spec's
    scaling and trains unweighted."""
    extra: dict[str, Any] = {}
    if model_args.model_name_or_path:
        saved = checkpoint_spec(model_args.model_name_or_path)
        spec = with_scaling(spec, scaling_of(saved) if saved is not None else None)
    elif isinstance(train, datasets.Dataset):
        spec = with_scaling(spec, fit_scaling(train, spec, "train"))
    if isinstance(train, datasets.Dataset):
        for head, field, size in (("habitability", "habitability_class_weights", 2),
                                  ("hz_class", "hz_class_weights", len(spec.hz_class_names))):
            labels = label_column(train, head)
            extra[field] = class_weights(labels[labels != UNLABELLED], size, model_args.class_weighting)
    elif streaming is not None:
        logger.info("--streaming: the spec's planet_params scaling (%s) and no class weights",
                    "recorded" if scaling_of(spec) else "none")
    if not model_args.model_name_or_path:
        preset = model_args.preset or DEFAULT_PRESETS["multimodal"]
        extra = {**_from_spec(preset, spec), **extra}
    model = build_model(model_args, extra_config=extra)
    spec.check_model_config(model.config)
    return TrainingTask(
        model=model, train_dataset=_arrow(train), eval_dataset=evaluation, data_collator=MultimodalCollator(spec),
        prediction_fields=("habitability_logits", "hz_class_logits"), label_names=["habitability", "hz_class"],
        compute_metrics=habitability_metrics, spec=spec, streaming=streaming,
    )


def _llm_task(model_args: ModelArguments, data_args: DataArguments, train: datasets.Dataset | None,
              evaluation: datasets.Dataset | None, spec: MultimodalSpec) -> TrainingTask:
    from transformers import DataCollatorForLanguageModeling

    from ..text import load_or_train_tokenizer

    texts = list(train["text"]) if train is not None else None
    tokenizer = load_or_train_tokenizer(model_args.tokenizer_name_or_path, texts)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = build_model(model_args, extra_config=None if model_args.model_name_or_path else {
        "vocab_size": len(tokenizer), "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
    })
    if len(tokenizer) > model.config.vocab_size:
        raise ValueError(f"tokenizer has {len(tokenizer)} tokens but the model's vocab_size is "
                         f"{model.config.vocab_size}.")
    if model_args.lora_r:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(
            r=model_args.lora_r, lora_alpha=model_args.lora_alpha, lora_dropout=model_args.lora_dropout,
            target_modules=list(model_args.lora_target_modules), task_type="CAUSAL_LM",
        ))
    block = data_args.block_size

    def pack(rows: dict[str, list]) -> dict[str, list]:
        ids = [token for text in rows["text"] for token in tokenizer(text + tokenizer.eos_token)["input_ids"]]
        usable = len(ids) // block * block
        return {"input_ids": [ids[i:i + block] for i in range(0, usable, block)]}

    def blocks(dataset: datasets.Dataset | None) -> datasets.Dataset | None:
        if dataset is None:
            return None
        packed = dataset.map(pack, batched=True, remove_columns=dataset.column_names)
        if len(packed) == 0:
            raise ValueError(f"the text column holds fewer than block_size={block} tokens; lower --block_size.")
        return packed

    return TrainingTask(
        model=model, train_dataset=blocks(train), eval_dataset=blocks(evaluation),
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False), perplexity=True, tokenizer=tokenizer,
        spec=spec,
    )


__all__ = ["TrainingTask", "build_task", "build_model", "multimodal_task", "DEFAULT_PRESETS"]
