"""Two-process CPU DDP training through `accelerate launch --config_file accelerate_configs/cpu_ddp.yaml`."""

from __future__ import annotations

import json

from tests.helpers.multimodal_rows import write_dataset
from tests.helpers.train_runs import ACCELERATE, REPO, assert_two_process_training


def test_two_process_ddp_trains_and_saves_once(tmp_path):
    dataset = write_dataset(tmp_path / "data", n_train=32, n_eval=8)
    output = tmp_path / "run"
    launcher = [ACCELERATE, "launch", "--config_file", str(REPO / "accelerate_configs" / "cpu_ddp.yaml")]
    assert_two_process_training(dataset, output, launcher, steps=12)
    checkpoints = sorted(p.name for p in output.iterdir() if p.name.startswith("checkpoint"))
    assert checkpoints == ["checkpoint-12"]
    assert (output / "checkpoint-12" / "checkpoint_complete.json").is_file()
    # both ranks saw a global batch of 2 x 4: the trainer's state counts it
    state = json.loads((output / "trainer_state.json").read_text())
    assert state["train_batch_size"] == 4 and state["global_step"] == 12
