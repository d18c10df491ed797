"""AstroDatacubeModel: a Vision Transformer masked autoencoder for climate cubes, patched at the input.

Input: float32 cubes `[batch, vars, time, lev, lat, lon]`, normalised per variable with the config's statistics.

How the five data dimensions are handled:

* **time, lev, lat, lon** are cut into 4-D tubelets of `patch_time x patch_lev x patch_lat x patch_lon` grid points;
  **vars** are the channels of a tubelet. Each tubelet (all variables) is flattened and projected linearly to
  `hidden_size`: a kernel = stride patch embedding, the tokeniser of ViT / VideoMAE / ClimaX / Prithvi-WxC, written
  as patchify + `nn.Linear` because torch has no Conv4d (a Conv3d cannot cut four axes). Every variable sees every
  other one in the first projection; space and time are mixed by attention between tokens. The compute is spent in
  the transformer (the projection is about 6% of the small preset's FLOPs).
* An optional full-resolution CNN stem (`config.stem_channels`, empty in every preset) runs `Conv3d` blocks over
  (lev, lat, lon) per time step before the tubelets are cut (periodic longitude padding). It was the v1 design; it
  cost 5x the FLOPs of a step and reached a worse held-out reconstruction in the same wall time (benchmarks/
  RESULTS.md); it stays so v1 checkpoints load.

Tokens get fixed 4-D sin-cos position embeddings (one block of frequencies per axis), so any grid the config names
works without learned tables. The encoder is a stack of transformers' `ViTLayer`s built from this model's own
config (it carries the ViTConfig field names), so attention goes through transformers' attention registry and
follows `model.config._attn_implementation` (sdpa / eager / flash); `ViTLayer` is already a
`GradientCheckpointingLayer`.

Objective (SimMIM-style masked reconstruction): a `mask_ratio` fraction of the tokens of each sample is chosen at
random and replaced by a learned mask token (a token depends on its own tubelet only, so nothing of a masked tubelet
reaches the encoder; with a stem, masked tubelets are also zeroed before it so its receptive field cannot leak them).
A linear head maps every encoder output token back to its `vars x tubelet` voxels. The reconstruction loss is the
MSE over masked tubelets only (over all tubelets when nothing is masked). The physics term (see `physics_datacube`)
is computed on the whole reconstruction after denormalisation to physical units, so its gradient flows through the
prediction into the head, the encoder and the patch embedding.

`cube_embedding` is the mean of the final hidden states over visible tokens, so one masked pass gives both the
auxiliary losses and an embedding (the multimodal model uses this); `embed()` computes it without masking.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.models.vit.modeling_vit import ViTLayer
from transformers.utils import ModelOutput

from .configuration_datacube import AstroDatacubeConfig
from .physics_datacube import denormalize, lapse_rate_penalty, nonnegativity_penalty


@dataclass
class AstroDatacubeOutput(ModelOutput):
    """Output of [`AstroDatacubeModel`].

    loss: `reconstruction_loss_weight * reconstruction_loss + physics_loss_weight * physics_loss`.
    reconstruction_loss: MSE over masked tubelets (normalised units).
    physics_loss: lapse-rate + non-negativity penalty of the denormalised reconstruction.
    reconstruction: `[batch, vars, time, lev, lat, lon]`, normalised units (same as the input).
    patch_mask: `[batch, num_patches]`, True where a token was masked.
    last_hidden_state: `[batch, num_patches, hidden_size]`.
    cube_embedding: `[batch, hidden_size]`, mean over visible tokens.
    hidden_states: the embeddings and every layer's output, when `output_hidden_states=True`.
    """

    loss: torch.FloatTensor | None = None
    reconstruction_loss: torch.FloatTensor | None = None
    physics_loss: torch.FloatTensor | None = None
    reconstruction: torch.FloatTensor | None = None
    patch_mask: torch.BoolTensor | None = None
    last_hidden_state: torch.FloatTensor | None = None
    cube_embedding: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None


# -- tubelet helpers ----------
def patchify(cube: torch.Tensor, patch: tuple[int, int, int, int]) -> torch.Tensor:
    """`[B, C, T, L, Y, X]` -> `[B, num_patches, C * pt * pl * py * px]`, tokens in (time, lev, lat, lon) order."""
    b, c, t, lv, y, x = cube.shape
    pt, pl, py, px = patch
    cube = cube.reshape(b, c, t // pt, pt, lv // pl, pl, y // py, py, x // px, px)
    cube = cube.permute(0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
    return cube.reshape(b, (t // pt) * (lv // pl) * (y // py) * (x // px), c * pt * pl * py * px)


def unpatchify(
    patches: torch.Tensor, channels: int, grid: tuple[int, int, int, int], patch: tuple[int, int, int, int]
) -> torch.Tensor:
    """Inverse of `patchify`: `[B, N, C * pt * pl * py * px]` -> `[B, C, T, L, Y, X]` for the token `grid`."""
    b = patches.shape[0]
    nt, nl, ny, nx = grid
    pt, pl, py, px = patch
    cube = patches.reshape(b, nt, nl, ny, nx, channels, pt, pl, py, px)
    cube = cube.permute(0, 5, 1, 6, 2, 7, 3, 8, 4, 9)
    return cube.reshape(b, channels, nt * pt, nl * pl, ny * py, nx * px)


def random_patch_mask(
    batch_size: int, num_patches: int, mask_ratio: float, device: torch.device, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Boolean `[batch, num_patches]`, True = masked: the same count per sample (round(ratio * N), at least one and
    at most N - 1 when `mask_ratio > 0`), at random positions."""
    if mask_ratio <= 0:
        return torch.zeros(batch_size, num_patches, dtype=torch.bool, device=device)
    num_masked = min(max(round(mask_ratio * num_patches), 1), num_patches - 1)
    noise = torch.rand(batch_size, num_patches, device=device, generator=generator)
    ranks = noise.argsort(dim=1).argsort(dim=1)
    return ranks < num_masked


def masked_reconstruction_loss(
    predicted_patches: torch.Tensor, target_patches: torch.Tensor, patch_mask: torch.Tensor
) -> torch.Tensor:
    """Mean over masked tubelets of the per-tubelet MSE; over all tubelets when none is masked."""
    per_patch = (predicted_patches - target_patches).square().mean(dim=-1)
    if not bool(patch_mask.any()):
        return per_patch.mean()
    weights = patch_mask.to(per_patch.dtype)
    return (per_patch * weights).sum() / weights.sum()


def sincos_position_embedding(
    token_grid: tuple[int, ...], dim: int, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """Fixed `[num_tokens, dim]` sin-cos embedding: `dim // (2 * axes)` frequencies per axis, zero-padded to `dim`.

    The multi-axis extension of the 1-D Transformer embedding used by MAE (2-D) and VideoMAE (3-D); written here
    because transformers ships only fixed 2-D versions and numpy helpers.
    """
    num_freq = dim // (2 * len(token_grid))
    omega = 1.0 / (10000.0 ** (torch.arange(num_freq, device=device, dtype=torch.float32) / max(num_freq, 1)))
    coords = torch.meshgrid(*[torch.arange(n, device=device, dtype=torch.float32) for n in token_grid], indexing="ij")
    parts = []
    for axis_coords in coords:
        angles = axis_coords.reshape(-1, 1) * omega
        parts += [angles.sin(), angles.cos()]
    embedding = torch.cat(parts, dim=-1)
    return F.pad(embedding, (0, dim - embedding.shape[-1])).to(dtype)


# -- modules ----------
class AstroDatacubeStemBlock(nn.Module):
    """Conv3d over (lev, lat, lon) with periodic longitude padding, then GELU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__()
        self.pad = kernel_size // 2
        self.conv = nn.Conv3d(in_channels, out_channels, kernel_size, padding=(self.pad, self.pad, 0))
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad:
            x = F.pad(x, (self.pad, self.pad, 0, 0, 0, 0), mode="circular")
        return self.act(self.conv(x))


class AstroDatacubeStem(nn.Module):
    """The CNN stem: `[B, V, T, L, Y, X]` -> `[B, C, T, L, Y, X]`, Conv3d blocks applied per time step."""

    def __init__(self, config: AstroDatacubeConfig):
        super().__init__()
        channels = [config.num_variables, *config.stem_channels]
        self.blocks = nn.ModuleList(
            AstroDatacubeStemBlock(c_in, c_out, config.stem_kernel_size) for c_in, c_out in pairwise(channels)
        )
        self.out_channels = channels[-1]

    def forward(self, cube: torch.Tensor) -> torch.Tensor:
        b, v, t, lv, y, x = cube.shape
        features = cube.transpose(1, 2).reshape(b * t, v, lv, y, x)
        for block in self.blocks:
            features = block(features)
        return features.reshape(b, t, self.out_channels, lv, y, x).transpose(1, 2)


class AstroDatacubeEmbeddings(nn.Module):
    """Tubelet projection (optionally of CNN-stem features), mask token and 4-D sin-cos positions: `[B, N, hidden]`."""

    def __init__(self, config: AstroDatacubeConfig):
        super().__init__()
        self.config = config
        self.stem = AstroDatacubeStem(config) if config.stem_channels else None
        channels = self.stem.out_channels if self.stem is not None else config.num_variables
        patch_voxels = config.patch_time * config.patch_lev * config.patch_lat * config.patch_lon
        self.projection = nn.Linear(channels * patch_voxels, config.hidden_size)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self, cube: torch.Tensor, patch_mask: torch.Tensor | None = None, patches: torch.Tensor | None = None
    ) -> torch.Tensor:
        """`patches` may pass `patchify(cube)` when the caller has it already (no stem: it is the projection input)."""
        cfg = self.config
        if self.stem is None:
            tokens = self.projection(patches if patches is not None else patchify(cube, cfg.patch_shape))
        else:
            if patch_mask is not None:
                # Zero masked tubelets before the stem so its receptive field cannot leak them into visible tokens.
                voxels = patch_mask[..., None].expand(
                    -1, -1, cfg.patch_time * cfg.patch_lev * cfg.patch_lat * cfg.patch_lon
                )
                voxel_mask = unpatchify(voxels, 1, cfg.token_grid, cfg.patch_shape)
                cube = cube.masked_fill(voxel_mask, 0.0)
            tokens = self.projection(patchify(self.stem(cube), cfg.patch_shape))
        if patch_mask is not None:
            tokens = torch.where(patch_mask[..., None], self.mask_token.to(tokens.dtype), tokens)
        tokens = tokens + sincos_position_embedding(cfg.token_grid, cfg.hidden_size, tokens.device, tokens.dtype)
        return self.dropout(tokens)


class AstroDatacubePreTrainedModel(PreTrainedModel):
    """Weights init, capability flags and save/load for the datacube models."""

    config: AstroDatacubeConfig
    config_class = AstroDatacubeConfig
    base_model_prefix = "datacube"
    main_input_name = "climate_cube"
    supports_gradient_checkpointing = True
    _no_split_modules: ClassVar[list[str]] = ["ViTLayer"]
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_flex_attn = True
    _supports_attention_backend = True
    # The loss is a mean over masked tubelets, not a token sum: the Trainer must not rescale it for accumulation.
    accepts_loss_kwargs = False

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """transformers' defaults, plus He init for the GELU stem convolutions and a small random mask token."""
        if isinstance(module, nn.Conv3d):
            init.kaiming_normal_(module.weight, nonlinearity="relu")
            if module.bias is not None:
                init.zeros_(module.bias)
            return
        super()._init_weights(module)
        if isinstance(module, AstroDatacubeEmbeddings):
            init.trunc_normal_(module.mask_token, mean=0.0, std=self.config.initializer_range)


class AstroDatacubeModel(AstroDatacubePreTrainedModel):
    """Masked-reconstruction encoder of climate cubes; `embed()` gives the cube embedding for multimodal fusion."""

    def __init__(self, config: AstroDatacubeConfig):
        super().__init__(config)
        self.embeddings = AstroDatacubeEmbeddings(config)
        self.layers = nn.ModuleList(ViTLayer(config) for _ in range(config.num_hidden_layers))
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        patch_voxels = config.patch_time * config.patch_lev * config.patch_lat * config.patch_lon
        self.reconstruction_head = nn.Linear(config.hidden_size, config.num_variables * patch_voxels)
        self.post_init()

    # -- input checks ----------
    def _check_cube(self, climate_cube: torch.Tensor) -> torch.Tensor:
        expected = self.config.grid_shape
        if (
            not isinstance(climate_cube, torch.Tensor)
            or climate_cube.dim() != 6
            or tuple(climate_cube.shape[1:]) != expected
        ):
            got = list(climate_cube.shape) if isinstance(climate_cube, torch.Tensor) else type(climate_cube).__name__
            raise ValueError(
                "climate_cube must have shape [batch, vars, time, lev, lat, lon] = "
                f"[batch, {', '.join(map(str, expected))}] for this config, got {got}."
            )
        if not climate_cube.is_floating_point():
            raise ValueError(f"climate_cube must be a floating-point tensor, got dtype {climate_cube.dtype}.")
        return climate_cube.to(self.embeddings.projection.weight.dtype)

    def _check_patch_mask(self, patch_mask: torch.Tensor, batch_size: int) -> torch.Tensor:
        expected = (batch_size, self.config.num_patches)
        if tuple(patch_mask.shape) != expected:
            raise ValueError(
                f"patch_mask must have shape [batch, num_patches] = {list(expected)}, got {list(patch_mask.shape)}."
            )
        patch_mask = patch_mask.bool()
        if bool(patch_mask.all(dim=1).any()):
            raise ValueError("patch_mask masks every token of a sample; at least one token must stay visible.")
        return patch_mask

    # -- building blocks ----------
    def _encode(
        self,
        climate_cube: torch.Tensor,
        patch_mask: torch.Tensor | None,
        output_hidden_states: bool = False,
        patches: torch.Tensor | None = None,
        **kwargs,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None]:
        """Embeddings + ViT layers + final LayerNorm: `[B, N, hidden]`, plus (when asked) the embeddings and every
        layer's output before the final LayerNorm."""
        hidden_states = self.embeddings(climate_cube, patch_mask, patches)
        all_hidden: tuple[torch.Tensor, ...] | None = (hidden_states,) if output_hidden_states else None
        for layer in self.layers:
            hidden_states = layer(hidden_states, None, **kwargs)
            if all_hidden is not None:
                all_hidden += (hidden_states,)
        return self.layernorm(hidden_states), all_hidden

    def physics_loss(self, reconstruction: torch.Tensor) -> torch.Tensor:
        """Lapse-rate + non-negativity penalties of a normalised `[B, V, T, L, Y, X]` cube, in physical units."""
        cfg = self.config
        penalised = list(dict.fromkeys(
            [*([cfg.temperature_variable] if cfg.temperature_variable else []), *cfg.nonnegative_variables]
        ))
        if not penalised:
            return reconstruction.new_zeros((), dtype=torch.float32)
        # Only the penalised variables are denormalised: one gather instead of a full-cube denormalisation and a
        # full-size gradient buffer per selected variable in the backward pass.
        index = [cfg.variable_names.index(name) for name in penalised]
        picked = reconstruction.float().index_select(1, torch.as_tensor(index, device=reconstruction.device))
        physical = denormalize(
            picked, [cfg.normalization_mean[i] for i in index], [cfg.normalization_std[i] for i in index]
        )
        loss = physical.new_zeros(())
        if cfg.temperature_variable is not None:  # the first penalised variable
            loss = loss + lapse_rate_penalty(physical[:, 0], cfg.pressure_levels, cfg.adiabatic_exponent, level_dim=-3)
        temperature = [cfg.temperature_variable] if cfg.temperature_variable else []
        for name in dict.fromkeys([*cfg.nonnegative_variables, *temperature]):  # the order of the sum as before
            position = penalised.index(name)
            loss = loss + nonnegativity_penalty(physical[:, position], cfg.normalization_std[index[position]])
        return loss

    # -- public API ----------
    def embed(self, climate_cube: torch.Tensor) -> torch.Tensor:
        """Cube embedding `[batch, hidden_size]` with no masking: mean of the final hidden states over all tokens."""
        hidden_states, _ = self._encode(self._check_cube(climate_cube), None)
        return hidden_states.mean(dim=1)

    def forward(
        self,
        climate_cube: torch.Tensor,
        mask_ratio: float | None = None,
        patch_mask: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool = True,
        **kwargs,
    ) -> AstroDatacubeOutput | tuple:
        r"""Masked reconstruction of `climate_cube` `[batch, vars, time, lev, lat, lon]` (normalised units).

        mask_ratio: fraction of tokens to mask (default `config.mask_ratio`; 0 = plain autoencoding).
        patch_mask: optional explicit boolean mask `[batch, num_patches]` (True = masked); overrides `mask_ratio`.
        """
        cfg = self.config
        climate_cube = self._check_cube(climate_cube)
        batch_size = climate_cube.shape[0]
        if patch_mask is None:
            ratio = cfg.mask_ratio if mask_ratio is None else mask_ratio
            if not 0.0 <= ratio < 1.0:
                raise ValueError(f"mask_ratio must be in [0, 1), got {ratio}.")
            # eval mode draws the same mask every call, so one checkpoint's eval loss does not vary between runs
            patch_mask = random_patch_mask(batch_size, cfg.num_patches, ratio, climate_cube.device, generator=None
                                           if self.training else torch.Generator(climate_cube.device).manual_seed(0))
        else:
            patch_mask = self._check_patch_mask(patch_mask.to(climate_cube.device), batch_size)
        output_hidden_states = bool(
            output_hidden_states if output_hidden_states is not None else cfg.output_hidden_states
        )

        target_patches = patchify(climate_cube, cfg.patch_shape)
        hidden_states, all_hidden = self._encode(
            climate_cube, patch_mask, output_hidden_states, patches=target_patches, **kwargs
        )
        predicted_patches = self.reconstruction_head(hidden_states)
        reconstruction = unpatchify(predicted_patches, cfg.num_variables, cfg.token_grid, cfg.patch_shape)

        reconstruction_loss = masked_reconstruction_loss(predicted_patches.float(), target_patches.float(), patch_mask)
        physics_loss = self.physics_loss(reconstruction)
        loss = cfg.reconstruction_loss_weight * reconstruction_loss + cfg.physics_loss_weight * physics_loss

        visible = (~patch_mask).to(hidden_states.dtype).unsqueeze(-1)
        cube_embedding = (hidden_states * visible).sum(dim=1) / visible.sum(dim=1)

        output = AstroDatacubeOutput(
            loss=loss,
            reconstruction_loss=reconstruction_loss,
            physics_loss=physics_loss,
            reconstruction=reconstruction,
            patch_mask=patch_mask,
            last_hidden_state=hidden_states,
            cube_embedding=cube_embedding,
            hidden_states=all_hidden,
        )
        return output if return_dict else output.to_tuple()


__all__ = ["AstroDatacubeModel", "AstroDatacubeOutput", "AstroDatacubePreTrainedModel"]
