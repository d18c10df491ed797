"""The download cache never keeps a bad answer: prepare driven against a misbehaving loopback archive.

The archive is played by ``tests/helpers/http_server.py`` on 127.0.0.1 answering the NASA builder's
TAP requests with SYNTHETIC CSV rows in the archive's layout. Each case checks three things: the
run fails clearly (never a smaller dataset), nothing is left in the download folder or the Arrow
cache, and the run after the archive recovers succeeds without any manual cleanup.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import textwrap
import urllib.parse
from pathlib import Path

import pytest

from astrobio_hf.commands import prepare as prepare_cmd
from astrobio_hf.data import answer_checks
from astrobio_hf.data.answer_checks import BadAnswerError
from astrobio_hf.data.download import DownloadError
from astrobio_hf.data.prepare import prepare_source
from astrobio_hf.data.sources import SourceFormatError
from tests.helpers.http_server import LoopbackArchive, RecordedRequest

REPO = Path(__file__).resolve().parents[2]
KEY = "nasa_exoplanet_archive"
HEADER = "pl_name,hostname,pl_orbper,st_teff,disc_year"
ROWS = [f"Toy-{i} b,Toy-{i},{3 + i}.5,{5000 + 10 * i},2020" for i in range(1, 7)]
GOOD = (HEADER + "\n" + "\n".join(ROWS) + "\n").encode()
HTML = b"<!DOCTYPE html><html><head><title>Service unavailable</title></head><body>try later</body></html>"


def tap(body: bytes, count: int = len(ROWS)):
    """A TAP sync endpoint: the COUNT(*) query gets ``count``, the data query gets ``body``."""

    def answer(request: RecordedRequest) -> bytes:
        query = request.query.get("query", [""])[0]
        return f"n\n{count}\n".encode() if "COUNT(*)" in query else body

    return answer


def downloads(cache: Path) -> list[Path]:
    root = cache / "downloads" / "astrobio" / KEY
    return sorted(p for p in root.rglob("*")) if root.exists() else []


def arrow_caches(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("dataset_info.json")]


def assert_nothing_kept(cache: Path) -> None:
    assert downloads(cache) == [], downloads(cache)  # no saved answer, no staging folder
    assert arrow_caches(cache) == []


def recover_and_prepare(server: LoopbackArchive, cache: Path):
    server.add("/TAP/sync", tap(GOOD), content_type="text/csv")
    result = prepare_source(KEY, cache_dir=cache, base_url=server.url("/TAP"), max_retries=0)
    assert result.rows == len(ROWS) and not result.from_cache
    return result


def test_html_page_with_status_200_is_not_cached(tmp_path):
    with LoopbackArchive() as server:
        server.add("/TAP/sync", HTML, content_type="text/html; charset=utf-8")
        with pytest.raises(DownloadError, match="HTML page") as info:
            prepare_source(KEY, cache_dir=tmp_path, base_url=server.url("/TAP"))
        assert "not kept" in str(info.value) and "Service unavailable" in str(info.value)
        assert_nothing_kept(tmp_path)
        recover_and_prepare(server, tmp_path)
        assert len([r for r in server.requests if "COUNT" not in r.query["query"][0]]) == 2  # asked again


def test_html_page_served_as_csv_is_recognised_by_its_bytes(tmp_path):
    with LoopbackArchive() as server:
        server.add("/TAP/sync", tap(HTML), content_type="text/csv")
        with pytest.raises(DownloadError, match="HTML page"):
            prepare_source(KEY, cache_dir=tmp_path, base_url=server.url("/TAP"))
        assert_nothing_kept(tmp_path)


def test_body_cut_mid_line_without_content_length(tmp_path):
    cut = GOOD[: GOOD.index(ROWS[3].encode()) + 9]  # ends inside the 4th data row
    with LoopbackArchive() as server:
        server.add("/TAP/sync", tap(cut), content_type="text/csv", send_length=False)
        with pytest.raises(DownloadError, match=r"ends inside a line.*not kept"):
            prepare_source(KEY, cache_dir=tmp_path, base_url=server.url("/TAP"))
        assert_nothing_kept(tmp_path)
        recover_and_prepare(server, tmp_path)


def test_body_cut_at_a_line_boundary_is_a_short_answer_not_a_smaller_dataset(tmp_path):
    cut = GOOD[: GOOD.index(ROWS[3].encode())]  # three whole rows: parses cleanly
    with LoopbackArchive() as server:
        server.add("/TAP/sync", tap(cut), content_type="text/csv", send_length=False)
        with pytest.raises(DownloadError, match="short answer: 3 rows parsed, the service reports 6 rows"):
            prepare_source(KEY, cache_dir=tmp_path, base_url=server.url("/TAP"))
        assert_nothing_kept(tmp_path)
        count = [r for r in server.requests if "COUNT(*)" in r.query["query"][0]]
        assert urllib.parse.unquote_plus(count[0].query["query"][0]) == "SELECT COUNT(*) AS n FROM pscomppars"
        recover_and_prepare(server, tmp_path)


def test_top_limits_the_expected_count(tmp_path):
    with LoopbackArchive() as server:
        server.add("/TAP/sync", tap((HEADER + "\n" + "\n".join(ROWS[:4]) + "\n").encode(), count=5967),
                   content_type="text/csv")
        result = prepare_source(KEY, cache_dir=tmp_path, base_url=server.url("/TAP"), top=4)
    assert result.rows == 4


def test_persistent_503_then_recovery(tmp_path):
    with LoopbackArchive() as server:
        server.add("/TAP/sync", tap(GOOD), content_type="text/csv",
                   fail_first=[(503, {"Retry-After": "0"}), (429, {"Retry-After": "0"})])
        with pytest.raises(DownloadError, match=r"failed after 2 attempts \(last: HTTP 429\)"):
            prepare_source(KEY, cache_dir=tmp_path, base_url=server.url("/TAP"), max_retries=1)
        assert_nothing_kept(tmp_path)
        recover_and_prepare(server, tmp_path)
        assert [r.status for r in server.requests][:2] == [503, 429]


def test_a_hanging_archive_times_out_and_the_timeout_is_an_option(tmp_path):
    with LoopbackArchive() as server:
        server.add("/TAP/sync", tap(GOOD), content_type="text/csv", delay_s=2.0)
        with pytest.raises(DownloadError, match="ReadTimeout"):
            prepare_source(KEY, cache_dir=tmp_path, base_url=server.url("/TAP"), request_timeout_s=0.3,
                           max_retries=0)
        assert_nothing_kept(tmp_path)
        recover_and_prepare(server, tmp_path)


def test_a_saved_answer_that_fails_to_parse_is_invalidated(tmp_path):
    """An answer saved by an older version (or damaged on disk) is deleted when it fails to parse."""
    with LoopbackArchive() as server:
        server.add("/TAP/sync", tap(GOOD), content_type="text/csv")
        first = prepare_source(KEY, cache_dir=tmp_path, base_url=server.url("/TAP"))
        saved = [p for p in downloads(tmp_path) if p.is_file()]
        assert len(saved) == 1
        saved[0].write_bytes(GOOD[:-20])  # damaged: the last row lost fields
        shutil.rmtree(first.cache_dir)  # no Arrow cache: the saved answer is parsed again
        with pytest.raises(SourceFormatError, match="expected 5 fields"):
            prepare_source(KEY, cache_dir=tmp_path, base_url=server.url("/TAP"))
        assert not saved[0].exists()
        again = prepare_source(KEY, cache_dir=tmp_path, base_url=server.url("/TAP"))
    assert again.rows == len(ROWS) and not again.from_cache


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    prepare_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_force_download_refetches_from_python_and_cli(tmp_path, capsys):
    with LoopbackArchive() as server:
        server.add("/TAP/sync", tap(GOOD), content_type="text/csv")
        argv = ["prepare", "--source", KEY, "--cache-dir", str(tmp_path), "--config", f"base_url={server.url('/TAP')}",
                "--json", "--timeout", "5", "--retries", "0"]
        assert _cli(argv) == 0
        assert json.loads(capsys.readouterr().out)["rows"] == 6
        newer = (HEADER + "\n" + "\n".join(ROWS + ["Toy-7 b,Toy-7,9.5,5070,2024"]) + "\n").encode()
        server.add("/TAP/sync", tap(newer, count=7), content_type="text/csv")
        assert _cli(argv) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["from_cache"] is True and out["rows"] == 6  # the saved answer is reused ...
        assert _cli(argv + ["--force-download"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["from_cache"] is False and out["rows"] == 7  # ... until asked to fetch again
        result = prepare_source(KEY, cache_dir=tmp_path, base_url=server.url("/TAP"), force_download=True)
        assert result.rows == 7 and not result.from_cache
        data_requests = [r for r in server.requests if "COUNT(*)" not in r.query["query"][0]]
        assert len(data_requests) == 3


def test_check_answer_signatures(tmp_path):
    blob = gzip.compress(GOOD * 50)
    (tmp_path / "a.csv.gz").write_bytes(blob[:-30])
    with pytest.raises(BadAnswerError, match="truncated gzip"):
        answer_checks.check_answer(tmp_path / "a.csv.gz", "a.csv.gz", {})
    (tmp_path / "b.csv.gz").write_bytes(blob)
    answer_checks.check_answer(tmp_path / "b.csv.gz", "b.csv.gz", {"Content-Length": str(len(blob))})
    with pytest.raises(BadAnswerError, match="received .* bytes, Content-Length announced"):
        answer_checks.check_answer(tmp_path / "b.csv.gz", "b.csv.gz", {"Content-Length": str(len(blob) + 5)})
    (tmp_path / "c.json").write_text('{"data": [1, 2')
    with pytest.raises(BadAnswerError, match="should be JSON"):
        answer_checks.check_answer(tmp_path / "c.json", "c.json", {})
    (tmp_path / "d.fits").write_bytes(b"<html>oops</html>")
    with pytest.raises(BadAnswerError, match="HTML page"):
        answer_checks.check_answer(tmp_path / "d.fits", "d.fits", {"Content-Type": "application/fits"})


def test_truncated_fits_is_refused_by_its_declared_size(tmp_path):
    import numpy as np
    from astropy.io import fits

    path = tmp_path / "x.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.arange(4000, dtype="f8"))]).writeto(path)
    answer_checks.check_answer(path, "x.fits", {})
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 2880 * 3])
    with pytest.raises(BadAnswerError, match="truncated FITS"):
        answer_checks.check_answer(path, "x.fits", {})


CHILD = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from astrobio_hf.data.prepare import prepare_source
    from astrobio_hf.data.sources.nasa_exoplanet_archive import NasaExoplanetArchive
    slow_parse = NasaExoplanetArchive.parse_file
    def parse_file(self, path):  # a slow build, so the two prepares overlap
        time.sleep(2.5)
        yield from slow_parse(self, path)
    NasaExoplanetArchive.parse_file = parse_file
    data, cache, go, ready, delay = sys.argv[1:6]
    Path(ready).touch()
    while not Path(go).exists():
        time.sleep(0.05)
    time.sleep(float(delay))
    result = prepare_source("nasa_exoplanet_archive", data_dir=data, cache_dir=cache)
    print(json.dumps({"from_cache": result.from_cache, "rows": result.rows}))
""")


def test_two_concurrent_prepares_report_truthfully_who_built_the_cache(tmp_path):
    data = tmp_path / "dump"
    data.mkdir()
    (data / "t.csv").write_bytes(GOOD)
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(data), str(tmp_path / "cache"), str(go),
                               str(tmp_path / f"ready{i}"), str(delay)], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for i, delay in enumerate((0.0, 0.8))]
    import time

    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready{i}").exists() for i in range(2)) and time.monotonic() < deadline:
        time.sleep(0.1)
    go.touch()
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-2000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert [o["rows"] for o in outs] == [6, 6]
    # exactly one built the cache; the other waited on datasets' lock and says it reused it
    assert sorted(o["from_cache"] for o in outs) == [False, True]


# ------------------------------------------------------------------ answers nothing proves whole (issue 21)


def test_an_answer_whose_count_cannot_be_read_is_used_once_and_never_replayed(tmp_path, caplog):
    """No Content-Length and an unreadable COUNT(*): the cut answer serves this run only, with a warning; the
    next run (archive healthy) fetches again instead of replaying the short dataset from the cache."""
    cut = GOOD[: GOOD.index(ROWS[3].encode())]  # three whole rows

    def unreadable_count(request: RecordedRequest) -> bytes:
        return b"<VOTABLE>service busy" if "COUNT(*)" in request.query["query"][0] else cut

    with LoopbackArchive() as server:
        server.add("/TAP/sync", unreadable_count, content_type="text/csv", send_length=False)
        with caplog.at_level("WARNING"):
            first = prepare_source(KEY, cache_dir=tmp_path, base_url=server.url("/TAP"), max_retries=0)
        assert first.rows == 3 and len(first.unverified_answers) == 1
        assert "used for this run only" in caplog.text
        server.add("/TAP/sync", tap(GOOD), content_type="text/csv")
        second = prepare_source(KEY, cache_dir=tmp_path, base_url=server.url("/TAP"), max_retries=0)
    assert second.rows == len(ROWS) and not second.from_cache and second.unverified_answers == []
    assert not [p for p in downloads(tmp_path) if p.name.endswith(".unverified")]


def test_stale_staging_folders_of_dead_processes_are_removed(tmp_path):
    """A kill -9 mid-download leaves ``.incoming-<pid>-*``: the next download removes it if that pid is dead."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = tmp_path / "downloads" / "astrobio" / KEY
    stale, live = folder / f".incoming-{dead.pid}-abc", folder / ".incoming-1-live"  # pid 1 never dies
    for path in (stale, live):
        path.mkdir(parents=True)
        (path / "pscomppars.csv").write_bytes(GOOD[:40])
    with LoopbackArchive() as server:
        server.add("/TAP/sync", tap(GOOD), content_type="text/csv")
        prepare_source(KEY, cache_dir=tmp_path, base_url=server.url("/TAP"))
    assert not stale.exists() and live.exists()


def test_transport_and_format_evidence(tmp_path):
    table = tmp_path / "a.csv"
    table.write_bytes(b"a,b\n1,2")
    assert answer_checks.transport_evidence({"Content-Length": "7"}) == "Content-Length"
    assert answer_checks.transport_evidence({"transfer-encoding": "chunked"}) == "chunked transfer end"
    assert answer_checks.transport_evidence({}) is None
    with pytest.raises(BadAnswerError, match="ends inside a line"):
        answer_checks.check_answer(table, "a.csv", {"Content-Type": "text/csv"})
    assert answer_checks.check_answer(table, "a.csv", {"Content-Length": "7"}) == "Content-Length"
    xml = tmp_path / "links.xml"
    xml.write_bytes(b"<VOTABLE><RESOURCE><TABLE></TABLE></RESOURCE>")
    with pytest.raises(BadAnswerError, match="not a whole XML document"):
        answer_checks.check_answer(xml, "links.xml", {})
    xml.write_bytes(b"<VOTABLE><RESOURCE/></VOTABLE>")
    assert answer_checks.check_answer(xml, "links.xml", {}) == "XML document closed"
