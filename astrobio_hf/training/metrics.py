"""Evaluation metrics: habitability accuracy/F1/ROC-AUC and hz_class accuracy, ignoring unlabelled planets."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from transformers import EvalPrediction

from ..data.multimodal_schema import UNLABELLED


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def habitability_metrics(prediction: EvalPrediction) -> dict[str, float]:
    """Metrics over labelled planets; ROC-AUC is NaN when the labelled set holds one class only."""
    habitability_logits, hz_class_logits = prediction.predictions
    habitability, hz_class = prediction.label_ids
    metrics: dict[str, float] = {}
    labelled = habitability != UNLABELLED
    metrics["habitability_labelled"] = float(labelled.sum())
    if labelled.any():
        y = habitability[labelled]
        probability = _softmax(habitability_logits[labelled])[:, 1]
        predicted = (probability >= 0.5).astype(int)
        metrics["habitability_accuracy"] = float(accuracy_score(y, predicted))
        metrics["habitability_f1"] = float(f1_score(y, predicted, zero_division=0))
        metrics["habitability_roc_auc"] = float(roc_auc_score(y, probability)) if len(set(y)) == 2 else float("nan")
    labelled = hz_class != UNLABELLED
    if labelled.any():
        metrics["hz_class_accuracy"] = float(accuracy_score(hz_class[labelled], hz_class_logits[labelled].argmax(-1)))
    return metrics


__all__ = ["habitability_metrics"]
