"""Light curves: Kepler / K2 / TESS SPOC light-curve FITS -> a normalised flux vector on a fixed grid.

Pipeline (``load_light_curve`` = ``read_light_curve`` then ``bin_light_curve``):

1. Read the ``LIGHTCURVE`` BinTable (astropy.io.fits): TIME, PDCSAP_FLUX, PDCSAP_FLUX_ERR and the
   quality column (``QUALITY`` for TESS, ``SAP_QUALITY`` for Kepler/K2).
2. Time system from the LIGHTCURVE header: TIME is ``BJD - (BJDREFI + BJDREFF)`` in the TIMESYS
   scale (TDB) with TIMEREF=SOLARSYSTEM (barycentric). Kepler/K2 call it BKJD (BJD - 2454833),
   TESS BTJD (BJD - 2457000); when BJDREFI is absent the mission's reference is used. The native
   time is kept; ``RawLightCurve.to_time()`` gives an astropy ``Time`` in BJD.
3. Cadence mask: a cadence is used when ``quality & quality_bitmask == 0`` (default bitmask: every
   bit, i.e. any flag drops the cadence) and TIME, flux and flux error are finite.
4. Normalisation over the used cadences, with m = median flux:
   ``"median"`` (default): ``flux / m - 1`` (a relative flux; a transit of depth d sits at -d),
   errors ``err / m``; ``"robust"``: ``(flux - m) / s`` with s = 1.4826 * MAD (astropy ``mad_std``),
   errors ``err / s``.
5. Fixed-length grid of ``n_bins`` equal bins, mean of the normalised flux per bin, error of the
   mean ``sqrt(sum err^2) / n``. Time mode: bins span the used cadences (or ``time_range_bjd``) and
   ``grid`` holds bin centres in BJD_TDB days. Phase mode (a ``period`` is given): phase
   ``((t - t0) / P + 0.5) mod 1 - 0.5`` in [-0.5, 0.5) so that the epoch ``t0`` (BJD_TDB; default the
   first used cadence, which makes phase 0 arbitrary) sits at phase 0; ``grid`` holds phase centres.
   Empty bins have flux 0, error 0 and ``mask`` False (mask True = the bin holds data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from astropy.io import fits
from astropy.stats import mad_std
from astropy.time import Time

from ..physical_ranges import rule, screen
from ._fits import ModalityFormatError, find_hdu, hdu_label, hdu_names, open_fits, read_hdu_data, table_column

# Reference epochs of the missions' native time systems (SPOC data products' BJDREFI + BJDREFF).
MISSION_BJD_REFERENCE: dict[str, float] = {"Kepler": 2454833.0, "K2": 2454833.0, "TESS": 2457000.0}
MISSION_TIME_SYSTEM: dict[str, str] = {"Kepler": "BKJD", "K2": "BKJD", "TESS": "BTJD"}
# Every quality bit set drops the cadence; pass a narrower mask (e.g. lightkurve's "default") to keep more.
DEFAULT_QUALITY_BITMASK = 0xFFFFFFFF

Normalisation = Literal["median", "robust"]


class LightCurveFormatError(ModalityFormatError):
    """A file is not a readable SPOC light curve (names the file, HDU and column)."""


@dataclass
class RawLightCurve:
    """The unbinned LIGHTCURVE table of one file, every cadence, native time."""

    time: np.ndarray  # float64, native time (BKJD / BTJD), NaN where the spacecraft gave none
    flux: np.ndarray  # float64, the flux column (PDCSAP_FLUX by default), e-/s
    flux_err: np.ndarray
    quality: np.ndarray  # int64 quality bit flags
    mission: str  # "Kepler" | "K2" | "TESS"
    target_id: str  # "KIC 11442793", "EPIC 201367065", "TIC 21132157"
    segment: str  # quarter / campaign / sector: "Q3", "C1", "S58" ("" when unknown)
    time_system: str  # "BKJD" | "BTJD" (or "BJD-<ref>")
    time_scale: str  # astropy scale from TIMESYS, "tdb"
    time_reference: str  # TIMEREF, "SOLARSYSTEM" = barycentric
    bjd_reference: float  # BJDREFI + BJDREFF: BJD = time + bjd_reference
    source_file: str
    flux_column: str
    quality_column: str
    #: values set to NaN by the physical ranges (``"FLUX: outside ..."`` -> count); see docs/data.md
    masked: dict[str, int] = field(default_factory=dict)

    @property
    def n_cadences(self) -> int:
        return int(self.time.shape[0])

    @property
    def time_bjd(self) -> np.ndarray:
        """Barycentric Julian Date (TDB) of every cadence."""
        return self.time + self.bjd_reference

    def to_time(self) -> Time:
        """The cadence times as an astropy ``Time`` (JD in the file's scale, reference kept in the
        first part for full float64 precision)."""
        return Time(np.full_like(self.time, self.bjd_reference), self.time, format="jd", scale=self.time_scale)

    def good_cadences(self, quality_bitmask: int = DEFAULT_QUALITY_BITMASK) -> np.ndarray:
        """Cadences with no masked quality bit and finite time, flux and flux error."""
        flagged = (self.quality & np.int64(quality_bitmask)) != 0
        finite = np.isfinite(self.time) & np.isfinite(self.flux) & np.isfinite(self.flux_err)
        return finite & ~flagged


@dataclass
class LightCurve:
    """A light curve on a fixed grid: the model input of the ``light_curve`` modality."""

    flux: np.ndarray  # float32 [n_bins], normalised (see ``normalisation``)
    flux_err: np.ndarray  # float32 [n_bins]
    mask: np.ndarray  # bool [n_bins], True where the bin holds at least one cadence
    grid: np.ndarray  # float64 [n_bins]: phase in [-0.5, 0.5) or time in BJD_TDB days (bin centres)
    grid_kind: Literal["phase", "time"]
    mission: str
    target_id: str
    segment: str
    time_system: str  # native system of the file, e.g. "BKJD"
    bjd_reference: float  # native time = BJD - bjd_reference
    source_file: str
    n_cadences_used: int
    n_cadences_total: int
    normalisation: str
    quality_bitmask: int
    period: float | None = None  # days, phase mode only
    t0_bjd: float | None = None  # epoch at phase 0, BJD_TDB, phase mode only
    bin_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # cadences per bin

    @property
    def grid_native(self) -> np.ndarray:
        """Bin centres in the file's native time (BKJD/BTJD) in time mode; phases in phase mode."""
        return self.grid if self.grid_kind == "phase" else self.grid - self.bjd_reference


def _mission(path: Path, primary, lc_header) -> str:
    mission = str(primary.get("MISSION") or lc_header.get("MISSION") or "").strip()
    telescope = str(primary.get("TELESCOP") or lc_header.get("TELESCOP") or "").strip()
    for name in ("K2", "Kepler", "TESS"):
        if mission.upper() == name.upper():
            return name
    for name in ("Kepler", "TESS"):
        if telescope.upper() == name.upper():
            return name
    raise LightCurveFormatError(
        f"{path}: HDU 0 'PRIMARY': cannot tell the mission (MISSION={mission!r}, TELESCOP={telescope!r}); "
        "expected a Kepler, K2 or TESS SPOC light curve"
    )


def _target_id(mission: str, primary) -> str:
    obj = str(primary.get("OBJECT") or "").strip()
    if obj:
        return obj
    if mission == "TESS" and primary.get("TICID") is not None:
        return f"TIC {int(primary['TICID'])}"
    if primary.get("KEPLERID") is not None:
        return f"{'EPIC' if mission == 'K2' else 'KIC'} {int(primary['KEPLERID'])}"
    return ""


def _segment(primary) -> str:
    for key, prefix in (("QUARTER", "Q"), ("CAMPAIGN", "C"), ("SECTOR", "S")):
        if primary.get(key) is not None:
            return f"{prefix}{primary[key]}"
    return ""


def read_light_curve(path: str | Path, flux_column: str = "PDCSAP_FLUX") -> RawLightCurve:
    """Read every cadence of a Kepler/K2/TESS SPOC ``*_llc.fits`` / ``*_lc.fits`` file."""
    path = Path(path)
    with open_fits(path, LightCurveFormatError) as hdul:
        return light_curve_from_hdul(path, hdul, flux_column)


def light_curve_from_hdul(path: str | Path, hdul: fits.HDUList, flux_column: str = "PDCSAP_FLUX") -> RawLightCurve:
    """:func:`read_light_curve` on a file already opened with :func:`open_fits` (for readers that need more of it:
    opening a FITS file costs more than reading a short light curve)."""
    path = Path(path)
    index = find_hdu(hdul, "LIGHTCURVE")
    if index is None:
        raise LightCurveFormatError(
            f"{path}: no LIGHTCURVE HDU (HDUs found: {hdu_names(hdul)}); not a SPOC light curve or truncated"
        )
    header = hdul[index].header
    data = read_hdu_data(path, hdul, index, LightCurveFormatError)
    if data is None or not hasattr(data, "columns"):
        raise LightCurveFormatError(f"{path}: {hdu_label(hdul, index)}: not a binary table")
    names = [n.upper() for n in data.columns.names]
    quality_column = next((c for c in ("QUALITY", "SAP_QUALITY") if c in names), None)
    if quality_column is None:
        raise LightCurveFormatError(
            f"{path}: {hdu_label(hdul, index)}: missing quality column 'QUALITY' or 'SAP_QUALITY' "
            f"(columns: {', '.join(names)})"
        )
    time = table_column(path, hdul, index, data, "TIME", LightCurveFormatError).astype(np.float64)
    flux = table_column(path, hdul, index, data, flux_column, LightCurveFormatError).astype(np.float64)
    flux_err = table_column(path, hdul, index, data, f"{flux_column}_ERR", LightCurveFormatError)
    quality = table_column(path, hdul, index, data, quality_column, LightCurveFormatError).astype(np.int64)
    where = f"{path}: {hdu_label(hdul, index)}"
    time, flux, flux_err, masked = screen_cadences(time, flux, flux_err.astype(np.float64), flux_column, where)

    primary = hdul[0].header
    mission = _mission(path, primary, header)
    if header.get("BJDREFI") is not None:
        bjd_reference = float(header["BJDREFI"]) + float(header.get("BJDREFF", 0.0))
    else:
        bjd_reference = MISSION_BJD_REFERENCE[mission]
    if bjd_reference == MISSION_BJD_REFERENCE[mission]:
        time_system = MISSION_TIME_SYSTEM[mission]
    else:
        time_system = f"BJD-{bjd_reference:g}"
    return RawLightCurve(
        time=time,
        flux=flux,
        flux_err=flux_err,
        quality=quality,
        mission=mission,
        target_id=_target_id(mission, primary),
        segment=_segment(primary),
        time_system=time_system,
        time_scale=str(header.get("TIMESYS", "TDB")).strip().lower(),
        time_reference=str(header.get("TIMEREF", "SOLARSYSTEM")).strip().upper(),
        bjd_reference=bjd_reference,
        source_file=str(path),
        flux_column=flux_column,
        quality_column=quality_column,
        masked=masked,
    )


def screen_cadences(time: np.ndarray, flux: np.ndarray, flux_err: np.ndarray, flux_column: str,
                    where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """Apply the ``light_curve`` physical ranges and refuse cadences out of time order.

    Fill values (a flux of 3.4e38, a time of -1e30) become NaN, so the cadence drops out as any
    gap does, and are counted; finite times must strictly increase: a repeated or reversed cadence
    is an error naming its row (the archive's tables never hold one).
    """
    masked: dict[str, int] = {}
    screened = []
    for name, values in (("TIME", time), ("FLUX", flux), ("FLUX_ERR", flux_err)):
        spec = rule("light_curve", name)
        values, count = screen(values, spec, f"{where}, column {name}")
        if count:
            label = name if name == "TIME" else name.replace("FLUX", flux_column, 1)
            masked[f"{label}: outside {spec.describe()}"] = count
        screened.append(values)
    time = screened[0]
    finite = np.flatnonzero(np.isfinite(time))
    if not finite.size and time.size:
        raise LightCurveFormatError(f"{where}, column TIME: no cadence has a time ({time.size} rows, every TIME NaN "
                                    "or a fill value)")
    flux_ok = screened[1][np.isfinite(screened[1])]
    if flux_column == "PDCSAP_FLUX" and flux_ok.size and float(np.median(flux_ok)) <= 0:
        # PDC flux is a star's calibrated flux in e-/s: single faint cadences may dip below 0, the median never
        raise LightCurveFormatError(f"{where}, column PDCSAP_FLUX: median flux {float(np.median(flux_ok)):.6g} e-/s "
                                    f"<= 0 ({int((flux_ok <= 0).sum())} of {flux_ok.size} cadences not positive); "
                                    "SPOC's PDC flux of a star is positive")
    steps = np.diff(time[finite])
    if (steps <= 0).any():
        at = int(np.flatnonzero(steps <= 0)[0])
        row, previous = int(finite[at + 1]), int(finite[at])
        what = "repeats" if steps[at] == 0 else "goes back before"
        raise LightCurveFormatError(
            f"{where}, row {row + 1}, column TIME: cadence time {float(time[row])!r} {what} the time {float(time[previous])!r} of "
            f"row {previous + 1}; cadences must be in increasing time order ({int((steps <= 0).sum())} such rows)")
    return time, screened[1], screened[2], masked


def _normalise(flux: np.ndarray, err: np.ndarray, how: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    median = float(np.median(flux))
    if how == "median":
        if median <= 0:
            raise LightCurveFormatError(f"{source}: median flux {median} <= 0, cannot median-normalise")
        return flux / median - 1.0, err / median
    if how == "robust":
        scale = float(mad_std(flux))
        if scale <= 0:
            raise LightCurveFormatError(f"{source}: robust scatter of the flux is 0, cannot robust-scale")
        return (flux - median) / scale, err / scale
    raise ValueError(f"normalisation must be 'median' or 'robust', not {how!r}")


def bin_light_curve(
    raw: RawLightCurve,
    n_bins: int = 1024,
    period: float | None = None,
    t0_bjd: float | None = None,
    quality_bitmask: int = DEFAULT_QUALITY_BITMASK,
    normalisation: Normalisation = "median",
    time_range_bjd: tuple[float, float] | None = None,
) -> LightCurve:
    """Quality-mask, normalise and bin a raw light curve onto ``n_bins`` bins in time or, when a
    ``period`` (days) is given, in orbital phase (see the module docstring)."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, not {n_bins}")
    if period is not None and not period > 0:
        raise ValueError(f"period must be > 0 days, not {period}")
    good = raw.good_cadences(quality_bitmask)
    n_used = int(good.sum())
    if n_used == 0:
        raise LightCurveFormatError(
            f"{raw.source_file}: no usable cadence out of {raw.n_cadences} (quality bitmask {quality_bitmask:#x}, "
            f"column {raw.flux_column})"
        )
    time = raw.time[good]
    flux, err = _normalise(raw.flux[good], raw.flux_err[good], normalisation, raw.source_file)

    if period is None:
        if time_range_bjd is None:
            lo, hi = float(time.min()), float(time.max())
        else:
            lo, hi = (float(t) - raw.bjd_reference for t in time_range_bjd)
        if hi <= lo:
            hi = lo + 1e-6  # a single cadence: give the one-bin grid a nonzero width
        edges = np.linspace(lo, hi, n_bins + 1)
        coordinate = time
        keep = (coordinate >= lo) & (coordinate <= hi)
        grid = 0.5 * (edges[:-1] + edges[1:]) + raw.bjd_reference
        grid_kind: Literal["phase", "time"] = "time"
        t0_used = None
    else:
        t0_native = float(time[0]) if t0_bjd is None else float(t0_bjd) - raw.bjd_reference
        coordinate = np.mod((time - t0_native) / period + 0.5, 1.0) - 0.5
        edges = np.linspace(-0.5, 0.5, n_bins + 1)
        keep = np.ones_like(coordinate, dtype=bool)
        grid = 0.5 * (edges[:-1] + edges[1:])
        grid_kind = "phase"
        t0_used = t0_native + raw.bjd_reference

    width = edges[1] - edges[0]
    index = np.clip(np.floor((coordinate[keep] - edges[0]) / width).astype(np.int64), 0, n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    sums = np.bincount(index, weights=flux[keep], minlength=n_bins)
    variances = np.bincount(index, weights=err[keep] ** 2, minlength=n_bins)
    mask = counts > 0
    safe = np.where(mask, counts, 1)
    binned = np.where(mask, sums / safe, 0.0)
    binned_err = np.where(mask, np.sqrt(variances) / safe, 0.0)

    return LightCurve(
        flux=binned.astype(np.float32),
        flux_err=binned_err.astype(np.float32),
        mask=mask,
        grid=grid,
        grid_kind=grid_kind,
        mission=raw.mission,
        target_id=raw.target_id,
        segment=raw.segment,
        time_system=raw.time_system,
        bjd_reference=raw.bjd_reference,
        source_file=raw.source_file,
        n_cadences_used=int(keep.sum()) if period is None else n_used,
        n_cadences_total=raw.n_cadences,
        normalisation=normalisation,
        quality_bitmask=quality_bitmask,
        period=period,
        t0_bjd=t0_used,
        bin_counts=counts,
    )


def load_light_curve(
    path: str | Path,
    n_bins: int = 1024,
    period: float | None = None,
    t0_bjd: float | None = None,
    quality_bitmask: int = DEFAULT_QUALITY_BITMASK,
    normalisation: Normalisation = "median",
    flux_column: str = "PDCSAP_FLUX",
    time_range_bjd: tuple[float, float] | None = None,
) -> LightCurve:
    """Read a SPOC light-curve FITS file and return its binned, normalised light curve."""
    raw = read_light_curve(path, flux_column=flux_column)
    return bin_light_curve(
        raw,
        n_bins=n_bins,
        period=period,
        t0_bjd=t0_bjd,
        quality_bitmask=quality_bitmask,
        normalisation=normalisation,
        time_range_bjd=time_range_bjd,
    )
