"""Optimizer factory for the trainer: torch AdamW, bitsandbytes 8-bit AdamW, and the FSDP2 sharded 8-bit AdamW.

An optimizer/strategy combination that cannot work raises a ValueError; nothing falls back to 32-bit silently.
bitsandbytes and torchao are imported only when an 8-bit optimizer is asked for, so the trainer imports (and trains
with torch AdamW) on hosts without them, such as the GPU image of benchmarks/gpu/.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from torch.distributed.tensor import DTensor

OPTIMIZER_NAMES = ("adamw_torch", "adamw_bnb_8bit", "paged_adamw_8bit", "adamw_torchao_8bit")
_EIGHT_BIT = ("adamw_bnb_8bit", "paged_adamw_8bit", "adamw_torchao_8bit")


def is_fsdp2_model(model: nn.Module) -> bool:
    """True when any parameter is a DTensor (the model was sharded with FSDP2 `fully_shard`)."""
    return any(isinstance(p, DTensor) for p in model.parameters())


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Trainable parameters split into a weight-decay group (matrices, embeddings) and a no-decay group.

    Vectors (norm weights, biases) get no weight decay, as in transformers' Trainer.
    """
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (decay if param.ndim >= 2 else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def create_optimizer(
    model: nn.Module,
    name: str = "adamw_torch",
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    fsdp2: bool = False,
) -> torch.optim.Optimizer:
    """The optimizer `name` over `model`'s trainable parameters.

    `fsdp2=True` means the parameters are FSDP2 DTensors: 8-bit AdamW is then `ShardedAdamW8bit`, which steps
    each rank's local shard. Impossible combinations (paged 8-bit on FSDP2, an FSDP2 model with `fsdp2=False`,
    unknown names) raise ValueError.
    """
    if name not in OPTIMIZER_NAMES:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZER_NAMES)}")
    sharded = is_fsdp2_model(model)
    if sharded and not fsdp2 and name in _EIGHT_BIT:
        raise ValueError(
            f"optimizer {name!r}: the model has FSDP2 (DTensor) parameters but fsdp2=False; pass fsdp2=True "
            "to get the sharded 8-bit AdamW"
        )
    groups = parameter_groups(model, weight_decay)
    if not groups:
        raise ValueError("the model has no trainable parameters")
    kwargs = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    if name == "adamw_torch":
        return torch.optim.AdamW(groups, **kwargs)
    if name == "adamw_torchao_8bit":
        return torchao_adamw8bit(groups, **kwargs)
    if name == "paged_adamw_8bit":
        if fsdp2:
            raise ValueError(
                "paged_adamw_8bit cannot run on FSDP2: paged state lives in CUDA unified memory for whole "
                "tensors, not per DTensor shard; use 'adamw_bnb_8bit' (sharded 8-bit AdamW) with FSDP2"
            )
        return _bitsandbytes(name).optim.PagedAdamW8bit(groups, **kwargs)
    # adamw_bnb_8bit
    bnb = _bitsandbytes(name)
    if fsdp2:
        from .sharded_optim import ShardedAdamW8bit

        return ShardedAdamW8bit(groups, **kwargs)
    return bnb.optim.AdamW8bit(groups, **kwargs)


def torchao_adamw8bit(params: Iterable[torch.Tensor] | Iterable[dict[str, Any]], **kwargs: Any) -> torch.optim.Optimizer:
    """torchao's `AdamW8bit` (works with FSDP2 DTensors upstream); needs the `fsdp8bit` extra (torchao)."""
    try:
        from torchao.optim import AdamW8bit as TorchaoAdamW8bit
    except ImportError as err:
        raise ImportError(
            "the torchao 8-bit AdamW path needs torchao, which is not installed; install the 'fsdp8bit' extra "
            "(pip install 'astrobio-hf[fsdp8bit]') or use optim='adamw_bnb_8bit' (ShardedAdamW8bit)"
        ) from err
    return TorchaoAdamW8bit(params, **kwargs)


def _bitsandbytes(name: str):
    """bitsandbytes, or an ImportError saying which optimizer needed it and what else works without it."""
    try:
        import bitsandbytes
    except ImportError as err:
        raise ImportError(
            f"optimizer {name!r} needs bitsandbytes, which is not installed here; install it (it is in the base "
            "requirements) or use 'adamw_torch' (or 'adamw_torchao_8bit' with the 'fsdp8bit' extra)"
        ) from err
    return bitsandbytes


__all__ = ["OPTIMIZER_NAMES", "create_optimizer", "is_fsdp2_model", "parameter_groups"]
