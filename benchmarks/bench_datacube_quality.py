"""Time to quality of the datacube encoder: the v1 design (full-resolution CNN stem) vs today's patch embedding.

Both are `AstroDatacubeModel` at the `astro-datacube-small` grid (12 months x 8 levels x 32 x 64, tubelets
3 x 2 x 8 x 8, 512 tokens, ViT width 256 x 6 layers) with the variables the generator makes (ta, hus); they differ
only in `stem_channels` ([32, 64], the v1 preset, vs none). Each is trained for the same wall time on the same
GENERATED cubes (the energy-balance generator of `astrobio_hf.data.modalities.climate_generator`, labelled as
generated: zonally symmetric, Earth-like to cold/hot planets), in alternating slices so machine load hits both alike;
only each model's own training steps count towards its time. The held-out split (cubes never trained on) is scored
with the masked-reconstruction MSE (normalised units) under fixed masks, the same for both models, next to the
baseline that predicts the training mean of each variable (MSE about 1 by construction) and a per-voxel training
climatology (the mean training cube).

    python benchmarks/bench_datacube_quality.py --write              # 300 cubes, 300 s each
    python benchmarks/bench_datacube_quality.py --cubes 40 --seconds 20   # a smoke run

The real climate files in shared/data/real/climate_model do not fit this grid (GISS: 2 x 2 points on 2 levels;
GFS: one time step; ERA-Interim: 2 months on 3 levels without temperature), so they are not used here.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.append(ROOT)

from benchmarks._common import count_flops, write_section  # noqa: E402

SECTION = "Datacube time to quality: CNN stem (v1) vs patch embedding"
VARIABLES = ("ta", "hus")


def generated_cubes(count: int, seed: int, cache: Path) -> np.ndarray:
    """`[count, 2, 12, 8, 32, 64]` physical-unit cubes from the energy-balance generator (cached as .npy)."""
    from astrobio_hf.data.modalities.climate_cubes import CubeGrid
    from astrobio_hf.data.modalities.climate_generator import EBMParameters, generate_climate_cube
    from astrobio_hf.models.datacube import DATACUBE_PRESETS

    small = DATACUBE_PRESETS["small"]
    path = cache / f"ebm_cubes_{count}_{seed}.npy"
    if path.exists():
        return np.load(path)
    grid = CubeGrid.regular(n_time=small["num_time"], levels_hpa=tuple(small["pressure_levels"]),
                            n_lat=small["num_lat"], n_lon=small["num_lon"])
    rng = np.random.default_rng(seed)
    cubes = []
    for _ in range(count):
        params = EBMParameters(instellation=float(rng.uniform(0.75, 1.35)),
                               orbital_period_days=float(rng.uniform(60.0, 700.0)),
                               obliquity_deg=float(rng.uniform(0.0, 45.0)),
                               stellar_teff=float(rng.uniform(3000.0, 6500.0)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            cubes.append(generate_climate_cube(params, grid, VARIABLES).data)
    data = np.stack(cubes).astype(np.float32)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, data)
    return data


def build(stem_channels: list[int], mean: list[float], std: list[float]):
    from astrobio_hf.models.datacube import DATACUBE_PRESETS, AstroDatacubeConfig, AstroDatacubeModel

    kwargs = {**DATACUBE_PRESETS["small"], "num_variables": 2, "variable_names": list(VARIABLES),
              "normalization_mean": mean, "normalization_std": std, "stem_channels": stem_channels}
    torch.manual_seed(0)
    return AstroDatacubeModel(AstroDatacubeConfig(**kwargs))


@torch.no_grad()
def held_out_loss(model, cubes: torch.Tensor, masks: torch.Tensor, batch: int) -> float:
    model.eval()
    total = 0.0
    for i in range(0, len(cubes), batch):
        out = model(climate_cube=cubes[i:i + batch], patch_mask=masks[i:i + batch])
        total += out.reconstruction_loss.item() * len(cubes[i:i + batch])
    model.train()
    return total / len(cubes)


def baseline_losses(train: torch.Tensor, held_out: torch.Tensor, masks: torch.Tensor, patch) -> dict[str, float]:
    from astrobio_hf.models.datacube.modeling_datacube import masked_reconstruction_loss, patchify

    target = patchify(held_out, patch)
    zeros = masked_reconstruction_loss(torch.zeros_like(target), target, masks).item()  # normalised: the train mean
    climatology = patchify(train.mean(dim=0, keepdim=True).expand_as(held_out), patch)
    return {"training mean per variable": zeros,
            "training climatology (mean cube)": masked_reconstruction_loss(climatology, target, masks).item()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cubes", type=int, default=300)
    parser.add_argument("--held-out", type=float, default=0.2)
    parser.add_argument("--seconds", type=float, default=300.0, help="training wall time per model")
    parser.add_argument("--slice", type=float, default=30.0, help="seconds per alternating slice")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/astrobio-bench-cubes"))
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, = cores)")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from astrobio_hf.models.datacube.modeling_datacube import random_patch_mask

    start = time.perf_counter()
    physical = torch.from_numpy(generated_cubes(args.cubes, 0, args.cache))
    generation_s = time.perf_counter() - start
    n_held = max(1, round(args.held_out * len(physical)))
    order = torch.randperm(len(physical), generator=torch.Generator().manual_seed(0))
    train_phys, held_phys = physical[order[n_held:]], physical[order[:n_held]]
    dims = (0, 2, 3, 4, 5)
    mean, std = train_phys.mean(dim=dims), train_phys.std(dim=dims)
    shape = (1, -1, 1, 1, 1, 1)
    train = (train_phys - mean.view(shape)) / std.view(shape)
    held_out = (held_phys - mean.view(shape)) / std.view(shape)

    models = {"v1: CNN stem [32, 64]": build([32, 64], mean.tolist(), std.tolist()),
              "patch embedding (presets now)": build([], mean.tolist(), std.tolist())}
    cfg = next(iter(models.values())).config
    masks = random_patch_mask(len(held_out), cfg.num_patches, cfg.mask_ratio, torch.device("cpu"),
                              generator=torch.Generator().manual_seed(1))
    baselines = baseline_losses(train, held_out, masks, cfg.patch_shape)

    state = {}
    for name, model in models.items():
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
        warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 20))
        flops = count_flops(lambda m=model: m(climate_cube=train[: args.batch]).loss.backward())
        model.zero_grad(set_to_none=True)
        state[name] = {"model": model, "optimizer": optimizer, "scheduler": warmup, "seconds": 0.0, "steps": 0,
                       "epoch_order": torch.randperm(len(train), generator=torch.Generator().manual_seed(2)),
                       "cursor": 0, "flops_per_step": flops, "curve": []}
        print(f"{name}: {sum(p.numel() for p in model.parameters()):,} parameters, {flops / 1e9:.1f} GFLOP/step",
              flush=True)

    checkpoints = [args.seconds * f for f in (0.25, 0.5, 1.0)]
    while any(s["seconds"] < args.seconds for s in state.values()):
        for name, s in state.items():
            slice_end = min(s["seconds"] + args.slice, args.seconds)
            while s["seconds"] < slice_end:
                if s["cursor"] + args.batch > len(train):
                    s["epoch_order"], s["cursor"] = torch.randperm(len(train)), 0
                rows = s["epoch_order"][s["cursor"]:s["cursor"] + args.batch]
                s["cursor"] += args.batch
                tick = time.perf_counter()
                loss = s["model"](climate_cube=train[rows]).loss
                loss.backward()
                s["optimizer"].step()
                s["scheduler"].step()
                s["optimizer"].zero_grad(set_to_none=True)
                s["seconds"] += time.perf_counter() - tick
                s["steps"] += 1
                while len(s["curve"]) < len(checkpoints) and s["seconds"] >= checkpoints[len(s["curve"])]:
                    value = held_out_loss(s["model"], held_out, masks, 8)
                    s["curve"].append((s["seconds"], s["steps"], value))
                    print(f"{name}: {s['seconds']:.0f} s, {s['steps']} steps, held-out masked MSE {value:.4f}",
                          flush=True)

    header = [f"{int(c)} s" for c in checkpoints]
    lines = [
        f"{len(train)} training and {len(held_out)} held-out GENERATED cubes (energy-balance generator, ta + hus, "
        f"{' x '.join(map(str, cfg.grid_shape[1:]))} grid; {generation_s:.0f} s to generate or load); batch "
        f"{args.batch}, AdamW lr {args.lr:g} (20-step warmup), weight decay 0.05, mask ratio {cfg.mask_ratio}; "
        f"{args.seconds:.0f} s of training per model in alternating {args.slice:.0f} s slices on the shared 2-core "
        f"machine (torch threads {torch.get_num_threads()}). Metric: masked-reconstruction MSE on the held-out split (normalised units; the same fixed masks "
        "for every row), lower is better.",
        "",
        "| model | parameters | GFLOP / train step | steps in the budget | "
        + " | ".join(f"held-out MSE at {h}" for h in header) + " |",
        "|---|---:|---:|---:|" + "---:|" * len(header),
    ]
    for name, s in state.items():
        params = sum(p.numel() for p in s["model"].parameters())
        values = " | ".join(f"{v:.4f} ({st} steps)" for _, st, v in s["curve"])
        lines.append(f"| {name} | {params:,} | {s['flops_per_step'] / 1e9:.1f} | {s['steps']} | {values} |")
    for name, value in baselines.items():
        lines.append(f"| baseline: {name} | 0 | - | - | " + " | ".join(f"{value:.4f}" for _ in header) + " |")
    body = "\n".join(lines)
    print(body)
    if args.write:
        write_section(SECTION, body)
    return 0 if all(math.isfinite(v) for s in state.values() for _, _, v in s["curve"]) else 1


if __name__ == "__main__":
    sys.exit(main())
