"""Habitability predictions for any planet, from a local checkpoint or a (private) hub repo.

- `predict(model, catalog_row)`: catalog values of any planet (a dict of NASA Exoplanet Archive column names, or an
  astropy `Table`/`QTable` row, units converted), optionally with `light_curve=`, `spectrum=`, `climate_cube=`,
  `graph=` (file paths or objects). They go through the checkpoint's `AstroMultimodalProcessor`: the transforms of
  the training data. Inputs that are missing are masked and listed in the prediction, never imputed.
- `predict(model, planet="TRAPPIST-1 e")` finds the planet in the prepared multimodal dataset the model was trained
  on (recorded in `run_info.json`, or given as `dataset=`); `predict(model, record=...)` takes one prepared row.
- `catalog_row(file, planet)` reads one planet from your own PSCompPars download with the archive's builder.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.collator import ArrowBatches
from ..data.multimodal_schema import SPEC_FILENAME, MultimodalSpec, load_multimodal_dataset
from ..data.names import normalize_name
from ..models.multimodal import MODALITIES, AstroMultimodalModel
from .catalog_file import read_catalog, similar_names
from .catalog_values import catalog_mapping, check_catalog_values
from .processing import AstroMultimodalProcessor, PlanetInputs


@dataclass
class PlanetPrediction:
    """What `astrobio-hf predict` prints."""

    planet_name: str
    habitability_probability: float
    #: the decision: probability >= the checkpoint's habitability_threshold (chosen on validation when trained)
    habitable: bool
    threshold: float
    hz_class: str
    hz_class_probabilities: dict[str, float]
    modalities_present: list[str]
    true_habitability: int | None = None
    true_hz_class: str | None = None
    assessment: str | None = None
    provenance: list[dict[str, Any]] = field(default_factory=list)
    #: modalities (and catalog columns) that were not given: masked, not imputed
    missing_inputs: list[str] = field(default_factory=list)
    missing_catalog_values: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_predictor(model: str | Path | AstroMultimodalModel) -> AstroMultimodalModel:
    """A multimodal model from a folder or hub repo id (private repos use HF_TOKEN), in eval mode."""
    if isinstance(model, AstroMultimodalModel):
        return model.eval()
    from ..sharing.hub import load_model

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


def load_processor(model: str | Path | AstroMultimodalModel) -> AstroMultimodalProcessor:
    """The processor saved with a checkpoint; else one from the dataset spec train.py wrote beside it; else one from
    the model config (shapes and the builder's default transforms)."""
    if isinstance(model, (str, Path)) and Path(model).is_dir():
        folder = Path(model)
        if (folder / "processor_config.json").is_file():
            return AstroMultimodalProcessor.from_pretrained(str(folder))
        if (folder / SPEC_FILENAME).is_file():
            return AstroMultimodalProcessor.from_spec(
                MultimodalSpec.from_dict(json.loads((folder / SPEC_FILENAME).read_text())))
    if isinstance(model, (str, Path)) and not Path(model).exists():
        try:
            return AstroMultimodalProcessor.from_pretrained(str(model))  # a hub repo with processor_config.json
        except (OSError, ValueError):
            pass
    config = model.config if isinstance(model, AstroMultimodalModel) else load_predictor(model).config
    return AstroMultimodalProcessor.from_model_config(config)


def predict_record(model: AstroMultimodalModel, record: Any, tokenizer: Any = None, max_new_tokens: int = 60,
                   processor: AstroMultimodalProcessor | None = None) -> PlanetPrediction:
    """Predict for one prepared row (a dict in the multimodal schema, a 1-row Arrow table, or `PlanetInputs`)."""
    processor = processor or AstroMultimodalProcessor.from_model_config(model.config)
    missing_inputs: list[str] = []
    missing_values: list[str] = []
    if isinstance(record, PlanetInputs):
        missing_inputs, missing_values, record = record.missing_modalities, record.missing_params, record.row
    else:
        if not isinstance(record, dict):
            record = record.to_pylist()[0]
        missing_inputs, missing_values = missing_in_record(record, processor)
    batch = processor(record)
    out = model.predict_proba(**batch)
    threshold = float(getattr(model.config, "habitability_threshold", 0.5))
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
        habitable=bool(float(out["habitability"][0]) >= threshold),
        threshold=threshold,
        hz_class=names[int(np.argmax(probabilities))],
        hz_class_probabilities=dict(zip(names, (float(p) for p in probabilities), strict=True)),
        modalities_present=present,
        true_habitability=truth if truth >= 0 else None,
        true_hz_class=names[truth_class] if truth_class >= 0 else None,
        assessment=assessment,
        provenance=[dict(p) for p in record.get("provenance", [])],
        missing_inputs=list(missing_inputs),
        missing_catalog_values=list(missing_values),
    )


def missing_in_record(record: dict[str, Any], processor: AstroMultimodalProcessor) -> tuple[list[str], list[str]]:
    """The modalities a prepared row lacks (mask False) and its planet_params columns without a value."""
    names = list(processor.spec["planet_param_names"])
    observed = record.get("planet_params_mask")
    observed = [True] * len(names) if observed is None else [bool(v) for v in np.asarray(observed).reshape(-1)]
    missing_values = [n for n, seen in zip(names, observed, strict=False) if not seen]
    missing_inputs = [m for m in MODALITIES if m != "planet_params" and not record.get(f"{m}_mask")]
    if not any(observed):
        missing_inputs.insert(0, "planet_params")
    return missing_inputs, missing_values


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


def predict(model: str | Path | AstroMultimodalModel, catalog: Any = None, *, planet: str | None = None,
            record: dict[str, Any] | None = None, dataset: str | Path | None = None, planet_name: str | None = None,
            light_curve: Any = None, spectrum: Any = None, climate_cube: Any = None, graph: Any = None,
            processor: AstroMultimodalProcessor | None = None, force: bool = False) -> PlanetPrediction:
    """Predict for a planet given by catalog values (`catalog`, plus optional modality inputs), by name (looked up in
    `dataset` or the dataset recorded with the checkpoint) or by a prepared `record`.

    Catalog values outside their physical range are refused, and so is a light-curve or spectrum file whose header
    names another star or planet (unless ``force``)."""
    if sum(x is not None for x in (catalog, planet, record)) != 1:
        raise ValueError("give exactly one of catalog (values of any planet), planet= (a name in the prepared "
                         "dataset) or record= (a prepared row)")
    predictor = load_predictor(model)
    processor = processor or load_processor(model if not isinstance(model, AstroMultimodalModel) else predictor)
    if catalog is not None:
        check_catalog_values(catalog_mapping(catalog))
        record = processor.planet_inputs(catalog, planet_name=planet_name, light_curve=light_curve,
                                         spectrum=spectrum, climate_cube=climate_cube, graph=graph, force=force)
    elif record is None:
        dataset = dataset or (dataset_of(model) if isinstance(model, (str, Path)) else None)
        if dataset is None:
            raise ValueError("no prepared dataset to look the planet up in: pass dataset= (or --dataset), or give "
                             "the planet's catalog values")
        record = find_planet(dataset, planet)
    tokenizer = None
    if predictor.language_model is not None and isinstance(model, (str, Path)) and Path(model).is_dir():
        from transformers import AutoTokenizer

        if (Path(model) / "tokenizer.json").is_file():
            tokenizer = AutoTokenizer.from_pretrained(str(model))
    return predict_record(predictor, record, tokenizer, processor=processor)


def catalog_row(path: str | Path, planet: str, table: str = "pscomppars") -> dict[str, Any]:
    """One planet's columns from a NASA Exoplanet Archive file (CSV / IPAC / VOTable, as downloaded, or
    ``"packaged"``), parsed by the archive's builder (the parser the training data went through); matched on the
    normalised name."""
    rows = read_catalog(path, table)
    wanted = normalize_name(planet)
    names = [normalize_name(n) for n in rows["pl_name"]]
    if wanted not in names:
        close = similar_names(planet, rows["pl_name"], rows["hostname"] if "hostname" in rows.column_names
                              else [""] * len(names))
        raise KeyError(f"planet {planet!r} is not in {path} ({len(names)} planets"
                       + (f"; similar: {close[:5]}" if close else "") + ")")
    return dict(rows[names.index(wanted)])


def parse_values(items: list[str]) -> dict[str, float | str]:
    """`["pl_orbper=129.9", "pl_name=Kepler-186 f"]` -> a catalog mapping (numbers where they parse); unknown
    column names and values outside their physical range are refused, naming them."""
    values: dict[str, float | str] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--values entry {item!r} is not COLUMN=VALUE")
        try:
            values[key.strip()] = float(text)
        except ValueError:
            values[key.strip()] = text.strip()
    check_catalog_values(values, names_given_by_user=True)
    return values


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


__all__ = ["PlanetPrediction", "predict", "predict_record", "find_planet", "load_predictor", "load_processor",
           "load_record", "catalog_row", "parse_values"]
