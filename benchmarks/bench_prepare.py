"""Prepare time per archive source on the real files of ../shared/data/real: cold and warm, rows and rows/s.

    python benchmarks/bench_prepare.py                       # all 13 sources, 3 repeats, writes RESULTS.md
    python benchmarks/bench_prepare.py --quick               # 4 small sources, 1 repeat, prints only
    python benchmarks/bench_prepare.py --sources tess_mast uniprot --repeats 5

Per repeat, two fresh worker processes run one after the other over a fresh cache root:

* cold: ``prepare_source`` into an empty cache dir per source (parse every file, write Arrow);
* warm: a NEW process runs the same ``prepare_source`` over the same cache dirs; it must report
  ``from_cache=True`` (the cache is reused without parsing) or the benchmark stops.

Times are wall seconds of the ``prepare_source`` call only, measured inside the worker: interpreter start
and imports (``astrobio_hf`` pulls in torch and transformers) are excluded, and the source's builder module
is imported before the clock starts; for the sources timed against the raw-read floor, one untimed prepare and one
untimed floor run first in the same worker (into another cache), so that first-call costs count on neither side.
The table gives medians over repeats. ``--quick`` never writes
RESULTS.md (smoke runs are not figures); a full run replaces the ``## prepare`` section there with the
command, the machine (lscpu model, cores, torch and datasets versions) and the date.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REAL = Path(os.environ.get("ASTROBIO_REAL_DATA", REPO_ROOT.parent / "shared" / "data" / "real"))
QUICK_SOURCES = ("exoplanets_org", "jwst_mast", "keck_koa", "gtdb")
#: Inputs per source: (folder under the real-data dir, data_files relative to it or None = the whole folder).
#: nasa_exoplanet_archive's folder also holds a TOI table (another config), so its two PSCompPars exports are named.
INPUTS: dict[str, tuple[str, list[str] | None]] = {
    "nasa_exoplanet_archive": ("nasa_exoplanet_archive", ["PSCompPars.csv", "tap_style_2025/PSCompPars.csv"]),
    "exoplanets_org": ("exoplanets_org", None),
    "jwst_mast": ("jwst", None),
    "kepler_k2_mast": ("kepler_k2", None),
    "tess_mast": ("tess", None),
    "eso_archive": ("eso", None),
    "keck_koa": ("keck_koa", None),
    "subaru_smoka": ("subaru_smoka", None),
    "gemini_archive": ("gemini", None),
    "ncbi_genbank": ("ncbi_genbank", None),
    "ensembl": ("ensembl", None),
    "uniprot": ("uniprot", None),
    "gtdb": ("gtdb", None),
}


# --------------------------------------------------------------------------- the raw-read floor


def write_arrow(table, path: Path) -> None:
    """The floor's write: one Arrow IPC file, as datasets' writer produces."""
    import pyarrow as pa

    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def floor_nasa(files: list[Path], columns: list[str], out: Path) -> int:
    """pandas read of each PSCompPars export (comment lines skipped) + a pyarrow write of the same columns."""
    import pandas as pd
    import pyarrow as pa

    rows = 0
    for i, path in enumerate(files):
        frame = pd.read_csv(path, comment="#", usecols=lambda name: name in columns, low_memory=False)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        write_arrow(table, out / f"floor-{i}.arrow")
        rows += table.num_rows
    return rows


def floor_light_curve(files: list[Path], columns: list[str], out: Path) -> int:
    """astropy read of each LIGHTCURVE BinTable + a pyarrow write of the same columns."""
    import numpy as np
    import pyarrow as pa
    from astropy.table import Table

    rows = 0
    for i, path in enumerate(files):
        data = Table.read(path, hdu=1, format="fits", unit_parse_strict="silent")
        table = pa.table({name.lower(): np.asarray(data[name]).astype(data[name].dtype.newbyteorder("="))
                          for name in data.colnames if name.lower() in columns})
        write_arrow(table, out / f"floor-{i}.arrow")
        rows += table.num_rows
    return rows


def floor_gtf(files: list[Path], columns: list[str], out: Path) -> int:
    """pyarrow CSV read of the nine tab-separated GTF columns (leading '#' lines skipped) + a pyarrow write.

    No library splits the attribute column, so the floor does not: the ratio shows what that split costs."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rows = 0
    for i, path in enumerate(f for f in files if f.name.endswith((".gtf", ".gtf.gz"))):
        comments = 0
        with open(path, "rb") as fh:
            for line in fh:
                if not line.startswith(b"#"):
                    break
                comments += 1
        names = [f"c{k}" for k in range(9)]
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(column_names=names, skip_rows=comments),
                               parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
                               convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())))
        write_arrow(table, out / f"floor-{i}.arrow")
        rows += table.num_rows
    return rows


def floor_gtdb(files: list[Path], columns: list[str], out: Path) -> int:
    """pyarrow CSV read of the same GTDB columns (tab-separated, 'none' = null) + a pyarrow write; taxonomy files
    have no header (accession, lineage)."""
    import pyarrow.csv as pacsv

    rows = 0
    for i, path in enumerate(files):
        with open(path, encoding="utf-8") as fh:
            header = fh.readline().rstrip("\n").split("\t")
        names = None if header[0] == "accession" else ["accession", "gtdb_taxonomy"]
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(column_names=names),
                               parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
                               convert_options=pacsv.ConvertOptions(
                                   include_columns=[c for c in (names or header) if c in columns],
                                   null_values=["", "none", "na", "n/a"], strings_can_be_null=True))
        write_arrow(table, out / f"floor-{i}.arrow")
        rows += table.num_rows
    return rows


#: Sources timed against the raw-read floor (issue 12): the reader of the same files and a pyarrow write.
FLOORS = {"nasa_exoplanet_archive": floor_nasa, "tess_mast": floor_light_curve, "kepler_k2_mast": floor_light_curve,
          "ensembl": floor_gtf, "gtdb": floor_gtdb}


# --------------------------------------------------------------------------- worker (one process per phase)


def worker(sources: list[str], real: Path, cache_root: Path) -> list[dict]:
    """Prepare each source into ``cache_root/<source>``; return rows, seconds, from_cache, inputs."""
    import datasets

    from astrobio_hf.data.prepare import prepare_source
    from astrobio_hf.data.sources import SOURCES, get_builder

    datasets.disable_progress_bars()
    out = []
    for key in sources:
        folder, files = INPUTS[key]
        data_dir = real / folder
        SOURCES[key]  # import the builder module before timing
        kwargs = {"data_files": files} if files else {}
        warm_up = key in FLOORS and not (cache_root / key).exists()
        if warm_up:  # first calls (lazy imports, astropy/pandas caches) must not count against either side
            prepare_source(key, data_dir=data_dir, cache_dir=cache_root / f"{key}-warm-up", **kwargs)
            inputs = get_builder(key, cache_dir=str(cache_root / f"{key}-warm-up"), data_dir=data_dir, **kwargs)
            FLOORS[key]([Path(f) for f in inputs.local_files], list(inputs.data_features()),
                        Path(tempfile.mkdtemp(dir=cache_root)))
        start = time.perf_counter()
        result = prepare_source(key, data_dir=data_dir, cache_dir=cache_root / key, **kwargs)
        seconds = time.perf_counter() - start
        builder = get_builder(key, cache_dir=str(cache_root / key), data_dir=data_dir, **kwargs)
        inputs = builder.local_files
        row = {"source": key, "rows": result.rows, "seconds": seconds, "from_cache": result.from_cache,
               "files": len(inputs), "bytes": sum(os.path.getsize(f) for f in inputs)}
        if key in FLOORS and not result.from_cache:  # same process, right after the cold prepare
            floor_dir = cache_root / f"{key}-floor"
            floor_dir.mkdir(exist_ok=True)
            start = time.perf_counter()
            FLOORS[key]([Path(f) for f in inputs], list(builder.data_features()), floor_dir)
            row["floor_seconds"] = time.perf_counter() - start
        out.append(row)
    return out


def run_worker(sources: list[str], real: Path, cache_root: Path) -> list[dict]:
    """One phase in a new Python process (so 'warm' really is a second process reusing the cache)."""
    cmd = [sys.executable, __file__, "--worker", "--real-data", str(real), "--cache-root", str(cache_root),
           "--sources", *sources]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "WANDB_MODE": "offline"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"worker failed ({' '.join(cmd)}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- driver


def measure(sources: list[str], real: Path, repeats: int) -> list[dict]:
    """Cold then warm phase per repeat; medians per source."""
    floor: dict[str, list[float]] = {k: [] for k in sources}
    cold: dict[str, list[float]] = {k: [] for k in sources}
    warm: dict[str, list[float]] = {k: [] for k in sources}
    info: dict[str, dict] = {}
    for repeat in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-prepare-") as tmp:
            root = Path(tmp)
            for phase, store, expect_cache in (("cold", cold, False), ("warm", warm, True)):
                for row in run_worker(sources, real, root):
                    key = row["source"]
                    if row["from_cache"] is not expect_cache:
                        raise SystemExit(f"{key}: {phase} prepare reported from_cache={row['from_cache']}")
                    if key in info and info[key]["rows"] != row["rows"]:
                        raise SystemExit(f"{key}: {phase} prepare gave {row['rows']} rows, not {info[key]['rows']}")
                    info[key] = {k: row[k] for k in ("rows", "files", "bytes")}
                    store[key].append(row["seconds"])
                    if "floor_seconds" in row:
                        floor[key].append(row["floor_seconds"])
                print(f"repeat {repeat + 1}/{repeats}: {phase} done", file=sys.stderr)
    out = []
    for key in sources:
        c, w = statistics.median(cold[key]), statistics.median(warm[key])
        ratios = [a / b for a, b in zip(cold[key], floor[key], strict=False)]  # per repeat, same process
        out.append({"source": key, **info[key], "cold_s": c, "warm_s": w, "rows_per_s": info[key]["rows"] / c,
                    "cold_all": cold[key], "warm_all": warm[key],
                    "floor_s": statistics.median(floor[key]) if floor[key] else None,
                    "floor_ratio": statistics.median(ratios) if ratios else None})
    return out


def table(results: list[dict], repeats: int) -> str:
    lines = [f"Median of {repeats} repeat(s); seconds of `prepare_source` only (process start and imports excluded).",
             "",
             "Floor: the raw read of the same files (pandas for the catalog CSVs, astropy for the light-curve FITS) plus a",
             "pyarrow write of the same columns, timed in the same process right after the cold prepare; the ratio is the",
             "median over repeats of cold / floor (target of issue 12: at most 2 for the NASA catalog and the TESS curve).",
             "Before the builders wrote Arrow tables (row dicts, 2026-11-23, same command): nasa_exoplanet_archive 3.235 s",
             "cold, tess_mast 3.811 s, kepler_k2_mast 1.447 s.",
             "",
             "| source | files | input MB | rows | cold s | rows/s (cold) | warm s (new process, cache reused) "
             "| floor s | cold / floor |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        floor = f"{r['floor_s']:.3f} | {r['floor_ratio']:.2f}" if r.get("floor_s") is not None else "- | -"
        lines.append(f"| {r['source']} | {r['files']} | {r['bytes'] / 1e6:.2f} | {r['rows']} | {r['cold_s']:.3f} | "
                     f"{r['rows_per_s']:,.0f} | {r['warm_s']:.3f} | {floor} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", nargs="+", default=None, choices=sorted(INPUTS), metavar="KEY",
                        help="sources to time (default: all 13; --quick: 4 small ones)")
    parser.add_argument("--repeats", type=int, default=None, help="cold+warm rounds (default 3; --quick: 1)")
    parser.add_argument("--quick", action="store_true", help="smoke run: small sources, 1 repeat, no RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--results", type=Path, default=REPO_ROOT / "benchmarks" / "RESULTS.md",
                        help="the results file whose '## prepare' section is replaced (default benchmarks/RESULTS.md)")
    parser.add_argument("--real-data", type=Path, default=DEFAULT_REAL, help="the real-data folder")
    parser.add_argument("--json", action="store_true", help="also print the per-source results as JSON")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cache-root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    sources = args.sources or (list(QUICK_SOURCES) if args.quick else list(INPUTS))
    if args.worker:
        print(json.dumps(worker(sources, args.real_data, args.cache_root)))
        return 0
    if not (args.real_data / "MANIFEST.md").is_file():
        parser.error(f"no real-data folder at {args.real_data} (set ASTROBIO_REAL_DATA or --real-data)")
    repeats = args.repeats or (1 if args.quick else 3)
    if repeats < 1:
        parser.error("--repeats must be at least 1")
    results = measure(sources, args.real_data, repeats)
    body = table(results, repeats)
    print(body)
    if args.json:
        print(json.dumps(results, indent=2))
    if not (args.quick or args.no_write):
        import datasets

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _common import write_section

        write_section("prepare", f"datasets {datasets.__version__}; real files of ../shared/data/real "
                                 f"(see MANIFEST.md).\n\n{body}", path=args.results)
        print(f"wrote the 'prepare' section of {args.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
