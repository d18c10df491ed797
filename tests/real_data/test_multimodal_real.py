"""The multimodal dataset built from the real PSCompPars, exoplanets.org, Kepler, JWST, BiGG and CMIP6 files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from astrobio_hf.cli import main
from astrobio_hf.data.collator import ArrowBatches, MultimodalCollator
from astrobio_hf.data.multimodal import MultimodalBuildConfig, build_multimodal_dataset
from astrobio_hf.data.multimodal_schema import UNLABELLED, load_multimodal_dataset, save_multimodal_dataset
from astrobio_hf.models.multimodal import AstroMultimodalModel
from astrobio_hf.models.presets import build_config

PSCOMPPARS = "nasa_exoplanet_archive/PSCompPars.csv"
EOD = "exoplanets_org/exoplanets.csv"
NIRISS = "jwst/transmission_spectra/CMADF-WASP_39b_NIRISS_transmission_spectrum_R100.csv"
KEPLER_90 = ("kepler_k2/kplr011442793-2009350155506_llc.fits", "kepler_k2/kplr011442793-2010009091648_llc.fits")
TESS = "tess/tess2022302161335-s0058-0000000021132157-0247-s_lc.fits"
E_COLI = "kegg_metabolic/sbml_bigg/e_coli_core.json"
GISS = "climate_model/ta_Amon_GISS-E2-1-G_historical_r1i1p1f1_gn_200101-201412.nc"

# Kopparapu et al. (2014) coefficients, copied from ../shared/docs/SOURCES.md for an independent check of labels.
RUNAWAY = (1.107, 1.332e-4, 1.580e-8, -8.308e-12, -1.931e-15)
MAX_GREENHOUSE = (0.356, 6.171e-5, 1.698e-9, -3.198e-12, -5.575e-16)


def _s_eff(coefficients: tuple[float, ...], teff: float) -> float:
    t = teff - 5780.0
    return sum(c * t**k for k, c in enumerate(coefficients))


def _rows(splits, names: list[str] | None = None) -> dict[str, dict]:
    """Rows by planet name (only ``names`` when given: reading every row of the full catalog takes seconds)."""
    out = {}
    for split_name, split in splits.items():
        for index, planet in enumerate(split["planet_name"]):
            if names is None or planet in names:
                out[planet] = {**split[index], "split": split_name}
    return out


@pytest.fixture(scope="module")
def catalog(real_data_dir: Path) -> pd.DataFrame:
    path = real_data_dir / PSCOMPPARS
    with path.open() as handle:  # skip the '# COLUMN' preamble only: a cell holds '&#177' (comment= would cut it)
        preamble = next(i for i, line in enumerate(handle) if not line.startswith("#"))
    return pd.read_csv(path, skiprows=preamble)


@pytest.fixture(scope="module")
def full(real_data_dir: Path, tmp_path_factory):
    """The whole catalog, no modality files (the fast path)."""
    config = MultimodalBuildConfig(nasa_data_files=[real_data_dir / PSCOMPPARS],
                                   exoplanets_org_data_files=[real_data_dir / EOD],
                                   cache_dir=tmp_path_factory.mktemp("cache"))
    return build_multimodal_dataset(config)


@pytest.fixture(scope="module")
def joined(real_data_dir: Path, tmp_path_factory):
    """Five systems with every modality joined through the documented rules."""
    folder = tmp_path_factory.mktemp("joins")
    (folder / "spectra.csv").write_text(f"planet_name,file\nWASP-39 b,{real_data_dir / NIRISS}\n")
    (folder / "cross_ids.csv").write_text("host_name,kic,tic,epic\nKOI-351,11442793,,\n")
    (folder / "graphs.csv").write_text(f"planet_name,file\nKepler-442 b,{real_data_dir / E_COLI}\n")
    config = MultimodalBuildConfig(
        nasa_data_files=[real_data_dir / PSCOMPPARS], exoplanets_org_data_files=[real_data_dir / EOD],
        cache_dir=folder / "cache", hosts=["WASP-39", "KOI-351", "Kepler-442", "HD 209458"],
        spectrum_map=folder / "spectra.csv", light_curve_files=[real_data_dir / "kepler_k2", real_data_dir / TESS],
        cross_ids=folder / "cross_ids.csv", graph_map=folder / "graphs.csv", climate="generate",
        climate_cache_dir=folder / "ebm",
    )
    splits, spec, report = build_multimodal_dataset(config)
    return splits, spec, report, config


# ------------------------------------------------------------------------------------------ whole catalog


def test_every_catalog_planet_is_one_row(full, catalog):
    splits, spec, report = full
    assert report.rows == catalog["pl_name"].nunique() == sum(len(s) for s in splits.values())
    assert report.planets["duplicate_names_dropped"] == len(catalog) - catalog["pl_name"].nunique()
    assert sorted(splits) == ["test", "train", "validation"]
    assert report.modalities["planet_params"] == report.rows
    assert report.exoplanets_org["matched"] > 3000


def test_unlabelled_planets_are_counted_with_reasons(full, catalog):
    splits, spec, report = full
    labels = np.concatenate([np.asarray(s["habitability"]) for s in splits.values()])
    assert report.labels["unlabelled"] == int((labels == UNLABELLED).sum()) > 0
    assert sum(report.labels["reasons"].values()) == report.labels["unlabelled"]
    assert report.labels["labelled"] + report.labels["unlabelled"] == report.rows
    # the reason "no st_teff" counts exactly the catalog rows without a stellar Teff
    assert report.labels["reasons"]["no st_teff"] == int(catalog["st_teff"].isna().sum())


def test_no_host_in_two_splits(full):
    splits, spec, report = full
    hosts = {name: set(split["host_name"]) for name, split in splits.items()}
    assert not hosts["train"] & hosts["validation"]
    assert not hosts["train"] & hosts["test"]
    assert not hosts["validation"] & hosts["test"]
    fractions = {name: len(split) / report.rows for name, split in splits.items()}
    assert abs(fractions["train"] - 0.8) < 0.02 and abs(fractions["test"] - 0.1) < 0.02
    assert spec.extra["splits"]["host_to_split"] == report.host_splits


def test_labels_of_known_planets_match_an_independent_computation(full, catalog):
    splits, spec, report = full
    rows = _rows(splits, ["Kepler-442 b", "WASP-39 b", "Kepler-62 f", "TOI-700 d"])
    for name in ("Kepler-442 b", "WASP-39 b", "Kepler-62 f", "TOI-700 d"):
        p = catalog[catalog["pl_name"] == name].iloc[0]
        inner, outer = _s_eff(RUNAWAY, p["st_teff"]), _s_eff(MAX_GREENHOUSE, p["st_teff"])
        temperate = outer <= p["pl_insol"] <= inner
        expected_hz = spec.hz_class_names.index("temperate" if temperate else
                                                "too_hot" if p["pl_insol"] > inner else "too_cold")
        assert rows[name]["hz_class"] == expected_hz, name
        assert rows[name]["habitability"] == int(temperate and p["pl_rade"] <= 1.6), name
    assert rows["Kepler-442 b"]["habitability"] == 1
    assert rows["WASP-39 b"]["habitability"] == 0


def test_planet_params_are_log10_of_the_catalog_values(full, catalog):
    splits, spec, report = full
    row = _rows(splits, ["WASP-39 b"])["WASP-39 b"]
    p = catalog[catalog["pl_name"] == "WASP-39 b"].iloc[0]
    names = list(spec.planet_param_names)
    assert row["planet_params"][names.index("pl_orbper")] == pytest.approx(math.log10(p["pl_orbper"]), rel=1e-6)
    assert row["planet_params"][names.index("st_met")] == pytest.approx(p["st_met"], abs=1e-6)
    assert "WASP-39 b" in row["text"] and "SuperWASP" in row["text"]
    assert "habitab" not in row["text"].lower()


def test_the_build_is_deterministic_for_a_seed(real_data_dir, tmp_path):
    def build(seed: int):
        config = MultimodalBuildConfig(nasa_data_files=[real_data_dir / PSCOMPPARS], cache_dir=tmp_path,
                                       max_planets=400, split_seed=seed)
        splits, _, report = build_multimodal_dataset(config)
        return {k: list(v["planet_name"]) for k, v in splits.items()}, report.host_splits

    first, second, other = build(3), build(3), build(4)
    assert first == second
    assert other[1] != first[1]


# ------------------------------------------------------------------------------------------ joined modalities


def test_wasp39b_gets_the_niriss_transmission_spectrum(joined, real_data_dir):
    splits, spec, report, _ = joined
    row = _rows(splits)["WASP-39 b"]
    assert row["spectrum_mask"]
    table = pd.read_csv(real_data_dir / NIRISS, comment="#")
    wave = np.asarray(spec.extra["spectrum"]["wavelength_um"])
    valid = np.asarray(row["spectrum"]).reshape(spec.shape("spectrum"))[2] > 0
    assert valid.sum() > 5
    assert wave[valid].min() >= table["wave"].min() - 0.1 and wave[valid].max() <= table["wave"].max() + 0.1
    info = spec.extra["spectrum"]["per_planet"]["WASP-39 b"]
    depth = np.asarray(row["spectrum"]).reshape(spec.shape("spectrum"))[0][valid] * info["scale"] + info["median"]  # back to ppm
    good = table[table["quality"] == 0]["dppm"]
    assert good.min() <= depth.min() and depth.max() <= good.max()
    assert any(p["file"] == Path(NIRISS).name for p in row["provenance"])


def test_kepler90_light_curve_joins_through_the_cross_id_table(joined, catalog):
    splits, spec, report, _ = joined
    rows = _rows(splits)
    kepler90 = catalog[catalog["hostname"] == "KOI-351"]["pl_name"].tolist()
    assert len(kepler90) == 8
    for name in kepler90:
        row = rows[name]
        assert row["light_curve_mask"], name
        files = {p["file"] for p in row["provenance"] if p["source"] == "kepler_k2_mast"}
        assert files == {Path(f).name for f in KEPLER_90}
        curve = np.asarray(row["light_curve"]).reshape(spec.shape("light_curve"))
        assert curve.shape == (spec.light_curve_channels, spec.light_curve_length)
        assert curve[1].sum() > 0 and np.all(curve[0][curve[1] == 0] == 0)
    assert not rows["WASP-39 b"]["light_curve_mask"]
    assert Path(TESS).name in report.light_curves["unmatched_files"]


def test_generated_cubes_are_flagged(joined):
    splits, spec, report, config = joined
    rows = _rows(splits)
    row = rows["Kepler-442 b"]
    assert row["climate_cube_mask"] and row["climate_cube_generated"]
    assert [p["generated"] for p in row["provenance"] if p["source"] == "climate_generator"] == [True]
    assert len(row["climate_cube"]) == spec.size("climate_cube")
    assert np.isfinite(np.asarray(row["climate_cube"]).reshape(spec.shape("climate_cube"))).all()
    assert not rows["WASP-39 b"]["climate_cube_mask"]  # S = 316 lies outside the generator window
    assert any("outside the generator window" in k for k in report.climate["skipped"])
    assert report.climate["generated"] == report.modalities["climate_cube_generated"] > 0


def test_generated_cubes_are_reused_from_the_disk_cache(joined):
    splits, spec, report, config = joined
    again_splits, _, again = build_multimodal_dataset(config)
    assert again.climate["computed"] == 0 and again.climate["disk_cache_hits"] == report.climate["computed"]
    first, second = _rows(splits)["Kepler-442 b"], _rows(again_splits)["Kepler-442 b"]
    np.testing.assert_array_equal(first["climate_cube"], second["climate_cube"])


def test_the_mapped_metabolic_graph_is_e_coli_core(joined, real_data_dir):
    splits, spec, report, _ = joined
    rows = _rows(splits)
    model = json.loads((real_data_dir / E_COLI).read_text())
    row = rows["Kepler-442 b"]
    assert row["graph_mask"] and row["graph_id"] == "e_coli_core.json"
    x = np.asarray([np.asarray(r) for r in row["graph_x"]])
    assert x.shape == (len(model["metabolites"]) + len(model["reactions"]), 64)
    stoichiometric_entries = sum(len(r["metabolites"]) for r in model["reactions"])
    assert len(row["graph_edge_index"][0]) == stoichiometric_entries
    assert sum(r["graph_mask"] for r in rows.values()) == 1


def test_saved_dataset_loads_and_a_batch_runs_through_the_model(joined, tmp_path):
    splits, spec, report, _ = joined
    path = save_multimodal_dataset(splits, spec, tmp_path / "mm")
    loaded, loaded_spec = load_multimodal_dataset(path)
    assert loaded_spec == spec
    rows = [ArrowBatches(split).__getitems__(list(range(len(split)))) for split in loaded.values()]
    batch = MultimodalCollator(loaded_spec)(rows)
    assert set(batch) >= {"spectrum", "light_curve", "climate_cube", "graph"}
    overrides = {"planet_param_names": list(spec.planet_param_names), "spectrum_length": spec.spectrum_length,
                 "light_curve_length": spec.light_curve_length, "dropout": 0.0}
    config = build_config("astro-multimodal-tiny", **overrides)
    spec.check_model_config(config)
    model = AstroMultimodalModel(config).eval()
    with torch.no_grad():
        out = model(**batch)
    assert out.habitability_logits.shape == (sum(len(split) for split in loaded.values()), 2)
    assert torch.isfinite(out.loss)


def test_a_mapped_netcdf_file_gives_a_model_cube(real_data_dir, tmp_path):
    (tmp_path / "climate.csv").write_text(f"planet_name,file,variables\nKepler-442 b,{real_data_dir / GISS},ta\n")
    config = MultimodalBuildConfig(nasa_data_files=[real_data_dir / PSCOMPPARS], cache_dir=tmp_path / "c",
                                   planets=["Kepler-442 b", "WASP-39 b", "KOI-351 b"], climate="files",
                                   climate_map=tmp_path / "climate.csv", climate_variables=("ta",),
                                   climate_levels_hpa=(1000.0, 925.0), climate_n_time=2, climate_n_lat=2,
                                   climate_n_lon=2, climate_extrapolation="clamp")
    splits, spec, report = build_multimodal_dataset(config)
    row = _rows(splits)["Kepler-442 b"]
    assert spec.climate_cube_shape == (1, 2, 2, 2, 2)
    assert row["climate_cube_mask"] and not row["climate_cube_generated"]
    assert [p["file"] for p in row["provenance"] if p["source"] == "climate_model"] == [Path(GISS).name]
    stats = spec.extra["climate_cube"]["normalisation"]["variables"]["ta"]
    kelvin = np.asarray(row["climate_cube"]).reshape(spec.shape("climate_cube")) * stats["std"] + stats["mean"]  # undo the recorded normalisation
    assert np.all((kelvin > 180) & (kelvin < 320))  # CMIP6 near-surface air temperatures near the pole


def test_prepare_command_writes_a_loadable_dataset(real_data_dir, tmp_path, capsys):
    data = tmp_path / "inputs"
    (data / "nasa_exoplanet_archive").mkdir(parents=True)
    (data / "nasa_exoplanet_archive" / "PSCompPars.csv").symlink_to(real_data_dir / PSCOMPPARS)
    (data / "light_curves").mkdir()
    for f in KEPLER_90:
        (data / "light_curves" / Path(f).name).symlink_to(real_data_dir / f)
    (data / "cross_ids.csv").write_text("host_name,kic,tic,epic\nKOI-351,11442793,,\n")
    code = main(["prepare", "--dataset", "multimodal", "--data-dir", str(data), "--output", str(tmp_path / "out"),
                 "--cache-dir", str(tmp_path / "cache"), "--host", "KOI-351", "--host", "WASP-39", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == 9 and out["modalities"]["light_curve"] == 8
    splits, spec = load_multimodal_dataset(tmp_path / "out")
    assert sum(len(s) for s in splits.values()) == 9
    assert len(splits) == 2 and spec.extra["splits"]["empty"]  # two hosts fill two of the three splits
    assert (tmp_path / "out" / "multimodal_report.json").is_file()
