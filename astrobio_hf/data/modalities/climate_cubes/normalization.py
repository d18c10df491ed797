"""Per-variable normalisation statistics over a set of cubes: computed, saved as JSON, loaded and applied."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .grid import NORM_STATS_FILENAME, ClimateCube, ClimateCubeError


@dataclass
class NormalizationStats:
    """Per-variable mean and standard deviation over a set of cubes (finite values only)."""

    variables: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    count: np.ndarray
    units: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "astrobio_hf.climate_norm_stats",
            "version": 1,
            "variables": {
                name: {
                    "mean": float(self.mean[i]),
                    "std": float(self.std[i]),
                    "count": int(self.count[i]),
                    "units": self.units[i] if self.units else "",
                }
                for i, name in enumerate(self.variables)
            },
        }

    @classmethod
    def from_dict(cls, payload: dict[str, Any], *, source: str = "?") -> NormalizationStats:
        try:
            entries = payload["variables"]
            names = tuple(entries)
            return cls(
                variables=names,
                mean=np.array([float(entries[n]["mean"]) for n in names]),
                std=np.array([float(entries[n]["std"]) for n in names]),
                count=np.array([int(entries[n]["count"]) for n in names]),
                units=tuple(str(entries[n].get("units", "")) for n in names),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ClimateCubeError(f"{source}: not a climate normalisation stats file ({exc!r})") from exc


def compute_normalization_stats(cubes: Iterable[ClimateCube]) -> NormalizationStats:
    """Mean and std of each variable over all finite values of all cubes (streamed, float64 sums)."""
    names: tuple[str, ...] | None = None
    units: tuple[str, ...] = ()
    total = sum_x = sum_x2 = None
    shift = None  # subtract the first cube's mean: keeps the sum-of-squares formula well conditioned
    for cube in cubes:
        if names is None:
            names, units = cube.variables, cube.units
            total = np.zeros(len(names))
            sum_x = np.zeros(len(names))
            sum_x2 = np.zeros(len(names))
        elif cube.variables != names:
            raise ClimateCubeError(
                f"{cube.metadata.get('source_file', '?')}: variables {cube.variables} differ from {names}"
            )
        values = cube.data.reshape(len(names), -1).astype(np.float64)
        finite = np.isfinite(values)
        if shift is None:
            shift = np.array([values[i][finite[i]].mean() if finite[i].any() else 0.0 for i in range(len(names))])
        centred = np.where(finite, values - shift[:, None], 0.0)
        total += finite.sum(axis=1)
        sum_x += centred.sum(axis=1)
        sum_x2 += (centred**2).sum(axis=1)
    if names is None:
        raise ValueError("compute_normalization_stats needs at least one cube")
    if np.any(total == 0):
        empty = [n for n, c in zip(names, total, strict=True) if c == 0]
        raise ClimateCubeError(f"variables {empty} have no finite values in any cube")
    mean_c = sum_x / total
    var = np.maximum(sum_x2 / total - mean_c**2, 0.0)
    return NormalizationStats(
        variables=names, mean=mean_c + shift, std=np.sqrt(var), count=total.astype(np.int64), units=units
    )


def _stats_path(path: str | Path) -> Path:
    path = Path(path)
    return path / NORM_STATS_FILENAME if path.is_dir() else path


def save_normalization_stats(stats: NormalizationStats, path: str | Path) -> Path:
    """Write the stats as JSON; ``path`` is a dataset directory (file ``climate_norm_stats.json``) or a file."""
    target = _stats_path(path)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(json.dumps(stats.to_dict(), indent=2) + "\n")
    tmp.replace(target)  # atomic: a crash never leaves a half-written stats file
    return target


def load_normalization_stats(path: str | Path) -> NormalizationStats:
    """Read stats written by :func:`save_normalization_stats` (a dataset directory or the JSON file)."""
    target = _stats_path(path)
    try:
        payload = json.loads(target.read_text())
    except json.JSONDecodeError as exc:
        raise ClimateCubeError(f"{target}: invalid JSON in normalisation stats file: {exc}") from exc
    return NormalizationStats.from_dict(payload, source=str(target))


def _check_variables(cube: ClimateCube, stats: NormalizationStats) -> None:
    if cube.variables != stats.variables:
        raise ClimateCubeError(
            f"{cube.metadata.get('source_file', '?')}: cube variables {cube.variables} do not match "
            f"normalisation stats variables {stats.variables}"
        )


def apply_normalization(
    cube: ClimateCube, stats: NormalizationStats, *, fill_value: float | None = None, eps: float = 1e-12
) -> np.ndarray:
    """``(x - mean) / std`` per variable, as float32.

    Points without data (NaN, see ``ClimateCube.mask``) stay NaN, or become ``fill_value`` when given
    (0.0 = the variable's mean), which is what a model input needs; keep the mask alongside.
    """
    _check_variables(cube, stats)
    mean = stats.mean.reshape(-1, 1, 1, 1, 1)
    std = np.maximum(stats.std, eps).reshape(-1, 1, 1, 1, 1)
    out = ((cube.data.astype(np.float64) - mean) / std).astype(np.float32)
    if fill_value is not None:
        out[~np.isfinite(out)] = fill_value
    return out


def invert_normalization(normalized: np.ndarray, stats: NormalizationStats, *, eps: float = 1e-12) -> np.ndarray:
    """Undo :func:`apply_normalization` on an array ``[vars, time, lev, lat, lon]`` (float32 out)."""
    if normalized.shape[0] != len(stats.variables):
        raise ClimateCubeError(
            f"array has {normalized.shape[0]} variables, stats have {len(stats.variables)} ({stats.variables})"
        )
    mean = stats.mean.reshape(-1, 1, 1, 1, 1)
    std = np.maximum(stats.std, eps).reshape(-1, 1, 1, 1, 1)
    return (normalized.astype(np.float64) * std + mean).astype(np.float32)
