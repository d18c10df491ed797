"""Gemini Observatory Archive builder: file records from the archive's JSON API (and DataLink answers).

Download mode sends ``GET https://archive.gemini.edu/<api>/<terms>`` where ``api`` is ``jsonsummary`` (one
record per file with observation metadata; default) or ``jsonfilelist`` (file name, size, checksums only),
and ``terms`` are the archive's path segments built from the config, in this order: ``engineering``
(default ``notengineering``), ``qa`` (default ``NotFail``), ``instrument`` (``GMOS-N``, ``GNIRS``, ...),
``observation_type`` (``OBJECT``, ``FLAT``, ``ARC``, ...), ``observation_class`` (``science``, ...),
``program_id`` (``GN-2007A-Q-72``), ``date`` (``YYYYMMDD`` or ``YYYYMMDD-YYYYMMDD``), ``object``
(``object=<name>``), then ``terms`` (extra raw segments, e.g. ``["spectroscopy"]``). The archive caps an
answer (500 records for open-ended searches): narrow the terms to get everything. Files are served at
``https://archive.gemini.edu/file/<name>``: every row carries that ``file_url``. Public data needs no
token. Base URL override: ``base_url=`` or ``ASTROBIO_GEMINI_ARCHIVE_URL``.

Local mode reads saved answers (content decides):

* ``jsonsummary`` / ``jsonfilelist`` JSON arrays -> ``record_type`` ``"jsonsummary"`` / ``"jsonfilelist"``,
  one row per file record (``types``, written by the archive as a Python-list string, becomes a list);
* DataLink VOTables (``{links}`` answers such as CADC's for Gemini observations, e.g. ``gemini.xml``) ->
  ``"datalink"``, one row per link (``access_url``, ``semantics``, ``content_type``, ``service_def``, ...;
  ``data_label`` is the observation part of the DataLink ``ID``, ``name`` the file part of the URI).
"""

from __future__ import annotations

import ast
import json
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa

from ..answer_checks import is_html
from .base import ArchiveBuilder, ArchiveBuilderConfig, DownloadRequest
from .tabular import Column, RawTable, convert_columns, decode_utf8, read_bytes, rows
from .tap import read_datalink

APIS = ("jsonsummary", "jsonfilelist")
_DATE = re.compile(r"^\d{8}(-\d{8})?$")

#: jsonsummary/jsonfilelist record fields kept, typed (the archive's own names and units).
GEMINI_COLUMNS: tuple[Column, ...] = (
    Column("name", "string", "", "File name without compression suffix", required=True),
    Column("filename", "string", "", "File name as stored (may end in .bz2)"),
    Column("data_label", "string", "", "Gemini data label (observation id + dataset number)"),
    Column("observation_id", "string", "", "Gemini observation id"),
    Column("program_id", "string", "", "Gemini programme id"),
    Column("telescope", "string", "", "Gemini-North or Gemini-South"),
    Column("instrument", "string", "", "Instrument"),
    Column("object", "string", "", "Target name"),
    Column("ra", "float64", "deg", "Right ascension"),
    Column("dec", "float64", "deg", "Declination"),
    Column("ut_datetime", "string", "", "UT start of the exposure"),
    Column("exposure_time", "float64", "s", "Exposure time"),
    Column("observation_type", "string", "", "OBJECT, FLAT, ARC, BIAS, DARK, ..."),
    Column("observation_class", "string", "", "science, acq, progCal, partnerCal, dayCal, ..."),
    Column("mode", "string", "", "imaging, spectroscopy (LS/MOS/IFS), ..."),
    Column("spectroscopy", "bool", "", "True for spectroscopic data"),
    Column("reduction", "string", "", "RAW, PREPARED, PROCESSED_SCIENCE, ..."),
    Column("filter_name", "string", "", "Filter"),
    Column("disperser", "string", "", "Disperser (grating, MIRROR for imaging)"),
    Column("focal_plane_mask", "string", "", "Focal-plane mask (slit)"),
    Column("central_wavelength", "float64", "um", "Central wavelength"),
    Column("wavelength_band", "string", "", "Wavelength band"),
    Column("airmass", "float64", "", "Airmass"),
    Column("qa_state", "string", "", "Pass, Usable, Fail, Undefined, ..."),
    # the archive's 'release' field; renamed because 'release' is the provenance column of every builder
    Column("release_date", "string", "", "Date the data become public", aliases=("release",)),
    Column("engineering", "bool", "", "Engineering data"),
    Column("science_verification", "bool", "", "Science-verification data"),
    Column("adaptive_optics", "bool", "", "Adaptive optics in use"),
    Column("laser_guide_star", "bool", "", "Laser guide star in use"),
    Column("raw_iq", "int64", "", "Image-quality percentile"),
    Column("raw_cc", "int64", "", "Cloud-cover percentile"),
    Column("raw_wv", "int64", "", "Water-vapour percentile"),
    Column("raw_bg", "int64", "", "Sky-background percentile"),
    Column("file_size", "int64", "byte", "Size of the stored (compressed) file"),
    Column("data_size", "int64", "byte", "Size of the uncompressed data"),
    Column("file_md5", "string", "", "MD5 of the stored file"),
    Column("data_md5", "string", "", "MD5 of the uncompressed data"),
    Column("compressed", "bool", "", "Stored compressed (bzip2)"),
    Column("lastmod", "string", "", "Last modification of the archive entry"),
)
#: Extra columns of DataLink rows (null on JSON rows).
DATALINK_COLUMNS = ("datalink_id", "access_url", "service_def", "semantics", "description", "content_type",
                    "error_message")


@dataclass
class GeminiArchiveConfig(ArchiveBuilderConfig):
    """Search terms of download mode (local mode ignores them); see the module docstring."""

    api: str = "jsonsummary"
    instrument: str | None = None
    observation_type: str | None = None
    observation_class: str | None = None
    program_id: str | None = None
    date: str | None = None
    object: str | None = None
    qa: str | None = "NotFail"
    engineering: str | None = "notengineering"
    terms: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.api not in APIS:
            raise ValueError(f"gemini_archive: api must be one of {APIS}, got {self.api!r}")
        if self.date is not None and not _DATE.match(str(self.date)):
            raise ValueError(f"gemini_archive: date must be YYYYMMDD or YYYYMMDD-YYYYMMDD, got {self.date!r}")
        for term in self.search_terms():
            if not term or "/" in term or term in (".", ".."):
                raise ValueError(f"gemini_archive: bad search term {term!r} (terms are single path segments)")

    def search_terms(self) -> list[str]:
        """The path segments after ``/<api>/``, in the archive's order."""
        terms = [self.engineering, self.qa, self.instrument, self.observation_type, self.observation_class,
                 self.program_id, self.date]
        out = [str(t) for t in terms if t]
        if self.object:
            out.append(f"object={self.object}")
        return out + [str(t) for t in self.terms]


def search_path(config: GeminiArchiveConfig) -> str:
    """``<api>/<term>/<term>...`` with each segment percent-encoded (object names may hold spaces)."""
    return "/".join([config.api] + [urllib.parse.quote(t, safe="=-_.:+") for t in config.search_terms()])


class GeminiArchive(ArchiveBuilder):
    """Gemini Observatory Archive file records (jsonsummary / jsonfilelist) and DataLink answers."""

    BUILDER_CONFIG_CLASS = GeminiArchiveConfig
    SOURCE = "gemini_archive"
    # jsonsummary: one row per file name; DataLink: one row per link (a file has several, services have no URL)
    RECORD_KEY = ("name", "record_type", "access_url", "service_def", "semantics", "content_type")
    DEFAULT_BASE_URL = "https://archive.gemini.edu"
    FILE_PATTERNS = ("**/*.json", "**/*.xml", "**/*.vot", "**/*.votable")
    HOMEPAGE = "https://archive.gemini.edu"
    CITATION = ("Based on observations obtained at the international Gemini Observatory, a program of NSF NOIRLab, "
                "retrieved from the Gemini Observatory Archive.")
    LICENSE = "Gemini Observatory Archive data policy (public data after the proprietary period)"
    MIN_INTERVAL_S = 1.0

    config: GeminiArchiveConfig

    def columns(self) -> tuple[Column, ...]:
        return GEMINI_COLUMNS

    def data_features(self) -> dict[str, Any]:
        return {
            "record_type": datasets.Value("string"),
            **super().data_features(),
            "types": datasets.List(datasets.Value("string")),
            "file_url": datasets.Value("string"),
            **{name: datasets.Value("string") for name in DATALINK_COLUMNS},
        }

    def describe(self) -> str:
        return ("Gemini Observatory Archive file records (record_type jsonsummary / jsonfilelist) with the file's "
                "download URL, and DataLink link rows (record_type datalink).")

    def download_requests(self) -> list[DownloadRequest]:
        path = search_path(self.config)
        return [DownloadRequest(path=path, filename=f"{self.config.api}.json", release=f"Gemini {path}")]

    def file_url(self, name: str | None) -> str | None:
        """``<base>/file/<name>``: where the archive serves a file."""
        return None if not name else f"{self.base_url}/file/{urllib.parse.quote(name)}"

    # ------------------------------------------------------------------ parsing

    def parse_file(self, path: Path) -> Iterator[dict[str, Any]]:
        text = decode_utf8(read_bytes(path, self.SOURCE), path, self.SOURCE)
        head = text.lstrip()[:1]
        if head in ("[", "{"):
            yield from self.parse_json(path, text)
        elif head == "<" and is_html(text.lstrip()[:200].encode()):
            title = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
            raise self.error(path, "line 1", "an HTML page, not a JSON answer of the Gemini archive nor a VOTable "
                             "(an error page, or a page saved from the browser?)"
                             + (f": {title.group(1).strip()[:80]!r}" if title else ""))
        elif head == "<":
            yield from self.parse_datalink(path)
        else:
            raise self.error(path, "line 1", "neither a JSON answer of the Gemini archive nor a VOTable "
                             f"(starts with {text.lstrip()[:20]!r})")

    def parse_json(self, path: Path, text: str) -> Iterator[dict[str, Any]]:
        """Rows of a jsonsummary / jsonfilelist answer (a JSON array of objects)."""
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self.error(path, f"line {exc.lineno}, column {exc.colno}", f"invalid JSON: {exc.msg}") from None
        if isinstance(records, dict):
            raise self.error(path, "", "a JSON object, not the array of file records the Gemini archive returns "
                             f"(keys: {sorted(records)[:8]})")
        if not isinstance(records, list):
            raise self.error(path, "", f"expected a JSON array of file records, found {type(records).__name__}")
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                raise self.error(path, f"row {index + 1}", f"expected a JSON object, found {type(record).__name__}")
        summary = any("instrument" in r or "data_label" in r for r in records)
        record_type = "jsonsummary" if summary else "jsonfilelist"
        keys = list(dict.fromkeys(k for r in records for k in r))
        table = pa.table({k: pa.array([_as_text(r.get(k)) for r in records], pa.string()) for k in keys}) \
            if keys else pa.table({"name": pa.array([], pa.string())})
        typed = convert_columns(RawTable(table=table), GEMINI_COLUMNS, source=self.SOURCE, file=path)
        types = [_types_list(r.get("types"), path, i, self) for i, r in enumerate(records)]
        blank = dict.fromkeys(DATALINK_COLUMNS)
        for row, kinds in zip(rows(typed), types, strict=True):
            row.update(record_type=record_type, types=kinds, file_url=self.file_url(row["name"]), **blank)
            yield row

    def parse_datalink(self, path: Path) -> Iterator[dict[str, Any]]:
        """Rows of a DataLink answer: one per link, mapped onto the file-record columns where they fit."""
        base = dict.fromkeys(c.name for c in GEMINI_COLUMNS)
        for link in read_datalink(path, self.SOURCE):
            ident = link.get("ID") or ""
            uri = link.get("file_uri") or urllib.parse.urlsplit(link.get("access_url") or "").path
            row = dict(base)
            size = link.get("content_length")
            row.update(
                record_type="datalink",
                name=uri.rsplit("/", 1)[-1] or None if uri else None,
                data_label=ident.rstrip("/").rsplit("/", 1)[-1] or None if ident else None,
                file_size=None if size is None else int(size),
                types=None,
                file_url=link.get("access_url"),
                datalink_id=ident or None,
                access_url=link.get("access_url"),
                service_def=link.get("service_def"),
                semantics=link.get("semantics"),
                description=link.get("description"),
                content_type=link.get("content_type"),
                error_message=link.get("error_message"),
            )
            yield row


def _as_text(value: Any) -> str | None:
    """A JSON value as the string the typed-column conversion expects (None stays None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def _types_list(value: Any, path: Path, index: int, builder: GeminiArchive) -> list[str] | None:
    """The archive writes ``types`` as a Python list literal (``"['GMOS_N', 'IMAGE']"``); parse it safely."""
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v) for v in value]
    try:
        parsed = ast.literal_eval(str(value))
    except (ValueError, SyntaxError):
        raise builder.error(path, f"row {index + 1}, field types", f"value {str(value)[:60]!r} is not a list") \
            from None
    if not isinstance(parsed, (list, tuple, set)):
        raise builder.error(path, f"row {index + 1}, field types", f"value {str(value)[:60]!r} is not a list")
    return sorted(str(v) for v in parsed) if isinstance(parsed, set) else [str(v) for v in parsed]
