#!/usr/bin/env python
"""Push a prepared dataset to a PRIVATE dataset repository on the hub (huggingface.co or HF_ENDPOINT).

What is pushed, one of:

* ``--from-disk DIR``: a folder written by ``save_to_disk`` (e.g. ``astrobio-hf prepare --dataset multimodal``'s
  output; its ``multimodal_spec.json`` and ``multimodal_report.json`` are uploaded beside the data);
* ``--source KEY``: a source's Arrow cache, built or reused exactly as ``prepare`` does (same ``--data-dir``,
  ``--cache-dir``, ``--config``, ``--skip-bad-files`` flags), pushed as its ``train`` split.

The repository is created private first and the hub is asked whether it really is private before any byte is
uploaded (the hub ignores ``private`` for a repository that already exists): an existing PUBLIC repository is
refused unless ``--make-private``. Then ``Dataset(Dict).push_to_hub(repo, private=True)``. The token comes from
``HF_TOKEN`` (or a stored ``hf auth login``) and the endpoint from ``HF_ENDPOINT``, through
``astrobio_hf.hub``'s helpers; the token is never printed. Prints the repository URL.

    HF_TOKEN=... python data_scripts/push_dataset.py --source exoplanets_org --data-dir dumps/exoplanets_org \\
        --repo my-org/exoplanets-org
    HF_TOKEN=... python data_scripts/push_dataset.py --from-disk multimodal_dataset --repo my-org/astrobio-mm
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

SIDE_FILES = ("multimodal_spec.json", "multimodal_report.json")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="data_scripts/push_dataset.py", description=__doc__.split("\n\n")[0])
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
    return parser


def load_prepared(args: argparse.Namespace) -> Any:
    """The Dataset / DatasetDict to push (``--from-disk`` or a source's prepared cache)."""
    import datasets

    if args.from_disk is not None:
        if not args.from_disk.is_dir():
            raise FileNotFoundError(f"--from-disk {args.from_disk} is not a directory")
        return datasets.load_from_disk(str(args.from_disk))
    from astrobio_hf.commands.prepare import config_options
    from astrobio_hf.data.sources import get_builder

    builder = get_builder(args.source, cache_dir=None if args.cache_dir is None else str(args.cache_dir),
                          data_dir=args.data_dir, on_bad_file="skip" if args.skip_bad_files else "raise",
                          **config_options(args.config))
    builder.download_and_prepare()
    for skipped in builder.skipped_files:
        print(f"skipped {skipped['file']}: {skipped['error']}", file=sys.stderr)
    return datasets.DatasetDict({"train": builder.as_dataset(split="train")})


def ensure_private_dataset_repo(api: Any, endpoint: str, repo_id: str, make_private: bool) -> None:
    """Create the dataset repo private (no-op if it exists) and check the hub reports it private."""
    from astrobio_hf.hub import HubPrivacyError, hub_errors

    with hub_errors(endpoint, repo_id, "creating the dataset repository"):
        api.create_repo(repo_id, repo_type="dataset", private=True, exist_ok=True)
        info = api.repo_info(repo_id, repo_type="dataset")
    if info.private:
        return
    if not make_private:
        raise HubPrivacyError(f"dataset repository {repo_id} already exists at {endpoint} and is PUBLIC; nothing "
                              "was uploaded. Make it private on the hub, or pass --make-private.")
    with hub_errors(endpoint, repo_id, "making the dataset repository private"):
        api.update_repo_settings(repo_id, private=True, repo_type="dataset")
        info = api.repo_info(repo_id, repo_type="dataset")
    if not info.private:
        raise HubPrivacyError(f"the hub at {endpoint} still reports {repo_id} as public; nothing was uploaded.")


def push(data: Any, repo_id: str, *, commit_message: str, make_private: bool = False,
         max_shard_size: str | None = None, side_dir: Path | None = None) -> str:
    """Push ``data`` to the private dataset repo ``repo_id``; returns the repository URL."""
    from huggingface_hub import HfApi

    from astrobio_hf.hub import HubAuthError, HubError, hub_endpoint, hub_errors, hub_token

    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise HubError(f"repository id {repo_id!r} must look like ORG/NAME")
    endpoint = hub_endpoint()
    token = hub_token()
    if token is None:
        raise HubAuthError(f"no token for the hub at {endpoint}: set HF_TOKEN (or run `hf auth login`).")
    api = HfApi(endpoint=endpoint, token=token, library_name="astrobio-hf")
    ensure_private_dataset_repo(api, endpoint, repo_id, make_private)
    kwargs = {"max_shard_size": max_shard_size} if max_shard_size else {}
    with hub_errors(endpoint, repo_id, "uploading the dataset"):
        data.push_to_hub(repo_id, private=True, token=token, commit_message=commit_message, **kwargs)
        for name in SIDE_FILES:
            if side_dir is not None and (side_dir / name).is_file():
                api.upload_file(path_or_fileobj=str(side_dir / name), path_in_repo=name, repo_id=repo_id,
                                repo_type="dataset", commit_message=f"{commit_message}: {name}")
    return f"{endpoint}/datasets/{repo_id}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from astrobio_hf.data.download import DownloadError
    from astrobio_hf.data.sources import SourceFormatError, SourceNotAvailable
    from astrobio_hf.hub import HubError

    try:
        data = load_prepared(args)
        url = push(data, args.repo, commit_message=args.commit_message, make_private=args.make_private,
                   max_shard_size=args.max_shard_size, side_dir=args.from_disk)
    except (HubError, SourceFormatError, SourceNotAvailable, DownloadError, FileNotFoundError, KeyError,
            ValueError) as exc:
        print(f"push_dataset: error: {exc}", file=sys.stderr)
        return 1
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
