"""`astrobio-hf evaluate --model DIR --dataset DIR [--split test] [--protocol PROTOCOL]`: a checkpoint next to
baselines fitted on the train split, with rare-class metrics, host-bootstrap intervals and modality ablations.

`--folds K`: out-of-fold evaluation instead: the checkpoint's recipe (or `--recipe FILE`) and every baseline are
retrained on host-grouped folds of all the dataset's labelled planets, each planet scored once out of fold, with
paired differences (model minus each baseline) over the same resampled hosts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..data.protocols import PROTOCOLS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="score a multimodal checkpoint on a split next to baselines (results.json, table, figure)",
        description=__doc__)
    parser.add_argument("--model", type=Path, metavar="DIR",
                        help="folder written by save_pretrained (with --folds: the run whose recipe is retrained; "
                             "results go under DIR/evaluation/cvK_PROTOCOL and into its card)")
    parser.add_argument("--dataset", required=True, type=Path, metavar="DIR",
                        help="multimodal dataset folder (astrobio-hf prepare --dataset multimodal)")
    parser.add_argument("--split", default="test", help="split to score (default: test)")
    parser.add_argument("--protocol", choices=PROTOCOLS, default=None,
                        help="default: the protocol the dataset was prepared with")
    parser.add_argument("--output", type=Path, default=None,
                        help="folder for results.json, results.md, figure.png (default: MODEL/evaluation/SPLIT_PROTOCOL)")
    parser.add_argument("--resamples", type=int, default=200, help="host-bootstrap resamples (default 200)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-ablations", action="store_true", help="skip the one-modality-removed runs")
    parser.add_argument("--no-card", action="store_true", help="do not rewrite MODEL/README.md with the results")
    parser.add_argument("--folds", type=int, default=None, metavar="K",
                        help="out-of-fold evaluation over K host-grouped folds (the demo uses 5)")
    parser.add_argument("--recipe", type=Path, default=None, metavar="FILE",
                        help="with --folds: the train.py recipe to retrain (default: the one recorded with --model)")
    parser.add_argument("--workers", type=int, default=1, help="with --folds: folds trained side by side")
    parser.add_argument("--threads", type=int, default=None, help="with --folds: torch threads per worker")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluation import EvaluationError, evaluate
    from ..evaluation.report import markdown_table
    from ..sharing.hub import ModelSourceError, check_model_source

    if args.model is None and (args.folds is None or args.recipe is None):
        print("astrobio-hf evaluate: error: --model is required (with --folds, --recipe FILE may stand in for it)",
              file=sys.stderr)
        return 2
    try:
        if args.model is not None:
            check_model_source(args.model)
            if not args.model.is_dir():  # evaluate reads a local folder only
                raise ModelSourceError(f"--model {args.model}: no such folder")
        if args.folds is not None:
            from ..evaluation.crossval import cross_validate

            if args.protocol is not None:
                raise ValueError("--folds retrains on the dataset as prepared: its protocol is the dataset's "
                                 "(prepare it with --protocol instead of passing --protocol here)")
            results = cross_validate(args.dataset, model_dir=args.model, recipe=args.recipe, folds=args.folds,
                                     seed=args.seed, n_resamples=args.resamples, ablations=not args.no_ablations,
                                     out_dir=args.output, workers=args.workers, threads=args.threads)
        else:
            results = evaluate(args.model, args.dataset, split=args.split, protocol=args.protocol,
                               out_dir=args.output, ablations=not args.no_ablations, n_resamples=args.resamples,
                               seed=args.seed)
    except (EvaluationError, FileNotFoundError, KeyError, ValueError) as exc:
        print(f"astrobio-hf evaluate: error: {exc}", file=sys.stderr)
        return 1
    if not args.no_card and args.model is not None and (args.model / "config.json").is_file():
        from ..sharing.model_card import write_model_card

        write_model_card(args.model)
    print(markdown_table(results))
    return 0
