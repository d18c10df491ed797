"""Train the multimodal model of one cross-validation fold, in process, with a train.py recipe.

The same pieces as `train.py`: the recipe's arguments (`parse_train_args`), the task (`multimodal_task`: planet_params
scaling fitted on the fold's train rows, class weights from their labels), `AstroTrainer` with the recipe's callbacks
(early stopping and the kept checkpoint chosen on the fold's validation rows), and the decision threshold chosen on
those rows afterwards. Checkpoints go to a temporary folder that is removed with the fold.
"""

from __future__ import annotations

import json
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import yaml

from ..data.collator import ArrowBatches
from ..data.multimodal_schema import MultimodalSpec
from ..training.callbacks import build_callbacks
from ..training.cli_args import parse_train_args
from ..training.decision_threshold import set_validation_threshold
from ..training.tasks import multimodal_task
from ..training.trainer import AstroTrainer
from .threshold import ThresholdChoice

#: recipe keys a fold overrides: where it writes, what it reads, what it reports
_FOLD_OVERRIDES = ("output_dir", "dataset_path", "push_to_hub", "hub_model_id", "report_to", "resume_from_checkpoint",
                   "model_name_or_path", "do_train", "do_eval", "max_train_samples", "max_eval_samples")


@dataclass
class FoldModel:
    """A fold's trained model (best checkpoint, eval mode), the spec it reads with, and what training recorded."""

    model: Any
    spec: MultimodalSpec
    threshold: ThresholdChoice
    best_metric: float | None
    epochs: float
    seconds: float


def recipe_dict(recipe: str | Path | dict[str, Any]) -> dict[str, Any]:
    """A recipe file (YAML/JSON) or mapping as a dict without the keys a fold sets itself."""
    if not isinstance(recipe, dict):
        from ..training.cli_args import load_recipe

        recipe = load_recipe(recipe)
    return {k: v for k, v in recipe.items() if k not in _FOLD_OVERRIDES}


def fold_arguments(recipe: dict[str, Any], output_dir: Path):
    """(model arguments, training arguments) of a fold from a recipe dict."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        yaml.safe_dump({**recipe, "model_type": "multimodal"}, handle)
    try:
        model_args, _, args = parse_train_args([handle.name, "--output_dir", str(output_dir), "--report_to", "none",
                                                "--disable_tqdm", "true", "--log_level", "error"])
    finally:
        Path(handle.name).unlink(missing_ok=True)
    if model_args.model_type != "multimodal":
        raise ValueError(f"cross-validation trains the multimodal model; the recipe says {model_args.model_type!r}")
    return model_args, args


def train_fold_model(rows: datasets.Dataset, train_index, validation_index, spec: MultimodalSpec,
                     recipe: dict[str, Any]) -> FoldModel:
    """Train on ``rows[train_index]``, choose the checkpoint and the threshold on ``rows[validation_index]``."""
    from transformers import PrinterCallback, set_seed

    from ..training.callbacks import ProgressLineCallback

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="astrobio-fold-") as workdir:
        model_args, args = fold_arguments(recipe, Path(workdir))
        set_seed(args.seed)
        validation = ArrowBatches(rows.select(validation_index))
        task = multimodal_task(model_args, rows.select(train_index), validation, spec)
        trainer = AstroTrainer(model=task.model, args=args, train_dataset=task.train_dataset,
                               eval_dataset=task.eval_dataset, data_collator=task.data_collator,
                               compute_metrics=task.compute_metrics, callbacks=build_callbacks(args),
                               prediction_fields=task.prediction_fields)
        for quiet in (PrinterCallback, ProgressLineCallback):  # ten folds would print thousands of lines
            trainer.remove_callback(quiet)
        trainer.label_names = task.label_names
        with _quiet_saves():
            trainer.train()
        threshold = set_validation_threshold(trainer, task.eval_dataset)
        model = trainer.accelerator.unwrap_model(trainer.model).eval()
        state = trainer.state
    return FoldModel(model, task.spec, threshold, state.best_metric, float(state.epoch or 0.0),
                     time.perf_counter() - started)


@contextmanager
def _quiet_saves():
    """No "Writing model shards" bar for each of a fold's checkpoints (restored afterwards)."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def describe_recipe(recipe: dict[str, Any]) -> dict[str, Any]:
    """The recipe as results.json records it (JSON values only)."""
    return json.loads(json.dumps(recipe, default=str))


__all__ = ["FoldModel", "train_fold_model", "recipe_dict", "fold_arguments", "describe_recipe"]
