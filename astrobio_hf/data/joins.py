"""Join rules of the multimodal dataset: which file belongs to which planet.

* Mapping tables (CSV with a header, read with pandas): ``planet_name,file`` plus optional columns. Used for
  spectra (``kind``, ``order``, ``integration``, ``source``), climate NetCDF files (``variables``: the file's
  variable names in cube order, separated by ``;``) and metabolic models. Relative ``file`` paths are resolved
  against the mapping file's folder. Planet names are compared after :func:`~astrobio_hf.data.names.normalize_name`.
* Host cross-identifications (CSV ``host_name,kic,tic,epic``; any id may be blank): the catalog host name of each
  Kepler Input Catalog, TESS Input Catalog and K2 EPIC number, for light curves whose FITS headers name the star by
  catalog number only (SPOC files: ``OBJECT = 'KIC 11442793'``, ``KEPLERID``, ``TICID``).
* FITS identity (:func:`fits_identity`): ``OBJECT`` / ``KEPLERID`` / ``TICID`` / ``MISSION`` / ``TELESCOP`` of the
  primary header, read with astropy.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from astropy.io import fits

from .names import normalize_name


class JoinTableError(ValueError):
    """A mapping or cross-id table that cannot be used (names the file, line and column)."""


@dataclass
class MappingRow:
    """One row of a planet -> file mapping table."""

    planet_key: str  # normalised planet name
    planet_name: str  # as written in the table
    file: Path  # the first file (the only one unless the row names several)
    line: int  # 1-based line number in the table (header = line 1)
    options: dict[str, str] = field(default_factory=dict)
    #: every file the row names: ``a.nc;b.nc`` or a glob such as ``cmip6/*_Amon_GISS*.nc`` (sorted)
    files: tuple[Path, ...] = ()


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise JoinTableError(f"{path}: no such mapping file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, comment="#", skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise JoinTableError(f"{path}: not a readable CSV table ({exc})") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise JoinTableError(f"{path}: line 1: missing column(s) {missing} (header: {list(frame.columns)})")
    return frame


def read_mapping(path: str | os.PathLike, options: tuple[str, ...] = (), *,
                 allow_many: bool = False) -> list[MappingRow]:
    """Rows of a ``planet_name,file[,<options>]`` table; files must exist (the error names the line).

    ``allow_many``: ``file`` may name several files separated by ``;`` and globs (climate maps: CMIP6
    ships one variable, and one time span, per file)."""
    path = Path(path)
    frame = _read_csv(path, ("planet_name", "file"))
    rows: list[MappingRow] = []
    for i, record in enumerate(frame.to_dict("records")):
        line = i + 2
        name, file = record["planet_name"].strip(), record["file"].strip()
        if not name or not file:
            raise JoinTableError(f"{path}: line {line}: empty planet_name or file")
        targets = _resolve_files(path, line, file, allow_many)
        extra = {k: record[k].strip() for k in options if k in record and record[k].strip()}
        rows.append(MappingRow(normalize_name(name), name, targets[0], line, extra, tuple(targets)))
    return rows


def _resolve_files(path: Path, line: int, text: str, allow_many: bool) -> list[Path]:
    """The file(s) of a mapping row, relative to the table's folder: one path, or ``;``-separated paths
    and globs when ``allow_many`` (each must match something; the error names the line)."""
    parts = [p.strip() for p in text.split(";") if p.strip()] if allow_many else [text]
    found: list[Path] = []
    for part in parts:
        target = Path(part) if os.path.isabs(part) else path.parent / part
        if allow_many and glob.has_magic(part):
            matches = sorted(Path(m) for m in glob.glob(str(target)) if Path(m).is_file())
            if not matches:
                raise JoinTableError(f"{path}: line {line}: no file matches {part!r} (resolved to {target})")
            found.extend(m for m in matches if m not in found)
        elif not target.is_file():
            raise JoinTableError(f"{path}: line {line}: file {part!r} not found (resolved to {target})")
        elif target not in found:
            found.append(target)
    return found


@dataclass
class CrossIds:
    """Host cross-identifications: catalog numbers -> normalised host key."""

    kic: dict[int, str] = field(default_factory=dict)
    tic: dict[int, str] = field(default_factory=dict)
    epic: dict[int, str] = field(default_factory=dict)

    def host_for(self, identity: FitsIdentity) -> str | None:
        """The host key of a light-curve file's star, or None when no id of the file is listed."""
        if identity.tic is not None and identity.tic in self.tic:
            return self.tic[identity.tic]
        if identity.keplerid is not None:
            table = self.epic if identity.mission == "K2" else self.kic
            return table.get(identity.keplerid)
        return None


def _integer(text: str) -> int | None:
    """``"11442793"`` or ``"11442793.0"`` (as spreadsheets write ids) -> int; anything else -> None."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


def read_cross_ids(path: str | os.PathLike) -> CrossIds:
    """A ``host_name,kic,tic,epic`` table (ids are integers; blanks allowed; a non-integer names its cell)."""
    path = Path(path)
    frame = _read_csv(path, ("host_name",))
    out = CrossIds()
    for i, record in enumerate(frame.to_dict("records")):
        host = normalize_name(record["host_name"])
        if not host:
            raise JoinTableError(f"{path}: line {i + 2}: empty host_name")
        for column in ("kic", "tic", "epic"):
            text = record.get(column, "").strip()
            if not text:
                continue
            number = _integer(text)
            if number is None:
                raise JoinTableError(f"{path}: line {i + 2}: column {column!r}: {text!r} is not an integer id")
            getattr(out, column)[number] = host
    return out


@dataclass(frozen=True)
class FitsIdentity:
    """What a FITS primary header says about its target."""

    object_name: str
    keplerid: int | None
    tic: int | None
    mission: str  # "Kepler" | "K2" | "TESS" | "" (from MISSION, else TELESCOP)


def _int_card(header: fits.Header, key: str) -> int | None:
    value = header.get(key)
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


def fits_identity(path: str | os.PathLike) -> FitsIdentity:
    """``OBJECT``, ``KEPLERID``, ``TICID`` and the mission of a FITS file's primary header."""
    try:
        header = fits.getheader(path, 0)
    except (OSError, ValueError) as exc:
        raise JoinTableError(f"{path}: HDU 0: cannot read the primary header ({exc})") from exc
    mission = str(header.get("MISSION") or header.get("TELESCOP") or "").strip()
    mission = {"kepler": "Kepler", "k2": "K2", "tess": "TESS"}.get(mission.lower(), mission)
    return FitsIdentity(str(header.get("OBJECT") or "").strip(), _int_card(header, "KEPLERID"),
                        _int_card(header, "TICID"), mission)


__all__ = ["CrossIds", "FitsIdentity", "JoinTableError", "MappingRow", "fits_identity", "read_cross_ids",
           "read_mapping"]
