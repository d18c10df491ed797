"""Interpolation onto the grid: log-pressure in the vertical, periodic longitude and latitude in the horizontal."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .axes import pressure_to_hpa
from .grid import ClimateCubeError, CubeGrid, Extrapolation


def _interp_axis(
    da: xr.DataArray, dim: str, source_coord: np.ndarray, target: np.ndarray, extrapolation: Extrapolation
) -> xr.DataArray:
    """Linear interpolation of ``da`` along ``dim`` (source coordinate ascending) onto ``target`` values.

    Written with explicit neighbour weights rather than ``DataArray.interp``: scipy's interpolators turn a single
    missing value (e.g. a below-ground level) into NaN across the whole output, while here a missing value only
    affects the targets that really lie next to it, and a target on a source point takes that point's value.
    """
    if extrapolation == "clamp":
        target = np.clip(target, source_coord[0], source_coord[-1])
    target = np.asarray(target, dtype=np.float64)
    outside = (target < source_coord[0] - 1e-9) | (target > source_coord[-1] + 1e-9)
    if source_coord.size == 1:
        # One source point: linear interpolation is undefined; the value holds only at that point.
        hit = np.isclose(target, source_coord[0], rtol=0.0, atol=1e-6) | (extrapolation == "clamp")
        out = da.isel({dim: np.zeros(target.size, dtype=int)})
        return out.where(xr.DataArray(hit, dims=dim)).drop_vars(dim, errors="ignore")
    upper = np.clip(np.searchsorted(source_coord, target, side="left"), 1, source_coord.size - 1)
    lower = upper - 1
    weight = (target - source_coord[lower]) / (source_coord[upper] - source_coord[lower])
    weight = np.where(np.isclose(weight, 0.0, atol=1e-9), 0.0, np.where(np.isclose(weight, 1.0, atol=1e-9), 1.0,
                                                                        weight))
    below = da.isel({dim: lower}).drop_vars(dim, errors="ignore")
    above = da.isel({dim: upper}).drop_vars(dim, errors="ignore")
    w = xr.DataArray(weight, dims=dim)
    mixed = below * (1.0 - w) + above * w
    out = xr.where(w == 0.0, below, xr.where(w == 1.0, above, mixed))
    return out.where(xr.DataArray(~outside, dims=dim))


def _prepare_longitudes(source_lon: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Put source longitudes in one contiguous increasing frame ``[lon0, lon0 + 360)``.

    Returns (order, frame_lon, lon0, is_global). A grid whose wrap-around gap is no wider than its
    usual spacing is global: its frame starts at the smallest longitude in [0, 360) and it gets
    periodic padding. A regional grid's frame starts after the largest gap between neighbouring
    longitudes, so a region that crosses 0 E stays contiguous.
    """
    lon = np.mod(np.asarray(source_lon, dtype=np.float64), 360.0)
    order = np.argsort(lon, kind="stable")
    ordered = lon[order]
    if ordered.size == 1:
        return order, ordered, float(ordered[0]), False
    gaps = np.diff(np.concatenate([ordered, ordered[:1] + 360.0]))  # gaps[-1]: the wrap-around gap
    is_global = bool(ordered.size >= 3 and gaps[-1] <= 1.5 * np.median(gaps[:-1]) + 1e-9)
    if not is_global:
        order = np.roll(order, -((int(np.argmax(gaps)) + 1) % ordered.size))
    lon0 = float(lon[order[0]])
    frame = lon0 + np.mod(lon[order] - lon0, 360.0)
    return order, frame, lon0, is_global


def _regrid_horizontal(
    da: xr.DataArray, lat_dim: str, lon_dim: str, grid: CubeGrid, extrapolation: Extrapolation, *, source: str,
    variable: str,
) -> xr.DataArray:
    """Linear regridding in latitude and longitude; periodic in longitude for global source grids."""
    lat = np.asarray(da[lat_dim].values, dtype=np.float64) if lat_dim in da.coords else None
    lon = np.asarray(da[lon_dim].values, dtype=np.float64) if lon_dim in da.coords else None
    if lat is None or lon is None:
        raise ClimateCubeError(f"{source}: variable {variable!r} has lat/lon dimensions without coordinate values")
    if np.any(np.abs(lat) > 90.0 + 1e-6):
        raise ClimateCubeError(f"{source}: latitude axis {lat_dim!r} of {variable!r} has values outside [-90, 90]")

    lat_order = np.argsort(lat, kind="stable")
    da = da.isel({lat_dim: lat_order})
    da = _interp_axis(da, lat_dim, lat[lat_order], np.asarray(grid.lat), extrapolation).rename({lat_dim: "lat"})

    order, frame, lon0, is_global = _prepare_longitudes(lon)
    da = da.isel({lon_dim: order})
    if is_global:
        # Periodic wrap: repeat the last column one period to the west and the first one to the east.
        da = xr.concat([da.isel({lon_dim: [-1]}), da, da.isel({lon_dim: [0]})], dim=lon_dim)
        frame = np.concatenate([frame[-1:] - 360.0, frame, frame[:1] + 360.0])
    target = lon0 + np.mod(np.asarray(grid.lon) - lon0, 360.0)
    da = _interp_axis(da, lon_dim, frame, target, extrapolation).rename({lon_dim: "lon"})
    return da


def _regrid_vertical(
    da: xr.DataArray, lev_dim: str, units: str | None, grid: CubeGrid, extrapolation: Extrapolation, *,
    source: str,
) -> xr.DataArray:
    """Linear interpolation in log-pressure onto ``grid.levels_hpa``."""
    p_hpa = pressure_to_hpa(da[lev_dim].values, units, source=source, dim=lev_dim)
    if np.any(p_hpa <= 0):
        raise ClimateCubeError(f"{source}: vertical axis {lev_dim!r} has non-positive pressures {p_hpa}")
    log_p = np.log(p_hpa)
    order = np.argsort(log_p, kind="stable")
    da = da.isel({lev_dim: order})
    target = np.log(np.asarray(grid.levels_hpa, dtype=np.float64))
    return _interp_axis(da, lev_dim, log_p[order], target, extrapolation).rename({lev_dim: "lev"})
