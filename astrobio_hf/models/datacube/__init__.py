"""AstroDatacubeModel: CNN stem + ViT masked autoencoder of `[batch, vars, time, lev, lat, lon]` climate cubes."""

from .configuration_datacube import DATACUBE_PRESETS, AstroDatacubeConfig
from .modeling_datacube import (
    AstroDatacubeModel,
    AstroDatacubeOutput,
    AstroDatacubePreTrainedModel,
)

__all__ = [
    "DATACUBE_PRESETS",
    "AstroDatacubeConfig",
    "AstroDatacubeModel",
    "AstroDatacubeOutput",
    "AstroDatacubePreTrainedModel",
]
