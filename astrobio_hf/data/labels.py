"""Habitability labels from physics: Kopparapu et al. (2014) habitable-zone limits.

Facts used (../shared/docs/SOURCES.md, "Science facts"):

* HZ stellar-flux limits (Kopparapu et al. 2014, ApJL 787, L29; 1 Earth mass), valid for
  2600 K <= Teff <= 7200 K: ``S_eff = S0 + a T + b T^2 + c T^3 + d T^4`` with ``T = Teff - 5780 K``,
  in units of the solar flux at Earth (the unit of the NASA archive's ``pl_insol``).
* Insolation when ``pl_insol`` is missing: ``L/Lsun = (R/Rsun)^2 (Teff/5772 K)^4`` and ``S = L / a^2``.
* Equilibrium temperature (full redistribution): ``T_eq = 278.6 K (S (1 - A))^(1/4)``.

Default rule (:class:`LabelRule`, every threshold configurable):

* ``hz_class`` = "too hot" when S > the inner limit (runaway greenhouse), "too cold" when
  S < the outer limit (maximum greenhouse), else "temperate";
* ``habitability`` = 1 when temperate and likely rocky (radius <= 1.6 Earth radii, or, when the
  radius is missing, mass <= 10 Earth masses; the archive's mass may be M sin i, a lower bound);
  0 when temperate and not rocky, or when too hot / too cold (whatever the size);
* ``rocky`` = the size half of the rule on its own, for every planet with a radius or mass (1 rocky, 0 not, ``None``
  with neither), whatever its insolation: the label of the factorised habitability head's size factor;
* no label (``None``) when the host's Teff is missing or outside the valid range, when S cannot be
  had, or when a temperate planet has neither radius nor mass. Such planets are counted with their
  reason by :func:`label_table`, never dropped silently.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

T_REF_K = 5780.0  # Kopparapu et al. (2014) reference temperature of the polynomial
SOLAR_TEFF_K = 5772.0  # nominal solar Teff (IAU 2015 B3) for the luminosity fallback
T_EQ_COEFF_K = 278.6  # T_eq of a black body at 1 AU from the Sun, full redistribution

TOO_HOT, TEMPERATE, TOO_COLD = "too hot", "temperate", "too cold"
HZ_CLASSES = (TOO_HOT, TEMPERATE, TOO_COLD)


@dataclass(frozen=True)
class HZLimit:
    """One Kopparapu et al. (2014) flux limit: S_eff(Teff) = S0 + a T + b T^2 + c T^3 + d T^4."""

    name: str
    s0: float
    a: float
    b: float
    c: float
    d: float

    def s_eff(self, teff: float) -> float:
        """Effective stellar flux of the limit, in units of the solar flux at Earth."""
        t = teff - T_REF_K
        return self.s0 + self.a * t + self.b * t**2 + self.c * t**3 + self.d * t**4


KOPPARAPU_2014: dict[str, HZLimit] = {
    "recent_venus": HZLimit("recent_venus", 1.776, 2.136e-4, 2.533e-8, -1.332e-11, -3.097e-15),
    "runaway_greenhouse": HZLimit("runaway_greenhouse", 1.107, 1.332e-4, 1.580e-8, -8.308e-12, -1.931e-15),
    "maximum_greenhouse": HZLimit("maximum_greenhouse", 0.356, 6.171e-5, 1.698e-9, -3.198e-12, -5.575e-16),
    "early_mars": HZLimit("early_mars", 0.320, 5.547e-5, 1.526e-9, -2.874e-12, -5.011e-16),
}


@dataclass(frozen=True)
class LabelRule:
    """Thresholds of the default labelling rule (conservative HZ, rocky by radius or mass)."""

    inner: str = "runaway_greenhouse"
    outer: str = "maximum_greenhouse"
    max_radius_earth: float = 1.6
    max_mass_earth: float = 10.0
    teff_min_k: float = 2600.0
    teff_max_k: float = 7200.0
    bond_albedo: float = 0.3  # Earth-like Bond albedo for T_eq

    def __post_init__(self) -> None:
        for name in (self.inner, self.outer):
            if name not in KOPPARAPU_2014:
                raise ValueError(f"unknown HZ limit {name!r}; choose from {sorted(KOPPARAPU_2014)}")
        if not 0.0 <= self.bond_albedo < 1.0:
            raise ValueError("bond_albedo must be in [0, 1)")


DEFAULT_RULE = LabelRule()


@dataclass
class PlanetLabel:
    """The label of one planet, with the quantities it came from and why it is missing, if it is."""

    habitability: int | None
    hz_class: str | None
    insolation: float | None
    insolation_source: str  # "pl_insol", "computed" or ""
    t_eq: float | None
    reason: str = ""  # why habitability is None ("" when labelled)
    rocky: int | None = None  # the size criterion alone (None: neither radius nor mass)


def _value(x: Any) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def hz_flux_limits(teff: float, limits: Mapping[str, HZLimit] = KOPPARAPU_2014) -> dict[str, float]:
    """S_eff of every limit for a star of ``teff`` kelvin (no range check: see :class:`LabelRule`)."""
    return {name: limit.s_eff(teff) for name, limit in limits.items()}


def luminosity_lsun(st_rad: float, st_teff: float) -> float:
    """L/Lsun = (R/Rsun)^2 (Teff / 5772 K)^4."""
    return st_rad**2 * (st_teff / SOLAR_TEFF_K) ** 4


def insolation_from_star(st_rad: float, st_teff: float, a_au: float) -> float:
    """S = L / a^2 in units of the solar flux at Earth (a in AU)."""
    return luminosity_lsun(st_rad, st_teff) / a_au**2


def equilibrium_temperature(insolation: float, bond_albedo: float = DEFAULT_RULE.bond_albedo) -> float:
    """T_eq = 278.6 K (S (1 - A))^(1/4) with full heat redistribution."""
    return T_EQ_COEFF_K * (insolation * (1.0 - bond_albedo)) ** 0.25


def insolation(pl_insol: Any = None, st_rad: Any = None, st_teff: Any = None,
               pl_orbsmax: Any = None) -> tuple[float | None, str]:
    """(S, source): the catalog's ``pl_insol`` if present, else computed from L and a, else (None, "")."""
    s = _value(pl_insol)
    if s is not None and s > 0:
        return s, "pl_insol"
    r, t, a = _value(st_rad), _value(st_teff), _value(pl_orbsmax)
    if r and t and a and r > 0 and t > 0 and a > 0:
        return insolation_from_star(r, t, a), "computed"
    return None, ""


def rocky_by_size(pl_rade: Any = None, pl_bmasse: Any = None, rule: LabelRule = DEFAULT_RULE) -> int | None:
    """The rule's size criterion: 1 when radius <= max_radius_earth (or, without a radius, mass <= max_mass_earth),
    0 when larger, None with neither."""
    radius, mass = _value(pl_rade), _value(pl_bmasse)
    if radius is not None:
        return int(radius <= rule.max_radius_earth)
    if mass is not None:
        return int(mass <= rule.max_mass_earth)
    return None


def label_planet(*, st_teff: Any, pl_insol: Any = None, st_rad: Any = None, pl_orbsmax: Any = None,
                 pl_rade: Any = None, pl_bmasse: Any = None, rule: LabelRule = DEFAULT_RULE) -> PlanetLabel:
    """Label one planet from NASA-archive-style parameters (see the module docstring for the rule)."""
    s, s_source = insolation(pl_insol, st_rad, st_teff, pl_orbsmax)
    t_eq = equilibrium_temperature(s, rule.bond_albedo) if s is not None else None
    rocky = rocky_by_size(pl_rade, pl_bmasse, rule)
    teff = _value(st_teff)
    if teff is None:
        return PlanetLabel(None, None, s, s_source, t_eq, "no st_teff", rocky)
    if not rule.teff_min_k <= teff <= rule.teff_max_k:
        return PlanetLabel(None, None, s, s_source, t_eq,
                           f"st_teff outside {rule.teff_min_k:g}-{rule.teff_max_k:g} K", rocky)
    if s is None:
        return PlanetLabel(None, None, None, "", None, "no insolation (pl_insol, or st_rad + pl_orbsmax)", rocky)
    inner = KOPPARAPU_2014[rule.inner].s_eff(teff)
    outer = KOPPARAPU_2014[rule.outer].s_eff(teff)
    hz_class = TOO_HOT if s > inner else TOO_COLD if s < outer else TEMPERATE
    if hz_class != TEMPERATE:
        return PlanetLabel(0, hz_class, s, s_source, t_eq, rocky=rocky)
    if rocky is None:
        return PlanetLabel(None, hz_class, s, s_source, t_eq, "temperate but no radius or mass")
    return PlanetLabel(rocky, hz_class, s, s_source, t_eq, rocky=rocky)


@dataclass
class LabelReport:
    """Labels of a table (one entry per input row, same order) and the counts, reasons included."""

    labels: list[PlanetLabel] = field(default_factory=list)

    @property
    def habitability(self) -> list[int | None]:
        return [lab.habitability for lab in self.labels]

    @property
    def hz_class(self) -> list[str | None]:
        return [lab.hz_class for lab in self.labels]

    @property
    def rocky(self) -> list[int | None]:
        return [lab.rocky for lab in self.labels]

    def counts(self) -> dict[str, Any]:
        """``total``, ``labelled``, ``unlabelled``, ``habitable``, ``not_habitable``, ``hz_class``, ``reasons``."""
        hab = Counter(lab.habitability for lab in self.labels)
        return {
            "total": len(self.labels),
            "labelled": hab[0] + hab[1],
            "unlabelled": hab[None],
            "habitable": hab[1],
            "not_habitable": hab[0],
            "hz_class": dict(Counter(lab.hz_class for lab in self.labels if lab.hz_class is not None)),
            "rocky": dict(Counter({1: "rocky", 0: "not rocky", None: "no size"}[lab.rocky] for lab in self.labels)),
            "insolation_source": dict(Counter(lab.insolation_source or "none" for lab in self.labels)),
            "reasons": dict(Counter(lab.reason for lab in self.labels if lab.habitability is None)),
        }


_INPUTS = ("st_teff", "pl_insol", "st_rad", "pl_orbsmax", "pl_rade", "pl_bmasse")


def label_table(table: Iterable[Mapping[str, Any]] | Mapping[str, Sequence[Any]],
                rule: LabelRule = DEFAULT_RULE) -> LabelReport:
    """Label every row of a table with NASA archive column names (missing columns count as missing).

    ``table``: rows (dicts, a ``datasets.Dataset``) or columns (``{"st_teff": [...], ...}``, a
    ``Dataset[:]`` slice, ``DataFrame.to_dict("list")``).
    """
    if isinstance(table, Mapping):
        n = len(next(iter(table.values()))) if table else 0
        cols = {k: list(table[k]) if k in table else [None] * n for k in _INPUTS}
        records: Iterable[Mapping[str, Any]] = ({k: cols[k][i] for k in _INPUTS} for i in range(n))
    else:
        records = table
    report = LabelReport()
    for row in records:
        report.labels.append(label_planet(**{k: row.get(k) for k in _INPUTS}, rule=rule))
    return report


def add_labels(dataset, rule: LabelRule = DEFAULT_RULE):
    """A ``datasets.Dataset`` with ``habitability``, ``hz_class``, ``insolation``, ``t_eq`` columns, + report."""
    import datasets

    columns = dataset.select_columns([c for c in _INPUTS if c in dataset.column_names])[:]
    report = label_table(columns if columns else {"st_teff": [None] * dataset.num_rows}, rule)
    new = {
        "habitability": (report.habitability, datasets.Value("int8")),
        "hz_class": (report.hz_class, datasets.Value("string")),
        "insolation": ([lab.insolation for lab in report.labels], datasets.Value("float64")),
        "t_eq": ([lab.t_eq for lab in report.labels], datasets.Value("float64")),
    }
    for name, (values, feature) in new.items():
        dataset = dataset.add_column(name, values, feature=feature)
    return dataset, report
