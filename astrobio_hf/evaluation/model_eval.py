"""Run a multimodal checkpoint over the rows of a split: probabilities, optionally with modalities removed.

Deterministic: the model is put in eval mode (no dropout) and only the heads' logits are used; no loss, hence no
random masking, is involved. ``remove`` hides whole modalities (their presence masks set to False, or every
planet_params column unobserved), which is how the ablations ask "what does the model do without X";
``hide_columns`` hides single planet_params columns (test-time withholding of a model trained on all of them).
"""

from __future__ import annotations

from collections.abc import Sequence

import datasets
import numpy as np
import torch

from ..data.collator import MultimodalCollator
from ..data.multimodal_schema import LABEL_COLUMNS, MultimodalSpec
from ..models.multimodal.configuration_multimodal import MODALITIES
from .baselines import Predictions

_MASK_OF = {"spectrum": "spectrum_mask", "light_curve": "light_curve_mask", "climate_cube": "climate_cube_mask",
            "graph": "graph_mask"}


def _strip(batch: dict, remove: Sequence[str], hide_columns: Sequence[int]) -> dict:
    batch = {k: v for k, v in batch.items() if k not in LABEL_COLUMNS}
    if hide_columns:
        mask = batch["planet_params_mask"].clone()
        mask[:, list(hide_columns)] = False
        batch["planet_params_mask"] = mask
    for name in remove:
        if name == "planet_params":
            batch["planet_params_mask"] = torch.zeros_like(batch["planet_params_mask"])
        elif name == "graph":
            batch.pop("graph", None)
            batch.pop("graph_mask", None)
        else:
            batch.pop(name, None)
            batch.pop(_MASK_OF[name], None)
            if name == "light_curve":  # its search features go with it
                batch.pop("light_curve_features", None)
    return batch


@torch.no_grad()
def model_predictions(model, dataset: datasets.Dataset, spec: MultimodalSpec, indices: np.ndarray, *,
                      remove: Sequence[str] = (), hide_columns: Sequence[str] = (), batch_size: int = 256,
                      name: str = "multimodal") -> Predictions:
    """Habitable probability and hz_class of ``dataset`` rows ``indices`` (in that order)."""
    unknown = [m for m in remove if m not in MODALITIES]
    if unknown:
        raise ValueError(f"unknown modalities {unknown}; choose from {MODALITIES}")
    hidden = [spec.planet_param_names.index(c) for c in hide_columns if c in spec.planet_param_names]
    collate = MultimodalCollator(spec)
    model.eval()
    probability, hz = [], []
    table = dataset.with_format("arrow")
    for start in range(0, len(indices), batch_size):
        rows = table[[int(i) for i in indices[start:start + batch_size]]]
        out = model(**_strip(collate(rows), remove, hidden))
        probability.append(out.habitability_logits.float().softmax(-1)[:, 1].numpy())
        hz.append(out.hz_class_logits.argmax(-1).numpy())
    empty = np.zeros(0)
    return Predictions(name, np.concatenate(probability) if probability else empty,
                       np.concatenate(hz).astype(int) if hz else empty.astype(int))


def ablation_predictions(model, dataset: datasets.Dataset, spec: MultimodalSpec, indices: np.ndarray,
                         full: Predictions, modality: str, *, remove: Sequence[str] = (),
                         hide_columns: Sequence[str] = ()) -> Predictions:
    """The model without ``modality`` on rows ``indices``: only the rows that carry it are rerun (in eval mode a row's
    prediction does not depend on the other rows of its batch); the others keep their prediction in ``full``."""
    has = modality_flags(dataset, indices, modality)
    out = Predictions(f"model without {modality}", full.probability.copy(), full.hz_class.copy(), full.threshold)
    if has.any():
        rerun = model_predictions(model, dataset, spec, indices[has], remove=(*remove, modality),
                                  hide_columns=hide_columns)
        out.probability[has], out.hz_class[has] = rerun.probability, rerun.hz_class
    return out


def modality_flags(dataset: datasets.Dataset, indices: np.ndarray, modality: str) -> np.ndarray:
    """Which of the rows carry ``modality``."""
    rows = dataset.with_format(None).select(indices)
    if modality == "planet_params":
        return np.asarray([any(m) for m in rows["planet_params_mask"]], dtype=bool)
    return np.asarray(rows[_MASK_OF[modality]], dtype=bool)


def modality_counts(dataset: datasets.Dataset, indices: np.ndarray) -> dict[str, int]:
    """How many of the rows carry each modality (an ablation of an absent modality changes nothing)."""
    return {name: int(modality_flags(dataset, indices, name).sum()) for name in ("planet_params", *_MASK_OF)}


__all__ = ["model_predictions", "modality_counts", "modality_flags"]
