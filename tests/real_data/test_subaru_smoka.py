"""Subaru SMOKA builder on the real Subaru/IRD file (non-standard card IRAF-B/P, no wavelength solution),
plus a CONSTRUCTED multi-extension frame carrying the standard Subaru keywords (values made up)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from astrobio_hf.data.prepare import inspect_file, prepare_source
from astrobio_hf.data.sources import SourceFormatError
from astrobio_hf.data.sources.subaru_smoka import SubaruSmoka, wavelength_calibrated

KEY = "subaru_smoka"
IRD = "thar_mmf2_a_H_20210317.fits"


@pytest.fixture(scope="module")
def smoka(real_data_dir: Path) -> Path:
    return real_data_dir / "subaru_smoka"


def test_ird_frame_row(smoka, tmp_path):
    builder = SubaruSmoka(cache_dir=str(tmp_path), data_dir=smoka)
    builder.download_and_prepare()
    ds = builder.as_dataset("train")
    assert ds.num_rows == 1
    row = ds[0]
    assert row["nonstandard_cards"] == ["IRAF-B/P"]  # reported, not fatal
    assert row["wavelength_calibrated"] is False and row["ctype1"] == "PIXEL"
    assert row["shape"] == [21, 2048] and row["hdu"] == 0 and row["hdu_name"] == "PRIMARY"
    assert row["orig_filename"] == "RAW/IRDAD00014632_RB.FITS" and row["date_written"] == "2021-03-31T08:22:24"
    assert row["n_cards"] == 179
    # the IRD product carries none of the standard Subaru keywords
    assert all(row[k] is None for k in ("frame_id", "exp_id", "object", "telescope", "instrument", "ra", "exptime"))
    assert (row["source"], row["file"]) == (KEY, IRD)
    assert SubaruSmoka(cache_dir=str(tmp_path), data_dir=smoka).is_prepared  # Arrow cache reused


def test_inspect_rows(smoka):
    info = inspect_file(KEY, smoka / IRD)
    assert info["rows"] == 1 and info["sample"][0]["nonstandard_cards"] == ["IRAF-B/P"]


def _subaru_mef(path: Path) -> Path:
    """CONSTRUCTED Subaru-style frame: header-only primary + two image extensions (made-up values)."""
    primary = fits.PrimaryHDU()
    primary.header.update({"OBSERVAT": "NAOJ", "TELESCOP": "Subaru", "INSTRUME": "Hyper Suprime-Cam",
                           "FRAMEID": "HSCA01234500", "EXP-ID": "HSCE00012345", "OBJECT": "TRAPPIST-1",
                           "DATA-TYP": "OBJECT", "PROP-ID": "o21101", "DATE-OBS": "2021-03-17",
                           "UT-STR": "11:37:49.809", "MJD-STR": 59290.48460, "EXPTIME": 30.0,
                           "RA": "23:06:29.283", "DEC": "-05:02:28.59", "FILTER01": "HSC-z"})
    chip = fits.ImageHDU(np.zeros((4, 6), np.float32), name="CHIP1")
    chip.header.update({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "BUNIT": "ADU"})
    spectrum = fits.ImageHDU(np.ones(10, np.float32), name="SPEC")
    spectrum.header.update({"CTYPE1": "LINEAR", "CRVAL1": 14500.0, "CDELT1": 1.0, "WAT1_001": "wtype=linear "
                            "label=Wavelength units=angstroms"})
    fits.HDUList([primary, chip, spectrum]).writeto(path)
    return path


def test_multi_extension_frame_inherits_primary_keywords(tmp_path):
    info = inspect_file(KEY, _subaru_mef(tmp_path / "HSCA01234500.fits"), sample=2)
    assert info["rows"] == 2  # the header-only primary is inherited, not a row
    chip, spec = info["sample"]
    assert (chip["hdu"], chip["hdu_name"], chip["shape"], chip["bunit"]) == (1, "CHIP1", [4, 6], "ADU")
    assert chip["frame_id"] == "HSCA01234500" and chip["instrument"] == "Hyper Suprime-Cam"
    assert chip["ra"] == pytest.approx(15 * (23 + 6 / 60 + 29.283 / 3600))
    assert chip["dec"] == pytest.approx(-(5 + 2 / 60 + 28.59 / 3600))
    assert chip["mjd"] == 59290.4846 and chip["exptime"] == 30.0 and chip["filter"] == "HSC-z"
    assert chip["wavelength_calibrated"] is False  # a celestial axis, not a dispersion axis
    assert spec["wavelength_calibrated"] is True and spec["shape"] == [10]
    assert chip["nonstandard_cards"] == []


def test_wavelength_calibrated_rules():
    assert not wavelength_calibrated(fits.Header({"NAXIS": 1, "CTYPE1": "PIXEL"}))
    assert not wavelength_calibrated(fits.Header({"NAXIS": 1, "WAT1_001": "wtype=linear label=Pixel"}))
    assert wavelength_calibrated(fits.Header({"NAXIS": 1, "CTYPE1": "WAVE"}))
    assert not wavelength_calibrated(fits.Header({"NAXIS": 0, "CTYPE1": "WAVE"}))


def test_download_mode_says_there_is_no_api(tmp_path):
    with pytest.raises(NotImplementedError, match="SMOKA has no public API; download the frames from the SMOKA web "
                                                  "form and use --data-dir"):
        prepare_source(KEY, cache_dir=tmp_path)
    assert not list(tmp_path.rglob("dataset_info.json"))


# ------------------------------------------------------------------ malformed inputs


def _error(path: Path) -> SourceFormatError:
    with pytest.raises(SourceFormatError) as info:
        inspect_file(KEY, path)
    assert info.value.source == KEY and Path(info.value.file).name == path.name
    return info.value


def test_empty_and_not_fits(tmp_path):
    empty = tmp_path / "empty.fits"
    empty.write_bytes(b"")
    assert "empty file" in _error(empty).message
    text = tmp_path / "text.fits"
    text.write_text("this is not FITS\n")
    assert "not a readable FITS file" in _error(text).message


def test_header_only_file(tmp_path):
    path = tmp_path / "header_only.fits"
    fits.PrimaryHDU().writeto(path)
    assert "no image HDU with data" in _error(path).message


def test_truncated_frame(smoka, tmp_path):
    path = tmp_path / IRD
    path.write_bytes((smoka / IRD).read_bytes()[: 2880 * 4])  # the header only, no data
    err = _error(path)
    assert err.location == "HDU 0 'PRIMARY'" and "data unit unreadable, file truncated" in err.message
