"""The network layer every archive builder uses in download mode.

What it gives a builder:

* :func:`resolve_base_url`: config kwarg > ``ASTROBIO_<SOURCE>_URL`` env var > the archive's default.
* :func:`read_token`: a secret read from an environment variable, only where a service needs one.
* :class:`HttpClient`: a ``requests`` session with retries and exponential backoff on 429/5xx
  (``Retry-After`` honoured), a per-host polite rate limit, GET and POST (form fields, as MAST's
  ``request=<json>`` API wants), and streaming of an answer to a file, kept (renamed into place) only
  after it passed :mod:`answer_checks` (no HTML page, full length, the format's signature) and the
  caller's own validation (a builder parses it): a bad answer raises :class:`BadAnswerError`. An
  answer nothing proved whole (no ``Content-Length``, no chunked end, no format end marker, no count
  from the service) is kept for the run that fetched it only: a marker beside it
  (:func:`is_verified_answer`) makes the next run fetch it again instead of replaying it.
* :func:`remove_stale_staging`: ``.incoming-<pid>-*`` folders of processes that died mid-download.

Secrets (query parameters such as ``api_key`` or headers such as ``Authorization``) are handed to the
client separately from the request, are added only when the request is sent, and never appear in
log records, exception messages, cache file names or provenance: every URL that leaves this module
goes through :func:`redact_url` / :func:`redact_text` first.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import os
import re
import shutil
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

from ..progress import Progress, human_bytes, report
from . import answer_checks

logger = logging.getLogger(__name__)

#: Query-parameter / header names whose values are secrets (compared case-insensitively).
SECRET_NAMES = frozenset(
    {"api_key", "apikey", "token", "access_token", "auth", "authorization", "key", "password", "secret", "sig",
     "signature", "x-api-key"}
)
REDACTED = "REDACTED"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
USER_AGENT = "astrobio-hf (https://github.com/astrobio-hf; archive builders)"
STAGING_PREFIX = ".incoming-"
UNVERIFIED_SUFFIX = ".unverified"

# Every secret value a client has been given in this process: log filters and error messages scrub them.
_KNOWN_SECRETS: set[str] = set()
_KNOWN_SECRETS_LOCK = threading.Lock()


class DownloadError(RuntimeError):
    """A request to an archive failed; the message names the (redacted) URL and the HTTP status."""

    def __init__(self, message: str, url: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class BadAnswerError(DownloadError):
    """The archive answered, but with something that must not be cached (HTML page, short body, bad format)."""


class MissingTokenError(DownloadError):
    """A service needs a token and its environment variable is not set (the message names the variable)."""


# --------------------------------------------------------------------------- redaction


def _register_secrets(values: Iterable[str]) -> None:
    with _KNOWN_SECRETS_LOCK:
        _KNOWN_SECRETS.update(v for v in values if v and len(v) >= 4)


def redact_text(text: str) -> str:
    """Replace every known secret value, and the value of any ``<secret-name>=...`` pair, in free text."""
    with _KNOWN_SECRETS_LOCK:
        secrets = sorted(_KNOWN_SECRETS, key=len, reverse=True)
    for value in secrets:
        text = text.replace(value, REDACTED)
        quoted = urllib.parse.quote_plus(value)
        if quoted != value:
            text = text.replace(quoted, REDACTED)
    return _redact_query_pairs(text)


_SECRET_PAIR = re.compile(
    r"(?i)(?<![A-Za-z0-9_-])(" + "|".join(re.escape(n) for n in sorted(SECRET_NAMES, key=len, reverse=True))
    + r")(=|%3D)([^&\s'\"<>]+)")


def _redact_query_pairs(text: str) -> str:
    # Scrub "name=value" pairs for secret names anywhere in a string (URLs inside exception texts).
    return _SECRET_PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def redact_url(url: str, params: Mapping[str, object] | None = None) -> str:
    """The URL (plus optional extra query params) with secret query values replaced by ``REDACTED``."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, str(v)) for k, v in (params or {}).items()]
    query = [(k, REDACTED if k.lower() in SECRET_NAMES else v) for k, v in query]
    netloc = parts.netloc.rsplit("@", 1)[-1]  # drop user:password@ if someone put it in a base URL
    return redact_text(urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=urllib.parse.urlencode(query))))


class _RedactingFilter(logging.Filter):
    """Scrubs secrets from records of third-party loggers (urllib3 logs full URLs at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


_FILTER = _RedactingFilter()


def _install_log_filters() -> None:
    for name in ("urllib3.connectionpool", "urllib3.util.retry", "requests"):
        lg = logging.getLogger(name)
        if _FILTER not in lg.filters:
            lg.addFilter(_FILTER)


# --------------------------------------------------------------------------- configuration


def env_var_for(source: str) -> str:
    """The environment variable that overrides a source's base URL: ``ASTROBIO_<SOURCE>_URL``."""
    return f"ASTROBIO_{source.upper()}_URL"


def resolve_base_url(source: str, configured: str | None, default: str) -> str:
    """Base URL for a source: the config kwarg, else ``ASTROBIO_<SOURCE>_URL``, else the archive's default."""
    url = configured or os.environ.get(env_var_for(source)) or default
    return url.rstrip("/")


def join_url(base_url: str, path: str) -> str:
    """``base_url`` + ``/path`` (path may be empty or already absolute)."""
    if not path or path.startswith(("http://", "https://")):
        return path or base_url
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def read_token(env_var: str, required: bool = False, service: str = "") -> str | None:
    """A secret from the environment; ``MissingTokenError`` naming the variable when required and unset."""
    value = os.environ.get(env_var, "").strip() or None
    if value is None and required:
        raise MissingTokenError(f"{service or 'this service'} needs a token: set the environment variable {env_var}")
    if value:
        _register_secrets([value])
    return value


def offline_mode() -> bool:
    """True when HF_DATASETS_OFFLINE / HF_HUB_OFFLINE ask for no network (loopback stays allowed)."""
    return any(os.environ.get(n, "").strip().lower() in {"1", "true", "yes", "on"}
               for n in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"))


# --------------------------------------------------------------------------- rate limit


class _HostRateLimiter:
    """Process-wide minimum interval between requests to one host (shared by every client)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def wait(self, host: str, min_interval_s: float) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(host, 0.0))
            self._next[host] = start + min_interval_s
        if start > now:
            time.sleep(start - now)


RATE_LIMITER = _HostRateLimiter()


# --------------------------------------------------------------------------- saved answers


def unverified_marker(dest: Path) -> Path:
    """The marker file saying ``dest`` was kept for one run only: nothing proved it whole."""
    return dest.with_name(dest.name + UNVERIFIED_SUFFIX)


def is_verified_answer(dest: Path) -> bool:
    """Whether ``dest`` is a saved answer that may be replayed (it exists and its completeness was proved)."""
    return dest.is_file() and not unverified_marker(dest).exists()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_staging(folder: Path) -> list[Path]:
    """Delete ``.incoming-<pid>-*`` folders in ``folder`` whose process is dead (a kill -9 mid-download)."""
    removed = []
    if not folder.is_dir():
        return removed
    for entry in folder.glob(STAGING_PREFIX + "*"):
        pid_text = entry.name[len(STAGING_PREFIX):].split("-", 1)[0]
        if entry.is_dir() and pid_text.isdigit() and not _pid_alive(int(pid_text)):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
            logger.warning("removed the staging folder %s of a download whose process (pid %s) died", entry,
                           pid_text)
    return removed


# --------------------------------------------------------------------------- client


@dataclass
class Secrets:
    """Credentials added to a request at send time only (kept out of configs, logs and caches)."""

    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print the values
        return f"Secrets(params={sorted(self.params)}, headers={sorted(self.headers)})"


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class HttpClient:
    """A polite HTTP client for one archive: retries, backoff, rate limit, redacted logging, streaming.

    Retries are written here rather than with urllib3's ``Retry`` so that each retry is logged
    through our redaction and ``Retry-After`` can be capped; urllib3 would log raw URLs.
    """

    def __init__(
        self,
        source: str,
        *,
        min_interval_s: float = 0.5,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        max_wait_s: float = 120.0,
        timeout_s: float = 120.0,
        secrets: Secrets | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.source = source
        self.min_interval_s = min_interval_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_wait_s = max_wait_s
        self.timeout_s = timeout_s
        self._secrets = secrets or Secrets()
        _register_secrets([*self._secrets.params.values(), *self._secrets.headers.values()])
        _install_log_filters()
        self._given_session = session
        self._local = threading.local()  # one requests.Session per thread (fetch_files downloads in threads)

    @property
    def session(self) -> requests.Session:
        """The session given to the constructor, else this thread's own."""
        session = self._given_session or getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        session.headers.setdefault("User-Agent", USER_AGENT)
        return session

    # -- public API

    def get(self, url: str, params: Mapping[str, object] | None = None) -> requests.Response:
        """GET with retries; the body is read into memory."""
        return self._request("GET", url, params=params)

    def post(self, url: str, data: Mapping[str, object] | None = None,
             params: Mapping[str, object] | None = None) -> requests.Response:
        """POST form fields (``data``) with retries, e.g. MAST's ``request=<json>``."""
        return self._request("POST", url, params=params, data=data)

    def download(self, url: str, dest: Path, *, method: str = "GET", params: Mapping[str, object] | None = None,
                 data: Mapping[str, object] | None = None,
                 validate: Callable[[Path], str | None] | None = None, announce: bool = True) -> Path:
        """Stream the answer to ``dest``, keeping it only once it has been checked.

        The body goes to a private folder next to ``dest`` under the same file name (so format
        checks and parsers see the real suffix); it must match ``Content-Length``, must not be an
        HTML page, must carry its format's signature (:func:`answer_checks.check_answer`) and pass
        ``validate`` (e.g. the builder's own parse); only then is it renamed onto ``dest`` (and, when
        ``announce``, a progress line says so). A failed
        check raises :class:`BadAnswerError` and nothing is left behind (an older ``dest`` stays).
        ``validate`` returns what proved the answer whole (e.g. a row count the service confirmed) or
        ``None``; an answer nothing proved whole is kept for this run with a warning and marked
        (:func:`unverified_marker`) so that it is never replayed.
        """
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(dest.parent)
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=dest.parent))
        part = staging / dest.name
        started = time.monotonic()
        try:
            response = self._request(method, url, params=params, data=data, sink=part)
            shown = redact_url(url, params)
            try:
                evidence = answer_checks.check_answer(part, dest.name, dict(response.headers))
                checked = validate(part) if validate is not None else None
            except (answer_checks.BadAnswerError, DownloadError, ValueError) as exc:
                raise BadAnswerError(f"{self.source}: {method} {shown}: {exc}; the answer was not kept",
                                     url=shown, status=response.status_code) from None
            size = part.stat().st_size
            marker = unverified_marker(dest)
            if evidence or checked:
                marker.unlink(missing_ok=True)
            else:
                marker.write_text("nothing proved this answer whole; it is used by the run that fetched it only\n",
                                  encoding="utf-8")
                logger.warning("%s: %s: the answer's completeness cannot be checked (no Content-Length, no chunked "
                               "end, no end marker in the format, no count from the service); it is used for this "
                               "run only and will be fetched again next time", self.source, shown)
            os.replace(part, dest)
            if announce:  # many-file fetches print one progress line of their own instead
                report(f"{self.source}: downloaded {dest.name}: {human_bytes(size)} in "
                       f"{time.monotonic() - started:.1f} s")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return dest

    # -- internals

    def _wait_before_retry(self, attempt: int, response: requests.Response | None) -> float:
        retry_after = _retry_after_seconds(response.headers.get("Retry-After")) if response is not None else None
        delay = retry_after if retry_after is not None else self.backoff_s * (2 ** attempt)
        return min(delay, self.max_wait_s)

    def _check_allowed(self, url: str) -> None:
        host = urllib.parse.urlsplit(url).hostname or ""
        if offline_mode() and host not in LOOPBACK_HOSTS:
            raise DownloadError(
                f"{self.source}: offline mode (HF_DATASETS_OFFLINE/HF_HUB_OFFLINE) forbids fetching "
                f"{redact_url(url)}; unset it, or prepare from local files with --data-dir", url=redact_url(url))

    def _request(self, method: str, url: str, *, params: Mapping[str, object] | None = None,
                 data: Mapping[str, object] | None = None, sink: Path | None = None) -> requests.Response:
        self._check_allowed(url)
        shown = redact_url(url, params)
        host = urllib.parse.urlsplit(url).netloc
        send_params = {**(params or {}), **self._secrets.params} or None
        headers = dict(self._secrets.headers) or None
        attempt = 0
        while True:
            RATE_LIMITER.wait(host, self.min_interval_s)
            logger.info("%s %s: %s %s", self.source, "download" if sink else "request", method, shown)
            response: requests.Response | None = None
            try:
                response = self.session.request(method, url, params=send_params, data=data, headers=headers,
                                                timeout=self.timeout_s, stream=sink is not None)
                if response.status_code not in RETRY_STATUSES:
                    self._raise_for_status(response, method, shown)
                    if sink is not None:
                        total = int(response.headers.get("Content-Length") or 0)
                        progress = Progress(total, f"{self.source}: downloading {sink.name.removesuffix('.part')}",
                                            unit="bytes") if total > 8 << 20 else None  # large files only
                        with open(sink, "wb") as fh:
                            for chunk in response.iter_content(chunk_size=1 << 20):
                                fh.write(chunk)
                                if progress is not None:
                                    progress.step(len(chunk))
                    else:
                        _ = response.content  # read the body inside the retry loop
                    return response
                problem = f"HTTP {response.status_code}"
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                problem = type(exc).__name__
            finally:
                if response is not None and sink is not None:
                    response.close()
            if attempt >= self.max_retries:
                status = response.status_code if response is not None else None
                raise DownloadError(f"{self.source}: {method} {shown} failed after {attempt + 1} attempts "
                                    f"(last: {problem})", url=shown, status=status) from None
            delay = self._wait_before_retry(attempt, response)
            logger.warning("%s: %s %s -> %s; retry %d/%d in %.1f s", self.source, method, shown, problem,
                           attempt + 1, self.max_retries, delay)
            time.sleep(delay)
            attempt += 1

    def _raise_for_status(self, response: requests.Response, method: str, shown: str) -> None:
        if response.status_code < 400:
            return
        try:
            snippet = response.text[:300].strip().replace("\n", " ")
        except (requests.RequestException, UnicodeDecodeError):
            snippet = ""
        hint = {401: "authentication required or token rejected", 403: "access forbidden (proprietary data? token?)",
                404: "not found: check the base URL / path", 400: "bad request: check the query"}.get(
            response.status_code, response.reason or "")
        raise DownloadError(
            f"{self.source}: {method} {shown} returned HTTP {response.status_code} ({hint})"
            + (f": {redact_text(snippet)}" if snippet else ""), url=shown, status=response.status_code)


def request_fingerprint(method: str, url: str, params: Mapping[str, object] | None = None,
                        data: Mapping[str, object] | None = None) -> str:
    """A short stable id of a request (secrets excluded) to name its saved answer in the download dir."""
    text = "\n".join([method.upper(), redact_url(url, params), repr(sorted((data or {}).items()))])
    return hashlib.sha256(text.encode()).hexdigest()[:16]
