"""The multimodal dataset as Parquet shards at any fsspec URL, and streamed back as `datasets.IterableDataset`s.

Layout under the URL (the Hub's Parquet layout, so `load_dataset("parquet", data_files={split: "URL/data/split-*"},
streaming=True)` reads it too; the Arrow features travel in each file's `huggingface` schema metadata):

    data/train-00000-of-00004.parquet ...    one file per shard, at most `shard_rows` rows each
    parquet_shards.json                      the manifest: files and row counts per split, the train provenance
    multimodal_spec.json                     the MultimodalSpec, written last: its presence marks a complete write

Writing reads the source splits batch by batch (memory-mapped Arrow), so it never holds a whole split in memory.
Credentials for remote stores come from fsspec's own configuration (environment variables, config files).
"""

from __future__ import annotations

import json
import math
import posixpath
from dataclasses import dataclass, field
from typing import Any

import datasets
import fsspec
import pyarrow.parquet as pq

from .multimodal_schema import SPEC_FILENAME, MultimodalSpec
from .provenance import summarize_provenance

MANIFEST_FILENAME = "parquet_shards.json"
DATA_DIR = "data"
ROW_GROUP_BYTES = 16 << 20  # a streaming reader decodes a row group at a time: keep it bounded


@dataclass
class ShardManifest:
    """What a Parquet-shard write produced: per split, its files (relative to the root URL) and row count."""

    files: dict[str, list[str]]
    num_rows: dict[str, int]
    shard_rows: dict[str, int]
    provenance: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"format": "parquet", "files": self.files, "num_rows": self.num_rows, "shard_rows": self.shard_rows,
                "provenance": self.provenance}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShardManifest:
        return cls(files=data["files"], num_rows=data["num_rows"], shard_rows=data["shard_rows"],
                   provenance=data.get("provenance", []))


def _join(root: str, *parts: str) -> str:
    return posixpath.join(root.rstrip("/"), *parts)


def rows_per_shard(split: datasets.Dataset, shard_rows: int | None, max_shard_bytes: int | None) -> int:
    """Rows per shard: `shard_rows`, or as many rows as fit in `max_shard_bytes` of Arrow data (Parquet compresses,
    so a shard file is at most about that size)."""
    if (shard_rows is None) == (max_shard_bytes is None):
        raise ValueError("give exactly one of shard_rows and max_shard_bytes")
    if shard_rows is not None:
        if shard_rows < 1:
            raise ValueError(f"shard_rows must be >= 1, got {shard_rows}")
        return shard_rows
    if max_shard_bytes < 1:
        raise ValueError(f"max_shard_bytes must be >= 1, got {max_shard_bytes}")
    bytes_per_row = split.data.nbytes / max(len(split), 1)
    return max(1, int(max_shard_bytes // max(bytes_per_row, 1)))


def write_parquet_shards(splits: datasets.DatasetDict, spec: MultimodalSpec, url: str, *,
                         shard_rows: int | None = None, max_shard_bytes: int | None = None,
                         storage_options: dict | None = None) -> ShardManifest:
    """Write every split as Parquet shards under `url` (a local path or any fsspec URL).

    Refuses a target that already holds a dataset or shards: a glob over `data/` would mix old and new shards.
    """
    fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
    for existing in (_join(root, SPEC_FILENAME), _join(root, MANIFEST_FILENAME), _join(root, DATA_DIR)):
        if fs.exists(existing):
            raise FileExistsError(f"{url} already holds {posixpath.basename(existing)}: write the shards to a new "
                                  "location (or delete the old one first)")
    for name, split in splits.items():
        if split.features != spec.features():
            missing = sorted(set(spec.features()) - set(split.features))
            raise ValueError(f"split {name!r} does not match the spec (missing columns: {missing})")
    fs.makedirs(_join(root, DATA_DIR), exist_ok=True)
    bars_were_on = datasets.is_progress_bar_enabled()  # one bar per shard file would drown the output
    datasets.disable_progress_bars()
    try:
        manifest = _write_splits(splits, fs, root, shard_rows, max_shard_bytes)
    finally:
        if bars_were_on:
            datasets.enable_progress_bars()
    with fs.open(_join(root, MANIFEST_FILENAME), "w") as handle:
        handle.write(json.dumps(manifest.to_dict(), indent=2, default=float))
    with fs.open(_join(root, SPEC_FILENAME), "w") as handle:  # last: marks a complete write
        handle.write(json.dumps(spec.to_dict(), indent=2))
    return manifest


def _write_splits(splits: datasets.DatasetDict, fs: fsspec.AbstractFileSystem, root: str, shard_rows: int | None,
                  max_shard_bytes: int | None) -> ShardManifest:
    """The shard files of every split, contiguous row ranges in the dataset's order."""
    manifest = ShardManifest(files={}, num_rows={}, shard_rows={},
                             provenance=summarize_provenance(splits["train"]) if "train" in splits else [])
    for name, split in splits.items():
        rows = rows_per_shard(split, shard_rows, max_shard_bytes)
        count = max(1, math.ceil(len(split) / rows))  # an empty split still gets one file: its schema
        row_group = max(1, int(ROW_GROUP_BYTES // max(split.data.nbytes / max(len(split), 1), 1)))
        files = []
        for index in range(count):
            relative = f"{DATA_DIR}/{name}-{index:05d}-of-{count:05d}.parquet"
            part = split.select(range(index * rows, min((index + 1) * rows, len(split))))
            with fs.open(_join(root, relative), "wb") as handle:
                part.to_parquet(handle, batch_size=min(row_group, rows))
            files.append(relative)
        manifest.files[name], manifest.num_rows[name], manifest.shard_rows[name] = files, len(split), rows
    return manifest


def read_manifest(url: str, storage_options: dict | None = None) -> tuple[ShardManifest, MultimodalSpec]:
    """The manifest and spec of a Parquet-shard dataset; a clear error when `url` is not one (or is incomplete)."""
    fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
    for name in (SPEC_FILENAME, MANIFEST_FILENAME):
        if not fs.exists(_join(root, name)):
            raise FileNotFoundError(
                f"{url} is not a complete Parquet-shard multimodal dataset: {name} is missing (write one with "
                "`astrobio-hf to-parquet --dataset DIR --output URL`).")
    with fs.open(_join(root, SPEC_FILENAME), "r") as handle:
        spec = MultimodalSpec.from_dict(json.load(handle))
    with fs.open(_join(root, MANIFEST_FILENAME), "r") as handle:
        manifest = ShardManifest.from_dict(json.load(handle))
    return manifest, spec


def _check_features(fs: fsspec.AbstractFileSystem, path: str, spec: MultimodalSpec) -> None:
    """Compare one shard's Parquet footer with the spec's features (reads the footer only)."""
    with fs.open(path, "rb") as handle:
        schema = pq.read_schema(handle)
    found = datasets.Features.from_arrow_schema(schema)
    if found != spec.features():
        differ = sorted(k for k in set(found) | set(spec.features()) if found.get(k) != spec.features().get(k))
        raise ValueError(f"{path}: columns {differ} differ from the dataset's spec ({SPEC_FILENAME})")


def load_parquet_shards(url: str, storage_options: dict | None = None
                        ) -> tuple[datasets.IterableDatasetDict, MultimodalSpec, ShardManifest]:
    """Stream a dataset written by `write_parquet_shards`: one `IterableDataset` per split, typed with the spec's
    features, rows in the written order (shuffle it with `.shuffle(seed=..., buffer_size=...)`)."""
    if any(char in url for char in "*?[]"):
        raise ValueError(f"{url}: datasets reads data files as glob patterns, so the URL may not contain * ? [ ]; "
                         "move or rename the folder")
    manifest, spec = read_manifest(url, storage_options)
    fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
    data_files = {}
    for name, files in manifest.files.items():
        if files:
            _check_features(fs, _join(root, files[0]), spec)
        # the URL's own protocol keeps `datasets` on the same filesystem (memory://, s3://, file://)
        data_files[name] = [_join(url, relative) for relative in files]
    splits = datasets.load_dataset("parquet", data_files=data_files, features=spec.features(), streaming=True,
                                   storage_options=storage_options)
    return splits, spec, manifest


__all__ = ["ShardManifest", "write_parquet_shards", "load_parquet_shards", "read_manifest", "rows_per_shard",
           "MANIFEST_FILENAME"]
