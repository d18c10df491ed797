"""Check the 13 archive sources before a long prepare: endpoint reachable, tokens present, a sample parses.

For each source :func:`validate_sources` runs three checks and returns a :class:`SourceReport`:

* ``endpoint``: ONE light request (short timeout, no retries) to the source's resolved base URL
  (config > ``ASTROBIO_<SOURCE>_URL`` > the archive's default) plus the documented cheap path in
  :data:`PROBES` (a ``TOP 1`` TAP query, a directory listing, E-utilities ``einfo``...). The answer's
  body is not read. Any HTTP answer below 400, or 400/401/403/405/429 (the service answered; the probe
  carries no token and no full query), is ``ok``; 404/410, 5xx, a refused connection or a timeout is
  ``fail``. ``offline=True`` skips every probe; ``HF_DATASETS_OFFLINE``/``HF_HUB_OFFLINE`` skip the
  probes of non-loopback hosts (as :mod:`astrobio_hf.data.download` refuses them). Sources without a
  public API (:data:`NO_API`, e.g. Subaru SMOKA) are ``n/a``.
* ``token``: the environment variables a source reads (:data:`TOKENS`), required or optional, reported
  ``set`` / ``not set``; a value is never read into the report. Only a required variable that is not
  set fails (no source requires one today: MAST_API_TOKEN is for exclusive-access data only).
* ``sample``: with ``data_dir``, the first native file (the builder's ``FILE_PATTERNS``, sorted as the
  builder sorts them; the next one, up to 3, when a file holds 0 records) of ``<data_dir>/<key>`` or of
  an alias folder (:data:`FOLDER_ALIASES`, the folder names of the shared real-data collection) is parsed by :func:`~astrobio_hf.data.prepare.inspect_file`;
  the builder's error (file, row/HDU/field) is the failure message. Without ``data_dir``: ``no sample``.

Statuses: ``ok``, ``fail``, ``skipped``, ``n/a``, ``not set``, ``no sample``, ``unavailable`` (the builder
module is not installed yet); only ``fail`` makes :attr:`SourceReport.ok` false.
"""

from __future__ import annotations

import os
import time
import urllib.parse
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from .download import (
    LOOPBACK_HOSTS,
    RATE_LIMITER,
    USER_AGENT,
    env_var_for,
    join_url,
    offline_mode,
    redact_text,
    redact_url,
    resolve_base_url,
)
from .sources import SOURCE_PATHS, SOURCES, SourceNotAvailable
from .sources.tap import tap_sync_request

OK, FAIL, SKIPPED, NA, NOT_SET, NO_SAMPLE, UNAVAILABLE = (
    "ok", "fail", "skipped", "n/a", "not set", "no sample", "unavailable")
DEFAULT_TIMEOUT_S = 10.0
#: HTTP statuses that prove the service answered even though the bare probe was refused.
ANSWERED_4XX = frozenset({400, 401, 403, 405, 429})
#: At most this many files are parsed per source when the first ones hold no records.
SAMPLE_MAX_FILES = 3


@dataclass(frozen=True)
class Probe:
    """The cheap request that tells whether a service answers: ``path`` relative to the base URL."""

    path: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    note: str = ""


def _tap_probe(path: str, query: str) -> Probe:
    req = tap_sync_request(query, filename="probe.csv", maxrec=1, path=path)
    return Probe(req.path, req.params, f"TAP sync {query}")


#: One documented, cheap request per service (relative to the resolved base URL).
PROBES: dict[str, Probe] = {
    "nasa_exoplanet_archive": Probe("sync", {"query": "select top 1 pl_name from pscomppars", "format": "csv"},
                                    "TAP sync, one row of pscomppars"),
    "exoplanets_org": Probe("csv-files/exoplanets.csv", note="the catalogue file (headers only, body not read)"),
    "jwst_mast": Probe("v0/", note="MAST API documentation root"),
    "kepler_k2_mast": Probe("kepler/lightcurves/", note="Kepler light-curve tree (listing not read)"),
    "tess_mast": Probe("tess/tid/", note="TESS SPOC light-curve tree (listing not read)"),
    "eso_archive": _tap_probe("tap_obs/sync", "select top 1 dp_id from ivoa.ObsCore"),
    "keck_koa": _tap_probe("TAP/sync", "select top 1 koaid from koa_hires"),
    "gemini_archive": Probe("", note="archive home page"),
    "ncbi_genbank": Probe("einfo.fcgi", {"retmode": "json"}, "E-utilities einfo (list of databases)"),
    "ensembl": Probe("", note="FTP release tree (listing not read)"),
    "uniprot": Probe("uniprotkb/search", {"query": "accession:P69905", "fields": "accession", "size": 1,
                                          "format": "tsv"}, "UniProtKB search, one accession"),
    "gtdb": Probe("latest/", note="latest release folder (listing not read)"),
}
#: Sources with no public programmatic interface: their endpoint check is "n/a".
NO_API: dict[str, str] = {"subaru_smoka": "SMOKA has no public API (web form only); prepare from --data-dir"}


@dataclass(frozen=True)
class TokenVar:
    """An environment variable a source reads for credentials or identification."""

    name: str
    required: bool
    purpose: str


_MAST_TOKEN = TokenVar("MAST_API_TOKEN", False, "exclusive-access (proprietary) MAST data only")
#: Env vars per source (the names the builders read: mast.TOKEN_ENV, ncbi_genbank.API_KEY_ENV/EMAIL_ENV).
TOKENS: dict[str, tuple[TokenVar, ...]] = {
    "jwst_mast": (_MAST_TOKEN,),
    "kepler_k2_mast": (_MAST_TOKEN,),
    "tess_mast": (_MAST_TOKEN,),
    "ncbi_genbank": (TokenVar("NCBI_API_KEY", False, "raises the E-utilities rate limit from 3 to 10 requests/s"),
                     TokenVar("NCBI_EMAIL", False, "contact address NCBI asks clients to send")),
}

#: Folder names accepted for ``<data_dir>/<key>`` (the shared real-data collection's names).
FOLDER_ALIASES: dict[str, tuple[str, ...]] = {
    "jwst_mast": ("jwst",),
    "kepler_k2_mast": ("kepler_k2",),
    "tess_mast": ("tess",),
    "eso_archive": ("eso",),
    "gemini_archive": ("gemini",),
}


@dataclass
class Check:
    """One check's outcome: ``status`` (see the module docstring) and a human-readable ``detail``."""

    status: str
    detail: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "detail": self.detail, **self.info}


@dataclass
class SourceReport:
    """The three checks of one source."""

    source: str
    endpoint: Check
    token: Check
    sample: Check

    @property
    def ok(self) -> bool:
        return not (self.endpoint.failed or self.token.failed or self.sample.failed)

    @property
    def skipped(self) -> bool:
        """Nothing was checked (offline, no sample, no token needed): neither ok nor failed."""
        return all(c.status not in (OK, FAIL) for c in (self.endpoint, self.token, self.sample))

    @property
    def result(self) -> str:
        """``"ok"``, ``"fail"`` or ``"skipped"`` (every check skipped)."""
        return FAIL if not self.ok else SKIPPED if self.skipped else OK

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "ok": self.ok, "result": self.result, "endpoint": self.endpoint.to_dict(),
                "token": self.token.to_dict(), "sample": self.sample.to_dict()}


# --------------------------------------------------------------------------- endpoint


def _reason(exc: BaseException) -> str:
    """The innermost useful text of a requests/urllib3 error (e.g. '[Errno 111] Connection refused')."""
    inner: Any = exc
    while inner.args and isinstance(inner.args[0], BaseException):
        inner = inner.args[0]
    inner = getattr(inner, "reason", inner)
    text = str(inner).rsplit(">: ", 1)[-1].strip() or type(exc).__name__
    return redact_text(text)


def check_endpoint(key: str, base_url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                   offline: bool = False) -> Check:
    """Send the source's probe once (no retries) and classify the answer."""
    if key in NO_API:
        return Check(NA, NO_API[key])
    probe = PROBES.get(key, Probe())
    url = join_url(base_url, probe.path) if probe.path else base_url
    shown = redact_url(url, probe.params)
    host = urllib.parse.urlsplit(url).hostname or ""
    info: dict[str, Any] = {"url": shown}
    if offline:
        return Check(SKIPPED, f"skipped (offline, --offline): would request {shown}", info)
    if offline_mode() and host not in LOOPBACK_HOSTS:
        return Check(SKIPPED, f"skipped (offline: HF_DATASETS_OFFLINE/HF_HUB_OFFLINE): would request {shown}", info)
    RATE_LIMITER.wait(urllib.parse.urlsplit(url).netloc, 0.5)
    start = time.monotonic()
    try:
        # stream=True: only the status line and headers are read, never a listing or a catalogue body
        with requests.get(url, params=probe.params or None, timeout=timeout_s, stream=True, allow_redirects=False,
                          headers={"User-Agent": USER_AGENT}) as response:
            status = response.status_code
    except requests.Timeout:
        return Check(FAIL, f"no answer from {shown} within {timeout_s:g} s", info)
    except requests.RequestException as exc:
        return Check(FAIL, f"cannot reach {shown}: {_reason(exc)}", info)
    seconds = round(time.monotonic() - start, 3)
    info |= {"http_status": status, "seconds": seconds}
    if status < 400 or status in ANSWERED_4XX:
        return Check(OK, f"HTTP {status} from {shown} in {seconds:.2f} s", info)
    hint = ("check the base URL" if status in (404, 410) else "the service reports an error")
    return Check(FAIL, f"HTTP {status} from {shown}: {hint} (override with {env_var_for(key)})", info)


# --------------------------------------------------------------------------- tokens


def check_tokens(key: str) -> Check:
    """Which credential env vars the source reads and whether each is set (values are never read out)."""
    wanted = TOKENS.get(key, ())
    if not wanted:
        return Check(NA, "no token needed (public service)", {"env": []})
    env = [{"name": v.name, "required": v.required, "set": bool(os.environ.get(v.name, "").strip()),
            "purpose": v.purpose} for v in wanted]
    parts = [f"{e['name']}: {'set' if e['set'] else 'not set'} ({'required' if e['required'] else 'optional'}: "
             f"{e['purpose']})" for e in env]
    if any(e["required"] and not e["set"] for e in env):
        status = FAIL
    elif any(e["set"] for e in env):  # optional ones left unset are named in the detail, not a "not set" status
        status = OK
    else:
        status = NOT_SET
    return Check(status, "; ".join(parts), {"env": env})


# --------------------------------------------------------------------------- sample


def sample_folder(data_dir: Path, key: str) -> Path | None:
    """``<data_dir>/<key>``, else the first existing alias folder, else ``None``."""
    for name in (key, *FOLDER_ALIASES.get(key, ())):
        if (data_dir / name).is_dir():
            return data_dir / name
    return None


def native_files(folder: Path, patterns: Iterable[str]) -> list[Path]:
    """Files matching the builder's ``FILE_PATTERNS``, sorted like the builders sort them (resolved paths)."""
    found = {str(m.resolve()) for pattern in patterns for m in folder.glob(pattern)
             if m.is_file() and not m.name.startswith(".")}
    return [Path(p) for p in sorted(found)]


def check_sample(key: str, builder_cls: type, data_dir: Path | None, max_files: int = SAMPLE_MAX_FILES) -> Check:
    """Parse the first native file of the source's folder under ``data_dir`` with :func:`inspect_file`.

    A file that parses to 0 records (e.g. Keck's ``*_e.fits`` error companion, which the builder folds into
    its flux file) says little, so the next file is tried, up to ``max_files``; a parse error stops at once.
    """
    from .prepare import inspect_file

    if data_dir is None:
        return Check(NO_SAMPLE, "no --data-dir given")
    folder = sample_folder(data_dir, key)
    if folder is None:
        names = ", ".join((key, *FOLDER_ALIASES.get(key, ())))
        return Check(NO_SAMPLE, f"no folder {names} under {data_dir}")
    patterns = tuple(builder_cls.FILE_PATTERNS)
    files = native_files(folder, patterns)
    if not files:
        return Check(NO_SAMPLE, f"no native file ({', '.join(patterns)}) under {folder}")
    for path in files[:max_files]:
        try:
            found = inspect_file(key, path, sample=0, allow_empty=True)
        except Exception as exc:  # noqa: BLE001 - any parse failure is this check's result, not a crash
            message = str(exc) if isinstance(exc, (ValueError, OSError)) else f"{type(exc).__name__}: {exc}"
            return Check(FAIL, message, {"file": str(path)})
        rows, columns = found["rows"], len(found["columns"])
        if rows:
            break
    return Check(OK, f"{path.name}: {rows} row{'s' * (rows != 1)} x {columns} columns",
                 {"file": str(path), "rows": rows, "columns": columns})


# --------------------------------------------------------------------------- all sources


def validate_sources(keys: Sequence[str] | None = None, *, data_dir: str | os.PathLike | None = None,
                     offline: bool = False, timeout_s: float = DEFAULT_TIMEOUT_S,
                     max_workers: int = 8) -> list[SourceReport]:
    """Run the three checks for ``keys`` (default: all 13); endpoint probes run concurrently."""
    keys = list(SOURCE_PATHS) if keys is None else list(keys)
    unknown = [k for k in keys if k not in SOURCE_PATHS]
    if unknown:
        raise KeyError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(SOURCE_PATHS)}")
    root = None if data_dir is None else Path(data_dir)
    classes: dict[str, type | SourceNotAvailable] = {}
    for key in keys:
        try:
            classes[key] = SOURCES[key]
        except SourceNotAvailable as exc:
            classes[key] = exc

    def endpoint(key: str) -> Check:
        cls = classes[key]
        if isinstance(cls, SourceNotAvailable):
            return Check(UNAVAILABLE, str(cls))
        return check_endpoint(key, resolve_base_url(key, None, cls.DEFAULT_BASE_URL), timeout_s=timeout_s,
                              offline=offline)

    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(keys)))) as pool:
        endpoints = list(pool.map(endpoint, keys))
    reports = []
    for key, reach in zip(keys, endpoints, strict=True):
        cls = classes[key]
        sample = (Check(UNAVAILABLE, str(cls)) if isinstance(cls, SourceNotAvailable)
                  else check_sample(key, cls, root))
        reports.append(SourceReport(key, reach, check_tokens(key), sample))
    return reports


def format_table(reports: Sequence[SourceReport]) -> str:
    """A fixed-width table (one line of statuses per source) with each check's detail indented below."""
    width = max([len("SOURCE"), *(len(r.source) for r in reports)])
    lines = [f"{'SOURCE':<{width}}  {'ENDPOINT':<11}  {'TOKEN':<11}  {'SAMPLE':<11}  RESULT"]
    for r in reports:
        lines.append(f"{r.source:<{width}}  {r.endpoint.status:<11}  {r.token.status:<11}  {r.sample.status:<11}  "
                     f"{r.result.upper() if r.result == FAIL else r.result}")
        for name, check in (("endpoint", r.endpoint), ("token", r.token), ("sample", r.sample)):
            if check.detail:
                lines.append(f"{'':<{width}}  {name}: {check.detail}")
    failed = [r.source for r in reports if not r.ok]
    skipped = [r.source for r in reports if r.ok and r.skipped]
    if reports and len(skipped) == len(reports):
        lines.append(f"{len(reports)}/{len(reports)} sources skipped: nothing was checked")
    else:
        lines.append(f"{len(reports) - len(failed) - len(skipped)}/{len(reports)} sources ok"
                     + (f"; {len(skipped)} skipped (nothing checked): {', '.join(skipped)}" if skipped else "")
                     + (f"; failed: {', '.join(failed)}" if failed else ""))
    return "\n".join(lines)


def reports_as_dicts(reports: Sequence[SourceReport]) -> list[dict[str, Any]]:
    """The JSON form: one object per source."""
    return [r.to_dict() for r in reports]


__all__ = ["Check", "FOLDER_ALIASES", "NO_API", "PROBES", "Probe", "SourceReport", "TOKENS", "TokenVar",
           "check_endpoint", "check_sample", "check_tokens", "native_files", "format_table",
           "reports_as_dicts", "sample_folder", "validate_sources"]
