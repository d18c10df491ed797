"""8-bit vs 32-bit AdamW: optimizer-state bytes per parameter and step time, on a model of large tensors.

The model is a stack of square nn.Linear layers (large 2-D tensors, where bitsandbytes' 8-bit blockwise state
applies; tensors under 4096 elements keep fp32 state). Gradients are synthetic (filled once with a fixed seed), so
only the optimizer step is timed. torch.optim.AdamW (fp32 state) and bitsandbytes.optim.AdamW8bit are timed in
alternating order over several rounds; the table reports state bytes per parameter (measured from the optimizer's
state tensors after a step) and the median step time and ratio.

    python benchmarks/bench_optimizers.py --quick           # smoke test, prints only
    python benchmarks/bench_optimizers.py --write           # full run, updates benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._common import interleaved, median, write_section  # noqa: E402

SECTION = "Optimizers: 8-bit vs 32-bit AdamW"


def linear_stack(width: int, layers: int) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(width, width) for _ in range(layers)])
    for p in model.parameters():
        p.grad = torch.randn_like(p) * 1e-3
    return model


def state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes of the distinct storages in the optimizer state (shared quantisation maps counted once)."""
    storages = {}
    for state in optimizer.state.values():
        for value in state.values():
            if isinstance(value, torch.Tensor):
                storages[value.untyped_storage().data_ptr()] = value.untyped_storage().nbytes()
    return sum(storages.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test of the script")
    parser.add_argument("--write", action="store_true", help="update this script's section of benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.width, args.layers, args.rounds, args.steps = 256, 2, 2, 1
    import bitsandbytes as bnb

    models = {"torch AdamW (fp32 state)": linear_stack(args.width, args.layers),
              "bitsandbytes AdamW8bit": linear_stack(args.width, args.layers)}
    optimizers = {"torch AdamW (fp32 state)": torch.optim.AdamW(models["torch AdamW (fp32 state)"].parameters()),
                  "bitsandbytes AdamW8bit": bnb.optim.AdamW8bit(models["bitsandbytes AdamW8bit"].parameters())}
    for opt in optimizers.values():
        opt.step()  # creates the state
    num_params = sum(p.numel() for p in models["torch AdamW (fp32 state)"].parameters())
    times = interleaved({name: opt.step for name, opt in optimizers.items()}, args.rounds, args.steps)
    reference = median(times["torch AdamW (fp32 state)"])
    rows = [f"| {name} | {state_bytes(opt) / num_params:.3f} | {median(times[name]) * 1e3:.1f} | "
            f"{median(times[name]) / reference:.2f} |" for name, opt in optimizers.items()]
    body = "\n".join([
        f"{args.layers} x nn.Linear({args.width}, {args.width}): {num_params:,} parameters; synthetic gradients; "
        f"{args.rounds} alternating rounds of {args.steps} steps (median).",
        "",
        "| optimizer | state bytes / parameter | step time, ms (median) | step time / torch AdamW |",
        "|---|---:|---:|---:|",
        *rows,
    ])
    print(body)
    if args.write:
        write_section(SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
