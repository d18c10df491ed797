"""Batches multimodal rows into the keyword arguments of `AstroMultimodalModel.forward`.

Accepts what a DataLoader hands over from a `datasets.Dataset` (a list of row dicts: `datasets` fetches the whole
batch with one Arrow slice through `__getitems__`) or a dict of columns from `dataset[indices]`. Fixed-shape
modalities are stacked; graphs of the present samples become one PyG `Batch` in batch order; the masks say which
samples have which modality.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from .multimodal_schema import UNLABELLED


def _column(batch: Sequence[Mapping[str, Any]] | Mapping[str, Any], key: str) -> list[Any]:
    if isinstance(batch, Mapping):
        return list(batch[key])
    return [row[key] for row in batch]


def _stack(values: list[Any], dtype: np.dtype) -> torch.Tensor:
    return torch.from_numpy(np.stack([np.asarray(v, dtype=dtype) for v in values]))


def graph_from_columns(x: Any, edge_index: Any, edge_attr: Any, graph_id: str = "") -> Data:
    """A PyG `Data` from the stored `graph_x [N, F]`, `graph_edge_index [2, E]`, `graph_edge_attr [E, A]` columns."""
    x_t = torch.as_tensor(np.asarray([np.asarray(r, dtype=np.float32) for r in x], dtype=np.float32))
    edges = np.asarray([np.asarray(r, dtype=np.int64) for r in edge_index], dtype=np.int64).reshape(2, -1)
    attr = [np.asarray(r, dtype=np.float32) for r in edge_attr]
    data = Data(x=x_t, edge_index=torch.from_numpy(edges), num_nodes=x_t.shape[0])
    if len(attr):
        data.edge_attr = torch.from_numpy(np.stack(attr))
    if graph_id:
        data.graph_id = graph_id
    return data


@dataclass
class MultimodalCollator:
    """Turns multimodal rows into model inputs. `return_names` adds `planet_name` (a list) for prediction."""

    return_names: bool = False

    def __call__(self, batch: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "planet_params": _stack(_column(batch, "planet_params"), np.float32),
            "planet_params_mask": _stack(_column(batch, "planet_params_mask"), np.bool_),
        }
        for name in ("spectrum", "light_curve", "climate_cube"):
            mask = _stack(_column(batch, f"{name}_mask"), np.bool_)
            if bool(mask.any()):  # skip the tensor when no sample has the modality: no encoder work on zeros
                out[name] = _stack(_column(batch, name), np.float32)
                out[f"{name}_mask"] = mask
        graph_mask = _stack(_column(batch, "graph_mask"), np.bool_)
        if bool(graph_mask.any()):
            xs, edges, attrs = (_column(batch, k) for k in ("graph_x", "graph_edge_index", "graph_edge_attr"))
            graphs = [graph_from_columns(xs[i], edges[i], attrs[i]) for i in np.flatnonzero(graph_mask.numpy())]
            out["graph"] = Batch.from_data_list(graphs)
            out["graph_mask"] = graph_mask
        for label in ("habitability", "hz_class"):
            values = _column(batch, label)
            out[label] = torch.tensor([UNLABELLED if v is None else int(v) for v in values], dtype=torch.long)
        if self.return_names:
            out["planet_name"] = [str(v) for v in _column(batch, "planet_name")]
        return out


__all__ = ["MultimodalCollator", "graph_from_columns"]
