"""Prepare one source into its Arrow cache, or inspect one native file: the library side of the CLI."""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .sources import SourceFormatError, get_builder


@dataclass
class PrepareResult:
    """What a prepare produced: row count, columns, where the cache is, whether it was reused."""

    source: str
    rows: int
    columns: list[str]
    cache_dir: str
    from_cache: bool
    skipped_files: list[dict[str, str]] = field(default_factory=list)
    #: per file: values masked by the physical ranges, duplicate rows dropped (see docs/data.md)
    quality: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: downloaded answers nothing proved whole: this dataset is not replayed, the next prepare fetches them again
    unverified_answers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def prepare_source(key: str, data_dir: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
                   on_bad_file: str = "raise", *, force_download: bool = False,
                   request_timeout_s: float | None = None, max_retries: int | None = None,
                   num_proc: int | None = None, download_workers: int = 4, request_interval_s: float | None = None,
                   **kwargs: Any) -> PrepareResult:
    """Build (or reuse) the Arrow cache of source ``key``.

    ``data_dir`` / ``data_files`` (in kwargs) select local mode; without them the archive is queried.
    Other kwargs are the source's config options (e.g. ``table="toi"``). Bad input raises
    :class:`~astrobio_hf.data.sources.SourceFormatError` naming the file and row/field, unless
    ``on_bad_file="skip"``, which skips such files and lists them in ``skipped_files``.
    ``force_download`` sends the archive's requests again (saved answers and the Arrow cache are
    rebuilt); ``request_timeout_s`` / ``max_retries`` tune the HTTP client (download mode).
    ``num_proc`` processes parse the files at once (sources with several files; the result is the same
    as with one); ``download_workers`` files are fetched at once within the archive's per-host interval
    (``request_interval_s`` replaces that interval: for mirrors you run, not for the archives).
    A multi-file prepare that was killed resumes from the files it had finished.
    ``from_cache`` is true only when this call found the cache built (by an earlier or a concurrent run).
    """
    if num_proc is not None and num_proc < 1:
        raise ValueError(f"num_proc must be at least 1, got {num_proc}")
    builder = get_builder(key, cache_dir=None if cache_dir is None else os.fspath(cache_dir), data_dir=data_dir,
                          on_bad_file=on_bad_file, request_timeout_s=request_timeout_s, max_retries=max_retries,
                          download_workers=download_workers, request_interval_s=request_interval_s, **kwargs)
    builder.download_and_prepare(download_mode="force_redownload" if force_download else None,
                                 num_proc=num_proc if num_proc and num_proc > 1 else None)
    from_cache = not builder.built_here
    # from the saved dataset info, not as_dataset(): mapping a large result would touch every page of it
    split = builder.info.splits["train"]
    report = builder.report()  # read once: with many files it lists every file's units
    return PrepareResult(source=key, rows=split.num_examples, columns=list(builder.info.features),
                         cache_dir=str(builder.cache_dir), from_cache=from_cache,
                         skipped_files=report["skipped_files"], quality=report.get("quality", {}),
                         unverified_answers=report.get("unverified_answers", []))


def inspect_file(key: str, path: str | os.PathLike, sample: int = 3, *, allow_empty: bool = False,
                 **kwargs: Any) -> dict[str, Any]:
    """Parse one native file exactly as the builder would and summarise it (no cache is written).

    Returns ``{"source", "file", "rows", "columns", "units", "release", "sample"}`` where ``rows`` is
    the number of records the builder would produce and ``sample`` the first ``sample`` records'
    non-empty values. A file of no records is refused as ``prepare`` refuses it (a header-only CSV), unless
    ``allow_empty`` (Keck's ``*_e.fits`` error companion holds no record of its own).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{key}: no such file {path}")
    with tempfile.TemporaryDirectory(prefix="astrobio-inspect-") as tmp:
        builder = get_builder(key, cache_dir=tmp, data_files=[str(path.resolve())], **kwargs)
        count = 0
        first: list[dict[str, Any]] = []
        columns: list[str] = []
        for row in builder.iter_rows(path.resolve()):
            if not columns:
                columns = list(row)
            if len(first) < sample:
                first.append({k: v for k, v in row.items() if v not in (None, "")})
            count += 1
        if not count and not allow_empty:
            raise SourceFormatError(key, str(path), "", "no rows: the builder makes no record from this file (a "
                                                        "header-only table?); prepare refuses it too")
        resolved = str(path.resolve())
        return {
            "source": key,
            "file": str(path),
            "rows": count,
            "columns": columns or [n for n in builder.data_features()],
            "units": builder.declared_units(resolved),
            "release": builder.declared_release(resolved),
            "sample": first,
            "quality": builder.declared_quality(resolved),
        }
