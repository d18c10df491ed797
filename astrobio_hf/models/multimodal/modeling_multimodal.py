"""AstroMultimodalModel: per-modality encoders, a masked fusion transformer and the habitability heads.

Five modalities, each optional per planet (a presence mask per sample):
- `planet_params` `[B, P]` catalog values with a per-column observed mask `planet_params_mask` `[B, P]`;
- `spectrum` `[B, C, L]` on a fixed wavelength grid, `light_curve` `[B, C, L]` on a fixed phase/time grid;
- `climate_cube` `[B, vars, time, lev, lat, lon]` (encoded by `AstroDatacubeModel`);
- `graph`, a PyG `Batch` holding the graphs of the samples whose `graph_mask` is True, in batch order
  (encoded by `AstroGraphVAE`).
Each present modality becomes one token; a CLS token attends to the present tokens only (a key-padding mask hides
the absent ones), so any subset of modalities, the empty one included, gives a prediction. The CLS output is the fused
embedding: it feeds the `habitability` (2-way) and `hz_class` heads and, when configured, prefixes the LLM's text.

Loss: `sum_k loss_weights[k] * component_k` over the components that can be computed from the inputs:
classification (cross-entropy of habitability + hz_class on labelled samples; -100 = unlabelled; with the factorised
`temperate_and_rocky` head and `rocky` labels, hz_class + the size factor's own binary cross-entropy), reconstruction
(the cube's masked reconstruction + the graph VAE's edge/feature reconstruction and KL, weighted by its config),
physics (the cube's physics term + the graph's elemental-balance constraint), consistency (cross-modal InfoNCE:
each modality embedding must pick out the mean of the same planet's other modalities among the batch), and
language_modeling (the LLM head's next-token loss). Every component is returned separately.

The climate encoder runs once per step: in training one masked pass yields the cube embedding (mean over the visible
tokens) and the masked-reconstruction and physics terms; in eval the pass is unmasked (deterministic predictions;
the reconstruction term is then over all tubelets). With `auxiliary_losses=False` only `embed()` runs (no head).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Batch
from transformers import PreTrainedModel
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.utils import ModelOutput

from ..datacube.modeling_datacube import AstroDatacubeModel
from ..graph_vae.modeling_graph_vae import AstroGraphVAE
from ..llm.modeling_astro_llm import AstroLLMForCausalLM
from .configuration_multimodal import MODALITIES, AstroMultimodalConfig


@dataclass
class AstroMultimodalOutput(ModelOutput):
    """Output of [`AstroMultimodalModel`].

    loss: weighted sum of the components present; each component is also returned unweighted.
    habitability_logits `[B, 2]`, hz_class_logits `[B, num_hz_classes]`.
    fused_embedding `[B, hidden]`: the CLS output. modality_embeddings `[B, 5, hidden]` (zeros where absent) and
    modality_mask `[B, 5]` in the order of `MODALITIES`. llm_logits: the LLM head's logits when text was given.
    """

    loss: torch.FloatTensor | None = None
    classification_loss: torch.FloatTensor | None = None
    habitability_loss: torch.FloatTensor | None = None
    hz_class_loss: torch.FloatTensor | None = None
    rocky_loss: torch.FloatTensor | None = None
    reconstruction_loss: torch.FloatTensor | None = None
    physics_loss: torch.FloatTensor | None = None
    consistency_loss: torch.FloatTensor | None = None
    language_modeling_loss: torch.FloatTensor | None = None
    habitability_logits: torch.FloatTensor | None = None
    hz_class_logits: torch.FloatTensor | None = None
    fused_embedding: torch.FloatTensor | None = None
    modality_embeddings: torch.FloatTensor | None = None
    modality_mask: torch.BoolTensor | None = None
    llm_logits: torch.FloatTensor | None = None


class AstroPlanetParamsEncoder(nn.Module):
    """MLP over catalog values and their observed mask (missing values are zeroed and flagged, not imputed)."""

    def __init__(self, num_params: int, hidden_size: int, dropout: float, out_features: int | None = None):
        super().__init__()
        # out_features: a plain output layer of that width instead of the normalised embedding
        last = ([nn.Linear(hidden_size, hidden_size), nn.LayerNorm(hidden_size)] if out_features is None
                else [nn.Linear(hidden_size, out_features)])
        self.net = nn.Sequential(nn.Linear(2 * num_params, hidden_size), nn.GELU(), nn.Dropout(dropout), *last)

    def forward(self, values: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        observed = observed.to(values.dtype)
        values = torch.nan_to_num(values) * observed
        return self.net(torch.cat([values, observed], dim=-1))


class AstroSequenceEncoder(nn.Module):
    """1-D CNN for spectra and light curves `[B, C, L]`: three stride-2 conv blocks, global average pool, projection."""

    def __init__(self, in_channels: int, length: int, channels: int, hidden_size: int, name: str):
        super().__init__()
        self.in_channels, self.length, self.name = in_channels, length, name
        layers: list[nn.Module] = []
        width = in_channels
        for out in (channels, 2 * channels, 4 * channels):
            layers += [nn.Conv1d(width, out, kernel_size=5, stride=2, padding=2), nn.GroupNorm(1, out), nn.GELU()]
            width = out
        self.conv = nn.Sequential(*layers)
        self.proj = nn.Sequential(nn.Linear(width, hidden_size), nn.LayerNorm(hidden_size))

    def forward(self, sequence: torch.Tensor) -> torch.Tensor:
        if sequence.dim() != 3 or sequence.shape[1:] != (self.in_channels, self.length):
            raise ValueError(
                f"{self.name} must have shape [batch, {self.in_channels}, {self.length}] (config "
                f"{self.name}_channels, {self.name}_length), got {list(sequence.shape)}."
            )
        return self.proj(self.conv(torch.nan_to_num(sequence)).mean(dim=-1))


class AstroFusionLayer(GradientCheckpointingLayer):
    """One pre-norm transformer encoder block over the modality tokens (torch's TransformerEncoderLayer)."""

    def __init__(self, config: AstroMultimodalConfig):
        super().__init__()
        self.block = nn.TransformerEncoderLayer(
            d_model=config.hidden_size,
            nhead=config.num_fusion_heads,
            dim_feedforward=config.fusion_intermediate_size,
            dropout=config.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )

    def forward(self, tokens: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        return self.block(tokens, src_key_padding_mask=padding_mask)


class AstroMultimodalPreTrainedModel(PreTrainedModel):
    config: AstroMultimodalConfig
    config_class = AstroMultimodalConfig
    base_model_prefix = "multimodal"
    main_input_name = "planet_params"
    supports_gradient_checkpointing = True
    # The loss is a mean per micro-batch, not a sum over tokens: let the Trainer divide by accumulation steps.
    accepts_loss_kwargs = False
    _no_split_modules = [
        "AstroFusionLayer", "LlamaDecoderLayer", "AstroGraphVAEGATv2Block", "ViTLayer",
    ]
    _supports_sdpa = True

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, AstroMultimodalModel):
            nn.init.normal_(module.cls_token, std=self.config.initializer_range)
        elif isinstance(module, nn.MultiheadAttention):
            module._reset_parameters()
        else:
            super()._init_weights(module)


class AstroMultimodalModel(AstroMultimodalPreTrainedModel):
    """Predicts habitability from any subset of five modalities; see the module docstring."""

    def __init__(self, config: AstroMultimodalConfig):
        super().__init__(config)
        hidden = config.hidden_size
        self.planet_encoder = AstroPlanetParamsEncoder(config.num_planet_params, hidden, config.dropout)
        self.spectrum_encoder = AstroSequenceEncoder(
            config.spectrum_channels, config.spectrum_length, config.encoder_channels, hidden, "spectrum")
        self.light_curve_encoder = AstroSequenceEncoder(
            config.light_curve_channels, config.light_curve_length, config.encoder_channels, hidden, "light_curve")
        # the transit search's period, duration, depth, SNR (and a, S from the star): values with their found mask
        self.light_curve_features_encoder = (
            AstroPlanetParamsEncoder(len(config.light_curve_feature_names), hidden, config.dropout)
            if config.light_curve_feature_names else None)
        self.climate_encoder = AstroDatacubeModel(config.datacube_config)
        self.climate_proj = nn.Linear(config.datacube_config.hidden_size, hidden)
        self.graph_encoder = AstroGraphVAE(config.graph_config)
        self.graph_proj = nn.Linear(config.graph_config.graph_embedding_dim, hidden)

        self.cls_token = nn.Parameter(torch.zeros(1, 1, hidden))
        self.modality_type = nn.Embedding(len(MODALITIES) + 1, hidden)
        self.fusion_layers = nn.ModuleList([AstroFusionLayer(config) for _ in range(config.num_fusion_layers)])
        self.fusion_norm = nn.LayerNorm(hidden)
        if config.habitability_head == "temperate_and_rocky":
            self.rocky_head = AstroPlanetParamsEncoder(len(config.rocky_columns), 16, 0.0, out_features=1)
        else:
            self.habitability_head = nn.Linear(hidden, 2)
        self.hz_class_head = nn.Linear(hidden, config.num_hz_classes)
        self.language_model = AstroLLMForCausalLM(config.llm_config) if config.use_llm_head else None
        self.gradient_checkpointing = False
        self.post_init()

    # -- inputs ----------------------------------------------------------------------------------------------------
    @staticmethod
    def _presence(tensor: torch.Tensor | None, mask: torch.Tensor | None, batch_size: int,
                  device: torch.device, name: str) -> torch.Tensor:
        if tensor is None:
            if mask is not None and bool(mask.any()):
                raise ValueError(f"{name}_mask marks samples as present but no `{name}` tensor was given.")
            return torch.zeros(batch_size, dtype=torch.bool, device=device)
        if mask is None:
            return torch.ones(batch_size, dtype=torch.bool, device=device)
        mask = mask.to(device=device, dtype=torch.bool).reshape(-1)
        if mask.shape[0] != batch_size:
            raise ValueError(f"{name}_mask must have shape [batch={batch_size}], got {list(mask.shape)}.")
        return mask

    @staticmethod
    def _batch_size(**tensors: torch.Tensor | Batch | None) -> int:
        for value in tensors.values():
            if value is not None and not isinstance(value, Batch):
                return value.shape[0]
        raise ValueError("AstroMultimodalModel needs at least one modality tensor or modality mask.")

    # -- losses ----------------------------------------------------------------------------------------------------
    def consistency_loss(self, embeddings: torch.Tensor, present: torch.Tensor) -> torch.Tensor | None:
        """Cross-modal InfoNCE: modality m of planet i must match the mean of planet i's other modalities.

        Only planets with m and at least one other modality take part; a modality needs two such planets in the
        batch (one positive, at least one negative). Returns None when no modality qualifies.
        """
        normalized = F.normalize(embeddings, dim=-1) * present.unsqueeze(-1)
        totals = normalized.sum(dim=1)
        counts = present.sum(dim=1)
        losses = []
        for m in range(embeddings.shape[1]):
            rows = present[:, m] & (counts >= 2)
            if int(rows.sum()) < 2:
                continue
            anchor = normalized[rows, m]
            others = F.normalize((totals[rows] - normalized[rows, m]) / (counts[rows] - 1).unsqueeze(-1), dim=-1)
            logits = anchor @ others.T / self.config.consistency_temperature
            target = torch.arange(logits.shape[0], device=logits.device)
            losses.append(0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)))
        return torch.stack(losses).mean() if losses else None

    def _labelled_cross_entropy(self, logits: torch.Tensor, labels: torch.Tensor | None,
                                class_weights: list[float] | None) -> torch.Tensor | None:
        """Cross-entropy (or focal loss) over labelled samples (-100 = unlabelled), weighted per class when the
        config gives weights: the normalisation is the weighted count, as `F.cross_entropy(weight=...)` does."""
        if labels is None:
            return None
        labels = labels.to(logits.device).long().reshape(-1)
        labelled = labels != -100
        if not bool(labelled.any()):
            return None
        logits, labels = logits[labelled].float(), labels[labelled]
        weight = None if class_weights is None else logits.new_tensor(class_weights)
        if self.config.classification_loss == "cross_entropy":
            return F.cross_entropy(logits, labels, weight=weight)
        log_p = F.log_softmax(logits, dim=-1).gather(1, labels[:, None]).squeeze(1)
        per_sample = -((1.0 - log_p.exp()) ** self.config.focal_gamma) * log_p
        sample_weight = torch.ones_like(per_sample) if weight is None else weight[labels]
        return (sample_weight * per_sample).sum() / sample_weight.sum()

    # -- forward ---------------------------------------------------------------------------------------------------
    def forward(
        self,
        planet_params: torch.Tensor | None = None,
        planet_params_mask: torch.Tensor | None = None,
        spectrum: torch.Tensor | None = None,
        spectrum_mask: torch.Tensor | None = None,
        light_curve: torch.Tensor | None = None,
        light_curve_mask: torch.Tensor | None = None,
        light_curve_features: torch.Tensor | None = None,
        climate_cube: torch.Tensor | None = None,
        climate_cube_mask: torch.Tensor | None = None,
        graph: Batch | None = None,
        graph_mask: torch.Tensor | None = None,
        habitability: torch.Tensor | None = None,
        hz_class: torch.Tensor | None = None,
        rocky: torch.Tensor | None = None,
        text_input_ids: torch.Tensor | None = None,
        text_attention_mask: torch.Tensor | None = None,
        text_labels: torch.Tensor | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> AstroMultimodalOutput | tuple:
        cfg = self.config
        batch_size = self._batch_size(
            planet_params=planet_params, spectrum=spectrum, light_curve=light_curve, climate_cube=climate_cube,
            graph_mask=graph_mask, spectrum_mask=spectrum_mask, light_curve_mask=light_curve_mask,
            climate_cube_mask=climate_cube_mask, planet_params_mask=planet_params_mask,
        )
        device = self.cls_token.device
        dtype = self.cls_token.dtype
        embeddings = torch.zeros(batch_size, len(MODALITIES), cfg.hidden_size, device=device, dtype=dtype)
        present = torch.zeros(batch_size, len(MODALITIES), dtype=torch.bool, device=device)
        reconstruction: list[torch.Tensor] = []
        physics: list[torch.Tensor] = []

        if planet_params is not None:
            if planet_params.dim() != 2 or planet_params.shape[1] != cfg.num_planet_params:
                raise ValueError(
                    f"planet_params must have shape [batch, {cfg.num_planet_params}] (one value per "
                    f"config.planet_param_names), got {list(planet_params.shape)}."
                )
            observed = (torch.isfinite(planet_params) if planet_params_mask is None
                        else planet_params_mask.to(torch.bool) & torch.isfinite(planet_params))
            present[:, 0] = observed.any(dim=-1)
            embeddings[:, 0] = self.planet_encoder(planet_params.to(dtype), observed)

        for index, (name, tensor, mask, encoder) in enumerate(
            (("spectrum", spectrum, spectrum_mask, self.spectrum_encoder),
             ("light_curve", light_curve, light_curve_mask, self.light_curve_encoder)), start=1):
            here = self._presence(tensor, mask, batch_size, device, name)
            present[:, index] = here
            if bool(here.any()):
                embeddings[here, index] = encoder(tensor[here].to(dtype))
                if name == "light_curve" and self.light_curve_features_encoder is not None:
                    embeddings[here, index] = embeddings[here, index] + self._search_embedding(
                        light_curve_features, here)

        here = self._presence(climate_cube, climate_cube_mask, batch_size, device, "climate_cube")
        present[:, 3] = here
        if bool(here.any()):
            cubes = climate_cube[here].to(dtype)
            if cfg.auxiliary_losses:
                # One encoder pass gives the embedding and the auxiliary losses: masked in training (the embedding is
                # the mean over visible tokens), unmasked in eval so predictions do not depend on a random mask.
                cube_out = self.climate_encoder(climate_cube=cubes, mask_ratio=None if self.training else 0.0)
                cube_embedding = cube_out.cube_embedding
                reconstruction.append(cube_out.reconstruction_loss)
                physics.append(cube_out.physics_loss)
            else:
                cube_embedding = self.climate_encoder.embed(cubes)
            embeddings[here, 3] = self.climate_proj(cube_embedding)

        here = self._presence(graph, graph_mask, batch_size, device, "graph")
        present[:, 4] = here
        if bool(here.any()):
            if int(here.sum()) != graph.num_graphs:
                raise ValueError(
                    f"graph holds {graph.num_graphs} graphs but graph_mask marks {int(here.sum())} samples as "
                    "having one; the Batch must hold exactly the present samples' graphs, in batch order."
                )
            if not cfg.auxiliary_losses:  # the embedding only: no decoders, no negative sampling
                embeddings[here, 4] = self.graph_proj(self.graph_encoder.encode_graph(graph=graph).to(dtype))
            else:
                graph_out = self.graph_encoder(graph=graph)
                embeddings[here, 4] = self.graph_proj(graph_out.graph_embedding.to(dtype))
                gcfg = cfg.graph_config
                reconstruction.append(
                    gcfg.edge_reconstruction_weight * graph_out.edge_reconstruction_loss
                    + gcfg.feature_reconstruction_weight * graph_out.feature_reconstruction_loss
                    + gcfg.kl_weight * graph_out.kl_loss
                )
                physics.append(graph_out.constraint_loss)

        fused = self.fuse(embeddings, present)
        hz_class_logits = self.hz_class_head(fused)
        rocky_logits = self.rocky_logits(fused, planet_params, planet_params_mask)
        habitability_logits = self.habitability_logits(fused, hz_class_logits, rocky_logits)

        components: dict[str, torch.Tensor | None] = {}
        habitability_loss = self._labelled_cross_entropy(habitability_logits, habitability,
                                                         cfg.habitability_class_weights)
        hz_class_loss = self._labelled_cross_entropy(hz_class_logits, hz_class, cfg.hz_class_weights)
        rocky_loss = self._rocky_loss(rocky_logits, rocky)
        # The factorised head learns each factor from its own label when the batch carries the size label (a batch
        # whose rows all lack a size then trains the temperate factor only): the product's cross-entropy would also
        # push P(rocky) down for every small planet outside the zone.
        factor_labels = rocky is not None and rocky_logits is not None
        terms = (hz_class_loss, rocky_loss) if factor_labels else (habitability_loss, hz_class_loss)
        labelled = [loss for loss in terms if loss is not None]
        components["classification"] = torch.stack(labelled).sum() if labelled else None
        components["reconstruction"] = torch.stack(reconstruction).sum() if reconstruction else None
        components["physics"] = torch.stack(physics).sum() if physics else None
        # a term with weight 0 is not computed (it would cost time and add nothing to the loss)
        components["consistency"] = (self.consistency_loss(embeddings, present)
                                     if cfg.loss_weights["consistency"] > 0 else None)

        llm_logits = None
        components["language_modeling"] = None
        if text_input_ids is not None:
            if self.language_model is None:
                raise ValueError("text_input_ids were given but this model has no LLM head (config.llm_config is None).")
            llm_out = self.language_model(
                input_ids=text_input_ids, attention_mask=text_attention_mask, labels=text_labels, evidence=fused,
                use_cache=False,
            )
            llm_logits = llm_out.logits
            components["language_modeling"] = llm_out.loss

        weighted = [cfg.loss_weights[name] * value for name, value in components.items() if value is not None]
        output = AstroMultimodalOutput(
            loss=torch.stack(weighted).sum() if weighted else None,
            classification_loss=components["classification"],
            habitability_loss=habitability_loss,
            hz_class_loss=hz_class_loss,
            rocky_loss=rocky_loss,
            reconstruction_loss=components["reconstruction"],
            physics_loss=components["physics"],
            consistency_loss=components["consistency"],
            language_modeling_loss=components["language_modeling"],
            habitability_logits=habitability_logits,
            hz_class_logits=hz_class_logits,
            fused_embedding=fused,
            modality_embeddings=embeddings,
            modality_mask=present,
            llm_logits=llm_logits,
        )
        return output if return_dict is not False else output.to_tuple()

    def rocky_logits(self, fused: torch.Tensor, planet_params: torch.Tensor | None,
                     planet_params_mask: torch.Tensor | None) -> torch.Tensor | None:
        """`[B]` logit of P(rocky) from the size columns alone (None with the direct head)."""
        cfg = self.config
        if cfg.habitability_head == "direct":
            return None
        columns = [cfg.planet_param_names.index(c) for c in cfg.rocky_columns]
        if planet_params is None:
            size = fused.new_zeros(fused.shape[0], len(columns))
            observed = torch.zeros_like(size, dtype=torch.bool)
        else:
            size = planet_params[:, columns].to(fused.dtype)
            observed = torch.isfinite(size) if planet_params_mask is None else (
                planet_params_mask[:, columns].to(torch.bool) & torch.isfinite(size))
        return self.rocky_head(size, observed).float().squeeze(-1)

    def habitability_logits(self, fused: torch.Tensor, hz_class_logits: torch.Tensor,
                            rocky_logits: torch.Tensor | None) -> torch.Tensor:
        """`[B, 2]` logits of (not habitable, habitable). With `habitability_head="temperate_and_rocky"` they are
        `[log(1 - p), log p]` for p = P(temperate) x P(rocky | size columns), so a softmax gives back (1 - p, p)."""
        cfg = self.config
        if cfg.habitability_head == "direct":
            return self.habitability_head(fused)
        temperate = cfg.hz_class_names.index("temperate")
        log_p = F.log_softmax(hz_class_logits.float(), dim=-1)[:, temperate] + F.logsigmoid(rocky_logits)
        log_p = log_p.clamp(max=-1e-6)  # p < 1, so log(1 - p) stays finite
        return torch.stack([torch.log(-torch.expm1(log_p)), log_p], dim=-1).to(fused.dtype)

    @staticmethod
    def _rocky_loss(rocky_logits: torch.Tensor | None, rocky: torch.Tensor | None) -> torch.Tensor | None:
        """Binary cross-entropy of the size factor over the rows with a size label (-100 = none)."""
        if rocky_logits is None or rocky is None:
            return None
        rocky = rocky.to(rocky_logits.device).long().reshape(-1)
        labelled = rocky != -100
        if not bool(labelled.any()):
            return None
        return F.binary_cross_entropy_with_logits(rocky_logits[labelled], rocky[labelled].float())

    def _search_embedding(self, features: torch.Tensor | None, here: torch.Tensor) -> torch.Tensor:
        """The light curves' search features `[B, K]` (NaN = not found) embedded for the rows ``here``."""
        count = len(self.config.light_curve_feature_names)
        if features is None:  # a light curve given without its search: every feature masked
            features = torch.full((here.shape[0], count), float("nan"), device=here.device)
        if features.dim() != 2 or features.shape[1] != count:
            raise ValueError(f"light_curve_features must have shape [batch, {count}] (config "
                             f"light_curve_feature_names), got {list(features.shape)}.")
        values = features[here].to(self.cls_token.dtype)
        return self.light_curve_features_encoder(values, torch.isfinite(values))

    def fuse(self, embeddings: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """CLS + present modality tokens through the fusion layers; returns the normalised CLS output."""
        batch_size = embeddings.shape[0]
        type_ids = torch.arange(len(MODALITIES) + 1, device=embeddings.device)
        tokens = torch.cat([self.cls_token.expand(batch_size, -1, -1), embeddings], dim=1)
        tokens = tokens + self.modality_type(type_ids).unsqueeze(0)
        # True = ignore; the CLS token (column 0) is always attended so every row has at least one key.
        padding_mask = torch.cat([present.new_zeros(batch_size, 1), ~present], dim=1)
        for layer in self.fusion_layers:
            tokens = layer(tokens, padding_mask)
        return self.fusion_norm(tokens[:, 0])

    @torch.no_grad()
    def predict_proba(self, **inputs) -> dict[str, torch.Tensor]:
        """Habitability probability `[B]` and hz_class probabilities `[B, num_hz_classes]` (eval mode, no losses)."""
        was_training = self.training
        self.eval()
        try:
            out = self(**inputs)
        finally:
            self.train(was_training)
        return {
            "habitability": out.habitability_logits.softmax(-1)[:, 1],
            "hz_class": out.hz_class_logits.softmax(-1),
            "modality_mask": out.modality_mask,
        }


__all__ = ["AstroMultimodalModel", "AstroMultimodalOutput", "AstroMultimodalPreTrainedModel"]
