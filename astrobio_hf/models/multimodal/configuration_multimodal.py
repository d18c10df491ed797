"""Configuration of AstroMultimodalModel: a composite config holding the graph, datacube and (optional) LLM configs."""

from __future__ import annotations

from typing import Any

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

from ..datacube.configuration_datacube import DATACUBE_PRESETS, AstroDatacubeConfig
from ..graph_vae.configuration_graph_vae import GRAPH_VAE_PRESETS, AstroGraphVAEConfig
from ..llm.configuration_astro_llm import AstroLLMConfig

MODALITIES: tuple[str, ...] = ("planet_params", "spectrum", "light_curve", "climate_cube", "graph")

# Catalog columns of the `planet_params` vector, in order (NASA Exoplanet Archive names; see docs/data.md for the
# transforms the data pipeline applies before they reach the model).
DEFAULT_PLANET_PARAMS: tuple[str, ...] = (
    "pl_orbper", "pl_orbsmax", "pl_rade", "pl_bmasse", "pl_orbeccen", "pl_insol", "pl_eqt",
    "st_teff", "st_rad", "st_mass", "st_met", "st_logg", "sy_dist",
)

DEFAULT_LOSS_WEIGHTS: dict[str, float] = {
    "classification": 1.0,
    "reconstruction": 0.1,
    "physics": 0.2,
    "consistency": 0.15,
    "language_modeling": 1.0,
}

HZ_CLASSES: tuple[str, ...] = ("too_hot", "temperate", "too_cold")
CLASSIFICATION_LOSSES: tuple[str, ...] = ("cross_entropy", "focal")
HABITABILITY_HEADS: tuple[str, ...] = ("direct", "temperate_and_rocky")


def _installed_pipeline_registered() -> bool:
    """Whether transformers' pipeline registry serves `habitability-classification` with astrobio_hf's class."""
    import sys

    pipelines = sys.modules.get("transformers.pipelines")
    task = getattr(getattr(pipelines, "PIPELINE_REGISTRY", None), "supported_tasks", {}).get(
        "habitability-classification")
    return bool(task) and str(getattr(task.get("impl"), "__module__", "")).startswith("astrobio_hf.")


@strict
class AstroMultimodalConfig(PreTrainedConfig):
    """Configuration of [`AstroMultimodalModel`].

    Sub-configs (like CLIP/LLaVA): `graph_config` (an `AstroGraphVAEConfig`, the metabolic-graph encoder),
    `datacube_config` (an `AstroDatacubeConfig`, the climate-cube encoder) and `llm_config` (an `AstroLLMConfig`;
    None disables the LLM head). Each may be given as a config or a dict.

    Inputs: `planet_param_names` (the catalog columns of the `planet_params` vector), spectra of `spectrum_length`
    grid points with `spectrum_channels` channels (value, error, valid flag), light curves of `light_curve_length`
    points with `light_curve_channels` channels (flux, valid flag), and, when `light_curve_feature_names` names them,
    the transit search's features of each light curve (`astrobio_hf.data.modalities.transit_features`; NaN = masked),
    added to the light-curve token by a small MLP. Fusion: `hidden_size`, `num_fusion_layers`,
    `num_fusion_heads`. Heads: binary `habitability` and `num_hz_classes`-way `hz_class`.

    Loss: `loss_weights` maps each named component (classification, reconstruction, physics, consistency,
    language_modeling) to its weight; defaults 1.0 / 0.1 / 0.2 / 0.15 / 1.0. `consistency_temperature` is the
    temperature of the cross-modal InfoNCE term. `auxiliary_losses` turns the encoders' own objectives
    (masked cube reconstruction, graph VAE) on or off.

    Rare class: `habitability_class_weights` and `hz_class_weights` weight each head's cross-entropy per class
    (None = unweighted; training fills them with inverse class frequencies of its train split, see
    `astrobio_hf.training.class_balance`); `classification_loss` is "cross_entropy" or "focal" (Lin et al. 2017,
    `focal_gamma`). `habitability_threshold` is the decision threshold on P(habitable) that was chosen on
    validation; predict, the pipeline, evaluate and the card use it.

    `habitability_head`: "direct" (a linear head on the fused embedding) or "temperate_and_rocky", which factorises
    P(habitable) as the label is defined: P(hz_class = temperate) from the hz_class head times P(rocky) from a small
    MLP over the planet's own size columns (`rocky_columns`, with their observed mask) and nothing else. Each factor
    learns from its own label: the temperate factor from every labelled planet's band, the size factor from the
    dataset's `rocky` label (the rule's size criterion, known for every planet with a radius or mass; without that
    column the product's cross-entropy trains both). The size factor cannot pick up the host star:
    the catalog's habitable planets all orbit M and K dwarfs, and a direct head learns the star's type as part of
    "habitable", which rules out an Earth twin around a Sun-like star.
    """

    model_type = "astro_multimodal"
    sub_configs_defaults = {
        "graph_config": SubConfigSpec(config_class=AstroGraphVAEConfig, init_kwargs=GRAPH_VAE_PRESETS["tiny"]),
        "datacube_config": SubConfigSpec(config_class=AstroDatacubeConfig, init_kwargs=DATACUBE_PRESETS["tiny"]),
        "llm_config": SubConfigSpec(config_class=AstroLLMConfig, optional=True),
    }

    graph_config: dict | PreTrainedConfig | None = None
    datacube_config: dict | PreTrainedConfig | None = None
    llm_config: dict | PreTrainedConfig | None = None
    planet_param_names: list[str] | tuple[str, ...] = DEFAULT_PLANET_PARAMS
    spectrum_length: int = 128
    spectrum_channels: int = 3
    light_curve_length: int = 256
    light_curve_channels: int = 2
    light_curve_feature_names: list[str] | tuple[str, ...] = ()
    encoder_channels: int = 32
    hidden_size: int = 128
    num_fusion_layers: int = 2
    num_fusion_heads: int = 4
    fusion_intermediate_size: int = 256
    dropout: float | int = 0.1
    num_hz_classes: int = 3
    hz_class_names: list[str] | tuple[str, ...] = HZ_CLASSES
    loss_weights: dict[str, float] | None = None
    consistency_temperature: float = 0.1
    auxiliary_losses: bool = True
    habitability_class_weights: list[float] | None = None
    hz_class_weights: list[float] | None = None
    classification_loss: str = "cross_entropy"
    focal_gamma: float = 2.0
    habitability_threshold: float = 0.5
    habitability_head: str = "direct"
    rocky_columns: list[str] | tuple[str, ...] = ("pl_rade", "pl_bmasse")
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs: Any) -> None:
        self.planet_param_names = list(self.planet_param_names)
        self.hz_class_names = list(self.hz_class_names)
        self.rocky_columns = list(self.rocky_columns)
        self.light_curve_feature_names = list(self.light_curve_feature_names or ())
        self.loss_weights = {**DEFAULT_LOSS_WEIGHTS, **(self.loss_weights or {})}
        super().__post_init__(**kwargs)
        # id2label / label2id name the hz_class head's outputs (pipelines and model cards read them); the binary
        # habitability head is P(habitable) and needs no names
        if not self.id2label or list(self.id2label.values()) != self.hz_class_names:
            self.id2label = dict(enumerate(self.hz_class_names))
            self.label2id = {name: i for i, name in self.id2label.items()}
        # A saved folder lists the habitability pipeline in `custom_pipelines` for users without astrobio-hf
        # (trust_remote_code=True). transformers demands trust_remote_code for any task listed there, even where
        # astrobio-hf's own pipeline is registered; there the installed pipeline serves it, so the entry is dropped.
        if getattr(self, "custom_pipelines", None) and _installed_pipeline_registered():
            self.custom_pipelines = {}
        # Run the checks here so callers get a plain ValueError naming the field (@strict wraps them otherwise).
        self.validate_architecture()

    @property
    def num_planet_params(self) -> int:
        return len(self.planet_param_names)

    @property
    def use_llm_head(self) -> bool:
        return self.llm_config is not None

    def validate_architecture(self) -> None:
        """Reject sizes and weights the model cannot use, naming the field at fault."""
        name = type(self).__name__
        for field_name in ("spectrum_length", "spectrum_channels", "light_curve_length", "light_curve_channels",
                           "encoder_channels", "hidden_size", "num_fusion_layers", "num_fusion_heads",
                           "fusion_intermediate_size", "num_hz_classes"):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name}.{field_name} must be a positive integer, got {value!r}.")
        if not self.planet_param_names:
            raise ValueError(f"{name}.planet_param_names must name at least one catalog column.")
        if self.hidden_size % self.num_fusion_heads != 0:
            raise ValueError(
                f"{name}.hidden_size ({self.hidden_size}) must be divisible by num_fusion_heads "
                f"({self.num_fusion_heads})."
            )
        if len(self.hz_class_names) != self.num_hz_classes:
            raise ValueError(
                f"{name}.hz_class_names has {len(self.hz_class_names)} names but num_hz_classes is "
                f"{self.num_hz_classes}."
            )
        unknown = set(self.loss_weights) - set(DEFAULT_LOSS_WEIGHTS)
        if unknown:
            raise ValueError(
                f"{name}.loss_weights has unknown components {sorted(unknown)}; known: {sorted(DEFAULT_LOSS_WEIGHTS)}."
            )
        negative = {k: v for k, v in self.loss_weights.items() if v < 0}
        if negative:
            raise ValueError(f"{name}.loss_weights must be >= 0, got {negative}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"{name}.dropout must be in [0, 1), got {self.dropout}.")
        for field_name, size in (("habitability_class_weights", 2), ("hz_class_weights", self.num_hz_classes)):
            weights = getattr(self, field_name)
            if weights is not None and (len(weights) != size or any(not w > 0 for w in weights)):
                raise ValueError(f"{name}.{field_name} must be {size} positive numbers (one per class), got {weights!r}.")
        if self.classification_loss not in CLASSIFICATION_LOSSES:
            raise ValueError(f"{name}.classification_loss must be one of {CLASSIFICATION_LOSSES}, got "
                             f"{self.classification_loss!r}.")
        if self.habitability_head not in HABITABILITY_HEADS:
            raise ValueError(f"{name}.habitability_head must be one of {HABITABILITY_HEADS}, got "
                             f"{self.habitability_head!r}.")
        if self.habitability_head == "temperate_and_rocky":
            if "temperate" not in self.hz_class_names:
                raise ValueError(f"{name}.habitability_head 'temperate_and_rocky' needs a 'temperate' hz class, got "
                                 f"{self.hz_class_names}.")
            missing = [c for c in self.rocky_columns if c not in self.planet_param_names]
            if missing or not self.rocky_columns:
                raise ValueError(f"{name}.rocky_columns {self.rocky_columns} must be planet_param_names columns "
                                 f"(missing: {missing}).")
        if self.focal_gamma < 0:
            raise ValueError(f"{name}.focal_gamma must be >= 0, got {self.focal_gamma}.")
        if not 0.0 < self.habitability_threshold < 1.0:
            raise ValueError(f"{name}.habitability_threshold must be in (0, 1), got {self.habitability_threshold}.")
        if self.consistency_temperature <= 0:
            raise ValueError(f"{name}.consistency_temperature must be > 0, got {self.consistency_temperature}.")
        llm = self.llm_config
        if llm is not None and (llm.evidence_dim != self.hidden_size or llm.num_evidence_tokens <= 0):
            raise ValueError(
                f"{name}.llm_config must have evidence_dim == hidden_size ({self.hidden_size}) and "
                f"num_evidence_tokens > 0 so the fused embedding can prefix the text; got "
                f"evidence_dim={llm.evidence_dim}, num_evidence_tokens={llm.num_evidence_tokens}."
            )


def _preset(size: str, hidden: int, layers: int, heads: int, spectrum: int, light_curve: int,
            channels: int) -> dict[str, Any]:
    return {
        "graph_config": dict(GRAPH_VAE_PRESETS[size]),
        "datacube_config": dict(DATACUBE_PRESETS[size]),
        "hidden_size": hidden,
        "num_fusion_layers": layers,
        "num_fusion_heads": heads,
        "fusion_intermediate_size": 2 * hidden,
        "spectrum_length": spectrum,
        "light_curve_length": light_curve,
        "encoder_channels": channels,
    }


# Named sizes (config kwargs); the sub-model sizes follow the same names.
MULTIMODAL_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": _preset("tiny", hidden=32, layers=1, heads=4, spectrum=64, light_curve=64, channels=8),
    "small": _preset("small", hidden=128, layers=2, heads=4, spectrum=128, light_curve=256, channels=32),
    "seed": _preset("seed", hidden=512, layers=4, heads=8, spectrum=512, light_curve=1024, channels=64),
}

__all__ = ["AstroMultimodalConfig", "MULTIMODAL_PRESETS", "MODALITIES", "DEFAULT_PLANET_PARAMS", "HZ_CLASSES",
           "DEFAULT_LOSS_WEIGHTS", "CLASSIFICATION_LOSSES", "HABITABILITY_HEADS"]
