r"""Physical-consistency penalties for climate cubes in physical units (differentiable).

Written by hand because no library offers a differentiable (torch) static-stability check; MetPy has the same
thermodynamics on numpy arrays only.

**Dry-adiabatic lapse-rate bound.** Along a dry adiabat the potential temperature
:math:`\theta = T (p_0 / p)^{\kappa}` is constant, with :math:`\kappa = R / c_p` (2/7 for dry air), so
:math:`d\ln T / d\ln p = \kappa`. With hydrostatic balance :math:`dp/dz = -p g / (R T)`, a lapse rate
:math:`\Gamma = -dT/dz` gives :math:`d\ln T / d\ln p = R \Gamma / g`; the atmosphere is statically stable when
:math:`\Gamma \le \Gamma_d = g / c_p`, i.e. when

.. math:: r_k = \frac{\ln T_k - \ln T_{k+1}}{\ln p_k - \ln p_{k+1}} \le \kappa

for every pair of adjacent pressure levels (equivalently: :math:`\theta` never decreases with height). Convection
removes super-adiabatic layers within hours, so time-mean GCM output and reanalyses satisfy the bound; a standard
atmosphere (6.5 K/km, :math:`R\Gamma/g \approx 0.19`) does, an inversion (:math:`r_k < 0`) does too. The penalty is
the mean over all columns and level pairs of :math:`\mathrm{relu}(r_k - \kappa)^2` (dimensionless). :math:`r_k` is
symmetric in the two levels, so the level order (surface first or top first) does not matter.

**Non-negativity.** Absolute temperature and humidity-like variables cannot be negative: the penalty is the mean of
:math:`(\mathrm{relu}(-x) / \sigma_v)^2`, computed on the physical value :math:`x` and divided by the variable's
normalisation scale :math:`\sigma_v` so that kg/kg and K contribute on comparable scales.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

# Temperatures are clamped to this floor (K) before the logarithm; negative values are penalised separately.
_MIN_TEMPERATURE_K = 1.0


def denormalize(cube: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Map a normalised `[batch, vars, ...]` cube back to physical units: `x * std[v] + mean[v]`."""
    shape = (1, len(mean)) + (1,) * (cube.dim() - 2)
    mean_t = torch.as_tensor(mean, dtype=cube.dtype, device=cube.device).view(shape)
    std_t = torch.as_tensor(std, dtype=cube.dtype, device=cube.device).view(shape)
    return cube * std_t + mean_t


def lapse_rate_penalty(
    temperature: torch.Tensor, pressure_levels: Sequence[float], adiabatic_exponent: float, level_dim: int = -3
) -> torch.Tensor:
    """Mean squared excess of `dlnT/dlnp` over the dry-adiabatic `kappa` between adjacent levels.

    `temperature` is in K with the pressure levels along `level_dim` (for `[batch, time, lev, lat, lon]` that is
    -3); `pressure_levels` are in any one unit (only ratios enter). Returns a scalar, 0 for a stable profile.
    """
    num_levels = temperature.shape[level_dim]
    if len(pressure_levels) != num_levels:
        raise ValueError(
            f"lapse_rate_penalty: temperature has {num_levels} levels along dim {level_dim} but "
            f"{len(pressure_levels)} pressure_levels were given."
        )
    if num_levels < 2:
        return temperature.new_zeros(())
    log_t = torch.log(temperature.clamp_min(_MIN_TEMPERATURE_K)).movedim(level_dim, -1)
    log_p = torch.log(torch.as_tensor(pressure_levels, dtype=temperature.dtype, device=temperature.device))
    ratio = (log_t[..., 1:] - log_t[..., :-1]) / (log_p[1:] - log_p[:-1])
    return torch.relu(ratio - adiabatic_exponent).square().mean()


def nonnegativity_penalty(values: torch.Tensor, scale: float) -> torch.Tensor:
    """Mean of `(relu(-values) / scale)^2`: zero when every value is >= 0."""
    return (torch.relu(-values) / scale).square().mean()
