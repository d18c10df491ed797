"""A searched light-curve store joined into the multimodal dataset: folds at the found period, the search features,
the withheld-orbit protocol (no orbit column, no catalog period read, none in the text), bad stores."""

from __future__ import annotations

import json
import math

import datasets
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from astrobio_hf.data.dataset_card import multimodal_card
from astrobio_hf.data.modalities.transit_features import (
    KEPLER_AU,
    LIGHT_CURVE_FEATURES,
    decode_feature,
    encode_features,
    semi_major_axis_au,
    transit_feature_values,
)
from astrobio_hf.data.multimodal import MultimodalBuildError, build_multimodal_dataset, config_from_data_dir
from astrobio_hf.data.multimodal.light_curve_store import rebin_fold
from astrobio_hf.data.multimodal_schema import save_multimodal_dataset
from astrobio_hf.demo import mission_store as store
from astrobio_hf.package_data import real_catalog_path

# short baselines keep the searches fast; K2-18 also has a non-transiting planet (c), which the store lacks
HOSTS = ("K2-150", "WASP-3", "Wolf 503", "K2-18")
ORBIT = ("pl_orbper", "pl_orbsmax", "pl_insol", "pl_eqt")


@pytest.fixture(scope="module")
def catalog() -> pd.DataFrame:
    frame = pd.read_csv(real_catalog_path())
    return frame[frame["hostname"].isin(HOSTS)].reset_index(drop=True)


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory, catalog):
    out = tmp_path_factory.mktemp("store")
    store.write_store(out, seed=3, n_bins=64, catalog=catalog)
    return out


def _data_dir(root, catalog: pd.DataFrame):
    (root / "nasa_exoplanet_archive").mkdir(parents=True)
    catalog.to_csv(root / "nasa_exoplanet_archive" / "PSCompPars_test.csv", index=False)
    return root


def _build(tmp_path, catalog, store_dir, protocol="withheld-orbit", **overrides):
    config = config_from_data_dir(_data_dir(tmp_path, catalog), light_curve_store=store_dir, protocol=protocol,
                                  light_curve_length=32, split_fractions=(1.0, 0.0, 0.0), **overrides)
    splits, spec, report = build_multimodal_dataset(config)
    return splits["train"], spec, report


def test_kepler_third_law_and_the_feature_schema():
    assert semi_major_axis_au(365.25, 1.0) == pytest.approx(1.0, abs=1e-4)  # the Earth, planet mass neglected
    assert KEPLER_AU == pytest.approx(0.019569, rel=1e-4)
    earth = transit_feature_values(found=True, period=365.25, duration=0.54, depth=8.4e-5, snr=12.0, st_mass=1.0,
                                   st_rad=1.0, st_teff=5772.0)
    assert earth["transit_insolation"] == pytest.approx(1.0, abs=1e-3)
    encoded = encode_features(earth)
    assert encoded.dtype == np.float32 and encoded.shape == (len(LIGHT_CURVE_FEATURES),)
    for j, name in enumerate(LIGHT_CURVE_FEATURES):
        assert decode_feature(encoded[j], name) == pytest.approx(earth[name], rel=1e-5)
    assert np.isnan(encode_features(transit_feature_values(found=False, period=3.0, duration=0.1, depth=1e-3,
                                                           snr=9.0, st_mass=1.0, st_rad=1.0, st_teff=5772.0))).all()
    no_mass = encode_features(transit_feature_values(found=True, period=3.0, duration=0.1, depth=1e-3, snr=9.0,
                                                     st_mass=None, st_rad=1.0, st_teff=5772.0))
    assert np.isfinite(no_mass[:4]).all() and np.isnan(no_mass[4:]).all()  # no a, no S: masked, not guessed


def test_rebin_fold_weights_by_valid_bins():
    flux = np.array([1.0, 3.0, 5.0, 7.0])
    valid = np.array([1.0, 0.0, 1.0, 1.0])
    out = rebin_fold(flux, valid, 2, "here")
    np.testing.assert_allclose(out, [[1.0, 6.0], [0.5, 1.0]])
    with pytest.raises(MultimodalBuildError, match="here.*light_curve_length 3"):
        rebin_fold(flux, valid, 3, "here")


def test_store_rows_carry_the_fold_and_the_search_features(tmp_path, catalog, store_dir):
    rows, spec, report = _build(tmp_path, catalog, store_dir, store_planets_only=True)
    table = pq.read_table(store_dir / store.PARQUET_NAME).to_pandas().set_index("pl_name")
    assert spec.light_curve_feature_names == LIGHT_CURVE_FEATURES
    assert not set(ORBIT) & set(spec.planet_param_names)
    assert sorted(rows["planet_name"]) == sorted(table.index)  # the RV planet K2-18 c is left out
    assert all(rows["light_curve_mask"]) and report.light_curves["planets"] == len(table)
    stars = catalog.set_index("pl_name")
    for name, curve, features in zip(rows["planet_name"], rows["light_curve"], rows["light_curve_features"],
                                     strict=True):
        stored = table.loc[name]
        expected = rebin_fold(stored["folded_flux"], stored["folded_valid"], 32, name)
        np.testing.assert_allclose(np.asarray(curve).reshape(2, 32), expected, rtol=1e-6)
        features = np.asarray(features, dtype=np.float64)
        if not stored["search_found"]:
            assert np.isnan(features).all()
            continue
        period = decode_feature(features[0], "transit_period")
        assert period == pytest.approx(stored["search_period"], rel=1e-5)
        a = decode_feature(features[4], "transit_semi_major_axis")
        assert a == pytest.approx(semi_major_axis_au(stored["search_period"], stars.loc[name, "st_mass"]), rel=1e-5)
    assert any(table["search_found"])
    assert all("days" not in text and " AU" not in text for text in rows["text"])  # no orbit in the text either
    extra = spec.extra["light_curve"]
    assert "found" in extra["grid"] and set(extra["search_features"]) == set(LIGHT_CURVE_FEATURES)

    save_multimodal_dataset(datasets.DatasetDict({"train": rows}), spec, tmp_path / "dataset")
    card = multimodal_card(tmp_path / "dataset")
    assert "`light_curve_features` [6]" in card and "transit_insolation" in card


def test_the_catalog_orbit_never_reaches_a_row_under_withheld_orbit(tmp_path, catalog, store_dir):
    rows, _, _ = _build(tmp_path / "a", catalog, store_dir, store_planets_only=True)
    corrupted = catalog.assign(pl_orbper=catalog["pl_orbper"] * 1.37, pl_orbsmax=catalog["pl_orbsmax"] * 0.5,
                               pl_insol=catalog["pl_insol"] * 3.0, pl_eqt=catalog["pl_eqt"] + 100.0)
    other, _, _ = _build(tmp_path / "b", corrupted, store_dir, store_planets_only=True)
    for column in ("planet_params", "light_curve", "light_curve_features", "text"):
        a = rows.select(np.argsort(rows["planet_name"]))[column]
        b = other.select(np.argsort(other["planet_name"]))[column]
        assert np.array_equal(np.asarray(a, dtype=object if column == "text" else np.float64),
                              np.asarray(b, dtype=object if column == "text" else np.float64),
                              equal_nan=column != "text"), column


def test_under_full_the_text_and_params_keep_the_orbit(tmp_path, catalog, store_dir):
    rows, spec, _ = _build(tmp_path, catalog, store_dir, protocol="full")
    assert set(ORBIT) <= set(spec.planet_param_names)
    assert any("days" in text for text in rows["text"])
    assert len(rows) == len(catalog)  # without store_planets_only every planet stays; K2-18 c has no light curve
    assert sum(rows["light_curve_mask"]) == len(catalog) - 1


def test_a_folder_that_is_not_a_store_or_another_catalogs_store_is_refused(tmp_path, catalog, store_dir):
    with pytest.raises(MultimodalBuildError, match="is not a light-curve store"):
        _build(tmp_path, catalog, tmp_path / "nowhere")
    smaller = catalog[catalog["hostname"] != "WASP-3"]  # a catalog the store was not written from
    with pytest.raises(MultimodalBuildError, match=r"1 planets of the light-curve store .*store.* not in the NASA "
                                                   r"catalog: \['WASP-3 b'\]"):
        _build(tmp_path / "other", smaller, store_dir, store_planets_only=True)
    with pytest.raises(ValueError, match="store_planets_only needs light_curve_store"):
        config_from_data_dir(_data_dir(tmp_path / "x", catalog), store_planets_only=True)


def test_store_manifest_records_the_code_hash(store_dir):
    manifest = json.loads((store_dir / store.MANIFEST_NAME).read_text())
    assert manifest["source_sha256"] == store.source_sha256() and len(manifest["source_sha256"]) == 64
    assert math.isfinite(manifest["seconds"])
