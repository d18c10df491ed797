"""Throughput of scoring a whole catalog: `astrobio-hf predict --catalog packaged --all` (5,967 planets).

Measured three ways on the tiny multimodal preset the demo trains (`astro-multimodal-tiny`; scoring speed does not
depend on the weights' values, so fresh weights are saved to a temporary folder with the builder's default
processor):

* the command end to end in a fresh process (import, model load, catalog parse, scoring, Parquet write);
* the scoring step alone (`score_rows`: processor + model, in batches) at several batch sizes;
* the reference it replaces: one `astrobio-hf predict --values ...` process for one planet.

    python benchmarks/bench_catalog_scoring.py --write [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("astrobio-hf"))


def run_seconds(argv: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{argv} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--write", action="store_true", help="write the section of benchmarks/RESULTS.md")
    args = parser.parse_args()

    import torch

    from astrobio_hf.inference.catalog_file import read_catalog
    from astrobio_hf.inference.catalog_scoring import score_rows
    from astrobio_hf.inference.predict import load_predictor, load_processor
    from astrobio_hf.models.presets import build_model

    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as tmp:
        model_dir = Path(tmp) / "model"
        torch.manual_seed(0)
        build_model("astro-multimodal-tiny").save_pretrained(model_dir)
        rows = read_catalog("packaged")
        n = len(rows)
        model = load_predictor(str(model_dir))
        processor = load_processor(model)
        score_rows(model, processor, rows.select(range(256)), 256)  # warm-up
        scoring: dict[int, list[float]] = {b: [] for b in args.batch_sizes}
        for r in range(args.rounds):
            for size in (args.batch_sizes if r % 2 == 0 else args.batch_sizes[::-1]):
                start = time.perf_counter()
                score_rows(model, processor, rows, size)
                scoring[size].append(time.perf_counter() - start)
        command = [CLI, "predict", "--model", str(model_dir), "--catalog", "packaged", "--all", "--output",
                   str(Path(tmp) / "ranked.parquet")]
        single = [CLI, "predict", "--model", str(model_dir), "--values", "pl_name=Kepler-186 f",
                  "pl_orbper=129.9444", "st_teff=3755"]
        whole, one = [], []
        for _ in range(args.rounds):
            whole.append(run_seconds(command))
            one.append(run_seconds(single))

    whole_s, one_s = statistics.median(whole), statistics.median(one)
    lines = [f"{n:,} planets of the packaged PSCompPars 2025 snapshot; `astro-multimodal-tiny` weights (scoring "
             f"speed does not depend on their values); median of {args.rounds} rounds.", "",
             "| what | seconds | planets/s |", "|---|---:|---:|",
             f"| `predict --catalog packaged --all --output ranked.parquet`, fresh process, end to end | "
             f"{whole_s:.1f} | {n / whole_s:,.0f} |"]
    for size, times in scoring.items():
        seconds = statistics.median(times)
        lines.append(f"| scoring step only (`score_rows`), batch {size} | {seconds:.2f} | {n / seconds:,.0f} |")
    lines.append(f"| reference: one `predict --values` process for one planet | {one_s:.1f} | {1 / one_s:.2f} |")
    lines += ["", f"One process per planet would take about {n * one_s / 3600:.1f} h for the catalog; the batched "
              f"command takes {whole_s:.0f} s ({n * one_s / whole_s:,.0f}x). Most of the end-to-end time is "
              "importing torch/transformers, reading the catalog and loading the model, not scoring."]
    body = "\n".join(lines)
    print(body)
    if args.write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _common import write_section

        write_section("Catalog scoring: predict --catalog packaged --all", body)


if __name__ == "__main__":
    main()
