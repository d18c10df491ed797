"""A NASA Exoplanet Archive file (or the snapshot shipped with astrobio-hf, named ``"packaged"``), read with the
archive's builder: the parser the training data went through (CSV, IPAC, VOTable, gzipped or not)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

PACKAGED = "packaged"


def resolve_catalog(catalog: str | Path) -> Path:
    """A catalog file path; ``"packaged"`` is the PSCompPars snapshot shipped with astrobio-hf."""
    if str(catalog) == PACKAGED:
        from ..package_data import real_catalog_path

        return real_catalog_path()
    path = Path(catalog).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"catalog file {catalog} does not exist (or give --catalog {PACKAGED} for the "
                                "snapshot shipped with astrobio-hf)")
    return path


def read_catalog(catalog: str | Path, table: str = "pscomppars") -> Any:
    """Every row of a NASA Exoplanet Archive file as a `datasets.Dataset`, parsed by the archive's builder."""
    from ..data.sources import get_builder

    path = resolve_catalog(catalog)
    with tempfile.TemporaryDirectory(prefix="astrobio-catalog-") as cache:
        builder = get_builder("nasa_exoplanet_archive", cache_dir=cache, data_files=[str(path)], table=table)
        builder.download_and_prepare()
        return builder.as_dataset(split="train", in_memory=True)  # the cache folder goes away on return


__all__ = ["PACKAGED", "resolve_catalog", "read_catalog"]
