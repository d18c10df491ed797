"""Shared FITS helpers for the modality pipelines: open a file with errors that name it, read a
table column or an HDU's data without letting a truncated file surface as a bare numpy error, and
list header cards that break the FITS standard (archives such as SMOKA ship IRAF cards like
``IRAF-B/P`` that astropy refuses to write back)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyError, VerifyWarning
from astropy.utils.exceptions import AstropyUserWarning

from ..answer_checks import GZIP_MAGIC, BadAnswerError, check_gzip_complete


class ModalityFormatError(ValueError):
    """A file could not be turned into a modality input; the message names the file and the HDU,
    column, card or row that was wrong."""


@contextmanager
def open_fits(path: str | Path, error: type[ModalityFormatError] = ModalityFormatError) -> Iterator[fits.HDUList]:
    """Open a FITS file read-only and leniently (non-standard cards are kept, a missing END card is
    tolerated), turning astropy's I/O errors into ``error`` with the file name in the message."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise error(f"{path}: empty file (0 bytes), not a FITS file")
    with open(path, "rb") as fh:
        compressed = fh.read(2) == GZIP_MAGIC
    if compressed:  # astropy reads a cut .fits.gz as far as it goes and reports a missing HDU instead
        try:
            check_gzip_complete(path)
        except BadAnswerError as exc:
            raise error(f"{path}: gzip-compressed FITS file is damaged: {exc}") from None
    try:
        with warnings.catch_warnings():
            # Illegal-card warnings are reported through nonstandard_cards(); keep them off stderr here.
            warnings.simplefilter("ignore", VerifyWarning)
            warnings.simplefilter("ignore", AstropyUserWarning)
            hdul = fits.open(path, mode="readonly", memmap=False, ignore_missing_end=True, output_verify="ignore")
            # Load every HDU header now: a truncated file then shows as a missing HDU or an unreadable
            # data unit (named in the error) instead of a warning from a later lazy read.
            hdul.readall()
    except (OSError, ValueError, TypeError, IndexError) as exc:
        raise error(f"{path}: not a readable FITS file ({type(exc).__name__}: {exc})") from exc
    try:
        yield hdul
    finally:
        hdul.close()


def hdu_label(hdul: fits.HDUList, index: int) -> str:
    """``HDU 1 'LIGHTCURVE'``: how error messages name an HDU."""
    return f"HDU {index} '{hdul[index].name}'"


def find_hdu(hdul: fits.HDUList, name: str) -> int | None:
    """Index of the first HDU whose EXTNAME is ``name`` (case-insensitive), or None."""
    for i, hdu in enumerate(hdul):
        if hdu.name.upper() == name.upper():
            return i
    return None


def hdu_names(hdul: fits.HDUList) -> str:
    """Comma-separated list of the HDUs found, for error messages."""
    return ", ".join(f"{i}:{h.name}" for i, h in enumerate(hdul)) or "none"


def read_hdu_data(path: Path, hdul: fits.HDUList, index: int, error: type[ModalityFormatError]):
    """The data of one HDU; a truncated or corrupt data unit raises ``error`` naming file and HDU."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VerifyWarning)
            return hdul[index].data
    except (OSError, ValueError, TypeError, IndexError) as exc:
        raise error(
            f"{path}: {hdu_label(hdul, index)}: data unit unreadable, file truncated or corrupt "
            f"({type(exc).__name__}: {exc})"
        ) from exc


def table_column(
    path: Path, hdul: fits.HDUList, index: int, data, column: str, error: type[ModalityFormatError]
) -> np.ndarray:
    """One column of a BinTable as a numpy array; a missing column names the columns that exist."""
    names = [n.upper() for n in data.columns.names]
    if column.upper() not in names:
        raise error(f"{path}: {hdu_label(hdul, index)}: missing column '{column}' (columns: {', '.join(names)})")
    try:
        return np.asarray(data[column])
    except (OSError, ValueError, TypeError, IndexError) as exc:
        raise error(
            f"{path}: {hdu_label(hdul, index)}: column '{column}' unreadable, file truncated or corrupt "
            f"({type(exc).__name__}: {exc})"
        ) from exc


def nonstandard_cards(header: fits.Header) -> tuple[str, ...]:
    """Keywords of cards that fail FITS verification (for example ``IRAF-B/P``, whose '/' is illegal)."""
    bad: list[str] = []
    for card in header.cards:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", VerifyWarning)
                card.verify("exception")
        except VerifyError:
            bad.append(card.keyword)
    return tuple(bad)
