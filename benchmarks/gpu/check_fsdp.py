"""FSDP2 check: `accelerate launch` with accelerate_configs/fsdp2_cpu_offload.yaml on the one GPU, train, resume.

1. Tokenize this repository's docs (README.md, docs/*.md: real text) with astrobio-hf's byte-level BPE tokenizer
   into 256-token blocks (done once, here, on the CPU).
2. Run A: `accelerate launch --config_file accelerate_configs/fsdp2_cpu_offload.yaml --num_processes 1
   benchmarks/gpu/fsdp_worker.py`: AstroTrainer trains the `astro-llm-small` preset for 8 steps, bf16, with the
   sharded 8-bit AdamW (`optim=adamw_bnb_8bit`, which AstroTrainer turns into ShardedAdamW8bit under FSDP2), saving
   checkpoints at steps 4 and 8 and the full parameters after step 4.
3. Run B: the same command resuming from A's checkpoint-4, to step 8.
Pass: FSDP2 was active with parameters offloaded to host memory, the loss fell (mean of the last 3 steps below the
first 3), B ran steps 5-8 only and its optimizer counts 8 steps (its state was loaded, not rebuilt), B's losses at steps 5-8 match A's
within 1e-3 relative, and B's final parameters are within 1% of A's movement over steps 5-8 of A's
(||B8 - A8|| <= 0.01 ||A8 - A4||).

bitsandbytes is not in the GPU image; it travels as a wheel (benchmarks/gpu/wheels). If it does not import there,
the check falls back to torchao's 8-bit AdamW (`optim=adamw_torch_8bit`), then to torch AdamW, and says so in the
JSON (`optimizer_fallback`). The planner's fsdp-offload prediction is compared with run A's CUDA peak as well.

    python benchmarks/gpu/check_fsdp.py --out OUT/fsdp.json [--smoke] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.gpu._common import REPO, main_for  # noqa: E402

NAME = "fsdp"
CONFIG = REPO / "accelerate_configs" / "fsdp2_cpu_offload.yaml"
WORKER = REPO / "benchmarks" / "gpu" / "fsdp_worker.py"
BLOCK = 256
PRESET = "astro-llm-small"
STEPS, SAVE_AT, BATCH = 8, 4, 8
LAUNCH_TIMEOUT_S = 150
LOSS_RTOL = 1e-3
PARAM_DEVIATION = 0.01


def corpus_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def plan(smoke: bool) -> dict:
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(CONFIG))
    files = corpus_files()
    return {"accelerate_config": str(CONFIG.relative_to(REPO)), "distributed_type": str(config.distributed_type),
            "fsdp_config": config.fsdp_config, "preset": "astro-llm-tiny" if smoke else PRESET,
            "corpus_files": [str(f.relative_to(REPO)) for f in files],
            "corpus_chars": sum(len(f.read_text(encoding="utf-8")) for f in files),
            "steps": STEPS, "save_at": SAVE_AT, "batch": BATCH, "block": BLOCK,
            "optimizer_preference": ["adamw_bnb_8bit (bitsandbytes wheel)", "adamw_torch_8bit (torchao wheel)",
                                     "adamw_torch"],
            "launch": " ".join(launch_command(smoke, ["..."]))}


def prepare_data(folder: Path) -> dict:
    """Train the BPE tokenizer on the docs and cut the token stream into BLOCK-token rows."""
    import torch

    from astrobio_hf.text import train_bpe_tokenizer

    texts = [f.read_text(encoding="utf-8") for f in corpus_files()]
    tokenizer = train_bpe_tokenizer(texts, vocab_size=8000)
    ids = [t for text in texts for t in tokenizer(text + tokenizer.eos_token)["input_ids"]]
    usable = len(ids) // BLOCK * BLOCK
    blocks = torch.tensor(ids[:usable], dtype=torch.long).view(-1, BLOCK)
    if len(blocks) < STEPS * BATCH:
        raise ValueError(f"the docs give {len(blocks)} blocks of {BLOCK} tokens, fewer than {STEPS * BATCH}")
    tokenizer.save_pretrained(str(folder / "tokenizer"))
    torch.save(blocks, folder / "blocks.pt")
    return {"tokens": len(ids), "blocks": len(blocks), "vocab": len(tokenizer)}


def choose_optimizer() -> tuple[str, str | None]:
    """The Trainer `optim` to use and, if it is not the sharded bitsandbytes one, why."""
    problems = []
    for module, optim in (("bitsandbytes", "adamw_bnb_8bit"), ("torchao.optim", "adamw_torch_8bit")):
        probe = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
        if probe.returncode == 0:
            return optim, ("; ".join(problems) + f"; using {optim}") if problems else None
        problems.append(f"{module} does not import ({probe.stderr.strip().splitlines()[-1][:300]})")
    return "adamw_torch", "; ".join(problems) + "; falling back to 32-bit torch AdamW"


def launch_command(smoke: bool, worker_args: list[str]) -> list[str]:
    launcher = [sys.executable, "-m", "accelerate.commands.launch"]
    if smoke:  # accelerate never enables FSDP on the CPU: exercise the same script as a plain one-process run
        return [*launcher, "--cpu", "--num_processes", "1", str(WORKER), "--cpu", *worker_args]
    return [*launcher, "--config_file", str(CONFIG), "--num_processes", "1", str(WORKER), *worker_args]


def launch(smoke: bool, worker_args: list[str], log: Path, timeout: float) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "8"}
    command = launch_command(smoke, worker_args)
    start = time.perf_counter()
    with log.open("w") as handle:
        try:
            rc = subprocess.run(command, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    return {"command": " ".join(command), "rc": rc, "wall_s": round(time.perf_counter() - start, 1),
            "log_tail": log.read_text(errors="replace")[-3000:] if rc != 0 else ""}


def _distance(a: dict, b: dict) -> float:
    import torch

    return float(torch.sqrt(sum(((a[k].double() - b[k].double()) ** 2).sum() for k in a)))


def planner_vs_measured(result: dict, optim: str) -> dict:
    from astrobio_hf.memory import PlanRequest, plan_memory
    from astrobio_hf.models import AstroLLMConfig

    config = AstroLLMConfig(**{k: v for k, v in result["config"].items() if k not in ("architectures",)})
    planned = plan_memory(config, PlanRequest(strategy="fsdp-offload", gpus=1, micro_batch=BATCH, seq_len=BLOCK,
                                              dtype="bf16", optimizer="adamw" if optim == "adamw_torch" else "adamw-8bit"))
    context = planned.device.get("CUDA context and allocator overhead", 0)
    predicted = planned.device_total - context
    measured = result.get("max_memory_allocated")
    return {"predicted_allocated_bytes": predicted, "measured_max_allocated_bytes": measured,
            "ratio": measured / predicted if measured else None, "predicted_terms": planned.device,
            "predicted_host_per_rank": planned.host_per_rank}


def run(args: argparse.Namespace) -> dict:
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="astrobio_fsdp_check_"))
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    prepared = prepare_data(data)
    optim, fallback = choose_optimizer()
    preset = "astro-llm-tiny" if args.smoke else PRESET
    common = ["--data", str(data), "--preset", preset, "--optim", optim, "--max-steps", str(STEPS),
              "--save-steps", str(SAVE_AT), "--batch", str(BATCH)]
    out: dict = {"data": prepared, "optimizer_requested": optim, "optimizer_fallback": fallback,
                 "workdir": str(workdir)}
    run_a, run_b = workdir / "run_a", workdir / "run_b"
    out["launch_a"] = launch(args.smoke, [*common, "--output", str(run_a), "--result", str(workdir / "a.json"),
                                          "--snapshot-step", str(SAVE_AT)], workdir / "a.log", LAUNCH_TIMEOUT_S)
    if out["launch_a"]["rc"] != 0:
        return {**out, "passed": False}
    a = json.loads((workdir / "a.json").read_text())
    out["run_a"] = {k: v for k, v in a.items() if k != "config"}
    checkpoint = run_a / f"checkpoint-{SAVE_AT}"
    out["checkpoint_files"] = sorted(str(p.relative_to(checkpoint)) for p in checkpoint.rglob("*") if p.is_file())[:60]
    out["launch_b"] = launch(args.smoke, [*common, "--output", str(run_b), "--result", str(workdir / "b.json"),
                                          "--resume-from", str(checkpoint)], workdir / "b.log", LAUNCH_TIMEOUT_S)
    if out["launch_b"]["rc"] != 0:
        return {**out, "passed": False}
    b = json.loads((workdir / "b.json").read_text())
    out["run_b"] = {k: v for k, v in b.items() if k != "config"}
    verdict = judge(a, b, run_a, run_b, args.smoke)
    out.update(verdict)
    if not args.smoke:
        out["planner_fsdp_offload"] = planner_vs_measured(a, optim)
    return out


def judge(a: dict, b: dict, run_a: Path, run_b: Path, smoke: bool) -> dict:
    import torch

    losses_a = {int(k): v for k, v in a["losses"].items()}
    losses_b = {int(k): v for k, v in b["losses"].items()}
    steps = sorted(losses_a)
    fell = sum(losses_a[s] for s in steps[-3:]) / 3 < sum(losses_a[s] for s in steps[:3]) / 3
    resumed_steps = [s for s in sorted(losses_b) if s > SAVE_AT]  # B's log history starts with A's first steps
    loss_diff = max((abs(losses_b[s] - losses_a[s]) / abs(losses_a[s]) for s in resumed_steps), default=float("inf"))
    a4 = torch.load(run_a / f"params_step{SAVE_AT}.pt")
    a8, b8 = torch.load(run_a / "params_final.pt"), torch.load(run_b / "params_final.pt")
    movement, deviation = _distance(a8, a4), _distance(b8, a8)
    checks = {} if smoke else {  # accelerate has no FSDP on a CPU: the smoke run checks the rest only
        "fsdp2_with_cpu_offload": bool(a["fsdp2"] and a["parameters"]["is_dtensor"]
                                       and a["parameters"]["local_device"] == "cpu"),
    }
    checks.update({
        "loss_fell": fell,
        "resumed_at_step_5": (b["steps_run_here"] == STEPS - SAVE_AT and b["global_step"] == STEPS
                              and resumed_steps == list(range(SAVE_AT + 1, STEPS + 1))),
        # B ran 4 steps itself: an optimizer counting 8 loaded its state from the checkpoint
        "optimizer_state_resumed": b["optimizer"]["steps"] == [STEPS],
        "losses_match": loss_diff <= LOSS_RTOL,
        "parameters_match": deviation <= PARAM_DEVIATION * movement,
    })
    return {"checks": checks, "loss_max_relative_difference": loss_diff, "parameter_movement_steps_5_8": movement,
            "resume_parameter_deviation": deviation, "passed": all(checks.values())}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", default=None, help="where checkpoints go (default: a new temporary folder)")


if __name__ == "__main__":
    sys.exit(main_for(NAME, plan, run, add_arguments=add_arguments))
