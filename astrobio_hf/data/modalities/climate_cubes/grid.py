"""The cube grid, the cube record and the cube error shared by the reader and the statistics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import xarray as xr

AXIS_ORDER: tuple[str, ...] = ("time", "lev", "lat", "lon")
NORM_STATS_FILENAME = "climate_norm_stats.json"

TimeMode = Literal["index", "block_mean", "monthly_climatology"]
LevelPolicy = Literal["error", "broadcast"]
Extrapolation = Literal["nan", "clamp"]


class ClimateCubeError(ValueError):
    """A climate file or variable that cannot be turned into a cube; the message names file and field."""


# --------------------------------------------------------------------------------------------------
# Target grid and output container
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CubeGrid:
    """The target grid every cube is regridded to: time steps, pressure levels (hPa), lat and lon (deg)."""

    n_time: int
    levels_hpa: tuple[float, ...]
    lat: tuple[float, ...]
    lon: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.n_time < 1:
            raise ValueError(f"CubeGrid.n_time must be >= 1, got {self.n_time}")
        for name in ("levels_hpa", "lat", "lon"):
            values = tuple(float(v) for v in getattr(self, name))
            if not values:
                raise ValueError(f"CubeGrid.{name} must not be empty")
            object.__setattr__(self, name, values)
        if any(p <= 0 for p in self.levels_hpa):
            raise ValueError(f"CubeGrid.levels_hpa must be positive pressures in hPa, got {self.levels_hpa}")
        if any(abs(v) > 90 for v in self.lat):
            raise ValueError(f"CubeGrid.lat must lie in [-90, 90], got {self.lat}")

    @classmethod
    def regular(
        cls,
        n_time: int = 12,
        levels_hpa: Sequence[float] = (1000.0, 850.0, 500.0, 250.0, 100.0),
        n_lat: int = 32,
        n_lon: int = 64,
    ) -> CubeGrid:
        """A global grid of cell centres: ``n_lat`` bands from pole to pole, ``n_lon`` columns from 0 deg E."""
        dlat = 180.0 / n_lat
        lat = -90.0 + dlat * (np.arange(n_lat) + 0.5)
        lon = np.arange(n_lon) * (360.0 / n_lon)
        return cls(n_time=n_time, levels_hpa=tuple(levels_hpa), lat=tuple(lat), lon=tuple(lon))

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(time, lev, lat, lon)`` sizes."""
        return (self.n_time, len(self.levels_hpa), len(self.lat), len(self.lon))


@dataclass
class ClimateCube:
    """A float32 cube ``data[vars, time, lev, lat, lon]`` with its coordinates and provenance metadata.

    ``metadata["generated"]`` is False for cubes read from model output and True for cubes made by
    :mod:`astrobio_hf.data.modalities.climate_generator`.
    """

    data: np.ndarray
    variables: tuple[str, ...]
    units: tuple[str, ...]
    time: np.ndarray
    lev_hpa: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        expected = (len(self.variables), len(self.time), len(self.lev_hpa), len(self.lat), len(self.lon))
        if self.data.shape != expected:
            raise ValueError(f"cube data shape {self.data.shape} does not match coordinates {expected}")
        if self.data.dtype != np.float32:
            raise ValueError(f"cube data must be float32, got {self.data.dtype}")

    @property
    def mask(self) -> np.ndarray:
        """True where the cube holds a value (False where the target grid lies outside the source)."""
        return np.isfinite(self.data)

    def to_xarray(self) -> xr.DataArray:
        """The cube as a labelled DataArray (dims ``var, time, lev, lat, lon``)."""
        return xr.DataArray(
            self.data,
            dims=("var", *AXIS_ORDER),
            coords={
                "var": list(self.variables),
                "time": self.time,
                "lev": ("lev", self.lev_hpa, {"units": "hPa", "positive": "down"}),
                "lat": ("lat", self.lat, {"units": "degrees_north"}),
                "lon": ("lon", self.lon, {"units": "degrees_east"}),
            },
            attrs={k: v for k, v in self.metadata.items() if isinstance(v, (str, int, float, bool))},
        )
