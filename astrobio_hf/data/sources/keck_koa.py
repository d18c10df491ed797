"""Keck Observatory Archive (KOA) builder: frame metadata from KOA's TAP service and extracted 1-D spectra.

Download mode sends KOA's synchronous TAP request (nexsciTAP)
``https://koa.ipac.caltech.edu/TAP/sync?REQUEST=doQuery&LANG=ADQL&FORMAT=ipac&QUERY=<ADQL>[&MAXREC=n]`` with
``SELECT * FROM koa_<instrument> WHERE ...`` (``SELECT *``: the KOA tables differ per instrument, and the
documented columns below are picked from whatever the table has). Config: ``instrument`` (``hires``,
``esi``, ``nirspec``, ``lris``, ``deimos``, ``mosfire``, ``kpf``, ...), ``target`` (KOA ``targname``),
``date_start``/``date_end`` (``YYYY-MM-DD`` on ``date_obs``), a cone ``ra``/``dec``/``radius`` in degrees,
``where``, ``top``. With ``max_files = N`` the first N frames are downloaded through KOA's
``<base>/cgi-bin/getKOA/nph-getKOA?filehand=<filehand>`` and parsed like local FITS files. Public data
needs no login (proprietary data needs a KOA login cookie, which this builder does not handle). Base URL
``https://koa.ipac.caltech.edu`` (override ``base_url=`` or ``ASTROBIO_KECK_KOA_URL``).

Local mode reads:

* KOA TAP answers in IPAC, VOTable or CSV -> ``record_type = "koa_tap"``, one row per frame;
* extracted 1-D spectra FITS (e.g. Keck/ESI ``*_f.fits`` with the 1-sigma error in ``*_e.fits``) through
  :func:`astrobio_hf.data.modalities.spectra.read_spectra` -> ``"spectrum"``, list columns ``wavelength`` [um],
  ``flux``, ``error``, ``mask`` plus the observing header. An ``*_e.fits`` whose ``*_f.fits`` sits beside it
  yields no row of its own (it is that spectrum's error array). Raw 2-D frames (level 0) are not spectra and
  are reported as bad files.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa

from ..download import HttpClient, join_url, redact_url
from .base import ArchiveBuilder, ArchiveBuilderConfig, DownloadRequest
from .facilities import refuse_other_archive
from .observatory import (
    SPECTRUM_FEATURES,
    angles_deg,
    as_float,
    empty_spectrum,
    fits_headers,
    header_value,
    mjd_from_iso,
    note_masked_samples,
    read_fits_spectra,
    spectrum_columns,
)
from .tabular import Column, convert_columns, rows
from .tap import (
    adql_string,
    check_search_options,
    cone_condition,
    read_tap_answer,
    tap_expected_rows,
    tap_sync_request,
    where_clause,
)

TAP_PATH = "TAP/sync"
GETKOA_PATH = "cgi-bin/getKOA/nph-getKOA"
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz")
_INSTRUMENT = re.compile(r"^[a-z0-9]+$")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
_ERROR_COMPANION = re.compile(r"^(.*)_e(\.fits?(\.gz)?)$")

#: KOA column names (lower case, as the KOA tables spell them).
KOA_COLUMNS: tuple[Column, ...] = (
    Column("koaid", "string", "", "KOA frame identifier (e.g. HI.20170924.17613.fits)"),
    Column("instrume", "string", "", "Instrument"),
    Column("targname", "string", "", "Target name from the observer's starlist"),
    Column("object", "string", "", "OBJECT keyword"),
    Column("koaimtyp", "string", "", "KOA image type (object, flatlamp, arclamp, bias, ...)"),
    Column("ra", "float64", "deg", "Right ascension (J2000)"),
    Column("dec", "float64", "deg", "Declination (J2000)"),
    Column("date_obs", "string", "", "UT date of the observation (YYYY-MM-DD)"),
    Column("ut", "string", "", "UT time of the observation"),
    Column("mjd", "float64", "d", "MJD (UTC) from date_obs + ut", aliases=("mjd_obs",)),
    Column("elaptime", "float64", "s", "Elapsed exposure time", aliases=("exptime", "itime")),
    Column("progid", "string", "", "Keck programme id"),
    Column("semid", "string", "", "Semester and programme id"),
    Column("progpi", "string", "", "Programme PI"),
    Column("airmass", "float64", "", "Airmass"),
    Column("waveblue", "float64", "Angstrom", "Blue end of the wavelength coverage"),
    Column("wavered", "float64", "Angstrom", "Red end of the wavelength coverage"),
    Column("filehand", "string", "", "KOA file handle (path) used by getKOA"),
    Column("ofname", "string", "", "Original file name at the telescope"),
)
RECORD_TYPES = ("koa_tap", "spectrum")


@dataclass
class KeckKoaConfig(ArchiveBuilderConfig):
    """Query options of download mode (local mode ignores them); see the module docstring."""

    instrument: str = "hires"
    target: str | None = None
    date_start: str | None = None
    date_end: str | None = None
    ra: float | None = None
    dec: float | None = None
    radius: float | None = None
    where: str | None = None
    top: int | None = None
    max_files: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not _INSTRUMENT.match(str(self.instrument)):
            raise ValueError(f"keck_koa: instrument must be a KOA instrument name such as 'hires' or 'esi', "
                             f"got {self.instrument!r}")
        for name in ("date_start", "date_end"):
            value = getattr(self, name)
            if value is not None and not _DATE.match(str(value)):
                raise ValueError(f"keck_koa: {name} must be YYYY-MM-DD, got {value!r}")
        check_search_options("keck_koa", self.ra, self.dec, self.radius, self.top, self.max_files)


def koa_query(config: KeckKoaConfig) -> str:
    """The ADQL sent to KOA's TAP service for ``config``."""
    conditions = []
    if config.target:
        conditions.append(f"targname = {adql_string(config.target)}")
    if config.date_start:
        conditions.append(f"date_obs >= {adql_string(config.date_start)}")
    if config.date_end:
        conditions.append(f"date_obs <= {adql_string(config.date_end)}")
    if config.ra is not None:
        conditions.append(cone_condition("ra", "dec", config.ra, config.dec, config.radius))
    if config.where:
        conditions.append(config.where)
    return f"SELECT * FROM koa_{config.instrument.lower()}" + where_clause(conditions)


class KeckKoa(ArchiveBuilder):
    """KOA frame metadata (TAP answers) and Keck extracted 1-D spectra."""

    BUILDER_CONFIG_CLASS = KeckKoaConfig
    SOURCE = "keck_koa"
    RECORD_KEY = ("koaid", "record_type")  # one record per key in a file (docs/data.md, "Duplicates")
    DEFAULT_BASE_URL = "https://koa.ipac.caltech.edu"
    FILE_PATTERNS = ("**/*.tbl", "**/*.ipac", "**/*.csv", "**/*.tsv", "**/*.vot", "**/*.votable", "**/*.xml",
                     "**/*.fits", "**/*.fits.gz", "**/*.fit")
    HOMEPAGE = "https://koa.ipac.caltech.edu"
    CITATION = ("This research has made use of the Keck Observatory Archive (KOA), which is operated by the W. M. "
                "Keck Observatory and the NASA Exoplanet Science Institute (NExScI), under contract with NASA.")
    LICENSE = "KOA public data (acknowledgement requested)"
    MIN_INTERVAL_S = 1.0

    config: KeckKoaConfig

    def columns(self) -> tuple[Column, ...]:
        return KOA_COLUMNS

    def data_features(self) -> dict[str, Any]:
        return {"record_type": datasets.Value("string"), **super().data_features(),
                "file_url": datasets.Value("string"), **SPECTRUM_FEATURES}

    def describe(self) -> str:
        return ("Keck Observatory Archive: frame metadata from KOA TAP answers (record_type koa_tap, with the "
                "getKOA file_url) and extracted 1-D spectra (record_type spectrum: wavelength [um], flux, error, "
                "mask lists at native sampling).")

    def file_url(self, filehand: str | None) -> str | None:
        """The getKOA URL serving a frame (public data; proprietary data needs a KOA login)."""
        if not filehand:
            return None
        return redact_url(join_url(self.base_url, GETKOA_PATH), {"filehand": filehand})

    # ------------------------------------------------------------------ download mode

    def download_requests(self) -> list[DownloadRequest]:
        query = koa_query(self.config)
        return [tap_sync_request(query, filename=f"koa_{self.config.instrument.lower()}.tbl", fmt="ipac",
                                 maxrec=self.config.top, path=TAP_PATH, release=f"KOA TAP: {query}")]

    def expected_rows(self, request: DownloadRequest, client: HttpClient) -> int | None:
        """TAP ``COUNT(*)`` of the same query: an answer cut at a line boundary parses but comes up short."""
        return tap_expected_rows(self.SOURCE, self.base_url, request, client)

    def fetch(self, client: HttpClient, download_dir: Path, force: bool = False) -> list[tuple[str, str]]:
        """The TAP answer, then (``max_files``) the first frames through getKOA."""
        pairs = super().fetch(client, download_dir, force)
        if not self.config.max_files:
            return pairs
        answer = Path(pairs[0][0])
        table = convert_columns(read_tap_answer(answer, self.SOURCE), KOA_COLUMNS, source=self.SOURCE, file=answer)
        retrieved = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        frames = [r for r in table.select(["koaid", "filehand"]).to_pylist() if r["filehand"]]
        for frame in frames[: int(self.config.max_files)]:
            name = Path(frame["filehand"]).name or f"{frame['koaid']}.fits"
            dest = download_dir / "frames" / name
            if force or not dest.is_file():
                client.download(join_url(self.base_url, GETKOA_PATH), dest, params={"filehand": frame["filehand"]})
            pairs.append((str(dest), f"KOA getKOA {frame['koaid'] or name} (retrieved {retrieved})"))
        return pairs

    # ------------------------------------------------------------------ parsing

    def parse_file(self, path: Path) -> Iterator[dict[str, Any]]:
        if path.name.lower().endswith(FITS_SUFFIXES):
            yield from self.parse_spectrum_file(path)
        else:
            yield from self.parse_table(path)

    def parse_table(self, path: Path) -> Iterator[dict[str, Any]]:
        """Rows of a KOA TAP answer (one per frame)."""
        raw = read_tap_answer(path, self.SOURCE)
        names = {n.lower() for n in raw.table.column_names}
        if "koaid" not in names:
            raise self.error(path, "column koaid", "not a KOA table: no koaid column (found "
                             f"{sorted(raw.table.column_names)[:12]})")
        for name in raw.table.column_names:  # KOA writes sexagesimal ra/dec in some tables
            if name.lower() in ("ra", "dec"):
                values = angles_deg(raw.table.column(name).to_pylist(), hours=name.lower() == "ra",
                                    source=self.SOURCE, path=path, where=raw.location, field=name)
                index = raw.table.column_names.index(name)
                raw.table = raw.table.set_column(index, name, pa.array([None if v is None else repr(v) for v in values],
                                                                      pa.string()))
        if raw.units:
            self.note_units(path, {c.name: raw.units[c.name] for c in KOA_COLUMNS if c.name in raw.units})
        typed = convert_columns(raw, KOA_COLUMNS, source=self.SOURCE, file=path)
        if "mjd" not in names and "mjd_obs" not in names:
            stamps = [None if d is None else (f"{d}T{t}" if t else d) for d, t in
                      zip(typed.column("date_obs").to_pylist(), typed.column("ut").to_pylist(), strict=True)]
            mjd = mjd_from_iso(stamps, source=self.SOURCE, path=path, where=raw.location, field="date_obs/ut")
            typed = typed.set_column(typed.column_names.index("mjd"), "mjd", pa.array(mjd, pa.float64()))
        blank = empty_spectrum()
        for row in rows(typed):
            row["record_type"] = "koa_tap"
            row["file_url"] = self.file_url(row["filehand"])
            row.update(blank)
            yield row

    def parse_spectrum_file(self, path: Path) -> Iterator[dict[str, Any]]:
        """One row per spectrum of an extracted-spectrum FITS file, with the Keck observing header."""
        from astropy.io import fits

        companion = _ERROR_COMPANION.match(path.name)
        if companion and path.with_name(f"{companion.group(1)}_f{companion.group(2)}").is_file():
            return  # the error array of the *_f.fits spectrum beside it, read with that file
        # another facility's file (a TESS light curve) is named before the spectrum reader trips over its HDUs
        refuse_other_archive(self.SOURCE, path, fits_headers(path), own=("Keck",))
        spectra = read_fits_spectra(self.SOURCE, path)
        note_masked_samples(self, path, spectra)
        with fits.open(path, memmap=False, ignore_missing_end=True) as hdul:  # the reader vouched for the file
            headers = [h.header for h in hdul][1:] + [hdul[0].header]
        where = lambda _i: "HDU 0 (header)"  # noqa: E731 (one-off location namer)
        ra = angles_deg([header_value(headers, "RA")], hours=True, source=self.SOURCE, path=path, where=where,
                        field="RA")[0]
        dec = angles_deg([header_value(headers, "DEC")], hours=False, source=self.SOURCE, path=path, where=where,
                         field="DEC")[0]
        date_obs, ut = header_value(headers, "DATE-OBS"), header_value(headers, "UT", "UTC")
        stamp = None if date_obs is None else (f"{date_obs}T{ut}" if ut and "T" not in str(date_obs) else date_obs)
        # MJD from DATE-OBS + UT: some Keck headers carry a wrong MJD-OBS (PH957_f.fits says 2965661.58)
        mjd = mjd_from_iso([stamp], source=self.SOURCE, path=path, where=where, field="DATE-OBS")[0]
        instrument = header_value(headers, "INSTRUME")
        if isinstance(instrument, str):
            instrument = instrument.split(":", 1)[0].strip()  # ESI writes 'ESI: Echellette Spectrograph ...'
        for spec in spectra:
            wave_aa = spec.wavelength[spec.mask] * 1e4 if spec.mask.any() else spec.wavelength * 1e4
            row = {
                "record_type": "spectrum",
                "koaid": header_value(headers, "KOAID"),
                "instrume": instrument,
                "targname": header_value(headers, "TARGNAME") or spec.target_name,
                "object": header_value(headers, "OBJECT"),
                "koaimtyp": header_value(headers, "KOAIMTYP"),
                "ra": ra,
                "dec": dec,
                "date_obs": None if date_obs is None else str(date_obs),
                "ut": None if ut is None else str(ut),
                "mjd": mjd,
                "elaptime": as_float(header_value(headers, "ELAPTIME", "EXPTIME", "ITIME")),
                "progid": header_value(headers, "PROGID"),
                "semid": header_value(headers, "SEMID"),
                "progpi": header_value(headers, "PROGPI"),
                "airmass": as_float(header_value(headers, "AIRMASS")),
                "waveblue": float(np.min(wave_aa)) if wave_aa.size else None,
                "wavered": float(np.max(wave_aa)) if wave_aa.size else None,
                "filehand": None,
                "ofname": None,
                "file_url": None,
            }
            row.update(spectrum_columns(spec))
            yield row
