"""NetCDF files to a cube: open (classic and NETCDF4), check, select the variables and regrid them."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import xarray as xr
from xarray import SerializationWarning

from ..climate_units import check_climate_range, to_declared_unit
from .axes import _coord_attrs, identify_axes
from .grid import AXIS_ORDER, ClimateCube, ClimateCubeError, CubeGrid, Extrapolation, LevelPolicy, TimeMode
from .regrid import _regrid_horizontal, _regrid_vertical
from .time_axis import _select_time

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
            # every native value, before averaging can hide one (inf in any variable; the range where declared)
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
