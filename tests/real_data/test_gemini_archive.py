"""Gemini archive builder on the real jsonsummary answer (m101.json) and the real CADC DataLink answer for a
Gemini-South observation (gemini.xml)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from astrobio_hf.data.prepare import inspect_file, prepare_source
from astrobio_hf.data.sources import SourceFormatError
from astrobio_hf.data.sources.gemini_archive import GeminiArchive, GeminiArchiveConfig, search_path
from tests.helpers.http_server import LoopbackArchive

KEY = "gemini_archive"


@pytest.fixture(scope="module")
def gemini(real_data_dir: Path) -> Path:
    return real_data_dir / "gemini"


@pytest.fixture(scope="module")
def prepared(gemini, tmp_path_factory):
    builder = GeminiArchive(cache_dir=str(tmp_path_factory.mktemp("gemini")), data_dir=gemini)
    builder.download_and_prepare()
    return builder, builder.as_dataset("train")


def test_rows_per_file(prepared):
    builder, ds = prepared
    assert [Path(f).name for f in builder.local_files] == ["gemini.xml", "m101.json"]
    assert ds.num_rows == 254
    assert Counter(ds["record_type"]) == {"jsonsummary": 250, "datalink": 4}


def test_jsonsummary_values(prepared):
    _, ds = prepared
    summary = ds.filter(lambda r: r["record_type"] == "jsonsummary")
    assert Counter(summary["instrument"]) == {"GMOS-N": 249, "GNIRS": 1}
    assert Counter(summary["observation_type"]) == {"OBJECT": 172, "FLAT": 58, "ARC": 20}
    row = summary[0]
    assert row["name"] == "mrgN20070221S0137_add.fits" and row["filename"] == "mrgN20070221S0137_add.fits.bz2"
    assert row["data_label"] == "GN-2007A-Q-72-1-001-MRG-ADD" and row["program_id"] == "GN-2007A-Q-72"
    assert (row["ra"], row["dec"], row["exposure_time"]) == (210.800833400112, 54.34877772501, 119.9986)
    assert row["ut_datetime"] == "2007-02-21 15:49:30" and row["release_date"] == "2008-08-21"
    assert row["spectroscopy"] is False and row["compressed"] is True and row["raw_iq"] == 85
    assert row["file_size"] == 15847270 and row["central_wavelength"] is None
    assert row["types"][:3] == ["GEMINI_NORTH", "GMOS_N", "GMOS_IMAGE"] and len(row["types"]) == 9
    assert row["file_url"] == "https://archive.gemini.edu/file/mrgN20070221S0137_add.fits"
    assert row["access_url"] is None and row["file"] == "m101.json"


def test_datalink_rows(prepared):
    _, ds = prepared
    links = ds.filter(lambda r: r["record_type"] == "datalink")
    assert links["semantics"] == ["#this", "#cutout", "#cutout", "#cutout"]
    assert set(links["data_label"]) == {"GS-2012A-Q-5-116-003"} and set(links["name"]) == {"S20120515S0064"}
    assert links[0]["file_size"] == 7068398 and links[1]["file_size"] is None  # empty <TD/>: size unknown
    assert links[0]["access_url"].startswith("http://www.cadc-ccda.hia-iha.nrc-cnrc.gc.ca/data/pub/GEMINI/S20120515")
    assert links[1]["service_def"] == "cutout" and links[0]["content_type"] == "application/fits"
    assert links[0]["datalink_id"] == "caom:GEMINI/GS-2012A-Q-5-116-003/GS-2012A-Q-5-116-003"


def test_inspect_rows(gemini):
    assert inspect_file(KEY, gemini / "m101.json")["rows"] == 250
    assert inspect_file(KEY, gemini / "gemini.xml")["rows"] == 4


def test_search_path():
    config = GeminiArchiveConfig(instrument="GMOS-N", observation_type="OBJECT", date="20070221-20070325",
                                 object="M 101")
    assert search_path(config) == "jsonsummary/notengineering/NotFail/GMOS-N/OBJECT/20070221-20070325/object=M%20101"
    assert search_path(GeminiArchiveConfig(api="jsonfilelist", program_id="GN-2007A-Q-72", qa=None,
                                           engineering=None)) == "jsonfilelist/GN-2007A-Q-72"
    with pytest.raises(ValueError, match="YYYYMMDD"):
        GeminiArchiveConfig(date="2007-02-21")
    with pytest.raises(ValueError, match="single path segments"):
        GeminiArchiveConfig(terms=["a/b"])


def test_download_mode_jsonsummary(gemini, tmp_path, monkeypatch):
    path = "/jsonsummary/notengineering/NotFail/GMOS-N/OBJECT/object=M101"
    with LoopbackArchive() as server:
        server.add(path, gemini / "m101.json", content_type="application/json",
                   fail_first=[(503, {"Retry-After": "0"})])
        monkeypatch.setenv("ASTROBIO_GEMINI_ARCHIVE_URL", server.url(""))
        result = prepare_source(KEY, cache_dir=tmp_path, instrument="GMOS-N", observation_type="OBJECT",
                                object="M101")
    assert [(r.method, r.path, r.status) for r in server.requests] == [("GET", path, 503), ("GET", path, 200)]
    assert result.rows == 250
    ds = GeminiArchive(cache_dir=str(tmp_path), instrument="GMOS-N", observation_type="OBJECT",
                       object="M101").as_dataset("train")
    assert ds[0]["release"].startswith("Gemini jsonsummary/notengineering/NotFail/GMOS-N/OBJECT/object=M101")
    assert ds[0]["file_url"] == server.url("/file/mrgN20070221S0137_add.fits")


# ------------------------------------------------------------------ malformed inputs


def _error(path: Path) -> SourceFormatError:
    with pytest.raises(SourceFormatError) as info:
        inspect_file(KEY, path)
    assert info.value.source == KEY and Path(info.value.file).name == path.name
    return info.value


@pytest.fixture(scope="module")
def records(gemini) -> list[dict]:
    return json.loads((gemini / "m101.json").read_text())[:5]


def test_truncated_json(gemini, tmp_path):
    path = tmp_path / "cut.json"
    text = (gemini / "m101.json").read_text()
    path.write_text(text[:5000])
    err = _error(path)
    assert err.location.startswith("line ") and "invalid JSON" in err.message


def test_json_object_instead_of_array(tmp_path):
    path = tmp_path / "object.json"
    path.write_text('{"error": "bad search terms"}')
    assert "not the array of file records" in _error(path).message


def test_bad_value_names_row_and_field(records, tmp_path):
    bad = [dict(r) for r in records]
    bad[3]["exposure_time"] = "long"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    err = _error(path)
    assert err.location == "row 4, field exposure_time" and "'long' is not a valid float64" in err.message


def test_bad_types_and_non_object_record(records, tmp_path):
    bad = [dict(r) for r in records]
    bad[1]["types"] = "['GMOS_N'"
    path = tmp_path / "types.json"
    path.write_text(json.dumps(bad))
    assert _error(path).location == "row 2, field types"
    path.write_text(json.dumps([records[0], 42]))
    assert _error(path).location == "row 2"


def test_missing_name(records, tmp_path):
    path = tmp_path / "noname.json"
    path.write_text(json.dumps([{k: v for k, v in r.items() if k != "name"} for r in records]))
    assert "missing required column 'name'" in _error(path).message


def test_votable_that_is_not_datalink_and_error_status(tmp_path):
    path = tmp_path / "other.xml"
    path.write_text('<?xml version="1.0"?><VOTABLE version="1.3" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">'
                    '<RESOURCE><TABLE><FIELD name="x" datatype="int"/><DATA><TABLEDATA><TR><TD>1</TD></TR>'
                    "</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>")
    assert "not a DataLink answer" in _error(path).message
    path.write_text('<?xml version="1.0"?><VOTABLE version="1.3" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">'
                    '<RESOURCE type="results"><INFO name="QUERY_STATUS" value="ERROR">NotFoundFault: caom:GEMINI/x'
                    "</INFO></RESOURCE></VOTABLE>")
    assert "NotFoundFault" in _error(path).message


def test_not_json_nor_xml(tmp_path):
    path = tmp_path / "page.json"
    path.write_text("Service unavailable")
    assert _error(path).location == "line 1"
