"""The packaged real catalog: shipped, small, documented, and read by the NASA builder like a user's dump."""

from __future__ import annotations

import gzip

from astrobio_hf.data.sources import get_builder
from astrobio_hf.package_data import CATALOG_COLUMNS, CATALOG_SOURCE_SHA256, real_catalog_path


def test_catalog_is_small_and_documented():
    path = real_catalog_path()
    assert path.stat().st_size < 1_000_000
    readme = (path.parent / "README.md").read_text()
    assert CATALOG_SOURCE_SHA256 in readme and "5,967" in readme
    assert "This research has made use of the NASA Exoplanet Archive" in readme
    header = gzip.decompress(path.read_bytes()).decode().splitlines()[0]
    assert tuple(header.split(",")) == CATALOG_COLUMNS


def test_nasa_builder_reads_the_gzipped_dump(tmp_path):
    builder = get_builder("nasa_exoplanet_archive", cache_dir=str(tmp_path), data_files=[str(real_catalog_path())])
    builder.download_and_prepare()
    planets = builder.as_dataset(split="train")
    assert planets.num_rows == 5967
    names = set(planets["pl_name"])
    assert {"TRAPPIST-1 e", "Kepler-186 f", "51 Peg b"} <= names  # named as the archive names them
    row = planets.filter(lambda r: r["pl_name"] == "Kepler-186 f")[0]
    assert row["hostname"] == "Kepler-186" and row["file"] == "PSCompPars_2025.csv.gz"
