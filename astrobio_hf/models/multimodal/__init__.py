"""AstroMultimodal: fusion of planet parameters, spectra, light curves, climate cubes and metabolic graphs."""

from .configuration_multimodal import (
    DEFAULT_LOSS_WEIGHTS,
    DEFAULT_PLANET_PARAMS,
    HZ_CLASSES,
    MODALITIES,
    MULTIMODAL_PRESETS,
    AstroMultimodalConfig,
)
from .modeling_multimodal import AstroMultimodalModel, AstroMultimodalOutput, AstroMultimodalPreTrainedModel

__all__ = [
    "AstroMultimodalConfig", "AstroMultimodalModel", "AstroMultimodalOutput", "AstroMultimodalPreTrainedModel",
    "MULTIMODAL_PRESETS", "MODALITIES", "DEFAULT_PLANET_PARAMS", "HZ_CLASSES", "DEFAULT_LOSS_WEIGHTS",
]
