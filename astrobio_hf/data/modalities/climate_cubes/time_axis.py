"""The time axis reduced to the grid's steps: evenly spaced indices, block means, or a monthly climatology."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .grid import ClimateCubeError, TimeMode


def _months_of(coord: xr.DataArray, *, source: str, dim: str) -> np.ndarray:
    """Calendar month (1..12) of each time step: from decoded datetimes, or an integer 'month' axis."""
    values = coord.values
    if np.issubdtype(values.dtype, np.datetime64) or (values.dtype == object and hasattr(values.flat[0], "month")):
        return np.asarray(coord.dt.month.values, dtype=int)
    if np.issubdtype(values.dtype, np.number) and np.all((values >= 1) & (values <= 12)) and np.all(values % 1 == 0):
        return values.astype(int)
    raise ClimateCubeError(
        f"{source}: time axis {dim!r} holds neither dates nor month numbers 1-12; "
        "time_mode='monthly_climatology' is not possible"
    )


def _select_time(
    da: xr.DataArray, dim: str, n_time: int, mode: TimeMode, *, source: str, variable: str
) -> tuple[xr.DataArray, list[str]]:
    """Reduce the time axis to ``n_time`` steps; returns the reduced array (dim renamed 'time') and labels."""
    size = da.sizes[dim]
    coord = da[dim] if dim in da.coords else xr.DataArray(np.arange(size), dims=dim)
    if mode == "index":
        # Evenly spaced indices, first and last step included; fewer source steps than n_time repeat.
        idx = np.round(np.linspace(0, size - 1, n_time)).astype(int)
        out = da.isel({dim: idx})
        labels = [str(v) for v in coord.values[idx]]
    elif mode == "block_mean":
        if size < n_time:
            raise ClimateCubeError(
                f"{source}: variable {variable!r} has {size} steps on time axis {dim!r}, "
                f"fewer than the {n_time} blocks asked for (time_mode='block_mean')"
            )
        blocks = np.array_split(np.arange(size), n_time)
        out = xr.concat([da.isel({dim: b}).mean(dim) for b in blocks], dim=dim)
        labels = [f"{coord.values[b[0]]}..{coord.values[b[-1]]}" for b in blocks]
    elif mode == "monthly_climatology":
        if n_time != 12:
            raise ClimateCubeError(f"time_mode='monthly_climatology' needs grid.n_time == 12, got {n_time}")
        months = _months_of(coord, source=source, dim=dim)
        pieces = []
        for month in range(1, 13):
            idx = np.flatnonzero(months == month)
            if idx.size:
                pieces.append(da.isel({dim: idx}).mean(dim))
            else:  # a month absent from the file: an all-NaN step, visible in ClimateCube.mask
                pieces.append(xr.full_like(da.isel({dim: 0}, drop=True), np.nan, dtype=np.float64))
        out = xr.concat(pieces, dim=dim)
        labels = [f"month {m:02d}" for m in range(1, 13)]
    else:
        raise ValueError(f"unknown time_mode {mode!r}; use 'index', 'block_mean' or 'monthly_climatology'")
    out = out.drop_vars(dim, errors="ignore").rename({dim: "time"})
    return out, labels
