"""Prediction for any planet: catalog values, a row of the user's own PSCompPars file, an astropy QTable row with
units; the processor (AutoProcessor), the habitability pipeline, id2label and the loss curve of train.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from astropy import units as u
from astropy.table import QTable

import astrobio_hf
from astrobio_hf.cli import main as cli
from astrobio_hf.data.collator import MultimodalCollator
from astrobio_hf.data.planet_features import planet_param_matrix
from astrobio_hf.data.planet_scaling import scaling_of
from astrobio_hf.inference.predict import catalog_row, predict
from astrobio_hf.inference.processing import AstroMultimodalProcessor
from tests.helpers.multimodal_rows import SPEC, write_dataset
from train import main as train

KEPLER_186F = {"pl_name": "Kepler-186 f", "hostname": "Kepler-186", "pl_orbper": 129.9444, "pl_rade": 1.17,
               "pl_insol": 0.29, "st_teff": 3755.0, "st_rad": 0.52, "st_mass": 0.54, "sy_dist": 177.595}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("any_planet")
    dataset = write_dataset(root / "data", n_train=8, n_eval=4)
    train(["--dataset_path", str(dataset), "--output_dir", str(root / "model"), "--do_train", "--max_steps", "2",
           "--logging_steps", "1", "--use_cpu", "--report_to", "none", "--disable_tqdm", "true",
           "--save_strategy", "no"])
    return root / "model"


def test_checkpoint_has_processor_labels_and_loss_curve(checkpoint):
    config = json.loads((checkpoint / "config.json").read_text())
    assert config["id2label"] == {"0": "too_hot", "1": "temperate", "2": "too_cold"}
    assert config["label2id"] == {"too_hot": 0, "temperate": 1, "too_cold": 2}
    assert (checkpoint / "processor_config.json").is_file()
    png = (checkpoint / "loss_curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_values_go_through_the_training_transforms(checkpoint):
    processor = AstroMultimodalProcessor.from_pretrained(str(checkpoint))
    planet = processor.planet_inputs(KEPLER_186F)
    names = SPEC.planet_param_names
    expected, observed = planet_param_matrix({n: [KEPLER_186F.get(n)] for n in names}, names, 1)
    np.testing.assert_array_equal(planet.row["planet_params"], expected[0])
    assert planet.missing_params == [n for n, seen in zip(names, observed[0], strict=True) if not seen]
    assert "pl_orbsmax" in planet.missing_params and "pl_orbper" not in planet.missing_params
    assert planet.missing_modalities == ["light_curve", "spectrum", "climate_cube", "graph"]
    batch = processor(planet)
    scaling = scaling_of(processor.multimodal_spec)  # fitted by train.py on its train split, saved with the processor
    assert scaling is not None and scaling.rows == 8 and scaling.split == "train"
    reference = MultimodalCollator(processor.multimodal_spec)([planet.row])
    torch.testing.assert_close(batch["planet_params"], reference["planet_params"], equal_nan=True, rtol=0, atol=0)
    torch.testing.assert_close(batch["planet_params"], torch.from_numpy(scaling.apply(expected)), equal_nan=True)
    assert "spectrum" not in batch and "habitability" not in batch


def test_predict_by_values_reports_missing_inputs(checkpoint):
    result = predict(checkpoint, KEPLER_186F)
    assert result.planet_name == "Kepler-186 f"
    assert result.modalities_present == ["planet_params"]
    assert result.missing_inputs == ["light_curve", "spectrum", "climate_cube", "graph"]
    assert "pl_bmasse" in result.missing_catalog_values
    assert sum(result.hz_class_probabilities.values()) == pytest.approx(1.0)


def test_qtable_row_with_units_equals_values_in_catalog_units(checkpoint):
    table = QTable({"pl_name": ["Kepler-186 f"], "pl_orbper": [129.9444 * 24] * u.hour,
                    "pl_rade": [1.17 * u.R_earth.to(u.km)] * u.km, "pl_insol": [0.29],
                    "st_teff": [3755.0] * u.K, "st_rad": [0.52] * u.R_sun, "st_mass": [0.54] * u.M_sun,
                    "sy_dist": [177.595 * u.pc.to(u.lyr)] * u.lyr})
    by_row = predict(checkpoint, table[0])
    by_values = predict(checkpoint, KEPLER_186F)
    assert by_row.habitability_probability == pytest.approx(by_values.habitability_probability, rel=1e-5)
    with pytest.raises(ValueError, match="pl_orbper"):
        predict(checkpoint, QTable({"pl_orbper": [3.0] * u.kg})[0])


def test_light_curve_fits_joins_the_prediction(checkpoint, real_data_dir):
    fits_file = real_data_dir / "kepler_k2" / "kplr011442793-2009350155506_llc.fits"
    # the file names its star by KIC number only: the values confirm it is Kepler-90's
    result = predict(checkpoint, {"pl_name": "Kepler-90 h", "pl_orbper": 331.6, "kic": 11442793},
                     light_curve=fits_file)
    assert result.modalities_present == ["planet_params", "light_curve"]
    assert result.provenance[0]["file"] == fits_file.name


def test_another_stars_light_curve_is_refused_unless_forced(checkpoint, real_data_dir, capsys):
    fits_file = real_data_dir / "kepler_k2" / "kplr011442793-2009350155506_llc.fits"  # Kepler-90 = KIC 11442793
    with pytest.raises(ValueError, match=r"names the star KIC 11442793 only.*Kepler-186.*kic=11442793"):
        predict(checkpoint, KEPLER_186F, light_curve=fits_file)
    with pytest.raises(ValueError, match="KIC 11442793"):
        predict(checkpoint, {**KEPLER_186F, "kic": 8120608}, light_curve=fits_file)  # Kepler-186's own number
    forced = predict(checkpoint, KEPLER_186F, light_curve=fits_file, force=True)
    assert "light_curve" in forced.modalities_present
    values = ["--values", "pl_name=Kepler-186 f", "pl_orbper=129.9444", "--light-curve", str(fits_file)]
    assert cli(["predict", "--model", str(checkpoint), *values]) == 1
    assert "names the star KIC 11442793" in capsys.readouterr().err
    assert cli(["predict", "--model", str(checkpoint), *values, "--force"]) == 0


def test_header_names_compare_with_the_host_and_planet():
    from astrobio_hf.inference.identity import ObservationIdentityError, check_observation

    check_observation("spectrum", "x.fits", "WASP-39", {"pl_name": "WASP-39 b"})
    check_observation("spectrum", "x.fits", "WASP-39B", {"pl_name": "WASP-39 b"})
    check_observation("spectrum", "x.fits", "TRAPPIST-1", {"hostname": "TRAPPIST-1", "pl_name": "TRAPPIST-1 e"})
    check_observation("light curve", "x.fits", "TIC 0261136679", {"pl_name": "pi Men c", "tic_id": "TIC 261136679"})
    with pytest.raises(ObservationIdentityError, match="'Kepler-18'.*not of Kepler-186 f"):
        check_observation("spectrum", "x.fits", "Kepler-18", {"pl_name": "Kepler-186 f"})
    check_observation("spectrum", "x.fits", None, {"pl_name": "Kepler-186 f"})  # a file naming nobody


def test_bad_values_are_refused_naming_them(checkpoint, capsys):
    model = ["predict", "--model", str(checkpoint), "--values", "pl_name=Kepler-186 f", "pl_orbper=129.9444"]
    assert cli([*model, "pl_radius=1"]) == 1
    err = capsys.readouterr().err
    assert "unknown catalog column(s): 'pl_radius'" in err and "pl_rade" in err
    assert cli([*model, "pl_rade=-1"]) == 1
    assert "'pl_rade': -1.0 is outside its physical range (0, 100] Earth radius" in capsys.readouterr().err
    assert cli([*model, "st_teff=0"]) == 1
    assert "'st_teff': 0.0 is outside its physical range" in capsys.readouterr().err
    with pytest.raises(ValueError, match="pl_orbper"):
        predict(checkpoint, {"pl_orbper": -3.0})


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_wrong_model_path_says_the_folder_does_not_exist(checkpoint, tmp_path, capsys, command):
    extra = ["--values", "pl_orbper=10"] if command == "predict" else ["--dataset", str(tmp_path)]
    assert cli([command, "--model", str(checkpoint) + "_misspelt", *extra]) == 1
    err = capsys.readouterr().err
    assert "no such folder" in err and "_misspelt" in err and "Traceback" not in err
    assert cli([command, "--model", str(checkpoint.parent), *extra]) == 1
    assert f"the model folders inside it: {checkpoint}" in capsys.readouterr().err


def test_cli_values_and_catalog_file(checkpoint, real_data_dir, capsys):
    assert cli(["predict", "--model", str(checkpoint), "--values", "pl_name=Kepler-186 f", "pl_orbper=129.9444",
                "st_teff=3755", "--json"]) == 0
    [printed] = json.loads(capsys.readouterr().out)
    assert printed["planet_name"] == "Kepler-186 f" and "pl_rade" in printed["missing_catalog_values"]
    catalog = real_data_dir / "nasa_exoplanet_archive" / "PSCompPars.csv"
    assert cli(["predict", "--model", str(checkpoint), "--catalog", str(catalog), "--planet", "Kepler-186 f"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Kepler-186 f: ") and "(probability " in out
    assert "missing inputs (masked, not imputed): light_curve, spectrum, climate_cube, graph" in out
    row = catalog_row(catalog, "kepler-186 F")
    assert row["pl_orbper"] == pytest.approx(129.9444, rel=1e-3)
    assert cli(["predict", "--model", str(checkpoint), "--catalog", str(catalog), "--planet", "Kepler-99999 z"]) == 1
    assert "'Kepler-99999 z' is not in" in capsys.readouterr().err
    assert cli(["predict", "--model", str(checkpoint), "--values", "pl_orbper"]) == 1
    assert "is not COLUMN=VALUE" in capsys.readouterr().err


def test_auto_processor_and_pipeline_after_import(checkpoint):
    from transformers import AutoProcessor, pipeline

    assert isinstance(AutoProcessor.from_pretrained(str(checkpoint)), astrobio_hf.AstroMultimodalProcessor)
    classify = pipeline("habitability-classification", model=str(checkpoint))
    assert isinstance(classify, astrobio_hf.HabitabilityPipeline)
    result = classify(KEPLER_186F)
    assert result["label"] in ("too_hot", "temperate", "too_cold")
    assert sum(s["score"] for s in result["scores"]) == pytest.approx(1.0)
    direct = predict(checkpoint, KEPLER_186F)
    assert result["habitability_probability"] == pytest.approx(direct.habitability_probability, rel=1e-5)
    assert result["missing_inputs"] == direct.missing_inputs


def test_score_the_whole_packaged_catalog_in_one_run(checkpoint, tmp_path, capsys):
    import pandas as pd

    from astrobio_hf.inference.catalog_scoring import score_catalog

    out = tmp_path / "ranked.parquet"
    assert cli(["predict", "--model", str(checkpoint), "--catalog", "packaged", "--all", "--output", str(out)]) == 0
    assert "scored 5967 planets" in capsys.readouterr().out
    ranked = pd.read_parquet(out)
    assert len(ranked) == 5967 and ranked["planet_name"].is_unique
    assert ranked["habitability_probability"].is_monotonic_decreasing
    assert list(ranked["rank"]) == list(range(1, 5968))
    assert (ranked["habitable"] == (ranked["habitability_probability"] >= ranked["threshold"])).all()
    assert ranked[["p_too_hot", "p_temperate", "p_too_cold"]].sum(axis=1).round(5).eq(1.0).all()
    # the label rule's answer where its inputs are there; its reason where they are not
    assert ranked["rule_habitability"].notna().sum() > 1000 and ranked["rule_reason"].notna().any()
    # batched scoring gives what predict() gives for the same planet
    row = ranked.set_index("planet_name").loc["Kepler-186 f"]
    single = predict(checkpoint, catalog_row("packaged", "Kepler-186 f"))
    assert row["habitability_probability"] == pytest.approx(single.habitability_probability, abs=1e-5)
    assert row["missing_inputs"].split(";") == single.missing_inputs
    assert row["missing_catalog_values"] == ";".join(single.missing_catalog_values)
    # Python call, CSV
    frame = score_catalog(checkpoint, "packaged", output=tmp_path / "ranked.csv", batch_size=1000)
    assert len(pd.read_csv(tmp_path / "ranked.csv")) == 5967
    assert frame["planet_name"].tolist() == ranked["planet_name"].tolist()


def test_score_all_needs_a_catalog_and_names_bad_ones(checkpoint, tmp_path, capsys):
    assert cli(["predict", "--model", str(checkpoint), "--all"]) == 2
    assert "--all needs --catalog" in capsys.readouterr().err
    assert cli(["predict", "--model", str(checkpoint), "--catalog", str(tmp_path / "nope.csv"), "--all"]) == 1
    assert "nope.csv does not exist" in capsys.readouterr().err


def test_suggestions_follow_the_archives_renames():
    with pytest.raises(KeyError, match=r"similar: \['KOI-351 h'"):  # the 2025 catalog calls Kepler-90 KOI-351
        catalog_row("packaged", "Kepler-90 h")
