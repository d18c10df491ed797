"""Run train.py in a subprocess (as a user would) for integration tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

from safetensors.torch import load_file

REPO = Path(__file__).resolve().parents[2]
GLOO_ABORT = "terminate called without an active exception"
ACCELERATE = str(Path(sys.executable).with_name("accelerate"))


def train_env() -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def train_args(dataset: Path, output: Path, **overrides) -> list[str]:
    """Command-line flags for a short CPU run of the tiny multimodal model."""
    args = {
        "dataset_path": dataset, "output_dir": output, "do_train": True, "use_cpu": True, "report_to": "none",
        "per_device_train_batch_size": 4, "learning_rate": 3e-3, "logging_steps": 1, "seed": 0, "data_seed": 0,
        "save_strategy": "steps", "save_steps": 1000, "disable_tqdm": True, "dataloader_num_workers": 0,
        "config_overrides": json.dumps({"dropout": 0.0}),
    }
    args.update(overrides)
    flags: list[str] = []
    for key, value in args.items():
        flags += [f"--{key}", str(value)]
    return flags


def run_train(flags: list[str], launcher: list[str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    command = (launcher or [sys.executable]) + [str(REPO / "train.py"), *flags]
    return subprocess.run(command, cwd=REPO, env=train_env(), capture_output=True, text=True, timeout=timeout)


def final_weights(output: Path) -> dict:
    return load_file(str(output / "model.safetensors"))


def logged_losses(output: Path) -> list[float]:
    state = json.loads((output / "trainer_state.json").read_text())
    return [h["loss"] for h in state["log_history"] if "loss" in h]


def assert_two_process_training(dataset: Path, output: Path, launcher: list[str], steps: int) -> None:
    """Train the tiny multimodal model for `steps` under `launcher`; check both ranks joined (gloo, MULTI_CPU), every
    step was logged and the loss fell."""
    flags = train_args(dataset, output, max_steps=steps, save_steps=steps, per_device_train_batch_size=4,
                       config_overrides=json.dumps({"dropout": 0.0, "auxiliary_losses": False}))
    result = run_train(flags, launcher=launcher)
    if result.returncode != 0 and GLOO_ABORT in result.stderr:
        # Known rare flake (1 launch in about 10 on the CI machine, never reproduced by hand): a rank aborts in
        # gloo's C++ threads with std::terminate as training starts. Retried once, with the output folder's first
        # attempt replaced; any other failure, or the same abort twice, fails the test.
        warnings.warn(f"two-process launch aborted in gloo ({GLOO_ABORT!r}); retrying once", stacklevel=2)
        result = run_train([*flags, "--overwrite_output_dir"], launcher=launcher)
    assert result.returncode == 0, result.stderr[-4000:]
    info = json.loads((output / "run_info.json").read_text())
    assert info["num_processes"] == 2
    assert info["distributed_type"] == "MULTI_CPU"
    losses = logged_losses(output)
    assert len(losses) == steps
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3, losses
