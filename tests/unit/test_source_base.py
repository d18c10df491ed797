"""The shared builder machinery (registry, local/download mode, errors, skip, caches).

Exercised through the NASA builder on small SYNTHETIC CSV files that follow the archive's layout
(header line of documented column names, comma-separated); the real files are tested in tests/real_data.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import datasets
import pytest

from astrobio_hf.data.download import Secrets, read_token
from astrobio_hf.data.prepare import inspect_file, prepare_source
from astrobio_hf.data.sources import SOURCE_PATHS, SOURCES, SourceFormatError, SourceNotAvailable, get_builder
from astrobio_hf.data.sources.nasa_exoplanet_archive import NasaExoplanetArchive
from tests.helpers.http_server import LoopbackArchive

REPO = Path(__file__).resolve().parents[2]
HEADER = "pl_name,hostname,pl_orbper,st_teff,disc_year"
GOOD = f"{HEADER}\nToy-1 b,Toy-1,3.5,5700,2020\nToy-2 b,Toy-2,10.25,4500,2021\n"  # synthetic rows
BAD = f"{HEADER}\nToy-3 b,Toy-3,not-a-number,5000,2022\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def no_incomplete(cache: Path) -> bool:
    return not [p for p in cache.rglob("*") if p.name.endswith(".incomplete")]


# ------------------------------------------------------------------ registry


def test_registry_lists_13_sources_and_imports_lazily(monkeypatch):
    assert len(SOURCES) == 13 and set(SOURCES) == set(SOURCE_PATHS)
    assert SOURCES["nasa_exoplanet_archive"] is NasaExoplanetArchive
    with pytest.raises(KeyError, match="unknown source"):
        SOURCES["nope"]
    monkeypatch.setitem(SOURCE_PATHS, "future_source", "future_source:Future")
    with pytest.raises(SourceNotAvailable, match="not available yet"):
        SOURCES["future_source"]


# ------------------------------------------------------------------ local mode


def test_local_mode_globs_sorted_with_provenance(tmp_path):
    data = tmp_path / "dump"
    write(data / "b.csv", GOOD)
    write(data / "a" / "first.csv", GOOD.replace("Toy-", "Alpha-"))
    write(data / "notes.md", "not a table")
    builder = get_builder("nasa_exoplanet_archive", cache_dir=str(tmp_path / "cache"), data_dir=data)
    assert [Path(f).name for f in builder.local_files] == ["first.csv", "b.csv"]  # a/first.csv < b.csv
    builder.download_and_prepare()
    ds = builder.as_dataset(split="train")
    assert ds.num_rows == 4
    assert ds["file"] == ["a/first.csv", "a/first.csv", "b.csv", "b.csv"]
    assert set(ds["source"]) == {"nasa_exoplanet_archive"}
    assert ds[0]["pl_name"] == "Alpha-1 b" and ds[1]["pl_orbper"] == 10.25 and ds[0]["disc_year"] == 2020
    assert ds[0]["pl_rade"] is None  # documented column absent from this file -> null
    assert ds.features["pl_orbper"] == datasets.Value("float64")


def test_data_files_relative_to_data_dir_and_missing(tmp_path):
    write(tmp_path / "d" / "x.csv", GOOD)
    b = get_builder("nasa_exoplanet_archive", cache_dir=str(tmp_path / "c"), data_dir=tmp_path / "d", data_files="x.csv")
    assert [Path(f).name for f in b.local_files] == ["x.csv"]
    with pytest.raises(FileNotFoundError, match="no file matches"):
        get_builder("nasa_exoplanet_archive", cache_dir=str(tmp_path / "c"), data_files=str(tmp_path / "none*.csv"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no native files"):
        get_builder("nasa_exoplanet_archive", cache_dir=str(tmp_path / "c"), data_dir=tmp_path / "empty")


def test_bad_file_raises_clear_error_and_leaves_no_cache(tmp_path):
    cache = tmp_path / "cache"
    write(tmp_path / "d" / "bad.csv", BAD)
    builder = get_builder("nasa_exoplanet_archive", cache_dir=str(cache), data_dir=tmp_path / "d")
    with pytest.raises(SourceFormatError) as info:
        builder.download_and_prepare()
    err = info.value
    assert type(err) is SourceFormatError  # not datasets' DatasetGenerationError
    assert err.file.endswith("bad.csv") and "row 1 (line 2)" in err.location and "pl_orbper" in err.location
    assert "'not-a-number' is not a valid float64" in str(err)
    assert not builder.is_prepared and not Path(builder.cache_dir).exists() and no_incomplete(cache)


def test_skip_mode_skips_and_reports(tmp_path, caplog):
    write(tmp_path / "d" / "1good.csv", GOOD)
    write(tmp_path / "d" / "2bad.csv", BAD)
    caplog.set_level(logging.WARNING)
    result = prepare_source("nasa_exoplanet_archive", data_dir=tmp_path / "d", cache_dir=tmp_path / "c",
                            on_bad_file="skip")
    assert result.rows == 2 and not result.from_cache
    assert len(result.skipped_files) == 1 and result.skipped_files[0]["file"].endswith("2bad.csv")
    assert "not-a-number" in result.skipped_files[0]["error"]
    assert "skipping bad file" in caplog.text
    again = prepare_source("nasa_exoplanet_archive", data_dir=tmp_path / "d", cache_dir=tmp_path / "c",
                           on_bad_file="skip")
    assert again.from_cache and again.skipped_files == result.skipped_files  # the report lives with the cache


def test_failed_run_keeps_the_earlier_good_cache(tmp_path, monkeypatch):
    cache, data = tmp_path / "cache", tmp_path / "d"
    write(data / "good.csv", GOOD)
    first = get_builder("nasa_exoplanet_archive", cache_dir=str(cache), data_dir=data)
    first.download_and_prepare()
    good_dir = Path(first.cache_dir)
    before = sorted(p.name for p in good_dir.iterdir())

    write(data / "later.csv", BAD)  # the dump changes: new inputs -> new cache key, and that run fails
    second = get_builder("nasa_exoplanet_archive", cache_dir=str(cache), data_dir=data)
    assert second.cache_dir != first.cache_dir
    with pytest.raises(SourceFormatError):
        second.download_and_prepare()
    assert not Path(second.cache_dir).exists() and no_incomplete(cache)

    # a forced rebuild of the good config that fails must not touch its finished cache either
    (data / "later.csv").unlink()
    third = get_builder("nasa_exoplanet_archive", cache_dir=str(cache), data_dir=data)
    assert third.cache_dir == first.cache_dir
    monkeypatch.setattr(NasaExoplanetArchive, "parse_file",
                        lambda self, path: (_ for _ in ()).throw(SourceFormatError("x", str(path), "row 1", "boom")))
    with pytest.raises(SourceFormatError, match="boom"):
        third.download_and_prepare(download_mode="force_redownload")
    assert sorted(p.name for p in good_dir.iterdir()) == before and no_incomplete(cache)
    monkeypatch.undo()
    assert get_builder("nasa_exoplanet_archive", cache_dir=str(cache), data_dir=data).as_dataset("train").num_rows == 2


def test_stale_incomplete_dir_is_removed(tmp_path):
    write(tmp_path / "d" / "good.csv", GOOD)
    builder = get_builder("nasa_exoplanet_archive", cache_dir=str(tmp_path / "c"), data_dir=tmp_path / "d")
    stale = Path(builder.cache_dir + ".incomplete")
    write(stale / "leftover-from-a-killed-run.arrow", "junk")
    builder.download_and_prepare()
    assert not stale.exists()
    assert not (Path(builder.cache_dir) / "leftover-from-a-killed-run.arrow").exists()


def test_changed_file_gets_a_new_cache(tmp_path):
    f = write(tmp_path / "d" / "t.csv", GOOD)
    a = get_builder("nasa_exoplanet_archive", cache_dir=str(tmp_path / "c"), data_dir=tmp_path / "d").cache_dir
    f.write_text(GOOD + "Toy-9 b,Toy-9,1.0,3000,2024\n")
    b = get_builder("nasa_exoplanet_archive", cache_dir=str(tmp_path / "c"), data_dir=tmp_path / "d").cache_dir
    assert a != b


def test_second_prepare_in_a_new_process_reuses_cache_without_parsing(tmp_path):
    write(tmp_path / "d" / "good.csv", GOOD)
    first = prepare_source("nasa_exoplanet_archive", data_dir=tmp_path / "d", cache_dir=tmp_path / "c")
    assert not first.from_cache and first.rows == 2
    script = textwrap.dedent(f"""
        import json
        from astrobio_hf.data.sources.nasa_exoplanet_archive import NasaExoplanetArchive
        def no_parse(self, path):
            raise AssertionError("parse_file called although the cache exists")
        NasaExoplanetArchive.parse_file = no_parse
        from astrobio_hf.data.prepare import prepare_source
        r = prepare_source("nasa_exoplanet_archive", data_dir={str(tmp_path / "d")!r}, cache_dir={str(tmp_path / "c")!r})
        print(json.dumps(r.to_dict()))
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    second = json.loads(proc.stdout.strip().splitlines()[-1])
    assert second["from_cache"] is True and second["rows"] == 2 and second["cache_dir"] == first.cache_dir


def test_inspect_file_counts_rows_and_names_errors(tmp_path):
    info = inspect_file("nasa_exoplanet_archive", write(tmp_path / "t.csv", GOOD))
    assert info["rows"] == 2 and info["columns"][:2] == ["pl_name", "hostname"]
    assert info["sample"][0]["pl_name"] == "Toy-1 b"
    with pytest.raises(SourceFormatError, match="pl_orbper"):
        inspect_file("nasa_exoplanet_archive", write(tmp_path / "b.csv", BAD))


# ------------------------------------------------------------------ download mode + secrets


class TokenNasa(NasaExoplanetArchive):
    """A NASA builder that (unlike the real service) sends an api_key from the env: to test secrecy."""

    def secrets(self) -> Secrets:
        return Secrets(params={"api_key": read_token("ASTROBIO_TEST_API_KEY", required=True)})


def test_download_mode_token_never_logged_or_cached(tmp_path, caplog, monkeypatch):
    token = "sk-test-0123456789abcdef"
    monkeypatch.setenv("ASTROBIO_TEST_API_KEY", token)
    caplog.set_level(logging.DEBUG)
    with LoopbackArchive() as server:
        server.add("/TAP/sync", GOOD.encode(), content_type="text/csv", fail_first=[(503, {"Retry-After": "0"})])
        builder = TokenNasa(cache_dir=str(tmp_path / "cache"), base_url=server.url("/TAP"))
        builder.download_and_prepare()
    ds = builder.as_dataset("train")
    # 503, the answer, then the COUNT(*) query that checks the answer is complete
    assert ds.num_rows == 2 and [r.status for r in server.requests] == [503, 200, 200]
    assert "COUNT(*)" in server.requests[2].query["query"][0]
    assert server.requests[1].query["api_key"] == [token] == server.requests[2].query["api_key"]
    assert token not in caplog.text
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
    assert "TAP pscomppars: SELECT" in ds[0]["release"]


class ClashingNasa(NasaExoplanetArchive):
    def data_features(self):
        return {**super().data_features(), "release": datasets.Value("string")}


def test_a_data_column_named_like_provenance_is_refused(tmp_path):
    """A data column called source/release/file would be silently overwritten by the provenance columns."""
    csv = write(tmp_path / "d" / "t.csv", "pl_name,hostname\nA b,A\n")
    with pytest.raises(TypeError, match=r"data columns \['release'\] clash with the provenance columns"):
        ClashingNasa(cache_dir=str(tmp_path / "c"), data_files=[str(csv)]).download_and_prepare()


# ------------------------------------------------------------------ Arrow tables from parsers


class _RowParser(NasaExoplanetArchive):
    """A parser that yields row dicts (as GenBank or UniProt do), in batches smaller than the file."""

    ROWS_PER_BATCH = 2

    def parse_file(self, path):
        for table in super().parse_file(path):
            yield from table.to_pylist()


class _WrongColumns(NasaExoplanetArchive):
    def parse_file(self, path):
        for table in super().parse_file(path):
            yield table.drop_columns(["pl_orbper"])


def test_row_dicts_and_tables_give_the_same_dataset(tmp_path):
    write(tmp_path / "d" / "x.csv", GOOD + "Toy-3 b,Toy-3,1.5,6000,2019\n")
    as_tables = NasaExoplanetArchive(cache_dir=str(tmp_path / "t"), data_dir=tmp_path / "d")
    as_rows = _RowParser(cache_dir=str(tmp_path / "r"), data_dir=tmp_path / "d")
    assert [t.num_rows for t in as_rows.iter_tables(as_rows.local_files[0])] == [2, 1]
    for builder in (as_tables, as_rows):
        builder.download_and_prepare()
    a, b = as_tables.as_dataset("train"), as_rows.as_dataset("train")
    assert a.features == b.features and a.to_list() == b.to_list() and a.num_rows == 3


def test_a_parser_table_missing_a_column_is_an_error(tmp_path):
    write(tmp_path / "d" / "x.csv", GOOD)
    builder = _WrongColumns(cache_dir=str(tmp_path / "c"), data_dir=tmp_path / "d")
    with pytest.raises(SourceFormatError, match=r"rows 1-2: parser produced columns .* missing \['pl_orbper'\]"):
        builder.download_and_prepare()
    assert no_incomplete(tmp_path / "c")
