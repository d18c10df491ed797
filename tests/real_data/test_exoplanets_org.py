"""Exoplanet Orbit Database builder on the real exoplanets.org exports, and the cross-match with NASA."""

from __future__ import annotations

from pathlib import Path

import pytest

from astrobio_hf.data.download import DownloadError
from astrobio_hf.data.names import cross_match
from astrobio_hf.data.prepare import inspect_file, prepare_source
from astrobio_hf.data.sources import SourceFormatError
from astrobio_hf.data.sources.exoplanets_org import ExoplanetsOrg
from astrobio_hf.data.sources.nasa_exoplanet_archive import NasaExoplanetArchive
from tests.helpers.http_server import LoopbackArchive

KEY = "exoplanets_org"


@pytest.fixture(scope="module")
def eod(real_data_dir: Path) -> Path:
    return real_data_dir / KEY


@pytest.fixture(scope="module")
def table(eod, tmp_path_factory):
    b = ExoplanetsOrg(cache_dir=str(tmp_path_factory.mktemp("eod")), data_files=str(eod / "exoplanets.csv"))
    b.download_and_prepare()
    return b, b.as_dataset("train")


def test_units_row_is_used_as_units_not_as_a_planet(table):
    builder, ds = table
    # 3238 CSV records = header + UNITS row + 3236 planets (the last line has no newline, so `wc -l` says 3237)
    assert ds.num_rows == 3236
    assert "" not in ds["name"] and None not in ds["name"]
    units = builder.report()["units"]["exoplanets.csv"]
    assert units == {"msini": "mjupiter", "a": "au", "per": "day", "om": "deg", "t0": "jd", "k": "m/s"}
    first = ds[0]
    assert first["name"] == "Kepler-107 d" and first["per"] == pytest.approx(7.958203)
    assert first["a"] == pytest.approx(0.0780099) and first["msini"] is None and first["name_normalized"] == "kepler107d"
    assert first["source"] == KEY and first["file"] == "exoplanets.csv"
    assert "per (float64) [day]" in builder.info.description


def test_full_314_column_export(eod):
    info = inspect_file(KEY, eod / "exoplanet_orbit_database.csv")
    assert info["rows"] == 1 and info["units"] == {}
    row = info["sample"][0]
    assert row["name"] == "HD 209458 b" and row["star"] == "HD 209458" and row["transit"] == 1
    assert row["per"] == pytest.approx(3.52474859) and row["msini"] == pytest.approx(0.68851)
    assert row["teff"] == 6065.0 and row["ra"] == pytest.approx(22.05298611) and row["date"] == 2000


def test_cross_match_with_nasa_archive(table, real_data_dir, tmp_path):
    _, ds = table
    nasa = NasaExoplanetArchive(cache_dir=str(tmp_path),
                                data_files=str(real_data_dir / "nasa_exoplanet_archive" / "PSCompPars.csv"))
    nasa.download_and_prepare()
    names = nasa.as_dataset("train")["pl_name"]
    pairs = dict(cross_match(ds["name"], names))
    by_name = {ds["name"][i]: names[j] for i, j in pairs.items()}
    assert by_name["Kepler-107 d"] == "Kepler-107 d"
    assert by_name["BD +14 4559 b"] == "BD+14 4559 b"  # spacing differs between the catalogs
    assert by_name["epsilon Eri b"] == "eps Eri b"  # Bayer letter spelled out vs abbreviated
    assert by_name["XO-2S b"] == "XO-2 S b"
    exact = len(set(ds["name"]) & set(names))
    assert len(pairs) > exact  # normalisation finds matches that exact names miss
    assert len(pairs) / ds.num_rows > 0.95


def test_bad_rows_name_file_line_and_field(eod, tmp_path):
    lines = (eod / "exoplanets.csv").read_text().splitlines(keepends=True)[:20]
    bad = list(lines)
    bad[6] = bad[6].replace(bad[6].split(",")[3], "3.5 days", 1)  # PER of the 5th planet (line 7)
    path = tmp_path / "bad.csv"
    path.write_text("".join(bad))
    with pytest.raises(SourceFormatError) as info:
        inspect_file(KEY, path)
    assert info.value.location == "row 5 (line 7), field PER" and "'3.5 days'" in info.value.message
    path.write_text("".join(line.replace(",", "\t") for line in lines))
    with pytest.raises(SourceFormatError, match="looks '\\\\t'-delimited"):
        inspect_file(KEY, path)


def test_download_mode_from_a_mirror(eod, tmp_path):
    with LoopbackArchive() as server:
        server.add("/mirror/csv-files/exoplanets.csv", eod / "exoplanets.csv", content_type="text/csv")
        result = prepare_source(KEY, cache_dir=tmp_path, base_url=server.url("/mirror"))
    assert result.rows == 3236 and server.requests[0].path == "/mirror/csv-files/exoplanets.csv"


def test_cut_downloads_are_refused_or_used_once_never_replayed(eod, tmp_path):
    """No Content-Length (the body ends when the connection closes): a body cut mid-line is refused; one cut at
    a line boundary (exoplanets.org gives no count) serves one run, says so, and is fetched again next time."""
    data = (eod / "exoplanets.csv").read_bytes()
    middle = len(data) // 2
    boundary = data.index(b"\n", middle) + 1
    with LoopbackArchive() as server:
        path = "/mirror/csv-files/exoplanets.csv"
        server.add(path, data[: boundary + 40], content_type="text/csv", send_length=False)
        with pytest.raises(DownloadError, match="ends inside a line.*not kept"):
            prepare_source(KEY, cache_dir=tmp_path, base_url=server.url("/mirror"), max_retries=0)
        server.add(path, data[:boundary], content_type="text/csv", send_length=False)
        cut = prepare_source(KEY, cache_dir=tmp_path, base_url=server.url("/mirror"), max_retries=0)
        assert cut.rows < 3236 and cut.unverified_answers
        server.add(path, data, content_type="text/csv")  # healthy: Content-Length sent
        whole = prepare_source(KEY, cache_dir=tmp_path, base_url=server.url("/mirror"), max_retries=0)
    assert whole.rows == 3236 and not whole.from_cache and not whole.unverified_answers
