"""IVOA TAP and DataLink helpers shared by the TAP-backed builders (ESO, Keck KOA) and DataLink readers.

* :func:`tap_sync_request`: the synchronous TAP request ``<base>/<path>?REQUEST=doQuery&LANG=ADQL&
  QUERY=<ADQL>&FORMAT=<fmt>[&MAXREC=n]`` (TAP 1.1 parameter names; services read them case-insensitively).
* :func:`adql_string`, :func:`cone_condition`, :func:`where_clause`: safe pieces of ADQL text.
* :func:`read_tap_answer`: a TAP answer (CSV with optional ``#`` comment lines, IPAC table, VOTable) as a
  :class:`~astrobio_hf.data.sources.tabular.RawTable`; a VOTable whose ``QUERY_STATUS`` is ``ERROR`` (what
  TAP services send back for a bad query, whatever format was asked for) is a clear error.
* :func:`tap_expected_rows`: how many rows the service says a sync query selects (``COUNT(*)`` of the same
  FROM/WHERE), the completeness check of a TAP answer.
* :func:`read_datalink`: the rows of a DataLink ``{links}`` answer (ID, access_url, service_def,
  error_message, semantics, description, content_type, content_length, ...), :func:`datalink_file_url`
  the ``#this`` row's URL (the dataset file itself).

VOTables are parsed with ``astropy.io.votable``; CSV/IPAC through :mod:`.tabular`.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..download import DownloadError, HttpClient, join_url
from .base import DownloadRequest
from .errors import SourceFormatError
from .tabular import RawTable, decode_utf8, read_astropy_strings, read_bytes, read_csv_strings, sniff_format

#: The columns of a DataLink ``{links}`` response (DataLink 1.0, section 3.2).
DATALINK_FIELDS = ("ID", "access_url", "service_def", "error_message", "semantics", "description", "content_type",
                   "content_length")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_SELECT_LIST = re.compile(r"^\s*SELECT\s+(?:TOP\s+\d+\s+)?.*?\s+FROM\s+", re.IGNORECASE | re.DOTALL)
_ORDER_BY = re.compile(r"\s+ORDER\s+BY\s+.*$", re.IGNORECASE | re.DOTALL)
logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- request building


def adql_string(value: str) -> str:
    """An ADQL string literal: single quotes doubled (``O'Brien`` -> ``'O''Brien'``)."""
    return "'" + str(value).replace("'", "''") + "'"


def adql_identifier(name: str) -> str:
    """A table or column name, checked so that config values cannot inject ADQL."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a valid ADQL table/column name: {name!r}")
    return name


def cone_condition(ra_column: str, dec_column: str, ra_deg: float, dec_deg: float, radius_deg: float) -> str:
    """ADQL for 'within ``radius_deg`` of (ra, dec)' (ICRS degrees), the standard geometry functions."""
    ra, dec, radius = float(ra_deg), float(dec_deg), float(radius_deg)
    if not (0.0 <= ra < 360.0 and -90.0 <= dec <= 90.0 and radius > 0.0):
        raise ValueError(f"bad cone: ra {ra}, dec {dec}, radius {radius} (degrees; ra in [0, 360), radius > 0)")
    return (f"CONTAINS(POINT('ICRS', {adql_identifier(ra_column)}, {adql_identifier(dec_column)}), "
            f"CIRCLE('ICRS', {ra!r}, {dec!r}, {radius!r})) = 1")


def check_search_options(source: str, ra: float | None, dec: float | None, radius: float | None,
                         top: int | None, max_files: int) -> None:
    """The checks every TAP search config shares: a whole cone or none, a positive row cap, no negative file count."""
    cone = (ra, dec, radius)
    if any(v is not None for v in cone) and any(v is None for v in cone):
        raise ValueError(f"{source}: a cone needs all of ra, dec and radius (degrees)")
    if top is not None and int(top) <= 0:
        raise ValueError(f"{source}: top must be a positive row count")
    if int(max_files) < 0:
        raise ValueError(f"{source}: max_files must be >= 0")


def where_clause(conditions: Iterable[str]) -> str:
    """`` WHERE a AND b`` for the non-empty conditions (each parenthesised), or an empty string."""
    parts = [f"({c})" for c in conditions if c]
    return (" WHERE " + " AND ".join(parts)) if parts else ""


def tap_sync_request(query: str, *, filename: str, fmt: str = "csv", maxrec: int | None = None,
                     release: str = "", path: str = "sync") -> DownloadRequest:
    """The synchronous TAP request for ``query`` (GET ``<base>/<path>``), answer saved as ``filename``."""
    params: dict[str, Any] = {"REQUEST": "doQuery", "LANG": "ADQL", "FORMAT": fmt, "QUERY": query}
    if maxrec is not None:
        params["MAXREC"] = int(maxrec)
    return DownloadRequest(path=path, filename=filename, params=params, release=release or f"TAP: {query}")


def count_query(query: str) -> str:
    """The ADQL counting the rows ``query`` selects: its select list replaced by ``COUNT(*)``, no ORDER BY."""
    counted = _SELECT_LIST.sub("SELECT COUNT(*) AS n FROM ", query, count=1)
    return _ORDER_BY.sub("", counted)


def parse_count_answer(text: str) -> int | None:
    """The integer of a one-cell TAP CSV answer (``n\\n5967``), or ``None`` when it is not one."""
    lines = [line.strip().strip('"') for line in text.strip().splitlines() if line.strip()]
    if len(lines) != 2 or not lines[1].isdigit():
        return None
    return int(lines[1])


def tap_expected_rows(source: str, base_url: str, request: DownloadRequest, client: HttpClient) -> int | None:
    """Rows the TAP service says ``request`` (a :func:`tap_sync_request`) answers, capped by its MAXREC.

    ``None`` (with a warning) when the count cannot be had: the answer is then kept for one run only.
    """
    params = dict(request.params)
    maxrec = params.pop("MAXREC", None)
    params.update({"QUERY": count_query(str(params["QUERY"])), "FORMAT": "csv"})
    try:
        answer = client.get(join_url(base_url, request.path), params=params)
        count = parse_count_answer(answer.text)
        problem = f"answer {answer.text[:80]!r} is not a count"
    except DownloadError as exc:
        count, problem = None, str(exc)
    if count is None:
        logger.warning("%s: cannot check the answer's completeness (COUNT query: %s)", source, problem)
        return None
    return min(count, int(maxrec)) if maxrec is not None else count


# --------------------------------------------------------------------------- answers


def _votable(path: Path, source: str):
    from astropy.io import votable
    from astropy.io.votable.exceptions import VOWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VOWarning)  # archives' VOTables often miss optional attributes
            return votable.parse(str(path), verify="ignore")
    except Exception as exc:  # astropy raises many types for broken XML / VOTable
        raise SourceFormatError(source, str(path), "", f"cannot parse as VOTable: {type(exc).__name__}: {exc}") \
            from None


def votable_query_status(vot) -> tuple[str, str]:
    """``(status, message)`` of a VOTable's ``QUERY_STATUS`` INFO (``("", "")`` when absent)."""
    for resource in vot.resources:
        for info in resource.infos:
            if info.name == "QUERY_STATUS":
                return str(info.value or "").upper(), str(info.content or "").strip()
    for info in vot.infos:
        if info.name == "QUERY_STATUS":
            return str(info.value or "").upper(), str(info.content or "").strip()
    return "", ""


def check_votable(path: Path, source: str):
    """Parse a VOTable, raising :class:`SourceFormatError` when the service reported a query error."""
    vot = _votable(path, source)
    status, message = votable_query_status(vot)
    if status == "ERROR":
        raise SourceFormatError(source, str(path), "INFO QUERY_STATUS",
                                f"the service answered with an error instead of a table: {message or '(no message)'}")
    return vot


def find_header_line(lines: list[str]) -> int:
    """Index of a delimited table's header: the first line that is not blank, a ``#`` comment, or a mangled
    byte-order mark (ESO form answers can start with U+FFFD U+FFFD U+FFFD on a line of their own)."""
    for index, line in enumerate(lines):
        text = line.strip().strip("\ufeff\ufffd").strip()
        if text and not text.startswith("#"):
            return index
    return len(lines)


def read_delimited_answer(path: Path, text: str, source: str, expected: Iterable[str] = ()) -> RawTable:
    """A CSV/TSV answer with ``#`` comment lines before and/or after the rows (ESO form answers end with
    ``# A total of N records were found...``); error locations keep the file's physical line numbers."""
    lines = text.splitlines()
    start = find_header_line(lines)
    if start == len(lines):
        raise SourceFormatError(source, str(path), "line 1", "no header line: the file holds only comments")
    end = len(lines)
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    # the comment lines before the header are skipped by pyarrow (skip_rows), so reported line numbers
    # stay physical; trailing comment lines are cut off
    body = "\n".join(lines[:end]) + "\n"
    raw = read_csv_strings(body, path, source, delimiter=delimiter, skip_lines=start, expected=list(expected))
    if start:
        raw.meta["comments"] = "\n".join(line for line in lines[:start] if line.strip().lstrip("\ufffd"))
    return raw


def read_tap_answer(path: Path, source: str, expected: Iterable[str] = ()) -> RawTable:
    """A TAP (or archive form) answer in any of CSV/TSV, IPAC, VOTable -> all-string :class:`RawTable`."""
    text = decode_utf8(read_bytes(path, source), path, source)
    fmt = sniff_format(text.lstrip("\ufffd\ufeff \r\n"))
    if fmt == "votable":
        check_votable(path, source)
        return read_astropy_strings(path, source, "votable")
    if fmt == "ipac":
        return read_astropy_strings(path, source, "ipac")
    return read_delimited_answer(path, text, source, expected)


def read_datalink(path: Path, source: str) -> list[dict[str, Any]]:
    """Rows of a DataLink ``{links}`` VOTable (values as Python objects; empty cells ``None``)."""
    vot = check_votable(path, source)
    try:
        table = vot.get_first_table()
    except IndexError:
        raise SourceFormatError(source, str(path), "", "VOTable holds no TABLE: not a DataLink answer") from None
    names = [f.name for f in table.fields]
    missing = [n for n in ("ID", "access_url", "semantics") if n not in names]
    if missing:
        raise SourceFormatError(source, str(path), f"field {missing[0]}",
                                f"not a DataLink answer: FIELDs {missing} missing (found {names})")
    astro = table.to_table()
    columns = {}
    # astropy names a column by the FIELD's ID when it has one (gemini.xml: file_uri has ID fileURIRef)
    for name, colname in zip(names, astro.colnames, strict=True):
        col = astro[colname]
        values = col.tolist()
        if hasattr(col, "mask"):  # masked cells (empty TDs) -> None
            values = [None if m else v for v, m in zip(col.data.tolist(), col.mask.tolist(), strict=True)]
        columns[name] = [None if v == "" else (v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
                         for v in values]
    if "content_length" in columns:
        # VOTable < 1.3 has no empty integer cell; astropy reads one as 0 (warning W49). A link of 0 bytes
        # means 'size unknown' (service links, cutouts), so it becomes None.
        columns["content_length"] = [None if v is None or int(v) <= 0 else int(v) for v in columns["content_length"]]
    return [{name: columns[name][i] for name in names} for i in range(len(astro))]


def datalink_file_url(rows: list[dict[str, Any]], path: Path, source: str) -> str:
    """``access_url`` of the ``#this`` row (the dataset itself); a row's ``error_message`` is reported."""
    for index, row in enumerate(rows):
        if row.get("semantics") == "#this":
            if row.get("error_message"):
                raise SourceFormatError(source, str(path), f"row {index + 1}, field error_message",
                                        f"DataLink reports: {row['error_message']}")
            if row.get("access_url"):
                return str(row["access_url"])
    raise SourceFormatError(source, str(path), "field semantics", "no '#this' row with an access_url in the "
                            "DataLink answer (the dataset may be proprietary or withdrawn)")
