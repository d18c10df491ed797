"""Baselines fitted on the train split only and scored on the same rows as the model.

* ``majority``: the most common train label (habitability and hz_class); probability = the train positive rate.
* ``label_rule``: the labelling rule itself (:func:`astrobio_hf.data.labels.label_planet`) applied to the decoded
  model inputs. Under ``full`` it is the ceiling when every input is present; under ``withheld`` it falls back to the
  insolation computed from st_rad, st_teff and pl_orbsmax, exactly as the label code does for a planet with no
  pl_insol. A planet the rule cannot label is predicted "not habitable" and the train's most common hz_class.
* ``logistic_regression`` and ``hist_gradient_boosting``: scikit-learn on planet_params (missing = 0) + the observed
  mask, one binary and one three-way model each, ``class_weight="balanced"`` for the rare class. Given validation
  rows, their decision threshold is chosen there (max F1, :mod:`.threshold`), as the model's is; else 0.5.
* ``trees_temperate_x_rocky``: the trees given the same labels and factorisation as the model's
  ``temperate_and_rocky`` head: P(temperate) of an unweighted three-way ``HistGradientBoostingClassifier`` on every
  input times P(rocky) of one fitted on the ``rocky`` label over the size columns only; threshold as above.

With a light-curve store's search features in the rows (:data:`SEARCH_BASELINES`, added when present):

* ``bls_trees``: ``hist_gradient_boosting`` given the transit search's features (period, duration, depth, SNR and
  the a, S they imply with the star's mass and luminosity; not found = 0 and flagged) beside the protocol's columns.
* ``label_rule_searched_period``: the label rule with the orbit taken from the search (a from the found period and
  st_mass by Kepler's third law, the insolation from st_rad, st_teff and that a; catalog orbit columns unused): the
  ceiling of the light-curve route. A planet whose search found nothing is predicted "not habitable".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from ..data.labels import TEMPERATE, TOO_COLD, TOO_HOT, label_planet
from ..data.modalities.transit_features import decode_feature
from ..models.multimodal.configuration_multimodal import HZ_CLASSES
from .rows import SplitRows
from .threshold import DEFAULT_THRESHOLD, choose_threshold

BASELINES: tuple[str, ...] = ("majority", "label_rule", "logistic_regression", "hist_gradient_boosting",
                               "trees_temperate_x_rocky")
_SIZE_COLUMNS = ("pl_rade", "pl_bmasse")
_HZ_INDEX = {TOO_HOT: HZ_CLASSES.index("too_hot"), TEMPERATE: HZ_CLASSES.index("temperate"),
             TOO_COLD: HZ_CLASSES.index("too_cold")}
SEARCH_BASELINES: tuple[str, ...] = ("bls_trees", "label_rule_searched_period")
_RULE_INPUTS = ("st_teff", "pl_insol", "st_rad", "pl_orbsmax", "pl_rade", "pl_bmasse")


@dataclass
class Predictions:
    """What a method predicts for the rows: habitable probability, hz_class index, and the decision threshold on
    the probability (one number, or one per row when rows come from folds with their own thresholds)."""

    method: str
    probability: np.ndarray
    hz_class: np.ndarray
    threshold: float | np.ndarray = DEFAULT_THRESHOLD


def _majority_hz(train: SplitRows) -> int:
    labelled = train.hz_class[train.hz_class >= 0]
    return int(np.bincount(labelled).argmax()) if labelled.size else 0


def majority(train: SplitRows, test: SplitRows) -> Predictions:
    # a constant score, the train positive rate: its decision (>= 0.5) is the majority label
    rate = float(train.habitability.mean()) if len(train) else 0.0
    return Predictions("majority", np.full(len(test), rate), np.full(len(test), _majority_hz(train)))


def label_rule(train: SplitRows, test: SplitRows, drop: Sequence[str] = (), *, searched_period: bool = False
               ) -> Predictions:
    values = test.catalog_values(drop)
    name = "label_rule"
    if searched_period:  # the orbit from the light curve's search, not the catalog
        name = "label_rule_searched_period"
        a = decode_feature(test.search[:, test.search_names.index("transit_semi_major_axis")],
                           "transit_semi_major_axis")
        values["pl_orbsmax"] = [float(v) if np.isfinite(v) else None for v in a]
        values.pop("pl_insol", None)
    fallback = _majority_hz(train)
    probability = np.zeros(len(test))
    hz = np.full(len(test), fallback)
    for i in range(len(test)):
        label = label_planet(**{k: values[k][i] if k in values else None for k in _RULE_INPUTS})
        probability[i] = float(label.habitability == 1)
        if label.hz_class is not None:
            hz[i] = _HZ_INDEX[label.hz_class]
    return Predictions(name, probability, hz)


def _fit_predict(estimator_factory, train: SplitRows, test: SplitRows, drop: Sequence[str], name: str,
                 validation: SplitRows | None = None, search: bool = False) -> Predictions:
    x_train, x_test = train.features(drop, search), test.features(drop, search)
    x_validation = validation.features(drop, search) if validation is not None else x_test[:0]
    with threadpool_limits(1):  # OpenMP on a shared 2-core machine: one thread is many times faster than two
        (probability, validation_probability), hz = _fit_predict_arrays(estimator_factory, train, x_train,
                                                                        [x_test, x_validation])
    threshold = DEFAULT_THRESHOLD
    if validation is not None:
        threshold = choose_threshold(validation.habitability, validation_probability).threshold
    return Predictions(name, probability, hz, threshold)


def _fit_predict_arrays(estimator_factory, train: SplitRows, x_train: np.ndarray, x_predict: list[np.ndarray]
                        ) -> tuple[list[np.ndarray], np.ndarray]:
    """Habitable probabilities of each array of ``x_predict`` and the hz_class of the first."""
    if len(set(train.habitability.tolist())) < 2:
        rate = float(train.habitability.mean()) if len(train) else 0.0
        probabilities = [np.full(len(x), rate) for x in x_predict]
    else:
        fitted = estimator_factory().fit(x_train, train.habitability)
        probabilities = [fitted.predict_proba(x)[:, 1] if len(x) else np.zeros(0) for x in x_predict]
    labelled = train.hz_class >= 0
    if len(set(train.hz_class[labelled].tolist())) < 2:
        hz = np.full(len(x_predict[0]), _majority_hz(train))
    else:
        hz = estimator_factory().fit(x_train[labelled], train.hz_class[labelled]).predict(x_predict[0])
    return probabilities, np.asarray(hz, dtype=int)


def logistic_regression(train: SplitRows, test: SplitRows, drop: Sequence[str] = (), seed: int = 0,
                        validation: SplitRows | None = None) -> Predictions:
    return _fit_predict(lambda: make_pipeline(StandardScaler(), LogisticRegression(
        max_iter=2000, class_weight="balanced", random_state=seed)), train, test, drop, "logistic_regression",
        validation)


def hist_gradient_boosting(train: SplitRows, test: SplitRows, drop: Sequence[str] = (), seed: int = 0,
                           validation: SplitRows | None = None) -> Predictions:
    return _fit_predict(lambda: HistGradientBoostingClassifier(class_weight="balanced", random_state=seed),
                        train, test, drop, "hist_gradient_boosting", validation)


def bls_trees(train: SplitRows, test: SplitRows, drop: Sequence[str] = (), seed: int = 0,
              validation: SplitRows | None = None) -> Predictions:
    return _fit_predict(lambda: HistGradientBoostingClassifier(class_weight="balanced", random_state=seed),
                        train, test, drop, "bls_trees", validation, search=True)


def _fitted_probability(x: np.ndarray, y: np.ndarray, target: int, x_predict: list[np.ndarray], seed: int
                        ) -> tuple[list[np.ndarray], HistGradientBoostingClassifier | None]:
    """P(y == target) of each array of ``x_predict`` from unweighted trees, and the fitted trees (a constant rate
    and None when y has one class only)."""
    if len(set(y.tolist())) < 2:
        rate = float(np.mean(y == target)) if len(y) else 0.0
        return [np.full(len(x), rate) for x in x_predict], None
    fitted = HistGradientBoostingClassifier(random_state=seed).fit(x, y)
    column = list(fitted.classes_).index(target)
    return [fitted.predict_proba(x)[:, column] if len(x) else np.zeros(0) for x in x_predict], fitted


def trees_temperate_x_rocky(train: SplitRows, test: SplitRows, drop: Sequence[str] = (), seed: int = 0,
                            validation: SplitRows | None = None) -> Predictions:
    predict = [test] + ([validation] if validation is not None else [])
    size_drop = [n for n in train.param_names if n not in _SIZE_COLUMNS]
    hz_known, size_known = train.hz_class >= 0, train.rocky >= 0
    with threadpool_limits(1):
        p_temperate, hz_trees = _fitted_probability(
            train.features(drop)[hz_known], train.hz_class[hz_known], HZ_CLASSES.index("temperate"),
            [rows.features(drop) for rows in predict], seed)
        p_rocky, _ = _fitted_probability(train.features(size_drop)[size_known], train.rocky[size_known], 1,
                                         [rows.features(size_drop) for rows in predict], seed)
        hz = (hz_trees.predict(test.features(drop)).astype(int) if hz_trees is not None
              else np.full(len(test), _majority_hz(train)))
    probability = [t * r for t, r in zip(p_temperate, p_rocky, strict=True)]
    threshold = DEFAULT_THRESHOLD
    if validation is not None:
        threshold = choose_threshold(validation.habitability, probability[1]).threshold
    return Predictions("trees_temperate_x_rocky", probability[0], hz, threshold)


def run_baselines(train: SplitRows, test: SplitRows, drop: Sequence[str] = (), seed: int = 0,
                  validation: SplitRows | None = None) -> list[Predictions]:
    """Every baseline of :data:`BASELINES`, in that order; ``drop``: columns removed by the protocol;
    ``validation``: rows to choose the fitted baselines' decision thresholds on."""
    out = [majority(train, test), label_rule(train, test, drop),
           logistic_regression(train, test, drop, seed, validation),
           hist_gradient_boosting(train, test, drop, seed, validation),
           trees_temperate_x_rocky(train, test, drop, seed, validation)]
    if train.search is not None and test.search is not None:
        out += [bls_trees(train, test, drop, seed, validation),
                label_rule(train, test, drop, searched_period=True)]
    return out


__all__ = ["BASELINES", "SEARCH_BASELINES", "bls_trees", "Predictions", "run_baselines", "majority", "label_rule", "logistic_regression",
           "hist_gradient_boosting", "trees_temperate_x_rocky"]
