"""AstroTrainer: transformers' Trainer for models with several named losses and PyG graph inputs.

What it adds to `Trainer`:
- every `*_loss` field of the model output is collected in `compute_loss` and merged into the logs as its mean over
  the logging (or evaluation) window, prefixed `eval_` in evaluation (TRL's pattern);
- PyG `Batch`/`Data` inputs are moved to the device (`Trainer._prepare_input` leaves them alone);
- `prediction_step` returns only the declared prediction fields and labels, so evaluation can gather outputs whose
  optional fields differ from batch to batch;
- checkpoints are crash-safe (see `checkpoints.py`): the Trainer's own rotation is replaced by one that runs after the
  completion marker is written;
- log contributors (callbacks with `pop_logs()`, e.g. the memory profiler) have their figures merged into every log
  entry, so all trackers see them.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch_geometric.data import Batch, Data
from transformers import Trainer

from .checkpoints import mark_complete, rotate_complete_checkpoints
from .eval_stream import mark_eval_length
from .optimizers import create_optimizer

#: Seed of every random draw made during evaluation (graph negative pairs, ...): one checkpoint, one eval loss.
EVAL_SEED = 0
# Trainer `optim` names of 8-bit AdamW that have an FSDP2 form, mapped to `create_optimizer` names: bitsandbytes'
# (sharded by astrobio-hf) and torchao's (DTensor-aware upstream). Other 8-bit names raise under FSDP2.
_SHARDABLE_8BIT = {"adamw_bnb_8bit": "adamw_bnb_8bit", "adamw_8bit": "adamw_bnb_8bit",
                   "adamw_torch_8bit": "adamw_torchao_8bit"}


def loss_components(outputs: Any) -> dict[str, torch.Tensor]:
    """The named scalar losses of a model output (every `*_loss` field except the total)."""
    items = outputs.items() if hasattr(outputs, "items") else []
    return {
        name: value
        for name, value in items
        if name.endswith("_loss") and isinstance(value, torch.Tensor) and value.numel() == 1
    }


class AstroTrainer(Trainer):
    """Trainer for the astrobio-hf models; see the module docstring."""

    def __init__(
        self,
        *args: Any,
        prediction_fields: Sequence[str] = (),
        perplexity: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.prediction_fields = tuple(prediction_fields)
        self.report_perplexity = perplexity
        self._components: dict[str, dict[str, list[float]]] = {"train": defaultdict(list), "eval": defaultdict(list)}
        # We rotate after the completion marker; the Trainer's own rotation would run before it.
        self._keep_last_checkpoints = self.args.save_total_limit
        self.args.save_total_limit = None
        self._flos_parameters: int | None = None

    def floating_point_ops(self, inputs: dict[str, Any]) -> int:
        """The Trainer's FLOP estimate (6 x input elements x non-embedding parameters) with the parameter count
        taken once: transformers recounts every parameter at every step, which cost a small model 1.4 ms a step."""
        main = getattr(self.model, "main_input_name", "input_ids")
        if main not in inputs or not hasattr(self.model, "num_parameters"):
            return 0
        if self._flos_parameters is None:
            self._flos_parameters = self.model.num_parameters(exclude_embeddings=True)
        return 6 * inputs[main].numel() * self._flos_parameters

    # -- inputs ------------------------------------------------------------------------------------------------------
    def _prepare_input(self, data: Any) -> Any:
        if isinstance(data, (Batch, Data)):
            return data.to(self.args.device)
        return super()._prepare_input(data)

    def get_eval_dataloader(self, eval_dataset: Any = None):
        loader = super().get_eval_dataloader(eval_dataset)
        if eval_dataset is None:
            stream = self.eval_dataset
        else:
            stream = self.eval_dataset[eval_dataset] if isinstance(eval_dataset, str) else eval_dataset
        mark_eval_length(loader, stream)  # --streaming under DDP: every eval row counted once
        return loader

    # -- losses ------------------------------------------------------------------------------------------------------
    def compute_loss(self, model: nn.Module, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: torch.Tensor | int | None = None):
        if self.model_accepts_loss_kwargs and num_items_in_batch is not None:
            inputs = {**inputs, "num_items_in_batch": num_items_in_batch}
        outputs = model(**inputs)
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs[0]
        if loss is None:
            raise ValueError(
                "the model returned no loss for this batch: it carries no labels and no self-supervised target "
                f"(batch keys: {sorted(inputs)})."
            )
        mode = "train" if model.training else "eval"
        for name, value in loss_components(outputs).items():
            self._components[mode][name].append(value.detach().float().item())
        return (loss, outputs) if return_outputs else loss

    def prediction_step(self, model: nn.Module, inputs: dict[str, Any], prediction_loss_only: bool,
                        ignore_keys: list[str] | None = None):
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad(), self.compute_loss_context_manager():
            loss, outputs = self.compute_loss(model, inputs, return_outputs=True)
        loss = loss.detach().mean()
        if prediction_loss_only or not self.prediction_fields:
            return loss, None, None
        logits = tuple(outputs[name].detach() for name in self.prediction_fields)
        labels = tuple(inputs[name] for name in self.label_names) if self.label_names else None
        return loss, logits, labels

    def evaluation_loop(self, *args: Any, **kwargs: Any):
        """The Trainer's loop with Python's and torch's generators seeded (EVAL_SEED) and restored afterwards: the
        graph VAE's negative pairs come from `random`, so the eval loss (and best-checkpoint selection, early
        stopping) would otherwise change from run to run, and evaluating would shift the training streams."""
        state = random.getstate()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(EVAL_SEED)
            random.seed(EVAL_SEED)
            try:
                return super().evaluation_loop(*args, **kwargs)
            finally:
                random.setstate(state)

    def evaluate(self, *args: Any, **kwargs: Any) -> dict[str, float]:
        metrics = super().evaluate(*args, **kwargs)
        prefix = kwargs.get("metric_key_prefix", "eval")
        if self.report_perplexity and f"{prefix}_loss" in metrics:
            metrics[f"{prefix}_perplexity"] = math.exp(min(metrics[f"{prefix}_loss"], 50.0))
        return metrics

    # -- optimisation -------------------------------------------------------------------------------------------------
    def uses_fsdp2(self) -> bool:
        """Whether accelerate's FSDP2 plugin is active (the GPU path of accelerate_configs/fsdp2_*.yaml)."""
        return bool(getattr(self.accelerator, "is_fsdp2", False))

    def create_optimizer(self, model: nn.Module | None = None) -> torch.optim.Optimizer:
        """Under FSDP2, 8-bit AdamW is astrobio-hf's sharded 8-bit AdamW; an 8-bit optimizer with no sharded form
        raises instead of silently training in 32 bits. Otherwise the Trainer's own optimizer."""
        name = str(getattr(self.args.optim, "value", self.args.optim))
        if not self.uses_fsdp2() or "8bit" not in name:
            return super().create_optimizer(model)
        if name not in _SHARDABLE_8BIT:
            raise ValueError(
                f"optim={name!r} has no FSDP2 implementation (FSDP2 parameters are DTensor shards); use "
                "optim='adamw_bnb_8bit', which astrobio-hf shards, optim='adamw_torch_8bit' (torchao), or a 32-bit "
                "optimizer."
            )
        if self.optimizer is None:
            args = self.args
            self.optimizer = create_optimizer(
                self.model if model is None else model,
                name=_SHARDABLE_8BIT[name],
                lr=args.learning_rate,
                weight_decay=args.weight_decay,
                betas=(args.adam_beta1, args.adam_beta2),
                eps=args.adam_epsilon,
                fsdp2=True,
            )
        return self.optimizer

    def create_scheduler(self, num_training_steps: int, optimizer: torch.optim.Optimizer | None = None):
        if self.args.lr_schedule != "one_cycle":
            return super().create_scheduler(num_training_steps, optimizer)
        if self.lr_scheduler is None:
            optimizer = optimizer if optimizer is not None else self.optimizer
            self.lr_scheduler = torch.optim.lr_scheduler.OneCycleLR(
                optimizer,
                max_lr=[group["lr"] for group in optimizer.param_groups],
                total_steps=max(num_training_steps, 2),
                pct_start=self._one_cycle_warmup_fraction(num_training_steps),
                anneal_strategy="cos",
                cycle_momentum=False,  # leave Adam's betas alone (8-bit optimizers included)
            )
            self._created_lr_scheduler = True
        return self.lr_scheduler

    def _one_cycle_warmup_fraction(self, num_training_steps: int) -> float:
        """OneCycle's pct_start from `warmup_steps` (a ratio below 1, else a step count); 0.3 when unset."""
        warmup = float(self.args.warmup_steps or 0)
        if warmup <= 0:
            return 0.3
        fraction = warmup if warmup < 1 else warmup / max(num_training_steps, 1)
        return min(max(fraction, 1e-3), 0.99)

    # -- logging -----------------------------------------------------------------------------------------------------
    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        mode = "eval" if any(key.startswith("eval_") for key in logs) else "train"
        prefix = "eval_" if mode == "eval" else ""
        for name, values in self._components[mode].items():
            if values:
                logs[f"{prefix}{name}"] = sum(values) / len(values)
        self._components[mode].clear()
        for callback in self.callback_handler.callbacks:
            pop_logs = getattr(callback, "pop_logs", None)
            if pop_logs is not None and mode == "train":
                logs.update(pop_logs())
        super().log(logs, start_time)

    # -- checkpoints -------------------------------------------------------------------------------------------------
    def _save_checkpoint(self, model: nn.Module, trial: Any) -> None:
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            checkpoint = f"{self._get_output_dir(trial=trial)}/checkpoint-{self.state.global_step}"
            mark_complete(checkpoint, self.state.global_step)
            rotate_complete_checkpoints(
                self._get_output_dir(trial=trial), self._keep_last_checkpoints, self.state.best_model_checkpoint
            )


__all__ = ["AstroTrainer", "loss_components"]
