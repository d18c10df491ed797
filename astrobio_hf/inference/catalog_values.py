"""Catalog values as the model reads them: the catalog unit of each planet parameter, and one value or one row
(a mapping, an astropy `Row`, a one-row table, astropy Quantities) turned into plain floats in those units.

Shared by the processor and by the astropy adapters (`astro_io`), which is why it is a module of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..data.planet_features import PARAM_TRANSFORMS

#: astropy unit strings of the catalog units in `PARAM_TRANSFORMS` (quantities given with units are converted)
CATALOG_UNITS: dict[str, str] = {
    "pl_orbper": "day", "pl_orbsmax": "AU", "pl_rade": "earthRad", "pl_bmasse": "earthMass", "pl_eqt": "K",
    "st_teff": "K", "st_rad": "solRad", "st_mass": "solMass", "sy_dist": "pc",
}


def catalog_value(name: str, value: Any) -> float | None:
    """A catalog value as a float in the catalog unit: astropy Quantities are converted, masked/None/'' is missing."""
    if value is None or value is np.ma.masked or (isinstance(value, str) and not value.strip()):
        return None
    if hasattr(value, "unit") and hasattr(value, "to_value"):
        from astropy import units as u

        unit = CATALOG_UNITS.get(name)
        try:
            return float(value.to_value(u.Unit(unit)) if unit else value.to_value(u.dimensionless_unscaled))
        except u.UnitConversionError as error:
            raise ValueError(f"catalog column {name!r}: {value} cannot be converted to {unit or 'a number'} "
                             f"({PARAM_TRANSFORMS.get(name, ('', ''))[1]})") from error
    if np.ma.is_masked(value):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"catalog column {name!r}: {value!r} is not a number") from error
    return number if np.isfinite(number) else None


def catalog_mapping(catalog: Any) -> dict[str, Any]:
    """A dict of column -> value from a mapping, an astropy `Row` (Table / QTable) or a one-row table."""
    if isinstance(catalog, Mapping):
        return dict(catalog)
    from astropy.table import Row, Table

    if isinstance(catalog, Table):
        if len(catalog) != 1:
            raise ValueError(f"a catalog table must hold one row, this one holds {len(catalog)}")
        catalog = catalog[0]
    if isinstance(catalog, Row):
        return {name: catalog[name] for name in catalog.colnames}
    raise TypeError(f"catalog values must be a mapping or an astropy Table/QTable row, not {type(catalog).__name__}")


#: catalog columns that name the planet or its star (not model inputs)
NAME_COLUMNS = ("pl_name", "hostname")
#: catalog numbers of the host that observation headers may name (see `identity`)
ID_COLUMNS = ("kic", "kepid", "kic_id", "tic_id", "tic", "ticid", "epic", "epic_id", "epicid")


def known_columns() -> set[str]:
    """Column names `--values` accepts: names, host catalog numbers and every catalog column with a transform, a
    unit or a physical range."""
    from ..data.physical_ranges import RANGES

    return (set(NAME_COLUMNS) | set(ID_COLUMNS) | set(PARAM_TRANSFORMS) | set(CATALOG_UNITS)
            | {r.field for r in RANGES["planet_catalog"]})


def check_catalog_values(values: Mapping[str, Any], *, names_given_by_user: bool = False) -> None:
    """Refuse, naming the column and value, a catalog value outside its physical range (`physical_ranges.py`) and,
    for values typed by a user (``names_given_by_user``), a column name we do not know (with close spellings)."""
    from ..data.physical_ranges import rule

    if names_given_by_user:
        import difflib

        known = known_columns()
        unknown = [name for name in values if name not in known]
        if unknown:
            hints = {n: difflib.get_close_matches(n, sorted(known), n=3) for n in unknown}
            said = "; ".join(f"{n!r}" + (f" (did you mean {', '.join(h)}?)" if h else "") for n, h in hints.items())
            raise ValueError(f"unknown catalog column(s): {said}. Known columns: {', '.join(sorted(known))}")
    for name, raw in values.items():
        spec = rule("planet_catalog", name)
        value = catalog_value(name, raw) if spec is not None else None
        if value is not None and bool(spec.outside(np.asarray([value]))[0]):
            reason = f" ({spec.why})" if spec.why else ""
            raise ValueError(f"catalog column {name!r}: {raw!r} is outside its physical range {spec.describe()}"
                             f"{reason}")


__all__ = ["CATALOG_UNITS", "catalog_value", "catalog_mapping", "check_catalog_values", "known_columns",
           "NAME_COLUMNS", "ID_COLUMNS"]
