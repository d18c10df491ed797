"""1-D spectra stored as an image plus a linear WCS: HARPS s1d, Keck/ESI, Gemini/IRAF, IRAF equispec."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from .._fits import find_hdu, hdu_label, hdu_names, nonstandard_cards, open_fits, read_hdu_data
from ..spectrum_checks import checked
from .core import (
    Spectrum,
    SpectrumFormatError,
    SpectrumKind,
    _check_kind,
    _half_widths,
    _header_text,
    _native_mask,
    _to_microns,
)


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


