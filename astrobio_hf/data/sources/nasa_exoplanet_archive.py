"""NASA Exoplanet Archive builder: planet parameters from the TAP service (or dumps of its tables).

Download mode sends the archive's TAP sync request
``<base>/sync?query=<ADQL>&format=csv`` with ``SELECT <documented columns> FROM <table>`` where
``table`` is ``pscomppars`` (one row per planet, default), ``ps`` (restricted to ``default_flag = 1``),
``toi`` (TESS objects of interest) or ``cumulative`` (Kepler KOIs). Base URL default
``https://exoplanetarchive.ipac.caltech.edu/TAP`` (override: ``base_url=`` or
``ASTROBIO_NASA_EXOPLANET_ARCHIVE_URL``). The service needs no token.

Local mode reads the archive's own export formats, detected from the content:

* the interactive-table CSV (``# COLUMN name: description [unit]`` preamble: units and the
  export date are kept), and the plain TAP CSV (header line first); ``.tsv`` is tab-delimited;
* IPAC tables (``\\`` keywords, ``|name|`` header rows), VOTables and ECSV (astroquery's format),
  through astropy;
* exports made before the archive's 2021 column renames (``pl_hostname``, ``pl_discmethod``, ...):
  the old names are aliases of the current columns (:data:`LEGACY_NAMES`).
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.compute as pc

from ..download import DownloadError, HttpClient, join_url
from ..duplicates import DuplicateFilter
from .base import ArchiveBuilder, ArchiveBuilderConfig, DownloadRequest
from .errors import SourceFormatError
from .tabular import (
    Column,
    RawTable,
    check_line_end,
    convert_columns,
    decode_utf8,
    read_astropy_strings,
    read_bytes,
    read_csv_strings,
    sniff_format,
)
from .tap import parse_count_answer

logger = logging.getLogger(__name__)

TAP_URL = "https://exoplanetarchive.ipac.caltech.edu/TAP"

# Documented columns (https://exoplanetarchive.ipac.caltech.edu/docs/API_PS_columns.html); units as the
# archive writes them in its CSV preamble.
_PLANET_COLUMNS: tuple[Column, ...] = (
    Column("pl_name", "string", "", "Planet name", required=True),
    Column("hostname", "string", "", "Host star name", required=True, aliases=("pl_hostname",)),
    Column("sy_snum", "int64", "", "Number of stars in the system"),
    Column("sy_pnum", "int64", "", "Number of planets in the system", aliases=("pl_pnum",)),
    Column("discoverymethod", "string", "", "Discovery method", aliases=("pl_discmethod",)),
    Column("disc_year", "int64", "", "Discovery year", aliases=("pl_disc",)),
    Column("disc_facility", "string", "", "Discovery facility", aliases=("pl_facility",)),
    Column("pl_controv_flag", "int64", "", "1 if the planet's status is disputed", aliases=("pl_controvflag",)),
    Column("pl_orbper", "float64", "days", "Orbital period"),
    Column("pl_orbpererr1", "float64", "days", "Orbital period upper uncertainty"),
    Column("pl_orbpererr2", "float64", "days", "Orbital period lower uncertainty"),
    Column("pl_orbsmax", "float64", "au", "Orbit semi-major axis"),
    Column("pl_rade", "float64", "Earth Radius", "Planet radius"),
    Column("pl_radj", "float64", "Jupiter Radius", "Planet radius"),
    Column("pl_bmasse", "float64", "Earth Mass", "Planet mass or M*sin(i)"),
    Column("pl_bmassj", "float64", "Jupiter Mass", "Planet mass or M*sin(i)"),
    Column("pl_bmassprov", "string", "", "Provenance of pl_bmasse: Mass, Msini, M-R relationship ..."),
    Column("pl_orbeccen", "float64", "", "Eccentricity"),
    Column("pl_insol", "float64", "Earth Flux", "Insolation flux"),
    Column("pl_eqt", "float64", "K", "Equilibrium temperature"),
    Column("ttv_flag", "int64", "", "1 if the data show transit timing variations", aliases=("pl_ttvflag",)),
    Column("st_spectype", "string", "", "Spectral type"),
    Column("st_teff", "float64", "K", "Stellar effective temperature"),
    Column("st_rad", "float64", "Solar Radius", "Stellar radius"),
    Column("st_mass", "float64", "Solar mass", "Stellar mass"),
    Column("st_met", "float64", "dex", "Stellar metallicity", aliases=("st_metfe",)),
    Column("st_metratio", "string", "", "Metallicity ratio ([Fe/H], [M/H])"),
    Column("st_logg", "float64", "log10(cm/s**2)", "Stellar surface gravity"),
    Column("ra", "float64", "deg", "Right ascension (J2000)"),
    Column("dec", "float64", "deg", "Declination (J2000)"),
    Column("sy_dist", "float64", "pc", "Distance", aliases=("st_dist",)),
    Column("sy_vmag", "float64", "mag", "V (Johnson) magnitude"),
    Column("sy_kmag", "float64", "mag", "Ks (2MASS) magnitude"),
    Column("sy_gaiamag", "float64", "mag", "Gaia G magnitude", aliases=("gaia_gmag",)),
)

_PS_EXTRA: tuple[Column, ...] = (
    Column("default_flag", "int64", "", "1 for the archive's default parameter set of the planet"),
    Column("soltype", "string", "", "Solution type"),
    Column("pl_refname", "string", "", "Reference of the parameter set"),
)

_TOI_COLUMNS: tuple[Column, ...] = (
    Column("toi", "string", "", "TESS Object of Interest number (nnn.xx)", required=True),
    Column("tid", "int64", "", "TESS Input Catalog identifier (TIC ID)", required=True),
    Column("tfopwg_disp", "string", "", "TFOPWG disposition (CP, FP, PC, KP, APC, FA)"),
    Column("pl_orbper", "float64", "days", "Orbital period"),
    Column("pl_tranmid", "float64", "BJD", "Transit midpoint"),
    Column("pl_trandurh", "float64", "hours", "Transit duration"),
    Column("pl_trandep", "float64", "ppm", "Transit depth"),
    Column("pl_rade", "float64", "Earth Radius", "Planet radius"),
    Column("pl_insol", "float64", "Earth Flux", "Insolation flux"),
    Column("pl_eqt", "float64", "K", "Equilibrium temperature"),
    Column("st_tmag", "float64", "mag", "TESS magnitude"),
    Column("st_dist", "float64", "pc", "Distance"),
    Column("st_teff", "float64", "K", "Stellar effective temperature"),
    Column("st_logg", "float64", "log10(cm/s**2)", "Stellar surface gravity"),
    Column("st_rad", "float64", "Solar Radius", "Stellar radius"),
    Column("ra", "float64", "deg", "Right ascension (J2000)"),
    Column("dec", "float64", "deg", "Declination (J2000)"),
    Column("toi_created", "string", "", "Date the TOI was created"),
    Column("rowupdate", "string", "", "Date of the last update of the row"),
)

_KOI_COLUMNS: tuple[Column, ...] = (
    Column("kepid", "int64", "", "Kepler Input Catalog identifier (KIC)", required=True),
    Column("kepoi_name", "string", "", "KOI name (Knnnnn.nn)", required=True),
    Column("kepler_name", "string", "", "Kepler planet name, where confirmed"),
    Column("koi_delivname", "string", "", "Kepler pipeline delivery the row comes from (q1_q17_dr25_koi ...)"),
    Column("koi_disposition", "string", "", "Exoplanet Archive disposition"),
    Column("koi_pdisposition", "string", "", "Disposition using Kepler data"),
    Column("koi_score", "float64", "", "Disposition score"),
    Column("koi_period", "float64", "days", "Orbital period"),
    Column("koi_prad", "float64", "Earth Radius", "Planet radius"),
    Column("koi_insol", "float64", "Earth Flux", "Insolation flux"),
    Column("koi_teq", "float64", "K", "Equilibrium temperature"),
    Column("koi_steff", "float64", "K", "Stellar effective temperature"),
    Column("koi_slogg", "float64", "log10(cm/s**2)", "Stellar surface gravity"),
    Column("koi_srad", "float64", "Solar Radius", "Stellar radius"),
    Column("koi_kepmag", "float64", "mag", "Kepler-band magnitude"),
    Column("ra", "float64", "deg", "Right ascension (J2000)"),
    Column("dec", "float64", "deg", "Declination (J2000)"),
)

#: Pre-2021 ("Confirmed Planets" table) column names -> current names (docs: SOURCES.md, last section).
LEGACY_NAMES: dict[str, str] = {spec.aliases[0]: spec.name for spec in _PLANET_COLUMNS if spec.aliases}

#: The column that names one record of each table (two rows with one name are duplicates or a conflict).
#: A KOI table of the archive holds one row per KOI and delivery (``koi_delivname``: q1_q17_dr25_koi ...).
RECORD_KEY: dict[str, tuple[str, ...]] = {"pscomppars": ("pl_name",), "ps": ("pl_name",), "toi": ("toi",),
                                          "cumulative": ("kepoi_name", "koi_delivname")}

#: table -> its documented columns
TABLES: dict[str, tuple[Column, ...]] = {
    "pscomppars": _PLANET_COLUMNS,
    "ps": _PLANET_COLUMNS + _PS_EXTRA,
    "toi": _TOI_COLUMNS,
    "cumulative": _KOI_COLUMNS,
}

_COLUMN_LINE = re.compile(r"^#\s*COLUMN\s+([A-Za-z0-9_]+):\s*(.*?)\s*$")
_UNIT = re.compile(r"\[([^\]]+)\]")
_EXPORT_DATE = "%a %b %d %H:%M:%S %Y"


@dataclass
class NasaExoplanetArchiveConfig(ArchiveBuilderConfig):
    """``table``: pscomppars | ps | toi | cumulative; ``where``: extra ADQL condition; ``top``: row limit."""

    table: str = "pscomppars"
    where: str | None = None
    top: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.table not in TABLES:
            raise ValueError(f"nasa_exoplanet_archive: table must be one of {sorted(TABLES)}, got {self.table!r}")
        if self.top is not None and int(self.top) <= 0:
            raise ValueError("nasa_exoplanet_archive: top must be a positive row count")


def _where(table: str, where: str | None) -> str:
    conditions = ["default_flag = 1"] if table == "ps" else []
    if where:
        conditions.append(f"({where})")
    return " WHERE " + " AND ".join(conditions) if conditions else ""


def adql_query(table: str, where: str | None = None, top: int | None = None) -> str:
    """The ADQL text sent to TAP for ``table`` (documented columns; ``ps`` keeps ``default_flag = 1``)."""
    names = ", ".join(c.name for c in TABLES[table])
    head = f"SELECT TOP {int(top)} " if top else "SELECT "
    return head + names + f" FROM {table}" + _where(table, where)


def adql_count_query(table: str, where: str | None = None) -> str:
    """The ADQL that asks TAP how many rows :func:`adql_query` selects (the completeness check)."""
    return f"SELECT COUNT(*) AS n FROM {table}" + _where(table, where)


def parse_preamble(lines: list[str]) -> tuple[dict[str, str], dict[str, str], str]:
    """``# COLUMN name: description [unit]`` lines -> (units, descriptions, export date ISO or "")."""
    units: dict[str, str] = {}
    descriptions: dict[str, str] = {}
    exported = ""
    for line in lines:
        match = _COLUMN_LINE.match(line)
        if match:
            name, description = match.groups()
            descriptions[name] = description
            unit = _UNIT.search(description)
            if unit:
                units[name] = unit.group(1).strip()
            continue
        text = line.lstrip("#").strip()
        try:
            exported = _dt.datetime.strptime(text, _EXPORT_DATE).isoformat()
        except ValueError:
            pass
    return units, descriptions, exported


class NasaExoplanetArchive(ArchiveBuilder):
    """Planet (pscomppars/ps), TOI and KOI tables of the NASA Exoplanet Archive."""

    BUILDER_CONFIG_CLASS = NasaExoplanetArchiveConfig
    SOURCE = "nasa_exoplanet_archive"
    DEFAULT_BASE_URL = TAP_URL
    FILE_PATTERNS = ("**/*.csv", "**/*.csv.gz", "**/*.tsv", "**/*.tbl", "**/*.ipac", "**/*.txt", "**/*.vot",
                     "**/*.votable", "**/*.xml", "**/*.ecsv")
    HOMEPAGE = "https://exoplanetarchive.ipac.caltech.edu"
    CITATION = ("This research has made use of the NASA Exoplanet Archive, which is operated by the California "
                "Institute of Technology, under contract with NASA under the Exoplanet Exploration Program.")
    LICENSE = "NASA Exoplanet Archive public data (acknowledgement requested)"
    MIN_INTERVAL_S = 1.0

    config: NasaExoplanetArchiveConfig

    def columns(self) -> tuple[Column, ...]:
        return TABLES[self.config.table]

    def describe(self) -> str:
        return (f"NASA Exoplanet Archive table {self.config.table!r}: one row per record with typed documented "
                "columns and provenance (source, release = export date or TAP query, file).")

    def download_requests(self) -> list[DownloadRequest]:
        query = adql_query(self.config.table, self.config.where, self.config.top)
        return [DownloadRequest(path="sync", filename=f"{self.config.table}.csv",
                                params={"query": query, "format": "csv"},
                                release=f"TAP {self.config.table}: {query}")]

    def expected_rows(self, request: DownloadRequest, client: HttpClient) -> int | None:
        """Ask TAP for ``COUNT(*)`` of the same query: a body cut at a line boundary parses, but comes up short."""
        query = adql_count_query(self.config.table, self.config.where)
        try:
            answer = client.get(join_url(self.base_url, "sync"), params={"query": query, "format": "csv"})
            count = parse_count_answer(answer.text)
        except DownloadError as exc:
            count, problem = None, str(exc)
        else:
            problem = f"answer {answer.text[:80]!r} is not a count"
        if count is None:
            logger.warning("%s: cannot check the answer's completeness (COUNT query: %s)", self.SOURCE, problem)
            return None
        return min(count, int(self.config.top)) if self.config.top else count

    def read_table(self, path: Path) -> RawTable:
        """Any of the archive's export formats -> :class:`RawTable` (units and export date noted)."""
        data = read_bytes(path, self.SOURCE)
        text = decode_utf8(data, path, self.SOURCE)
        fmt = sniff_format(text)
        if fmt == "ipac":  # astropy reads a cut IPAC table as "IndexError: list index out of range"
            check_line_end(text, path, self.SOURCE, "the NASA Exoplanet Archive")
        if fmt in ("ipac", "votable", "ecsv"):
            raw = read_astropy_strings(path, self.SOURCE, fmt)
        else:
            lines = text.splitlines()
            n_preamble = 0
            while n_preamble < len(lines) and lines[n_preamble].startswith("#"):
                n_preamble += 1
            units, descriptions, exported = parse_preamble(lines[:n_preamble])
            delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
            raw = read_csv_strings(text, path, self.SOURCE, delimiter=delimiter, skip_lines=n_preamble,
                                   expected=[c.name for c in self.columns() if c.required])
            raw.units, raw.descriptions = units, descriptions
            if exported:
                raw.meta["exported"] = exported
        if fmt != "votable":  # after the field counts (a more precise error); a cut VOTable fails as XML
            check_line_end(text, path, self.SOURCE, "the NASA Exoplanet Archive")
        if raw.meta.get("exported"):
            self.note_release(path, f"{self.config.table} export {raw.meta['exported']}")
        if raw.units:
            self.note_units(path, {c.name: raw.units[c.name] for c in self.columns() if c.name in raw.units})
        return raw

    def parse_file(self, path: Path) -> Iterator[pa.Table]:
        raw = self.read_table(path)
        legacy = {old: new for old, new in LEGACY_NAMES.items()
                  if old in raw.table.column_names and new not in raw.table.column_names}
        if legacy and self.config.table in ("pscomppars", "ps"):
            self.note_quality(path, {"legacy_columns": legacy})  # a pre-2021 export, read through the alias map
        self._check_table(raw, path)
        typed = convert_columns(raw, self.columns(), source=self.SOURCE, file=path)
        typed = self.convert_units(path, typed, raw.units)
        typed = typed.append_column("__row", pa.array(range(typed.num_rows), pa.int64()))
        typed = self.screen_physical(path, typed, "planet_catalog", raw.location)
        if self.config.table == "ps" and "default_flag" in raw.table.column_names:
            # a full ps dump holds every parameter set of a planet; keep the archive's default one
            typed = typed.filter(pc.fill_null(pc.equal(typed.column("default_flag"), 1), False))
        typed = self._drop_duplicates(path, raw, typed)
        yield typed.drop_columns(["__row"])

    def _drop_duplicates(self, path: Path, raw: RawTable, typed: pa.Table) -> pa.Table:
        """The shared duplicate policy (:mod:`..duplicates`), keyed by this table's record, naming file lines."""
        key = RECORD_KEY[self.config.table]
        dedup = DuplicateFilter(key, lambda row, message: self.error(path, f"{raw.location(row)}, field {key[0]}",
                                                                     message),
                                location=raw.location, ignore=("__row",))
        typed = dedup.apply(typed, rows=typed.column("__row").to_pylist())
        if dedup.dropped:
            self.note_quality(path, dedup.findings(f"{self.SOURCE}: {path}"))
        return typed

    def _check_table(self, raw: RawTable, path: Path) -> None:
        """A file of another archive table (a TOI list next to PSCompPars under one --data-dir) gets an error that
        says so and how to choose, rather than a missing-column error."""
        names = {n.lower() for n in raw.table.column_names}

        def missing(table: str) -> list[str]:
            return [c.name for c in TABLES[table]
                    if c.required and not any(a.lower() in names for a in (c.name, *c.aliases))]

        absent = missing(self.config.table)
        if not absent:
            return
        other = [t for t in TABLES if t != self.config.table and not missing(t)]
        if other:
            raise SourceFormatError(
                self.SOURCE, str(path), f"column {absent[0]}",
                f"missing required column {absent[0]!r}: this file holds the {other[0]!r} table, not "
                f"{self.config.table!r}; a data folder is read whole "
                f"(every {', '.join(p.removeprefix('**/') for p in self.FILE_PATTERNS[:3])} ... file in it), so keep "
                f"one table per folder, or prepare this table with --config table={other[0]}")


def planet_features() -> datasets.Features:
    """Features of the default (pscomppars) table's data columns (for joins in other modules)."""
    return datasets.Features({c.name: datasets.Value(c.dtype) for c in _PLANET_COLUMNS})
