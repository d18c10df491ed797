"""The multimodal dataset through Parquet shards (local, file://, memory://) and back as streamed IterableDatasets."""

from __future__ import annotations

import json

import datasets
import fsspec
import pyarrow.parquet as pq
import pytest
import torch

from astrobio_hf.cli import main as cli_main
from astrobio_hf.data import parquet_shards
from astrobio_hf.data.collator import ArrowBatches, MultimodalCollator
from astrobio_hf.data.multimodal_schema import SPEC_FILENAME
from astrobio_hf.data.parquet_shards import (
    MANIFEST_FILENAME,
    load_parquet_shards,
    write_parquet_shards,
)
from tests.helpers.multimodal_rows import SPEC, make_splits, row, write_dataset


@pytest.fixture(scope="module")
def splits() -> datasets.DatasetDict:
    """train / validation / test, every column filled somewhere (graphs, cubes, spectra, light curves, nulls)."""
    out = make_splits(n_train=11, n_eval=5, unlabelled=(3,))
    out["test"] = datasets.Dataset.from_list([SPEC.encode_row(row(200 + i)) for i in range(4)],
                                             features=SPEC.features())
    return out


def _url(kind: str, tmp_path, request) -> str:
    if kind == "path":
        return str(tmp_path / "shards")
    if kind == "file":
        return f"file://{tmp_path}/shards"
    url = f"memory://astrobio-test/{request.node.originalname}"  # a store that lives in this process only
    request.addfinalizer(lambda: fsspec.filesystem("memory").rm(url, recursive=True))
    return url


@pytest.mark.parametrize("kind", ["path", "file", "memory"])
def test_every_split_and_column_round_trips_in_order(splits, tmp_path, request, kind):
    url = _url(kind, tmp_path, request)
    manifest = write_parquet_shards(splits, SPEC, url, shard_rows=3)
    assert manifest.num_rows == {"train": 11, "validation": 5, "test": 4}
    assert [len(files) for files in manifest.files.values()] == [4, 2, 2]
    streamed, spec, _ = load_parquet_shards(url)
    assert spec == SPEC and set(streamed) == {"train", "validation", "test"}
    for name, split in splits.items():
        assert streamed[name].features == SPEC.features()
        # same values, same order: every column, nested provenance and graph lists and null modalities included
        assert list(streamed[name]) == list(split), name


def test_shards_hold_at_most_shard_rows_and_bounded_row_groups(splits, tmp_path, monkeypatch):
    per_row = splits["train"].data.nbytes / len(splits["train"])
    monkeypatch.setattr(parquet_shards, "ROW_GROUP_BYTES", int(2.5 * per_row))  # row groups of 2 rows
    url = tmp_path / "shards"
    manifest = write_parquet_shards(splits, SPEC, str(url), shard_rows=4)
    rows = [pq.ParquetFile(url / f).metadata.num_rows for f in manifest.files["train"]]
    assert rows == [4, 4, 3]
    first = pq.ParquetFile(url / manifest.files["train"][0]).metadata
    assert [first.row_group(i).num_rows for i in range(first.num_row_groups)] == [2, 2]
    assert sorted(p.name for p in (url / "data").iterdir())[:3] == [
        "test-00000-of-00001.parquet", "train-00000-of-00003.parquet", "train-00001-of-00003.parquet"]
    assert json.loads((url / MANIFEST_FILENAME).read_text())["shard_rows"]["train"] == 4


def test_max_shard_bytes_bounds_the_arrow_size_of_each_shard(splits, tmp_path):
    per_row = splits["train"].data.nbytes / len(splits["train"])
    manifest = write_parquet_shards(splits, SPEC, str(tmp_path / "s"), max_shard_bytes=int(2.5 * per_row))
    assert manifest.shard_rows["train"] == 2 and len(manifest.files["train"]) == 6


def test_plain_load_dataset_with_a_glob_reads_the_same_features(splits, tmp_path):
    """Any datasets user can stream the shards without astrobio-hf: the features travel in the Parquet metadata."""
    write_parquet_shards(splits, SPEC, str(tmp_path / "s"), shard_rows=5)
    plain = datasets.load_dataset("parquet", streaming=True, data_files={
        name: str(tmp_path / "s" / "data" / f"{name}-*.parquet") for name in splits})
    for name, split in splits.items():
        assert plain[name].features == SPEC.features()
        assert list(plain[name]) == list(split)


def test_streamed_rows_collate_to_the_same_batch(splits, tmp_path):
    write_parquet_shards(splits, SPEC, str(tmp_path / "s"), shard_rows=3)
    streamed, _, _ = load_parquet_shards(str(tmp_path / "s"))
    collator = MultimodalCollator(SPEC, return_names=True)
    rows = list(streamed["train"].with_format("arrow"))  # one-row Arrow tables, as the Trainer's DataLoader gets them
    expected = collator(ArrowBatches(splits["train"]).__getitems__(list(range(len(splits["train"])))))
    got = collator(rows)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, torch.Tensor):
            torch.testing.assert_close(got[key], value, rtol=0, atol=0, msg=key)
    assert got["planet_name"] == expected["planet_name"]
    for attr in ("x", "edge_index", "edge_attr", "batch", "ptr"):
        assert torch.equal(getattr(got["graph"], attr), getattr(expected["graph"], attr)), attr


def test_existing_target_is_refused_and_kept(splits, tmp_path):
    url = str(tmp_path / "s")
    write_parquet_shards(splits, SPEC, url, shard_rows=5)
    before = sorted(p.name for p in (tmp_path / "s" / "data").iterdir())
    with pytest.raises(FileExistsError, match="already holds"):
        write_parquet_shards(splits, SPEC, url, shard_rows=2)
    assert sorted(p.name for p in (tmp_path / "s" / "data").iterdir()) == before


def test_incomplete_write_and_foreign_shards_are_refused_by_name(splits, tmp_path):
    url = tmp_path / "s"
    write_parquet_shards(splits, SPEC, str(url), shard_rows=5)
    spec_text = (url / SPEC_FILENAME).read_text()
    (url / SPEC_FILENAME).unlink()  # a write that stopped before its last file
    with pytest.raises(FileNotFoundError, match=SPEC_FILENAME):
        load_parquet_shards(str(url))
    (url / SPEC_FILENAME).write_text(spec_text)
    first = url / "data" / "train-00000-of-00003.parquet"
    splits["train"].remove_columns(["graph_id"]).select(range(2)).to_parquet(str(first))
    with pytest.raises(ValueError, match=r"train-00000-of-00003\.parquet: columns \['graph_id'\]"):
        load_parquet_shards(str(url))


def test_glob_characters_in_the_url_are_refused(splits, tmp_path):
    """datasets reads data_files as glob patterns: a '[' in a folder name would silently select no file."""
    url = str(tmp_path / "run[1]")
    write_parquet_shards(splits, SPEC, url, shard_rows=5)
    with pytest.raises(ValueError, match=r"glob"):
        load_parquet_shards(url)


def test_bad_shard_sizes_are_refused(splits, tmp_path):
    with pytest.raises(ValueError, match="shard_rows must be >= 1"):
        write_parquet_shards(splits, SPEC, str(tmp_path / "a"), shard_rows=0)
    with pytest.raises(ValueError, match="exactly one"):
        write_parquet_shards(splits, SPEC, str(tmp_path / "b"))


def test_to_parquet_command_writes_what_train_streams(tmp_path, capsys):
    dataset = write_dataset(tmp_path / "mm", n_train=7, n_eval=3)
    url = f"file://{tmp_path}/shards"
    assert cli_main(["to-parquet", "--dataset", str(dataset), "--output", url, "--shard-rows", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["num_rows"] == {"train": 7, "validation": 3} and len(out["files"]["train"]) == 3
    streamed, _, _ = load_parquet_shards(url)
    assert [r["planet_name"] for r in streamed["train"]] == [f"Planet {i} b" for i in range(7)]
    assert cli_main(["to-parquet", "--dataset", str(dataset), "--output", url, "--shard-rows", "3"]) == 1
    assert "already holds" in capsys.readouterr().err
    assert cli_main(["to-parquet", "--dataset", str(tmp_path / "nothing"), "--output", str(tmp_path / "x"),
                     "--max-shard-size", "1MB"]) == 1
    assert "multimodal_spec.json is missing" in capsys.readouterr().err
