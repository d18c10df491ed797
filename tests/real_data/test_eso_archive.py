"""ESO archive builder on the real ESO files (query-form answers, Phase-3 ADP and HARPS s1d spectra).

The ObsCore TAP answer and the DataLink answer of the download test are CONSTRUCTED here (no real
ObsCore answer is among the real files); their values are copied from the real ADP file's header, and
the file served through DataLink is the real ADP spectrum.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from astrobio_hf.data.download import DownloadError
from astrobio_hf.data.prepare import inspect_file, prepare_source
from astrobio_hf.data.sources import SourceFormatError
from astrobio_hf.data.sources.eso_archive import EsoArchive, EsoArchiveConfig, obscore_query
from tests.helpers.http_server import LoopbackArchive, tap_with_count

KEY = "eso_archive"
ADP = "ADP.2014-09-16T11:04:45.123.fits"
S1D = "HARPS.2010-09-18T23:42:36.178_s1d_A.fits"


@pytest.fixture(scope="module")
def eso(real_data_dir: Path) -> Path:
    return real_data_dir / "eso"


@pytest.fixture(scope="module")
def prepared(eso, tmp_path_factory):
    builder = EsoArchive(cache_dir=str(tmp_path_factory.mktemp("eso")), data_dir=eso)
    builder.download_and_prepare()
    return builder, builder.as_dataset("train")


def test_data_dir_rows_per_record_type(prepared):
    builder, ds = prepared
    assert [Path(f).name for f in builder.local_files] == [ADP, S1D, "main_sgra_query.tbl",
                                                           "vvv_sgra_survey_response.tbl"]  # raw2raw.xml not globbed
    assert ds.num_rows == 134
    assert Counter(ds["record_type"]) == {"raw_query": 50, "phase3_query": 82, "spectrum": 2}
    assert set(ds["source"]) == {KEY}


def test_raw_query_form_values(prepared):
    _, ds = prepared
    row = ds[ds["dp_id"].index("AMBER.2006-03-14T07:40:03.741")]
    assert row["target_name"] == "GC_IRS7" and row["instrument_name"] == "AMBER"
    assert row["s_ra"] == pytest.approx((17 + 45 / 60 + 40.09 / 3600) * 15)  # 17:45:40.09
    assert row["s_dec"] == pytest.approx(-(29 + 0 / 60 + 22.1 / 3600))  # -29:00:22.1
    assert row["proposal_id"] == "076.B-0863(A)" and row["dp_cat"] == "SCIENCE" and row["dp_type"] == "FRNSRC,BASE12"
    assert row["dp_tech"] == "INTERFEROMETRY" and row["t_exptime"] == 0.2 and row["t_min"] == 53808.319488
    assert row["obs_release_date"] == "2007-03-14"  # 'Mar 14 2007' in the file
    assert row["date_obs"].startswith("2006-03-14T07:40:03")  # from MJD-OBS
    assert row["wavelength"] is None and row["file"] == "main_sgra_query.tbl"


def test_phase3_portal_values(prepared):
    _, ds = prepared
    row = ds[ds["dp_id"].index("ADP.2013-05-14T16:05:24.870")]
    assert row["obs_collection"] == "VVV" and row["target_name"] == "b333" and row["instrument_name"] == "VIRCAM"
    assert (row["s_ra"], row["s_dec"], row["t_exptime"], row["filter"]) == (265.964906, -29.292627, 16.0, "Ks")
    assert row["dp_cat"] == "SCIENCE.IMAGE" and row["date_obs"] == "2011-09-02T03:34:17.183"
    assert row["t_min"] == pytest.approx(55806.148809988, abs=1e-8)  # MJD of DATE OBS
    vvv = [r for r, t in zip(ds["dp_cat"], ds["record_type"], strict=True) if t == "phase3_query"]
    assert Counter(vvv) == {"SCIENCE.IMAGE": 41, "SCIENCE.SRCTBL": 41}


def test_adp_spectrum_row(prepared, eso):
    _, ds = prepared
    row = ds[ds["file"].index(ADP)]
    primary = fits.getheader(eso / ADP)
    flux = fits.getdata(eso / ADP, "SPECTRUM")["FLUX"][0]
    assert row["dp_id"] == "ADP.2014-09-16T11:04:45.123" and row["target_name"] == "IC4651No9122"
    assert row["instrument_name"] == "HARPS" and row["proposal_id"] == "076.C-0429(A)"
    assert row["dp_cat"] == "SCIENCE.SPECTRUM" and row["t_min"] == 53921.1615749 and row["t_exptime"] == 302.5016
    assert row["em_min"] == pytest.approx(primary["WAVELMIN"] * 1e-9) and row["em_res_power"] == 115000.0
    assert row["n_pixels"] == len(row["wavelength"]) == len(row["flux"]) == flux.size == 313124
    assert row["wavelength"][0] == pytest.approx(primary["WAVELMIN"] * 1e-3) and row["wavelength_unit"] == "um"
    np.testing.assert_array_equal(np.array(row["flux"]), flux.astype(np.float64))
    assert row["error"] is None  # the ERR column is all NaN in this product
    assert row["mask"].count(False) == 3295 and row["flux_unit"] == "adu"


def test_harps_s1d_row(prepared):
    _, ds = prepared
    row = ds[ds["file"].index(S1D)]
    assert row["dp_id"] == "HARPS.2010-09-18T23:42:36.178" and row["target_name"] == "Gl581"
    assert row["n_pixels"] == 313114 and row["flux_unit"] == "Relative Flux" and row["t_exptime"] == 900.0007
    assert row["proposal_id"] == "183.C-0437(A)" and row["date_obs"] == "2010-09-18T23:42:36.178"


def test_cache_reused_in_a_new_builder(prepared, eso):
    builder, _ = prepared
    again = EsoArchive(cache_dir=builder._cache_dir_root, data_dir=eso)
    assert again.is_prepared and again.cache_dir == builder.cache_dir


@pytest.mark.parametrize(("name", "rows"), [("main_sgra_query.tbl", 50), ("vvv_sgra_survey_response.tbl", 82),
                                            (ADP, 1), (S1D, 1)])
def test_inspect_file_rows(eso, name, rows):
    assert inspect_file(KEY, eso / name)["rows"] == rows


def test_obscore_query_text():
    config = EsoArchiveConfig(target="HD 10700", instrument="HARPS", ra=26.017, dec=-15.9375, radius=0.05,
                              where="snr > 50")
    query = obscore_query(config)
    assert query.startswith("SELECT dp_id, target_name, s_ra, s_dec, instrument_name, ")
    assert query.endswith(" FROM ivoa.ObsCore WHERE (dataproduct_type = 'spectrum') AND (instrument_name = 'HARPS') "
                          "AND (target_name = 'HD 10700') AND (CONTAINS(POINT('ICRS', s_ra, s_dec), "
                          "CIRCLE('ICRS', 26.017, -15.9375, 0.05)) = 1) AND (snr > 50)")
    assert "'O''Brien'" in obscore_query(EsoArchiveConfig(target="O'Brien"))
    with pytest.raises(ValueError, match="needs all of ra, dec and radius"):
        EsoArchiveConfig(ra=1.0)


# ------------------------------------------------------------------ download mode (loopback TAP + DataLink)

# CONSTRUCTED ObsCore CSV answer (ESO's tap_obs CSV layout); values from the real ADP file's header.
OBSCORE_CSV = ("dp_id,target_name,s_ra,s_dec,instrument_name,obs_collection,proposal_id,dataproduct_type,t_min,"
               "t_max,t_exptime,em_min,em_max,em_res_power,snr,filter,obs_release_date,access_url\n"
               "ADP.2014-09-16T11:04:45.123,IC4651No9122,261.21664,-49.94913,HARPS,HARPS,076.C-0429(A),spectrum,"
               "53921.1615749,53921.16507608,302.5016,3.78143E-7,6.91266E-7,115000,23.35,,2014-09-16T11:04:45Z,"
               "https://archive.eso.org/datalink/links?ID=ivo://eso.org/ID?ADP.2014-09-16T11:04:45.123\n")


def _datalink_votable(file_url: str) -> bytes:
    # CONSTRUCTED DataLink {links} answer (DataLink 1.0 FIELDs) pointing at the loopback file URL.
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.3"><RESOURCE type="results"><TABLE>
<FIELD name="ID" datatype="char" arraysize="*"/><FIELD name="access_url" datatype="char" arraysize="*"/>
<FIELD name="service_def" datatype="char" arraysize="*"/><FIELD name="error_message" datatype="char" arraysize="*"/>
<FIELD name="semantics" datatype="char" arraysize="*"/><FIELD name="content_type" datatype="char" arraysize="*"/>
<DATA><TABLEDATA>
<TR><TD>ivo://eso.org/ID?ADP.2014-09-16T11:04:45.123</TD><TD>{file_url}</TD><TD/><TD/><TD>#this</TD>
<TD>application/fits</TD></TR>
</TABLEDATA></DATA></TABLE><INFO name="QUERY_STATUS" value="OK"/></RESOURCE></VOTABLE>""".encode()


def test_download_mode_tap_then_datalink(eso, tmp_path, monkeypatch):
    with LoopbackArchive() as server:
        file_path = "/dataPortal/file/ADP.2014-09-16T11:04:45.123"
        server.add("/tap_obs/sync", tap_with_count(OBSCORE_CSV.encode(), 1), content_type="text/csv",
                   fail_first=[(503, {"Retry-After": "0"})])
        server.add("/datalink/links", _datalink_votable(server.url(file_path)), content_type="application/x-votable+xml")
        server.add(file_path, eso / ADP, content_type="application/fits")
        monkeypatch.setenv("ASTROBIO_ESO_ARCHIVE_URL", server.url(""))
        result = prepare_source(KEY, cache_dir=tmp_path, instrument="HARPS", target="IC4651No9122", top=5,
                                max_files=1)
    assert [(r.path, r.status) for r in server.requests] == [
        ("/tap_obs/sync", 503), ("/tap_obs/sync", 200), ("/tap_obs/sync", 200), ("/datalink/links", 200),
        (file_path, 200)]
    assert server.requests[2].query["QUERY"][0].startswith("SELECT COUNT(*) AS n FROM ivoa.ObsCore WHERE")
    tap = server.requests[1].query
    assert (tap["REQUEST"], tap["LANG"], tap["FORMAT"], tap["MAXREC"]) == (["doQuery"], ["ADQL"], ["csv"], ["5"])
    assert tap["QUERY"] == [obscore_query(EsoArchiveConfig(instrument="HARPS", target="IC4651No9122"))]
    assert server.requests[3].query["ID"] == ["ivo://eso.org/ID?ADP.2014-09-16T11:04:45.123"]
    assert result.rows == 2
    # same config and base URL (the env var is still set): the Arrow cache of the run above
    builder = EsoArchive(cache_dir=str(tmp_path), instrument="HARPS", target="IC4651No9122", top=5, max_files=1)
    assert builder.is_prepared
    data = builder.as_dataset("train")
    assert data["record_type"] == ["obscore", "spectrum"]
    assert data[0]["release"].startswith("TAP ivoa.ObsCore: SELECT dp_id") and data[0]["em_min"] == 3.78143e-7
    assert data[1]["n_pixels"] == 313124 and data[1]["release"].startswith("ESO DataLink ADP.2014-09-16T11:04:45.123")


def test_a_tap_answer_cut_at_a_line_boundary_is_refused_by_the_count(tmp_path, monkeypatch):
    with LoopbackArchive() as server:
        server.add("/tap_obs/sync", tap_with_count(OBSCORE_CSV.encode(), 2), content_type="text/csv",
                   send_length=False)
        monkeypatch.setenv("ASTROBIO_ESO_ARCHIVE_URL", server.url(""))
        with pytest.raises(DownloadError, match="short answer: 1 rows parsed, the service reports 2 rows"):
            prepare_source(KEY, cache_dir=tmp_path, instrument="HARPS", max_retries=0)


# ------------------------------------------------------------------ malformed inputs


def _error(path: Path, **kwargs) -> SourceFormatError:
    with pytest.raises(SourceFormatError) as info:
        inspect_file(KEY, path, **kwargs)
    assert info.value.source == KEY and Path(info.value.file).name == path.name
    return info.value


def test_bad_sexagesimal_ra_names_row_and_line(eso, tmp_path):
    lines = (eso / "main_sgra_query.tbl").read_text().splitlines(keepends=True)
    lines[6] = lines[6].replace("17:45:40.09", "17:4x:40.09", 1)  # data row 3 sits on line 7
    path = tmp_path / "bad_ra.tbl"
    path.write_text("".join(lines))
    err = _error(path)
    assert err.location == "row 3 (line 7), field RA" and "'17:4x:40.09' is not an angle" in err.message


def test_truncated_query_answer(eso, tmp_path):
    text = (eso / "vvv_sgra_survey_response.tbl").read_bytes().decode("utf-8")
    lines = text.splitlines(keepends=True)
    path = tmp_path / "cut.tbl"
    path.write_text("".join(lines[:30]) + lines[30][:40])  # line 31 cut in the middle
    err = _error(path)
    assert err.location == "line 31" and "truncated file" in err.message


def test_bad_exptime_value(eso, tmp_path):
    lines = (eso / "vvv_sgra_survey_response.tbl").read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace(",16.00,", ",sixteen,", 1)
    path = tmp_path / "bad_exptime.tbl"
    path.write_text("".join(lines))
    err = _error(path)
    assert err.location == "row 1 (line 3), field EXPTIME" and "'sixteen' is not a valid float64" in err.message


def test_tap_error_votable(tmp_path):
    path = tmp_path / "error.vot"
    path.write_text('<?xml version="1.0"?><VOTABLE version="1.3" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">'
                    '<RESOURCE type="results"><INFO name="QUERY_STATUS" value="ERROR">Column s_rx not found'
                    "</INFO></RESOURCE></VOTABLE>")
    err = _error(path)
    assert err.location == "INFO QUERY_STATUS" and "Column s_rx not found" in err.message


def test_calselector_xml_is_not_a_votable(eso):
    err = _error(eso / "FORS2.2021-01-02T00_59_12.533_raw2raw.xml")
    assert "cannot parse as VOTable" in err.message


def test_unknown_table(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    assert "not an ESO ObsCore or query-form answer" in _error(path).message


def test_empty_and_truncated_fits(eso, tmp_path):
    empty = tmp_path / "empty.fits"
    empty.write_bytes(b"")
    assert "empty file" in _error(empty).message
    cut = tmp_path / "ADP.cut.fits"
    cut.write_bytes((eso / ADP).read_bytes()[: 2880 * 700])  # inside the SPECTRUM table's data
    err = _error(cut)
    assert err.location == "HDU 1 'SPECTRUM'" and "truncated or corrupt" in err.message


def test_skip_mode_keeps_good_files(eso, tmp_path):
    data = tmp_path / "dump"
    data.mkdir()
    shutil.copy(eso / "vvv_sgra_survey_response.tbl", data / "good.tbl")
    (data / "bad.fits").write_bytes(b"SIMPLE  = not really a FITS file")
    result = prepare_source(KEY, data_dir=data, cache_dir=tmp_path / "cache", on_bad_file="skip")
    assert result.rows == 82
    assert [Path(s["file"]).name for s in result.skipped_files] == ["bad.fits"]
    with pytest.raises(SourceFormatError, match="bad.fits"):
        prepare_source(KEY, data_dir=data, cache_dir=tmp_path / "cache2")
