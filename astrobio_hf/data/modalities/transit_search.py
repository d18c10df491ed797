"""Transit search: find a periodic box-shaped dip in a light curve with astropy's Box Least Squares (BLS).

What it is for: when a planet's orbit (period, semi-major axis, insolation) is withheld from a model, the light curve
must carry it, the way astronomers get it: a period search. Nothing here reads a catalog period.

Steps of :func:`search_transit` (one signal) and :func:`search_signals` (several, masking each one found):

1. **Validation**: 1-D ``time_days``, ``flux`` (and ``flux_err``) of one length with at least
   :data:`MIN_FINITE_POINTS` finite cadences, else ``ValueError`` naming the field.
2. **Binning and detrending**: flux / median - 1 on a regular grid of bins (mean per bin; empty bins dropped); a
   running median is subtracted within each stretch of contiguous data (a window never spans a gap). It removes
   stellar rotation, and a median ignores a transit shorter than half its window, so the window is chosen per
   period band: 2.5 x the longest duration tried there (2 x the central duration), clipped to
   [``detrend_window_days`` (0.75 d), :data:`DETREND_MAX_WINDOW_DAYS` (1.5 d)] (a longer window leaves large
   residuals of fast rotators). The per-bin noise is the robust scatter (astropy ``mad_std``) of the detrended
   series.
3. **Coarse search**, per period band ``[P, 8P)`` from ``period_min`` (0.5 d) to ``period_max`` (default half the
   baseline: at least two transits must fit) (:func:`coarse_plan`):

   * periods uniform in ``f^(1/3)`` (Ofir 2014, A&A 561, A138): the frequency step ``df = q(f) / (T * oversample)``
     keeps the phase drift across the span T below a quarter of the transit duration at ``oversample = 1``, where
     ``q(f) = duration / period`` of a central transit of the star (``d = P / pi * asin(R* / a)``, Kepler's third
     law with ``star_radius_rsun`` and ``star_mass_msun``: stellar, not orbital, parameters). The default
     :data:`COARSE_OVERSAMPLE` = 0.25 allows a duration of drift at the span's ends (cost is linear in it;
     docs/light_curves.md gives the measured trade-off); the refinement below restores the full resolution;
   * durations from 0.3 x the central duration at the band's shortest period (grazing transits are shorter) to
     1.5 x at its longest (eccentric orbits, denser stars), geometric step :data:`COARSE_DURATION_STEP`, never
     under one coarse bin nor over a quarter of the period;
   * data span: the first ``min(baseline, COARSE_SPAN_TRANSITS x 8P)`` days (100 transits of the band's longest
     period: only the shortest-period band of a multi-year light curve is cut, where hundreds of transits remain),
     binned so it holds at most :data:`COARSE_MAX_POINTS` points (bins of ``bin_minutes`` to
     :data:`COARSE_MAX_BIN_MINUTES`): the cost of BLS is points x periods, and a 4-year Kepler curve must stay
     tractable for thousands of stars.
4. **Refinement** on the whole fine series (``bin_minutes``, default 30) detrended with the band's window: each
   band's peak is refined over +/- 3 coarse steps (31 periods, durations 0.25-2 x the central duration); the most
   significant one competes with 1/2, 2, 1/3 and 3 times its period (a coarse grid can peak at a harmonic); the
   winner is refined once more at 0.15 of the step.

Objective: ``"likelihood"`` (astropy's default: the log-likelihood gain of the box model, 0.5 x depth^2 / err^2 for
white noise). Significance: ``depth_snr`` = depth / depth_err over all in-transit bins, the analog of Kepler's
multiple-event statistic (MES), where depth_err is the larger of BLS's white-noise error and the scatter of
duration-long bin means out of transit divided by sqrt(n_transits) (correlated residuals count as noise on the
transit's time scale, Pont et al. 2006). A signal is ``found`` when ``depth_snr >= snr_threshold`` (7.1, Kepler's
TPS threshold, Jenkins et al. 2010), the depth is positive and at least two transits hold data. ``sde`` (signal
detection efficiency: (peak - mean) / std of the winning band's coarse periodogram) is reported alongside. A search
that finds nothing returns ``found=False`` and NaN values: a masked value, never a guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from astropy import constants as const
from astropy import units as u
from astropy.stats import mad_std
from astropy.timeseries import BoxLeastSquares
from scipy.ndimage import median_filter

SNR_THRESHOLD = 7.1
MIN_FINITE_POINTS = 20
OBJECTIVE = "likelihood"
COARSE_OVERSAMPLE = 0.25
COARSE_MAX_POINTS = 12_000
COARSE_MAX_BIN_MINUTES = 180.0
COARSE_SPAN_TRANSITS = 100
COARSE_DURATION_STEP = 2.0
DETREND_WINDOW_DAYS = 0.75
DETREND_WINDOW_DURATIONS = 2.5
DETREND_MAX_WINDOW_DAYS = 1.5
#: the search's defaults, the keywords of `search_transit` (a test keeps its signature equal): `search_signals` and
#: the light-curve store read them from here
SEARCH_DEFAULTS: dict[str, Any] = {
    "period_min": 0.5, "period_max": None, "star_radius_rsun": 1.0, "star_mass_msun": 1.0, "bin_minutes": 30.0,
    "coarse_bin_minutes": None, "detrend_window_days": DETREND_WINDOW_DAYS, "oversample": COARSE_OVERSAMPLE,
    "snr_threshold": SNR_THRESHOLD}
_GM_SUN_RSUN3_PER_DAY2 = float((const.G * const.M_sun).to_value(u.R_sun**3 / u.day**2))


@dataclass(frozen=True)
class TransitSearch:
    """One search's result; every value is NaN (n_transits 0) when ``found`` is False."""

    found: bool
    period: float  # days
    duration: float  # days, box width
    depth: float  # fraction of the flux
    depth_err: float
    depth_snr: float  # depth / depth_err: the MES analog the threshold applies to
    t0: float  # mid-transit time, in the input's time system
    n_transits: int  # transits with at least one cadence in transit
    sde: float  # signal detection efficiency of the coarse periodogram peak
    n_periods: int  # periods searched (coarse grid)

    def as_dict(self, prefix: str = "") -> dict[str, float | int | bool]:
        return {prefix + f.name: getattr(self, f.name) for f in fields(self)}


def not_found(n_periods: int = 0, sde: float = math.nan) -> TransitSearch:
    """The masked result of a search with no significant signal."""
    nan = math.nan
    return TransitSearch(False, nan, nan, nan, nan, nan, nan, 0, sde, n_periods)


def central_duration(period_days: np.ndarray | float, star_radius_rsun: float = 1.0,
                     star_mass_msun: float = 1.0) -> np.ndarray:
    """Duration (days) of a central transit on a circular orbit: ``P / pi * asin(R* / a)``."""
    p = np.asarray(period_days, dtype=np.float64)
    a = np.cbrt(_GM_SUN_RSUN3_PER_DAY2 * star_mass_msun * p**2 / (4.0 * math.pi**2))
    return p / math.pi * np.arcsin(np.minimum(1.0, star_radius_rsun / a))


def period_grid(baseline_days: float, period_min: float, period_max: float, oversample: float = 1.0,
                star_radius_rsun: float = 1.0, star_mass_msun: float = 1.0) -> np.ndarray:
    """Periods uniform in ``f^(1/3)`` (see the module docstring), ascending."""
    if not 0 < period_min < period_max:
        raise ValueError(f"period range must satisfy 0 < period_min < period_max, got {period_min}, {period_max}")
    # q(f) = d/P = C f^(2/3) for R* << a; df = q / (T * os)  <=>  d(f^(1/3)) = C / (3 T os)
    c = star_radius_rsun / math.pi * (4.0 * math.pi**2 / (_GM_SUN_RSUN3_PER_DAY2 * star_mass_msun)) ** (1 / 3)
    step = c / (3.0 * baseline_days * oversample)
    lo, hi = (1.0 / period_max) ** (1 / 3), (1.0 / period_min) ** (1 / 3)
    x = np.linspace(lo, hi, int(math.ceil((hi - lo) / step)) + 1)  # a step no larger than asked, ends included
    return np.sort(1.0 / x**3)


def period_bands(period_min: float, period_max: float) -> list[tuple[float, float]]:
    """The coarse search's period bands ``[P, 8P)`` covering ``[period_min, period_max]``."""
    bands, lo = [], period_min
    while lo < period_max:
        bands.append((lo, min(8.0 * lo, period_max)))
        lo = bands[-1][1]
    return bands


def _validate(time_days, flux, flux_err) -> tuple[np.ndarray, np.ndarray]:
    arrays = {"time_days": time_days, "flux": flux}
    if flux_err is not None:
        arrays["flux_err"] = flux_err
    out = {}
    for name, values in arrays.items():
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {values.shape}")
        out[name] = values
    lengths = {name: v.size for name, v in out.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"time_days, flux (and flux_err) must have one length, got {lengths}")
    if not np.isfinite(out["flux"]).any():
        raise ValueError(f"flux has no finite value ({out['flux'].size} cadences)")
    good = np.isfinite(out["time_days"]) & np.isfinite(out["flux"])
    if good.sum() < MIN_FINITE_POINTS:
        raise ValueError(f"time_days/flux: {int(good.sum())} cadences with a finite time and flux, "
                         f"need at least {MIN_FINITE_POINTS}")
    time, values = out["time_days"][good], out["flux"][good]
    if np.any(np.diff(time) < 0):
        order = np.argsort(time, kind="stable")
        time, values = time[order], values[order]
    median = float(np.median(values))
    if not median > 0:
        raise ValueError(f"flux median {median} is not positive; pass a flux, not a flux already centred on 0")
    return time, values / median - 1.0


def detrended_series(time: np.ndarray, rel_flux: np.ndarray, bin_minutes: float,
                     detrend_window_days: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Bin onto ``bin_minutes`` (empty bins dropped), subtract a running median of ``detrend_window_days`` computed
    within each stretch of contiguous data (a window never spans a gap); return time, flux, robust noise."""
    width = bin_minutes / 1440.0
    index = np.floor((time - time[0]) / width).astype(np.int64)
    counts = np.bincount(index)
    sums = np.bincount(index, weights=rel_flux)
    filled = counts > 0
    t = time[0] + (np.flatnonzero(filled) + 0.5) * width
    y = sums[filled] / counts[filled]
    window = max(3, int(round(detrend_window_days / width)) | 1)
    breaks = np.flatnonzero(np.diff(t) > 2.5 * width) + 1
    for a, b in zip(np.r_[0, breaks], np.r_[breaks, t.size], strict=True):
        y[a:b] -= median_filter(y[a:b], size=min(window, b - a), mode="nearest")
    return t, y, float(mad_std(y))


def _bls(t: np.ndarray, y: np.ndarray, noise: float) -> BoxLeastSquares:
    return BoxLeastSquares(t, y, dy=np.full(t.size, max(noise, 1e-12)))


def _fine_durations(period: float, bin_minutes: float, star_radius_rsun: float, star_mass_msun: float) -> np.ndarray:
    """Refinement durations: 0.25-2 x the central duration at ``period``, at least 1.5 fine bins."""
    d_c = float(central_duration(period, star_radius_rsun, star_mass_msun))
    d_lo = max(0.25 * d_c, 1.5 * bin_minutes / 1440.0)
    return np.geomspace(d_lo, max(2.0 * d_c, d_lo), 10)


def _refine(model: BoxLeastSquares, centre: float, rel_step: float, durations: np.ndarray):
    """Best (power, period, duration, t0) on 31 periods within +/- 1.5 ``rel_step`` of ``centre``."""
    periods = centre * (1.0 + np.linspace(-1.5, 1.5, 31) * max(rel_step, 1e-7))
    durations = durations[durations < 0.25 * periods[0]]
    durations = durations if durations.size else np.array([0.2 * periods[0]])
    result = model.power(periods, durations, method="fast", oversample=5, objective=OBJECTIVE)
    k = int(np.argmax(result.power))
    return (float(result.power[k]), float(result.period[k]), float(result.duration[k]),
            float(result.transit_time[k]))


def search_transit(time_days, flux, flux_err=None, *, period_min: float = 0.5, period_max: float | None = None,
                   star_radius_rsun: float = 1.0, star_mass_msun: float = 1.0, bin_minutes: float = 30.0,
                   coarse_bin_minutes: float | None = None, detrend_window_days: float = DETREND_WINDOW_DAYS,
                   oversample: float = COARSE_OVERSAMPLE, snr_threshold: float = SNR_THRESHOLD) -> TransitSearch:
    """Search one light curve for the strongest periodic transit (see the module docstring).

    ``flux_err`` is validated but the search's noise is the detrended series' robust scatter. Defaults suit 30-min
    photometry; ``coarse_bin_minutes`` (default: per band, at most :data:`COARSE_MAX_POINTS` points, bins of
    ``bin_minutes`` to 3 h) and ``detrend_window_days`` (the shortest detrending window) are described in the
    module docstring. ``star_radius_rsun``/``star_mass_msun`` set the expected durations (Sun by default)."""
    time, rel = _validate(time_days, flux, flux_err)
    return _search(time, rel, period_min=period_min, period_max=period_max, star_radius_rsun=star_radius_rsun,
                   star_mass_msun=star_mass_msun, bin_minutes=bin_minutes, coarse_bin_minutes=coarse_bin_minutes,
                   detrend_window_days=detrend_window_days, oversample=oversample, snr_threshold=snr_threshold)


@dataclass(frozen=True)
class _Series:
    """A detrended series and its BLS model."""

    t: np.ndarray
    y: np.ndarray
    bls: BoxLeastSquares


def _significance(series: _Series, period: float, duration: float, t0: float) -> tuple[float, float, float, int]:
    """(depth_snr, depth, depth_err, n_transits) of a box; the error is the larger of BLS's white-noise error and
    the scatter (std) of duration-long bin means out of transit over sqrt(n_transits): correlated residuals
    (rotation the detrending left) count as noise on the transit's own time scale (Pont et al. 2006)."""
    stats = series.bls.compute_stats(period, duration, t0)
    depth, white = (float(v) for v in stats["depth"])
    n_transits = int(np.count_nonzero(np.asarray(stats["per_transit_count"]) > 0))
    out = ~series.bls.transit_mask(series.t, period, 1.5 * duration, t0)
    index = np.floor((series.t[out] - series.t[0]) / duration).astype(np.int64)
    counts = np.bincount(index)
    means = np.bincount(index, weights=series.y[out])[counts > 0] / counts[counts > 0]
    red = float(np.std(means)) / math.sqrt(max(n_transits, 1)) if means.size >= 10 else 0.0
    error = max(white, red)
    return (depth / error if error > 0 else math.nan), depth, error, n_transits


def _search(time, rel, *, period_min, period_max, star_radius_rsun, star_mass_msun, bin_minutes, coarse_bin_minutes,
            detrend_window_days, oversample, snr_threshold) -> TransitSearch:
    baseline = float(time[-1] - time[0])
    period_max = 0.5 * baseline if period_max is None else min(float(period_max), 0.5 * baseline)
    if not period_max > period_min:
        return not_found()
    cache: dict[tuple[float, float, float], _Series] = {}

    def series(span: float, bin_min: float, window: float) -> _Series:
        if (span, bin_min, window) not in cache:
            part = time <= time[0] + span
            t, y, noise = detrended_series(time[part], rel[part], bin_min, window)
            cache[span, bin_min, window] = _Series(t, y, _bls(t, y, noise))
        return cache[span, bin_min, window]

    def candidate(fine: _Series, centre: float, rel_step: float) -> tuple:
        durations = _fine_durations(centre, bin_minutes, star_radius_rsun, star_mass_msun)
        _, period, duration, t0 = _refine(fine.bls, centre, rel_step, durations)
        return (*_significance(fine, period, duration, t0), period, duration, t0)

    candidates, n_periods = [], 0
    for lo, hi, span, bin_min, window, durations in coarse_plan(
            baseline, period_min, period_max, bin_minutes, coarse_bin_minutes, star_radius_rsun, star_mass_msun,
            detrend_window_days):
        periods = period_grid(span, lo, hi, oversample, star_radius_rsun, star_mass_msun)
        periods = periods[(periods >= lo) & (periods <= hi) & (periods > 4.0 * max(durations))]
        if periods.size < 3:
            continue
        n_periods += periods.size
        power = series(span, bin_min, window).bls.power(periods, list(durations), method="fast", oversample=2,
                                                        objective=OBJECTIVE).power
        best = int(np.argmax(power))
        spread = float(np.std(power))
        sde = float((power[best] - np.mean(power)) / spread) if spread > 0 else math.nan
        rel_step = (periods[min(best + 1, periods.size - 1)] - periods[max(best - 1, 0)]) / periods[best]
        fine = series(baseline, bin_minutes, window)
        candidates.append((candidate(fine, periods[best], rel_step), sde, rel_step, window))
    candidates = [c for c in candidates if np.isfinite(c[0][0])]
    if not candidates:
        return not_found(n_periods)
    # the most significant band peak against 1/2, 2, 1/3 and 3 times it (a coarse grid can peak at a harmonic)
    best, sde, rel_step, window = max(candidates, key=lambda c: c[0][0])
    fine = series(baseline, bin_minutes, window)
    centre = best[4]
    for multiple in (0.5, 2.0, 1.0 / 3.0, 3.0):
        if period_min <= centre * multiple <= period_max:
            other = candidate(fine, centre * multiple, rel_step)
            best = other if other[0] > best[0] else best
    snr, depth, depth_err, n_transits, period, duration, t0 = candidate(fine, best[4], 0.15 * rel_step)
    if not (np.isfinite(snr) and snr >= snr_threshold and depth > 0 and n_transits >= 2):
        return not_found(n_periods, sde)
    return TransitSearch(True, period, duration, depth, depth_err, snr, t0, n_transits, sde, n_periods)


def coarse_plan(baseline: float, period_min: float, period_max: float, bin_minutes: float,
                coarse_bin_minutes: float | None, star_radius_rsun: float = 1.0, star_mass_msun: float = 1.0,
                detrend_window_days: float = DETREND_WINDOW_DAYS):
    """Per period band: (min period, max period, data span searched, coarse bin in minutes, detrending window in
    days, durations)."""
    plan = []
    for lo, hi in period_bands(period_min, period_max):
        span = min(baseline, COARSE_SPAN_TRANSITS * hi)
        bin_min = coarse_bin_minutes or float(np.clip(span * 1440.0 / COARSE_MAX_POINTS, bin_minutes,
                                                      COARSE_MAX_BIN_MINUTES))
        d_lo = max(0.3 * float(central_duration(lo, star_radius_rsun, star_mass_msun)), bin_min / 1440.0)
        d_hi = min(max(1.5 * float(central_duration(hi, star_radius_rsun, star_mass_msun)), d_lo), 0.25 * lo)
        n = max(1, int(math.ceil(math.log(d_hi / d_lo) / math.log(COARSE_DURATION_STEP))) + 1) if d_hi > d_lo else 1
        # a running median ignores a transit shorter than half its window; refinement tries up to 2 x d_c(hi)
        window = float(np.clip(DETREND_WINDOW_DURATIONS * 2.0 * float(central_duration(hi, star_radius_rsun,
                                                                                        star_mass_msun)),
                               detrend_window_days, DETREND_MAX_WINDOW_DAYS))
        plan.append((lo, hi, span, bin_min, round(window, 4), tuple(float(d) for d in np.geomspace(d_lo, d_hi, n))))
    return plan


def search_signals(time_days, flux, flux_err=None, *, max_signals: int = 1, mask_factor: float = 2.0,
                   **kwargs) -> list[TransitSearch]:
    """Up to ``max_signals`` signals, strongest first: after each found signal its transits (``mask_factor`` x the
    duration wide) are removed and the search runs again; stops at the first search that finds nothing."""
    if max_signals < 1:
        raise ValueError(f"max_signals must be >= 1, not {max_signals}")
    time, rel = _validate(time_days, flux, flux_err)
    found: list[TransitSearch] = []
    unknown = sorted(set(kwargs) - set(SEARCH_DEFAULTS))
    if unknown:
        raise TypeError(f"search_signals got unknown search options {unknown}; known: {sorted(SEARCH_DEFAULTS)}")
    options = {**SEARCH_DEFAULTS, **kwargs}
    # the baseline (and so the period grid) stays that of the whole light curve while transits are masked
    options["period_max"] = 0.5 * float(time[-1] - time[0]) if options["period_max"] is None else options["period_max"]
    while len(found) < max_signals and time.size >= MIN_FINITE_POINTS:
        signal = _search(time, rel, **options)
        if not signal.found:
            break
        found.append(signal)
        keep = ~BoxLeastSquares(time, rel).transit_mask(time, signal.period, mask_factor * signal.duration, signal.t0)
        time, rel = time[keep], rel[keep]
    return found


def assign_by_depth(signals: list[TransitSearch], expected_depths: list[float]) -> list[TransitSearch]:
    """One signal (or a not-found result) per planet of a host without using any planet's period.

    Rule: planets sorted by expected depth ``(pl_rade / st_rad)^2`` (radius stays an input when the orbit is
    withheld) and signals sorted by found depth are paired in rank order, deepest with deepest. For a convex cost of
    the depth mismatch (e.g. |log d_found - log d_expected|) rank pairing is the optimal one-to-one assignment.
    Planets left over (fewer signals than planets) or with no expected depth (NaN, ranked last) get
    :func:`not_found`."""
    order = sorted(range(len(expected_depths)),
                   key=lambda i: (not np.isfinite(expected_depths[i]), -np.nan_to_num(expected_depths[i])))
    ranked = sorted(signals, key=lambda s: -s.depth)
    out: list[TransitSearch] = [not_found()] * len(expected_depths)
    for rank, planet in enumerate(order):
        if rank < len(ranked) and np.isfinite(expected_depths[planet]):
            out[planet] = ranked[rank]
    return out


__all__ = ["TransitSearch", "search_transit", "search_signals", "assign_by_depth", "period_grid",
           "period_bands", "coarse_plan", "central_duration", "detrended_series", "not_found", "SNR_THRESHOLD", "OBJECTIVE"]
