"""The multimodal schema and collator: Arrow rows -> model inputs, ragged graphs, masks, and a model forward pass."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from astrobio_hf.data.collator import ArrowBatches, MultimodalCollator
from astrobio_hf.data.multimodal_schema import UNLABELLED
from astrobio_hf.models.multimodal import MULTIMODAL_PRESETS, AstroMultimodalConfig, AstroMultimodalModel
from tests.helpers.multimodal_rows import SPEC, row


@pytest.fixture(scope="module")
def dataset() -> datasets.Dataset:
    return datasets.Dataset.from_list([SPEC.encode_row(row(i, unlabelled=(5,))) for i in range(8)],
                                      features=SPEC.features())


def test_rows_round_trip_through_arrow(dataset):
    assert dataset.features == SPEC.features()
    assert dataset[2]["planet_name"] == "Planet 2 b"
    assert len(dataset[0]["climate_cube"]) == SPEC.size("climate_cube")
    assert dataset[1]["climate_cube"] is None  # absent modalities are null: no storage
    batch = MultimodalCollator(SPEC)(ArrowBatches(dataset).__getitems__([0, 4]))
    torch.testing.assert_close(batch["climate_cube"][1], torch.from_numpy(row(4)["climate_cube"]))
    torch.testing.assert_close(batch["spectrum"][0], torch.from_numpy(row(0)["spectrum"]))


def test_collator_batches_masks_and_ragged_graphs(dataset):
    batch = MultimodalCollator(SPEC, return_names=True)(ArrowBatches(dataset).__getitems__([0, 1, 2, 3, 4]))
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
    batch = MultimodalCollator(SPEC)(ArrowBatches(dataset).__getitems__([1, 5]))
    assert "spectrum" not in batch and "climate_cube" not in batch and "graph" not in batch
    assert batch["habitability"].tolist() == [0, UNLABELLED]


def test_dataloader_rows_feed_the_model(dataset):
    config = AstroMultimodalConfig(**MULTIMODAL_PRESETS["tiny"])
    SPEC.check_model_config(config)
    model = AstroMultimodalModel(config)
    loader = DataLoader(ArrowBatches(dataset), batch_size=4, collate_fn=MultimodalCollator(SPEC))
    for batch in loader:
        out = model(**batch)
        assert torch.isfinite(out.loss)
        assert out.modality_mask[:, 4].tolist() == batch.get("graph_mask", torch.zeros(4, dtype=bool)).tolist()


def test_row_dicts_and_arrow_slices_give_the_same_batch(dataset):
    from_rows = MultimodalCollator(SPEC)([row(i, unlabelled=(5,)) for i in (2, 3, 4)])
    from_arrow = MultimodalCollator(SPEC)(ArrowBatches(dataset).__getitems__([2, 3, 4]))
    assert from_rows.keys() == from_arrow.keys()
    for key, value in from_rows.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, from_arrow[key]), key
    assert torch.equal(from_rows["graph"].edge_index, from_arrow["graph"].edge_index)
    assert torch.equal(from_rows["graph"].edge_attr, from_arrow["graph"].edge_attr)


def test_a_present_modality_without_values_names_the_planet():
    bad = row(0)
    bad["spectrum"] = None
    encoded = SPEC.encode_row(bad)
    assert encoded["spectrum"] is None
    table = datasets.Dataset.from_list([encoded], features=SPEC.features()).with_format("arrow")[:]
    with pytest.raises(ValueError, match=r"spectrum_mask is True but spectrum is null for \['Planet 0 b'\]"):
        MultimodalCollator(SPEC)(table)
    wrong = row(0)
    wrong["spectrum"] = np.zeros(5, np.float32)
    with pytest.raises(ValueError, match="'Planet 0 b': spectrum has 5 values"):
        SPEC.encode_row(wrong)


def test_spec_mismatch_names_the_field():
    config = AstroMultimodalConfig(**{**MULTIMODAL_PRESETS["tiny"], "spectrum_length": 128})
    with pytest.raises(ValueError, match="spectrum_length is 128 but the dataset has 64"):
        SPEC.check_model_config(config)


def test_columnar_graph_batch_equals_pyg_from_data_list(dataset):
    from torch_geometric.data import Batch

    from tests.helpers.model_inputs import hexokinase_graph

    batch = MultimodalCollator(SPEC)(ArrowBatches(dataset).__getitems__([0, 1, 2, 3, 4, 6]))["graph"]
    reference = Batch.from_data_list([hexokinase_graph(1 + i % 3) for i in (0, 2, 4, 6)])
    assert batch.num_graphs == reference.num_graphs == 4
    for key in ("x", "edge_index", "edge_attr", "batch", "ptr"):
        assert torch.equal(batch[key], reference[key]), key
    # the bookkeeping of from_data_list works too: graphs come back out one by one
    for ours, theirs in zip(batch.to_data_list(), reference.to_data_list(), strict=True):
        for key in ("x", "edge_index", "edge_attr"):
            assert torch.equal(ours[key], theirs[key]), key
    assert torch.equal(batch.get_example(2).edge_index, reference.get_example(2).edge_index)
