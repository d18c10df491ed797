"""`AstroMultimodalProcessor`: raw inputs of a planet (catalog values, light-curve FITS, spectrum files, climate cube,
metabolic model) -> the inputs of `AstroMultimodalModel`, with the transforms the training data went through.

The processor holds the dataset's `MultimodalSpec` (shapes, the planet-parameter transforms, the spectrum grid, the
light-curve binning, the climate grid and its training-split normalisation), so a planet given by hand is encoded
exactly as the rows the model was trained on: each modality goes through the functions the dataset builder calls
(`astrobio_hf.data.model_inputs`, `planet_features`, the modality readers), and batches go through
`MultimodalCollator`. It is a transformers `ProcessorMixin` with no sub-processors: `save_pretrained` writes
`processor_config.json`, and `AutoProcessor.from_pretrained(checkpoint)` returns it after `import astrobio_hf`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from transformers import ProcessorMixin

from ..data.planet_features import planet_param_matrix
from .catalog_values import CATALOG_UNITS, catalog_mapping, catalog_value

if TYPE_CHECKING:
    from ..data.multimodal_schema import MultimodalSpec

# multimodal_schema is imported inside the methods: it imports astrobio_hf.models, whose import registers this class
# with AutoProcessor (a top-level import would be circular)

#: defaults of `MultimodalBuildConfig`, used when a spec carries no build metadata
_DEFAULT_SPECTRUM_GRID = {"min_um": 0.3, "max_um": 30.0, "scale": "log"}


@dataclass
class _FromFile:
    """An observation already read from ``path`` (read once: its header was checked against the planet)."""

    data: Any
    path: str | os.PathLike


@dataclass
class PlanetInputs:
    """One planet's model-input row (the multimodal schema) and what was missing from the raw inputs."""

    row: dict[str, Any]
    missing_params: list[str] = field(default_factory=list)
    missing_modalities: list[str] = field(default_factory=list)


class AstroMultimodalProcessor(ProcessorMixin):
    """Turns raw planet inputs into `AstroMultimodalModel` inputs (see the module docstring)."""

    attributes: list[str] = []  # no tokenizer / image processor: the modality readers are astrobio_hf's own

    def __init__(self, spec: dict[str, Any] | None = None, **kwargs: Any):
        from ..data.multimodal_schema import MultimodalSpec

        self.spec = dict(spec or MultimodalSpec().to_dict())
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_spec(cls, spec: MultimodalSpec) -> AstroMultimodalProcessor:
        return cls(spec=spec.to_dict())

    @classmethod
    def from_model_config(cls, config: Any) -> AstroMultimodalProcessor:
        """Shapes only (no build metadata: the builder's default transforms) for a checkpoint saved without a spec."""
        from ..data.multimodal_schema import MultimodalSpec

        return cls.from_spec(MultimodalSpec.from_model_config(config))

    @property
    def multimodal_spec(self) -> MultimodalSpec:
        from ..data.multimodal_schema import MultimodalSpec

        return MultimodalSpec.from_dict(self.spec)

    @property
    def collator(self):
        from ..data.collator import MultimodalCollator

        return MultimodalCollator(self.multimodal_spec)

    def _extra(self, key: str) -> dict[str, Any]:
        return dict((self.spec.get("extra") or {}).get(key) or {})

    # ------------------------------------------------------------------ one planet
    def planet_params(self, catalog: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        names = tuple(self.spec["planet_param_names"])
        overrides = {t["name"]: t["transform"] for t in self._extra("planet_params").get("transforms", [])}
        columns = {n: [catalog_value(n, catalog.get(n))] for n in names}
        values, observed = planet_param_matrix(columns, names, 1, overrides or None)
        missing = [n for n, seen in zip(names, observed[0], strict=True) if not seen]
        return values[0], observed[0], missing

    @staticmethod
    def _raw_light_curve(source: Any):
        from ..data.modalities.light_curves import RawLightCurve, read_light_curve

        if isinstance(source, (str, os.PathLike)):
            return read_light_curve(source)
        if isinstance(source, RawLightCurve):
            return source
        from .astro_io import raw_light_curve_from_timeseries

        return raw_light_curve_from_timeseries(source)

    def searched_light_curve(self, source: Any, star: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """For a model trained on searched light curves: the strongest transit found by the same BLS search as the
        training store's (docs/light_curves.md), the curve folded at its period, and the search features of
        `transit_features` (NaN when nothing was found; a, S from the star's st_mass, st_rad, st_teff)."""
        from ..data.modalities.transit_features import encode_features, transit_feature_values
        from ..data.modalities.transit_search import search_transit
        from ..data.model_inputs import folded_at_search

        raw = self._raw_light_curve(source)
        good = raw.good_cadences()
        star = {k: catalog_value(k, star.get(k)) for k in ("st_rad", "st_mass", "st_teff")}
        size = {"star_radius_rsun": star["st_rad"] or 1.0, "star_mass_msun": star["st_mass"] or 1.0}
        signal = search_transit(raw.time[good], raw.flux[good], raw.flux_err[good], **size)
        array = folded_at_search(raw, int(self.spec["light_curve_length"]), signal)
        values = transit_feature_values(found=signal.found, period=signal.period, duration=signal.duration,
                                        depth=signal.depth, snr=signal.depth_snr, **star)
        return array, encode_features(values, tuple(self.spec["light_curve_feature_names"]))

    def light_curve(self, source: Any, period: float | None) -> np.ndarray:
        """A light-curve FITS path, a `RawLightCurve` or an astropy `TimeSeries` -> [flux, valid] `[2, L]`."""
        from ..data.model_inputs import light_curve_array

        raw = self._raw_light_curve(source)
        from ..data.protocols import ORBIT_WITHHELD

        info = self._extra("light_curve")
        kwargs = {"normalisation": info.get("normalisation", "robust")}
        if "quality_bitmask" in info:
            kwargs["quality_bitmask"] = int(info["quality_bitmask"])
        if self._extra("protocol").get("name") in ORBIT_WITHHELD:
            period = None  # trained without the orbit: binned in time, as the dataset's curves were
        return light_curve_array(raw, int(self.spec["light_curve_length"]), period, **kwargs)

    def spectrum(self, source: Any) -> np.ndarray | None:
        """A spectrum file path or a `Spectrum` (or specutils `Spectrum1D`) -> [value, error, valid] `[3, L]`."""
        from ..data.modalities.spectra import Spectrum, WavelengthGrid, read_spectra, resample
        from ..data.model_inputs import spectrum_array

        if isinstance(source, (str, os.PathLike)):
            spectra = read_spectra(source)
            if len(spectra) != 1:
                raise ValueError(f"{source}: holds {len(spectra)} spectra; pass the one to use as a Spectrum")
            source = spectra[0]
        elif not isinstance(source, Spectrum):
            from .astro_io import spectrum_from_specutils

            source = spectrum_from_specutils(source)
        info = self._extra("spectrum")
        grid = {**_DEFAULT_SPECTRUM_GRID, **info.get("grid", {})}
        grid = WavelengthGrid(grid["min_um"], grid["max_um"], int(self.spec["spectrum_length"]), grid["scale"])
        result = spectrum_array(resample(source, grid, method=info.get("resampling", "flux_conserving")))
        return None if result is None else result[0]

    def climate_cube(self, source: Any) -> np.ndarray:
        """A CF NetCDF path or a physical-unit array `[vars, time, lev, lat, lon]` -> the normalised cube."""
        from ..data.modalities.climate_cubes import CubeGrid, NormalizationStats, load_climate_cube
        from ..data.model_inputs import normalise_cube

        info = self._extra("climate_cube")
        shape = tuple(self.spec["climate_cube_shape"])
        if isinstance(source, (str, os.PathLike)):
            if not info:
                raise ValueError("this processor has no climate grid (its spec carries no build metadata); pass the "
                                 "cube as an array on the model's grid")
            grid = CubeGrid(n_time=int(info["time"]), levels_hpa=tuple(info["levels_hpa"]), lat=tuple(info["lat"]),
                            lon=tuple(info["lon"]))
            source = load_climate_cube(source, info["variables"], grid, time_mode="block_mean",
                                       no_level_axis="broadcast").data
        data = np.asarray(source, dtype=np.float32)
        if data.shape != shape:
            raise ValueError(f"climate cube has shape {data.shape}, the model expects {shape} [vars, time, lev, lat, "
                             "lon]")
        stats = info.get("normalisation")
        if not stats or "variables" not in stats:
            return data  # no recorded statistics: the array is taken as already normalised
        stats = NormalizationStats.from_dict(stats, source="processor spec")
        return normalise_cube(data, stats.mean, stats.std)[0]

    @staticmethod
    def graph(source: Any) -> dict[str, Any]:
        """A metabolic model file (SBML, KGML, ...) or a PyG `Data` -> the graph columns of a row."""
        if isinstance(source, (str, os.PathLike)):
            from ..data.modalities.metabolic_graphs import load_metabolic_graph

            graph, graph_id = load_metabolic_graph(source), Path(source).name
        else:
            graph, graph_id = source, "graph"
        return {"graph_x": graph.x.numpy().astype(np.float32),
                "graph_edge_index": graph.edge_index.numpy().astype(np.int64),
                "graph_edge_attr": (graph.edge_attr.numpy().astype(np.float32)
                                    if getattr(graph, "edge_attr", None) is not None else np.zeros((0, 0), np.float32)),
                "graph_id": graph_id}

    def planet_inputs(self, catalog: Any = None, *, planet_name: str | None = None, light_curve: Any = None,
                      spectrum: Any = None, climate_cube: Any = None, graph: Any = None,
                      force: bool = False) -> PlanetInputs:
        """One planet's row in the multimodal schema; absent inputs are masked and listed, never imputed.

        A light-curve or spectrum file whose header names another star or planet is refused unless ``force``."""
        from ..data.multimodal_schema import UNLABELLED

        values = catalog_mapping(catalog) if catalog is not None else {}
        name = planet_name or str(values.get("pl_name") or "") or "planet"
        light_curve, spectrum = self._checked_files(values, planet_name, light_curve, spectrum, force)
        params, observed, missing_params = self.planet_params(values)
        row: dict[str, Any] = {
            "planet_name": name, "host_name": str(values.get("hostname") or ""), "provenance": [],
            "planet_params": params, "planet_params_mask": observed, "text": "",
            "habitability": UNLABELLED, "hz_class": UNLABELLED, "rocky": UNLABELLED,
            "climate_cube_generated": False,
        }
        missing: list[str] = []
        period = catalog_value("pl_orbper", values.get("pl_orbper"))
        searched = bool(self.spec.get("light_curve_feature_names"))

        def encode_light_curve(source: Any) -> np.ndarray:
            if not searched:
                return self.light_curve(source, period)
            array, row["light_curve_features"] = self.searched_light_curve(source, values)
            return array

        encoders = {"light_curve": (light_curve, encode_light_curve),
                    "spectrum": (spectrum, self.spectrum), "climate_cube": (climate_cube, self.climate_cube)}
        for modality, (source, encode) in encoders.items():
            file = source.path if isinstance(source, _FromFile) else source
            source = source.data if isinstance(source, _FromFile) else source
            array = None if source is None else encode(source)  # a spectrum with no valid bin also ends as None
            row[modality] = array
            row[f"{modality}_mask"] = array is not None
            if array is None:
                missing.append(modality)
            elif isinstance(file, (str, os.PathLike)):
                row["provenance"].append({"source": f"user {modality}", "release": "", "file": Path(file).name,
                                          "generated": False})
        if graph is not None:
            row.update(self.graph(graph))
            row["graph_mask"] = True
        else:
            row.update({"graph_x": [], "graph_edge_index": [[], []], "graph_edge_attr": [], "graph_id": "",
                        "graph_mask": False})
            missing.append("graph")
        if not observed.any():
            missing.insert(0, "planet_params")
        return PlanetInputs(row=row, missing_params=missing_params, missing_modalities=missing)

    @staticmethod
    def _checked_files(values: Mapping[str, Any], planet_name: str | None, light_curve: Any, spectrum: Any,
                       force: bool) -> tuple[Any, Any]:
        """Read light-curve / spectrum files once and check that their headers name this planet or its host."""
        from .identity import check_observation

        if isinstance(light_curve, (str, os.PathLike)):
            from ..data.modalities.light_curves import read_light_curve

            path = light_curve
            light_curve = _FromFile(read_light_curve(path), path)
            if not force:
                check_observation("light curve", str(path), light_curve.data.target_id, values, planet_name)
        if isinstance(spectrum, (str, os.PathLike)):
            from ..data.modalities.spectra import read_spectra

            path = spectrum
            spectra = read_spectra(path)
            if len(spectra) != 1:
                raise ValueError(f"{path}: holds {len(spectra)} spectra; pass the one to use as a Spectrum")
            spectrum = _FromFile(spectra[0], path)
            if not force:
                check_observation("spectrum", str(path), spectra[0].target_name, values, planet_name)
        return light_curve, spectrum

    # ------------------------------------------------------------------ batches
    def __call__(self, planets: PlanetInputs | Mapping[str, Any] | Sequence[PlanetInputs | Mapping[str, Any]],
                 return_names: bool = False, **kwargs: Any) -> dict[str, Any]:
        """Model inputs (tensors, PyG `Batch`) for one or more planets: `PlanetInputs` or prepared rows."""
        if isinstance(planets, (PlanetInputs, Mapping)):
            planets = [planets]
        rows = [p.row if isinstance(p, PlanetInputs) else dict(p) for p in planets]
        from ..data.collator import MultimodalCollator
        from ..data.multimodal_schema import LABEL_COLUMNS

        batch = MultimodalCollator(self.multimodal_spec, return_names=return_names)(rows)
        return {k: v for k, v in batch.items() if k not in LABEL_COLUMNS}


__all__ = ["AstroMultimodalProcessor", "PlanetInputs", "CATALOG_UNITS", "catalog_value", "catalog_mapping"]
