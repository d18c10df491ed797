"""AstroDatacubeModel: shapes on two grids, input checks, physics term, masked loss, save/load, checkpointing, training.

Cubes here are synthetic and labelled as such: smooth analytic Earth-like fields (a standard-atmosphere temperature
profile with latitude / longitude / seasonal structure, humidity decaying with height), never random noise posing as
data. Only the random-init model weights and the mask positions are random.
"""

from __future__ import annotations

import math

import pytest
import torch

from astrobio_hf.models.datacube import (
    DATACUBE_PRESETS,
    AstroDatacubeConfig,
    AstroDatacubeModel,
    AstroDatacubeOutput,
)
from astrobio_hf.models.datacube.modeling_datacube import (
    masked_reconstruction_loss,
    patchify,
    unpatchify,
)
from astrobio_hf.models.datacube.physics_datacube import lapse_rate_penalty

KAPPA = 2.0 / 7.0
# International Standard Atmosphere troposphere: T = T0 (p / p0)^(R Gamma / g), Gamma = 6.5 K/km.
ISA_EXPONENT = 287.05 * 0.0065 / 9.80665  # ~0.190 < kappa: stable

OTHER_GRID = {
    "num_variables": 3, "num_time": 3, "num_levels": 6, "num_lat": 6, "num_lon": 12,
    "patch_time": 3, "patch_lev": 3, "patch_lat": 2, "patch_lon": 3,
    "stem_channels": [6], "hidden_size": 24, "num_hidden_layers": 1, "num_attention_heads": 3,
    "intermediate_size": 48, "variable_names": ["ta", "hus", "ua"],
    "pressure_levels": [1000.0, 850.0, 700.0, 500.0, 300.0, 200.0],
    "normalization_mean": [250.0, 0.005, 0.0], "normalization_std": [20.0, 0.005, 10.0],
}  # fmt: skip


def tiny_config(**overrides) -> AstroDatacubeConfig:
    return AstroDatacubeConfig(**{**DATACUBE_PRESETS["tiny"], **overrides})


def analytic_cube(config: AstroDatacubeConfig, batch: int = 2, exponent: float = ISA_EXPONENT) -> torch.Tensor:
    """Synthetic physical-unit cube `[batch, vars, time, lev, lat, lon]`: T = T_s(lat, lon, t) (p / p_s)^exponent,
    humidity q = 0.012 cos^2(lat) (p / p_s)^3, wind = 15 cos(lat) (p / p_s)^-0.5; each sample shifts the phase."""
    p = torch.tensor(config.pressure_levels, dtype=torch.float64)
    lat = torch.deg2rad(torch.linspace(-80.0, 80.0, config.num_lat, dtype=torch.float64))
    lon = torch.linspace(0.0, 2 * math.pi, config.num_lon + 1, dtype=torch.float64)[:-1]
    time = torch.arange(config.num_time, dtype=torch.float64) * 2 * math.pi / 12
    samples = []
    for b in range(batch):
        phase = 0.7 * b
        t_s = (
            255.0
            + 35.0 * torch.cos(lat)[None, :, None]
            + 4.0 * torch.sin(lon + phase)[None, None, :]
            + 6.0 * torch.sin(time + phase)[:, None, None] * torch.sin(lat)[None, :, None]
        )  # [time, lat, lon]
        pressure = (p / p.max())[None, :, None, None]
        fields = {
            "ta": t_s[:, None] * pressure**exponent,
            "hus": (0.012 * torch.cos(lat) ** 2)[None, None, :, None] * pressure**3 * torch.ones_like(t_s[:, None]),
            "ua": (15.0 * torch.cos(lat))[None, None, :, None] * pressure**-0.5 * torch.ones_like(t_s[:, None]),
        }
        samples.append(torch.stack([fields[name] for name in config.variable_names]))
    return torch.stack(samples).float()


def normalize(cube: torch.Tensor, config: AstroDatacubeConfig) -> torch.Tensor:
    mean = torch.tensor(config.normalization_mean).view(1, -1, 1, 1, 1, 1)
    std = torch.tensor(config.normalization_std).view(1, -1, 1, 1, 1, 1)
    return (cube - mean) / std


def make_model(config: AstroDatacubeConfig, seed: int = 0) -> AstroDatacubeModel:
    torch.manual_seed(seed)
    return AstroDatacubeModel(config)


# -- shapes and input checks ----------
@pytest.mark.parametrize("grid", [DATACUBE_PRESETS["tiny"], OTHER_GRID], ids=["tiny", "other"])
def test_two_grids_give_correct_shapes(grid):
    config = AstroDatacubeConfig(**grid)
    model = make_model(config).eval()
    cube = normalize(analytic_cube(config, batch=3), config)
    out = model(cube, output_hidden_states=True)
    assert isinstance(out, AstroDatacubeOutput)
    assert out.reconstruction.shape == cube.shape
    assert out.patch_mask.shape == (3, config.num_patches) and out.patch_mask.dtype == torch.bool
    expected_masked = round(config.mask_ratio * config.num_patches)
    assert out.patch_mask.sum(dim=1).tolist() == [expected_masked] * 3
    assert out.last_hidden_state.shape == (3, config.num_patches, config.hidden_size)
    assert out.cube_embedding.shape == (3, config.hidden_size)
    assert len(out.hidden_states) == config.num_hidden_layers + 1
    for name in ("loss", "reconstruction_loss", "physics_loss"):
        assert getattr(out, name).dim() == 0 and torch.isfinite(getattr(out, name))
    assert model.embed(cube).shape == (3, config.hidden_size)
    assert model(cube, return_dict=False)[0].dim() == 0


def test_embed_is_unmasked_and_deterministic():
    config = tiny_config()
    model = make_model(config).eval()
    cube = normalize(analytic_cube(config), config)
    with torch.no_grad():
        unmasked = model(cube, mask_ratio=0.0)
        assert not unmasked.patch_mask.any()
        torch.testing.assert_close(model.embed(cube), unmasked.cube_embedding)
        torch.testing.assert_close(model.embed(cube), model.embed(cube), rtol=0, atol=0)


def test_wrong_input_shape_names_expected_and_got():
    config = tiny_config()
    model = make_model(config)
    bad = torch.zeros(2, 2, 2, 4, 8, 15)
    with pytest.raises(ValueError, match=r"\[batch, 2, 2, 4, 8, 16\].*got \[2, 2, 2, 4, 8, 15\]"):
        model(bad)
    with pytest.raises(ValueError, match=r"got \[2, 2, 4, 8, 16\]"):
        model.embed(torch.zeros(2, 2, 4, 8, 16))
    with pytest.raises(ValueError, match="patch_mask"):
        model(torch.zeros(2, *config.grid_shape), patch_mask=torch.ones(2, config.num_patches, dtype=torch.bool))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"hidden_size": 33}, "hidden_size"),
        ({"hidden_size": 4, "num_attention_heads": 1}, "hidden_size"),
        ({"num_lat": 10}, "num_lat"),
        ({"num_lon": 18}, "num_lon"),
        ({"variable_names": ["ta"]}, "variable_names"),
        ({"pressure_levels": [1000.0, 850.0, 500.0]}, "pressure_levels"),
        ({"pressure_levels": [1000.0, 850.0, 850.0, 250.0]}, "pressure_levels"),
        ({"pressure_levels": [1000.0, 850.0, 500.0, -1.0]}, "pressure_levels"),
        ({"normalization_std": [20.0, 0.0]}, "normalization_std"),
        ({"normalization_mean": [250.0]}, "normalization_mean"),
        ({"mask_ratio": 1.0}, "mask_ratio"),
        ({"temperature_variable": "tas"}, "temperature_variable"),
        ({"nonnegative_variables": ["clw"]}, "nonnegative_variables"),
        ({"stem_kernel_size": 2}, "stem_kernel_size"),
        ({"num_hidden_layers": 0}, "num_hidden_layers"),
        ({"adiabatic_exponent": 1.5}, "adiabatic_exponent"),
        ({"physics_loss_weight": -1.0}, "physics_loss_weight"),
    ],
)
def test_bad_config_raises_value_error_naming_field(overrides, field):
    with pytest.raises(ValueError, match=rf"AstroDatacubeConfig\.{field}"):
        tiny_config(**overrides)


def test_presets_build_valid_configs():
    for name, kwargs in DATACUBE_PRESETS.items():
        config = AstroDatacubeConfig(**kwargs)
        assert config.num_patches > 0, name


# -- physics term ----------
def test_physics_zero_for_standard_atmosphere_and_positive_for_superadiabatic():
    config = tiny_config()
    model = make_model(config)
    stable = normalize(analytic_cube(config, exponent=ISA_EXPONENT), config)
    assert model.physics_loss(stable).item() == 0.0
    inversion = normalize(analytic_cube(config, exponent=-0.05), config)  # warmer aloft: stable too
    assert model.physics_loss(inversion).item() == 0.0

    # T ~ p^0.4 everywhere: every level pair has dlnT/dlnp = 0.4 > kappa, so the penalty is (0.4 - kappa)^2.
    superadiabatic = normalize(analytic_cube(config, exponent=0.4), config)
    assert model.physics_loss(superadiabatic).item() == pytest.approx((0.4 - KAPPA) ** 2, rel=1e-3)


def test_physics_penalises_negative_humidity_in_physical_units():
    config = tiny_config()
    model = make_model(config)
    cube = analytic_cube(config)
    cube[:, config.variable_names.index("hus")] = -0.001  # kg/kg, unphysical
    hus_std = config.normalization_std[config.variable_names.index("hus")]
    assert model.physics_loss(normalize(cube, config)).item() == pytest.approx((0.001 / hus_std) ** 2, rel=1e-3)


def test_lapse_rate_penalty_does_not_depend_on_level_order():
    levels = [1000.0, 700.0, 400.0, 100.0]
    p = torch.tensor(levels)
    temperature = (280.0 * (p / 1000.0) ** 0.35).view(1, 4, 1)  # superadiabatic column [batch, lev, x]
    top_first = lapse_rate_penalty(temperature.flip(1), levels[::-1], KAPPA, level_dim=1)
    surface_first = lapse_rate_penalty(temperature, levels, KAPPA, level_dim=1)
    assert surface_first.item() > 0
    torch.testing.assert_close(top_first, surface_first)


@pytest.mark.parametrize("stem_channels", [[], [8, 8]], ids=["patch-embedding", "cnn-stem"])
def test_physics_gradient_alone_reaches_the_stem(stem_channels):
    # A wide temperature scale makes the freshly initialised reconstruction vary by tens of K between levels, so some
    # level pairs are super-adiabatic and the lapse-rate term is active.
    config = tiny_config(normalization_std=[150.0, 0.005], stem_channels=stem_channels)
    model = make_model(config)
    out = model(normalize(analytic_cube(config), config))
    assert out.physics_loss.item() > 0
    model.zero_grad()
    out.physics_loss.backward()
    # the first layer the cube meets: the tubelet projection, or the optional CNN stem's first convolution
    embeddings = model.embeddings
    first = embeddings.stem.blocks[0].conv.weight if stem_channels else embeddings.projection.weight
    assert first.grad is not None and torch.isfinite(first.grad).all() and first.grad.abs().sum() > 0
    assert model.reconstruction_head.weight.grad.abs().sum() > 0


# -- masked reconstruction ----------
def test_masked_loss_counts_only_masked_patches():
    torch.manual_seed(0)
    target = torch.linspace(-1, 1, 2 * 6 * 5).view(2, 6, 5)
    mask = torch.tensor([[True, False, False, True, False, False], [False, True, False, False, False, True]])
    wrong_where_visible = torch.where(mask[..., None], target, target + 3.0)
    assert masked_reconstruction_loss(wrong_where_visible, target, mask).item() == 0.0
    wrong_where_masked = torch.where(mask[..., None], target + 2.0, target)
    assert masked_reconstruction_loss(wrong_where_masked, target, mask).item() == pytest.approx(4.0)


@pytest.mark.parametrize("stem_channels", [[], [8, 8]], ids=["patch-embedding", "cnn-stem"])
def test_model_reconstruction_loss_is_mse_over_masked_tubelets_and_masked_input_is_hidden(stem_channels):
    config = tiny_config(stem_channels=stem_channels)
    model = make_model(config).eval()
    cube = normalize(analytic_cube(config), config)
    mask = torch.zeros(2, config.num_patches, dtype=torch.bool)
    mask[0, [0, 5, 9]] = True
    mask[1, [3, 4, 30]] = True
    with torch.no_grad():
        out = model(cube, patch_mask=mask)
    per_patch = patchify((out.reconstruction - cube).square(), config.patch_shape).mean(dim=-1)
    torch.testing.assert_close(out.reconstruction_loss, per_patch[mask].mean())
    assert not torch.isclose(out.reconstruction_loss, per_patch.mean())

    # Changing the input inside masked tubelets must not change what the model sees or predicts (no leakage through
    # the CNN stem), only the target of the loss.
    voxel_mask = unpatchify(mask[..., None].expand(-1, -1, math.prod(config.patch_shape)), 1, config.token_grid,
                            config.patch_shape)  # fmt: skip
    altered = torch.where(voxel_mask, cube + 5.0, cube)
    with torch.no_grad():
        out_altered = model(altered, patch_mask=mask)
    torch.testing.assert_close(out_altered.reconstruction, out.reconstruction, rtol=0, atol=0)
    assert out_altered.reconstruction_loss > out.reconstruction_loss


def test_patchify_round_trip():
    config = AstroDatacubeConfig(**OTHER_GRID)
    cube = analytic_cube(config)
    patches = patchify(cube, config.patch_shape)
    assert patches.shape == (2, config.num_patches, config.num_variables * math.prod(config.patch_shape))
    torch.testing.assert_close(unpatchify(patches, 3, config.token_grid, config.patch_shape), cube, rtol=0, atol=0)


# -- save / load, attention backends, checkpointing ----------
def test_save_pretrained_round_trip_is_bit_exact(tmp_path):
    config = tiny_config()
    model = make_model(config).eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    loaded = AstroDatacubeModel.from_pretrained(tmp_path).eval()

    def fields(config):
        return {k: v for k, v in config.to_dict().items() if k != "_name_or_path"}

    assert fields(loaded.config) == fields(model.config)
    original_state, loaded_state = model.state_dict(), loaded.state_dict()
    assert original_state.keys() == loaded_state.keys()
    for name, tensor in original_state.items():
        assert torch.equal(tensor, loaded_state[name]), name

    cube = normalize(analytic_cube(config), config)
    with torch.no_grad():
        torch.manual_seed(7)
        a = model(cube)
        torch.manual_seed(7)
        b = loaded(cube)
    for name in ("loss", "reconstruction", "patch_mask", "cube_embedding"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name


def test_eager_and_sdpa_attention_agree():
    config = tiny_config()
    model = make_model(config).eval()
    cube = normalize(analytic_cube(config), config)
    assert model.config._attn_implementation == "sdpa"
    with torch.no_grad():
        sdpa = model.embed(cube)
        model.set_attn_implementation("eager")
        eager = model.embed(cube)
    torch.testing.assert_close(sdpa, eager, rtol=1e-5, atol=1e-5)


def test_gradient_checkpointing_gives_same_loss_and_grads():
    config = tiny_config()
    model = make_model(config).train()
    cube = normalize(analytic_cube(config), config)
    mask = torch.zeros(2, config.num_patches, dtype=torch.bool)
    mask[:, ::3] = True

    def loss_and_grads():
        model.zero_grad()
        loss = model(cube, patch_mask=mask).loss
        loss.backward()
        return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    loss_off, grads_off = loss_and_grads()
    model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    assert all(layer.gradient_checkpointing for layer in model.layers)
    loss_on, grads_on = loss_and_grads()
    torch.testing.assert_close(loss_on, loss_off)
    assert grads_on.keys() == grads_off.keys()
    for name in grads_off:
        torch.testing.assert_close(grads_on[name], grads_off[name], msg=name)


# -- training ----------
def test_loss_decreases_on_a_fixed_structured_batch():
    config = tiny_config()
    model = make_model(config).train()
    cube = normalize(analytic_cube(config, batch=4), config)
    generator = torch.Generator().manual_seed(0)
    mask = torch.rand(4, config.num_patches, generator=generator).argsort(dim=1) < config.num_patches // 2
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = model(cube, patch_mask=mask).loss
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < 0.5 * losses[0], losses


def test_eval_mode_masks_the_same_patches_every_call():
    from astrobio_hf.models.datacube.configuration_datacube import DATACUBE_PRESETS
    from astrobio_hf.models.datacube.modeling_datacube import AstroDatacubeConfig, AstroDatacubeModel

    torch.manual_seed(0)
    model = AstroDatacubeModel(AstroDatacubeConfig(**DATACUBE_PRESETS["tiny"]))
    cube = torch.randn(2, *model.config.grid_shape)
    model.eval()
    with torch.no_grad():
        a, b = model(climate_cube=cube), model(climate_cube=cube)
    assert torch.equal(a.patch_mask, b.patch_mask) and a.loss == b.loss
    model.train()
    masks = {tuple(model(climate_cube=cube).patch_mask.flatten().tolist()) for _ in range(5)}
    assert len(masks) > 1  # training still draws a new mask each step
