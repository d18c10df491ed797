"""ShardedAdamW8bit on 2-rank FSDP2 (gloo, CPU, fp32, no CPU offload: FSDP2 offload needs a GPU host).

One run of sharded_8bit_worker.py (two processes, one per rank) trains the tiny AstroLLM, saves with dcp, loads
into a fresh model and optimizer and takes the next step; meanwhile this process runs the single-process
reference (bitsandbytes AdamW8bit on the unsharded model, the full batch of both ranks) on the same synthetic data.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import torch

WORKER_PATH = Path(__file__).with_name("sharded_8bit_worker.py")
REPO_ROOT = Path(__file__).resolve().parents[2]
# Identical math on identical block layouts: the 8-bit kernels see the same inputs except that the gradient of
# the 2-rank run is a reduce-scatter average of two half-batch gradients, while the reference back-propagates
# the mean over the whole batch. Those float32 summation-order differences (~1e-7 relative) can move a state
# value across an 8-bit quantisation boundary; the resulting parameter difference stays far below one
# learning-rate step (lr = 2e-3): measured max 6e-5 on a handful of elements. PARAM_ATOL = 2e-4 (a tenth of one
# step) bounds those flips; the parameters themselves move ~6e-3. The bulk must agree to float32 noise
# (measured mean |diff| <= 1e-8 per tensor): PARAM_MEAN_ATOL = 1e-7 catches a systematic error such as a lost
# weight decay (~1e-5 here) that a single max bound would let through.
PARAM_ATOL = 2e-4
PARAM_MEAN_ATOL = 1e-7


def _load_worker():
    spec = importlib.util.spec_from_file_location("sharded_8bit_worker", WORKER_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reference(worker, data: torch.Tensor) -> tuple[dict[str, torch.Tensor], int, Any, list[float]]:
    """Single process, unsharded model, bnb AdamW8bit, both ranks' batches at once: parameters after N steps."""
    from astrobio_hf.training.optimizers import create_optimizer
    from astrobio_hf.training.sharded_optim import optimizer_state_bytes

    setup = worker.SETUP
    model = worker.build_tiny_model(setup["seed"])
    optimizer = create_optimizer(model, "adamw_bnb_8bit", lr=setup["lr"], weight_decay=setup["weight_decay"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, worker.warmup_lambda)
    initial = {n: p.detach().clone() for n, p in model.named_parameters()}
    grad_norms = []
    for step in range(setup["steps"]):
        full_batch = data[step].reshape(-1, data.shape[-1])  # rank 0's rows, then rank 1's
        grad_norms.append(worker.train_step(model, optimizer, scheduler, full_batch, setup["max_grad_norm"]))
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    return params, optimizer_state_bytes(optimizer), initial, grad_norms


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict[str, Any]:
    worker = _load_worker()
    out_dir = tmp_path_factory.mktemp("sharded_8bit")
    # The rendezvous store is hosted here (port 0: the OS picks a free one) and outlives both ranks.
    store = torch.distributed.TCPStore("127.0.0.1", 0, world_size=worker.WORLD_SIZE, is_master=True,
                                       wait_for_workers=False, timeout=timedelta(seconds=120))
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               WANDB_MODE="offline", PYTHONPATH=str(REPO_ROOT))
    procs = [
        subprocess.Popen([sys.executable, str(WORKER_PATH), str(out_dir), str(store.port), str(rank)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for rank in range(worker.WORLD_SIZE)
    ]
    try:
        # The reference runs here while the two ranks train (the data are a pure function of the setup).
        from astrobio_hf.models.llm import AstroLLMConfig

        vocab = AstroLLMConfig(**_tiny_kwargs()).vocab_size
        setup = worker.SETUP
        data = worker.synthetic_batches(setup["steps"] + 1, worker.WORLD_SIZE, setup["batch_per_rank"],
                                        setup["seq_len"], vocab)
        ref_params, ref_bytes, initial, ref_norms = _reference(worker, data)
        outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for rank, (proc, output) in enumerate(zip(procs, outputs, strict=True)):
        assert proc.returncode == 0, f"rank {rank} failed:\n{output[-4000:]}"
    results = torch.load(out_dir / "results.pt", weights_only=False)
    assert torch.equal(results["data"], data), "worker and reference must train on the same synthetic batches"
    return dict(results, ref_params=ref_params, ref_bytes=ref_bytes, initial=initial, ref_norms=ref_norms)


def _tiny_kwargs() -> dict[str, Any]:
    from astrobio_hf.models.presets import get_preset

    return get_preset("astro-llm-tiny").config_kwargs


def test_world_size_is_two_and_the_sharded_optimizer_was_used(run):
    assert run["world_size"] == 2
    assert [r["rank"] for r in run["per_rank"]] == [0, 1]
    for rank in run["per_rank"]:
        assert rank["is_fsdp2"] and rank["is_sharded_optimizer"], rank
        assert "paged_adamw_8bit cannot run on FSDP2" in rank["factory_errors"]["paged_fsdp2"]
        assert "fsdp2=False" in rank["factory_errors"]["bnb_fsdp2_false"]
    # The scheduler's warm-up reached the optimizer: each step used its own lr.
    lr = run["setup"]["lr"]
    assert run["lrs_used"] == pytest.approx([lr / 3, 2 * lr / 3, lr, lr])
    # Big tensors have 8-bit state, tensors under min_8bit_size (4096 elements, global count) fp32 state.
    assert run["state_dtypes"]["model.layers.0.mlp.up_proj.weight"] == "torch.uint8"
    assert run["state_dtypes"]["model.norm.weight"] == "torch.float32"


def test_two_rank_training_matches_single_process_8bit_adamw(run):
    ref, sharded, initial = run["ref_params"], run["params_after_n"], run["initial"]
    assert sharded.keys() == ref.keys()
    moved = max((ref[n] - initial[n]).abs().max().item() for n in ref)
    # Clipping was active (norms above max_grad_norm) and FSDP2's clip saw the same global norm as the reference.
    assert max(run["grad_norms"]) > run["setup"]["max_grad_norm"]
    assert run["grad_norms"] == pytest.approx(run["ref_norms"], rel=1e-4)
    assert moved > 10 * PARAM_ATOL, "training must move the parameters far more than the tolerance"
    for name in ref:
        diff = (sharded[name] - ref[name]).abs()
        assert diff.max().item() <= PARAM_ATOL, f"{name}: max |sharded - single| = {diff.max():.3g} > {PARAM_ATOL}"
        assert diff.mean().item() <= PARAM_MEAN_ATOL, f"{name}: mean |sharded - single| = {diff.mean():.3g}"


def test_optimizer_state_per_rank_is_about_half_of_single_process(run):
    per_rank = [r["state_bytes"] for r in run["per_rank"]]
    for nbytes in per_rank:
        ratio = nbytes / run["ref_bytes"]
        assert 0.45 <= ratio <= 0.6, f"state bytes per rank {nbytes} vs single process {run['ref_bytes']}"


def test_dcp_save_load_then_next_step_equals_continuing(run):
    for name, value in run["params_after_n"].items():
        assert torch.equal(run["params_loaded_before_step"][name], value), f"{name} not restored by dcp.load"
    for name, value in run["params_continued"].items():
        assert torch.equal(run["params_resumed"][name], value), f"{name}: resumed step differs from continued"
        assert not torch.equal(value, run["params_after_n"][name]) or value.numel() == 0, (
            f"{name}: the step after the checkpoint must change the parameters"
        )
