"""The `habitability-classification` pipeline: `pipeline("habitability-classification", model=CHECKPOINT)`.

Registered the documented way (`transformers.pipelines.PIPELINE_REGISTRY.register_pipeline`) as soon as transformers'
pipelines are imported after (or before) `import astrobio_hf`. Inputs: a planet's catalog values (a dict of NASA
Exoplanet Archive columns, or an astropy `Table`/`QTable` row), or a dict `{"catalog": ..., "light_curve": ...,
"spectrum": ..., "climate_cube": ..., "graph": ...}`; the checkpoint's `AstroMultimodalProcessor` encodes them. Output
per planet: the hz_class label and score, every class probability, P(habitable) and the inputs that were missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from transformers import AutoModel, Pipeline

from ..models.multimodal.modeling_multimodal import AstroMultimodalModel
from .processing import AstroMultimodalProcessor

TASK = "habitability-classification"
_MODALITY_KEYS = ("light_curve", "spectrum", "climate_cube", "graph")


class HabitabilityPipeline(Pipeline):
    """Catalog values (+ optional modality files) of a planet -> hz_class label, probabilities, P(habitable)."""

    _load_processor = True
    _load_tokenizer = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_video_processor = False

    def _sanitize_parameters(self, planet_name: str | None = None, **kwargs: Any):
        preprocess = {"planet_name": planet_name} if planet_name else {}
        return preprocess, {}, {}

    def _processor(self) -> AstroMultimodalProcessor:
        if self.processor is None:  # a model object without a saved processor: shapes from its config
            self.processor = AstroMultimodalProcessor.from_model_config(self.model.config)
        return self.processor

    def preprocess(self, inputs: Any, planet_name: str | None = None) -> dict[str, Any]:
        if isinstance(inputs, Mapping) and "catalog" in inputs:
            catalog, files = inputs["catalog"], {k: inputs.get(k) for k in _MODALITY_KEYS}
        else:
            catalog, files = inputs, {}
        planet = self._processor().planet_inputs(catalog, planet_name=planet_name, **files)
        batch = self._processor()(planet)
        return {"batch": batch, "planet": planet}

    def _forward(self, model_inputs: dict[str, Any]) -> dict[str, Any]:
        batch = {k: (v.to(self.device) if hasattr(v, "to") else v) for k, v in model_inputs["batch"].items()}
        with torch.no_grad():
            out = self.model.predict_proba(**batch)
        return {"out": out, "planet": model_inputs["planet"]}

    def postprocess(self, model_outputs: dict[str, Any]) -> dict[str, Any]:
        out, planet = model_outputs["out"], model_outputs["planet"]
        probabilities = out["hz_class"][0].float().tolist()
        labels = [self.model.config.id2label[i] for i in range(len(probabilities))]
        best = max(range(len(probabilities)), key=probabilities.__getitem__)
        threshold = float(getattr(self.model.config, "habitability_threshold", 0.5))
        return {
            "planet_name": planet.row["planet_name"],
            "label": labels[best],
            "score": probabilities[best],
            "scores": [{"label": label, "score": p} for label, p in zip(labels, probabilities, strict=True)],
            "habitability_probability": float(out["habitability"][0]),
            "habitable": float(out["habitability"][0]) >= threshold,  # at the threshold chosen on validation
            "threshold": threshold,
            "missing_inputs": planet.missing_modalities,
            "missing_catalog_values": planet.missing_params,
        }


def register_pipeline() -> None:
    """Add the task to transformers' pipeline registry (idempotent)."""
    from transformers.pipelines import PIPELINE_REGISTRY

    if TASK not in PIPELINE_REGISTRY.get_supported_tasks():
        PIPELINE_REGISTRY.register_pipeline(TASK, pipeline_class=HabitabilityPipeline, pt_model=AutoModel,
                                            type="multimodal")


register_pipeline()

__all__ = ["HabitabilityPipeline", "register_pipeline", "TASK", "AstroMultimodalModel"]
