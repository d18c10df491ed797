"""Registry of the 13 archive builders: ``SOURCES[key]`` -> builder class, ``get_builder(key, **kw)``.

Modules are imported lazily (only when a source is asked for), so a source whose module has not
been written yet does not break the others. To add a source, create
``astrobio_hf/data/sources/<key>.py`` defining the class named in :data:`SOURCE_PATHS` as a
subclass of :class:`~astrobio_hf.data.sources.base.ArchiveBuilder`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

from .errors import SourceFormatError

#: source key -> "module:Class" (module names are the keys)
SOURCE_PATHS: dict[str, str] = {
    "nasa_exoplanet_archive": "nasa_exoplanet_archive:NasaExoplanetArchive",
    "exoplanets_org": "exoplanets_org:ExoplanetsOrg",
    "jwst_mast": "jwst_mast:JwstMast",
    "kepler_k2_mast": "kepler_k2_mast:KeplerK2Mast",
    "tess_mast": "tess_mast:TessMast",
    "eso_archive": "eso_archive:EsoArchive",
    "keck_koa": "keck_koa:KeckKoa",
    "subaru_smoka": "subaru_smoka:SubaruSmoka",
    "gemini_archive": "gemini_archive:GeminiArchive",
    "ncbi_genbank": "ncbi_genbank:NcbiGenbank",
    "ensembl": "ensembl:Ensembl",
    "uniprot": "uniprot:Uniprot",
    "gtdb": "gtdb:Gtdb",
}


class SourceNotAvailable(ImportError):
    """The source key is known but its builder module is missing or does not define the class."""


class _LazySources(Mapping[str, type]):
    """``SOURCES[key]`` imports the builder module on first use; iterating lists all 13 keys."""

    def __getitem__(self, key: str) -> type:
        if key not in SOURCE_PATHS:
            raise KeyError(f"unknown source {key!r}; known: {', '.join(SOURCE_PATHS)}")
        module_name, class_name = SOURCE_PATHS[key].split(":")
        full = f"{__name__}.{module_name}"
        try:
            module = importlib.import_module(full)
        except ModuleNotFoundError as exc:
            if exc.name != full:  # the module exists but one of its own imports is missing
                raise
            raise SourceNotAvailable(f"source {key!r}: builder module {full} is not available yet") from None
        try:
            return getattr(module, class_name)
        except AttributeError:
            raise SourceNotAvailable(f"source {key!r}: {full} defines no class {class_name}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(SOURCE_PATHS)

    def __len__(self) -> int:
        return len(SOURCE_PATHS)


SOURCES: Mapping[str, type] = _LazySources()


def available_sources() -> list[str]:
    """Keys whose builder modules import (the others are not written yet)."""
    out = []
    for key in SOURCE_PATHS:
        try:
            SOURCES[key]
        except SourceNotAvailable:
            continue
        out.append(key)
    return out


def get_builder(key: str, **kwargs: Any):
    """An instance of the builder for ``key`` (kwargs: cache_dir, data_dir, data_files, config options)."""
    return SOURCES[key](**kwargs)


__all__ = ["SOURCES", "SOURCE_PATHS", "SourceFormatError", "SourceNotAvailable", "available_sources",
           "get_builder"]
