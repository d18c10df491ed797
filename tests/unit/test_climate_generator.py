"""Physical sanity checks of the energy-balance climate generator (generated, not real, climates)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from astrobio_hf.data.modalities.climate_cubes import CubeGrid
from astrobio_hf.data.modalities.climate_generator import (
    GENERATOR_NAME,
    SOLAR_CONSTANT_W_M2,
    EBMParameters,
    daily_mean_insolation,
    generate_climate_cube,
    solve_energy_balance,
    vertical_profiles,
)

GRID = CubeGrid.regular(n_time=12, levels_hpa=(1000.0, 850.0, 500.0, 250.0, 100.0, 10.0), n_lat=18, n_lon=4)


@pytest.fixture(scope="module")
def earth():
    return solve_energy_balance(EBMParameters())


def _annual_zonal_mean(solution) -> np.ndarray:
    return solution.ts_k.mean(axis=0)


def test_insolation_formula_known_values() -> None:
    lat = np.linspace(-89.5, 89.5, 180)
    weights = np.cos(np.deg2rad(lat)) / np.cos(np.deg2rad(lat)).sum()
    orbit = [daily_mean_insolation(lat, 2 * math.pi * k / 360, 23.44, SOLAR_CONSTANT_W_M2) for k in range(360)]
    global_annual = float((np.mean(orbit, axis=0) * weights).sum())
    assert global_annual == pytest.approx(SOLAR_CONSTANT_W_M2 / 4, rel=2e-3)  # S0/4 on a sphere
    equinox = daily_mean_insolation(np.array([0.0]), 0.0, 23.44, SOLAR_CONSTANT_W_M2)
    assert equinox[0] == pytest.approx(SOLAR_CONSTANT_W_M2 / math.pi, rel=1e-9)
    solstice = daily_mean_insolation(np.array([-89.0, 89.0]), math.pi / 2, 23.44, SOLAR_CONSTANT_W_M2)
    assert solstice[0] == 0.0  # polar night in the south at the June solstice
    assert solstice[1] > SOLAR_CONSTANT_W_M2 / math.pi  # polar day: the north pole beats the equinox equator


def test_earth_is_plausible_and_in_steady_state(earth) -> None:
    assert earth.converged
    assert 255.0 <= earth.global_mean_ts_k <= 300.0
    annual = _annual_zonal_mean(earth)
    equator = annual[np.abs(earth.lat_deg).argmin()]
    assert equator > annual[0] + 20.0 and equator > annual[-1] + 20.0
    # Periodic state: orbit-mean absorbed sunlight balances orbit-mean OLR globally.
    insolation = np.stack([
        daily_mean_insolation(earth.lat_deg, 2 * math.pi * t / 365.25, 23.44, SOLAR_CONSTANT_W_M2)
        for t in earth.time_days
    ])
    absorbed = float(((insolation * (1 - earth.albedo)).mean(axis=0) * earth.area_weight).sum())
    emitted = float((earth.olr_w_m2.mean(axis=0) * earth.area_weight).sum())
    assert absorbed == pytest.approx(emitted, abs=1.0)


def test_instellation_orders_climates(earth) -> None:
    hot = solve_energy_balance(EBMParameters(instellation=2.0))
    cold = solve_energy_balance(EBMParameters(instellation=0.3))
    assert hot.global_mean_ts_k > earth.global_mean_ts_k + 50.0
    assert cold.global_mean_ts_k < earth.global_mean_ts_k - 50.0
    assert np.all(_annual_zonal_mean(cold) < 273.15 - 10.0)  # snowball: every latitude below freezing
    assert np.all(cold.albedo > 0.6)  # covered by ice everywhere, all year


def test_obliquity_drives_seasons(earth) -> None:
    no_tilt = solve_energy_balance(EBMParameters(obliquity_deg=0.0))
    polar = np.abs(earth.lat_deg) > 60
    amplitude = np.ptp(earth.ts_k[:, polar], axis=0).min()
    assert amplitude > 10.0
    assert np.ptp(no_tilt.ts_k, axis=0).max() < 1e-3
    # Hemispheric symmetry without tilt.
    np.testing.assert_allclose(_annual_zonal_mean(no_tilt), _annual_zonal_mean(no_tilt)[::-1], atol=1e-6)


def test_cool_star_lowers_ice_albedo() -> None:
    sunlike = EBMParameters(instellation=0.9)
    mdwarf = EBMParameters(instellation=0.9, stellar_teff=3000.0)
    assert mdwarf.effective_ice_albedo == pytest.approx(sunlike.albedo_ice - sunlike.ice_albedo_mdwarf_drop)
    assert EBMParameters(stellar_teff=6500.0).effective_ice_albedo == sunlike.albedo_ice
    assert solve_energy_balance(mdwarf).global_mean_ts_k > solve_energy_balance(sunlike).global_mean_ts_k


def test_vertical_profile_lapse_rate_and_cold_trap() -> None:
    params = EBMParameters(surface_pressure_hpa=900.0)
    levels = (1000.0, 900.0, 700.0, 500.0, 300.0, 100.0, 50.0, 10.0)
    ts = np.array([300.0, 250.0])
    olr = params.olr_a + params.olr_b * (ts - 273.15)
    prof = vertical_profiles(ts, olr, levels, params)
    assert prof["ta"].shape == (8, 2)
    assert np.isnan(prof["ta"][0]).all() and np.isnan(prof["hus"][0]).all()  # 1000 hPa is below ground
    np.testing.assert_allclose(prof["ta"][1], ts)  # the surface level is the surface temperature
    exponent = params.gas_constant * params.lapse_rate_k_per_km * 1e-3 / params.gravity
    np.testing.assert_allclose(prof["ta"][2, 0], 300.0 * (700.0 / 900.0) ** exponent)
    t_skin = 2 ** -0.25 * (olr / 5.670374419e-8) ** 0.25
    np.testing.assert_allclose(prof["ta"][-1], t_skin)  # isothermal stratosphere at the skin temperature
    assert np.all(np.diff(prof["ta"][1:], axis=0) <= 0)
    assert np.all(np.diff(prof["hus"][1:], axis=0) <= 0)  # moisture never grows with height (cold trap)
    # 80 % RH at 26.85 C and 900 hPa, against Bolton's (1980) empirical saturation vapour pressure.
    e = 0.8 * 6.112 * math.exp(17.67 * 26.85 / (26.85 + 243.5))
    assert prof["hus"][1, 0] == pytest.approx(0.622 * e / (900.0 - 0.378 * e), rel=0.03)


def test_generated_cube_layout_and_label() -> None:
    cube = generate_climate_cube(EBMParameters(instellation=1.0), GRID, variables=("ta", "hus", "ts"))
    assert cube.data.shape == (3, 12, 6, 18, 4) and cube.data.dtype == np.float32
    assert cube.variables == ("ta", "hus", "ts") and cube.units == ("K", "kg kg-1", "K")
    assert cube.metadata["generated"] is True
    assert cube.metadata["generator"] == GENERATOR_NAME
    assert cube.metadata["parameters"]["instellation"] == 1.0
    assert cube.metadata["parameters"]["obliquity_deg"] == 23.44
    assert 255.0 <= cube.metadata["global_mean_surface_temperature_k"] <= 300.0
    assert np.all(np.diff(cube.time) > 0) and cube.time[-1] < 365.25
    np.testing.assert_array_equal(cube.data[..., 0], cube.data[..., 3])  # zonally symmetric
    ts = cube.data[2, :, 0]  # [time, lat, lon] at the surface level
    assert ts[:, 8:10].mean() > ts[:, 0].mean() + 20  # tropics warmer than poles
    # NH high latitudes warmer in NH summer (phase bins around the June solstice) than in NH winter.
    assert ts[3, -1].mean() > ts[9, -1].mean()
    assert cube.to_xarray().dims == ("var", "time", "lev", "lat", "lon")


def test_generator_is_deterministic() -> None:
    params = EBMParameters(instellation=1.3, obliquity_deg=40.0, orbital_period_days=30.0, stellar_teff=3500.0)
    a = generate_climate_cube(params, GRID)
    b = generate_climate_cube(params, GRID)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.metadata == b.metadata


def test_bad_parameters_are_rejected() -> None:
    with pytest.raises(ValueError, match="instellation"):
        EBMParameters(instellation=0.0)
    with pytest.raises(ValueError, match="orbital_period_days"):
        EBMParameters(orbital_period_days=-1.0)
    with pytest.raises(ValueError, match="unknown generated variable"):
        generate_climate_cube(EBMParameters(), GRID, variables=("ta", "pr"))
