"""Archive-scale prepare: num_proc workers, resume after kill -9, concurrent downloads (issue 14, section 1).

The inputs are the real Kepler light curves of ../shared/data/real linked many times under other folder names
(hard links, or copies across file systems: the builder resolves symbolic links, and reads the identifiers from the
FITS headers, so every copy gives the same rows with its own ``file``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from astrobio_hf.data.prepare import prepare_source
from astrobio_hf.data.sources import SourceFormatError, get_builder
from astrobio_hf.data.sources.kepler_k2_mast import KeplerK2Mast
from tests.helpers.http_server import LoopbackArchive

REPO = Path(__file__).resolve().parents[2]
Q4 = "kplr011442793-2010009091648_llc.fits"  # 1,021 cadences
Q3 = "kplr011442793-2009350155506_llc.fits"  # 4,370 cadences


def linked_dump(real_data_dir: Path, folder: Path, copies: int) -> Path:
    """``copies`` folders each holding links to the two real Kepler quarters."""
    for i in range(copies):
        sub = folder / f"copy{i:03d}"
        sub.mkdir(parents=True)
        for name in (Q3, Q4):
            try:
                os.link(real_data_dir / "kepler_k2" / name, sub / name)
            except OSError:
                shutil.copyfile(real_data_dir / "kepler_k2" / name, sub / name)
    return folder


def prepared_table(cache: Path, dump: Path) -> pa.Table:
    builder = get_builder("kepler_k2_mast", cache_dir=str(cache), data_dir=dump)
    return builder.as_dataset("train").data.table


def same_rows(a: pa.Table, b: pa.Table) -> bool:
    """Equal schema and values in the same order, NaN equal to NaN (light curves hold NaN gaps)."""
    return a.schema == b.schema and a.to_pandas().equals(b.to_pandas())


def test_two_processes_give_the_same_dataset_and_report(real_data_dir, tmp_path):
    dump = linked_dump(real_data_dir, tmp_path / "dump", copies=3)
    one = prepare_source("kepler_k2_mast", data_dir=dump, cache_dir=tmp_path / "one")
    two = prepare_source("kepler_k2_mast", data_dir=dump, cache_dir=tmp_path / "two", num_proc=2)
    assert one.rows == two.rows == 3 * (4370 + 1021)
    assert same_rows(prepared_table(tmp_path / "one", dump), prepared_table(tmp_path / "two", dump))
    report_one = get_builder("kepler_k2_mast", cache_dir=str(tmp_path / "one"), data_dir=dump).report()
    report_two = get_builder("kepler_k2_mast", cache_dir=str(tmp_path / "two"), data_dir=dump).report()
    assert report_one == report_two  # units and quality per file came back from the workers
    assert set(report_two["units"]) == {f"copy{i:03d}/{name}" for i in range(3) for name in (Q3, Q4)}
    # six files, one declaration: read back as one shared dict (10,000 copies cost 50 MB of peak RSS)
    declarations = list(report_two["units"].values())
    assert declarations[0] and all(d is declarations[0] for d in declarations)
    # the release column comes from each file's header, also in the workers
    releases = set(prepared_table(tmp_path / "two", dump).column("release").to_pylist())
    assert all(r.startswith("Kepler SPOC data release 25 (file date ") for r in releases), releases
    # the parts of the finished prepare are gone
    assert not list(tmp_path.glob("two/**/*.parts"))


def test_a_bad_file_in_a_worker_names_the_file(real_data_dir, tmp_path):
    dump = linked_dump(real_data_dir, tmp_path / "dump", copies=2)
    bad = dump / "copy001" / "kplr000000001-2010009091648_llc.fits"
    bad.write_bytes((real_data_dir / "kepler_k2" / Q4).read_bytes()[:20000])  # cut mid-file
    with pytest.raises(SourceFormatError) as info:
        prepare_source("kepler_k2_mast", data_dir=dump, cache_dir=tmp_path / "cache", num_proc=2)
    assert "kplr000000001-2010009091648_llc.fits" in str(info.value)
    skipped = prepare_source("kepler_k2_mast", data_dir=dump, cache_dir=tmp_path / "cache", num_proc=2,
                             on_bad_file="skip")
    assert skipped.rows == 2 * (4370 + 1021)
    assert [Path(s["file"]).name for s in skipped.skipped_files] == [bad.name]


KILLER = textwrap.dedent("""
    import os, signal, sys
    from astrobio_hf.data.prepare import prepare_source
    from astrobio_hf.data.sources.kepler_k2_mast import KeplerK2Mast

    parse, calls = KeplerK2Mast.parse_file, []

    def parse_then_die(self, path):
        calls.append(path)
        if len(calls) == int(sys.argv[3]):
            os.kill(os.getpid(), signal.SIGKILL)  # kill -9 in the middle of the prepare
        yield from parse(self, path)

    KeplerK2Mast.parse_file = parse_then_die
    prepare_source("kepler_k2_mast", data_dir=sys.argv[1], cache_dir=sys.argv[2])
""")


def test_prepare_killed_half_way_resumes_and_equals_a_cold_run(real_data_dir, tmp_path, monkeypatch):
    dump = linked_dump(real_data_dir, tmp_path / "dump", copies=5)  # 10 files
    cache = tmp_path / "cache"
    proc = subprocess.run([sys.executable, "-c", KILLER, str(dump), str(cache), "6"], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, "ASTROBIO_PROGRESS": "0"})
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert not list(cache.glob("**/dataset_info.json"))  # no finished cache
    assert len(list(cache.glob("**/*.parts/*.json"))) == 5  # the five files finished before the kill

    parsed: list[str] = []
    parse = KeplerK2Mast.parse_file

    def counting(self, path):
        parsed.append(Path(path).parent.name)
        yield from parse(self, path)

    monkeypatch.setattr(KeplerK2Mast, "parse_file", counting)
    resumed = prepare_source("kepler_k2_mast", data_dir=dump, cache_dir=cache)
    assert len(parsed) == 5 and not resumed.from_cache  # only the five files not done before the kill
    monkeypatch.setattr(KeplerK2Mast, "parse_file", parse)
    prepare_source("kepler_k2_mast", data_dir=dump, cache_dir=tmp_path / "cold")
    assert same_rows(prepared_table(cache, dump), prepared_table(tmp_path / "cold", dump))
    assert get_builder("kepler_k2_mast", cache_dir=str(cache), data_dir=dump).report() == \
        get_builder("kepler_k2_mast", cache_dir=str(tmp_path / "cold"), data_dir=dump).report()
    assert not list(cache.glob("**/*.parts"))


def test_concurrent_downloads_keep_the_interval_and_the_order(real_data_dir, tmp_path):
    from astrobio_hf.data.sources.tess_mast import tess_path

    real = real_data_dir / "tess" / "tess2022302161335-s0058-0000000021132157-0247-s_lc.fits"
    tics = [21132157, 21132158, 21132159, 21132160, 21132161, 21132162]
    active, peak, lock = [0], [0], threading.Lock()

    def slow_body(request) -> bytes:  # each answer takes 0.3 s: overlapping them is what workers are for
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.3)
        with lock:
            active[0] -= 1
        return real.read_bytes()

    with LoopbackArchive() as server:
        for tic in tics:
            server.add("/missions/" + tess_path(tic, 58, "2022302161335", 247), slow_body,
                       content_type="application/fits")
        builder = get_builder("tess_mast", cache_dir=str(tmp_path / "cache"), base_url=server.url("/missions"),
                              tic_ids=tics, sectors=58, download_workers=4, request_interval_s=0.05)
        pairs = builder.fetch(builder.http_client(), tmp_path / "downloads")
        assert len(server.requests) == len(tics)
    assert [Path(p).name.split("-")[2] for p, _ in pairs] == [f"{t:016d}" for t in tics]  # request order kept
    assert peak[0] > 1  # downloads overlapped
    assert all(Path(p).stat().st_size == real.stat().st_size for p, _ in pairs)


def test_download_workers_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="download_workers"):
        KeplerK2Mast(cache_dir=str(tmp_path), download_workers=0)


#: Every source on its real files (folder under ../shared/data/real, data_files or None = the whole folder).
REAL_INPUTS = {
    "nasa_exoplanet_archive": ("nasa_exoplanet_archive", ["PSCompPars.csv", "tap_style_2025/PSCompPars.csv"]),
    "exoplanets_org": ("exoplanets_org", None),
    "jwst_mast": ("jwst", None),
    "kepler_k2_mast": ("kepler_k2", None),
    "eso_archive": ("eso", None),
    "keck_koa": ("keck_koa", None),
    "gemini_archive": ("gemini", None),
    "ncbi_genbank": ("ncbi_genbank", None),
    "ensembl": ("ensembl", None),
    "uniprot": ("uniprot", None),
    "gtdb": ("gtdb", None),
}


@pytest.mark.parametrize("key", sorted(REAL_INPUTS))
def test_every_multi_file_source_prepares_in_two_processes(key, real_data_dir, tmp_path):
    folder, files = REAL_INPUTS[key]
    options = {"data_files": files} if files else {}
    one = prepare_source(key, data_dir=real_data_dir / folder, cache_dir=tmp_path / "one", **options)
    two = prepare_source(key, data_dir=real_data_dir / folder, cache_dir=tmp_path / "two", num_proc=2, **options)
    assert one.rows == two.rows > 0
    a = get_builder(key, cache_dir=str(tmp_path / "one"), data_dir=real_data_dir / folder, **options)
    b = get_builder(key, cache_dir=str(tmp_path / "two"), data_dir=real_data_dir / folder, **options)
    assert len(a.local_files) > 1
    assert same_rows(a.as_dataset("train").data.table, b.as_dataset("train").data.table)
    assert a.report() == b.report()


def test_cli_num_proc(real_data_dir, tmp_path, capsys):
    from astrobio_hf.cli import main

    dump = linked_dump(real_data_dir, tmp_path / "dump", copies=2)
    code = main(["prepare", "--source", "kepler_k2_mast", "--data-dir", str(dump), "--cache-dir", str(tmp_path / "c"),
                 "--num-proc", "2", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == 2 * (4370 + 1021) and out["from_cache"] is False
    assert main(["prepare", "--source", "kepler_k2_mast", "--data-dir", str(dump), "--cache-dir", str(tmp_path / "c"),
                 "--num-proc", "0"]) == 1
    assert "num_proc must be at least 1" in capsys.readouterr().err


HANGING_PREPARE = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from astrobio_hf.data.prepare import prepare_source
    from astrobio_hf.data.sources.kepler_k2_mast import KeplerK2Mast

    def parse_forever(self, path):
        (Path(sys.argv[3]) / str(os.getpid())).write_text("")  # this worker is parsing
        time.sleep(600)
        yield from ()

    KeplerK2Mast.parse_file = parse_forever
    prepare_source("kepler_k2_mast", data_dir=sys.argv[1], cache_dir=sys.argv[2], num_proc=2)
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.is_file() and "\nState:\tZ" in status.read_text())  # a zombie has finished


def _started_by(marker: str) -> set[int]:
    """Processes whose command line holds ``marker`` (forked children keep their parent's command line)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace") and _alive(int(entry.name)):
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def test_kill_9_of_the_parent_leaves_no_worker_running(real_data_dir, tmp_path):
    dump = linked_dump(real_data_dir, tmp_path / "dump", copies=2)  # 4 files: 2 shards
    marks = tmp_path / "workers"
    marks.mkdir()
    parent = subprocess.Popen([sys.executable, "-c", HANGING_PREPARE, str(dump), str(tmp_path / "cache"), str(marks)],
                              cwd=REPO, env={**os.environ, "ASTROBIO_PROGRESS": "0"}, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(list(marks.iterdir())) < 2 and time.monotonic() < deadline and parent.poll() is None:
            time.sleep(0.1)
        workers = [int(p.name) for p in marks.iterdir()]
        assert len(workers) == 2 and parent.pid not in workers
        children = _started_by(str(marks)) - {parent.pid}  # the workers and datasets' queue manager
        assert set(workers) <= children
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in children if _alive(pid)]
    finally:
        parent.kill()
        for pid in _started_by(str(marks)):
            os.kill(pid, 9)
