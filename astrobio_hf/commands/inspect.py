"""`astrobio-hf inspect --source KEY --file PATH`: parse one native file and show what the builder sees."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, inf) as ``None``: strict JSON has no NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy scalars and arrays
        return json_safe(value.tolist())
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("inspect", help="parse one archive file and print rows, columns and values")
    parser.add_argument("--source", required=True, help="source key (see `astrobio_hf.data.sources.SOURCE_PATHS`)")
    parser.add_argument("--file", required=True, type=Path, help="the native file to parse")
    parser.add_argument("--json", action="store_true", help='print {"source", "file", "rows", "columns", ...}')
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help="a builder config option, e.g. --config table=toi (repeatable)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.prepare import inspect_file
    from ..data.sources import SOURCE_PATHS, SourceFormatError, SourceNotAvailable
    from .prepare import config_options

    if args.source not in SOURCE_PATHS:
        print(f"error: unknown source {args.source!r}; known: {', '.join(SOURCE_PATHS)}", file=sys.stderr)
        return 2
    if args.file.is_dir():
        print(f"error: --file {args.file} is a folder; give one file in it (`astrobio-hf prepare --source "
              f"{args.source} --data-dir {args.file}` reads a whole folder)", file=sys.stderr)
        return 1
    try:
        info = inspect_file(args.source, args.file, **config_options(args.config))
    except (SourceFormatError, SourceNotAvailable, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(json_safe(info), indent=2, default=str, allow_nan=False))
        return 0
    print(f"{info['source']}: {info['file']}: {info['rows']} rows, {len(info['columns'])} columns")
    if info.get("release"):
        print(f"  release: {info['release']}")
    print(f"  columns: {', '.join(info['columns'])}")
    for name, unit in info.get("units", {}).items():
        print(f"  unit {name}: {unit}")
    for i, row in enumerate(info.get("sample", []), 1):
        shown = ", ".join(f"{k}={v}" for k, v in list(row.items())[:10])
        print(f"  row {i}: {shown}")
    return 0
