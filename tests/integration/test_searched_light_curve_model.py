"""A model trained by train.py on a store-built `withheld-orbit` dataset, then asked by `predict` about a planet given
by values and its light curve: the saved processor runs the transit search, the catalog period is never read."""

from __future__ import annotations

import json

import datasets
import numpy as np
import pandas as pd
import pytest

from astrobio_hf.data.modalities.transit_features import LIGHT_CURVE_FEATURES, decode_feature
from astrobio_hf.data.multimodal import build_multimodal_dataset, config_from_data_dir
from astrobio_hf.data.multimodal_schema import save_multimodal_dataset
from astrobio_hf.demo import mission_store as store
from astrobio_hf.demo.mission_light_curves import generate_host, transiting_planets
from astrobio_hf.inference.predict import predict
from astrobio_hf.inference.processing import AstroMultimodalProcessor
from astrobio_hf.package_data import real_catalog_path
from tests.helpers.train_runs import run_train, train_args
from tests.helpers.without_package import run_without_package

HOSTS = ("K2-150", "WASP-3", "Wolf 503", "K2-18")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("searched")
    catalog = pd.read_csv(real_catalog_path())
    catalog = catalog[catalog["hostname"].isin(HOSTS)].reset_index(drop=True)
    store.write_store(root / "store", seed=3, n_bins=64, catalog=catalog)
    (root / "data" / "nasa_exoplanet_archive").mkdir(parents=True)
    catalog.to_csv(root / "data" / "nasa_exoplanet_archive" / "PSCompPars_test.csv", index=False)
    config = config_from_data_dir(root / "data", light_curve_store=root / "store", store_planets_only=True,
                                  protocol="withheld-orbit", light_curve_length=32, split_fractions=(1.0, 0.0, 0.0))
    splits, spec, _ = build_multimodal_dataset(config)
    save_multimodal_dataset(datasets.DatasetDict({"train": splits["train"]}), spec, root / "dataset")
    result = run_train(train_args(root / "dataset", root / "model", max_steps=3))
    assert result.returncode == 0, result.stderr[-3000:]
    return root / "model", catalog


def test_the_checkpoint_records_the_search_features(trained):
    model_dir, _ = trained
    config = json.loads((model_dir / "config.json").read_text())
    assert config["light_curve_feature_names"] == list(LIGHT_CURVE_FEATURES)
    processor = json.loads((model_dir / "processor_config.json").read_text())
    assert processor["spec"]["light_curve_feature_names"] == list(LIGHT_CURVE_FEATURES)
    assert "pl_orbper" not in config["planet_param_names"]


def test_predict_searches_the_light_curve_and_ignores_the_catalog_period(trained):
    model_dir, catalog = trained
    planets = transiting_planets(catalog)
    host = planets[planets["hostname"] == "WASP-3"]
    curve = generate_host(host, seed=3, n_sectors=1)
    raw = store._raw(curve.time, curve.flux, curve.flux_err, curve.mission, "WASP-3")
    star = host.iloc[0]
    values = {"st_teff": star["st_teff"], "st_rad": star["st_rad"], "st_mass": star["st_mass"],
              "pl_rade": star["pl_rade"]}
    with_curve = predict(model_dir, {**values, "pl_orbper": 1.85}, light_curve=raw, planet_name="WASP-3 b")
    other_period = predict(model_dir, {**values, "pl_orbper": 40.0}, light_curve=raw, planet_name="WASP-3 b")
    without = predict(model_dir, values, planet_name="WASP-3 b")
    assert "light_curve" in with_curve.modalities_present and "light_curve" not in without.modalities_present
    assert with_curve.hz_class_probabilities == other_period.hz_class_probabilities
    assert with_curve.hz_class_probabilities != without.hz_class_probabilities
    row = AstroMultimodalProcessor.from_pretrained(model_dir).planet_inputs(values, light_curve=raw).row
    assert decode_feature(row["light_curve_features"][0], "transit_period") == pytest.approx(star["pl_orbper"],
                                                                                             rel=0.01)


# run by run_without_package: the checkpoint's bundled processor reads a light-curve FITS file and runs the transit
# search with the bundled code alone
SEARCH_SCRIPT = """
from transformers import AutoProcessor

processor = AutoProcessor.from_pretrained(sys.argv[1], trust_remote_code=True)
array, features = processor.searched_light_curve(sys.argv[2], json.loads(sys.argv[3]))
row = processor.planet_inputs(json.loads(sys.argv[3]), light_curve=sys.argv[2], force=True).row
assert all(f == g or (f != f and g != g) for f, g in zip(row["light_curve_features"], features))  # NaN == NaN
print(json.dumps({"module": type(processor).__module__, "features": [None if f != f else float(f) for f in features],
                  "valid_bins": int((array[1] > 0).sum()),
                  "astrobio_hf_loaded": astrobio_hf_loaded()}))
"""


def test_a_remote_code_processor_searches_a_fits_light_curve_without_the_package(trained, real_data_dir, tmp_path):
    model_dir, _ = trained
    fits_path = real_data_dir / "kepler_k2" / "kplr011442793-2009350155506_llc.fits"  # Kepler-90, real Q3
    star = {"st_teff": 6015.0, "st_rad": 1.2, "st_mass": 1.12}
    expected_array, expected = AstroMultimodalProcessor.from_pretrained(model_dir).searched_light_curve(fits_path, star)
    result = run_without_package(SEARCH_SCRIPT, model_dir, fits_path, json.dumps(star), tmp_path=tmp_path)
    assert result["module"].startswith("transformers_modules.") and result["astrobio_hf_loaded"] is False
    assert result["valid_bins"] == int((expected_array[1] > 0).sum())
    assert result["features"] == [None if np.isnan(f) else pytest.approx(float(f), rel=1e-6) for f in expected]
