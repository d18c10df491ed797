"""The spectrum record, the wavelength grid, units and the native validity mask shared by every reader."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import astropy.units as u
import numpy as np
from astropy.io import fits

from .._fits import ModalityFormatError
from ..spectrum_checks import usable_error

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


