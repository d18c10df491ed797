"""Generated observations of the demo planets: Kepler long-cadence photometry and JWST-like transmission spectra.

Light curves (one Kepler quarter, Q3 timing: 4370 long cadences of 29.4 min from BKJD 260.224):

* flux level from an approximate Kepler magnitude (``Kp = 4.83 - 2.5 log10 L + 5 log10(d / 10 pc)``, bolometric
  correction ignored) with 1.74e5 e-/s at Kp = 12;
* white noise per cadence: photon noise of the collected electrons plus a 40 ppm floor, capped at 3000 ppm;
* stellar rotation: two harmonics of a rotation period uniform in 5-40 d, amplitude log-uniform 50-1000 ppm;
* every transiting planet of the host: :func:`astrobio_hf.demo.physics.trapezoid_flux` at its period, with the
  epoch at a random fraction of the period after the quarter start, averaged over the exposure;
* PDCSAP_FLUX = star x transits x (1 + noise); SAP_FLUX adds a slow instrumental drift and the aperture's flux
  fraction (what PDC removes); a one-day data gap (TIME NaN, as in real quarters) and about 1.5% flagged cadences
  (Kepler SAP_QUALITY bits; desaturation and cosmic-ray flags get NaN fluxes).

Spectra: :func:`astrobio_hf.demo.physics.transmission_depth_ppm` on a NIRSpec-PRISM-like grid (0.6-5.2 um at
R = 100), Gaussian noise of a per-planet level (20-120 ppm, higher towards the band edges), about 2% of bins with
quality 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from astropy import constants as const
from astropy import units as u

from . import physics

# Kepler long cadence (Q3 values of a real file's LIGHTCURVE header): start time, cadence length, number of cadences.
Q3_TSTART_BKJD = 260.21395547
CADENCE_DAYS = 0.02043359821692
N_CADENCES = 4370
FIRST_CADENCENO = 11914
EXPOSURE_DAYS = CADENCE_DAYS * 0.92063492  # DEADC: the live fraction of each cadence
KP12_ELECTRONS_PER_S = 1.74e5
NOISE_FLOOR_PPM = 40.0
MAX_NOISE_PPM = 3000.0
#: SAP_QUALITY bits used for flagged cadences (Kepler Archive Manual, table 2-3) and whether the flux is NaN then.
QUALITY_FLAGS: tuple[tuple[int, bool], ...] = ((1, False), (4, False), (32, True), (128, False), (1024, False),
                                               (8192, True))


@dataclass
class PlanetTransit:
    """What a light curve needs of one transiting planet."""

    pl_name: str
    period: float
    epoch_bkjd: float
    shape: physics.TransitShape


@dataclass
class SyntheticLightCurve:
    """The columns of one generated LIGHTCURVE table plus the noise level used."""

    time: np.ndarray
    cadenceno: np.ndarray
    sap_flux: np.ndarray
    sap_flux_err: np.ndarray
    sap_bkg: np.ndarray
    pdcsap_flux: np.ndarray
    pdcsap_flux_err: np.ndarray
    quality: np.ndarray
    noise_ppm: float
    kepmag: float
    flux_fraction: float


def kepler_magnitude(luminosity_lsun: float, distance_pc: float) -> float:
    """Approximate Kepler magnitude: the bolometric magnitude at ``distance_pc`` (no bolometric correction)."""
    return 4.83 - 2.5 * math.log10(luminosity_lsun) + 5.0 * math.log10(distance_pc / 10.0)


def quarter_times() -> np.ndarray:
    """Mid-cadence times (BKJD) of the generated quarter, before the data gap is applied."""
    return Q3_TSTART_BKJD + (np.arange(N_CADENCES) + 0.5) * CADENCE_DAYS


def synthesize_light_curve(rng: np.random.Generator, luminosity_lsun: float, distance_pc: float,
                           transits: list[PlanetTransit]) -> SyntheticLightCurve:
    """One quarter of long-cadence photometry of a star with ``transits`` (see the module docstring)."""
    time = quarter_times()
    kepmag = kepler_magnitude(luminosity_lsun, distance_pc)
    level = KP12_ELECTRONS_PER_S * 10 ** (-0.4 * (kepmag - 12.0))
    electrons = level * EXPOSURE_DAYS * 86400.0
    noise = min(math.hypot(1e6 / math.sqrt(electrons), NOISE_FLOOR_PPM), MAX_NOISE_PPM) * 1e-6

    rotation = rng.uniform(5.0, 40.0)
    amplitude = math.exp(rng.uniform(math.log(50e-6), math.log(1000e-6)))
    phase1, phase2 = rng.uniform(0.0, 2.0 * math.pi, 2)
    star = 1.0 + amplitude * (np.sin(2 * np.pi * time / rotation + phase1)
                              + 0.4 * np.sin(4 * np.pi * time / rotation + phase2))
    model = star.copy()
    for planet in transits:
        model *= physics.trapezoid_flux(time, planet.epoch_bkjd, planet.period, planet.shape,
                                        exposure_days=EXPOSURE_DAYS)
    pdcsap = level * model * (1.0 + noise * rng.standard_normal(N_CADENCES))
    pdcsap_err = np.full(N_CADENCES, level * noise)
    flux_fraction = float(rng.uniform(0.8, 0.95))
    drift = 1.0 + 0.004 * ((time - time[0]) / (time[-1] - time[0]) - 0.5) ** 2 - 0.002 * (time - time[0]) / 90.0
    sap = pdcsap * flux_fraction * drift
    sap_err = pdcsap_err * flux_fraction
    background = np.full(N_CADENCES, 0.01 * level) * (1.0 + 0.1 * rng.standard_normal(N_CADENCES))

    quality = np.zeros(N_CADENCES, dtype=np.int32)
    flagged = np.flatnonzero(rng.random(N_CADENCES) < 0.015)
    choice = rng.integers(0, len(QUALITY_FLAGS), flagged.size)
    for index, which in zip(flagged, choice, strict=True):
        bit, nan_flux = QUALITY_FLAGS[which]
        quality[index] = bit
        if nan_flux:
            for column in (pdcsap, pdcsap_err, sap, sap_err):
                column[index] = np.nan
    gap_start = int(rng.integers(N_CADENCES // 3, 2 * N_CADENCES // 3))
    gap = slice(gap_start, gap_start + int(round(1.0 / CADENCE_DAYS)))  # a one-day downlink gap
    time = time.copy()
    for column in (time, pdcsap, pdcsap_err, sap, sap_err, background):
        column[gap] = np.nan
    return SyntheticLightCurve(
        time=time, cadenceno=FIRST_CADENCENO + np.arange(N_CADENCES, dtype=np.int32),
        sap_flux=sap.astype(np.float32), sap_flux_err=sap_err.astype(np.float32), sap_bkg=background.astype(np.float32),
        pdcsap_flux=pdcsap.astype(np.float32), pdcsap_flux_err=pdcsap_err.astype(np.float32), quality=quality,
        noise_ppm=noise * 1e6, kepmag=kepmag, flux_fraction=flux_fraction,
    )


# ------------------------------------------------------------------------------------------------ spectra

PRISM_RANGE_UM = (0.6, 5.2)
PRISM_RESOLUTION = 100.0


def prism_grid() -> tuple[np.ndarray, np.ndarray]:
    """Bin centres and half-widths (microns) of a constant-resolution grid over ``PRISM_RANGE_UM``."""
    lo, hi = PRISM_RANGE_UM
    n = int(math.floor(math.log(hi / lo) * PRISM_RESOLUTION))
    edges = lo * np.exp(np.arange(n + 1) / PRISM_RESOLUTION)
    return 0.5 * (edges[1:] + edges[:-1]), 0.5 * (edges[1:] - edges[:-1])


@dataclass
class SyntheticSpectrum:
    """A generated transmission spectrum: table columns plus the model quantities behind it."""

    wave: np.ndarray
    wave_error: np.ndarray
    dppm: np.ndarray
    dppm_err: np.ndarray
    quality: np.ndarray
    model_dppm: np.ndarray
    scale_height_km: float
    mean_molecular_weight: float
    feature_ppm_per_scale_height: float


def synthesize_spectrum(rng: np.random.Generator, radius_rearth: float, mass_mearth: float, star_radius_rsun: float,
                        t_eq_k: float, cloud_factor: float, noise_ppm: float) -> SyntheticSpectrum:
    """A noisy transmission spectrum of one planet (see the module docstring and :mod:`.physics`)."""
    wave, half = prism_grid()
    mu = physics.mean_molecular_weight(radius_rearth)
    h_km = physics.scale_height_km(t_eq_k, mu, mass_mearth, radius_rearth)
    star_km = star_radius_rsun * const.R_sun.to_value(u.km)
    k = physics.radius_ratio(radius_rearth, star_radius_rsun)
    model = physics.transmission_depth_ppm(wave, k, h_km / star_km, cloud_factor, t_eq_k)
    sigma = noise_ppm * (1.0 + 0.5 * ((wave - 2.9) / 2.3) ** 2)
    quality = (rng.random(wave.size) < 0.02).astype(np.int64)
    return SyntheticSpectrum(
        wave=wave, wave_error=half, dppm=model + sigma * rng.standard_normal(wave.size), dppm_err=sigma,
        quality=quality, model_dppm=model, scale_height_km=h_km, mean_molecular_weight=mu,
        feature_ppm_per_scale_height=2e6 * h_km * k / star_km,
    )
