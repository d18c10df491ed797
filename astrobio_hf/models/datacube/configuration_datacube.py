"""Configuration of AstroDatacubeModel, the tubelet-embedding ViT masked autoencoder for climate cubes."""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig

# Mandatory-level sets used by the presets (hPa). CMIP6 "plev" subsets, ordered surface -> top.
_LEVELS_4 = (1000.0, 850.0, 500.0, 250.0)
_LEVELS_8 = (1000.0, 850.0, 700.0, 500.0, 400.0, 300.0, 250.0, 200.0)

# Climatological scale of the preset variables (Earth-like, physical units): air temperature (K),
# specific humidity (kg/kg), eastward / northward wind (m/s).
_STATS = {"ta": (250.0, 20.0), "hus": (0.005, 0.005), "ua": (0.0, 10.0), "va": (0.0, 10.0)}


def _stats(names: tuple[str, ...]) -> dict[str, list[float]]:
    return {
        "normalization_mean": [_STATS[n][0] for n in names],
        "normalization_std": [_STATS[n][1] for n in names],
    }


@strict
class AstroDatacubeConfig(PreTrainedConfig):
    r"""Configuration of [`AstroDatacubeModel`].

    Input cubes are float32 `[batch, vars, time, lev, lat, lon]` (the project-wide order), already normalised per
    variable with `normalization_mean` / `normalization_std`; those statistics are used to go back to physical units
    before the physics term.

    Grid: `num_variables`, `num_time`, `num_levels`, `num_lat`, `num_lon`; each of time/lev/lat/lon must be divisible
    by its patch size (`patch_time`, `patch_lev`, `patch_lat`, `patch_lon`). A token is one tubelet of
    `patch_time x patch_lev x patch_lat x patch_lon` grid points of every variable, projected linearly to
    `hidden_size` (a kernel = stride patch embedding, as in ViT, VideoMAE, ClimaX and Prithvi-WxC).

    Optional full-resolution CNN stem (off in every preset): `stem_channels` (one Conv3d block per entry, over
    (lev, lat, lon), vars as input channels) with an odd `stem_kernel_size`; the tubelets are then taken from the
    stem features. It was the v1 design (`stem_channels=[32, 64]`); at the small grid it costs 5x the FLOPs of a train
    step and reaches a worse held-out reconstruction in the same wall time (benchmarks/RESULTS.md); it is kept so v1
    checkpoints load.
    Transformer: the ViT fields (`hidden_size`, `num_hidden_layers`, `num_attention_heads`,
    `intermediate_size`, `hidden_act`, `hidden_dropout_prob`, `attention_probs_dropout_prob`, `layer_norm_eps`,
    `qkv_bias`, `initializer_range`) keep the names and meaning of `ViTConfig`, because the encoder blocks are
    transformers' `ViTLayer`s driven by this config directly. `hidden_size` is also the size of the cube embedding.

    Objective: `mask_ratio` of the patch tokens is masked and reconstructed. The physics term uses
    `variable_names` to find `temperature_variable` (air temperature in K) and `nonnegative_variables`
    (e.g. specific humidity), `pressure_levels` (hPa, one per `lev`, strictly monotonic) and `adiabatic_exponent`
    (kappa = R/c_p of the atmosphere: 2/7 for dry air / any diatomic ideal gas; about 0.23 for CO2-rich air).
    `loss = reconstruction_loss_weight * reconstruction + physics_loss_weight * physics`.
    Named sizes are in `DATACUBE_PRESETS`.
    """

    model_type = "astro_datacube"

    # grid [vars, time, lev, lat, lon]
    num_variables: int = 4
    num_time: int = 12
    num_levels: int = 8
    num_lat: int = 32
    num_lon: int = 64
    patch_time: int = 3
    patch_lev: int = 2
    patch_lat: int = 8
    patch_lon: int = 8
    # optional full-resolution CNN stem (empty: tubelets of the raw cube, the default)
    stem_channels: list[int] | tuple[int, ...] = ()
    stem_kernel_size: int = 3
    # ViT encoder (ViTConfig names)
    hidden_size: int = 256
    num_hidden_layers: int = 6
    num_attention_heads: int = 8
    intermediate_size: int = 1024
    hidden_act: str = "gelu"
    hidden_dropout_prob: float | int = 0.0
    attention_probs_dropout_prob: float | int = 0.0
    layer_norm_eps: float = 1e-6
    qkv_bias: bool = True
    initializer_range: float = 0.02
    # objective
    mask_ratio: float | int = 0.5
    variable_names: list[str] | tuple[str, ...] = ("ta", "hus", "ua", "va")
    pressure_levels: list[float] | tuple[float, ...] = _LEVELS_8
    normalization_mean: list[float] | tuple[float, ...] | None = None
    normalization_std: list[float] | tuple[float, ...] | None = None
    temperature_variable: str | None = "ta"
    nonnegative_variables: list[str] | tuple[str, ...] = ("hus",)
    adiabatic_exponent: float = 2.0 / 7.0
    reconstruction_loss_weight: float | int = 1.0
    physics_loss_weight: float | int = 0.1

    def __post_init__(self, **kwargs: Any) -> None:
        # Lists, not tuples, so a config equals its JSON round trip.
        self.stem_channels = list(self.stem_channels)
        self.variable_names = list(self.variable_names)
        self.nonnegative_variables = list(self.nonnegative_variables)
        self.pressure_levels = [float(p) for p in self.pressure_levels]
        if self.normalization_mean is None:
            self.normalization_mean = [0.0] * self.num_variables
        if self.normalization_std is None:
            self.normalization_std = [1.0] * self.num_variables
        self.normalization_mean = [float(m) for m in self.normalization_mean]
        self.normalization_std = [float(s) for s in self.normalization_std]
        super().__post_init__(**kwargs)
        # @strict would wrap this ValueError in StrictDataclassClassValidationError; run it here first so callers get
        # a plain ValueError naming the field. (@strict runs it again afterwards; it passes then.)
        self.validate_architecture()

    # -- derived sizes ----------
    @property
    def grid_shape(self) -> tuple[int, int, int, int, int]:
        """Expected per-sample cube shape `(vars, time, lev, lat, lon)`."""
        return (self.num_variables, self.num_time, self.num_levels, self.num_lat, self.num_lon)

    @property
    def patch_shape(self) -> tuple[int, int, int, int]:
        """Tubelet size `(time, lev, lat, lon)`."""
        return (self.patch_time, self.patch_lev, self.patch_lat, self.patch_lon)

    @property
    def token_grid(self) -> tuple[int, int, int, int]:
        """Number of tokens along `(time, lev, lat, lon)`."""
        return (
            self.num_time // self.patch_time,
            self.num_levels // self.patch_lev,
            self.num_lat // self.patch_lat,
            self.num_lon // self.patch_lon,
        )

    @property
    def num_patches(self) -> int:
        """Sequence length of the encoder."""
        return math.prod(self.token_grid)

    # -- validation ----------
    def validate_architecture(self) -> None:
        """Reject grids, sizes and physics settings the model cannot use, naming the field at fault."""
        super().validate_architecture()
        name = type(self).__name__
        positive = (
            "num_variables", "num_time", "num_levels", "num_lat", "num_lon",
            "patch_time", "patch_lev", "patch_lat", "patch_lon", "stem_kernel_size",
            "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
        )  # fmt: skip
        for field_name in positive:
            value = getattr(self, field_name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}.{field_name} must be a positive integer, got {value!r}.")
        for dim, patch in (("num_time", "patch_time"), ("num_levels", "patch_lev"),
                           ("num_lat", "patch_lat"), ("num_lon", "patch_lon")):  # fmt: skip
            if getattr(self, dim) % getattr(self, patch) != 0:
                raise ValueError(
                    f"{name}.{dim} ({getattr(self, dim)}) must be divisible by {patch} ({getattr(self, patch)})."
                )
        if self.stem_kernel_size % 2 != 1:
            raise ValueError(f"{name}.stem_kernel_size must be odd (same-size padding), got {self.stem_kernel_size}.")
        if self.stem_kernel_size // 2 > self.num_lon:
            raise ValueError(
                f"{name}.stem_kernel_size ({self.stem_kernel_size}) is too wide for num_lon ({self.num_lon}) "
                "(the stem pads longitude periodically)."
            )
        if any(not isinstance(c, int) or c <= 0 for c in self.stem_channels):
            raise ValueError(f"{name}.stem_channels must be positive integers, got {self.stem_channels!r}.")
        if self.hidden_size < 8:
            raise ValueError(
                f"{name}.hidden_size must be >= 8 (two sin-cos features per axis of the 4-D token grid), "
                f"got {self.hidden_size}."
            )
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"{name}.hidden_size ({self.hidden_size}) must be divisible by "
                f"num_attention_heads ({self.num_attention_heads})."
            )
        if not 0.0 <= self.mask_ratio < 1.0:
            raise ValueError(f"{name}.mask_ratio must be in [0, 1), got {self.mask_ratio}.")
        for field_name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            if not 0.0 <= getattr(self, field_name) < 1.0:
                raise ValueError(f"{name}.{field_name} must be in [0, 1), got {getattr(self, field_name)}.")
        self._validate_variables(name)
        self._validate_physics(name)

    def _validate_variables(self, name: str) -> None:
        if len(self.variable_names) != self.num_variables:
            raise ValueError(
                f"{name}.variable_names has {len(self.variable_names)} entries but num_variables is "
                f"{self.num_variables}."
            )
        if len(set(self.variable_names)) != len(self.variable_names):
            raise ValueError(f"{name}.variable_names must be unique, got {self.variable_names!r}.")
        for field_name in ("normalization_mean", "normalization_std"):
            values = getattr(self, field_name)
            if len(values) != self.num_variables:
                raise ValueError(
                    f"{name}.{field_name} has {len(values)} entries but num_variables is {self.num_variables}."
                )
            if not all(math.isfinite(v) for v in values):
                raise ValueError(f"{name}.{field_name} must be finite, got {values!r}.")
        if any(s <= 0 for s in self.normalization_std):
            raise ValueError(f"{name}.normalization_std must be > 0, got {self.normalization_std!r}.")

    def _validate_physics(self, name: str) -> None:
        if len(self.pressure_levels) != self.num_levels:
            raise ValueError(
                f"{name}.pressure_levels has {len(self.pressure_levels)} entries but num_levels is {self.num_levels}."
            )
        if any(not (p > 0 and math.isfinite(p)) for p in self.pressure_levels):
            raise ValueError(f"{name}.pressure_levels must be positive (hPa), got {self.pressure_levels!r}.")
        steps = [b - a for a, b in pairwise(self.pressure_levels)]
        if not (all(s < 0 for s in steps) or all(s > 0 for s in steps)):
            raise ValueError(
                f"{name}.pressure_levels must be strictly monotonic (no repeated level), got {self.pressure_levels!r}."
            )
        if self.temperature_variable is not None and self.temperature_variable not in self.variable_names:
            raise ValueError(
                f"{name}.temperature_variable {self.temperature_variable!r} is not in variable_names "
                f"{self.variable_names!r}."
            )
        unknown = [v for v in self.nonnegative_variables if v not in self.variable_names]
        if unknown:
            raise ValueError(
                f"{name}.nonnegative_variables {unknown!r} are not in variable_names {self.variable_names!r}."
            )
        if not 0.0 < self.adiabatic_exponent < 1.0:
            raise ValueError(f"{name}.adiabatic_exponent (R/c_p) must be in (0, 1), got {self.adiabatic_exponent}.")
        for field_name in ("reconstruction_loss_weight", "physics_loss_weight"):
            if getattr(self, field_name) < 0:
                raise ValueError(f"{name}.{field_name} must be >= 0, got {getattr(self, field_name)}.")


_TINY_VARS = ("ta", "hus")
_FULL_VARS = ("ta", "hus", "ua", "va")

DATACUBE_PRESETS: dict[str, dict[str, Any]] = {
    # unit tests and the CPU demo: 2 x 2 x 4 x 8 x 16 cube, 16 tokens
    "tiny": {
        "num_variables": 2, "num_time": 2, "num_levels": 4, "num_lat": 8, "num_lon": 16,
        "patch_time": 1, "patch_lev": 2, "patch_lat": 4, "patch_lon": 4,
        "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 64, "variable_names": list(_TINY_VARS), "pressure_levels": list(_LEVELS_4),
        **_stats(_TINY_VARS),
    },
    # a workstation: monthly 4-variable cube on 8 levels, 32 x 64 grid, 512 tokens
    "small": {
        "num_variables": 4, "num_time": 12, "num_levels": 8, "num_lat": 32, "num_lon": 64,
        "patch_time": 3, "patch_lev": 2, "patch_lat": 8, "patch_lon": 8,
        "hidden_size": 256, "num_hidden_layers": 6, "num_attention_heads": 8,
        "intermediate_size": 1024, "variable_names": list(_FULL_VARS), "pressure_levels": list(_LEVELS_8),
        **_stats(_FULL_VARS),
    },
    # the seed size next to the 13B LLM: ViT-Base width on a 64 x 128 grid, 2048 tokens
    "seed": {
        "num_variables": 4, "num_time": 12, "num_levels": 8, "num_lat": 64, "num_lon": 128,
        "patch_time": 3, "patch_lev": 2, "patch_lat": 8, "patch_lon": 8,
        "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
        "intermediate_size": 3072, "variable_names": list(_FULL_VARS), "pressure_levels": list(_LEVELS_8),
        **_stats(_FULL_VARS),
    },
}  # fmt: skip


__all__ = ["DATACUBE_PRESETS", "AstroDatacubeConfig"]
