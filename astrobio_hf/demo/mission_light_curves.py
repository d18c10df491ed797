"""Generated light curves of every transiting planet's host in the packaged real catalog, with the coverage and
noise of the mission that discovered it. Everything here is GENERATED (``generated=True`` in the store): the sky is
played from the catalog's own values; nothing is a real observation.

Coverage (:func:`observing_times`), by the host's discovery facility (the most common one among its transiting
planets):

* **Kepler**: the prime mission's long cadence (29.4 min), BKJD 131.5-1591.0 (Q1-Q17, ~4 years) in 93-day quarters
  with a 1-day gap at each quarter roll and a 0.5-day downlink gap mid-quarter (an approximation of the real
  ~90% duty cycle; safe modes are not modelled);
* **K2**: one 80-day campaign of 29.4-min cadence from BKJD 1975 (C1's start);
* **TESS** and every other facility (ground surveys, CoRoT, ...: TESS has observed nearly the whole sky, so a TESS
  light curve is what a searcher of such a host would have): 30-min full-frame-image cadence from BTJD 1325.3
  (sector 1), sectors of 27.4 d (two 13.2-d orbits around a 1-d downlink gap), consecutive; the number of sectors
  from the ecliptic latitude b (astropy ``SkyCoord`` of ``ra``/``dec``): 13 in the continuous viewing zone
  (``|b| >= 78 deg``), else ``round(24 / (27.7 cos b))`` (a 24-deg-wide camera strip against a 27.7-deg sector
  spacing in ecliptic longitude; at least 1).

Noise (:func:`cadence_noise_ppm`): white photometric noise per cadence = photon noise of the collected electrons
plus a floor, in quadrature:

* Kepler: 1.74e5 e-/s at Kp = 12 (as :mod:`.observations`), 92% live time, 40 ppm floor per cadence; K2: the same
  photometer with a 100 ppm floor per cadence (pointing jitter: K2 reaches roughly 2-3x Kepler's precision,
  Vanderburg & Johnson 2014); TESS: 1.5e4 e-/s at T = 10 (Sullivan et al. 2015), 80% live time (2-s exposures),
  60 ppm per hour^0.5 floor (Ricker et al. 2015), i.e. 85 ppm per 30 min. Sky background is not modelled, so faint
  TESS stars are optimistic.
* magnitudes approximated from the catalog: Kp ~ Gaia G, else V - 0.1, else K + 1.5; T ~ G - 0.43 (Stassun et al.
  2019's relation at a solar colour), else V - 0.7, else K + 0.8; with no magnitude, the bolometric estimate of
  :func:`.observations.kepler_magnitude` from the star's luminosity and distance.

Star: :func:`evolving_rotation` (5-40 d, 50-1000 ppm, spots evolving over 2-6 rotations). Transits: every transiting planet of the host
with a positive period and radius and ``0 < k = Rp/R* < 0.5``, from its OWN catalog period, ``k``, semi-major axis
(``pl_orbsmax``, else Kepler's third law with ``st_mass``), an impact parameter uniform in [0, 0.9 (1 - k)) and an
epoch uniform over the first period (both seeded), :func:`.physics.trapezoid_flux` averaged over the exposure.
Randomness comes from ``numpy.random.default_rng([seed, crc32(hostname)])``: a host's light curve does not depend
on which other hosts are generated.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from astropy import units as u
from astropy.coordinates import SkyCoord

from . import observations, physics

KEPLER_FACILITY = "Kepler"
K2_FACILITY = "K2"


@dataclass(frozen=True)
class Mission:
    """How one mission observes: cadence, native time system and the noise model's constants."""

    name: str
    cadence_min: float
    time_system: str
    bjd_reference: float
    electrons_per_s: float  # at ``reference_mag``
    reference_mag: float
    live_fraction: float
    floor_ppm_per_cadence: float


MISSIONS: dict[str, Mission] = {
    "Kepler": Mission("Kepler", observations.CADENCE_DAYS * 1440.0, "BKJD", 2454833.0,
                      observations.KP12_ELECTRONS_PER_S, 12.0, 0.92063492, observations.NOISE_FLOOR_PPM),
    "K2": Mission("K2", observations.CADENCE_DAYS * 1440.0, "BKJD", 2454833.0,
                  observations.KP12_ELECTRONS_PER_S, 12.0, 0.92063492, 100.0),
    "TESS": Mission("TESS", 30.0, "BTJD", 2457000.0, 1.5e4, 10.0, 0.8, 60.0 * math.sqrt(60.0 / 30.0)),
}
KEPLER_SPAN_BKJD = (131.5, 1591.0)
KEPLER_QUARTER_DAYS = 93.0
K2_START_BKJD, K2_CAMPAIGN_DAYS = 1975.0, 80.0
TESS_START_BTJD, TESS_SECTOR_DAYS, TESS_MAX_SECTORS = 1325.3, 27.4, 13


@dataclass(frozen=True)
class InjectedPlanet:
    """One planet's truth as generated (evaluation only: the search never sees it)."""

    pl_name: str
    injected: bool
    period: float
    t0: float  # native time
    depth: float
    t14_days: float
    impact: float
    n_transits_in_baseline: int


@dataclass(frozen=True)
class HostLightCurve:
    """A generated light curve of one host: relative flux (1 = the star) per cadence, with its coverage."""

    hostname: str
    mission: str
    time: np.ndarray  # native time (BKJD / BTJD)
    flux: np.ndarray
    flux_err: np.ndarray
    cadence_min: float
    noise_ppm: float  # per cadence
    magnitude: float  # the mission-band magnitude the noise came from
    n_sectors: int
    planets: tuple[InjectedPlanet, ...]

    @property
    def baseline_days(self) -> float:
        return float(self.time[-1] - self.time[0])


def mission_for_facility(facility: str) -> str:
    """Kepler / K2 / TESS for a ``disc_facility`` (every other facility gets TESS, see the module docstring)."""
    name = str(facility).strip()
    if name == KEPLER_FACILITY:
        return "Kepler"
    if name == K2_FACILITY:
        return "K2"
    return "TESS"


def tess_sector_counts(ra_deg, dec_deg) -> np.ndarray:
    """Sectors of TESS coverage per position from its ecliptic latitude (module docstring); 1 where unknown."""
    ra = np.atleast_1d(np.asarray(ra_deg, dtype=np.float64))
    dec = np.atleast_1d(np.asarray(dec_deg, dtype=np.float64))
    known = np.isfinite(ra) & np.isfinite(dec)
    counts = np.ones(ra.size, dtype=np.int64)
    if known.any():
        lat = SkyCoord(ra=ra[known] * u.deg, dec=dec[known] * u.deg).barycentrictrueecliptic.lat.to_value(u.deg)
        cos_b = np.cos(np.radians(np.abs(lat)))
        n = np.maximum(1, np.round(24.0 / (27.7 * np.maximum(cos_b, 1e-6)))).astype(np.int64)
        counts[known] = np.where(np.abs(lat) >= 78.0, TESS_MAX_SECTORS, np.minimum(n, TESS_MAX_SECTORS))
    return counts


def _grid(start: float, stop: float, cadence_days: float) -> np.ndarray:
    return start + (np.arange(int(math.floor((stop - start) / cadence_days))) + 0.5) * cadence_days


def _cut(time: np.ndarray, gaps: list[tuple[float, float]]) -> np.ndarray:
    keep = np.ones(time.size, dtype=bool)
    for lo, hi in gaps:
        keep &= ~((time >= lo) & (time < hi))
    return time[keep]


def observing_times(mission: str, n_sectors: int = 1) -> np.ndarray:
    """Mid-cadence native times of the mission's coverage (module docstring); gaps are absent cadences."""
    m = MISSIONS[mission]
    cadence = m.cadence_min / 1440.0
    if mission == "Kepler":
        lo, hi = KEPLER_SPAN_BKJD
        starts = np.arange(lo, hi, KEPLER_QUARTER_DAYS)
        gaps = [(s - 1.0, s) for s in starts[1:]] + [(s + 0.5 * KEPLER_QUARTER_DAYS, s + 0.5 * KEPLER_QUARTER_DAYS + 0.5)
                                                     for s in starts]
        return _cut(_grid(lo, hi, cadence), gaps)
    if mission == "K2":
        return _grid(K2_START_BKJD, K2_START_BKJD + K2_CAMPAIGN_DAYS, cadence)
    if not 1 <= n_sectors <= TESS_MAX_SECTORS:
        raise ValueError(f"n_sectors must be 1..{TESS_MAX_SECTORS}, not {n_sectors}")
    stop = TESS_START_BTJD + n_sectors * TESS_SECTOR_DAYS
    middles = TESS_START_BTJD + (np.arange(n_sectors) + 0.5) * TESS_SECTOR_DAYS
    return _cut(_grid(TESS_START_BTJD, stop, cadence), [(c - 0.5, c + 0.5) for c in middles])


def _first(row: pd.Series, column: str) -> float:
    value = pd.to_numeric(row.get(column), errors="coerce")
    return float(value) if pd.notna(value) else math.nan


def mission_magnitude(mission: str, star: pd.Series) -> float:
    """The star's magnitude in the mission's band, approximated from catalog magnitudes (module docstring)."""
    g, v, k = _first(star, "sy_gaiamag"), _first(star, "sy_vmag"), _first(star, "sy_kmag")
    offsets = (0.0, -0.1, 1.5) if mission in ("Kepler", "K2") else (-0.43, -0.7, 0.8)
    for value, offset in zip((g, v, k), offsets, strict=True):
        if math.isfinite(value):
            return value + offset
    radius, teff, distance = _first(star, "st_rad"), _first(star, "st_teff"), _first(star, "sy_dist")
    if not (radius > 0 and teff > 0):
        raise ValueError(f"host {star.get('hostname')!r}: no sy_gaiamag, sy_vmag or sy_kmag and no st_rad/st_teff "
                         "to estimate a magnitude")
    luminosity = float(physics.stellar_luminosity(radius, teff))
    return observations.kepler_magnitude(luminosity, distance if distance > 0 else 300.0)


def cadence_noise_ppm(mission: str, magnitude: float) -> float:
    """White noise per cadence (ppm): photon noise plus the mission's floor, in quadrature."""
    m = MISSIONS[mission]
    electrons = m.electrons_per_s * 10 ** (-0.4 * (magnitude - m.reference_mag)) * m.live_fraction * m.cadence_min * 60
    return math.hypot(1e6 / math.sqrt(electrons), m.floor_ppm_per_cadence)


def evolving_rotation(rng: np.random.Generator, time: np.ndarray) -> np.ndarray:
    """Relative flux of a spotted rotating star whose spots evolve: two harmonics of a period uniform in 5-40 d,
    amplitude log-uniform 50-1000 ppm (as :func:`.observations.synthesize_light_curve`'s quarters), with the
    phase a random walk and the log-amplitude an Ornstein-Uhlenbeck process (0.3 rms) of coherence time
    ``tau`` uniform in 2-6 rotations (spot lifetimes of a few rotations): a years-long light curve of a strictly
    periodic spot pattern would be unphysical."""
    period = rng.uniform(5.0, 40.0)
    amplitude = math.exp(rng.uniform(math.log(50e-6), math.log(1000e-6)))
    tau = rng.uniform(2.0, 6.0) * period
    phase1, phase2 = rng.uniform(0.0, 2.0 * math.pi, 2)
    step = 0.25
    grid = np.arange(time[0] - step, time[-1] + 2 * step, step)
    walk = np.cumsum(rng.standard_normal(grid.size)) * math.sqrt(step / tau)
    decay = math.exp(-step / tau)
    log_amp = np.empty(grid.size)
    log_amp[0] = 0.3 * rng.standard_normal()
    shocks = 0.3 * math.sqrt(1.0 - decay**2) * rng.standard_normal(grid.size)
    for i in range(1, grid.size):
        log_amp[i] = decay * log_amp[i - 1] + shocks[i]
    phase = np.interp(time, grid, walk)
    amp = amplitude * np.exp(np.interp(time, grid, log_amp))
    angle = 2 * np.pi * time / period + phase
    return 1.0 + amp * (np.sin(angle + phase1) + 0.4 * np.sin(2 * angle + phase2))


def host_rng(seed: int, hostname: str) -> np.random.Generator:
    """The host's own random stream (independent of which other hosts are generated)."""
    return np.random.default_rng([int(seed), zlib.crc32(str(hostname).encode("utf-8"))])


def transits_in_baseline(time: np.ndarray, period: float, t0: float, t14_days: float) -> int:
    """Transits whose mid-time has a cadence within half a duration (``time`` sorted)."""
    first = math.ceil((time[0] - t0) / period)
    last = math.floor((time[-1] - t0) / period)
    if last < first:
        return 0
    mids = t0 + period * np.arange(first, last + 1)
    half = max(0.5 * t14_days, 0.5 * float(np.median(np.diff(time))))
    lo, hi = np.searchsorted(time, mids - half), np.searchsorted(time, mids + half, side="right")
    return int(np.count_nonzero(hi > lo))


def _semi_major_axis(planet: pd.Series) -> float:
    a = _first(planet, "pl_orbsmax")
    return a if a > 0 else float(physics.semi_major_axis_au(planet["pl_orbper"], planet["st_mass"]))


def generate_host(planets: pd.DataFrame, seed: int = 0, n_sectors: int | None = None) -> HostLightCurve:
    """The generated light curve of the host of ``planets`` (its transiting planets, catalog rows)."""
    if planets.empty:
        raise ValueError("generate_host needs at least one planet row")
    hosts = set(planets["hostname"])
    if len(hosts) != 1:
        raise ValueError(f"planets must share one hostname, got {sorted(hosts)}")
    star = planets.iloc[0]
    hostname = str(star["hostname"])
    for column in ("st_rad", "st_mass"):
        if not _first(star, column) > 0:
            raise ValueError(f"host {hostname!r}: column {column} must be > 0, got {star.get(column)!r}")
    mission = mission_for_facility(planets["disc_facility"].mode().iloc[0])
    if mission == "TESS" and n_sectors is None:
        n_sectors = int(tess_sector_counts(_first(star, "ra"), _first(star, "dec"))[0])
    n_sectors = n_sectors if mission == "TESS" else 1
    rng = host_rng(seed, hostname)
    time = observing_times(mission, n_sectors)
    exposure = MISSIONS[mission].cadence_min / 1440.0 * MISSIONS[mission].live_fraction
    model = evolving_rotation(rng, time)
    truth = []
    for _, planet in planets.iterrows():
        period, radius = _first(planet, "pl_orbper"), _first(planet, "pl_rade")
        k = physics.radius_ratio(radius, float(star["st_rad"])) if radius > 0 else math.nan
        impact, epoch = float(rng.uniform(0.0, 1.0)), float(rng.random())  # drawn for every planet: stable streams
        if not (period > 0 and 0 < k < 0.5):
            truth.append(InjectedPlanet(str(planet["pl_name"]), False, period, math.nan, math.nan, math.nan,
                                        math.nan, 0))
            continue
        impact *= 0.9 * (1.0 - k)
        t0 = float(time[0]) + epoch * period
        try:
            shape = physics.transit_shape(period, _semi_major_axis(planet), float(star["st_rad"]), radius, impact)
        except ValueError:  # an orbit inside the star (inconsistent catalog a, R*): nothing to inject
            truth.append(InjectedPlanet(str(planet["pl_name"]), False, period, math.nan, math.nan, math.nan,
                                        math.nan, 0))
            continue
        model *= physics.trapezoid_flux(time, t0, period, shape, exposure_days=exposure)
        truth.append(InjectedPlanet(str(planet["pl_name"]), True, period, t0, shape.depth, shape.t14_days, impact,
                                    transits_in_baseline(time, period, t0, shape.t14_days)))
    magnitude = mission_magnitude(mission, star)
    noise = cadence_noise_ppm(mission, magnitude)
    flux = model * (1.0 + noise * 1e-6 * rng.standard_normal(time.size))
    return HostLightCurve(hostname, mission, time, flux, np.full(time.size, noise * 1e-6), MISSIONS[mission].cadence_min,
                          noise, magnitude, n_sectors, tuple(truth))


def transiting_planets(catalog: pd.DataFrame) -> pd.DataFrame:
    """The catalog's transiting planets (``discoverymethod == "Transit"``), sorted by host and planet name."""
    missing = [c for c in ("pl_name", "hostname", "discoverymethod", "disc_facility", "pl_orbper", "pl_rade",
                           "st_rad", "st_mass") if c not in catalog.columns]
    if missing:
        raise ValueError(f"catalog lacks column(s) {missing}")
    rows = catalog[catalog["discoverymethod"] == "Transit"]
    return rows.sort_values(["hostname", "pl_name"], kind="stable").reset_index(drop=True)


__all__ = ["evolving_rotation", "MISSIONS", "Mission", "HostLightCurve", "InjectedPlanet", "generate_host", "observing_times",
           "mission_for_facility", "tess_sector_counts", "cadence_noise_ppm", "mission_magnitude",
           "transits_in_baseline", "transiting_planets", "host_rng"]


if __name__ == "__main__":  # python -m astrobio_hf.demo.mission_light_curves: the store command
    import sys

    from .mission_store import main

    sys.exit(main())
