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
from torch_geometric.data import Batch

from .multimodal_schema import ARRAY_MODALITIES, LABEL_COLUMNS, MultimodalSpec
from .planet_scaling import PlanetParamScaling, scaling_of

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
    """The graphs of the `present` rows as one PyG Batch (node features [N, F], edge_index [2, E], edge_attr [E, A]).

    Built column-wise from the Arrow buffers: node features of all graphs are one reshape, edge indices are shifted
    by each graph's node offset in one vectorised gather. The result is the Batch `Batch.from_data_list` would give
    for the per-graph `Data` objects (same tensors, `batch`, `ptr`, and the slice/increment tables that
    `to_data_list()` / `get_example()` read); PyG has no constructor from flat columns, and building one `Data` per
    graph first cost about half of the collator's time.
    """
    mask = pa.array(present)
    x_nodes, x_width, x_values = _nested(table.column("graph_x").combine_chunks().filter(mask))
    _, e_len, e_values = _nested(table.column("graph_edge_index").combine_chunks().filter(mask))
    a_edges, a_width, a_values = _nested(table.column("graph_edge_attr").combine_chunks().filter(mask))
    num_graphs = len(x_nodes)

    def graph_id(g: int) -> str:
        return repr(table.column("graph_id").combine_chunks().filter(mask)[g].as_py())

    n_edges = e_len[0::2].astype(np.int64)
    if (bad := np.flatnonzero(e_len[1::2] != n_edges)).size:
        g = int(bad[0])
        raise ValueError(f"graph {graph_id(g)}: edge_index rows have {n_edges[g]} and {int(e_len[2 * g + 1])} entries")
    x_nodes = x_nodes.astype(np.int64)
    width = int(x_width[0]) if x_width.size else 0
    if (bad := np.flatnonzero(x_width != width)).size:
        g = int(np.searchsorted(np.cumsum(x_nodes), bad[0], side="right"))
        raise ValueError(f"graph {graph_id(g)}: node feature rows have {int(x_width[bad[0]])} values, expected {width}")
    node_ptr = np.concatenate([[0], np.cumsum(x_nodes)])
    x = torch.from_numpy(x_values.astype(np.float32).reshape(int(node_ptr[-1]), width))  # astype: writable copy

    edge_ptr = np.concatenate([[0], np.cumsum(n_edges)])
    # Row g of graph_edge_index is [sources (n_g), targets (n_g)] at value offset 2 * edge_ptr[g].
    edge_graph = np.repeat(np.arange(num_graphs), n_edges)
    within = np.arange(edge_ptr[-1]) - edge_ptr[edge_graph]
    sources = e_values[2 * edge_ptr[edge_graph] + within]
    targets = e_values[2 * edge_ptr[edge_graph] + n_edges[edge_graph] + within]
    edge_index = np.stack([sources, targets]).astype(np.int64) + node_ptr[edge_graph]

    batch = Batch(x=x, edge_index=torch.from_numpy(edge_index),
                  batch=torch.from_numpy(np.repeat(np.arange(num_graphs), x_nodes)),
                  ptr=torch.from_numpy(node_ptr))
    slices = {"x": torch.from_numpy(node_ptr), "edge_index": torch.from_numpy(edge_ptr)}
    increments = {"x": torch.zeros(num_graphs, dtype=torch.long),
                  "edge_index": torch.from_numpy(node_ptr[:-1].copy())}
    if a_edges.any():
        if (bad := np.flatnonzero(a_edges != n_edges)).size:
            g = int(bad[0])
            raise ValueError(f"graph {graph_id(g)}: {int(a_edges[g])} edge_attr rows for {n_edges[g]} edges")
        attr_width = int(a_width[0])
        if (a_width != attr_width).any():
            raise ValueError(f"graph_edge_attr rows have {sorted(set(a_width.tolist()))} values; one width expected")
        batch.edge_attr = torch.from_numpy(a_values.astype(np.float32).reshape(int(edge_ptr[-1]), attr_width))
        slices["edge_attr"] = slices["edge_index"]
        increments["edge_attr"] = increments["x"]
    # The bookkeeping `Batch.from_data_list` leaves for to_data_list() / get_example() / index_select().
    batch._num_graphs = num_graphs
    batch._slice_dict = slices
    batch._inc_dict = increments
    return batch


@dataclass
class MultimodalCollator:
    """Multimodal rows (an Arrow slice, or row dicts) -> model inputs. `return_names` adds `planet_name`.

    planet_params are standardised with the scaling the spec records (`planet_scaling`), if any."""

    spec: MultimodalSpec
    return_names: bool = False

    def __post_init__(self) -> None:
        self.scaling: PlanetParamScaling | None = scaling_of(self.spec)

    def __call__(self, rows: Rows) -> dict[str, Any]:
        table = to_table(rows, self.spec)
        p = len(self.spec.planet_param_names)
        values = _numpy(table.column("planet_params").combine_chunks().flatten()).astype(np.float32).reshape(-1, p)
        out: dict[str, Any] = {
            "planet_params": torch.from_numpy(values if self.scaling is None else self.scaling.apply(values)),
            "planet_params_mask": torch.from_numpy(
                _numpy(table.column("planet_params_mask").combine_chunks().flatten()).astype(bool).reshape(-1, p)),
        }
        for name in ARRAY_MODALITIES:
            present = _numpy(table.column(f"{name}_mask")).astype(bool)
            if present.any():  # no tensor when no sample has the modality: no encoder work on zeros
                out[name] = fixed_modality(table, name, self.spec.shape(name), present)
                out[f"{name}_mask"] = torch.from_numpy(present)
        search = self.spec.light_curve_feature_names
        if search and "light_curve_mask" in out:  # the light curve's search features, NaN where not found
            out["light_curve_features"] = fixed_modality(table, "light_curve_features", (len(search),),
                                                         out["light_curve_mask"].numpy())
        present = _numpy(table.column("graph_mask")).astype(bool)
        if present.any():
            out["graph"] = graphs_from_table(table, present)
            out["graph_mask"] = torch.from_numpy(present)
        for label in LABEL_COLUMNS:
            if label in table.column_names:  # rows a user hands to predict carry no "rocky"
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
