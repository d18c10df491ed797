"""Which dimension of a CF variable is time, level, latitude or longitude; pressure units to hPa."""

from __future__ import annotations

import re
from typing import Any

import astropy.units as u
import numpy as np
import xarray as xr

from .grid import ClimateCubeError

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
