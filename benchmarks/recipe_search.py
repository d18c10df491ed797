"""Out-of-fold figures of the multimodal model alone for a variant of the demo recipe (docs/results.md, "What was
tried"): the same host-grouped folds, training and threshold as `astrobio-hf evaluate --folds`, without the baselines,
ablations and bootstrap, so that recipe variants can be compared quickly.

    python benchmarks/recipe_search.py --dataset-path outputs/demo/dataset --name no-early-stopping \
        --overrides '{"early_stopping_patience": 0}' [--workers 2] [--folds 5] [--seed 0]

Prints one JSON line: pooled out-of-fold hz_class macro-F1, habitable PR-AUC, F1 / recall / precision at each fold's
validation threshold, and (epochs, seconds) per fold. Each fold trains with one torch thread.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from astrobio_hf.evaluation.crossval import _map, pooled_rows, train_and_score_fold  # noqa: E402
from astrobio_hf.evaluation.folds import host_folds  # noqa: E402
from astrobio_hf.evaluation.metrics import habitability_metrics  # noqa: E402


def fold_job(dataset_dir: Path, assignment: np.ndarray, fold: int, recipe: dict):
    """Train and score one fold (in a worker process): test rows, probabilities, hz classes, threshold, epochs, s."""
    from astrobio_hf.evaluation.fold_training import recipe_dict

    _, _, split, trained, pred = train_and_score_fold(dataset_dir, assignment, fold, recipe_dict(recipe), threads=1)
    return split.test, pred.probability, pred.hz_class, pred.threshold, trained.epochs, trained.seconds


def main() -> None:
    from astrobio_hf.training.cli_args import load_recipe

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset-path", type=Path, required=True)
    parser.add_argument("--name", default="recipe")
    parser.add_argument("--overrides", default="{}", help="JSON object of recipe keys to change")
    parser.add_argument("--recipe", type=Path, default=REPO / "configs" / "demo_real_cpu.yaml")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--save", type=Path, default=None,
                        help="write the out-of-fold rows (index, fold, probability, hz_class, threshold) to this .npz")
    args = parser.parse_args()
    recipe = {**load_recipe(args.recipe), **json.loads(args.overrides)}
    _, _, rows = pooled_rows(args.dataset_path)
    assignment = host_folds(rows.hosts, rows.habitability, args.folds, args.seed)
    n = len(rows)
    probability, hz, threshold = np.zeros(n), np.zeros(n, dtype=int), np.zeros(n)
    started, per_fold = time.perf_counter(), []
    jobs = [dict(dataset_dir=args.dataset_path, assignment=assignment, fold=f, recipe=recipe)
            for f in range(args.folds)]
    for test, p, h, t, epochs, seconds in _map(fold_job, jobs, args.workers):
        probability[test], hz[test], threshold[test] = p, h, t
        per_fold.append((round(epochs), round(seconds)))
    if args.save:
        np.savez(args.save, test_fold=assignment, probability=probability, hz_class=hz, threshold=threshold,
                 habitability=rows.habitability, hz_true=rows.hz_class, hosts=np.asarray(rows.hosts))
    m = habitability_metrics(rows.habitability, probability, rows.hz_class, hz, threshold=threshold)
    print(json.dumps({"name": args.name, "overrides": json.loads(args.overrides),
                      **{k: round(m[k], 4) for k in ("hz_macro_f1", "pr_auc", "f1", "recall", "precision")},
                      "folds": per_fold, "seconds": round(time.perf_counter() - started)}))


if __name__ == "__main__":
    main()
