"""The rare-class recipe: planet_params scaling, class weights, focal loss, and a model that finds a rare class
where an unweighted model at a 0.5 threshold does not (generated data, said so: a planted rule on two columns)."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
import torch

from astrobio_hf.data.collator import MultimodalCollator
from astrobio_hf.data.multimodal_schema import MultimodalSpec
from astrobio_hf.data.planet_features import transform_of
from astrobio_hf.data.planet_scaling import PlanetParamScaling, fit_scaling, scaling_of, with_scaling
from astrobio_hf.evaluation.fold_training import train_fold_model
from astrobio_hf.evaluation.metrics import habitability_metrics
from astrobio_hf.evaluation.model_eval import model_predictions
from astrobio_hf.inference.processing import AstroMultimodalProcessor
from astrobio_hf.models.multimodal import MULTIMODAL_PRESETS, AstroMultimodalConfig, AstroMultimodalModel
from astrobio_hf.training.class_balance import class_weights
from tests.helpers.multimodal_rows import SPEC, row

# log10-like offsets and spreads of real catalog columns (Teff: 3.72 +- 0.09, period: 1.26 +- 0.92)
OFFSETS = np.array([1.26, -0.9, 0.4, 1.0, 0.1, 1.5, 2.9, 3.72, 0.0, -0.05, 0.0, 4.4, 2.6])
SPREADS = np.array([0.92, 0.7, 0.3, 0.8, 0.1, 1.2, 0.2, 0.09, 0.2, 0.15, 0.2, 0.3, 0.4])


def rare_class_rows(n: int, seed: int) -> datasets.Dataset:
    """Rows with only planet_params; habitable (about 3%) when two standardised columns both exceed 1.1."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, len(SPEC.planet_param_names)))
    records = []
    for i in range(n):
        values = (OFFSETS + SPREADS * z[i]).astype(np.float32)
        habitable = bool(z[i, 7] > 1.1 and z[i, 0] > 1.1) or bool(z[i, 7] < -1.6 and z[i, 0] < -1.6)
        record = row(i)
        record.update(planet_name=f"Gen {i} b", host_name=f"Gen {i}", planet_params=values,
                      planet_params_mask=[True] * len(values), spectrum_mask=False, light_curve_mask=False,
                      climate_cube_mask=False, graph_mask=False, graph_x=[], graph_edge_index=[[], []],
                      graph_edge_attr=[], graph_id="", habitability=int(habitable),
                      hz_class=0 if z[i, 7] > 0.8 else (1 if z[i, 7] > -0.8 else 2), rocky=-100)
        records.append(SPEC.encode_row(record))
    return datasets.Dataset.from_list(records, features=SPEC.features())


RECIPE = {"preset": "astro-multimodal-tiny", "seed": 0, "num_train_epochs": 25, "per_device_train_batch_size": 64,
          "per_device_eval_batch_size": 256, "learning_rate": 0.003, "lr_schedule": "one_cycle", "warmup_steps": 0.1,
          "optim": "adamw_torch_fused", "eval_strategy": "epoch", "save_strategy": "epoch", "save_total_limit": 1,
          "load_best_model_at_end": True, "metric_for_best_model": "task_score", "greater_is_better": True,
          "use_cpu": True, "logging_steps": 50, "dataloader_num_workers": 0,
          "config_overrides": '{"auxiliary_losses": false, "loss_weights": {"reconstruction": 0.0, "physics": 0.0,'
                              ' "consistency": 0.0}}'}


def test_recipe_finds_a_rare_class_that_an_unweighted_model_at_half_misses():
    rows = rare_class_rows(1500, seed=0)
    labels = np.asarray(rows["habitability"])
    train, validation, test = np.arange(0, 900), np.arange(900, 1200), np.arange(1200, 1500)
    assert 10 <= labels[train].sum() <= 60 and labels[validation].sum() >= 3 and labels[test].sum() >= 3

    def f1_on_test(recipe, threshold_from_validation: bool) -> float:
        fold = train_fold_model(rows, train, validation, SPEC, recipe)
        pred = model_predictions(fold.model, rows, fold.spec, test)
        threshold = fold.model.config.habitability_threshold if threshold_from_validation else 0.5
        return habitability_metrics(labels[test], pred.probability, threshold=threshold)["f1"]

    unweighted = f1_on_test({**RECIPE, "class_weighting": "none"}, threshold_from_validation=False)
    recipe = f1_on_test({**RECIPE, "class_weighting": "balanced"}, threshold_from_validation=True)
    assert recipe >= 0.5
    assert recipe > unweighted + 0.2


def test_class_weights_balance_counts():
    assert class_weights([0] * 90 + [1] * 10, 2) == pytest.approx([100 / 180, 100 / 20])
    assert class_weights([0] * 90 + [1] * 10, 2, "sqrt") == pytest.approx(np.sqrt([100 / 180, 100 / 20]))
    assert class_weights([0, 1, -100], 2, "none") is None
    assert class_weights([0, 0, -100], 2) is None  # a class with no example: nothing to balance
    with pytest.raises(ValueError, match="class weighting"):
        class_weights([0, 1], 2, "inverse")


def test_focal_and_weighted_losses_match_their_formulas():
    config = AstroMultimodalConfig(**MULTIMODAL_PRESETS["tiny"], habitability_class_weights=[0.5, 5.0],
                                   classification_loss="focal", focal_gamma=2.0)
    model = AstroMultimodalModel(config)
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.5], [-1.0, 3.0], [0.0, 1.0]])
    labels = torch.tensor([0, 1, 1, -100])
    p = logits[:3].softmax(-1)[torch.arange(3), labels[:3]]
    w = torch.tensor([0.5, 5.0, 5.0])
    expected = (w * -(1 - p) ** 2 * p.log()).sum() / w.sum()
    got = model._labelled_cross_entropy(logits, labels, config.habitability_class_weights)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)
    config.classification_loss = "cross_entropy"
    expected = torch.nn.functional.cross_entropy(logits[:3], labels[:3], weight=torch.tensor([0.5, 5.0]))
    assert model._labelled_cross_entropy(logits, labels, [0.5, 5.0]).item() == pytest.approx(expected.item())


@pytest.mark.parametrize("field,value,message", [
    ("habitability_class_weights", [1.0], "2 positive numbers"), ("hz_class_weights", [1.0, 0.0, 1.0], "positive"),
    ("classification_loss", "hinge", "classification_loss"), ("habitability_threshold", 1.0, "threshold"),
])
def test_bad_recipe_fields_name_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        AstroMultimodalConfig(**MULTIMODAL_PRESETS["tiny"], **{field: value})


def test_scaling_is_fitted_on_observed_values_and_applied_by_the_collator():
    values = np.array([[3.7, 1.0], [3.8, np.nan], [3.6, 3.0]], dtype=np.float32)
    observed = np.array([[True, True], [True, False], [True, True]])
    scaling = PlanetParamScaling.fit(values, observed, ["st_teff", "pl_orbper"])
    assert scaling.mean == pytest.approx((3.7, 2.0)) and scaling.std[1] == pytest.approx(1.0)
    assert np.isnan(scaling.apply(values)[1, 1])  # missing stays missing
    rows = rare_class_rows(40, seed=1)
    spec = with_scaling(SPEC, fit_scaling(rows, SPEC))
    batch = MultimodalCollator(spec)(rows.with_format("arrow")[:])
    assert batch["planet_params"].mean(0).abs().max() < 1e-5  # standardised on these very rows
    assert batch["planet_params"].std(0, unbiased=False).sub(1).abs().max() < 1e-4
    raw = MultimodalCollator(SPEC)(rows.with_format("arrow")[:])
    assert raw["planet_params"][:, 7].mean().item() == pytest.approx(3.72, abs=0.1)  # no scaling recorded: as stored


def test_scaling_travels_with_the_processor(tmp_path):
    rows = rare_class_rows(40, seed=2)
    spec = with_scaling(SPEC, fit_scaling(rows, SPEC))
    AstroMultimodalProcessor.from_spec(spec).save_pretrained(tmp_path)
    loaded = AstroMultimodalProcessor.from_pretrained(str(tmp_path))
    assert scaling_of(loaded.multimodal_spec) == scaling_of(spec)
    catalog = {name: float(10 ** v) if transform_of(name) == "log10" else float(v)
               for name, v in zip(SPEC.planet_param_names, OFFSETS, strict=True)}
    encoded = loaded(loaded.planet_inputs(catalog))["planet_params"][0]
    assert encoded.abs().max() < 3.0  # catalog units in, standardised values out


def test_a_spec_whose_scaling_names_other_columns_is_refused():
    spec = with_scaling(SPEC, PlanetParamScaling(("a",), (0.0,), (1.0,), 1))
    with pytest.raises(ValueError, match="differ from the spec's columns"):
        MultimodalCollator(spec)
    assert scaling_of(MultimodalSpec()) is None


def test_temperate_and_rocky_head_is_the_product_and_reads_only_the_size_columns():
    config = AstroMultimodalConfig(**MULTIMODAL_PRESETS["tiny"], habitability_head="temperate_and_rocky",
                                   auxiliary_losses=False)
    model = AstroMultimodalModel(config).eval()
    values = torch.randn(6, config.num_planet_params)
    with torch.no_grad():
        out = model(planet_params=values)
        temperate = out.hz_class_logits.softmax(-1)[:, config.hz_class_names.index("temperate")]
        size = [config.planet_param_names.index(c) for c in config.rocky_columns]
        rocky = torch.sigmoid(model.rocky_head(values[:, size], torch.ones(6, len(size), dtype=torch.bool)))[:, 0]
        torch.testing.assert_close(out.habitability_logits.softmax(-1)[:, 1], temperate * rocky)
        # the rocky factor sees the planet's size only: changing the star changes P(habitable) through hz only
        star = values.clone()
        star[:, config.planet_param_names.index("st_teff")] += 3.0
        moved = model(planet_params=star)
        moved_temperate = moved.hz_class_logits.softmax(-1)[:, config.hz_class_names.index("temperate")]
        torch.testing.assert_close(moved.habitability_logits.softmax(-1)[:, 1], moved_temperate * rocky)
    with pytest.raises(ValueError, match="rocky_columns"):
        AstroMultimodalConfig(**MULTIMODAL_PRESETS["tiny"], habitability_head="temperate_and_rocky",
                              rocky_columns=["pl_radius"])


def test_the_factorised_head_trains_each_factor_on_its_own_label():
    """With `rocky` labels the classification loss is hz_class cross-entropy + the size factor's binary
    cross-entropy over the rows with a size label; without them, the product's cross-entropy as before."""
    config = AstroMultimodalConfig(**MULTIMODAL_PRESETS["tiny"], habitability_head="temperate_and_rocky",
                                   auxiliary_losses=False, loss_weights={"consistency": 0.0})
    model = AstroMultimodalModel(config).eval()
    values = torch.randn(6, config.num_planet_params)
    hz = torch.tensor([0, 1, 2, 1, -100, 0])
    habitable = torch.tensor([0, 1, 0, 0, -100, 0])
    rocky = torch.tensor([1, 1, 0, 0, 1, -100])
    with torch.no_grad():
        out = model(planet_params=values, hz_class=hz, habitability=habitable, rocky=rocky)
        size = [config.planet_param_names.index(c) for c in config.rocky_columns]
        logit = model.rocky_head(values[:, size], torch.ones(6, len(size), dtype=torch.bool))[:, 0]
        expected_rocky = torch.nn.functional.binary_cross_entropy_with_logits(logit[:5], rocky[:5].float())
        torch.testing.assert_close(out.rocky_loss, expected_rocky)
        torch.testing.assert_close(out.classification_loss, out.hz_class_loss + out.rocky_loss)
        assert out.habitability_loss is not None  # still reported
        without = model(planet_params=values, hz_class=hz, habitability=habitable)
        assert without.rocky_loss is None
        torch.testing.assert_close(without.classification_loss, without.habitability_loss + without.hz_class_loss)
        unlabelled = model(planet_params=values, hz_class=hz, habitability=habitable, rocky=torch.full((6,), -100))
        assert unlabelled.rocky_loss is None  # no size label in the batch: the temperate factor's term only
        torch.testing.assert_close(unlabelled.classification_loss, unlabelled.hz_class_loss)


@pytest.mark.parametrize("weighting", ["balanced", "none"])
def test_class_weighting_reaches_both_heads_of_the_model(tmp_path, weighting):
    """`--class_weighting` fills each head's config field from the train split's labels (the hz_class weights once
    went to a misspelt attribute the loss never read)."""
    from astrobio_hf.evaluation.fold_training import fold_arguments
    from astrobio_hf.training.tasks import multimodal_task

    rows = rare_class_rows(300, seed=1)
    model_args, _ = fold_arguments({**RECIPE, "class_weighting": weighting}, tmp_path)
    config = multimodal_task(model_args, rows, None, SPEC).model.config
    hz = np.asarray(rows["hz_class"])
    habitable = np.asarray(rows["habitability"])
    if weighting == "none":
        assert config.habitability_class_weights is None and config.hz_class_weights is None
    else:
        assert config.hz_class_weights == pytest.approx(class_weights(hz, 3))
        assert config.habitability_class_weights == pytest.approx(class_weights(habitable, 2))
    assert not hasattr(config, "hz_class_class_weights")
