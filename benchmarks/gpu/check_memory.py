"""Memory-planner check: `astrobio_hf.memory` GPU predictions vs `torch.cuda.max_memory_allocated`, three runs.

Each configuration is planned with `plan_memory` and then trained for three steps the way the planner assumes
(the `astro-llm-1b` config, bf16 autocast over fp32 weights, torch's default foreach AdamW; LoRA: bf16 base weights,
fp32 adapters on every Linear but the output layer, peft's "all-linear"). The peak of `max_memory_allocated` is
compared with the planned device total less the planner's CUDA-context term (the caching allocator does not see the
context), and the context term with what the driver reports in use beyond the allocator's reservation. Token ids
are random (memory does not depend on token values). Pass: every measured/predicted ratio within 0.8-1.2.

    python benchmarks/gpu/check_memory.py --out OUT/memory.json [--smoke]
"""

from __future__ import annotations

import argparse
import gc
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.gpu._common import bf16_train_step, main_for  # noqa: E402

NAME = "memory"
CONTEXT_TERM = "CUDA context and allocator overhead"
RATIO_BOUNDS = (0.8, 1.2)
GIB = 1024**3


def configurations(smoke: bool) -> list[dict]:
    preset = "astro-llm-tiny" if smoke else "astro-llm-1b"
    seq = 32 if smoke else 1024
    return [
        {"name": "full fine-tuning, bf16 autocast, AdamW", "preset": preset,
         "request": {"strategy": "single", "optimizer": "adamw", "micro_batch": 2, "seq_len": seq, "dtype": "bf16"}},
        {"name": "full fine-tuning, gradient checkpointing", "preset": preset,
         "request": {"strategy": "single", "optimizer": "adamw", "micro_batch": 8, "seq_len": seq, "dtype": "bf16",
                     "grad_checkpointing": True}},
        {"name": "LoRA r=16 on a bf16 base", "preset": preset,
         "request": {"strategy": "lora", "optimizer": "adamw", "micro_batch": 4, "seq_len": seq, "dtype": "bf16",
                     "lora_rank": 16}},
    ]


def predict(entry: dict, gpu_mem_gb: float = 139.0):
    from astrobio_hf.memory import PlanRequest, plan_memory
    from astrobio_hf.models.presets import build_config

    return plan_memory(build_config(entry["preset"]), PlanRequest(gpus=1, gpu_mem_gb=gpu_mem_gb, **entry["request"]),
                       preset=entry["preset"])


def plan(smoke: bool) -> dict:
    rows = []
    for entry in configurations(smoke):
        planned = predict(entry)
        allocator = planned.device_total - planned.device.get(CONTEXT_TERM, 0)
        rows.append({"name": entry["name"], "predicted_allocated_gib": allocator / GIB, "fits": planned.fits})
    return {"configurations": rows, "ratio_bounds": RATIO_BOUNDS}


def _train(entry: dict, device: str, steps: int = 3) -> None:
    import torch

    from astrobio_hf.models import AstroLLMForCausalLM
    from astrobio_hf.models.presets import build_config

    request = entry["request"]
    torch.manual_seed(0)
    with torch.device(device):
        model = AstroLLMForCausalLM(build_config(entry["preset"], attn_implementation="sdpa"))
    if request["strategy"] == "lora":
        from peft import LoraConfig, get_peft_model

        model.to(torch.bfloat16)
        model = get_peft_model(model, LoraConfig(r=request["lora_rank"], lora_alpha=32, lora_dropout=0.0,
                                                 target_modules="all-linear", task_type="CAUSAL_LM"))
    if request.get("grad_checkpointing"):
        model.gradient_checkpointing_enable()
    model.train()
    step = bf16_train_step(model, request["micro_batch"], request["seq_len"], device)
    for _ in range(steps):
        step()
    del model, step


def measure(entry: dict, device: str) -> dict:
    import torch

    planned = predict(entry)
    context = planned.device.get(CONTEXT_TERM, 0)
    predicted = planned.device_total - context
    row = {"name": entry["name"], "preset": entry["preset"], "request": entry["request"],
           "predicted_allocated_gib": predicted / GIB, "predicted_terms_gib": {k: v / GIB for k, v in planned.device.items()},
           "predicted_context_gib": context / GIB}
    if not device.startswith("cuda"):
        _train(entry, device)
        return {**row, "measured": None, "passed": True}
    gc.collect()
    torch.cuda.empty_cache()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    _train(entry, device)
    peak = torch.cuda.max_memory_allocated() - before
    reserved = torch.cuda.max_memory_reserved()
    free, total = torch.cuda.mem_get_info()
    # what the driver holds for this process beyond the allocator's current reservation: context, cuBLAS/cuDNN
    # workspaces, kernels (assumes no other process on the GPU, as on the lent host)
    outside_allocator = (total - free) - torch.cuda.memory_reserved()
    ratio = peak / predicted
    row.update({"measured_max_allocated_gib": peak / GIB, "max_reserved_gib": reserved / GIB,
                "allocated_before_gib": before / GIB, "ratio_measured_over_predicted": ratio,
                "driver_memory_outside_allocator_gib": outside_allocator / GIB,
                "passed": RATIO_BOUNDS[0] <= ratio <= RATIO_BOUNDS[1]})
    gc.collect()
    torch.cuda.empty_cache()
    return row


def run(args: argparse.Namespace) -> dict:
    device = "cpu" if args.smoke else "cuda"
    rows = []
    for entry in configurations(args.smoke):
        try:
            rows.append(measure(entry, device))
        except Exception as error:  # noqa: BLE001 - one configuration failing (e.g. OOM) leaves the others measured
            rows.append({"name": entry["name"], "error": f"{type(error).__name__}: {error}", "passed": False})
    from astrobio_hf import memory

    constants = {k: getattr(memory, k) / GIB for k in ("GPU_CONTEXT_BYTES", "NCCL_BUFFER_BYTES")}
    return {"configurations": rows, "planner_constants_gib": constants, "passed": all(r["passed"] for r in rows),
            "request_defaults": asdict(memory.PlanRequest())}


if __name__ == "__main__":
    sys.exit(main_for(NAME, plan, run))
