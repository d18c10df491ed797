"""Worker for test_sharded_8bit_adamw.py: 2-rank FSDP2 (gloo, CPU) training of the tiny AstroLLM with
ShardedAdamW8bit, a dcp save / load into a fresh model and optimizer, and the next step after both.

Usage (one process per rank, started by the test): python sharded_8bit_worker.py OUT_DIR STORE_PORT RANK, where
STORE_PORT is a TCPStore the test process hosts. Writes OUT_DIR/results.pt (rank 0) with full parameters
(gathered with DTensor.full_tensor) and per-rank figures. Data are synthetic token ids from a seeded generator.
"""

from __future__ import annotations

import gc
import sys
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp

WORLD_SIZE = 2
SETUP = dict(steps=4, lr=2e-3, weight_decay=0.1, max_grad_norm=0.5, batch_per_rank=2, seq_len=32, seed=0)


def synthetic_batches(steps: int, world_size: int, batch_per_rank: int, seq_len: int, vocab: int) -> torch.Tensor:
    """SYNTHETIC token ids [steps, world_size, batch_per_rank, seq_len] from a fixed seed (not real data)."""
    gen = torch.Generator().manual_seed(1234)
    return torch.randint(0, vocab, (steps, world_size, batch_per_rank, seq_len), generator=gen)


def warmup_lambda(step: int) -> float:
    """LR multiplier for LambdaLR: linear warm-up over 3 steps, so each step uses a different lr."""
    return min(1.0, (step + 1) / 3)


def build_tiny_model(seed: int) -> torch.nn.Module:
    from astrobio_hf.models.presets import build_model

    torch.manual_seed(seed)
    return build_model("astro-llm-tiny").float()


def train_step(model, optimizer, scheduler, input_ids: torch.Tensor, max_grad_norm: float) -> float:
    """One step with gradient clipping before the optimizer (on FSDP2 the norm is over DTensor grads)."""
    loss = model(input_ids=input_ids, labels=input_ids).loss
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return float(grad_norm.full_tensor() if hasattr(grad_norm, "full_tensor") else grad_norm)


def _full_params(model) -> dict[str, torch.Tensor]:
    from torch.distributed.tensor import DTensor

    return {n: (p.full_tensor() if isinstance(p, DTensor) else p).detach().clone() for n, p in model.named_parameters()}


def _sharded_model_and_optimizer(seed: int):
    from torch.distributed.fsdp import fully_shard
    from transformers.models.llama.modeling_llama import LlamaDecoderLayer

    from astrobio_hf.training.optimizers import create_optimizer

    model = build_tiny_model(seed)
    for module in model.modules():
        if isinstance(module, LlamaDecoderLayer):
            fully_shard(module)
    fully_shard(model)
    optimizer = create_optimizer(model, "adamw_bnb_8bit", lr=SETUP["lr"], weight_decay=SETUP["weight_decay"],
                                 fsdp2=True)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_lambda)
    return model, optimizer, scheduler


def run(rank: int, out_dir: str, store_port: int) -> None:
    torch.set_num_threads(1)
    # The store lives in the test process, not in rank 0: a rank that finishes first cannot take the rendezvous
    # down under its peer, and no port is picked by one process and bound by another.
    store = dist.TCPStore("127.0.0.1", store_port, world_size=WORLD_SIZE, is_master=False,
                          timeout=timedelta(seconds=120))
    dist.init_process_group("gloo", store=store, rank=rank, world_size=WORLD_SIZE)
    try:
        _run(rank, Path(out_dir))
        gc.collect()  # FSDP meshes, DTensors and dcp planners that hold the group go before the group does
        dist.barrier()  # no rank tears its connections down while its peer is still in a collective
    finally:
        dist.destroy_process_group()


def _run(rank: int, out_dir: Path) -> None:
    from torch.distributed.checkpoint.state_dict import (
        get_model_state_dict,
        get_optimizer_state_dict,
        set_model_state_dict,
        set_optimizer_state_dict,
    )

    from astrobio_hf.training.optimizers import create_optimizer, is_fsdp2_model
    from astrobio_hf.training.sharded_optim import ShardedAdamW8bit, optimizer_state_bytes

    world = dist.get_world_size()
    assert world == WORLD_SIZE, f"expected world size {WORLD_SIZE}, got {world}"
    model, optimizer, scheduler = _sharded_model_and_optimizer(SETUP["seed"])
    data = synthetic_batches(SETUP["steps"] + 1, world, SETUP["batch_per_rank"], SETUP["seq_len"],
                             model.config.vocab_size)
    factory_errors = {}
    try:
        create_optimizer(model, "paged_adamw_8bit", fsdp2=True)
    except ValueError as err:
        factory_errors["paged_fsdp2"] = str(err)
    try:
        create_optimizer(model, "adamw_bnb_8bit", fsdp2=False)
    except ValueError as err:
        factory_errors["bnb_fsdp2_false"] = str(err)

    lrs_used, grad_norms = [], []
    for step in range(SETUP["steps"]):
        lrs_used.append(optimizer.param_groups[0]["lr"])
        grad_norms.append(train_step(model, optimizer, scheduler, data[step, rank], SETUP["max_grad_norm"]))
    params_after_n = _full_params(model)
    state_bytes = optimizer_state_bytes(optimizer)
    state_dtypes = {n: str(optimizer.state[p]["state1"].dtype) for n, p in model.named_parameters()}

    ckpt = out_dir / "ckpt"
    dcp.save({"model": get_model_state_dict(model), "optim": get_optimizer_state_dict(model, optimizer),
              "scheduler": scheduler.state_dict()}, checkpoint_id=str(ckpt))
    train_step(model, optimizer, scheduler, data[SETUP["steps"], rank], SETUP["max_grad_norm"])
    params_continued = _full_params(model)

    # A fresh model from another seed, so the loaded state has to come from the checkpoint.
    fresh, fresh_opt, fresh_sched = _sharded_model_and_optimizer(SETUP["seed"] + 1)
    to_load = {"model": get_model_state_dict(fresh), "optim": get_optimizer_state_dict(fresh, fresh_opt),
               "scheduler": fresh_sched.state_dict()}
    dcp.load(to_load, checkpoint_id=str(ckpt))
    set_model_state_dict(fresh, to_load["model"])
    set_optimizer_state_dict(fresh, fresh_opt, to_load["optim"])
    fresh_sched.load_state_dict(to_load["scheduler"])
    params_loaded_before_step = _full_params(fresh)
    train_step(fresh, fresh_opt, fresh_sched, data[SETUP["steps"], rank], SETUP["max_grad_norm"])
    params_resumed = _full_params(fresh)

    gathered: list = [None] * world
    dist.all_gather_object(gathered, {
        "rank": rank, "state_bytes": state_bytes, "is_fsdp2": is_fsdp2_model(model),
        "optimizer_type": type(optimizer).__name__, "is_sharded_optimizer": isinstance(optimizer, ShardedAdamW8bit),
        "factory_errors": factory_errors,
    })
    if rank == 0:
        torch.save({
            "setup": SETUP, "world_size": world, "per_rank": gathered, "lrs_used": lrs_used, "grad_norms": grad_norms,
            "state_dtypes": state_dtypes, "data": data, "params_after_n": params_after_n,
            "params_continued": params_continued, "params_loaded_before_step": params_loaded_before_step,
            "params_resumed": params_resumed,
        }, out_dir / "results.pt")


def main() -> None:
    out_dir, store_port, rank = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    run(rank, out_dir, store_port)


if __name__ == "__main__":
    main()
