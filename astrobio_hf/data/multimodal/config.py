"""What a multimodal build reads and what it reports: the build config, the prepared-input folder layout
(`config_from_data_dir`) and the build report."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ...models.multimodal.configuration_multimodal import DEFAULT_PLANET_PARAMS, MULTIMODAL_PRESETS
from ..labels import DEFAULT_RULE, LabelRule
from ..modalities.climate_cubes import CubeGrid
from ..modalities.light_curves import DEFAULT_QUALITY_BITMASK
from ..planet_features import Transform
from ..protocols import Protocol, check_protocol
from ..splits import DEFAULT_FRACTIONS

ClimateSource = Literal["none", "generate", "files"]


class MultimodalBuildError(ValueError):
    """A multimodal build that cannot proceed (names the input at fault)."""


@dataclass
class MultimodalBuildConfig:
    """What `build_multimodal_dataset` joins and how (every path may be str or Path).

    Inputs: ``nasa_data_dir`` / ``nasa_data_files`` (a NASA Exoplanet Archive dump for its builder; neither =
    download mode), ``exoplanets_org_data_dir`` / ``exoplanets_org_data_files`` (optional), ``light_curve_files``
    (FITS paths, globs or folders) with ``cross_ids`` (CSV ``host_name,kic,tic,epic``), ``spectrum_map`` (CSV
    ``planet_name,file[,kind,order,integration,source]``) and ``spectrum_files`` (matched by the target name in
    their metadata), ``climate`` (``none`` | ``generate`` | ``files``) with ``climate_map`` (CSV
    ``planet_name,file[,variables]``), ``graph_map`` (CSV ``planet_name,file``).

    Shapes: ``preset`` (a `MULTIMODAL_PRESETS` name) gives the spectrum / light-curve lengths and the cube grid and
    variables of the model preset; the explicit fields override them.
    """

    nasa_data_dir: str | os.PathLike | None = None
    nasa_data_files: Sequence[str | os.PathLike] | None = None
    nasa_table: str = "pscomppars"
    exoplanets_org_data_dir: str | os.PathLike | None = None
    exoplanets_org_data_files: Sequence[str | os.PathLike] | None = None
    fill_from_exoplanets_org: bool = True
    cache_dir: str | os.PathLike | None = None

    preset: str = "tiny"
    planet_param_names: Sequence[str] = DEFAULT_PLANET_PARAMS
    param_transforms: dict[str, Transform] = field(default_factory=dict)

    spectrum_map: str | os.PathLike | None = None
    spectrum_files: Sequence[str | os.PathLike] = ()
    spectrum_length: int | None = None
    spectrum_min_um: float = 0.3
    spectrum_max_um: float = 30.0
    spectrum_method: Literal["flux_conserving", "linear"] = "flux_conserving"

    light_curve_files: Sequence[str | os.PathLike] = ()
    cross_ids: str | os.PathLike | None = None
    light_curve_length: int | None = None
    light_curve_normalisation: Literal["median", "robust"] = "robust"
    quality_bitmask: int = DEFAULT_QUALITY_BITMASK
    #: a searched light-curve store (`light_curve_store.py`): folds at the found period + the search's features;
    #: when given, it replaces the FITS light curves
    light_curve_store: str | os.PathLike | None = None
    #: keep only the planets the store covers (the transiting planets it was written for)
    store_planets_only: bool = False

    climate: ClimateSource = "none"
    climate_map: str | os.PathLike | None = None
    climate_variables: Sequence[str] | None = None
    climate_levels_hpa: Sequence[float] | None = None
    climate_n_time: int | None = None
    climate_n_lat: int | None = None
    climate_n_lon: int | None = None
    climate_extrapolation: Literal["nan", "clamp"] = "nan"
    climate_insolation_range: tuple[float, float] = (0.1, 10.0)
    ebm_min_steps_per_orbit: int = 24
    climate_cache_dir: str | os.PathLike | None = None

    graph_map: str | os.PathLike | None = None

    label_rule: LabelRule = DEFAULT_RULE
    #: "full" or "withheld" (astrobio_hf.data.protocols: the insolation columns and EBM cubes are removed)
    protocol: Protocol = "full"
    split_seed: int = 0
    split_fractions: Sequence[float] = DEFAULT_FRACTIONS
    #: hosts holding a habitable planet are spread over the splits first, so every split holds the rare class
    stratify_splits: bool = True
    planets: Sequence[str] | None = None
    hosts: Sequence[str] | None = None
    max_planets: int | None = None
    max_dataset_bytes: int = 8 * 2**30
    #: input files that are generated rather than archive data (matched by file name); their provenance entries
    #: get generated=True. `config_from_data_dir` reads them from a `sample_manifest.json` "generated" list.
    generated_files: Sequence[str] = ()

    def __post_init__(self) -> None:
        if self.preset not in MULTIMODAL_PRESETS:
            raise ValueError(f"preset must be one of {sorted(MULTIMODAL_PRESETS)}, got {self.preset!r}")
        check_protocol(self.protocol)
        if self.climate not in ("none", "generate", "files"):
            raise ValueError(f"climate must be 'none', 'generate' or 'files', got {self.climate!r}")
        if self.climate == "files" and self.climate_map is None:
            raise ValueError("climate='files' needs climate_map (CSV planet_name,file[,variables])")
        if self.store_planets_only and self.light_curve_store is None:
            raise ValueError("store_planets_only needs light_curve_store")
        if self.max_planets is not None and self.max_planets <= 0:
            raise ValueError(f"max_planets must be positive, got {self.max_planets}")
        lo, hi = self.climate_insolation_range
        if not 0 < lo < hi:
            raise ValueError(f"climate_insolation_range must be 0 < min < max, got {self.climate_insolation_range}")

    # ---- shapes from the preset
    def _preset(self) -> dict[str, Any]:
        return MULTIMODAL_PRESETS[self.preset]

    def _cube_preset(self) -> dict[str, Any]:
        return self._preset()["datacube_config"]

    def resolved_spectrum_length(self) -> int:
        return int(self.spectrum_length or self._preset()["spectrum_length"])

    def resolved_light_curve_length(self) -> int:
        return int(self.light_curve_length or self._preset()["light_curve_length"])

    def resolved_climate_variables(self) -> tuple[str, ...]:
        return tuple(self.climate_variables or self._cube_preset()["variable_names"])

    def cube_grid(self) -> CubeGrid:
        cube = self._cube_preset()
        return CubeGrid.regular(
            n_time=int(self.climate_n_time or cube["num_time"]),
            levels_hpa=tuple(self.climate_levels_hpa or cube["pressure_levels"]),
            n_lat=int(self.climate_n_lat or cube["num_lat"]),
            n_lon=int(self.climate_n_lon or cube["num_lon"]),
        )


@dataclass
class MultimodalReport:
    """What a build did: counts per split and modality, labels with reasons, joins, timings."""

    rows: int = 0
    splits: dict[str, dict[str, int]] = field(default_factory=dict)
    modalities: dict[str, int] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)
    planets: dict[str, Any] = field(default_factory=dict)
    exoplanets_org: dict[str, Any] = field(default_factory=dict)
    light_curves: dict[str, Any] = field(default_factory=dict)
    spectra: dict[str, Any] = field(default_factory=dict)
    climate: dict[str, Any] = field(default_factory=dict)
    graphs: dict[str, Any] = field(default_factory=dict)
    host_splits: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """A few lines for the command line (the host assignment is left out: it is in the spec)."""
        lines = [f"multimodal dataset: {self.rows} planets"]
        lines.append("  splits: " + ", ".join(f"{k} {v['planets']} planets / {v['hosts']} hosts"
                                              for k, v in self.splits.items()))
        lines.append("  modalities: " + ", ".join(f"{k} {v}" for k, v in self.modalities.items()))
        lab = self.labels
        lines.append(f"  labels: {lab.get('labelled', 0)} labelled ({lab.get('habitable', 0)} habitable), "
                     f"{lab.get('unlabelled', 0)} unlabelled")
        for reason, n in sorted(lab.get("reasons", {}).items(), key=lambda kv: -kv[1]):
            lines.append(f"    unlabelled: {n} {reason}")
        if self.exoplanets_org:
            lines.append(f"  exoplanets.org: {self.exoplanets_org.get('matched', 0)} matched, "
                         f"filled {self.exoplanets_org.get('filled', {})}")
        for name in ("light_curves", "spectra", "climate", "graphs"):
            skipped = getattr(self, name).get("skipped", {})
            for reason, n in sorted(skipped.items(), key=lambda kv: -kv[1]):
                lines.append(f"    {name} not joined: {n} {reason}")
        lines.append("  seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in self.seconds.items()))
        return "\n".join(lines)



#: Files and folders `config_from_data_dir` looks for in a prepared-input folder.
DATA_DIR_LAYOUT: dict[str, str] = {
    "nasa_exoplanet_archive/": "NASA Exoplanet Archive dump (pscomppars CSV / IPAC / VOTable); required",
    "exoplanets_org/": "exoplanets.org CSV (optional; cross-matched by name)",
    "light_curves/": "Kepler / K2 / TESS light-curve FITS (optional)",
    "cross_ids.csv": "host_name,kic,tic,epic (optional; also looked for in light_curves/)",
    "light_curve_store/": "a searched light-curve store (mission_light_curves.parquet + .json; optional; replaces "
                          "light_curves/)",
    "spectra/spectrum_map.csv": "planet_name,file[,kind,order,integration,source] (optional)",
    "spectra/": "spectrum files; those not in the map are matched by the target name in their metadata",
    "climate/climate_map.csv": "planet_name,file[,variables] NetCDF files (used with climate 'files'/'generate')",
    "metabolic/graph_map.csv": "planet_name,file metabolic models (optional)",
    "sample_manifest.json": "{\"generated\": [files...]}: inputs that are generated, flagged in provenance (optional)",
}



def config_from_data_dir(data_dir: str | os.PathLike, **overrides: Any) -> MultimodalBuildConfig:
    """A config reading the inputs found in ``data_dir`` (layout: `DATA_DIR_LAYOUT`); ``overrides`` win."""
    root = Path(data_dir)
    if not (root / "nasa_exoplanet_archive").is_dir():
        raise MultimodalBuildError(f"{root}: no nasa_exoplanet_archive/ folder (the planet catalog); expected "
                                   f"layout: {', '.join(DATA_DIR_LAYOUT)}")
    found: dict[str, Any] = {"nasa_data_dir": root / "nasa_exoplanet_archive"}
    if (root / "exoplanets_org").is_dir():
        found["exoplanets_org_data_dir"] = root / "exoplanets_org"
    if (root / "light_curves").is_dir():
        found["light_curve_files"] = [root / "light_curves"]
    if (root / "light_curve_store").is_dir():
        found["light_curve_store"] = root / "light_curve_store"
    for candidate in (root / "cross_ids.csv", root / "light_curves" / "cross_ids.csv"):
        if candidate.is_file():
            found["cross_ids"] = candidate
            break
    if (root / "spectra").is_dir():
        found["spectrum_files"] = [root / "spectra"]
        if (root / "spectra" / "spectrum_map.csv").is_file():
            found["spectrum_map"] = root / "spectra" / "spectrum_map.csv"
    if (root / "climate" / "climate_map.csv").is_file():
        found["climate_map"] = root / "climate" / "climate_map.csv"
    if (root / "metabolic" / "graph_map.csv").is_file():
        found["graph_map"] = root / "metabolic" / "graph_map.csv"
    manifest = root / "sample_manifest.json"
    if manifest.is_file():
        try:
            found["generated_files"] = tuple(json.loads(manifest.read_text())["generated"])
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise MultimodalBuildError(f"{manifest}: no readable 'generated' list ({error})") from error
    found.update({k: v for k, v in overrides.items() if v is not None})
    return MultimodalBuildConfig(**found)



def save_build_report(report: MultimodalReport, path: str | os.PathLike) -> Path:
    """Write the report as ``multimodal_report.json`` in the dataset folder."""
    target = Path(path) / "multimodal_report.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report.to_dict(), indent=2, default=float))
    os.replace(tmp, target)
    return target


