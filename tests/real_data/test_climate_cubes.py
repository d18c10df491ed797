"""Climate-cube pipeline on real NetCDF files (CMIP6 GISS, NCEP GFS, packed ERA-Interim), read in place.

Expected values are read independently with netCDF4 (raw, without xarray) and compared with the cube.
"""

from __future__ import annotations

import json
from pathlib import Path

import cftime
import netCDF4
import numpy as np
import pytest

from astrobio_hf.data.modalities.climate_cubes import (
    NORM_STATS_FILENAME,
    ClimateCubeError,
    CubeGrid,
    apply_normalization,
    compute_normalization_stats,
    invert_normalization,
    load_climate_cube,
    load_normalization_stats,
    pressure_to_hpa,
    save_normalization_stats,
)

GISS = "ta_Amon_GISS-E2-1-G_historical_r1i1p1f1_gn_200101-201412.nc"
GFS = "GFS_test.nc"
ERA = "eraint_uvz.nc"


@pytest.fixture(scope="module")
def climate_dir(real_data_dir: Path) -> Path:
    return real_data_dir / "climate_model"


def _raw(path: Path, name: str) -> np.ndarray:
    """A variable decoded by hand: raw stored values * scale_factor + add_offset (no library unpacking)."""
    with netCDF4.Dataset(path) as nc:
        var = nc[name]
        var.set_auto_maskandscale(False)
        raw = np.asarray(var[:], dtype=np.float64)
        return raw * float(getattr(var, "scale_factor", 1.0)) + float(getattr(var, "add_offset", 0.0))


def _index(values: np.ndarray, wanted: float) -> int:
    hits = np.flatnonzero(np.isclose(values, wanted))
    assert hits.size == 1, f"{wanted} not on the source axis"
    return int(hits[0])


# ---- GISS CMIP6: ta(time=168, plev=2 [Pa], lat=2, lon=2) -------------------------------------------------


def test_giss_identity_grid_reproduces_source(climate_dir: Path) -> None:
    """Target grid == source grid (levels given in hPa, source in Pa): the cube equals the file."""
    path = climate_dir / GISS
    grid = CubeGrid(n_time=168, levels_hpa=(1000.0, 925.0), lat=(87.0, 89.0), lon=(1.25, 3.75))
    cube = load_climate_cube(path, ["ta"], grid)
    assert cube.data.shape == (1, 168, 2, 2, 2)
    assert cube.data.dtype == np.float32
    ta = _raw(path, "ta")  # (time, plev, lat, lon), plev = [100000, 92500] Pa
    np.testing.assert_allclose(cube.data[0], ta, rtol=1e-6)
    assert cube.units == ("K",)
    assert cube.metadata["generated"] is False
    assert cube.metadata["source_axes"]["ta"] == {"time": "time", "lev": "plev", "lat": "lat", "lon": "lon"}


def test_giss_time_reduction_modes(climate_dir: Path) -> None:
    path = climate_dir / GISS
    grid = CubeGrid(n_time=12, levels_hpa=(925.0,), lat=(89.0,), lon=(3.75,))
    ta = _raw(path, "ta")[:, 1, 1, 1]

    picked = load_climate_cube(path, ["ta"], grid, time_mode="index").data[0, :, 0, 0, 0]
    assert picked[0] == pytest.approx(ta[0], rel=1e-6)
    assert picked[-1] == pytest.approx(ta[-1], rel=1e-6)
    assert all(np.any(np.isclose(v, ta, rtol=1e-6)) for v in picked)

    blocks = load_climate_cube(path, ["ta"], grid, time_mode="block_mean").data[0, :, 0, 0, 0]
    np.testing.assert_allclose(blocks, ta.reshape(12, 14).mean(axis=1), rtol=1e-5)

    clim = load_climate_cube(path, ["ta"], grid, time_mode="monthly_climatology")
    with netCDF4.Dataset(path) as nc:
        t = nc["time"]
        months = np.array([d.month for d in cftime.num2date(t[:], t.units, t.calendar)])
    expected = np.array([ta[months == m].mean() for m in range(1, 13)])
    np.testing.assert_allclose(clim.data[0, :, 0, 0, 0], expected, rtol=1e-5)
    assert list(clim.time) == [f"month {m:02d}" for m in range(1, 13)]


def test_giss_outside_domain_is_nan_or_clamped(climate_dir: Path) -> None:
    path = climate_dir / GISS
    grid = CubeGrid(n_time=2, levels_hpa=(1000.0, 500.0), lat=(0.0, 88.0), lon=(2.5,))
    cube = load_climate_cube(path, ["ta"], grid)
    assert np.isnan(cube.data[0, :, 1, :, :]).all()  # 500 hPa is above the file's top level (925 hPa)
    assert np.isnan(cube.data[0, :, :, 0, :]).all()  # latitude 0 is outside 87..89 N
    assert cube.mask[0, :, 0, 1, 0].all()
    clamped = load_climate_cube(path, ["ta"], grid, extrapolation="clamp")
    assert np.isfinite(clamped.data).all()
    at_925 = load_climate_cube(path, ["ta"], CubeGrid(n_time=2, levels_hpa=(925.0,), lat=(87.0, 88.0), lon=(2.5,)))
    # 500 hPa takes the top level's (925 hPa) values; latitude 0 takes the southernmost row's (87 N).
    np.testing.assert_array_equal(clamped.data[0, :, 1], at_925.data[0, :, 0])


# ---- GFS: Temperature_isobaric(time=1, isobaric3=26 [Pa], lat=46 desc, lon=101 [210..310 E]) ------------


def test_gfs_values_on_source_points_and_units(climate_dir: Path) -> None:
    path = climate_dir / GFS
    grid = CubeGrid(n_time=1, levels_hpa=(850.0, 500.0, 250.0), lat=(20.0, 40.0, 65.0), lon=(210.0, -110.0, 310.0))
    cube = load_climate_cube(path, ["Temperature_isobaric", "Geopotential_height_isobaric"], grid)
    assert cube.data.shape == (2, 1, 3, 3, 3)
    with netCDF4.Dataset(path) as nc:
        plev_pa = np.asarray(nc["isobaric3"][:])
        lats = np.asarray(nc["lat"][:])
        lons = np.asarray(nc["lon"][:])
    temp = _raw(path, "Temperature_isobaric")[0]
    for k, p_hpa in enumerate(grid.levels_hpa):
        for i, la in enumerate(grid.lat):
            for j, lo in enumerate((210.0, 250.0, 310.0)):  # -110 E is 250 E
                src = temp[_index(plev_pa, p_hpa * 100.0), _index(lats, la), _index(lons, lo)]
                assert cube.data[0, 0, k, i, j] == pytest.approx(src, rel=1e-6)
    assert cube.units == ("K", "gpm")


def test_gfs_interpolates_linearly_in_lat_and_log_pressure(climate_dir: Path) -> None:
    path = climate_dir / GFS
    grid = CubeGrid(n_time=1, levels_hpa=(825.0, 850.0), lat=(40.5,), lon=(250.0,))
    cube = load_climate_cube(path, ["Temperature_isobaric"], grid)
    with netCDF4.Dataset(path) as nc:
        plev_pa = np.asarray(nc["isobaric3"][:])
        lats = np.asarray(nc["lat"][:])
        lons = np.asarray(nc["lon"][:])
    temp = _raw(path, "Temperature_isobaric")[0]
    j = _index(lons, 250.0)
    col = 0.5 * (temp[:, _index(lats, 40.0), j] + temp[:, _index(lats, 41.0), j])  # lat 40.5: half way
    t800, t850 = col[_index(plev_pa, 80000.0)], col[_index(plev_pa, 85000.0)]
    w = (np.log(825.0) - np.log(800.0)) / (np.log(850.0) - np.log(800.0))
    assert cube.data[0, 0, 0, 0, 0] == pytest.approx(t800 + w * (t850 - t800), rel=1e-6)
    assert cube.data[0, 0, 1, 0, 0] == pytest.approx(t850, rel=1e-6)


def test_gfs_variables_on_different_level_sets_share_the_grid(climate_dir: Path) -> None:
    grid = CubeGrid.regular(n_time=2, levels_hpa=(900.0, 700.0, 300.0), n_lat=8, n_lon=16)
    cube = load_climate_cube(climate_dir / GFS, ["Temperature_isobaric", "Relative_humidity_isobaric"], grid)
    assert cube.data.shape == (2, 2, 3, 8, 16)
    assert cube.metadata["source_axes"]["Relative_humidity_isobaric"]["lev"] == "isobaric5"
    # GFS covers 20-65 N, 210-310 E only: the rest of the globe is masked, the covered part is finite.
    valid = cube.mask[0, 0, 0]
    assert 0 < valid.sum() < valid.size
    lat = cube.lat[:, None].repeat(16, axis=1)
    lon = cube.lon[None, :].repeat(8, axis=0)
    assert np.all((lat[valid] >= 20) & (lat[valid] <= 65) & (lon[valid] >= 210) & (lon[valid] <= 310))
    assert np.all((cube.data[0][cube.mask[0]] > 150) & (cube.data[0][cube.mask[0]] < 330))


def test_gfs_surface_field_without_levels(climate_dir: Path) -> None:
    path = climate_dir / GFS
    grid = CubeGrid(n_time=1, levels_hpa=(1000.0, 500.0), lat=(30.0,), lon=(260.0,))
    with pytest.raises(ClimateCubeError, match="Pressure_reduced_to_MSL_msl.*no pressure-level axis"):
        load_climate_cube(path, ["Pressure_reduced_to_MSL_msl"], grid)
    cube = load_climate_cube(path, ["Pressure_reduced_to_MSL_msl"], grid, no_level_axis="broadcast")
    mslp = _raw(path, "Pressure_reduced_to_MSL_msl")[0]
    with netCDF4.Dataset(path) as nc:
        i, j = _index(np.asarray(nc["lat"][:]), 30.0), _index(np.asarray(nc["lon"][:]), 260.0)
    np.testing.assert_allclose(cube.data[0, 0, :, 0, 0], [mslp[i, j]] * 2, rtol=1e-6)


# ---- ERA-Interim: int16 packed z/u/v(month=2, level=3 [millibars], latitude=241 desc, longitude=480) ------


def test_era_packed_values_and_millibar_levels(climate_dir: Path) -> None:
    path = climate_dir / ERA
    grid = CubeGrid(n_time=2, levels_hpa=(850.0, 500.0, 200.0), lat=(-45.0, 0.0, 45.0), lon=(0.0, 90.0, 180.0, 270.0))
    cube = load_climate_cube(path, ["z", "u"], grid)
    assert cube.data.shape == (2, 2, 3, 3, 4)
    with netCDF4.Dataset(path) as nc:
        assert nc["z"].dtype == np.int16 and nc["level"].units == "millibars"
        levels = np.asarray(nc["level"][:], dtype=float)
        lats = np.asarray(nc["latitude"][:])
        lons = np.asarray(nc["longitude"][:])
    for v, name in enumerate(("z", "u")):
        raw = _raw(path, name)  # int16 * scale_factor + add_offset, by hand
        for k, p in enumerate(grid.levels_hpa):
            for i, la in enumerate(grid.lat):
                for j, lo in enumerate((0.0, 90.0, -180.0, -90.0)):
                    expected = raw[:, _index(levels, p), _index(lats, la), _index(lons, lo)]
                    np.testing.assert_allclose(cube.data[v, :, k, i, j], expected, rtol=1e-6)
    assert list(cube.time) == ["1", "7"]  # the file's 'month' axis, identified as time


def test_era_longitude_interpolation_wraps_periodically(climate_dir: Path) -> None:
    path = climate_dir / ERA
    # 179.625 E lies between the file's last column (179.25 E) and its first (-180 E); 359.625 E (= -0.375 E)
    # lies between -0.75 E and 0 E, the seam of the 0..360 frame the regridder works in.
    grid = CubeGrid(n_time=2, levels_hpa=(500.0,), lat=(30.0,), lon=(179.625, 359.625))
    cube = load_climate_cube(path, ["u"], grid)
    raw = _raw(path, "u")
    with netCDF4.Dataset(path) as nc:
        i, k = _index(np.asarray(nc["latitude"][:]), 30.0), _index(np.asarray(nc["level"][:], dtype=float), 500.0)
        lons = np.asarray(nc["longitude"][:])
    seam = 0.5 * (raw[:, k, i, _index(lons, 179.25)] + raw[:, k, i, _index(lons, -180.0)])
    dateline = 0.5 * (raw[:, k, i, _index(lons, -0.75)] + raw[:, k, i, _index(lons, 0.0)])
    np.testing.assert_allclose(cube.data[0, :, 0, 0, 0], seam, rtol=1e-5)
    np.testing.assert_allclose(cube.data[0, :, 0, 0, 1], dateline, rtol=1e-5)


def test_era_monthly_climatology_fills_only_present_months(climate_dir: Path) -> None:
    grid = CubeGrid(n_time=12, levels_hpa=(500.0,), lat=(0.0,), lon=(0.0,))
    cube = load_climate_cube(climate_dir / ERA, ["z"], grid, time_mode="monthly_climatology")
    present = cube.mask[0, :, 0, 0, 0]
    assert np.flatnonzero(present).tolist() == [0, 6]  # January and July


# ---- units, normalisation statistics --------------------------------------------------------------------


def test_pressure_units_to_hpa() -> None:
    np.testing.assert_allclose(pressure_to_hpa(np.array([100000.0, 85000.0]), "Pa"), [1000.0, 850.0])
    np.testing.assert_allclose(pressure_to_hpa(np.array([850]), "millibars"), [850.0])
    np.testing.assert_allclose(pressure_to_hpa(np.array([850.0]), "hPa"), [850.0])
    np.testing.assert_allclose(pressure_to_hpa(np.array([1.0]), "bar"), [1000.0])
    with pytest.raises(ClimateCubeError, match="'height'.*not a pressure"):
        pressure_to_hpa(np.array([2.0]), "m", source="f.nc", dim="height")


def test_normalization_stats_round_trip(climate_dir: Path, tmp_path: Path) -> None:
    grid_a = CubeGrid.regular(n_time=2, levels_hpa=(1000.0, 850.0, 500.0), n_lat=6, n_lon=12)
    grid_b = CubeGrid.regular(n_time=2, levels_hpa=(500.0, 200.0), n_lat=4, n_lon=8)
    cubes = [load_climate_cube(climate_dir / ERA, ["z", "u"], g) for g in (grid_a, grid_b)]
    stats = compute_normalization_stats(cubes)

    pooled = [np.concatenate([c.data[v][c.mask[v]].astype(np.float64) for c in cubes]) for v in range(2)]
    np.testing.assert_allclose(stats.mean, [np.mean(p) for p in pooled], rtol=1e-9)
    np.testing.assert_allclose(stats.std, [np.std(p) for p in pooled], rtol=1e-7)
    assert stats.count.tolist() == [p.size for p in pooled]

    written = save_normalization_stats(stats, tmp_path)
    assert written == tmp_path / NORM_STATS_FILENAME
    payload = json.loads(written.read_text())
    assert set(payload["variables"]) == {"z", "u"} and payload["variables"]["u"]["units"] == "m s**-1"
    loaded = load_normalization_stats(tmp_path)
    assert loaded.variables == stats.variables
    np.testing.assert_array_equal(loaded.mean, stats.mean)
    np.testing.assert_array_equal(loaded.std, stats.std)

    normed = apply_normalization(cubes[0], loaded)
    assert normed.dtype == np.float32
    both = [np.concatenate([apply_normalization(c, loaded)[v][c.mask[v]] for c in cubes]) for v in range(2)]
    np.testing.assert_allclose([b.mean() for b in both], [0.0, 0.0], atol=1e-4)
    np.testing.assert_allclose([b.std() for b in both], [1.0, 1.0], rtol=1e-4)
    np.testing.assert_allclose(invert_normalization(normed, loaded), cubes[0].data, rtol=1e-5)

    filled = apply_normalization(cubes[0], loaded, fill_value=0.0)
    assert (~cubes[0].mask).any()  # 1000 hPa lies below the file's lowest level (850 hPa): NaN in the cube
    assert np.all(filled[~cubes[0].mask] == 0.0)
    np.testing.assert_array_equal(filled[cubes[0].mask], normed[cubes[0].mask])

    other = load_climate_cube(climate_dir / ERA, ["u", "z"], grid_b)
    with pytest.raises(ClimateCubeError, match="do not match"):
        apply_normalization(other, loaded)


# ---- malformed input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "variable", "keep"), [(GFS, "Temperature_isobaric", 1_000_000), (ERA, "z", 2_000_000)])
def test_truncated_file_is_rejected(climate_dir: Path, tmp_path: Path, name: str, variable: str, keep: int) -> None:
    """A NETCDF4 (HDF5) and a NETCDF3 file cut short; the NETCDF3 one opens silently in netCDF-C."""
    truncated = tmp_path / f"truncated_{name}"
    truncated.write_bytes((climate_dir / name).read_bytes()[:keep])
    grid = CubeGrid(n_time=1, levels_hpa=(500.0,), lat=(40.0,), lon=(250.0,))
    with pytest.raises(ClimateCubeError, match=f"{truncated}.*(truncated|corrupt)"):
        load_climate_cube(truncated, [variable], grid)


def test_missing_variable_names_file_and_variable(climate_dir: Path) -> None:
    grid = CubeGrid(n_time=1, levels_hpa=(500.0,), lat=(88.0,), lon=(2.5,))
    with pytest.raises(ClimateCubeError, match=rf"{GISS}.*'tas'.*not found.*'ta'"):
        load_climate_cube(climate_dir / GISS, ["ta", "tas"], grid)


def test_variable_without_lat_lon_axis(climate_dir: Path) -> None:
    grid = CubeGrid(n_time=1, levels_hpa=(500.0,), lat=(40.0,), lon=(250.0,))
    # LatLon_Projection is the grid-mapping variable: a scalar with no spatial axes.
    with pytest.raises(ClimateCubeError, match=rf"{GFS}.*'LatLon_Projection'.*no recognisable lat axis"):
        load_climate_cube(climate_dir / GFS, ["LatLon_Projection"], grid)
    # time_bnds has a 'bnds' dimension of size 2 that is no climate axis.
    with pytest.raises(ClimateCubeError, match=rf"{GISS}.*'time_bnds'.*dimension 'bnds'"):
        load_climate_cube(climate_dir / GISS, ["time_bnds"], grid)


def test_default_fill_value_without_a_fill_attribute_is_missing(tmp_path):
    """Values equal to netCDF's default fill, in a variable that declares no _FillValue, are treated as missing."""
    from astrobio_hf.data.modalities.climate_cubes import NETCDF_DEFAULT_FILL, CubeGrid, load_climate_cube

    path = tmp_path / "fill.nc"
    with netCDF4.Dataset(path, "w") as nc:
        for dim, size in (("time", 1), ("plev", 2), ("lat", 2), ("lon", 2)):
            nc.createDimension(dim, size)
        for name, values, attrs in (("plev", [100000.0, 50000.0], {"units": "Pa", "axis": "Z", "positive": "down"}),
                                    ("lat", [-45.0, 45.0], {"units": "degrees_north"}),
                                    ("lon", [0.0, 180.0], {"units": "degrees_east"})):
            var = nc.createVariable(name, "f8", (name,))
            var[:] = values
            var.setncatts(attrs)
        t = nc.createVariable("time", "f8", ("time",))
        t[:] = [0.0]
        t.units = "days since 2000-01-01"
        ta = nc.createVariable("ta", "f4", ("time", "plev", "lat", "lon"), fill_value=False)
        ta[:] = [[[[NETCDF_DEFAULT_FILL, 280.0], [281.0, 282.0]], [[250.0, 251.0], [252.0, 253.0]]]]
        ta.units = "K"
    grid = CubeGrid(n_time=1, levels_hpa=(1000.0, 500.0), lat=(-45.0, 45.0), lon=(0.0, 180.0))
    cube = load_climate_cube(path, ["ta"], grid)
    assert np.isnan(cube.data[0, 0, 0, 0, 0])
    assert np.nanmax(cube.data) < 300.0  # the fill value never reaches the cube as a temperature
    assert cube.data[0, 0, 1, 1, 1] == pytest.approx(253.0)
