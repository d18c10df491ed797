"""Metrics for a rare positive class (habitable planets) and the three-way hz_class, on labelled planets only.

The headline is not accuracy: with 0.3% habitable planets, "never habitable" is 99.7% accurate. Reported instead:
balanced accuracy, precision / recall / F1 of the habitable class, PR-AUC (average precision; its chance level is
the positive rate, reported beside it), ROC-AUC, hz_class macro-F1, and the expected calibration error of the
habitable probability. A metric that is undefined on the rows (ROC-AUC with one class present) is NaN, never 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

#: Metric keys in the order tables show them; the first is the headline.
METRIC_KEYS: tuple[str, ...] = ("balanced_accuracy", "f1", "precision", "recall", "pr_auc", "positive_rate",
                                "roc_auc", "hz_macro_f1", "ece", "accuracy")
ECE_BINS = 10


def binary_counts(y: np.ndarray, predicted: np.ndarray) -> tuple[int, int, int, int]:
    """(true positives, false positives, false negatives, true negatives)."""
    y, predicted = np.asarray(y).astype(bool), np.asarray(predicted).astype(bool)
    return (int((y & predicted).sum()), int((~y & predicted).sum()), int((y & ~predicted).sum()),
            int((~y & ~predicted).sum()))


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else float("nan")


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve as the Mann-Whitney statistic (ties count one half): equal to sklearn's
    ``roc_auc_score``. Written out, like :func:`average_precision`, because the host bootstrap calls it thousands
    of times and sklearn's input validation alone costs more than the computation."""
    y = np.asarray(y).astype(bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    """Average precision as sklearn defines it (``sum_n (R_n - R_{n-1}) P_n`` over the distinct score thresholds,
    highest first); NaN with no positive."""
    y = np.asarray(y).astype(bool)
    if not y.any():
        return float("nan")
    order = np.argsort(-np.asarray(score, dtype=float), kind="mergesort")
    sorted_score, sorted_y = np.asarray(score, dtype=float)[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(sorted_score)), len(sorted_y) - 1]  # last index of each threshold
    tps = np.cumsum(sorted_y)[last]
    precision = tps / (last + 1)
    recall = tps / y.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def macro_f1(y: np.ndarray, predicted: np.ndarray) -> float:
    """Mean F1 over the classes present in ``y`` (as sklearn's ``f1_score(average="macro", labels=present,
    zero_division=0)``; written out because the bootstrap calls it thousands of times and sklearn's input
    validation costs 20 ms a call)."""
    scores = []
    for c in np.unique(y):
        tp, fp, fn, _ = binary_counts(y == c, predicted == c)
        scores.append(_ratio(2 * tp, 2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else float("nan")


def expected_calibration_error(y: np.ndarray, probability: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE of the positive-class probability: sum over equal-width bins of |mean p - positive fraction| x share."""
    y, probability = np.asarray(y, dtype=float), np.asarray(probability, dtype=float)
    if y.size == 0:
        return float("nan")
    index = np.minimum((probability * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        here = index == b
        if here.any():
            total += here.mean() * abs(probability[here].mean() - y[here].mean())
    return float(total)


def habitability_metrics(y: Sequence[int], probability: Sequence[float], hz_true: Sequence[int] | None = None,
                         hz_predicted: Sequence[int] | None = None, threshold: float = 0.5) -> dict[str, float]:
    """The metrics of :data:`METRIC_KEYS` for labelled rows (``y`` in {0, 1}; hz arrays may hold -100 = none)."""
    y = np.asarray(y, dtype=int)
    probability = np.asarray(probability, dtype=float)
    predicted = probability >= threshold
    tp, fp, fn, tn = binary_counts(y, predicted)
    recall = _ratio(tp, tp + fn)
    specificity = _ratio(tn, tn + fp)
    precision = _ratio(tp, tp + fp)
    both = len(set(y.tolist())) == 2
    out = {
        "balanced_accuracy": (recall + specificity) / 2 if both else float("nan"),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "precision": precision,
        "recall": recall,
        "pr_auc": average_precision(y, probability),
        "positive_rate": float(y.mean()) if y.size else float("nan"),
        "roc_auc": roc_auc(y, probability),
        "hz_macro_f1": float("nan"),
        "ece": expected_calibration_error(y, probability),
        "accuracy": float((predicted == y.astype(bool)).mean()) if y.size else float("nan"),
    }
    if hz_true is not None and hz_predicted is not None:
        hz_true, hz_predicted = np.asarray(hz_true), np.asarray(hz_predicted)
        keep = hz_true >= 0
        if keep.any():
            out["hz_macro_f1"] = macro_f1(hz_true[keep], hz_predicted[keep])
    return out


def is_number(value: float) -> bool:
    return isinstance(value, (int, float)) and not math.isnan(value)


__all__ = ["METRIC_KEYS", "habitability_metrics", "macro_f1", "roc_auc", "average_precision", "expected_calibration_error", "binary_counts", "is_number"]
