"""Physically impossible values in light curves and spectra: masked and counted, or refused by row.

Files are SYNTHETIC, built in tmp_path in the SPOC / ESO Phase-3 layouts, each with one fault.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from astrobio_hf.data.modalities import (
    LightCurveFormatError,
    SpectrumFormatError,
    load_light_curve,
    read_light_curve,
    read_spectra,
    resample,
)
from tests.unit.test_modalities_malformed import _spoc_light_curve


def _with(path: Path, column: str, edit) -> Path:
    with fits.open(path, mode="update") as hdul:
        values = hdul["LIGHTCURVE"].data[column]
        edit(values)
    return path


def test_fill_value_cadences_are_masked_and_counted(tmp_path):
    path = _with(_spoc_light_curve(tmp_path / "fill_lc.fits"), "PDCSAP_FLUX", lambda v: v.__setitem__(slice(10, 13),
                                                                                                      3.0e38))
    raw = read_light_curve(path)
    assert raw.masked == {"PDCSAP_FLUX: outside [-1e+12, 1e+12] e-/s": 3}
    assert np.isnan(raw.flux[10:13]).all()
    lc = load_light_curve(path, n_bins=32)
    assert lc.n_cadences_used == 2997
    assert np.isfinite(lc.flux).all() and np.abs(lc.flux).max() < 0.01  # no 6e33 after normalising


@pytest.mark.parametrize("fault, message", [
    (lambda t: t.__setitem__(101, t[100]), r"row 102, column TIME: cadence time .* repeats the time .* of row 101"),
    (lambda t: t.__setitem__(slice(None), t[::-1].copy()), r"row 2, column TIME: cadence time .* goes back before"),
])
def test_duplicated_or_reversed_cadences_are_refused_by_row(tmp_path, fault, message):
    path = _with(_spoc_light_curve(tmp_path / "order_lc.fits"), "TIME", fault)
    with pytest.raises(LightCurveFormatError, match=r"order_lc\.fits: HDU 1 'LIGHTCURVE', " + message):
        read_light_curve(path)


def _adp(path: Path, wave, flux, err=None, *, err_name: str = "ERR", wave_name: str = "WAVE",
         utypes: bool = False) -> Path:
    """A SYNTHETIC ESO Phase-3 1-D spectrum: one row of array columns in a SPECTRUM BinTable."""
    n = len(wave)
    cols = [fits.Column(wave_name, f"{n}D", unit="Angstrom", array=[wave]),
            fits.Column("FLUX", f"{n}E", unit="erg cm**(-2) s**(-1) angstrom**(-1)", array=[flux])]
    if err is not None:
        cols.append(fits.Column(err_name, f"{n}E", unit="erg cm**(-2) s**(-1) angstrom**(-1)", array=[err]))
    table = fits.BinTableHDU.from_columns(cols, name="SPECTRUM")
    if utypes:
        for i, utype in enumerate(("spec:Data.SpectralAxis.Value", "spec:Data.FluxAxis.Value",
                                   "spec:Data.FluxAxis.Accuracy.StatError"), start=1):
            table.header[f"TUTYP{i}"] = utype
    primary = fits.PrimaryHDU()
    primary.header.update(ORIGIN="ESO", TELESCOP="ESO-VLT-U2", INSTRUME="XSHOOTER", PRODCATG="SCIENCE.SPECTRUM")
    fits.HDUList([primary, table]).writeto(path)
    return path


WAVE = np.linspace(5000.0, 6000.0, 200)
FLUX = 1e-16 * (1.0 + 0.1 * np.sin(np.arange(200) / 7.0))


def test_err_flux_column_is_read(tmp_path):
    spec = read_spectra(_adp(tmp_path / "xq100.fits", WAVE, FLUX, FLUX * 0.05, err_name="ERR_FLUX"))[0]
    assert spec.error is not None and spec.error[0] == pytest.approx(FLUX[0] * 0.05, rel=1e-6)
    assert spec.meta["columns"] == "WAVE/FLUX/ERR_FLUX"
    odd = read_spectra(_adp(tmp_path / "utype.fits", WAVE, FLUX, FLUX * 0.05, err_name="NOISE", utypes=True))[0]
    assert odd.error is not None and odd.meta["columns"] == "WAVE/FLUX/NOISE"


def test_missing_wavelength_column_is_named(tmp_path):
    path = _adp(tmp_path / "nowave.fits", WAVE, FLUX, wave_name="PIXEL")
    with pytest.raises(SpectrumFormatError, match=r"HDU 1 'SPECTRUM': a spectrum table with a flux column but no "
                                                  r"wavelength column .*columns: PIXEL, FLUX"):
        read_spectra(path)


def test_truncated_fits_gz_says_truncated(tmp_path):
    whole = gzip.compress(_adp(tmp_path / "s.fits", WAVE, FLUX).read_bytes())
    cut = tmp_path / "cut.fits.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(SpectrumFormatError, match=r"cut\.fits\.gz: gzip-compressed FITS file is damaged: truncated"):
        read_spectra(cut)


def test_reversed_spectrum_is_put_in_increasing_order(tmp_path):
    spec = read_spectra(_adp(tmp_path / "rev.fits", WAVE[::-1], FLUX[::-1], FLUX[::-1] * 0.05))[0]
    assert spec.meta["reversed"] is True and np.all(np.diff(spec.wavelength) > 0)
    assert spec.value[0] == pytest.approx(FLUX[0], rel=1e-6)
    forward = read_spectra(_adp(tmp_path / "fwd.fits", WAVE, FLUX, FLUX * 0.05))[0]
    grid = np.linspace(0.51, 0.59, 16)
    a, b = resample(spec, grid, method="linear"), resample(forward, grid, method="linear")
    np.testing.assert_allclose(a.value, b.value, rtol=1e-6)


def test_all_nan_spectrum_is_refused(tmp_path):
    with pytest.raises(SpectrumFormatError, match=r"nan\.fits: no usable sample .*0 of 200 values finite"):
        read_spectra(_adp(tmp_path / "nan.fits", WAVE, np.full(200, np.nan)))


def test_partly_finite_error_column_is_dropped_not_obeyed(tmp_path):
    err = np.full(200, np.nan)
    err[:5] = FLUX[:5] * 0.05  # errors for 5 of 200 samples
    spec = read_spectra(_adp(tmp_path / "err.fits", WAVE, FLUX, err))[0]
    assert spec.mask.sum() == 200 and spec.error is None
    assert spec.meta["error_dropped"] == "error usable at 5 of 200 samples"
    mostly = err.copy()
    mostly[:190] = FLUX[:190] * 0.05  # errors for 190: obeyed, the 10 others masked
    spec = read_spectra(_adp(tmp_path / "err2.fits", WAVE, FLUX, mostly))[0]
    assert spec.mask.sum() == 190 and spec.error is not None and np.isfinite(spec.error[spec.mask]).all()


def test_float32_overflowing_flux_is_masked_and_counted(tmp_path):
    flux = FLUX.astype(np.float64).copy()
    flux[7] = 1e39  # stored as float32 in the file: inf
    spec = read_spectra(_adp(tmp_path / "big.fits", WAVE, flux))[0]
    assert not spec.mask[7] and spec.mask.sum() == 199
    out = resample(spec, np.linspace(0.5, 0.6, 32))
    assert np.isfinite(out.value).all()
