"""Spectra joined to planets: by the mapping table, else by the target name in the file's metadata."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ..joins import MappingRow, read_mapping
from ..modalities.spectra import Spectrum, WavelengthGrid, read_spectra, resample
from ..model_inputs import spectrum_array as _spectrum_array
from ..names import normalize_name
from .config import MultimodalBuildConfig, MultimodalBuildError, MultimodalReport
from .files import expand_files


def _default_spectrum_source(path: Path, spec: Spectrum) -> str:
    if spec.meta.get("format") in ("csv", "whitespace", "pyratbay"):
        return "published_spectrum_table"
    return "jwst_mast" if "int_num" in spec.meta or "sporder" in spec.meta else "spectrum_fits"


def join_spectra(config: MultimodalBuildConfig, cat: dict[str, list], report: MultimodalReport,
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
    files = [p for p in expand_files(config.spectrum_files, ("*.fits", "*.fits.gz", "*.csv", "*.txt", "*.dat"))
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


