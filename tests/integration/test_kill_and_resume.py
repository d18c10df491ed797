"""SIGKILL a CPU training run mid-way, resume it, and get the same final weights as an uninterrupted run.

Run for torch AdamW and bitsandbytes' 8-bit AdamW (whose quantised state must survive the checkpoint too).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from astrobio_hf.training.checkpoints import COMPLETE_MARKER
from tests.helpers.multimodal_rows import write_dataset
from tests.helpers.train_runs import REPO, final_weights, run_train, train_args, train_env

STEPS, SAVE_EVERY, KILL_AFTER = 16, 4, 8
# fusion layers wide enough that bitsandbytes quantises their state (tensors of >= 4096 elements get 8-bit state)
WIDE = json.dumps({"dropout": 0.0, "hidden_size": 64, "fusion_intermediate_size": 128})


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data"), n_train=24, n_eval=4)


def _tensors(tree):
    """Every tensor in a nested optimizer state (bitsandbytes nests its quantised state in a dict)."""
    if isinstance(tree, torch.Tensor):
        yield tree
    elif isinstance(tree, dict):
        for value in tree.values():
            yield from _tensors(value)


def kill_after_checkpoint(flags: list[str], checkpoint, timeout: float = 240.0) -> None:
    """Start train.py and SIGKILL it as soon as `checkpoint` is complete."""
    process = subprocess.Popen([sys.executable, str(REPO / "train.py"), *flags], cwd=REPO, env=train_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    try:
        while not (checkpoint / COMPLETE_MARKER).is_file():
            if process.poll() is not None:
                raise AssertionError(f"training ended before {checkpoint.name}: {process.stderr.read()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {checkpoint.name} after {timeout} s")
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL


@pytest.mark.parametrize("optim", ["adamw_torch", "adamw_bnb_8bit"])
def test_killed_run_resumes_to_the_same_weights(tmp_path, dataset, optim):
    common = dict(max_steps=STEPS, save_steps=SAVE_EVERY, optim=optim, save_total_limit=2, config_overrides=WIDE)
    reference = tmp_path / "reference"
    result = run_train(train_args(dataset, reference, **common))
    assert result.returncode == 0, result.stderr[-4000:]

    interrupted = tmp_path / "interrupted"
    kill_after_checkpoint(train_args(dataset, interrupted, **common), interrupted / f"checkpoint-{KILL_AFTER}")
    assert not (interrupted / "model.safetensors").exists(), "the run finished before it was killed"
    if optim == "adamw_bnb_8bit":
        state = torch.load(interrupted / f"checkpoint-{KILL_AFTER}" / "optimizer.pt", weights_only=False)
        quantised = [v for v in _tensors(state["state"]) if v.dtype == torch.uint8]
        assert quantised, "8-bit AdamW state should be stored quantised (uint8)"

    result = run_train(train_args(dataset, interrupted, resume_from_checkpoint="last", **common))
    assert result.returncode == 0, result.stderr[-4000:]
    expected, resumed = final_weights(reference), final_weights(interrupted)
    assert expected.keys() == resumed.keys()
    for name in expected:
        torch.testing.assert_close(resumed[name], expected[name], rtol=1e-5, atol=1e-6, msg=name)
