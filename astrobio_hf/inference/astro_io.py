"""astrobio-hf objects as the astronomy community's own types, and back.

- light curves <-> `astropy.timeseries.TimeSeries` (BJD TDB times; `lightkurve.LightCurve` is a TimeSeries subclass,
  so lightkurve curves are accepted as they are and `lightkurve.LightCurve(ts)` wraps an output);
- spectra <-> `specutils.Spectrum1D` (optional: `pip install astrobio-hf[astro]`); a file's own bin widths travel
  in ``meta["half_width_um"]`` (without them, widths come from the spacing, as for a file that has none);
- catalog values <-> `astropy.table.QTable` rows with units (the NASA Exoplanet Archive's columns and units).

`AstroMultimodalProcessor` and `predict` accept the same objects as inputs, so a user's own pipeline can hand over
what it already holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from astropy import units as u
from astropy.nddata import StdDevUncertainty
from astropy.table import QTable
from astropy.time import Time
from astropy.timeseries import TimeSeries

from ..data.modalities.light_curves import RawLightCurve, read_light_curve
from ..data.modalities.spectra import Spectrum, parse_unit
from .catalog_values import CATALOG_UNITS, catalog_value

_FLUX_UNIT = u.electron / u.s  # Kepler / TESS SAP and PDCSAP fluxes


# ------------------------------------------------------------------------------------------------ light curves
def light_curve_timeseries(source: RawLightCurve | str | Path) -> TimeSeries:
    """A light-curve FITS file (or a `RawLightCurve`) as a `TimeSeries`: flux, flux_err (e-/s), quality; the
    mission, target, segment and file in ``meta``. Cadences without a time are dropped (TimeSeries needs times)."""
    raw = read_light_curve(source) if isinstance(source, (str, Path)) else source
    keep = np.isfinite(raw.time)
    time = Time(np.full(int(keep.sum()), raw.bjd_reference), raw.time[keep], format="jd", scale=raw.time_scale)
    series = TimeSeries(time=time, data={"flux": raw.flux[keep] * _FLUX_UNIT,
                                         "flux_err": raw.flux_err[keep] * _FLUX_UNIT,
                                         "quality": raw.quality[keep]})
    series.meta.update({"mission": raw.mission, "target_id": raw.target_id, "segment": raw.segment,
                        "source_file": raw.source_file, "flux_column": raw.flux_column,
                        "time_reference": raw.time_reference})
    return series


def raw_light_curve_from_timeseries(series: TimeSeries) -> RawLightCurve:
    """A `TimeSeries` (or `lightkurve.LightCurve`) with a ``flux`` column (``flux_err`` and ``quality`` optional)
    -> the `RawLightCurve` the binning takes. Times are used as barycentric JD in the series' own scale."""
    if not isinstance(series, TimeSeries):
        raise TypeError(f"a light curve must be a FITS path, a RawLightCurve or an astropy TimeSeries, not "
                        f"{type(series).__name__}")
    if "flux" not in series.colnames:
        raise ValueError(f"the TimeSeries has no 'flux' column (columns: {series.colnames})")
    flux = _plain(series["flux"])
    flux_err = _plain(series["flux_err"]) if "flux_err" in series.colnames else np.zeros_like(flux)
    quality = (np.asarray(series["quality"], dtype=np.int64) if "quality" in series.colnames
               else np.zeros(len(flux), dtype=np.int64))
    jd = series.time.jd1 + series.time.jd2
    reference = float(np.floor(np.nanmin(jd))) if np.isfinite(jd).any() else 0.0
    meta = series.meta or {}
    return RawLightCurve(
        time=(series.time.jd1 - reference) + series.time.jd2, flux=flux, flux_err=flux_err, quality=quality,
        mission=str(meta.get("mission", meta.get("MISSION", "")) or ""), target_id=str(meta.get("target_id", "")),
        segment=str(meta.get("segment", "")), time_system=f"BJD-{reference:g}", time_scale=series.time.scale,
        time_reference=str(meta.get("time_reference", "SOLARSYSTEM")), bjd_reference=reference,
        source_file=str(meta.get("source_file", "TimeSeries")), flux_column="flux", quality_column="quality")


def _plain(column: Any) -> np.ndarray:
    """A (masked) Quantity / Column -> float64 with NaN where masked."""
    values = column.value if hasattr(column, "value") and hasattr(column, "unit") else column
    return np.ma.filled(np.ma.asarray(values, dtype=np.float64), np.nan)


# ------------------------------------------------------------------------------------------------ spectra
def _specutils():
    try:
        import specutils
    except ImportError as error:
        raise ImportError("specutils is not installed: `pip install astrobio-hf[astro]` (or `pip install "
                          "specutils`) to exchange spectra as Spectrum1D") from error
    return specutils


def spectrum_to_specutils(spec: Spectrum):
    """A `Spectrum` as a `specutils.Spectrum1D` (flux with its unit, StdDevUncertainty, mask True = bad)."""
    specutils = _specutils()
    unit = u.dimensionless_unscaled * 1e-6 if spec.value_unit == "ppm" else parse_unit(spec.value_unit)
    flux = np.asarray(spec.value, dtype=np.float64) * unit
    uncertainty = None if spec.error is None else StdDevUncertainty(np.asarray(spec.error, dtype=np.float64) * unit)
    spectrum_class = getattr(specutils, "Spectrum", None) or specutils.Spectrum1D
    out = spectrum_class(spectral_axis=np.asarray(spec.wavelength, dtype=np.float64) * u.um, flux=flux,
                         uncertainty=uncertainty, mask=~np.asarray(spec.mask, dtype=bool))
    out.meta.update({"kind": spec.kind, "target_name": spec.target_name, "source_file": spec.source_file})
    if spec.half_width is not None:  # the file's own bin widths (flux-conserving resampling uses them)
        out.meta["half_width_um"] = np.asarray(spec.half_width, dtype=np.float64)
    return out


def spectrum_from_specutils(spectrum: Any, kind: str | None = None) -> Spectrum:
    """A `specutils.Spectrum1D` / `Spectrum` -> `Spectrum` (wavelengths in microns; kind from ``kind``, the meta, or
    "transmission" for dimensionless depths, else "stellar")."""
    if not (hasattr(spectrum, "spectral_axis") and hasattr(spectrum, "flux")):
        raise TypeError(f"a spectrum must be a file path, a Spectrum or a specutils Spectrum1D, not "
                        f"{type(spectrum).__name__}")
    wavelength = spectrum.spectral_axis.to_value(u.um, equivalencies=u.spectral())
    flux = spectrum.flux
    depth = flux.unit.physical_type == "dimensionless"
    value = flux.to_value(u.dimensionless_unscaled) * 1e6 if depth else flux.value
    error = None
    if spectrum.uncertainty is not None:
        sigma = spectrum.uncertainty.represent_as(StdDevUncertainty).array
        error = np.asarray(sigma, dtype=np.float64) * (1e6 * flux.unit.to(u.dimensionless_unscaled) if depth else 1.0)
    bad = np.zeros(len(value), dtype=bool) if spectrum.mask is None else np.asarray(spectrum.mask, dtype=bool)
    good = ~bad & np.isfinite(value) & np.isfinite(wavelength)
    meta = dict(spectrum.meta or {})
    order = np.argsort(wavelength)
    half_width = meta.get("half_width_um")
    return Spectrum(wavelength=np.asarray(wavelength, dtype=np.float64)[order], value=np.asarray(value)[order],
                    error=None if error is None else error[order], mask=good[order],
                    kind=kind or meta.get("kind") or ("transmission" if depth else "stellar"),
                    value_unit="ppm" if depth else flux.unit.to_string(), source_file=str(meta.get("source_file",
                                                                                                  "Spectrum1D")),
                    target_name=meta.get("target_name"),
                    half_width=None if half_width is None else np.asarray(half_width, dtype=np.float64)[order])


# ------------------------------------------------------------------------------------------------ catalog rows
def catalog_qtable(rows: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> QTable:
    """Catalog values (NASA Exoplanet Archive columns, catalog units) as a `QTable` whose unit columns are
    Quantities (`CATALOG_UNITS`); missing values are NaN."""
    rows = [rows] if isinstance(rows, Mapping) else list(rows)
    names = list(dict.fromkeys(name for row in rows for name in row))
    table = QTable()
    for name in names:
        if name in CATALOG_UNITS or isinstance(rows[0].get(name), (int, float, np.floating)) or any(
                isinstance(r.get(name), (int, float, np.floating)) for r in rows):
            values = [catalog_value(name, r.get(name)) for r in rows]
            column = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
            table[name] = column * u.Unit(CATALOG_UNITS[name]) if name in CATALOG_UNITS else column
        else:
            table[name] = [str(r.get(name) or "") for r in rows]
    return table


__all__ = ["light_curve_timeseries", "raw_light_curve_from_timeseries", "spectrum_to_specutils",
           "spectrum_from_specutils", "catalog_qtable"]
