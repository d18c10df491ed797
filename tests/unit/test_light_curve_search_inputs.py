"""The transit search's features as model inputs: collator, model, ablation, baselines, and predict running the search."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from astrobio_hf.data.collator import MultimodalCollator
from astrobio_hf.data.modalities.transit_features import (
    LIGHT_CURVE_FEATURES,
    decode_feature,
    encode_features,
    transit_feature_values,
)
from astrobio_hf.data.multimodal_schema import MultimodalSpec
from astrobio_hf.demo import physics
from astrobio_hf.demo.mission_store import _raw
from astrobio_hf.evaluation.baselines import label_rule, run_baselines
from astrobio_hf.evaluation.model_eval import _strip
from astrobio_hf.evaluation.rows import SplitRows
from astrobio_hf.inference.processing import AstroMultimodalProcessor
from astrobio_hf.models.multimodal.configuration_multimodal import MULTIMODAL_PRESETS, AstroMultimodalConfig
from astrobio_hf.models.multimodal.modeling_multimodal import AstroMultimodalModel

SPEC = MultimodalSpec(light_curve_length=32, light_curve_feature_names=LIGHT_CURVE_FEATURES)


def _features(period: float, mass: float = 1.0, found: bool = True) -> np.ndarray:
    return encode_features(transit_feature_values(found=found, period=period, duration=0.2, depth=1e-3, snr=20.0,
                                                  st_mass=mass, st_rad=1.0, st_teff=5772.0))


def _row(name: str, features: np.ndarray | None, with_curve: bool = True) -> dict:
    p = len(SPEC.planet_param_names)
    return {"planet_name": name, "host_name": name, "provenance": [], "planet_params": np.zeros(p, np.float32),
            "planet_params_mask": np.ones(p, bool), "spectrum_mask": False, "light_curve_mask": with_curve,
            "light_curve": np.ones((2, 32), np.float32) if with_curve else None, "light_curve_features": features,
            "climate_cube_mask": False, "climate_cube_generated": False, "graph_x": [], "graph_edge_index": [[], []],
            "graph_edge_attr": [], "graph_mask": False, "graph_id": "", "text": "", "habitability": 0, "hz_class": 0,
            "rocky": 0}


def _model() -> AstroMultimodalModel:
    torch.manual_seed(0)
    config = AstroMultimodalConfig(**{**MULTIMODAL_PRESETS["tiny"], "light_curve_length": 32, "dropout": 0.0,
                                      "light_curve_feature_names": list(LIGHT_CURVE_FEATURES)})
    SPEC.check_model_config(config)
    return AstroMultimodalModel(config).eval()


def test_collated_features_reach_the_model_and_change_its_answer():
    batch = MultimodalCollator(SPEC)([_row("a", _features(3.0)), _row("b", _features(300.0)),
                                      _row("c", _features(3.0, found=False)), _row("d", None, with_curve=False)])
    assert batch["light_curve_features"].shape == (4, len(LIGHT_CURVE_FEATURES))
    assert torch.isnan(batch["light_curve_features"][2]).all()  # not found: masked, not a guess
    model = _model()
    with torch.no_grad():
        logits = model(**_strip(batch, (), ())).hz_class_logits
        without = model(**_strip(batch, ("light_curve",), ())).hz_class_logits
    assert "light_curve_features" not in _strip(batch, ("light_curve",), ())  # the ablation removes them too
    assert not torch.allclose(logits[0], logits[1])  # same curve and star, different searched period
    assert not torch.allclose(logits[0], logits[2])  # found vs not found
    assert not torch.allclose(logits[0], without[0]) and torch.allclose(logits[3], without[3])


def test_a_config_without_search_features_is_refused_for_a_dataset_with_them():
    config = AstroMultimodalConfig(**{**MULTIMODAL_PRESETS["tiny"], "light_curve_length": 32})
    with pytest.raises(ValueError, match="light_curve_feature_names"):
        SPEC.check_model_config(config)


def _rows(periods: list[float], habitable: list[int]) -> SplitRows:
    names = ("st_teff", "st_rad", "st_mass", "pl_rade")
    n = len(periods)
    params = np.log10(np.tile([5772.0, 1.0, 1.0, 1.0], (n, 1))).astype(np.float32)
    search = np.stack([_features(p) for p in periods]).astype(np.float64)
    return SplitRows(name="t", indices=np.arange(n), planet_names=[f"p{i}" for i in range(n)],
                     hosts=[f"h{i}" for i in range(n)], habitability=np.asarray(habitable),
                     hz_class=np.asarray([1 if h else 0 for h in habitable]), rocky=np.ones(n, int), params=params,
                     mask=np.ones((n, 4), bool), param_names=names, search=search,
                     search_names=LIGHT_CURVE_FEATURES)


def test_label_rule_with_the_searched_period_and_bls_trees():
    # a Sun-like star: a 365-day orbit is temperate, 3 days is too hot; the rule reads a from the search
    rows = _rows([365.25, 3.0, 420.0, 5.0] * 6, [1, 0, 1, 0] * 6)
    searched = label_rule(rows, rows, searched_period=True)
    assert searched.method == "label_rule_searched_period"
    np.testing.assert_array_equal(searched.probability, rows.habitability)
    lost = _rows([365.25], [1])
    lost.search[:] = np.nan  # nothing found: no orbit, no label, "not habitable"
    assert label_rule(lost, lost, searched_period=True).probability[0] == 0.0
    names = [p.method for p in run_baselines(rows, rows, seed=0)]
    assert names[-2:] == ["bls_trees", "label_rule_searched_period"]
    assert np.allclose(rows.features(search=True)[:, -2 * len(LIGHT_CURVE_FEATURES):-len(LIGHT_CURVE_FEATURES)],
                       rows.search)
    without = _rows([3.0], [0])
    without.search = None
    assert "bls_trees" not in [p.method for p in run_baselines(without, without)]
    with pytest.raises(ValueError, match="no light_curve_features"):
        without.features(search=True)


def test_predict_runs_the_search_on_a_light_curve():
    rng = np.random.default_rng(5)
    cadence = 29.4 / 1440.0
    time = np.arange(0.0, 60.0, cadence)
    shape = physics.transit_shape(4.2, float(physics.semi_major_axis_au(4.2, 1.0)), 1.0, 4.0, 0.2)
    flux = physics.trapezoid_flux(time, 1.3, 4.2, shape, exposure_days=cadence)
    flux = flux * (1.0 + 150e-6 * rng.standard_normal(time.size))
    raw = _raw(time, flux, np.full(time.size, 150e-6), "K2", "star")
    processor = AstroMultimodalProcessor.from_spec(SPEC)
    array, features = processor.searched_light_curve(raw, {"st_mass": 1.0, "st_rad": 1.0, "st_teff": 5772.0})
    assert array.shape == (2, 32) and array[1].any()
    assert decode_feature(features[0], "transit_period") == pytest.approx(4.2, rel=0.01)
    assert decode_feature(features[5], "transit_insolation") == pytest.approx(
        transit_feature_values(found=True, period=4.2, duration=1, depth=1, snr=1, st_mass=1.0, st_rad=1.0,
                               st_teff=5772.0)["transit_insolation"], rel=0.02)
    inputs = processor.planet_inputs({"st_mass": 1.0, "st_rad": 1.0, "st_teff": 5772.0, "pl_orbper": 99.0},
                                     light_curve=raw)
    assert np.array_equal(inputs.row["light_curve_features"], features, equal_nan=True)  # the catalog period unused
    noise = _raw(time, 1.0 + 150e-6 * rng.standard_normal(time.size), np.full(time.size, 150e-6), "K2", "star")
    array, features = processor.searched_light_curve(noise, {"st_mass": 1.0})
    assert not array.any() and np.isnan(features).all()
