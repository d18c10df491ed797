"""`build_multimodal_dataset`: the catalog, labels, splits and every modality joined into one row per planet."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import asdict, replace
from pathlib import Path

import datasets
import numpy as np

from ...models.multimodal.configuration_multimodal import HZ_CLASSES
from ..labels import TEMPERATE, TOO_COLD, TOO_HOT, LabelRule, label_table
from ..modalities.climate_generator import GENERATOR_NAME
from ..modalities.climate_generator import UNITS as GENERATED_UNITS
from ..modalities.spectra import WavelengthGrid
from ..modalities.transit_features import LIGHT_CURVE_FEATURES, describe_features
from ..model_inputs import normalise_cube
from ..multimodal_schema import UNLABELLED, MultimodalSpec
from ..names import normalize_name
from ..planet_features import describe_transforms, planet_param_matrix
from ..protocols import describe_protocol, protocol_param_names, removed_columns
from ..splits import DEFAULT_SPLITS, assign_host_splits, split_counts
from ..text_templates import describe_planet
from .catalog import cross_match_eod, load_planets
from .climate_join import climate_cubes, cube_stats
from .config import MultimodalBuildConfig, MultimodalBuildError, MultimodalReport
from .graph_join import join_graphs
from .light_curve_join import join_light_curves
from .light_curve_store import join_light_curve_store, store_planet_names
from .spectrum_join import join_spectra

_HZ_INDEX = {TOO_HOT: HZ_CLASSES.index("too_hot"), TEMPERATE: HZ_CLASSES.index("temperate"),
             TOO_COLD: HZ_CLASSES.index("too_cold")}


def _labels(cat: dict[str, list], rule: LabelRule, report: MultimodalReport
            ) -> tuple[list[int], list[int], list[int], list]:
    result = label_table(cat, rule)
    counts = result.counts()
    habitability = [UNLABELLED if h is None else int(h) for h in result.habitability]
    hz = [UNLABELLED if c is None else _HZ_INDEX[c] for c in result.hz_class]
    rocky = [UNLABELLED if r is None else int(r) for r in result.rocky]
    counts["hz_class_unlabelled"] = sum(h == UNLABELLED for h in hz)
    report.labels = counts
    return habitability, hz, rocky, [lab.insolation for lab in result.labels]


def build_multimodal_dataset(config: MultimodalBuildConfig
                             ) -> tuple[datasets.DatasetDict, MultimodalSpec, MultimodalReport]:
    """Join the catalog and the modality files into one row per planet (see the module docstring)."""
    report = MultimodalReport()
    t0 = time.perf_counter()
    if config.store_planets_only:
        config = replace(config, planets=store_planet_names(config.light_curve_store))
    cat = load_planets(config, report)
    eod = cross_match_eod(config, cat, report)
    n = len(cat["pl_name"])
    report.seconds["catalog"] = time.perf_counter() - t0

    t = time.perf_counter()
    habitability, hz_class, rocky, insolation = _labels(cat, config.label_rule, report)
    names = protocol_param_names(config.planet_param_names, config.protocol)
    params, observed = planet_param_matrix(cat, names, n, config.param_transforms)
    removed = set(removed_columns(config.protocol))  # the text is an input too: it must not spell them out
    texts = [describe_planet({k: None if k in removed else cat[k][i] for k in cat}) for i in range(n)]
    host_keys = [normalize_name(h) or normalize_name(p) for h, p in zip(cat["hostname"], cat["pl_name"], strict=True)]
    assignment = assign_host_splits(host_keys, config.split_seed, config.split_fractions,
                                    positives=[h == 1 for h in habitability] if config.stratify_splits else None)
    report.seconds["labels_params_text_splits"] = time.perf_counter() - t

    spec = MultimodalSpec(
        planet_param_names=names,
        spectrum_length=config.resolved_spectrum_length(),
        light_curve_length=config.resolved_light_curve_length(),
        light_curve_feature_names=LIGHT_CURVE_FEATURES if config.light_curve_store else (),
        climate_cube_shape=(len(config.resolved_climate_variables()), *config.cube_grid().shape),
    )
    grid = WavelengthGrid(config.spectrum_min_um, config.spectrum_max_um, spec.spectrum_length, "log")

    t = time.perf_counter()
    search: dict[int, np.ndarray] = {}
    if config.light_curve_store:
        stored = join_light_curve_store(config, cat, report)
        light_curves = {i: (array, prov) for i, (array, _, prov) in stored.items()}
        search = {i: features for i, (_, features, _) in stored.items()}
    else:
        light_curves = join_light_curves(config, cat, report)
    report.seconds["light_curves"] = time.perf_counter() - t
    t = time.perf_counter()
    spectra, spectrum_meta = join_spectra(config, cat, report, grid)
    report.seconds["spectra"] = time.perf_counter() - t
    t = time.perf_counter()
    cubes = climate_cubes(config, cat, insolation, report)
    report.seconds["climate"] = time.perf_counter() - t
    _check_size(spec, {"spectrum": len(spectra), "light_curve": len(light_curves), "climate_cube": len(cubes)},
                config.max_dataset_bytes)
    t = time.perf_counter()
    graphs = join_graphs(config, cat, report)
    report.seconds["graphs"] = time.perf_counter() - t

    t = time.perf_counter()
    variables = config.resolved_climate_variables()
    train_cubes = [cubes[i][0] for i in cubes if assignment[host_keys[i]] == "train"]
    stats, stats_origin = cube_stats(config, variables, train_cubes)
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
        if spec.light_curve_feature_names:
            col["light_curve_features"].append(search.get(i))
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
        col["rocky"].append(rocky[i])
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
        "light_curve": _light_curve_extra(config, spec),
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



def _light_curve_extra(config: MultimodalBuildConfig, spec: MultimodalSpec) -> dict:
    """How the light-curve rows were made, for the spec."""
    if config.light_curve_store:
        return {"channels": ["flux", "valid"], "normalisation": "robust",
                "grid": "phase in [-0.5, 0.5) folded at the period the transit search found (t0 of the search at "
                        "phase 0), averaged from the store's bins to light_curve_length",
                "store": Path(config.light_curve_store).name,
                "search_features": describe_features(spec.light_curve_feature_names)}
    return {"channels": ["flux", "valid"], "normalisation": config.light_curve_normalisation,
            "grid": "phase in [-0.5, 0.5) folded at pl_orbper (epoch = first used cadence); time bins when the "
                    "period is missing or the protocol withholds the orbit",
            "quality_bitmask": config.quality_bitmask}


def _mark_generated(provenance: list[dict], generated_names: set[str]) -> list[dict]:
    """Flag provenance entries whose file is one of the declared generated inputs."""
    if not generated_names:
        return provenance
    return [{**entry, "generated": entry["generated"] or Path(entry["file"] or "").name in generated_names}
            for entry in provenance]




def _check_size(spec: MultimodalSpec, present: dict[str, int], limit: int) -> None:
    """Refuse builds whose array modalities exceed ``limit`` bytes (absent modalities are null and cost nothing)."""
    total = sum(4 * spec.size(name) * rows for name, rows in present.items())
    if total > limit:
        detail = ", ".join(f"{rows} x {name} {spec.shape(name)}" for name, rows in present.items())
        raise MultimodalBuildError(
            f"array modalities ({detail}) take {total / 2**30:.1f} GiB, more than max_dataset_bytes "
            f"({limit / 2**30:.1f} GiB); use a smaller cube grid (preset 'tiny'), max_planets, or raise the limit")


