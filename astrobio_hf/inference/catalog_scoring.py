"""Score every planet of a catalog file in one process: `score_catalog(model, "packaged")` or
`astrobio-hf predict --model M --catalog FILE --all [--output ranked.csv|.parquet]`.

The catalog is read with the NASA Exoplanet Archive builder (the parser the training data went through; CSV, IPAC,
VOTable, gzipped or not); `"packaged"` names the 2025 PSCompPars snapshot shipped with astrobio-hf. Rows go through
the checkpoint's processor and the model in batches. One output row per planet, sorted by P(habitable): name, host,
probability, the decision at the model's saved threshold (`config.habitability_threshold`, 0.5 where a checkpoint
has none), the hz_class and its probabilities, the inputs that were missing (masked, never imputed), and what the
labelling rule (Kopparapu et al. 2014, `astrobio_hf.data.labels`) says where its inputs are there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.labels import label_planet
from ..models.multimodal import MODALITIES, AstroMultimodalModel
from .catalog_file import PACKAGED, read_catalog, resolve_catalog
from .predict import load_predictor, load_processor
from .processing import AstroMultimodalProcessor

DEFAULT_BATCH_SIZE = 256


def _batches(rows: Any, size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        chunk = rows[start: start + size]
        yield [dict(zip(chunk, values, strict=True)) for values in zip(*chunk.values(), strict=True)]


def _rule(values: dict[str, Any]) -> dict[str, Any]:
    label = label_planet(st_teff=values.get("st_teff"), pl_insol=values.get("pl_insol"), st_rad=values.get("st_rad"),
                         pl_orbsmax=values.get("pl_orbsmax"), pl_rade=values.get("pl_rade"),
                         pl_bmasse=values.get("pl_bmasse"))
    return {"rule_habitability": label.habitability, "rule_hz_class": label.hz_class,
            "rule_reason": label.reason or None}


@torch.no_grad()
def score_rows(model: AstroMultimodalModel, processor: AstroMultimodalProcessor, rows: Any,
               batch_size: int = DEFAULT_BATCH_SIZE) -> list[dict[str, Any]]:
    """One result dict per catalog row (a `datasets.Dataset` or anything sliced into column dicts), in input order."""
    threshold = float(getattr(model.config, "habitability_threshold", 0.5))
    names = list(model.config.hz_class_names)
    out: list[dict[str, Any]] = []
    for batch in _batches(rows, batch_size):
        planets = [processor.planet_inputs(values) for values in batch]
        probs = model.predict_proba(**processor(planets))
        habitable = probs["habitability"].float().numpy()
        hz = probs["hz_class"].float().numpy()
        for values, planet, p, classes in zip(batch, planets, habitable, hz, strict=True):
            out.append({
                "planet_name": planet.row["planet_name"], "hostname": values.get("hostname"),
                "habitability_probability": float(p), "habitable": bool(p >= threshold), "threshold": threshold,
                "hz_class": names[int(np.argmax(classes))],
                **{f"p_{name}": float(c) for name, c in zip(names, classes, strict=True)},
                "missing_inputs": ";".join(planet.missing_modalities),
                "missing_catalog_values": ";".join(planet.missing_params),
                **_rule(values),
            })
    return out


def score_catalog(model: str | Path | AstroMultimodalModel, catalog: str | Path = PACKAGED, *,
                  output: str | Path | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                  table: str = "pscomppars", processor: AstroMultimodalProcessor | None = None) -> Any:
    """Score every planet of ``catalog`` (a file, or ``"packaged"``); returns a pandas DataFrame sorted by
    P(habitable), highest first, and writes it to ``output`` (``.csv``, ``.parquet``) when given."""
    import pandas as pd

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if output is not None and Path(output).suffix.lower() not in (".csv", ".parquet"):
        raise ValueError(f"output {output}: give a .csv or .parquet file name")
    predictor = load_predictor(model)
    processor = processor or load_processor(model if not isinstance(model, AstroMultimodalModel) else predictor)
    rows = read_catalog(catalog, table)
    frame = pd.DataFrame(score_rows(predictor, processor, rows, batch_size))
    frame = frame.sort_values("habitability_probability", ascending=False, kind="stable").reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    for column in ("rule_habitability",):
        frame[column] = frame[column].astype("Int64")
    if output is not None:
        output = Path(output)
        output.parent.mkdir(parents=True, exist_ok=True)
        if output.suffix.lower() == ".parquet":
            frame.to_parquet(output, index=False)
        else:
            frame.to_csv(output, index=False)
    return frame


__all__ = ["score_catalog", "score_rows", "read_catalog", "resolve_catalog", "PACKAGED", "MODALITIES"]
