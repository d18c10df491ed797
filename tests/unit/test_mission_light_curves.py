"""Generated mission light curves: coverage per mission, noise model, determinism, injected truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy import constants as const

from astrobio_hf.demo import mission_light_curves as mlc


def _host(facility: str = "K2", **overrides) -> pd.DataFrame:
    row = {"pl_name": "Test-1 b", "hostname": "Test-1", "discoverymethod": "Transit", "disc_facility": facility,
           "pl_orbper": 5.25, "pl_orbsmax": float("nan"), "pl_rade": 2.5, "st_rad": 0.9, "st_mass": 0.95,
           "st_teff": 5500.0, "ra": 150.0, "dec": 10.0, "sy_dist": 100.0, "sy_gaiamag": 11.0,
           "sy_vmag": 11.2, "sy_kmag": 9.5}
    row.update(overrides)
    return pd.DataFrame([row])


def test_mission_coverage():
    kepler = mlc.observing_times("Kepler")
    assert kepler[-1] - kepler[0] == pytest.approx(1459.5, abs=0.1)
    steps = np.diff(kepler)
    assert np.median(steps) * 1440 == pytest.approx(29.4, abs=0.05)
    assert (steps > 0.9).sum() == 15 and (steps > 0.45).sum() == 15 + 16  # quarter rolls + mid-quarter downlinks
    k2 = mlc.observing_times("K2")
    assert k2[-1] - k2[0] == pytest.approx(80.0, abs=0.05)
    tess = mlc.observing_times("TESS", 2)
    assert tess[-1] - tess[0] == pytest.approx(2 * 27.4, abs=0.05)
    assert np.median(np.diff(tess)) * 1440 == pytest.approx(30.0)
    with pytest.raises(ValueError, match="n_sectors"):
        mlc.observing_times("TESS", 0)


def test_facility_and_sector_rules():
    assert [mlc.mission_for_facility(f) for f in ("Kepler", "K2", "Transiting Exoplanet Survey Satellite (TESS)",
                                                  "SuperWASP")] == ["Kepler", "K2", "TESS", "TESS"]
    # north ecliptic pole (in the continuous viewing zone), a point on the ecliptic, a mid-latitude point, unknown
    counts = mlc.tess_sector_counts([270.0, 0.0, 270.0, np.nan], [66.56, 0.0, 46.56, np.nan])  # beta 90, 0, 70
    assert counts.tolist()[0] == 13 and counts[1] == 1 and 1 < counts[2] < 13 and counts[3] == 1


def test_noise_grows_with_magnitude_down_to_the_floor():
    bright, faint = mlc.cadence_noise_ppm("Kepler", 6.0), mlc.cadence_noise_ppm("Kepler", 15.0)
    assert mlc.MISSIONS["Kepler"].floor_ppm_per_cadence <= bright < 45 < faint
    assert mlc.cadence_noise_ppm("TESS", 12.0) > mlc.cadence_noise_ppm("Kepler", 12.0)
    assert mlc.mission_magnitude("TESS", _host().iloc[0]) == pytest.approx(11.0 - 0.43)
    no_mags = _host(sy_gaiamag=np.nan, sy_vmag=np.nan, sy_kmag=np.nan).iloc[0]
    assert 5 < mlc.mission_magnitude("Kepler", no_mags) < 20


def test_generation_is_seeded_and_injects_the_catalog_planet():
    planets = _host()
    a, b = mlc.generate_host(planets, seed=4), mlc.generate_host(planets, seed=4)
    assert np.array_equal(a.flux, b.flux) and a.planets == b.planets
    assert not np.array_equal(a.flux, mlc.generate_host(planets, seed=5).flux)
    (truth,) = a.planets
    assert truth.injected and truth.period == 5.25 and a.mission == "K2"
    assert truth.depth == pytest.approx(float((2.5 * const.R_earth / (0.9 * const.R_sun)).decompose()) ** 2, rel=1e-9)
    expected = np.floor((a.time[-1] - truth.t0) / 5.25) + 1  # epochs from t0 (within the first period) on
    assert truth.n_transits_in_baseline == expected
    in_transit = np.abs((a.time - truth.t0 + 2.625) % 5.25 - 2.625) < 0.3 * truth.t14_days
    assert np.mean(a.flux[in_transit]) < 1 - 0.8 * truth.depth < np.mean(a.flux[~in_transit])


def test_transits_in_baseline_counts_covered_mid_times_only():
    time = np.concatenate([np.arange(0.0, 10.0, 0.02), np.arange(20.0, 30.0, 0.02)])
    assert mlc.transits_in_baseline(time, 4.0, 1.0, 0.1) == 6  # 1, 5, 9 | 21, 25, 29 (13 and 17 fall in the gap)


@pytest.mark.parametrize(("overrides", "message"), [({"st_rad": np.nan}, "st_rad"), ({"st_mass": 0.0}, "st_mass")])
def test_bad_star_names_the_column(overrides, message):
    with pytest.raises(ValueError, match=message):
        mlc.generate_host(_host(**overrides))


def test_planet_without_radius_is_listed_but_not_injected():
    (truth,) = mlc.generate_host(_host(pl_rade=np.nan)).planets
    assert not truth.injected and truth.n_transits_in_baseline == 0
