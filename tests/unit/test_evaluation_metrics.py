"""Metrics, bootstrap and baselines of astrobio_hf.evaluation on small inputs whose answers are worked out here."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from astrobio_hf.data.labels import label_planet
from astrobio_hf.evaluation.baselines import (
    hist_gradient_boosting,
    label_rule,
    logistic_regression,
    majority,
    trees_temperate_x_rocky,
)
from astrobio_hf.evaluation.bootstrap import bootstrap_intervals
from astrobio_hf.evaluation.metrics import expected_calibration_error, habitability_metrics, macro_f1
from astrobio_hf.evaluation.rows import SplitRows
from astrobio_hf.models.multimodal.configuration_multimodal import DEFAULT_PLANET_PARAMS, HZ_CLASSES


def test_binary_metrics_by_hand():
    y = [1, 0, 0, 1]
    p = [0.9, 0.2, 0.6, 0.4]  # decisions 1, 0, 1, 0: one TP, one FP, one FN, one TN
    m = habitability_metrics(y, p)
    assert m["precision"] == m["recall"] == m["f1"] == 0.5
    assert m["balanced_accuracy"] == 0.5 and m["accuracy"] == 0.5 and m["positive_rate"] == 0.5
    # of the 4 (positive, negative) pairs, the positive scores higher in 3
    assert m["roc_auc"] == pytest.approx(0.75) == roc_auc_score(y, p)
    # one planet per bin: |0.9-1|, |0.2-0|, |0.6-0|, |0.4-1| averaged
    assert m["ece"] == pytest.approx((0.1 + 0.2 + 0.6 + 0.6) / 4)


def test_undefined_metrics_are_nan_not_zero():
    m = habitability_metrics([0, 0, 0], [0.1, 0.2, 0.3])
    assert np.isnan(m["roc_auc"]) and np.isnan(m["pr_auc"]) and np.isnan(m["recall"])
    assert m["accuracy"] == 1.0


def test_macro_f1_matches_sklearn():
    rng = np.random.default_rng(0)
    y, pred = rng.integers(0, 3, 50), rng.integers(0, 3, 50)
    assert macro_f1(y, pred) == pytest.approx(f1_score(y, pred, average="macro"))


def test_calibrated_constant_has_zero_ece():
    y = np.array([1] * 3 + [0] * 7)
    assert expected_calibration_error(y, np.full(10, 0.3)) == pytest.approx(0.0)


def test_bootstrap_resamples_hosts_together():
    # two hosts: host A's planets are all right, host B's all wrong. Resampling hosts, accuracy is 0, 0.5 or 1
    # (never a mix within a host), so the 95% interval spans [0, 1].
    hosts = ["A"] * 5 + ["B"] * 5
    correct = np.array([1] * 5 + [0] * 5)

    def compute(rows):
        return {"accuracy": float(correct[rows].mean())}

    ci = bootstrap_intervals(hosts, compute, n_resamples=400, seed=1)["accuracy"]
    assert ci["low"] == 0.0 and ci["high"] == 1.0 and ci["replicates"] == 400


def _rows(values: dict[str, np.ndarray], name: str) -> SplitRows:
    """SplitRows with planet_params encoded like the dataset (log10 columns) and labels from the real rule."""
    n = len(values["pl_insol"])
    params = np.full((n, len(DEFAULT_PLANET_PARAMS)), np.nan, dtype=np.float32)
    for j, column in enumerate(DEFAULT_PLANET_PARAMS):
        if column in values:
            params[:, j] = np.log10(values[column]) if column != "pl_orbeccen" else values[column]
    labels = [label_planet(**{k: float(values[k][i]) for k in ("st_teff", "pl_insol", "st_rad", "pl_orbsmax",
                                                                 "pl_rade")}) for i in range(n)]
    hz = {"too hot": 0, "temperate": 1, "too cold": 2}
    return SplitRows(name=name, indices=np.arange(n), planet_names=[f"{name} {i} b" for i in range(n)],
                     hosts=[f"{name} {i}" for i in range(n)], habitability=np.array([lab.habitability for lab in labels]),
                     hz_class=np.array([hz[lab.hz_class] for lab in labels]),
                     rocky=np.array([-100 if lab.rocky is None else lab.rocky for lab in labels]), params=params,
                     mask=np.isfinite(params), param_names=DEFAULT_PLANET_PARAMS)


def _catalog(n: int, seed: int) -> dict[str, np.ndarray]:
    """Sun-like stars; insolation far from the zone's edges (0.05, 0.6 or 5 S_earth); radius 1 or 3 Earth radii."""
    rng = np.random.default_rng(seed)
    insol = rng.choice([0.05, 0.6, 5.0], n)
    teff = rng.uniform(5600, 5900, n)
    st_rad = rng.uniform(0.9, 1.1, n)
    a = np.sqrt(st_rad**2 * (teff / 5772.0) ** 4 / insol)  # S = L / a^2, so the rule's fallback agrees
    return {"pl_insol": insol, "st_teff": teff, "st_rad": st_rad, "pl_orbsmax": a,
            "pl_rade": rng.choice([1.0, 3.0], n), "pl_eqt": 278.6 * (insol * 0.7) ** 0.25, "pl_orbper": 365 * a**1.5}


def test_baselines_where_the_answer_is_known():
    train, test = _rows(_catalog(300, 0), "train"), _rows(_catalog(120, 1), "test")
    assert 0 < test.habitability.sum() < len(test)
    # the rule on its own inputs reproduces the labels; under "withheld" it computes S from L and a instead
    for drop in ((), ("pl_insol", "pl_eqt")):
        rule = label_rule(train, test, drop)
        np.testing.assert_array_equal(rule.probability, test.habitability)
        np.testing.assert_array_equal(rule.hz_class, test.hz_class)
    # majority: the train positive rate as a constant score, so it never calls a planet habitable
    maj = majority(train, test)
    assert np.allclose(maj.probability, train.habitability.mean())
    m = habitability_metrics(test.habitability, maj.probability, test.hz_class, maj.hz_class)
    assert m["recall"] == 0.0 and m["balanced_accuracy"] == 0.5
    assert HZ_CLASSES[maj.hz_class[0]] == ["too_hot", "temperate", "too_cold"][np.bincount(train.hz_class).argmax()]
    # habitable = temperate (one insolation value) and small: trees separate it exactly; a linear model on log
    # values cannot cut both edges of the zone, so it ranks well but not perfectly
    hgb = hist_gradient_boosting(train, test)
    assert habitability_metrics(test.habitability, hgb.probability)["roc_auc"] == 1.0
    lr = logistic_regression(train, test)
    assert 0.5 < habitability_metrics(test.habitability, lr.probability)["roc_auc"] < 1.0


def test_factorised_trees_multiply_a_temperate_and_a_size_model_fitted_on_their_own_labels():
    train, test = _rows(_catalog(300, 0), "train"), _rows(_catalog(120, 1), "test")
    trees = trees_temperate_x_rocky(train, test)
    assert habitability_metrics(test.habitability, trees.probability)["roc_auc"] == 1.0
    np.testing.assert_array_equal(trees.hz_class, test.hz_class)  # insolation far from the edges: exact
    # without a single rocky example in train, P(rocky) is the constant train rate (0): nothing is habitable
    no_rocky = train.subset(np.flatnonzero(train.rocky != 1), "train")
    assert trees_temperate_x_rocky(no_rocky, test).probability.max() == 0.0
    # a validation split sets its threshold, as for the other fitted baselines
    assert trees_temperate_x_rocky(train, test, validation=_rows(_catalog(120, 2), "validation")).threshold != 0.5


def test_tabular_baselines_do_not_see_withheld_columns():
    train, test = _rows(_catalog(300, 0), "train"), _rows(_catalog(120, 1), "test")
    drop = ("pl_insol", "pl_eqt", "pl_orbsmax", "pl_orbper", "st_rad", "st_teff")
    assert train.features(drop).shape[1] == 2 * (len(DEFAULT_PLANET_PARAMS) - len(drop))
    # with every insolation carrier removed only the radius is left: the trees cannot find the zone any more
    hgb = hist_gradient_boosting(train, test, drop)
    assert habitability_metrics(test.habitability, hgb.probability)["roc_auc"] < 0.9


def test_rank_metrics_equal_sklearn_with_ties():
    from sklearn.metrics import average_precision_score

    from astrobio_hf.evaluation.metrics import average_precision, roc_auc

    rng = np.random.default_rng(3)
    for _ in range(20):
        y = rng.integers(0, 2, 40)
        score = np.round(rng.random(40), 1)  # many ties
        if 0 < y.sum() < len(y):
            assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score))
            assert average_precision(y, score) == pytest.approx(average_precision_score(y, score))
