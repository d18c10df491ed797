"""Malformed inputs to the light-curve and spectrum pipelines: each raises an error that names the
file and the HDU, column or line. Files are built in tmp_path (small SYNTHETIC tables following the
SPOC / ESO / JWST layouts), then broken: truncated, emptied, a column removed, bad bytes."""

from __future__ import annotations

import re
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
    read_transmission_table,
)


def _spoc_light_curve(path: Path, n: int = 3000, drop: str | None = None, all_flagged: bool = False) -> Path:
    """A SYNTHETIC TESS-SPOC-shaped light curve: PRIMARY + LIGHTCURVE BinTable (BTJD times)."""
    time = 2882.0 + np.arange(n) / 720.0
    columns = {
        "TIME": ("D", time),
        "PDCSAP_FLUX": ("E", 1000.0 + np.sin(np.arange(n) / 50.0)),
        "PDCSAP_FLUX_ERR": ("E", np.full(n, 0.5)),
        "QUALITY": ("J", np.full(n, 4 if all_flagged else 0)),
    }
    table = fits.BinTableHDU.from_columns(
        [fits.Column(name, fmt, array=values) for name, (fmt, values) in columns.items() if name != drop],
        name="LIGHTCURVE",
    )
    table.header.update(TIMEREF="SOLARSYSTEM", TIMESYS="TDB", BJDREFI=2457000, BJDREFF=0.0, TIMEUNIT="d")
    primary = fits.PrimaryHDU()
    primary.header.update(TELESCOP="TESS", TICID=21132157, OBJECT="TIC 21132157", SECTOR=58)
    fits.HDUList([primary, table]).writeto(path)
    return path


def test_synthetic_light_curve_is_valid(tmp_path):
    lc = load_light_curve(_spoc_light_curve(tmp_path / "ok_lc.fits"), n_bins=16)
    assert (lc.n_cadences_total, lc.n_cadences_used, lc.time_system) == (3000, 3000, "BTJD")


def test_truncated_light_curve_names_file_and_hdu(tmp_path):
    data = _spoc_light_curve(tmp_path / "full_lc.fits").read_bytes()
    mid_data = tmp_path / "mid_data_lc.fits"
    mid_data.write_bytes(data[: len(data) - 20000])
    with pytest.raises(LightCurveFormatError, match=r"mid_data_lc\.fits: HDU 1 'LIGHTCURVE': .*truncated"):
        read_light_curve(mid_data)
    mid_header = tmp_path / "mid_header_lc.fits"
    mid_header.write_bytes(data[: 2880 + 1000])
    with pytest.raises(LightCurveFormatError, match=r"mid_header_lc\.fits: no LIGHTCURVE HDU"):
        read_light_curve(mid_header)


@pytest.mark.parametrize(
    ("drop", "named"),
    [("PDCSAP_FLUX", "PDCSAP_FLUX"), ("PDCSAP_FLUX_ERR", "PDCSAP_FLUX_ERR"), ("QUALITY", "QUALITY"), ("TIME", "TIME")],
)
def test_missing_column_names_hdu_and_column(tmp_path, drop, named):
    path = _spoc_light_curve(tmp_path / f"no_{drop.lower()}_lc.fits", drop=drop)
    with pytest.raises(LightCurveFormatError, match=rf"no_{drop.lower()}_lc\.fits: HDU 1 'LIGHTCURVE': .*'{named}'"):
        read_light_curve(path)


def test_fits_without_lightcurve_hdu(tmp_path):
    path = tmp_path / "image.fits"
    fits.HDUList([fits.PrimaryHDU(np.zeros((4, 4))), fits.ImageHDU(np.zeros(3), name="APERTURE")]).writeto(path)
    with pytest.raises(
        LightCurveFormatError, match=r"image\.fits: no LIGHTCURVE HDU \(HDUs found: 0:PRIMARY, 1:APERTURE\)"
    ):
        read_light_curve(path)


def test_every_cadence_flagged(tmp_path):
    path = _spoc_light_curve(tmp_path / "flagged_lc.fits", all_flagged=True)
    with pytest.raises(LightCurveFormatError, match=r"flagged_lc\.fits: no usable cadence out of 3000"):
        load_light_curve(path)
    assert load_light_curve(path, quality_bitmask=0b11, n_bins=8).n_cadences_used == 3000  # bit 4 not masked


@pytest.mark.parametrize("name", ["empty_lc.fits", "empty_spectrum.fits", "empty_table.csv", "empty.dat"])
def test_empty_files(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"" if name.endswith(".fits") else b"\n \n")
    reader = read_light_curve if name.endswith("_lc.fits") else read_spectra
    with pytest.raises((LightCurveFormatError, SpectrumFormatError), match=re.escape(name) + ": empty file"):
        reader(path)


def test_text_posing_as_fits(tmp_path):
    path = tmp_path / "notes_lc.fits"
    path.write_text("this is not a FITS file\n" * 200)
    with pytest.raises(LightCurveFormatError, match=r"notes_lc\.fits: not a readable FITS file"):
        read_light_curve(path)


def test_non_utf8_table_names_the_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"# WASP-39b\nwave,wave_error,dppm,dppm_err\n0.9,0.005,21000,50\n1.0,0.005,21100,50 \xb5m\n")
    with pytest.raises(SpectrumFormatError, match=r"latin1\.csv: line 4: not UTF-8 text \(byte 0xb5"):
        read_transmission_table(path)


def test_non_numeric_cell_names_line_and_column(tmp_path):
    path = tmp_path / "bad_cell.csv"
    path.write_text("# comment\n\nwave,wave_error,dppm,dppm_err\n0.9,0.005,21000,50\n1.0,0.005,n/a?,50\n")
    with pytest.raises(
        SpectrumFormatError, match=r"bad_cell\.csv: line 5: column 'dppm' value 'n/a\?' is not a number"
    ):
        read_transmission_table(path)


def test_table_without_depth_column(tmp_path):
    path = tmp_path / "no_depth.csv"
    path.write_text("wave,flux_density\n0.9,1.0\n1.0,1.1\n")
    with pytest.raises(SpectrumFormatError, match=r"no_depth\.csv: line 1: no depth column"):
        read_transmission_table(path)


def test_pyratbay_row_with_missing_fields(tmp_path):
    path = tmp_path / "obs.dat"
    path.write_text(
        "# Pyrat Bay\n@DEPTH_UNITS\nppm\n@DATA\n20667.1 274.2 0.52132 0.00425 prism\n20940.2 201.4 0.53004\n"
    )
    with pytest.raises(SpectrumFormatError, match=r"obs\.dat: line 6: Pyrat Bay '@DATA' rows need 4 or 5 columns"):
        read_transmission_table(path)


def test_x1d_missing_flux_column(tmp_path):
    path = tmp_path / "broken_x1d.fits"
    table = fits.BinTableHDU.from_columns(
        [
            fits.Column("WAVELENGTH", "D", unit="um", array=np.linspace(1, 2, 10)),
            fits.Column("DQ", "J", array=np.zeros(10)),
        ],
        name="EXTRACT1D",
    )
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(path)
    with pytest.raises(SpectrumFormatError, match=r"broken_x1d\.fits: HDU 1 'EXTRACT1D': missing column 'FLUX'"):
        read_spectra(path)


def test_truncated_eso_spectrum_names_hdu(tmp_path):
    """SYNTHETIC ESO-SDP-shaped file (SPECTRUM BinTable, one row of WAVE/FLUX/ERR arrays), truncated."""
    n = 20000
    table = fits.BinTableHDU.from_columns(
        [
            fits.Column("WAVE", f"{n}D", unit="Angstrom", array=np.linspace(4000, 6000, n)[None]),
            fits.Column("FLUX", f"{n}E", unit="adu", array=np.ones((1, n))),
            fits.Column("ERR", f"{n}E", unit="adu", array=np.full((1, n), 0.1)),
        ],
        name="SPECTRUM",
    )
    full = tmp_path / "adp_full.fits"
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(full)
    assert read_spectra(full)[0].mask.all()
    cut = tmp_path / "adp_cut.fits"
    cut.write_bytes(full.read_bytes()[:-100000])
    with pytest.raises(SpectrumFormatError, match=r"adp_cut\.fits: HDU 1 'SPECTRUM': .*truncated"):
        read_spectra(cut)


def test_image_spectrum_without_wavelength_unit(tmp_path):
    path = tmp_path / "no_unit.fits"
    hdu = fits.PrimaryHDU(np.ones(50, dtype=np.float32))
    hdu.header.update(CTYPE1="LINEAR", CRVAL1=5000.0, CDELT1=1.0, CRPIX1=1.0)
    hdu.writeto(path)
    with pytest.raises(SpectrumFormatError, match=r"no_unit\.fits: HDU 0 'PRIMARY': wavelength unit not given"):
        read_spectra(path)
    assert read_spectra(path, wavelength_unit="Angstrom")[0].wavelength[0] == pytest.approx(0.5)
