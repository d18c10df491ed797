"""The optimizer factory and ShardedAdamW8bit in one process (plain tensors); FSDP2 is in tests/distributed."""

from __future__ import annotations

import copy
import importlib.util

import bitsandbytes as bnb
import pytest
import torch
from torch import nn

from astrobio_hf.training.optimizers import create_optimizer, is_fsdp2_model, parameter_groups
from astrobio_hf.training.sharded_optim import ShardedAdamW8bit, optimizer_state_bytes


def _mlp(seed: int = 0) -> nn.Module:
    """Two 512x512 layers (8-bit state) plus a norm and biases (under min_8bit_size: fp32 state)."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(512, 512), nn.LayerNorm(512), nn.Linear(512, 512))


def _inputs(steps: int) -> torch.Tensor:
    """SYNTHETIC inputs from a fixed seed (not data), one batch per step."""
    return torch.randn(steps, 8, 512, generator=torch.Generator().manual_seed(7))


def _train(model: nn.Module, optimizer: torch.optim.Optimizer, inputs: torch.Tensor) -> None:
    for batch in inputs:
        model(batch).pow(2).mean().backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


def _bytes_per_param(model: nn.Module, optimizer: torch.optim.Optimizer) -> float:
    return optimizer_state_bytes(optimizer) / sum(p.numel() for p in model.parameters())


def test_factory_returns_the_requested_optimizer():
    model = _mlp()
    assert type(create_optimizer(model, "adamw_torch")) is torch.optim.AdamW
    assert type(create_optimizer(model, "adamw_bnb_8bit")) is bnb.optim.AdamW8bit
    assert type(create_optimizer(model, "paged_adamw_8bit")) is bnb.optim.PagedAdamW8bit
    assert type(create_optimizer(model, "adamw_bnb_8bit", fsdp2=True)) is ShardedAdamW8bit
    assert not is_fsdp2_model(model)


def test_factory_hyperparameters_and_no_decay_for_vectors():
    model = _mlp()
    opt = create_optimizer(model, "adamw_bnb_8bit", lr=3e-4, weight_decay=0.05, betas=(0.8, 0.95), eps=1e-6,
                           fsdp2=True)
    decay, no_decay = opt.param_groups
    assert {p.ndim for p in decay["params"]} == {2} and {p.ndim for p in no_decay["params"]} == {1}
    assert (decay["weight_decay"], no_decay["weight_decay"]) == (0.05, 0.0)
    assert decay["lr"] == 3e-4 and tuple(decay["betas"]) == (0.8, 0.95) and decay["eps"] == 1e-6
    assert len(parameter_groups(model, 0.1)[0]["params"]) + len(parameter_groups(model, 0.1)[1]["params"]) == 6


def test_factory_rejects_impossible_combinations():
    model = _mlp()
    with pytest.raises(ValueError, match="unknown optimizer 'adamw_8bit'.*adamw_bnb_8bit"):
        create_optimizer(model, "adamw_8bit")
    with pytest.raises(ValueError, match="paged_adamw_8bit cannot run on FSDP2"):
        create_optimizer(model, "paged_adamw_8bit", fsdp2=True)
    frozen = _mlp()
    frozen.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        create_optimizer(frozen, "adamw_torch")


def test_torchao_path_is_guarded():
    model = _mlp()
    if importlib.util.find_spec("torchao") is None:
        with pytest.raises(ImportError, match="needs torchao.*fsdp8bit"):
            create_optimizer(model, "adamw_torchao_8bit")
    else:
        assert type(create_optimizer(model, "adamw_torchao_8bit")).__name__ == "AdamW8bit"


def test_8bit_state_is_about_2_bytes_per_parameter_vs_8_for_torch_adamw():
    inputs = _inputs(1)
    measured = {}
    for name, fsdp2 in (("adamw_torch", False), ("adamw_bnb_8bit", False), ("adamw_bnb_8bit", True)):
        model = _mlp()
        opt = create_optimizer(model, name, fsdp2=fsdp2)
        _train(model, opt, inputs)
        measured[(name, fsdp2)] = _bytes_per_param(model, opt)
    assert 7.99 <= measured[("adamw_torch", False)] <= 8.01
    # 2 bytes of codes + 8 bytes of block scales per 256 elements (+ fp32 state of the 1.5k vector elements).
    assert 2.0 <= measured[("adamw_bnb_8bit", False)] <= 2.15
    assert measured[("adamw_bnb_8bit", True)] == measured[("adamw_bnb_8bit", False)]


def test_sharded_optimizer_on_plain_params_equals_bnb_adamw8bit_bitwise():
    inputs = _inputs(4)
    results = []
    for fsdp2 in (False, True):
        model = _mlp()
        _train(model, create_optimizer(model, "adamw_bnb_8bit", lr=1e-2, weight_decay=0.1, fsdp2=fsdp2), inputs)
        results.append(model.state_dict())
    initial = _mlp().state_dict()
    for name, value in results[0].items():
        assert not torch.equal(value, initial[name]), f"{name} did not train"
        assert torch.equal(results[1][name], value), f"{name}: ShardedAdamW8bit differs from bnb AdamW8bit"


def test_weight_decay_is_decoupled():
    # Zero gradients: Adam's update is 0, so the only change is the decoupled shrink p *= (1 - lr * wd).
    model = nn.Linear(128, 64, bias=False)  # 8192 elements: 8-bit state
    before = model.weight.detach().clone()
    opt = ShardedAdamW8bit(model.parameters(), lr=0.1, weight_decay=0.5)
    model.weight.grad = torch.zeros_like(model.weight)
    opt.step()
    torch.testing.assert_close(model.weight.detach(), before * (1 - 0.1 * 0.5))


def test_lr_scheduler_changes_the_lr_used():
    model = _mlp()
    opt = create_optimizer(model, "adamw_bnb_8bit", lr=1e-2, fsdp2=True)
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.0 if step == 0 else 1.0)
    inputs = _inputs(2)
    before = copy.deepcopy(model.state_dict())
    model(inputs[0]).pow(2).mean().backward()
    opt.step()
    scheduler.step()
    opt.zero_grad()
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), f"{name} changed although the scheduled lr was 0"
    assert opt.param_groups[0]["lr"] == 1e-2
    _train(model, opt, inputs[1:])
    assert not torch.equal(model.state_dict()["0.weight"], before["0.weight"])


def test_state_dict_round_trip_gives_the_same_next_step():
    inputs = _inputs(3)
    model = _mlp()
    opt = create_optimizer(model, "adamw_bnb_8bit", lr=1e-2, weight_decay=0.1, fsdp2=True)
    _train(model, opt, inputs[:2])
    saved_model, saved_opt = copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict())
    assert {"state1", "state2", "absmax1", "absmax2", "step", "block_layout"} == set(saved_opt["state"][0])
    assert saved_opt["state"][0]["block_layout"].tolist() == [1, 512 * 512]
    assert saved_opt["state"][0]["state1"].dtype == torch.uint8 and saved_opt["state"][0]["step"] == 2
    _train(model, opt, inputs[2:])

    fresh = _mlp(seed=1)
    fresh.load_state_dict(saved_model)
    fresh_opt = create_optimizer(fresh, "adamw_bnb_8bit", lr=5.0, weight_decay=0.1, fsdp2=True)
    fresh_opt.load_state_dict(saved_opt)
    assert fresh_opt.param_groups[0]["lr"] == 1e-2  # hyperparameters come from the checkpoint
    _train(fresh, fresh_opt, inputs[2:])
    for name, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[name], value), f"{name}: resumed step differs"


def test_load_state_dict_rejects_a_different_model():
    model = _mlp()
    opt = create_optimizer(model, "adamw_bnb_8bit", fsdp2=True)
    _train(model, opt, _inputs(1))
    other = nn.Sequential(nn.Linear(512, 256), nn.LayerNorm(256), nn.Linear(256, 512))
    other_opt = create_optimizer(other, "adamw_bnb_8bit", fsdp2=True)
    with pytest.raises(ValueError, match="local shape"):
        other_opt.load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="different parameter groups"):
        ShardedAdamW8bit(nn.Linear(4, 4).parameters()).load_state_dict(opt.state_dict())


def test_load_state_dict_refuses_8bit_state_from_another_block_layout():
    model = _mlp()
    opt = create_optimizer(model, "adamw_bnb_8bit", fsdp2=True)
    _train(model, opt, _inputs(1))
    state = copy.deepcopy(opt.state_dict())
    state["state"][0]["block_layout"] = torch.tensor([2, 512 * 256])  # as if saved by 2 ranks
    with pytest.raises(ValueError, match="resharding 8-bit AdamW state"):
        create_optimizer(_mlp(), "adamw_bnb_8bit", fsdp2=True).load_state_dict(state)
