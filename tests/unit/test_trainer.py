"""AstroTrainer: loss components in logs, gradient accumulation, PyG inputs, metrics, callbacks and checkpoints."""

from __future__ import annotations

import json
import logging

import pytest
import torch
from torch_geometric.data import Batch

from astrobio_hf.data.collator import ArrowBatches, MultimodalCollator
from astrobio_hf.models.multimodal import MULTIMODAL_PRESETS, AstroMultimodalConfig, AstroMultimodalModel
from astrobio_hf.training import AstroTrainer, AstroTrainingArguments
from astrobio_hf.training.callbacks import MaxTrainTimeCallback, MemoryProfilerCallback, build_callbacks
from astrobio_hf.training.checkpoints import (
    COMPLETE_MARKER,
    last_complete_checkpoint,
    remove_incomplete_checkpoints,
)
from astrobio_hf.training.metrics import habitability_metrics
from tests.helpers.multimodal_rows import SPEC, make_splits


def tiny_model(**overrides) -> AstroMultimodalModel:
    torch.manual_seed(0)
    return AstroMultimodalModel(AstroMultimodalConfig(**{**MULTIMODAL_PRESETS["tiny"], "dropout": 0.0, **overrides}))


def make_trainer(tmp_path, model=None, splits=None, callbacks=(), **args) -> AstroTrainer:
    splits = splits if splits is not None else make_splits()
    defaults = dict(output_dir=str(tmp_path), use_cpu=True, report_to="none", per_device_train_batch_size=4,
                    per_device_eval_batch_size=4, logging_steps=1, save_strategy="no", seed=0,
                    disable_tqdm=True)
    trainer = AstroTrainer(
        model=model or tiny_model(),
        args=AstroTrainingArguments(**{**defaults, **args}),
        train_dataset=ArrowBatches(splits["train"]),
        eval_dataset=ArrowBatches(splits["validation"]),
        data_collator=MultimodalCollator(SPEC),
        compute_metrics=habitability_metrics,
        prediction_fields=("habitability_logits", "hz_class_logits"),
        callbacks=list(callbacks),
    )
    trainer.label_names = ["habitability", "hz_class"]
    return trainer


def test_loss_components_are_logged_in_training_and_evaluation(tmp_path):
    trainer = make_trainer(tmp_path, max_steps=2)
    trainer.train()
    train_logs = [h for h in trainer.state.log_history if "loss" in h and "train_runtime" not in h]
    for name in ("classification_loss", "habitability_loss", "hz_class_loss", "reconstruction_loss",
                 "physics_loss", "consistency_loss"):
        assert all(name in h for h in train_logs), name
    metrics = trainer.evaluate()
    for name in ("eval_loss", "eval_classification_loss", "eval_reconstruction_loss", "eval_habitability_accuracy",
                 "eval_habitability_f1", "eval_habitability_roc_auc", "eval_hz_class_accuracy"):
        assert name in metrics, name
    assert metrics["eval_habitability_labelled"] == 8


def test_gradient_accumulation_matches_the_full_batch(tmp_path):
    """4 micro-batches of 2 with accumulation give the same SGD update as one batch of 8.

    The consistency term (in-batch InfoNCE) and the cube's random masks depend on the micro-batch, so they are
    switched off here; the classification loss is a per-sample mean and all planets are labelled.
    """
    config = dict(auxiliary_losses=False, loss_weights={"consistency": 0.0})
    splits = make_splits(n_train=8)
    runs = {}
    for name, batch, accumulation in (("full", 8, 1), ("accumulated", 2, 4)):
        trainer = make_trainer(tmp_path / name, model=tiny_model(**config), splits=splits, max_steps=1,
                               per_device_train_batch_size=batch, gradient_accumulation_steps=accumulation,
                               optim="sgd", learning_rate=0.5, lr_scheduler_type="constant", max_grad_norm=0.0)
        trainer.train()
        runs[name] = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    start = tiny_model(**config).state_dict()
    moved = [k for k in start if not torch.equal(start[k], runs["full"][k])]
    assert moved, "the step changed nothing"
    for key in runs["full"]:
        torch.testing.assert_close(runs["accumulated"][key], runs["full"][key], atol=1e-5, rtol=1e-4, msg=key)


def test_pyg_batches_are_moved_by_prepare_input(tmp_path):
    trainer = make_trainer(tmp_path)
    batch = MultimodalCollator(SPEC)(ArrowBatches(make_splits()["train"]).__getitems__([0, 2]))
    prepared = trainer._prepare_inputs(batch)
    assert isinstance(prepared["graph"], Batch)
    assert prepared["graph"].x.device == trainer.args.device


def test_memory_profiler_reports_to_logs_and_alerts(tmp_path, caplog):
    profiler = MemoryProfilerCallback(every_n_steps=1, alert_gb=1e-6)
    trainer = make_trainer(tmp_path, max_steps=2, callbacks=[profiler])
    with caplog.at_level(logging.WARNING, logger="astrobio_hf.training.callbacks"):
        trainer.train()
    logged = [h for h in trainer.state.log_history if "memory/rss_gb" in h]
    assert len(logged) == 2
    params = sum(p.numel() * 4 for p in trainer.model.parameters()) / 1024**3
    assert logged[0]["memory/parameters_gb"] == pytest.approx(params)
    assert logged[-1]["memory/optimizer_state_gb"] == pytest.approx(2 * params, rel=0.01)  # AdamW: exp_avg, exp_avg_sq
    assert "exceeds the alert threshold" in caplog.text and profiler.alerts


def test_max_train_time_stops_and_saves(tmp_path):
    cap = MaxTrainTimeCallback(max_hours=1e-9)
    trainer = make_trainer(tmp_path, max_steps=50, callbacks=[cap])
    trainer.train()
    assert trainer.state.global_step == 1 and cap.stopped_at_step == 1
    assert (tmp_path / "checkpoint-1" / COMPLETE_MARKER).is_file()


def test_time_based_checkpoints(tmp_path):
    args = AstroTrainingArguments(output_dir=str(tmp_path), save_every_minutes=1e-9, use_cpu=True)
    trainer = make_trainer(tmp_path, max_steps=3, callbacks=build_callbacks(args))
    trainer.train()
    assert sorted(p.name for p in tmp_path.glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2", "checkpoint-3"]


def test_checkpoints_are_marked_complete_and_rotated_after_the_marker(tmp_path):
    trainer = make_trainer(tmp_path, max_steps=4, save_strategy="steps", save_steps=1, save_total_limit=2)
    trainer.train()
    kept = sorted(p.name for p in tmp_path.glob("checkpoint-*"))
    assert kept == ["checkpoint-3", "checkpoint-4"]
    assert all((tmp_path / name / COMPLETE_MARKER).is_file() for name in kept)
    # a save killed half-way leaves a directory with no marker: it is never chosen and gets cleaned up
    broken = tmp_path / "checkpoint-5"
    broken.mkdir()
    (broken / "model.safetensors").write_bytes(b"truncated")
    assert last_complete_checkpoint(tmp_path).name == "checkpoint-4"
    assert remove_incomplete_checkpoints(tmp_path) == [broken] and not broken.exists()


def test_early_stopping_needs_a_metric():
    with pytest.raises(ValueError, match="metric_for_best_model"):
        AstroTrainingArguments(output_dir="unused", early_stopping_patience=2)


def test_early_stopping_and_best_model(tmp_path):
    args = dict(max_steps=40, eval_strategy="steps", eval_steps=1, save_strategy="steps", save_steps=1,
                load_best_model_at_end=True, metric_for_best_model="eval_loss", greater_is_better=False,
                early_stopping_patience=1, early_stopping_threshold=10.0, save_total_limit=1)
    trainer = make_trainer(tmp_path, callbacks=build_callbacks(AstroTrainingArguments(
        output_dir=str(tmp_path), use_cpu=True, **args)), **args)
    trainer.train()
    # a threshold of 10 means no evaluation counts as an improvement: stop after patience + 1 evaluations
    assert trainer.state.global_step == 2
    evals = {h["step"]: h["eval_loss"] for h in trainer.state.log_history if "eval_loss" in h}
    best_step = min(evals, key=evals.get)
    assert trainer.state.best_model_checkpoint.endswith(f"checkpoint-{best_step}")
    assert (tmp_path / f"checkpoint-{best_step}" / COMPLETE_MARKER).is_file()  # the best one survives rotation
    state = json.loads((tmp_path / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["best_global_step"] == best_step


def test_fsdp2_with_8bit_adamw_uses_the_sharded_optimizer(tmp_path, monkeypatch):
    from astrobio_hf.training.sharded_optim import ShardedAdamW8bit

    trainer = make_trainer(tmp_path, optim="adamw_bnb_8bit")
    monkeypatch.setattr(AstroTrainer, "uses_fsdp2", lambda self: True)
    assert isinstance(trainer.create_optimizer(), ShardedAdamW8bit)


@pytest.mark.parametrize("optim", ["paged_adamw_8bit", "lion_8bit"])
def test_fsdp2_with_an_unshardable_8bit_optimizer_is_an_error(tmp_path, monkeypatch, optim):
    trainer = make_trainer(tmp_path, optim=optim)
    monkeypatch.setattr(AstroTrainer, "uses_fsdp2", lambda self: True)
    with pytest.raises(ValueError, match="has no FSDP2 implementation"):
        trainer.create_optimizer()


def test_without_fsdp2_the_trainer_keeps_bitsandbytes_8bit(tmp_path):
    import bitsandbytes as bnb

    trainer = make_trainer(tmp_path, optim="adamw_bnb_8bit")
    optimizer = trainer.create_optimizer()
    assert isinstance(optimizer, bnb.optim.optimizer.Optimizer8bit) and optimizer.args.optim_bits == 8


def test_one_cycle_schedule(tmp_path):
    trainer = make_trainer(tmp_path, max_steps=10, lr_schedule="one_cycle", warmup_steps=0.2, learning_rate=0.01)
    trainer.train()
    lrs = [h["learning_rate"] for h in trainer.state.log_history if "learning_rate" in h]
    peak = lrs.index(max(lrs))
    assert max(lrs) == pytest.approx(0.01, rel=0.05) and 0 < peak < len(lrs) - 1
    assert lrs[0] < max(lrs) and lrs[-1] < 0.01 * 0.05


def test_evaluation_is_deterministic_and_leaves_training_streams_alone(tmp_path):
    # the eval loss includes the cube's masked reconstruction and the graph VAE's negative pairs: both random draws
    trainer = make_trainer(tmp_path)
    import random

    random.seed(123)
    torch.manual_seed(123)
    before = (random.random(), torch.rand(1).item())
    random.seed(123)
    torch.manual_seed(123)
    first = trainer.evaluate()["eval_loss"]
    assert (random.random(), torch.rand(1).item()) == before  # evaluating did not consume the training streams
    torch.manual_seed(7)
    random.seed(7)
    assert trainer.evaluate()["eval_loss"] == first
