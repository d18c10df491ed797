"""Climate cubes: CF NetCDF climate-model output -> float32 ``[vars, time, lev, lat, lon]`` arrays.

What this module is for: turning GCM / reanalysis NetCDF files (CMIP, GFS, ERA, ROCKE-3D, ExoCAM ...)
into fixed-shape cubes on one configurable grid, so that cubes from different models can be batched.

Pipeline for each requested variable (see ``docs/modalities.md``, "Climate cubes"):

1. Open with xarray's ``netcdf4`` engine (NETCDF4/HDF5 and NETCDF3 classic files). xarray applies CF
   decoding, so int16 data packed with ``scale_factor``/``add_offset`` arrive as floats.
2. Identify the variable's axes from CF metadata (``axis``, ``standard_name``, ``units``, ``positive``,
   Unidata ``_CoordinateAxisType``) and only then from conventional names (plev/lev/level/isobaric*,
   lat/latitude, lon/longitude, time/month). Pressure levels are converted to hPa with astropy units.
3. Time: reduce to ``grid.n_time`` steps (``time_mode``: evenly spaced indices, contiguous block means,
   or a 12-month climatology). Variables with no time axis are broadcast (static fields).
4. Vertical: linear interpolation in log-pressure onto ``grid.levels_hpa``. Variables with no vertical
   axis are rejected by default (``no_level_axis="error"``) or broadcast to every level
   (``no_level_axis="broadcast"``, e.g. for surface fields).
5. Horizontal: linear interpolation (explicit neighbour weights, see ``_interp_axis``) in latitude and longitude; a global longitude
   axis is padded with wrapped columns, so interpolation across the 0/360 (or -180/180) seam is periodic.
   Target points outside the source domain get NaN (``extrapolation="nan"``, see ``ClimateCube.mask``)
   or the nearest edge value (``extrapolation="clamp"``).

Normalisation statistics (per-variable mean and standard deviation over a set of cubes) are computed,
saved as JSON next to a dataset (``climate_norm_stats.json``), loaded and applied by the functions at
the end of this module.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import astropy.units as u
import numpy as np
import xarray as xr
from xarray import SerializationWarning

from ..physical_ranges import rule
from .climate_units import check_climate_range, to_declared_unit

__all__ = [
    "AXIS_ORDER",
    "NORM_STATS_FILENAME",
    "ClimateCube",
    "ClimateCubeError",
    "CubeGrid",
    "NormalizationStats",
    "apply_normalization",
    "compute_normalization_stats",
    "identify_axes",
    "invert_normalization",
    "load_climate_cube",
    "load_normalization_stats",
    "pressure_to_hpa",
    "save_normalization_stats",
]

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


# --------------------------------------------------------------------------------------------------
# Axis identification from CF metadata
# --------------------------------------------------------------------------------------------------

_LAT_UNITS = {"degrees_north", "degree_north", "degree_n", "degrees_n", "degreen", "degreesn"}
_LON_UNITS = {"degrees_east", "degree_east", "degree_e", "degrees_e", "degreee", "degreese"}
_VERTICAL_STANDARD_NAMES = {
    "air_pressure",
    "altitude",
    "height",
    "depth",
    "model_level_number",
    "atmosphere_sigma_coordinate",
    "atmosphere_hybrid_sigma_pressure_coordinate",
    "atmosphere_hybrid_height_coordinate",
}
_AXIS_TYPE_ROLES = {"lat": "lat", "lon": "lon", "time": "time", "pressure": "lev", "height": "lev", "geoz": "lev"}
_VERTICAL_NAME = re.compile(r"^(plev|lev|level|levels|pressure|pres|isobaric\d*|pfull|air_pressure)$")
_NAME_ROLES = {"lat": "lat", "latitude": "lat", "lon": "lon", "longitude": "lon", "time": "time", "month": "time"}

# Unit spellings seen in climate files that astropy does not parse directly.
_PRESSURE_UNIT_ALIASES = {
    "pa": "Pa",
    "pascal": "Pa",
    "pascals": "Pa",
    "hpa": "hPa",
    "hectopascal": "hPa",
    "hectopascals": "hPa",
    "kpa": "kPa",
    "mb": "mbar",
    "mbar": "mbar",
    "mbars": "mbar",
    "millibar": "mbar",
    "millibars": "mbar",
    "bar": "bar",
    "bars": "bar",
}


def _pressure_unit(units: str | None) -> u.UnitBase | None:
    """The astropy unit for a pressure unit string, or None if it is not a pressure."""
    if not units:
        return None
    text = units.strip()
    alias = _PRESSURE_UNIT_ALIASES.get(text.lower())
    try:
        unit = u.Unit(alias or text)
    except ValueError:
        return None
    return unit if unit.is_equivalent(u.Pa) else None


def pressure_to_hpa(values: np.ndarray, units: str | None, *, source: str = "?", dim: str = "?") -> np.ndarray:
    """Convert pressure-level values to hPa; ``units`` as written in the file (Pa, hPa, millibars, bar ...)."""
    unit = _pressure_unit(units)
    if unit is None:
        raise ClimateCubeError(
            f"{source}: vertical axis {dim!r} has units {units!r}, which is not a pressure unit; "
            "only pressure levels (Pa, hPa, millibars, bar) can be regridded"
        )
    return u.Quantity(np.asarray(values, dtype=np.float64), unit).to_value(u.hPa)


def _coord_attrs(ds: xr.Dataset, dim: str) -> dict[str, Any]:
    """Attributes of a dimension's coordinate, including those xarray moved to ``encoding`` when decoding."""
    if dim not in ds.variables:
        return {}
    var = ds.variables[dim]
    attrs = dict(var.encoding)
    attrs.update(var.attrs)
    return attrs


def _role_of_dim(ds: xr.Dataset, dim: str) -> str | None:
    """Which axis ('time', 'lev', 'lat', 'lon') a dimension is, from CF metadata first, names last."""
    attrs = _coord_attrs(ds, dim)
    axis = str(attrs.get("axis", "")).upper()
    if axis in {"X", "Y", "Z", "T"}:
        return {"X": "lon", "Y": "lat", "Z": "lev", "T": "time"}[axis]
    standard_name = str(attrs.get("standard_name", "")).lower()
    if standard_name in {"latitude", "longitude", "time"}:
        return {"latitude": "lat", "longitude": "lon", "time": "time"}[standard_name]
    if standard_name in _VERTICAL_STANDARD_NAMES:
        return "lev"
    axis_type = str(attrs.get("_CoordinateAxisType", "")).lower()
    if axis_type in _AXIS_TYPE_ROLES:
        return _AXIS_TYPE_ROLES[axis_type]
    units = str(attrs.get("units", "")).strip()
    if units.lower() in _LAT_UNITS:
        return "lat"
    if units.lower() in _LON_UNITS:
        return "lon"
    if " since " in units.lower() or (dim in ds.variables and np.issubdtype(ds[dim].dtype, np.datetime64)):
        return "time"
    if _pressure_unit(units) is not None or str(attrs.get("positive", "")).lower() in {"up", "down"}:
        return "lev"
    name = dim.lower()
    if name in _NAME_ROLES:
        return _NAME_ROLES[name]
    if _VERTICAL_NAME.match(name):
        return "lev"
    return None


def identify_axes(ds: xr.Dataset, variable: str, *, source: str = "?") -> dict[str, str]:
    """Map each axis role ('time', 'lev', 'lat', 'lon') to the dimension of ``ds[variable]`` that plays it.

    Dimensions of size 1 that are not one of the four axes (a single height level, a singleton
    ensemble member) are left out and squeezed by the caller. A vertical axis that is not in pressure
    units is only accepted when it has a single level (it is then treated as "no vertical axis").
    """
    da = ds[variable]
    roles: dict[str, str] = {}
    for dim in da.dims:
        role = _role_of_dim(ds, dim)
        if role == "lev":
            units = _coord_attrs(ds, dim).get("units")
            if _pressure_unit(units) is None:
                if da.sizes[dim] == 1:
                    continue
                raise ClimateCubeError(
                    f"{source}: variable {variable!r} has vertical axis {dim!r} with units {units!r}, "
                    "not a pressure; only pressure levels are supported"
                )
        if role is None:
            if da.sizes[dim] == 1:
                continue
            raise ClimateCubeError(
                f"{source}: variable {variable!r} has dimension {dim!r} (size {da.sizes[dim]}) that is not a "
                "recognisable time, vertical, latitude or longitude axis"
            )
        if role in roles:
            raise ClimateCubeError(
                f"{source}: variable {variable!r} has two {role} axes: {roles[role]!r} and {dim!r}"
            )
        roles[role] = dim
    for role in ("lat", "lon"):
        if role not in roles:
            raise ClimateCubeError(
                f"{source}: variable {variable!r} (dims {tuple(da.dims)}) has no recognisable {role} axis "
                "(CF axis/standard_name/units attributes or a lat/latitude/lon/longitude name)"
            )
    return roles


# --------------------------------------------------------------------------------------------------
# Time reduction
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Spatial regridding
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------------

_CLASSIC_MAGIC = (b"CDF\x01", b"CDF\x02")


def _check_classic_not_truncated(path: Path) -> None:
    """Fail on a truncated NETCDF3 classic / 64-bit-offset file.

    The netCDF-C library reads a truncated classic file without complaint and returns fill values
    for the missing bytes, so the extents the header promises are checked against the file size with
    scipy's netCDF3 reader (memory-mapped: only the header is parsed, no data is read).
    """
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic not in _CLASSIC_MAGIC:
        return
    from scipy.io import netcdf_file

    try:
        nc = netcdf_file(path, mode="r", mmap=True)
    except (ValueError, TypeError, OSError) as exc:
        raise ClimateCubeError(
            f"{path}: NETCDF3 file is truncated or corrupt (its header describes more data than the file holds: {exc})"
        ) from exc
    nc.close()


# netCDF's default fill value for floats; files that never set _FillValue still hold it where nothing was written
NETCDF_DEFAULT_FILL = 9.969209968386869e36


def _mask_default_fill(da: xr.DataArray, raw: xr.DataArray) -> xr.DataArray:
    """Mask netCDF's default fill value when the variable declares no _FillValue/missing_value (xarray leaves it as
    data: several CMIP6 files mark below-ground levels this way)."""
    declared = {"_FillValue", "missing_value"} & (set(raw.attrs) | set(raw.encoding))
    if declared:
        return da
    return da.where(np.abs(da) < NETCDF_DEFAULT_FILL * 0.99)


def _units_of(ds: xr.Dataset, variable: str) -> str:
    attrs = {**ds[variable].encoding, **ds[variable].attrs}
    return str(attrs.get("units", ""))


def _check_readable(paths: Iterable[Path]) -> None:
    """Each file exists and, if it is classic NetCDF, is not cut short (named in the error)."""
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"climate file not found: {path}")
        _check_classic_not_truncated(path)


@contextmanager
def _quiet_fill_value_warning() -> Iterator[None]:
    """xarray's warning about a non-conforming ``_FillValue`` is not passed on: packed int16 files (ERA-Interim)
    declare a NaN _FillValue an int16 can never hold, and xarray rightly drops it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non-conforming '_FillValue'", category=SerializationWarning)
        yield


def _open_dataset(path: Path) -> xr.Dataset:
    """Open a NetCDF file with xarray's netCDF4 engine; unreadable files raise ClimateCubeError."""
    _check_readable([path])
    try:
        with _quiet_fill_value_warning():
            return xr.open_dataset(path, engine="netcdf4")
    except (OSError, RuntimeError, ValueError) as exc:
        raise ClimateCubeError(f"{path}: cannot read NetCDF file (truncated or corrupt?): {exc}") from exc


def _open_datasets(paths: list[Path]) -> xr.Dataset:
    """Several NetCDF files as one dataset (xarray's ``open_mfdataset``): CMIP6 writes one variable, and one
    time span, per file; the files must agree on their shared coordinates (the error says which do not)."""
    _check_readable(paths)
    try:
        with _quiet_fill_value_warning():
            return xr.open_mfdataset([str(p) for p in paths], engine="netcdf4", combine="by_coords",
                                     data_vars="minimal", coords="minimal", compat="override", join="exact",
                                     combine_attrs="drop_conflicts")
    except (OSError, RuntimeError, ValueError) as exc:
        names = ", ".join(p.name for p in paths)
        raise ClimateCubeError(f"{names}: cannot combine these NetCDF files into one dataset ({exc})") from exc


def load_climate_cube(
    path: str | Path | Sequence[str | Path],
    variables: Sequence[str],
    grid: CubeGrid,
    *,
    time_mode: TimeMode = "index",
    no_level_axis: LevelPolicy = "error",
    extrapolation: Extrapolation = "nan",
) -> ClimateCube:
    """Read ``variables`` from a CF NetCDF file and regrid them onto ``grid`` as one float32 cube.

    ``time_mode``: "index" (``n_time`` evenly spaced steps, first and last included), "block_mean"
    (means over ``n_time`` contiguous blocks) or "monthly_climatology" (mean of each calendar month;
    needs ``n_time == 12``). ``no_level_axis``: what to do with a variable without pressure levels
    ("error" or "broadcast" to every level). ``extrapolation``: target points outside the source
    domain become NaN ("nan") or take the nearest edge value ("clamp").
    """
    paths = [Path(p) for p in ([path] if isinstance(path, (str, Path)) else path)]
    source = str(paths[0]) if len(paths) == 1 else " + ".join(str(p) for p in paths)
    if not variables:
        raise ValueError("load_climate_cube needs at least one variable name")
    conversions: list[str] = []
    with (_open_dataset(paths[0]) if len(paths) == 1 else _open_datasets(paths)) as ds:
        missing = [v for v in variables if v not in ds.data_vars]
        if missing:
            raise ClimateCubeError(
                f"{source}: variable(s) {missing} not found; the file has {sorted(map(str, ds.data_vars))}"
            )
        arrays: list[np.ndarray] = []
        units: list[str] = []
        axes_used: dict[str, dict[str, str]] = {}
        time_labels: list[str] | None = None
        for name in variables:
            roles = identify_axes(ds, name, source=source)
            axes_used[name] = roles
            da = ds[name]
            if rule("climate", name) is not None:  # every native value, before averaging can hide one
                native = _mask_default_fill(da.astype(np.float64), da).values
                native, _, _ = to_declared_unit(native, name, _units_of(ds, name), source, ClimateCubeError)
                check_climate_range(native, name, tuple(map(str, da.dims)), source, ClimateCubeError)
                del native
            extra = [d for d in da.dims if d not in roles.values()]
            da = da.isel({d: 0 for d in extra}, drop=True)

            if "time" in roles:
                da, labels = _select_time(da, roles["time"], grid.n_time, time_mode, source=source, variable=name)
                time_labels = time_labels or labels
            else:  # a static field (orography, land fraction): the same value at every step
                da = da.expand_dims(time=grid.n_time)
            try:
                da = da.astype(np.float64).load()
            except (OSError, RuntimeError, ValueError) as exc:
                raise ClimateCubeError(
                    f"{source}: cannot read data of variable {name!r} (truncated or corrupt file?): {exc}"
                ) from exc
            da = _mask_default_fill(da, ds[name])
            values, unit, note = to_declared_unit(da.values, name, _units_of(ds, name), source, ClimateCubeError)
            da = da.copy(data=values)
            conversions += [note] if note else []

            if "lev" in roles:
                lev_units = _coord_attrs(ds, roles["lev"]).get("units")
                da = _regrid_vertical(da, roles["lev"], lev_units, grid, extrapolation, source=source)
            elif no_level_axis == "broadcast":
                da = da.expand_dims(lev=len(grid.levels_hpa))
            else:
                raise ClimateCubeError(
                    f"{source}: variable {name!r} (dims {tuple(ds[name].dims)}) has no pressure-level axis; "
                    "pass no_level_axis='broadcast' to repeat it on every level"
                )
            da = _regrid_horizontal(da, roles["lat"], roles["lon"], grid, extrapolation, source=source, variable=name)
            arrays.append(da.transpose(*AXIS_ORDER).values.astype(np.float32))
            units.append(unit)
        conventions = str(ds.attrs.get("Conventions", ""))

    if time_labels is None:
        time_labels = [f"static {i}" for i in range(grid.n_time)]
    data = np.stack(arrays, axis=0)
    return ClimateCube(
        data=data,
        variables=tuple(variables),
        units=tuple(units),
        time=np.asarray(time_labels),
        lev_hpa=np.asarray(grid.levels_hpa, dtype=np.float64),
        lat=np.asarray(grid.lat, dtype=np.float64),
        lon=np.asarray(grid.lon, dtype=np.float64),
        metadata={
            "generated": False,
            "source_file": source,
            "source_files": [str(p) for p in paths],
            "unit_conversions": conversions,
            "conventions": conventions,
            "time_mode": time_mode,
            "no_level_axis": no_level_axis,
            "extrapolation": extrapolation,
            "source_axes": axes_used,
        },
    )


# --------------------------------------------------------------------------------------------------
# Normalisation statistics
# --------------------------------------------------------------------------------------------------


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
