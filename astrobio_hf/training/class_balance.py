"""Class weights for the rare habitable class (and the three hz_class bands) from a train split's labels.

What it is for: 10 habitable planets among 3,271 labelled training planets; unweighted cross-entropy learns to say
"not habitable" and stops. ``balanced`` gives class c the weight ``N / (K * n_c)`` (scikit-learn's
``class_weight="balanced"``, which the tree and logistic baselines use too), ``sqrt`` its square root (a milder
correction), ``none`` no weights. Unlabelled rows (-100) are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CLASS_WEIGHTINGS: tuple[str, ...] = ("balanced", "sqrt", "none")


def class_weights(labels: Sequence[int] | np.ndarray, num_classes: int, weighting: str = "balanced"
                  ) -> list[float] | None:
    """Per-class weights from ``labels`` (None for ``none``, or when a class is absent: nothing to balance)."""
    if weighting not in CLASS_WEIGHTINGS:
        raise ValueError(f"class weighting must be one of {CLASS_WEIGHTINGS}, got {weighting!r}")
    labels = np.asarray(labels, dtype=int)
    labels = labels[(labels >= 0) & (labels < num_classes)]
    counts = np.bincount(labels, minlength=num_classes).astype(float)
    if weighting == "none" or labels.size == 0 or (counts == 0).any():
        return None
    weights = labels.size / (num_classes * counts)
    if weighting == "sqrt":
        weights = np.sqrt(weights)
    return [float(w) for w in weights]


__all__ = ["class_weights", "CLASS_WEIGHTINGS"]
