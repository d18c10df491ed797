"""Two-process CPU DDP training through `accelerate launch --config_file accelerate_configs/cpu_ddp.yaml`."""

from __future__ import annotations

import json

from tests.helpers.multimodal_rows import write_dataset
from tests.helpers.train_runs import ACCELERATE, REPO, logged_losses, run_train, train_args


def test_two_process_ddp_trains_and_saves_once(tmp_path):
    dataset = write_dataset(tmp_path / "data", n_train=32, n_eval=8)
    output = tmp_path / "run"
    launcher = [ACCELERATE, "launch", "--config_file", str(REPO / "accelerate_configs" / "cpu_ddp.yaml")]
    result = run_train(train_args(dataset, output, max_steps=12, save_steps=12, per_device_train_batch_size=4,
                                  config_overrides=json.dumps({"dropout": 0.0, "auxiliary_losses": False})),
                       launcher=launcher)
    assert result.returncode == 0, result.stderr[-4000:]
    info = json.loads((output / "run_info.json").read_text())
    assert info["num_processes"] == 2
    assert info["distributed_type"] == "MULTI_CPU"
    losses = logged_losses(output)
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3, losses
    checkpoints = sorted(p.name for p in output.iterdir() if p.name.startswith("checkpoint"))
    assert checkpoints == ["checkpoint-12"]
    assert (output / "checkpoint-12" / "checkpoint_complete.json").is_file()
    # both ranks saw a global batch of 2 x 4: the trainer's state counts it
    state = json.loads((output / "trainer_state.json").read_text())
    assert state["train_batch_size"] == 4 and state["global_step"] == 12
