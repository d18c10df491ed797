"""Trainer callbacks: memory profiling with an alert, time-based checkpoints, a training-time cap, and a compact
progress line when tqdm is disabled.

Early stopping, best-model tracking and keeping the last N checkpoints are transformers' own
(`EarlyStoppingCallback`, `load_best_model_at_end`/`metric_for_best_model`, `save_total_limit`); `build_callbacks`
wires them from `AstroTrainingArguments`.
"""

from __future__ import annotations

import logging
import os
import time

import psutil
import torch
from transformers import EarlyStoppingCallback, TrainerCallback, TrainerControl, TrainerState

from ..progress import PREFIX
from .arguments import AstroTrainingArguments

logger = logging.getLogger(__name__)

GB = 1024**3


def tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors if isinstance(t, torch.Tensor))


def optimizer_state_bytes(optimizer: torch.optim.Optimizer | None) -> int:
    """Bytes held in optimizer state (moments, 8-bit quantisation maps and scales included)."""
    if optimizer is None:
        return 0
    inner = getattr(optimizer, "optimizer", optimizer)  # accelerate wraps the optimizer
    return sum(tensor_bytes(state.values()) for state in inner.state.values())


def memory_snapshot(model: torch.nn.Module | None, optimizer: torch.optim.Optimizer | None) -> dict[str, float]:
    """Memory figures in GB: CUDA allocator figures on GPU; process RSS and model-state bytes always."""
    figures: dict[str, float] = {}
    if torch.cuda.is_available():
        figures["memory/cuda_allocated_gb"] = torch.cuda.memory_allocated() / GB
        figures["memory/cuda_reserved_gb"] = torch.cuda.memory_reserved() / GB
        figures["memory/cuda_peak_allocated_gb"] = torch.cuda.max_memory_allocated() / GB
    figures["memory/rss_gb"] = psutil.Process(os.getpid()).memory_info().rss / GB
    if model is not None:
        params = list(model.parameters())
        figures["memory/parameters_gb"] = tensor_bytes(params) / GB
        figures["memory/gradients_gb"] = tensor_bytes(p.grad for p in params if p.grad is not None) / GB
    figures["memory/optimizer_state_gb"] = optimizer_state_bytes(optimizer) / GB
    return figures


class MemoryProfilerCallback(TrainerCallback):
    """Measures memory every `every_n_steps` steps; AstroTrainer merges the figures into its logs (all trackers).

    A figure above `alert_gb` logs a warning naming the figure and the step. Gradients are measured before the
    Trainer zeroes them (`on_pre_optimizer_step`), so they are the real per-step gradient bytes.
    """

    def __init__(self, every_n_steps: int, alert_gb: float = 45.0):
        self.every_n_steps = every_n_steps
        self.alert_gb = alert_gb
        self.latest: dict[str, float] = {}
        self.alerts: list[str] = []
        self._due = False

    def on_step_begin(self, args, state: TrainerState, control: TrainerControl, **kwargs):
        self._due = (state.global_step + 1) % self.every_n_steps == 0

    def on_pre_optimizer_step(self, args, state: TrainerState, control: TrainerControl, **kwargs):
        if self._due:
            self.latest = memory_snapshot(kwargs.get("model"), kwargs.get("optimizer"))

    def on_step_end(self, args, state: TrainerState, control: TrainerControl, **kwargs):
        if not self._due:
            return
        # optimizer state exists only after the first step: measure it now
        self.latest["memory/optimizer_state_gb"] = optimizer_state_bytes(kwargs.get("optimizer")) / GB
        self.latest["memory/rss_gb"] = psutil.Process(os.getpid()).memory_info().rss / GB
        for name, value in self.latest.items():
            if value > self.alert_gb:
                message = f"{name} = {value:.2f} GB exceeds the alert threshold of {self.alert_gb} GB at step " \
                          f"{state.global_step + 0}"
                self.alerts.append(message)
                logger.warning(message)
        control.should_log = True

    def pop_logs(self) -> dict[str, float]:
        figures, self.latest = self.latest, {}
        return figures


class TimeCheckpointCallback(TrainerCallback):
    """Saves a checkpoint whenever `every_minutes` have passed since the last save (or the start)."""

    def __init__(self, every_minutes: float):
        self.interval_s = every_minutes * 60.0
        self._last = time.monotonic()

    def on_train_begin(self, args, state, control, **kwargs):
        self._last = time.monotonic()

    def on_step_end(self, args, state, control, **kwargs):
        if time.monotonic() - self._last >= self.interval_s:
            control.should_save = True

    def on_save(self, args, state, control, **kwargs):
        self._last = time.monotonic()


class MaxTrainTimeCallback(TrainerCallback):
    """Stops training (saving a checkpoint first) once `max_hours` of wall time have passed."""

    def __init__(self, max_hours: float):
        self.max_s = max_hours * 3600.0
        self._start = time.monotonic()
        self.stopped_at_step: int | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self._start = time.monotonic()

    def on_step_end(self, args, state, control, **kwargs):
        if time.monotonic() - self._start >= self.max_s:
            logger.warning("maximum training time of %.3g h reached at step %d: saving and stopping",
                           self.max_s / 3600, state.global_step)
            self.stopped_at_step = state.global_step
            control.should_save = True
            control.should_training_stop = True


class ProgressLineCallback(TrainerCallback):
    """One compact line per logging step when tqdm is off (`--disable_tqdm`, as in the demo and CI logs):
    `[progress] train: step 40/120 (33%) | epoch 1.3 | loss 0.512 | 0.84 s/step | ~67 s left`. Printed by the main process only."""

    def __init__(self, stream=None):
        self.stream = stream
        self._start = time.monotonic()
        self._start_step = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self._start = time.monotonic()
        self._start_step = state.global_step  # a resumed run starts counting from its checkpoint

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or "loss" not in logs or not state.max_steps:
            return
        done = state.global_step - self._start_step
        per_step = (time.monotonic() - self._start) / done if done > 0 else float("nan")
        left = per_step * (state.max_steps - state.global_step)
        line = (f"{PREFIX} train: step {state.global_step}/{state.max_steps} ({100 * state.global_step / state.max_steps:.0f}%) | "
                f"epoch {state.epoch or 0:.2f} | loss {logs['loss']:.4g} | {per_step:.2f} s/step | ~{left:.0f} s left")
        print(line, file=self.stream, flush=True)


def build_callbacks(args: AstroTrainingArguments) -> list[TrainerCallback]:
    """The callbacks `AstroTrainingArguments` asks for."""
    callbacks: list[TrainerCallback] = []
    if args.disable_tqdm:
        callbacks.append(ProgressLineCallback())
    if args.memory_profile_steps:
        callbacks.append(MemoryProfilerCallback(args.memory_profile_steps, args.memory_alert_gb))
    if args.save_every_minutes:
        callbacks.append(TimeCheckpointCallback(args.save_every_minutes))
    if args.max_train_hours:
        callbacks.append(MaxTrainTimeCallback(args.max_train_hours))
    if args.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(args.early_stopping_patience, args.early_stopping_threshold))
    return callbacks


__all__ = [
    "MemoryProfilerCallback", "TimeCheckpointCallback", "MaxTrainTimeCallback", "ProgressLineCallback",
    "build_callbacks",
    "memory_snapshot", "optimizer_state_bytes",
]
