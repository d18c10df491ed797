"""JWST ``*_x1d.fits`` / ``*_x1dints.fits``: every EXTRACT1D table, one spectrum per integration and order."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._fits import find_hdu, hdu_label, hdu_names, nonstandard_cards, open_fits, read_hdu_data, table_column
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


