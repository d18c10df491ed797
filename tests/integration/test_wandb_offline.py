"""report_to=wandb with WANDB_MODE=offline writes a local run with the config and metrics, and no secret."""

from __future__ import annotations

from tests.helpers.multimodal_rows import write_dataset
from tests.helpers.train_runs import run_train, train_args

SECRETS = {"HF_TOKEN": "hf_fake_secret_token_for_the_test_0000000000", "WANDB_API_KEY": "0123456789abcdef" * 2 + "0f0f0f0f",
           "NCBI_API_KEY": "ncbiSecretKey12345"}


def test_wandb_offline_run_logs_config_and_metrics_without_secrets(tmp_path, monkeypatch):
    dataset = write_dataset(tmp_path / "data", n_train=8, n_eval=4)
    output = tmp_path / "run"
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb_dir"))
    monkeypatch.setenv("WANDB_PROJECT", "astrobio-hf-test")
    (tmp_path / "wandb_dir").mkdir()
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    result = run_train(train_args(dataset, output, max_steps=3, report_to="wandb"))
    assert result.returncode == 0, result.stderr[-4000:]
    runs = list((tmp_path / "wandb_dir" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    files = [p for p in runs[0].rglob("*") if p.is_file()]
    # an offline run keeps config and history records in its run-<id>.wandb log (protobuf, strings in UTF-8)
    record = next(p for p in files if p.suffix == ".wandb").read_bytes()
    for key in (b"learning_rate", b"astro_multimodal", b"classification_loss", b"reconstruction_loss"):
        assert key in record, key
    everything = [result.stdout, result.stderr] + [p.read_bytes().decode("latin-1") for p in files]
    everything += [p.read_bytes().decode("latin-1") for p in output.rglob("*") if p.is_file()]
    for name, secret in SECRETS.items():
        assert not any(secret in text for text in everything), f"{name} leaked"


def test_a_token_on_the_command_line_is_refused(tmp_path):
    result = run_train(train_args(tmp_path / "none", tmp_path / "run", hub_token=SECRETS["HF_TOKEN"]))
    assert result.returncode != 0
    assert "Set the HF_TOKEN environment variable instead" in result.stderr
    assert SECRETS["HF_TOKEN"] not in result.stderr + result.stdout
