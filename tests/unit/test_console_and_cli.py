"""Small things a user trips on: what train.py prints with --disable_tqdm (no raw log dicts, no progress bars, no
bitsandbytes kernel note), the loss picture's series and legend, `inspect --file DIR`, and `astrobio-hf ... | head`."""

from __future__ import annotations

import os
import subprocess
import sys

from astrobio_hf.cli import main as cli
from astrobio_hf.training.loss_curve import draw_loss_curve, loss_series
from tests.conftest import REPO_ROOT
from tests.helpers.multimodal_rows import write_dataset
from train import main as train

ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


def test_train_prints_one_line_per_logging_step(tmp_path, capsys):
    dataset = write_dataset(tmp_path / "data", n_train=8, n_eval=4)
    train(["--dataset_path", str(dataset), "--output_dir", str(tmp_path / "model"), "--do_train", "--do_eval",
           "--max_steps", "2", "--logging_steps", "1", "--eval_strategy", "steps", "--eval_steps", "2", "--use_cpu",
           "--report_to", "none", "--disable_tqdm", "true", "--save_strategy", "no",
           "--per_device_train_batch_size", "4"])
    captured = capsys.readouterr()
    assert captured.out.count("[progress] train: step") == 2
    assert "{'loss'" not in captured.out and "{'eval_loss'" not in captured.out
    assert "[progress] eval: step 2 | eval_loss" in captured.out
    assert "Writing model shards" not in captured.err


def test_no_bitsandbytes_kernel_note_on_import():
    done = subprocess.run([sys.executable, "-c", "import train"], cwd=REPO_ROOT, env=ENV, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "gemm_4bit_forward" not in done.stderr


def test_loss_picture_has_one_train_series_and_its_legend_beside_the_axes():
    history = [{"step": 1, "loss": 2.0, "classification_loss": 1.0}, {"step": 2, "loss": 1.5, "eval_loss": 1.7},
               {"step": 2, "train_loss": 1.75, "train_runtime": 3.0}]
    series = loss_series(history)
    assert set(series) == {"train loss", "eval loss", "classification_loss"}
    fig = draw_loss_curve(series)
    fig.canvas.draw()
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    assert ax.get_legend().get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1


def test_inspect_names_a_folder(tmp_path, capsys):
    assert cli(["inspect", "--source", "exoplanets_org", "--file", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"--file {tmp_path} is a folder" in err and "no such file" not in err


def test_output_into_a_closed_pipe_ends_quietly(real_data_dir):
    catalog = real_data_dir / "nasa_exoplanet_archive" / "PSCompPars.csv"
    # `true` exits without reading: every write of the command meets a closed pipe (what `| head` does to long output)
    command = (f"{sys.executable} -m astrobio_hf.cli inspect --source nasa_exoplanet_archive --file {catalog} --json "
               "| true; echo ${PIPESTATUS[0]}")
    done = subprocess.run(["bash", "-c", command], cwd=REPO_ROOT, env=ENV, capture_output=True, text=True,
                          timeout=300)
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr[-2000:]
    assert done.stdout.strip() == "141"  # 128 + SIGPIPE, as a shell reports a pipe writer stopped by the reader
