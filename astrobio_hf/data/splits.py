"""Train / validation / test splits by host star: every planet of one host lands in the same split.

Why by host: planets of one system share the stellar columns (Teff, radius, mass, distance, metallicity) and often
their light curve and stellar spectrum; splitting planets independently would put near-copies of a validation
input into training.

Rule (seeded, deterministic): the distinct host keys are sorted, shuffled with ``numpy.random.default_rng(seed)``,
and taken one by one; each host goes to the split that is furthest below its target share of planets
(``fractions`` x planets assigned so far, ties to the earlier split). With at least as many hosts as splits,
every split with a positive fraction gets at least one host.

Stratified (``positives`` given, one flag per planet): hosts with at least one positive planet (the rare habitable
class) are assigned first, by the same rule among themselves, then the other hosts, each split's targets counting
what it already holds. With at least as many positive hosts as splits, every split gets a positive planet.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

DEFAULT_SPLITS: tuple[str, ...] = ("train", "validation", "test")
DEFAULT_FRACTIONS: tuple[float, ...] = (0.8, 0.1, 0.1)


def assign_host_splits(host_keys: Sequence[str], seed: int = 0,
                       fractions: Sequence[float] = DEFAULT_FRACTIONS,
                       split_names: Sequence[str] = DEFAULT_SPLITS,
                       positives: Sequence[bool] | None = None) -> dict[str, str]:
    """``host key -> split name`` for the hosts of ``host_keys`` (one entry per planet, hosts repeated);
    ``positives`` (one flag per planet) stratifies by hosts holding a positive planet (see the module docstring)."""
    if len(fractions) != len(split_names):
        raise ValueError(f"{len(fractions)} split fractions for {len(split_names)} splits {tuple(split_names)}")
    weights = np.asarray(fractions, dtype=np.float64)
    if np.any(weights < 0) or not weights.sum() > 0:
        raise ValueError(f"split fractions must be >= 0 with a positive sum, got {tuple(fractions)}")
    weights = weights / weights.sum()
    sizes = Counter(host_keys)
    hosts = sorted(sizes)
    order = list(np.random.default_rng(seed).permutation(len(hosts)))
    if positives is not None:
        if len(positives) != len(host_keys):
            raise ValueError(f"{len(positives)} positive flags for {len(host_keys)} planets")
        rare = {h for h, flag in zip(host_keys, positives, strict=True) if flag}
        order = [i for i in order if hosts[i] in rare] + [i for i in order if hosts[i] not in rare]
        assigned = np.zeros(len(split_names))  # shared: the second stratum counts what the first placed
        out = _assign(order[:len(rare)], hosts, sizes, weights, split_names, assigned)
        return {**out, **_assign(order[len(rare):], hosts, sizes, weights, split_names, assigned)}
    return _assign(order, hosts, sizes, weights, split_names, np.zeros(len(split_names)))


def _assign(order: Sequence[int], hosts: Sequence[str], sizes: Counter, weights: np.ndarray,
            split_names: Sequence[str], assigned: np.ndarray) -> dict[str, str]:
    """The greedy rule of the module docstring over ``order`` (``assigned``: planets per split so far)."""
    out: dict[str, str] = {}
    for index in order:
        host = hosts[index]
        total = assigned.sum() + sizes[host]
        deficit = np.where(weights > 0, weights * total - assigned, -np.inf)
        # a split that has nothing yet goes first, so small runs still fill every split
        empty = (assigned == 0) & (weights > 0)
        choice = int(np.argmax(np.where(empty, np.inf, deficit))) if empty.any() else int(np.argmax(deficit))
        out[host] = split_names[choice]
        assigned[choice] += sizes[host]
    return out


def split_counts(assignment: Mapping[str, str], host_keys: Sequence[str]) -> dict[str, dict[str, int]]:
    """``{split: {"hosts": n, "planets": n}}`` of an assignment (for the report)."""
    planets = Counter(assignment[h] for h in host_keys)
    hosts = Counter(assignment.values())
    return {name: {"hosts": hosts[name], "planets": planets[name]} for name in sorted(hosts)}


__all__ = ["assign_host_splits", "split_counts", "DEFAULT_SPLITS", "DEFAULT_FRACTIONS"]
