"""Metabolic graphs as records: a `torch_geometric` `Data` from `metabolic_graphs` to plain Python values for a
`datasets` / Arrow row and back, with the row's `datasets.Features`. The reverse direction checks every shape, so a
damaged row is refused with the field named instead of producing a graph the VAE would misread."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data

from astrobio_hf.data.graph_schema import IS_METABOLITE_COLUMN, NODE_FEATURE_DIM
from astrobio_hf.data.modalities.metabolic_graphs import EDGE_FEATURE_DIM, MetabolicGraphError


def graph_to_dict(data: Data) -> dict[str, Any]:
    """A graph as plain Python values (lists, ints, strings) for a `datasets` / Arrow row."""
    return {
        "x": data.x.to(torch.float32).tolist(),
        "edge_index": data.edge_index.to(torch.long).tolist(),
        "edge_attr": data.edge_attr.to(torch.float32).tolist(),
        "node_ids": [str(v) for v in data.node_ids],
        "node_names": [str(v) for v in data.node_names],
        "num_metabolites": int(data.num_metabolites),
        "num_reactions": int(data.num_reactions),
        "source": str(data.source),
    }


def _as_tensor(value: Any, dtype: type, field: str, empty_shape: tuple[int, int]) -> torch.Tensor:
    """A nested list (or numpy array / object array of rows) as a tensor; ragged rows name the field."""
    try:
        if isinstance(value, np.ndarray) and value.dtype == object:
            value = [np.asarray(row) for row in value]  # datasets' numpy format gives an object array of rows
        array = np.asarray(value, dtype=dtype)
    except (ValueError, TypeError) as exc:
        raise MetabolicGraphError(f"graph record field {field!r}: not a rectangular numeric array ({exc})") from exc
    if array.size == 0:
        array = array.reshape(tuple(0 if d == -1 else d for d in empty_shape))
    return torch.from_numpy(np.ascontiguousarray(array))


def graph_from_dict(record: Mapping[str, Any]) -> Data:
    """The inverse of `graph_to_dict` (also accepts numpy arrays, as `datasets` returns with format numpy).

    Shapes are checked: `x [N, 64]`, `edge_index [2, E]` with node indices in [0, N), `edge_attr [E, 1]`, and
    N ids/names; a mismatch raises `MetabolicGraphError` naming the field.
    """
    missing = [key for key in ("x", "edge_index", "edge_attr") if key not in record]
    if missing:
        raise MetabolicGraphError(f"graph record lacks field(s) {missing}")
    x = _as_tensor(record["x"], np.float32, "x", (-1, NODE_FEATURE_DIM))
    if x.dim() != 2 or x.shape[1] != NODE_FEATURE_DIM:
        raise MetabolicGraphError(f"graph record field 'x': expected [N, {NODE_FEATURE_DIM}], got {list(x.shape)}")
    edge_index = _as_tensor(record["edge_index"], np.int64, "edge_index", (2, 0))
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise MetabolicGraphError(f"graph record field 'edge_index': expected [2, E], got {list(edge_index.shape)}")
    num_nodes, num_edges = x.shape[0], edge_index.shape[1]
    if num_edges and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise MetabolicGraphError(f"graph record field 'edge_index': node index outside [0, {num_nodes})")
    edge_attr = _as_tensor(record["edge_attr"], np.float32, "edge_attr", (-1, EDGE_FEATURE_DIM))
    if edge_attr.dim() != 2 or edge_attr.shape != (num_edges, EDGE_FEATURE_DIM):
        raise MetabolicGraphError(
            f"graph record field 'edge_attr': expected [{num_edges}, {EDGE_FEATURE_DIM}], got {list(edge_attr.shape)}"
        )
    data = Data(x=x, edge_index=edge_index, edge_attr=edge_attr)
    for key in ("node_ids", "node_names"):
        values = [str(v) for v in record.get(key, [""] * num_nodes)]
        if len(values) != num_nodes:
            raise MetabolicGraphError(f"graph record field {key!r}: {len(values)} values for {num_nodes} nodes")
        data[key] = values
    num_metabolites = int(record.get("num_metabolites", int(x[:, IS_METABOLITE_COLUMN].sum().item())))
    data.num_metabolites = num_metabolites
    data.num_reactions = int(record.get("num_reactions", num_nodes - num_metabolites))
    data.source = str(record.get("source", ""))
    return data


def graph_features() -> Any:
    """`datasets.Features` of a `graph_to_dict` row (ragged lists; float32 features, int64 indices)."""
    from datasets import Features, List, Value

    return Features(
        {
            "x": List(List(Value("float32"))),
            "edge_index": List(List(Value("int64"))),
            "edge_attr": List(List(Value("float32"))),
            "node_ids": List(Value("string")),
            "node_names": List(Value("string")),
            "num_metabolites": Value("int64"),
            "num_reactions": Value("int64"),
            "source": Value("string"),
        }
    )
