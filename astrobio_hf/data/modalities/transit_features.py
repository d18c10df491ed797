"""The light-curve modality's search features: what a transit search measured, in the form the model reads.

A transit search (:mod:`.transit_search`) gives a period, a duration, a depth and a signal-to-noise ratio. With the
star's mass, Kepler's third law turns the period into a semi-major axis, and with the star's luminosity (radius and
Teff) the semi-major axis into an insolation: the route an astronomer takes from a light curve to the orbit. None of
these reads a catalog orbit column, so they are allowed under the ``withheld-orbit`` protocol.

Schema (:data:`LIGHT_CURVE_FEATURES`, one float32 each): ``log10(value / reference)`` with the fixed references of
:data:`REFERENCES`, so that every feature is of order one without statistics fitted on a split (the same numbers at
training and at predict time). A search with no significant signal, or a star without the needed column, gives NaN:
the model sees a masked value, never a guess.
"""

from __future__ import annotations

import math

import numpy as np
from astropy import constants, units

from ..labels import luminosity_lsun

#: feature name -> (what, reference value in its unit)
REFERENCES: dict[str, tuple[str, float]] = {
    "transit_period": ("search period [d]", 10.0),
    "transit_duration": ("box duration [d]", 0.125),
    "transit_depth": ("transit depth [fraction of the flux]", 1e-3),
    "transit_snr": ("depth signal-to-noise", 30.0),
    "transit_semi_major_axis": ("a from the search period and st_mass (Kepler's third law) [AU]", 0.1),
    "transit_insolation": ("S = L / a^2 from st_rad, st_teff and that a [S_earth]", 1.0),
}
LIGHT_CURVE_FEATURES: tuple[str, ...] = tuple(REFERENCES)
#: a [AU] = KEPLER_AU * (M [Msun] * P [d]^2)^(1/3): G M P^2 / (4 pi^2) with the planet's mass neglected
KEPLER_AU = float(((constants.G * constants.M_sun * (1 * units.day) ** 2 / (4 * math.pi**2)) ** (1 / 3)).to(units.au).value)


def semi_major_axis_au(period_days: float, st_mass_msun: float) -> float:
    """Kepler's third law for a planet of negligible mass; NaN when either input is missing or not positive."""
    if not (period_days > 0 and st_mass_msun > 0):
        return math.nan
    return KEPLER_AU * (st_mass_msun * period_days**2) ** (1.0 / 3.0)


def _positive(value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return math.nan
    return value if math.isfinite(value) and value > 0 else math.nan


def transit_feature_values(*, found: bool, period: float, duration: float, depth: float, snr: float,
                           st_mass: float | None, st_rad: float | None, st_teff: float | None) -> dict[str, float]:
    """The search's quantities in physical units (NaN where unknown): period, duration, depth, snr, a, S."""
    if not found:
        return dict.fromkeys(LIGHT_CURVE_FEATURES, math.nan)
    period, mass = _positive(period), _positive(st_mass)
    a = semi_major_axis_au(period, mass)
    rad, teff = _positive(st_rad), _positive(st_teff)
    insolation = luminosity_lsun(rad, teff) / a**2 if math.isfinite(a) else math.nan
    return {"transit_period": period, "transit_duration": _positive(duration), "transit_depth": _positive(depth),
            "transit_snr": _positive(snr), "transit_semi_major_axis": a, "transit_insolation": _positive(insolation)}


def encode_features(values: dict[str, float], names: tuple[str, ...] = LIGHT_CURVE_FEATURES) -> np.ndarray:
    """``log10(value / reference)`` per feature of ``names`` as float32; NaN stays NaN (masked)."""
    out = np.full(len(names), np.nan, dtype=np.float32)
    for j, name in enumerate(names):
        value = values.get(name, math.nan)
        if value is not None and math.isfinite(value) and value > 0:
            out[j] = math.log10(value / REFERENCES[name][1])
    return out


def decode_feature(encoded: np.ndarray, name: str) -> np.ndarray:
    """The physical value back from :func:`encode_features` (NaN stays NaN)."""
    return REFERENCES[name][1] * 10.0 ** np.asarray(encoded, dtype=np.float64)


def describe_features(names: tuple[str, ...] = LIGHT_CURVE_FEATURES) -> dict[str, str]:
    """The schema as the dataset spec records it."""
    return {name: f"log10({REFERENCES[name][0]} / {REFERENCES[name][1]:g}); NaN = not found / not computable"
            for name in names}


__all__ = ["LIGHT_CURVE_FEATURES", "REFERENCES", "semi_major_axis_au", "transit_feature_values", "encode_features",
           "decode_feature", "describe_features"]
