"""`train.py --streaming`: train and evaluate from Parquet shards (any fsspec URL) as `datasets.IterableDataset`s.

The train stream is shuffled (shard order and a buffer of rows, seeded) and repeated without end, so that `max_steps`
ends training: under DDP accelerate gives each process its own shards (`IterableDataset.shard`, when there are at
least as many shards as processes; otherwise every process reads the stream and keeps its slice of each batch), and
an endless stream keeps a process with fewer rows from running dry first. Resuming fast-forwards the same stream past
the batches already trained on. Rows arrive as one-row Arrow tables, which the collators batch like map-style data.

The eval stream goes to the Trainer as an `EvalStream` (eval_stream.py): read whole by every process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import datasets

from ..data.multimodal_schema import MultimodalSpec
from ..data.parquet_shards import ShardManifest, load_parquet_shards
from .arguments import AstroTrainingArguments, DataArguments
from .eval_stream import EvalStream


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


__all__ = ["StreamingSplits", "EvalStream", "load_streaming_splits", "configure_streaming"]
