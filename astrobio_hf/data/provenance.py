"""Summaries of the provenance column of a multimodal dataset, for model cards and reports."""

from __future__ import annotations

from collections import Counter

import datasets

from .collator import ArrowBatches


def summarize_provenance(dataset: datasets.Dataset | ArrowBatches, column: str = "provenance") -> list[dict]:
    """One entry per (source, release, generated) with the number of rows that used it, most used first."""
    if isinstance(dataset, ArrowBatches):
        dataset = dataset.dataset
    if column not in dataset.column_names:
        return []
    counts: Counter = Counter()
    for entries in dataset.with_format(None)[column]:
        for entry in entries or []:
            counts[(entry.get("source") or "", entry.get("release") or "", bool(entry.get("generated")))] += 1
    return [
        {"source": source, "release": release, "generated": generated, "note": f"{rows} rows"}
        for (source, release, generated), rows in counts.most_common()
    ]


__all__ = ["summarize_provenance"]
