"""Spectra: archive spectrum files -> wavelength / value / error / mask on a configurable grid.

Readers (native sampling, wavelengths converted to microns with astropy.units):

* JWST ``*_x1d.fits`` / ``*_x1dints.fits`` (``read_jwst_x1d``): every ``EXTRACT1D`` BinTable
  (WAVELENGTH [um], FLUX [Jy], FLUX_ERROR, DQ); x1dints files carry one EXTRACT1D per integration
  (header INT_NUM) and an ``INT_TIMES`` table whose ``int_mid_BJD_TDB`` is copied into ``meta``.
* Published transmission/emission-spectrum tables (``read_transmission_table``): CSV with or
  without '#' comment lines (columns wave, wave_error, dppm, dppm_err, order, quality, ...),
  whitespace text with one header line (the K2-18 b OSF tables: wavelength, bin half-width, transit
  depth, uncertainty), and the Pyrat Bay observation format (``@DEPTH_UNITS``, ``@DATA`` markers;
  columns depth, depth_err, wl, half_width, instrument). Depths are converted to ppm; a depth column
  whose name and file give no unit is taken as a fraction (pass ``depth_unit`` to override).
* ESO Phase-3 ADP 1-D spectra (``read_eso_adp``): a ``SPECTRUM`` BinTable with one row of array
  columns WAVE, FLUX, ERR (units from TUNITn). An all-NaN ERR ("error spectrum not available")
  becomes ``error=None``.
* 1-D spectra stored as an image plus a linear WCS (``read_wcs1d_fits``): HARPS s1d (CRVAL1/CDELT1,
  CTYPE1='Angstrom'), Keck/ESI extracted spectra (log-linear IRAF WCS: DC-FLAG=1 means the WCS
  gives log10 wavelength; the companion ``*_e.fits`` holds the 1-sigma error), Gemini/IRAF 1-D
  spectra (``SCI`` image + CRVAL1/CD1_1, optional ``VAR`` and ``DQ`` extensions), and IRAF
  ``equispec`` multi-aperture images such as the Subaru/IRD ThAr file (one row per echelle order).
  The pixel -> world step is astropy.wcs; the IRAF DC-FLAG convention is applied by hand because
  astropy's WCS does not know it. An image whose dispersion axis is uncalibrated (CTYPE1='PIXEL')
  needs ``wavelength_um`` (one row per order) or raises. Non-standard header cards (for example
  SMOKA's ``IRAF-B/P``) are read leniently and listed in ``Spectrum.nonstandard_cards``.

Native validity mask (True = usable sample): finite positive wavelength, finite value, DQ == 0
where a DQ array exists, finite error > 0 where errors exist (Keck/ESI writes sigma = 0 for no
data), ``quality == 0`` in tables that have a quality column, and for HARPS products value != 0
(the DRS pads the gap between the two CCDs with zeros; ``zero_is_gap`` overrides).

Resampling (``resample``) onto a ``WavelengthGrid`` (log-uniform or linear from min/max/n, where
min/max are the outer bin edges, or an explicit array of bin centres):

* ``"flux_conserving"`` (default): each input sample is a bin [w - hw, w + hw] (half-widths from
  the table, or half the local sample spacing); an output bin takes the overlap-weighted mean of
  the valid input bins it overlaps, which conserves the integral of value over wavelength
  (the SpectRes scheme, Carnall 2017). Errors: ``sqrt(sum(o^2 s^2)) / sum(o)`` for overlaps o,
  assuming independent inputs (when the grid is finer than the data, neighbouring outputs share
  inputs and their errors are correlated). Overlapping inputs (several instruments in one table,
  echelle orders) are averaged. An output bin is valid when its valid overlap covers at least
  ``min_coverage`` (default 0.5) of its width.
* ``"linear"``: ``numpy.interp`` of the valid samples at the bin centres, errors
  ``sqrt((1-t)^2 s_a^2 + t^2 s_b^2)``; a centre is valid only when both neighbouring native samples
  are valid (no interpolation across flagged samples, gaps or the data's ends).

Resampled spectra carry value and error as float32 with 0 where ``mask`` is False.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from ._fits import (
    ModalityFormatError,
    find_hdu,
    hdu_label,
    hdu_names,
    nonstandard_cards,
    open_fits,
    read_hdu_data,
    table_column,
)
from .spectrum_checks import PHASE3_NAMES, PHASE3_UTYPES, checked, is_phase3_spectrum, phase3_column, usable_error

PPM = u.def_unit("ppm", 1e-6 * u.dimensionless_unscaled)
SpectrumKind = Literal["transmission", "stellar", "emission"]
ResampleMethod = Literal["flux_conserving", "linear"]
_KINDS = ("transmission", "stellar", "emission")
_FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz")


class SpectrumFormatError(ModalityFormatError):
    """A file is not a readable spectrum (names the file and the HDU, column, card or line)."""


@dataclass(frozen=True)
class WavelengthGrid:
    """The wavelength grid spectra are resampled to, in microns.

    From ``min_um``/``max_um``/``n`` (the outer bin edges and the number of bins, spaced uniformly
    in log wavelength or linearly), or from an explicit array of bin centres (``from_array``).
    """

    min_um: float = 0.3
    max_um: float = 30.0
    n: int = 512
    scale: Literal["log", "linear"] = "log"
    values_um: tuple[float, ...] | None = None

    @classmethod
    def from_array(cls, centres_um) -> WavelengthGrid:
        values = np.asarray(centres_um, dtype=np.float64)
        if values.ndim != 1 or values.size < 2 or not np.all(np.diff(values) > 0) or values[0] <= 0:
            raise ValueError("an explicit wavelength grid needs >= 2 positive, strictly increasing values (microns)")
        return cls(min_um=float(values[0]), max_um=float(values[-1]), n=int(values.size), values_um=tuple(values))

    def edges(self) -> np.ndarray:
        """The n + 1 bin edges in microns."""
        if self.values_um is not None:
            c = np.asarray(self.values_um)
            mid = 0.5 * (c[1:] + c[:-1])
            return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])
        if not (0 < self.min_um < self.max_um) or self.n < 1:
            raise ValueError(f"bad wavelength grid: min {self.min_um}, max {self.max_um}, n {self.n}")
        if self.scale == "log":
            return np.geomspace(self.min_um, self.max_um, self.n + 1)
        if self.scale == "linear":
            return np.linspace(self.min_um, self.max_um, self.n + 1)
        raise ValueError(f"grid scale must be 'log' or 'linear', not {self.scale!r}")

    def centres(self) -> np.ndarray:
        """Bin centres in microns: the given values, geometric centres (log) or midpoints (linear)."""
        if self.values_um is not None:
            return np.asarray(self.values_um, dtype=np.float64)
        e = self.edges()
        return np.sqrt(e[:-1] * e[1:]) if self.scale == "log" else 0.5 * (e[:-1] + e[1:])


@dataclass
class Spectrum:
    """One spectrum: native sampling from a reader, or on a grid after ``resample``."""

    wavelength: np.ndarray  # microns, float64
    value: np.ndarray  # flux (value_unit) or transit/eclipse depth in ppm
    error: np.ndarray | None  # 1-sigma, same unit as value; None when the file has no errors
    mask: np.ndarray  # bool, True where the value is usable
    kind: str  # "transmission" | "stellar" | "emission"
    value_unit: str  # as written by the file ("Jy", "adu", "erg/cm2/s/A", ...) or "ppm" for depths
    source_file: str
    target_name: str | None = None
    wavelength_unit: str = "um"
    half_width: np.ndarray | None = None  # microns, half of each sample's bin width
    nonstandard_cards: tuple[str, ...] = ()  # header cards that break the FITS standard
    resampling: str | None = None  # the resampling method, None for native sampling
    meta: dict = field(default_factory=dict)  # instrument, order, integration, per-sample labels, ...

    def value_quantity(self) -> u.Quantity:
        """``value`` with its astropy unit (IRAF's 'A' for Angstrom is read as Angstrom)."""
        return self.value * parse_unit(self.value_unit)


def parse_unit(text: str) -> u.UnitBase:
    """An astropy unit from a unit string as archives write it ('Angstroms', 'erg/cm2/s/A', 'ppm')."""
    cleaned = text.strip()
    if cleaned.lower() in ("ppm", ""):
        return PPM if cleaned else u.dimensionless_unscaled
    # IRAF writes 'A' for Angstrom (astropy would read Ampere) and plural names.
    cleaned = re.sub(r"(?<![A-Za-z])A(?![A-Za-z])", "Angstrom", cleaned)
    cleaned = re.sub(r"(?i)angstroms\b", "Angstrom", cleaned)
    cleaned = re.sub(r"(?i)microns\b", "micron", cleaned)
    for fmt in ("fits", "generic"):
        try:
            return u.Unit(cleaned, format=fmt)
        except ValueError:
            continue
    raise ValueError(f"unit {text!r} is not understood")


def _to_microns(values: np.ndarray, unit: str, where: str) -> np.ndarray:
    try:
        return (np.asarray(values, dtype=np.float64) * parse_unit(unit)).to_value(u.um)
    except (ValueError, u.UnitConversionError) as exc:
        raise SpectrumFormatError(f"{where}: wavelength unit {unit!r} cannot be converted to microns ({exc})") from exc


def _half_widths(wavelength: np.ndarray) -> np.ndarray:
    """Half the local sample spacing: the bin half-width of a pixel-sampled spectrum."""
    if wavelength.size < 2:
        return np.zeros_like(wavelength)
    return 0.5 * np.abs(np.gradient(wavelength))


def _native_mask(wavelength, value, error, dq=None, zero_is_gap=False) -> np.ndarray:
    mask = np.isfinite(wavelength) & (wavelength > 0) & np.isfinite(value)
    if usable_error(value, error, mask):  # a mostly-missing error column is dropped (spectrum_checks), not obeyed
        mask &= np.isfinite(error) & (error > 0)
    if dq is not None:
        mask &= np.asarray(dq) == 0
    if zero_is_gap:
        mask &= value != 0
    return mask


def _check_kind(kind: str) -> str:
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, not {kind!r}")
    return kind


def _header_text(header: fits.Header, *keys: str) -> str | None:
    for key in keys:
        value = header.get(key)
        if value not in (None, ""):
            return str(value).strip()
    return None


# ---------------------------------------------------------------- JWST x1d / x1dints


@checked(SpectrumFormatError)
def read_jwst_x1d(path: str | Path, kind: SpectrumKind = "stellar") -> list[Spectrum]:
    """Every EXTRACT1D spectrum of a JWST x1d or x1dints file (one per order / integration)."""
    path = Path(path)
    _check_kind(kind)
    with open_fits(path, SpectrumFormatError) as hdul:
        indices = [i for i, h in enumerate(hdul) if h.name.upper() == "EXTRACT1D"]
        if not indices:
            raise SpectrumFormatError(f"{path}: no EXTRACT1D HDU (HDUs found: {hdu_names(hdul)}); not a JWST x1d file")
        primary = hdul[0].header
        int_mid: dict[int, float] = {}
        times_index = find_hdu(hdul, "INT_TIMES")
        if times_index is not None:
            times = read_hdu_data(path, hdul, times_index, SpectrumFormatError)
            numbers = table_column(path, hdul, times_index, times, "int_number", SpectrumFormatError)
            mids = table_column(path, hdul, times_index, times, "int_mid_BJD_TDB", SpectrumFormatError)
            int_mid = {int(n): float(t) for n, t in zip(numbers, mids, strict=True)}
        spectra = []
        for index in indices:
            data = read_hdu_data(path, hdul, index, SpectrumFormatError)
            header = hdul[index].header
            where = f"{path}: {hdu_label(hdul, index)} (EXTVER {hdul[index].ver})"
            wave_raw = table_column(path, hdul, index, data, "WAVELENGTH", SpectrumFormatError)
            if wave_raw.ndim != 1:
                raise SpectrumFormatError(f"{where}: WAVELENGTH has shape {wave_raw.shape}; expected one value per row")
            flux = table_column(path, hdul, index, data, "FLUX", SpectrumFormatError).astype(np.float64)
            err_name = "FLUX_ERROR" if "FLUX_ERROR" in data.columns.names else "ERROR"
            error = table_column(path, hdul, index, data, err_name, SpectrumFormatError).astype(np.float64)
            dq = table_column(path, hdul, index, data, "DQ", SpectrumFormatError)
            columns = data.columns
            wave = _to_microns(wave_raw, columns["WAVELENGTH"].unit or "um", where)
            meta = {
                "telescope": _header_text(primary, "TELESCOP"),
                "instrument": _header_text(primary, "INSTRUME"),
                "exp_type": _header_text(primary, "EXP_TYPE"),
                "extver": hdul[index].ver,
                "sporder": header.get("SPORDER"),
                "int_num": header.get("INT_NUM"),
            }
            if meta["int_num"] is not None and int(meta["int_num"]) in int_mid:
                meta["int_mid_bjd_tdb"] = int_mid[int(meta["int_num"])]
            spectra.append(
                Spectrum(
                    wavelength=wave,
                    value=flux,
                    error=error,
                    mask=_native_mask(wave, flux, error, dq=dq),
                    kind=kind,
                    value_unit=columns["FLUX"].unit or "",
                    source_file=str(path),
                    target_name=_header_text(primary, "TARGPROP", "TARGNAME", "OBJECT"),
                    half_width=_half_widths(wave),
                    nonstandard_cards=nonstandard_cards(primary) + nonstandard_cards(header),
                    meta=meta,
                )
            )
        return spectra


# ---------------------------------------------------------------- published tables

_WAVE_NAMES = ("wave", "wavelength", "wl", "lambda", "wavelength_microns")
_HALF_WIDTH_NAMES = ("wave_error", "wave_err", "half_width", "bin_half_width", "halfwidth", "wl_err")
_DEPTH_NAMES = ("dppm", "depth", "transit_depth", "eclipse_depth", "rp_rs2", "value")
_DEPTH_ERR_NAMES = ("dppm_err", "dppm_error", "depth_err", "depth_error", "uncertainty", "error", "err")


def _normalise_name(name: str) -> str:
    name = re.sub(r"\(.*?\)|\[.*?\]", "", str(name)).strip().lower()
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_")


def _pick(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    normalised = {_normalise_name(c): c for c in columns}
    for candidate in candidates:
        if candidate in normalised:
            return normalised[candidate]
    return None


def _decode_text(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of every line; non-UTF-8 bytes raise naming the line."""
    raw = path.read_bytes()
    if not raw.strip():
        raise SpectrumFormatError(f"{path}: empty file, no spectrum table")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpectrumFormatError(
            f"{path}: line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from exc
    return list(enumerate(text.splitlines(), start=1))


def _numeric(frame: pd.DataFrame, column: str, line_numbers: list[int], path: Path) -> np.ndarray:
    """A column as float64 (numpy's correctly rounded parser; empty cells become NaN and are masked)."""
    texts = frame[column].fillna("nan").astype(str).str.strip().to_numpy()
    try:
        return texts.astype(np.float64)
    except ValueError:
        for row, text in enumerate(texts):
            try:
                float(text)
            except ValueError:
                raise SpectrumFormatError(
                    f"{path}: line {line_numbers[row]}: column '{column}' value {text!r} is not a number"
                ) from None
        raise


def _read_frame(path: Path, lines: list[tuple[int, str]], sep: str, names: list[str] | None) -> pd.DataFrame:
    text = "\n".join(t for _, t in lines)
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None if names is not None else 0,
            names=names,
            dtype=str,
            skipinitialspace=True,
            engine="python",
        )
    except (pd.errors.ParserError, ValueError) as exc:
        match = re.search(r"line (\d+)", str(exc))
        where = f"line {lines[int(match.group(1)) - 1][0]}" if match and int(match.group(1)) <= len(lines) else "table"
        raise SpectrumFormatError(f"{path}: {where}: cannot parse the table ({exc})") from exc


def _depth_unit_from(column: str, header_text: str) -> str | None:
    text = f"{column} {header_text}".lower()
    if "ppm" in text:
        return "ppm"
    if "percent" in text or "%" in text:
        return "percent"
    if "ppt" in text:
        return "ppt"
    return None


def _depth_to_ppm(values: np.ndarray, unit: str, path: Path) -> np.ndarray:
    units = {"ppm": PPM, "ppt": u.def_unit("ppt", 1e-3 * u.dimensionless_unscaled), "percent": u.percent}
    units.update({"none": u.dimensionless_unscaled, "fraction": u.dimensionless_unscaled})
    if unit.lower() not in units:
        raise SpectrumFormatError(f"{path}: depth unit {unit!r} not one of {sorted(units)}")
    return (values * units[unit.lower()]).to_value(PPM)


def _pyratbay_sections(path: Path, lines: list[tuple[int, str]]) -> tuple[str | None, list[tuple[int, str]]]:
    """Depth unit and data lines of a Pyrat Bay observation file ('@DEPTH_UNITS' then its value,
    '@DATA' then whitespace rows). Written by hand: no library reads this small format."""
    unit, data, state = None, [], None
    for number, text in lines:
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("@"):
            state = stripped.upper()
            if state not in ("@DEPTH_UNITS", "@DATA"):
                raise SpectrumFormatError(f"{path}: line {number}: unknown Pyrat Bay section {stripped!r}")
            continue
        if state == "@DEPTH_UNITS":
            unit, state = stripped, None
        elif state == "@DATA":
            data.append((number, stripped))
        else:
            raise SpectrumFormatError(f"{path}: line {number}: data before an '@DATA' marker")
    return unit, data


@checked(SpectrumFormatError)
def read_transmission_table(
    path: str | Path,
    kind: SpectrumKind = "transmission",
    depth_unit: str | None = None,
    target_name: str | None = None,
) -> Spectrum:
    """A published transit/eclipse-depth spectrum table (CSV, whitespace text or Pyrat Bay)."""
    path = Path(path)
    _check_kind(kind)
    lines = _decode_text(path)
    meta: dict = {}
    if any(t.strip().upper() == "@DATA" for _, t in lines):
        unit, data_lines = _pyratbay_sections(path, lines)
        if not data_lines:
            raise SpectrumFormatError(f"{path}: '@DATA' section has no rows")
        frame = _read_frame(path, data_lines, r"\s+", _pyratbay_names(path, data_lines))
        wave_col, hw_col, depth_col, err_col = "wl", "half_width", "depth", "depth_err"
        file_unit = depth_unit or unit or "none"
        meta["format"] = "pyratbay"
        if "instrument" in frame.columns:
            meta["instrument"] = frame["instrument"].to_numpy(dtype=str)
        line_numbers = [n for n, _ in data_lines]
    else:
        content = [(n, t) for n, t in lines if t.strip() and not t.lstrip().startswith("#")]
        comments = " ".join(t for _, t in lines if t.lstrip().startswith("#"))
        if len(content) < 2:
            raise SpectrumFormatError(f"{path}: no data rows after the header")
        header_number, header = content[0]
        rows = content[1:]
        if "," in rows[0][1]:
            frame = _read_frame(path, content, ",", None)
            meta["format"] = "csv"
        else:
            names = [h.strip() for h in (header.split(",") if "," in header else header.split())]
            frame = _read_frame(path, rows, r"\s+", names)
            meta["format"] = "whitespace"
        columns = [str(c) for c in frame.columns]
        wave_col = _pick(columns, _WAVE_NAMES)
        depth_col = _pick(columns, _DEPTH_NAMES)
        err_col = _pick(columns, _DEPTH_ERR_NAMES)
        hw_col = _pick(columns, _HALF_WIDTH_NAMES)
        for role, col in (("wavelength", wave_col), ("depth", depth_col)):
            if col is None:
                raise SpectrumFormatError(f"{path}: line {header_number}: no {role} column in header {columns}")
        file_unit = depth_unit or _depth_unit_from(depth_col, comments) or "none"
        line_numbers = [n for n, _ in rows]
        for extra in ("order", "quality", "instrument"):
            col = _pick(columns, (extra,))
            if col is not None:
                meta[extra] = frame[col].to_numpy(dtype=str)

    wave = _numeric(frame, wave_col, line_numbers, path)
    depth = _depth_to_ppm(_numeric(frame, depth_col, line_numbers, path), file_unit, path)
    error = _depth_to_ppm(_numeric(frame, err_col, line_numbers, path), file_unit, path) if err_col else None
    half_width = _numeric(frame, hw_col, line_numbers, path) if hw_col else _half_widths(wave)
    mask = _native_mask(wave, depth, error)
    if "quality" in meta:
        mask &= pd.to_numeric(pd.Series(meta["quality"]), errors="coerce").fillna(1).to_numpy() == 0
    meta["depth_unit_in_file"] = file_unit
    return Spectrum(
        wavelength=wave,
        value=depth,
        error=error,
        mask=mask,
        kind=kind,
        value_unit="ppm",
        source_file=str(path),
        target_name=target_name,
        half_width=half_width,
        meta=meta,
    )


def _pyratbay_names(path: Path, data_lines: list[tuple[int, str]]) -> list[str]:
    widths = {len(t.split()) for _, t in data_lines}
    if widths == {5}:
        return ["depth", "depth_err", "wl", "half_width", "instrument"]
    if widths == {4}:
        return ["depth", "depth_err", "wl", "half_width"]
    number = next(n for n, t in data_lines if len(t.split()) not in (4, 5)) if widths - {4, 5} else data_lines[0][0]
    raise SpectrumFormatError(
        f"{path}: line {number}: Pyrat Bay '@DATA' rows need 4 or 5 columns "
        f"(depth depth_err wl half_width [instrument]); found rows with {sorted(widths)} columns"
    )


# ---------------------------------------------------------------- ESO Phase-3 ADP


@checked(SpectrumFormatError)
def read_eso_adp(path: str | Path, kind: SpectrumKind = "stellar", zero_is_gap: bool | None = None) -> Spectrum:
    """An ESO Phase-3 1-D spectrum: a SPECTRUM BinTable with one row of WAVE/FLUX/ERR arrays."""
    path = Path(path)
    _check_kind(kind)
    with open_fits(path, SpectrumFormatError) as hdul:
        index = find_hdu(hdul, "SPECTRUM")
        if index is None:
            index = next((i for i, h in enumerate(hdul) if isinstance(h, fits.BinTableHDU)), None)
        if index is None:
            raise SpectrumFormatError(f"{path}: no SPECTRUM BinTable HDU (HDUs found: {hdu_names(hdul)})")
        data = read_hdu_data(path, hdul, index, SpectrumFormatError)
        where = f"{path}: {hdu_label(hdul, index)}"
        if data is None or len(data) != 1:
            raise SpectrumFormatError(
                f"{where}: expected 1 row of array columns, found {0 if data is None else len(data)}"
            )
        columns = data.columns
        header = hdul[index].header
        wave_name = phase3_column(header, columns.names, "wave", where)
        flux_name = phase3_column(header, columns.names, "flux", where)
        err_name = phase3_column(header, columns.names, "error", where, required=False)
        wave_raw = table_column(path, hdul, index, data, wave_name, SpectrumFormatError)[0]
        flux = table_column(path, hdul, index, data, flux_name, SpectrumFormatError)[0].astype(np.float64)
        error = None
        if err_name is not None:
            error = table_column(path, hdul, index, data, err_name, SpectrumFormatError)[0].astype(np.float64)
            if not np.isfinite(error).any():
                error = None  # ESO fills an unavailable error spectrum with NaN
        primary = hdul[0].header
        wave = _to_microns(wave_raw, columns[wave_name].unit or "Angstrom", where)
        instrument = _header_text(primary, "INSTRUME") or ""
        if zero_is_gap is None:
            zero_is_gap = instrument.upper().startswith("HARPS")
        return Spectrum(
            wavelength=wave,
            value=flux,
            error=error,
            mask=_native_mask(wave, flux, error, zero_is_gap=zero_is_gap),
            kind=kind,
            value_unit=columns[flux_name].unit or "",
            source_file=str(path),
            target_name=_header_text(header, "OBJECT") or _header_text(primary, "OBJECT"),
            half_width=_half_widths(wave),
            nonstandard_cards=nonstandard_cards(primary) + nonstandard_cards(header),
            meta={
                "instrument": instrument,
                "telescope": _header_text(primary, "TELESCOP"),
                "prodcatg": _header_text(primary, "PRODCATG"),
                "columns": f"{wave_name}/{flux_name}/{err_name or '-'}",
            },
        )


# ---------------------------------------------------------------- image + WCS (HARPS s1d, ESI, Gemini, IRAF)


def _wat_value(header: fits.Header, axis: int, key: str) -> str | None:
    """A key=value token of IRAF's WATn_nnn cards (concatenated 68-character pieces)."""
    text = "".join(str(header[k]).ljust(68) for k in sorted(header) if k.startswith(f"WAT{axis}_"))
    match = re.search(rf"{key}\s*=\s*(\S+)", text)
    return match.group(1) if match else None


def _image_hdu(path: Path, hdul: fits.HDUList) -> int:
    for name in ("SCI", "FLUX"):
        index = find_hdu(hdul, name)
        if index is not None:
            return index
    for index, hdu in enumerate(hdul):
        if isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU)) and hdu.header.get("NAXIS", 0) in (1, 2):
            return index
    raise SpectrumFormatError(f"{path}: no 1-D or 2-D image HDU holding a spectrum (HDUs found: {hdu_names(hdul)})")


def _dispersion(path: Path, hdul: fits.HDUList, index: int, n_pixels: int, wavelength_unit: str | None) -> np.ndarray:
    """Wavelength (microns) of each pixel along axis 1 from the header's linear WCS."""
    header = hdul[index].header
    where = f"{path}: {hdu_label(hdul, index)}"
    system = (_wat_value(header, 0, "system") or "").lower()
    if system == "multispec":
        raise SpectrumFormatError(f"{where}: IRAF multispec WCS (WAT0_001 system=multispec) is not supported")
    ctype = str(header.get("CTYPE1", "")).strip()
    label = (_wat_value(header, 1, "label") or "").lower()
    if ctype.upper() == "PIXEL" or label == "pixel":
        raise SpectrumFormatError(
            f"{where}: no wavelength solution (CTYPE1={ctype!r}, WAT1 label={label or None!r}); "
            "pass wavelength_um with one row of wavelengths per spectrum row"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        try:
            world = WCS(header, naxis=1).pixel_to_world_values(np.arange(n_pixels, dtype=np.float64))
        except Exception as exc:  # astropy.wcs raises several unrelated types for bad headers
            raise SpectrumFormatError(f"{where}: unusable wavelength WCS ({type(exc).__name__}: {exc})") from exc
    world = np.asarray(world, dtype=np.float64)
    dc_flag = header.get("DC-FLAG", 0)
    if dc_flag == 1:
        world = 10.0**world  # IRAF: the WCS gives log10(wavelength)
    elif dc_flag not in (0, -1, None):
        raise SpectrumFormatError(f"{where}: DC-FLAG={dc_flag} (non-linear dispersion) is not supported")
    unit = (
        wavelength_unit
        or (str(header.get("CUNIT1")).strip() if header.get("CUNIT1") else None)
        or _wat_value(header, 1, "units")
        or (ctype if ctype and ctype.upper() not in ("LINEAR", "WAVE", "WAVELENGTH", "LAMBDA") else None)
    )
    if unit is None:
        raise SpectrumFormatError(
            f"{where}: wavelength unit not given by CUNIT1, WAT1 units= or CTYPE1={ctype!r}; pass wavelength_unit"
        )
    return _to_microns(world, unit, where)


def _companion_error_file(path: Path) -> Path | None:
    """Keck/ESI (XIDL) convention: flux in ``name_f.fits``, 1-sigma error in ``name_e.fits``."""
    match = re.match(r"(.*)_f(\.fits?(\.gz)?)$", path.name)
    if match:
        candidate = path.with_name(f"{match.group(1)}_e{match.group(2)}")
        if candidate.is_file():
            return candidate
    return None


@checked(SpectrumFormatError)
def read_wcs1d_fits(
    path: str | Path,
    kind: SpectrumKind = "stellar",
    error_path: str | Path | None = None,
    wavelength_um: np.ndarray | None = None,
    wavelength_unit: str | None = None,
    zero_is_gap: bool | None = None,
) -> Spectrum:
    """A spectrum stored as a 1-D image (or an IRAF equispec image with one row per order) plus a
    linear wavelength WCS. ``error_path`` defaults to the ``*_e.fits`` companion of ``*_f.fits``;
    a ``VAR`` (variance) or ``ERR`` extension and a ``DQ`` extension are used when present.
    ``wavelength_um`` (same shape as the image, microns) replaces the header WCS."""
    path = Path(path)
    _check_kind(kind)
    with open_fits(path, SpectrumFormatError) as hdul:
        index = _image_hdu(path, hdul)
        header = hdul[index].header
        primary = hdul[0].header
        where = f"{path}: {hdu_label(hdul, index)}"
        data = read_hdu_data(path, hdul, index, SpectrumFormatError)
        if data is None:
            raise SpectrumFormatError(f"{where}: no data array")
        flux = np.atleast_2d(np.asarray(data, dtype=np.float64))
        if flux.ndim != 2:
            raise SpectrumFormatError(f"{where}: expected a 1-D or 2-D image, found shape {np.shape(data)}")
        n_rows, n_pixels = flux.shape
        if wavelength_um is not None:
            wave = np.atleast_2d(np.asarray(wavelength_um, dtype=np.float64))
            if wave.shape != flux.shape:
                raise ValueError(f"{path}: wavelength_um has shape {wave.shape}, the image {flux.shape}")
        else:
            try:
                wave = np.broadcast_to(_dispersion(path, hdul, index, n_pixels, wavelength_unit), flux.shape)
            except SpectrumFormatError as exc:
                cards = nonstandard_cards(primary) + (nonstandard_cards(header) if index else ())
                if not cards:
                    raise
                raise SpectrumFormatError(f"{exc}; non-standard header cards: {', '.join(cards)}") from exc
        error = None
        var_index = find_hdu(hdul, "VAR")
        err_index = find_hdu(hdul, "ERR")
        if var_index is not None:
            variance = np.atleast_2d(np.asarray(read_hdu_data(path, hdul, var_index, SpectrumFormatError), dtype=float))
            error = np.sqrt(np.where(variance >= 0, variance, np.nan))
        elif err_index is not None:
            error = np.atleast_2d(np.asarray(read_hdu_data(path, hdul, err_index, SpectrumFormatError), dtype=float))
        dq = None
        dq_index = find_hdu(hdul, "DQ")
        if dq_index is not None:
            dq = np.atleast_2d(np.asarray(read_hdu_data(path, hdul, dq_index, SpectrumFormatError)))
        cards = nonstandard_cards(primary) + (nonstandard_cards(header) if index else ())
        instrument = _header_text(primary, "INSTRUME") or _header_text(header, "INSTRUME") or ""
        meta = {
            "instrument": instrument,
            "telescope": _header_text(primary, "TELESCOP") or _header_text(header, "TELESCOP"),
            "hdu": hdu_label(hdul, index),
        }
        target = _header_text(primary, "OBJECT", "TARGNAME") or _header_text(header, "OBJECT")
        value_unit = _header_text(header, "BUNIT") or _header_text(primary, "BUNIT") or ""

    error_file = Path(error_path) if error_path is not None else _companion_error_file(path)
    if error_file is not None:
        with open_fits(error_file, SpectrumFormatError) as ehdul:
            eindex = _image_hdu(error_file, ehdul)
            error = np.atleast_2d(
                np.asarray(read_hdu_data(error_file, ehdul, eindex, SpectrumFormatError), dtype=float)
            )
        meta["error_file"] = str(error_file)
    for name, array in (("error", error), ("DQ", dq)):
        if array is not None and array.shape != flux.shape:
            raise SpectrumFormatError(f"{path}: {name} array has shape {array.shape}, the flux {flux.shape}")
    if zero_is_gap is None:
        zero_is_gap = instrument.upper().startswith("HARPS")

    half_width = np.concatenate([_half_widths(row) for row in wave])
    if n_rows > 1:
        meta["order"] = np.repeat(np.arange(n_rows), n_pixels)
    wave_flat, flux_flat = wave.ravel().copy(), flux.ravel()
    error_flat = None if error is None else error.ravel()
    mask = _native_mask(
        wave_flat, flux_flat, error_flat, dq=None if dq is None else dq.ravel(), zero_is_gap=zero_is_gap
    )
    return Spectrum(
        wavelength=wave_flat,
        value=flux_flat,
        error=error_flat,
        mask=mask,
        kind=kind,
        value_unit=value_unit,
        source_file=str(path),
        target_name=target,
        half_width=half_width,
        nonstandard_cards=cards,
        meta=meta,
    )


# ---------------------------------------------------------------- resampling


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


# ---------------------------------------------------------------- dispatch


def read_spectra(
    path: str | Path,
    kind: SpectrumKind | None = None,
    *,
    error_path: str | Path | None = None,
    wavelength_um: np.ndarray | None = None,
    wavelength_unit: str | None = None,
    depth_unit: str | None = None,
    target_name: str | None = None,
    zero_is_gap: bool | None = None,
) -> list[Spectrum]:
    """Every spectrum in a file at native sampling, the format chosen from the file's content.
    ``kind`` defaults to "transmission" for tables and "stellar" for FITS spectra."""
    path = Path(path)
    if path.name.lower().endswith(_FITS_SUFFIXES):
        with open_fits(path, SpectrumFormatError) as hdul:
            names = {h.name.upper() for h in hdul}
            tables = [(i, h) for i, h in enumerate(hdul) if isinstance(h, fits.BinTableHDU)]
            has_table = any(is_phase3_spectrum(h.header, h.columns.names) for _, h in tables)
            if not has_table and "EXTRACT1D" not in names:
                for i, h in tables:  # a spectrum table that lacks its wavelength column: say so
                    if phase3_column(h.header, h.columns.names, "flux", "", required=False) is not None:
                        raise SpectrumFormatError(
                            f"{path}: {hdu_label(hdul, i)}: a spectrum table with a flux column but no wavelength "
                            f"column (looked for {', '.join(PHASE3_NAMES['wave'])} or TUTYPn "
                            f"...{PHASE3_UTYPES['wave']}; columns: {', '.join(h.columns.names)})")
        fits_kind = kind or "stellar"
        if "EXTRACT1D" in names:
            spectra = read_jwst_x1d(path, kind=fits_kind)
        elif has_table:
            spectra = [read_eso_adp(path, kind=fits_kind, zero_is_gap=zero_is_gap)]
        else:
            spectra = [
                read_wcs1d_fits(
                    path,
                    kind=fits_kind,
                    error_path=error_path,
                    wavelength_um=wavelength_um,
                    wavelength_unit=wavelength_unit,
                    zero_is_gap=zero_is_gap,
                )
            ]
        if target_name is not None:
            spectra = [replace(s, target_name=target_name) for s in spectra]
        return spectra
    return [read_transmission_table(path, kind=kind or "transmission", depth_unit=depth_unit, target_name=target_name)]


def load_spectrum(
    path: str | Path,
    grid: WavelengthGrid | np.ndarray | None = None,
    method: ResampleMethod = "flux_conserving",
    kind: SpectrumKind | None = None,
    *,
    integration: int | None = None,
    order: int | None = None,
    min_coverage: float = 0.5,
    **reader_options,
) -> Spectrum:
    """Read one spectrum and resample it to ``grid``. For files holding several (x1dints
    integrations, orders) choose one with ``integration`` (INT_NUM) and/or ``order`` (SPORDER)."""
    spectra = read_spectra(path, kind, **reader_options)
    if integration is not None:
        spectra = [s for s in spectra if s.meta.get("int_num") == integration]
    if order is not None:
        spectra = [s for s in spectra if s.meta.get("sporder") == order]
    if len(spectra) != 1:
        raise SpectrumFormatError(
            f"{path}: {len(spectra)} spectra match (integration={integration}, order={order}); "
            "select one with integration= / order=, or use read_spectra"
        )
    return resample(spectra[0], grid, method=method, min_coverage=min_coverage)
