"""Metabolic graphs joined to planets by the mapping table."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ..joins import read_mapping
from ..modalities.metabolic_graphs import load_metabolic_graph
from ..names import normalize_name
from .config import MultimodalBuildConfig, MultimodalReport


def join_graphs(config: MultimodalBuildConfig, cat: dict[str, list], report: MultimodalReport
                 ) -> dict[int, tuple[dict[str, Any], list[dict]]]:
    if config.graph_map is None:
        return {}
    planet_index = {normalize_name(p): i for i, p in enumerate(cat["pl_name"])}
    loaded: dict[Path, dict[str, Any]] = {}
    out: dict[int, tuple[dict[str, Any], list[dict]]] = {}
    skipped: Counter[str] = Counter()
    rows = read_mapping(config.graph_map)
    for row in rows:
        i = planet_index.get(row.planet_key)
        if i is None:
            skipped["mapped planet not in the selected catalog rows"] += 1
            continue
        if i in out:
            skipped["planet already has a graph (first mapping row wins)"] += 1
            continue
        if row.file not in loaded:
            graph = load_metabolic_graph(row.file)
            loaded[row.file] = {
                "graph_x": graph.x.numpy().astype(np.float32),
                "graph_edge_index": graph.edge_index.numpy().astype(np.int64),
                "graph_edge_attr": graph.edge_attr.numpy().astype(np.float32),
                "graph_id": row.file.name,
            }
        out[i] = (loaded[row.file], [{"source": "metabolic_model", "release": "", "file": row.file.name,
                                      "generated": False}])
    report.graphs = {"mapping_rows": len(rows), "models": len(loaded), "planets": len(out), "skipped": dict(skipped)}
    return out


