"""Data shipped inside the package: a real NASA Exoplanet Archive snapshot for the offline demo.

``nasa_exoplanet_archive/PSCompPars_2025.csv.gz`` is the 2025 ``pscomppars`` export (5,967 planets), reduced to
:data:`CATALOG_COLUMNS` by ``data_scripts/reduce_pscomppars.py``; its provenance and the archive's acknowledgement
are in the README beside it. It is read like a user's own dump, through the NASA Exoplanet Archive builder.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: The columns kept from the export: names and discovery fields, the values the multimodal dataset, the labels and
#: the demo's generated observations read, and the uncertainties of the label inputs.
CATALOG_COLUMNS: tuple[str, ...] = (
    "pl_name", "hostname", "sy_snum", "sy_pnum", "discoverymethod", "disc_year", "disc_facility", "pl_controv_flag",
    "pl_orbper", "pl_orbpererr1", "pl_orbpererr2", "pl_orbsmax", "pl_rade", "pl_bmasse", "pl_bmassprov",
    "pl_orbeccen", "pl_insol", "pl_eqt", "ttv_flag", "st_spectype", "st_teff", "st_rad", "st_mass", "st_met",
    "st_metratio", "st_logg", "ra", "dec", "sy_dist", "sy_vmag", "sy_kmag", "sy_gaiamag",
)
CATALOG_FILE = "nasa_exoplanet_archive/PSCompPars_2025.csv.gz"
#: sha256 of the original export the packaged file was reduced from (also in the README).
CATALOG_SOURCE_SHA256 = "3fe95de7a6669b13ebb9985d2843d3c69a123f670cd28aa6e10f2b2e7ef6ca9d"
CATALOG_RELEASE = "pscomppars 2025 TAP export (5,967 planets; exported on or before 2025-08-07)"


def real_catalog_path() -> Path:
    """Path of the packaged PSCompPars snapshot (inside the installed package; never copied by the code)."""
    path = Path(str(resources.files(__name__).joinpath(CATALOG_FILE)))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the packaged NASA Exoplanet Archive snapshot is missing; reinstall "
                                "astrobio-hf (setup.cfg package_data ships it)")
    return path


__all__ = ["CATALOG_COLUMNS", "CATALOG_FILE", "CATALOG_RELEASE", "CATALOG_SOURCE_SHA256", "real_catalog_path"]
