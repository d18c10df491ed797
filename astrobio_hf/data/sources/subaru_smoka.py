"""Subaru SMOKA builder: header metadata of local FITS frames (SMOKA has no public API).

SMOKA (https://smoka.nao.ac.jp) is searched through a web form and serves FITS frames after a request;
there is no documented programmatic interface, so download mode raises a clear error: download the
frames from the SMOKA web form and point ``data_dir`` (``--data-dir``) at them. ``DEFAULT_BASE_URL`` and
``ASTROBIO_SUBARU_SMOKA_URL`` are kept for the day an API exists.

Local mode: one row per image HDU (a single-HDU frame gives one row; a multi-extension frame one row per
extension holding data, with the primary header's keywords inherited). Columns are the Subaru/SMOKA
header keywords (FRAMEID, EXP-ID, OBJECT, OBSERVAT, TELESCOP, INSTRUME, DATA-TYP, PROP-ID, DATE-OBS,
UT-STR, MJD, EXPTIME, RA/DEC (sexagesimal -> degrees), FILTER01) plus:

* ``shape``: the data array's shape in numpy order (e.g. ``[21, 2048]`` = 21 echelle orders);
* ``wavelength_calibrated``: whether the header gives a dispersion solution along axis 1 (CTYPE1 not
  ``PIXEL``/empty and IRAF's WAT1 ``label`` not ``Pixel``); raw frames and IRAF extractions before
  ``dispcor`` (such as the IRD ThAr reference) have none;
* ``nonstandard_cards``: header cards that break the FITS standard (e.g. IRAF's ``IRAF-B/P``), read
  leniently and reported here instead of failing the file.

FITS files are opened with :func:`astrobio_hf.data.modalities._fits.open_fits` (lenient, errors name the
file and HDU).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import datasets
from astropy.io import fits

from ..modalities._fits import ModalityFormatError, hdu_label, nonstandard_cards, open_fits, read_hdu_data
from .base import ArchiveBuilder, DownloadRequest
from .facilities import refuse_other_archive
from .observatory import angles_deg, as_float, header_value, modality_error

NO_API_MESSAGE = ("SMOKA has no public API; download the frames from the SMOKA web form and use --data-dir "
                  "(data_dir=) to prepare them; web form: https://smoka.nao.ac.jp")
_WAT_LABEL = re.compile(r"label\s*=\s*(\S+)", re.I)
_UNCALIBRATED_CTYPES = {"", "PIXEL", "LINEAR-PIXEL"}


def wavelength_calibrated(header: fits.Header) -> bool:
    """Whether axis 1 carries a dispersion solution (written by hand: no library answers this question
    for IRAF-style headers, where ``CTYPE1='PIXEL'`` / ``WAT1_001 label=Pixel`` mean 'not calibrated')."""
    if int(header.get("NAXIS", 0) or 0) < 1:
        return False
    ctype = str(header.get("CTYPE1", "") or "").strip().upper()
    wat = "".join(str(header[k]).ljust(68) for k in header if str(k).startswith("WAT1_"))
    label = _WAT_LABEL.search(wat)
    if label and label.group(1).lower() == "pixel":
        return False
    if ctype in _UNCALIBRATED_CTYPES:
        return False
    # a celestial axis (RA---TAN) is an image, not a dispersion axis
    return not ctype.startswith(("RA-", "DEC-", "GLON", "GLAT", "ELON", "ELAT"))


class SubaruSmoka(ArchiveBuilder):
    """Header metadata of Subaru frames from SMOKA (local dumps only)."""

    SOURCE = "subaru_smoka"
    DEFAULT_BASE_URL = "https://smoka.nao.ac.jp"
    FILE_PATTERNS = ("**/*.fits", "**/*.fit", "**/*.fts", "**/*.fits.gz", "**/*.fits.fz")
    HOMEPAGE = "https://smoka.nao.ac.jp"
    CITATION = ("Baba et al. 2002, ADASS XI, ASP Conf. Ser. 281, 298: Development of the Subaru-Mitaka-Okayama-Kiso "
                "Archive System. This research is based in part on data collected at the Subaru Telescope and "
                "obtained from SMOKA, operated by the Astronomy Data Center, NAOJ.")
    LICENSE = "SMOKA data policy (acknowledgement required)"

    def data_features(self) -> dict[str, Any]:
        string, number = datasets.Value("string"), datasets.Value("float64")
        return {
            "hdu": datasets.Value("int64"),
            "hdu_name": string,
            "frame_id": string,
            "exp_id": string,
            "object": string,
            "observatory": string,
            "telescope": string,
            "instrument": string,
            "data_type": string,
            "prop_id": string,
            "date_obs": string,
            "ut_start": string,
            "mjd": number,
            "exptime": number,
            "ra": number,
            "dec": number,
            "filter": string,
            "bunit": string,
            "shape": datasets.List(datasets.Value("int64")),
            "ctype1": string,
            "wavelength_calibrated": datasets.Value("bool"),
            "orig_filename": string,
            "date_written": string,
            "n_cards": datasets.Value("int64"),
            "nonstandard_cards": datasets.List(datasets.Value("string")),
        }

    def describe(self) -> str:
        return ("Subaru frames from SMOKA dumps: one row per image HDU with header metadata (degrees for ra/dec, "
                "seconds for exptime, MJD), whether a wavelength solution is present, and the non-standard "
                "header cards found.")

    def download_requests(self) -> list[DownloadRequest]:
        raise NotImplementedError(NO_API_MESSAGE)

    def parse_file(self, path: Path) -> Iterator[dict[str, Any]]:
        try:
            with open_fits(path) as hdul:
                refuse_other_archive(self.SOURCE, path, [h.header for h in hdul], own=("Subaru",))
                found = False
                for index, hdu in enumerate(hdul):
                    if not isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
                        continue
                    if int(hdu.header.get("NAXIS", 0) or 0) == 0:
                        continue  # header-only primary of a multi-extension frame: inherited by the extensions
                    found = True
                    # read the data unit once so that a truncated frame is reported (naming the HDU)
                    read_hdu_data(path, hdul, index, ModalityFormatError)
                    yield self._row(path, hdul, index)
                if not found:
                    raise self.error(path, "", f"no image HDU with data (HDUs: "
                                     f"{', '.join(hdu_label(hdul, i) for i in range(len(hdul)))})")
        except ModalityFormatError as exc:
            raise modality_error(self.SOURCE, path, exc) from None

    def _row(self, path: Path, hdul: fits.HDUList, index: int) -> dict[str, Any]:
        header = hdul[index].header
        primary = hdul[0].header
        headers = [header] if index == 0 else [header, primary]
        naxis = int(header.get("NAXIS", 0) or 0)
        shape = [int(header.get(f"ZNAXIS{n}", header.get(f"NAXIS{n}", 0)) or 0) for n in range(naxis, 0, -1)]
        where = lambda _i: hdu_label(hdul, index)  # noqa: E731 (one-off location namer)
        ra = angles_deg([header_value(headers, "RA2000", "RA")], hours=True, source=self.SOURCE, path=path,
                        where=where, field="RA")[0]
        dec = angles_deg([header_value(headers, "DEC2000", "DEC")], hours=False, source=self.SOURCE, path=path,
                         where=where, field="DEC")[0]
        cards = nonstandard_cards(header) + (nonstandard_cards(primary) if index else ())
        text = lambda *keys: _text(header_value(headers, *keys))  # noqa: E731
        return {
            "hdu": index,
            "hdu_name": hdul[index].name,
            "frame_id": text("FRAMEID"),
            "exp_id": text("EXP-ID"),
            "object": text("OBJECT"),
            "observatory": text("OBSERVAT"),
            "telescope": text("TELESCOP"),
            "instrument": text("INSTRUME"),
            "data_type": text("DATA-TYP", "IMAGETYP"),
            "prop_id": text("PROP-ID"),
            "date_obs": text("DATE-OBS"),
            "ut_start": text("UT-STR", "UT"),
            "mjd": as_float(header_value(headers, "MJD-STR", "MJD", "MJD-OBS")),
            "exptime": as_float(header_value(headers, "EXPTIME", "EXPTIME1")),
            "ra": ra,
            "dec": dec,
            "filter": text("FILTER01", "FILTER"),
            "bunit": text("BUNIT"),
            "shape": shape,
            "ctype1": text("CTYPE1"),
            "wavelength_calibrated": wavelength_calibrated(header),
            "orig_filename": text("FILENAME"),
            "date_written": text("DATE"),
            "n_cards": len(header.cards),
            "nonstandard_cards": list(dict.fromkeys(cards)),
        }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
