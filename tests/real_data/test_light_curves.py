"""Light-curve pipeline on the real Kepler (Kepler-90, Q3) and TESS (TIC 21132157, S58) SPOC files.

Expected values are computed here from the raw FITS columns with astropy, independently of the
pipeline; the row counts are those of the files (see MANIFEST.md).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time
from astropy.timeseries import TimeSeries, aggregate_downsample

from astrobio_hf.data.modalities import LightCurveFormatError, bin_light_curve, load_light_curve, read_light_curve

KEPLER_Q3 = "kepler_k2/kplr011442793-2009350155506_llc.fits"
KEPLER_Q4 = "kepler_k2/kplr011442793-2010009091648_llc.fits"
TESS_S58 = "tess/tess2022302161335-s0058-0000000021132157-0247-s_lc.fits"

# Table.read warns about SPOC unit strings such as "e-/s" and "BJD - 2454833"; they are not under test here.
pytestmark = pytest.mark.filterwarnings("ignore::astropy.units.UnitsWarning")


def _independent_good(path: Path, quality_column: str) -> np.ndarray:
    table = Table.read(path, hdu="LIGHTCURVE")
    good = np.asarray(table[quality_column]) == 0
    for name in ("TIME", "PDCSAP_FLUX", "PDCSAP_FLUX_ERR"):
        column = table[name]
        values = np.ma.filled(column.astype(float), np.nan) if np.ma.isMaskedArray(column) else np.asarray(column)
        good &= np.isfinite(values)
    return good


@pytest.mark.parametrize(
    ("relpath", "rows", "quality_column", "mission", "target", "segment", "system", "reference"),
    [
        (KEPLER_Q3, 4370, "SAP_QUALITY", "Kepler", "KIC 11442793", "Q3", "BKJD", 2454833.0),
        (KEPLER_Q4, 1021, "SAP_QUALITY", "Kepler", "KIC 11442793", "Q4", "BKJD", 2454833.0),
        (TESS_S58, 19962, "QUALITY", "TESS", "TIC 21132157", "S58", "BTJD", 2457000.0),
    ],
)
def test_cadence_counts_and_time_system(
    real_data_dir, relpath, rows, quality_column, mission, target, segment, system, reference
):
    path = real_data_dir / relpath
    raw = read_light_curve(path)
    assert raw.n_cadences == rows == len(fits.getdata(path, "LIGHTCURVE"))
    assert (raw.mission, raw.target_id, raw.segment, raw.time_system) == (mission, target, segment, system)
    assert raw.quality_column == quality_column
    header = fits.getheader(path, "LIGHTCURVE")
    assert raw.bjd_reference == reference == header["BJDREFI"] + header["BJDREFF"]
    assert raw.time_scale == "tdb" and raw.time_reference == "SOLARSYSTEM"

    expected_good = _independent_good(path, quality_column)
    lc = load_light_curve(path, n_bins=128)
    assert lc.n_cadences_total == rows
    assert lc.n_cadences_used == int(expected_good.sum()) < rows
    assert int(lc.bin_counts.sum()) == lc.n_cadences_used


def test_exact_used_counts_match_the_raw_columns(real_data_dir):
    # Kepler Q3: 534 cadences carry a quality flag, TESS S58: 1188; both also have NaN fluxes.
    kepler = load_light_curve(real_data_dir / KEPLER_Q3, n_bins=64)
    tess = load_light_curve(real_data_dir / TESS_S58, n_bins=64)
    assert kepler.n_cadences_used == int(_independent_good(real_data_dir / KEPLER_Q3, "SAP_QUALITY").sum())
    assert tess.n_cadences_used == int(_independent_good(real_data_dir / TESS_S58, "QUALITY").sum())
    # A narrower bitmask keeps flagged cadences that have finite flux.
    raw = read_light_curve(real_data_dir / KEPLER_Q3)
    loose = bin_light_curve(raw, n_bins=64, quality_bitmask=0)
    assert loose.n_cadences_used == int(
        np.sum(np.isfinite(raw.time) & np.isfinite(raw.flux) & np.isfinite(raw.flux_err))
    )
    assert loose.n_cadences_used > kepler.n_cadences_used


@pytest.mark.parametrize("relpath", [KEPLER_Q3, TESS_S58])
def test_bjd_conversion_matches_the_observation_dates(real_data_dir, relpath):
    """The first cadence in BJD, taken back to UTC, lies where DATE-OBS (start of the first cadence)
    plus (row + 1/2) cadences puts it, within the barycentric correction (at most 8.3 min); a wrong
    reference epoch would be off by years."""
    path = real_data_dir / relpath
    raw = read_light_curve(path)
    header = fits.getheader(path, "LIGHTCURVE")
    first = int(np.flatnonzero(np.isfinite(raw.time))[0])
    times = raw.to_time()
    assert times.scale == "tdb"
    assert times[first].jd == pytest.approx(raw.time[first] + raw.bjd_reference, abs=1e-9)
    date_obs = Time(header["DATE-OBS"].rstrip("Z"), scale="utc")
    expected = date_obs + (first + 0.5) * header["TIMEDEL"] * u.day
    assert abs((times[first].utc - expected).to_value(u.s)) < 8.4 * 60
    np.testing.assert_allclose(raw.time_bjd[first], raw.time[first] + raw.bjd_reference)


def test_time_grid_matches_astropy_downsampling(real_data_dir):
    path = real_data_dir / TESS_S58
    lc = load_light_curve(path, n_bins=200)
    raw = read_light_curve(path)
    good = _independent_good(path, "QUALITY")
    assert lc.grid_kind == "time" and lc.flux.shape == lc.mask.shape == lc.grid.shape == (200,)
    assert lc.flux.dtype == np.float32 and lc.mask.dtype == bool
    median = np.median(raw.flux[good])
    ts = TimeSeries(
        time=Time(raw.bjd_reference, raw.time[good], format="jd", scale="tdb"),
        data={"flux": raw.flux[good] / median - 1.0},
    )
    width = lc.grid[1] - lc.grid[0]
    edges = lc.grid[0] - 0.5 * width + width * np.arange(201)
    edges[0] -= 1e-6  # the first cadence sits exactly on the first edge; keep float rounding from dropping it
    binned = aggregate_downsample(
        ts,
        time_bin_start=Time(edges[:-1], format="jd", scale="tdb"),
        time_bin_end=Time(edges[1:], format="jd", scale="tdb"),
        aggregate_func=np.nanmean,
    )
    expected = np.ma.filled(binned["flux"].astype(float), np.nan)
    # The pipeline's last bin is closed on the right; compare the others.
    sel = np.isfinite(expected[:-1])
    np.testing.assert_array_equal(sel, lc.mask[:-1])
    np.testing.assert_allclose(lc.flux[:-1][sel], expected[:-1][sel], rtol=0, atol=2e-6)
    assert np.all(lc.flux[~lc.mask] == 0) and np.all(lc.flux_err[lc.mask] > 0)
    np.testing.assert_allclose(lc.grid_native, lc.grid - 2457000.0)


def test_robust_normalisation_scales_by_mad(real_data_dir):
    lc = load_light_curve(real_data_dir / KEPLER_Q3, n_bins=1, normalisation="robust")
    raw = read_light_curve(real_data_dir / KEPLER_Q3)
    good = raw.good_cadences()
    flux = raw.flux[good]
    scale = 1.4826 * np.median(np.abs(flux - np.median(flux)))
    assert lc.flux[0] == pytest.approx(np.mean((flux - np.median(flux)) / scale), rel=1e-4)


def test_folding_recovers_an_injected_transit(real_data_dir):
    """SYNTHETIC injection into the real Kepler Q3 noise: a 2000 ppm box transit (P = 6.3 d,
    duration 0.3 d) must come back at phase 0 after folding; folding at a wrong period smears it."""
    raw = read_light_curve(real_data_dir / KEPLER_Q3)
    period, duration, depth = 6.3, 0.3, 2.0e-3
    t0_native = 280.0
    phase_days = np.mod(raw.time - t0_native + 0.5 * period, period) - 0.5 * period
    in_transit = np.abs(phase_days) < duration / 2
    injected = dataclasses.replace(raw, flux=np.where(in_transit, raw.flux * (1 - depth), raw.flux))

    lc = bin_light_curve(injected, n_bins=100, period=period, t0_bjd=t0_native + raw.bjd_reference)
    assert lc.grid_kind == "phase" and lc.period == period
    assert np.all((lc.grid >= -0.5) & (lc.grid < 0.5))
    assert lc.n_cadences_used == int(raw.good_cadences().sum()) == int(lc.bin_counts.sum())
    assert lc.t0_bjd == pytest.approx(t0_native + 2454833.0)
    inside = np.abs(lc.grid) < 0.5 * duration / period - 1.0 / 100
    outside = np.abs(lc.grid) > duration / period
    assert inside.sum() >= 2
    np.testing.assert_allclose(lc.flux[inside], -depth, atol=4e-4)
    assert abs(float(np.median(lc.flux[outside]))) < 1e-4
    assert int(np.argmin(np.where(lc.mask, lc.flux, np.inf))) in np.flatnonzero(inside)

    wrong = bin_light_curve(injected, n_bins=100, period=period * 1.37, t0_bjd=t0_native + raw.bjd_reference)
    assert float(np.min(wrong.flux[wrong.mask])) > -depth / 2


def test_truncated_copy_of_a_real_file_names_file_and_hdu(real_data_dir, tmp_path):
    data = (real_data_dir / KEPLER_Q3).read_bytes()
    half = tmp_path / "kplr_half.fits"
    half.write_bytes(data[: len(data) // 2])
    with pytest.raises(LightCurveFormatError, match=r"kplr_half\.fits.*HDU 1 'LIGHTCURVE'.*truncated"):
        read_light_curve(half)
    header_only = tmp_path / "kplr_header_only.fits"
    header_only.write_bytes(data[:20000])
    with pytest.raises(LightCurveFormatError, match=r"kplr_header_only\.fits: no LIGHTCURVE HDU"):
        read_light_curve(header_only)
