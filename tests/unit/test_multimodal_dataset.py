"""The multimodal dataset builder on small synthetic catalogs (clearly made-up planets written by the tests).

Real-file checks (PSCompPars, Kepler-90, WASP-39 b, e_coli_core) are in tests/real_data/test_multimodal_real.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import cobra
import numpy as np
import pytest

from astrobio_hf.cli import main
from astrobio_hf.data.joins import JoinTableError, read_cross_ids, read_mapping
from astrobio_hf.data.multimodal import (
    MultimodalBuildConfig,
    MultimodalBuildError,
    build_multimodal_dataset,
    config_from_data_dir,
)
from astrobio_hf.data.multimodal_schema import UNLABELLED
from astrobio_hf.data.planet_features import planet_param_matrix
from astrobio_hf.data.splits import assign_host_splits
from astrobio_hf.data.text_templates import describe_planet

HEADER = ("pl_name,hostname,pl_orbper,pl_orbsmax,pl_rade,pl_bmasse,pl_bmassprov,pl_orbeccen,pl_insol,pl_eqt,"
          "st_teff,st_rad,st_mass,st_met,st_logg,sy_dist,discoverymethod,disc_year,disc_facility")
# Synthetic planets (not real objects): an Earth twin, a hot Jupiter, a cold giant, one without Teff,
# a temperate planet with neither radius nor mass, and a second planet of the Earth twin's star.
SYNTHETIC = [
    "Synth-1 b,Synth-1,365.25,1.0,1.0,1.0,Mass,0.02,1.0,255,5772,1.0,1.0,0.0,4.44,10,Transit,2020,Test",
    "Synth-1 c,Synth-1,700,1.55,1.2,,,0.01,0.42,,5772,1.0,1.0,0.0,4.44,10,Transit,2021,Test",
    "Synth-2 b,Synth-2,3.0,0.04,11.0,300,Mass,0,400,1500,6000,1.1,1.1,0.1,4.3,100,Transit,2015,Test",
    "Synth-3 b,Synth-3,3000,4.0,10.0,,,0.1,0.05,,5000,0.8,0.8,-0.2,4.6,20,Radial Velocity,2010,Test",
    "Synth-4 b,Synth-4,10,0.1,2.0,5,Mass,0,5,,,0.5,0.5,,,30,Transit,2019,Test",
    "Synth-5 b,Synth-5,200,0.7,,,,0,1.0,,5500,0.9,0.9,0,4.5,40,Radial Velocity,2012,Test",
]


def write_catalog(folder: Path, lines: list[str] = SYNTHETIC) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pscomppars.csv"
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n")
    return path


def build(tmp_path: Path, **kwargs):
    catalog = write_catalog(tmp_path / "nasa")
    config = MultimodalBuildConfig(nasa_data_files=[catalog], cache_dir=tmp_path / "cache", **kwargs)
    return build_multimodal_dataset(config)


def rows_by_name(splits) -> dict[str, dict]:
    return {row["planet_name"]: row for split in splits.values() for row in split}


# ------------------------------------------------------------------------------------------ splits


def test_host_splits_are_deterministic_and_keep_hosts_whole():
    hosts = [f"host{i // 3}" for i in range(300)]  # 100 hosts x 3 planets
    first = assign_host_splits(hosts, seed=7)
    assert first == assign_host_splits(list(reversed(hosts)), seed=7)  # order of the input does not matter
    assert first != assign_host_splits(hosts, seed=8)
    assert set(first) == set(hosts)
    planets = {name: sum(3 for h in first if first[h] == name) for name in ("train", "validation", "test")}
    assert planets["train"] == pytest.approx(240, abs=6) and planets["test"] == pytest.approx(30, abs=6)


def test_small_selections_still_fill_every_split():
    assignment = assign_host_splits(["a", "b", "c"], seed=0)
    assert sorted(assignment.values()) == ["test", "train", "validation"]
    with pytest.raises(ValueError, match="split fractions"):
        assign_host_splits(["a"], fractions=(0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="3 split fractions for 2 splits"):
        assign_host_splits(["a"], fractions=(0.5, 0.3, 0.2), split_names=("train", "test"))


# ------------------------------------------------------------------------------------------ features and text


def test_planet_params_take_log10_of_scale_columns_and_mask_missing_values():
    columns = {"pl_orbper": [10.0, None, -1.0], "pl_orbeccen": [0.1, 0.0, None]}
    values, observed = planet_param_matrix(columns, ("pl_orbper", "pl_orbeccen"), 3)
    assert values[0, 0] == pytest.approx(1.0) and values[0, 1] == pytest.approx(0.1)
    assert observed.tolist() == [[True, True], [False, True], [False, False]]
    assert np.isnan(values[1, 0]) and np.isnan(values[2, 0])  # missing, and not positive for log10
    with pytest.raises(KeyError, match="pl_typo"):
        planet_param_matrix(columns, ("pl_typo",), 3)


def test_text_is_templated_from_catalog_values_and_leaves_missing_ones_out():
    text = describe_planet({"pl_name": "Synth-1 b", "hostname": "Synth-1", "st_teff": 5772.0, "pl_orbper": 365.25,
                            "pl_bmasse": 1.0, "pl_bmassprov": "Msini", "disc_year": 2020, "discoverymethod": "Transit"})
    assert text.startswith("Synth-1 b orbits Synth-1, a star with an effective temperature of 5772 K.")
    assert "orbital period of 365 days" in text and "minimum mass (M sin i) of 1 Earth masses" in text
    assert "radius" not in text and "parsecs" not in text
    assert "habitab" not in text.lower() and "temperate" not in text.lower()


# ------------------------------------------------------------------------------------------ the build


def test_labels_and_reasons_follow_the_kopparapu_rule(tmp_path):
    splits, spec, report = build(tmp_path)
    rows = rows_by_name(splits)
    hz = {name: i for i, name in enumerate(spec.hz_class_names)}
    assert (rows["Synth-1 b"]["habitability"], rows["Synth-1 b"]["hz_class"]) == (1, hz["temperate"])
    assert (rows["Synth-2 b"]["habitability"], rows["Synth-2 b"]["hz_class"]) == (0, hz["too_hot"])
    assert (rows["Synth-3 b"]["habitability"], rows["Synth-3 b"]["hz_class"]) == (0, hz["too_cold"])
    assert rows["Synth-4 b"]["habitability"] == rows["Synth-4 b"]["hz_class"] == UNLABELLED
    assert rows["Synth-5 b"]["habitability"] == UNLABELLED and rows["Synth-5 b"]["hz_class"] == hz["temperate"]
    # the size label alone, whatever the band, the star or the habitability label; none without radius or mass
    assert {name: rows[name]["rocky"] for name in ("Synth-1 b", "Synth-2 b", "Synth-3 b", "Synth-4 b", "Synth-5 b")
            } == {"Synth-1 b": 1, "Synth-2 b": 0, "Synth-3 b": 0, "Synth-4 b": 0, "Synth-5 b": UNLABELLED}
    assert report.labels["reasons"] == {"no st_teff": 1, "temperate but no radius or mass": 1}
    assert report.labels["unlabelled"] == 2 and report.rows == 6


def test_rows_keep_hosts_together_and_carry_provenance(tmp_path):
    splits, spec, report = build(tmp_path)
    where = {row["host_name"]: name for name, split in splits.items() for row in split}
    for name, split in splits.items():
        assert all(where[h] == name for h in split["host_name"])
    assert spec.extra["splits"]["host_to_split"] == report.host_splits
    row = rows_by_name(splits)["Synth-1 b"]
    assert row["provenance"] == [{"source": "nasa_exoplanet_archive", "release": row["provenance"][0]["release"],
                                  "file": "pscomppars.csv", "generated": False}]
    assert not (row["spectrum_mask"] or row["light_curve_mask"] or row["climate_cube_mask"] or row["graph_mask"])
    assert row["planet_params"][0] == pytest.approx(math.log10(365.25))


def test_filters_and_duplicates(tmp_path):
    lines = SYNTHETIC + ["synth-1  B,Synth-1,1,1,1,1,Mass,0,1,1,5772,1,1,0,4.4,10,Transit,2020,Test"]
    catalog = write_catalog(tmp_path / "nasa", lines)
    config = MultimodalBuildConfig(nasa_data_files=[catalog], cache_dir=tmp_path / "c", hosts=["synth 1"])
    splits, _, report = build_multimodal_dataset(config)
    assert sorted(rows_by_name(splits)) == ["Synth-1 b", "Synth-1 c"]
    assert report.planets["duplicate_names_dropped"] == 1
    config = MultimodalBuildConfig(nasa_data_files=[catalog], cache_dir=tmp_path / "c", max_planets=2)
    assert build_multimodal_dataset(config)[2].rows == 2
    with pytest.raises(MultimodalBuildError, match="Synth-99 b"):
        build_multimodal_dataset(MultimodalBuildConfig(nasa_data_files=[catalog], cache_dir=tmp_path / "c",
                                                       planets=["Synth-99 b"]))


def test_exoplanets_org_fills_a_missing_mass_from_msini(tmp_path):
    eod = tmp_path / "eod" / "exoplanets.csv"
    eod.parent.mkdir()
    eod.write_text("NAME,MSINI,A,PER,ECC\n,mjupiter,au,day,\nSynth-5 b,0.01,0.7,200,0\nSynth-2 b,0.9,0.04,3,0\n")
    splits, spec, report = build(tmp_path, exoplanets_org_data_files=[eod])
    rows = rows_by_name(splits)
    names = list(spec.planet_param_names)
    mass = 10 ** rows["Synth-5 b"]["planet_params"][names.index("pl_bmasse")]
    assert mass == pytest.approx(0.01 * 317.83, rel=1e-3)
    assert rows["Synth-5 b"]["habitability"] == 1  # temperate, and now a (minimum) mass <= 10 Earth masses
    assert "minimum mass" in rows["Synth-5 b"]["text"]
    eod_entry = [p for p in rows["Synth-5 b"]["provenance"] if p["source"] == "exoplanets_org"]
    assert len(eod_entry) == 1 and "pl_bmasse<-MSINI" in eod_entry[0]["release"]
    assert [p["source"] for p in rows["Synth-2 b"]["provenance"]] == ["nasa_exoplanet_archive", "exoplanets_org"]
    assert report.exoplanets_org["matched"] == 2 and report.exoplanets_org["filled"] == {"pl_bmasse": 1}


def test_generated_climate_cubes_are_flagged_cached_and_windowed(tmp_path):
    splits, spec, report = build(tmp_path, climate="generate", planets=["Synth-1 b", "Synth-2 b", "Synth-5 b"])
    rows = rows_by_name(splits)
    for name in ("Synth-1 b", "Synth-5 b"):
        assert rows[name]["climate_cube_mask"] and rows[name]["climate_cube_generated"]
        assert rows[name]["provenance"][-1]["source"] == "climate_generator"
        assert rows[name]["provenance"][-1]["generated"] is True
    assert not rows["Synth-2 b"]["climate_cube_mask"]  # S = 400 lies outside the default window
    assert report.climate["computed"] == 2 and report.climate["generated"] == 2
    cube = np.asarray(rows["Synth-1 b"]["climate_cube"]).reshape(spec.shape("climate_cube"))
    assert cube.shape == spec.climate_cube_shape and np.isfinite(cube).all()
    ta = spec.extra["climate_cube"]["normalisation"]["variables"]["ta"]
    kelvin = cube[0] * ta["std"] + ta["mean"]
    assert 180 < kelvin.min() and kelvin.max() < 320  # an Earth twin's troposphere
    with pytest.raises(MultimodalBuildError, match="energy-balance model produces"):
        build(tmp_path, climate="generate", climate_variables=("ta", "ua"), planets=["Synth-1 b"])


def test_generated_cubes_are_shared_by_planets_with_the_same_rounded_parameters(tmp_path):
    lines = SYNTHETIC[:1] + ["Synth-6 b,Synth-6,365.3,1.0,1.0,1.0,Mass,0,1.001,255,5760,1,1,0,4.4,12,Transit,2020,T"]
    catalog = write_catalog(tmp_path / "nasa", lines)
    config = MultimodalBuildConfig(nasa_data_files=[catalog], cache_dir=tmp_path / "c", climate="generate")
    splits, _, report = build_multimodal_dataset(config)
    assert report.climate["computed"] == 1 and report.climate["memory_cache_hits"] == 1
    rows = rows_by_name(splits)
    np.testing.assert_array_equal(rows["Synth-1 b"]["climate_cube"], rows["Synth-6 b"]["climate_cube"])


def test_a_mapped_transmission_table_is_standardised_reversibly(tmp_path):
    wave = np.linspace(1.0, 2.0, 40)
    depth = 10000 + 300 * np.exp(-(((wave - 1.4) / 0.05) ** 2))  # synthetic absorption band
    table = tmp_path / "synthetic_spectrum.csv"
    table.write_text("wave,dppm,dppm_err\n" + "\n".join(f"{w},{d},30" for w, d in zip(wave, depth, strict=True)))
    (tmp_path / "map.csv").write_text("planet_name,file\nsynth-2 B,synthetic_spectrum.csv\n")
    splits, spec, report = build(tmp_path, spectrum_map=tmp_path / "map.csv")
    row = rows_by_name(splits)["Synth-2 b"]
    array = np.asarray(row["spectrum"]).reshape(spec.shape("spectrum"))
    valid = array[2] > 0
    info = spec.extra["spectrum"]["per_planet"]["Synth-2 b"]
    ppm = array[0][valid] * info["scale"] + info["median"]
    assert row["spectrum_mask"] and valid.sum() == info["valid_bins"] > 3
    assert depth.min() - 1 <= ppm.min() and ppm.max() <= depth.max() + 1
    assert row["provenance"][-1]["file"] == "synthetic_spectrum.csv"
    assert report.modalities["spectrum"] == 1


def test_a_mapped_metabolic_model_becomes_the_planet_graph(tmp_path):
    model = cobra.Model("synthetic_two_step")  # made up for the test: A_c -> B_c -> C_c
    a, b, c = (cobra.Metabolite(f"{m}_c", formula=f, compartment="c") for m, f in (("A", "C6H12O6"), ("B", "C3H6O3"),
                                                                                    ("C", "CO2")))
    r1, r2 = cobra.Reaction("R1"), cobra.Reaction("R2")
    r1.add_metabolites({a: -1, b: 2})
    r2.add_metabolites({b: -1, c: 1})
    model.add_reactions([r1, r2])
    cobra.io.save_json_model(model, tmp_path / "model.json")
    (tmp_path / "graphs.csv").write_text("planet_name,file\nSynth-3 b,model.json\n")
    splits, spec, report = build(tmp_path, graph_map=tmp_path / "graphs.csv")
    row = rows_by_name(splits)["Synth-3 b"]
    assert row["graph_mask"] and row["graph_id"] == "model.json"
    assert np.asarray([np.asarray(x) for x in row["graph_x"]]).shape == (5, 64)  # 3 metabolites + 2 reactions
    assert len(row["graph_edge_index"][0]) == 4 and sorted(np.asarray(row["graph_edge_attr"]).ravel()) == [1, 1, 1, 2]
    assert sum(r["graph_mask"] for r in rows_by_name(splits).values()) == 1


# ------------------------------------------------------------------------------------------ bad input


def test_mapping_tables_name_the_file_and_line(tmp_path):
    bad = tmp_path / "map.csv"
    bad.write_text("planet,file\nSynth-1 b,x.csv\n")
    with pytest.raises(JoinTableError, match=r"map.csv: line 1: missing column\(s\) \['planet_name'\]"):
        read_mapping(bad)
    bad.write_text("planet_name,file\nSynth-1 b,missing.fits\n")
    with pytest.raises(JoinTableError, match=r"map.csv: line 2: file 'missing.fits' not found"):
        read_mapping(bad)
    ids = tmp_path / "ids.csv"
    ids.write_text("host_name,kic,tic,epic\nSynth-1,11442793.0,,\nSynth-2,,abc,\n")
    with pytest.raises(JoinTableError, match=r"ids.csv: line 3: column 'tic': 'abc' is not an integer id"):
        read_cross_ids(ids)
    ids.write_text("host_name,kic,tic,epic\nSynth-1,11442793.0,,\n")
    assert read_cross_ids(ids).kic == {11442793: "synth1"}


def test_oversized_builds_are_refused(tmp_path):
    # absent modalities are null and cost nothing: the limit counts the cubes that were really made
    with pytest.raises(MultimodalBuildError, match=r"x climate_cube \(2, 2, 4, 8, 16\).*more than max_dataset_bytes"):
        build(tmp_path, climate="generate", max_dataset_bytes=2**10, planets=["Synth-1 b", "Synth-2 b"])


def test_prepare_command_checks_its_inputs(tmp_path, capsys):
    assert main(["prepare", "--dataset", "multimodal"]) == 2
    assert "needs --data-dir" in capsys.readouterr().err
    assert main(["prepare", "--dataset", "multimodal", "--data-dir", str(tmp_path)]) == 1
    assert "no nasa_exoplanet_archive/ folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["prepare", "--dataset", "multimodal", "--source", "gtdb"])


def test_prepare_command_builds_from_a_data_dir(tmp_path, capsys):
    write_catalog(tmp_path / "inputs" / "nasa_exoplanet_archive")
    config = config_from_data_dir(tmp_path / "inputs", max_planets=3)
    assert config.max_planets == 3 and config.light_curve_files == ()
    code = main(["prepare", "--dataset", "multimodal", "--data-dir", str(tmp_path / "inputs"), "--output",
                 str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")])
    assert code == 0
    out = capsys.readouterr().out
    assert "multimodal dataset: 6 planets" in out and "unlabelled: 1 no st_teff" in out
    assert (tmp_path / "out" / "multimodal_spec.json").is_file()


def test_prepared_dataset_gets_a_card_with_prose(tmp_path, capsys):
    write_catalog(tmp_path / "inputs" / "nasa_exoplanet_archive")
    assert main(["prepare", "--dataset", "multimodal", "--data-dir", str(tmp_path / "inputs"), "--output",
                 str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"), "--climate", "generate"]) == 0
    err = capsys.readouterr().err  # progress: every file of every builder, the climate generator per planet
    assert "[progress] nasa_exoplanet_archive: file 1/1 pscomppars.csv: 6 rows" in err
    assert "[progress] climate generator: 1/6 planets" in err and "[progress] climate generator: 6/6 planets (100%)" in err
    card = (tmp_path / "out" / "README.md").read_text()
    assert card.startswith("---\n") and "license: other" in card
    assert "| 0 | `pl_orbper` | log10 | day |" in card  # each planet_params column with its transform and unit
    assert "ta [K]" in card and "climate cubes are generated by astrobio-hf's energy-balance model" in card
    assert "Kopparapu et al. (2014)" in card and "## Splits" in card
    assert "**nasa_exoplanet_archive**" in card and "California Institute of Technology" in card
