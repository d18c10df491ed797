"""`astrobio-hf to-parquet --dataset DIR --output URL (--shard-rows N | --max-shard-size 500MB)`: a prepared
multimodal dataset as Parquet shards at any fsspec URL, for `train.py --streaming` (see docs/scale.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "to-parquet", help="write a prepared multimodal dataset as Parquet shards (for train.py --streaming)",
        description="Read a multimodal dataset saved by `prepare --dataset multimodal` and write every split as "
                    "Parquet shards, the manifest and the spec under --output (a local folder or any fsspec URL: "
                    "file://, s3://, gs://, ...; credentials come from fsspec's own environment configuration). "
                    "Refuses an --output that already holds shards.")
    parser.add_argument("--dataset", type=Path, required=True, help="folder written by prepare --dataset multimodal")
    parser.add_argument("--output", required=True, metavar="URL", help="target folder or fsspec URL")
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--shard-rows", type=int, metavar="N", help="at most N rows per shard file")
    size.add_argument("--max-shard-size", metavar="SIZE",
                      help="at most about SIZE of Arrow data per shard file, e.g. 500MB (Parquet files come out "
                           "smaller: they are compressed)")
    parser.add_argument("--json", action="store_true", help="print the manifest as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from datasets.utils.py_utils import convert_file_size_to_int

    from ..data.multimodal_schema import load_multimodal_dataset
    from ..data.parquet_shards import write_parquet_shards

    try:
        max_bytes = convert_file_size_to_int(args.max_shard_size) if args.max_shard_size else None
        splits, spec = load_multimodal_dataset(args.dataset)
        manifest = write_parquet_shards(splits, spec, args.output, shard_rows=args.shard_rows,
                                        max_shard_bytes=max_bytes)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"output": args.output, **manifest.to_dict()}, indent=2, default=float))
    else:
        for name, files in manifest.files.items():
            print(f"{name}: {manifest.num_rows[name]} rows in {len(files)} shards of at most "
                  f"{manifest.shard_rows[name]} rows")
        print(f"written to {args.output}; train from it with `train.py --streaming --dataset_path {args.output}`")
    return 0
