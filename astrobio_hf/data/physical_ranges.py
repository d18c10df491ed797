"""The one declarative table of physical ranges and units every builder and modality checks against.

A :class:`PhysicalRange` says, for one field of one table or modality, its unit, the interval of
physically possible values, and what happens to a value outside it:

* ``"reject"``: the archive never legitimately holds such a value (a negative orbital period, an
  effective temperature of ``inf``): the file is refused with an error naming file, row and field;
* ``"mask"``: the archive does hold such values as fill or flags (a light-curve cadence at
  3.4e38, SPOC's float fill value): the value is masked (set missing) and counted in the report.

``NaN`` is "missing" in every table (masked and counted); ``inf`` and out-of-range values follow
the rule's policy. The table is documented in ``docs/data.md`` ("Physical ranges"); builders call
:func:`check_table` (Arrow tables) or :func:`screen` (NumPy arrays), never a copy of the bounds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Policy = Literal["reject", "mask"]

#: float32's largest finite value: model inputs are float32, anything beyond overflows to inf.
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class PhysicalRange:
    """Possible values of one field: ``low``/``high`` bounds (``None``: open), unit, policy, why."""

    field: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    policy: Policy = "reject"
    why: str = ""

    def describe(self) -> str:
        """``(0, inf) days``-style text of the interval (for messages and docs)."""
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        left = "[" if self.low is not None and self.low_inclusive else "("
        right = "]" if self.high is not None and self.high_inclusive else ")"
        return f"{left}{lo}, {hi}{right}" + (f" {self.unit}" if self.unit else "")

    def outside(self, values: np.ndarray) -> np.ndarray:
        """Boolean array: finite values outside the interval, and every infinite value."""
        values = np.asarray(values, dtype=np.float64)
        bad = np.isinf(values)
        with np.errstate(invalid="ignore"):
            if self.low is not None:
                bad |= values < self.low if self.low_inclusive else values <= self.low
            if self.high is not None:
                bad |= values > self.high if self.high_inclusive else values >= self.high
        return bad & ~np.isnan(values)


def _r(field: str, unit: str = "", low: float | None = None, high: float | None = None, **kw) -> PhysicalRange:
    return PhysicalRange(field, unit, low, high, **kw)


_POSITIVE = {"low": 0.0, "low_inclusive": False}
_TEFF = "brown-dwarf hosts (~300 K) to the hottest O stars and white dwarfs (~60,000 K)"
_LOGG = "supergiants (about -1) to white dwarfs (about 9)"
_CATALOG: tuple[PhysicalRange, ...] = (
    _r("pl_orbper", "days", **_POSITIVE, why="an orbit takes positive time"),
    _r("koi_period", "days", **_POSITIVE, why="an orbit takes positive time"),
    _r("pl_orbsmax", "au", **_POSITIVE),
    # the largest known planets are ~2-3 Jupiter radii; the catalog holds young, inflated companions up to 6.9 RJ
    # (77 RE): 100 RE = 8.9 RJ leaves that margin and refuses a unit slip (1e30, a radius in km)
    _r("pl_rade", "Earth radius", 0.0, 100.0, low_inclusive=False, why="planets are below ~9 Jupiter radii"),
    _r("pl_radj", "Jupiter radius", 0.0, 8.9, low_inclusive=False, why="planets are below ~9 Jupiter radii"),
    _r("koi_prad", "Earth radius", **_POSITIVE),
    _r("pl_bmasse", "Earth mass", **_POSITIVE), _r("pl_bmassj", "Jupiter mass", **_POSITIVE),
    _r("pl_orbeccen", "", 0.0, 1.0, high_inclusive=False, policy="mask",
       why="a bound orbit has 0 <= e < 1; the archive holds a published e = -0.011 (masked)"),
    _r("pl_insol", "Earth flux", 0.0), _r("koi_insol", "Earth flux", 0.0),
    _r("pl_eqt", "K", **_POSITIVE), _r("koi_teq", "K", **_POSITIVE),
    _r("st_teff", "K", 300.0, 60000.0, why=_TEFF), _r("koi_steff", "K", 300.0, 60000.0, why=_TEFF),
    _r("st_logg", "log10(cm/s**2)", -1.0, 9.5, why=_LOGG), _r("koi_slogg", "log10(cm/s**2)", -1.0, 9.5, why=_LOGG),
    _r("st_met", "dex", -5.0, 1.5, why="[Fe/H] of known stars: -5 (the most metal-poor) to about +1"),
    _r("st_rad", "Solar radius", **_POSITIVE), _r("koi_srad", "Solar radius", **_POSITIVE),
    _r("st_mass", "Solar mass", **_POSITIVE),
    _r("ra", "deg", 0.0, 360.0), _r("dec", "deg", -90.0, 90.0),
    _r("sy_dist", "pc", **_POSITIVE), _r("st_dist", "pc", **_POSITIVE),
    _r("sy_snum", "", 1.0), _r("sy_pnum", "", 1.0),
    _r("disc_year", "yr", 1900.0, 2100.0, why="exoplanet discoveries are dated 1900-2100"),
    _r("pl_trandurh", "hours", 0.0), _r("pl_trandep", "ppm", 0.0, 1e6),
)

_PERCENT = "a fraction of the genome, 0-100% (GTDB writes percentages to 2 decimals)"
_EOD_PLACEHOLDER = {"low": 0.0, "low_inclusive": False, "policy": "mask",
                    "why": "the Exoplanet Orbit Database writes 0 for an unknown value"}
_EXOPLANETS_ORG: tuple[PhysicalRange, ...] = (
    _r("per", "day", **_POSITIVE, why="an orbit takes positive time"),
    _r("a", "au", **_EOD_PLACEHOLDER), _r("msini", "Jupiter mass", **_EOD_PLACEHOLDER),
    _r("r", "Jupiter radius", **{**_EOD_PLACEHOLDER, "high": 8.9}),
    _r("teff", "K", **{**_EOD_PLACEHOLDER, "high": 60000.0}),
    _r("logg", "log10(cm/s**2)", -1.0, 9.5, policy="mask", why=_LOGG),
    _r("fe", "dex", -5.0, 1.5, policy="mask", why="[Fe/H] of known stars"),
    _r("rstar", "Solar radius", **_EOD_PLACEHOLDER), _r("mstar", "Solar mass", **_EOD_PLACEHOLDER),
    _r("dist", "pc", **_EOD_PLACEHOLDER),
    _r("ecc", "", 0.0, 1.0, high_inclusive=False, why="a bound orbit has 0 <= e < 1"),
    _r("ra", "hours", 0.0, 24.0), _r("dec", "deg", -90.0, 90.0),
)

#: table or modality -> its ranges (the single source of truth; docs/data.md mirrors it)
RANGES: dict[str, tuple[PhysicalRange, ...]] = {
    "planet_catalog": _CATALOG,
    "exoplanets_org": _EXOPLANETS_ORG,
    "light_curve": (
        _r("TIME", "d (BKJD/BTJD)", -1e5, 1e5, policy="mask",
           why="mission-relative days; SPOC writes NaN or fill values for cadences without a time"),
        _r("FLUX", "e-/s", -1e12, 1e12, policy="mask",
           why="float fill values such as 3.4e38 stand for no measurement"),
        _r("FLUX_ERR", "e-/s", 0.0, 1e12, policy="mask", why="an uncertainty is non-negative"),
        _r("CADENCENO", "", 0.0, why="cadence numbers count up from the mission start (strictly increasing)"),
    ),
    "gtdb": (
        _r("checkm_completeness", "%", 0.0, 100.0, why=_PERCENT), _r("checkm2_completeness", "%", 0.0, 100.0,
                                                                       why=_PERCENT),
        # CheckM contamination counts repeated marker genes and exceeds 100% for mixed bins: no upper bound
        _r("checkm_contamination", "%", 0.0), _r("checkm2_contamination", "%", 0.0),
        _r("gc_percentage", "%", 0.0, 100.0, why=_PERCENT), _r("coding_density", "%", 0.0, 100.0, why=_PERCENT),
        _r("genome_size", "bp", **_POSITIVE), _r("contig_count", "", 1.0), _r("n50_contigs", "bp", **_POSITIVE),
        _r("protein_count", "", 0.0), _r("ssu_count", "", 0.0), _r("trna_count", "", 0.0),
    ),
    "spectrum": (
        _r("wavelength", "um", 1e-6, 1e6, low_inclusive=False, policy="mask", why="X-ray to radio, positive"),
        _r("value", "", -FLOAT32_MAX, FLOAT32_MAX, policy="mask", why="model inputs are float32"),
        _r("error", "", 0.0, FLOAT32_MAX, policy="mask", why="an uncertainty is non-negative"),
        _r("depth", "ppm", -1000.0, 1e6, policy="mask",
           why="a transit/eclipse depth is below 100%; noise takes a measured one below 0 by ~1e2 ppm, not more"),
    ),
    "jwst_spectrum": (
        _r("wavelength", "um", 0.3, 30.0, why="JWST observes 0.6-28.5 um (HST/Spitzer points in published "
           "compilations reach 0.3 um); values beyond are another unit (nm) read as microns"),
    ),
    "protein": (
        _r("length", "aa", 1.0, 1e6, why="a protein has at least one residue (titin: 35k)"),
        _r("mass", "Da", 0.0, 1e8, low_inclusive=False),
    ),
    "genbank_feature": (
        _r("start", "bp (0-based)", 0.0, why="positions lie on the record (end <= record length, checked too)"),
        _r("end", "bp", 0.0),
    ),
    "metabolic": (
        _r("stoichiometry", "", -1e6, 1e6,
           why="coefficients of real models are < 1e4 in size; larger overflow float32 products"),
        _r("bound", "mmol/gDW/h", -1e6, 1e6, policy="mask", why="cobra writes +-1000 for unbounded; inf is open"),
    ),
    "climate": (
        _r("ta", "K", 0.0, 1e4, low_inclusive=False, why="absolute temperature (degC and degF are converted)"),
        _r("tas", "K", 0.0, 1e4, low_inclusive=False),
        _r("ts", "K", 0.0, 1e4, low_inclusive=False),
        _r("hus", "kg/kg", 0.0, 1.0, why="specific humidity is a mass fraction"),
        _r("hur", "%", 0.0, 200.0, why="relative humidity (supersaturation allowed)"),
        _r("pr", "kg m-2 s-1", 0.0),
        _r("clt", "%", 0.0, 100.0),
    ),
}


def rule(table: str, field: str) -> PhysicalRange | None:
    """The range declared for ``field`` of ``table`` (``None`` when none is)."""
    return next((r for r in RANGES.get(table, ()) if r.field == field), None)


class PhysicalRangeError(ValueError):
    """A value no archive legitimately holds (the message names where and the allowed range)."""


def first_violation(values: np.ndarray, spec: PhysicalRange) -> int | None:
    """Index of the first value outside ``spec`` (``None``: all possible)."""
    bad = np.flatnonzero(spec.outside(values))
    return int(bad[0]) if bad.size else None


def violation_text(spec: PhysicalRange, value: float) -> str:
    """``value inf is outside the possible range (0, 1e+06) K of st_teff``."""
    reason = f" ({spec.why})" if spec.why else ""
    value = value.item() if isinstance(value, np.generic) else value  # 352.37, not np.float64(352.37)
    return f"value {value!r} of {spec.field} is outside its possible range {spec.describe()}{reason}"


def screen(values: np.ndarray, spec: PhysicalRange, where: str) -> tuple[np.ndarray, int]:
    """NumPy version: ``(values with masked entries set to NaN, how many were masked)``.

    A ``reject`` rule raises :class:`PhysicalRangeError` naming ``where`` and the element index.
    """
    values = np.asarray(values, dtype=np.float64)
    bad = spec.outside(values)
    if not bad.any():
        return values, 0
    if spec.policy == "reject":
        index = int(np.flatnonzero(bad)[0])
        raise PhysicalRangeError(f"{where}, element {index}: {violation_text(spec, float(values[index]))}")
    out = values.copy()
    out[bad] = np.nan
    return out, int(bad.sum())


def check_table(table: pa.Table, table_name: str, *, error: Callable[[int, str, str], Exception],
                counts: dict[str, int] | None = None) -> pa.Table:
    """Apply :data:`RANGES` ``[table_name]`` to the float/int columns of an Arrow table.

    ``error(row, field, message)`` builds the exception for a ``reject`` violation (so the caller
    names its file and row location). NaN cells become null and are counted under
    ``"<field>: NaN"``; masked out-of-range cells under ``"<field>: outside <range>"``.
    """
    counts = counts if counts is not None else {}
    for spec in RANGES.get(table_name, ()):
        if spec.field not in table.column_names:
            continue
        column = table.column(spec.field).combine_chunks()
        if not (pa.types.is_floating(column.type) or pa.types.is_integer(column.type)):
            continue
        values = column.to_numpy(zero_copy_only=False).astype(np.float64)  # nulls -> NaN
        nan = np.isnan(values) & column.is_valid().to_numpy(zero_copy_only=False)
        bad = spec.outside(values)
        if bad.any() and spec.policy == "reject":
            row = int(np.flatnonzero(bad)[0])
            raise error(row, spec.field, violation_text(spec, float(values[row])))
        drop = nan | bad
        if drop.any():
            if nan.any():
                counts[f"{spec.field}: NaN"] = counts.get(f"{spec.field}: NaN", 0) + int(nan.sum())
            if bad.any():
                key = f"{spec.field}: outside {spec.describe()}"
                counts[key] = counts.get(key, 0) + int(bad.sum())
            masked = pc.if_else(pa.array(drop), pa.scalar(None, column.type), column)
            table = table.set_column(table.column_names.index(spec.field), spec.field, masked)
    for name in table.column_names:  # NaN in any other float column is missing too
        column = table.column(name).combine_chunks()
        if pa.types.is_floating(column.type) and rule(table_name, name) is None:
            nan = pc.fill_null(pc.is_nan(column), False)
            if pc.any(nan).as_py():
                counts[f"{name}: NaN"] = counts.get(f"{name}: NaN", 0) + pc.sum(nan).as_py()
                table = table.set_column(table.column_names.index(name), name,
                                         pc.if_else(nan, pa.scalar(None, column.type), column))
            inf = pc.fill_null(pc.is_inf(column), False)
            if pc.any(inf).as_py():
                row = pc.index(inf, True).as_py()
                raise error(row, name, f"value {column[row].as_py()!r} of {name} is not finite")
    return table


def ranges_markdown(tables: Mapping[str, tuple[PhysicalRange, ...]] | None = None) -> str:
    """The table as Markdown (docs/data.md is generated from this; a test keeps them in step)."""
    lines = ["| table | field | unit | possible values | outside |", "|---|---|---|---|---|"]
    for name, specs in (tables or RANGES).items():
        for spec in specs:
            interval = spec.describe()
            if spec.unit:
                interval = interval[: -len(spec.unit) - 1]
            lines.append(f"| {name} | {spec.field} | {spec.unit} | {interval} | {spec.policy} |")
    return "\n".join(lines)
