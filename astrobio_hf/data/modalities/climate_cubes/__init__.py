"""Climate cubes: CF NetCDF climate-model output -> float32 ``[vars, time, lev, lat, lon]`` arrays.

What this module is for: turning GCM / reanalysis NetCDF files (CMIP, GFS, ERA, ROCKE-3D, ExoCAM ...)
into fixed-shape cubes on one configurable grid, so that cubes from different models can be batched.

Pipeline for each requested variable (see ``docs/modalities.md``, "Climate cubes"):

1. Open with xarray's ``netcdf4`` engine (NETCDF4/HDF5 and NETCDF3 classic files). xarray applies CF
   decoding, so int16 data packed with ``scale_factor``/``add_offset`` arrive as floats.
2. Identify the variable's axes from CF metadata (``axis``, ``standard_name``, ``units``, ``positive``,
   Unidata ``_CoordinateAxisType``) and only then from conventional names (plev/lev/level/isobaric*,
   lat/latitude, lon/longitude, time/month). Pressure levels are converted to hPa with astropy units.
3. Time: reduce to ``grid.n_time`` steps (``time_mode``: evenly spaced indices, contiguous block means,
   or a 12-month climatology). Variables with no time axis are broadcast (static fields).
4. Vertical: linear interpolation in log-pressure onto ``grid.levels_hpa``. Variables with no vertical
   axis are rejected by default (``no_level_axis="error"``) or broadcast to every level
   (``no_level_axis="broadcast"``, e.g. for surface fields).
5. Horizontal: linear interpolation (explicit neighbour weights, see ``_interp_axis``) in latitude and longitude; a global longitude
   axis is padded with wrapped columns, so interpolation across the 0/360 (or -180/180) seam is periodic.
   Target points outside the source domain get NaN (``extrapolation="nan"``, see ``ClimateCube.mask``)
   or the nearest edge value (``extrapolation="clamp"``).

Normalisation statistics (per-variable mean and standard deviation over a set of cubes) are computed,
saved as JSON next to a dataset (``climate_norm_stats.json``), loaded and applied by the functions of
``normalization.py``. One step per module: ``axes``, ``time_axis``, ``regrid``, ``reading``, ``grid``.
"""

from .axes import identify_axes, pressure_to_hpa
from .grid import AXIS_ORDER, NORM_STATS_FILENAME, ClimateCube, ClimateCubeError, CubeGrid
from .normalization import (
    NormalizationStats,
    apply_normalization,
    compute_normalization_stats,
    invert_normalization,
    load_normalization_stats,
    save_normalization_stats,
)
from .reading import NETCDF_DEFAULT_FILL, load_climate_cube

__all__ = [
    "AXIS_ORDER",
    "NORM_STATS_FILENAME",
    "ClimateCube",
    "ClimateCubeError",
    "CubeGrid",
    "NETCDF_DEFAULT_FILL",
    "NormalizationStats",
    "apply_normalization",
    "compute_normalization_stats",
    "identify_axes",
    "invert_normalization",
    "load_climate_cube",
    "load_normalization_stats",
    "pressure_to_hpa",
    "save_normalization_stats",
]
