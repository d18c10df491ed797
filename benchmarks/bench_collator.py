"""Multimodal samples/s through `MultimodalCollator` + a torch DataLoader (prints figures; writes no file).

Usage (the dataset is prepared first, or built here from an input folder laid out as in docs/data.md):

    python benchmarks/bench_collator.py --dataset-path multimodal_dataset
    python benchmarks/bench_collator.py --data-dir INPUTS [--climate generate] [--batch-size 64] [--num-workers 0]

Three figures per batch size: the collator alone on pre-read Arrow slices, a DataLoader that reads each batch with
one Arrow slice (`datasets` `__getitems__`) and collates, and the same with `num_workers` worker processes.
The machine and the command must be written next to any figure that is reported (see DESIGN.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from astrobio_hf.data.collator import ArrowBatches, MultimodalCollator
from astrobio_hf.data.multimodal import build_multimodal_dataset, config_from_data_dir
from astrobio_hf.data.multimodal_schema import load_multimodal_dataset, save_multimodal_dataset


def _dataset(args: argparse.Namespace):
    if args.dataset_path:
        return load_multimodal_dataset(args.dataset_path)
    config = config_from_data_dir(args.data_dir, climate=args.climate, max_planets=args.max_planets)
    splits, spec, _ = build_multimodal_dataset(config)
    folder = Path(tempfile.mkdtemp(prefix="bench-multimodal-"))
    save_multimodal_dataset(splits, spec, folder)
    return load_multimodal_dataset(folder)


def _rate(loader, collate, epochs: int) -> tuple[float, int]:
    samples = 0
    start = time.perf_counter()
    for _ in range(epochs):
        for batch in loader:
            batch = collate(batch) if collate else batch
            samples += int(batch["planet_params"].shape[0])
    return samples / (time.perf_counter() - start), samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset-path", type=Path, help="a dataset saved by `prepare --dataset multimodal`")
    source.add_argument("--data-dir", type=Path, help="an input folder to build the dataset from first")
    parser.add_argument("--climate", default="none", choices=["none", "generate", "files"])
    parser.add_argument("--max-planets", type=int, default=None)
    parser.add_argument("--split", default="train")
    parser.add_argument("--batch-size", type=int, action="append", default=None)
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    torch.set_num_threads(1)
    splits, spec = _dataset(args)
    data = splits[args.split]
    collator = MultimodalCollator(spec)
    rows = ArrowBatches(data)
    present = {m: int(sum(data[f"{m}_mask"])) for m in ("spectrum", "light_curve", "climate_cube", "graph")}
    common = {"rows": len(data), "present": present, "cube": list(spec.climate_cube_shape),
              "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
              "torch_threads": torch.get_num_threads()}
    print(json.dumps({"dataset": common}))
    for batch_size in args.batch_size or [32, 128]:
        slices = [rows.__getitems__(list(range(i, min(i + batch_size, len(data)))))
                  for i in range(0, len(data), batch_size)]
        figures = {"collator_only": _rate(slices, collator, args.epochs)[0]}
        loader = DataLoader(rows, batch_size=batch_size, shuffle=True, collate_fn=collator, num_workers=0)
        figures["dataloader_0_workers"] = _rate(loader, None, args.epochs)[0]
        if args.num_workers > 0:
            loader = DataLoader(rows, batch_size=batch_size, shuffle=True, collate_fn=collator,
                                num_workers=args.num_workers, persistent_workers=True)
            figures[f"dataloader_{args.num_workers}_workers"] = _rate(loader, None, args.epochs)[0]
        print(json.dumps({"batch_size": batch_size, "samples_per_s": {k: round(v, 1) for k, v in figures.items()}}))


if __name__ == "__main__":
    main()
