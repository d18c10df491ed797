"""Training-loop overhead: samples/s of train.py (AstroTrainer) against a plain PyTorch loop doing the same work.

    python benchmarks/bench_train_loop.py --dataset-path outputs/demo/dataset [--epochs 10] [--threads 1] [--write]

Both sides train the same model (the recipe's preset and overrides, built by the same `multimodal_task`, same seed)
on the same train split with the same batch size, optimizer (the recipe's `optim`, torch AdamW fused), OneCycle
schedule and gradient clipping, for the same number of epochs, in the same process, alternating which runs first:
- `plain loop`: batches collated once before the clock starts (only forward, backward, clip, step, schedule and
  zero_grad are timed): the floor the model itself sets;
- `train.py, loop only`: `train.main` with the recipe and `--eval_strategy no --save_strategy no`: the Trainer's
  loop, data loading from Arrow and collation included (its `train_samples_per_second`);
- `train.py, recipe`: `train.main` with the recipe as `make demo` runs it (evaluation, checkpoint and best-model
  tracking every epoch, early stopping).
Reported: samples/s of each and the ratio to the plain loop (target: train.py at >= 50% of it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import median, write_section  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "configs" / "demo_real_cpu.yaml"


def _argv(dataset: Path, out: Path, epochs: int, loop_only: bool) -> list[str]:
    argv = [str(RECIPE), "--dataset_path", str(dataset), "--output_dir", str(out), "--num_train_epochs", str(epochs),
            "--early_stopping_patience", "0", "--memory_profile_steps", "0"]
    if loop_only:
        argv += ["--eval_strategy", "no", "--save_strategy", "no", "--load_best_model_at_end", "false",
                 "--do_eval", "false"]
    return argv


def train_py(dataset: Path, epochs: int, loop_only: bool) -> float:
    """samples/s of train.py's training loop as the Trainer reports it (process start-up not counted)."""
    import train  # the repository's entry point

    with tempfile.TemporaryDirectory(prefix="bench-train-loop-") as out:
        results = train.main(_argv(dataset, Path(out) / "model", epochs, loop_only))
    return float(results["train"]["train_samples_per_second"])


def plain_loop(dataset: Path, epochs: int) -> float:
    """samples/s of a hand-written loop over the same model, batches and optimizer (batches collated up front)."""
    from transformers import set_seed

    from astrobio_hf.training.cli_args import parse_train_args
    from astrobio_hf.training.tasks import build_task

    with tempfile.TemporaryDirectory(prefix="bench-plain-loop-") as out:
        model_args, data_args, args = parse_train_args(_argv(dataset, Path(out), epochs, loop_only=True))
    set_seed(args.seed)
    task = build_task(model_args, data_args, seed=args.seed)
    model, rows = task.model.train(), task.train_dataset
    batch = args.per_device_train_batch_size
    generator = torch.Generator().manual_seed(args.seed)
    epochs_of_batches = []
    for _ in range(epochs):
        order = torch.randperm(len(rows), generator=generator).tolist()
        epochs_of_batches.append([task.data_collator(rows.__getitems__(order[i:i + batch]))
                                  for i in range(0, len(order), batch)])
    steps = sum(len(e) for e in epochs_of_batches)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}],
                                  lr=args.learning_rate, fused=True)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.learning_rate, total_steps=steps,
                                                   pct_start=float(args.warmup_steps), anneal_strategy="cos",
                                                   cycle_momentum=False)
    started = time.perf_counter()
    for batches in epochs_of_batches:
        for inputs in batches:
            loss = model(**inputs).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, args.max_grad_norm)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
    return len(rows) * epochs / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset-path", type=Path, required=True, help="the demo's dataset (make demo)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are reported")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--write", action="store_true", help="write the figures to benchmarks/RESULTS.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(REPO))
    candidates = {"plain loop": lambda: plain_loop(args.dataset_path, args.epochs),
                  "train.py, loop only": lambda: train_py(args.dataset_path, args.epochs, loop_only=True),
                  "train.py, recipe": lambda: train_py(args.dataset_path, args.epochs, loop_only=False)}
    figures: dict[str, list[float]] = {name: [] for name in candidates}
    names = list(candidates)
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            figures[name].append(candidates[name]())
            print(json.dumps({"round": r, name: round(figures[name][-1], 1)}), flush=True)
    floor = median(figures["plain loop"])
    lines = [f"| path | samples/s (median of {args.rounds}) | ratio to the plain loop |", "|---|---:|---:|"]
    for name, values in figures.items():
        lines.append(f"| {name} | {median(values):,.0f} | {median(values) / floor:.2f} |")
    body = (f"The demo recipe (`configs/demo_real_cpu.yaml`) on `{args.dataset_path.name}`'s train split, "
            f"{args.epochs} epochs per run, {args.threads} torch thread(s), runs alternated.\n\n" + "\n".join(lines)
            + "\n\nTarget: train.py at >= 0.50 of the plain loop.")
    print(body)
    if args.write:
        write_section("Training loop against a plain PyTorch loop", body)


if __name__ == "__main__":
    main()
