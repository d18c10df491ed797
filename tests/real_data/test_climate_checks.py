"""Climate cubes: units converted or refused, impossible values named, one file per variable combined.

Built from the real CMIP6 GISS-E2-1-G ``ta`` file (read in place). The ``hus`` file here is GENERATED
on the same grid (a constant 2 g/kg: no small real CMIP6 ``hus`` file is kept), written in CMIP6's
layout, so that a ``ta`` + ``hus`` pair per model run can be mapped as CMIP6 ships them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from astrobio_hf.data.modalities.climate_cubes import ClimateCubeError, CubeGrid, load_climate_cube
from astrobio_hf.data.multimodal import MultimodalBuildConfig, build_multimodal_dataset

GISS = "climate_model/ta_Amon_GISS-E2-1-G_historical_r1i1p1f1_gn_200101-201412.nc"
PSCOMPPARS = "nasa_exoplanet_archive/PSCompPars.csv"
GRID = CubeGrid.regular(n_time=2, levels_hpa=(1000.0, 925.0), n_lat=2, n_lon=2)


@pytest.fixture(scope="module")
def giss(real_data_dir) -> xr.Dataset:
    with xr.open_dataset(real_data_dir / GISS) as ds:
        return ds.load()


def _write(ds: xr.Dataset, path: Path) -> Path:
    ds.to_netcdf(path, engine="netcdf4")
    return path


def _with_ta(giss: xr.Dataset, values, units: str | None) -> xr.Dataset:
    ds = giss.copy(deep=True)
    ds["ta"] = ds["ta"].copy(data=np.asarray(values, dtype=np.float32))
    ds["ta"].attrs = {k: v for k, v in giss["ta"].attrs.items() if k != "units"}
    if units is not None:
        ds["ta"].attrs["units"] = units
    return ds


def test_ta_in_degc_is_converted_to_kelvin(giss, real_data_dir, tmp_path):
    celsius = _write(_with_ta(giss, giss["ta"].values - 273.15, "degC"), tmp_path / "ta_degC.nc")
    kelvin = load_climate_cube(real_data_dir / GISS, ["ta"], GRID, extrapolation="clamp")
    cube = load_climate_cube(celsius, ["ta"], GRID, extrapolation="clamp")
    assert cube.units == ("K",) and cube.metadata["unit_conversions"] == ["ta: converted from degC to K"]
    np.testing.assert_allclose(cube.data, kelvin.data, atol=1e-3)


@pytest.mark.parametrize("units, message", [
    ("m", r"variable 'ta' has units 'm', which cannot be converted to K"),
    (None, r"variable 'ta' declares no units; expected K"),
])
def test_unconvertible_units_are_refused(giss, tmp_path, units, message):
    path = _write(_with_ta(giss, giss["ta"].values, units), tmp_path / "ta_bad.nc")
    with pytest.raises(ClimateCubeError, match=message):
        load_climate_cube(path, ["ta"], GRID, extrapolation="clamp")


def test_negative_kelvin_is_refused_naming_the_grid_point(giss, tmp_path):
    values = giss["ta"].values.copy()
    values[3, 1, 0, 1] = -5.0
    path = _write(_with_ta(giss, values, "K"), tmp_path / "ta_neg.nc")
    with pytest.raises(ClimateCubeError, match=r"ta_neg\.nc: variable 'ta' at \(time=\d+, plev=1, lat=0, lon=1\): "
                                               r"value -5\.0 is outside its possible range \(0, 10000\] K"):
        load_climate_cube(path, ["ta"], GRID, extrapolation="clamp")


def _cmip6_pair(giss: xr.Dataset, folder: Path) -> None:
    """ta split into two time spans (as CMIP6 does for long runs) and a generated hus on the same grid."""
    folder.mkdir()
    first, second = giss.isel(time=slice(0, 84)), giss.isel(time=slice(84, None))
    _write(first, folder / "ta_Amon_GISS-E2-1-G_historical_r1i1p1f1_gn_200101-200712.nc")
    _write(second, folder / "ta_Amon_GISS-E2-1-G_historical_r1i1p1f1_gn_200801-201412.nc")
    hus = giss.rename({"ta": "hus"})
    hus["hus"] = hus["hus"].copy(data=np.full(giss["ta"].shape, 0.002, dtype=np.float32))
    hus["hus"].attrs = {"standard_name": "specific_humidity", "units": "1"}
    hus.attrs["variable_id"] = "hus"
    _write(hus, folder / "hus_Amon_GISS-E2-1-G_historical_r1i1p1f1_gn_200101-201412.nc")


def test_one_file_per_variable_and_time_span_are_combined(giss, real_data_dir, tmp_path):
    _cmip6_pair(giss, tmp_path / "cmip6")
    files = sorted((tmp_path / "cmip6").glob("*.nc"))
    cube = load_climate_cube(files, ["ta", "hus"], GRID, extrapolation="clamp")
    whole = load_climate_cube(real_data_dir / GISS, ["ta"], GRID, extrapolation="clamp")
    np.testing.assert_allclose(cube.data[0], whole.data[0], atol=1e-4)  # the two time spans rejoined
    np.testing.assert_allclose(cube.data[1], 0.002, atol=1e-7)
    assert cube.units == ("K", "kg/kg") and len(cube.metadata["source_files"]) == 3


def test_files_that_disagree_on_their_grid_are_refused(giss, tmp_path):
    _write(giss, tmp_path / "ta.nc")
    shifted = giss.rename({"ta": "hus"}).assign_coords(lat=giss["lat"] + 1.0)
    shifted["hus"].attrs["units"] = "1"
    shifted["hus"] = shifted["hus"] * 0 + 0.001
    shifted["hus"].attrs["units"] = "1"
    _write(shifted, tmp_path / "hus.nc")
    with pytest.raises(ClimateCubeError, match=r"ta\.nc, hus\.nc: cannot combine these NetCDF files"):
        load_climate_cube([tmp_path / "ta.nc", tmp_path / "hus.nc"], ["ta", "hus"], GRID)


def test_a_climate_map_row_may_name_a_glob_per_variable(giss, real_data_dir, tmp_path):
    _cmip6_pair(giss, tmp_path / "cmip6")
    (tmp_path / "climate.csv").write_text("planet_name,file,variables\n"
                                          "Kepler-442 b,cmip6/ta_Amon_*.nc;cmip6/hus_Amon_*.nc,ta;hus\n")
    config = MultimodalBuildConfig(nasa_data_files=[real_data_dir / PSCOMPPARS], cache_dir=tmp_path / "c",
                                   planets=["Kepler-442 b", "WASP-39 b", "KOI-351 b"], climate="files",
                                   climate_map=tmp_path / "climate.csv", climate_variables=("ta", "hus"),
                                   climate_levels_hpa=(1000.0, 925.0), climate_n_time=2, climate_n_lat=2,
                                   climate_n_lon=2, climate_extrapolation="clamp")
    splits, spec, report = build_multimodal_dataset(config)
    rows = {r["planet_name"]: r for split in splits.values() for r in split}
    row = rows["Kepler-442 b"]
    assert spec.climate_cube_shape == (2, 2, 2, 2, 2) and row["climate_cube_mask"]
    files = [p["file"] for p in row["provenance"] if p["source"] == "climate_model"][0].split(";")
    assert len(files) == 3 and files[0].startswith("ta_Amon") and files[-1].startswith("hus_Amon")
