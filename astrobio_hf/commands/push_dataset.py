"""`astrobio-hf push-dataset (--from-disk DIR | --source KEY ...) --repo ORG/NAME`: a prepared dataset, with its
dataset card, to a PRIVATE hub dataset repository (HF_ENDPOINT, HF_TOKEN). See `astrobio_hf.sharing.dataset_hub`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "push-dataset", help="upload a prepared dataset and its card to a private hub dataset repository",
        description="Create ORG/NAME as a private dataset repository at HF_ENDPOINT (huggingface.co by default) and "
                    "upload a folder written by save_to_disk (--from-disk, e.g. a multimodal dataset with its spec, "
                    "report and card) or a source's prepared Arrow cache (--source, built as prepare does). The token "
                    "is read from HF_TOKEN and never printed. Prints the repository URL.")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--from-disk", type=Path, metavar="DIR", help="folder written by save_to_disk")
    what.add_argument("--source", help="source key: push its prepared Arrow cache (built if missing)")
    parser.add_argument("--repo", required=True, metavar="ORG/NAME", help="dataset repository id on the hub")
    parser.add_argument("--data-dir", type=Path, default=None, help="with --source: local dump (as for prepare)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="with --source: datasets cache folder")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                        help="with --source: a builder config option (repeatable), as for prepare")
    parser.add_argument("--skip-bad-files", action="store_true", help="with --source: as for prepare")
    parser.add_argument("--commit-message", default="Upload dataset with astrobio-hf", help="commit message")
    parser.add_argument("--max-shard-size", default=None, help="e.g. 500MB (default: datasets' default)")
    parser.add_argument("--make-private", action="store_true",
                        help="if ORG/NAME exists and is public, switch it to private before uploading "
                             "(without this flag a public repository is refused and nothing is uploaded)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.download import DownloadError
    from ..data.sources import SourceFormatError, SourceNotAvailable
    from ..sharing.dataset_hub import load_prepared, push
    from ..sharing.hub import HubError

    try:
        data, card = load_prepared(args)
        url = push(data, args.repo, commit_message=args.commit_message, make_private=args.make_private,
                   max_shard_size=args.max_shard_size, side_dir=args.from_disk, card=card)
    except (HubError, SourceFormatError, SourceNotAvailable, DownloadError, FileNotFoundError, KeyError,
            ValueError) as exc:
        print(f"push_dataset: error: {exc}", file=sys.stderr)
        return 1
    print(url)
    return 0
