"""Push a prepared dataset to a PRIVATE dataset repository on the hub (huggingface.co or HF_ENDPOINT), with a
dataset card.

What is pushed, one of: a folder written by ``save_to_disk`` (e.g. ``astrobio-hf prepare --dataset multimodal``'s
output; its ``multimodal_spec.json``, ``multimodal_report.json`` and ``README.md`` card are uploaded beside the data),
or a source's Arrow cache, built or reused exactly as ``prepare`` does, pushed as its ``train`` split with a card
written from the builder's documented columns.

The repository is created private first and the hub is asked whether it really is private before any byte is
uploaded (the hub ignores ``private`` for a repository that already exists): an existing PUBLIC repository is
refused unless ``make_private``. Then ``Dataset(Dict).push_to_hub(repo, private=True)``. The token comes from
``HF_TOKEN`` (or a stored ``hf auth login``) and the endpoint from ``HF_ENDPOINT``, through ``astrobio_hf.sharing.hub``'s
helpers; the token is never printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

SIDE_FILES = ("multimodal_spec.json", "multimodal_report.json")


def load_prepared(args: argparse.Namespace) -> tuple[Any, str]:
    """The Dataset / DatasetDict to push (``--from-disk`` or a source's prepared cache) and its card text."""
    import datasets

    from ..data.dataset_card import CARD_FILENAME, multimodal_card, source_card

    if args.from_disk is not None:
        if not args.from_disk.is_dir():
            raise FileNotFoundError(f"--from-disk {args.from_disk} is not a directory")
        data = datasets.load_from_disk(str(args.from_disk))
        card = args.from_disk / CARD_FILENAME
        if card.is_file():
            return data, card.read_text(encoding="utf-8")
        if (args.from_disk / "multimodal_spec.json").is_file():
            return data, multimodal_card(args.from_disk)
        return data, ""
    from ..commands.prepare import config_options
    from ..data.sources import get_builder

    builder = get_builder(args.source, cache_dir=None if args.cache_dir is None else str(args.cache_dir),
                          data_dir=args.data_dir, on_bad_file="skip" if args.skip_bad_files else "raise",
                          **config_options(args.config))
    builder.download_and_prepare()
    for skipped in builder.skipped_files:
        print(f"skipped {skipped['file']}: {skipped['error']}", file=sys.stderr)
    train = builder.as_dataset(split="train")
    return datasets.DatasetDict({"train": train}), source_card(builder, rows=train.num_rows)


def ensure_private_dataset_repo(api: Any, endpoint: str, repo_id: str, make_private: bool) -> None:
    """Create the dataset repo private (no-op if it exists) and check the hub reports it private."""
    from astrobio_hf.sharing.hub import HubPrivacyError, hub_errors

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
         max_shard_size: str | None = None, side_dir: Path | None = None, card: str = "") -> str:
    """Push ``data`` to the private dataset repo ``repo_id`` (with ``card``'s prose and metadata merged into the card
    `push_to_hub` writes, whose `dataset_info`/`configs` the hub needs); returns the repository URL."""
    from huggingface_hub import HfApi

    from astrobio_hf.sharing.hub import HubAuthError, HubError, hub_endpoint, hub_errors, hub_token

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
        if card:
            _merge_card(repo_id, card, token, commit_message)
    return f"{endpoint}/datasets/{repo_id}"


def _merge_card(repo_id: str, card: str, token: str, commit_message: str) -> None:
    from huggingface_hub import DatasetCard

    from ..data.dataset_card import card_parts

    meta, prose = card_parts(card)
    pushed = DatasetCard.load(repo_id, repo_type="dataset", token=token)
    for key, value in meta.items():
        if key not in ("dataset_info", "configs"):
            pushed.data[key] = value
    pushed.text = prose
    pushed.push_to_hub(repo_id, repo_type="dataset", token=token, commit_message=f"{commit_message}: dataset card")


__all__ = ["SIDE_FILES", "load_prepared", "ensure_private_dataset_repo", "push"]
