"""Light curves joined from a searched light-curve store instead of FITS files.

A store (written by ``python -m astrobio_hf.demo.mission_light_curves``, see docs/light_curves.md) holds one row per
transiting planet: the transit search's results and the light curve folded at the period the search FOUND, never at
the catalog's. Joining it gives each planet its folded view (rebinned to the spec's light-curve length) and the search
features of :mod:`..modalities.transit_features`. Only the store's model columns are read; its evaluation-only
``truth_*`` columns never reach a row. Because nothing here reads a catalog orbit column, the same rows serve every
protocol, ``withheld-orbit`` included.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ..modalities.transit_features import LIGHT_CURVE_FEATURES, encode_features, transit_feature_values
from ..names import normalize_name
from .config import MultimodalBuildConfig, MultimodalBuildError, MultimodalReport
from .light_curve_join import LIGHT_CURVE_SOURCE

PARQUET_NAME = "mission_light_curves.parquet"
MANIFEST_NAME = "mission_light_curves.json"
#: what the join reads: identity, the search's results and the fold (the model columns of the store)
READ_COLUMNS = ("pl_name", "mission", "generated", "search_found", "search_period", "search_duration", "search_depth",
                "search_depth_snr", "folded_flux", "folded_valid")


def read_store(path: str | Path) -> tuple[dict[str, list], dict]:
    """The store's model columns (lists) and its manifest; a clear error when the folder is not a whole store."""
    folder = Path(path)
    table_path, manifest_path = folder / PARQUET_NAME, folder / MANIFEST_NAME
    if not table_path.is_file() or not manifest_path.is_file():
        raise MultimodalBuildError(f"{folder} is not a light-curve store: {PARQUET_NAME} and {MANIFEST_NAME} are "
                                   "expected (write one with `python -m astrobio_hf.demo.mission_light_curves`)")
    schema = pq.read_schema(table_path)
    missing = [c for c in READ_COLUMNS if c not in schema.names]
    if missing:
        raise MultimodalBuildError(f"{table_path}: no {missing} columns; write the store again")
    columns = pq.read_table(table_path, columns=list(READ_COLUMNS)).to_pydict()
    return columns, json.loads(manifest_path.read_text())


def rebin_fold(flux: np.ndarray, valid: np.ndarray, length: int, where: str) -> np.ndarray:
    """A stored fold `[2, n]` (flux, valid weight) averaged down to ``length`` bins (n a multiple of length)."""
    flux, valid = np.asarray(flux, np.float64), np.asarray(valid, np.float64)
    n = flux.size
    if valid.size != n or n % length:
        raise MultimodalBuildError(f"{where}: a fold of {n} bins (valid {valid.size}) cannot be binned to the spec's "
                                   f"light_curve_length {length}: it must divide the store's bins")
    group = n // length
    weight = valid.reshape(length, group)
    total = weight.sum(axis=1)
    mean = np.divide((flux.reshape(length, group) * weight).sum(axis=1), total, out=np.zeros(length),
                     where=total > 0)
    return np.stack([mean, total / group]).astype(np.float32)


def join_light_curve_store(config: MultimodalBuildConfig, cat: dict[str, list], report: MultimodalReport
                           ) -> dict[int, tuple[np.ndarray, np.ndarray, list[dict]]]:
    """Planet index -> (fold `[2, L]`, search features `[K]`, provenance entries)."""
    columns, manifest = read_store(config.light_curve_store)
    by_planet = {normalize_name(name): j for j, name in enumerate(columns["pl_name"])}
    length = config.resolved_light_curve_length()
    seed = manifest.get("seed")
    out: dict[int, tuple[np.ndarray, np.ndarray, list[dict]]] = {}
    found = 0
    for i, name in enumerate(cat["pl_name"]):
        j = by_planet.get(normalize_name(name))
        if j is None:
            continue
        where = f"{Path(config.light_curve_store) / PARQUET_NAME} row {j} ({name})"
        array = rebin_fold(columns["folded_flux"][j], columns["folded_valid"][j], length, where)
        values = transit_feature_values(
            found=bool(columns["search_found"][j]), period=columns["search_period"][j],
            duration=columns["search_duration"][j], depth=columns["search_depth"][j],
            snr=columns["search_depth_snr"][j], st_mass=cat["st_mass"][i], st_rad=cat["st_rad"][i],
            st_teff=cat["st_teff"][i])
        found += bool(columns["search_found"][j])
        mission = columns["mission"][j]
        prov = [{"source": LIGHT_CURVE_SOURCE.get(mission, "light_curve"),
                 "release": f"{mission} light curve generated from the catalog values (seed {seed}), searched with BLS",
                 "file": PARQUET_NAME, "generated": bool(columns["generated"][j])}]
        out[i] = (array, encode_features(values), prov)
    report.light_curves = {"store": str(Path(config.light_curve_store).name), "store_planets": len(by_planet),
                           "planets": len(out), "search_found": found, "phase_folded": found,
                           "folded_at": "the period the transit search found (never the catalog's)",
                           "store_manifest": {k: manifest.get(k) for k in ("seed", "n_bins", "code_version",
                                                                            "catalog")}}
    return out


def store_planet_names(path: str | Path) -> list[str]:
    """Every planet name of a store (to restrict a build to the planets it covers)."""
    columns, _ = read_store(path)
    return list(columns["pl_name"])


__all__ = ["join_light_curve_store", "read_store", "rebin_fold", "store_planet_names", "LIGHT_CURVE_FEATURES"]
