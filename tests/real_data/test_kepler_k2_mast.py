"""kepler_k2_mast builder on the real Kepler light curves (read in place from ../shared/data/real).

Rows are cadences; expected values are read independently from the files with astropy.
"""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pytest
from astropy.io import fits

from astrobio_hf.data.download import DownloadError
from astrobio_hf.data.prepare import inspect_file, prepare_source
from astrobio_hf.data.sources import SourceFormatError
from astrobio_hf.data.sources.kepler_k2_mast import KeplerK2Mast, k2_path, kepler_path
from tests.helpers.http_server import LoopbackArchive

KEY = "kepler_k2_mast"
Q3 = "kplr011442793-2009350155506_llc.fits"
Q4 = "kplr011442793-2010009091648_llc.fits"
TESS = "tess/tess2022302161335-s0058-0000000021132157-0247-s_lc.fits"
BKJD = 2454833.0


@pytest.fixture(scope="module")
def kepler_dir(real_data_dir: Path) -> Path:
    return real_data_dir / "kepler_k2"


@pytest.fixture(scope="module")
def prepared(kepler_dir, tmp_path_factory):
    cache = tmp_path_factory.mktemp("kepler")
    builder = KeplerK2Mast(cache_dir=str(cache), data_dir=kepler_dir)
    builder.download_and_prepare()
    return builder, builder.as_dataset("train"), cache


def same(value, expected) -> bool:
    """Equal, or both NaN (gaps are NaN in the files and stay NaN in the rows)."""
    return bool(np.isnan(expected) and np.isnan(value)) if np.isnan(expected) else value == expected


def lightcurve_table(path: Path):
    with fits.open(path) as hdul:
        return hdul["LIGHTCURVE"].data.copy(), dict(hdul[0].header)


def test_rows_are_cadences_of_both_quarters(prepared, kepler_dir):
    builder, ds, _ = prepared
    assert ds.num_rows == 4370 + 1021
    assert ds["file"].count(Q3) == 4370 and ds["file"].count(Q4) == 1021
    assert ds.features["pdcsap_flux"] == datasets.Value("float32") and ds.features["time"] == datasets.Value("float64")
    assert ds.features["quality"] == datasets.Value("int64") and ds.features["target_id"] == datasets.Value("string")
    q3, _ = lightcurve_table(kepler_dir / Q3)
    for index in (0, 1, 2000, 4369):
        row = ds[index]
        assert row["cadenceno"] == int(q3["CADENCENO"][index])
        assert same(row["time"], float(q3["TIME"][index]))
        assert same(row["time_bjd"], float(q3["TIME"][index]) + BKJD)
        assert row["quality"] == int(q3["SAP_QUALITY"][index])
        for name in ("pdcsap_flux", "pdcsap_flux_err", "sap_flux", "sap_bkg", "pos_corr1", "timecorr"):
            assert same(row[name], float(q3[name.upper()][index])), name
        assert same(row["mom_centr1"], float(q3["MOM_CENTR1"][index]))
    second = ds[1]
    assert second["target_id"] == "KIC 11442793" and second["target_number"] == 11442793
    assert second["mission"] == "Kepler" and second["segment"] == "Q3" and second["time_system"] == "BKJD"
    assert second["time"] == pytest.approx(260.24460517) and second["time_bjd"] == pytest.approx(BKJD + 260.24460517)
    assert second["pdcsap_flux"] == pytest.approx(39928.738) and second["cadenceno"] == 7405
    assert np.isnan(ds[0]["pdcsap_flux"])  # a gap stays NaN as in the file
    first_q4 = ds[4370]
    assert first_q4["segment"] == "Q4" and first_q4["cadenceno"] == 11914 and first_q4["file"] == Q4
    assert second["release"] == "Kepler SPOC data release 25 (file date 2015-09-08)"
    assert first_q4["release"] == "Kepler SPOC data release 25 (file date 2015-09-14)"
    units = builder.report()["units"][Q3]
    assert units["time"] == "BJD - 2454833" and units["pdcsap_flux"] == "e-/s" and units["mom_centr1"] == "pixel"


def test_inspect_counts_cadences(kepler_dir):
    q3 = inspect_file(KEY, kepler_dir / Q3)
    assert q3["rows"] == 4370 and q3["columns"][:4] == ["target_id", "target_number", "mission", "segment"]
    assert q3["release"].startswith("Kepler SPOC data release 25") and q3["units"]["sap_flux"] == "e-/s"
    assert inspect_file(KEY, kepler_dir / Q4)["rows"] == 1021


def test_second_prepare_reuses_the_cache(prepared, kepler_dir):
    builder, _, cache = prepared
    again = prepare_source(KEY, data_dir=kepler_dir, cache_dir=cache)
    assert again.from_cache and again.rows == 5391 and again.cache_dir == builder.cache_dir


# ------------------------------------------------------------------ archive layout and download mode


def test_archive_paths_follow_the_mast_layout(tmp_path):
    assert kepler_path(11442793, "2009350155506") == \
        "kepler/lightcurves/0114/011442793/kplr011442793-2009350155506_llc.fits"
    assert kepler_path(8462852, "2011073133259") == \
        "kepler/lightcurves/0084/008462852/kplr008462852-2011073133259_llc.fits"  # Tabby's star, Q8
    assert k2_path(220139473, 8) == "k2/lightcurves/c8/220100000/39000/ktwo220139473-c08_llc.fits"
    assert k2_path(201425594, 102) == "k2/lightcurves/c102/201400000/25000/ktwo201425594-c102_llc.fits"
    b = KeplerK2Mast(cache_dir=str(tmp_path), epic_ids="201367065", campaigns="1,10")
    assert [(r.group, r.request.path) for r in b.file_requests()] == [
        ("EPIC 201367065 C1", "k2/lightcurves/c1/201300000/67000/ktwo201367065-c01_llc.fits"),
        ("EPIC 201367065 C10", "k2/lightcurves/c101/201300000/67000/ktwo201367065-c101_llc.fits"),
        ("EPIC 201367065 C10", "k2/lightcurves/c102/201300000/67000/ktwo201367065-c102_llc.fits"),
    ]
    with pytest.raises(ValueError, match="quarters are 0-17"):
        KeplerK2Mast(cache_dir=str(tmp_path), kic_ids=[1], quarters=[18])
    with pytest.raises(ValueError, match="need quarters"):
        KeplerK2Mast(cache_dir=str(tmp_path), kic_ids=[1]).file_requests()


def test_download_mode_fetches_the_quarters_with_retry(kepler_dir, tmp_path, monkeypatch):
    base = "/missions/kepler/lightcurves/0114/011442793/"
    with LoopbackArchive() as server:
        server.add(base + Q3, kepler_dir / Q3, content_type="application/fits",
                   fail_first=[(503, {"Retry-After": "0"})])
        server.add(base + Q4, kepler_dir / Q4, content_type="application/fits")
        # Q4's second stamp (2010078095331) is not served: a 404 on one part of a quarter is tolerated
        monkeypatch.setenv("ASTROBIO_KEPLER_K2_MAST_URL", server.url("/missions"))
        result = prepare_source(KEY, cache_dir=tmp_path, kic_ids="11442793", quarters="3,4")
    assert result.rows == 5391 and not result.from_cache
    seen = [(r.method, r.path, r.status) for r in server.requests]  # files are fetched concurrently: any order
    assert sorted(seen) == sorted([("GET", base + Q3, 503), ("GET", base + Q3, 200), ("GET", base + Q4, 200),
                                   ("GET", base + "kplr011442793-2010078095331_llc.fits", 404)])
    assert seen.index(("GET", base + Q3, 503)) < seen.index(("GET", base + Q3, 200))  # retried after the 503
    saved = sorted((tmp_path / "downloads" / "astrobio" / KEY).rglob("*.fits"), key=lambda p: p.name)
    assert [p.name for p in saved] == [Q3, Q4] and saved[0].read_bytes() == (kepler_dir / Q3).read_bytes()
    ds = KeplerK2Mast(cache_dir=str(tmp_path), kic_ids="11442793", quarters="3,4").as_dataset("train")
    assert ds["file"][0] == Q3 and ds[1]["pdcsap_flux"] == pytest.approx(39928.738)


def test_download_sends_the_mast_token_like_jwst(kepler_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MAST_API_TOKEN", "kepler-test-token-123")
    with LoopbackArchive() as server:
        server.add("/missions/kepler/lightcurves/0114/011442793/" + Q4, kepler_dir / Q4)
        b = KeplerK2Mast(cache_dir=str(tmp_path), base_url=server.url("/missions"), kic_ids=[11442793],
                         stamps=["2010009091648"])
        b.download_and_prepare()
    assert [r.headers.get("Authorization") for r in server.requests] == ["token kepler-test-token-123"]


def test_download_mode_names_a_missing_quarter(kepler_dir, tmp_path):
    with LoopbackArchive() as server:
        b = KeplerK2Mast(cache_dir=str(tmp_path), base_url=server.url("/missions"), kic_ids=[11442793], quarters=[5])
        with pytest.raises(DownloadError, match=r"KIC 11442793 Q5: .*kplr011442793-2010174085026_llc\.fits"):
            b.download_and_prepare()
    assert not b.is_prepared


def test_k2_campaign_parts_fall_back(kepler_dir, tmp_path):
    """URL layout and part fallback of K2 campaign 10. The bytes served are the real Kepler Q4 file
    (no real ktwo file is available); only the request shape is under test."""
    with LoopbackArchive() as server:
        server.add("/missions/k2/lightcurves/c102/201400000/25000/ktwo201425594-c102_llc.fits", kepler_dir / Q4)
        b = KeplerK2Mast(cache_dir=str(tmp_path), base_url=server.url("/missions"), epic_ids=201425594, campaigns=10)
        b.download_and_prepare()
    assert sorted((r.path.rsplit("/", 1)[1], r.status) for r in server.requests) == [  # fetched concurrently
        ("ktwo201425594-c101_llc.fits", 404), ("ktwo201425594-c102_llc.fits", 200)]
    assert b.as_dataset("train").num_rows == 1021


# ------------------------------------------------------------------ malformed inputs (from the real files)


def check(path: Path, location: str, message: str) -> SourceFormatError:
    with pytest.raises(SourceFormatError) as info:
        inspect_file(KEY, path)
    assert Path(info.value.file).name == path.name, info.value
    assert info.value.location == location, info.value
    assert message in info.value.message, info.value
    return info.value


def test_truncated_file_names_the_hdu(kepler_dir, tmp_path):
    data = (kepler_dir / Q3).read_bytes()
    (tmp_path / "half_llc.fits").write_bytes(data[: len(data) // 2])
    check(tmp_path / "half_llc.fits", "HDU 1 'LIGHTCURVE'", "truncated")
    (tmp_path / "head_llc.fits").write_bytes(data[:20000])  # the table's data unit is cut off entirely
    check(tmp_path / "head_llc.fits", "HDU LIGHTCURVE", "no LIGHTCURVE HDU")


def test_missing_column_names_hdu_and_column(kepler_dir, tmp_path):
    with fits.open(kepler_dir / Q4) as hdul:
        hdul["LIGHTCURVE"].columns.del_col("PDCSAP_FLUX")
        table = fits.BinTableHDU.from_columns(hdul["LIGHTCURVE"].columns, header=hdul["LIGHTCURVE"].header)
        fits.HDUList([hdul[0].copy(), table]).writeto(tmp_path / "nopdc_llc.fits")
    err = check(tmp_path / "nopdc_llc.fits", "HDU 1 'LIGHTCURVE', column PDCSAP_FLUX", "missing column 'PDCSAP_FLUX'")
    assert "SAP_FLUX" in err.message  # the columns that do exist are listed


def test_no_lightcurve_hdu_and_wrong_mission(kepler_dir, real_data_dir, tmp_path):
    with fits.open(kepler_dir / Q4) as hdul:
        fits.HDUList([hdul[0].copy(), hdul["APERTURE"].copy()]).writeto(tmp_path / "aperture_only.fits")
    check(tmp_path / "aperture_only.fits", "HDU LIGHTCURVE", "no LIGHTCURVE HDU (HDUs found: 0:PRIMARY, 1:APERTURE)")
    check(real_data_dir / TESS, "HDU 0 'PRIMARY'", "a TESS light curve")
    (tmp_path / "empty_llc.fits").write_bytes(b"")
    check(tmp_path / "empty_llc.fits", "", "empty file")


def test_skip_mode_keeps_the_good_file(kepler_dir, tmp_path):
    data = (kepler_dir / Q3).read_bytes()
    bad = tmp_path / "kplr000000001-2009350155506_llc.fits"
    bad.write_bytes(data[: len(data) // 2])
    result = prepare_source(KEY, data_files=[str(kepler_dir / Q4), str(bad)], cache_dir=tmp_path / "c",
                            on_bad_file="skip")
    assert result.rows == 1021 and len(result.skipped_files) == 1
    assert result.skipped_files[0]["file"] == str(bad) and "HDU 1 'LIGHTCURVE'" in result.skipped_files[0]["error"]
    with pytest.raises(SourceFormatError, match="truncated"):
        prepare_source(KEY, data_files=[str(kepler_dir / Q4), str(bad)], cache_dir=tmp_path / "c2")
