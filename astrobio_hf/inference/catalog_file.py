"""A NASA Exoplanet Archive file (or the snapshot shipped with astrobio-hf, named ``"packaged"``), read with the
archive's builder: the parser the training data went through (CSV, IPAC, VOTable, gzipped or not)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from ..data.names import normalize_name

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


_LETTER = re.compile(r"^(.*\S)\s+([a-z])$")


def similar_names(planet: str, names: list[str], hosts: list[str], limit: int = 5) -> list[str]:
    """Catalog names to suggest for a planet name that is not in the catalog: the same planet under its host's new
    name first (the archive renames hosts: its "Kepler-90 i" orbits "KOI-351", so "Kepler-90 h" is "KOI-351 h"),
    then names sharing the first characters."""
    by_key = {normalize_name(n): n for n in names}
    aliases: dict[str, set[str]] = {}
    for name, host in zip(names, hosts, strict=True):
        found = _LETTER.match(str(name or ""))
        if found and host and normalize_name(found.group(1)) != normalize_name(host):
            aliases.setdefault(normalize_name(found.group(1)), set()).add(str(host))
            aliases.setdefault(normalize_name(host), set()).add(found.group(1))
    out: list[str] = []
    wanted = _LETTER.match(planet.strip())
    if wanted:
        for other in sorted(aliases.get(normalize_name(wanted.group(1)), ())):
            hit = by_key.get(normalize_name(f"{other} {wanted.group(2)}"))
            if hit and hit not in out:
                out.append(hit)
    key = normalize_name(planet)
    out += [n for k, n in by_key.items() if key[:5] and k.startswith(key[:5]) and n not in out]
    return out[:limit]


__all__ = ["PACKAGED", "resolve_catalog", "read_catalog", "similar_names"]
