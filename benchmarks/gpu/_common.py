"""Shared pieces of the GPU checks: the run wrapper that always writes a JSON, versions, device timing, matmul peak.

Every check is a script `check_NAME.py` with `plan(smoke)` (cheap, CPU: what it will do, run by the dry run) and
`run(args)` (the measurement). `main_for` wraps them: `--out FILE` gets a JSON whatever happens (status "ok" or
"error" with the traceback), `--smoke` runs the same code on the CPU at toy sizes, `--plan` prints the plan only.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PACKAGES = ("torch", "transformers", "accelerate", "peft", "torch_geometric", "huggingface_hub", "tokenizers",
            "bitsandbytes", "torchao", "flash_attn", "datasets")


def versions() -> dict[str, str | None]:
    """Installed versions of the packages the checks care about (None: not installed)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name.replace("_", "-"))
        except importlib.metadata.PackageNotFoundError:
            try:
                found[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                found[name] = None
    return found


def device_info() -> dict[str, Any]:
    import torch

    if not torch.cuda.is_available():
        return {"cuda": False}
    props = torch.cuda.get_device_properties(0)
    return {"cuda": True, "name": props.name, "capability": f"{props.major}.{props.minor}",
            "total_memory_gib": round(props.total_memory / 1024**3, 2), "multiprocessors": props.multi_processor_count,
            "torch_cuda": torch.version.cuda}


def write_json(path: str | os.PathLike, payload: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str))
    tmp.replace(path)


def main_for(name: str, plan: Callable[[bool], dict], run: Callable[[argparse.Namespace], dict],
             argv: list[str] | None = None, add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
             ) -> int:
    """Command-line entry of one check: always writes `--out` (a failure is a JSON with status 'error')."""
    parser = argparse.ArgumentParser(description=f"GPU check: {name}")
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--smoke", action="store_true", help="CPU, toy sizes: exercises the code, measures nothing")
    parser.add_argument("--plan", action="store_true", help="write the plan only (no model is run)")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    result: dict[str, Any] = {"check": name, "smoke": args.smoke}
    try:
        result["plan"] = plan(args.smoke)
        if not args.plan:
            if not args.smoke:
                import torch

                if not torch.cuda.is_available():
                    raise RuntimeError("no CUDA device: run with --smoke on a CPU host")
            result.update(run(args))
        result["status"] = "ok"
    except Exception as error:  # noqa: BLE001 - the JSON must say what failed, whatever it was
        result["status"] = "error"
        result["passed"] = False
        result["error"] = f"{type(error).__name__}: {error}"
        result["traceback"] = traceback.format_exc()[-6000:]
    result["wall_s"] = round(time.perf_counter() - start, 2)
    result["versions"] = versions()
    try:
        result["device"] = device_info()
    except Exception as error:  # noqa: BLE001
        result["device"] = {"error": str(error)}
    write_json(args.out, result)
    print(json.dumps({k: result.get(k) for k in ("check", "status", "passed", "wall_s", "error")}))
    return 0 if result["status"] == "ok" else 1


def synchronize(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bf16_train_step(model, batch: int, seq: int, device: str, fused: bool = False) -> Callable[[], None]:
    """One bf16-autocast causal-LM training step (forward, backward, AdamW over the trainable parameters) on seeded
    token ids, synchronized: what the throughput and memory checks both time or measure."""
    import torch

    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (batch, seq), generator=generator).to(device)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5, fused=fused)
    device_type = "cuda" if device.startswith("cuda") else "cpu"

    def step() -> None:
        with torch.autocast(device_type, dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        synchronize(device)

    return step


def seconds_per_call(fn: Callable[[], Any], device: str, repeats: int, warmup: int = 2) -> list[float]:
    """Seconds of each of `repeats` calls of `fn`, after `warmup` calls; CUDA events on a GPU, a wall clock on CPU."""
    import torch

    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        if device.startswith("cuda"):
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            fn()
            end.record()
            end.synchronize()
            times.append(begin.elapsed_time(end) / 1e3)
        else:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return times


def bf16_matmul_peak(device: str, size: int, repeats: int) -> dict[str, float]:
    """Measured FLOP/s of a square bf16 matmul (2 n^3 FLOPs) on random normal inputs: median and best of `repeats`."""
    import torch

    generator = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(size, size, device=device, dtype=torch.bfloat16, generator=generator)
    b = torch.randn(size, size, device=device, dtype=torch.bfloat16, generator=generator)
    out = torch.empty(size, size, device=device, dtype=torch.bfloat16)
    times = seconds_per_call(lambda: torch.matmul(a, b, out=out), device, repeats, warmup=3)
    flops = 2 * size**3
    return {"size": size, "repeats": repeats, "median_flops": flops / statistics.median(times),
            "best_flops": flops / min(times)}


def relative_error(value, reference) -> float:
    """||value - reference|| / ||reference|| in float64 (Frobenius norms); NaN if either holds a NaN."""
    import torch

    value, reference = value.double(), reference.double()
    if torch.isnan(value).any() or torch.isnan(reference).any():
        return float("nan")
    return float((value - reference).norm() / reference.norm())
