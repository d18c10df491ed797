"""Resampling onto a :class:`WavelengthGrid`: flux-conserving (SpectRes scheme) or linear."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .core import ResampleMethod, Spectrum, WavelengthGrid, _half_widths


def _resample_flux_conserving(spec: Spectrum, edges: np.ndarray, min_coverage: float):
    valid = spec.mask
    w = spec.wavelength[valid]
    hw = (spec.half_width if spec.half_width is not None else _half_widths(spec.wavelength))[valid]
    f = spec.value[valid]
    s = None if spec.error is None else spec.error[valid]
    lo, hi = w - hw, w + hw
    n_out = edges.size - 1
    # Output bins each input bin [lo, hi] touches, expanded into (input, output, overlap) triples.
    first = np.clip(np.searchsorted(edges, lo, side="right") - 1, 0, n_out - 1)
    last = np.clip(np.searchsorted(edges, hi, side="left") - 1, 0, n_out - 1)
    counts = np.maximum(last - first + 1, 0)
    source = np.repeat(np.arange(w.size), counts)
    offsets = np.arange(source.size) - np.repeat(np.cumsum(counts) - counts, counts)
    target = first[source] + offsets
    overlap = np.minimum(hi[source], edges[target + 1]) - np.maximum(lo[source], edges[target])
    keep = overlap > 0
    source, target, overlap = source[keep], target[keep], overlap[keep]
    weight = np.bincount(target, weights=overlap, minlength=n_out)
    total = np.bincount(target, weights=overlap * f[source], minlength=n_out)
    coverage = weight / np.diff(edges)
    out_mask = (coverage >= min_coverage) & (weight > 0)
    safe = np.where(out_mask, weight, 1.0)
    value = np.where(out_mask, total / safe, 0.0)
    error = None
    if s is not None:
        variance = np.bincount(target, weights=(overlap * s[source]) ** 2, minlength=n_out)
        error = np.where(out_mask, np.sqrt(variance) / safe, 0.0)
    return value, error, out_mask


def _resample_linear(spec: Spectrum, centres: np.ndarray):
    order = np.argsort(spec.wavelength, kind="stable")
    w_all, ok_all = spec.wavelength[order], spec.mask[order]
    w, f = w_all[ok_all], spec.value[order][ok_all]
    if w.size < 2:
        zeros = np.zeros_like(centres)
        return zeros, None if spec.error is None else zeros, np.zeros(centres.shape, dtype=bool)
    value = np.interp(centres, w, f)
    # Valid only between two valid native neighbours (or exactly on a valid sample).
    k = np.searchsorted(w_all, centres, side="left")
    inside = (k > 0) & (k < w_all.size)
    kc = np.clip(k, 1, w_all.size - 1)
    exact = (k < w_all.size) & (w_all[np.clip(k, 0, w_all.size - 1)] == centres) & ok_all[np.clip(k, 0, w_all.size - 1)]
    out_mask = exact | (inside & ok_all[kc - 1] & ok_all[kc])
    value = np.where(out_mask, value, 0.0)
    error = None
    if spec.error is not None:
        s = spec.error[order][ok_all]
        j = np.clip(np.searchsorted(w, centres, side="left"), 1, w.size - 1)
        span = w[j] - w[j - 1]
        t = np.clip(np.where(span > 0, (centres - w[j - 1]) / np.where(span > 0, span, 1.0), 0.0), 0.0, 1.0)
        error = np.where(out_mask, np.sqrt((1 - t) ** 2 * s[j - 1] ** 2 + t**2 * s[j] ** 2), 0.0)
    return value, error, out_mask


def resample(
    spectrum: Spectrum,
    grid: WavelengthGrid | np.ndarray | None = None,
    method: ResampleMethod = "flux_conserving",
    min_coverage: float = 0.5,
) -> Spectrum:
    """``spectrum`` on ``grid`` (default ``WavelengthGrid()``: 0.3-30 um, 512 log bins)."""
    if grid is None:
        grid = WavelengthGrid()
    elif not isinstance(grid, WavelengthGrid):
        grid = WavelengthGrid.from_array(grid)
    edges, centres = grid.edges(), grid.centres()
    if method == "flux_conserving":
        value, error, mask = _resample_flux_conserving(spectrum, edges, min_coverage)
    elif method == "linear":
        value, error, mask = _resample_linear(spectrum, centres)
    else:
        raise ValueError(f"method must be 'flux_conserving' or 'linear', not {method!r}")
    scalar_meta = {k: v for k, v in spectrum.meta.items() if not isinstance(v, np.ndarray)}
    return replace(
        spectrum,
        wavelength=centres,
        value=value.astype(np.float32),
        error=None if error is None else error.astype(np.float32),
        mask=mask,
        half_width=0.5 * np.diff(edges),
        resampling=method,
        meta=scalar_meta,
    )


