"""Shared pieces of the benchmark scripts: machine description, timing, matmul peak, RESULTS.md sections."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> str:
    """`lscpu` model name, logical cores, torch version and the thread count used."""
    model = platform.processor() or "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        found = re.search(r"^Model name:\s*(.+)$", out, re.MULTILINE)
        model = found.group(1).strip() if found else model
    except (OSError, subprocess.CalledProcessError):
        pass
    return (f"{model}; {os.cpu_count()} logical cores; torch {torch.__version__}; "
            f"torch threads {torch.get_num_threads()}; python {platform.python_version()}")


def command_line() -> str:
    return "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0])] + sys.argv[1:])


def timed(fn: Callable[[], None], repeats: int) -> float:
    """Seconds for `repeats` calls of `fn`."""
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return time.perf_counter() - start


def interleaved(candidates: dict[str, Callable[[], None]], rounds: int, repeats: int) -> dict[str, list[float]]:
    """Seconds per call of each candidate, measured in alternating order (A B, B A, ...) over `rounds` rounds.

    Alternating cancels drift (thermal, other load) that would favour whichever ran first.
    """
    names = list(candidates)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            times[name].append(timed(candidates[name], repeats) / repeats)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def matmul_peak(dtype: torch.dtype, size: int, repeats: int) -> float:
    """Measured FLOP/s of a square `size` matmul in `dtype` (2 n^3 FLOPs each), best of 3."""
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    for _ in range(2):  # warm-up (kernel selection, page faults)
        torch.matmul(a, b)
    best = min(timed(lambda: torch.matmul(a, b), repeats) for _ in range(3))
    return 2 * size**3 * repeats / best


def write_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Replace (or append) the `## name` section of RESULTS.md with the body, the command, machine and date."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    section = (f"## {name}\n\nCommand: `{command_line()}`  \nMachine: {machine()}  \n"
               f"Date: {_dt.date.today().isoformat()}\n\n{body.strip()}\n")
    pattern = re.compile(rf"^## {re.escape(name)}\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    path.write_text(text)


# -- FLOP counting ----------
_CPU_SDPA_REGISTERED = False


def _register_cpu_sdpa_flops() -> None:
    """torch's FlopCounterMode counts the CUDA flash/efficient SDPA kernels but not the CPU one; count it the same way."""
    global _CPU_SDPA_REGISTERED
    if _CPU_SDPA_REGISTERED:
        return
    from torch.utils.flop_counter import register_flop_formula, sdpa_backward_flop_count, sdpa_flop_count

    aten = torch.ops.aten

    @register_flop_formula(aten._scaled_dot_product_flash_attention_for_cpu, get_raw=True)
    def _forward(query, key, value, *args, out_val=None, **kwargs) -> int:
        return sdpa_flop_count(query.shape, key.shape, value.shape)

    @register_flop_formula(aten._scaled_dot_product_flash_attention_for_cpu_backward, get_raw=True)
    def _backward(grad_out, query, key, value, *args, out_val=None, **kwargs) -> int:
        return sdpa_backward_flop_count(grad_out.shape, query.shape, key.shape, value.shape)

    _CPU_SDPA_REGISTERED = True


def count_flops(fn: Callable[[], None]) -> int:
    """FLOPs of one call of `fn` (matmuls, convolutions, attention) by `torch.utils.flop_counter.FlopCounterMode`."""
    from torch.utils.flop_counter import FlopCounterMode

    _register_cpu_sdpa_flops()
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()
