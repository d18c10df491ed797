"""Light curves joined to planets: FITS files matched to hosts by cross ids, several files of a star stitched,
phase-folded at the planet's catalog period (binned in time under a protocol that withholds the orbit)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..joins import CrossIds, fits_identity, read_cross_ids
from ..modalities.light_curves import (
    RawLightCurve,
    read_light_curve,
)
from ..model_inputs import light_curve_array
from ..names import normalize_name
from ..protocols import ORBIT_WITHHELD
from .config import MultimodalBuildConfig, MultimodalReport
from .files import expand_files

LIGHT_CURVE_SOURCE = {"Kepler": "kepler_k2_mast", "K2": "kepler_k2_mast", "TESS": "tess_mast"}


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


def join_light_curves(config: MultimodalBuildConfig, cat: dict[str, list], report: MultimodalReport
                       ) -> dict[int, tuple[np.ndarray, list[dict]]]:
    """Planet index -> (array [2, L], provenance entries)."""
    files = expand_files(config.light_curve_files, ("*.fits", "*.fits.gz", "*.fit"))
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
        # under a protocol that withholds the orbit the catalog period is not read: the curve is binned in time
        period = None if config.protocol in ORBIT_WITHHELD else cat["pl_orbper"][i]
        array = light_curve_array(raw, length, period, config.quality_bitmask, config.light_curve_normalisation)
        folded += period is not None and period > 0
        prov = [{"source": LIGHT_CURVE_SOURCE.get(raw_cache[p].mission, "light_curve"),
                 "release": f"{raw_cache[p].mission} {raw_cache[p].segment}".strip(), "file": p.name,
                 "generated": False} for p in paths]
        out[i] = (array, prov)
    report.light_curves = {"files": len(files), "files_matched": len(files) - len(unmatched),
                           "unmatched_files": unmatched, "planets": len(out), "phase_folded": folded,
                           "skipped": dict(skipped)}
    return out


