"""The planet rows of a multimodal build: the NASA Exoplanet Archive catalog (one row per normalised name, after the
filters) and the exoplanets.org cross-match that fills its gaps."""

from __future__ import annotations

import math
import os
from collections import Counter
from typing import Any

import datasets
from astropy.constants import M_earth, M_jup

from ..names import normalize_name
from .config import MultimodalBuildConfig, MultimodalBuildError, MultimodalReport

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


def builder_rows(key: str, data_dir: Any, data_files: Any, cache_dir: Any, **options: Any) -> datasets.Dataset:
    from ..sources import get_builder

    builder = get_builder(key, cache_dir=None if cache_dir is None else os.fspath(cache_dir),
                          data_dir=None if data_dir is None else os.fspath(data_dir),
                          data_files=None if data_files is None else [os.fspath(f) for f in data_files], **options)
    builder.download_and_prepare()
    return builder.as_dataset(split="train")


def load_planets(config: MultimodalBuildConfig, report: MultimodalReport) -> dict[str, list]:
    """NASA catalog columns (lists), one entry per normalised planet name, after the filters."""
    table = builder_rows("nasa_exoplanet_archive", config.nasa_data_dir, config.nasa_data_files, config.cache_dir,
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
            given = (f"the light-curve store {config.light_curve_store} (store_planets_only)"
                     if config.store_planets_only else "the planets option")
            shown = absent[:10] + ([f"... {len(absent) - 10} more"] if len(absent) > 10 else [])
            raise MultimodalBuildError(f"{len(absent)} planets of {given} are not in the NASA catalog: {shown}")
    if config.max_planets is not None:
        keep = keep[: config.max_planets]
    if not keep:
        raise MultimodalBuildError("no planet left after the filters (planets / hosts / max_planets)")
    report.planets = {"catalog_rows": n, "duplicate_names_dropped": duplicates, "selected": len(keep)}
    return {k: [v[i] for i in keep] for k, v in columns.items()}


def cross_match_eod(config: MultimodalBuildConfig, cat: dict[str, list], report: MultimodalReport) -> list[dict]:
    """exoplanets.org provenance entry per planet (None where unmatched), filling catalog gaps in place."""
    n = len(cat["pl_name"])
    if config.exoplanets_org_data_dir is None and config.exoplanets_org_data_files is None:
        return [None] * n
    eod = builder_rows("exoplanets_org", config.exoplanets_org_data_dir, config.exoplanets_org_data_files,
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


