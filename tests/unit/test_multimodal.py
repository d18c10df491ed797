"""AstroMultimodalModel: every subset of modalities, masking, the named loss components, LLM head, save/load."""

from __future__ import annotations

import itertools

import pytest
import torch

from astrobio_hf.models.llm import AstroLLMConfig
from astrobio_hf.models.multimodal import (
    MODALITIES,
    MULTIMODAL_PRESETS,
    AstroMultimodalConfig,
    AstroMultimodalModel,
)
from tests.helpers.model_inputs import multimodal_inputs

ENCODERS = {
    "planet_params": "planet_encoder",
    "spectrum": "spectrum_encoder",
    "light_curve": "light_curve_encoder",
    "climate_cube": "climate_encoder",
    "graph": "graph_encoder",
}


def tiny_config(**overrides) -> AstroMultimodalConfig:
    return AstroMultimodalConfig(**{**MULTIMODAL_PRESETS["tiny"], "dropout": 0.0, **overrides})


@pytest.fixture(scope="module")
def model() -> AstroMultimodalModel:
    torch.manual_seed(0)
    return AstroMultimodalModel(tiny_config())


SUBSETS = [subset for r in range(len(MODALITIES) + 1) for subset in itertools.combinations(MODALITIES, r)]


@pytest.mark.parametrize("subset", SUBSETS, ids=lambda s: "+".join(s) or "none")
def test_every_subset_of_modalities(model, subset):
    model.zero_grad(set_to_none=True)
    inputs = multimodal_inputs(model.config, batch_size=3, modalities=subset)
    out = model(**inputs)
    assert out.habitability_logits.shape == (3, 2)
    assert out.hz_class_logits.shape == (3, 3)
    assert out.fused_embedding.shape == (3, model.config.hidden_size)
    assert torch.isfinite(out.habitability_logits).all()
    expected = torch.tensor([m in subset for m in MODALITIES]).expand(3, -1)
    assert torch.equal(out.modality_mask, expected)
    out.loss.backward()
    for modality, encoder in ENCODERS.items():
        grads = [p.grad for p in getattr(model, encoder).parameters() if p.grad is not None]
        reached = any(bool(g.abs().sum() > 0) for g in grads)
        assert reached == (modality in subset), f"{modality}: gradient reached={reached}"
    assert (out.consistency_loss is not None) == (len(subset) >= 2)


def test_absent_modality_values_do_not_change_predictions(model):
    model.eval()
    inputs = multimodal_inputs(model.config, batch_size=4, labels=False)
    inputs["spectrum_mask"] = torch.tensor([True, False, True, False])
    reference = model(**inputs).habitability_logits
    inputs["spectrum"] = inputs["spectrum"].clone()
    inputs["spectrum"][[1, 3]] = 123.0
    changed = model(**inputs).habitability_logits
    torch.testing.assert_close(changed, reference)
    inputs["spectrum"][0] = -5.0  # a present spectrum does matter
    assert not torch.allclose(model(**inputs).habitability_logits[0], reference[0])
    model.train()


def test_loss_is_the_weighted_sum_of_named_components(model):
    torch.manual_seed(1)
    out = model(**multimodal_inputs(model.config, batch_size=4))
    weights = model.config.loss_weights
    assert weights["classification"] == 1.0 and weights["reconstruction"] == 0.1
    assert weights["physics"] == 0.2 and weights["consistency"] == 0.15
    expected = sum(
        weights[name] * getattr(out, f"{name}_loss")
        for name in ("classification", "reconstruction", "physics", "consistency")
    )
    torch.testing.assert_close(out.loss, expected)
    torch.testing.assert_close(out.classification_loss, out.habitability_loss + out.hz_class_loss)
    for name in ("reconstruction", "physics", "consistency"):
        assert getattr(out, f"{name}_loss") > 0


def test_unlabelled_samples_are_ignored(model):
    inputs = multimodal_inputs(model.config, batch_size=4)
    inputs["habitability"] = torch.tensor([1, -100, 0, -100])
    inputs["hz_class"] = torch.full((4,), -100)
    out = model(**inputs)
    logits = out.habitability_logits[[0, 2]]
    torch.testing.assert_close(out.habitability_loss, torch.nn.functional.cross_entropy(logits, torch.tensor([1, 0])))
    assert out.hz_class_loss is None


def test_custom_loss_weights_apply():
    config = tiny_config(loss_weights={"reconstruction": 0.0, "physics": 0.0, "consistency": 0.0})
    out = AstroMultimodalModel(config)(**multimodal_inputs(config, batch_size=2))
    torch.testing.assert_close(out.loss, out.classification_loss)


def test_graph_batch_must_match_graph_mask(model):
    inputs = multimodal_inputs(model.config, batch_size=3)
    inputs["graph_mask"] = torch.tensor([True, False, True])
    with pytest.raises(ValueError, match="graph holds 3 graphs but graph_mask marks 2"):
        model(**inputs)


def test_wrong_spectrum_shape_names_the_field(model):
    inputs = multimodal_inputs(model.config, batch_size=2)
    inputs["spectrum"] = inputs["spectrum"][..., :10]
    with pytest.raises(ValueError, match=r"spectrum must have shape \[batch, 3, 64\]"):
        model(**inputs)


def test_llm_head_is_fed_by_the_fused_embedding():
    llm = AstroLLMConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=4, num_key_value_heads=2, evidence_dim=32, num_evidence_tokens=2)
    config = tiny_config(llm_config=llm)
    model = AstroMultimodalModel(config)
    inputs = multimodal_inputs(config, batch_size=2, modalities=("planet_params", "spectrum"))
    text = torch.arange(2, 14).view(2, 6)
    out = model(**inputs, text_input_ids=text, text_labels=text)
    assert out.llm_logits.shape == (2, 2 + 6, 64)
    assert out.language_modeling_loss > 0
    model.zero_grad()
    out.language_modeling_loss.backward()
    assert model.spectrum_encoder.proj[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "overrides, field",
    [
        (dict(hidden_size=30), "hidden_size"),
        (dict(loss_weights={"classifcation": 1.0}), "loss_weights"),
        (dict(num_hz_classes=4), "hz_class_names"),
        (dict(llm_config={"hidden_size": 32, "num_attention_heads": 4, "evidence_dim": 16,
                          "num_evidence_tokens": 2}), "llm_config"),
    ],
)
def test_bad_config_names_the_field(overrides, field):
    with pytest.raises(ValueError, match=field):
        tiny_config(**overrides)


def test_config_round_trips_through_dict():
    llm = {"vocab_size": 64, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
           "num_attention_heads": 4, "evidence_dim": 32, "num_evidence_tokens": 2}
    config = tiny_config(llm_config=llm)
    again = AstroMultimodalConfig.from_dict(config.to_dict())
    assert again.to_dict() == config.to_dict()
    assert again.llm_config.num_evidence_tokens == 2
    assert again.datacube_config.grid_shape == config.datacube_config.grid_shape


def test_save_and_load_is_bit_exact(tmp_path, model):
    model.save_pretrained(tmp_path)
    loaded = AstroMultimodalModel.from_pretrained(tmp_path)
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    inputs = multimodal_inputs(model.config, batch_size=3, labels=False)
    model.eval()
    loaded.eval()
    with torch.no_grad():
        assert torch.equal(loaded(**inputs).habitability_logits, model(**inputs).habitability_logits)
    model.train()


def test_gradient_checkpointing_gives_same_loss():
    torch.manual_seed(0)
    config = tiny_config(auxiliary_losses=False)
    model = AstroMultimodalModel(config)
    inputs = multimodal_inputs(config, batch_size=3)
    plain = model(**inputs).loss
    model.activation_checkpointing_enable()
    assert all(layer.gradient_checkpointing for layer in model.fusion_layers)
    torch.testing.assert_close(model(**inputs).loss, plain)
