"""Configuration of AstroGraphVAE, the variational graph autoencoder for metabolic networks."""

from __future__ import annotations

from typing import Any

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig

from astrobio_hf.data.graph_schema import (
    CHARGE_COLUMN,
    ELEMENT_COLUMNS,
    IS_METABOLITE_COLUMN,
    IS_REACTION_COLUMN,
    NODE_FEATURE_DIM,
    OTHER_ELEMENTS_COLUMN,
)

EDGE_DECODERS = ("inner_product", "mlp")
GRAPH_POOLINGS = ("mean", "max", "add", "attention")

# Columns whose totals a balanced reaction conserves: atoms of each tracked element, the other atoms, and charge.
DEFAULT_BALANCE_COLUMNS: tuple[int, ...] = (*ELEMENT_COLUMNS, OTHER_ELEMENTS_COLUMN, CHARGE_COLUMN)


@strict
class AstroGraphVAEConfig(PreTrainedConfig):
    """Configuration of [`AstroGraphVAE`].

    Sizes: `node_feature_dim` input columns (the layout of `astrobio_hf.data.graph_schema`), a GATv2 encoder of
    `num_layers` blocks of width `hidden_size` split over `num_attention_heads` heads, and per-node Gaussian latents of
    `latent_dim` (also the width of the graph embedding). `edge_attr_dim` is the number of edge attribute columns
    (1: the stoichiometric coefficient; 0: graphs carry no edge attributes).

    Objective: `edge_reconstruction_weight * BCE(edges vs negative samples) + feature_reconstruction_weight * MSE +
    kl_weight * KL + constraint_weight * elemental imbalance`, with `negative_sampling_ratio` negative pairs per
    positive edge. The constraint reads the decoded `balance_columns` (conserved quantities) and uses the input
    `is_metabolite_column` / `is_reaction_column` to know which node is which.

    Defaults describe a small model; the named sizes are in `GRAPH_VAE_PRESETS`.
    """

    model_type = "astro_graph_vae"

    node_feature_dim: int = NODE_FEATURE_DIM
    hidden_size: int = 128
    num_layers: int = 3
    num_attention_heads: int = 4
    latent_dim: int = 64
    edge_attr_dim: int = 1
    hidden_act: str = "gelu"
    dropout: float | int = 0.1
    attention_dropout: float | int = 0.0
    layer_norm_eps: float = 1e-5
    initializer_range: float = 0.02
    edge_decoder: str = "mlp"
    graph_pooling: str = "mean"
    negative_sampling_ratio: float | int = 1.0
    edge_reconstruction_weight: float | int = 1.0
    feature_reconstruction_weight: float | int = 1.0
    kl_weight: float | int = 0.01
    constraint_weight: float | int = 0.1
    balance_columns: list[int] | None = None
    is_metabolite_column: int = IS_METABOLITE_COLUMN
    is_reaction_column: int = IS_REACTION_COLUMN

    def __post_init__(self, **kwargs):
        if self.balance_columns is None:
            self.balance_columns = list(DEFAULT_BALANCE_COLUMNS)
        # Validate here as well as through @strict: @strict wraps validator errors in its own exception type, and
        # callers (and the tests) rely on a plain ValueError naming the field.
        self.validate_architecture()
        super().__post_init__(**kwargs)

    @property
    def graph_embedding_dim(self) -> int:
        """Width of the per-graph embedding returned by `AstroGraphVAE.encode_graph`."""
        return self.latent_dim

    def validate_architecture(self):
        """Reject values the model cannot build or train with, naming the field at fault."""
        for name in ("node_feature_dim", "hidden_size", "num_layers", "num_attention_heads", "latent_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"AstroGraphVAEConfig.{name} must be a positive integer, got {value!r}.")
        if self.edge_attr_dim < 0:
            raise ValueError(f"AstroGraphVAEConfig.edge_attr_dim must be >= 0, got {self.edge_attr_dim}.")
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"AstroGraphVAEConfig.hidden_size ({self.hidden_size}) must be divisible by "
                f"num_attention_heads ({self.num_attention_heads}): GATv2 heads are concatenated."
            )
        for name in ("dropout", "attention_dropout"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"AstroGraphVAEConfig.{name} must be in [0, 1), got {value}.")
        if self.negative_sampling_ratio <= 0:
            raise ValueError(
                f"AstroGraphVAEConfig.negative_sampling_ratio must be > 0, got {self.negative_sampling_ratio}."
            )
        for name in ("edge_reconstruction_weight", "feature_reconstruction_weight", "kl_weight", "constraint_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"AstroGraphVAEConfig.{name} must be >= 0, got {getattr(self, name)}.")
        if self.edge_decoder not in EDGE_DECODERS:
            raise ValueError(f"AstroGraphVAEConfig.edge_decoder must be one of {EDGE_DECODERS}, got {self.edge_decoder!r}.")
        if self.graph_pooling not in GRAPH_POOLINGS:
            raise ValueError(
                f"AstroGraphVAEConfig.graph_pooling must be one of {GRAPH_POOLINGS}, got {self.graph_pooling!r}."
            )
        columns = {"is_metabolite_column": [self.is_metabolite_column], "is_reaction_column": [self.is_reaction_column]}
        columns["balance_columns"] = list(self.balance_columns or [])
        for name, values in columns.items():
            bad = [c for c in values if not 0 <= c < self.node_feature_dim]
            if bad:
                raise ValueError(
                    f"AstroGraphVAEConfig.{name} has columns {bad} outside [0, node_feature_dim={self.node_feature_dim})."
                )


# Named sizes (config kwargs). tiny: unit tests, milliseconds on CPU; small: CPU demo; seed: the seed recipe.
GRAPH_VAE_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {
        "node_feature_dim": NODE_FEATURE_DIM,
        "hidden_size": 16,
        "num_layers": 2,
        "num_attention_heads": 2,
        "latent_dim": 8,
        "dropout": 0.0,
    },
    "small": {
        "node_feature_dim": NODE_FEATURE_DIM,
        "hidden_size": 128,
        "num_layers": 3,
        "num_attention_heads": 4,
        "latent_dim": 64,
        "dropout": 0.1,
    },
    "seed": {
        "node_feature_dim": NODE_FEATURE_DIM,
        "hidden_size": 512,
        "num_layers": 4,
        "num_attention_heads": 8,
        "latent_dim": 256,
        "dropout": 0.1,
    },
}


__all__ = ["AstroGraphVAEConfig", "GRAPH_VAE_PRESETS"]
