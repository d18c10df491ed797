"""`--streaming` pieces in process: the max_steps rule, the Trainer's arguments, and how accelerate splits the stream."""

from __future__ import annotations

import itertools

import pytest
from accelerate.data_loader import prepare_data_loader
from torch.utils.data import DataLoader

import train
from astrobio_hf.data.collator import MultimodalCollator
from astrobio_hf.data.parquet_shards import write_parquet_shards
from astrobio_hf.training.arguments import AstroTrainingArguments, DataArguments
from astrobio_hf.training.streaming import configure_streaming, load_streaming_splits
from tests.helpers.multimodal_rows import SPEC, make_splits


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> str:
    url = str(tmp_path_factory.mktemp("stream") / "shards")
    write_parquet_shards(make_splits(n_train=12, n_eval=4), SPEC, url, shard_rows=3)
    return url


def _args(tmp_path, **kwargs) -> AstroTrainingArguments:
    return AstroTrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none", do_train=True, **kwargs)


def test_max_steps_is_derived_from_the_rows_and_epochs(tmp_path):
    args = _args(tmp_path, per_device_train_batch_size=4, gradient_accumulation_steps=2, num_train_epochs=3)
    configure_streaming(args, train_rows=20)
    assert args.max_steps == 8  # ceil(3 epochs x 20 rows / (4 x 1 process x 2 accumulation))
    assert args.accelerator_config.dispatch_batches is False  # each process reads its own batches


def test_max_steps_given_is_kept(tmp_path):
    args = _args(tmp_path, max_steps=5)
    configure_streaming(args, train_rows=None)
    assert args.max_steps == 5


def test_unknown_row_count_without_max_steps_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="give --max_steps"):
        configure_streaming(_args(tmp_path), train_rows=None)


def test_dispatching_batches_is_refused(tmp_path):
    with pytest.raises(ValueError, match="dispatch"):
        configure_streaming(_args(tmp_path, max_steps=2, accelerator_config={"dispatch_batches": True}), 10)


def test_train_py_graph_vae_streaming_without_max_steps_stops_before_training(shards, tmp_path):
    """graph_vae keeps only rows with a graph: the step count cannot be derived, and train.py says so."""
    with pytest.raises(ValueError, match="give --max_steps"):
        train.main(["--model_type", "graph_vae", "--dataset_path", shards, "--streaming", "--output_dir",
                    str(tmp_path / "out"), "--do_train", "--use_cpu", "--report_to", "none"])
    assert not (tmp_path / "out" / "model.safetensors").exists()


def test_train_stream_is_seeded_endless_and_shuffled(shards):
    data = DataArguments(dataset_path=shards, streaming=True, shuffle_buffer_size=4, shuffle_input_shards=1)
    names = lambda stream: [t.column("planet_name")[0].as_py() for t in itertools.islice(stream, 30)]  # noqa: E731
    first = names(load_streaming_splits(data, seed=1).train)
    assert first == names(load_streaming_splits(data, seed=1).train)  # a resumed run sees the same stream
    assert first != names(load_streaming_splits(data, seed=2).train)
    assert sorted(first[:12]) == sorted(f"Planet {i} b" for i in range(12))  # one pass: every row once
    assert first[:12] != [f"Planet {i} b" for i in range(12)] and first[12:24] == first[:12]  # endless


def test_accelerate_gives_each_process_its_own_shards_once(shards):
    """What the Trainer does under DDP with dispatch_batches=False: accelerate shards the (unsplit) stream by files,
    so the two processes read disjoint rows that together make up the split; nothing splits it twice."""
    data = DataArguments(dataset_path=shards, streaming=True, shuffle_buffer_size=0)
    evaluation = load_streaming_splits(data, seed=0).evaluation  # 4 rows in 2 files, written order
    seen = []
    for rank in (0, 1):
        loader = prepare_data_loader(DataLoader(evaluation, batch_size=2, collate_fn=MultimodalCollator(
            SPEC, return_names=True)), num_processes=2, process_index=rank, put_on_device=False,
            dispatch_batches=False)
        seen.append([name for batch in loader for name in batch["planet_name"]])
    assert seen == [["Planet 100 b", "Planet 101 b", "Planet 102 b"], ["Planet 103 b"]]


def test_graph_vae_streams_only_rows_with_a_graph(shards):
    from astrobio_hf.training.arguments import ModelArguments
    from astrobio_hf.training.tasks import build_task

    data = DataArguments(dataset_path=shards, streaming=True, shuffle_buffer_size=0)
    task = build_task(ModelArguments(model_type="graph_vae"), data)
    rows = list(itertools.islice(task.train_dataset, 12))
    assert all(t.column("graph_mask")[0].as_py() for t in rows)
    assert [t.column("planet_name")[0].as_py() for t in rows[:6]] == [f"Planet {i} b" for i in range(0, 12, 2)]
    assert len(task.data_collator(rows[:4])["graph"]) == 4  # a PyG batch of 4 graphs
