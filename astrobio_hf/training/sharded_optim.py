"""An 8-bit AdamW that steps FSDP2 (DTensor) parameters shard by shard with bitsandbytes' blockwise kernels.

Why this exists: `bnb.optim.AdamW8bit` on FSDP2 parameters fails with "got mixed torch.Tensor and DTensor"
because it allocates plain-tensor state for DTensor parameters. The 8-bit AdamW update is elementwise within
256-element blocks, so it can run on each rank's local shard (`DTensor.to_local()`), with state the size of that
shard. With FSDP2 `CPUOffloadPolicy` the local shards are host tensors, where bitsandbytes' CPU kernels run.

`ShardedAdamW8bit` subclasses `bnb.optim.AdamW8bit` and keeps its step loop, config handling and kernels
(`bnb.functional.optimizer_update_8bit_blockwise` / `optimizer_update_32bit`); only state allocation, the
per-parameter update (local shard in, local shard updated in place) and the state dict are replaced. The
`param_groups` hold the model's own (DTensor or plain) parameters, so LR schedulers, `zero_grad` and
`torch.distributed.checkpoint.state_dict.get/set_optimizer_state_dict` work on it unchanged.

Checkpoint format (per parameter, keyed by FQN through `get_optimizer_state_dict`):
- `step` (int), `state1`/`state2`: DTensors with the parameter's mesh, placements and global shape (uint8 codes
  for 8-bit state, fp32 moments for tensors under `min_8bit_size`), so `dcp.save` writes each rank's shard once.
- `absmax1`/`absmax2` (8-bit state only): per-block scales of the local shard, padded to the largest shard's
  block count and wrapped as a `Shard(0)` DTensor.
- `block_layout` (8-bit state only): int64 [number of shards, elements of the largest shard], the block layout
  the scales belong to (identical on every rank, so saved once).
Resharding to another world size is not supported for 8-bit state (block scales belong to the saving rank's
shard layout); loading such a checkpoint raises a clear error instead of silently mixing scales.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from itertools import chain
from typing import Any

import torch
from bitsandbytes.functional import optimizer_update_8bit_blockwise, optimizer_update_32bit
from bitsandbytes.optim import AdamW8bit
from torch.distributed.tensor import DTensor, Replicate, Shard

# bitsandbytes' blockwise 8-bit optimizer kernels use a fixed block size of 256 elements.
BNB_BLOCKSIZE = 256
_QUANT_KEYS = ("state1", "state2", "absmax1", "absmax2")


def _local(t: torch.Tensor) -> torch.Tensor:
    """The tensor a rank actually holds: the local shard of a DTensor, else the tensor itself."""
    return t.to_local() if isinstance(t, DTensor) else t


def _max_local_numel(p: DTensor) -> int:
    """Element count of the largest local shard of `p` (the first chunk on every sharded mesh dim)."""
    shape = list(p.shape)
    for mesh_dim, placement in enumerate(p.placements):
        if isinstance(placement, Shard):
            shape[placement.dim] = math.ceil(shape[placement.dim] / p.device_mesh.size(mesh_dim))
        elif not isinstance(placement, Replicate):
            raise ValueError(
                f"ShardedAdamW8bit supports Shard/Replicate placements (FSDP2, HSDP); got {placement} "
                f"for a parameter of shape {tuple(p.shape)}"
            )
    return math.prod(shape)


def _absmax_placements(p: DTensor) -> tuple[list[Any], int]:
    """Placements of the padded block-scale DTensor of `p` and how many shards it is split into."""
    placements: list[Any] = []
    n_shards = 1
    for mesh_dim, placement in enumerate(p.placements):
        if isinstance(placement, Shard):
            placements.append(Shard(0))
            n_shards *= p.device_mesh.size(mesh_dim)
        else:
            placements.append(Replicate())
    return placements, n_shards


def _n_blocks(numel: int) -> int:
    return math.ceil(numel / BNB_BLOCKSIZE)


def _block_layout(p: torch.Tensor) -> torch.Tensor:
    """[number of shards, elements of the largest shard]: what the block scales of `p`'s state depend on."""
    if not isinstance(p, DTensor):
        return torch.tensor([1, p.numel()], dtype=torch.int64)
    return torch.tensor([_absmax_placements(p)[1], _max_local_numel(p)], dtype=torch.int64)


class ShardedAdamW8bit(AdamW8bit):
    """bitsandbytes 8-bit AdamW (blockwise state, decoupled weight decay) for FSDP2 DTensor or plain parameters.

    Arguments are those of `bnb.optim.AdamW8bit`. Whether a parameter gets 8-bit or fp32 state is decided on its
    GLOBAL element count (`min_8bit_size`), so every rank holds the same kind of state for a parameter and the
    choice matches a single-process `AdamW8bit` on the unsharded model.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        min_8bit_size: int = 4096,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         min_8bit_size=min_8bit_size)
        for p in self._params():
            if isinstance(p, DTensor):
                _max_local_numel(p)  # fail at construction on unsupported placements (e.g. Partial)

    def _params(self) -> list[torch.Tensor]:
        return list(chain.from_iterable(g["params"] for g in self.param_groups))

    # --- state allocation and update (bnb's step() loop calls these) ---------------------------------------

    @torch.no_grad()
    def init_state(self, group: dict[str, Any], p: torch.Tensor, gindex: int, pindex: int) -> None:
        config = self.get_config(gindex, pindex, group)
        if config["optim_bits"] != 8:
            raise ValueError(f"ShardedAdamW8bit needs optim_bits=8, got {config['optim_bits']}")
        if config["max_unorm"] > 0.0:
            raise ValueError("ShardedAdamW8bit does not support max_unorm (it needs a norm over the full tensor)")
        local = _local(p)
        state = self.state[p]
        state["step"] = 0
        if p.numel() < config["min_8bit_size"]:  # global numel: same choice on every rank
            state["state1"] = torch.zeros_like(local, dtype=torch.float32)
            state["state2"] = torch.zeros_like(local, dtype=torch.float32)
            return
        if "dynamic" not in self.name2qmap:
            self.fill_qmap()
        for name in ("dynamic", "udynamic"):
            self.name2qmap[name] = self.name2qmap[name].to(local.device)
        state["state1"] = torch.zeros_like(local, dtype=torch.uint8)
        state["state2"] = torch.zeros_like(local, dtype=torch.uint8)
        state["qmap1"] = self.name2qmap["dynamic"]
        state["qmap2"] = self.name2qmap["udynamic"]
        blocks = _n_blocks(local.numel())
        state["absmax1"] = torch.zeros((blocks,), dtype=torch.float32, device=local.device)
        state["absmax2"] = torch.zeros((blocks,), dtype=torch.float32, device=local.device)

    @torch.no_grad()
    def update_step(self, group: dict[str, Any], p: torch.Tensor, gindex: int, pindex: int) -> None:
        if isinstance(p, DTensor) != isinstance(p.grad, DTensor):
            raise TypeError(
                f"parameter and gradient must both be DTensors or both plain tensors; got "
                f"{type(p).__name__} parameter with {type(p.grad).__name__} gradient (shape {tuple(p.shape)})"
            )
        local_p, local_g = _local(p), _local(p.grad)
        state = self.state[p]
        state["step"] += 1
        if local_p.numel() == 0:  # an uneven split can leave a rank without elements of this parameter
            return
        # The kernels need contiguous memory; FSDP2 shards are contiguous, anything else is stepped on a copy.
        target = local_p if local_p.is_contiguous() else local_p.contiguous()
        grad = local_g.contiguous()
        config = self.get_config(gindex, pindex, group)
        lr = float(group["lr"])
        beta1, beta2 = config["betas"][0], config["betas"][1]
        if state["state1"].dtype == torch.float32:
            optimizer_update_32bit(
                self.optimizer_name, grad, target, state["state1"], beta1, config["eps"], state["step"], lr,
                state["state2"], beta2, 0.0, 0.0, config["weight_decay"], 1.0, None,
                max_unorm=0.0, skip_zeros=config["skip_zeros"],
            )
        else:
            optimizer_update_8bit_blockwise(
                self.optimizer_name, grad, target, state["state1"], state["state2"], beta1, beta2, 0.0, 0.0,
                config["eps"], state["step"], lr, state["qmap1"], state["qmap2"], state["absmax1"],
                state["absmax2"], config["weight_decay"], gnorm_scale=1.0, skip_zeros=config["skip_zeros"],
            )
        if target is not local_p:
            local_p.copy_(target)

    # --- state dict: DTensor-wrapped local state, loadable through torch.distributed.checkpoint --------------

    def _wrap(self, p: torch.Tensor, key: str, value: torch.Tensor) -> torch.Tensor:
        """Present one local state tensor as a DTensor laid out like `p` (plain params: the tensor itself)."""
        if not isinstance(p, DTensor):
            return value
        if key in ("state1", "state2"):
            return DTensor.from_local(value, p.device_mesh, p.placements, run_check=False,
                                      shape=p.shape, stride=p.stride())
        placements, n_shards = _absmax_placements(p)
        max_blocks = _n_blocks(_max_local_numel(p))
        padded = torch.zeros((max_blocks,), dtype=value.dtype, device=value.device)
        padded[: value.numel()] = value
        return DTensor.from_local(padded, p.device_mesh, placements, run_check=False,
                                  shape=(max_blocks * n_shards,), stride=(1,))

    def state_dict(self) -> dict[str, Any]:
        """torch-format optimizer state dict whose tensors are DTensors sharded like the parameters.

        The quantisation maps (`qmap1`/`qmap2`) are constants of bitsandbytes and are not saved.
        """
        # torch.optim.Optimizer.state_dict, not bnb's override (which hides the quant state in a nested dict).
        packed = torch.optim.Optimizer.state_dict(self)
        params = self._params()
        out_state: dict[int, dict[str, Any]] = {}
        for index, saved in packed["state"].items():
            p = params[index]
            entry: dict[str, Any] = {"step": saved["step"]}
            for key in _QUANT_KEYS:
                if key in saved:
                    entry[key] = self._wrap(p, key, saved[key])
            if "absmax1" in saved:
                entry["block_layout"] = _block_layout(p)
            out_state[index] = entry
        return {"state": out_state, "param_groups": packed["param_groups"]}

    def load_state_dict(self, state_dict: dict[str, Any], move_to_device: bool = True) -> None:
        """Load a state dict made by `state_dict()` (after `dcp.load` or directly) into this optimizer."""
        groups, saved_groups = self.param_groups, state_dict["param_groups"]
        if len(groups) != len(saved_groups) or any(
            len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups, strict=True)
        ):
            raise ValueError("loaded optimizer state dict has different parameter groups than this optimizer")
        params = self._params()
        saved_ids = list(chain.from_iterable(s["params"] for s in saved_groups))
        index_of = {saved_id: i for i, saved_id in enumerate(saved_ids)}
        new_state: dict[torch.Tensor, dict[str, Any]] = {}
        for saved_id, saved in state_dict["state"].items():
            p = params[index_of[saved_id]]
            new_state[p] = self._unwrap_state(p, saved)
        for group, saved in zip(groups, saved_groups, strict=True):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state.clear()
        self.state.update(new_state)

    def _unwrap_state(self, p: torch.Tensor, saved: dict[str, Any]) -> dict[str, Any]:
        local_p = _local(p)
        step = saved["step"]
        state: dict[str, Any] = {"step": int(step.item()) if isinstance(step, torch.Tensor) else int(step)}
        for key in ("state1", "state2"):
            value = _local(saved[key])
            if value.shape != local_p.shape:
                raise ValueError(
                    f"optimizer {key} has local shape {tuple(value.shape)} but the parameter shard is "
                    f"{tuple(local_p.shape)}: the checkpoint does not match this model"
                )
            state[key] = value.detach().to(local_p.device).clone()
        if state["state1"].dtype == torch.uint8:
            layout = _block_layout(p)
            saved_layout = saved.get("block_layout")
            if saved_layout is None or not torch.equal(torch.as_tensor(saved_layout).cpu(), layout):
                raise ValueError(
                    f"8-bit optimizer state for a parameter of shape {tuple(p.shape)} was saved with block layout "
                    f"{None if saved_layout is None else torch.as_tensor(saved_layout).tolist()} "
                    f"([shards, largest shard numel]) but this optimizer has {layout.tolist()}; resharding 8-bit "
                    "AdamW state to another world size is not supported"
                )
            n_blocks = _n_blocks(local_p.numel())
            for key in ("absmax1", "absmax2"):
                local_value = _local(saved[key])[:n_blocks]
                state[key] = local_value.detach().to(local_p.device, torch.float32).clone()
            if "dynamic" not in self.name2qmap:
                self.fill_qmap()
            state["qmap1"] = self.name2qmap["dynamic"].to(local_p.device)
            state["qmap2"] = self.name2qmap["udynamic"].to(local_p.device)
        return state


def optimizer_state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes of optimizer state tensors this process holds (local shards of DTensors; shared tensors once)."""
    seen: set[int] = set()
    total = 0
    for state in optimizer.state.values():
        for value in state.values():
            if not isinstance(value, torch.Tensor):
                continue
            local = _local(value)
            if local.numel() == 0 or local.data_ptr() in seen:
                continue
            seen.add(local.data_ptr())
            total += local.numel() * local.element_size()
    return total


__all__ = ["BNB_BLOCKSIZE", "ShardedAdamW8bit", "optimizer_state_bytes"]
