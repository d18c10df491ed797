"""ESO Science Archive builder: ObsCore records from ESO's TAP service and Phase-3 / HARPS 1-D spectra.

Download mode sends ESO's synchronous TAP request
``https://archive.eso.org/tap_obs/sync?REQUEST=doQuery&LANG=ADQL&FORMAT=csv&QUERY=<ADQL>[&MAXREC=n]`` on
``ivoa.ObsCore`` (``SELECT <OBSCORE_SELECT> FROM ivoa.ObsCore WHERE dataproduct_type = 'spectrum' AND
instrument_name = ... AND target_name = ... AND CONTAINS(POINT(...), CIRCLE(...)) = 1``; config ``target``,
``instrument``, ``ra``/``dec``/``radius`` in degrees, ``dataproduct_type``, ``collection``, ``where``, ``top``).
With ``max_files = N`` the first N datasets' files are then fetched through DataLink
(``<base>/datalink/links?ID=ivo://eso.org/ID?<dp_id>``, the ``#this`` row's ``access_url``) and parsed as
spectra. Public data needs no token. Base URL ``https://archive.eso.org`` (override ``base_url=`` or
``ASTROBIO_ESO_ARCHIVE_URL``); both the TAP and the DataLink path hang off it.

Local mode reads (content decides, not the name):

* TAP ObsCore answers (CSV, VOTable) -> ``record_type = "obscore"``;
* answers of ESO's raw-data query form (``OBJECT,RA,DEC,Program_ID,Instrument,Category,Type,Mode,Dataset ID,
  Release_Date,...,MJD-OBS``; RA/DEC sexagesimal) -> ``"raw_query"``, and of the Phase-3 science portal
  (``Collection,...,ARCFILE``) -> ``"phase3_query"``: both mapped onto the ObsCore column names;
* FITS spectra through :func:`astrobio_hf.data.modalities.spectra.read_spectra` (Phase-3 ADP ``SPECTRUM``
  BinTables, HARPS DRS ``s1d`` images) -> ``"spectrum"``, one row per spectrum with list columns
  ``wavelength`` [um], ``flux``, ``error`` (null when the file has none), ``mask``, and header metadata.

Every row has every column; those a record type does not carry are null.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa

from ..download import HttpClient, join_url, request_fingerprint
from .base import ArchiveBuilder, ArchiveBuilderConfig, DownloadRequest
from .facilities import refuse_other_archive
from .observatory import (
    SPECTRUM_FEATURES,
    angles_deg,
    as_float,
    fits_headers,
    header_value,
    iso_from_mjd,
    mjd_from_iso,
    note_masked_samples,
    read_fits_spectra,
    spectrum_columns,
)
from .tabular import Column, RawTable, convert_columns
from .tap import (
    adql_identifier,
    adql_string,
    check_search_options,
    cone_condition,
    datalink_file_url,
    read_datalink,
    read_tap_answer,
    tap_expected_rows,
    tap_sync_request,
    where_clause,
)

TAP_PATH = "tap_obs/sync"
DATALINK_PATH = "datalink/links"
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz")

#: Output columns (ObsCore names where ObsCore has one); aliases are the query forms' spellings.
ESO_COLUMNS: tuple[Column, ...] = (
    Column("dp_id", "string", "", "ESO dataset identifier (ARCFILE without .fits)", aliases=("Dataset ID", "ARCFILE")),
    Column("target_name", "string", "", "Target name as given by the observer", aliases=("OBJECT", "Object")),
    Column("s_ra", "float64", "deg", "Right ascension (ICRS)", aliases=("RA",)),
    Column("s_dec", "float64", "deg", "Declination (ICRS)", aliases=("DEC",)),
    Column("instrument_name", "string", "", "Instrument", aliases=("Instrument",)),
    Column("obs_collection", "string", "", "Phase-3 collection (survey or programme)", aliases=("Collection",)),
    Column("proposal_id", "string", "", "ESO programme id", aliases=("Program_ID", "Run/Program ID")),
    Column("dataproduct_type", "string", "", "ObsCore product type (spectrum, image, cube, ...)"),
    Column("dp_cat", "string", "", "ESO category: SCIENCE/CALIB (raw) or Phase-3 product category",
           aliases=("Category", "Product category")),
    Column("dp_type", "string", "", "ESO DPR type of a raw frame", aliases=("Type",)),
    Column("dp_tech", "string", "", "ESO DPR technique of a raw frame", aliases=("Mode",)),
    Column("t_min", "float64", "d", "Start of the observation (MJD, UTC)", aliases=("MJD-OBS",)),
    Column("t_max", "float64", "d", "End of the observation (MJD, UTC)"),
    Column("t_exptime", "float64", "s", "Exposure time", aliases=("Exptime", "EXPTIME")),
    Column("date_obs", "string", "", "Start of the observation (ISO 8601, UTC)", aliases=("DATE OBS",)),
    Column("em_min", "float64", "m", "Shortest wavelength"),
    Column("em_max", "float64", "m", "Longest wavelength"),
    Column("em_res_power", "float64", "", "Spectral resolving power"),
    Column("snr", "float64", "", "Signal-to-noise ratio"),
    Column("filter", "string", "", "Filter", aliases=("Filter", "Filter (imaging)")),
    Column("obs_release_date", "string", "", "Date the data became public (ISO 8601)", aliases=("Release_Date",)),
    Column("access_url", "string", "", "DataLink URL of the dataset"),
)
#: ObsCore columns sent in the TAP SELECT (standard ObsCore plus ESO's dp_id, filter, snr).
OBSCORE_SELECT = ("dp_id", "target_name", "s_ra", "s_dec", "instrument_name", "obs_collection", "proposal_id",
                  "dataproduct_type", "t_min", "t_max", "t_exptime", "em_min", "em_max", "em_res_power", "snr",
                  "filter", "obs_release_date", "access_url")
RECORD_TYPES = ("obscore", "raw_query", "phase3_query", "spectrum")
_RAW_RELEASE = "%b %d %Y"  # 'Mar 14 2007' in raw-query-form answers
_DATASET_ID = re.compile(r"^([A-Z0-9_]+\.\d{4}-\d\d-\d\dT\d\d[:_]\d\d[:_]\d\d\.\d{3})")


@dataclass
class EsoArchiveConfig(ArchiveBuilderConfig):
    """Query options of download mode (local mode ignores them).

    ``target``/``instrument``/``collection``: exact ObsCore values; ``ra``, ``dec``, ``radius``: a cone in
    degrees; ``dataproduct_type``: ObsCore product type (``None`` for all); ``where``: extra ADQL;
    ``top``: MAXREC; ``max_files``: how many datasets' files to fetch through DataLink (0 = metadata only).
    """

    target: str | None = None
    instrument: str | None = None
    collection: str | None = None
    ra: float | None = None
    dec: float | None = None
    radius: float | None = None
    dataproduct_type: str | None = "spectrum"
    where: str | None = None
    top: int | None = None
    max_files: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_search_options("eso_archive", self.ra, self.dec, self.radius, self.top, self.max_files)


def obscore_query(config: EsoArchiveConfig) -> str:
    """The ADQL sent to ``tap_obs`` for ``config``."""
    conditions = []
    if config.dataproduct_type:
        conditions.append(f"dataproduct_type = {adql_string(config.dataproduct_type)}")
    if config.instrument:
        conditions.append(f"instrument_name = {adql_string(config.instrument)}")
    if config.target:
        conditions.append(f"target_name = {adql_string(config.target)}")
    if config.collection:
        conditions.append(f"obs_collection = {adql_string(config.collection)}")
    if config.ra is not None:
        conditions.append(cone_condition("s_ra", "s_dec", config.ra, config.dec, config.radius))
    if config.where:
        conditions.append(config.where)
    columns = ", ".join(adql_identifier(c) for c in OBSCORE_SELECT)
    return f"SELECT {columns} FROM ivoa.ObsCore" + where_clause(conditions)


def datalink_id(dp_id: str) -> str:
    """ESO's IVOA identifier of a dataset, the ``ID`` DataLink takes."""
    return f"ivo://eso.org/ID?{dp_id}"


class EsoArchive(ArchiveBuilder):
    """ESO ObsCore records (TAP answers and query-form answers) and ESO 1-D spectra (ADP, HARPS s1d)."""

    BUILDER_CONFIG_CLASS = EsoArchiveConfig
    SOURCE = "eso_archive"
    RECORD_KEY = ("dp_id", "record_type")  # one record per key in a file (docs/data.md, "Duplicates")
    DEFAULT_BASE_URL = "https://archive.eso.org"
    # '.xml' is not globbed: ESO dumps hold CalSelector association XML next to the answers; pass a
    # VOTable saved as .xml explicitly with data_files.
    FILE_PATTERNS = ("**/*.csv", "**/*.tsv", "**/*.tbl", "**/*.vot", "**/*.votable", "**/*.fits", "**/*.fits.gz",
                     "**/*.fit")
    HOMEPAGE = "https://archive.eso.org"
    CITATION = "Based on data obtained from the ESO Science Archive Facility."
    LICENSE = "ESO data access policy (public data; acknowledgement required)"
    MIN_INTERVAL_S = 1.0

    config: EsoArchiveConfig

    def columns(self) -> tuple[Column, ...]:
        return ESO_COLUMNS

    def data_features(self) -> dict[str, Any]:
        return {"record_type": datasets.Value("string"), **super().data_features(), **SPECTRUM_FEATURES}

    def describe(self) -> str:
        return ("ESO Science Archive: ObsCore records (record_type obscore / raw_query / phase3_query) and 1-D "
                "spectra (record_type spectrum: wavelength [um], flux, error, mask lists at native sampling).")

    # ------------------------------------------------------------------ download mode

    def download_requests(self) -> list[DownloadRequest]:
        query = obscore_query(self.config)
        return [tap_sync_request(query, filename="obscore.csv", fmt="csv", maxrec=self.config.top,
                                 path=TAP_PATH, release=f"TAP ivoa.ObsCore: {query}")]

    def expected_rows(self, request: DownloadRequest, client: HttpClient) -> int | None:
        """TAP ``COUNT(*)`` of the same query: an answer cut at a line boundary parses but comes up short."""
        return tap_expected_rows(self.SOURCE, self.base_url, request, client)

    def fetch(self, client: HttpClient, download_dir: Path, force: bool = False) -> list[tuple[str, str]]:
        """The TAP answer, then (``max_files``) each dataset's file through DataLink."""
        pairs = super().fetch(client, download_dir, force)
        if not self.config.max_files:
            return pairs
        answer = Path(pairs[0][0])
        table = convert_columns(read_tap_answer(answer, self.SOURCE), ESO_COLUMNS, source=self.SOURCE, file=answer)
        dp_ids = [d for d in table.column("dp_id").to_pylist() if d][: int(self.config.max_files)]
        retrieved = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        links_url = join_url(self.base_url, DATALINK_PATH)
        for dp_id in dp_ids:
            params = {"ID": datalink_id(dp_id)}
            links = download_dir / f"{request_fingerprint('GET', links_url, params)}-{_safe(dp_id)}.links.xml"
            if force or not links.is_file():
                client.download(links_url, links, params=params)
            file_url = datalink_file_url(read_datalink(links, self.SOURCE), links, self.SOURCE)
            dest = download_dir / f"{_safe(dp_id)}.fits"
            if force or not dest.is_file():
                client.download(file_url, dest)
            pairs.append((str(dest), f"ESO DataLink {dp_id} (retrieved {retrieved})"))
        return pairs

    # ------------------------------------------------------------------ parsing

    def parse_file(self, path: Path) -> Iterator[dict[str, Any] | pa.Table]:
        if path.name.lower().endswith(FITS_SUFFIXES):
            yield from self.parse_spectrum_file(path)
        else:
            yield from self.parse_table(path)

    def parse_table(self, path: Path) -> Iterator[pa.Table]:
        """Rows of an ObsCore TAP answer or of an ESO query-form answer (mapped onto ObsCore names)."""
        raw = read_tap_answer(path, self.SOURCE)
        names = set(raw.table.column_names)
        if "Dataset ID" in names:
            record_type = "raw_query"
        elif "ARCFILE" in names:
            record_type = "phase3_query"
        elif names & {"dp_id", "s_ra", "target_name", "obs_publisher_did"}:
            record_type = "obscore"
        else:
            raise self.error(path, "header", "not an ESO ObsCore or query-form answer: none of dp_id, s_ra, "
                             f"target_name, 'Dataset ID', ARCFILE among the columns {sorted(names)[:12]}")
        raw = self._normalise_form_values(raw, path)
        if raw.units:
            self.note_units(path, {c.name: raw.units[c.name] for c in ESO_COLUMNS if c.name in raw.units})
        typed = convert_columns(raw, ESO_COLUMNS, source=self.SOURCE, file=path)
        typed = self._fill_times(typed, raw, path)
        yield self.complete_table(typed, record_type=record_type)  # no spectrum columns: null

    def _normalise_form_values(self, raw: RawTable, path: Path) -> RawTable:
        """Sexagesimal RA/DEC -> degrees and 'Mar 14 2007' release dates -> ISO, in the raw strings."""
        table = raw.table
        for name, hours in (("RA", True), ("DEC", False)):
            if name in table.column_names:
                values = angles_deg(table.column(name).to_pylist(), hours=hours, source=self.SOURCE, path=path,
                                    where=raw.location, field=name)
                table = table.set_column(table.column_names.index(name), name,
                                         pa.array([None if v is None else repr(v) for v in values], pa.string()))
        if "Release_Date" in table.column_names:
            out = []
            for value in table.column("Release_Date").to_pylist():
                if value is None or not value.strip():
                    out.append(None)
                    continue
                try:
                    out.append(_dt.datetime.strptime(value.strip(), _RAW_RELEASE).date().isoformat())
                except ValueError:
                    out.append(value.strip())  # already ISO or another archive spelling: keep as written
            table = table.set_column(table.column_names.index("Release_Date"), "Release_Date",
                                     pa.array(out, pa.string()))
        return RawTable(table=table, units=raw.units, descriptions=raw.descriptions,
                        first_data_line=raw.first_data_line, meta=raw.meta)

    def _fill_times(self, typed: pa.Table, raw: RawTable, path: Path) -> pa.Table:
        """``t_min`` from ``date_obs`` and ``date_obs`` from ``t_min`` where only one is given."""
        t_min = typed.column("t_min").to_pylist()
        date_obs = typed.column("date_obs").to_pylist()
        from_iso = mjd_from_iso([d if t is None else None for t, d in zip(t_min, date_obs, strict=True)],
                                source=self.SOURCE, path=path, where=raw.location, field="date_obs")
        t_min = [t if t is not None else m for t, m in zip(t_min, from_iso, strict=True)]
        from_mjd = iso_from_mjd([t if d is None else None for t, d in zip(t_min, date_obs, strict=True)])
        date_obs = [d if d is not None else i for d, i in zip(date_obs, from_mjd, strict=True)]
        typed = typed.set_column(typed.column_names.index("t_min"), "t_min", pa.array(t_min, pa.float64()))
        return typed.set_column(typed.column_names.index("date_obs"), "date_obs", pa.array(date_obs, pa.string()))

    def parse_spectrum_file(self, path: Path) -> Iterator[dict[str, Any]]:
        """One row per spectrum of an ESO FITS product, with the header's observation metadata."""
        from astropy.io import fits

        refuse_other_archive(self.SOURCE, path, fits_headers(path), own=("ESO",))  # before the spectrum reader
        spectra = read_fits_spectra(self.SOURCE, path)
        note_masked_samples(self, path, spectra)
        with fits.open(path, memmap=False, ignore_missing_end=True) as hdul:  # the reader vouched for the file
            headers = [h.header for h in hdul]
        ordered = headers[1:] + headers[:1]  # an extension's keywords win over the primary's
        arcfile = header_value(ordered, "ARCFILE")
        match = _DATASET_ID.match(path.name)
        dp_id = (arcfile[:-5] if arcfile and arcfile.endswith(".fits") else arcfile) or \
            (_colon_times(match.group(1)) if match else None)
        wave_min, wave_max = as_float(header_value(ordered, "WAVELMIN")), as_float(header_value(ordered, "WAVELMAX"))
        t_min = as_float(header_value(ordered, "MJD-OBS"))
        date_obs = header_value(ordered, "DATE-OBS")
        for spec in spectra:
            row = {
                "record_type": "spectrum",
                "dp_id": dp_id,
                "target_name": spec.target_name,
                "s_ra": as_float(header_value(ordered, "RA")),
                "s_dec": as_float(header_value(ordered, "DEC")),
                "instrument_name": spec.meta.get("instrument") or header_value(ordered, "INSTRUME"),
                "obs_collection": None,
                "proposal_id": header_value(ordered, "PROG_ID", "HIERARCH ESO OBS PROG ID"),
                "dataproduct_type": "spectrum",
                "dp_cat": header_value(ordered, "PRODCATG", "HIERARCH ESO DPR CATG"),
                "dp_type": header_value(ordered, "HIERARCH ESO DPR TYPE"),
                "dp_tech": header_value(ordered, "OBSTECH", "HIERARCH ESO DPR TECH"),
                "t_min": t_min,
                "t_max": as_float(header_value(ordered, "MJD-END")),
                "t_exptime": as_float(header_value(ordered, "TEXPTIME", "EXPTIME")),
                "date_obs": str(date_obs) if date_obs is not None else (iso_from_mjd([t_min])[0] if t_min else None),
                # the ESO SDP standard writes WAVELMIN/WAVELMAX in nm
                "em_min": None if wave_min is None else wave_min * 1e-9,
                "em_max": None if wave_max is None else wave_max * 1e-9,
                "em_res_power": as_float(header_value(ordered, "SPEC_RES")),
                "snr": as_float(header_value(ordered, "SNR")),
                "filter": None,
                "obs_release_date": None,
                "access_url": None,
            }
            row.update(spectrum_columns(spec))
            yield row


def _colon_times(dataset_id: str) -> str:
    """``HARPS.2010-09-18T23_42_36.178`` (a file-system-safe name) -> ``HARPS.2010-09-18T23:42:36.178``."""
    return re.sub(r"T(\d\d)_(\d\d)_(\d\d)", r"T\1:\2:\3", dataset_id)


def _safe(name: str) -> str:
    """A dataset id as a file name (':' is not portable)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)
