"""NASA Exoplanet Archive builder on the real exports (read in place from ../shared/data/real)."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest

from astrobio_hf.commands import inspect as inspect_cmd
from astrobio_hf.commands import prepare as prepare_cmd
from astrobio_hf.data.prepare import inspect_file, prepare_source
from astrobio_hf.data.sources import SourceFormatError
from astrobio_hf.data.sources.nasa_exoplanet_archive import NasaExoplanetArchive, adql_query
from tests.helpers.http_server import LoopbackArchive

KEY = "nasa_exoplanet_archive"


@pytest.fixture(scope="module")
def nasa(real_data_dir: Path) -> Path:
    return real_data_dir / KEY


@pytest.fixture(scope="module")
def ps2024(nasa, tmp_path_factory):
    b = NasaExoplanetArchive(cache_dir=str(tmp_path_factory.mktemp("c24")), data_files=str(nasa / "PSCompPars.csv"))
    b.download_and_prepare()
    return b, b.as_dataset("train")


def row_of(ds, name: str) -> dict:
    index = ds["pl_name"].index(name)
    return ds[index]


def test_interactive_csv_2024_rows_values_units(ps2024):
    builder, ds = ps2024
    assert ds.num_rows == 5766
    wasp39 = row_of(ds, "WASP-39 b")
    assert wasp39["pl_orbper"] == pytest.approx(4.0552842)
    assert wasp39["hostname"] == "WASP-39" and wasp39["disc_year"] == 2011 and wasp39["st_teff"] == 5485.0
    assert wasp39["release"] == "pscomppars export 2024-10-15T09:13:04" and wasp39["file"] == "PSCompPars.csv"
    assert ds[0]["pl_name"] == "11 Com b" and ds[0]["pl_bmasse"] == pytest.approx(4914.89849)
    units = builder.report()["units"]["PSCompPars.csv"]
    assert units["pl_orbper"] == "days" and units["pl_insol"] == "Earth Flux" and units["st_logg"] == "log10(cm/s**2)"
    assert units["pl_bmasse"] == "Earth Mass"  # "[Earth Mass]" sits mid-description in the preamble
    assert "pl_orbper (float64) [days]: Orbital period" in builder.info.description


def test_tap_csv_2025(nasa, tmp_path):
    result = prepare_source(KEY, data_files=str(nasa / "tap_style_2025" / "PSCompPars.csv"), cache_dir=tmp_path)
    assert result.rows == 5967 and "pl_orbper" in result.columns and "release" in result.columns
    ds = NasaExoplanetArchive(cache_dir=str(tmp_path),
                              data_files=str(nasa / "tap_style_2025" / "PSCompPars.csv")).as_dataset("train")
    first = ds[0]
    assert first["pl_name"] == "11 Com b" and first["pl_bmasse"] == pytest.approx(4914.898486)  # full precision
    assert first["release"] == ""  # the TAP CSV carries no export date


def test_ipac_toi_table(nasa):
    info = inspect_file(KEY, nasa / "astroquery_ipac" / "toi_expect_0.txt", table="toi")
    assert info["rows"] == 1
    row = info["sample"][0]
    assert row["toi"] == "256.01" and row["tid"] == 92226327 and row["tfopwg_disp"] == "KP"
    assert row["pl_orbper"] == pytest.approx(24.73712)
    assert info["units"]["pl_orbper"] == "d" or info["units"]["pl_orbper"].startswith("day")
    assert info["units"]["ra"] == "deg"


def test_ipac_file_in_planet_mode_names_missing_column(nasa):
    with pytest.raises(SourceFormatError, match="missing required column 'pl_name'") as info:
        inspect_file(KEY, nasa / "astroquery_ipac" / "toi_expect_0.txt")
    assert info.value.file.endswith("toi_expect_0.txt") and info.value.location == "column pl_name"


def test_votable_gives_the_same_rows_as_csv(nasa, tmp_path):
    """VOTable written by astropy from the first rows of the real TAP CSV parses to the same values."""
    from astropy.table import Table

    table = Table.read(nasa / "tap_style_2025" / "PSCompPars.csv", format="ascii.csv")[:25]
    table.write(tmp_path / "ps.vot", format="votable")
    vot = inspect_file(KEY, tmp_path / "ps.vot", sample=25)
    csv = inspect_file(KEY, nasa / "tap_style_2025" / "PSCompPars.csv", sample=25)
    assert vot["rows"] == 25
    for a, b in zip(vot["sample"], csv["sample"], strict=True):
        for k in ("pl_name", "hostname", "pl_orbper", "st_teff", "disc_year", "ra"):
            assert a.get(k) == b.get(k), k


def test_labels_on_real_planets(ps2024):
    from astrobio_hf.data.labels import add_labels

    _, ds = ps2024
    labelled, report = add_labels(ds)
    counts = report.counts()
    assert counts["total"] == 5766 and counts["labelled"] + counts["unlabelled"] == 5766
    assert sum(counts["reasons"].values()) == counts["unlabelled"] > 0  # every unlabelled planet has a reason

    def label(name):
        return labelled[ds["pl_name"].index(name)]

    k442 = label("Kepler-442 b")  # Teff 4402 K, S 0.66, R 1.34 Re: inside the conservative HZ, rocky
    assert (k442["hz_class"], k442["habitability"]) == ("temperate", 1)
    peg = label("51 Peg b")  # the first hot Jupiter; no pl_insol here, so S comes from L and a
    assert (peg["hz_class"], peg["habitability"]) == ("too hot", 0) and peg["insolation"] > 100
    trappist = label("TRAPPIST-1 e")  # host Teff 2566 K is below the 2600 K validity limit
    assert trappist["habitability"] is None and trappist["hz_class"] is None


# ------------------------------------------------------------------ malformed inputs (from the real file)


@pytest.fixture(scope="module")
def real_lines(nasa) -> list[str]:
    return (nasa / "tap_style_2025" / "PSCompPars.csv").read_text().splitlines(keepends=True)[:51]


def _check(path: Path, location: str, message: str) -> None:
    with pytest.raises(SourceFormatError) as info:
        inspect_file(KEY, path)
    assert info.value.file == str(path.resolve()) or info.value.file == str(path)
    assert location in info.value.location, info.value
    assert message in info.value.message, info.value


def test_missing_required_column(real_lines, tmp_path):
    path = tmp_path / "no_name.csv"
    path.write_text("".join(line.split(",", 1)[1] for line in real_lines))  # drop the pl_name column
    _check(path, "column pl_name", "missing required column 'pl_name'")


def test_wrong_delimiter(real_lines, tmp_path):
    path = tmp_path / "semicolon.csv"
    path.write_text("".join(line.replace(",", ";") for line in real_lines))
    _check(path, "line 1 (header)", "looks ';'-delimited")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    _check(path, "line 1", "file is empty")


def test_non_utf8_bytes(real_lines, tmp_path):
    data = "".join(real_lines).encode()
    cut = data.index(b"\n", data.index(b"\n") + 1) + 5  # inside line 3
    path = tmp_path / "latin1.csv"
    path.write_bytes(data[:cut] + b"\xe9" + data[cut:])
    _check(path, "line 3", "not valid UTF-8")


def test_truncated_file(real_lines, tmp_path):
    text = "".join(real_lines)
    path = tmp_path / "truncated.csv"
    path.write_text(text[: len(text) - len(real_lines[-1]) // 2])  # cut the last (51st) line in half
    _check(path, "line 51", "expected 84 fields")


def test_bad_value_names_row_and_field(real_lines, tmp_path):
    lines = list(real_lines)
    fields = lines[5].split(",")
    fields[8] = "abc"  # pl_orbper of data row 5
    lines[5] = ",".join(fields)
    path = tmp_path / "badvalue.csv"
    path.write_text("".join(lines))
    _check(path, "row 5 (line 6), field pl_orbper", "'abc' is not a valid float64")


# ------------------------------------------------------------------ download mode (loopback TAP)


def test_download_mode_sends_the_tap_request_and_retries(nasa, tmp_path, monkeypatch):
    real = nasa / "tap_style_2025" / "PSCompPars.csv"
    with LoopbackArchive() as server:
        server.add("/TAP/sync", real, content_type="text/csv", fail_first=[(503, {"Retry-After": "0"})])
        monkeypatch.setenv("ASTROBIO_NASA_EXOPLANET_ARCHIVE_URL", server.url("/TAP"))  # env var override
        result = prepare_source(KEY, cache_dir=tmp_path)
    assert result.rows == 5967 and not result.from_cache
    assert [r.status for r in server.requests] == [503, 200, 200]  # the answer, then its COUNT(*) check
    sent = server.requests[1]
    assert sent.method == "GET" and sent.path == "/TAP/sync"
    assert sent.query["format"] == ["csv"]
    query = sent.query["query"][0]
    assert query == adql_query("pscomppars")
    assert query.startswith("SELECT pl_name, hostname, ") and query.endswith(" FROM pscomppars")
    saved = list((tmp_path / "downloads" / "astrobio" / KEY).glob("*-pscomppars.csv"))
    assert len(saved) == 1 and saved[0].read_bytes() == real.read_bytes()


def test_download_mode_ps_table_query_and_config_url(nasa, tmp_path):
    with LoopbackArchive() as server:
        server.add("/TAP/sync", nasa / "tap_style_2025" / "PSCompPars.csv", content_type="text/csv")
        b = NasaExoplanetArchive(cache_dir=str(tmp_path), base_url=server.url("/TAP"), table="ps", top=10,
                                 where="disc_year > 2020")
        b.download_and_prepare()
    query = urllib.parse.unquote_plus(server.requests[0].query["query"][0])
    assert query.startswith("SELECT TOP 10 pl_name")
    assert query.endswith("FROM ps WHERE default_flag = 1 AND (disc_year > 2020)")
    ds = b.as_dataset("train")
    assert ds.num_rows == 5967 and ds[0]["release"].startswith("TAP ps: SELECT TOP 10")


# ------------------------------------------------------------------ CLI


def _cli(module, argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    module.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_prepare_and_inspect(nasa, tmp_path, capsys):
    data = nasa / "tap_style_2025"
    argv = ["prepare", "--source", KEY, "--data-dir", str(data), "--cache-dir", str(tmp_path), "--json"]
    assert _cli(prepare_cmd, argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"source", "rows", "columns", "cache_dir", "from_cache", "quality"}
    assert out["rows"] == 5967 and out["from_cache"] is False
    # the archive's one published negative eccentricity is masked and counted (docs/data.md, physical ranges)
    assert out["quality"] == {"PSCompPars.csv": {"masked": {"pl_orbeccen: outside [0, 1)": 1}}}
    assert _cli(prepare_cmd, argv) == 0
    assert json.loads(capsys.readouterr().out)["from_cache"] is True

    toi = nasa / "astroquery_ipac" / "toi_expect_0.txt"
    assert _cli(inspect_cmd, ["inspect", "--source", KEY, "--file", str(toi), "--config", "table=toi", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["rows"] == 1 and info["file"] == str(toi) and "toi" in info["columns"]

    assert _cli(inspect_cmd, ["inspect", "--source", KEY, "--file", str(toi)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: nasa_exoplanet_archive: ") and "toi_expect_0.txt" in err and "pl_name" in err
