"""`astrobio-hf evaluate --model DIR --dataset DIR [--split test] [--protocol full|withheld]`: a checkpoint next to
baselines fitted on the train split, with rare-class metrics, host-bootstrap intervals and modality ablations."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="score a multimodal checkpoint on a split next to baselines (results.json, table, figure)",
        description=__doc__)
    parser.add_argument("--model", required=True, type=Path, metavar="DIR", help="folder written by save_pretrained")
    parser.add_argument("--dataset", required=True, type=Path, metavar="DIR",
                        help="multimodal dataset folder (astrobio-hf prepare --dataset multimodal)")
    parser.add_argument("--split", default="test", help="split to score (default: test)")
    parser.add_argument("--protocol", choices=["full", "withheld"], default=None,
                        help="default: the protocol the dataset was prepared with")
    parser.add_argument("--output", type=Path, default=None,
                        help="folder for results.json, results.md, figure.png (default: MODEL/evaluation/SPLIT_PROTOCOL)")
    parser.add_argument("--resamples", type=int, default=200, help="host-bootstrap resamples (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-ablations", action="store_true", help="skip the one-modality-removed runs")
    parser.add_argument("--no-card", action="store_true", help="do not rewrite MODEL/README.md with the results")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluation import EvaluationError, evaluate
    from ..evaluation.report import markdown_table
    from ..sharing.hub import ModelSourceError, check_model_source

    try:
        check_model_source(args.model)
        if not args.model.is_dir():  # evaluate reads a local folder only
            raise ModelSourceError(f"--model {args.model}: no such folder")
        results = evaluate(args.model, args.dataset, split=args.split, protocol=args.protocol, out_dir=args.output,
                           ablations=not args.no_ablations, n_resamples=args.resamples, seed=args.seed)
    except (EvaluationError, FileNotFoundError, KeyError, ValueError) as exc:
        print(f"astrobio-hf evaluate: error: {exc}", file=sys.stderr)
        return 1
    if not args.no_card and (args.model / "config.json").is_file():
        from ..sharing.model_card import write_model_card

        write_model_card(args.model)
    print(markdown_table(results))
    return 0
