"""The recipes in configs/ parse into the argument dataclasses, and command-line flags override them."""

from __future__ import annotations

from pathlib import Path

import pytest

from astrobio_hf.training.cli_args import load_recipe, parse_train_args

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_demo_recipe_parses():
    model, data, training = parse_train_args([str(CONFIGS / "demo_cpu.yaml")])
    assert model.model_type == "multimodal" and model.preset == "astro-multimodal-tiny"
    assert data.dataset_path == "outputs/demo/dataset"
    assert training.use_cpu and training.lr_schedule == "one_cycle" and training.remove_unused_columns is False


def test_seed_recipe_is_the_seed_setup():
    recipe = load_recipe(CONFIGS / "seed_2xA5000.yaml")
    assert recipe["bf16"] is True
    # bf16 needs a GPU host; on this CPU machine parse it with bf16 switched off to check every other argument
    model, data, training = parse_train_args([str(CONFIGS / "seed_2xA5000.yaml"), "--bf16", "false"])
    assert model.model_type == "llm" and model.preset == "astro-llm-13b"
    assert training.per_device_train_batch_size == 1 and training.gradient_accumulation_steps == 32
    assert training.activation_checkpointing and training.optim == "adamw_bnb_8bit"
    assert training.lr_schedule == "one_cycle" and training.max_grad_norm == 1.0
    assert training.early_stopping_patience == 20 and training.max_train_hours == 672
    assert training.save_every_minutes == 120 and training.save_total_limit == 5
    assert training.memory_alert_gb == 45


def test_command_line_overrides_the_recipe():
    _, _, training = parse_train_args([str(CONFIGS / "demo_cpu.yaml"), "--learning_rate", "0.5",
                                       "--output_dir", "elsewhere"])
    assert training.learning_rate == 0.5 and training.output_dir == "elsewhere"


def test_bad_recipes_give_clear_errors(tmp_path):
    (tmp_path / "typo.yaml").write_text("model_type: multimodal\nlearning_rat: 0.1\n")
    with pytest.raises(ValueError, match="unknown arguments: learning_rat"):
        parse_train_args([str(tmp_path / "typo.yaml")])
    (tmp_path / "broken.yaml").write_text("model_type: [multimodal\n")
    with pytest.raises(ValueError, match="broken.yaml is not valid YAML"):
        load_recipe(tmp_path / "broken.yaml")
    with pytest.raises(FileNotFoundError, match="missing.yaml does not exist"):
        load_recipe(tmp_path / "missing.yaml")
    with pytest.raises(ValueError, match="--model_type must be one of"):
        parse_train_args([str(CONFIGS / "demo_cpu.yaml"), "--model_type", "gpt"])
