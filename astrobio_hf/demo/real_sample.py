"""The demo sample on the REAL catalog: the packaged NASA Exoplanet Archive snapshot plus observations generated from
each real planet's own parameters, in the same folder layout as the generated sample
(:data:`astrobio_hf.data.multimodal.DATA_DIR_LAYOUT`).

``write_real_sample(out_dir, seed=0)`` writes::

    nasa_exoplanet_archive/PSCompPars_2025.csv.gz   REAL: the packaged pscomppars export, as a user's dump
    light_curves/kplr9000NNNNN-2009350155506_llc.fits  generated: one Kepler-style quarter per chosen transit host,
                                                    every transiting planet of the host injected from its catalog
                                                    period, radius ratio and star
    cross_ids.csv                                   host_name -> the made-up KIC id of its generated light curve
    spectra/<planet>_transmission_demo_generated.csv  generated: transmission spectra from the planet's T_eq
    spectra/spectrum_map.csv                        planet_name,file,kind,source
    metabolic/graph_map.csv                         REAL cobra models, paired with planets at random (label-blind)
    sample_manifest.json                            generated and real parts, counts, labels

Which planets get a generated observation is drawn at random (seeded), independently of the label. Generated light
curves use KIC ids from 900000000 up, above the Kepler Input Catalog's range, so they cannot name a real star.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..package_data import CATALOG_RELEASE, CATALOG_SOURCE_SHA256, real_catalog_path
from . import formats, observations, physics
from .package_data import cobra_models
from .population import GENERATOR
from .sample import (
    CROSS_IDS,
    GRAPH_MAP,
    MANIFEST,
    SPECTRUM_MAP,
    SPECTRUM_SOURCE,
    _label_summary,
    _prepare_target,
    _rng,
    _safe,
)

NASA_FILE = "nasa_exoplanet_archive/PSCompPars_2025.csv.gz"
#: Real planets the demo predicts for (named as the archive names them).
REAL_NAMED_PLANETS = ("TRAPPIST-1 e", "TRAPPIST-1 b", "Kepler-186 f", "TOI-700 d", "Proxima Cen b", "51 Peg b")
_KIC_BASE = 900_000_000
_DEFAULT_DISTANCE_PC = 300.0  # for the photometric noise of a host with no catalog distance


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="coerce")


def _transit_hosts(planets: pd.DataFrame) -> list[str]:
    """Hosts with at least one transiting planet whose light curve can be generated from catalog values."""
    ok = ((planets["discoverymethod"] == "Transit") & _numeric(planets, "pl_orbper").gt(0)
          & _numeric(planets, "pl_rade").gt(0) & _numeric(planets, "st_rad").gt(0)
          & _numeric(planets, "st_teff").gt(0) & _numeric(planets, "st_mass").gt(0))
    return sorted(set(planets.loc[ok, "hostname"]))


def _semi_major_axis(p: pd.Series) -> float:
    a = float(p["pl_orbsmax"]) if pd.notna(p["pl_orbsmax"]) and p["pl_orbsmax"] > 0 else float("nan")
    return a if math.isfinite(a) else float(physics.semi_major_axis_au(p["pl_orbper"], p["st_mass"]))


def _value(row: pd.Series, column: str, default: float) -> float:
    return float(row[column]) if pd.notna(row[column]) else default


def _write_light_curves(root: Path, planets: pd.DataFrame, hosts: list[str], seed: int) -> tuple[list[str], list]:
    files, cross = [], []
    for index, host in enumerate(hosts):
        rng = _rng(seed, 11, index)
        mine = planets[(planets["hostname"] == host) & (planets["discoverymethod"] == "Transit")
                       & planets["pl_orbper"].gt(0) & planets["pl_rade"].gt(0)]
        star = mine.iloc[0]
        transits = []
        for _, p in mine.iterrows():
            k = physics.radius_ratio(p["pl_rade"], star["st_rad"])
            if not 0 < k < 0.5:
                continue
            impact = float(rng.uniform(0.0, 0.9 * (1.0 - k)))
            shape = physics.transit_shape(p["pl_orbper"], _semi_major_axis(p), star["st_rad"], p["pl_rade"], impact)
            epoch = observations.Q3_TSTART_BKJD + float(rng.random()) * p["pl_orbper"]
            transits.append(observations.PlanetTransit(p["pl_name"], float(p["pl_orbper"]), epoch, shape))
        if not transits:
            continue
        luminosity = float(physics.stellar_luminosity(star["st_rad"], star["st_teff"]))
        distance = float(star["sy_dist"]) if pd.notna(star["sy_dist"]) else _DEFAULT_DISTANCE_PC
        curve = observations.synthesize_light_curve(rng, luminosity, distance, transits)
        kic = _KIC_BASE + index
        name = f"light_curves/kplr{kic:09d}-2009350155506_llc.fits"
        formats.write_kepler_light_curve(root / name, curve, kic=kic, ra=_value(star, "ra", 0.0),
                                         dec=_value(star, "dec", 0.0), teff=float(star["st_teff"]),
                                         logg=_value(star, "st_logg", 4.4), feh=_value(star, "st_met", 0.0),
                                         radius=float(star["st_rad"]), seed=seed)
        files.append(name)
        cross.append([host, kic, "", ""])
    return files, cross


def _write_spectra(root: Path, planets: pd.DataFrame, chosen: pd.DataFrame, seed: int) -> tuple[list[str], list]:
    files, mapping = [], []
    for index, p in chosen.iterrows():
        rng = _rng(seed, 12, int(index))
        mass = float(p["pl_bmasse"]) if pd.notna(p["pl_bmasse"]) and p["pl_bmasse"] > 0 else \
            float(physics.mass_from_radius(p["pl_rade"]))
        spectrum = observations.synthesize_spectrum(rng, float(p["pl_rade"]), mass, float(p["st_rad"]),
                                                    float(p["t_eq"]), float(rng.uniform(0.2, 1.0)),
                                                    float(rng.uniform(20.0, 120.0)))
        name = f"spectra/{_safe(p['pl_name'])}_transmission_demo_generated.csv"
        formats.write_transmission_table(root / name, spectrum, p["pl_name"], seed)
        files.append(name)
        mapping.append([p["pl_name"], Path(name).name, "transmission", SPECTRUM_SOURCE])
    return files, mapping


def write_real_sample(out_dir: str | Path, seed: int = 0, *, light_curve_fraction: float = 0.1,
                      spectrum_fraction: float = 0.1, graph_fraction: float = 0.05,
                      max_planets: int | None = None) -> dict[str, Any]:
    """Write the real-catalog sample into ``out_dir`` (absent, empty or an earlier sample) and return its manifest.

    ``light_curve_fraction`` of the transit hosts get a generated light curve, ``spectrum_fraction`` of the
    transiting planets with a T_eq (catalog ``pl_eqt``, else from the insolation) a generated spectrum and
    ``graph_fraction`` of all planets one of cobra's real metabolic networks. ``max_planets`` keeps the first rows of
    the catalog (for quick tests).
    """
    start = time.perf_counter()
    out = Path(out_dir).resolve()
    tmp = _prepare_target(out)
    try:
        for sub in ("nasa_exoplanet_archive", "light_curves", "spectra", "metabolic"):
            (tmp / sub).mkdir(parents=True, exist_ok=True)
        catalog = real_catalog_path()
        planets = pd.read_csv(catalog)
        if max_planets is not None:
            planets = planets.head(max_planets)
            planets.to_csv(tmp / NASA_FILE, index=False, compression={"method": "gzip", "mtime": 0})
        else:
            shutil.copyfile(catalog, tmp / NASA_FILE)  # the user's dump, as downloaded: read by the NASA builder

        hosts = _transit_hosts(planets)
        rng = np.random.default_rng([seed, 10])
        lc_hosts = [h for h, draw in zip(hosts, rng.random(len(hosts)), strict=True) if draw < light_curve_fraction]
        lc_files, cross = _write_light_curves(tmp, planets, lc_hosts, seed)
        formats.write_table(tmp / CROSS_IDS, ["host_name", "kic", "tic", "epic"], cross,
                            comments=[f"generated by {GENERATOR}, seed {seed}: made-up KIC ids of generated "
                                      "light curves of real hosts"])

        t_eq = _numeric(planets, "pl_eqt")
        insol = _numeric(planets, "pl_insol")
        planets = planets.assign(t_eq=t_eq.fillna(pd.Series(physics.equilibrium_temperature_k(insol, 0.3), index=planets.index)))
        can = ((planets["discoverymethod"] == "Transit") & planets["pl_rade"].gt(0) & planets["st_rad"].gt(0)
               & planets["t_eq"].gt(0))
        chosen = planets[can & (rng.random(len(planets)) < spectrum_fraction)]
        spec_files, spec_map = _write_spectra(tmp, planets, chosen, seed)
        formats.write_table(tmp / SPECTRUM_MAP, ["planet_name", "file", "kind", "source"], spec_map,
                            comments=[f"generated by {GENERATOR}, seed {seed}: every mapped spectrum is generated "
                                      "from the real planet's catalog radius, mass and T_eq"])

        models = cobra_models(False)
        with_graph = planets[rng.random(len(planets)) < graph_fraction]
        graph_rows = [[name, str(models[int(choice) % len(models)].path)]
                      for name, choice in zip(with_graph["pl_name"], rng.integers(0, 1 << 30, len(with_graph)),
                                              strict=True)]
        formats.write_table(tmp / GRAPH_MAP, ["planet_name", "file"], graph_rows,
                            comments=["real metabolic models bundled with cobra, read from the installed package; "
                                      "the planet -> network pairing is random (label-blind), not an observation"])

        generated = lc_files + [CROSS_IDS] + spec_files + [SPECTRUM_MAP]
        real = [{"path": NASA_FILE, "package": "astrobio-hf (package data)", "version": CATALOG_RELEASE,
                 "license": "NASA Exoplanet Archive public data (acknowledgement requested)",
                 "sha256_of_original": CATALOG_SOURCE_SHA256, "used_as": "planet catalog and labels"}]
        real += [{**m.to_dict(), "used_as": "metabolic graph (metabolic/graph_map.csv)"} for m in models]
        names = set(planets["pl_name"])
        manifest: dict[str, Any] = {
            "generator": GENERATOR, "sample": "real", "seed": seed,
            "n_hosts": int(planets["hostname"].nunique()), "n_planets": int(len(planets)),
            "named_planets": [p for p in REAL_NAMED_PLANETS if p in names],
            "counts": {"light_curves": len(lc_files), "light_curve_planets": int(
                planets["hostname"].isin(set(r[0] for r in cross)).sum()), "spectra": len(spec_files),
                "graph_planets": len(graph_rows), "exoplanets_org_rows": 0, "cmip6_reference_files": 0},
            "labels": _label_summary(tmp / NASA_FILE),  # pandas reads the .gz itself
            "generated": generated,
            "real": real,
            "not_installed": [],
            "layout": "astrobio_hf.data.multimodal.DATA_DIR_LAYOUT (config_from_data_dir reads this folder)",
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {**manifest, "out_dir": str(out), "seconds": round(time.perf_counter() - start, 3)}


__all__ = ["write_real_sample", "REAL_NAMED_PLANETS", "NASA_FILE"]
