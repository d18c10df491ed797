"""`train.py --streaming`: train and evaluate from Parquet shards (any fsspec URL) as `datasets.IterableDataset`s.

The train stream is shuffled (shard order and a buffer of rows, seeded) and repeated without end, so that `max_steps`
ends training: under DDP accelerate gives each process its own shards (`IterableDataset.shard`, when there are at
least as many shards as processes; otherwise every process reads the stream and keeps its slice of each batch), and
an endless stream keeps a process with fewer rows from running dry first. Resuming fast-forwards the same stream past
the batches already trained on. Rows arrive as one-row Arrow tables, which the collators batch like map-style data.

The eval stream is not split by shards: the Trainer gathers predictions after every eval batch, so every process must
see the same number of batches. It goes to accelerate as a plain torch `IterableDataset` (`EvalStream`), which every
process reads whole, keeping its slice of each global batch; with the row count known, accelerate drops the padding
of the last batch and the metrics count every row once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import datasets
import torch
from accelerate.data_loader import IterableDatasetShard

from ..data.multimodal_schema import MultimodalSpec
from ..data.parquet_shards import ShardManifest, load_parquet_shards
from .arguments import AstroTrainingArguments, DataArguments


class EvalStream(torch.utils.data.IterableDataset):
    """A streamed eval split with its row count (`None` when a model type filters rows: then it has no length)."""

    def __init__(self, stream: datasets.IterableDataset, num_rows: int | None):
        self.stream = stream
        self.num_rows = num_rows

    def __iter__(self):
        return iter(self.stream)

    def __len__(self) -> int:
        if self.num_rows is None:
            raise TypeError("this eval stream has no known length")  # what has_length() and accelerate expect
        return self.num_rows


def mark_eval_length(loader: object, stream: object) -> None:
    """Let accelerate drop the padding of the last eval batch under DDP, so every eval row counts once in the metrics.

    accelerate pads the last global batch of an `IterableDatasetShard` with the stream's first rows and, at the end of
    the loader, keeps `remainder = length % total_batch_size` gathered rows. For an iterable dataset it takes the
    length from `len(IterableDatasetShard)` (which counts the padding) and the batch size of one process, so nothing
    would be dropped or too much. The shard's `total_dataset_length` and the batch sampler's `num_processes` are the
    attributes it reads first; set them to the real row count and the number of processes.
    """
    shard = getattr(loader, "dataset", None)
    if not (isinstance(stream, EvalStream) and stream.num_rows is not None and isinstance(shard, IterableDatasetShard)):
        return
    sampler = getattr(loader, "batch_sampler", None)
    if shard.split_batches or sampler is None or hasattr(sampler, "num_processes"):
        return  # not the layout described above: leave accelerate's own figures
    shard.total_dataset_length = stream.num_rows
    sampler.num_processes = shard.num_processes


@dataclass
class StreamingSplits:
    """The streamed train/eval splits of a Parquet-shard dataset, with its spec and manifest."""

    train: datasets.IterableDataset | None
    evaluation: datasets.IterableDataset | None
    spec: MultimodalSpec
    manifest: ShardManifest
    rows: dict[str, int]  # rows of one pass over each split, after --max_train/eval_samples (before model filters)


def load_streaming_splits(data_args: DataArguments, seed: int) -> StreamingSplits:
    """The train split shuffled with `seed` and `shuffle_buffer_size` and repeated; the eval split in written order."""
    splits, spec, manifest = load_parquet_shards(data_args.dataset_path)
    train = splits.get("train")
    if train is not None:
        if data_args.max_train_samples is not None:
            train = train.take(data_args.max_train_samples)
        if data_args.shuffle_buffer_size > 0:
            train = train.shuffle(seed=seed, buffer_size=data_args.shuffle_buffer_size,
                                  max_buffer_input_shards=data_args.shuffle_input_shards)
        train = train.repeat(None).with_format("arrow")
    evaluation = splits.get(data_args.eval_split)
    if evaluation is not None:
        if data_args.max_eval_samples is not None:
            evaluation = evaluation.take(data_args.max_eval_samples)
        evaluation = evaluation.with_format("arrow")
    rows = {}
    for split, limit in (("train", data_args.max_train_samples), (data_args.eval_split, data_args.max_eval_samples)):
        if split in manifest.num_rows:
            rows[split] = manifest.num_rows[split] if limit is None else min(manifest.num_rows[split], limit)
    return StreamingSplits(train=train, evaluation=evaluation, spec=spec, manifest=manifest, rows=rows)


def configure_streaming(training_args: AstroTrainingArguments, train_rows: int | None) -> None:
    """Make the Trainer's arguments fit an endless stream: `max_steps` given or derived from one pass's rows and
    `num_train_epochs`, and each process reading its own batches (no dispatching from process 0)."""
    if training_args.accelerator_config.dispatch_batches:
        raise ValueError("--streaming cannot dispatch batches from process 0 (accelerator_config.dispatch_batches): "
                         "a batch holds a PyG graph batch, which accelerate cannot slice; leave it unset.")
    # accelerate's default for an IterableDataset is to dispatch: switch to per-process reading (and shard splitting)
    training_args.accelerator_config.dispatch_batches = False
    if training_args.do_train and training_args.max_steps <= 0:
        if not train_rows:
            raise ValueError("--streaming trains from an endless stream with no length: give --max_steps (the number "
                             "of rows this model type trains on is not known before reading the shards).")
        per_step = (training_args.per_device_train_batch_size * training_args.world_size
                    * training_args.gradient_accumulation_steps)
        training_args.max_steps = max(1, math.ceil(training_args.num_train_epochs * train_rows / per_step))


__all__ = ["StreamingSplits", "EvalStream", "load_streaming_splits", "configure_streaming", "mark_eval_length"]
