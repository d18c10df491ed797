"""The `planet_params` vector of the multimodal dataset: catalog columns -> float32 values + an observed mask.

What it is for: turning NASA Exoplanet Archive columns (pscomppars names) into model inputs of comparable scale
without fitting anything to the data (a fixed transform per column, so no statistic leaks from one split into
another). Scale quantities that span orders of magnitude (periods, distances, radii, masses, fluxes, temperatures)
are stored as log10 of the catalog value in its catalog unit; quantities that are already logarithmic or bounded
(metallicity in dex, log g, eccentricity) are stored as they are. A missing value, or a non-positive value of a
log10 column, is stored as NaN with its mask entry False (the model zeroes and flags it; it is never imputed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

Transform = Literal["log10", "identity"]

#: column -> (transform, catalog unit) for the default `planet_params` columns (DEFAULT_PLANET_PARAMS).
PARAM_TRANSFORMS: dict[str, tuple[Transform, str]] = {
    "pl_orbper": ("log10", "day"),
    "pl_orbsmax": ("log10", "AU"),
    "pl_rade": ("log10", "Earth radius"),
    "pl_bmasse": ("log10", "Earth mass (mass or M sin i, see pl_bmassprov)"),
    "pl_orbeccen": ("identity", ""),
    "pl_insol": ("log10", "Earth flux"),
    "pl_eqt": ("log10", "K"),
    "st_teff": ("log10", "K"),
    "st_rad": ("log10", "solar radius"),
    "st_mass": ("log10", "solar mass"),
    "st_met": ("identity", "dex"),
    "st_logg": ("identity", "log10(cm s-2)"),
    "sy_dist": ("log10", "pc"),
}


def transform_of(name: str, overrides: Mapping[str, Transform] | None = None) -> Transform:
    """The transform of column ``name``: an override, the documented default, else identity."""
    if overrides and name in overrides:
        value = overrides[name]
    else:
        value = PARAM_TRANSFORMS.get(name, ("identity", ""))[0]
    if value not in ("log10", "identity"):
        raise ValueError(f"planet_params transform of {name!r} must be 'log10' or 'identity', not {value!r}")
    return value


def planet_param_matrix(columns: Mapping[str, Sequence[Any]], names: Sequence[str], n_rows: int,
                        overrides: Mapping[str, Transform] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(values [n_rows, P] float32, observed [n_rows, P] bool)`` for the columns ``names``.

    ``columns`` maps catalog column names to equal-length sequences (None = missing). A name that is not a column
    raises ``KeyError`` naming it (a typo in ``planet_param_names`` must not silently give an all-missing column).
    """
    values = np.full((n_rows, len(names)), np.nan, dtype=np.float64)
    for j, name in enumerate(names):
        if name not in columns:
            raise KeyError(f"planet_params column {name!r} is not in the catalog (columns: {sorted(columns)})")
        raw = np.array([np.nan if v is None else float(v) for v in columns[name]], dtype=np.float64)
        if transform_of(name, overrides) == "log10":
            with np.errstate(divide="ignore", invalid="ignore"):
                raw = np.where(raw > 0, np.log10(np.where(raw > 0, raw, 1.0)), np.nan)
        values[:, j] = raw
    observed = np.isfinite(values)
    return values.astype(np.float32), observed


def describe_transforms(names: Sequence[str], overrides: Mapping[str, Transform] | None = None) -> list[dict[str, str]]:
    """``[{"name", "transform", "unit"}]`` for the spec's metadata (how to read the vector back)."""
    return [{"name": n, "transform": transform_of(n, overrides), "unit": PARAM_TRANSFORMS.get(n, ("", ""))[1]}
            for n in names]


__all__ = ["PARAM_TRANSFORMS", "planet_param_matrix", "describe_transforms", "transform_of"]
