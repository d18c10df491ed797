"""`astrobio-hf validate-sources`: per source, is the endpoint reachable, is a needed token set, does a sample parse.

Prints a table (or, with --json, a list of per-source objects) and exits 1 when any check fails; "skipped",
"n/a", "not set" (optional token) and "no sample" are not failures. See `astrobio_hf.data.validate`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate-sources", help="check every archive: endpoint reachable, tokens set, a sample file parses",
        description="For each source: one light request to its resolved base URL (ASTROBIO_<SOURCE>_URL overrides "
                    "it), which credential env vars it reads (set / not set, never the value), and, with "
                    "--data-dir, whether the first native file of ROOT/<key> (or an alias folder such as jwst, "
                    "kepler_k2, tess, eso, gemini) parses. Exit code 1 when a check fails.")
    parser.add_argument("--offline", action="store_true",
                        help="do not send any request (also implied for non-loopback hosts by HF_DATASETS_OFFLINE / "
                             "HF_HUB_OFFLINE)")
    parser.add_argument("--data-dir", type=Path, default=None, metavar="ROOT",
                        help="folder with one sub-folder of native files per source key (or alias)")
    parser.add_argument("--source", nargs="+", action="extend", default=None, metavar="KEY",
                        help="only these sources (default: all 13)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="S",
                        help="seconds to wait for each endpoint (one request, no retries; default 10)")
    parser.add_argument("--json", action="store_true", help="print a JSON list of per-source objects")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.sources import SOURCE_PATHS
    from ..data.validate import format_table, reports_as_dicts, validate_sources

    unknown = [k for k in args.source or () if k not in SOURCE_PATHS]
    if unknown:
        print(f"error: unknown source(s) {', '.join(unknown)}; known: {', '.join(SOURCE_PATHS)}", file=sys.stderr)
        return 2
    if args.data_dir is not None and not args.data_dir.is_dir():
        print(f"error: --data-dir {args.data_dir} is not a directory", file=sys.stderr)
        return 2
    if args.timeout <= 0:
        print("error: --timeout must be positive", file=sys.stderr)
        return 2
    reports = validate_sources(args.source, data_dir=args.data_dir, offline=args.offline, timeout_s=args.timeout)
    if args.json:
        print(json.dumps(reports_as_dicts(reports), indent=2, default=str))
    else:
        print(format_table(reports))
    return 0 if all(r.ok for r in reports) else 1
