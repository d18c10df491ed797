"""Per-planet transforms from modality objects to the stored arrays of a multimodal row.

What it is for: one code path for training and prediction. `build_multimodal_dataset` calls these functions for every
joined file, and `AstroMultimodalProcessor` calls them for the files a user hands to `predict`, so a planet is
encoded the same way in both (the spec saved with a dataset / checkpoint holds their settings).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from astropy.stats import mad_std

from .modalities.light_curves import DEFAULT_QUALITY_BITMASK, RawLightCurve, bin_light_curve
from .modalities.spectra.core import Spectrum


def light_curve_array(raw: RawLightCurve, n_bins: int, period: float | None,
                      quality_bitmask: int = DEFAULT_QUALITY_BITMASK, normalisation: str = "robust",
                      t0_bjd: float | None = None) -> np.ndarray:
    """[flux, valid] float32 `[2, n_bins]`: folded at ``period`` (days) when it is positive, else binned in time.

    ``t0_bjd`` (a searched epoch) puts the transit at phase 0; without it phase 0 is the first cadence."""
    period = float(period) if period is not None and period > 0 else None
    curve = bin_light_curve(raw, n_bins=n_bins, period=period, t0_bjd=t0_bjd, quality_bitmask=quality_bitmask,
                            normalisation=normalisation)
    return np.stack([curve.flux, curve.mask.astype(np.float32)]).astype(np.float32)


def folded_at_search(raw: RawLightCurve, n_bins: int, signal, normalisation: str = "robust") -> np.ndarray:
    """[flux, valid] folded at the period a transit search found (its t0 at phase 0); all zero (masked) when the
    search found nothing. ``signal`` is a `transit_search.TransitSearch` in the light curve's own time system."""
    if not signal.found:
        return np.zeros((2, n_bins), dtype=np.float32)
    return light_curve_array(raw, n_bins, signal.period, normalisation=normalisation,
                             t0_bjd=signal.t0 + raw.bjd_reference)


def spectrum_array(spec: Spectrum) -> tuple[np.ndarray, dict[str, Any]] | None:
    """[value, error, valid] with value/error robust-standardised over the valid bins (None: no valid bin)."""
    mask = np.asarray(spec.mask, dtype=bool)
    if mask.sum() < 1:
        return None
    values = np.asarray(spec.value, dtype=np.float64)
    centre = float(np.median(values[mask]))
    scale = float(mad_std(values[mask])) if mask.sum() > 1 else 0.0
    if not scale > 0:
        scale = abs(centre) if centre != 0 else 1.0
    error = np.zeros_like(values) if spec.error is None else np.asarray(spec.error, dtype=np.float64)
    array = np.stack([np.where(mask, (values - centre) / scale, 0.0), np.where(mask, error / scale, 0.0),
                      mask.astype(np.float64)]).astype(np.float32)
    return array, {"kind": spec.kind, "unit": spec.value_unit, "median": centre, "scale": scale,
                   "valid_bins": int(mask.sum())}


def normalise_cube(data: np.ndarray, mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, int]:
    """A physical-unit cube `[vars, ...]` standardised per variable; no-data points (NaN) become 0 (the mean).

    Returns the cube and the number of points filled."""
    mean = np.asarray(mean, dtype=np.float64).reshape(-1, *([1] * (data.ndim - 1)))
    std = np.maximum(np.asarray(std, dtype=np.float64), 1e-12).reshape(mean.shape)
    normalised = ((data.astype(np.float64) - mean) / std).astype(np.float32)
    holes = ~np.isfinite(normalised)
    normalised[holes] = 0.0
    return normalised, int(holes.sum())


__all__ = ["light_curve_array", "spectrum_array", "normalise_cube"]
