"""The multimodal schema and collator: Arrow rows -> model inputs, ragged graphs, masks, and a model forward pass."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from astrobio_hf.data.collator import MultimodalCollator
from astrobio_hf.data.multimodal_schema import UNLABELLED
from astrobio_hf.models.multimodal import MULTIMODAL_PRESETS, AstroMultimodalConfig, AstroMultimodalModel
from tests.helpers.multimodal_rows import SPEC, row


@pytest.fixture(scope="module")
def dataset() -> datasets.Dataset:
    return datasets.Dataset.from_list([row(i, unlabelled=(5,)) for i in range(8)], features=SPEC.features())


def test_rows_round_trip_through_arrow(dataset):
    assert dataset.features == SPEC.features()
    assert dataset[2]["planet_name"] == "Planet 2 b"
    assert np.asarray(dataset.with_format("numpy")[0]["climate_cube"]).shape == SPEC.climate_cube_shape


def test_collator_batches_masks_and_ragged_graphs(dataset):
    batch = MultimodalCollator(return_names=True)(dataset.with_format("numpy")[[0, 1, 2, 3, 4]])
    assert batch["planet_name"] == [f"Planet {i} b" for i in range(5)]
    assert batch["planet_params"].shape == (5, len(SPEC.planet_param_names))
    assert batch["spectrum_mask"].tolist() == [True, False, False, True, False]
    assert batch["light_curve_mask"].tolist() == [False, True, False, False, True]
    assert batch["climate_cube"].shape == (5, *SPEC.climate_cube_shape)
    assert batch["graph_mask"].tolist() == [True, False, True, False, True]
    graph = batch["graph"]
    assert graph.num_graphs == 3
    assert graph.x.shape[0] == 6 * (1 + 3 + 2)  # rows 0, 2, 4 hold 1, 3 and 2 hexokinase units
    assert graph.edge_attr.shape == (graph.edge_index.shape[1], 1)
    assert batch["habitability"].tolist() == [1, 0, 1, 0, 1]


def test_collator_omits_modalities_no_sample_has(dataset):
    batch = MultimodalCollator()(dataset.with_format("numpy")[[1, 5]])
    assert "spectrum" not in batch and "climate_cube" not in batch and "graph" not in batch
    assert batch["habitability"].tolist() == [0, UNLABELLED]


def test_dataloader_rows_feed_the_model(dataset):
    config = AstroMultimodalConfig(**MULTIMODAL_PRESETS["tiny"])
    SPEC.check_model_config(config)
    model = AstroMultimodalModel(config)
    loader = DataLoader(dataset.with_format("numpy"), batch_size=4, collate_fn=MultimodalCollator())
    for batch in loader:
        out = model(**batch)
        assert torch.isfinite(out.loss)
        assert out.modality_mask[:, 4].tolist() == batch.get("graph_mask", torch.zeros(4, dtype=bool)).tolist()


def test_spec_mismatch_names_the_field():
    config = AstroMultimodalConfig(**{**MULTIMODAL_PRESETS["tiny"], "spectrum_length": 128})
    with pytest.raises(ValueError, match="spectrum_length is 128 but the dataset has 64"):
        SPEC.check_model_config(config)
