"""`astrobio-hf push --model DIR --repo ORG/NAME`: upload a saved checkpoint to a PRIVATE hub repository.

The repository is always created private (there is no flag for a public one); the endpoint comes from HF_ENDPOINT
and the token from HF_TOKEN. Prints the repository URL on stdout; errors go to stderr and never show the token.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "push", help="upload a saved model folder to a private hub repository (HF_ENDPOINT, HF_TOKEN)",
        description="Create ORG/NAME as a private repository on the hub at HF_ENDPOINT (huggingface.co by default) "
                    "and upload the folder written by save_pretrained: weights, config, tokenizer files and the "
                    "README.md model card. The token is read from HF_TOKEN and never printed.")
    parser.add_argument("--model", required=True, metavar="DIR", help="folder written by save_pretrained")
    parser.add_argument("--repo", required=True, metavar="ORG/NAME", help="repository id on the hub")
    parser.add_argument("--commit-message", default=None, help="commit message (default: %(prog)s's)")
    parser.add_argument("--make-private", action="store_true",
                        help="if ORG/NAME already exists and is public, switch it to private before uploading "
                             "(without this flag a public repository is refused and nothing is uploaded)")
    parser.add_argument("--remote-code", action="store_true",
                        help="also upload the model code (flattened) and an auto_map, so that "
                             "AutoModel.from_pretrained(ORG/NAME, trust_remote_code=True) works without astrobio-hf")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..sharing.hub import DEFAULT_COMMIT_MESSAGE, HubError, push_model

    try:
        if args.remote_code:
            _ensure_remote_code(args.model)
        url = push_model(args.model, args.repo, private=True, make_private=args.make_private,
                         commit_message=args.commit_message or DEFAULT_COMMIT_MESSAGE)
    except (HubError, FileNotFoundError, ValueError) as exc:
        print(f"astrobio-hf push: error: {exc}", file=sys.stderr)
        return 1
    print(url)
    return 0


def _ensure_remote_code(folder: str) -> None:
    """Models saved by train.py already carry their code; an older folder gets it now, and the user is told."""
    import json
    from pathlib import Path

    from ..sharing.remote_code import add_remote_code

    config = Path(folder) / "config.json"
    if config.is_file() and json.loads(config.read_text()).get("auto_map"):
        return
    before = {p.name for p in Path(folder).glob("*.py")}
    add_remote_code(folder)
    added = sorted({p.name for p in Path(folder).glob("*.py")} - before)
    print(f"astrobio-hf push: added the model code to {folder} ({len(added)} files: {', '.join(added)}) and an "
          "auto_map to its config.json", file=sys.stderr)
