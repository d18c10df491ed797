"""`cross_validate(dataset_dir, folds=5)`: out-of-fold evaluation of the training recipe and every baseline.

With 15 habitable planets in the whole catalog a fixed test split (2 of them) resolves no difference between
methods. Here every labelled planet of the prepared dataset (all its splits pooled) is scored once, out of fold:
- folds are grouped by host star and stratified on the habitable label (:mod:`.folds`, seeded);
- for each test fold the multimodal model is retrained from scratch with the recipe (:mod:`.fold_training`) on the
  K - 2 training folds, its checkpoint and decision threshold chosen on the validation fold; every baseline is fitted
  on the same training folds and thresholded on the same validation fold;
- metrics are computed on the pooled out-of-fold predictions (each planet decided at its own fold's threshold) with
  95% host-bootstrap intervals, and each claim "model beats baseline" is a paired difference over the same
  resampled hosts (:mod:`.paired`); modality ablations rerun each fold's model without one modality.
Writes ``results.json``, ``results.md`` and ``figure.png`` under ``MODEL/evaluation/cv{K}_{protocol}`` (or
``out_dir``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from ..data.multimodal_schema import UNLABELLED, load_multimodal_dataset
from ..data.protocols import describe_protocol, removed_columns
from ..models.multimodal.configuration_multimodal import MODALITIES
from ..sharing.fingerprint import weights_fingerprint
from .baselines import Predictions, run_baselines
from .bootstrap import bootstrap_intervals
from .fold_training import describe_recipe, recipe_dict, train_fold_model
from .folds import host_folds, outer_folds
from .metrics import habitability_metrics
from .model_eval import ablation_predictions, modality_flags, model_predictions
from .paired import paired_difference
from .report import write_figure, write_results
from .rows import SplitRows, split_rows

MODEL = "multimodal model"
#: metrics whose paired differences the tables show
PAIRED_KEYS: tuple[str, ...] = ("hz_macro_f1", "pr_auc", "f1", "balanced_accuracy", "roc_auc")


def pooled_rows(dataset_dir: Path) -> tuple[datasets.Dataset, Any, SplitRows]:
    """Every labelled row of every split of a prepared dataset, its spec, and the rows as arrays."""
    splits, spec = load_multimodal_dataset(dataset_dir)
    everything = datasets.concatenate_datasets([splits[name] for name in sorted(splits)])
    labels = np.asarray(everything.with_format("numpy", columns=["habitability"])[:]["habitability"])
    rows = everything.select(np.flatnonzero(labels != UNLABELLED))
    return rows, spec, split_rows(rows, spec, "all")


def _recipe_of(model_dir: Path | None) -> dict[str, Any] | None:
    import json

    info = model_dir / "run_info.json" if model_dir is not None else None
    if info is None or not info.is_file():
        return None
    return ((json.loads(info.read_text()).get("card") or {}).get("recipe")) or None


def train_and_score_fold(dataset_dir: Path, assignment: np.ndarray, fold: int, recipe: dict[str, Any],
                         threads: int | None = None):
    """Train the recipe on one outer fold and score its test part: (rows, pooled SplitRows, the fold's split, the
    trained FoldModel, the model's test predictions at its validation threshold). Reads the dataset from disk
    itself, so folds can run in separate worker processes."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    rows, spec, everything = pooled_rows(dataset_dir)
    split = outer_folds(assignment)[fold]
    trained = train_fold_model(rows, split.train, split.validation, spec, recipe)
    model_pred = model_predictions(trained.model, rows, trained.spec, split.test, name=MODEL)
    model_pred.threshold = trained.model.config.habitability_threshold
    return rows, everything, split, trained, model_pred


def run_fold(dataset_dir: Path, assignment: np.ndarray, fold: int, recipe: dict[str, Any], drop: tuple[str, ...],
             seed: int, ablations: tuple[str, ...], threads: int | None = None
             ) -> tuple[np.ndarray, list[Predictions], dict[str, Any]]:
    """One outer fold: train the model, fit the baselines, predict the test fold (and the ablations)."""
    rows, everything, split, trained, model_pred = train_and_score_fold(dataset_dir, assignment, fold, recipe,
                                                                        threads)
    predictions = [model_pred]
    predictions += run_baselines(everything.subset(split.train, "train"), everything.subset(split.test, "test"),
                                 drop, seed, validation=everything.subset(split.validation, "validation"))
    predictions += [ablation_predictions(trained.model, rows, trained.spec, split.test, model_pred, m)
                    for m in ablations]
    test_positive = split.test[everything.habitability[split.test] == 1]
    record = {
        "fold": fold, "train": len(split.train), "validation": len(split.validation), "test": len(split.test),
        "test_hosts": len({everything.hosts[i] for i in split.test}),
        "habitable": {"train": int(everything.habitability[split.train].sum()),
                      "validation": int(everything.habitability[split.validation].sum()),
                      "test": len(test_positive)},
        "test_habitable_planets": [everything.planet_names[i] for i in test_positive],
        "thresholds": {p.method: float(np.asarray(p.threshold).mean()) for p in predictions
                       if not p.method.startswith("model without")},
        "model": {"best_validation_task_score": trained.best_metric, "epochs": trained.epochs,
                  "seconds": round(trained.seconds, 1), "threshold_choice": trained.threshold.to_dict()},
    }
    return split.test, predictions, record


def _map(function: Callable, jobs: list[dict[str, Any]], workers: int):
    """Results of ``function(**job)`` in completion order: in this process, or in ``workers`` spawned processes
    (spawn, not fork: a forked copy of a process that already ran torch's thread pools can deadlock)."""
    if workers <= 1:
        for job in jobs:
            yield function(**job)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for future in as_completed([pool.submit(function, **job) for job in jobs]):
            yield future.result()


def _pool(per_fold: list[tuple[np.ndarray, Predictions]], n: int) -> Predictions:
    """One method's fold predictions placed at their rows (each row is in exactly one test fold)."""
    probability, hz, threshold = np.full(n, np.nan), np.full(n, -1, dtype=int), np.full(n, np.nan)
    for test, pred in per_fold:
        probability[test], hz[test], threshold[test] = pred.probability, pred.hz_class, pred.threshold
    if np.isnan(probability).any():
        raise RuntimeError("a row was scored in no fold")  # the fold assignment covers every row
    return Predictions(per_fold[0][1].method, probability, hz, threshold)


def _scorer(rows: SplitRows, pred: Predictions) -> Callable[[np.ndarray], dict[str, float]]:
    threshold = np.broadcast_to(np.asarray(pred.threshold, dtype=float), pred.probability.shape)

    def compute(index: np.ndarray) -> dict[str, float]:
        return habitability_metrics(rows.habitability[index], pred.probability[index], rows.hz_class[index],
                                    pred.hz_class[index], threshold=threshold[index])

    return compute


def cross_validate(dataset_dir: str | Path, *, model_dir: str | Path | None = None,
                   recipe: str | Path | dict[str, Any] | None = None, folds: int = 5, seed: int = 0,
                   n_resamples: int = 200, ablations: bool = True, out_dir: str | Path | None = None,
                   workers: int = 1, threads: int | None = None, log: Callable[[str], None] = print
                   ) -> dict[str, Any]:
    """Out-of-fold evaluation of the recipe (``recipe``, else the one recorded with ``model_dir``); ``workers``
    processes train folds side by side, each with ``threads`` torch threads (default: torch's)."""
    started = time.perf_counter()
    dataset_dir = Path(dataset_dir)
    model_dir = Path(model_dir) if model_dir is not None else None
    recipe = recipe if recipe is not None else _recipe_of(model_dir)
    if recipe is None:
        raise ValueError("cross-validation retrains the model per fold and needs its recipe: pass --recipe FILE "
                         f"({model_dir or 'no model'} records none in run_info.json)")
    recipe = recipe_dict(recipe)
    rows, spec, everything = pooled_rows(dataset_dir)
    protocol = (spec.extra.get("protocol") or {}).get("name", "full")
    drop = removed_columns(protocol)
    assignment = host_folds(everything.hosts, everything.habitability, folds, seed)

    # every fold runs the same ablations: the modalities some labelled planet carries
    ablate = tuple(m for m in MODALITIES if ablations and modality_flags(rows, np.arange(len(rows)), m).any())
    jobs = [dict(dataset_dir=dataset_dir, assignment=assignment, fold=f, recipe=recipe, drop=drop, seed=seed,
                 ablations=ablate, threads=threads) for f in range(folds)]
    pooled: dict[str, list[tuple[np.ndarray, Predictions]]] = {}
    fold_records: list[dict[str, Any]] = []
    for test, predictions, record in _map(run_fold, jobs, workers):
        for pred in predictions:
            pooled.setdefault(pred.method, []).append((test, pred))
        fold_records.append(record)
        model = record["model"]
        log(f"fold {record['fold'] + 1}/{folds}: {record['test']} test planets ({record['habitable']['test']} "
            f"habitable), model trained {model['epochs']:.0f} epochs in {model['seconds']:.0f} s, threshold "
            f"{model['threshold_choice']['threshold']:.3g}")
    fold_records.sort(key=lambda r: r["fold"])

    n = len(everything)
    methods = [_pool(per_fold, n) for per_fold in pooled.values()]
    scorers = {p.method: _scorer(everything, p) for p in methods}
    results: dict[str, Any] = {
        "split": f"cv{folds}",
        "split_description": f"pooled out-of-fold predictions of {folds} host-grouped folds (every labelled planet "
                             "of every split scored once)",
        "protocol": {**describe_protocol(protocol), "dataset_prepared_with": protocol},
        "dataset": dataset_dir.name,
        "model": model_dir.name if model_dir is not None else None,
        # the run these folds retrained: the model card keeps this result while that run's weights are in the folder
        "weights_fingerprint": weights_fingerprint(model_dir) if model_dir is not None else None,
        "rows": {"labelled": n, "hosts": len(set(everything.hosts)), "habitable": int(everything.habitability.sum()),
                 "positive_rate": float(everything.habitability.mean())},
        "cross_validation": {"folds": folds, "seed": seed, "grouping": "host star", "stratified_on": "habitability",
                             "validation": "fold (k + 1) mod K: early stopping, checkpoint, threshold",
                             "per_fold": fold_records},
        "recipe": describe_recipe(recipe),
        "bootstrap": {"resamples": n_resamples, "unit": "host star", "level": 0.95, "seed": seed},
        "threshold": "per fold, chosen on its validation fold (max F1); see cross_validation.per_fold",
        "methods": [{"name": p.method, "metrics": scorers[p.method](np.arange(n)),
                     "ci": bootstrap_intervals(everything.hosts, scorers[p.method], n_resamples, seed)}
                    for p in methods],
        "paired": [{"a": MODEL, "b": p.method, "differences": paired_difference(
                        everything.hosts, scorers[MODEL], scorers[p.method], n_resamples, seed)}
                   for p in methods if p.method != MODEL and p.method != "majority"],
    }
    out = Path(out_dir) if out_dir is not None else (model_dir or dataset_dir) / "evaluation" / f"cv{folds}_{protocol}"
    paths = write_results(results, out)
    curves = {p.method: (everything.habitability, p.probability) for p in methods
              if not p.method.startswith("model w")}
    figure = write_figure(curves, results["rows"]["positive_rate"], out / "figure.png",
                          f"{dataset_dir.name}: {folds}-fold out-of-fold, protocol {protocol}, seed {seed}")
    results["files"] = {"json": paths["json"].name, "markdown": paths["markdown"].name, "figure": figure.name}
    results["seconds"] = round(time.perf_counter() - started, 1)
    write_results(results, out)
    return results


__all__ = ["cross_validate", "pooled_rows", "PAIRED_KEYS"]
