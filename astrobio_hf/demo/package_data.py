"""Real data that ships inside installed PyPI packages, located at run time (never copied into the repository).

* cobra (LGPL-2.0-or-later / GPL-2.0-or-later) bundles metabolic models in ``cobra/data``: ``mini.json`` (BiGG JSON)
  and ``mini_cobra.xml`` (SBML), a 41-node subset of E. coli central metabolism, ``textbook.xml.gz`` (the
  e_coli_core model, 167 nodes), and the genome-scale ``iJO1366.xml.gz`` (E. coli K-12) and ``salmonella.xml.gz``
  (S. Typhimurium LT2). The demo uses the small three by default: the genome-scale ones take about 15 s each to read
  and hold over 4000 nodes, too much for a few-minute CPU demo (``genome_scale=True`` adds them).
* ESMValTool_sample_data (``pip install astrobio-hf[demo]``; Apache-2.0 code, CMIP6 data under the licence each
  file's ``license`` attribute states: CC BY-SA 4.0 for the models used here; NonCommercial-licensed files are skipped) bundles CMIP6 ``historical`` monthly air temperature
  (``ta_Amon_*``) from many Earth GCMs, cut down by its authors to a 2-3 x 2-3 point patch next to the North Pole
  at 1000 and 925 hPa. It is real GCM output but cannot fill a global cube of the model's variables, so the demo
  uses it as a real-GCM reference for its Earth analogue (see :func:`cmip6_reference_files`).

The packages are found with ``importlib.util.find_spec`` so nothing is imported (ESMValTool_sample_data's
``__init__`` imports iris, which the demo does not need).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from ..data.modalities.climate_cubes import ClimateCube, CubeGrid, load_climate_cube

COBRA_SMALL_MODELS = ("mini.json", "mini_cobra.xml", "textbook.xml.gz")
COBRA_GENOME_SCALE_MODELS = ("iJO1366.xml.gz", "salmonella.xml.gz")
#: CMIP6 models used as the Earth analogue's reference, one file each (the latest period the package holds).
#: GISS-E2-1-G is the GISS ModelE configuration that NASA's ROCKE-3D exoplanet GCM derives from. Models whose
#: sample files mark below-ground 1000 hPa values with the netCDF default fill value and no ``_FillValue``
#: attribute (CESM2, MRI-ESM2-0, GFDL, E3SM, FGOALS, ... in version 0.0.4) are left out: xarray does not mask those
#: values, so they would reach the climate pipeline as 9.97e36 K.
CMIP6_REFERENCE_MODELS = ("GISS-E2-1-G", "CanESM5", "MIROC6", "MPI-ESM1-2-LR", "NorESM2-LM")
ESMVALTOOL_SAMPLE_DATA = "ESMValTool_sample_data"


class PackageDataError(RuntimeError):
    """A package the demo needs is missing or does not hold the expected file."""


@dataclass(frozen=True)
class PackageFile:
    """One real file read from an installed package, with what the manifest and docs say about it."""

    path: Path
    package: str
    version: str
    license: str
    description: str

    def to_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


def _package_dir(module: str, distribution: str) -> tuple[Path, str, str]:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise PackageDataError(f"package {distribution!r} (module {module!r}) is not installed")
    meta = importlib.metadata.metadata(distribution)
    return Path(next(iter(spec.submodule_search_locations))), meta["Version"], meta.get("License") or ""


def cobra_models(genome_scale: bool = False) -> list[PackageFile]:
    """cobra's bundled metabolic models (small ones; ``genome_scale`` adds iJO1366 and the Salmonella model)."""
    root, version, license_ = _package_dir("cobra", "cobra")
    names = COBRA_SMALL_MODELS + (COBRA_GENOME_SCALE_MODELS if genome_scale else ())
    out = []
    for name in names:
        path = root / "data" / name
        if not path.is_file():
            raise PackageDataError(f"cobra {version} does not ship {path} (looked for {names})")
        out.append(PackageFile(path, "cobra", version, license_, f"cobra bundled metabolic model {name}"))
    return out


def esmvaltool_sample_data_installed() -> bool:
    """True when ESMValTool_sample_data (the ``demo`` extra) is installed."""
    return importlib.util.find_spec("esmvaltool_sample_data") is not None


def _creative_commons(text: str) -> str | None:
    """"CC BY 4.0" / "CC BY-SA 4.0" from a CMIP6 ``license`` attribute; None for NonCommercial or unknown terms."""
    words = text.replace("-", " ").lower()
    if "creative commons attribution" not in words or "noncommercial" in words.replace(" ", ""):
        return None
    return "CC BY-SA 4.0" if "sharealike" in words.replace(" ", "") else "CC BY 4.0"


def cmip6_reference_files(models: tuple[str, ...] = CMIP6_REFERENCE_MODELS) -> list[PackageFile]:
    """One CMIP6 ``ta_Amon`` historical file per model in ``models`` from ESMValTool_sample_data ([] if absent)."""
    if not esmvaltool_sample_data_installed():
        return []
    root, version, license_ = _package_dir("esmvaltool_sample_data", ESMVALTOOL_SAMPLE_DATA)
    out = []
    for model in models:
        files = sorted((root / "data" / "timeseries").glob(f"CMIP6/**/Amon/ta/**/ta_Amon_{model}_historical_*.nc"))
        if not files:
            continue
        path = files[-1]
        with xr.open_dataset(path, engine="netcdf4") as ds:
            data_license = _creative_commons(str(ds.attrs.get("license", "")))
            institution = str(ds.attrs.get("institution_id", ""))
        if data_license is None:
            continue  # not a licence that allows any use with attribution (e.g. CC BY-NC-SA): left out
        out.append(PackageFile(path, ESMVALTOOL_SAMPLE_DATA, version,
                               f"data {data_license} (CMIP6 terms of use); package {license_}",
                               f"CMIP6 {institution} {model} historical monthly air temperature (ta)"))
    return out


def cmip6_patch_grid(path: str | Path, n_time: int = 12) -> CubeGrid:
    """The file's own points as a :class:`CubeGrid` (its 1000/925 hPa levels, its patch's lat and lon)."""
    with xr.open_dataset(path, engine="netcdf4") as ds:
        levels = tuple(float(p) / 100.0 for p in ds["plev"].values)
        return CubeGrid(n_time=n_time, levels_hpa=levels, lat=tuple(float(v) for v in ds["lat"].values),
                        lon=tuple(float(v) for v in ds["lon"].values))


def load_cmip6_reference(path: str | Path) -> ClimateCube:
    """A CMIP6 sample file through the project's climate pipeline: ``ta`` as a 12-month climatology on the
    file's own polar patch (no extrapolation to the rest of the globe)."""
    return load_climate_cube(path, ["ta"], cmip6_patch_grid(path), time_mode="monthly_climatology")


def cmip6_reference_summary(path: str | Path) -> dict[str, float]:
    """Annual-mean, coldest-month and warmest-month 1000 hPa air temperature (K) of a reference file's patch."""
    cube = load_cmip6_reference(path)
    monthly = np.nanmean(cube.data[0, :, 0], axis=(1, 2))  # [time] at the first level (1000 hPa)
    return {"annual_mean_k": float(np.mean(monthly)), "coldest_month_k": float(np.min(monthly)),
            "warmest_month_k": float(np.max(monthly))}
