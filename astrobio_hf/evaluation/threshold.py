"""The decision threshold on P(habitable), chosen on a validation split (never on the rows it is scored on).

A fixed 0.5 means nothing for a class-weighted or rare-class model: its probabilities are not calibrated to the
prior. The threshold is the one with the best F1 on the validation rows; it is placed halfway (in log-odds) between
the lowest validation score it calls habitable and the next lower score, so that it does not sit on a training
example's own score. With no habitable planet in the validation rows there is nothing to choose from: 0.5 is kept
and the reason recorded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

DEFAULT_THRESHOLD = 0.5
_EPS = 1e-7


@dataclass(frozen=True)
class ThresholdChoice:
    """A threshold, the validation F1 it reached and on how many rows / positives it was chosen."""

    threshold: float
    validation_f1: float
    rows: int
    positives: int
    rule: str = "max F1 on validation, midpoint in log-odds"

    def to_dict(self) -> dict:
        return asdict(self)


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def choose_threshold(y: np.ndarray, probability: np.ndarray) -> ThresholdChoice:
    """The max-F1 threshold on validation rows ``y`` (0/1) with scores ``probability``."""
    y = np.asarray(y, dtype=int)
    probability = np.asarray(probability, dtype=float)
    positives = int(y.sum())
    if positives == 0 or positives == y.size:
        return ThresholdChoice(DEFAULT_THRESHOLD, float("nan"), int(y.size), positives,
                               "kept 0.5: the validation rows hold one class only")
    scores = np.unique(probability)[::-1]  # candidate cut points, highest first
    order = np.argsort(-probability, kind="mergesort")
    sorted_p, sorted_y = probability[order], y[order]
    # predicted positive = score >= candidate: the counts at each candidate are cumulative sums up to its last tie
    last = np.searchsorted(-sorted_p, -scores, side="right") - 1
    tp = np.cumsum(sorted_y)[last]
    predicted = last + 1
    f1 = 2 * tp / (predicted + positives)
    best = int(np.argmax(f1))  # the first maximum: the highest threshold among equals (fewest false alarms)
    upper = scores[best]
    lower = scores[best + 1] if best + 1 < len(scores) else 0.0
    midpoint = float(1 / (1 + np.exp(-(_logit(upper) + _logit(max(lower, _EPS))) / 2)))
    threshold = float(np.clip(min(midpoint, upper), _EPS, 1 - _EPS))  # the config keeps it inside (0, 1)
    return ThresholdChoice(float(threshold), float(f1[best]), int(y.size), positives)


__all__ = ["ThresholdChoice", "choose_threshold", "DEFAULT_THRESHOLD"]
