"""`train.py --streaming` as a user runs it: Parquet shards at a file:// URL, train, evaluate, checkpoint, resume;
and the same under two-process DDP (accelerate gives each process its own shards)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from astrobio_hf.data.parquet_shards import write_parquet_shards
from tests.helpers.multimodal_rows import SPEC, make_splits
from tests.helpers.train_runs import ACCELERATE, REPO, final_weights, logged_losses, run_train, train_args

STREAM = {"streaming": True, "shuffle_buffer_size": 8, "shuffle_input_shards": 1}


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> str:
    url = f"file://{tmp_path_factory.mktemp('stream')}/shards"
    write_parquet_shards(make_splits(n_train=16, n_eval=8), SPEC, url, shard_rows=4)
    return url


def test_streaming_run_trains_evaluates_checkpoints_and_resumes_exactly(shards, tmp_path):
    common = {**STREAM, "max_steps": 6, "save_steps": 3, "do_eval": True, "eval_strategy": "steps", "eval_steps": 3}
    reference = tmp_path / "reference"
    result = run_train(train_args(shards, reference, **common))
    assert result.returncode == 0, result.stderr[-4000:]
    info = json.loads((reference / "run_info.json").read_text())
    assert info["streaming"] is True and info["train_rows"] == 16 and info["eval_rows"] == 8
    assert info["dataset_path"] != shards and not info["dataset_path"].startswith("/")  # no local path recorded
    state = json.loads((reference / "trainer_state.json").read_text())
    assert state["global_step"] == 6 and len(logged_losses(reference)) == 6
    evals = [h for h in state["log_history"] if "eval_loss" in h]
    assert [h["step"] for h in evals] == [3, 6] and all(h["eval_habitability_labelled"] == 8 for h in evals)
    for step in (3, 6):
        assert (reference / f"checkpoint-{step}" / "checkpoint_complete.json").is_file()

    # a run stopped after checkpoint-3 and resumed: the stream is fast-forwarded past the 3 batches already seen
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    shutil.copytree(reference / "checkpoint-3", resumed / "checkpoint-3")
    result = run_train(train_args(shards, resumed, resume_from_checkpoint="last", **common))
    assert result.returncode == 0, result.stderr[-4000:]
    expected, got = final_weights(reference), final_weights(resumed)
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-5, atol=1e-6, msg=name)


def test_two_process_streaming_training(tmp_path):
    """Uneven shards: the processes get 9 and 7 train rows (files of 3 rows) and 6 and 1 validation rows; the endless
    train stream keeps both stepping, and evaluation counts each of the 7 validation rows once."""
    shards = f"file://{tmp_path}/shards"
    write_parquet_shards(make_splits(n_train=16, n_eval=7), SPEC, shards, shard_rows=3)
    output = tmp_path / "ddp"
    launcher = [ACCELERATE, "launch", "--config_file", str(REPO / "accelerate_configs" / "cpu_ddp.yaml")]
    result = run_train(train_args(shards, output, **STREAM, max_steps=4, save_steps=4, do_eval=True,
                                  per_device_eval_batch_size=2), launcher=launcher)
    assert result.returncode == 0, result.stderr[-4000:]
    info = json.loads((output / "run_info.json").read_text())
    assert info["num_processes"] == 2 and info["distributed_type"] == "MULTI_CPU"
    state = json.loads((output / "trainer_state.json").read_text())
    assert state["global_step"] == 4 and len(logged_losses(output)) == 4
    assert json.loads((output / "eval_results.json").read_text())["eval_habitability_labelled"] == 7
