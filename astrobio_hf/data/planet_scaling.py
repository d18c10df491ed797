"""Standardisation of the `planet_params` vector with statistics of a training split, carried by the dataset spec.

What it is for: the stored values are log10 catalog values (see `planet_features`) with large offsets and unequal
spreads (log10 Teff: mean 3.72, standard deviation 0.09 over the 2025 catalog; log10 period: 1.26 and 0.92), which
a network learns poorly from. Training fits a mean and a standard deviation per column on its train rows only
(observed values only: a missing value is never counted) and records them in the spec's
``extra["planet_params"]["scaling"]``; `MultimodalCollator` applies them, and since the spec is saved with the
processor (``processor_config.json``), predict, the pipeline and remote-code users scale a new planet exactly as the
training rows were. A spec without scaling leaves the values as stored (datasets and checkpoints made before it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: below this spread a column is only centred (a constant column must not be blown up to huge values)
MIN_STD = 1e-6


@dataclass(frozen=True)
class PlanetParamScaling:
    """Per-column mean and standard deviation of the stored planet_params, fitted on ``rows`` rows of ``split``."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    rows: int
    split: str = "train"

    @classmethod
    def fit(cls, values: np.ndarray, observed: np.ndarray, names: Sequence[str], split: str = "train"
            ) -> PlanetParamScaling:
        """Statistics over the observed entries of each column; a column never observed keeps mean 0, std 1."""
        values = np.asarray(values, dtype=np.float64)
        observed = np.asarray(observed, dtype=bool) & np.isfinite(values)
        if values.ndim != 2 or values.shape[1] != len(names):
            raise ValueError(f"planet_params scaling: values of shape {values.shape} do not match {len(names)} "
                             f"columns {list(names)}")
        means, stds = [], []
        for j in range(values.shape[1]):
            column = values[observed[:, j], j]
            mean = float(column.mean()) if column.size else 0.0
            std = float(column.std()) if column.size > 1 else 1.0
            means.append(mean)
            stds.append(std if std > MIN_STD else 1.0)
        return cls(tuple(names), tuple(means), tuple(stds), int(values.shape[0]), split)

    def apply(self, values: np.ndarray) -> np.ndarray:
        """``(values - mean) / std`` per column; NaN (missing) stays NaN."""
        values = np.asarray(values, dtype=np.float32)
        if values.shape[-1] != len(self.names):
            raise ValueError(f"planet_params has {values.shape[-1]} columns, the scaling was fitted on "
                             f"{len(self.names)} ({list(self.names)})")
        return ((values - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"names": list(self.names), "mean": list(self.mean), "std": list(self.std), "rows": self.rows,
                "split": self.split}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "spec") -> PlanetParamScaling:
        try:
            names, mean, std = list(data["names"]), [float(v) for v in data["mean"]], [float(v) for v in data["std"]]
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{source}: planet_params scaling must hold names, mean and std lists ({error})") from error
        if not len(names) == len(mean) == len(std) or any(not s > 0 for s in std):
            raise ValueError(f"{source}: planet_params scaling needs one mean and one positive std per column, got "
                             f"{len(names)} names, {len(mean)} means, stds {std}")
        return cls(tuple(names), tuple(mean), tuple(std), int(data.get("rows", 0)), str(data.get("split", "train")))


def scaling_of(spec: Any) -> PlanetParamScaling | None:
    """The scaling recorded in a `MultimodalSpec` (None when it records none); it must name the spec's columns."""
    data = ((spec.extra or {}).get("planet_params") or {}).get("scaling")
    if not data:
        return None
    scaling = PlanetParamScaling.from_dict(data)
    if list(scaling.names) != list(spec.planet_param_names):
        raise ValueError(f"planet_params scaling names {list(scaling.names)} differ from the spec's columns "
                         f"{list(spec.planet_param_names)}")
    return scaling


def with_scaling(spec: Any, scaling: PlanetParamScaling | None) -> Any:
    """A copy of ``spec`` recording ``scaling`` (None removes it); the given spec is left as it is."""
    extra = dict(spec.extra or {})
    params = dict(extra.get("planet_params") or {})
    if scaling is None:
        params.pop("scaling", None)
    else:
        params["scaling"] = scaling.to_dict()
    extra["planet_params"] = params
    return dataclasses.replace(spec, extra=extra)


def fit_scaling(dataset: Any, spec: Any, split: str = "train") -> PlanetParamScaling:
    """Fit on the rows of a `datasets.Dataset` in the multimodal schema (``planet_params`` + its mask)."""
    table = dataset.with_format("numpy", columns=["planet_params", "planet_params_mask"])[:]
    p = len(spec.planet_param_names)
    values = np.asarray(table["planet_params"], dtype=np.float64).reshape(-1, p)
    observed = np.asarray(table["planet_params_mask"], dtype=bool).reshape(-1, p)
    return PlanetParamScaling.fit(values, observed, spec.planet_param_names, split)


__all__ = ["PlanetParamScaling", "scaling_of", "with_scaling", "fit_scaling", "MIN_STD"]
