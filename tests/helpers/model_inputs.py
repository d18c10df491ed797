"""Deterministic, structured model inputs for unit tests (test fixtures, not data: real data lives in tests/real_data).

Values are smooth analytic shapes (a transit dip, an absorption band, a lapse-rate temperature profile) and a small
metabolic-style bipartite graph with real element counts, so the models see inputs with the right structure.
"""

from __future__ import annotations

import math

import torch
from torch_geometric.data import Batch, Data

from astrobio_hf.data.graph_schema import (
    CHARGE_COLUMN,
    ELEMENT_COLUMNS,
    IS_METABOLITE_COLUMN,
    IS_REACTION_COLUMN,
    NODE_FEATURE_DIM,
)
from astrobio_hf.models.multimodal import MODALITIES, AstroMultimodalConfig

# glucose + ATP -> glucose-6-phosphate + ADP (hexokinase), with formulas C6H12O6, C10H12N5O13P3 (ATP4-),
# C6H11O9P (G6P2-), C10H12N5O10P2 (ADP3-), plus H+: a balanced reaction used to build test graphs.
_METABOLITES = {
    "glc": ((6, 12, 0, 6, 0, 0), 0),
    "atp": ((10, 12, 5, 13, 3, 0), -4),
    "g6p": ((6, 11, 0, 9, 1, 0), -2),
    "adp": ((10, 12, 5, 10, 2, 0), -3),
    "h": ((0, 1, 0, 0, 0, 0), 1),
}


def hexokinase_graph(copies: int = 1) -> Data:
    """A bipartite metabolite/reaction graph made of `copies` hexokinase reactions (5 + 1 nodes each)."""
    xs, edges, stoich = [], [], []
    for c in range(copies):
        base = c * 6
        for elements, charge in _METABOLITES.values():
            x = torch.zeros(NODE_FEATURE_DIM)
            x[list(ELEMENT_COLUMNS)] = torch.tensor(elements, dtype=torch.float32)
            x[CHARGE_COLUMN] = charge
            x[IS_METABOLITE_COLUMN] = 1
            xs.append(x)
        reaction = torch.zeros(NODE_FEATURE_DIM)
        reaction[IS_REACTION_COLUMN] = 1
        xs.append(reaction)
        r = base + 5
        for i in (0, 1):
            edges.append((base + i, r))
            stoich.append(1.0)
        for i in (2, 3, 4):
            edges.append((r, base + i))
            stoich.append(1.0)
    edge_index = torch.tensor(edges, dtype=torch.long).T
    return Data(x=torch.stack(xs), edge_index=edge_index, edge_attr=torch.tensor(stoich).unsqueeze(-1))


def multimodal_inputs(config: AstroMultimodalConfig, batch_size: int, modalities: tuple[str, ...] = MODALITIES,
                      labels: bool = True) -> dict:
    """A batch in the collator's format with exactly `modalities` present for every sample."""
    b = torch.arange(batch_size, dtype=torch.float32).unsqueeze(-1)
    inputs: dict = {}
    if "planet_params" in modalities:
        p = config.num_planet_params
        inputs["planet_params"] = torch.linspace(-1, 1, p).expand(batch_size, p) * (1 + 0.1 * b)
        inputs["planet_params_mask"] = torch.ones(batch_size, p, dtype=torch.bool)
    else:
        inputs["planet_params_mask"] = torch.zeros(batch_size, config.num_planet_params, dtype=torch.bool)
        inputs["planet_params"] = torch.zeros(batch_size, config.num_planet_params)
    grid = torch.linspace(0, 1, config.spectrum_length)
    band = 1 - 0.2 * torch.exp(-((grid - 0.3 - 0.05 * b) / 0.05) ** 2)  # an absorption band per sample
    spectrum = torch.stack([band, 0.01 * torch.ones_like(band), torch.ones_like(band)], dim=1)
    inputs["spectrum"] = spectrum[:, : config.spectrum_channels]
    inputs["spectrum_mask"] = torch.full((batch_size,), "spectrum" in modalities)
    phase = torch.linspace(-0.5, 0.5, config.light_curve_length)
    flux = 1 - 0.01 * (1 + b) * (phase.abs() < 0.05)  # a box-shaped transit of growing depth
    inputs["light_curve"] = torch.stack([flux, torch.ones_like(flux)], dim=1)[:, : config.light_curve_channels]
    inputs["light_curve_mask"] = torch.full((batch_size,), "light_curve" in modalities)
    if "climate_cube" in modalities:
        inputs["climate_cube"] = lapse_rate_cubes(config.datacube_config, batch_size)
        inputs["climate_cube_mask"] = torch.ones(batch_size, dtype=torch.bool)
    if "graph" in modalities:
        inputs["graph"] = Batch.from_data_list([hexokinase_graph(1 + i % 3) for i in range(batch_size)])
        inputs["graph_mask"] = torch.ones(batch_size, dtype=torch.bool)
    if labels:
        inputs["habitability"] = torch.arange(batch_size) % 2
        inputs["hz_class"] = torch.arange(batch_size) % config.num_hz_classes
    return inputs


def lapse_rate_cubes(datacube_config, batch_size: int) -> torch.Tensor:
    """Normalised cubes whose temperature follows a dry-adiabat-like profile, warmer at the equator."""
    cfg = datacube_config
    v, t, z, y, x = cfg.grid_shape
    levels = torch.tensor(cfg.pressure_levels)
    lat = torch.linspace(-math.pi / 2, math.pi / 2, y)
    surface = 288.0 - 40.0 * torch.sin(lat) ** 2
    temperature = surface.view(1, y, 1) * (levels.view(z, 1, 1) / 1000.0) ** (2 / 7)
    cube = torch.zeros(batch_size, v, t, z, y, x)
    mean, std = torch.tensor(cfg.normalization_mean), torch.tensor(cfg.normalization_std)
    temperature_index = list(cfg.variable_names).index(cfg.temperature_variable)
    for var in range(v):
        is_temperature = var == temperature_index
        field = temperature if is_temperature else 0.5 * torch.cos(lat).view(1, y, 1).expand(z, y, 1)
        field = field.unsqueeze(0).expand(t, z, y, x)
        physical = field if is_temperature else mean[var] + std[var] * (1 + field)
        cube[:, var] = (physical - mean[var]) / std[var]
    return cube + 0.01 * torch.arange(batch_size).view(-1, 1, 1, 1, 1, 1)
