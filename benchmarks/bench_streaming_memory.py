"""Peak RSS of one shuffled pass over a multimodal train split: streamed Parquet shards vs the saved Arrow dataset.

Usage:

    python benchmarks/bench_streaming_memory.py [--rows 20000 --rows 80000] [--batch-size 64] [--write]

The dataset is GENERATED: 1,000 rows of the trainer-test fixture (tests/helpers/multimodal_rows.py: structured
spectra, light curves, lapse-rate climate cubes on every 4th row, hexokinase graphs), repeated to `--rows` rows. It is
saved with `save_multimodal_dataset` and written with `write_parquet_shards`; then each reader runs in a fresh
process that feeds the Trainer's data path (a torch DataLoader and `MultimodalCollator`) once over every row:

- `arrow_map_style`: what `train.py` does without `--streaming`: `load_from_disk` (memory-mapped Arrow),
  `ArrowBatches`, a shuffling sampler; touched pages of the mapping count in RSS;
- `arrow_in_memory`: the same with the table loaded into memory (`keep_in_memory=True`);
- `parquet_streaming_N`: what `train.py --streaming --shuffle_input_shards N` does: the shards (5,000 rows each) as
  an `IterableDataset`, shuffle buffer 1,000 rows filled from N shards at once (N readers decoding row groups).

Each figure is the process's peak RSS (VmHWM) minus its RSS after the imports (torch, datasets, PyG), so it is the
memory the data path added; two dataset sizes show what grows with the data. The machine is shared: other jobs change
timings, not these memory figures much.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks._common import write_section  # noqa: E402


def _status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process. Not ru_maxrss: Linux carries it over exec from the parent."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


READERS = ("arrow_map_style", "arrow_in_memory", "parquet_streaming_1", "parquet_streaming_10")


def _reader(kind: str, folder: str, batch_size: int) -> None:
    """Child process: one pass over the train split; prints the figures as JSON."""
    import datasets
    import torch
    from torch.utils.data import DataLoader

    from astrobio_hf.data.collator import ArrowBatches, MultimodalCollator
    from astrobio_hf.data.multimodal_schema import SPEC_FILENAME, MultimodalSpec
    from astrobio_hf.data.parquet_shards import load_parquet_shards

    torch.set_num_threads(1)
    base = _status_mb("VmRSS")
    spec = MultimodalSpec.from_dict(json.loads((Path(folder) / "arrow" / SPEC_FILENAME).read_text()))
    if kind.startswith("parquet_streaming_"):
        splits, _, _ = load_parquet_shards(str(Path(folder) / "parquet"))
        data = splits["train"].shuffle(seed=0, buffer_size=1000,
                                       max_buffer_input_shards=int(kind.rsplit("_", 1)[1])).with_format("arrow")
        loader = DataLoader(data, batch_size=batch_size, collate_fn=MultimodalCollator(spec))
    else:
        split = datasets.load_from_disk(str(Path(folder) / "arrow"),
                                        keep_in_memory=kind == "arrow_in_memory")["train"]
        loader = DataLoader(ArrowBatches(split), batch_size=batch_size, shuffle=True,
                            generator=torch.Generator().manual_seed(0), collate_fn=MultimodalCollator(spec))
    rows = 0
    for batch in loader:
        rows += int(batch["planet_params"].shape[0])
    peak = _status_mb("VmHWM")
    print(json.dumps({"kind": kind, "rows": rows, "base_mb": base, "peak_mb": peak, "added_mb": peak - base}))


def _perturb(table, indices: list[int]):
    """Scale the float array columns of a 1,000-row copy by 1 + copy number x 1e-4 (nulls kept)."""
    import numpy as np
    import pyarrow as pa

    factor = np.float32(1 + (indices[0] // 1000) * 1e-4)
    for name in ("planet_params", "spectrum", "light_curve", "climate_cube"):
        column = table.column(name).combine_chunks()
        values = column.flatten().to_numpy(zero_copy_only=False) * factor
        size = column.type.list_size
        present = column.is_valid().to_numpy(zero_copy_only=False)
        full = np.zeros((len(column), size), dtype=np.float32)
        full[present] = values.reshape(-1, size)
        scaled = pa.FixedSizeListArray.from_arrays(pa.array(full.reshape(-1)), size, mask=pa.array(~present))
        table = table.set_column(table.schema.get_field_index(name), name, scaled)
    return table


def _build(folder: Path, rows: int) -> dict:
    import datasets

    from astrobio_hf.data.multimodal_schema import save_multimodal_dataset
    from astrobio_hf.data.parquet_shards import write_parquet_shards
    from tests.helpers.multimodal_rows import SPEC, row

    block = datasets.Dataset.from_list([SPEC.encode_row(row(i)) for i in range(1000)], features=SPEC.features())
    # each copy's arrays scaled by its own factor: no two rows hold the same floats, so Parquet cannot dedupe them
    train = datasets.concatenate_datasets([block] * (rows // len(block))).with_format("arrow").map(
        _perturb, batched=True, batch_size=1000, with_indices=True)
    splits = datasets.DatasetDict({"train": train, "validation": block.select(range(100))})
    save_multimodal_dataset(splits, SPEC, folder / "arrow")
    manifest = write_parquet_shards(datasets.load_from_disk(str(folder / "arrow")), SPEC, str(folder / "parquet"),
                                    shard_rows=5000)
    arrow_mb = sum(p.stat().st_size for p in (folder / "arrow" / "train").glob("*.arrow")) / 2**20
    parquet_mb = sum(p.stat().st_size for p in (folder / "parquet" / "data").glob("train-*")) / 2**20
    return {"rows": len(train), "arrow_mb": arrow_mb, "parquet_mb": parquet_mb,
            "shards": len(manifest.files["train"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", default=None, help="train rows (repeatable)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--write", action="store_true", help="write the section of benchmarks/RESULTS.md")
    parser.add_argument("--reader", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reader:
        _reader(args.reader, args.folder, args.batch_size)
        return
    sizes, results = [], []
    for rows in args.rows or [20000, 80000]:
        with tempfile.TemporaryDirectory(prefix="bench-streaming-") as tmp:
            sizes.append(_build(Path(tmp), rows))
            print(json.dumps({"dataset": sizes[-1]}))
            for kind in READERS:
                out = subprocess.run([sys.executable, __file__, "--reader", kind, "--folder", tmp, "--batch-size",
                                      str(args.batch_size)], capture_output=True, text=True, check=True, cwd=REPO)
                results.append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(json.dumps(results[-1]))
    if args.write:
        reference = [r["added_mb"] for r in results if r["kind"] == "parquet_streaming_1"]
        table = ["| reader | " + " | ".join(f"added at {d['rows']:,} rows, MB (/ parquet_streaming_1)"
                                           for d in sizes) + " |", "|---|" + "---:|" * len(sizes)]
        for kind in READERS:
            added = [r["added_mb"] for r in results if r["kind"] == kind]
            cells = [f"{a:.0f} ({a / ref:.2f})" for a, ref in zip(added, reference, strict=True)]
            table.append(f"| {kind} | " + " | ".join(cells) + " |")
        data = "; ".join(f"{d['rows']:,} rows: {d['arrow_mb']:.0f} MB of Arrow, {d['parquet_mb']:.1f} MB in "
                         f"{d['shards']} Parquet shards" for d in sizes)
        body = (f"GENERATED rows (1,000 rows of tests/helpers/multimodal_rows.py repeated, each copy's arrays scaled): "
                f"{data} (the fixture's regular values compress far better than archive data would). One shuffled "
                f"pass through a DataLoader (batch {args.batch_size}) and MultimodalCollator, each reader in a fresh "
                "process; no model (its memory is the same for every reader). Figures: peak RSS minus RSS after "
                "the imports. The mapped Arrow pages of arrow_map_style are file-backed (the kernel can drop them "
                "under pressure) but still need the dataset on local disk. The machine is shared with other "
                "jobs.\n\n" + "\n".join(table))
        write_section("Streaming from Parquet shards: peak RSS of one pass", body)

if __name__ == "__main__":
    main()
