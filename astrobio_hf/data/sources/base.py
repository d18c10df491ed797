"""Shared machinery of the archive builders (``datasets`` 5 builder classes, used directly).

A source builder subclasses :class:`ArchiveBuilder` and provides:

* ``SOURCE`` (the registry key), ``DEFAULT_BASE_URL``, ``FILE_PATTERNS`` (native files in a dump),
  ``BUILDER_CONFIG_CLASS`` (a subclass of :class:`ArchiveBuilderConfig` with its query options);
* :meth:`ArchiveBuilder.data_features` (typed columns; provenance columns are added by the base);
* :meth:`ArchiveBuilder.parse_file` (one native file -> pyarrow tables for columnar formats, or row dicts;
  raising :class:`SourceFormatError`);
* :meth:`ArchiveBuilder.download_requests` (the archive's real request(s)), or :meth:`fetch` for
  services that page (cursor/Link headers); tokens through :meth:`secrets`, from env vars only.

Two modes:

* local: ``data_dir`` and/or ``data_files`` (paths or globs, relative to ``data_dir`` if given);
  ``data_dir`` alone globs ``FILE_PATTERNS``; files are sorted; no network;
* download (neither given): the requests are sent through :mod:`astrobio_hf.data.download`, each
  raw answer is saved under ``<cache_dir>/downloads/astrobio/<source>/`` and parsed exactly like a
  local file.

Usage::

    b = NasaExoplanetArchive(cache_dir="cache", data_dir="dumps/nasa")   # or no data_dir: download
    b.download_and_prepare()
    ds = b.as_dataset(split="train")

Caching: the cache key holds the config, the resolved file list with each file's size and mtime
(local) or the resolved base URL (download), so changed inputs give a new cache; a prepare in a new
process finds ``dataset_info.json`` and reuses the Arrow files without parsing. ``datasets`` writes
into ``<dir>.incomplete`` and renames on success, so a failed run leaves no cache and an earlier good
cache is not touched; a stale ``.incomplete`` from a killed run is removed first.

Scale: the builder is a ``datasets.ArrowBasedBuilder``; ``download_and_prepare(num_proc=N)`` hands
contiguous shards of the file list to N processes. With several files, each file is parsed into a
part first (:mod:`.file_parts`), so a killed prepare resumes, and per-file units, releases and
quality findings reach the report from whichever process parsed the file.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import datasets
import pyarrow as pa
from datasets.builder import Key
from datasets.data_files import DataFilesDict, DataFilesList
from datasets.table import table_cast

from ...progress import report
from ..download import (
    BadAnswerError,
    HttpClient,
    Secrets,
    is_verified_answer,
    join_url,
    redact_url,
    request_fingerprint,
    resolve_base_url,
    unverified_marker,
)
from .cache_hygiene import REPORT_FILENAME, cache_replays_unverified, format_errors_unwrapped, remove_stale_incomplete
from .errors import SourceFormatError
from .file_checks import ColumnChecksMixin, FileChecks
from .file_parts import FileParts, FileRecord, load_json_sharing
from .local_files import resolve_local_files
from .tabular import Column, rows, units_text
from .worker_lifetime import children_die_with_this_process, die_with_parent

logger = logging.getLogger(__name__)

__all__ = ["ArchiveBuilder", "ArchiveBuilderConfig", "DownloadRequest", "PROVENANCE_FEATURES", "SourceFormatError"]

#: Columns the base adds to every row: which archive, which release or query, which file.
PROVENANCE_FEATURES = {
    "source": datasets.Value("string"),
    "release": datasets.Value("string"),
    "file": datasets.Value("string"),
}
ON_BAD_FILE = ("raise", "skip")


@dataclass
class ArchiveBuilderConfig(datasets.BuilderConfig):
    """Options every archive builder takes; sources subclass it to add their query options.

    ``base_url``: overrides the archive's URL (else ``ASTROBIO_<SOURCE>_URL``, else the default).
    ``on_bad_file``: ``"raise"`` (default: a bad file fails the run) or ``"skip"`` (skip and report it).
    Never put a token here: config kwargs are hashed into the cache path.
    """

    base_url: str | None = None
    on_bad_file: str = "raise"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.on_bad_file not in ON_BAD_FILE:
            raise ValueError(f"on_bad_file must be one of {ON_BAD_FILE}, got {self.on_bad_file!r}")


@dataclass
class DownloadRequest:
    """One request of a source's download mode; ``path`` is relative to the resolved base URL."""

    path: str
    filename: str
    method: str = "GET"
    params: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    #: What the provenance ``release`` column says for rows of this answer (the query, a release name).
    release: str = ""


class ArchiveBuilder(ColumnChecksMixin, datasets.ArrowBasedBuilder):
    """Base of the 13 source builders: local vs download mode, provenance, errors, skip reports."""

    BUILDER_CONFIG_CLASS = ArchiveBuilderConfig
    VERSION = datasets.Version("1.0.0")

    SOURCE: ClassVar[str] = ""
    DEFAULT_BASE_URL: ClassVar[str] = ""
    FILE_PATTERNS: ClassVar[tuple[str, ...]] = ()
    HOMEPAGE: ClassVar[str] = ""
    CITATION: ClassVar[str] = ""
    LICENSE: ClassVar[str] = ""
    #: Polite minimum seconds between two requests to the archive's host.
    MIN_INTERVAL_S: ClassVar[float] = 0.5
    #: Rows gathered into one Arrow table when :meth:`parse_file` yields row dicts.
    ROWS_PER_BATCH: ClassVar[int] = 4096
    #: Columns naming one record of a file (:mod:`..duplicates`: repeats dropped, conflicts refused); () = none.
    RECORD_KEY: ClassVar[tuple[str, ...]] = ()
    #: The :data:`physical_ranges.RANGES` table applied to every parsed table (``""``: the parser screens itself).
    PHYSICAL_RANGES: ClassVar[str] = ""

    def __init__(self, *args: Any, data_dir: str | os.PathLike | None = None,
                 data_files: str | os.PathLike | list | None = None, request_timeout_s: float | None = None,
                 max_retries: int | None = None, request_interval_s: float | None = None,
                 download_workers: int = 4, **kwargs: Any) -> None:
        if not self.SOURCE:
            raise TypeError(f"{type(self).__name__} must set SOURCE")
        if data_dir is not None:
            data_dir = os.path.abspath(os.fspath(data_dir))
        files = resolve_local_files(self.SOURCE, self.FILE_PATTERNS, data_dir, data_files)
        if files is not None:
            # origin metadata (size, mtime) enters the config hash: edited dumps get a new cache
            meta = [(str(os.stat(f).st_size), str(os.stat(f).st_mtime_ns)) for f in files]
            kwargs["data_files"] = DataFilesDict({"train": DataFilesList(files, meta)})
        elif kwargs.get("hash") is None:
            base = resolve_base_url(self.SOURCE, kwargs.get("base_url"), self.DEFAULT_BASE_URL)
            kwargs["hash"] = request_fingerprint("BASE", redact_url(base))
        # kwargs equal to the config defaults are dropped so that the cache key does not depend on
        # whether a default was passed explicitly (e.g. on_bad_file="raise")
        defaults = {f.name: f.default for f in dataclasses.fields(self.BUILDER_CONFIG_CLASS)
                    if f.default is not dataclasses.MISSING}
        for name in [k for k, v in kwargs.items() if k in defaults and k not in ("name", "version")]:
            if kwargs[name] == defaults[name]:
                del kwargs[name]
        self._data_root = data_dir
        # network options stay out of the config: they do not change what the dataset is (no new cache key)
        self.request_timeout_s = request_timeout_s
        self.max_retries = max_retries
        self.request_interval_s = request_interval_s
        if download_workers < 1:
            raise ValueError(f"download_workers must be at least 1, got {download_workers}")
        self.download_workers = int(download_workers)
        self._downloaded: set[str] = set()
        self._main_pid = os.getpid()  # num_proc workers (other pids) die with this process
        self._unverified: list[str] = []  # downloaded answers nothing proved whole (used by one run only)
        self._built_here = False
        self._skipped: list[dict[str, str]] = []
        self._file_units: dict[str, dict[str, str]] = {}
        self._file_release: dict[str, str] = {}
        self._file_quality: dict[str, dict[str, Any]] = {}
        self._prepare_files: list[str] = []
        super().__init__(*args, data_dir=data_dir, **kwargs)

    # ------------------------------------------------------------------ hooks for sources

    def columns(self) -> tuple[Column, ...]:
        """The documented typed columns (sources with a tabular format override this)."""
        return ()

    def data_features(self) -> dict[str, Any]:
        """Typed features of the data columns (default: from :meth:`columns`)."""
        return {c.name: datasets.Value(c.dtype) for c in self.columns()}

    def parse_file(self, path: Path) -> Iterator[dict[str, Any] | pa.Table]:
        """Rows of one native file (without provenance) as Arrow tables (columnar formats) or row dicts;
        raise :class:`SourceFormatError` on bad input."""
        raise NotImplementedError

    def download_requests(self) -> list[DownloadRequest]:
        """The archive's real request(s) for the current config (download mode)."""
        raise NotImplementedError(f"{self.SOURCE} has no download mode; use data_dir / data_files")

    def secrets(self) -> Secrets:
        """Credentials from env vars, only for services that need them (see :func:`download.read_token`)."""
        return Secrets()

    def describe(self) -> str:
        """The dataset description (units of the documented columns are appended)."""
        return f"{self.SOURCE} archive table."

    # ------------------------------------------------------------------ helpers for sources

    @property
    def base_url(self) -> str:
        """Resolved base URL: config ``base_url`` > ``ASTROBIO_<SOURCE>_URL`` > ``DEFAULT_BASE_URL``."""
        return resolve_base_url(self.SOURCE, self.config.base_url, self.DEFAULT_BASE_URL)

    def note_units(self, path: str | Path, units: dict[str, str]) -> None:
        """Record the units a file declares (kept in the dataset description and the report)."""
        self._file_units[str(path)] = dict(units)

    def note_release(self, path: str | Path, release: str) -> None:
        """Record the release/date a file declares (goes into the ``release`` provenance column)."""
        self._file_release[str(path)] = release

    def note_quality(self, path: str | Path, findings: dict[str, Any]) -> None:
        """Record masked values / dropped duplicates of a file (kept in the prepare report's ``quality``)."""
        self._file_quality.setdefault(str(path), {}).update(findings)

    def declared_quality(self, path: str | Path) -> dict[str, Any]:
        """Masked values and duplicates a parsed file had (after :meth:`parse_file` ran on it)."""
        return dict(self._file_quality.get(str(path), {}))

    def declared_units(self, path: str | Path) -> dict[str, str]:
        """Units a parsed file declared (after :meth:`parse_file` ran on it)."""
        return dict(self._file_units.get(str(path), {}))

    def declared_release(self, path: str | Path) -> str:
        """Release/date a parsed file declared (after :meth:`parse_file` ran on it)."""
        return self._file_release.get(str(path), "")

    def complete_table(self, table: pa.Table, **constants: Any) -> pa.Table:
        """``table`` with the data columns it lacks added: ``constants[name]`` repeated, else all null.

        For columnar parsers whose format has no value for some columns (a catalog row has no spectrum).
        """
        schema = self._data_schema
        n = table.num_rows
        for name in schema.names:
            if name not in table.column_names:
                value = constants.get(name)
                column = pa.nulls(n, schema.field(name).type) if value is None else \
                    pa.repeat(pa.scalar(value, schema.field(name).type), n)
                table = table.append_column(name, column)
        return table

    def error(self, path: str | Path, location: str, message: str) -> SourceFormatError:
        """A :class:`SourceFormatError` for this source (``raise self.error(...)``)."""
        return SourceFormatError(self.SOURCE, str(path), location, message)

    # ------------------------------------------------------------------ local / download mode

    @property
    def local_files(self) -> list[str] | None:
        """Resolved local files (local mode) or ``None`` (download mode)."""
        if self.config.data_files is None:
            return None
        return list(self.config.data_files["train"])

    def fetch(self, client: HttpClient, download_dir: Path, force: bool = False) -> list[tuple[str, str]]:
        """Send :meth:`download_requests`; return ``(saved file, release text)`` pairs.

        An answer already saved for the same request is reused unless ``force``. A new answer is kept
        only after :meth:`validate_answer` parsed it whole (see :meth:`HttpClient.download`). Sources
        whose service pages with cursors override this and call ``client`` themselves.
        """
        out = []
        retrieved = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        for req in self.download_requests():
            url = join_url(self.base_url, req.path)
            name = f"{request_fingerprint(req.method, url, req.params, req.data)}-{req.filename}"
            dest = download_dir / name
            if is_verified_answer(dest) and not force:
                logger.info("%s: reusing saved answer %s", self.SOURCE, dest)
            else:
                client.download(url, dest, method=req.method, params=req.params or None, data=req.data or None,
                                validate=lambda path, req=req: self.validate_answer(path, req, client))
            release = req.release or f"{req.method} {redact_url(url, req.params)}"
            out.append((str(dest), f"{release} (retrieved {retrieved})"))
        return out

    def validate_answer(self, path: Path, request: DownloadRequest, client: HttpClient) -> str | None:
        """Parse a freshly downloaded answer whole, and compare its row count with :meth:`expected_rows`
        (returned as the proof of completeness; ``None`` when the service gave no count).

        Raises :class:`SourceFormatError` (unparseable) or :class:`BadAnswerError` (short answer), so
        that :meth:`HttpClient.download` throws the answer away instead of caching it.
        """
        count = self.count_rows(path)
        expected = self.expected_rows(request, client)
        if expected is not None and count != expected:
            raise BadAnswerError(f"short answer: {count} rows parsed, the service reports {expected} rows for this "
                                 f"query (cut transfer?)")
        return None if expected is None else f"{count} rows, as the service reports"

    def count_rows(self, path: Path) -> int:
        """Rows a downloaded answer parses into (what it declared is dropped: staging paths stay out of the report)."""
        try:
            return sum(table.num_rows for table in self.iter_tables(path))
        finally:
            for notes in (self._file_units, self._file_release, self._file_quality):
                notes.pop(str(path), None)

    def expected_rows(self, request: DownloadRequest, client: HttpClient) -> int | None:
        """How many rows the service says the answer of ``request`` holds (``None``: it cannot say)."""
        return None

    def http_client(self) -> HttpClient:
        """The client used in download mode (rate limit from ``MIN_INTERVAL_S`` unless the builder's
        ``request_interval_s`` says otherwise, secrets from env, ``request_timeout_s`` / ``max_retries``
        from the builder's arguments)."""
        options: dict[str, Any] = {}
        if self.request_interval_s is not None:
            options["min_interval_s"] = float(self.request_interval_s)
        if self.request_timeout_s is not None:
            options["timeout_s"] = float(self.request_timeout_s)
        if self.max_retries is not None:
            options["max_retries"] = int(self.max_retries)
        secrets = self.secrets()
        options.setdefault("min_interval_s", self.polite_interval_s(secrets))
        return HttpClient(self.SOURCE, secrets=secrets, **options)

    def polite_interval_s(self, secrets: Secrets) -> float:
        """The archive's own minimum interval between requests (a service may allow more with a key)."""
        return self.MIN_INTERVAL_S

    # ------------------------------------------------------------------ datasets plumbing

    def _info(self) -> datasets.DatasetInfo:
        data_features = self.data_features()
        clash = sorted(set(data_features) & set(PROVENANCE_FEATURES))
        if clash:
            # the provenance columns would silently overwrite these data columns
            raise TypeError(f"{type(self).__name__} ({self.SOURCE}): data columns {clash} clash with the provenance "
                            f"columns {sorted(PROVENANCE_FEATURES)}; rename them")
        features = datasets.Features({**data_features, **PROVENANCE_FEATURES})
        description = self.describe()
        if self.columns():
            description += "\n\nColumns:\n" + units_text(self.columns())
        return datasets.DatasetInfo(description=description, features=features, homepage=self.HOMEPAGE,
                                    citation=self.CITATION, license=self.LICENSE)

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        self._skipped, self._file_units, self._file_release, self._file_quality = [], {}, {}, {}
        files = self.local_files
        if files is not None:
            pairs = [(f, "") for f in files]
        else:
            root = dl_manager.download_config.cache_dir or self._cache_downloaded_dir
            download_dir = Path(root) / "astrobio" / self.SOURCE
            pairs = self.fetch(self.http_client(), download_dir, force=dl_manager.download_config.force_download)
            self._downloaded = {str(p) for p, _ in pairs}
            self._unverified = [Path(p).name for p, _ in pairs if unverified_marker(Path(p)).exists()]
        self._prepare_files = [p for p, _ in pairs]
        # one list entry per file: datasets hands contiguous slices of it to the num_proc workers
        listed = [(index, path, release) for index, (path, release) in enumerate(pairs)]
        return [datasets.SplitGenerator(name=datasets.Split.TRAIN,
                                        gen_kwargs={"files": listed, "n_files": len(listed),
                                                    "parts_dir": self._parts_dir})]

    @functools.cached_property
    def _data_schema(self) -> pa.Schema:
        """Arrow schema of the data columns (without provenance), as the features declare them."""
        return datasets.Features(self.data_features()).arrow_schema

    @property
    def _parts_dir(self) -> str:
        """Where the per-file parts of a prepare in progress live (:mod:`.file_parts`)."""
        return self._cache_dir + ".parts"

    def _display_name(self, path: str) -> str:
        if self._data_root and Path(path).is_relative_to(self._data_root):
            return Path(path).relative_to(self._data_root).as_posix()
        return Path(path).name

    def iter_tables(self, path: str | Path) -> Iterator[pa.Table]:
        """The data rows of one native file as Arrow tables (no provenance columns), in batches.

        :meth:`parse_file` may yield tables (columnar formats: no Python object per value) or row dicts,
        which are gathered into tables of :attr:`ROWS_PER_BATCH` rows here. Each table is checked to
        hold exactly the data columns and is cast to the declared features.
        """
        path = str(path)
        schema = self._data_schema
        data_names = schema.names
        pending: list[dict[str, Any]] = []
        seen = 0

        def flush() -> pa.Table:
            try:
                table = pa.Table.from_pylist(pending, schema=schema)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as exc:
                raise self.error(path, f"rows {seen - len(pending) + 1}-{seen}",
                                 f"values do not fit the declared column types: {exc}") from None
            pending.clear()
            return table

        checks = FileChecks(self, path)  # physical ranges and duplicates, across this file's tables
        for item in self.parse_file(Path(path)):
            if isinstance(item, dict):
                missing = [n for n in data_names if n not in item]
                if missing:
                    raise self.error(path, f"row {seen + 1}", f"parser produced no value for {missing}")
                pending.append(item)
                seen += 1
                if len(pending) >= self.ROWS_PER_BATCH:
                    yield checks.apply(flush())
                continue
            if pending:
                yield checks.apply(flush())
            table = pa.Table.from_batches([item]) if isinstance(item, pa.RecordBatch) else item
            missing = [n for n in data_names if n not in table.column_names]
            extra = [n for n in table.column_names if n not in data_names]
            if missing or extra:
                raise self.error(path, f"rows {seen + 1}-{seen + table.num_rows}",
                                 f"parser produced columns that do not match the features: missing {missing}, "
                                 f"unexpected {extra}")
            try:
                cast = table_cast(table.select(data_names), schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError, ValueError) as exc:
                raise self.error(path, f"rows {seen + 1}-{seen + table.num_rows}",
                                 f"values do not fit the declared column types: {exc}") from None
            seen += table.num_rows
            yield checks.apply(cast)
        if pending:
            yield checks.apply(flush())
        checks.finish()

    def iter_rows(self, path: str | Path) -> Iterator[dict[str, Any]]:
        """The data rows of one native file as dicts (for ``inspect`` and answer checks; prepare uses tables)."""
        for table in self.iter_tables(path):
            yield from rows(table)

    def _generate_tables(self, files: list[tuple[int, str, str]], n_files: int,
                         parts_dir: str) -> Iterator[tuple[Key, pa.Table]]:
        """Each file's tables plus the provenance columns; with several files, through :class:`FileParts`.

        Several files: a file is parsed whole into its part first (so a skipped bad file leaves nothing
        behind, and a rerun after a kill reuses it), then its part is streamed to the writer. One file:
        its tables go straight to the writer (buffered only with ``on_bad_file="skip"``).
        """
        parts = FileParts(parts_dir)
        skip = self.config.on_bad_file == "skip"
        schema = self._data_schema
        for file_index, path, release in files:
            record = parts.record(path) if n_files > 1 else None  # one file: nothing to resume
            if record is None and n_files > 1:
                record = self._parse_into_part(parts, path, schema, skip)
            if record is not None:  # parsed into its part, now or by an earlier run
                tables: Iterable[pa.Table] = parts.tables(path)
            else:
                tables = self._invalidating(path, self.iter_tables(path))
                if skip:  # buffer the file so a late error does not leave half of it in the dataset
                    try:
                        tables = list(tables)
                    except SourceFormatError as exc:
                        tables, record = [], self._take_record(path, skipped=str(exc))
                        parts.save(record)
            if record is not None and record.skipped:
                logger.warning("skipping bad file: %s", record.skipped)
                continue
            display = self._display_name(path)
            rows_done = 0
            for batch_index, table in enumerate(tables):
                file_release = record.release if record is not None else self._file_release.get(path, "")
                yield Key(file_index, batch_index), self._with_provenance(table, file_release or release, display)
                rows_done += table.num_rows
            if record is None:
                parts.save(self._take_record(path, rows=rows_done))
            report(f"{self.SOURCE}: file {file_index + 1}/{n_files} {display}: {rows_done} rows")

    def _parse_into_part(self, parts: FileParts, path: str, schema: pa.Schema, skip: bool) -> FileRecord:
        try:
            rows_done = parts.write_tables(path, self._invalidating(path, self.iter_tables(path)), schema)
        except SourceFormatError as exc:
            if not skip:
                raise
            record = self._take_record(path, skipped=str(exc))
        else:
            record = self._take_record(path, rows=rows_done)
        parts.save(record)
        return record

    def _take_record(self, path: str, *, rows: int = 0, skipped: str | None = None) -> FileRecord:
        """What the parse of ``path`` declared (units, release, quality), moved from the builder into a record."""
        return FileRecord(file=path, rows=rows, units=self._file_units.pop(path, None) or {},
                          release=self._file_release.pop(path, None) or "",
                          quality=self._file_quality.pop(path, None) or {}, skipped=skipped)

    def _with_provenance(self, table: pa.Table, release: str, display: str) -> pa.Table:
        n = table.num_rows
        for name, value in (("source", self.SOURCE), ("release", release), ("file", display)):
            table = table.append_column(name, pa.repeat(pa.scalar(value, pa.string()), n))
        return table

    def _invalidating(self, path: str, tables: Iterator[pa.Table]) -> Iterator[pa.Table]:
        """``tables``, deleting the saved answer ``path`` if it fails to parse (the next run fetches it anew)."""
        try:
            yield from tables
        except SourceFormatError:
            if path in self._downloaded:
                Path(path).unlink(missing_ok=True)
                logger.warning("%s: removed the saved answer %s: it does not parse", self.SOURCE, path)
            raise

    def _prepare_split_single(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        # datasets wraps generator errors in DatasetGenerationError; with num_proc > 1 that wrapper is pickled back
        # from the worker without its __cause__, so our format error is unwrapped here, inside the worker
        die_with_parent(self._main_pid)
        with format_errors_unwrapped(SourceFormatError):
            yield from super()._prepare_split_single(*args, **kwargs)

    def _download_and_prepare(self, dl_manager, verification_mode, **prepare_splits_kwargs) -> None:
        self._built_here = True  # datasets calls this only when it builds (not when another process did)
        super()._download_and_prepare(dl_manager, verification_mode, **prepare_splits_kwargs)
        # the records were written by whichever process parsed each file (num_proc workers included)
        parts = FileParts(self._parts_dir)
        records = [parts.record(path) or FileRecord(file=path) for path in self._prepare_files]
        self._skipped = [{"file": r.file, "error": r.skipped} for r in records if r.skipped]
        self._file_units = {r.file: r.units for r in records if r.units}
        self._file_release = {r.file: r.release for r in records if r.release}
        self._file_quality = {r.file: r.quality for r in records if r.quality}
        if not sum(r.rows for r in records):  # datasets would only say "Instruction train corresponds to no data"
            names = ", ".join(self._display_name(r.file) for r in records[:3]) + (" ..." if len(records) > 3 else "")
            what = "every file was skipped as bad" if records and len(self._skipped) == len(records) else \
                "the file(s) hold no data rows (a header only?)"
            raise SourceFormatError(self.SOURCE, names or "(no file)", "", f"no rows to prepare: {what}")
        units = {}
        for file_units in self._file_units.values():
            units.update(file_units)
        if units and self.columns():
            self.info.description = self.describe() + "\n\nColumns (units as declared by the files):\n" + \
                units_text(self.columns(), units)
        report = {"skipped_files": self._skipped,
                  "units": {self._display_name(k): v for k, v in self._file_units.items()},
                  "quality": {self._display_name(k): v for k, v in self._file_quality.items()},
                  "unverified_answers": self._unverified}
        # self._output_dir is the .incomplete directory here: the report is renamed with the cache
        with open(os.path.join(self._output_dir, REPORT_FILENAME), "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=1)

    def download_and_prepare(self, *args: Any, **kwargs: Any) -> None:
        """``datasets``' prepare (``num_proc=N`` parses N shards of the file list at once), with our format
        errors unwrapped so the user sees them directly; a killed multi-file prepare resumes (:mod:`.file_parts`)."""
        remove_stale_incomplete(self.SOURCE, kwargs.get("output_dir") or self._cache_dir)
        children_die_with_this_process()  # num_proc workers and datasets' queue manager
        self._built_here = False
        mode = kwargs.get("download_mode")
        if self.local_files is None and cache_replays_unverified(self._cache_dir):
            logger.warning("%s: the cache was built from answers whose completeness could not be checked; "
                           "fetching them again", self.SOURCE)
            mode = kwargs["download_mode"] = datasets.DownloadMode.FORCE_REDOWNLOAD
        if mode is not None and datasets.DownloadMode(mode) == datasets.DownloadMode.FORCE_REDOWNLOAD:
            FileParts(self._parts_dir).remove()  # parts of the old answers must not be reused
            if kwargs.get("verification_mode") is None:
                # a refetched answer may hold more or fewer rows than the cache it replaces: that is the point
                kwargs["verification_mode"] = "no_checks"
        with format_errors_unwrapped(SourceFormatError):
            super().download_and_prepare(*args, **kwargs)
        FileParts(self._parts_dir).remove()  # the cache is complete: the parts are no longer needed

    # ------------------------------------------------------------------ results

    @property
    def built_here(self) -> bool:
        """Whether this builder's last ``download_and_prepare`` generated the cache (``False``: reused it)."""
        return self._built_here

    @property
    def is_prepared(self) -> bool:
        """Whether a finished Arrow cache exists for this exact config and inputs."""
        return os.path.isfile(os.path.join(self._cache_dir, datasets.config.DATASET_INFO_FILENAME))

    def report(self) -> dict[str, Any]:
        """The prepare report saved with the cache: ``skipped_files`` and per-file ``units``."""
        path = os.path.join(self._cache_dir, REPORT_FILENAME)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as fh:
                return load_json_sharing(fh, {})
        return {"skipped_files": list(self._skipped), "units": {}, "quality": {}}

    @property
    def skipped_files(self) -> list[dict[str, str]]:
        """Files skipped (``on_bad_file="skip"``) with their error messages."""
        return self.report()["skipped_files"]

