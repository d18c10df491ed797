"""The compact light-curve store: for every transiting planet of the packaged catalog, a generated mission light
curve (:mod:`.mission_light_curves`), a transit search on it (:mod:`astrobio_hf.data.modalities.transit_search`) and
the folded, binned flux at the FOUND period, one Parquet row per planet. No raw light curve is kept.

Command::

    python -m astrobio_hf.demo.mission_light_curves --out DIR [--seed 0] [--workers 2] [--limit N] [--bins 256]

writes ``DIR/mission_light_curves.parquet`` and ``DIR/mission_light_curves.json`` (manifest), each through a
temporary file and a rename (earlier output in DIR is removed first), so a cut run leaves no file that looks whole,
and prints the period-recovery table (:mod:`.period_recovery`).

Model-facing columns (:data:`MODEL_COLUMNS`) come from the light curve and the star only: the search is handed the
time series, ``st_rad``/``st_mass`` (the period grid's stellar density) and how many transiting planets the host
has; a host's found signals go to its planets by depth (:func:`~astrobio_hf.data.modalities.transit_search.assign_by_depth`,
expected depth ``(pl_rade / st_rad)^2``). Evaluation-only columns (:data:`EVALUATION_COLUMNS`) hold the catalog truth,
including ``n_transits_in_baseline`` (counted with the catalog period). A planet whose host search found no signal
for it has NaN search values and an all-zero fold (``folded_valid`` 0: masked).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .. import __version__
from ..data.modalities import transit_search as ts
from ..data.modalities.light_curves import RawLightCurve
from ..data.model_inputs import folded_at_search
from ..data.multimodal.light_curve_store import MANIFEST_NAME, PARQUET_NAME
from ..package_data import CATALOG_RELEASE, real_catalog_path
from . import physics
from .mission_light_curves import (
    MISSIONS,
    HostLightCurve,
    generate_host,
    observing_times,
    tess_sector_counts,
    transiting_planets,
)
from .period_recovery import period_recovery, recovery_markdown

#: the modules whose code decides a store's content: a store written by other code is not reused (`source_sha256`)
SOURCE_MODULES = ("data/modalities/transit_search.py", "data/modalities/light_curves.py", "data/model_inputs.py",
                  "demo/mission_light_curves.py", "demo/mission_store.py", "demo/observations.py", "demo/physics.py")
DEFAULT_BINS = 256
#: the search options the store records and passes (the star's size comes per host)
SEARCH_OPTIONS: dict[str, Any] = {k: ts.SEARCH_DEFAULTS[k] for k in ("period_min", "bin_minutes", "detrend_window_days",
                                                                      "oversample", "snr_threshold")}

_SEARCH_FIELDS = ("found", "period", "duration", "depth", "depth_err", "depth_snr", "t0", "n_transits", "sde")
SCHEMA = pa.schema(
    [("pl_name", pa.string()), ("hostname", pa.string()), ("mission", pa.string()),
     ("discovery_facility", pa.string()), ("generated", pa.bool_()), ("time_system", pa.string()),
     ("baseline_days", pa.float64()), ("cadence_min", pa.float64()), ("n_sectors", pa.int32()),
     ("mission_magnitude", pa.float64()), ("noise_ppm", pa.float64()), ("host_n_transiting", pa.int32()),
     ("host_n_signals", pa.int32()), ("search_n_periods", pa.int32())]
    + [(f"search_{name}", pa.bool_() if name == "found" else pa.int32() if name == "n_transits" else pa.float64())
       for name in _SEARCH_FIELDS]
    + [("folded_flux", pa.list_(pa.float32())), ("folded_valid", pa.list_(pa.float32())),
       ("n_transits_in_baseline", pa.int32()), ("truth_injected", pa.bool_()), ("truth_period", pa.float64()),
       ("truth_t0", pa.float64()), ("truth_depth", pa.float64()), ("truth_duration", pa.float64()),
       ("truth_impact", pa.float64()), ("truth_best_signal_period", pa.float64())])
EVALUATION_COLUMNS = tuple(n for n in SCHEMA.names if n.startswith("truth_")) + ("n_transits_in_baseline",)
MODEL_COLUMNS = tuple(n for n in SCHEMA.names if n.startswith("search_")) + ("folded_flux", "folded_valid")


def _raw(curve_time: np.ndarray, flux: np.ndarray, flux_err: np.ndarray, mission: str, hostname: str) -> RawLightCurve:
    m = MISSIONS[mission]
    return RawLightCurve(time=curve_time, flux=flux, flux_err=flux_err, quality=np.zeros(curve_time.size, np.int64),
                         mission=mission, target_id=hostname, segment="", time_system=m.time_system,
                         time_scale="tdb", time_reference="SOLARSYSTEM", bjd_reference=m.bjd_reference,
                         source_file=f"generated:{hostname}", flux_column="PDCSAP_FLUX", quality_column="QUALITY")


def search_features(curve_time: np.ndarray, flux: np.ndarray, flux_err: np.ndarray, *, mission: str, hostname: str,
                    star_radius_rsun: float, star_mass_msun: float, expected_depths: list[float],
                    n_bins: int = DEFAULT_BINS, options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Model-facing columns of each planet of a host, from its light curve, star and expected depths only."""
    options = {**SEARCH_OPTIONS, **(options or {})}
    signals = ts.search_signals(curve_time, flux, flux_err, max_signals=len(expected_depths),
                                star_radius_rsun=star_radius_rsun, star_mass_msun=star_mass_msun, **options)
    n_periods = max((s.n_periods for s in signals), default=0)
    raw = _raw(curve_time, flux, flux_err, mission, hostname)
    rows = []
    for signal in ts.assign_by_depth(signals, expected_depths):
        array = folded_at_search(raw, n_bins, signal)
        row = {f"search_{name}": getattr(signal, name) for name in _SEARCH_FIELDS}
        row.update(host_n_signals=len(signals), search_n_periods=n_periods, folded_flux=array[0], folded_valid=array[1],
                   _signal_periods=[s.period for s in signals])
        rows.append(row)
    return rows


def expected_depths(planets: pd.DataFrame) -> list[float]:
    """(pl_rade / st_rad)^2 per planet (NaN without a positive radius): radius stays a model input."""
    out = []
    for _, p in planets.iterrows():
        rade, rad = pd.to_numeric(p["pl_rade"], errors="coerce"), pd.to_numeric(p["st_rad"], errors="coerce")
        out.append(physics.radius_ratio(rade, rad) ** 2 if rade > 0 and rad > 0 else float("nan"))
    return out


def host_rows(planets: pd.DataFrame, curve: HostLightCurve, n_bins: int = DEFAULT_BINS,
              options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every column of the host's planets: search features (no catalog period involved) plus the truth."""
    star = planets.iloc[0]
    features = search_features(curve.time, curve.flux, curve.flux_err, mission=curve.mission, hostname=curve.hostname,
                               star_radius_rsun=float(star["st_rad"]), star_mass_msun=float(star["st_mass"]),
                               expected_depths=expected_depths(planets), n_bins=n_bins, options=options)
    rows = []
    for (_, planet), truth, feature in zip(planets.iterrows(), curve.planets, features, strict=True):
        found_periods = np.asarray(feature.pop("_signal_periods"), dtype=np.float64)
        best = np.nan
        if found_periods.size and truth.period > 0:
            best = float(found_periods[np.argmin(np.abs(np.log(found_periods / truth.period)))])
        rows.append({
            "pl_name": str(planet["pl_name"]), "hostname": curve.hostname, "mission": curve.mission,
            "discovery_facility": str(planet["disc_facility"]), "generated": True,
            "time_system": MISSIONS[curve.mission].time_system, "baseline_days": curve.baseline_days,
            "cadence_min": curve.cadence_min, "n_sectors": curve.n_sectors, "mission_magnitude": curve.magnitude,
            "noise_ppm": curve.noise_ppm, "host_n_transiting": len(planets), **feature,
            "n_transits_in_baseline": truth.n_transits_in_baseline, "truth_injected": truth.injected,
            "truth_period": truth.period, "truth_t0": truth.t0, "truth_depth": truth.depth,
            "truth_duration": truth.t14_days, "truth_impact": truth.impact, "truth_best_signal_period": best,
        })
    return rows


def process_host(task: tuple[pd.DataFrame, int, int | None, int, dict[str, Any]]) -> tuple[list[dict], float]:
    """Generate, search and tabulate one host (a process-pool task); returns its rows and seconds taken."""
    planets, seed, n_sectors, n_bins, options = task
    start = time.perf_counter()
    curve = generate_host(planets, seed, n_sectors)
    return host_rows(planets, curve, n_bins, options), time.perf_counter() - start


def select_hosts(planets: pd.DataFrame, limit: int | None, seed: int) -> list[str]:
    """All hosts, or (``limit``) a seeded random choice of hosts holding about ``limit`` planets in all."""
    hosts = sorted(planets["hostname"].unique())
    if limit is None:
        return hosts
    if limit < 1:
        raise ValueError(f"--limit must be >= 1, not {limit}")
    sizes = planets.groupby("hostname").size()
    chosen, total = [], 0
    for host in np.random.default_rng([seed, 19]).permutation(hosts):
        if total >= limit:
            break
        chosen.append(str(host))
        total += int(sizes[host])
    return sorted(chosen)


def search_grids(options: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The coarse search plan of a Sun-like star on each mission's nominal coverage (the manifest's record of the
    grids; a star's own radius and mass shift the periods and durations)."""
    grids = {}
    for mission, n_sectors in (("Kepler", 1), ("K2", 1), ("TESS", 1), ("TESS", 13)):
        time_ = observing_times(mission, n_sectors)
        baseline = float(time_[-1] - time_[0])
        plan = ts.coarse_plan(baseline, options["period_min"], 0.5 * baseline, options["bin_minutes"], None,
                              detrend_window_days=options["detrend_window_days"])
        grids[f"{mission} x{n_sectors}" if mission == "TESS" else mission] = [
            {"periods_days": [lo, hi], "span_days": span, "coarse_bin_minutes": round(bin_min, 2),
             "detrend_window_days": window, "durations_days": [round(d, 4) for d in durations],
             "n_periods": int(ts.period_grid(span, lo, hi, options["oversample"]).size)}
            for lo, hi, span, bin_min, window, durations in plan]
    return grids


def package_version() -> str:
    """astrobio-hf's version and, in a git checkout, its short commit (what wrote a store)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent, text=True,
                                capture_output=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"astrobio-hf {__version__}" + (f" (git {commit})" if commit else "")


def source_sha256() -> str:
    """SHA-256 over the source of :data:`SOURCE_MODULES`: equal hashes, same store for the same seed and options."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for name in SOURCE_MODULES:
        digest.update(name.encode() + b"\0" + (package / name).read_bytes())
    return digest.hexdigest()


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_store(out_dir: str | Path, *, seed: int = 0, workers: int = 1, limit: int | None = None,
                n_bins: int = DEFAULT_BINS, options: dict[str, Any] | None = None,
                catalog: pd.DataFrame | None = None, progress: bool = False) -> dict[str, Any]:
    """Build the store in ``out_dir`` (see the module docstring) and return its manifest."""
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in (PARQUET_NAME, MANIFEST_NAME):  # a cut run must not leave an earlier run's files looking current
        (out / name).unlink(missing_ok=True)
    options = {**SEARCH_OPTIONS, **(options or {})}
    planets = transiting_planets(pd.read_csv(real_catalog_path()) if catalog is None else catalog)
    hosts = select_hosts(planets, limit, seed)
    by_host = {h: g for h, g in planets[planets["hostname"].isin(hosts)].groupby("hostname", sort=True)}
    first = planets.drop_duplicates("hostname").set_index("hostname").loc[hosts]
    sectors = dict(zip(hosts, tess_sector_counts(first["ra"], first["dec"]).tolist(), strict=True))
    tasks = [(by_host[h], seed, int(sectors[h]), n_bins, options) for h in hosts]
    rows: list[dict[str, Any]] = []
    seconds: dict[str, list[float]] = {}
    with ProcessPoolExecutor(max_workers=workers) if workers > 1 else nullcontext() as pool:
        results = pool.map(process_host, tasks, chunksize=4) if pool is not None else map(process_host, tasks)
        for i, (host_rows_, sec) in enumerate(results):
            rows += host_rows_
            seconds.setdefault(host_rows_[0]["mission"], []).append(sec)
            if progress and (i + 1) % 100 == 0:
                print(f"{i + 1}/{len(tasks)} hosts, {time.perf_counter() - start:.0f} s", file=sys.stderr)
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    frame = table.select(["mission", "search_found", "n_transits_in_baseline", "search_period",
                          "truth_period"]).to_pandas()
    elapsed = time.perf_counter() - start
    manifest: dict[str, Any] = {
        "what": "generated mission light curves of the catalog's transiting planets, searched for transits",
        "generated": True, "seed": seed, "limit": limit, "workers": workers, "catalog": CATALOG_RELEASE,
        "code_version": package_version(), "source_sha256": source_sha256(), "n_bins": n_bins, "grids": search_grids(options),
        "counts": {"hosts": len(hosts), "planets": len(rows),
                   "planets_by_mission": {m: int(n) for m, n in frame["mission"].value_counts().sort_index().items()},
                   "found": int(frame["search_found"].sum()),
                   "with_2_transits": int((frame["n_transits_in_baseline"] >= 2).sum())},
        "search": {"objective": ts.OBJECTIVE, "snr_threshold": options["snr_threshold"],
                   "coarse_oversample": options["oversample"], "coarse_max_points": ts.COARSE_MAX_POINTS,
                   "coarse_max_bin_minutes": ts.COARSE_MAX_BIN_MINUTES,
                   "coarse_span_transits": ts.COARSE_SPAN_TRANSITS,
                   "coarse_duration_step": ts.COARSE_DURATION_STEP, **options},
        "missions": {name: {"cadence_min": m.cadence_min, "time_system": m.time_system,
                            "floor_ppm_per_cadence": m.floor_ppm_per_cadence} for name, m in MISSIONS.items()},
        "model_columns": list(MODEL_COLUMNS), "evaluation_only_columns": list(EVALUATION_COLUMNS),
        "seconds": round(elapsed, 2),
        "seconds_per_host": {m: {"hosts": len(v), "mean": round(float(np.mean(v)), 3),
                                 "max": round(float(np.max(v)), 3)} for m, v in sorted(seconds.items())},
        "period_recovery": period_recovery(frame).to_dict(orient="records"),
    }
    metadata = {b"astrobio_hf.manifest": json.dumps(manifest).encode()}
    _write_atomic(out / PARQUET_NAME, lambda p: pq.write_table(table.replace_schema_metadata(metadata), p))
    _write_atomic(out / MANIFEST_NAME, lambda p: p.write_text(json.dumps(manifest, indent=2, default=float) + "\n"))
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m astrobio_hf.demo.mission_light_curves",
                                     description="Generated mission light curves of every transiting planet, "
                                                 "transit search, folded features -> Parquet + manifest.")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="processes (hosts are searched in parallel)")
    parser.add_argument("--limit", type=int, default=None, help="a seeded random choice of hosts with ~N planets")
    parser.add_argument("--bins", type=int, default=DEFAULT_BINS, help="phase bins of the folded light curve")
    parser.add_argument("--oversample", type=float, default=ts.COARSE_OVERSAMPLE,
                        help="coarse period-grid oversampling (1: phase drift <= 1/4 duration; lower is faster)")
    args = parser.parse_args(argv)
    manifest = write_store(args.out, seed=args.seed, workers=args.workers, limit=args.limit, n_bins=args.bins,
                           options={"oversample": args.oversample}, progress=True)
    counts = manifest["counts"]
    print(f"{counts['planets']} planets on {counts['hosts']} hosts, {counts['found']} with a found signal, "
          f"{manifest['seconds']} s -> {Path(args.out) / PARQUET_NAME}")
    print(recovery_markdown(pd.DataFrame(manifest["period_recovery"])))
    return 0


__all__ = ["write_store", "host_rows", "search_features", "expected_depths", "process_host", "select_hosts", "main",
           "SCHEMA", "MODEL_COLUMNS", "EVALUATION_COLUMNS", "PARQUET_NAME", "MANIFEST_NAME"]
