"""jwst_mast builder: real MAST API answers (caom.json, products.json), real published transmission
spectra (WASP-39 b NIRISS, K2-18 b, the Pyrat Bay WASP-39 b compilation), and JWST x1d/x1dints
files CONSTRUCTED by ``build_jwst_x1d`` (no real x1d file is available; it follows the pipeline's
published layout). Expected values are read independently with json / numpy.
"""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import datasets
import numpy as np
import pytest
from astropy.io import fits

from astrobio_hf.data.download import DownloadError
from astrobio_hf.data.prepare import inspect_file, prepare_source
from astrobio_hf.data.sources import SourceFormatError
from astrobio_hf.data.sources.jwst_mast import JwstMast
from tests.helpers.http_server import LoopbackArchive, RecordedRequest
from tests.real_data.test_spectra import build_jwst_x1d

KEY = "jwst_mast"
R100 = "jwst/transmission_spectra/CMADF-WASP_39b_NIRISS_transmission_spectrum_R100.csv"
NE = "jwst/transmission_spectra/NE-WASP_39b_NIRISS_transmission_spectrum.csv"
K2_18B = "exoplanet_spectra/K2-18b_nirspec_g395h_lowres.txt"
PYRATBAY = "exoplanet_spectra/obs_wasp39b_transit_jwst.dat"
X1D = "jw01366-o001_t001_nirspec_g395h-f290lp_x1d.fits"
X1DINTS = "jw01366-o001_t001_nirspec_g395h-f290lp_x1dints.fits"


@pytest.fixture(scope="module")
def real(real_data_dir: Path) -> Path:
    return real_data_dir


@pytest.fixture(scope="module")
def caom(real) -> dict:
    return json.loads((real / "jwst/mast_api/caom.json").read_text())


@pytest.fixture(scope="module")
def products(real) -> dict:
    return json.loads((real / "jwst/mast_api/products.json").read_text())


@pytest.fixture(scope="module")
def x1d_dir(tmp_path_factory) -> tuple[Path, dict, dict]:
    folder = tmp_path_factory.mktemp("x1d")
    single = build_jwst_x1d(folder / X1D)
    ints = build_jwst_x1d(folder / X1DINTS, n_integrations=3)
    return folder, single, ints


# ------------------------------------------------------------------ MAST API answers


def test_caom_answer_rows_are_observations(real, caom, tmp_path):
    result = prepare_source(KEY, data_files=str(real / "jwst/mast_api/caom.json"), cache_dir=tmp_path,
                            records="observations")
    assert result.rows == 19 == len(caom["data"])
    ds = JwstMast(cache_dir=str(tmp_path), data_files=str(real / "jwst/mast_api/caom.json"),
                  records="observations").as_dataset("train")
    assert ds["obs_id"] == [r["obs_id"] for r in caom["data"]]
    assert ds["obsid"] == [str(r["obsid"]) for r in caom["data"]]
    first = ds[0]
    assert (first["obs_id"], first["obs_collection"], first["instrument_name"]) == ("U27XCS01T", "HST", "WFPC2/WFC")
    assert first["s_ra"] == pytest.approx(23.11817129395) and first["calib_level"] == 3
    assert first["t_exptime"] == 1500.0 and first["t_min"] == pytest.approx(49756.25506)
    assert first["dataURL"] is None and first["file"] == "caom.json"
    assert ds.features["s_ra"] == datasets.Value("float64") and ds.features["calib_level"] == datasets.Value("int64")
    assert "s_ra (float64) [deg]" in JwstMast(cache_dir=str(tmp_path), records="observations").info.description


def test_products_answer_rows_are_products(real, products):
    info = inspect_file(KEY, real / "jwst/mast_api/products.json", records="products", sample=22)
    assert info["rows"] == 22 == len(products["data"])
    assert [s["productFilename"] for s in info["sample"]] == [r["productFilename"] for r in products["data"]]
    first = info["sample"][0]
    assert first["dataURI"] == "mast:HST/product/u9o40504m_c3m.fits" and first["size"] == 207360
    assert first["obsID"] == "2003738726" and info["units"]["size"] == "bytes"


def test_answer_of_the_other_kind_is_named(real):
    with pytest.raises(SourceFormatError, match="Mast.Caom.Products answer.*records='products'") as err:
        inspect_file(KEY, real / "jwst/mast_api/products.json", records="observations")
    assert err.value.file.endswith("products.json")
    with pytest.raises(SourceFormatError, match="records='observations' or 'products'"):
        inspect_file(KEY, real / "jwst/mast_api/caom.json")


# ------------------------------------------------------------------ published transmission tables


def table_columns(path: Path) -> np.ndarray:
    lines = path.read_text().splitlines()
    preamble = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    return np.genfromtxt(path, delimiter=",", names=True, skip_header=preamble)


def test_niriss_tables_give_one_row_per_order(real, tmp_path):
    result = prepare_source(KEY, data_dir=real / "jwst/transmission_spectra", cache_dir=tmp_path,
                            target_name="WASP-39 b")
    assert result.rows == 4
    ds = JwstMast(cache_dir=str(tmp_path), data_dir=real / "jwst/transmission_spectra",
                  target_name="WASP-39 b").as_dataset("train")
    assert ds.features["wavelength"] == datasets.List(datasets.Value("float64"))
    assert [(r["file"], r["order"], r["n_points"]) for r in ds] == [
        (Path(R100).name, 1, 105), (Path(R100).name, 2, 27), (Path(NE).name, 2, 57), (Path(NE).name, 1, 109)]
    native = table_columns(real / R100)
    for row in ds.select(range(2)):
        take = native["order"] == row["order"]
        assert np.array_equal(row["wavelength"], native["wave"][take])
        assert np.array_equal(row["value"], native["dppm"][take]) and np.array_equal(row["error"], native["dppm_err"][take])
        assert np.array_equal(row["half_width"], native["wave_error"][take])
        assert row["mask"] == (native["quality"][take] == 0).tolist() and row["n_valid"] == sum(row["mask"])
    first = ds[0]
    assert first["target_name"] == "WASP-39 b" and first["instrument"] == "NIRISS" and first["value_unit"] == "ppm"
    assert first["wavelength_unit"] == "um" and first["spectrum_kind"] == "transmission" and first["integration"] is None
    assert first["value"][0] == pytest.approx(21139.242788563635) and first["n_valid"] == 103


def test_k2_18b_depths_become_ppm(real):
    info = inspect_file(KEY, real / K2_18B, target_name="K2-18 b")
    assert info["rows"] == 1
    native = np.loadtxt(real / K2_18B, skiprows=1)
    row = info["sample"][0]
    assert row["n_points"] == native.shape[0] == 34 and row["target_name"] == "K2-18 b"
    assert row["instrument"] == "NIRSPEC" and "order" not in row  # one segment, no order column
    assert np.allclose(row["value"], native[:, 2] * 1e6, rtol=1e-12)  # a fractional depth -> ppm
    assert np.allclose(row["error"], native[:, 3] * 1e6, rtol=1e-12)
    assert np.array_equal(row["wavelength"], native[:, 0]) and np.array_equal(row["half_width"], native[:, 1])


def test_pyratbay_compilation_one_row_per_instrument(real):
    lines = (real / PYRATBAY).read_text().splitlines()
    data = [ln.split() for ln in lines[lines.index("@DATA") + 1:] if ln.strip() and not ln.startswith("#")]
    labels = list(dict.fromkeys(d[4] for d in data))
    info = inspect_file(KEY, real / PYRATBAY, sample=10)
    assert info["rows"] == len(labels) == 7
    assert [s["instrument"] for s in info["sample"]] == labels
    for sample in info["sample"]:
        mine = [d for d in data if d[4] == sample["instrument"]]
        assert sample["n_points"] == len(mine)
        assert sample["value"] == [float(d[0]) for d in mine] and sample["wavelength"] == [float(d[2]) for d in mine]
    assert info["units"]["value"] == "ppm"


# ------------------------------------------------------------------ x1d / x1dints (constructed files)


def test_x1d_and_x1dints_rows(x1d_dir, tmp_path):
    folder, single, ints = x1d_dir
    result = prepare_source(KEY, data_dir=folder, cache_dir=tmp_path)
    assert result.rows == 1 + 3
    ds = JwstMast(cache_dir=str(tmp_path), data_dir=folder).as_dataset("train")
    assert ds["file"] == [X1D, X1DINTS, X1DINTS, X1DINTS] and ds["integration"] == [None, 1, 2, 3]
    row = ds[0]
    assert (row["target_name"], row["instrument"], row["exp_type"]) == ("WASP-39", "NIRSPEC", "NRS_BRIGHTOBJ")
    assert row["value_unit"] == "Jy" and row["order"] == 1 and row["spectrum_kind"] == "stellar"
    assert np.allclose(row["wavelength"], single["wave"])
    masked = sorted(set(np.flatnonzero(single["dq"]).tolist()) | set(single["nan"]))
    assert [i for i, ok in enumerate(row["mask"]) if not ok] == masked and row["n_valid"] == 60 - len(masked)
    assert row["value"][0] == pytest.approx(single["flux"][0]) and np.isnan(row["value"][single["nan"][0]])
    assert ds[2]["int_mid_bjd_tdb"] == pytest.approx(ints["int_mid"][1])
    assert ds[2]["value"][0] == pytest.approx(ints["flux"][0] * ints["scale"][2])  # the in-transit integration


# ------------------------------------------------------------------ download mode (loopback MAST)


def labelled_products(products: dict) -> dict:
    """The real Products answer plus two rows naming x1d/x1dints files (CONSTRUCTED: copies of the
    first real row with the JWST file name and URI; the real answer lists HST products only)."""
    answer = copy.deepcopy(products)
    for name in (X1D, X1DINTS):
        row = dict(answer["data"][0], productFilename=name, dataURI=f"mast:JWST/product/{name}",
                   obs_collection="JWST", productType="SCIENCE")
        answer["data"].append(row)
    return answer


class MastPlayer:
    """Answers POST /api/v0/invoke by service name and GET /api/v0.1/Download/file by uri."""

    def __init__(self, answers: dict[str, bytes], files: dict[str, Path]) -> None:
        self.answers, self.files = answers, files

    def invoke(self, request: RecordedRequest) -> bytes:
        return self.answers[json.loads(request.form["request"][0])["service"]]

    def download(self, request: RecordedRequest) -> bytes:
        return self.files[request.query["uri"][0]].read_bytes()


def serve(server: LoopbackArchive, player: MastPlayer, fail_invoke: bool = False) -> None:
    server.add("/api/v0/invoke", player.invoke, method="POST", content_type="application/json",
               fail_first=[(503, {"Retry-After": "0"})] if fail_invoke else None)
    server.add("/api/v0.1/Download/file", player.download, content_type="application/fits")


def sent_requests(server: LoopbackArchive) -> list[dict]:
    return [json.loads(r.form["request"][0]) for r in server.requests if r.method == "POST" and r.status == 200]


def test_download_spectra_sends_the_mast_requests(real, caom, products, x1d_dir, tmp_path, monkeypatch, caplog):
    folder, *_ = x1d_dir
    token = "mast-token-0123456789abcdef"
    monkeypatch.setenv("MAST_API_TOKEN", token)
    caplog.set_level(logging.DEBUG)
    player = MastPlayer({"Mast.Caom.Filtered": (real / "jwst/mast_api/caom.json").read_bytes(),
                         "Mast.Caom.Products": json.dumps(labelled_products(products)).encode()},
                        {f"mast:JWST/product/{n}": folder / n for n in (X1D, X1DINTS)})
    with LoopbackArchive() as server:
        serve(server, player, fail_invoke=True)
        monkeypatch.setenv("ASTROBIO_JWST_MAST_URL", server.url("/api"))
        result = prepare_source(KEY, cache_dir=tmp_path, targets="WASP-39", instruments="NIRSPEC/SLIT")
    assert result.rows == 4 and not result.from_cache
    assert [(r.method, r.path, r.status) for r in server.requests] == [
        ("POST", "/api/v0/invoke", 503), ("POST", "/api/v0/invoke", 200), ("POST", "/api/v0/invoke", 200),
        ("GET", "/api/v0.1/Download/file", 200), ("GET", "/api/v0.1/Download/file", 200)]
    filtered, product_request = sent_requests(server)
    assert filtered == {"service": "Mast.Caom.Filtered", "format": "json", "pagesize": 5000, "page": 1, "params": {
        "columns": "*", "filters": [{"paramName": "obs_collection", "values": ["JWST"]},
                                    {"paramName": "target_name", "values": ["WASP-39"]},
                                    {"paramName": "instrument_name", "values": ["NIRSPEC/SLIT"]},
                                    {"paramName": "dataproduct_type", "values": ["spectrum"]}]}}
    assert product_request["service"] == "Mast.Caom.Products"
    assert product_request["params"]["obsid"] == ",".join(str(r["obsid"]) for r in caom["data"])
    downloads = sorted(r.query["uri"] for r in server.requests if r.method == "GET")  # fetched concurrently
    assert downloads == sorted([[f"mast:JWST/product/{X1D}"], [f"mast:JWST/product/{X1DINTS}"]])  # only x1d products
    assert all(r.headers.get("Authorization") == f"token {token}" for r in server.requests)
    assert token not in caplog.text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
    ds = JwstMast(cache_dir=str(tmp_path), targets="WASP-39", instruments="NIRSPEC/SLIT").as_dataset("train")
    assert ds["file"] == [X1D, X1DINTS, X1DINTS, X1DINTS] and ds[1]["integration"] == 1
    assert ds[0]["release"].startswith(f"MAST mast:JWST/product/{X1D} (obsid 2003738726) (retrieved ")


def test_download_without_x1d_products_says_so(real, tmp_path):
    player = MastPlayer({"Mast.Caom.Filtered": (real / "jwst/mast_api/caom.json").read_bytes(),
                         "Mast.Caom.Products": (real / "jwst/mast_api/products.json").read_bytes()}, {})
    with LoopbackArchive() as server:
        serve(server, player)
        b = JwstMast(cache_dir=str(tmp_path), base_url=server.url("/api"), targets="WASP-39")
        with pytest.raises(DownloadError, match=r"none of the 22 products of 19 observations .* ends with _x1d\.fits"):
            b.download_and_prepare()
    assert not b.is_prepared and [r.method for r in server.requests] == ["POST", "POST"]


def test_download_observations_pages(real, caom, tmp_path):
    """Paging: the real 19 rows served as two pages (page 1: 10 rows, page 2: 9; paging CONSTRUCTED)."""
    def page(request: RecordedRequest) -> bytes:
        number = json.loads(request.form["request"][0])["page"]
        rows = caom["data"][:10] if number == 1 else caom["data"][10:]
        return json.dumps(dict(caom, data=rows, paging=dict(caom["paging"], page=number, pagesFiltered=2))).encode()

    with LoopbackArchive() as server:
        server.add("/api/v0/invoke", page, method="POST", content_type="application/json")
        b = JwstMast(cache_dir=str(tmp_path), base_url=server.url("/api"), records="observations",
                     proposal_ids="1366", dataproduct_type=None, page_size=10)
        b.download_and_prepare()
    assert [(q["page"], q["pagesize"]) for q in sent_requests(server)] == [(1, 10), (2, 10)]
    assert sent_requests(server)[0]["params"]["filters"] == [
        {"paramName": "obs_collection", "values": ["JWST"]}, {"paramName": "proposal_id", "values": ["1366"]}]
    ds = b.as_dataset("train")
    assert ds["obs_id"] == [r["obs_id"] for r in caom["data"]]
    assert "Authorization" not in server.requests[0].headers  # no token set: public data
    assert ds[0]["release"].startswith("Mast.Caom.Filtered obs_collection=JWST; proposal_id=1366 via http://127.0.0.1")


# ------------------------------------------------------------------ malformed inputs


def check(path: Path, location: str, message: str, **config) -> None:
    with pytest.raises(SourceFormatError) as info:
        inspect_file(KEY, path, **config)
    assert Path(info.value.file).name == path.name and info.value.source == KEY, info.value
    assert info.value.location == location, info.value
    assert message in info.value.message, info.value


def test_malformed_mast_answers(real, caom, tmp_path):
    text = (real / "jwst/mast_api/caom.json").read_text()
    (tmp_path / "cut.json").write_text(text[: len(text) // 2])
    with pytest.raises(SourceFormatError, match="not valid JSON") as err:
        inspect_file(KEY, tmp_path / "cut.json", records="observations")
    assert err.value.location.startswith("line ") and ", column " in err.value.location
    (tmp_path / "error.json").write_text(json.dumps({"status": "ERROR", "msg": "Unknown service", "data": []}))
    check(tmp_path / "error.json", "key status", "MAST answered ERROR: Unknown service", records="observations")
    bad = copy.deepcopy(caom)
    bad["data"][2]["s_ra"] = "abc"
    (tmp_path / "badvalue.json").write_text(json.dumps(bad))
    check(tmp_path / "badvalue.json", "row 3, field s_ra", "'abc' is not a valid float64", records="observations")
    del bad["data"]
    (tmp_path / "nodata.json").write_text(json.dumps(bad))
    check(tmp_path / "nodata.json", "key data", "no 'data' list", records="observations")
    (tmp_path / "empty.json").write_text("")
    check(tmp_path / "empty.json", "line 1", "file is empty", records="products")
    (tmp_path / "latin1.json").write_bytes(text.encode()[:100] + b"\xe9" + text.encode()[100:])
    check(tmp_path / "latin1.json", "line 1", "not valid UTF-8", records="observations")


def test_malformed_tables(real, tmp_path):
    lines = (real / R100).read_text().splitlines(keepends=True)
    fields = lines[7].split(",")
    fields[2] = "abc"
    lines[7] = ",".join(fields)
    (tmp_path / "bad.csv").write_text("".join(lines))
    check(tmp_path / "bad.csv", "line 8", "column 'dppm' value 'abc' is not a number")
    (tmp_path / "nodepth.csv").write_text("wave,wave_error\n1.0,0.1\n1.1,0.1\n")
    check(tmp_path / "nodepth.csv", "line 1", "no depth column")
    (tmp_path / "latin1.csv").write_bytes((real / NE).read_bytes()[:60] + b"\xe9\n")
    check(tmp_path / "latin1.csv", "line 2", "not UTF-8 text")


def test_malformed_x1d(x1d_dir, real, tmp_path):
    folder, *_ = x1d_dir
    with fits.open(folder / X1D) as hdul:
        hdul["EXTRACT1D"].columns.del_col("FLUX")
        table = fits.BinTableHDU.from_columns(hdul["EXTRACT1D"].columns, header=hdul["EXTRACT1D"].header)
        fits.HDUList([hdul[0].copy(), table]).writeto(tmp_path / "noflux_x1d.fits")
    check(tmp_path / "noflux_x1d.fits", "HDU 1 'EXTRACT1D', column FLUX", "missing column 'FLUX'")
    data = (folder / X1DINTS).read_bytes()
    (tmp_path / "cut_x1dints.fits").write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceFormatError, match="truncated or corrupt") as err:
        inspect_file(KEY, tmp_path / "cut_x1dints.fits")
    assert err.value.location.startswith("HDU ")
    (tmp_path / "lc_x1d.fits").write_bytes((real / "kepler_k2/kplr011442793-2010009091648_llc.fits").read_bytes())
    check(tmp_path / "lc_x1d.fits", "HDU EXTRACT1D", "no EXTRACT1D HDU")
