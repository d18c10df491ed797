"""Archive-scale prepare of TESS light curves: processes, memory, resume after kill -9, download mode (issue 14).

    python benchmarks/bench_archive_scale.py --write                 # 10,000 files (about 15 min on 2 cores)
    python benchmarks/bench_archive_scale.py --files 200 --small-files 50 --no-write   # a smoke run

The mirror: ``--files`` light curves in MAST's SPOC layout (``tess/tid/s0058/<TIC split in four>/tess...-s_lc.fits``),
GENERATED from the real TESS 2-minute file of ../shared/data/real (TIC 21132157, sector 58): its first ``--cadences``
cadences, with the TIC id rewritten in the name and the TICID/OBJECT cards (TIC 100000000 + i), and PDCSAP_FLUX
multiplied by 1 + N(0, 1e-4) per cadence (seeded), so no two files hold the same values. CHECKSUM is dropped (it would
no longer match). Everything else (headers, columns, the APERTURE image) is the real file's.

Each prepare runs in a fresh process (`--worker`) over a cold cache; figures are wall seconds of `prepare_source`,
rows, and the peak RSS of the process and of its pool workers (``ru_maxrss``):

* local mode with 1 and with 2 processes (``num_proc``): files/s, rows/s, and the ratio (target: at least 1.7);
* download mode (the mirror served over HTTP on 127.0.0.1 by a threaded server in this process; 4 download workers,
  no request interval) with 1 and 2 processes;
* peak RSS of a 1-process local prepare of ``--small-files`` files against ``--files`` files (target: about equal);
* kill -9 of a 1-process local prepare once half of the files are recorded as done, then a rerun: its wall time
  against the cold run's (target: at most 0.6);
* equality of the datasets of every run (same rows, same order; NaN equal to NaN).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REAL = Path(os.environ.get("ASTROBIO_REAL_DATA", REPO_ROOT.parent / "shared" / "data" / "real"))
REAL_TESS = "tess/tess2022302161335-s0058-0000000021132157-0247-s_lc.fits"
STAMP, SECTOR, SCID = "2022302161335", 58, 247
FIRST_TIC = 100_000_000


# --------------------------------------------------------------------------- the mirror


def _card(keyword: str, value: str, comment: str) -> bytes:
    text = f"{keyword:<8}= {value:>20} / {comment}"
    return text[:80].ljust(80).encode("ascii")


def make_mirror(real: Path, root: Path, files: int, cadences: int, seed: int = 0) -> int:
    """Write ``files`` generated SPOC light curves under ``root`` (see the module docstring); return bytes written."""
    import numpy as np
    from astropy.io import fits

    from astrobio_hf.data.sources.tess_mast import tess_path

    with fits.open(real / REAL_TESS) as hdul:
        primary = hdul[0].copy()
        light = fits.BinTableHDU(data=hdul[1].data[:cadences].copy(), header=hdul[1].header.copy())
        aperture = hdul[2].copy()
        for hdu in (primary, light, aperture):
            for key in ("CHECKSUM", "DATASUM"):
                hdu.header.remove(key, ignore_missing=True)
        buffer = io.BytesIO()
        fits.HDUList([primary, light, aperture]).writeto(buffer, checksum=False)
    template = buffer.getvalue()
    with fits.open(io.BytesIO(template)) as hdul:
        data_offset = hdul[1]._data_offset
        row_bytes = hdul[1].header["NAXIS1"]
        flux_offset = hdul[1].data.dtype.fields["PDCSAP_FLUX"][1]  # byte offset of the column in a row
    ticid_at = template.index(b"TICID   =")
    object_at = template.index(b"OBJECT  =")
    layout = np.dtype({"names": ["flux"], "formats": [">f4"], "offsets": [flux_offset], "itemsize": row_bytes})
    rng = np.random.default_rng(seed)
    written = 0
    for i in range(files):
        tic = FIRST_TIC + i
        body = bytearray(template)
        body[ticid_at:ticid_at + 80] = _card("TICID", str(tic), "unique tess target identifier")
        body[object_at:object_at + 80] = f"OBJECT  = 'TIC {tic}'".ljust(30).ljust(80).encode("ascii")
        rows = np.ndarray((cadences,), dtype=layout, buffer=body, offset=data_offset)
        rows["flux"] = rows["flux"] * (1.0 + rng.normal(0.0, 1e-4, cadences)).astype(np.float32)
        dest = root / tess_path(tic, SECTOR, STAMP, SCID)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(body)
        written += len(body)
    return written


class MirrorServer:
    """The mirror folder over HTTP on 127.0.0.1 (threaded, quiet), as MAST's missions archive."""

    def __init__(self, root: Path) -> None:
        class Quiet(SimpleHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> MirrorServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- one prepare per process


def worker(args: argparse.Namespace) -> dict:
    import datasets

    from astrobio_hf.data.prepare import prepare_source

    datasets.disable_progress_bars()
    options: dict = {"cache_dir": args.cache, "num_proc": args.num_proc}
    if args.base_url:
        options.update(base_url=args.base_url, tic_ids=list(range(FIRST_TIC, FIRST_TIC + args.files)),
                       sectors=SECTOR, download_workers=4, request_interval_s=0.0)
    else:
        options["data_dir"] = args.mirror
    start = time.perf_counter()
    result = prepare_source("tess_mast", **options)
    seconds = time.perf_counter() - start
    peak_kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {"seconds": seconds, "rows": result.rows, "from_cache": result.from_cache, "peak_rss_mb": peak_kib / 1024,
            "cache_dir": result.cache_dir}


def worker_command(mirror: Path, cache: Path, files: int, num_proc: int, base_url: str | None = None) -> list[str]:
    cmd = [sys.executable, __file__, "--worker", "--mirror", str(mirror), "--cache", str(cache),
           "--files", str(files), "--num-proc", str(num_proc)]
    return cmd + (["--base-url", base_url] if base_url else [])


WORKER_ENV = {**os.environ, "ASTROBIO_PROGRESS": "0", "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}


def run_prepare(*args: object, **kwargs: object) -> dict:
    cmd = worker_command(*args, **kwargs)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=WORKER_ENV)
    if proc.returncode != 0:
        raise SystemExit(f"worker failed ({' '.join(cmd)}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def killed_half_way(mirror: Path, cache: Path, files: int) -> int:
    """Start a 1-process prepare, kill -9 it once half of the files have their part record; return records done."""
    proc = subprocess.Popen(worker_command(mirror, cache, files, 1), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=WORKER_ENV)
    done = 0
    while proc.poll() is None:
        done = sum(1 for _ in cache.glob("**/*.parts/*.json"))
        if done >= files // 2:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return done
        time.sleep(0.05)
    raise SystemExit("the prepare finished before it could be killed half-way; use more --files")


# --------------------------------------------------------------------------- equality


def same_dataset(a: str, b: str, ignore: tuple[str, ...] = (), window: int = 200_000) -> bool:
    """Same rows in the same order (NaN equal to NaN; columns in ``ignore`` aside), compared window by window."""
    import datasets
    import pyarrow.compute as pc

    tables = [datasets.concatenate_datasets([datasets.Dataset.from_file(str(f))
                                             for f in sorted(Path(d).glob("*.arrow"))]).data.table for d in (a, b)]
    if tables[0].schema != tables[1].schema or tables[0].num_rows != tables[1].num_rows:
        return False
    for offset in range(0, tables[0].num_rows, window):
        x, y = (t.slice(offset, window) for t in tables)
        for name in (n for n in x.column_names if n not in ignore):
            u, v = x.column(name).combine_chunks(), y.column(name).combine_chunks()
            equal = pc.fill_null(pc.equal(u, v), False)
            if u.type.id in (10, 11, 12):  # half/float/double: NaN == NaN here
                equal = pc.or_(equal, pc.fill_null(pc.and_(pc.is_nan(u), pc.is_nan(v)), False))
            both_null = pc.and_(pc.is_null(u), pc.is_null(v))
            if not pc.all(pc.or_(equal, both_null)).as_py():
                return False
    return True


# --------------------------------------------------------------------------- driver


def measure(args: argparse.Namespace, work: Path) -> dict:
    mirror = work / "mirror"
    start = time.perf_counter()
    size = make_mirror(args.real_data, mirror, args.files, args.cadences)
    out: dict = {"files": args.files, "small_files": args.small_files, "cadences": args.cadences, "mirror_mb": size / 1e6,
                 "mirror_s": time.perf_counter() - start}
    print(f"mirror: {args.files} files, {size / 1e6:.0f} MB in {out['mirror_s']:.0f} s", file=sys.stderr)
    runs: dict[str, dict] = {}
    for name, procs in (("local_1", 1), ("local_2", 2)):
        runs[name] = run_prepare(mirror, work / name, args.files, procs)
        print(f"{name}: {runs[name]}", file=sys.stderr)
    with MirrorServer(mirror) as server:
        for name, procs in (("download_1", 1), ("download_2", 2)):
            runs[name] = run_prepare(mirror / "missing", work / name, args.files, procs, base_url=server.url)
            print(f"{name}: {runs[name]}", file=sys.stderr)
    small = work / "mirror_small"
    make_mirror(args.real_data, small, args.small_files, args.cadences)
    runs["local_1_small"] = run_prepare(small, work / "local_1_small", args.small_files, 1)
    done = killed_half_way(mirror, work / "resumed", args.files)
    runs["resumed"] = run_prepare(mirror, work / "resumed", args.files, 1)
    runs["resumed"]["done_before_kill"] = done
    print(f"resumed after {done} files: {runs['resumed']}", file=sys.stderr)
    reference = runs["local_1"]["cache_dir"]
    # download mode names a file by its archive name, local mode by its path under data_dir: `file` differs
    out["equal"] = {name: same_dataset(reference, runs[name]["cache_dir"], ignore=("file",) if "download" in name else ())
                    for name in ("local_2", "download_1", "download_2", "resumed")}
    out["runs"] = runs
    return out


def table(result: dict) -> str:
    runs, files = result["runs"], result["files"]
    rows = runs["local_1"]["rows"]
    lines = [f"Mirror: {files:,} generated TESS SPOC files of {result['cadences']:,} cadences "
             f"({result['mirror_mb']:,.0f} MB), made from the real sector-58 file of TIC 21132157 (identifiers "
             "rewritten, PDCSAP_FLUX perturbed; see the script's docstring). Each prepare in a new process over a cold "
             "cache; download mode fetches from a threaded loopback server in the benchmark's process (4 download "
             "workers, no request interval).",
             "",
             "| run | processes | wall s | files/s | rows/s | peak RSS MB | vs 1 process | same rows as local, 1 process "
             "(download: all columns but `file`) |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for mode in ("local", "download"):
        one = runs[f"{mode}_1"]["seconds"]
        for procs in (1, 2):
            run = runs[f"{mode}_{procs}"]
            equal = "reference" if (mode, procs) == ("local", 1) else \
                ("yes" if result["equal"][f"{mode}_{procs}"] else "NO")
            lines.append(f"| {mode} | {procs} | {run['seconds']:.1f} | {files / run['seconds']:,.1f} | "
                         f"{rows / run['seconds']:,.0f} | {run['peak_rss_mb']:,.0f} | {one / run['seconds']:.2f}x "
                         f"| {equal} |")
    small, big, resumed = runs["local_1_small"], runs["local_1"], runs["resumed"]
    lines += ["",
              f"- Peak RSS, local, 1 process: {small['peak_rss_mb']:,.0f} MB at {result['small_files']:,} files, "
              f"{big['peak_rss_mb']:,.0f} MB at {files:,} files (ratio {big['peak_rss_mb'] / small['peak_rss_mb']:.2f}; "
              "target: about 1).",
              f"- kill -9 of a 1-process local prepare after {resumed['done_before_kill']:,} of {files:,} files had "
              f"their parts recorded, then a rerun: {resumed['seconds']:.1f} s against {big['seconds']:.1f} s cold "
              f"(ratio {resumed['seconds'] / big['seconds']:.2f}; target: at most 0.60); same rows as the cold run: "
              f"{'yes' if result['equal']['resumed'] else 'NO'}.",
              f"- Mirror generation: {result['mirror_s']:.0f} s (not part of any figure above)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000, help="files in the mirror (default 10,000)")
    parser.add_argument("--small-files", type=int, default=1_000, help="files of the small-mirror RSS run")
    parser.add_argument("--cadences", type=int, default=1_000, help="cadences kept per generated file (default 1,000)")
    parser.add_argument("--real-data", type=Path, default=DEFAULT_REAL, help="the real-data folder")
    parser.add_argument("--workdir", type=Path, default=None, help="where the mirror and caches go (default: a temp "
                                                                     "folder, removed at the end)")
    parser.add_argument("--write", action="store_true", help="replace the 'archive scale' section of RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="also print the raw figures as JSON")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mirror", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--num-proc", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    if not (args.real_data / REAL_TESS).is_file():
        parser.error(f"no real TESS file at {args.real_data / REAL_TESS} (set ASTROBIO_REAL_DATA or --real-data)")
    if args.files < 4 or args.small_files < 1 or args.small_files > args.files:
        parser.error("need --files >= 4 and 1 <= --small-files <= --files")
    work = Path(tempfile.mkdtemp(prefix="archive-scale-", dir=args.workdir))
    try:
        result = measure(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    body = table(result)
    print(body)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    if args.write:
        import datasets

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _common import write_section

        write_section("archive scale: TESS mirror prepare", f"datasets {datasets.__version__}.\n\n{body}")
        print("wrote the 'archive scale' section of benchmarks/RESULTS.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
