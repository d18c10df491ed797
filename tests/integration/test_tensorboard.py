"""--report_to tensorboard writes event files with the loss and its named components; with tqdm off, each logging
step prints one compact progress line; a loss-curve PNG lands next to the checkpoint."""

from __future__ import annotations

import re

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.helpers.multimodal_rows import write_dataset
from tests.helpers.train_runs import run_train, train_args


def test_tensorboard_run_progress_line_and_loss_curve(tmp_path):
    dataset = write_dataset(tmp_path / "data", n_train=8, n_eval=4)
    output = tmp_path / "run"
    result = run_train(train_args(dataset, output, max_steps=3, report_to="tensorboard"))
    assert result.returncode == 0, result.stderr[-4000:]
    events = list(output.rglob("events.out.tfevents.*"))
    assert events, f"no event file under {output}"
    accumulator = EventAccumulator(str(events[0].parent)).Reload()
    tags = accumulator.Tags()["scalars"]
    assert {"train/loss", "train/classification_loss"} <= set(tags), tags
    assert [e.step for e in accumulator.Scalars("train/loss")] == [1, 2, 3]
    lines = re.findall(r"^\[progress\] train: step (\d+)/3 \(\d+%\) \| epoch [\d.]+ \| loss [\d.e+-]+ \| [\d.]+ s/step \| ~\d+ s left$",
                       result.stdout, re.MULTILINE)
    assert lines == ["1", "2", "3"], result.stdout[-2000:]
    assert (output / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"
