"""A physically simple climate generator for planets with no GCM output (cubes labelled as generated).

What it is for: giving every planet a climate cube with the same ``[vars, time, lev, lat, lon]`` layout
as real GCM output (see :mod:`.climate_cubes`), from catalog quantities only: instellation ``S``
(Earth units), optional stellar ``Teff``, obliquity and orbital period. Every cube it makes carries
``metadata["generated"] = True`` and ``metadata["generator"] = GENERATOR_NAME`` with the parameters.

Model (equations in ``docs/modalities.md``, "Climate cubes"):

1. A seasonal 1-D latitudinal energy-balance model (North & Coakley 1979; North, Cahalan & Coakley
   1981, Rev. Geophys. 19, 91), the Budyko-Sellers family, for the zonal-mean surface temperature
   T(phi, t) in deg C, with x = sin(phi)::

       C dT/dt = Q(phi, t) (1 - alpha(phi, T)) - (A + B T) + D d/dx[(1 - x^2) dT/dx]

   - Q: daily-mean top-of-atmosphere insolation for a circular orbit (standard formula, e.g.
     Berger 1978 / Hartmann "Global Physical Climatology" eq. 2.15):
     Q = (S0 S / pi) (h0 sin(phi) sin(delta) + cos(phi) cos(delta) sin(h0)),
     cos(h0) = -tan(phi) tan(delta), sin(delta) = sin(obliquity) sin(lambda), lambda = 2 pi t / P
     measured from the northern spring equinox.
   - alpha: ice-free albedo a0 + a2 P2(x), switching smoothly (tanh over a few K) to the ice albedo
     below the freezing temperature Tf: the ice-albedo feedback. With a stellar Teff below the Sun's,
     the ice albedo is lowered (ice absorbs more of an M dwarf's near-infrared light; Shields et al.
     2013, Astrobiology 13, 715) by a linear ramp: a crude, documented parametrisation.
   - Defaults are the Earth-calibrated values used by North et al. / climlab (A = 210 W m-2,
     B = 2 W m-2 K-1, D = 0.555 W m-2 K-1, 10 m mixed layer, a0 = 0.33, a2 = 0.25, ice 0.62, Tf = -10 C).
   - Integration: finite volumes on equal-angle latitude bands (conservative, no flux through the
     poles); diffusion and the B T term implicit, insolation and albedo explicit (semi-implicit Euler,
     stable for any step of the linear part), repeated orbit after orbit from a warm start until the
     state at the end of an orbit changes by less than ``tol_k``: a periodic steady state.
     Starting warm picks the warm branch where warm and snowball states both exist.

2. Vertical structure on pressure levels for each (latitude, season): temperature follows a constant
   lapse rate from the surface, T = Ts (p / ps)^(R Gamma / g), up to the tropopause where it meets an
   isothermal stratosphere at the skin temperature T_skin = 2^(-1/4) (OLR / sigma)^(1/4); specific
   humidity from Clausius-Clapeyron at fixed relative humidity, capped above the tropopause at its
   tropopause value (cold trap). Levels below the surface (p > ps) are NaN.

The model is zonally symmetric (values are repeated along longitude) and assumes a fast-rotating
planet (diurnal averaging); it does not describe tidally locked planets, and its linear OLR is only
meaningful near Earth-like temperatures (a warning is recorded in the metadata outside that range).

Written by hand: no maintained library offers a small seasonal EBM with this interface (climlab is
a large framework, not on the project's dependency list), and the model is ~100 lines of numpy.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy.linalg import lu_factor, lu_solve

from .climate_cubes import ClimateCube, CubeGrid

__all__ = [
    "GENERATOR_NAME",
    "EBMParameters",
    "EBMSolution",
    "daily_mean_insolation",
    "generate_climate_cube",
    "solve_energy_balance",
    "vertical_profiles",
]

GENERATOR_NAME = "energy_balance_model v1"
SOLAR_CONSTANT_W_M2 = 1361.0  # total solar irradiance at 1 AU (Kopp & Lean 2011)
STEFAN_BOLTZMANN = 5.670374419e-8  # W m-2 K-4
SECONDS_PER_DAY = 86400.0
WATER_HEAT_CAPACITY_J_M3_K = 4.18e6  # rho_w c_w
KELVIN = 273.15
EARTH_TEFF_K = 5772.0
EPSILON_H2O = 0.622  # R_dry / R_vapour (Earth air)
LATENT_HEAT_J_KG = 2.5e6  # vaporisation; one constant L keeps the Clausius-Clapeyron form simple
R_VAPOUR = 461.5  # J kg-1 K-1
E_SAT_TRIPLE_HPA = 6.112  # saturation vapour pressure at 273.15 K

UNITS = {"ta": "K", "ts": "K", "hus": "kg kg-1"}


@dataclass(frozen=True)
class EBMParameters:
    """Inputs of the generator; all but ``instellation`` default to Earth values."""

    instellation: float = 1.0  # S, in units of the solar flux at Earth
    stellar_teff: float | None = None  # K; only lowers the ice albedo for stars cooler than the Sun
    obliquity_deg: float = 23.44
    orbital_period_days: float = 365.25
    solar_constant: float = SOLAR_CONSTANT_W_M2
    olr_a: float = 210.0  # W m-2, OLR at 0 C
    olr_b: float = 2.0  # W m-2 K-1
    diffusivity: float = 0.555  # W m-2 K-1
    mixed_layer_depth_m: float = 10.0
    albedo_a0: float = 0.33
    albedo_a2: float = 0.25
    albedo_ice: float = 0.62
    freeze_temperature_c: float = -10.0
    albedo_transition_k: float = 2.0  # width of the tanh switch between ice-free and ice albedo
    ice_albedo_mdwarf_drop: float = 0.2  # ice-albedo reduction reached at Teff <= 3000 K
    surface_pressure_hpa: float = 1013.25
    lapse_rate_k_per_km: float = 6.5
    gravity: float = 9.81
    gas_constant: float = 287.05  # J kg-1 K-1, dry air
    relative_humidity: float = 0.8
    n_lat_model: int = 90
    max_dt_days: float = 5.0
    min_steps_per_orbit: int = 96
    tol_k: float = 1e-3
    max_orbits: int = 1000
    initial_temperature_c: float = 15.0

    def __post_init__(self) -> None:
        if not self.instellation > 0:
            raise ValueError(f"instellation must be > 0 (Earth units), got {self.instellation}")
        if not self.orbital_period_days > 0:
            raise ValueError(f"orbital_period_days must be > 0, got {self.orbital_period_days}")
        if not 0 <= self.obliquity_deg <= 180:
            raise ValueError(f"obliquity_deg must be in [0, 180], got {self.obliquity_deg}")
        if not 0 <= self.relative_humidity <= 1:
            raise ValueError(f"relative_humidity must be in [0, 1], got {self.relative_humidity}")
        if self.n_lat_model < 4:
            raise ValueError(f"n_lat_model must be >= 4, got {self.n_lat_model}")

    @property
    def effective_ice_albedo(self) -> float:
        """Ice albedo after the stellar-Teff correction (linear ramp from the Sun's Teff to 3000 K)."""
        if self.stellar_teff is None:
            return self.albedo_ice
        ramp = np.clip((EARTH_TEFF_K - self.stellar_teff) / (EARTH_TEFF_K - 3000.0), 0.0, 1.0)
        return float(self.albedo_ice - self.ice_albedo_mdwarf_drop * ramp)


@dataclass
class EBMSolution:
    """The periodic steady state: surface temperature ``ts_k[step, lat]`` over the last orbit."""

    lat_deg: np.ndarray  # band centres
    area_weight: np.ndarray  # fraction of the sphere in each band (sums to 1)
    time_days: np.ndarray  # step mid-points, days since the northern spring equinox
    ts_k: np.ndarray  # [steps, lat]
    albedo: np.ndarray  # [steps, lat]
    olr_w_m2: np.ndarray  # [steps, lat]
    converged: bool
    n_orbits: int

    @property
    def global_mean_ts_k(self) -> float:
        """Area-weighted, orbit-mean surface temperature."""
        return float((self.ts_k.mean(axis=0) * self.area_weight).sum())


def daily_mean_insolation(lat_deg: np.ndarray, orbital_longitude_rad: float, obliquity_deg: float,
                          flux_w_m2: float) -> np.ndarray:
    """Daily-mean TOA insolation (W m-2) at latitudes ``lat_deg`` for a circular orbit.

    ``orbital_longitude_rad`` is the true longitude from the northern spring equinox and ``flux_w_m2``
    the stellar flux at the planet.
    """
    phi = np.deg2rad(np.asarray(lat_deg, dtype=np.float64))
    sin_delta = math.sin(math.radians(obliquity_deg)) * math.sin(orbital_longitude_rad)
    delta = math.asin(sin_delta)
    # Hour angle of sunset; clipping gives polar night (h0 = 0) and polar day (h0 = pi).
    cos_h0 = np.clip(-np.tan(phi) * math.tan(delta), -1.0, 1.0)
    h0 = np.arccos(cos_h0)
    q = flux_w_m2 / math.pi * (h0 * np.sin(phi) * sin_delta + np.cos(phi) * math.cos(delta) * np.sin(h0))
    return np.maximum(q, 0.0)


def _diffusion_matrix(edges_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Finite-volume operator for d/dx[(1 - x^2) dT/dx] on latitude bands, x = sin(lat).

    Returns (L, band centres in deg, band weights dx). Flux through the poles is zero because
    1 - x^2 vanishes there, so sum(dx * L @ T) == 0: diffusion only moves heat.
    """
    x_e = np.sin(np.deg2rad(edges_deg))
    centres = 0.5 * (edges_deg[1:] + edges_deg[:-1])
    x_c = np.sin(np.deg2rad(centres))
    dx = np.diff(x_e)
    n = centres.size
    conductance = (1.0 - x_e[1:-1] ** 2) / np.diff(x_c)  # at interior edges
    lap = np.zeros((n, n))
    for k, g in enumerate(conductance):  # edge between band k and k + 1
        lap[k, k] -= g / dx[k]
        lap[k, k + 1] += g / dx[k]
        lap[k + 1, k + 1] -= g / dx[k + 1]
        lap[k + 1, k] += g / dx[k + 1]
    return lap, centres, dx


def _albedo(params: EBMParameters, x: np.ndarray, temp_c: np.ndarray, ice_albedo: float) -> np.ndarray:
    ice_free = params.albedo_a0 + params.albedo_a2 * 0.5 * (3.0 * x**2 - 1.0)
    ice_fraction = 0.5 * (1.0 - np.tanh((temp_c - params.freeze_temperature_c) / params.albedo_transition_k))
    return ice_free + (ice_albedo - ice_free) * ice_fraction


def solve_energy_balance(params: EBMParameters) -> EBMSolution:
    """Integrate the seasonal EBM orbit by orbit to a periodic steady state."""
    edges = np.linspace(-90.0, 90.0, params.n_lat_model + 1)
    lap, lat_c, dx = _diffusion_matrix(edges)
    x = np.sin(np.deg2rad(lat_c))
    n_steps = max(params.min_steps_per_orbit, math.ceil(params.orbital_period_days / params.max_dt_days))
    dt_s = params.orbital_period_days * SECONDS_PER_DAY / n_steps
    heat_capacity = WATER_HEAT_CAPACITY_J_M3_K * params.mixed_layer_depth_m
    flux = params.solar_constant * params.instellation
    ice_albedo = params.effective_ice_albedo

    # Implicit part: (C/dt + B - D L) T_new = C/dt T_old + Q (1 - alpha(T_old)) - A
    system = (heat_capacity / dt_s + params.olr_b) * np.eye(lat_c.size) - params.diffusivity * lap
    lu = lu_factor(system)
    time_days = (np.arange(n_steps) + 0.5) * params.orbital_period_days / n_steps
    insolation = np.stack([
        daily_mean_insolation(lat_c, 2.0 * math.pi * t / params.orbital_period_days, params.obliquity_deg, flux)
        for t in time_days
    ])

    temp = np.full(lat_c.size, params.initial_temperature_c, dtype=np.float64)
    history = np.empty((n_steps, lat_c.size))
    converged = False
    n_orbits = 0
    while n_orbits < params.max_orbits:
        start = temp.copy()
        for step in range(n_steps):
            absorbed = insolation[step] * (1.0 - _albedo(params, x, temp, ice_albedo))
            temp = lu_solve(lu, heat_capacity / dt_s * temp + absorbed - params.olr_a)
            history[step] = temp
        n_orbits += 1
        if np.max(np.abs(temp - start)) < params.tol_k:
            converged = True
            break
    if not converged:
        warnings.warn(
            f"energy-balance model did not reach a periodic state within {params.max_orbits} orbits "
            f"(tol {params.tol_k} K); the cube is labelled converged=False",
            RuntimeWarning,
            stacklevel=2,
        )
    return EBMSolution(
        lat_deg=lat_c,
        area_weight=dx / dx.sum(),
        time_days=time_days,
        ts_k=history + KELVIN,
        albedo=_albedo(params, x[None, :], history, ice_albedo),
        olr_w_m2=params.olr_a + params.olr_b * history,
        converged=converged,
        n_orbits=n_orbits,
    )


def _saturation_vapour_pressure_hpa(temp_k: np.ndarray) -> np.ndarray:
    """Clausius-Clapeyron with a constant latent heat, anchored at 6.112 hPa at 273.15 K."""
    return E_SAT_TRIPLE_HPA * np.exp(LATENT_HEAT_J_KG / R_VAPOUR * (1.0 / KELVIN - 1.0 / temp_k))


def _specific_humidity(p_hpa: np.ndarray, temp_k: np.ndarray, rh: float) -> np.ndarray:
    # Vapour pressure capped at the total pressure (q <= 1) for hot columns outside the model's range.
    e = np.minimum(rh * _saturation_vapour_pressure_hpa(temp_k), p_hpa)
    return EPSILON_H2O * e / (p_hpa - (1.0 - EPSILON_H2O) * e)


def vertical_profiles(
    ts_k: np.ndarray, olr_w_m2: np.ndarray, levels_hpa: Sequence[float], params: EBMParameters
) -> dict[str, np.ndarray]:
    """Air temperature and specific humidity on ``levels_hpa`` for surface states ``ts_k`` (any shape).

    Returns arrays of shape ``[lev, *ts_k.shape]``: "ta" (K), "hus" (kg/kg), "ts" (K, repeated).
    """
    p = np.asarray(levels_hpa, dtype=np.float64).reshape((-1,) + (1,) * ts_k.ndim)
    ps = params.surface_pressure_hpa
    exponent = params.gas_constant * params.lapse_rate_k_per_km * 1e-3 / params.gravity
    t_skin = 2.0 ** -0.25 * (np.maximum(olr_w_m2, 1.0) / STEFAN_BOLTZMANN) ** 0.25
    t_strat = np.minimum(t_skin, ts_k)  # a column colder than its skin temperature is isothermal
    ta = np.maximum(ts_k * (p / ps) ** exponent, t_strat)
    # Cold trap: above the tropopause, humidity keeps its tropopause value.
    p_trop = ps * (t_strat / ts_k) ** (1.0 / exponent)
    q_trop = _specific_humidity(p_trop, t_strat, params.relative_humidity)
    hus = _specific_humidity(p, ta, params.relative_humidity)
    hus = np.where(p < p_trop, np.minimum(hus, q_trop), hus)
    below_ground = np.broadcast_to(p > ps, ta.shape)
    out = {"ta": ta, "hus": hus, "ts": np.broadcast_to(ts_k, ta.shape).copy()}
    for name in out:
        out[name] = np.where(below_ground, np.nan, out[name])
    return out


def generate_climate_cube(
    params: EBMParameters, grid: CubeGrid, variables: Sequence[str] = ("ta", "hus")
) -> ClimateCube:
    """A generated cube ``[vars, time, lev, lat, lon]`` on ``grid`` (variables from "ta", "hus", "ts").

    Time steps are ``grid.n_time`` equal phase bins of the steady orbit (block means), labelled by
    their mid-point in days since the northern spring equinox. Values are zonally symmetric.
    """
    unknown = [v for v in variables if v not in UNITS]
    if unknown or not variables:
        raise ValueError(f"unknown generated variable(s) {unknown or variables}; choose from {sorted(UNITS)}")
    solution = solve_energy_balance(params)
    n_steps = solution.time_days.size
    if grid.n_time > n_steps:
        raise ValueError(f"grid.n_time={grid.n_time} exceeds the {n_steps} model steps per orbit")
    bins = np.array_split(np.arange(n_steps), grid.n_time)
    ts_bins = np.stack([solution.ts_k[b].mean(axis=0) for b in bins])  # [time, lat_model]
    olr_bins = np.stack([solution.olr_w_m2[b].mean(axis=0) for b in bins])
    time_days = np.array([solution.time_days[b].mean() for b in bins])

    # Model bands -> output latitudes (linear; the outermost band values hold up to the poles).
    lat_out = np.asarray(grid.lat, dtype=np.float64)
    ts_out = np.stack([np.interp(lat_out, solution.lat_deg, row) for row in ts_bins])
    olr_out = np.stack([np.interp(lat_out, solution.lat_deg, row) for row in olr_bins])
    profiles = vertical_profiles(ts_out, olr_out, grid.levels_hpa, params)  # [lev, time, lat]

    n_lon = len(grid.lon)
    fields = [np.moveaxis(profiles[name], 0, 1)[..., None].repeat(n_lon, axis=-1) for name in variables]
    data = np.stack(fields).astype(np.float32)

    global_mean = solution.global_mean_ts_k
    notes = []
    if not 200.0 <= global_mean <= 330.0:
        notes.append(
            f"global-mean surface temperature {global_mean:.1f} K lies outside the range where the linear "
            "OLR fit (A + B T) is meaningful; treat this cube as qualitative"
        )
    metadata = {
        "generated": True,
        "generator": GENERATOR_NAME,
        "parameters": asdict(params),
        "effective_ice_albedo": params.effective_ice_albedo,
        "converged": solution.converged,
        "n_orbits": solution.n_orbits,
        "global_mean_surface_temperature_k": global_mean,
        "ice_covered_fraction": float(
            ((solution.ts_k.mean(axis=0) - KELVIN < params.freeze_temperature_c) * solution.area_weight).sum()
        ),
        "zonally_symmetric": True,
        "time_units": "days since northern spring equinox (phase-bin mid-points)",
        "warnings": notes,
    }
    return ClimateCube(
        data=data,
        variables=tuple(variables),
        units=tuple(UNITS[v] for v in variables),
        time=time_days,
        lev_hpa=np.asarray(grid.levels_hpa, dtype=np.float64),
        lat=lat_out,
        lon=np.asarray(grid.lon, dtype=np.float64),
        metadata=metadata,
    )
