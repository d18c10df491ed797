"""Evaluation metrics of the multimodal model during training, on labelled planets only.

Besides accuracy they report what checkpoint choice and early stopping need on a rare class: habitable PR-AUC
(average precision, threshold-free), hz_class macro-F1, and their mean, ``task_score`` (``metric_for_best_model:
task_score``): the summed loss is dominated by terms that barely move and is blind to the task.
"""

from __future__ import annotations

import numpy as np
from transformers import EvalPrediction

from ..data.multimodal_schema import UNLABELLED
from ..evaluation.metrics import average_precision, macro_f1, roc_auc


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def habitability_metrics(prediction: EvalPrediction, threshold: float = 0.5) -> dict[str, float]:
    """Metrics over labelled planets; a metric undefined on the rows (one class present) is NaN."""
    habitability_logits, hz_class_logits = prediction.predictions
    habitability, hz_class = prediction.label_ids
    metrics: dict[str, float] = {}
    labelled = habitability != UNLABELLED
    metrics["habitability_labelled"] = float(labelled.sum())
    pr_auc = hz_f1 = float("nan")
    if labelled.any():
        y = habitability[labelled].astype(int)
        probability = _softmax(habitability_logits[labelled].astype(np.float64))[:, 1]
        predicted = probability >= threshold
        tp = int((predicted & (y == 1)).sum())
        metrics["habitability_accuracy"] = float((predicted == (y == 1)).mean())
        metrics["habitability_f1"] = float(2 * tp / max(int(predicted.sum()) + int(y.sum()), 1))
        metrics["habitability_roc_auc"] = roc_auc(y, probability)
        pr_auc = metrics["habitability_pr_auc"] = average_precision(y, probability)
    labelled = hz_class != UNLABELLED
    if labelled.any():
        predicted_hz = hz_class_logits[labelled].argmax(-1)
        metrics["hz_class_accuracy"] = float((hz_class[labelled] == predicted_hz).mean())
        hz_f1 = metrics["hz_class_macro_f1"] = macro_f1(hz_class[labelled], predicted_hz)
    defined = [v for v in (pr_auc, hz_f1) if v == v]
    metrics["task_score"] = float(np.mean(defined)) if defined else float("nan")
    return metrics


__all__ = ["habitability_metrics"]
