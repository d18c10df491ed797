"""A streamed eval split as the Trainer gets it under `train.py --streaming`, and the DDP bookkeeping it needs.

The eval stream is not split by shards: the Trainer gathers predictions after every eval batch, so every process must
see the same number of batches. It goes to accelerate as a plain torch `IterableDataset` (`EvalStream`), which every
process reads whole, keeping its slice of each global batch; with the row count known, accelerate drops the padding of
the last batch and the metrics count every row once. No `datasets` import here: AstroTrainer imports this module and
the GPU host's image has no `datasets`.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from accelerate.data_loader import IterableDatasetShard


class EvalStream(torch.utils.data.IterableDataset):
    """A streamed eval split with its row count (`None` when a model type filters rows: then it has no length)."""

    def __init__(self, stream: Iterable, num_rows: int | None):
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
    or the wrong rows would be dropped. It reads the shard's `total_dataset_length` and the batch sampler's
    `num_processes` first: set them to the real row count and the number of processes.
    """
    shard = getattr(loader, "dataset", None)
    if not (isinstance(stream, EvalStream) and stream.num_rows is not None and isinstance(shard, IterableDatasetShard)):
        return
    sampler = getattr(loader, "batch_sampler", None)
    if shard.split_batches or sampler is None or hasattr(sampler, "num_processes"):
        return  # not the layout described above: leave accelerate's own figures
    shard.total_dataset_length = stream.num_rows
    sampler.num_processes = shard.num_processes


__all__ = ["EvalStream", "mark_eval_length"]
