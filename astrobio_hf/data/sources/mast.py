"""What the three MAST builders (jwst_mast, kepler_k2_mast, tess_mast) share.

* The MAST Portal API (https://mast.stsci.edu/api/v0/): a service request is a JSON object posted
  as the form field ``request=<json>`` to ``<base>/v0/invoke``; the answer is JSON
  ``{"status", "msg", "data": [row objects], "fields": [{"name", "type"}], "paging": {...}}``.
  :func:`mast_request` builds the request, :func:`invoke` sends it (re-posting while MAST answers
  ``status: EXECUTING``), :func:`read_mast_answer` parses a saved answer with :mod:`json` and
  :func:`answer_table` turns its rows into a :class:`~.tabular.RawTable` so that the shared
  :func:`~.tabular.convert_columns` types them (errors name the row and field).
* Product files: ``<base>/v0.1/Download/file?uri=mast:<MISSION>/product/<file>``.
* ``MAST_API_TOKEN`` (only for proprietary data): sent as ``Authorization: token <value>``.
* :func:`fetch_files`: downloads archive files where a group of alternative URLs (e.g. a Kepler
  quarter published under two time stamps) needs at least one to exist.
* :func:`format_error`: turns a modality reader's error (``ModalityFormatError``, whose message is
  ``"<file>: HDU 1 'LIGHTCURVE': missing column 'X' ..."``) into the builders'
  :class:`SourceFormatError` with the HDU / column / line as its location.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import re
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ...progress import Progress, human_bytes
from ..download import DownloadError, HttpClient, Secrets, join_url, read_token, redact_url, request_fingerprint
from .base import DownloadRequest
from .errors import SourceFormatError
from .tabular import Column, RawTable, decode_utf8, read_bytes

logger = logging.getLogger(__name__)

MAST_API_URL = "https://mast.stsci.edu/api"
INVOKE_PATH = "v0/invoke"
DOWNLOAD_PATH = "v0.1/Download/file"
ARCHIVE_URL = "https://archive.stsci.edu/missions"
TOKEN_ENV = "MAST_API_TOKEN"

# Documented CAOM observation fields (https://mast.stsci.edu/api/v0/_c_a_o_mfields.html) with units.
CAOM_COLUMNS: tuple[Column, ...] = (
    Column("obsid", "string", "", "MAST product-group id of the observation (Products requests use it)",
           required=True),
    Column("obs_id", "string", "", "Observation id (archive dataset name)", required=True),
    Column("obs_collection", "string", "", "Mission (JWST, HST, TESS, K2, Kepler ...)", required=True),
    Column("dataproduct_type", "string", "", "image, spectrum, timeseries, cube ..."),
    Column("instrument_name", "string", "", "Instrument (and mode), e.g. NIRSPEC/SLIT, NIRISS/SOSS"),
    Column("project", "string", "", "Processing project"),
    Column("filters", "string", "", "Filters / gratings"),
    Column("wavelength_region", "string", "", "Wavelength region"),
    Column("target_name", "string", "", "Target name as given by the observer"),
    Column("target_classification", "string", "", "Target classification"),
    Column("s_ra", "float64", "deg", "Right ascension (ICRS)"),
    Column("s_dec", "float64", "deg", "Declination (ICRS)"),
    Column("proposal_id", "string", "", "Proposal / program id"),
    Column("proposal_pi", "string", "", "Principal investigator"),
    Column("calib_level", "int64", "", "Calibration level (0 raw ... 3 science product, 4 contributed)"),
    Column("t_min", "float64", "MJD", "Start of the observation"),
    Column("t_max", "float64", "MJD", "End of the observation"),
    Column("t_exptime", "float64", "s", "Exposure time"),
    Column("em_min", "float64", "nm", "Minimum wavelength"),
    Column("em_max", "float64", "nm", "Maximum wavelength"),
    Column("obs_title", "string", "", "Proposal title"),
    Column("t_obs_release", "float64", "MJD", "Public release date"),
    Column("s_region", "string", "", "Footprint (STC-S)"),
    Column("dataURL", "string", "", "URL of the observation's preview product"),
    Column("jpegURL", "string", "", "URL of the preview image"),
    Column("objID", "string", "", "MAST object id"),
    Column("distance", "float64", "arcsec", "Distance from the search position (cone searches)"),
)

# Documented product fields (https://mast.stsci.edu/api/v0/_productsfields.html).
PRODUCT_COLUMNS: tuple[Column, ...] = (
    Column("obsID", "string", "", "obsid of the observation the product belongs to", required=True),
    Column("productFilename", "string", "", "File name", required=True),
    Column("dataURI", "string", "", "MAST URI (mast:<MISSION>/product/<file>) for the Download service",
           required=True),
    Column("obs_collection", "string", "", "Mission"),
    Column("obs_id", "string", "", "Observation id"),
    Column("dataproduct_type", "string", "", "image, spectrum, timeseries ..."),
    Column("description", "string", "", "Product description"),
    Column("type", "string", "", "S (science) or C (calibration)"),
    Column("productType", "string", "", "SCIENCE, CALIBRATION, AUXILIARY, PREVIEW ..."),
    Column("productGroupDescription", "string", "", "Product group, e.g. Minimum Recommended Products"),
    Column("productSubGroupDescription", "string", "", "Product sub-group, e.g. X1D, X1DINTS, LLC"),
    Column("productDocumentationURL", "string", "", "Documentation URL"),
    Column("project", "string", "", "Processing project"),
    Column("prvversion", "string", "", "Pipeline version"),
    Column("proposal_id", "string", "", "Proposal / program id"),
    Column("parent_obsid", "string", "", "obsid of the parent observation"),
    Column("dataRights", "string", "", "PUBLIC or EXCLUSIVE_ACCESS"),
    Column("calib_level", "int64", "", "Calibration level"),
    Column("size", "int64", "bytes", "File size"),
)


# --------------------------------------------------------------------------- requests


def mast_filters(criteria: dict[str, Sequence[str] | str | None]) -> list[dict[str, Any]]:
    """``{"obs_collection": ["JWST"], ...}`` -> MAST's ``[{"paramName", "values"}]`` (empty criteria dropped)."""
    out = []
    for name, values in criteria.items():
        if values is None:
            continue
        values = [values] if isinstance(values, str) else list(values)
        if values:
            out.append({"paramName": name, "values": [str(v) for v in values]})
    return out


def mast_request(service: str, params: dict[str, Any], page: int = 1, page_size: int = 5000) -> dict[str, Any]:
    """A MAST Portal API request object (``format: json``, one page)."""
    return {"service": service, "params": params, "format": "json", "pagesize": int(page_size), "page": int(page)}


def mast_token_secrets() -> Secrets:
    """``Authorization: token <MAST_API_TOKEN>`` when the variable is set (proprietary data), else nothing."""
    token = read_token(TOKEN_ENV)
    return Secrets(headers={"Authorization": f"token {token}"}) if token else Secrets()


def retrieved_now() -> str:
    """UTC time stamp used in the ``release`` provenance of downloaded answers."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def invoke(client: HttpClient, url: str, request: dict[str, Any], dest: Path, *, source: str, force: bool = False,
           max_polls: int = 30, poll_s: float = 2.0) -> MastAnswer:
    """POST ``request=<json>`` to the invoke URL, save the answer at ``dest`` and parse it.

    An answer already saved at ``dest`` is reused unless ``force``. MAST answers ``status: EXECUTING``
    while a long query runs; the same request is then re-posted (up to ``max_polls`` times).
    """
    form = {"request": json.dumps(request, separators=(",", ":"))}
    for attempt in range(max_polls):
        if force or attempt or not dest.is_file():
            client.download(url, dest, method="POST", data=form)
        else:
            logger.info("%s: reusing saved MAST answer %s", source, dest)
        answer = read_mast_answer(dest, source, allow_executing=True)
        if answer.status != "EXECUTING":
            return answer
        logger.info("%s: MAST still executing %s (poll %d/%d)", source, request.get("service"), attempt + 1,
                    max_polls)
        time.sleep(poll_s)
    raise DownloadError(f"{source}: MAST kept answering EXECUTING for {request.get('service')} after "
                        f"{max_polls} polls", url=redact_url(url))


def invoke_dest(download_dir: Path, url: str, request: dict[str, Any], name: str) -> Path:
    """Where the answer of ``request`` is saved (the request's fingerprint keeps answers apart)."""
    form = {"request": json.dumps(request, separators=(",", ":"))}
    return download_dir / f"{request_fingerprint('POST', url, None, form)}-{name}"


# --------------------------------------------------------------------------- answers


@dataclass
class MastAnswer:
    """One parsed MAST API answer."""

    path: str
    status: str
    msg: str
    fields: dict[str, str]  # column name -> MAST type (string, float, int, boolean, date)
    rows: list[dict[str, Any]]
    paging: dict[str, Any] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """Number of pages the query has (``paging.pagesFiltered``; 1 when absent)."""
        try:
            return max(1, int(self.paging.get("pagesFiltered") or 1))
        except (TypeError, ValueError):
            return 1


def read_mast_answer(path: str | Path, source: str, *, allow_executing: bool = False) -> MastAnswer:
    """Parse a saved MAST API JSON answer; errors name the file and the line/column, key or row."""
    path = Path(path)
    text = decode_utf8(read_bytes(path, source), path, source)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceFormatError(source, str(path), f"line {exc.lineno}, column {exc.colno}",
                                f"not valid JSON ({exc.msg}); truncated answer?") from None
    if not isinstance(obj, dict):
        raise SourceFormatError(source, str(path), "", f"expected a MAST answer object, found a JSON "
                                f"{type(obj).__name__}")
    status = str(obj.get("status") or "COMPLETE").upper()
    msg = str(obj.get("msg") or "")
    if status == "ERROR":
        raise SourceFormatError(source, str(path), "key status", f"MAST answered ERROR: {msg or '(no message)'}")
    if status == "EXECUTING" and not allow_executing:
        raise SourceFormatError(source, str(path), "key status", "incomplete MAST answer (status EXECUTING)")
    if "data" not in obj:
        raise SourceFormatError(source, str(path), "key data", f"no 'data' list (keys: {sorted(obj)}); not a MAST "
                                "API answer")
    data = obj["data"]
    if not isinstance(data, list):
        raise SourceFormatError(source, str(path), "key data", f"'data' is a {type(data).__name__}, not a list")
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise SourceFormatError(source, str(path), f"row {index + 1}", f"data row is a {type(row).__name__}, "
                                    "not an object")
    fields: dict[str, str] = {}
    for index, spec in enumerate(obj.get("fields") or []):
        if not isinstance(spec, dict) or "name" not in spec:
            raise SourceFormatError(source, str(path), f"fields[{index}]", "field entry without a 'name'")
        fields[str(spec["name"])] = str(spec.get("type") or "")
    paging = obj.get("paging") if isinstance(obj.get("paging"), dict) else {}
    return MastAnswer(str(path), status, msg, fields, data, paging)


def answer_table(answer: MastAnswer) -> RawTable:
    """The answer's rows as an all-string :class:`RawTable` (``None`` for JSON null)."""
    names = list(answer.fields)
    for row in answer.rows:
        names.extend(k for k in row if k not in names)
    columns = {name: pa.array([_as_text(row.get(name)) for row in answer.rows], type=pa.string()) for name in names}
    table = pa.table(columns) if columns else pa.table({})
    return RawTable(table=table, meta={"status": answer.status, "msg": answer.msg})


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


# --------------------------------------------------------------------------- files


@dataclass
class FileRequest:
    """One archive file; requests sharing a ``group`` are alternatives: at least one must exist."""

    request: DownloadRequest
    group: str


def fetch_files(client: HttpClient, base_url: str, download_dir: Path, requests: Iterable[FileRequest], *,
                source: str, force: bool = False, workers: int = 1) -> list[tuple[str, str]]:
    """Download archive files (saved as ``<download_dir>/<request hash>/<archive file name>``).

    A 404 on one member of a group is tolerated when another member exists (Kepler Q4 and K2
    campaigns 9-11 are published in parts); a group with no file at all raises
    :class:`DownloadError` listing the URLs tried. Saved files are reused unless ``force``.
    ``workers`` files are fetched at once (threads sharing the client, so the per-host interval
    still holds); one progress line counts files and bytes. The result keeps the request order.
    """
    items = list(requests)
    retrieved = retrieved_now()
    planned = []
    for item in items:
        req = item.request
        url = join_url(base_url, req.path)
        dest = download_dir / request_fingerprint(req.method, url, req.params) / req.filename
        planned.append((item, url, dest))
    progress = Progress(len(planned), f"{source}: files", unit="files")
    fetched_bytes = 0
    lock = threading.Lock()

    def fetch_one(entry: tuple[FileRequest, str, Path]) -> bool:
        nonlocal fetched_bytes
        item, url, dest = entry
        req = item.request
        found = True
        if dest.is_file() and not force:
            logger.info("%s: reusing saved file %s", source, dest)
        else:
            try:
                client.download(url, dest, method=req.method, params=req.params or None, announce=False)
            except DownloadError as exc:
                if exc.status != 404:
                    raise
                logger.info("%s: %s not found (HTTP 404)", source, redact_url(url, req.params))
                found = False
        with lock:
            if found:
                fetched_bytes += dest.stat().st_size
            progress.step(note=f"{human_bytes(fetched_bytes)}")
        return found

    if workers > 1 and len(planned) > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{source}-download") as pool:
            futures = [pool.submit(fetch_one, entry) for entry in planned]
            try:
                outcome = [future.result() for future in futures]
            except BaseException:
                for future in futures:  # a real failure (not a 404): send nothing more
                    future.cancel()
                raise
    else:
        outcome = [fetch_one(entry) for entry in planned]
    out: list[tuple[str, str]] = []
    found_groups: set[str] = set()
    tried: dict[str, list[str]] = {}
    for (item, url, dest), ok in zip(planned, outcome, strict=True):
        req = item.request
        tried.setdefault(item.group, []).append(redact_url(url, req.params))
        if ok:
            found_groups.add(item.group)
            out.append((str(dest), f"{req.release or redact_url(url, req.params)} (retrieved {retrieved})"))
    missing = [g for g in tried if g not in found_groups]
    if missing:
        details = "; ".join(f"{g}: {', '.join(tried[g])}" for g in missing)
        raise DownloadError(f"{source}: the archive has no file for {len(missing)} requested item(s) (HTTP 404): "
                            f"{details}", status=404)
    return out


# --------------------------------------------------------------------------- errors

_HDU_PREFIX = re.compile(r"^(HDU \d+ '[^']*'(?: \(EXTVER \d+\))?): (.*)$", re.S)
_LINE_PREFIX = re.compile(r"^(line \d+): (.*)$", re.S)
_MISSING_COLUMN = re.compile(r"missing (?:quality )?column '([^']+)'")
_NO_HDU = re.compile(r"^no ([A-Z0-9_]+) (?:BinTable )?HDU")


def format_error(source: str, path: str | Path, exc: Exception) -> SourceFormatError:
    """A modality reader's error as a :class:`SourceFormatError` (file, HDU/column or line, message)."""
    text = str(exc)
    for prefix in (f"{path}: ", f"{Path(path).resolve()}: "):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    location = ""
    match = _HDU_PREFIX.match(text) or _LINE_PREFIX.match(text)
    if match:
        location, text = match.group(1), match.group(2)
    else:
        no_hdu = _NO_HDU.match(text)
        if no_hdu:
            location = f"HDU {no_hdu.group(1)}"
    column = _MISSING_COLUMN.search(text)
    if column and location.startswith("HDU"):
        location += f", column {column.group(1)}"
    return SourceFormatError(source, str(path), location, text)
