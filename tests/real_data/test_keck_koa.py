"""Keck KOA builder on the real Keck/ESI extracted spectrum (PH957_f.fits + PH957_e.fits).

No real KOA TAP answer is among the real files: the IPAC answers here are CONSTRUCTED with astropy
following KOA's column names (koaid, instrume, targname, koaimtyp, ra, dec, date_obs, ut, elaptime, ...);
their values are made up for the test, the file served through getKOA is the real ESI spectrum.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import MaskedColumn, Table

from astrobio_hf.data.download import DownloadError
from astrobio_hf.data.prepare import inspect_file, prepare_source
from astrobio_hf.data.sources import SourceFormatError
from astrobio_hf.data.sources.keck_koa import KeckKoa, KeckKoaConfig, koa_query
from tests.helpers.http_server import LoopbackArchive, tap_with_count

KEY = "keck_koa"
FILEHAND = "/koadata7/ESI/20000804/lev1/PH957_f.fits"


@pytest.fixture(scope="module")
def koa(real_data_dir: Path) -> Path:
    return real_data_dir / "keck_koa"


def koa_answer(path: Path, filehand: str = FILEHAND) -> Path:
    """A CONSTRUCTED KOA TAP answer in IPAC format (astropy writes the name/type/unit/null header rows)."""
    t = Table()
    t["koaid"] = ["EI.20000804.48270.fits", "HI.20170924.17700.fits"]
    t["instrume"] = ["ESI", "HIRES"]
    t["targname"] = MaskedColumn(["0100+1300", ""], mask=[False, True])
    t["koaimtyp"] = ["object", "arclamp"]
    t["ra"] = MaskedColumn([15.1391667, 0.0], mask=[False, True], unit="deg")
    t["dec"] = MaskedColumn([13.0027778, 0.0], mask=[False, True], unit="deg")
    t["date_obs"] = ["2000-08-04", "2017-09-24"]
    t["ut"] = ["13:24:30.34", "04:55:00.00"]
    t["elaptime"] = MaskedColumn([900.0, 1.0], unit="s")
    t["progid"] = ["U05E", "C123"]
    t["filehand"] = [filehand, "/koadata14/HIRES/20170924/lev0/HI.20170924.17700.fits"]
    t.write(path, format="ipac", overwrite=True)
    return path


@pytest.fixture(scope="module")
def prepared(koa, tmp_path_factory):
    builder = KeckKoa(cache_dir=str(tmp_path_factory.mktemp("koa")), data_dir=koa)
    builder.download_and_prepare()
    return builder, builder.as_dataset("train")


def test_esi_spectrum_row_with_error_companion(prepared, koa):
    builder, ds = prepared
    assert [Path(f).name for f in builder.local_files] == ["PH957_e.fits", "PH957_f.fits"]
    assert ds.num_rows == 1  # PH957_e.fits is the error array of PH957_f.fits, not a spectrum of its own
    row = ds[0]
    header = fits.getheader(koa / "PH957_f.fits")
    errors = fits.getdata(koa / "PH957_e.fits").astype(np.float64)
    assert (row["record_type"], row["file"], row["instrume"]) == ("spectrum", "PH957_f.fits", "ESI")
    assert row["targname"] == "0100+1300" and row["object"] == "q0100p13 [div]"
    assert row["ra"] == pytest.approx(15.0 * (1 + 0 / 60 + 33.40 / 3600))  # RA '01:00:33.40'
    assert row["dec"] == pytest.approx(13 + 0 / 60 + 10.0 / 3600)  # DEC '+13:00:10.0'
    assert row["date_obs"] == "2000-08-04" and row["ut"] == "13:24:30.34"
    assert row["mjd"] == pytest.approx(51760.0 + (13 + 24 / 60 + 30.34 / 3600) / 24, abs=1e-9)
    assert row["elaptime"] == 900.0 and row["airmass"] == header["AIRMASS"]
    assert row["n_pixels"] == header["NAXIS1"] == 21059 and row["flux_unit"] == "erg/cm2/s/A"
    assert row["wavelength"][0] == pytest.approx(10 ** header["CRVAL1"] * 1e-4, rel=1e-12)
    np.testing.assert_array_equal(np.array(row["error"]), errors)
    assert row["mask"].count(False) == 680
    assert row["waveblue"] < row["wavered"] and row["file_url"] is None


def test_inspect_rows(koa, tmp_path):
    assert inspect_file(KEY, koa / "PH957_f.fits")["rows"] == 1
    assert inspect_file(KEY, koa / "PH957_e.fits", allow_empty=True)["rows"] == 0
    with pytest.raises(SourceFormatError, match="no rows: the builder makes no record from this file"):
        inspect_file(KEY, koa / "PH957_e.fits")
    assert inspect_file(KEY, koa_answer(tmp_path / "answer.tbl"))["rows"] == 2


def test_koa_tap_answer_rows(tmp_path):
    info = inspect_file(KEY, koa_answer(tmp_path / "answer.tbl"), sample=2)
    first, second = info["sample"]
    assert first["koaid"] == "EI.20000804.48270.fits" and first["ra"] == 15.1391667 and first["elaptime"] == 900.0
    assert first["mjd"] == pytest.approx(51760.55868449, abs=1e-8)  # from date_obs + ut
    assert first["file_url"] == ("https://koa.ipac.caltech.edu/cgi-bin/getKOA/nph-getKOA?filehand="
                                 "%2Fkoadata7%2FESI%2F20000804%2Flev1%2FPH957_f.fits")
    assert "targname" not in second and "ra" not in second  # IPAC nulls stay null
    assert info["units"] == {"ra": "deg", "dec": "deg", "elaptime": "s"}


def test_query_text_and_config_checks():
    config = KeckKoaConfig(instrument="hires", target="HD 10700", date_start="2017-09-01", date_end="2017-09-30")
    assert koa_query(config) == ("SELECT * FROM koa_hires WHERE (targname = 'HD 10700') AND "
                                 "(date_obs >= '2017-09-01') AND (date_obs <= '2017-09-30')")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        KeckKoaConfig(date_start="2017/09/01")
    with pytest.raises(ValueError, match="KOA instrument name"):
        KeckKoaConfig(instrument="hires; drop table")


def test_download_mode_tap_then_getkoa(koa, tmp_path, monkeypatch):
    answer = koa_answer(tmp_path / "answer.tbl")
    with LoopbackArchive() as server:
        server.add("/TAP/sync", tap_with_count(answer, 2), content_type="text/plain")
        server.add("/cgi-bin/getKOA/nph-getKOA", koa / "PH957_f.fits", content_type="application/fits",
                   fail_first=[(503, {"Retry-After": "0"})])
        monkeypatch.setenv("ASTROBIO_KECK_KOA_URL", server.url(""))
        result = prepare_source(KEY, cache_dir=tmp_path / "cache", instrument="esi", date_start="2000-08-04",
                                top=10, max_files=1)
    assert [(r.path, r.status) for r in server.requests] == [
        ("/TAP/sync", 200), ("/TAP/sync", 200), ("/cgi-bin/getKOA/nph-getKOA", 503), ("/cgi-bin/getKOA/nph-getKOA", 200)]
    assert server.requests[1].query["QUERY"] == ["SELECT COUNT(*) AS n FROM koa_esi WHERE (date_obs >= '2000-08-04')"]
    tap = server.requests[0].query
    assert tap["QUERY"] == ["SELECT * FROM koa_esi WHERE (date_obs >= '2000-08-04')"]
    assert (tap["REQUEST"], tap["LANG"], tap["FORMAT"], tap["MAXREC"]) == (["doQuery"], ["ADQL"], ["ipac"], ["10"])
    assert server.requests[-1].query["filehand"] == [FILEHAND]
    assert result.rows == 3
    ds = KeckKoa(cache_dir=str(tmp_path / "cache"), instrument="esi", date_start="2000-08-04", top=10,
                 max_files=1).as_dataset("train")
    assert ds["record_type"] == ["koa_tap", "koa_tap", "spectrum"]
    assert ds[0]["file_url"].startswith(server.url("/cgi-bin/getKOA/nph-getKOA?filehand="))
    assert ds[0]["release"].startswith("KOA TAP: SELECT * FROM koa_esi")
    assert ds[2]["n_pixels"] == 21059 and ds[2]["error"] is None  # the _e companion is not fetched
    assert ds[2]["release"].startswith("KOA getKOA EI.20000804.48270.fits")


# ------------------------------------------------------------------ malformed inputs


def _error(path: Path) -> SourceFormatError:
    with pytest.raises(SourceFormatError) as info:
        inspect_file(KEY, path)
    assert info.value.source == KEY and Path(info.value.file).name == path.name
    return info.value


def test_table_without_koaid(tmp_path):
    path = tmp_path / "nokoaid.tbl"
    koa_answer(path)
    Table.read(path, format="ipac").to_pandas().drop(columns=["koaid"]).to_csv(tmp_path / "nokoaid.csv", index=False)
    err = _error(tmp_path / "nokoaid.csv")
    assert err.location == "column koaid" and "not a KOA table" in err.message


def test_bad_ra_in_csv_answer(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("koaid,ra,dec\nHI.1.fits,12:3x:00,+10:00:00\n")
    err = _error(path)
    assert err.location == "row 1 (line 2), field ra" and "not an angle" in err.message


def test_raw_frame_is_not_a_spectrum(tmp_path):
    path = tmp_path / "HI.20170924.17613.fits"  # CONSTRUCTED raw-like 2-D frame: no wavelength WCS
    fits.PrimaryHDU(np.zeros((8, 16), np.float32)).writeto(path)
    assert "wavelength unit not given" in _error(path).message


def test_truncated_spectrum(koa, tmp_path):
    path = tmp_path / "PH957_f.fits"
    path.write_bytes((koa / "PH957_f.fits").read_bytes()[: 2880 * 20])
    err = _error(path)
    assert err.location == "HDU 0 'PRIMARY'" and "data unit unreadable, file truncated" in err.message


def test_skip_mode(koa, tmp_path):
    data = tmp_path / "dump"
    data.mkdir()
    shutil.copy(koa / "PH957_f.fits", data / "PH957_f.fits")
    (data / "broken.tbl").write_text("|koaid|ra |\n|char |double|\n x     abc\n")  # text in a double column
    result = prepare_source(KEY, data_dir=data, cache_dir=tmp_path / "c", on_bad_file="skip")
    assert result.rows == 1 and [Path(s["file"]).name for s in result.skipped_files] == ["broken.tbl"]


def test_a_tap_answer_short_of_the_services_count_is_refused(koa, tmp_path, monkeypatch):
    answer = koa_answer(tmp_path / "answer.tbl")
    with LoopbackArchive() as server:
        server.add("/TAP/sync", tap_with_count(answer, 5), content_type="text/plain")
        monkeypatch.setenv("ASTROBIO_KECK_KOA_URL", server.url(""))
        with pytest.raises(DownloadError, match="short answer: 2 rows parsed, the service reports 5 rows.*not kept"):
            prepare_source(KEY, cache_dir=tmp_path / "cache", instrument="esi", date_start="2000-08-04")
    assert not [p for p in (tmp_path / "cache").rglob("*.tbl")]
