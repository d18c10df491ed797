"""Units and physical ranges of climate variables: convert to the declared unit, or refuse.

``physical_ranges.RANGES["climate"]`` declares each known variable's unit (``ta`` in K, ``hus`` in
kg/kg, ...). A file that writes ``ta`` in degC (as some post-processed GCM output and reanalysis
extracts do) is converted to K with astropy's temperature equivalency; a unit that cannot be
converted (``ta`` in metres, or no unit at all) is refused, never kept silently. Values then must lie
in the variable's possible range; the error names the file, the variable and the grid point.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np

from ..physical_ranges import rule

#: CF / UDUNITS spellings astropy does not parse itself
_CF_UNITS = {
    "degc": "deg_C", "deg_c": "deg_C", "celsius": "deg_C", "degree_celsius": "deg_C", "degrees_celsius": "deg_C",
    "degf": "deg_F", "fahrenheit": "deg_F", "degk": "K", "kelvin": "K", "degree_kelvin": "K", "degrees_kelvin": "K",
    "kg kg-1": "kg/kg", "kg/kg": "kg/kg", "1": "", "%": "%", "percent": "%",
}


def parse_cf_unit(text: str) -> u.UnitBase | None:
    """An astropy unit from a CF ``units`` attribute (``None`` when it cannot be parsed)."""
    key = " ".join(text.strip().split()).lower()
    name = _CF_UNITS.get(key, text.strip())
    try:
        return u.dimensionless_unscaled if name == "" else u.Unit(name)
    except ValueError:
        return None


def to_declared_unit(values: np.ndarray, variable: str, units: str, where: str,
                     error: type[Exception]) -> tuple[np.ndarray, str, str | None]:
    """``(values in the declared unit, that unit, note of the conversion or None)``.

    Variables without a declared range pass through unchanged with their own unit.
    """
    spec = rule("climate", variable)
    if spec is None:
        return values, units, None
    if not units.strip():
        raise error(f"{where}: variable {variable!r} declares no units; expected {spec.unit} "
                    "(set the CF 'units' attribute)")
    have = parse_cf_unit(units)
    want = parse_cf_unit(spec.unit)
    if have is None or want is None:
        raise error(f"{where}: variable {variable!r} has units {units!r}, which cannot be read; expected {spec.unit}")
    if have == want or (have.is_equivalent(want) and have.to(want) == 1.0):
        return values, spec.unit, None
    if have.is_equivalent(u.K, equivalencies=u.temperature()) and have != u.K:
        _refuse_kelvin_in_disguise(values, variable, units, where, error)
    try:
        converted = (values * have).to_value(want, equivalencies=u.temperature())
    except u.UnitConversionError:
        raise error(f"{where}: variable {variable!r} has units {units!r}, which cannot be converted to "
                    f"{spec.unit}") from None
    return converted, spec.unit, f"{variable}: converted from {units} to {spec.unit}"


#: a Celsius/Fahrenheit field whose every value is above this (in its own unit) is kelvin mislabelled: no
#: climate is above 100 degC (212 degF) at every grid point and time, while kelvin values always are
_DISGUISED_KELVIN_MIN = {"deg_C": 100.0, "deg_F": 212.0}


def _refuse_kelvin_in_disguise(values: np.ndarray, variable: str, units: str, where: str,
                               error: type[Exception]) -> None:
    finite = values[np.isfinite(values)]
    name = parse_cf_unit(units).to_string()
    floor = _DISGUISED_KELVIN_MIN.get(name)
    if floor is not None and finite.size and float(finite.min()) > floor:
        raise error(f"{where}: variable {variable!r} is labelled {units!r} but every value is above {floor:g} "
                    f"({float(finite.min()):.6g} to {float(finite.max()):.6g}): kelvin values under a Celsius or "
                    "Fahrenheit label? Fix the CF 'units' attribute rather than have them converted")


def check_climate_range(values: np.ndarray, variable: str, dims: tuple[str, ...], where: str,
                        error: type[Exception]) -> None:
    """Refuse a value outside the variable's possible range (any variable: an infinite value), naming the grid
    point (index per dim)."""
    spec = rule("climate", variable)
    bad = spec.outside(values) if spec is not None else np.isinf(values)
    if bad.any():
        index = np.unravel_index(int(np.flatnonzero(bad)[0]), values.shape)
        point = ", ".join(f"{d}={i}" for d, i in zip(dims, index, strict=True))
        if spec is None:
            raise error(f"{where}: variable {variable!r} at ({point}): value {float(values[index])!r} is not finite")
        raise error(f"{where}: variable {variable!r} at ({point}): value {float(values[index])!r} is outside its "
                    f"possible range {spec.describe()}" + (f" ({spec.why})" if spec.why else ""))
