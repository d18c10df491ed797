"""The memory planner: per-rank GPU memory and host RAM of a training run, before running it.

Every figure is a sum of documented terms (docs/memory.md has the formulas and where each constant comes from):

- parameters, gradients and optimizer state, from the exact per-tensor shapes of the model built on the meta device,
  so 8-bit optimizer state follows bitsandbytes' per-tensor rule (tensors under 4096 elements keep fp32 state);
- activations of one micro-batch, from per-layer formulas counted from the tensors autograd saves (validated against
  `torch.autograd.graph.saved_tensors_hooks` in tests/unit/test_memory_planner.py);
- a framework overhead: on the host, the measured resident memory of python + torch + transformers + our models; on
  a GPU, the CUDA context and communication buffers (a documented constant: no GPU was available to measure it).

The planner is hand-written because no library models FSDP2 offload, bitsandbytes' 8-bit state and our own four
architectures together (accelerate's `estimate-memory` counts only parameters and a fixed optimizer multiple).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .memory_activations import (
    datacube_activation_bytes,
    datacube_activation_terms,
    graph_vae_activation_bytes,
    llm_activation_terms,
    llm_layer_bytes_per_token,
    multimodal_activation_bytes,
    multimodal_activation_terms,
)

GIB = 1024**3
LOAD_TERM = "checkpoint load (rank 0, transient)"

STRATEGIES = ("single", "ddp", "fsdp", "fsdp-offload", "lora", "qlora")
# DESIGN.md spells the seed recipe as one name: FSDP2 with CPU offload and the 8-bit AdamW.
STRATEGY_ALIASES = {"fsdp2": ("fsdp", None), "fsdp2-offload": ("fsdp-offload", None),
                    "fsdp2-offload-8bit": ("fsdp-offload", "adamw-8bit"), "fsdp-offload-8bit": ("fsdp-offload", "adamw-8bit")}
OPTIMIZERS = ("adamw", "adamw-8bit", "paged-adamw-8bit", "sgd", "sgd-nomomentum")
DTYPES = ("fp32", "bf16")
DEVICES = ("gpu", "cpu")

# bitsandbytes 0.50 `Optimizer2State.init_state`: tensors with fewer elements keep fp32 state; 8-bit state is one
# uint8 per element per state plus one float32 absmax per 256-element block per state; the two quantisation maps
# (256 float32 each) are shared by every tensor.
BNB_MIN_8BIT_SIZE = 4096
BNB_BLOCKSIZE = 256
BNB_QMAP_BYTES = 2 * 256 * 4

# QLoRA (bitsandbytes nf4, double quantisation, the QLoRA-paper recipe): 4 bits per weight, one 8-bit absmax per
# 64-weight block, and one float32 second-level scale per 256 first-level blocks.
QLORA_BLOCKSIZE = 64
QLORA_BYTES_PER_PARAM = 0.5 + 1 / QLORA_BLOCKSIZE + 4 / (QLORA_BLOCKSIZE * 256)

# GPU framework overhead (CUDA context with lazy module loading, cuBLAS workspace, caching-allocator slack) and NCCL
# buffers per rank. NOT measured here (the build machine has no GPU): typical figures for torch 2.x on A100/H100;
# see docs/memory.md. The host baseline below IS measured.
GPU_CONTEXT_BYTES = int(0.75 * GIB)
NCCL_BUFFER_BYTES = int(0.5 * GIB)
# Resident host memory of `import torch, transformers, astrobio_hf.models` (VmHWM, measured on the build machine,
# torch 2.13 CPU); tests measure it again instead of trusting this number. CUDA builds map their libraries too.
HOST_BASELINE_BYTES = 458 * 1024**2
CUDA_HOST_EXTRA_BYTES = int(1.5 * GIB)


@dataclass(frozen=True)
class ParamTensor:
    """One parameter tensor of the model (or a LoRA adapter added by the planner)."""

    name: str
    numel: int
    shape: tuple[int, ...]
    trainable: bool
    quantized: bool = False  # QLoRA: stored as 4-bit
    unit: str = ""  # the FSDP unit it belongs to ("" = the root unit)
    matmul_weight: bool = False  # weight of a Linear (autocast caches a bf16 copy of these)


@dataclass
class Inventory:
    """The parameter tensors of a model and the facts the activation formulas need."""

    model_type: str
    config: Any
    tensors: list[ParamTensor]

    @property
    def num_parameters(self) -> int:
        """Parameters of the model itself (LoRA adapters excluded)."""
        return sum(t.numel for t in self.tensors if not t.name.endswith((".lora_A", ".lora_B")))

    @property
    def trainable_parameters(self) -> int:
        return sum(t.numel for t in self.tensors if t.trainable)


@dataclass(frozen=True)
class PlanRequest:
    """Everything the planner needs besides the model."""

    strategy: str = "single"
    optimizer: str = "adamw"
    gpus: int = 1
    gpu_mem_gb: float = 24.0
    host_mem_gb: float | None = None
    micro_batch: int = 1
    seq_len: int = 2048
    grad_checkpointing: bool = False
    dtype: str = "bf16"
    device: str = "gpu"
    lora_rank: int = 16
    nodes_per_graph: int = 64
    edges_per_graph: int = 128
    host_baseline_bytes: int | None = None


@dataclass
class MemoryPlan:
    """Per-rank device memory and host RAM, in bytes, with the verdict."""

    request: dict
    preset: str | None
    model_type: str
    num_parameters: int
    trainable_parameters: int
    device: dict[str, int]
    host_per_rank: dict[str, int]
    host_total: int
    device_total: int
    device_limit: int | None
    fits: bool
    max_micro_batch: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------- inputs and models
def load_config(preset: str | None = None, config_path: str | os.PathLike | None = None):
    """The config of a preset, or of a config.json (file or folder) of one of the astrobio-hf models."""
    if (preset is None) == (config_path is None):
        raise ValueError("give exactly one of a preset name or a config path")
    if preset is not None:
        from .models.presets import build_config

        return build_config(preset)
    from transformers import AutoConfig

    from . import models  # noqa: F401  (registers the astro_* model types with AutoConfig)

    path = Path(config_path)
    if not path.exists():
        raise FileNotFoundError(f"config not found: {path}")
    try:
        config = AutoConfig.from_pretrained(str(path))
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path}: not a readable transformers config.json ({error})") from error
    if config.model_type not in _MODEL_CLASSES:
        raise ValueError(f"{path}: model_type {config.model_type!r} is not an astrobio-hf model "
                         f"(expected one of {', '.join(_MODEL_CLASSES)})")
    return config


_MODEL_CLASSES = ("astro_llm", "astro_graph_vae", "astro_datacube", "astro_multimodal")


def _model_class(model_type: str):
    from . import models

    return {
        "astro_llm": models.AstroLLMForCausalLM,
        "astro_graph_vae": models.AstroGraphVAE,
        "astro_datacube": models.AstroDatacubeModel,
        "astro_multimodal": models.AstroMultimodalModel,
    }[model_type]


def build_inventory(config, lora_rank: int | None = None, quantize: bool = False) -> Inventory:
    """Per-tensor parameter inventory from a model built on the meta device (allocates nothing).

    With `lora_rank`, every Linear except the output embedding (peft's "all-linear") is frozen and gets adapters
    A `[r, in]` and B `[out, r]`; with `quantize` those frozen Linear weights are 4-bit (QLoRA).
    """
    import torch
    from torch import nn

    model_cls = _model_class(config.model_type)
    with torch.device("meta"):
        model = model_cls(config)
    no_split = set(getattr(model, "_no_split_modules", None) or [])
    unit_of: dict[str, str] = {}
    for module_name, module in model.named_modules():
        if type(module).__name__ in no_split and not any(module_name.startswith(u + ".") for u in unit_of.values()):
            for param_name, _ in module.named_parameters(prefix=module_name):
                unit_of.setdefault(param_name, module_name)
    output = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    linear_weights: dict[str, nn.Linear] = {
        f"{name}.weight": m for name, m in model.named_modules() if isinstance(m, nn.Linear) and m is not output
    }
    tensors: list[ParamTensor] = []
    seen: set[int] = set()
    for name, param in model.named_parameters(remove_duplicate=False):
        if id(param) in seen:  # tied weights are one tensor
            continue
        seen.add(id(param))
        adapted = lora_rank is not None and name in linear_weights
        tensors.append(ParamTensor(
            name=name, numel=param.numel(), shape=tuple(param.shape), trainable=lora_rank is None,
            quantized=quantize and adapted, unit=unit_of.get(name, ""),
            matmul_weight=name in linear_weights or (output is not None and param is output.weight),
        ))
        if adapted:
            linear = linear_weights[name]
            unit = unit_of.get(name, "")
            for suffix, shape in ((".lora_A", (lora_rank, linear.in_features)), (".lora_B", (linear.out_features, lora_rank))):
                tensors.append(ParamTensor(name=name[: -len(".weight")] + suffix, numel=math.prod(shape), shape=shape,
                                           trainable=True, unit=unit, matmul_weight=True))
    return Inventory(model_type=config.model_type, config=config, tensors=tensors)


# ---------------------------------------------------------------------------------------------- optimizer state
def optimizer_state_bytes(numel: int, optimizer: str) -> int:
    """Bytes of optimizer state for one trainable tensor of `numel` elements (shared qmaps excluded)."""
    if optimizer == "adamw":
        return 8 * numel + 4  # exp_avg, exp_avg_sq (fp32) + the float32 `step` tensor
    if optimizer in ("adamw-8bit", "paged-adamw-8bit"):
        if numel < BNB_MIN_8BIT_SIZE:
            return 8 * numel
        blocks = -(-numel // BNB_BLOCKSIZE)
        return 2 * numel + 2 * 4 * blocks
    if optimizer == "sgd":
        return 4 * numel  # momentum_buffer
    if optimizer == "sgd-nomomentum":
        return 0
    raise ValueError(f"unknown optimizer {optimizer!r}; known: {', '.join(OPTIMIZERS)}")


def optimizer_total_bytes(numels: list[int], optimizer: str) -> int:
    """Optimizer state of a set of trainable tensors (local shards under FSDP), shared buffers included."""
    total = sum(optimizer_state_bytes(n, optimizer) for n in numels)
    if optimizer in ("adamw-8bit", "paged-adamw-8bit") and any(n >= BNB_MIN_8BIT_SIZE for n in numels):
        total += BNB_QMAP_BYTES
    return total


def shard_numel(tensor: ParamTensor, world_size: int) -> int:
    """Elements of the largest local shard: FSDP2 shards dim 0 with `torch.chunk` (rank 0 gets the ceil)."""
    if world_size <= 1 or not tensor.shape:
        return tensor.numel
    rows = tensor.shape[0]
    return -(-rows // world_size) * (tensor.numel // rows)


def activation_terms(inventory: Inventory, request: PlanRequest, batch: int, mode: str) -> dict[str, int]:
    """Activation memory of one micro-batch of `batch` samples, split into named terms (bytes)."""
    config = inventory.config
    gc = request.grad_checkpointing
    if inventory.model_type == "astro_llm":
        lora = request.lora_rank if request.strategy in ("lora", "qlora") else None
        return llm_activation_terms(config, batch, request.seq_len, mode, gc, lora)
    if inventory.model_type == "astro_datacube":
        return datacube_activation_terms(config, batch, mode, gc)
    if inventory.model_type == "astro_graph_vae":
        return {"saved": graph_vae_activation_bytes(config, batch, request.nodes_per_graph,
                                                          request.edges_per_graph, mode, gc)}
    return multimodal_activation_terms(config, batch, request.seq_len, request.nodes_per_graph,
                                       request.edges_per_graph, mode, gc)


# ---------------------------------------------------------------------------------------------- the plan
def normalize_request(request: PlanRequest) -> PlanRequest:
    """Resolve strategy aliases and reject impossible combinations with a clear message."""
    strategy, optimizer = request.strategy, request.optimizer
    if strategy in STRATEGY_ALIASES:
        strategy, implied = STRATEGY_ALIASES[strategy]
        optimizer = implied or optimizer
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {request.strategy!r}; known: {', '.join(STRATEGIES + tuple(STRATEGY_ALIASES))}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; known: {', '.join(OPTIMIZERS)}")
    if request.dtype not in DTYPES:
        raise ValueError(f"unknown dtype {request.dtype!r}; known: {', '.join(DTYPES)}")
    if request.device not in DEVICES:
        raise ValueError(f"unknown device {request.device!r}; known: {', '.join(DEVICES)}")
    if request.gpus < 1 or request.micro_batch < 0 or request.seq_len < 1:
        raise ValueError("gpus and seq_len must be >= 1 and micro_batch >= 0")
    if request.device == "cpu" and strategy != "single":
        raise ValueError(f"device 'cpu' is planned for the 'single' strategy only, got {strategy!r}")
    if strategy == "qlora" and request.device == "cpu":
        raise ValueError("qlora needs bitsandbytes' 4-bit GPU kernels; it is not planned on the CPU")
    gpus = 1 if strategy in ("single", "lora", "qlora") else request.gpus
    return replace(request, strategy=strategy, optimizer=optimizer, gpus=gpus)


_INVENTORIES: dict[tuple[str, int | None, bool], Inventory] = {}


def _cached_inventory(config, lora_rank: int | None, quantize: bool) -> Inventory:
    # building a 13B model on the meta device takes seconds; plans of one config share its inventory
    key = (config.to_json_string(use_diff=False), lora_rank, quantize)
    if key not in _INVENTORIES:
        _INVENTORIES[key] = build_inventory(config, lora_rank=lora_rank, quantize=quantize)
    return _INVENTORIES[key]


def plan_memory(config, request: PlanRequest, preset: str | None = None,
                inventory: Inventory | None = None) -> MemoryPlan:
    """Per-rank memory of a run of `config` under `request`, the verdict and the largest micro-batch that fits."""
    request = normalize_request(request)
    if inventory is None:
        lora = request.lora_rank if request.strategy in ("lora", "qlora") else None
        inventory = _cached_inventory(config, lora, request.strategy == "qlora")
    device, host, notes = _breakdown(inventory, request, request.micro_batch)
    limit = _device_limit(request)
    device_total, host_total = sum(device.values()), _host_total(host, request)
    fits = _fits(device_total, host_total, request, limit)
    max_batch = _max_micro_batch(inventory, request, limit)
    return MemoryPlan(
        request=asdict(request), preset=preset, model_type=inventory.model_type,
        num_parameters=inventory.num_parameters, trainable_parameters=inventory.trainable_parameters,
        device=device, host_per_rank=host, host_total=host_total, device_total=device_total,
        device_limit=limit, fits=fits, max_micro_batch=max_batch, notes=notes,
    )


def _device_limit(request: PlanRequest) -> int | None:
    if request.device == "cpu":
        return None if request.host_mem_gb is None else int(request.host_mem_gb * GIB)
    return int(request.gpu_mem_gb * GIB)


def _host_total(host: dict[str, int], request: PlanRequest) -> int:
    # every rank is a process on this node; rank 0's checkpoint load happens before the shards exist
    load = host.get(LOAD_TERM, 0)
    per_rank = sum(v for k, v in host.items() if k != LOAD_TERM)
    baseline = sum(v for k, v in host.items() if k.startswith("framework"))
    return max(per_rank * request.gpus, baseline * request.gpus + load)


def _fits(device_total: int, host_total: int, request: PlanRequest, limit: int | None) -> bool:
    if request.device == "cpu":
        return limit is None or host_total <= limit
    if device_total > limit:
        return False
    return request.host_mem_gb is None or host_total <= request.host_mem_gb * GIB


def _max_micro_batch(inventory: Inventory, request: PlanRequest, limit: int | None) -> int:
    """The largest micro-batch that fits (0 if even 1 does not); memory grows monotonically with the batch."""
    if limit is None:
        return -1  # nothing to fit against

    def fits(batch: int) -> bool:
        device, host, _ = _breakdown(inventory, request, batch)
        return _fits(sum(device.values()), _host_total(host, request), request, limit)

    if not fits(1):
        return 0
    low, high = 1, 2
    while high <= 1 << 20 and fits(high):
        low, high = high, high * 2
    if high > 1 << 20:
        return low
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low


def _breakdown(inventory: Inventory, request: PlanRequest, batch: int) -> tuple[dict[str, int], dict[str, int], list[str]]:
    """(device bytes by term, host bytes per rank by term, notes) for a micro-batch of `batch`."""
    s, opt, n = request.strategy, request.optimizer, request.gpus
    bf16 = request.dtype == "bf16"
    tensors = inventory.tensors
    trainable = [t for t in tensors if t.trainable]
    frozen = [t for t in tensors if not t.trainable]
    notes: list[str] = []
    dev: dict[str, int] = {}
    host: dict[str, int] = {}
    compute_bytes = 2 if bf16 else 4

    if s in ("single", "ddp"):
        mode = "autocast" if bf16 else "fp32"
        dev["parameters"] = 4 * sum(t.numel for t in tensors)
        dev["gradients"] = 4 * sum(t.numel for t in trainable)
        if s == "ddp" and n > 1:
            dev["ddp gradient buckets"] = 4 * sum(t.numel for t in trainable)
        dev["optimizer state"] = optimizer_total_bytes([t.numel for t in trainable], opt)
        if bf16:
            dev["autocast bf16 weight copies"] = 2 * sum(t.numel for t in tensors if t.matmul_weight)
    elif s in ("lora", "qlora"):
        mode = "bf16" if bf16 else "fp32"
        base = sum(t.numel for t in frozen if not t.quantized)
        quant = sum(t.numel for t in frozen if t.quantized)
        dev["parameters"] = compute_bytes * base + math.ceil(QLORA_BYTES_PER_PARAM * quant) + 4 * sum(t.numel for t in trainable)
        dev["gradients"] = 4 * sum(t.numel for t in trainable)
        dev["optimizer state"] = optimizer_total_bytes([t.numel for t in trainable], opt)
        if quant:
            largest = max(t.numel for t in frozen if t.quantized)
            dev["dequantised weight (transient)"] = compute_bytes * largest
        if bf16:
            dev["autocast bf16 weight copies"] = 2 * sum(t.numel for t in trainable)
    else:  # fsdp, fsdp-offload
        mode = "bf16" if bf16 else "fp32"
        local = {t.name: shard_numel(t, n) for t in tensors}
        units: dict[str, int] = {}
        for t in tensors:
            units[t.unit] = units.get(t.unit, 0) + t.numel
        root = units.pop("", 0)
        largest_unit = max(units.values(), default=0)
        # FSDP2 keeps the root unit (embeddings, final norm, head) unsharded from forward to backward, and has at
        # most two layer units gathered at once (the current one and the prefetched next one).
        working = compute_bytes * (root + 2 * largest_unit) if n > 1 else 0
        grad_working = (2 if bf16 else 4) * (root + largest_unit) if n > 1 else 0
        sharded_params = 4 * sum(local[t.name] for t in tensors)
        sharded_grads = 4 * sum(local[t.name] for t in trainable)
        opt_bytes = optimizer_total_bytes([local[t.name] for t in trainable], opt)
        if s == "fsdp":
            dev["parameters (fp32 shard)"] = sharded_params
            dev["gradients (fp32 shard)"] = sharded_grads
            dev["optimizer state (shard)"] = opt_bytes
            if bf16 and n == 1:
                dev["bf16 parameter copies"] = 2 * sum(t.numel for t in tensors)
        else:
            host["parameters (fp32 shard, pinned)"] = sharded_params
            host["gradients (fp32 shard, pinned)"] = sharded_grads
            host["optimizer state (shard)"] = opt_bytes
            # with offload even one rank gathers units onto the GPU one at a time
            working = compute_bytes * (root + 2 * largest_unit)
            grad_working = (2 if bf16 else 4) * (root + largest_unit)
        dev["gathered parameters (root + 2 units)"] = working
        dev["unsharded gradients (root + 1 unit)"] = grad_working
        # rank 0 materialises the whole model on the host before sharding (cpu_ram_efficient_loading)
        host[LOAD_TERM] = 4 * sum(t.numel for t in tensors)
        notes.append(f"FSDP units: root {root:,} params, largest unit {largest_unit:,} params")

    acts = activation_terms(inventory, request, batch, mode)
    for name, value in acts.items():
        dev[f"activations: {name}"] = value
    if request.device == "cpu":
        # the CPU optimizer step allocates temporaries the size of the largest tensor (torch's for-loop AdamW)
        if opt in ("adamw", "adamw-8bit", "paged-adamw-8bit") and trainable:
            dev["optimizer step temporaries"] = 2 * 4 * max(t.numel for t in trainable)
    elif opt == "adamw" and s != "fsdp-offload" and trainable:
        # torch's foreach AdamW (the CUDA default) materialises one fp32 intermediate per (local) trainable tensor
        local = [shard_numel(t, n) if s == "fsdp" else t.numel for t in trainable]
        dev["optimizer step temporaries"] = 4 * sum(local)

    baseline = request.host_baseline_bytes if request.host_baseline_bytes is not None else HOST_BASELINE_BYTES
    if request.device == "cpu":
        # everything lives in host RAM: the device dict is the host breakdown of the one process
        dev["framework baseline (python + torch + transformers)"] = baseline
        host = {}
    else:
        dev["CUDA context and allocator overhead"] = GPU_CONTEXT_BYTES
        if n > 1:
            dev["NCCL buffers"] = NCCL_BUFFER_BYTES
        host["framework baseline (python + torch + transformers, CUDA libraries)"] = baseline + CUDA_HOST_EXTRA_BYTES
        if opt == "paged-adamw-8bit":
            notes.append("paged 8-bit state is counted on the GPU; under pressure CUDA unified memory pages it to the host")
    if s == "qlora":
        notes.append("QLoRA: nf4 with double quantisation, 0.52 B per quantised weight")
    return dev, host, notes


def plan_for(preset: str | None = None, config_path: str | None = None, **request: Any) -> MemoryPlan:
    """Convenience: load a preset or config file and plan it."""
    config = load_config(preset, config_path)
    return plan_memory(config, PlanRequest(**request), preset=preset)


__all__ = [
    "STRATEGIES", "OPTIMIZERS", "PlanRequest", "MemoryPlan", "Inventory", "ParamTensor", "load_config",
    "build_inventory", "optimizer_state_bytes", "optimizer_total_bytes", "shard_numel", "llm_activation_terms",
    "llm_layer_bytes_per_token", "datacube_activation_bytes", "datacube_activation_terms", "graph_vae_activation_bytes",
    "multimodal_activation_bytes", "multimodal_activation_terms", "activation_terms", "plan_memory", "plan_for", "normalize_request",
]
