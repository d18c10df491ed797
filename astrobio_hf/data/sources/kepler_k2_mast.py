"""Kepler and K2 long-cadence light curves from MAST: one row per cadence (see :mod:`.spoc_light_curve`).

Download mode fetches the SPOC files from the MAST mission archive (base
``https://archive.stsci.edu/missions``; override ``base_url=`` or ``ASTROBIO_KEPLER_K2_MAST_URL``):

* Kepler: ``kepler/lightcurves/{KIC[0:4]}/{KIC}/kplr{KIC}-{stamp}_llc.fits`` with the KIC id
  zero-padded to 9 digits. ``kic_ids`` + ``quarters`` (0-17; the quarter -> time-stamp table below
  is MAST's own, from its ``get_kepler.py``; quarter 4 is published under two stamps and at least
  one must exist) or ``kic_ids`` + explicit ``stamps``.
* K2: ``k2/lightcurves/c{C}/{EPIC[0:4]}00000/{EPIC[4:6]}000/ktwo{EPIC}-c{CC}_llc.fits``
  (``CC`` zero-padded to 2 digits). ``epic_ids`` + ``campaigns``; campaigns 9, 10 and 11 were
  filed in two parts (``c91``/``c92``, ``c101``/``c102``, ``c111``/``c112``): both are asked for
  and at least one must exist; a part can also be named directly (``campaigns=[102]``).

List options accept a list, an int, or a comma-separated string (``--config kic_ids=11442793``).
No token: the mission archive is public.

Local mode reads ``kplr*_llc.fits`` / ``ktwo*_llc.fits`` (any ``*.fits`` when ``data_files`` names
them); a TESS file is rejected with an error pointing at ``tess_mast``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base import ArchiveBuilderConfig, DownloadRequest
from .mast import FileRequest
from .spoc_light_curve import SpocLightCurveBuilder

# Quarter -> time stamps of the long-cadence files (MAST, https://archive.stsci.edu/kepler/software/get_kepler.py).
LONG_CADENCE_QUARTER_STAMPS: dict[int, tuple[str, ...]] = {
    0: ("2009131105131",),
    1: ("2009166043257",),
    2: ("2009259160929",),
    3: ("2009350155506",),
    4: ("2010009091648", "2010078095331"),
    5: ("2010174085026",),
    6: ("2010265121752",),
    7: ("2010355172524",),
    8: ("2011073133259",),
    9: ("2011177032512",),
    10: ("2011271113734",),
    11: ("2012004120508",),
    12: ("2012088054726",),
    13: ("2012179063303",),
    14: ("2012277125453",),
    15: ("2013011073258",),
    16: ("2013098041711",),
    17: ("2013131215648",),
}
# K2 campaigns filed in two parts (directory and file suffix name the part).
K2_CAMPAIGN_PARTS: dict[int, tuple[int, ...]] = {9: (91, 92), 10: (101, 102), 11: (111, 112)}


def id_list(value: Any, name: str) -> tuple[int, ...]:
    """A list option as a tuple of ints: a list/tuple, an int, or a comma-separated string."""
    if value is None:
        return ()
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, int):
        items = [value]
    else:
        items = list(value)
    try:
        return tuple(int(str(v).strip()) for v in items)
    except ValueError:
        raise ValueError(f"{name} must be integers (a list or 'a,b,c'), got {value!r}") from None


def str_list(value: Any) -> tuple[str, ...]:
    """Like :func:`id_list` for strings (time stamps keep their leading digits)."""
    if value is None:
        return ()
    if isinstance(value, (str, int)):
        return tuple(v.strip() for v in str(value).split(",") if v.strip())
    return tuple(str(v).strip() for v in value)


def kepler_path(kic: int, stamp: str) -> str:
    """Archive path of a Kepler long-cadence file (relative to the missions base URL)."""
    padded = f"{kic:09d}"
    return f"kepler/lightcurves/{padded[:4]}/{padded}/kplr{padded}-{stamp}_llc.fits"


def k2_path(epic: int, campaign: int) -> str:
    """Archive path of a K2 long-cadence file; ``campaign`` is a campaign or a part (e.g. 102)."""
    text = f"{epic:09d}"
    return f"k2/lightcurves/c{campaign}/{text[:4]}00000/{text[4:6]}000/ktwo{text}-c{campaign:02d}_llc.fits"


@dataclass
class KeplerK2MastConfig(ArchiveBuilderConfig):
    """``kic_ids`` + ``quarters`` (or ``stamps``) for Kepler; ``epic_ids`` + ``campaigns`` for K2."""

    kic_ids: Any = None
    quarters: Any = None
    stamps: Any = None
    epic_ids: Any = None
    campaigns: Any = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.kic_ids = id_list(self.kic_ids, "kic_ids")
        self.quarters = id_list(self.quarters, "quarters")
        self.stamps = str_list(self.stamps)
        self.epic_ids = id_list(self.epic_ids, "epic_ids")
        self.campaigns = id_list(self.campaigns, "campaigns")
        unknown = [q for q in self.quarters if q not in LONG_CADENCE_QUARTER_STAMPS]
        if unknown:
            raise ValueError(f"kepler_k2_mast: Kepler quarters are 0-17, got {unknown}")
        bad = [s for s in self.stamps if not (s.isdigit() and len(s) == 13)]
        if bad:
            raise ValueError(f"kepler_k2_mast: stamps are 13-digit time stamps (YYYYDDDHHMMSS), got {bad}")


class KeplerK2Mast(SpocLightCurveBuilder):
    """Kepler (KIC, quarters) and K2 (EPIC, campaigns) SPOC long-cadence light curves."""

    BUILDER_CONFIG_CLASS = KeplerK2MastConfig
    SOURCE = "kepler_k2_mast"
    FILE_PATTERNS = ("**/kplr*_llc.fits", "**/ktwo*_llc.fits", "**/kplr*_llc.fits.gz", "**/ktwo*_llc.fits.gz")
    MISSIONS = ("Kepler", "K2")
    HOMEPAGE = "https://archive.stsci.edu/missions-and-data/kepler"
    CITATION = ("Borucki, W. J., et al. 2010, Science, 327, 977 (Kepler); Howell, S. B., et al. 2014, PASP, 126, "
                "398 (K2). Data from the Mikulski Archive for Space Telescopes (MAST).")
    LICENSE = "NASA/MAST public data"

    config: KeplerK2MastConfig

    def file_requests(self) -> list[FileRequest]:
        cfg = self.config
        out: list[FileRequest] = []
        if cfg.kic_ids and not (cfg.quarters or cfg.stamps):
            raise ValueError("kepler_k2_mast: kic_ids need quarters= (0-17) or stamps=")
        if cfg.epic_ids and not cfg.campaigns:
            raise ValueError("kepler_k2_mast: epic_ids need campaigns=")
        if not (cfg.kic_ids or cfg.epic_ids):
            raise ValueError("kepler_k2_mast: download mode needs kic_ids (+ quarters/stamps) or epic_ids "
                             "(+ campaigns); or use data_dir / data_files")
        for kic in cfg.kic_ids:
            groups = ([(f"KIC {kic} Q{q}", LONG_CADENCE_QUARTER_STAMPS[q]) for q in cfg.quarters]
                      + [(f"KIC {kic} stamp {s}", (s,)) for s in cfg.stamps])
            for group, stamps in groups:
                for stamp in stamps:
                    path = kepler_path(kic, stamp)
                    out.append(FileRequest(DownloadRequest(path=path, filename=path.rsplit("/", 1)[1],
                                                           release=f"Kepler {group}"), group))
        for epic in cfg.epic_ids:
            for campaign in cfg.campaigns:
                group = f"EPIC {epic} C{campaign}"
                for part in K2_CAMPAIGN_PARTS.get(campaign, (campaign,)):
                    path = k2_path(epic, part)
                    out.append(FileRequest(DownloadRequest(path=path, filename=path.rsplit("/", 1)[1],
                                                           release=f"K2 {group}"), group))
        return out
