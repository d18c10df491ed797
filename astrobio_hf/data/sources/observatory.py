"""Helpers shared by the ground-based observatory builders (ESO, Keck KOA, Subaru SMOKA, Gemini).

* spectrum rows: the list columns a builder adds for a 1-D spectrum read by
  :func:`astrobio_hf.data.modalities.spectra.read_spectra` (native sampling, wavelength in microns);
* coordinates and times as archives write them: sexagesimal or decimal angles (astropy ``Angle``),
  ISO dates <-> MJD (astropy ``Time``), with errors that name the file, row and field;
* FITS header lookups over several HDUs (extension first, then the primary).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from ..modalities.spectra import Spectrum, SpectrumFormatError, read_spectra
from ..modalities.spectrum_checks import masked_counts
from .errors import SourceFormatError

#: List columns of a spectrum row (null on rows that only describe an observation).
SPECTRUM_FEATURES: dict[str, Any] = {
    "wavelength": datasets.List(datasets.Value("float64")),
    "flux": datasets.List(datasets.Value("float64")),
    "error": datasets.List(datasets.Value("float64")),
    "mask": datasets.List(datasets.Value("bool")),
    "wavelength_unit": datasets.Value("string"),
    "flux_unit": datasets.Value("string"),
    "n_pixels": datasets.Value("int64"),
    "nonstandard_cards": datasets.List(datasets.Value("string")),
}
SPECTRUM_UNITS = {"wavelength": "um", "flux": "flux_unit column", "error": "flux_unit column"}


def empty_spectrum() -> dict[str, Any]:
    """The spectrum columns of a row that holds no spectrum."""
    return dict.fromkeys(SPECTRUM_FEATURES)


def spectrum_columns(spec: Spectrum) -> dict[str, Any]:
    """The spectrum columns of one :class:`Spectrum` (native sampling; ``mask`` True = usable sample)."""
    return {
        "wavelength": spec.wavelength.astype(np.float64).tolist(),
        "flux": np.asarray(spec.value, dtype=np.float64).tolist(),
        "error": None if spec.error is None else np.asarray(spec.error, dtype=np.float64).tolist(),
        "mask": np.asarray(spec.mask, dtype=bool).tolist(),
        "wavelength_unit": spec.wavelength_unit,
        "flux_unit": spec.value_unit or None,
        "n_pixels": int(spec.wavelength.size),
        "nonstandard_cards": list(spec.nonstandard_cards),
    }


def modality_error(source: str, path: Path, exc: Exception) -> SourceFormatError:
    """A modality reader's error as a :class:`SourceFormatError` (location = the HDU/line it names)."""
    text = str(exc)
    for prefix in (f"{path}: ", f"{Path(path).resolve()}: "):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    location = ""
    match = re.match(r"^((?:HDU \d+ '[^']*'|line \d+)(?: \([^)]*\))?): (.*)$", text, re.S)
    if match:
        location, text = match.groups()
    return SourceFormatError(source, str(path), location, text)


def read_fits_spectra(source: str, path: Path, **options: Any) -> list[Spectrum]:
    """Every spectrum of a FITS file through the spectra modality reader, errors as SourceFormatError."""
    try:
        return read_spectra(path, "stellar", **options)
    except SpectrumFormatError as exc:
        raise modality_error(source, path, exc) from None


def fits_headers(path: Path) -> list[Any]:
    """Every HDU header of a FITS file, or ``[]`` when it cannot be opened (the reader then names the problem)."""
    from astropy.io import fits

    try:
        with fits.open(path, memmap=False, ignore_missing_end=True, lazy_load_hdus=False) as hdul:
            return [h.header.copy() for h in hdul]
    except Exception:  # noqa: BLE001 - astropy raises many types for broken files; read_fits_spectra reports them
        return []


def note_masked_samples(builder: Any, path: Path, spectra: list[Spectrum]) -> None:
    """Count the samples the spectrum checks masked (physical ranges) into the builder's prepare report."""
    counts = masked_counts(spectra)
    if counts:
        earlier = builder.declared_quality(path).get("masked", {})
        builder.note_quality(path, {"masked": {k: earlier.get(k, 0) + counts.get(k, 0) for k in {*earlier, *counts}}})


# --------------------------------------------------------------------------- coordinates and times


def angles_deg(values: Sequence[str | float | None], *, hours: bool, source: str, path: Path,
               where: Callable[[int], str], field: str) -> list[float | None]:
    """Angles in degrees from decimal degrees or sexagesimal text (``hh:mm:ss`` for RA when ``hours``).

    ``where(i)`` names row ``i`` in an error message.
    """
    import astropy.units as u
    from astropy.coordinates import Angle

    out: list[float | None] = []
    for i, value in enumerate(values):
        if value is None or (isinstance(value, str) and not value.strip()):
            out.append(None)
            continue
        text = str(value).strip()
        try:
            if ":" in text or " " in text:  # sexagesimal
                out.append(float(Angle(text, unit=u.hourangle if hours else u.deg).deg))
            else:
                out.append(float(text))
        except (ValueError, TypeError):
            raise SourceFormatError(source, str(path), f"{where(i)}, field {field}",
                                    f"value {text!r} is not an angle") from None
    return out


def mjd_from_iso(values: Sequence[str | None], *, source: str, path: Path, where: Callable[[int], str],
                 field: str) -> list[float | None]:
    """MJD (UTC) of ISO 8601 date/times; ``None`` stays ``None``."""
    from astropy.time import Time

    out: list[float | None] = []
    for i, value in enumerate(values):
        if value is None or not str(value).strip():
            out.append(None)
            continue
        try:
            out.append(float(Time(str(value).strip().replace(" ", "T"), format="isot", scale="utc").mjd))
        except ValueError:
            try:
                out.append(float(Time(str(value).strip(), format="iso", scale="utc").mjd))
            except ValueError:
                raise SourceFormatError(source, str(path), f"{where(i)}, field {field}",
                                        f"value {value!r} is not an ISO 8601 date") from None
    return out


def iso_from_mjd(values: Sequence[float | None]) -> list[str | None]:
    """ISO 8601 UTC strings (millisecond precision) of MJDs; ``None`` stays ``None``."""
    from astropy.time import Time

    return [None if v is None else Time(float(v), format="mjd", scale="utc").isot for v in values]


def header_value(headers: Sequence[Any], *keys: str) -> Any:
    """The first non-empty value of ``keys`` over ``headers`` (e.g. extension header, then primary)."""
    for key in keys:
        for header in headers:
            if header is None:
                continue
            value = header.get(key)
            if value is not None and not (isinstance(value, str) and not value.strip()):
                return value.strip() if isinstance(value, str) else value
    return None


def as_float(value: Any) -> float | None:
    """A header value as float (``None`` for missing or non-numeric)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
