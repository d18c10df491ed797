"""AstroGraphVAE: GATv2 variational graph autoencoder for metabolic networks with an elemental-balance constraint."""

from .configuration_graph_vae import GRAPH_VAE_PRESETS, AstroGraphVAEConfig
from .modeling_graph_vae import AstroGraphVAE, AstroGraphVAEOutput, AstroGraphVAEPreTrainedModel

__all__ = [
    "GRAPH_VAE_PRESETS",
    "AstroGraphVAE",
    "AstroGraphVAEConfig",
    "AstroGraphVAEOutput",
    "AstroGraphVAEPreTrainedModel",
]
