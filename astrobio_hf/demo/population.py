"""The generated planet population of the demo sample: hosts, planets, what the catalog shows, which planet gets
which observation. Pure numpy/pandas, no I/O (the writers live in :mod:`.formats`); deterministic for a seed.

Recipe (every number is a field of :class:`PopulationConfig`):

1. Hosts: two fixed analogue systems first (``DEMO-SOL``, a solar twin with Venus/Earth/Mars/Jupiter analogues,
   and ``DEMO-M8``, a late-M dwarf with four temperate-to-hot rocky planets in the style of TRAPPIST-1), then random
   main-sequence stars: a fraction of M dwarfs (mass log-uniform 0.1-0.6 Msun), the rest FGK (normal around
   0.95 Msun). Radius and luminosity follow :mod:`.physics` with log-normal scatter (age and metallicity spread);
   Teff and log g follow from them, so ``L = R^2 (Teff/5772)^4`` holds exactly.
2. Planets per host: ``1 + Geometric`` (mean about 1.6), at most ``max_planets_per_host``. Each planet is either
   from a temperate-enriched sub-population (insolation log-uniform in ``temperate_insolation``; period from
   Kepler's law) or has a log-uniform period; a system is redrawn until neighbouring period ratios exceed
   ``min_period_ratio`` (dynamical spacing).
3. Radius from a mixture: rocky (log-normal around 1.25 Earth radii), sub-Neptune (around 2.4) and giant (normal
   around 11.5; rare around M dwarfs). Mass from the Chen & Kipping relation with log-normal scatter; giants get
   a log-uniform mass (0.3-10 Jupiter masses, the relation is flat there). Then ``a`` from Kepler's third law,
   ``S = L/a^2``, ``T_eq`` with Bond albedo 0.3, eccentricity from Beta(0.867, 3.03) (Kipping 2013) for single
   planets and Rayleigh(0.05) in multi-planet systems.
4. Discovery: a host is a Kepler transit host or a radial-velocity host. Transit-host planets with periods under
   ``max_transit_period_days`` transit (impact parameter uniform in [0, 0.9 (1 - k))); the others are RV
   detections with ``M sin i`` (isotropic inclination) and no radius, as in the archive.
5. What the catalog shows: pscomppars-style mass provenance (measured "Mass", "M-R relationship" for many transit
   planets, "Msini" for RV), and missing values at the configured rates, independent of the label (the analogue
   systems keep complete rows: they are the planets the demo names).
6. Observations, each assigned at random independently of the label (so a modality's presence does not give the
   label away): Kepler light curves for a fraction of transit hosts (all transiting planets of the host injected),
   transmission spectra for a fraction of transiting planets, a metabolic network for a fraction of planets, and
   an exoplanets.org entry for a fraction of planets (some with the name spelled differently).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import physics

#: The generator's name, written into every generated file.
GENERATOR = "astrobio-hf demo sample generator"
#: Kepler ids of generated stars start here: above the real Kepler Input Catalog's range (ids < 13,000,000), so a
#: generated light curve can never be mistaken for a real star's.
KIC_OFFSET = 900_000_000

RV_FACILITIES = ("La Silla Observatory", "W. M. Keck Observatory", "Haute-Provence Observatory",
                 "Calar Alto Observatory", "Roque de los Muchachos Observatory")


@dataclass(frozen=True)
class PopulationConfig:
    """Documented knobs of the generated population (defaults give about 16% habitable planets)."""

    m_dwarf_fraction: float = 0.35
    fgk_mass_mean: float = 0.95
    fgk_mass_sd: float = 0.18
    mass_range_msun: tuple[float, float] = (0.1, 1.4)
    radius_scatter_dex: float = 0.02  # log10 scatter around the main-sequence radius
    luminosity_scatter_dex: float = 0.04
    planets_per_host_p: float = 0.62  # geometric parameter: mean 1 / p planets per host
    max_planets_per_host: int = 6
    temperate_fraction: float = 0.42  # planets drawn from the temperate-enriched sub-population
    temperate_insolation: tuple[float, float] = (0.2, 1.8)  # S_earth, log-uniform
    period_range_days: tuple[float, float] = (0.5, 500.0)  # log-uniform, the other planets
    min_period_ratio: float = 1.3
    radius_mixture: tuple[float, float, float] = (0.48, 0.38, 0.14)  # rocky, sub-Neptune, giant (FGK hosts)
    m_dwarf_giant_fraction: float = 0.03
    bond_albedo: float = 0.3  # for T_eq (the label rule's default albedo)
    transit_host_fraction: float = 0.7
    max_transit_period_days: float = 400.0
    measured_mass_fraction: float = 0.4  # transit planets with a measured mass (the rest: M-R relationship)
    missing: dict[str, float] = field(default_factory=lambda: {
        "pl_orbsmax": 0.05, "pl_insol": 0.25, "pl_eqt": 0.35, "pl_bmasse": 0.04, "st_met": 0.12,
        "st_logg": 0.06, "sy_dist": 0.04, "st_mass": 0.03, "st_rad": 0.03, "st_teff": 0.015,
        "pl_orbeccen_transit": 0.6, "pl_orbeccen_rv": 0.1, "st_spectype": 0.55,
    })
    light_curve_host_fraction: float = 0.4
    spectrum_fraction: float = 0.25
    graph_fraction: float = 0.35
    exoplanets_org_fraction: float = 0.35
    name_variant_fraction: float = 0.3


@dataclass
class Population:
    """The generated hosts and planets: ``planets`` holds the catalog columns (NaN = not in the catalog) and the
    hidden truth (``true_*`` columns) plus the observation assignments."""

    hosts: pd.DataFrame
    planets: pd.DataFrame
    seed: int


# ------------------------------------------------------------------------------------------------ hosts


def _star(mass: float, rng: np.random.Generator | None, cfg: PopulationConfig) -> dict[str, float]:
    """A main-sequence star of ``mass`` (scatter in R and L when ``rng`` is given, none for the analogues)."""
    radius = float(physics.main_sequence_radius(mass))
    lum = float(physics.main_sequence_luminosity(mass))
    if rng is not None:
        radius *= 10 ** rng.normal(0.0, cfg.radius_scatter_dex)
        lum *= 10 ** rng.normal(0.0, cfg.luminosity_scatter_dex)
    teff = float(physics.effective_temperature(lum, radius))
    return {"st_mass": mass, "st_rad": radius, "st_lum": lum, "st_teff": teff,
            "st_logg": float(physics.surface_gravity(mass, radius))}


def _random_host_mass(rng: np.random.Generator, cfg: PopulationConfig) -> float:
    lo, hi = cfg.mass_range_msun
    if rng.random() < cfg.m_dwarf_fraction:
        return float(np.exp(rng.uniform(math.log(lo), math.log(0.6))))
    return float(np.clip(rng.normal(cfg.fgk_mass_mean, cfg.fgk_mass_sd), 0.6, hi))


def _sky_position(rng: np.random.Generator, kepler_field: bool) -> tuple[float, float]:
    """RA/Dec in degrees: the Kepler field (around RA 291, Dec +44) or isotropic."""
    if kepler_field:
        return float(rng.uniform(280.0, 301.0)), float(rng.uniform(37.0, 52.0))
    return float(rng.uniform(0.0, 360.0)), float(np.degrees(np.arcsin(rng.uniform(-1.0, 1.0))))


# ------------------------------------------------------------------------------------------------ planets


def _planet_radius_and_mass(rng: np.random.Generator, cfg: PopulationConfig, m_dwarf: bool) -> tuple[float, float, str]:
    rocky, sub_neptune, giant = cfg.radius_mixture
    if m_dwarf:
        giant = cfg.m_dwarf_giant_fraction
    weights = np.array([rocky, sub_neptune, giant]) / (rocky + sub_neptune + giant)
    kind = ("rocky", "sub_neptune", "giant")[int(rng.choice(3, p=weights))]
    if kind == "giant":
        radius = float(np.clip(rng.normal(11.5, 1.5), 8.0, 16.0))
        mass = float(np.exp(rng.uniform(math.log(0.3), math.log(10.0)))) / physics.EARTH_TO_JUPITER_MASS
        return radius, mass, kind
    if kind == "rocky":
        radius = float(np.clip(rng.lognormal(math.log(1.25), 0.22), 0.4, 2.0))
    else:
        radius = float(np.clip(rng.lognormal(math.log(2.4), 0.25), 1.6, 6.0))
    mass = float(physics.mass_from_radius(radius)) * float(rng.lognormal(0.0, 0.15))
    return radius, mass, kind


def _periods(rng: np.random.Generator, cfg: PopulationConfig, n: int, star: dict[str, float]
             ) -> list[tuple[float, bool]]:
    """``n`` (period, temperate-draw) pairs spaced by at least ``min_period_ratio`` (fewer if none fit)."""
    for _ in range(100):
        draws: list[tuple[float, bool]] = []
        for _ in range(n):
            if rng.random() < cfg.temperate_fraction:
                s = math.exp(rng.uniform(*np.log(cfg.temperate_insolation)))
                a = math.sqrt(star["st_lum"] / s)
                draws.append((float(physics.period_days(a, star["st_mass"])), True))
            else:
                draws.append((math.exp(rng.uniform(*np.log(cfg.period_range_days))), False))
        draws.sort()
        ratios = [b[0] / a[0] for a, b in zip(draws, draws[1:], strict=False)]
        if all(r >= cfg.min_period_ratio for r in ratios):
            return draws
    return draws[:1]


def _eccentricity(rng: np.random.Generator, n_in_system: int) -> float:
    if n_in_system == 1:
        return float(min(rng.beta(0.867, 3.03), 0.9))
    return float(min(rng.rayleigh(0.05), 0.8))


@dataclass(frozen=True)
class _Analogue:
    """A fixed analogue planet: name suffix, period or insolation, radius, mass, eccentricity, discovery."""

    suffix: str
    radius: float
    mass: float
    ecc: float
    transit: bool
    period: float | None = None
    insolation: float | None = None


# Solar-system values (NASA planetary fact sheet): period (d), radius and mass (Earth units), eccentricity.
_SOL = (_Analogue("b", 0.9499, 0.815, 0.0068, True, period=224.701),
        _Analogue("c", 1.0, 1.0, 0.0167, True, period=365.256),
        _Analogue("d", 0.532, 0.107, 0.0934, False, period=686.980),
        _Analogue("e", 11.209, 317.83, 0.0489, False, period=4332.59))
# TRAPPIST-1 b, e, f, g style planets (Agol et al. 2021 radii and insolations, rounded).
_M8 = (_Analogue("b", 1.116, 1.374, 0.0, True, insolation=4.15),
       _Analogue("c", 0.920, 0.692, 0.0, True, insolation=0.646),
       _Analogue("d", 1.045, 1.039, 0.0, True, insolation=0.373),
       _Analogue("e", 1.129, 1.321, 0.0, True, insolation=0.252))
ANALOGUE_SYSTEMS: dict[str, tuple[float, float, tuple[_Analogue, ...]]] = {
    # host name: (stellar mass, distance pc, planets)
    "DEMO-SOL": (1.0, 10.0, _SOL),
    "DEMO-M8": (0.1, 12.4, _M8),
}


def _planet_row(host: dict, index: int, period: float, radius: float, mass: float, kind: str, ecc: float,
                transits: bool, rng: np.random.Generator, cfg: PopulationConfig) -> dict:
    a = float(physics.semi_major_axis_au(period, host["st_mass"], mass))
    s = host["st_lum"] / a**2
    if transits:
        impact = float(rng.uniform(0.0, 0.9 * (1.0 - physics.radius_ratio(radius, host["st_rad"]))))
        cos_i = physics.cos_inclination(impact, a, host["st_rad"])
    else:
        impact = float("nan")
        cos_i = float(rng.uniform(0.0, 1.0))
    return {
        "pl_name": f"{host['hostname']} {chr(ord('b') + index)}", "hostname": host["hostname"],
        "true_period": period, "true_a": a, "true_radius": radius, "true_mass": mass, "population": kind,
        "true_insol": s, "true_eqt": float(physics.equilibrium_temperature_k(s, cfg.bond_albedo)),
        "true_ecc": ecc, "transits": transits, "impact": impact, "sin_i": math.sqrt(1.0 - cos_i**2),
    }


def _hosts_and_planets(rng: np.random.Generator, cfg: PopulationConfig, n_hosts: int
                       ) -> tuple[list[dict], list[dict]]:
    hosts: list[dict] = []
    planets: list[dict] = []
    for name, (mass, dist, analogues) in ANALOGUE_SYSTEMS.items():
        if len(hosts) >= n_hosts:
            break
        host = {"hostname": name, **_star(mass, None, cfg), "st_met": 0.0, "sy_dist": dist,
                "kind": "transit", "analogue": True}
        host["ra"], host["dec"] = _sky_position(rng, kepler_field=True)
        hosts.append(host)
        for i, planet in enumerate(analogues):
            period = planet.period
            if period is None:
                period = float(physics.period_days(math.sqrt(host["st_lum"] / planet.insolation), mass, planet.mass))
            row = _planet_row(host, i, period, planet.radius, planet.mass,
                              "rocky" if planet.radius < 1.6 else "giant", planet.ecc, planet.transit, rng, cfg)
            planets.append(row)
    for h in range(len(hosts), n_hosts):
        star = _star(_random_host_mass(rng, cfg), rng, cfg)
        kind = "transit" if rng.random() < cfg.transit_host_fraction else "rv"
        host = {"hostname": f"DEMO-{h:04d}", **star, "st_met": float(rng.normal(0.0, 0.2)),
                "sy_dist": float(np.exp(rng.uniform(math.log(8.0), math.log(1500.0 if kind == "transit" else 150.0)))),
                "kind": kind, "analogue": False}
        host["ra"], host["dec"] = _sky_position(rng, kepler_field=kind == "transit")
        hosts.append(host)
        n = min(int(rng.geometric(cfg.planets_per_host_p)), cfg.max_planets_per_host)
        draws = _periods(rng, cfg, n, star)
        for i, (period, _) in enumerate(draws):
            radius, mass, pop = _planet_radius_and_mass(rng, cfg, star["st_mass"] < 0.6)
            transits = kind == "transit" and period < cfg.max_transit_period_days
            planets.append(_planet_row(host, i, period, radius, mass, pop, _eccentricity(rng, len(draws)),
                                       transits, rng, cfg))
    return hosts, planets


# ------------------------------------------------------------------------------------------------ catalog view


def _catalog_columns(planets: pd.DataFrame, hosts: pd.DataFrame, rng: np.random.Generator,
                     cfg: PopulationConfig) -> pd.DataFrame:
    """The columns the NASA table shows (NaN where the archive would have no value)."""
    n = len(planets)
    host = hosts.set_index("hostname").loc[planets["hostname"]].reset_index()
    out = pd.DataFrame({"pl_name": planets["pl_name"], "hostname": planets["hostname"]})
    transit = planets["transits"].to_numpy()
    analogue = host["analogue"].to_numpy(dtype=bool)  # the showcase planets keep complete rows
    miss = {k: (rng.random(n) < v) & ~analogue for k, v in cfg.missing.items()}

    out["discoverymethod"] = np.where(transit, "Transit", "Radial Velocity")
    out["disc_facility"] = np.where(transit, "Kepler", rng.choice(RV_FACILITIES, n))
    out["disc_year"] = np.where(transit, rng.integers(2010, 2019, n), rng.integers(1996, 2024, n))
    out["pl_orbper"] = planets["true_period"]
    out["pl_orbsmax"] = planets["true_a"].where(~miss["pl_orbsmax"])
    out["pl_rade"] = planets["true_radius"].where(transit)
    measured = rng.random(n) < cfg.measured_mass_fraction
    giant = (planets["population"] == "giant").to_numpy()
    prov = np.where(~transit, "Msini", np.where(measured | giant, "Mass", "M-R relationship"))
    mass = np.where(prov == "Msini", planets["true_mass"] * planets["sin_i"],
                    np.where(prov == "Mass", planets["true_mass"], physics.mass_from_radius(planets["true_radius"])))
    no_mass = miss["pl_bmasse"] & (prov == "M-R relationship")  # some transit planets without any mass
    out["pl_bmasse"] = np.where(no_mass, np.nan, mass)
    out["pl_bmassprov"] = np.where(no_mass, None, prov)
    ecc_missing = np.where(transit, miss["pl_orbeccen_transit"], miss["pl_orbeccen_rv"])
    out["pl_orbeccen"] = planets["true_ecc"].where(~ecc_missing)
    for col in ("st_teff", "st_rad", "st_mass", "st_met", "st_logg", "sy_dist"):
        out[col] = host[col].where(~miss[col]).to_numpy()
    out["st_lum"] = host["st_lum"].to_numpy()  # not a pscomppars column written here; kept for the writers
    out["pl_insol"] = planets["true_insol"].where(~miss["pl_insol"])
    out["pl_eqt"] = planets["true_eqt"].where(~miss["pl_eqt"])
    out["st_spectype"] = [None if m else physics.spectral_type(t)
                          for m, t in zip(miss["st_spectype"], host["st_teff"], strict=True)]
    out["ra"], out["dec"] = host["ra"].to_numpy(), host["dec"].to_numpy()
    out["sy_pnum"] = planets.groupby("hostname")["pl_name"].transform("size").to_numpy()
    return out


def _assign_observations(planets: pd.DataFrame, hosts: pd.DataFrame, rng: np.random.Generator,
                         cfg: PopulationConfig) -> None:
    """Light-curve hosts (with KIC ids), spectra, graphs and exoplanets.org entries, in place, label-blind."""
    transit_hosts = sorted(set(planets.loc[planets["transits"], "hostname"]))
    chosen = {h for h in transit_hosts if rng.random() < cfg.light_curve_host_fraction}
    hosts["light_curve"] = hosts["hostname"].isin(chosen)
    hosts["kic"] = [KIC_OFFSET + i if lc else -1 for i, lc in enumerate(hosts["light_curve"])]
    n = len(planets)
    planets["spectrum"] = planets["transits"].to_numpy() & (rng.random(n) < cfg.spectrum_fraction)
    planets["graph"] = rng.random(n) < cfg.graph_fraction
    planets["graph_choice"] = rng.integers(0, 1_000_000, n)  # picks a model from whatever list the writer gets
    planets["exoplanets_org"] = rng.random(n) < cfg.exoplanets_org_fraction
    planets["name_variant"] = planets["exoplanets_org"] & (rng.random(n) < cfg.name_variant_fraction)
    # per-planet parameters of the generated observations
    planets["transit_epoch_frac"] = rng.random(n)  # epoch as a fraction of the period after the quarter start
    planets["cloud_factor"] = rng.uniform(0.2, 1.0, n)
    planets["spectrum_noise_ppm"] = np.exp(rng.uniform(math.log(20.0), math.log(120.0), n))


def generate_population(seed: int = 0, n_hosts: int = 250, config: PopulationConfig | None = None) -> Population:
    """The demo population for ``seed``: ``n_hosts`` hosts (the two analogue systems first) and their planets."""
    if n_hosts < 1:
        raise ValueError(f"n_hosts must be >= 1, not {n_hosts}")
    cfg = config or PopulationConfig()
    rng = np.random.default_rng(seed)
    host_rows, planet_rows = _hosts_and_planets(rng, cfg, n_hosts)
    hosts = pd.DataFrame(host_rows)
    planets = pd.DataFrame(planet_rows)
    catalog = _catalog_columns(planets, hosts, rng, cfg)
    planets = pd.concat([planets, catalog.drop(columns=["pl_name", "hostname"])], axis=1)
    _assign_observations(planets, hosts, rng, cfg)
    return Population(hosts=hosts, planets=planets, seed=seed)
