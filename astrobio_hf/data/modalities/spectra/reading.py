"""One entry point for every spectrum file: the reader is chosen from the file's content."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from astropy.io import fits

from .._fits import hdu_label, open_fits
from ..spectrum_checks import PHASE3_NAMES, PHASE3_UTYPES, is_phase3_spectrum, phase3_column
from .core import _FITS_SUFFIXES, ResampleMethod, Spectrum, SpectrumFormatError, SpectrumKind, WavelengthGrid
from .eso import read_eso_adp
from .jwst import read_jwst_x1d
from .resampling import resample
from .tables import read_transmission_table
from .wcs1d import read_wcs1d_fits


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
