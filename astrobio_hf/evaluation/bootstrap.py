"""95% bootstrap intervals of the metrics, resampling host stars (planets of one system move together).

Why hosts: planets of one star share its stellar columns and often its light curve, so they are not independent
draws; resampling planets would give intervals that are too narrow. Each replicate draws as many hosts as the split
holds, with replacement, and takes all their labelled planets (a host drawn twice counts twice). Replicates in which a
metric is undefined (say, no habitable planet drawn) are left out of that metric's interval; the number kept is
reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .metrics import METRIC_KEYS


def host_index(hosts: Sequence[str]) -> list[np.ndarray]:
    """Row indices of each distinct host, hosts in sorted order."""
    groups: dict[str, list[int]] = {}
    for i, host in enumerate(hosts):
        groups.setdefault(host, []).append(i)
    return [np.asarray(groups[h]) for h in sorted(groups)]


def bootstrap_intervals(hosts: Sequence[str], compute: Callable[[np.ndarray], dict[str, float]],
                        n_resamples: int = 200, seed: int = 0, level: float = 0.95) -> dict[str, dict[str, float]]:
    """``{metric: {"low", "high", "replicates"}}``: percentile intervals of ``compute(rows)`` over host resamples."""
    groups = host_index(hosts)
    rng = np.random.default_rng(seed)
    values: dict[str, list[float]] = {k: [] for k in METRIC_KEYS}
    for _ in range(n_resamples):
        draw = rng.integers(0, len(groups), len(groups))
        rows = np.concatenate([groups[g] for g in draw]) if len(groups) else np.zeros(0, dtype=int)
        for key, value in compute(rows).items():
            if key in values and value == value:  # NaN: undefined on this replicate
                values[key].append(float(value))
    tail = (1.0 - level) / 2 * 100
    return {key: {"low": float(np.percentile(v, tail)), "high": float(np.percentile(v, 100 - tail)),
                  "replicates": len(v)} if v else {"low": float("nan"), "high": float("nan"), "replicates": 0}
            for key, v in values.items()}


__all__ = ["bootstrap_intervals", "host_index"]
