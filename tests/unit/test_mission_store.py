"""The light-curve store: schema and manifest, determinism, no catalog period in model columns, atomic writes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from astrobio_hf.demo import mission_store as store
from astrobio_hf.demo.mission_light_curves import generate_host, transiting_planets
from astrobio_hf.package_data import real_catalog_path

# K2, TESS-sector and ground-survey hosts: short baselines keep the searches fast
HOSTS = ("K2-150", "WASP-3", "Wolf 503", "K2-18")


@pytest.fixture(scope="module")
def catalog() -> pd.DataFrame:
    frame = pd.read_csv(real_catalog_path())
    small = frame[frame["hostname"].isin(HOSTS)]
    assert set(small["hostname"]) == set(HOSTS)
    return small


@pytest.fixture(scope="module")
def built(tmp_path_factory, catalog):
    out = tmp_path_factory.mktemp("store")
    manifest = store.write_store(out, seed=7, n_bins=64, catalog=catalog)
    return out, manifest


def test_store_schema_and_manifest(built, catalog):
    out, manifest = built
    table = pq.read_table(out / store.PARQUET_NAME)
    assert table.schema.names == store.SCHEMA.names
    assert pa.types.is_list(table.schema.field("folded_flux").type)
    assert table.schema.field("folded_flux").type.value_type == pa.float32()
    frame = table.to_pandas()
    assert len(frame) == int((catalog["discoverymethod"] == "Transit").sum()) and frame["generated"].all()
    assert {len(v) for v in frame["folded_flux"]} == {64} and {len(v) for v in frame["folded_valid"]} == {64}
    found = frame[frame["search_found"]]
    assert len(found) >= 3 and (found["search_depth_snr"] >= 7.1).all()
    assert np.allclose(found["search_period"], found["truth_period"], rtol=0.01)
    assert frame.loc[~frame["search_found"], "search_period"].isna().all()
    assert all(np.any(v > 0) for v in found["folded_valid"])
    # folded at the found epoch: the transit sits at phase 0, the middle bins of the fold
    assert all(abs(int(np.argmin(v)) - 31.5) <= 2 for v in found["folded_flux"])
    assert all(not np.any(v) for v in frame.loc[~frame["search_found"], "folded_valid"])
    on_disk = json.loads((out / store.MANIFEST_NAME).read_text())
    assert on_disk["seed"] == 7 and on_disk["counts"]["planets"] == len(frame) == manifest["counts"]["planets"]
    assert set(on_disk["evaluation_only_columns"]) >= {"truth_period", "n_transits_in_baseline"}
    assert on_disk["search"]["snr_threshold"] == 7.1 and on_disk["period_recovery"][-1]["group"] == "all"
    kepler = on_disk["grids"]["Kepler"]
    assert kepler[0]["periods_days"][0] == 0.5 and kepler[-1]["periods_days"][1] == pytest.approx(1459.5 / 2, rel=1e-3)
    assert on_disk["code_version"].startswith("astrobio-hf")
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_store_is_deterministic_for_a_seed(built, catalog, tmp_path):
    out, _ = built
    store.write_store(tmp_path, seed=7, n_bins=64, catalog=catalog)
    first = pq.read_table(out / store.PARQUET_NAME).to_pandas()
    again = pq.read_table(tmp_path / store.PARQUET_NAME).to_pandas()
    pd.testing.assert_frame_equal(first, again)


def test_model_columns_do_not_depend_on_the_catalog_period(catalog):
    planets = transiting_planets(catalog)
    host = planets[planets["hostname"] == "WASP-3"]
    curve = generate_host(host, seed=1)  # the generator plays the sky with the true period
    corrupted = host.assign(pl_orbper=host["pl_orbper"] * 1.37, pl_orbsmax=np.nan, pl_insol=np.nan, pl_eqt=np.nan)
    honest, lied_to = store.host_rows(host, curve, n_bins=32), store.host_rows(corrupted, curve, n_bins=32)
    for a, b in zip(honest, lied_to, strict=True):
        for column in store.MODEL_COLUMNS:
            np.testing.assert_array_equal(np.asarray(a[column]), np.asarray(b[column]), err_msg=column)
    assert honest[0]["search_found"] and honest[0]["search_period"] == pytest.approx(host["pl_orbper"].iloc[0], rel=0.01)


def test_search_receives_no_catalog_period(catalog, monkeypatch, tmp_path):
    seen = []
    real = store.ts.search_signals

    def spy(*args, **kwargs):
        seen.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(store.ts, "search_signals", spy)
    store.write_store(tmp_path, seed=0, n_bins=16, catalog=catalog[catalog["hostname"] == "K2-18"])
    (args, kwargs), = seen
    truth = float(catalog.loc[catalog["hostname"] == "K2-18", "pl_orbper"].iloc[0])
    values = [v for v in kwargs.values() if isinstance(v, float)]
    assert not any(v == pytest.approx(truth, rel=1e-3) for v in values)
    assert set(kwargs) <= {"max_signals", "star_radius_rsun", "star_mass_msun", *store.SEARCH_OPTIONS}


def test_a_cut_run_leaves_no_file(catalog, monkeypatch, tmp_path):
    (tmp_path / store.PARQUET_NAME).write_text("an earlier run")
    calls = []
    real = store.process_host

    def dies_on_second_host(task):
        calls.append(task)
        if len(calls) == 2:
            raise KeyboardInterrupt("cut")
        return real(task)

    monkeypatch.setattr(store, "process_host", dies_on_second_host)
    with pytest.raises(KeyboardInterrupt):
        store.write_store(tmp_path, catalog=catalog, n_bins=16)
    assert list(tmp_path.iterdir()) == []


def test_command_with_limit_prints_the_recovery_table(catalog, monkeypatch, tmp_path, capsys):
    csv = tmp_path / "catalog.csv"
    catalog.to_csv(csv, index=False)
    monkeypatch.setattr(store, "real_catalog_path", lambda: csv)
    assert store.main(["--out", str(tmp_path / "out"), "--limit", "2", "--bins", "32"]) == 0
    printed = capsys.readouterr().out
    assert "| all | all |" in printed and "within 1%" in printed
    manifest = json.loads((tmp_path / "out" / store.MANIFEST_NAME).read_text())
    assert manifest["limit"] == 2 and 2 <= manifest["counts"]["planets"] <= 3
