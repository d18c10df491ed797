"""Modality pipelines: turn archive files into normalised model inputs (see docs/modalities.md)."""

from .light_curves import (
    LightCurve,
    LightCurveFormatError,
    RawLightCurve,
    bin_light_curve,
    load_light_curve,
    read_light_curve,
)
from .spectra import (
    Spectrum,
    SpectrumFormatError,
    WavelengthGrid,
    load_spectrum,
    read_eso_adp,
    read_jwst_x1d,
    read_spectra,
    read_transmission_table,
    read_wcs1d_fits,
    resample,
)

__all__ = [
    "LightCurve",
    "LightCurveFormatError",
    "RawLightCurve",
    "Spectrum",
    "SpectrumFormatError",
    "WavelengthGrid",
    "bin_light_curve",
    "load_light_curve",
    "load_spectrum",
    "read_eso_adp",
    "read_jwst_x1d",
    "read_light_curve",
    "read_spectra",
    "read_transmission_table",
    "read_wcs1d_fits",
    "resample",
]
