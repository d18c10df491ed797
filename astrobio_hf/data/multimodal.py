"""The multimodal dataset: one row per planet, every modality optional, with labels, provenance and host splits.

``build_multimodal_dataset(config) -> (DatasetDict, MultimodalSpec, MultimodalReport)``; the rows follow
:mod:`astrobio_hf.data.multimodal_schema` (absent modality = zeros + mask False). Steps, each documented in
``docs/data.md`` ("Multimodal dataset"):

1. planets: the NASA Exoplanet Archive builder (``pscomppars`` dump or TAP), one row per normalised planet name
   (later duplicates dropped and counted), optional filters (``planets``, ``hosts``, ``max_planets``);
2. exoplanets.org (optional): cross-matched by normalised planet name; a match adds a provenance entry (the
   cross-match flag) and, when ``fill_from_exoplanets_org``, fills catalog gaps (see ``EOD_FILLS``);
3. labels (:mod:`labels`, Kopparapu 2014), ``planet_params`` (:mod:`planet_features`), ``text``
   (:mod:`text_templates`), host splits (:mod:`splits`);
4. light curves, spectra, climate cubes and metabolic graphs joined by the rules of :mod:`joins`.
"""

from __future__ import annotations

import glob
import hashlib
import json
import math
import os
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import datasets
import numpy as np
from astropy.constants import M_earth, M_jup

from ..models.multimodal.configuration_multimodal import DEFAULT_PLANET_PARAMS, HZ_CLASSES, MULTIMODAL_PRESETS
from ..progress import Progress
from .joins import CrossIds, MappingRow, fits_identity, read_cross_ids, read_mapping
from .labels import DEFAULT_RULE, TEMPERATE, TOO_COLD, TOO_HOT, LabelRule, label_table
from .modalities.climate_cubes import (
    ClimateCube,
    CubeGrid,
    NormalizationStats,
    compute_normalization_stats,
    load_climate_cube,
)
from .modalities.climate_generator import GENERATOR_NAME, EBMParameters, generate_climate_cube
from .modalities.climate_generator import UNITS as GENERATED_UNITS
from .modalities.light_curves import (
    DEFAULT_QUALITY_BITMASK,
    RawLightCurve,
    read_light_curve,
)
from .modalities.metabolic_graphs import load_metabolic_graph
from .modalities.spectra import Spectrum, WavelengthGrid, read_spectra, resample
from .model_inputs import light_curve_array, normalise_cube
from .model_inputs import spectrum_array as _spectrum_array
from .multimodal_schema import UNLABELLED, MultimodalSpec
from .names import normalize_name
from .planet_features import Transform, describe_transforms, planet_param_matrix
from .protocols import Protocol, check_protocol, describe_protocol, protocol_param_names
from .splits import DEFAULT_FRACTIONS, DEFAULT_SPLITS, assign_host_splits, split_counts
from .text_templates import describe_planet

ClimateSource = Literal["none", "generate", "files"]
_HZ_INDEX = {TOO_HOT: HZ_CLASSES.index("too_hot"), TEMPERATE: HZ_CLASSES.index("temperate"),
             TOO_COLD: HZ_CLASSES.index("too_cold")}
_JUPITER_TO_EARTH_MASS = float((M_jup / M_earth).decompose())
#: NASA column <- (exoplanets.org column, factor to the NASA unit). Filled only where the NASA value is missing.
#: MSINI fills pl_bmasse because the archive's own pl_bmasse is "mass or M sin i" (pl_bmassprov says which); the
#: fill sets pl_bmassprov to "Msini" so the text and any reader see that it is a minimum mass.
EOD_FILLS: dict[str, tuple[str, float]] = {
    "pl_bmasse": ("msini", _JUPITER_TO_EARTH_MASS),
    "pl_orbsmax": ("a", 1.0),
    "pl_orbper": ("per", 1.0),
    "pl_orbeccen": ("ecc", 1.0),
}
_NASA_COLUMNS = ("pl_name", "hostname", "pl_orbper", "pl_orbsmax", "pl_rade", "pl_bmasse", "pl_bmassprov",
                 "pl_orbeccen", "pl_insol", "pl_eqt", "st_spectype", "st_teff", "st_rad", "st_mass", "st_met",
                 "st_logg", "sy_dist", "discoverymethod", "disc_year", "disc_facility", "source", "release", "file")
_LIGHT_CURVE_SOURCE = {"Kepler": "kepler_k2_mast", "K2": "kepler_k2_mast", "TESS": "tess_mast"}


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


# ------------------------------------------------------------------------------------------------ catalog


def _builder_rows(key: str, data_dir: Any, data_files: Any, cache_dir: Any, **options: Any) -> datasets.Dataset:
    from .sources import get_builder

    builder = get_builder(key, cache_dir=None if cache_dir is None else os.fspath(cache_dir),
                          data_dir=None if data_dir is None else os.fspath(data_dir),
                          data_files=None if data_files is None else [os.fspath(f) for f in data_files], **options)
    builder.download_and_prepare()
    return builder.as_dataset(split="train")


def _load_planets(config: MultimodalBuildConfig, report: MultimodalReport) -> dict[str, list]:
    """NASA catalog columns (lists), one entry per normalised planet name, after the filters."""
    table = _builder_rows("nasa_exoplanet_archive", config.nasa_data_dir, config.nasa_data_files, config.cache_dir,
                          table=config.nasa_table)
    missing = [c for c in ("pl_name", "hostname") if c not in table.column_names]
    if missing:
        raise MultimodalBuildError(f"nasa_exoplanet_archive table {config.nasa_table!r} has no {missing} columns; "
                                   "the multimodal dataset needs a planet table (pscomppars or ps)")
    present = [c for c in _NASA_COLUMNS if c in table.column_names]
    extra = [c for c in config.planet_param_names if c not in present and c in table.column_names]
    columns = table.select_columns(present + extra)[:]
    n = table.num_rows
    for c in set(_NASA_COLUMNS) - set(present):
        columns[c] = [None] * n
    wanted_planets = {normalize_name(p) for p in config.planets} if config.planets else None
    wanted_hosts = {normalize_name(h) for h in config.hosts} if config.hosts else None
    seen: set[str] = set()
    keep: list[int] = []
    duplicates = 0
    for i, (name, host) in enumerate(zip(columns["pl_name"], columns["hostname"], strict=True)):
        key = normalize_name(name)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        if wanted_planets is not None and key not in wanted_planets:
            continue
        if wanted_hosts is not None and normalize_name(host) not in wanted_hosts:
            continue
        keep.append(i)
    if wanted_planets is not None:
        found = {normalize_name(columns["pl_name"][i]) for i in keep}
        absent = sorted(p for p in config.planets if normalize_name(p) not in found)
        if absent:
            raise MultimodalBuildError(f"planets not in the NASA catalog: {absent}")
    if config.max_planets is not None:
        keep = keep[: config.max_planets]
    if not keep:
        raise MultimodalBuildError("no planet left after the filters (planets / hosts / max_planets)")
    report.planets = {"catalog_rows": n, "duplicate_names_dropped": duplicates, "selected": len(keep)}
    return {k: [v[i] for i in keep] for k, v in columns.items()}


def _cross_match_eod(config: MultimodalBuildConfig, cat: dict[str, list], report: MultimodalReport) -> list[dict]:
    """exoplanets.org provenance entry per planet (None where unmatched), filling catalog gaps in place."""
    n = len(cat["pl_name"])
    if config.exoplanets_org_data_dir is None and config.exoplanets_org_data_files is None:
        return [None] * n
    eod = _builder_rows("exoplanets_org", config.exoplanets_org_data_dir, config.exoplanets_org_data_files,
                        config.cache_dir)
    wanted = ["name_normalized", "release", "file"] + [c for c, _ in EOD_FILLS.values()]
    cols = eod.select_columns([c for c in wanted if c in eod.column_names])[:]
    index: dict[str, int] = {}
    for j, key in enumerate(cols["name_normalized"]):
        if key and key not in index:
            index[key] = j
    entries: list[dict | None] = []
    filled: Counter[str] = Counter()
    for i in range(n):
        j = index.get(normalize_name(cat["pl_name"][i]))
        if j is None:
            entries.append(None)
            continue
        done = []
        if config.fill_from_exoplanets_org:
            for nasa_col, (eod_col, factor) in EOD_FILLS.items():
                value = cols.get(eod_col, [None] * (j + 1))[j]
                if cat[nasa_col][i] is None and value is not None and not math.isnan(value):
                    cat[nasa_col][i] = float(value) * factor
                    if nasa_col == "pl_bmasse":
                        cat["pl_bmassprov"][i] = "Msini"
                    done.append(f"{nasa_col}<-{eod_col.upper()}")
                    filled[nasa_col] += 1
        release = cols["release"][j] or "exoplanets.org"
        if done:
            release += "; filled " + ", ".join(done)
        entries.append({"source": "exoplanets_org", "release": release, "file": cols["file"][j] or "",
                        "generated": False})
    report.exoplanets_org = {"rows": eod.num_rows, "matched": sum(e is not None for e in entries),
                             "filled": dict(filled), "fill_rule": {k: v[0].upper() for k, v in EOD_FILLS.items()}
                             if config.fill_from_exoplanets_org else {}}
    return entries


# ------------------------------------------------------------------------------------------------ light curves


def _expand_files(items: Sequence[str | os.PathLike], patterns: tuple[str, ...]) -> list[Path]:
    """Paths, globs and folders (searched recursively for ``patterns``) -> sorted unique files."""
    out: set[Path] = set()
    for item in items:
        text = os.fspath(item)
        if os.path.isdir(text):
            for pattern in patterns:
                out.update(Path(p) for p in glob.glob(os.path.join(text, "**", pattern), recursive=True))
        elif any(ch in text for ch in "*?["):
            out.update(Path(p) for p in glob.glob(text, recursive=True))
        elif os.path.isfile(text):
            out.add(Path(text))
        else:
            raise MultimodalBuildError(f"light-curve / spectrum input {text!r} does not exist")
    return sorted(out)


def _stitch(raws: list[RawLightCurve]) -> RawLightCurve:
    """Several files of one star as one light curve: each divided by its own median (quarters and sectors have
    different flux levels), times moved to the first file's BJD reference."""
    if len(raws) == 1:
        return raws[0]
    ref = raws[0].bjd_reference
    times, fluxes, errors, quality = [], [], [], []
    for raw in raws:
        good = raw.good_cadences()
        median = float(np.median(raw.flux[good])) if good.any() else 1.0
        median = median if median > 0 else 1.0
        times.append(raw.time + (raw.bjd_reference - ref))
        fluxes.append(raw.flux / median)
        errors.append(raw.flux_err / median)
        quality.append(raw.quality)
    order = np.argsort(np.concatenate(times), kind="stable")
    return replace(
        raws[0],
        time=np.concatenate(times)[order], flux=np.concatenate(fluxes)[order],
        flux_err=np.concatenate(errors)[order], quality=np.concatenate(quality)[order],
        segment="+".join(r.segment for r in raws), source_file=";".join(Path(r.source_file).name for r in raws),
    )


def _join_light_curves(config: MultimodalBuildConfig, cat: dict[str, list], report: MultimodalReport
                       ) -> dict[int, tuple[np.ndarray, list[dict]]]:
    """Planet index -> (array [2, L], provenance entries)."""
    files = _expand_files(config.light_curve_files, ("*.fits", "*.fits.gz", "*.fit"))
    if not files:
        return {}
    cross = read_cross_ids(config.cross_ids) if config.cross_ids else CrossIds()
    host_keys = [normalize_name(h) for h in cat["hostname"]]
    planet_keys = [normalize_name(p) for p in cat["pl_name"]]
    hosts = set(host_keys)
    by_host: dict[str, list[Path]] = defaultdict(list)
    by_planet: dict[str, list[Path]] = defaultdict(list)
    skipped: Counter[str] = Counter()
    unmatched: list[str] = []
    for path in files:
        ident = fits_identity(path)
        host = cross.host_for(ident)
        obj = normalize_name(ident.object_name)
        if host is None and obj in hosts:
            host = obj
        if host is not None and host in hosts:
            by_host[host].append(path)
        elif obj and obj in planet_keys:
            by_planet[obj].append(path)
        else:
            skipped["file matches no selected host (OBJECT / KEPLERID / TICID not in the cross-id table or catalog)"] += 1
            unmatched.append(path.name)
    raw_cache: dict[Path, RawLightCurve] = {}

    def stitched(paths: list[Path]) -> RawLightCurve:
        for p in paths:
            if p not in raw_cache:
                raw_cache[p] = read_light_curve(p)
        return _stitch([raw_cache[p] for p in paths])

    length = config.resolved_light_curve_length()
    out: dict[int, tuple[np.ndarray, list[dict]]] = {}
    folded = 0
    for i, (pkey, hkey) in enumerate(zip(planet_keys, host_keys, strict=True)):
        paths = by_planet.get(pkey) or by_host.get(hkey)
        if not paths:
            continue
        raw = stitched(paths)
        period = cat["pl_orbper"][i]
        array = light_curve_array(raw, length, period, config.quality_bitmask, config.light_curve_normalisation)
        folded += period is not None and period > 0
        prov = [{"source": _LIGHT_CURVE_SOURCE.get(raw_cache[p].mission, "light_curve"),
                 "release": f"{raw_cache[p].mission} {raw_cache[p].segment}".strip(), "file": p.name,
                 "generated": False} for p in paths]
        out[i] = (array, prov)
    report.light_curves = {"files": len(files), "files_matched": len(files) - len(unmatched),
                           "unmatched_files": unmatched, "planets": len(out), "phase_folded": folded,
                           "skipped": dict(skipped)}
    return out


# ------------------------------------------------------------------------------------------------ spectra


def _default_spectrum_source(path: Path, spec: Spectrum) -> str:
    if spec.meta.get("format") in ("csv", "whitespace", "pyratbay"):
        return "published_spectrum_table"
    return "jwst_mast" if "int_num" in spec.meta or "sporder" in spec.meta else "spectrum_fits"


def _join_spectra(config: MultimodalBuildConfig, cat: dict[str, list], report: MultimodalReport,
                  grid: WavelengthGrid) -> tuple[dict[int, tuple[np.ndarray, list[dict]]], dict[str, Any]]:
    planet_index = {normalize_name(p): i for i, p in enumerate(cat["pl_name"])}
    host_planets: dict[str, list[int]] = defaultdict(list)
    for i, h in enumerate(cat["hostname"]):
        host_planets[normalize_name(h)].append(i)
    out: dict[int, tuple[np.ndarray, list[dict]]] = {}
    meta: dict[str, Any] = {}
    skipped: Counter[str] = Counter()

    def assign(indices: list[int], spec: Spectrum, path: Path, source: str) -> None:
        resampled = resample(spec, grid, method=config.spectrum_method)
        result = _spectrum_array(resampled)
        if result is None:
            skipped["no valid bin on the wavelength grid"] += 1
            return
        array, info = result
        for i in indices:
            if i in out:
                skipped["planet already has a spectrum (first one wins)"] += 1
                continue
            out[i] = (array, [{"source": source, "release": spec.meta.get("format", "") or "", "file": path.name,
                               "generated": False}])
            meta[cat["pl_name"][i]] = {"file": path.name, **info}

    mapped: set[Path] = set()
    rows: list[MappingRow] = (read_mapping(config.spectrum_map, ("kind", "order", "integration", "source"))
                              if config.spectrum_map else [])
    for row in rows:
        mapped.add(row.file.resolve())
        i = planet_index.get(row.planet_key)
        if i is None:
            skipped["mapped planet not in the selected catalog rows"] += 1
            continue
        spectra = read_spectra(row.file, row.options.get("kind"))  # type: ignore[arg-type]
        for key, meta_key in (("order", "sporder"), ("integration", "int_num")):
            if key in row.options:
                spectra = [s for s in spectra if str(s.meta.get(meta_key)) == row.options[key]]
        if len(spectra) != 1:
            raise MultimodalBuildError(
                f"{config.spectrum_map}: line {row.line}: {row.file} holds {len(spectra)} matching spectra; "
                "choose one with the 'order' / 'integration' columns")
        assign([i], spectra[0], row.file, row.options.get("source") or _default_spectrum_source(row.file, spectra[0]))
    if config.spectrum_map:
        mapped.add(Path(config.spectrum_map).resolve())  # the mapping table itself is not a spectrum
    files = [p for p in _expand_files(config.spectrum_files, ("*.fits", "*.fits.gz", "*.csv", "*.txt", "*.dat"))
             if p.resolve() not in mapped]
    for path in files:
        for spec in read_spectra(path):
            key = normalize_name(spec.target_name)
            if spec.kind in ("transmission", "emission") and key in planet_index:
                assign([planet_index[key]], spec, path, _default_spectrum_source(path, spec))
            elif spec.kind == "stellar" and key in host_planets:
                assign(host_planets[key], spec, path, _default_spectrum_source(path, spec))
            else:
                skipped["target name in the file metadata matches no selected planet or host"] += 1
    report.spectra = {"mapping_rows": len(rows), "files": len(files), "planets": len(out), "skipped": dict(skipped)}
    return out, meta


# ------------------------------------------------------------------------------------------------ climate


def _ebm_key(insolation: float, period: float, teff: float | None) -> tuple[float, float, float | None]:
    """EBM inputs rounded so near-identical planets share one cube: S and P to 2 significant digits, Teff to 50 K
    (well inside catalog uncertainties); the cube is computed for exactly these rounded values."""
    def sig2(x: float) -> float:
        return float(f"{x:.2g}")
    return sig2(insolation), sig2(period), None if teff is None else float(round(teff / 50.0) * 50)


class _CubeCache:
    """Generated cubes by (rounded parameters, grid, variables): in memory, and as .npy files in ``folder``."""

    def __init__(self, folder: str | os.PathLike | None, grid: CubeGrid, variables: tuple[str, ...], steps: int):
        self.folder = None if folder is None else Path(folder)
        self.memory: dict[tuple, np.ndarray] = {}
        self.tag = json.dumps([GENERATOR_NAME, asdict(grid), variables, steps], sort_keys=True)
        self.hits = self.disk_hits = self.computed = 0
        self.seconds = 0.0

    def _file(self, key: tuple) -> Path:
        digest = hashlib.sha256((self.tag + repr(key)).encode()).hexdigest()[:24]
        return self.folder / f"ebm-{digest}.npy"  # type: ignore[operator]

    def get(self, key: tuple, make) -> np.ndarray:
        if key in self.memory:
            self.hits += 1
            return self.memory[key]
        if self.folder is not None and self._file(key).is_file():
            self.disk_hits += 1
            cube = np.load(self._file(key))
        else:
            start = time.perf_counter()
            cube = make()
            self.seconds += time.perf_counter() - start
            self.computed += 1
            if self.folder is not None:
                self.folder.mkdir(parents=True, exist_ok=True)
                tmp = self._file(key).with_suffix(".tmp.npy")
                np.save(tmp, cube)
                os.replace(tmp, self._file(key))
        self.memory[key] = cube
        return cube


def _climate_cubes(config: MultimodalBuildConfig, cat: dict[str, list], insolation: list[float | None],
                   report: MultimodalReport) -> dict[int, tuple[np.ndarray, bool, list[dict]]]:
    """Planet index -> (physical-unit cube [vars, time, lev, lat, lon] with NaN where no data, generated?, prov)."""
    if config.climate == "none":
        return {}
    grid = config.cube_grid()
    variables = config.resolved_climate_variables()
    out: dict[int, tuple[np.ndarray, bool, list[dict]]] = {}
    skipped: Counter[str] = Counter()
    planet_index = {normalize_name(p): i for i, p in enumerate(cat["pl_name"])}
    rows = read_mapping(config.climate_map, ("variables",), allow_many=True) if config.climate_map else []
    for row in rows:
        i = planet_index.get(row.planet_key)
        if i is None:
            skipped["mapped planet not in the selected catalog rows"] += 1
            continue
        file_vars = row.options["variables"].split(";") if "variables" in row.options else list(variables)
        if len(file_vars) != len(variables):
            raise MultimodalBuildError(f"{config.climate_map}: line {row.line}: {len(file_vars)} variables "
                                       f"{file_vars} for a cube of {len(variables)} {list(variables)}")
        cube: ClimateCube = load_climate_cube(list(row.files), file_vars, grid, time_mode="block_mean",
                                              no_level_axis="broadcast", extrapolation=config.climate_extrapolation)
        if not np.isfinite(cube.data).any():
            skipped["no data on the target grid (the file's domain lies outside it; try extrapolation 'clamp')"] += 1
            continue
        out[i] = (cube.data, False, [{"source": "climate_model", "release": cube.metadata.get("conventions", ""),
                                      "file": ";".join(f.name for f in row.files), "generated": False}])
    generated_info: dict[str, Any] = {}
    if config.climate == "generate" and config.protocol == "withheld":
        skipped["withheld protocol: the generator's input is the insolation"] += len(cat["pl_name"]) - len(out)
    elif config.climate == "generate":
        unknown = [v for v in variables if v not in GENERATED_UNITS]
        if unknown:
            raise MultimodalBuildError(
                f"climate='generate': the energy-balance model produces {sorted(GENERATED_UNITS)}, not {unknown}; "
                "set climate_variables (and the model's datacube variables) or map GCM files with climate_map")
        cache = _CubeCache(config.climate_cache_dir, grid, variables, config.ebm_min_steps_per_orbit)
        lo, hi = config.climate_insolation_range
        not_converged = 0
        progress = Progress(len(cat["pl_name"]), "climate generator", unit="planets")
        for i in range(len(cat["pl_name"])):
            progress.step(note=f"{cache.computed} cubes computed, {cache.hits + cache.disk_hits} reused")
            if i in out:
                continue
            s, period, teff = insolation[i], cat["pl_orbper"][i], cat["st_teff"][i]
            if s is None:
                skipped["no insolation (pl_insol, or st_rad + st_teff + pl_orbsmax)"] += 1
                continue
            if period is None or not period > 0:
                skipped["no orbital period"] += 1
                continue
            if not lo <= s <= hi:
                skipped[f"insolation outside the generator window {lo:g}-{hi:g} S_earth"] += 1
                continue
            key = _ebm_key(s, float(period), None if teff is None else float(teff))
            params = EBMParameters(instellation=key[0], orbital_period_days=key[1], stellar_teff=key[2],
                                   min_steps_per_orbit=config.ebm_min_steps_per_orbit)

            def make(params: EBMParameters = params) -> np.ndarray:
                nonlocal not_converged
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    cube = generate_climate_cube(params, grid, variables)
                not_converged += not cube.metadata["converged"]
                return cube.data

            data = cache.get(key, make)
            release = f"{GENERATOR_NAME}: S={key[0]:g} P={key[1]:g} d Teff={key[2]} K"
            out[i] = (data, True, [{"source": "climate_generator", "release": release, "file": "", "generated": True}])
        generated_info = {"generated": sum(g for _, g, _ in out.values()), "computed": cache.computed,
                          "memory_cache_hits": cache.hits, "disk_cache_hits": cache.disk_hits,
                          "generator_seconds": round(cache.seconds, 3),
                          "seconds_per_computed_cube": round(cache.seconds / cache.computed, 4) if cache.computed else 0,
                          "not_converged": not_converged, "insolation_window": [lo, hi]}
    report.climate = {"source": config.climate, "mapping_rows": len(rows), "planets": len(out),
                      "from_files": sum(not g for _, g, _ in out.values()), **generated_info, "skipped": dict(skipped)}
    return out


def _cube_stats(config: MultimodalBuildConfig, variables: tuple[str, ...], cubes: list[np.ndarray]
                ) -> tuple[NormalizationStats, str]:
    """Per-variable statistics of the training split's cubes (recorded in the spec; train.py hands them to the
    datacube config, whose physics term undoes the normalisation with them); the model preset's climatological
    statistics only when no training planet has a cube."""
    if not cubes:
        cube_preset = config._cube_preset()
        if tuple(cube_preset["variable_names"]) == variables:
            return NormalizationStats(variables, np.asarray(cube_preset["normalization_mean"], dtype=np.float64),
                                      np.asarray(cube_preset["normalization_std"], dtype=np.float64),
                                      np.zeros(len(variables), dtype=np.int64),
                                      tuple(GENERATED_UNITS.get(v, "") for v in variables)), "preset"
        return NormalizationStats(variables, np.zeros(len(variables)), np.ones(len(variables)),
                                  np.zeros(len(variables), dtype=np.int64)), "identity (no training cube)"
    grid = config.cube_grid()
    wrapped = [ClimateCube(data=c, variables=variables, units=("",) * len(variables), time=np.arange(grid.n_time),
                           lev_hpa=np.asarray(grid.levels_hpa), lat=np.asarray(grid.lat), lon=np.asarray(grid.lon))
               for c in cubes]
    return compute_normalization_stats(wrapped), "train split"


# ------------------------------------------------------------------------------------------------ graphs


def _join_graphs(config: MultimodalBuildConfig, cat: dict[str, list], report: MultimodalReport
                 ) -> dict[int, tuple[dict[str, Any], list[dict]]]:
    if config.graph_map is None:
        return {}
    planet_index = {normalize_name(p): i for i, p in enumerate(cat["pl_name"])}
    loaded: dict[Path, dict[str, Any]] = {}
    out: dict[int, tuple[dict[str, Any], list[dict]]] = {}
    skipped: Counter[str] = Counter()
    rows = read_mapping(config.graph_map)
    for row in rows:
        i = planet_index.get(row.planet_key)
        if i is None:
            skipped["mapped planet not in the selected catalog rows"] += 1
            continue
        if i in out:
            skipped["planet already has a graph (first mapping row wins)"] += 1
            continue
        if row.file not in loaded:
            graph = load_metabolic_graph(row.file)
            loaded[row.file] = {
                "graph_x": graph.x.numpy().astype(np.float32),
                "graph_edge_index": graph.edge_index.numpy().astype(np.int64),
                "graph_edge_attr": graph.edge_attr.numpy().astype(np.float32),
                "graph_id": row.file.name,
            }
        out[i] = (loaded[row.file], [{"source": "metabolic_model", "release": "", "file": row.file.name,
                                      "generated": False}])
    report.graphs = {"mapping_rows": len(rows), "models": len(loaded), "planets": len(out), "skipped": dict(skipped)}
    return out


# ------------------------------------------------------------------------------------------------ assembly


def _labels(cat: dict[str, list], rule: LabelRule, report: MultimodalReport) -> tuple[list[int], list[int], list]:
    result = label_table(cat, rule)
    counts = result.counts()
    habitability = [UNLABELLED if h is None else int(h) for h in result.habitability]
    hz = [UNLABELLED if c is None else _HZ_INDEX[c] for c in result.hz_class]
    counts["hz_class_unlabelled"] = sum(h == UNLABELLED for h in hz)
    report.labels = counts
    return habitability, hz, [lab.insolation for lab in result.labels]


def build_multimodal_dataset(config: MultimodalBuildConfig
                             ) -> tuple[datasets.DatasetDict, MultimodalSpec, MultimodalReport]:
    """Join the catalog and the modality files into one row per planet (see the module docstring)."""
    report = MultimodalReport()
    t0 = time.perf_counter()
    cat = _load_planets(config, report)
    eod = _cross_match_eod(config, cat, report)
    n = len(cat["pl_name"])
    report.seconds["catalog"] = time.perf_counter() - t0

    t = time.perf_counter()
    habitability, hz_class, insolation = _labels(cat, config.label_rule, report)
    names = protocol_param_names(config.planet_param_names, config.protocol)
    params, observed = planet_param_matrix(cat, names, n, config.param_transforms)
    texts = [describe_planet({k: cat[k][i] for k in cat}) for i in range(n)]
    host_keys = [normalize_name(h) or normalize_name(p) for h, p in zip(cat["hostname"], cat["pl_name"], strict=True)]
    assignment = assign_host_splits(host_keys, config.split_seed, config.split_fractions,
                                    positives=[h == 1 for h in habitability] if config.stratify_splits else None)
    report.seconds["labels_params_text_splits"] = time.perf_counter() - t

    spec = MultimodalSpec(
        planet_param_names=names,
        spectrum_length=config.resolved_spectrum_length(),
        light_curve_length=config.resolved_light_curve_length(),
        climate_cube_shape=(len(config.resolved_climate_variables()), *config.cube_grid().shape),
    )
    grid = WavelengthGrid(config.spectrum_min_um, config.spectrum_max_um, spec.spectrum_length, "log")

    t = time.perf_counter()
    light_curves = _join_light_curves(config, cat, report)
    report.seconds["light_curves"] = time.perf_counter() - t
    t = time.perf_counter()
    spectra, spectrum_meta = _join_spectra(config, cat, report, grid)
    report.seconds["spectra"] = time.perf_counter() - t
    t = time.perf_counter()
    cubes = _climate_cubes(config, cat, insolation, report)
    report.seconds["climate"] = time.perf_counter() - t
    _check_size(spec, {"spectrum": len(spectra), "light_curve": len(light_curves), "climate_cube": len(cubes)},
                config.max_dataset_bytes)
    t = time.perf_counter()
    graphs = _join_graphs(config, cat, report)
    report.seconds["graphs"] = time.perf_counter() - t

    t = time.perf_counter()
    variables = config.resolved_climate_variables()
    train_cubes = [cubes[i][0] for i in cubes if assignment[host_keys[i]] == "train"]
    stats, stats_origin = _cube_stats(config, variables, train_cubes)
    no_data_points = 0

    generated_names = {Path(f).name for f in config.generated_files}
    columns: dict[str, dict[str, list]] = {s: defaultdict(list) for s in DEFAULT_SPLITS}
    for i in range(n):
        col = columns[assignment[host_keys[i]]]
        prov = [{"source": cat["source"][i] or "nasa_exoplanet_archive", "release": cat["release"][i] or "",
                 "file": cat["file"][i] or "", "generated": False}]
        if eod[i] is not None:
            prov.append(eod[i])
        col["planet_name"].append(cat["pl_name"][i])
        col["host_name"].append(cat["hostname"][i])
        col["planet_params"].append(params[i])
        col["planet_params_mask"].append(observed[i])
        array, extra = spectra.get(i, (None, []))
        col["spectrum"].append(None if array is None else array.reshape(-1))
        col["spectrum_mask"].append(i in spectra)
        prov += extra
        array, extra = light_curves.get(i, (None, []))
        col["light_curve"].append(None if array is None else array.reshape(-1))
        col["light_curve_mask"].append(i in light_curves)
        prov += extra
        if i in cubes:
            data, generated, extra = cubes[i]
            # no data (outside the source domain, below ground) becomes 0: the variable's mean
            normalised, holes = normalise_cube(data, stats.mean, stats.std)
            no_data_points += holes
            col["climate_cube"].append(normalised.reshape(-1))
            col["climate_cube_generated"].append(generated)
            prov += extra
        else:
            col["climate_cube"].append(None)
            col["climate_cube_generated"].append(False)
        col["climate_cube_mask"].append(i in cubes)
        if i in graphs:
            graph, extra = graphs[i]
            col["graph_x"].append(graph["graph_x"])
            col["graph_edge_index"].append(graph["graph_edge_index"])
            col["graph_edge_attr"].append(graph["graph_edge_attr"])
            col["graph_id"].append(graph["graph_id"])
            prov += extra
        else:
            col["graph_x"].append([])
            col["graph_edge_index"].append([[], []])
            col["graph_edge_attr"].append([])
            col["graph_id"].append("")
        col["graph_mask"].append(i in graphs)
        col["text"].append(texts[i])
        col["habitability"].append(habitability[i])
        col["hz_class"].append(hz_class[i])
        col["provenance"].append(_mark_generated(prov, generated_names))

    features = spec.features()
    # a split that got no host (tiny selections) is left out: datasets cannot load an empty saved split
    splits = datasets.DatasetDict({name: datasets.Dataset.from_dict(dict(columns[name]), features=features)
                                   for name in DEFAULT_SPLITS if columns[name]})
    report.seconds["arrow"] = time.perf_counter() - t
    report.seconds["total"] = time.perf_counter() - t0

    report.rows = n
    report.splits = split_counts(assignment, host_keys)
    report.modalities = {
        "planet_params": int(observed.any(axis=1).sum()), "spectrum": len(spectra), "light_curve": len(light_curves),
        "climate_cube": len(cubes), "climate_cube_generated": sum(g for _, g, _ in cubes.values()),
        "graph": len(graphs), "text": n,
    }
    report.host_splits = dict(sorted(assignment.items()))
    report.climate["no_data_points_filled"] = no_data_points
    grid3 = config.cube_grid()
    extra = {
        "format": "astrobio_hf.multimodal v1",
        "protocol": describe_protocol(config.protocol),
        "splits": {"by": "normalised host name", "seed": config.split_seed,
                   "stratified_by": "hosts with a habitable planet" if config.stratify_splits else None,
                   "fractions": list(config.split_fractions), "names": list(splits),
                   "empty": [name for name in DEFAULT_SPLITS if name not in splits],
                   "host_to_split": report.host_splits},
        "planet_params": {"transforms": describe_transforms(names, config.param_transforms),
                          "missing": "NaN with planet_params_mask False"},
        "spectrum": {"channels": ["value", "error", "valid"], "wavelength_um": grid.centres().tolist(),
                     "grid": {"min_um": grid.min_um, "max_um": grid.max_um, "n": grid.n, "scale": grid.scale},
                     "resampling": config.spectrum_method,
                     "normalisation": "per spectrum: (value - median) / mad_std over valid bins; error / mad_std",
                     "per_planet": spectrum_meta},
        "light_curve": {"channels": ["flux", "valid"], "normalisation": config.light_curve_normalisation,
                        "grid": "phase in [-0.5, 0.5) folded at pl_orbper (epoch = first used cadence); "
                                "time bins when the period is missing",
                        "quality_bitmask": config.quality_bitmask},
        "climate_cube": {"source": config.climate, "variables": list(variables),
                         "units": [GENERATED_UNITS.get(v, "") for v in variables],
                         "time": grid3.n_time, "levels_hpa": list(grid3.levels_hpa), "lat": list(grid3.lat),
                         "lon": list(grid3.lon), "generator": GENERATOR_NAME,
                         "normalisation": {"origin": stats_origin, **stats.to_dict()},
                         "no_data": "filled with 0 after normalisation (the variable's mean)"},
        "labels": {"rule": asdict(config.label_rule), "unlabelled_value": UNLABELLED,
                   "hz_class_names": list(HZ_CLASSES), "counts": report.labels},
        "text": "templated from catalog values (astrobio_hf.data.text_templates); no label in the text",
    }
    spec = replace(spec, extra=extra)
    return splits, spec, report


#: Files and folders `config_from_data_dir` looks for in a prepared-input folder.
DATA_DIR_LAYOUT: dict[str, str] = {
    "nasa_exoplanet_archive/": "NASA Exoplanet Archive dump (pscomppars CSV / IPAC / VOTable); required",
    "exoplanets_org/": "exoplanets.org CSV (optional; cross-matched by name)",
    "light_curves/": "Kepler / K2 / TESS light-curve FITS (optional)",
    "cross_ids.csv": "host_name,kic,tic,epic (optional; also looked for in light_curves/)",
    "spectra/spectrum_map.csv": "planet_name,file[,kind,order,integration,source] (optional)",
    "spectra/": "spectrum files; those not in the map are matched by the target name in their metadata",
    "climate/climate_map.csv": "planet_name,file[,variables] NetCDF files (used with climate 'files'/'generate')",
    "metabolic/graph_map.csv": "planet_name,file metabolic models (optional)",
    "sample_manifest.json": "{\"generated\": [files...]}: inputs that are generated, flagged in provenance (optional)",
}


def _mark_generated(provenance: list[dict], generated_names: set[str]) -> list[dict]:
    """Flag provenance entries whose file is one of the declared generated inputs."""
    if not generated_names:
        return provenance
    return [{**entry, "generated": entry["generated"] or Path(entry["file"] or "").name in generated_names}
            for entry in provenance]


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


def _check_size(spec: MultimodalSpec, present: dict[str, int], limit: int) -> None:
    """Refuse builds whose array modalities exceed ``limit`` bytes (absent modalities are null and cost nothing)."""
    total = sum(4 * spec.size(name) * rows for name, rows in present.items())
    if total > limit:
        detail = ", ".join(f"{rows} x {name} {spec.shape(name)}" for name, rows in present.items())
        raise MultimodalBuildError(
            f"array modalities ({detail}) take {total / 2**30:.1f} GiB, more than max_dataset_bytes "
            f"({limit / 2**30:.1f} GiB); use a smaller cube grid (preset 'tiny'), max_planets, or raise the limit")


def save_build_report(report: MultimodalReport, path: str | os.PathLike) -> Path:
    """Write the report as ``multimodal_report.json`` in the dataset folder."""
    target = Path(path) / "multimodal_report.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report.to_dict(), indent=2, default=float))
    os.replace(tmp, target)
    return target


__all__ = ["MultimodalBuildConfig", "MultimodalBuildError", "MultimodalReport", "build_multimodal_dataset",
           "config_from_data_dir", "save_build_report", "DATA_DIR_LAYOUT", "EOD_FILLS"]
