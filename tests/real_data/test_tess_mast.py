"""tess_mast builder on the real TESS SPOC 2-min light curve (read in place from ../shared/data/real).

Rows are cadences; expected values are read independently from the file with astropy. The one
full prepare of the file runs in download mode against a loopback server serving the real file at
its MAST archive path; local mode is checked through the same parser (inspect_file).
"""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pytest
from astropy.io import fits

from astrobio_hf.data.prepare import inspect_file, prepare_source
from astrobio_hf.data.sources import SourceFormatError
from astrobio_hf.data.sources.tess_mast import TessMast, parse_file_name, sector_products, tess_path
from tests.helpers.http_server import LoopbackArchive

KEY = "tess_mast"
NAME = "tess2022302161335-s0058-0000000021132157-0247-s_lc.fits"
ARCHIVE_PATH = "/missions/tess/tid/s0058/0000/0000/2113/2157/" + NAME
BTJD = 2457000.0
N_CADENCES = 19962


@pytest.fixture(scope="module")
def real_file(real_data_dir: Path) -> Path:
    return real_data_dir / "tess" / NAME


@pytest.fixture(scope="module")
def native(real_file):
    with fits.open(real_file) as hdul:
        return hdul["LIGHTCURVE"].data.copy()


@pytest.fixture(scope="module")
def downloaded(real_file, tmp_path_factory):
    """Download mode against a loopback MAST archive (first answer a 503), config tic_ids + sectors."""
    cache = tmp_path_factory.mktemp("tess")
    with LoopbackArchive() as server:
        server.add(ARCHIVE_PATH, real_file, content_type="application/fits", fail_first=[(503, {"Retry-After": "0"})])
        result = prepare_source(KEY, cache_dir=cache, base_url=server.url("/missions"), tic_ids=21132157, sectors=58)
        builder = TessMast(cache_dir=str(cache), base_url=server.url("/missions"), tic_ids=21132157, sectors=58)
    return result, builder.as_dataset("train"), server.requests, cache, server


def same(value, expected) -> bool:
    return bool(np.isnan(expected) and np.isnan(value)) if np.isnan(expected) else value == expected


def test_download_request_shape_and_rows(downloaded, real_file):
    result, ds, requests, cache, _ = downloaded
    assert [(r.method, r.path, r.status) for r in requests] == [("GET", ARCHIVE_PATH, 503), ("GET", ARCHIVE_PATH, 200)]
    assert result.rows == N_CADENCES and not result.from_cache
    saved = list((cache / "downloads" / "astrobio" / KEY).rglob("*.fits"))
    assert [p.name for p in saved] == [NAME] and saved[0].read_bytes() == real_file.read_bytes()
    assert set(ds["file"]) == {NAME} and set(ds["source"]) == {KEY}
    assert set(ds["release"]) == {"TESS SPOC data release 83 (file date 2022-11-30)"}


def test_rows_match_the_file(downloaded, native):
    _, ds, *_ = downloaded
    assert ds.features["pdcsap_flux"] == datasets.Value("float32") and ds.features["time_bjd"] == datasets.Value("float64")
    good = int(np.argmax(np.isfinite(native["PDCSAP_FLUX"])))
    for index in (0, good, 10000, N_CADENCES - 1):
        row = ds[index]
        assert row["cadenceno"] == int(native["CADENCENO"][index]) and row["quality"] == int(native["QUALITY"][index])
        assert same(row["time"], float(native["TIME"][index]))
        assert same(row["time_bjd"], float(native["TIME"][index]) + BTJD)
        for name in ("pdcsap_flux", "pdcsap_flux_err", "sap_flux", "sap_bkg", "psf_centr2"):
            assert same(row[name], float(native[name.upper()][index])), name
    first = ds[0]
    assert first["target_id"] == "TIC 21132157" and first["target_number"] == 21132157
    assert first["mission"] == "TESS" and first["segment"] == "S58" and first["time_system"] == "BTJD"
    assert first["cadenceno"] == 1191506 and first["time"] == pytest.approx(2882.3297568539606)
    assert first["quality"] == 168 and np.isnan(first["pdcsap_flux"])  # a flagged cadence with no flux
    flagged = int(np.count_nonzero(native["QUALITY"]))
    assert sum(q != 0 for q in ds["quality"]) == flagged > 0


def test_second_prepare_reuses_the_cache_without_network(downloaded):
    result, _, _, cache, server = downloaded
    again = prepare_source(KEY, cache_dir=cache, base_url=server.url("/missions"), tic_ids=21132157, sectors=58)
    assert again.from_cache and again.rows == N_CADENCES and again.cache_dir == result.cache_dir


def test_local_mode_parses_the_same_cadences(real_file, native, tmp_path):
    info = inspect_file(KEY, real_file, sample=2)
    assert info["rows"] == N_CADENCES
    assert info["units"]["time"] == "BJD - 2457000, days" and info["units"]["pdcsap_flux"] == "e-/s"
    assert info["release"] == "TESS SPOC data release 83 (file date 2022-11-30)"
    assert info["sample"][1]["cadenceno"] == int(native["CADENCENO"][1])
    b = TessMast(cache_dir=str(tmp_path), data_dir=real_file.parent)
    assert [Path(f).name for f in b.local_files] == [NAME]


def test_archive_layout_and_config(tmp_path):
    assert tess_path(21132157, 58, "2022302161335", 247) == ARCHIVE_PATH.removeprefix("/missions/")
    # MAST's published example file (WASP-126, sector 1)
    assert tess_path(25155310, 1, "2018206045859", 120) == (
        "tess/tid/s0001/0000/0000/2515/5310/tess2018206045859-s0001-0000000025155310-0120-s_lc.fits")
    assert parse_file_name(NAME) == ("2022302161335", 58, 21132157, 247)
    assert sector_products("58:2022302161335-0247,3:2018263035959-0123") == {
        58: ("2022302161335", 247), 3: ("2018263035959", 123)}
    from_names = TessMast(cache_dir=str(tmp_path), file_names=NAME).file_requests()
    assert [r.request.path for r in from_names] == [ARCHIVE_PATH.removeprefix("/missions/")]
    with pytest.raises(ValueError, match=r"sector 7.*tesscurl_sector_7_lc\.sh"):
        TessMast(cache_dir=str(tmp_path), tic_ids=[1], sectors=[7]).file_requests()
    given = TessMast(cache_dir=str(tmp_path), tic_ids=[1], sectors=[7], sector_products={7: "2019032160000-0131"})
    assert given.file_requests()[0].request.filename == "tess2019032160000-s0007-0000000000000001-0131-s_lc.fits"
    with pytest.raises(ValueError, match="not a SPOC light-curve file name"):
        TessMast(cache_dir=str(tmp_path), file_names="kplr011442793-2009350155506_llc.fits")


def test_no_token_is_sent(downloaded):
    _, _, requests, _, _ = downloaded
    assert all("Authorization" not in r.headers for r in requests)  # the mission archive is public


# ------------------------------------------------------------------ malformed inputs (from the real file)


def check(path: Path, location: str, message: str) -> None:
    with pytest.raises(SourceFormatError) as info:
        inspect_file(KEY, path)
    assert Path(info.value.file).name == path.name and info.value.source == KEY, info.value
    assert info.value.location == location, info.value
    assert message in info.value.message, info.value


def test_truncated_file_names_file_and_hdu(real_file, tmp_path):
    data = real_file.read_bytes()
    (tmp_path / "cut-s_lc.fits").write_bytes(data[: len(data) // 3])
    check(tmp_path / "cut-s_lc.fits", "HDU 1 'LIGHTCURVE'", "file truncated or corrupt")
    (tmp_path / "header-s_lc.fits").write_bytes(data[:2880 * 3])
    check(tmp_path / "header-s_lc.fits", "HDU LIGHTCURVE", "no LIGHTCURVE HDU")
    (tmp_path / "junk-s_lc.fits").write_bytes(b"SIMPLE = this is not FITS\n" * 3)
    check(tmp_path / "junk-s_lc.fits", "", "not a readable FITS file")


def test_missing_quality_column(real_file, tmp_path):
    with fits.open(real_file) as hdul:
        lc = hdul["LIGHTCURVE"]
        lc.columns.del_col("QUALITY")
        table = fits.BinTableHDU.from_columns(lc.columns[:], header=lc.header)
        fits.HDUList([hdul[0].copy(), table]).writeto(tmp_path / "noquality-s_lc.fits")
    check(tmp_path / "noquality-s_lc.fits", "HDU 1 'LIGHTCURVE', column QUALITY", "missing quality column 'QUALITY'")


def test_kepler_file_is_rejected(real_data_dir):
    check(real_data_dir / "kepler_k2" / "kplr011442793-2010009091648_llc.fits", "HDU 0 'PRIMARY'",
          "a Kepler light curve; the tess_mast builder reads TESS files")


def test_inspect_json_is_strict_json_with_null_for_nan(real_data_dir, capsys):
    import json as _json

    from astrobio_hf.cli import main

    path = real_data_dir / "tess" / "tess2022302161335-s0058-0000000021132157-0247-s_lc.fits"
    assert main(["inspect", "--source", "tess_mast", "--file", str(path), "--json"]) == 0
    out = capsys.readouterr().out

    def refuse(constant):
        raise ValueError(f"bare {constant} in the JSON output")

    info = _json.loads(out, parse_constant=refuse)  # NaN / Infinity are not JSON
    assert info["rows"] > 0 and None in info["sample"][0].values()
