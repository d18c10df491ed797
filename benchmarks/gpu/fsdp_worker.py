"""The training script check_fsdp.py starts with `accelerate launch`: AstroTrainer on an AstroLLM preset, a few steps.

It trains on the blocks check_fsdp.py tokenized from this repository's own documentation (real English technical
text), with the optimizer named by `--optim`, saves checkpoints every `--save-steps`, optionally resumes from one,
and writes a JSON (rank 0) with the logged losses, the optimizer actually built, how accelerate wrapped the model,
the CUDA memory peak, and a copy of the full parameters at `--snapshot-step` and at the end (for the resume check).
It imports no `datasets`: the rows are a torch Dataset, the collator transformers' default one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
from transformers import AutoTokenizer, TrainerCallback, default_data_collator, set_seed  # noqa: E402

from astrobio_hf.models import AstroLLMForCausalLM  # noqa: E402
from astrobio_hf.models.presets import build_config  # noqa: E402
from astrobio_hf.training import AstroTrainer, AstroTrainingArguments  # noqa: E402


class Blocks(torch.utils.data.Dataset):
    """Fixed-length token blocks as causal-LM rows (labels = inputs; the model shifts them)."""

    def __init__(self, blocks: torch.Tensor):
        self.blocks = blocks

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.blocks[index], "labels": self.blocks[index]}


def full_parameters(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter gathered to a full fp32 CPU tensor (FSDP2 DTensors via full_tensor, a collective)."""
    from torch.distributed.tensor import DTensor

    out = {}
    for name, param in model.named_parameters():
        data = param.detach()
        if isinstance(data, DTensor):
            if data.device_mesh.size() == 1:  # one rank: the local shard is the whole tensor, no collective needed
                data = data.to_local()
            else:  # offloaded shards live on the host; NCCL gathers device tensors
                local = data.to_local().to(data.device_mesh.device_type)
                data = DTensor.from_local(local, data.device_mesh, data.placements).full_tensor()
        out[name.replace("_fsdp_wrapped_module.", "").replace("module.", "", 1)] = data.float().cpu().clone()
    return out


class Snapshot(TrainerCallback):
    """Saves the full parameters after step `step` (rank 0 writes)."""

    def __init__(self, step: int, path: Path):
        self.step, self.path = step, path

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step == self.step:
            params = full_parameters(model)
            if state.is_world_process_zero:
                torch.save(params, self.path)


class CountSteps(TrainerCallback):
    """Counts the optimizer steps this process ran (a resumed run must run only the remaining ones)."""

    def __init__(self):
        self.steps = 0

    def on_step_end(self, args, state, control, **kwargs):
        self.steps += 1


def optimizer_facts(optimizer) -> dict:
    inner = getattr(optimizer, "optimizer", optimizer)  # accelerate's AcceleratedOptimizer wraps the real one
    steps, state_bytes, devices = set(), 0, set()
    for state in inner.state.values():
        for key, value in state.items():
            if key == "step":  # a tensor (torch, torchao) or an int (bitsandbytes)
                steps.add(int(value.item()) if isinstance(value, torch.Tensor) else int(value))
                continue
            if not isinstance(value, torch.Tensor):
                continue
            local = value.to_local() if hasattr(value, "to_local") else value
            state_bytes += local.numel() * local.element_size()
            devices.add(str(local.device))
    return {"class": f"{type(inner).__module__}.{type(inner).__name__}", "state_bytes": state_bytes,
            "state_devices": sorted(devices), "steps": sorted(steps)}


def parameter_facts(model: torch.nn.Module) -> dict:
    from torch.distributed.tensor import DTensor

    name, param = next(iter(model.named_parameters()))
    local = param.to_local() if isinstance(param, DTensor) else param
    return {"first_parameter": name, "is_dtensor": isinstance(param, DTensor), "local_device": str(local.device),
            "dtype": str(param.dtype), "model_class": type(model).__name__}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="folder with tokenizer/ and blocks.pt (check_fsdp.py)")
    parser.add_argument("--output", required=True)
    parser.add_argument("--result", required=True, help="JSON written by rank 0")
    parser.add_argument("--preset", default="astro-llm-small")
    parser.add_argument("--optim", default="adamw_bnb_8bit")
    parser.add_argument("--max-steps", type=int, default=8)
    parser.add_argument("--save-steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--resume-from", default=None)
    parser.add_argument("--snapshot-step", type=int, default=0, help="also save full parameters after this step")
    parser.add_argument("--cpu", action="store_true", help="smoke run on the CPU (no FSDP: accelerate has none there)")
    args = parser.parse_args(argv)

    data = Path(args.data)
    output = Path(args.output)
    tokenizer = AutoTokenizer.from_pretrained(str(data / "tokenizer"))
    blocks = torch.load(data / "blocks.pt")
    set_seed(0)
    config = build_config(args.preset, vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                          bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                          attn_implementation="sdpa")
    model = AstroLLMForCausalLM(config)
    training_args = AstroTrainingArguments(
        output_dir=str(output), max_steps=args.max_steps, per_device_train_batch_size=args.batch,
        learning_rate=2e-3, weight_decay=0.1, lr_scheduler_type="constant", max_grad_norm=1.0,
        bf16=not args.cpu, use_cpu=args.cpu, optim=args.optim, save_strategy="steps", save_steps=args.save_steps,
        logging_steps=1, report_to="none", seed=0, data_seed=0, disable_tqdm=True, dataloader_num_workers=0,
    )
    counter = CountSteps()
    callbacks = [counter]
    if args.snapshot_step:
        callbacks.append(Snapshot(args.snapshot_step, output / f"params_step{args.snapshot_step}.pt"))
    trainer = AstroTrainer(model=model, args=training_args, train_dataset=Blocks(blocks),
                           data_collator=default_data_collator, callbacks=callbacks)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    trainer.train(resume_from_checkpoint=args.resume_from)
    final = full_parameters(trainer.model)
    accelerator = trainer.accelerator
    result = {
        "losses": {int(h["step"]): h["loss"] for h in trainer.state.log_history if "loss" in h},
        "global_step": trainer.state.global_step,
        "steps_run_here": counter.steps,
        "num_processes": accelerator.num_processes,
        "distributed_type": str(accelerator.distributed_type.value),
        "mixed_precision": accelerator.mixed_precision,
        "fsdp2": trainer.uses_fsdp2(),
        "fsdp_plugin": repr(getattr(accelerator.state, "fsdp_plugin", None))[:1500],
        "optimizer": optimizer_facts(trainer.optimizer),
        "parameters": parameter_facts(trainer.model),
        "num_parameters": sum(p.numel() for p in final.values()),
        "checkpoints": sorted(p.name for p in output.glob("checkpoint-*")),
        "resumed_from": args.resume_from,
        "block_size": int(blocks.shape[1]),
        "rows": int(blocks.shape[0]),
        "config": config.to_dict(),
    }
    if torch.cuda.is_available():
        result["max_memory_allocated"] = torch.cuda.max_memory_allocated()
        result["max_memory_reserved"] = torch.cuda.max_memory_reserved()
    if trainer.is_world_process_zero():
        torch.save(final, output / "params_final.pt")
        Path(args.result).write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
