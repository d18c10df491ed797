"""The packaged catalog is exactly the shared 2025 export reduced by data_scripts/reduce_pscomppars.py."""

from __future__ import annotations

import hashlib
import importlib.util

from astrobio_hf.package_data import CATALOG_SOURCE_SHA256, real_catalog_path
from tests.conftest import REPO_ROOT


def test_packaged_catalog_is_the_reduced_shared_export(real_data_dir, tmp_path):
    source = real_data_dir / "nasa_exoplanet_archive" / "tap_style_2025" / "PSCompPars.csv"
    assert hashlib.sha256(source.read_bytes()).hexdigest() == CATALOG_SOURCE_SHA256
    spec = importlib.util.spec_from_file_location("reduce", REPO_ROOT / "data_scripts" / "reduce_pscomppars.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    info = module.reduce_catalog(source, tmp_path / "reduced.csv.gz")
    assert info["rows"] == 5967
    assert (tmp_path / "reduced.csv.gz").read_bytes() == real_catalog_path().read_bytes()
