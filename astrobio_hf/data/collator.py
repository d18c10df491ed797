"""Batches multimodal rows into the keyword arguments of `AstroMultimodalModel.forward`, straight from Arrow.

`ArrowBatches` hands a DataLoader one Arrow slice per batch (`Dataset.with_format("arrow")[indices]`: a single take,
no per-row Python objects); the collators turn its columns into tensors through the Arrow buffers: fixed-size modality
columns reshape into `[B, ...]` arrays, graphs of the present samples become one PyG `Batch` in batch order, and the
masks say which samples have which modality. A list of row dicts (one prepared record, tests) is encoded with the
dataset's features first, so both inputs go through the same code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch.utils.data import Dataset as TorchDataset
from torch_geometric.data import Batch, Data

from .multimodal_schema import ARRAY_MODALITIES, MultimodalSpec

Rows = pa.Table | Sequence[Mapping[str, Any]] | Sequence[pa.Table]


class ArrowBatches(TorchDataset):
    """A `datasets.Dataset` served to a DataLoader as Arrow tables: `__getitems__` takes a whole batch at once."""

    def __init__(self, dataset: datasets.Dataset):
        self.dataset = dataset.with_format("arrow")
        self.column_names = dataset.column_names

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> pa.Table:
        return self.dataset[[index]]

    def __getitems__(self, indices: list[int]) -> pa.Table:
        return self.dataset[list(indices)]


def to_table(rows: Rows, spec: MultimodalSpec) -> pa.Table:
    """One Arrow table from a table, a list of one-row tables, or a list of row dicts."""
    if isinstance(rows, pa.Table):
        return rows
    rows = list(rows)
    if rows and isinstance(rows[0], pa.Table):
        return pa.concat_tables(rows)
    encoded = [spec.encode_row(row) for row in rows]
    return datasets.Dataset.from_list(encoded, features=spec.features()).with_format("arrow")[:]


def _numpy(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return array.to_numpy(zero_copy_only=False)


def fixed_modality(table: pa.Table, name: str, shape: tuple[int, ...], present: np.ndarray) -> torch.Tensor:
    """`[B, *shape]` float32 from a flattened fixed-size list column; rows not `present` are zeros."""
    column = table.column(name).combine_chunks()
    out = np.zeros((table.num_rows, int(np.prod(shape))), dtype=np.float32)
    rows = column.filter(pa.array(present))
    if rows.null_count:
        names = np.asarray(table.column("planet_name").to_pylist(), dtype=object)[present]
        missing = [str(n) for n, null in zip(names, _numpy(rows.is_null()), strict=True) if null]
        raise ValueError(f"{name}_mask is True but {name} is null for {missing}")
    out[present] = _numpy(rows.flatten()).reshape(-1, out.shape[1])  # a copy into writable memory
    return torch.from_numpy(out.reshape(table.num_rows, *shape))


def _nested(column: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A list<list<T>> column -> (outer lengths, inner lengths, values)."""
    inner = column.flatten()
    return (_numpy(pc.list_value_length(column)), _numpy(pc.list_value_length(inner)), _numpy(inner.flatten()))


def graphs_from_table(table: pa.Table, present: np.ndarray) -> Batch:
    """The graphs of the `present` rows as one PyG Batch (node features [N, F], edge_index [2, E], edge_attr [E, A])."""
    mask = pa.array(present)
    x_nodes, x_width, x_values = _nested(table.column("graph_x").combine_chunks().filter(mask))
    _, e_len, e_values = _nested(table.column("graph_edge_index").combine_chunks().filter(mask))
    a_edges, a_width, a_values = _nested(table.column("graph_edge_attr").combine_chunks().filter(mask))
    ids = table.column("graph_id").combine_chunks().filter(mask).to_pylist()
    graphs, x_at, e_at, a_at, node_row, edge_row = [], 0, 0, 0, 0, 0
    for g, n_nodes in enumerate(x_nodes):
        n_edges = int(e_len[2 * g])
        if int(e_len[2 * g + 1]) != n_edges:
            raise ValueError(f"graph {ids[g]!r}: edge_index rows have {n_edges} and {int(e_len[2 * g + 1])} entries")
        width = int(x_width[node_row]) if n_nodes else 0
        x = x_values[x_at:x_at + n_nodes * width].reshape(n_nodes, width)
        edge_index = e_values[e_at:e_at + 2 * n_edges].reshape(2, n_edges)
        # np.array copies: Arrow buffers are read-only and torch wants writable memory
        data = Data(x=torch.from_numpy(np.array(x, dtype=np.float32)),
                    edge_index=torch.from_numpy(np.array(edge_index, dtype=np.int64)),
                    num_nodes=int(n_nodes))
        n_attr = int(a_edges[g])
        if n_attr:
            attr_width = int(a_width[edge_row])
            attr = a_values[a_at:a_at + n_attr * attr_width].reshape(n_attr, attr_width)
            data.edge_attr = torch.from_numpy(np.array(attr, dtype=np.float32))
            a_at += n_attr * attr_width
            edge_row += n_attr
        x_at += n_nodes * width
        e_at += 2 * n_edges
        node_row += int(n_nodes)
        graphs.append(data)
    return Batch.from_data_list(graphs)


@dataclass
class MultimodalCollator:
    """Multimodal rows (an Arrow slice, or row dicts) -> model inputs. `return_names` adds `planet_name`."""

    spec: MultimodalSpec
    return_names: bool = False

    def __call__(self, rows: Rows) -> dict[str, Any]:
        table = to_table(rows, self.spec)
        p = len(self.spec.planet_param_names)
        out: dict[str, Any] = {
            "planet_params": torch.from_numpy(
                _numpy(table.column("planet_params").combine_chunks().flatten()).astype(np.float32).reshape(-1, p)),
            "planet_params_mask": torch.from_numpy(
                _numpy(table.column("planet_params_mask").combine_chunks().flatten()).astype(bool).reshape(-1, p)),
        }
        for name in ARRAY_MODALITIES:
            present = _numpy(table.column(f"{name}_mask")).astype(bool)
            if present.any():  # no tensor when no sample has the modality: no encoder work on zeros
                out[name] = fixed_modality(table, name, self.spec.shape(name), present)
                out[f"{name}_mask"] = torch.from_numpy(present)
        present = _numpy(table.column("graph_mask")).astype(bool)
        if present.any():
            out["graph"] = graphs_from_table(table, present)
            out["graph_mask"] = torch.from_numpy(present)
        for label in ("habitability", "hz_class"):
            out[label] = torch.from_numpy(_numpy(table.column(label)).astype(np.int64))
        if self.return_names:
            out["planet_name"] = table.column("planet_name").to_pylist()
        return out


@dataclass
class GraphCollator:
    """Rows with a metabolic graph -> `{"graph": Batch}` for the graph VAE."""

    spec: MultimodalSpec

    def __call__(self, rows: Rows) -> dict[str, Any]:
        table = to_table(rows, self.spec)
        return {"graph": graphs_from_table(table, _numpy(table.column("graph_mask")).astype(bool))}


@dataclass
class CubeCollator:
    """Rows with a climate cube -> `{"climate_cube": [B, vars, time, lev, lat, lon]}` for the datacube model."""

    spec: MultimodalSpec

    def __call__(self, rows: Rows) -> dict[str, Any]:
        table = to_table(rows, self.spec)
        present = _numpy(table.column("climate_cube_mask")).astype(bool)
        if not present.all():
            raise ValueError("CubeCollator got rows without a climate cube; filter on climate_cube_mask first")
        return {"climate_cube": fixed_modality(table, "climate_cube", self.spec.shape("climate_cube"), present)}


__all__ = ["ArrowBatches", "MultimodalCollator", "GraphCollator", "CubeCollator", "graphs_from_table", "to_table"]
