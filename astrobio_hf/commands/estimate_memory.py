"""`astrobio-hf estimate-memory`: per-rank GPU memory and host RAM of a training run, with a fits verdict."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..memory import DEVICES, DTYPES, OPTIMIZERS, STRATEGIES, STRATEGY_ALIASES

    parser = subparsers.add_parser(
        "estimate-memory",
        help="plan GPU memory and host RAM of a training run (see docs/memory.md)",
        description="Per-rank GPU memory and host RAM for parameters, gradients, optimizer state and activations, "
        "a fits / does-not-fit verdict and the largest micro-batch that fits. Formulas: docs/memory.md.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", help="a model preset (see `astrobio-hf models`)")
    source.add_argument("--config", help="a config.json (file or model folder) of an astrobio-hf model")
    parser.add_argument("--strategy", default="single", choices=STRATEGIES + tuple(STRATEGY_ALIASES))
    parser.add_argument("--optimizer", default="adamw", choices=OPTIMIZERS)
    parser.add_argument("--gpus", type=int, default=1, help="GPUs (ranks) on the node")
    parser.add_argument("--gpu-mem", type=float, default=24.0, help="memory of one GPU, GiB")
    parser.add_argument("--host-mem", type=float, default=None, help="host RAM of the node, GiB (checked if given)")
    parser.add_argument("--micro-batch", type=int, default=1, help="samples per rank per forward pass")
    parser.add_argument("--seq-len", type=int, default=2048, help="tokens per sample (LLM and LLM head)")
    parser.add_argument("--grad-checkpointing", action="store_true")
    parser.add_argument("--dtype", default="bf16", choices=DTYPES,
                        help="fp32, or bf16 mixed precision (fp32 master weights, bf16 compute)")
    parser.add_argument("--device", default="gpu", choices=DEVICES, help="cpu: plan a single-process CPU run")
    parser.add_argument("--lora-rank", type=int, default=16)
    parser.add_argument("--nodes-per-graph", type=int, default=64, help="graph VAE / multimodal: nodes per graph")
    parser.add_argument("--edges-per-graph", type=int, default=128, help="graph VAE / multimodal: edges per graph")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def _gib(n: int) -> str:
    return f"{n / 1024**3:.2f}"


def format_plan(plan) -> str:
    """The plan as a readable table (GiB)."""
    r = plan.request
    where = "host RAM (one CPU process)" if r["device"] == "cpu" else "GPU memory per rank"
    lines = [
        f"model: {plan.preset or plan.model_type}  parameters: {plan.num_parameters:,}  "
        f"trainable: {plan.trainable_parameters:,}",
        f"strategy: {r['strategy']}  optimizer: {r['optimizer']}  gpus: {r['gpus']}  dtype: {r['dtype']}  "
        f"micro-batch: {r['micro_batch']}  seq-len: {r['seq_len']}  grad-checkpointing: {r['grad_checkpointing']}",
        "",
        f"| {where} | GiB |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {_gib(value)} |" for name, value in plan.device.items()]
    lines.append(f"| **total** | **{_gib(plan.device_total)}** |")
    if plan.host_per_rank:
        lines += ["", "| host RAM per rank | GiB |", "|---|---:|"]
        lines += [f"| {name} | {_gib(value)} |" for name, value in plan.host_per_rank.items()]
        lines.append(f"| **host total, all {r['gpus']} ranks** | **{_gib(plan.host_total)}** |")
    limit = "no limit given" if plan.device_limit is None else f"{_gib(plan.device_limit)} GiB"
    lines += ["", f"verdict: {'fits' if plan.fits else 'does NOT fit'} ({limit})"]
    if plan.max_micro_batch >= 0:
        lines.append(f"largest micro-batch that fits: {plan.max_micro_batch}")
    lines += [f"note: {note}" for note in plan.notes]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..memory import plan_for

    try:
        plan = plan_for(
            preset=args.preset, config_path=args.config, strategy=args.strategy, optimizer=args.optimizer,
            gpus=args.gpus, gpu_mem_gb=args.gpu_mem, host_mem_gb=args.host_mem, micro_batch=args.micro_batch,
            seq_len=args.seq_len, grad_checkpointing=args.grad_checkpointing, dtype=args.dtype, device=args.device,
            lora_rank=args.lora_rank, nodes_per_graph=args.nodes_per_graph, edges_per_graph=args.edges_per_graph,
        )
    except (KeyError, ValueError, FileNotFoundError) as error:
        print(f"estimate-memory: {error}", file=sys.stderr)
        return 2
    print(json.dumps(plan.to_dict(), indent=2) if args.json else format_plan(plan))
    return 0
