"""Model cards: metadata, parameter count, preset, recipe, sources and generated parts, metrics, and no secrets."""

from __future__ import annotations

import pytest
import yaml
from huggingface_hub import ModelCard

from astrobio_hf.models.presets import build_model
from astrobio_hf.sharing.model_card import (
    build_model_card,
    count_parameters_in_dir,
    infer_preset,
    load_recipe,
    save_with_card,
    write_model_card,
)

SECRET = "hf_unitTestSecretValue0123456789"
SOURCES = [
    {"source": "nasa_exoplanet_archive", "release": "pscomppars 2025-11", "file": "PSCompPars.csv"},
    {"source": "uniprot", "url": "https://rest.uniprot.org/uniprotkb/search", "release": "2025_04"},
    {"source": "climate_cube", "generated": True, "note": "latitudinal energy-balance generator"},
]
METRICS = {"eval_accuracy": 0.8125, "eval_auroc": 0.90234375, "eval_loss": 0.4375}


@pytest.fixture(scope="module")
def multimodal():
    return build_model("astro-multimodal-tiny")


def _metadata(card: ModelCard) -> dict:
    return card.data.to_dict()


def test_card_states_architecture_preset_parameters_sources_generated_parts_and_metrics(multimodal):
    card = build_model_card(multimodal, recipe={"learning_rate": 3e-4, "num_train_epochs": 2}, metrics=METRICS,
                            data_sources=SOURCES, generated_parts=["planet descriptions: templated text"])
    text = str(card)
    n_params = sum(p.numel() for p in multimodal.parameters())
    meta = _metadata(card)

    assert meta["library_name"] == "transformers"
    assert meta["license"] == "apache-2.0"
    assert {"astrobiology", "exoplanets", "multimodal"} <= set(meta["tags"])
    assert meta["astrobio_hf"]["parameters"] == n_params
    assert meta["astrobio_hf"]["preset"] == "astro-multimodal-tiny"
    assert meta["astrobio_hf"]["architecture"] == "AstroMultimodalModel"
    assert meta["astrobio_hf"]["validation_metrics"] == METRICS
    assert meta["pipeline_tag"] == "tabular-classification"
    assert meta["astrobio_hf"]["generated_parts"] == [
        "planet descriptions: templated text", "climate_cube: latitudinal energy-balance generator"]

    assert f"- parameters: {n_params:,}" in text
    assert "`graph_config`: `astro_graph_vae`" in text and "`datacube_config`: `astro_datacube`" in text
    assert "learning_rate: 0.0003" in text and "num_train_epochs: 2" in text
    # provenance is summarised per source: real or generated, rows, releases (file names and URLs are not listed)
    assert "| nasa_exoplanet_archive | real | 0 | pscomppars 2025-11 | - |" in text
    assert "| uniprot | real | 0 | 2025_04 | - |" in text
    assert "| climate_cube | generated | 0 | - | latitudinal energy-balance generator |" in text
    assert "- planet descriptions: templated text" in text
    assert "| eval_accuracy | 0.8125 |" in text and "| eval_auroc | 0.9023 |" in text
    assert "Validation split (used to select the checkpoint" in text and "closed-form rule" in text


def test_provenance_is_one_line_per_source_however_many_releases(multimodal):
    sources = [{"source": "climate_generator", "release": f"ebm S={s}", "generated": True, "note": "1 rows"}
               for s in range(300)] + [{"source": "nasa_exoplanet_archive", "release": "x", "note": "300 rows"}]
    text = str(build_model_card(multimodal, data_sources=sources))
    assert text.count("| climate_generator |") == 1 and "(300 in all)" in text
    assert "| nasa_exoplanet_archive | real | 300 |" in text


def test_card_refuses_a_local_path(multimodal, tmp_path):
    with pytest.raises(ValueError, match="local path"):
        build_model_card(multimodal, data_sources=[{"source": "x", "note": str(tmp_path / "file.csv")}])
    card = str(build_model_card(multimodal, recipe={"dataset_path": str(tmp_path / "ds"), "seed": 1}))
    assert "dataset_path: ds" in card and str(tmp_path) not in card


def test_card_without_recipe_sources_or_metrics_says_so(multimodal):
    text = str(build_model_card(multimodal))
    assert "No training recipe was recorded" in text
    assert "No data sources were recorded" in text
    assert "No held-out evaluation was recorded" in text


def test_secrets_never_reach_the_card(multimodal, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", SECRET)
    recipe = {"learning_rate": 1e-3, "hub_token": SECRET, "report_to": ["wandb"], "pad_token": "<pad>",
              "wandb": {"api_key": "another-secret-value", "project": "astro"},
              "output_dir": f"/runs/{SECRET}"}
    card = build_model_card(multimodal, recipe=recipe)
    text = str(card)
    assert SECRET not in text and "another-secret-value" not in text
    assert "hub_token" not in text and "api_key" not in text
    assert "pad_token: <pad>" in text and "project: astro" in text  # vocabulary entries and settings stay
    assert "output_dir: <redacted>" in text
    # A secret in a free-text field cannot be scrubbed by key: the card is refused instead, without the value.
    with pytest.raises(ValueError, match="value of HF_TOKEN; refusing") as info:
        build_model_card(multimodal, generated_parts=[f"notes {SECRET}"])
    assert SECRET not in str(info.value)


def test_save_with_card_and_card_from_a_saved_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", SECRET)
    model = build_model("astro-datacube-tiny")
    n_params = sum(p.numel() for p in model.parameters())
    card_path = save_with_card(model, tmp_path / "ckpt", metrics={"eval_loss": 1.5})
    assert card_path == tmp_path / "ckpt" / "README.md"
    assert (tmp_path / "ckpt" / "model.safetensors").is_file()
    card = ModelCard.load(card_path)
    assert card.data.library_name == "transformers"
    assert card.data.to_dict()["astrobio_hf"]["preset"] == "astro-datacube-tiny"
    for name in ("README.md", "config.json"):
        assert SECRET not in (tmp_path / "ckpt" / name).read_text()

    # Without a model object: config.json is read and parameters are counted from the safetensors header.
    assert count_parameters_in_dir(tmp_path / "ckpt") == n_params
    path = write_model_card(tmp_path / "ckpt")
    meta = ModelCard.load(path).data.to_dict()["astrobio_hf"]
    assert meta["parameters"] == n_params and meta["architecture"] == "AstroDatacubeModel"


def test_custom_size_has_no_preset(multimodal):
    assert infer_preset(multimodal.config) == "astro-multimodal-tiny"
    custom = build_model("astro-datacube-tiny", hidden_size=48)
    assert infer_preset(custom.config) is None
    assert _metadata(build_model_card(custom))["astrobio_hf"]["preset"] == "custom"


def test_recipe_from_a_yaml_file_and_bad_files(tmp_path):
    recipe = tmp_path / "demo_cpu.yaml"
    recipe.write_text(yaml.safe_dump({"preset": "astro-multimodal-tiny", "max_steps": 20}))
    assert load_recipe(recipe) == {"recipe_file": "demo_cpu.yaml", "preset": "astro-multimodal-tiny", "max_steps": 20}
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ValueError, match=r"bad\.yaml is not a mapping"):
        load_recipe(bad)
    with pytest.raises(ValueError, match="cannot read the training recipe"):
        load_recipe(tmp_path / "missing.yaml")
    with pytest.raises(FileNotFoundError, match="no config.json"):
        write_model_card(tmp_path / "empty")


def test_save_with_card_reads_the_recipe_before_saving(tmp_path):
    model = build_model("astro-multimodal-tiny")
    with pytest.raises(ValueError, match="cannot read the training recipe"):
        save_with_card(model, tmp_path / "out", recipe=tmp_path / "configs" / "demo_cpu.yaml")
    assert not (tmp_path / "out" / "model.safetensors").exists()  # nothing half-written
