"""Throughput check: AstroLLM vs transformers' LlamaForCausalLM training a 1.1B config in bf16 on one GPU.

Both models get the `astro-llm-1b` config (TinyLlama's shape) and the same weights, built on the GPU. A step is
forward + backward + fused AdamW under bf16 autocast (fp32 master weights, as the Trainer's `bf16=True` runs) on a
fixed batch of random token ids (throughput does not depend on token values). The models are timed in alternating
order over several rounds (median), as benchmarks/bench_llm_throughput.py does on CPU, with the same FLOP count:
6 N tokens + 12 L S (heads x head_dim) tokens (PaLM appendix B, N without the input embedding). Model FLOP
utilisation (MFU) is achieved FLOP/s over the bf16 matmul peak measured in the same run (8192^3, random data).
Pass: the run completes and AstroLLM reaches at least 0.9 of Llama's tokens/s.

    python benchmarks/gpu/check_throughput.py --out OUT/throughput.json [--smoke]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks._common import interleaved, median  # noqa: E402
from benchmarks.bench_llm_throughput import build_pair, flops_per_step  # noqa: E402
from benchmarks.gpu._common import bf16_matmul_peak, bf16_train_step, main_for  # noqa: E402

NAME = "throughput"
MIN_RATIO = 0.9
# H100/H200 SXM dense bf16 by the vendor's datasheet: reported beside the measured peak, never used for the verdict.
DATASHEET_BF16_FLOPS = 989e12


def sizes(smoke: bool) -> dict:
    if smoke:
        return {"preset": "astro-llm-tiny", "batch": 2, "seq": 32, "rounds": 2, "steps": 1, "matmul": 256,
                "device": "cpu"}
    return {"preset": "astro-llm-1b", "batch": 4, "seq": 2048, "rounds": 6, "steps": 3, "matmul": 8192,
            "device": "cuda"}


def plan(smoke: bool) -> dict:
    import torch

    from astrobio_hf.models import AstroLLMForCausalLM
    from astrobio_hf.models.presets import build_config

    s = sizes(smoke)
    config = build_config(s["preset"])
    with torch.device("meta"):
        params = sum(p.numel() for p in AstroLLMForCausalLM(config).parameters())
    return {**s, "parameters": params, "tokens_per_step": s["batch"] * s["seq"],
            "flops_per_step": flops_per_step(config, s["batch"], s["seq"], params), "min_ratio": MIN_RATIO}


def run(args: argparse.Namespace) -> dict:
    import torch

    s = sizes(args.smoke)
    device = s["device"]
    peak = bf16_matmul_peak(device, s["matmul"], repeats=10)
    astro, llama = build_pair(s["preset"], device)
    params = sum(p.numel() for p in astro.parameters())
    flops = flops_per_step(astro.config, s["batch"], s["seq"], params)
    tokens = s["batch"] * s["seq"]
    fused = device.startswith("cuda")
    steps = {"AstroLLM": bf16_train_step(astro, s["batch"], s["seq"], device, fused=fused),
             "Llama": bf16_train_step(llama, s["batch"], s["seq"], device, fused=fused)}
    for step in list(steps.values()) * 2:  # warm-up: optimizer state, allocator, kernel selection
        step()
    times = interleaved(steps, s["rounds"], s["steps"])
    models = {}
    for name, seconds in times.items():
        tps = tokens / median(seconds)
        achieved = flops * tps / tokens
        models[name] = {"tokens_per_s": tps, "step_s_median": median(seconds), "step_s_all": seconds,
                        "achieved_tflops": achieved / 1e12, "mfu_vs_measured_peak": achieved / peak["median_flops"],
                        "mfu_vs_datasheet": achieved / DATASHEET_BF16_FLOPS}
    ratio = models["AstroLLM"]["tokens_per_s"] / models["Llama"]["tokens_per_s"]
    memory = {"max_memory_allocated_gib": torch.cuda.max_memory_allocated() / 1024**3} if device == "cuda" else {}
    return {"parameters": params, "flops_per_step": flops, "tokens_per_step": tokens,
            "matmul_peak_tflops": {"median": peak["median_flops"] / 1e12, "best": peak["best_flops"] / 1e12,
                                   "size": peak["size"]},
            "models": models, "ratio_astro_over_llama": ratio, **memory,
            "passed": ratio >= MIN_RATIO}


if __name__ == "__main__":
    sys.exit(main_for(NAME, plan, run))
