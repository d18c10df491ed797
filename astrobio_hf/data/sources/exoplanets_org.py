"""Exoplanet Orbit Database (exoplanets.org, Han et al. 2014) builder: the frozen CSV compilation.

Native format: ``csv-files/exoplanets.csv`` with upper-case columns (NAME, MSINI, A, PER, ...). The
full export has 314 columns; table downloads from the site hold a subset and put a UNITS row
(``,mjupiter,au,day,,deg,jd,m/s,...``) under the header: it is detected (blank NAME, no numeric
value) and used as the units of the columns instead of being read as a planet.

Output columns are the native names in lower case (``name``, ``msini``, ``per`` ...) in the
database's own units (Jupiter masses and radii, RA in hours), plus ``name_normalized`` from
:func:`astrobio_hf.data.names.normalize_name` for cross-matching with the NASA archive.

Download mode fetches ``<base>/csv-files/exoplanets.csv`` (default base ``http://exoplanets.org``;
override ``base_url=`` or ``ASTROBIO_EXOPLANETS_ORG_URL``: the site is frozen and may be offline,
so pointing it at a mirror is the usual case).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa

from ..names import normalize_name
from .base import ArchiveBuilder, DownloadRequest
from .tabular import Column, RawTable, convert_columns, decode_utf8, read_bytes, read_csv_strings

# Documented EOD columns (Han et al. 2014, Table 1) with the database's units.
EOD_COLUMNS: tuple[Column, ...] = (
    Column("name", "string", "", "Planet name", required=True, aliases=("NAME",)),
    Column("star", "string", "", "Host star name", aliases=("STAR",)),
    Column("othername", "string", "", "Other names of the planet", aliases=("OTHERNAME",)),
    Column("msini", "float64", "mjupiter", "Minimum mass M sin(i)", aliases=("MSINI",)),
    Column("mass", "float64", "mjupiter", "Planet mass", aliases=("MASS",)),
    Column("r", "float64", "rjupiter", "Planet radius", aliases=("R",)),
    Column("a", "float64", "au", "Semi-major axis", aliases=("A",)),
    Column("per", "float64", "day", "Orbital period", aliases=("PER",)),
    Column("ecc", "float64", "", "Eccentricity", aliases=("ECC",)),
    Column("om", "float64", "deg", "Argument of periastron", aliases=("OM",)),
    Column("t0", "float64", "jd", "Time of periastron", aliases=("T0",)),
    Column("k", "float64", "m/s", "Radial-velocity semi-amplitude", aliases=("K",)),
    Column("transit", "int64", "", "1 if the planet transits", aliases=("TRANSIT",)),
    Column("teff", "float64", "K", "Stellar effective temperature", aliases=("TEFF",)),
    Column("rstar", "float64", "rsun", "Stellar radius", aliases=("RSTAR",)),
    Column("mstar", "float64", "msun", "Stellar mass", aliases=("MSTAR",)),
    Column("fe", "float64", "dex", "Stellar metallicity [Fe/H]", aliases=("FE",)),
    Column("logg", "float64", "log10(cm/s**2)", "Stellar surface gravity", aliases=("LOGG",)),
    Column("dist", "float64", "pc", "Distance", aliases=("DIST",)),
    Column("ra", "float64", "hours", "Right ascension (decimal hours)", aliases=("RA",)),
    Column("dec", "float64", "deg", "Declination", aliases=("DEC",)),
    Column("planetdiscmeth", "string", "", "Discovery method", aliases=("PLANETDISCMETH",)),
    Column("date", "int64", "", "Year of the first reference", aliases=("DATE",)),
    Column("orbref", "string", "", "Orbit reference", aliases=("ORBREF",)),
    Column("orburl", "string", "", "Orbit reference URL", aliases=("ORBURL",)),
    Column("firstref", "string", "", "Discovery reference", aliases=("FIRSTREF",)),
    Column("firsturl", "string", "", "Discovery reference URL", aliases=("FIRSTURL",)),
)


def split_units_row(raw: RawTable) -> tuple[RawTable, dict[str, str]]:
    """Detect the UNITS row (first data row: blank NAME, no numeric cell) -> (table without it, units)."""
    table = raw.table
    if table.num_rows == 0 or "NAME" not in table.column_names:
        return raw, {}
    first = {name: table.column(name)[0].as_py() for name in table.column_names}
    if (first.get("NAME") or "").strip():
        return raw, {}
    values = [v.strip() for v in first.values() if v and v.strip()]
    if not values or any(_is_number(v) for v in values):
        return raw, {}
    units = {name: v.strip() for name, v in first.items() if v and v.strip()}
    shifted = RawTable(table=table.slice(1), descriptions=raw.descriptions, meta=raw.meta,
                       first_data_line=None if raw.first_data_line is None else raw.first_data_line + 1)
    return shifted, units


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class ExoplanetsOrg(ArchiveBuilder):
    """The Exoplanet Orbit Database CSV (upper-case columns; optional UNITS row)."""

    SOURCE = "exoplanets_org"
    RECORD_KEY = ("name",)  # one record per key in a file (docs/data.md, "Duplicates")
    DEFAULT_BASE_URL = "http://exoplanets.org"
    FILE_PATTERNS = ("**/*.csv",)
    HOMEPAGE = "http://exoplanets.org"
    CITATION = ("Han, E., Wang, S. X., Wright, J. T., et al. 2014, PASP, 126, 827: Exoplanet Orbit Database. II. "
                "Updates to Exoplanets.org")
    LICENSE = "exoplanets.org data (cite Han et al. 2014)"
    MIN_INTERVAL_S = 1.0

    def columns(self) -> tuple[Column, ...]:
        return EOD_COLUMNS

    def data_features(self) -> dict[str, Any]:
        return {**super().data_features(), "name_normalized": datasets.Value("string")}

    def describe(self) -> str:
        return ("Exoplanet Orbit Database (exoplanets.org) planets in the database's units, with name_normalized "
                "for cross-matching with the NASA Exoplanet Archive.")

    def download_requests(self) -> list[DownloadRequest]:
        return [DownloadRequest(path="csv-files/exoplanets.csv", filename="exoplanets.csv",
                                release="exoplanets.org csv-files/exoplanets.csv")]

    def read_table(self, path: Path) -> RawTable:
        """The CSV -> :class:`RawTable` without the UNITS row (its units noted for the description)."""
        text = decode_utf8(read_bytes(path, self.SOURCE), path, self.SOURCE)
        raw = read_csv_strings(text, path, self.SOURCE, expected=["NAME"])
        raw, units = split_units_row(raw)
        if units:
            by_output = {c.name: units[n] for c in self.columns() for n in (c.name, *c.aliases) if n in units}
            raw.units = units
            self.note_units(path, by_output)
        return raw

    def parse_file(self, path: Path) -> Iterator[pa.Table]:
        raw = self.read_table(path)
        typed = convert_columns(raw, self.columns(), source=self.SOURCE, file=path)
        by_output = {c.name: raw.units[n] for c in self.columns() for n in (c.name, *c.aliases) if n in raw.units}
        typed = self.convert_units(path, typed, by_output)
        typed = self.screen_physical(path, typed, "exoplanets_org", raw.location)
        keys = pa.array([normalize_name(n) for n in typed.column("name").to_pylist()], pa.string())
        yield typed.append_column("name_normalized", keys)
