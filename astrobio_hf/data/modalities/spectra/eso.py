"""ESO Phase-3 ADP 1-D spectra: one row of array columns in a SPECTRUM table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

from .._fits import find_hdu, hdu_label, hdu_names, nonstandard_cards, open_fits, read_hdu_data, table_column
from ..spectrum_checks import checked, phase3_column
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


