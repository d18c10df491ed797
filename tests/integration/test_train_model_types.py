"""train.py trains each model type on a prepared dataset, including LoRA on the LLM (adapters saved and merged),
and `--do_eval` alone evaluates a saved checkpoint."""

from __future__ import annotations

import json

import pytest
from transformers import AutoModel

import astrobio_hf  # noqa: F401  (registers the model types)
from tests.helpers.multimodal_rows import write_dataset
from train import main as train

COMMON = ["--use_cpu", "--report_to", "none", "--disable_tqdm", "true", "--save_strategy", "no", "--max_steps", "3",
          "--per_device_train_batch_size", "4", "--logging_steps", "1", "--do_train", "--do_eval"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data"), n_train=12, n_eval=4)


@pytest.mark.parametrize("model_type, metric", [("graph_vae", "eval_edge_reconstruction_loss"),
                                                ("datacube", "eval_reconstruction_loss"),
                                                ("llm", "eval_perplexity")])
def test_each_model_type_trains_and_evaluates(dataset, tmp_path, model_type, metric):
    extra = ["--block_size", "16"] if model_type == "llm" else []
    results = train(["--model_type", model_type, "--dataset_path", str(dataset), "--output_dir", str(tmp_path),
                     *COMMON, *extra])
    assert metric in results["eval"], sorted(results["eval"])
    assert results["run"]["model_type"] == model_type
    loaded = AutoModel.from_pretrained(tmp_path)
    assert loaded.config.model_type == f"astro_{model_type}"


def test_llm_lora_saves_an_adapter_and_a_merged_model(dataset, tmp_path):
    train(["--model_type", "llm", "--dataset_path", str(dataset), "--output_dir", str(tmp_path), "--block_size", "16",
           "--lora_r", "4", "--lora_alpha", "8", "--lora_target_modules", "q_proj", "v_proj", "--merge_lora", *COMMON])
    adapter = json.loads((tmp_path / "adapter_config.json").read_text())
    assert adapter["r"] == 4 and sorted(adapter["target_modules"]) == ["q_proj", "v_proj"]
    assert (tmp_path / "adapter_model.safetensors").is_file()
    merged = AutoModel.from_pretrained(tmp_path / "merged")
    assert merged.config.model_type == "astro_llm"
    assert (tmp_path / "tokenizer.json").is_file()


def test_do_eval_alone_evaluates_a_checkpoint(dataset, tmp_path):
    train(["--dataset_path", str(dataset), "--output_dir", str(tmp_path / "model"), *COMMON])
    results = train(["--dataset_path", str(dataset), "--output_dir", str(tmp_path / "eval"), "--do_eval",
                     "--model_name_or_path", str(tmp_path / "model"), "--use_cpu", "--report_to", "none",
                     "--disable_tqdm", "true"])
    assert "train" not in results and "eval_habitability_accuracy" in results["eval"]
