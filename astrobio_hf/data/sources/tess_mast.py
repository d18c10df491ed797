"""TESS SPOC 2-minute light curves from MAST: one row per cadence (see :mod:`.spoc_light_curve`).

File layout on the MAST mission archive (base ``https://archive.stsci.edu/missions``; override
``base_url=`` or ``ASTROBIO_TESS_MAST_URL``), checked against MAST's sector download scripts
(``tesscurl_sector_<N>_lc.sh``) and its published example
``tess/tid/s0001/0000/0000/2515/5310/tess2018206045859-s0001-0000000025155310-0120-s_lc.fits``::

    tess/tid/s{SSSS}/{TIC16[0:4]}/{TIC16[4:8]}/{TIC16[8:12]}/{TIC16[12:16]}/
        tess{stamp}-s{SSSS}-{TIC16}-{SCID:04d}-s_lc.fits

where ``TIC16`` is the TIC id zero-padded to 16 digits, ``SSSS`` the sector, ``stamp`` the
13-digit time stamp of the sector's processing and ``SCID`` the spacecraft configuration id; the
last two are the same for every target of a sector. Config:

* ``tic_ids`` + ``sectors``: the (stamp, SCID) pair of each sector comes from ``sector_products``
  (``{58: "2022302161335-0247"}`` or ``"58:2022302161335-0247,1:2018206045859-0120"``), else from
  the built-in :data:`SECTOR_PRODUCTS` (only sectors checked against a real file name; copy other
  sectors' pairs from any file name in MAST's ``tesscurl_sector_<N>_lc.sh`` script);
* or ``file_names``: SPOC light-curve file names, from which the path is derived.

TIME is BTJD = BJD - 2457000 (TDB). No token: the archive is public. Local mode reads
``tess*-s_lc.fits``; a Kepler/K2 file is rejected with an error pointing at ``kepler_k2_mast``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .base import ArchiveBuilderConfig, DownloadRequest
from .kepler_k2_mast import id_list, str_list
from .mast import FileRequest
from .spoc_light_curve import SpocLightCurveBuilder

#: sector -> (processing time stamp, spacecraft configuration id), from real SPOC file names.
SECTOR_PRODUCTS: dict[int, tuple[str, int]] = {
    1: ("2018206045859", 120),
    14: ("2019198215352", 150),
    20: ("2019357164649", 165),
    58: ("2022302161335", 247),
}
FILE_NAME = re.compile(r"^tess(\d{13})-s(\d{4})-(\d{16})-(\d{4})-s_lc\.fits$")
_PRODUCT = re.compile(r"^(\d{13})-(\d{1,4})$")


def tess_path(tic: int, sector: int, stamp: str, scid: int) -> str:
    """Archive path of a SPOC 2-min light curve (relative to the missions base URL)."""
    tic16 = f"{tic:016d}"
    folders = "/".join(tic16[i:i + 4] for i in range(0, 16, 4))
    return f"tess/tid/s{sector:04d}/{folders}/tess{stamp}-s{sector:04d}-{tic16}-{scid:04d}-s_lc.fits"


def parse_file_name(name: str) -> tuple[str, int, int, int]:
    """``tess{stamp}-s{SSSS}-{TIC16}-{SCID}-s_lc.fits`` -> (stamp, sector, tic, scid)."""
    match = FILE_NAME.match(name.strip())
    if not match:
        raise ValueError(f"tess_mast: {name!r} is not a SPOC light-curve file name "
                         "(tess<13-digit stamp>-s<4-digit sector>-<16-digit TIC>-<4-digit SCID>-s_lc.fits)")
    stamp, sector, tic, scid = match.groups()
    return stamp, int(sector), int(tic), int(scid)


def sector_products(value: Any) -> dict[int, tuple[str, int]]:
    """``{58: "2022302161335-0247"}`` or ``"58:2022302161335-0247,..."`` -> {sector: (stamp, scid)}."""
    if value is None:
        return {}
    if isinstance(value, str):
        pairs = [item.split(":", 1) for item in value.split(",") if item.strip()]
        if any(len(p) != 2 for p in pairs):
            raise ValueError(f"tess_mast: sector_products must look like '58:2022302161335-0247,...', got {value!r}")
        value = {k: v for k, v in pairs}
    out: dict[int, tuple[str, int]] = {}
    for sector, product in dict(value).items():
        match = _PRODUCT.match(str(product).strip())
        if not match:
            raise ValueError(f"tess_mast: sector {sector}: product must be '<13-digit stamp>-<SCID>', got {product!r}")
        out[int(sector)] = (match.group(1), int(match.group(2)))
    return out


@dataclass
class TessMastConfig(ArchiveBuilderConfig):
    """``tic_ids`` + ``sectors`` (+ ``sector_products`` for sectors not built in), or ``file_names``."""

    tic_ids: Any = None
    sectors: Any = None
    sector_products: Any = None
    file_names: Any = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.tic_ids = id_list(self.tic_ids, "tic_ids")
        self.sectors = id_list(self.sectors, "sectors")
        self.sector_products = sector_products(self.sector_products)
        self.file_names = str_list(self.file_names)
        for name in self.file_names:
            parse_file_name(name)


class TessMast(SpocLightCurveBuilder):
    """TESS SPOC 2-minute cadence light curves (TIC id, sector)."""

    BUILDER_CONFIG_CLASS = TessMastConfig
    SOURCE = "tess_mast"
    FILE_PATTERNS = ("**/tess*-s_lc.fits", "**/tess*-s_lc.fits.gz")
    MISSIONS = ("TESS",)
    HOMEPAGE = "https://archive.stsci.edu/missions-and-data/tess"
    CITATION = ("Ricker, G. R., et al. 2015, JATIS, 1, 014003 (TESS); Jenkins, J. M., et al. 2016, SPIE 9913, "
                "99133E (SPOC). Data from the Mikulski Archive for Space Telescopes (MAST).")
    LICENSE = "NASA/MAST public data"

    config: TessMastConfig

    def file_requests(self) -> list[FileRequest]:
        cfg = self.config
        wanted: list[tuple[int, int, str, int]] = [(tic, sector, *self._product(sector))
                                                   for tic in cfg.tic_ids for sector in cfg.sectors]
        if cfg.tic_ids and not cfg.sectors:
            raise ValueError("tess_mast: tic_ids need sectors=")
        for name in cfg.file_names:
            stamp, sector, tic, scid = parse_file_name(name)
            wanted.append((tic, sector, stamp, scid))
        if not wanted:
            raise ValueError("tess_mast: download mode needs tic_ids + sectors, or file_names; or use data_dir / "
                             "data_files")
        out = []
        for tic, sector, stamp, scid in wanted:
            path = tess_path(tic, sector, stamp, scid)
            group = f"TIC {tic} S{sector}"
            out.append(FileRequest(DownloadRequest(path=path, filename=path.rsplit("/", 1)[1],
                                                   release=f"TESS SPOC 2-min {group}"), group))
        return out

    def _product(self, sector: int) -> tuple[str, int]:
        product = self.config.sector_products.get(sector) or SECTOR_PRODUCTS.get(sector)
        if product is None:
            raise ValueError(
                f"tess_mast: no file time stamp / spacecraft configuration known for sector {sector}; pass "
                f"sector_products={{{sector}: '<stamp>-<scid>'}} (from any file name in MAST's "
                f"tesscurl_sector_{sector}_lc.sh), or file_names=")
        return product
