"""`evaluate(model_dir, dataset_dir, split="test")`: a multimodal checkpoint next to baselines on the same rows.

Writes ``results.json``, ``results.md`` (the table) and ``figure.png`` (PR curve + reliability diagram) into
``out_dir`` (default ``<model_dir>/evaluation/<split>_<protocol>``), and returns the results dict. What is in it:
the split, the protocol, the dataset and model (folder names only, never local paths), the rows (labelled planets,
hosts, habitable count), and per method the metrics on every labelled row with 95% host-bootstrap intervals.
Methods: the model with every modality it was given, the baselines (:mod:`.baselines`, fitted on the train split
only), and the ablations (the model with one modality removed at a time, for each modality present in the rows).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ..data.multimodal_schema import checkpoint_spec, load_multimodal_dataset
from ..data.planet_scaling import scaling_of, with_scaling
from ..data.protocols import can_evaluate, check_protocol, describe_protocol, hidden_modalities, removed_columns
from ..models.multimodal.configuration_multimodal import MODALITIES
from ..sharing.fingerprint import weights_fingerprint
from .baselines import Predictions, run_baselines
from .bootstrap import bootstrap_intervals
from .metrics import habitability_metrics
from .model_eval import ablation_predictions, modality_counts, model_predictions
from .report import write_figure, write_results
from .rows import SplitRows, split_rows


class EvaluationError(ValueError):
    """An evaluation that cannot be run as asked (names the input at fault)."""


def _score(rows: SplitRows, pred: Predictions, n_resamples: int, seed: int) -> dict[str, Any]:
    def compute(index: np.ndarray) -> dict[str, float]:
        return habitability_metrics(rows.habitability[index], pred.probability[index], rows.hz_class[index],
                                    pred.hz_class[index], threshold=pred.threshold)

    everything = np.arange(len(rows))
    hosts = rows.hosts
    return {"name": pred.method, "metrics": compute(everything),
            "ci": bootstrap_intervals(hosts, compute, n_resamples=n_resamples, seed=seed)}


def _catalog_name(train) -> str:
    """The planet catalog the rows come from, from the first row's provenance (source and file name)."""
    entries = train[0]["provenance"] if len(train) else []
    first = entries[0] if entries else {}
    return " ".join(x for x in (first.get("source", ""), first.get("file", "")) if x) or "unknown catalog"


def _protocols(spec_extra: dict[str, Any], asked: str | None) -> tuple[str, str]:
    trained = (spec_extra.get("protocol") or {}).get("name", "full")
    protocol = check_protocol(asked or trained)
    if not can_evaluate(trained, protocol):
        raise EvaluationError(f"the dataset was prepared with protocol {trained!r}: its inputs lack "
                              f"{list(removed_columns(trained))}, so it cannot be evaluated under {protocol!r}")
    return trained, protocol


def evaluate(model_dir: str | Path, dataset_dir: str | Path, *, split: str = "test", protocol: str | None = None,
             out_dir: str | Path | None = None, ablations: bool = True, n_resamples: int = 200, seed: int = 0,
             model: Any = None) -> dict[str, Any]:
    """Evaluate the checkpoint in ``model_dir`` on ``split`` of the prepared dataset (see the module docstring)."""
    started = time.perf_counter()
    model_dir, dataset_dir = Path(model_dir), Path(dataset_dir)
    splits, spec = load_multimodal_dataset(dataset_dir)
    for needed in ("train", split):
        if needed not in splits:
            raise EvaluationError(f"{dataset_dir} has no {needed!r} split (it has {sorted(splits)}); the baselines "
                                  "are fitted on 'train' and everything is scored on the named split")
    trained_protocol, protocol = _protocols(spec.extra, protocol)
    drop = removed_columns(protocol)
    train, test = split_rows(splits["train"], spec, "train"), split_rows(splits[split], spec, split)
    if len(test) == 0:
        raise EvaluationError(f"split {split!r} of {dataset_dir} holds no labelled planet")

    if model is None:
        from ..models import AstroMultimodalModel

        model = AstroMultimodalModel.from_pretrained(model_dir)
    if list(model.config.planet_param_names) != list(spec.planet_param_names):
        raise EvaluationError(f"{model_dir} reads planet_params {list(model.config.planet_param_names)} but "
                              f"{dataset_dir} holds {list(spec.planet_param_names)}: evaluate a checkpoint on a "
                              "dataset prepared like its training data")
    # test-time withholding: hide the removed columns and what the dataset made from them
    base_remove = hidden_modalities(trained_protocol, protocol,
                                    searched_light_curves=bool(spec.light_curve_feature_names))
    counts = modality_counts(splits[split], test.indices)
    saved = checkpoint_spec(model_dir)  # the checkpoint's input scaling (fitted on its own train split)
    spec = with_scaling(spec, scaling_of(saved) if saved is not None else None)
    predictions = [model_predictions(model, splits[split], spec, test.indices, remove=base_remove,
                                     hide_columns=drop, name="multimodal model")]
    threshold = float(getattr(model.config, "habitability_threshold", 0.5))
    predictions[0].threshold = threshold
    # the baselines' thresholds come from the same validation split as the model's (when the dataset has one)
    validation = (split_rows(splits["validation"], spec, "validation")
                  if "validation" in splits and split != "validation" else None)
    predictions += run_baselines(train, test, drop, seed, validation=validation)
    if ablations:
        for modality in MODALITIES:
            if modality in base_remove or counts.get(modality, 0) == 0:
                continue
            predictions.append(ablation_predictions(model, splits[split], spec, test.indices, predictions[0],
                                                    modality, remove=base_remove, hide_columns=drop))
    methods = [_score(test, p, n_resamples, seed) for p in predictions]
    positives = int(test.habitability.sum())
    results: dict[str, Any] = {
        "split": split,
        "protocol": {**describe_protocol(protocol), "dataset_prepared_with": trained_protocol},
        "dataset": dataset_dir.name,
        "dataset_name": _catalog_name(splits["train"]),
        "model": model_dir.name,
        "weights_fingerprint": weights_fingerprint(model_dir),  # the model card drops results of other weights
        "rows": {"labelled": len(test), "hosts": len(set(test.hosts)), "habitable": positives,
                 "positive_rate": positives / len(test), "train_labelled": len(train),
                 "train_habitable": int(train.habitability.sum()), "modalities_present": counts},
        "splits": {k: v for k, v in (spec.extra.get("splits") or {}).items() if k != "host_to_split"},
        "bootstrap": {"resamples": n_resamples, "unit": "host star", "level": 0.95, "seed": seed},
        "methods": methods,
        "threshold": threshold,
        "thresholds": {p.method: float(p.threshold) for p in predictions if not p.method.startswith("model w")},
        "threshold_rule": "model: the habitability_threshold of its config (chosen on validation by train.py); "
                          "logistic_regression, hist_gradient_boosting, trees_temperate_x_rocky: max F1 on the "
                          "validation split",
    }
    out = Path(out_dir) if out_dir is not None else model_dir / "evaluation" / f"{split}_{protocol}"
    paths = write_results(results, out)
    curves = {p.method: (test.habitability, p.probability) for p in predictions if not p.method.startswith("model w")}
    figure = write_figure(curves, positives / len(test), out / "figure.png",
                          f"{model_dir.name} on {dataset_dir.name}, split {split}, protocol {protocol}")
    results["files"] = {"json": paths["json"].name, "markdown": paths["markdown"].name, "figure": figure.name}
    results["seconds"] = round(time.perf_counter() - started, 2)
    write_results(results, out)
    return results


__all__ = ["evaluate", "EvaluationError"]
