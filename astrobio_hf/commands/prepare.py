"""`astrobio-hf prepare --source KEY`: build (or reuse) a source's Arrow cache and print a summary."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("prepare", help="download or read an archive and build its Arrow cache")
    parser.add_argument("--source", required=True,
                        help="source key (see `astrobio_hf.data.sources.SOURCE_PATHS`) or 'all'")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="local dump to read instead of the network (with --source all: one sub-folder "
                             "per source key)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="datasets cache folder (default: HF's)")
    parser.add_argument("--skip-bad-files", action="store_true",
                        help="skip files that fail to parse and report them, instead of failing the run")
    parser.add_argument("--json", action="store_true",
                        help='print {"source", "rows", "columns", "cache_dir", "from_cache"} as JSON')
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help="a builder config option, e.g. --config table=toi (repeatable)")
    parser.set_defaults(func=run)


def config_options(pairs: list[str]) -> dict[str, object]:
    """``["table=toi", "top=10"]`` -> ``{"table": "toi", "top": 10}`` (integers converted)."""
    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--config expects KEY=VALUE, got {pair!r}")
        out[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else value
    return out


def _one(key: str, args: argparse.Namespace, data_dir: Path | None) -> dict:
    from ..data.prepare import prepare_source

    result = prepare_source(key, data_dir=data_dir, cache_dir=args.cache_dir,
                            on_bad_file="skip" if args.skip_bad_files else "raise", **config_options(args.config))
    out = {"source": result.source, "rows": result.rows, "columns": result.columns,
           "cache_dir": result.cache_dir, "from_cache": result.from_cache}
    if result.skipped_files:
        out["skipped_files"] = result.skipped_files
    return out


def _print_summary(out: dict) -> None:
    state = "reused cache" if out["from_cache"] else "prepared"
    print(f"{out['source']}: {state}: {out['rows']} rows x {len(out['columns'])} columns -> {out['cache_dir']}")
    for skipped in out.get("skipped_files", []):
        print(f"  skipped {skipped['file']}: {skipped['error']}")


def run(args: argparse.Namespace) -> int:
    from ..data.download import DownloadError
    from ..data.sources import SOURCE_PATHS, SourceFormatError, SourceNotAvailable

    if args.source != "all" and args.source not in SOURCE_PATHS:
        print(f"error: unknown source {args.source!r}; known: {', '.join(SOURCE_PATHS)}, all", file=sys.stderr)
        return 2
    keys = list(SOURCE_PATHS) if args.source == "all" else [args.source]
    results, failed = [], 0
    for key in keys:
        data_dir = args.data_dir
        if args.source == "all" and data_dir is not None:
            data_dir = data_dir / key
            if not data_dir.is_dir():
                print(f"{key}: skipped (no folder {data_dir})", file=sys.stderr)
                continue
        try:
            out = _one(key, args, data_dir)
        except SourceNotAvailable as exc:
            if args.source != "all":
                print(f"error: {exc}", file=sys.stderr)
                return 1
            print(f"{key}: skipped ({exc})", file=sys.stderr)
            continue
        except (SourceFormatError, DownloadError, FileNotFoundError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        results.append(out)
        if not args.json:
            _print_summary(out)
    if args.json:
        print(json.dumps(results[0] if args.source != "all" and results else results, indent=2))
    return 1 if failed else 0
