"""Prepare of the genomics tables at scale against the raw-read floor: GTF annotation and GTDB metadata.

    python benchmarks/bench_prepare_scaled.py                        # 100,000 rows each, 5 rounds, writes RESULTS.md
    python benchmarks/bench_prepare_scaled.py --rows 20000 --rounds 1 --no-write

The real files of ../shared/data/real are small (50 GTF lines, 4 GTDB genomes), so the timed inputs are those real
rows REPEATED to ``--rows`` rows in a temporary folder (the values are real; the repetition is not, and neither
builder drops repeated rows). One process: an untimed prepare and floor run first (lazy imports, first kernel calls),
then ``--rounds`` rounds alternate the two sides (A B, B A, ...): ``prepare_source`` into a fresh cache, and the floor
of bench_prepare.py (pyarrow's CSV read of the same columns + a pyarrow write). The table gives medians and the
median of the per-round ratios. For the code before a change, run this script with ``PYTHONPATH`` set to a checkout
of that commit (the script only calls ``prepare_source``).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_prepare import DEFAULT_REAL, floor_gtdb, floor_gtf  # noqa: E402

#: source key -> (real file under the real-data folder, name of the replicated file, floor)
CASES: dict[str, tuple[str, str, Callable]] = {
    "ensembl": ("ensembl/human.ensembl.97.patch.gtf", "replicated.gtf", floor_gtf),
    "gtdb": ("gtdb/bac120_metadata_r202.first5.tsv", "bac120_metadata_r202.tsv", floor_gtdb),
}


def replicate(real: Path, out: Path, rows: int) -> int:
    """Header/comment lines of ``real`` once, then its data lines repeated until ``rows`` data rows; rows written."""
    lines = real.read_text(encoding="utf-8").splitlines(keepends=True)
    header = [line for line in lines if line.startswith(("#", "accession\t"))]
    data = [line for line in lines if line not in header]
    body = (data * (rows // len(data) + 1))[:rows]
    out.write_text("".join(header + body), encoding="utf-8")
    return len(body)


def measure(key: str, real_data: Path, rows: int, rounds: int, work: Path) -> dict:
    from astrobio_hf.data.prepare import prepare_source
    from astrobio_hf.data.sources import get_builder

    real_name, name, floor = CASES[key]
    work = work / key
    folder = work / "input"
    folder.mkdir(parents=True)
    written = replicate(real_data / real_name, folder / name, rows)
    columns = list(get_builder(key, cache_dir=str(work / "features"), data_dir=folder).data_features())
    runs = itertools.count()  # a fresh cache / floor folder per call

    def prepare() -> None:
        result = prepare_source(key, data_dir=folder, cache_dir=work / f"cache-{next(runs)}")
        if result.rows != written:
            raise SystemExit(f"{key}: prepare gave {result.rows} rows, {written} were written")

    def read_floor() -> None:
        out = work / f"floor-{next(runs)}"
        out.mkdir()
        if floor([folder / name], columns, out) != written:
            raise SystemExit(f"{key}: the floor read a different number of rows")

    prepare(), read_floor()  # untimed: first calls count on neither side
    times: dict[str, list[float]] = {"prepare": [], "floor": []}
    sides = {"prepare": prepare, "floor": read_floor}
    for r in range(rounds):
        for side in (["prepare", "floor"] if r % 2 == 0 else ["floor", "prepare"]):
            start = time.perf_counter()
            sides[side]()
            times[side].append(time.perf_counter() - start)
    ratios = [p / f for p, f in zip(times["prepare"], times["floor"], strict=True)]
    return {"source": key, "rows": written, "mb": (folder / name).stat().st_size / 1e6,
            "prepare_s": statistics.median(times["prepare"]), "floor_s": statistics.median(times["floor"]),
            "ratio": statistics.median(ratios)}


def table(results: list[dict], rounds: int) -> str:
    lines = [f"Real rows repeated to the row count below; median of {rounds} interleaved rounds in one process "
             "(after an untimed run of each side).",
             "Floor: pyarrow's CSV read of the same columns + a pyarrow write (bench_prepare.py `floor_gtf`, "
             "`floor_gtdb`); the GTF floor does not split the attribute column (no library does), the prepare does.",
             "",
             "| source | rows | input MB | prepare s | rows/s | floor s | prepare / floor |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['source']} | {r['rows']:,} | {r['mb']:.1f} | {r['prepare_s']:.3f} | "
                     f"{r['rows'] / r['prepare_s']:,.0f} | {r['floor_s']:.3f} | {r['ratio']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="data rows per replicated file (default 100,000)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--sources", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--real-data", type=Path, default=DEFAULT_REAL, help="the real-data folder")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--note", default="", help="a line to put above the table (e.g. the code's commit)")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.rounds < 1:
        parser.error("--rows and --rounds must be at least 1")
    import datasets

    datasets.disable_progress_bars()
    with tempfile.TemporaryDirectory(prefix="bench-prepare-scaled-") as tmp:
        results = [measure(key, args.real_data, args.rows, args.rounds, Path(tmp)) for key in args.sources]
    body = table(results, args.rounds)
    print(body)
    if not args.no_write:
        from _common import write_section

        write_section("prepare at scale (genomics tables)",
                      f"datasets {datasets.__version__}.{(' ' + args.note) if args.note else ''}\n\n{body}")
        print("wrote the 'prepare at scale (genomics tables)' section of benchmarks/RESULTS.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
