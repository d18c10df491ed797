"""Units a file declares for its columns, checked with astropy against the units the builder stores.

The NASA interactive export writes ``# COLUMN pl_orbper: Orbital Period [days]``, exoplanets.org a UNITS row
(``,mjupiter,au,day,...``), SPOC light curves ``TUNITn``. Each declared unit is parsed with
``astropy.units`` and compared with the column's documented unit: equal units pass; a convertible one
(``seconds`` for days, ``yr``, ``deg C`` for K) is converted to the stored unit and noted; one that cannot be
read or converted (``Jy`` for a flux in e-/s) refuses the file, naming the column. Values are range-checked
after conversion, so a unit that does not fit its values is refused by the physical ranges.

Archives spell some units in words astropy does not parse ("Earth Radius", "mjupiter", "log10(cm/s**2)");
:data:`ARCHIVE_SPELLINGS` maps them to astropy's names. That table is written here because no library
holds the archives' spellings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
from astropy import units as u

from .tabular import Column

#: the insolation unit of the NASA archive: Earth's solar constant (IAU 2015 nominal, 1361 W m-2)
EARTH_FLUX = u.def_unit("earthFlux", 1361.0 * u.W / u.m**2)

#: archive unit spellings (lower case) -> astropy unit text or unit
ARCHIVE_SPELLINGS: dict[str, str | u.UnitBase] = {
    "days": "d", "day": "d", "hours": "h", "hour": "h", "hr": "h", "seconds": "s", "years": "yr",
    "earth radius": "earthRad", "earth radii": "earthRad", "jupiter radius": "jupiterRad",
    "jupiter radii": "jupiterRad", "rjupiter": "jupiterRad", "earth mass": "earthMass", "jupiter mass": "jupiterMass",
    "mjupiter": "jupiterMass", "solar radius": "solRad", "rsun": "solRad", "solar mass": "solMass", "msun": "solMass",
    "earth flux": EARTH_FLUX, "r_earth": "earthRad", "r_sun": "solRad", "r_jupiter": "jupiterRad",
    "r_jup": "jupiterRad", "m_earth": "earthMass", "m_sun": "solMass", "m_jupiter": "jupiterMass",
    "m_jup": "jupiterMass", "hrs": "h", "deg c": "deg_C", "degc": "deg_C", "celsius": "deg_C", "degrees": "deg",
    "log10(cm/s**2)": "dex(cm / s2)", "log(cm/s**2)": "dex(cm / s2)", "dex": "dex",
    "e-/s": "electron / s", "e/s": "electron / s", "jd": "d", "pixels": "pix", "ppm": "1e-6", "bjd": "d",
}
#: declared texts that name no physical unit: nothing to check
NOT_UNITS = frozenset({"", "sexagesimal", "none", "n/a"})


def parse_archive_unit(text: str) -> u.UnitBase | None:
    """An astropy unit from an archive's unit text, or ``None`` when it cannot be read."""
    cleaned = text.strip()
    spelled = ARCHIVE_SPELLINGS.get(cleaned.lower(), cleaned)
    if isinstance(spelled, u.UnitBase):
        return spelled
    try:
        return u.Unit(spelled, parse_strict="raise")
    except ValueError:
        return None


def _factor(have: u.UnitBase, want: u.UnitBase, values: np.ndarray) -> np.ndarray:
    if isinstance(have, u.FunctionUnitBase) or isinstance(want, u.FunctionUnitBase):
        return (u.Quantity(values, have)).to_value(want)
    return (values * have).to_value(want, equivalencies=u.temperature())


def convert_declared_units(table: pa.Table, declared: dict[str, str], columns: Sequence[Column],
                           error: Callable[[str, str], Exception]) -> tuple[pa.Table, list[str]]:
    """``table`` with each float column whose file declares another unit converted to the documented unit.

    Returns the table and notes (``"pl_orbper: converted from seconds to days"``); ``error(column, message)``
    builds the exception for a unit that cannot be read or converted.
    """
    notes: list[str] = []
    for column in columns:
        text = (declared.get(column.name) or "").strip()
        if not column.unit or text.lower() in NOT_UNITS or column.name not in table.column_names:
            continue
        want, have = parse_archive_unit(column.unit), parse_archive_unit(text)
        if want is None:  # a documented unit we cannot parse is a bug of ours, not of the file
            raise ValueError(f"documented unit {column.unit!r} of {column.name} is not an astropy unit")
        if have is None:
            raise error(column.name, f"declared unit {text!r} of {column.name} cannot be read (astropy units); "
                                     f"expected {column.unit}")
        if isinstance(want, u.FunctionUnitBase) and have == want.physical_unit:
            continue  # the archive's IPAC tables label log g by the quantity it is the log of (cm/s**2)
        values = table.column(column.name).to_numpy(zero_copy_only=False).astype(np.float64)
        try:
            same = have == want or np.isclose(_factor(have, want, np.array([1.0]))[0], 1.0, rtol=1e-12)
            converted = values if same else _factor(have, want, values)
        except u.UnitsError:
            raise error(column.name, f"declared unit {text!r} of {column.name} cannot be converted to "
                                     f"{column.unit}") from None
        if same:
            continue
        index = table.column_names.index(column.name)
        table = table.set_column(index, column.name, pa.array(converted, table.schema.field(index).type))
        notes.append(f"{column.name}: converted from {text} to {column.unit}")
    return table, notes


def check_unit_kind(text: str, want: u.UnitBase, column: str, error: Callable[[str, str], Exception]) -> None:
    """Refuse a declared unit (e.g. a FITS ``TUNITn``) that is not ``want`` or convertible to it."""
    have = parse_archive_unit(text)
    if have is None or not have.is_equivalent(want):
        raise error(column, f"declared unit {text.strip()!r} of {column} is not {want.to_string()} (or convertible)")
    if not np.isclose((1.0 * have).to_value(want), 1.0):
        raise error(column, f"declared unit {text.strip()!r} of {column}: SPOC writes {want.to_string()}; "
                            "a rescaled column is not a SPOC light curve")

