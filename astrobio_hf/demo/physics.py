"""Physics of the generated part of the demo sample: stars, orbits, planets, transits, transmission spectra.

Every relation here is a textbook approximation, chosen so the generated catalog is internally consistent
(the same identities the label code and the tests check) rather than a precise stellar or planetary model:

* main-sequence star of mass M (solar units): ``R = M^0.8`` (M <= 1) or ``M^0.57`` (M > 1) and the piecewise
  mass-luminosity relation ``L = 0.23 M^2.3`` (M < 0.43), ``M^4`` (0.43 <= M < 2), ``1.4 M^3.5`` (M >= 2)
  (Duric 2004, *Advanced Astrophysics*, sect. 1.5); Teff from ``L = R^2 (Teff / 5772 K)^4`` (IAU 2015 B3 nominal
  solar values, the identity :func:`astrobio_hf.data.labels.luminosity_lsun` uses) and ``log g = log10(G M / R^2)``;
* Kepler's third law with the planet's mass, ``a^3 = G (M* + Mp) P^2 / (4 pi^2)`` (astropy constants);
* planet mass from radius: the Chen & Kipping (2017, ApJ 834, 17) power laws, ``R = M^0.279`` (Terran, M < 2.04
  Earth masses) and ``R = 1.22 (M / 2.04)^0.589`` (Neptunian, up to 131.6 Earth masses), inverted; giants use the
  Jovian branch, which is flat in radius, so their mass is drawn separately (see :mod:`.population`);
* insolation ``S = L / a^2`` and ``T_eq = 278.6 K (S (1 - A))^(1/4)`` (the label module's functions);
* transits: a trapezoid (no limb darkening, a Mandel-Agol-free model): depth ``k^2`` with ``k = Rp/R*``, total and
  flat durations from the circular-orbit formulas of Seager & Mallen-Ornelas (2003, ApJ 585, 1038), averaged over
  each cadence's exposure by supersampling;
* transmission spectra: ``depth(lambda) = (Rp + n(lambda) H)^2 / R*^2`` with the scale height
  ``H = k_B T_eq / (mu m_H g)``: one scale height adds about ``2 H Rp / R*^2`` of depth. ``n(lambda)`` is a
  Rayleigh slope plus Gaussian bands (in log wavelength) at the positions of the main H2O, CH4, CO2 and CO features,
  muted by a grey cloud factor. The band list is schematic (no opacity data), which the docs say.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from astropy import constants as const
from astropy import units as u

from ..data.labels import SOLAR_TEFF_K, equilibrium_temperature, insolation_from_star, luminosity_lsun

#: Earth / Jupiter radius and mass ratios (astropy's IAU nominal values), for the archive's *_j columns.
EARTH_TO_JUPITER_RADIUS = float((const.R_earth / const.R_jup).decompose())
EARTH_TO_JUPITER_MASS = float((const.M_earth / const.M_jup).decompose())
EARTH_TO_SUN_MASS = float((const.M_earth / const.M_sun).decompose())
#: log10 of the solar surface gravity in cgs (log g of a 1 Msun, 1 Rsun star), about 4.438.
LOG_G_SUN = float(np.log10((const.G * const.M_sun / const.R_sun**2).to_value(u.cm / u.s**2)))
_GM_SUN_AU3_PER_DAY2 = float((const.G * const.M_sun).to_value(u.au**3 / u.day**2))

# Chen & Kipping (2017) transition points of the Terran and Neptunian branches.
_TERRAN_MAX_MASS = 2.04  # Earth masses
_TERRAN_EXPONENT = 0.279
_NEPTUNIAN_EXPONENT = 0.589
_TERRAN_MAX_RADIUS = _TERRAN_MAX_MASS**_TERRAN_EXPONENT  # about 1.22 Earth radii


# ------------------------------------------------------------------------------------------------ stars


def main_sequence_radius(mass_msun: np.ndarray | float) -> np.ndarray:
    """Radius (Rsun) of a main-sequence star of ``mass_msun``: ``M^0.8`` below 1 Msun, ``M^0.57`` above."""
    m = np.asarray(mass_msun, dtype=np.float64)
    return np.where(m <= 1.0, m**0.8, m**0.57)


def main_sequence_luminosity(mass_msun: np.ndarray | float) -> np.ndarray:
    """Luminosity (Lsun) of a main-sequence star: the piecewise mass-luminosity relation (Duric 2004)."""
    m = np.asarray(mass_msun, dtype=np.float64)
    return np.where(m < 0.43, 0.23 * m**2.3, np.where(m < 2.0, m**4, 1.4 * m**3.5))


def effective_temperature(luminosity_lsun_: np.ndarray | float, radius_rsun: np.ndarray | float) -> np.ndarray:
    """Teff (K) from ``L = R^2 (Teff / 5772 K)^4`` (the inverse of the label module's luminosity)."""
    lum = np.asarray(luminosity_lsun_, dtype=np.float64)
    rad = np.asarray(radius_rsun, dtype=np.float64)
    return SOLAR_TEFF_K * (lum / rad**2) ** 0.25


def surface_gravity(mass_msun: np.ndarray | float, radius_rsun: np.ndarray | float) -> np.ndarray:
    """log10 g (cgs) = log g_sun + log10 M - 2 log10 R."""
    return LOG_G_SUN + np.log10(mass_msun) - 2.0 * np.log10(radius_rsun)


# Coarse Teff -> spectral class boundaries for dwarfs (Pecaut & Mamajek 2013, rounded): lower Teff of each class.
_CLASSES: tuple[tuple[str, float, float], ...] = (
    ("M", 2300.0, 3900.0), ("K", 3900.0, 5300.0), ("G", 5300.0, 5980.0), ("F", 5980.0, 7300.0),
    ("A", 7300.0, 9700.0),
)


def spectral_type(teff: float) -> str:
    """A dwarf spectral type such as ``"G2 V"`` from Teff (linear subclass within the class's Teff range)."""
    for letter, low, high in _CLASSES:
        if low <= teff < high:
            subclass = int(np.clip(math.floor(10.0 * (high - teff) / (high - low)), 0, 9))
            return f"{letter}{subclass} V"
    return "M9 V" if teff < _CLASSES[0][1] else "A0 V"


# ------------------------------------------------------------------------------------------------ orbits


def semi_major_axis_au(period_days: np.ndarray | float, star_mass_msun: np.ndarray | float,
                       planet_mass_mearth: np.ndarray | float = 0.0) -> np.ndarray:
    """Kepler's third law: ``a = (G (M* + Mp) P^2 / 4 pi^2)^(1/3)`` in AU."""
    total = np.asarray(star_mass_msun, dtype=np.float64) + np.asarray(planet_mass_mearth) * EARTH_TO_SUN_MASS
    p = np.asarray(period_days, dtype=np.float64)
    return np.cbrt(_GM_SUN_AU3_PER_DAY2 * total * p**2 / (4.0 * math.pi**2))


def period_days(a_au: np.ndarray | float, star_mass_msun: np.ndarray | float,
                planet_mass_mearth: np.ndarray | float = 0.0) -> np.ndarray:
    """The inverse of :func:`semi_major_axis_au`: orbital period (days) of a circular orbit of radius ``a_au``."""
    total = np.asarray(star_mass_msun, dtype=np.float64) + np.asarray(planet_mass_mearth) * EARTH_TO_SUN_MASS
    a = np.asarray(a_au, dtype=np.float64)
    return 2.0 * math.pi * np.sqrt(a**3 / (_GM_SUN_AU3_PER_DAY2 * total))


def insolation_earth(star_radius_rsun, star_teff_k, a_au) -> np.ndarray:
    """S = L / a^2 in units of the solar flux at Earth (vectorised :func:`insolation_from_star`)."""
    return insolation_from_star(np.asarray(star_radius_rsun, dtype=np.float64),
                                np.asarray(star_teff_k, dtype=np.float64), np.asarray(a_au, dtype=np.float64))


def equilibrium_temperature_k(insolation: np.ndarray | float, bond_albedo: float) -> np.ndarray:
    """T_eq (K), full redistribution (vectorised :func:`equilibrium_temperature`)."""
    return equilibrium_temperature(np.asarray(insolation, dtype=np.float64), bond_albedo)


def stellar_luminosity(star_radius_rsun, star_teff_k) -> np.ndarray:
    """L/Lsun from radius and Teff (vectorised :func:`luminosity_lsun`)."""
    return luminosity_lsun(np.asarray(star_radius_rsun, dtype=np.float64), np.asarray(star_teff_k, dtype=np.float64))


# ------------------------------------------------------------------------------------------------ planets


def mass_from_radius(radius_rearth: np.ndarray | float) -> np.ndarray:
    """Mass (Earth masses) of a Terran or Neptunian planet from its radius (Chen & Kipping 2017, inverted)."""
    r = np.asarray(radius_rearth, dtype=np.float64)
    terran = r ** (1.0 / _TERRAN_EXPONENT)
    neptunian = _TERRAN_MAX_MASS * (r / _TERRAN_MAX_RADIUS) ** (1.0 / _NEPTUNIAN_EXPONENT)
    return np.where(r <= _TERRAN_MAX_RADIUS, terran, neptunian)


def surface_gravity_si(mass_mearth: np.ndarray | float, radius_rearth: np.ndarray | float) -> np.ndarray:
    """g = G Mp / Rp^2 in m s^-2."""
    gm = (const.G * const.M_earth).to_value(u.m**3 / u.s**2)
    r = np.asarray(radius_rearth, dtype=np.float64) * const.R_earth.to_value(u.m)
    return gm * np.asarray(mass_mearth, dtype=np.float64) / r**2


def scale_height_km(t_eq_k: float, mean_molecular_weight: float, mass_mearth: float, radius_rearth: float) -> float:
    """Atmospheric scale height ``H = k_B T / (mu m_H g)`` in km."""
    g = float(surface_gravity_si(mass_mearth, radius_rearth))
    h = const.k_B.to_value(u.J / u.K) * t_eq_k / (mean_molecular_weight * const.m_p.to_value(u.kg) * g)
    return h / 1e3


# ------------------------------------------------------------------------------------------------ transits

_REARTH_PER_RSUN = float((const.R_earth / const.R_sun).decompose())
_RSUN_AU = float(const.R_sun.to_value(u.au))


def radius_ratio(planet_radius_rearth: float, star_radius_rsun: float) -> float:
    """k = Rp / R*."""
    return planet_radius_rearth * _REARTH_PER_RSUN / star_radius_rsun


def cos_inclination(impact: float, a_au: float, star_radius_rsun: float) -> float:
    """cos i of a circular orbit with impact parameter ``impact`` (in stellar radii): ``b R* / a``."""
    return impact * star_radius_rsun * _RSUN_AU / a_au


@dataclass(frozen=True)
class TransitShape:
    """A trapezoidal transit: depth (fraction), total (T14) and flat-bottom (T23) durations in days."""

    depth: float
    t14_days: float
    t23_days: float


def transit_shape(period_d: float, a_au: float, star_radius_rsun: float, planet_radius_rearth: float,
                  impact: float) -> TransitShape:
    """Circular-orbit transit durations (Seager & Mallen-Ornelas 2003) and the no-limb-darkening depth ``k^2``."""
    k = radius_ratio(planet_radius_rearth, star_radius_rsun)
    a_rs = a_au / (star_radius_rsun * _RSUN_AU)
    if not 0.0 <= impact < 1.0 - k:
        raise ValueError(f"impact parameter {impact} must lie in [0, 1 - k) = [0, {1 - k:.4f}) for a full transit")
    sin_i = math.sqrt(1.0 - (impact / a_rs) ** 2)

    def duration(chord: float) -> float:
        return period_d / math.pi * math.asin(min(1.0, math.sqrt(chord**2 - impact**2) / (a_rs * sin_i)))

    return TransitShape(depth=k**2, t14_days=duration(1.0 + k), t23_days=duration(1.0 - k))


def trapezoid_flux(time_days: np.ndarray, epoch_days: float, period_d: float, shape: TransitShape,
                   exposure_days: float = 0.0, supersample: int = 5) -> np.ndarray:
    """Relative flux (1 out of transit) of a trapezoidal transit, averaged over each cadence's exposure.

    ``time_days`` and ``epoch_days`` share one time system (BKJD here); ``supersample`` points per exposure
    approximate the exposure average (long-cadence smearing of ingress and egress)."""
    t = np.asarray(time_days, dtype=np.float64)
    if exposure_days > 0 and supersample > 1:
        offsets = (np.arange(supersample) + 0.5) / supersample - 0.5
        t = t[:, None] + offsets[None, :] * exposure_days
    phase_time = np.abs(np.mod(t - epoch_days + 0.5 * period_d, period_d) - 0.5 * period_d)
    half14, half23 = 0.5 * shape.t14_days, 0.5 * shape.t23_days
    ramp = np.clip((half14 - phase_time) / max(half14 - half23, 1e-12), 0.0, 1.0)
    flux = 1.0 - shape.depth * ramp
    return flux.mean(axis=1) if flux.ndim == 2 else flux


# ------------------------------------------------------------------------------------------------ spectra

#: Schematic absorption bands: (molecule, centre in microns, peak amplitude in scale heights, width in ln lambda).
BANDS: tuple[tuple[str, float, float, float], ...] = (
    ("H2O", 1.15, 1.5, 0.035), ("H2O", 1.40, 3.0, 0.045), ("H2O", 1.90, 3.0, 0.045), ("H2O", 2.70, 4.0, 0.05),
    ("CH4", 2.30, 1.5, 0.04), ("CH4", 3.30, 3.0, 0.04), ("CO2", 4.30, 4.0, 0.03), ("CO", 4.70, 1.5, 0.03),
)
#: Methane is only kept below this T_eq (it gives way to CO in hot atmospheres).
METHANE_MAX_TEQ_K = 900.0
RAYLEIGH_REFERENCE_UM = 1.0


def transmission_depth_ppm(wavelength_um: np.ndarray, k: float, scale_height_rstar: float, cloud_factor: float,
                           t_eq_k: float) -> np.ndarray:
    """Transit depth (ppm) at each wavelength: ``((Rp + n H) / R*)^2`` with n = Rayleigh slope + bands.

    ``k = Rp/R*``, ``scale_height_rstar = H/R*``; ``cloud_factor`` in (0, 1] scales the features (a grey cloud
    deck hides the lower atmosphere). The Rayleigh part adds ``4 ln(lambda_ref / lambda)`` scale heights
    bluewards of 1 micron (cross-section proportional to lambda^-4)."""
    lam = np.asarray(wavelength_um, dtype=np.float64)
    n = 4.0 * np.clip(np.log(RAYLEIGH_REFERENCE_UM / lam), 0.0, None)
    for molecule, centre, amplitude, width in BANDS:
        if molecule == "CH4" and t_eq_k > METHANE_MAX_TEQ_K:
            continue
        if molecule == "CO" and t_eq_k <= METHANE_MAX_TEQ_K:
            continue
        n = n + amplitude * np.exp(-0.5 * ((np.log(lam) - math.log(centre)) / width) ** 2)
    radius = k + cloud_factor * n * scale_height_rstar
    return 1e6 * radius**2


def mean_molecular_weight(radius_rearth: float) -> float:
    """Atmosphere assumed for the spectrum model: H2/He (mu = 2.3) above 1.8 Earth radii (above the radius valley),
    an N2-dominated secondary atmosphere (mu = 28.97, Earth's air) below."""
    return 2.3 if radius_rearth > 1.8 else 28.97
