"""Habitability predictions for named planets or prepared records, from a local checkpoint or a (private) hub repo.

`predict(model, planet="TRAPPIST-1 e")` finds the planet in the prepared multimodal dataset the model was trained on
(recorded in `run_info.json`, or given as `dataset=`); `predict(model, record=...)` takes one prepared row (a dict in
the multimodal schema, e.g. loaded from a JSON file).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .data.collator import ArrowBatches, MultimodalCollator
from .data.multimodal_schema import MultimodalSpec, load_multimodal_dataset
from .data.names import normalize_name
from .models.multimodal import MODALITIES, AstroMultimodalModel


@dataclass
class PlanetPrediction:
    """What `astrobio-hf predict` prints."""

    planet_name: str
    habitability_probability: float
    hz_class: str
    hz_class_probabilities: dict[str, float]
    modalities_present: list[str]
    true_habitability: int | None = None
    true_hz_class: str | None = None
    assessment: str | None = None
    provenance: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_predictor(model: str | Path | AstroMultimodalModel) -> AstroMultimodalModel:
    """A multimodal model from a folder or hub repo id (private repos use HF_TOKEN), in eval mode."""
    if isinstance(model, AstroMultimodalModel):
        return model.eval()
    from .hub import load_model

    loaded = load_model(model, model_class=AstroMultimodalModel)
    return loaded.eval()


def find_planet(dataset_dir: str | Path, planet: str) -> Any:
    """The row of `planet` (matched on the normalised name) in any split of a prepared dataset, as a 1-row table."""
    splits, _ = load_multimodal_dataset(dataset_dir)
    wanted = normalize_name(planet)
    for split in splits.values():
        names = [normalize_name(n) for n in split["planet_name"]]
        if wanted in names:
            return ArrowBatches(split)[names.index(wanted)]
    raise KeyError(f"planet {planet!r} is not in the prepared dataset {dataset_dir}")


def dataset_of(model_dir: str | Path) -> Path | None:
    """The prepared dataset recorded by train.py next to a local checkpoint."""
    info = Path(model_dir) / "run_info.json"
    if info.is_file():
        path = json.loads(info.read_text()).get("dataset_path")
        return (Path(model_dir) / path).resolve() if path else None  # recorded relative to the model folder
    return None


def predict_record(model: AstroMultimodalModel, record: Any, tokenizer: Any = None,
                   max_new_tokens: int = 60) -> PlanetPrediction:
    """Predict for one prepared row (a dict in the multimodal schema, or a 1-row Arrow table)."""
    spec = MultimodalSpec.from_model_config(model.config)
    if not isinstance(record, dict):
        record = record.to_pylist()[0]
    batch = MultimodalCollator(spec)([record])
    batch = {k: v for k, v in batch.items() if k not in ("habitability", "hz_class")}
    out = model.predict_proba(**batch)
    names = list(model.config.hz_class_names)
    probabilities = out["hz_class"][0].tolist()
    present = [m for m, here in zip(MODALITIES, out["modality_mask"][0].tolist(), strict=True) if here]
    truth = int(record.get("habitability", -100))
    truth_class = int(record.get("hz_class", -100))
    assessment = None
    if model.language_model is not None and tokenizer is not None:
        assessment = generate_assessment(model, batch, tokenizer, max_new_tokens)
    return PlanetPrediction(
        planet_name=str(record.get("planet_name", "")),
        habitability_probability=float(out["habitability"][0]),
        hz_class=names[int(np.argmax(probabilities))],
        hz_class_probabilities=dict(zip(names, (float(p) for p in probabilities), strict=True)),
        modalities_present=present,
        true_habitability=truth if truth >= 0 else None,
        true_hz_class=names[truth_class] if truth_class >= 0 else None,
        assessment=assessment,
        provenance=[dict(p) for p in record.get("provenance", [])],
    )


@torch.no_grad()
def generate_assessment(model: AstroMultimodalModel, batch: dict[str, Any], tokenizer: Any,
                        max_new_tokens: int) -> str:
    """Text from the LLM head, prefixed by the fused embedding of the planet."""
    fused = model(**batch).fused_embedding
    prompt = tokenizer("Assessment:", return_tensors="pt")
    tokens = model.language_model.generate(
        **prompt, evidence=fused, max_new_tokens=max_new_tokens, do_sample=False,
        pad_token_id=tokenizer.pad_token_id,
    )
    return tokenizer.decode(tokens[0], skip_special_tokens=True)


def predict(model: str | Path | AstroMultimodalModel, *, planet: str | None = None,
            record: dict[str, Any] | None = None, dataset: str | Path | None = None) -> PlanetPrediction:
    """Predict for a named planet (looked up in `dataset`, or the dataset recorded with the checkpoint) or a record."""
    if (planet is None) == (record is None):
        raise ValueError("give exactly one of planet= or record=")
    predictor = load_predictor(model)
    if record is None:
        dataset = dataset or (dataset_of(model) if isinstance(model, (str, Path)) else None)
        if dataset is None:
            raise ValueError("no prepared dataset to look the planet up in: pass dataset= (or --dataset)")
        record = find_planet(dataset, planet)
    tokenizer = None
    if predictor.language_model is not None and isinstance(model, (str, Path)) and Path(model).is_dir():
        from transformers import AutoTokenizer

        if (Path(model) / "tokenizer.json").is_file():
            tokenizer = AutoTokenizer.from_pretrained(str(model))
    return predict_record(predictor, record, tokenizer)


def load_record(path: str | Path) -> dict[str, Any]:
    """A prepared row from a JSON file (the multimodal schema's columns)."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not a readable JSON record ({error})") from error
    if not isinstance(record, dict):
        raise ValueError(f"{path}: a record must be a JSON object of the multimodal columns")
    return record


__all__ = ["PlanetPrediction", "predict", "predict_record", "find_planet", "load_predictor", "load_record"]
