"""What a train.py run leaves describes that run: a non-empty output_dir is never overwritten silently
(--overwrite_output_dir replaces it entirely), the card shows the arguments in force after command-line overrides and
the dataset really used, and only evaluations of these weights; abbreviated flags are refused."""

from __future__ import annotations

import json

import pytest
import yaml

from astrobio_hf.sharing.fingerprint import weights_fingerprint
from astrobio_hf.sharing.model_card import write_model_card
from astrobio_hf.training.cli_args import _parser
from astrobio_hf.training.output_dir import OutputDirError
from tests.helpers.multimodal_rows import write_dataset
from train import main as train

BASE = ["--do_train", "--use_cpu", "--report_to", "none", "--disable_tqdm", "true", "--save_strategy", "no",
        "--per_device_train_batch_size", "4"]


def card_recipe(model_dir) -> dict:
    text = (model_dir / "README.md").read_text()
    block = text.split("## Training recipe", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    return yaml.safe_load(block)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    first = write_dataset(root / "first", n_train=8, n_eval=4)
    second = write_dataset(root / "second", n_train=12, n_eval=4)
    recipe = root / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"model_type": "multimodal", "dataset_path": str(first), "num_train_epochs": 20,
                                      "eval_strategy": "epoch", "learning_rate": 0.002, "report_to": "none"}))
    return root, first, second, recipe


def test_card_comes_from_the_run_not_the_yaml(data):
    root, first, second, recipe = data
    out = root / "from_run"
    train([str(recipe), "--dataset_path", str(second), "--output_dir", str(out), "--max_steps", "2",
           "--eval_strategy", "no", *BASE])
    recorded = card_recipe(out)
    assert recorded["recipe_file"] == "recipe.yaml"
    assert recorded["max_steps"] == 2 and recorded["eval_strategy"] == "no"
    assert recorded["learning_rate"] == 0.002  # from the recipe, not overridden
    assert recorded["dataset_path"] == "second"  # absolute paths become their last component
    assert recorded["dataset_used"]["train_rows"] == 12
    assert set(recorded["command_line_overrides"]) >= {"dataset_path", "max_steps", "eval_strategy", "output_dir"}
    info = json.loads((out / "run_info.json").read_text())
    assert info["card"]["recipe"]["max_steps"] == 2
    # the recorded arguments are a recipe train.py accepts (cross-validation retrains from them)
    assert not set(info["card"]["recipe"]) - {a.dest for a in _parser()._actions}
    write_model_card(out)  # rewritten later (astrobio-hf evaluate): the same recipe section
    assert card_recipe(out) == recorded


def test_non_empty_output_dir_is_refused_then_replaced_with_the_flag(data):
    root, first, second, _ = data
    out = root / "overwrite"
    train(["--dataset_path", str(first), "--output_dir", str(out), "--max_steps", "1", *BASE])
    (out / "checkpoint-1").mkdir()
    evaluation = out / "evaluation" / "test_full"
    evaluation.mkdir(parents=True)
    (evaluation / "results.json").write_text(json.dumps({"weights_fingerprint": weights_fingerprint(out)}))
    before = (out / "model.safetensors").read_bytes()
    with pytest.raises(OutputDirError, match="already holds a run.*--overwrite_output_dir"):
        train(["--dataset_path", str(second), "--output_dir", str(out), "--max_steps", "1", *BASE])
    assert (out / "model.safetensors").read_bytes() == before  # nothing saved was lost
    train(["--dataset_path", str(second), "--output_dir", str(out), "--max_steps", "1", "--overwrite_output_dir",
           *BASE])
    assert not (out / "checkpoint-1").exists() and not (out / "evaluation").exists()
    assert json.loads((out / "run_info.json").read_text())["train_rows"] == 12


def test_overwrite_refuses_to_delete_what_the_run_reads(data):
    root, first, _, _ = data
    out = first.parent
    with pytest.raises(OutputDirError, match="which this run reads"):
        train(["--dataset_path", str(first), "--output_dir", str(out), "--max_steps", "1", "--overwrite_output_dir",
               *BASE])
    assert (first / "multimodal_spec.json").exists() or any(first.iterdir())


def test_card_keeps_only_evaluations_of_these_weights(data):
    root, first, _, _ = data
    out = root / "evaluated"
    train(["--dataset_path", str(first), "--output_dir", str(out), "--max_steps", "1", *BASE])
    stale = {"split": "test", "protocol": {"name": "full"}, "methods": [], "dataset": "first",
             "rows": {"labelled": 4, "hosts": 4, "habitable": 1, "positive_rate": 0.25}, "bootstrap": {"resamples": 0},
             "weights_fingerprint": "sha256:" + "0" * 64}
    for name, result in (("stale", stale), ("unrecorded", {**stale, "weights_fingerprint": None})):
        (out / "evaluation" / name).mkdir(parents=True)
        (out / "evaluation" / name / "results.json").write_text(json.dumps(result))
    write_model_card(out)
    assert "No held-out evaluation was recorded" in (out / "README.md").read_text()
    current = {**stale, "weights_fingerprint": weights_fingerprint(out), "split": "holdout"}
    (out / "evaluation" / "current").mkdir()
    (out / "evaluation" / "current" / "results.json").write_text(json.dumps(current))
    write_model_card(out)
    text = (out / "README.md").read_text()
    assert "Split `holdout`" in text and "Split `test`" not in text


def test_abbreviated_flags_are_refused(data):
    root, first, _, _ = data
    with pytest.raises(ValueError, match="--learning_rat"):  # argparse would have read it as --learning_rate
        train(["--dataset_path", str(first), "--output_dir", str(root / "abbrev"), "--learning_rat", "0.1", *BASE])


def test_a_model_saved_outside_the_working_folder_names_its_dataset_without_the_layout(tmp_path, monkeypatch):
    """Dataset under the working folder, model elsewhere: the relative path would climb through this machine's
    folders; the card names the dataset folder only (and the run does not fail after saving the weights)."""
    work = tmp_path / "work" / "project"
    write_dataset(work / "outputs" / "dataset", n_train=8, n_eval=4)
    monkeypatch.chdir(work)
    out = tmp_path / "elsewhere" / "model"
    train(["--dataset_path", "outputs/dataset", "--output_dir", str(out), "--do_train", "--max_steps", "1",
           "--use_cpu", "--report_to", "none", "--disable_tqdm", "true", "--save_strategy", "no"])
    card = (out / "README.md").read_text()
    assert str(work) not in card and "../" not in card
    assert json.loads((out / "run_info.json").read_text())["card"]["recipe_notes"]["dataset_used"]["path"] == "dataset"
