"""Out-of-fold evaluation pieces: host-grouped stratified folds, paired bootstrap differences, thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from astrobio_hf.evaluation.folds import host_folds, outer_folds
from astrobio_hf.evaluation.metrics import habitability_metrics
from astrobio_hf.evaluation.paired import paired_difference
from astrobio_hf.evaluation.threshold import choose_threshold


def _catalog(seed: int = 3, n_hosts: int = 400, positive_hosts: int = 12):
    """Hosts with 1-4 planets each; the first `positive_hosts` hosts carry one habitable planet."""
    rng = np.random.default_rng(seed)
    hosts, labels = [], []
    for h in range(n_hosts):
        planets = int(rng.integers(1, 5))
        for p in range(planets):
            hosts.append(f"star {h}")
            labels.append(int(h < positive_hosts and p == 0))
    order = rng.permutation(len(hosts))
    return [hosts[i] for i in order], np.asarray(labels)[order]


def test_no_host_in_two_folds_and_every_positive_host_in_one_test_fold():
    hosts, labels = _catalog()
    assignment = host_folds(hosts, labels, k=5, seed=0)
    assert set(assignment.tolist()) == set(range(5))
    by_host: dict[str, set[int]] = {}
    for host, fold in zip(hosts, assignment, strict=True):
        by_host.setdefault(host, set()).add(int(fold))
    assert all(len(folds) == 1 for folds in by_host.values())
    positive_hosts = {h for h, y in zip(hosts, labels, strict=True) if y}
    assert len(positive_hosts) == 12
    # stratified: 12 habitable hosts over 5 folds, 2 or 3 in each
    per_fold = np.bincount([next(iter(by_host[h])) for h in positive_hosts], minlength=5)
    assert per_fold.min() >= 2 and per_fold.max() <= 3


def test_fold_assignment_is_deterministic_for_a_seed_and_changes_with_it():
    hosts, labels = _catalog()
    first = host_folds(hosts, labels, k=5, seed=7)
    assert np.array_equal(first, host_folds(hosts, labels, k=5, seed=7))
    assert not np.array_equal(first, host_folds(hosts, labels, k=5, seed=8))


def test_outer_folds_partition_rows_into_train_validation_test():
    hosts, labels = _catalog()
    assignment = host_folds(hosts, labels, k=5, seed=0)
    folds = outer_folds(assignment)
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested.tolist()) == list(range(len(hosts)))  # every row scored exactly once
    for fold in folds:
        parts = [set(fold.train.tolist()), set(fold.validation.tolist()), set(fold.test.tolist())]
        assert sum(len(p) for p in parts) == len(hosts)
        assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
        assert set(assignment[fold.validation].tolist()) == {(fold.index + 1) % 5}


def test_too_few_folds_or_hosts_are_refused():
    with pytest.raises(ValueError, match="at least 3 folds"):
        host_folds(["a", "b", "c"], [0, 1, 0], k=2, seed=0)
    with pytest.raises(ValueError, match="at least 5 host stars"):
        host_folds(["a", "a", "b"], [0, 1, 0], k=5, seed=0)


def _metrics(y, hz, probability, hz_predicted):
    return lambda rows: habitability_metrics(y[rows], probability[rows], hz[rows], hz_predicted[rows])


def test_paired_difference_of_a_method_with_itself_is_exactly_zero():
    hosts, labels = _catalog()
    rng = np.random.default_rng(0)
    probability, hz = rng.random(len(labels)), rng.integers(0, 3, len(labels))
    same = _metrics(labels, hz, probability, hz)
    out = paired_difference(hosts, same, same, n_resamples=50, seed=0)
    for key in ("pr_auc", "hz_macro_f1", "f1"):
        assert out[key]["difference"] == 0.0 and out[key]["low"] == 0.0 and out[key]["high"] == 0.0


def test_paired_difference_has_the_known_answer_and_resolves_it():
    """A ranks every positive first (PR-AUC 1), B ranks them all last: A - B is 1 - B's PR-AUC, interval above 0;
    on hz_class A is right everywhere and B nowhere (macro-F1 1 vs 0): the difference is 1 in every replicate."""
    hosts, labels = _catalog()
    hz = np.arange(len(labels)) % 3
    perfect = _metrics(labels, hz, labels.astype(float), hz)
    inverted = _metrics(labels, hz, 1.0 - labels, (hz + 1) % 3)
    out = paired_difference(hosts, perfect, inverted, n_resamples=100, seed=1)
    worst = habitability_metrics(labels, 1.0 - labels)["pr_auc"]
    assert out["pr_auc"]["difference"] == pytest.approx(1.0 - worst)
    assert out["pr_auc"]["low"] > 0
    assert out["hz_macro_f1"]["difference"] == 1.0
    assert out["hz_macro_f1"]["low"] == out["hz_macro_f1"]["high"] == 1.0


def test_paired_interval_is_narrower_than_the_unpaired_one_when_errors_are_shared():
    """Two methods that differ on a few rows only: the paired interval is far tighter than either marginal one."""
    hosts, labels = _catalog()
    rng = np.random.default_rng(4)
    hz = rng.integers(0, 3, len(labels))
    noisy = np.where(rng.random(len(labels)) < 0.3, (hz + 1) % 3, hz)  # 30% wrong
    better = noisy.copy()
    fix = np.flatnonzero(noisy != hz)[:40]
    better[fix] = hz[fix]
    out = paired_difference(hosts, _metrics(labels, hz, labels * 1.0, better),
                            _metrics(labels, hz, labels * 1.0, noisy), n_resamples=100, seed=0)
    assert out["hz_macro_f1"]["low"] > 0


def test_threshold_is_chosen_on_validation_for_the_best_f1():
    y = np.array([0, 0, 0, 1, 0, 1, 0, 0])
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.35, 0.9, 0.05, 0.38])
    choice = choose_threshold(y, p)
    assert choice.validation_f1 == 1.0  # 0.4 and 0.9 above the threshold, everything else below
    assert 0.38 < choice.threshold <= 0.4
    assert choice.positives == 2 and choice.rows == 8


def test_threshold_stays_at_half_without_positives():
    choice = choose_threshold(np.zeros(5, dtype=int), np.linspace(0, 1, 5))
    assert choice.threshold == 0.5 and "one class" in choice.rule
