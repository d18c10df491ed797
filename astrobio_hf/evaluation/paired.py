"""Paired differences between two methods scored on the same rows, with host-bootstrap intervals.

"A beats B" needs the interval of A - B, not two overlapping marginal intervals: both methods are scored on the
same resampled hosts in each replicate (their errors are correlated through the planets they share), and the
percentile interval of the difference is reported. An interval above 0 means A is better on that metric (below 0
for ECE, where lower is better).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .bootstrap import bootstrap_intervals

Metrics = Callable[[np.ndarray], dict[str, float]]


def paired_difference(hosts: Sequence[str], metrics_a: Metrics, metrics_b: Metrics, n_resamples: int = 200,
                      seed: int = 0, level: float = 0.95) -> dict[str, dict[str, float]]:
    """``{metric: {"difference", "low", "high", "replicates"}}`` for A - B over the same host resamples."""

    def difference(rows: np.ndarray) -> dict[str, float]:
        a, b = metrics_a(rows), metrics_b(rows)
        return {key: a[key] - b[key] for key in a if key in b}

    everything = np.arange(len(hosts))
    point = difference(everything)
    intervals = bootstrap_intervals(hosts, difference, n_resamples=n_resamples, seed=seed, level=level)
    return {key: {"difference": float(point[key]), **intervals[key]} for key in point if key in intervals}


__all__ = ["paired_difference"]
