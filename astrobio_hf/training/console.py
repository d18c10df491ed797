"""What train.py prints with `--disable_tqdm` (the demo, CI logs): one progress line per logging step and nothing
that repeats it.

transformers puts a `PrinterCallback` in place of the progress bar when tqdm is off: it prints every log as a raw
dict, so each logging step showed twice (the dict beside `ProgressLineCallback`'s line). Here it is replaced by a
printer of the logs the progress line does not cover (evaluations), and transformers' own tqdm bars ("Writing model
shards", "Loading weights") are turned off as `--disable_tqdm` asks.
"""

from __future__ import annotations

from typing import Any

from transformers import PrinterCallback, TrainerCallback
from transformers.utils import logging as hf_logging

from ..progress import PREFIX


def _shown(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class EvalLinePrinter(TrainerCallback):
    """One line per evaluation log (`[progress] eval: step 40 | eval_loss 0.51 | ...`); training logs are left to
    the progress line. Main process only."""

    def __init__(self, stream=None):
        self.stream = stream

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or "loss" in logs or "train_runtime" in logs:
            return
        fields = " | ".join(f"{k} {_shown(v)}" for k, v in logs.items() if k != "epoch")
        print(f"{PREFIX} eval: step {state.global_step} | {fields}", file=self.stream, flush=True)


def quiet_console(trainer: Any, disable_tqdm: bool) -> None:
    """With tqdm off: no raw log dicts, no transformers progress bars."""
    if not disable_tqdm:
        return
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(EvalLinePrinter())
    hf_logging.disable_progress_bar()


__all__ = ["EvalLinePrinter", "quiet_console"]
