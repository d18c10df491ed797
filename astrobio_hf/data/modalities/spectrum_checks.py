"""Physical checks every spectrum reader's output passes (wrapped around the readers in the ``spectra`` package).

* the ``spectrum`` physical ranges (``physical_ranges.RANGES``): a wavelength outside X-ray..radio,
  a value or error that would overflow float32, a negative error, a transit/eclipse depth (ppm) of 100%
  or more or far below 0: the sample is masked and counted in ``meta["masked"]`` (builders add the
  counts of a file's spectra to the prepare report with :func:`masked_counts`);
* a spectrum written from red to blue (wavelength decreasing) is put in increasing order, every
  per-sample array with it (``meta["reversed"] = True``);
* an error column usable at only some of the samples (``meta["error_dropped"]``): the error is
  dropped rather than masking the spectrum down to those samples, so no non-finite error reaches
  a model input next to a usable value;
* a file whose every spectrum has no usable sample (all NaN, all masked) is an error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np

from ..physical_ranges import rule

F = TypeVar("F", bound=Callable[..., Any])

#: below this fraction of usable errors (among usable values) the error column is dropped, not obeyed
MIN_ERROR_COVERAGE = 0.5


#: ESO Phase-3 1-D spectrum columns: the names the standard and the archive's collections use, in order of
#: preference, and the IVOA Spectrum utypes (TUTYPn) that identify them whatever their names (XQ-100 writes
#: ERR_FLUX, UVES/X-shooter reprocessings FLUX_REDUCED/ERR_REDUCED, some FLUX_ERR or ERROR)
PHASE3_NAMES: dict[str, tuple[str, ...]] = {
    "wave": ("WAVE", "WAVELENGTH", "WAVE_AIR", "LAMBDA"),
    "flux": ("FLUX", "FLUX_REDUCED", "FLUX_CAL", "FLUX_NORM"),
    "error": ("ERR", "ERR_FLUX", "ERR_REDUCED", "FLUX_ERR", "ERROR", "SIGMA"),
}
PHASE3_UTYPES = {"wave": "spectralaxis.value", "flux": "fluxaxis.value", "error": "fluxaxis.accuracy.staterror"}


def phase3_column(header: Any, names: list[str], role: str, where: str, *, required: bool = True) -> str | None:
    """The column playing ``role`` (wave/flux/error) in a Phase-3 spectrum table: by TUTYPn utype,
    then by the standard names; ``ValueError``-type ``SpectrumFormatError`` text when required and absent."""
    for i, name in enumerate(names, start=1):
        utype = str(header.get(f"TUTYP{i}", "") or "").lower()
        if utype.endswith(PHASE3_UTYPES[role]):
            return name
    upper = {n.upper(): n for n in names}
    for candidate in PHASE3_NAMES[role]:
        if candidate in upper:
            return upper[candidate]
    if required:
        from .spectra import SpectrumFormatError

        raise SpectrumFormatError(f"{where}: no {role} column ({', '.join(PHASE3_NAMES[role])} or TUTYPn "
                                  f"...{PHASE3_UTYPES[role]}; columns: {', '.join(names)})")
    return None


def is_phase3_spectrum(header: Any, names: list[str]) -> bool:
    """Whether a BinTable holds a Phase-3 1-D spectrum (a wavelength and a flux column)."""
    return all(phase3_column(header, names, role, "", required=False) is not None for role in ("wave", "flux"))


def usable_error(value: np.ndarray, error: np.ndarray | None, base_mask: np.ndarray) -> bool:
    """Whether ``error`` is usable at enough of the samples ``base_mask`` keeps to be obeyed."""
    if error is None or not base_mask.any():
        return error is not None
    ok = np.isfinite(error) & (error > 0)
    return float(ok[base_mask].mean()) >= MIN_ERROR_COVERAGE


def _per_sample(spec: Any) -> dict[str, np.ndarray]:
    n = spec.wavelength.shape[0]
    arrays = {"wavelength": spec.wavelength, "value": spec.value, "mask": spec.mask}
    if spec.error is not None:
        arrays["error"] = spec.error
    if spec.half_width is not None:
        arrays["half_width"] = spec.half_width
    return {k: np.asarray(v) for k, v in arrays.items() if np.ndim(v) == 1 and len(v) == n}


def check_spectrum(spec: Any) -> Any:
    """``spec`` with the module's rules applied (see the module docstring)."""
    meta = dict(spec.meta)
    wavelength = np.asarray(spec.wavelength, dtype=np.float64)
    mask = np.asarray(spec.mask, dtype=bool).copy()
    error = None if spec.error is None else np.asarray(spec.error, dtype=np.float64)
    if error is not None:
        ok = np.isfinite(error) & (error > 0)
        if (mask & ~ok).any():  # the reader kept samples whose error is unusable: drop the column
            meta["error_dropped"] = f"error usable at {int(ok.sum())} of {ok.size} samples"
            error = None
    masked: dict[str, int] = {}
    depth = spec.value if spec.kind in ("transmission", "emission") and spec.value_unit == "ppm" else None
    for name, values in (("wavelength", wavelength), ("value", spec.value), ("error", error), ("depth", depth)):
        if values is None:
            continue
        spec_range = rule("spectrum", name)
        bad = spec_range.outside(np.asarray(values, dtype=np.float64)) & mask
        if bad.any():
            masked[f"{name}: outside {spec_range.describe()}"] = int(bad.sum())
            mask &= ~bad
    if masked:
        meta["masked"] = masked
    spec = replace(spec, error=error, mask=mask, meta=meta)
    finite = np.flatnonzero(np.isfinite(wavelength))
    if finite.size > 1 and np.all(np.diff(wavelength[finite]) < 0):  # written red to blue
        flipped = {k: v[::-1].copy() for k, v in _per_sample(spec).items()}
        spec = replace(spec, **flipped, meta={**spec.meta, "reversed": True})
    return spec


def checked(error_type: type[Exception]) -> Callable[[F], F]:
    """Decorator for a reader returning a spectrum or a list of them: apply :func:`check_spectrum`,
    and raise ``error_type`` when no spectrum of the file has a usable sample."""

    def wrap(reader: F) -> F:
        @functools.wraps(reader)
        def run(*args: Any, **kwargs: Any) -> Any:
            result = reader(*args, **kwargs)
            spectra = result if isinstance(result, list) else [result]
            spectra = [check_spectrum(s) for s in spectra]
            if spectra and not any(s.mask.any() for s in spectra):
                first = spectra[0]
                finite = int(np.isfinite(np.asarray(first.value, dtype=np.float64)).sum())
                raise error_type(f"{first.source_file}: no usable sample in {len(spectra)} spectrum/spectra "
                                 f"({finite} of {first.value.size} values finite in the first; every sample is "
                                 "NaN, flagged or outside the physical ranges)")
            return spectra if isinstance(result, list) else spectra[0]

        return run  # type: ignore[return-value]

    return wrap


def masked_counts(spectra: list[Any]) -> dict[str, int]:
    """The ``meta["masked"]`` counts of a file's spectra, summed (for the prepare report's ``quality``)."""
    total: dict[str, int] = {}
    for spec in spectra:
        for what, count in (spec.meta.get("masked") or {}).items():
            total[what] = total.get(what, 0) + int(count)
    return total
