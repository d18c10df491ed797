"""Host-grouped, stratified K-fold assignment for out-of-fold evaluation.

Planets of one star share its stellar columns (and often its light curve), so a star's planets always fall in the
same fold: no host is trained on and scored in the same fold. Folds are stratified on the habitable label with
scikit-learn's `StratifiedGroupKFold` (hosts shuffled with ``seed``), so the few habitable hosts are spread over the
folds and each sits in exactly one test fold. For test fold k the inner validation fold (early stopping,
checkpoint choice, decision threshold, for the model and every baseline alike) is fold (k + 1) mod K; the other
K - 2 folds train.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold


@dataclass(frozen=True)
class Fold:
    """Row indices of one outer fold: ``train`` (K - 2 folds), ``validation`` (the next fold), ``test``."""

    index: int
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def host_folds(hosts: Sequence[str], labels: Sequence[int], k: int, seed: int) -> np.ndarray:
    """The test fold (0..k-1) of every row; rows of one host share a fold, the habitable label is stratified."""
    if k < 3:
        raise ValueError(f"cross-validation needs at least 3 folds (train, validation, test), got {k}")
    hosts = np.asarray(list(hosts), dtype=object)
    labels = np.asarray(labels, dtype=int)
    n_hosts = len(set(hosts.tolist()))
    if n_hosts < k:
        raise ValueError(f"{k} folds need at least {k} host stars; the rows hold {n_hosts}")
    assignment = np.full(len(hosts), -1, dtype=int)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for fold, (_, test) in enumerate(splitter.split(np.zeros(len(hosts)), labels, groups=hosts)):
        assignment[test] = fold
    return assignment


def outer_folds(assignment: np.ndarray) -> list[Fold]:
    """Train / validation / test rows of each outer fold from a fold assignment."""
    k = int(assignment.max()) + 1
    folds = []
    for fold in range(k):
        validation = (fold + 1) % k
        folds.append(Fold(fold, np.flatnonzero((assignment != fold) & (assignment != validation)),
                          np.flatnonzero(assignment == validation), np.flatnonzero(assignment == fold)))
    return folds


__all__ = ["Fold", "host_folds", "outer_folds"]
