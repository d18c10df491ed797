"""After training: choose the habitability decision threshold on the eval (validation) split and store it in the
model config (`habitability_threshold`), which predict, the pipeline, evaluate and the card read."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.multimodal_schema import UNLABELLED
from ..evaluation.threshold import ThresholdChoice, choose_threshold


def habitable_probability(logits: np.ndarray) -> np.ndarray:
    """P(habitable) from the habitability head's two logits."""
    logits = np.asarray(logits, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(logits[:, 0] - logits[:, 1]))


def set_validation_threshold(trainer: Any, eval_dataset: Any) -> ThresholdChoice:
    """Predict the eval split with the trained (best) weights, choose the max-F1 threshold, write it to the config."""
    output = trainer.predict(eval_dataset, metric_key_prefix="threshold")
    labels = np.asarray(output.label_ids[0]).reshape(-1)
    keep = labels != UNLABELLED
    choice = choose_threshold(labels[keep], habitable_probability(output.predictions[0])[keep])
    trainer.accelerator.unwrap_model(trainer.model).config.habitability_threshold = choice.threshold
    return choice


__all__ = ["set_validation_threshold", "habitable_probability"]
