"""The BLS transit search: recovery of injected transits, masked failure on noise, multi-planet hosts, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from astrobio_hf.data.modalities import transit_search as ts
from astrobio_hf.demo import physics

CADENCE_D = 29.4 / 1440.0


def _light_curve(planets: list[tuple[float, float, float]], noise: float = 200e-6, days: float = 80.0, seed: int = 3):
    """Relative flux of a Sun-like star with (period, radius in Earth radii, epoch) planets; returns t, flux, shapes."""
    rng = np.random.default_rng(seed)
    time = np.arange(0.0, days, CADENCE_D)
    flux = np.ones_like(time)
    shapes = []
    for period, radius, epoch in planets:
        shape = physics.transit_shape(period, float(physics.semi_major_axis_au(period, 1.0)), 1.0, radius, 0.2)
        flux *= physics.trapezoid_flux(time, epoch, period, shape, exposure_days=CADENCE_D)
        shapes.append(shape)
    flux *= 1.0 + 5e-4 * np.sin(2 * np.pi * time / 12.0)  # rotation the detrending must remove
    return time, flux * (1.0 + noise * rng.standard_normal(time.size)), shapes


def test_recovers_an_injected_transit():
    time, flux, (shape,) = _light_curve([(7.3, 3.0, 2.1)])
    found = ts.search_transit(time, flux)
    assert found.found
    assert found.period == pytest.approx(7.3, rel=0.01)
    assert found.duration == pytest.approx(shape.t14_days, rel=0.3)
    assert found.depth == pytest.approx(shape.depth, rel=0.2)
    assert found.depth_snr >= ts.SNR_THRESHOLD and found.depth_snr == pytest.approx(found.depth / found.depth_err)
    assert found.n_transits == 11  # epochs 2.1 + 7.3 n inside 80 days
    phase = ((found.t0 - 2.1) / 7.3 + 0.5) % 1.0 - 0.5
    assert abs(phase) * 7.3 < 0.05  # the epoch, in days, modulo the period


def test_pure_noise_is_a_masked_failure():
    time, flux, _ = _light_curve([], noise=300e-6, seed=11)
    result = ts.search_transit(time, flux)
    assert result.found is False
    for name in ("period", "duration", "depth", "depth_err", "depth_snr", "t0"):
        assert math.isnan(getattr(result, name)), name
    assert result.n_transits == 0 and result.n_periods > 100
    assert ts.search_signals(time, flux, max_signals=3) == []


def test_two_planet_host_finds_both_and_assigns_by_depth():
    time, flux, shapes = _light_curve([(3.1, 2.5, 0.7), (11.9, 4.0, 5.0)], seed=5)
    signals = ts.search_signals(time, flux, max_signals=2)
    assert len(signals) == 2
    assert sorted(s.period for s in signals) == pytest.approx([3.1, 11.9], rel=0.01)
    # planets listed as (small, big): the expected depths decide, no period involved
    assigned = ts.assign_by_depth(signals, [shapes[0].depth, shapes[1].depth])
    assert [s.period for s in assigned] == pytest.approx([3.1, 11.9], rel=0.01)


def test_assign_by_depth_leaves_extra_planets_unfound():
    deep = ts.TransitSearch(True, 5.0, 0.1, 1e-2, 1e-4, 100.0, 1.0, 5, 20.0, 10)
    out = ts.assign_by_depth([deep], [1e-4, float("nan"), 2e-2])
    assert out[2] is deep and not out[0].found and not out[1].found and math.isnan(out[0].period)


def test_period_grid_is_uniform_in_cube_root_frequency_and_denser_for_longer_baselines():
    grid = ts.period_grid(80.0, 0.5, 40.0)
    assert grid[0] >= 0.5 - 1e-9 and grid[-1] <= 40.0 * 1.01 and np.all(np.diff(grid) > 0)
    steps = np.diff((1.0 / grid) ** (1 / 3))
    assert np.allclose(steps, steps[0], rtol=1e-6)
    assert ts.period_grid(160.0, 0.5, 40.0).size == pytest.approx(2 * grid.size, rel=0.01)
    # oversample 1: across the baseline the phase drift of one step stays below a quarter duration... x2 margin
    period = grid[grid.size // 2]
    step_f = abs(1 / grid[grid.size // 2 + 1] - 1 / period)
    assert 0.5 * step_f * 40.0 * period <= 0.25 * float(ts.central_duration(period)) * 1.01


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"time_days": np.arange(50.0), "flux": np.ones(49)}, "one length"),
    ({"time_days": np.arange(50.0), "flux": np.full(50, np.nan)}, "flux has no finite value"),
    ({"time_days": np.arange(50.0), "flux": np.ones(50), "flux_err": np.ones(3)}, "flux_err"),
    ({"time_days": np.arange(10.0), "flux": np.ones(10)}, "need at least"),
    ({"time_days": np.arange(50.0), "flux": np.ones((50, 2))}, "flux must be 1-D"),
    ({"time_days": np.arange(50.0), "flux": np.zeros(50)}, "flux median"),
])
def test_bad_input_names_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ts.search_transit(**kwargs)


def test_search_defaults_are_the_signature_of_search_transit_and_unknown_options_are_refused():
    import inspect

    signature = inspect.signature(ts.search_transit).parameters
    assert {k: signature[k].default for k in ts.SEARCH_DEFAULTS} == ts.SEARCH_DEFAULTS
    time, flux, _ = _light_curve([(7.3, 3.0, 2.1)])
    with pytest.raises(TypeError, match="unknown search options \\['snr'\\]"):
        ts.search_signals(time, flux, snr=5.0)
